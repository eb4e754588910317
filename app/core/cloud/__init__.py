"""The clients of what leaves the machine: the Claude API, used only when the user opted in,
and the OpenAI-compatible servers on the user's other computers (``remote``)."""

from __future__ import annotations

from app.core.claude_models import CLAUDE_MODELS, ClaudeModel, find_claude_model
from app.core.cloud.claude import ClaudeClient, CloudError, MissingKeyError, ensure_claude_allowed
from app.core.cloud.remote import (
    RemoteClient,
    RemoteError,
    RemoteNotAllowedError,
    RemoteOfflineError,
    RemoteStreamCutError,
    RemoteTimeoutError,
    RemoteTokenRefusedError,
    UnknownRemoteError,
    add_remote,
    allow_remote,
    ensure_remote_allowed,
    ensure_remote_reachable,
    find_remote,
    leaves_machine,
    remove_remote,
)

__all__ = [
    "CLAUDE_MODELS",
    "ClaudeClient",
    "ClaudeModel",
    "CloudError",
    "MissingKeyError",
    "RemoteClient",
    "RemoteError",
    "RemoteNotAllowedError",
    "RemoteOfflineError",
    "RemoteStreamCutError",
    "RemoteTimeoutError",
    "RemoteTokenRefusedError",
    "UnknownRemoteError",
    "add_remote",
    "allow_remote",
    "ensure_claude_allowed",
    "ensure_remote_allowed",
    "ensure_remote_reachable",
    "find_claude_model",
    "find_remote",
    "leaves_machine",
    "remove_remote",
]
