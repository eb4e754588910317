"""The Claude models Hearth offers: one table of names, labels, prices and limits.

The settings validate ``claude_model`` against it, the cloud client clamps
``max_tokens`` to its output limit, the preview prices a request with it, and the
settings panel labels its choices from it. It is a base module (below
``app.core.cloud``) because the settings, at the bottom of the core's layers, read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClaudeModel:
    """One Claude model: its API id, display name, price and limits."""

    id: str
    label: str
    input_per_mtok: float
    output_per_mtok: float
    context_tokens: int
    """The input the model can read (its standard context window)."""
    max_output_tokens: int
    """The longest reply the API allows (``max_tokens`` is clamped to it)."""

    def cost(self, *, input_tokens: int, output_tokens: int = 0) -> float:
        """Dollars for that many tokens."""
        return (
            input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok
        ) / 1_000_000

    def describe(self) -> str:
        """A line for a menu: name, price per million tokens, context."""
        return (
            f"{self.label} — ${self.input_per_mtok:g} in / ${self.output_per_mtok:g} out "
            f"per million tokens, {self.context_tokens // 1000:,}K context"
        )


# Anthropic's published standard prices in US dollars per million tokens (input, output)
# as of March 2026 (https://docs.claude.com/en/docs/about-claude/pricing), and the
# documented context window and output limit. The first is the default.
CLAUDE_MODELS: tuple[ClaudeModel, ...] = (
    ClaudeModel("claude-sonnet-4-6", "Claude Sonnet 4.6", 3.0, 15.0, 200_000, 64_000),
    ClaudeModel("claude-opus-4-6", "Claude Opus 4.6", 5.0, 25.0, 200_000, 128_000),
    ClaudeModel("claude-haiku-4-5", "Claude Haiku 4.5", 1.0, 5.0, 200_000, 64_000),
    ClaudeModel("claude-opus-4-5", "Claude Opus 4.5", 5.0, 25.0, 200_000, 64_000),
    ClaudeModel("claude-sonnet-4-5", "Claude Sonnet 4.5", 3.0, 15.0, 200_000, 64_000),
)
DEFAULT_CLAUDE_MODEL = CLAUDE_MODELS[0].id
CLAUDE_MODEL_IDS = tuple(model.id for model in CLAUDE_MODELS)

_BY_ID = {model.id: model for model in CLAUDE_MODELS}


def find_claude_model(model_id: str) -> ClaudeModel | None:
    """The table's entry for ``model_id``, or None for a model Hearth does not list."""
    return _BY_ID.get(model_id)


__all__ = [
    "CLAUDE_MODELS",
    "CLAUDE_MODEL_IDS",
    "DEFAULT_CLAUDE_MODEL",
    "ClaudeModel",
    "find_claude_model",
]
