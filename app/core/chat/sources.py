"""A reply's sources: the excerpts of the user's documents retrieved for it, with their scores.

Saved with the reply (the history's ``sources`` column, JSON), so a reopened chat still
lists them, shows why each was found (keyword, vector and fused scores) and opens its file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.documents import DocumentContext, Hit


@dataclass(frozen=True, slots=True)
class Source:
    """One retrieved excerpt; ``number`` is how the prompt cited it (None: left out)."""

    number: int | None
    path: str
    where: str
    """``page 3``, ``lines 10–24``: where in the file the excerpt lies."""
    text: str
    page: int | None
    first_line: int
    last_line: int
    keyword_score: float | None
    vector_score: float | None
    fused_score: float
    keyword_rank: int | None = None
    vector_rank: int | None = None

    @property
    def used(self) -> bool:
        """Whether the model was given this excerpt (it fit the context)."""
        return self.number is not None

    def label(self) -> str:
        """``[2] notes.md, lines 3–9`` (a left-out one is marked so)."""
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        mark = f"[{self.number}]" if self.number is not None else "[left out]"
        return f"{mark} {name}, {self.where}"


def sources_of(documents: DocumentContext) -> tuple[Source, ...]:
    """Every retrieved excerpt of a turn: those given to the model, then those left out."""
    used = [_source(hit, n) for n, hit in enumerate(documents.used, start=1)]
    return (*used, *(_source(hit, None) for hit in documents.left_out))


def _source(hit: Hit, number: int | None) -> Source:
    return Source(
        number=number,
        path=hit.path,
        where=hit.where,
        text=hit.text,
        page=hit.page,
        first_line=hit.first_line,
        last_line=hit.last_line,
        keyword_score=hit.keyword_score,
        vector_score=hit.vector_score,
        fused_score=hit.fused_score,
        keyword_rank=hit.keyword_rank,
        vector_rank=hit.vector_rank,
    )


_NAMES = frozenset(f.name for f in fields(Source))


def sources_json(sources: Sequence[Source]) -> str:
    """The sources as the history stores them."""
    return json.dumps([asdict(s) for s in sources], ensure_ascii=False, allow_nan=False)


def sources_from_json(text: str | None) -> tuple[Source, ...]:
    """Sources read back from the history; anything unreadable is left out, never raised."""
    if not text:
        return ()
    try:
        items: Any = json.loads(text)
    except ValueError:
        return ()
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            out.append(Source(**{k: v for k, v in item.items() if k in _NAMES}))
        except TypeError:
            continue
    return tuple(out)
