"""The local server: Hearth's model for other programs, secure by default.

OpenAI's API (``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``,
``/v1/embeddings``) and Anthropic's (``/v1/messages``), streamed and not, on
127.0.0.1 and ::1 unless asked otherwise, beyond which every request needs the
token Hearth keeps in the keychain. See :mod:`app.core.server.server`.
"""

from __future__ import annotations

from app.core.server.config import (
    ServerConfig,
    ServerLimits,
    ServerSetupError,
    is_loopback,
)
from app.core.server.server import LocalServer
from app.core.server.streams import Activity
from app.core.server.token import ServerToken

__all__ = [
    "Activity",
    "LocalServer",
    "ServerConfig",
    "ServerLimits",
    "ServerSetupError",
    "ServerToken",
    "is_loopback",
]
