"""The cloud client: the Claude API, used only when the user opted in."""

from __future__ import annotations

from app.core.cloud.claude import ClaudeClient, CloudError, MissingKeyError, ensure_claude_allowed

__all__ = ["ClaudeClient", "CloudError", "MissingKeyError", "ensure_claude_allowed"]
