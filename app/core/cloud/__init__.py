"""The cloud client: the Claude API, used only when the user opted in."""

from __future__ import annotations

from app.core.claude_models import CLAUDE_MODELS, ClaudeModel, find_claude_model
from app.core.cloud.claude import ClaudeClient, CloudError, MissingKeyError, ensure_claude_allowed

__all__ = [
    "CLAUDE_MODELS",
    "ClaudeClient",
    "ClaudeModel",
    "CloudError",
    "MissingKeyError",
    "ensure_claude_allowed",
    "find_claude_model",
]
