"""Where a reply comes from (local, Claude or a remote server), what a request that leaves
the machine would send, and when to suggest Claude.

* :func:`decide_route` picks local, a :class:`Destination` (Claude, or one of the
  person's remote servers) or "ask the user" from the settings, the conversation's
  options, a per-message "Ask Claude" action and the remote model chosen in the model
  bar. Claude is never chosen unless the person asked for it (a conversation set to
  Claude, the action, or their yes to the "ask" question), and never while it is off or
  Hearth is offline. A remote on another computer counts as leaving the machine just the
  same: offline mode blocks it, it needs the person's opt-in, and the preview applies.
  A remote on loopback (127.0.0.1, ::1, localhost) is this computer: no preview.
* :func:`build_preview` shows exactly what would leave the machine: every message,
  the system prompt, the model, the host, the token count and, for Claude, the
  estimated cost at the model's published price
  (:data:`app.core.claude_models.CLAUDE_MODELS`). Claude and remote servers share it.
* :func:`suggest_claude` says when Claude might help (the local model cannot hold
  the conversation, or no model fits this machine); it only suggests.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.core.claude_models import ClaudeModel, find_claude_model
from app.core.cloud.claude import (
    ClaudeRequest,
    ensure_claude_allowed,
    host_of,
    prepare_request,
    resolve_base_url,
)
from app.core.cloud.remote import (
    RemoteRequest,
    ensure_remote_allowed,
    find_remote,
    leaves_machine,
    prepare_remote_request,
)
from app.core.generation import Message
from app.core.settings import RemoteServer, Settings

# Claude's tokenizer is not public: Hearth estimates about 3.5 characters per token
# (English prose; code and other languages use more tokens) plus a few per message.
CHARS_PER_TOKEN = 3.5
TOKENS_PER_MESSAGE = 4


class Route(enum.StrEnum):
    LOCAL = "local"
    CLAUDE = "claude"
    REMOTE = "remote"  # an OpenAI-compatible server the person added (settings.remotes)
    ASK = "ask"  # ask the person: local, or Claude (then preview)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a turn goes when the local engine does not write it: Claude or a remote.

    ``leaves_machine`` is False only for a remote on loopback; the preview and the
    opt-in apply to every other destination.
    """

    kind: Literal["claude", "remote"]
    name: str
    host: str
    leaves_machine: bool
    remote: RemoteServer | None = None

    @property
    def recipient(self) -> str:
        """Who receives the conversation, in a sentence's words."""
        return "Anthropic" if self.kind == "claude" else f"{self.name} ({self.host})"


def claude_destination(base_url: str | None = None) -> Destination:
    """Claude, at ``base_url`` (default: Anthropic's API)."""
    return Destination("claude", "Claude", host_of(resolve_base_url(base_url)), True)


def remote_destination(remote: RemoteServer) -> Destination:
    """One of the person's remote servers."""
    return Destination(
        "remote", remote.name, host_of(remote.url), leaves_machine(remote.url), remote
    )


@dataclass(frozen=True, slots=True)
class RemoteModel:
    """A model of a remote server, as the model bar or ``--remote NAME --model M`` picks it."""

    remote: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.model} on {self.remote}"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where this turn goes; ``preview`` says whether to show the preview first.

    ``destination`` is set for Claude and remote routes (and for "ask": Claude).
    """

    route: Route
    preview: bool
    reason: str
    destination: Destination | None = None


def decide_route(
    settings: Settings,
    *,
    conversation_options: Mapping[str, Any] | None = None,
    ask_claude: bool = False,
    remote: str | None = None,
) -> RouteDecision:
    """Where the next reply comes from.

    ``ask_claude`` is the composer's per-message "Ask Claude" action; ``remote`` the
    name of the remote server whose model the person picked. A conversation's
    ``backend`` option (``"local"``/``"claude"``) wins over the settings' ``routing``.
    When Claude was explicitly asked for but is off or Hearth is offline, raises
    ClaudeDisabledError or OfflineError (show it; nothing is sent). The "ask" mode
    falls back to local then, since there is nothing to ask. A remote that leaves the
    machine raises RemoteOfflineError offline and RemoteNotAllowedError before the
    person allowed it; UnknownRemoteError when there is none of that name.
    """
    options = conversation_options or {}
    preview = bool(options.get("preview_before_send", True))
    backend = options.get("backend")
    if ask_claude or backend == "claude":
        ensure_claude_allowed(settings)
        why = "you asked Claude for this message" if ask_claude else "this conversation uses Claude"
        return RouteDecision(Route.CLAUDE, preview, why, claude_destination())
    if remote is not None:
        server = find_remote(settings, remote)
        ensure_remote_allowed(settings, server)
        destination = remote_destination(server)
        if not destination.leaves_machine:
            why = f"{server.name} is on this computer ({destination.host}): nothing leaves it"
            return RouteDecision(Route.REMOTE, False, why, destination)
        why = f"you chose a model of {server.name}, on another computer"
        return RouteDecision(Route.REMOTE, preview, why, destination)
    if backend == "local":
        return RouteDecision(Route.LOCAL, False, "this conversation uses the local model")
    if settings.routing == "ask":
        if settings.offline:
            return RouteDecision(Route.LOCAL, False, "offline: Claude is unavailable")
        if not settings.claude_enabled:
            return RouteDecision(Route.LOCAL, False, "Claude is turned off")
        return RouteDecision(Route.ASK, preview, "settings ask each time", claude_destination())
    return RouteDecision(Route.LOCAL, False, "local only")


# -- the preview --------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """A local estimate of Claude's token count for ``text`` (no request is made)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def estimate_request_tokens(request: ClaudeRequest | RemoteRequest) -> int:
    """Estimated input tokens of ``request``: its messages, system prompt and framing."""
    total = estimate_tokens(request.system or "")
    for message in request.messages:
        total += estimate_tokens(message.content) + TOKENS_PER_MESSAGE
    return total


@dataclass(frozen=True, slots=True)
class Preview:
    """Exactly what a request to Claude or a remote server sends, to whom, and about what
    it costs.

    ``input_tokens`` is estimated locally (``input_tokens_estimated``), since counting
    exactly would itself send the text. ``input_cost_usd`` is for sending it;
    ``max_cost_usd`` adds a reply that uses all of ``max_tokens``. Costs are None for a
    model the table does not list (``listed`` is then None) and for a remote server.
    """

    request: ClaudeRequest | RemoteRequest
    host: str
    input_tokens: int
    input_tokens_estimated: bool
    input_cost_usd: float | None
    max_cost_usd: float | None
    listed: ClaudeModel | None
    destination: Destination = field(default_factory=claude_destination)

    @property
    def recipient(self) -> str:
        """Who receives it ("Anthropic", or a remote's name and host)."""
        return self.destination.recipient

    @property
    def model(self) -> str:
        return self.request.model

    @property
    def system(self) -> str | None:
        return self.request.system

    @property
    def messages(self) -> tuple[Message, ...]:
        return self.request.messages

    @property
    def max_tokens(self) -> int:
        return self.request.max_tokens

    def summary(self) -> str:
        """One line for the preview's header (model, host, tokens, cost)."""
        label = self.listed.label if self.listed else self.model
        if self.destination.kind == "remote":
            label = f"{self.model} on {self.destination.name}"
        parts = [
            f"{len(self.messages)} message{'s' if len(self.messages) != 1 else ''}"
            + (" and the system prompt" if self.system else ""),
            f"to {label} at {self.host}",
            f"about {self.input_tokens:,} tokens",
        ]
        if self.destination.kind == "remote":
            parts.append("on your own server (no price)")
        elif self.input_cost_usd is not None and self.max_cost_usd is not None:
            parts.append(
                f"about {format_usd(self.input_cost_usd)} to send, at most "
                f"{format_usd(self.max_cost_usd)} with a {self.max_tokens:,}-token reply"
            )
        else:
            parts.append("price unknown for this model")
        return ", ".join(parts)


def format_usd(amount: float) -> str:
    """Dollars with enough digits to show a fraction of a cent."""
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount >= 0.01:
        return f"${amount:.3f}"
    return f"${amount:.4f}"


def build_preview(
    messages: Sequence[Message],
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int = 2048,
    base_url: str | None = None,
    destination: Destination | None = None,
    top_p: float | None = None,
) -> Preview:
    """The preview of sending ``messages`` (a Hearth history) to ``model`` of ``destination``
    (default: Claude).

    Send ``preview.request`` with :meth:`ClaudeClient.chat` (or a remote's
    :meth:`RemoteClient.chat`) so what is sent is what was shown. Raises
    NothingToSendError (RemoteRequestError) when there is no user message to answer.
    """
    if destination is not None and destination.kind == "remote":
        assert destination.remote is not None
        remote_request = prepare_remote_request(
            messages,
            model=model,
            system=system,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
        )
        return Preview(
            request=remote_request,
            host=destination.host,
            input_tokens=estimate_request_tokens(remote_request),
            input_tokens_estimated=True,
            input_cost_usd=None,
            max_cost_usd=None,
            listed=None,
            destination=destination,
        )
    request = prepare_request(
        messages, model=model, system=system, temperature=temperature, max_tokens=max_tokens
    )
    tokens = estimate_request_tokens(request)
    listed = find_claude_model(model)
    return Preview(
        request=request,
        host=host_of(resolve_base_url(base_url)),
        input_tokens=tokens,
        input_tokens_estimated=True,
        input_cost_usd=None if listed is None else listed.cost(input_tokens=tokens),
        max_cost_usd=None
        if listed is None
        else listed.cost(input_tokens=tokens, output_tokens=request.max_tokens),
        listed=listed,
        destination=destination or claude_destination(base_url),
    )


# -- suggestions --------------------------------------------------------------------------


class SuggestionReason(enum.StrEnum):
    CONTEXT_TOO_LONG = "context too long"
    NO_MODEL_FITS = "no model fits"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A hint that Claude could help; ``needs_opt_in`` when Claude is still off."""

    reason: SuggestionReason
    message: str
    needs_opt_in: bool


def suggest_claude(
    settings: Settings,
    *,
    prompt_tokens: int | None = None,
    context_length: int | None = None,
    dropped_messages: int = 0,
    fits_any_model: bool = True,
) -> Suggestion | None:
    """A suggestion to try Claude, or None. It never routes anything to Claude.

    Suggests when the local model's context cannot hold the conversation (messages
    were dropped, or ``prompt_tokens`` exceeds ``context_length``) or when no local
    model fits this machine. Never while offline.
    """
    if settings.offline:
        return None
    off = not settings.claude_enabled
    tail = " (turn Claude on in Settings first)" if off else ""
    if not fits_any_model:
        return Suggestion(
            SuggestionReason.NO_MODEL_FITS,
            "No local model fits this computer's memory. You could ask Claude instead; "
            f"your messages would then be sent to Anthropic{tail}.",
            off,
        )
    too_long = dropped_messages > 0 or (
        prompt_tokens is not None and context_length is not None and prompt_tokens > context_length
    )
    if too_long:
        return Suggestion(
            SuggestionReason.CONTEXT_TOO_LONG,
            "This conversation is longer than the local model can hold, so older messages "
            "are left out. Claude can read all of it; your messages would then be sent to "
            f"Anthropic{tail}.",
            off,
        )
    return None
