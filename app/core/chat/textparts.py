"""Pieces of a reply's text the chat shows differently: reasoning and code blocks.

:class:`ReasoningSplitter` routes streamed text into the reasoning (``<think>…</think>``)
and the answer as it arrives, even when a tag is split across two pieces, so the view
can append to the right place without re-reading the whole reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


@dataclass(frozen=True, slots=True)
class Routed:
    """Text to append to the reasoning and to the answer, from one piece."""

    reasoning: str = ""
    answer: str = ""


class ReasoningSplitter:
    """Split streamed text into reasoning and answer.

    Reasoning is recognised only when the reply *starts* with ``<think>`` (after
    whitespace), as reasoning models write it; a ``<think>`` later in an answer is
    ordinary text.
    """

    def __init__(self) -> None:
        self._state = "start"  # start -> (thinking ->) answer
        self._held = ""

    def feed(self, piece: str) -> Routed:
        text = self._held + piece
        self._held = ""
        if self._state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN_TAG):
                self._state = "thinking"
                text = stripped[len(OPEN_TAG) :]
            elif OPEN_TAG.startswith(stripped):
                self._held = text  # may still become "<think>"
                return Routed()
            else:
                self._state = "answer"
                return Routed(answer=text)
        if self._state == "thinking":
            end = text.find(CLOSE_TAG)
            if end >= 0:
                self._state = "answer"
                return Routed(reasoning=text[:end], answer=text[end + len(CLOSE_TAG) :].lstrip())
            keep = _partial_suffix(text, CLOSE_TAG)
            if keep:
                self._held = text[-keep:]
                text = text[:-keep]
            return Routed(reasoning=text)
        return Routed(answer=text)

    def finish(self) -> Routed:
        """Whatever was held back, once the stream has ended."""
        held, self._held = self._held, ""
        if self._state == "thinking":
            return Routed(reasoning=held)
        return Routed(answer=held)


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a whole reply."""
    splitter = ReasoningSplitter()
    first, last = splitter.feed(text), splitter.finish()
    return first.reasoning + last.reasoning, first.answer + last.answer


def _partial_suffix(text: str, tag: str) -> int:
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


_FENCE = re.compile(
    r"^(?P<fence>```+|~~~+)[ \t]*(?P<lang>[^\s`]*)[^\n]*\n(?P<code>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str
    code: str


def code_blocks(markdown: str) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown text, in order."""
    return [
        CodeBlock(match.group("lang"), match.group("code").rstrip("\n"))
        for match in _FENCE.finditer(markdown)
    ]
