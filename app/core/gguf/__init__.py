"""GGUF files: the header reader and the byte sources it reads from."""

from __future__ import annotations

from app.core.gguf.header import GGUFHeader, read_header

__all__ = ["GGUFHeader", "read_header"]
