"""GGUF files: the header reader and the byte sources it reads from."""

from __future__ import annotations

from app.core.gguf.header import GGUFHeader, read_header
from app.core.gguf.templates import CHAT_TEMPLATES, ChatTemplate, TemplateChoice, choose_template

__all__ = [
    "CHAT_TEMPLATES",
    "ChatTemplate",
    "GGUFHeader",
    "TemplateChoice",
    "choose_template",
    "read_header",
]
