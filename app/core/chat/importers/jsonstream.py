"""Read a JSON array one element at a time, so a huge export never sits in memory whole.

ChatGPT's ``conversations.json`` and Open WebUI's export are one array of every chat
ever had, easily hundreds of megabytes. :func:`iter_array` decodes one element, hands
it out and forgets it; memory stays near the size of the largest single chat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

_CHUNK = 1 << 20
# A failure this close to the end of what was read may only mean the element goes on.
_NEAR_END = 32


class Readable(Protocol):
    def read(self, size: int = -1, /) -> str: ...


class JSONStreamError(ValueError):
    """The text is not a complete JSON array (``detail`` says where it went wrong)."""


_decoder = json.JSONDecoder()


class _Buffer:
    def __init__(self, stream: Readable, chunk: int) -> None:
        self.stream = stream
        self.chunk = chunk
        self.text = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0  # characters dropped from the front, for positions in messages

    def more(self, at_least: int = 0) -> bool:
        """Read more text; False at the end of the stream."""
        if self.eof:
            return False
        piece = self.stream.read(max(self.chunk, at_least))
        if not piece:
            self.eof = True
            return False
        if self.pos:
            self.consumed += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += piece
        return True

    def skip_space(self) -> str:
        """The next non-space character ('' at the end), not consumed."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.more():
                return ""

    def where(self) -> str:
        return f"character {self.consumed + self.pos + 1}"


def iter_array(stream: Readable, *, chunk: int = _CHUNK) -> Iterator[Any]:
    """Each element of the JSON array that ``stream`` holds, in order.

    Raises JSONStreamError when the text is not one array, is cut short, or has
    anything but white space after it.
    """
    buffer = _Buffer(stream, chunk)
    if buffer.skip_space() != "[":
        raise JSONStreamError(f"it does not start with a JSON array ({buffer.where()})")
    buffer.pos += 1
    first = True
    while True:
        char = buffer.skip_space()
        if char == "":
            raise JSONStreamError("it ends in the middle of the array (the file is cut short)")
        if char == "]" and first:
            buffer.pos += 1
            break
        if not first:
            if char == "]":
                buffer.pos += 1
                break
            if char != ",":
                raise JSONStreamError(f"expected ',' or ']' at {buffer.where()}")
            buffer.pos += 1
            if buffer.skip_space() == "":
                raise JSONStreamError("it ends in the middle of the array (the file is cut short)")
        yield _decode_one(buffer)
        first = False
    if buffer.skip_space() != "":
        raise JSONStreamError(f"there is more after the array ({buffer.where()})")


def _decode_one(buffer: _Buffer) -> Any:
    while True:
        try:
            value, end = _decoder.raw_decode(buffer.text, buffer.pos)
        except json.JSONDecodeError as error:
            incomplete = error.pos >= len(buffer.text) - _NEAR_END or error.msg.startswith(
                "Unterminated string"
            )
            # Read at least as much again as is held, so a large element is decoded a
            # bounded number of times (amortised linear, not quadratic).
            if incomplete and buffer.more(len(buffer.text) - buffer.pos):
                continue
            # Near the end of a file that does not end its array: the file is cut short.
            if incomplete and not buffer.text.rstrip().endswith("]"):
                raise JSONStreamError(
                    "it ends in the middle of an element (the file is cut short)"
                ) from None
            raise JSONStreamError(
                f"{error.msg} at character {buffer.consumed + error.pos + 1}"
            ) from None
        # A number at the very end of what was read may go on in the next chunk.
        at_end = end >= len(buffer.text) and not buffer.eof
        if at_end and isinstance(value, int | float) and buffer.more():
            continue
        buffer.pos = end
        return value
