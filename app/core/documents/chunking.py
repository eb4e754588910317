"""Cutting text into overlapping chunks of a few hundred tokens, each with its position.

Tokens here are words and punctuation marks (what the embedding model's WordPiece tokenizer
sees, give or take the splitting of rare words), counted without loading any model so a
folder can be cut up while the engine embeds something else. A chunk that still turns out
too long for the model is shortened by the indexer, never sent to be refused.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from app.core.documents.extraction import Section

TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a file's text and where it lies (page, and first and last line)."""

    text: str
    page: int | None
    first_line: int
    last_line: int
    unit: str = "lines"

    @property
    def hash(self) -> str:
        """What identifies the chunk's text: equal text, equal vector (no embedding twice)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def count_tokens(text: str) -> int:
    """Tokens as the chunker counts them (words and punctuation marks)."""
    return sum(1 for _ in TOKEN.finditer(text))


def chunk_sections(sections: list[Section], *, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most ``size`` tokens, each starting with the ``overlap`` tokens before it.

    Chunks end at paragraph ends where they can, and where a chunk ends depends only on the
    paragraphs near it (a paragraph whose checksum is a multiple of three closes a chunk
    that is at least half full), so editing one paragraph changes one or two chunks, not
    every chunk after it: only those are embedded again. A chunk never crosses a section
    (a PDF page), so its page is exact.
    """
    if size < 1:
        raise ValueError(f"A chunk needs at least one token, not {size}.")
    if not 0 <= overlap < size:
        raise ValueError(f"The overlap ({overlap}) must be less than the chunk size ({size}).")
    chunks: list[Chunk] = []
    body = size - overlap
    for section in sections:
        text = section.text
        spans = [match.span() for match in TOKEN.finditer(text)]
        if not spans:
            continue
        newlines = [index for index, char in enumerate(text) if char == "\n"]

        start: int | None = None
        for first, last in _units(text, spans, body):
            if start is not None and last - start > body:
                chunks.append(_chunk(section, spans, newlines, max(0, start - overlap), first))
                start = None
            if start is None:
                start = first
            closing = zlib.crc32(text[spans[first][0] : spans[last - 1][1]].encode()) % 3 == 0
            if last - start >= body // 2 and closing:
                chunks.append(_chunk(section, spans, newlines, max(0, start - overlap), last))
                start = None
        if start is not None:
            chunks.append(_chunk(section, spans, newlines, max(0, start - overlap), len(spans)))
    return chunks


def _chunk(
    section: Section, spans: list[tuple[int, int]], newlines: list[int], first: int, last: int
) -> Chunk:
    begin, end = spans[first][0], spans[last - 1][1]
    return Chunk(
        text=section.text[begin:end],
        page=section.page,
        first_line=section.first_line + bisect.bisect_left(newlines, begin),
        last_line=section.first_line + bisect.bisect_left(newlines, end - 1),
        unit=section.unit,
    )


def _units(text: str, spans: list[tuple[int, int]], most: int) -> Iterator[tuple[int, int]]:
    """Token ranges of the paragraphs (a long one cut into pieces of at most ``most``)."""
    breaks = [match.start() for match in PARAGRAPH_BREAK.finditer(text)]
    first = 0
    while first < len(spans):
        ends_at = bisect.bisect_right(breaks, spans[first][0])
        limit = breaks[ends_at] if ends_at < len(breaks) else len(text)
        last = bisect.bisect_left(spans, (limit, -1), lo=first)
        last = min(max(last, first + 1), first + most)
        yield first, last
        first = last
