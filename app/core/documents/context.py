"""Retrieved chunks as a turn's context: what fits, what was left out, and the sources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.documents.embedding import Embedder
from app.core.documents.index import DocumentIndex, Hit
from app.core.documents.retrieval import search
from app.core.units import count

INSTRUCTIONS = (
    "Numbered excerpts from the user's own documents follow. Answer from them when they "
    "are relevant and cite them by number, like [2]. If they do not hold the answer, say so."
)


@dataclass(frozen=True, slots=True)
class DocumentContext:
    """The excerpts given to the model (``used``), those that did not fit, and the text."""

    text: str
    used: tuple[Hit, ...]
    left_out: tuple[Hit, ...]

    def sources(self) -> list[str]:
        """One line per excerpt the model saw: ``[1] /path/file.md, lines 3–9``."""
        return [f"[{n}] {hit.path}, {hit.where}" for n, hit in enumerate(self.used, start=1)]


def build_context(hits: Sequence[Hit], *, budget_chars: int) -> DocumentContext:
    """The best hits that fit in ``budget_chars``; the prompt names those left out."""
    used: list[Hit] = []
    left_out: list[Hit] = []
    parts = [INSTRUCTIONS]
    spent = len(INSTRUCTIONS)
    for hit in hits:
        block = f"[{len(used) + 1}] {hit.path}, {hit.where}\n{hit.text.strip()}"
        if not left_out and spent + len(block) + 2 <= budget_chars:
            used.append(hit)
            parts.append(block)
            spent += len(block) + 2
        else:
            left_out.append(hit)  # the rest are left out too, so the numbers follow rank
    if not used and not left_out:
        return DocumentContext("", (), ())
    if left_out:
        names = "; ".join(f"{hit.path}, {hit.where}" for hit in left_out)
        verb = "was" if len(left_out) == 1 else "were"
        parts.append(
            f"({count(len(left_out), 'more matching excerpt')} {verb} left out because they "
            f"do not fit the model's context: {names}.)"
        )
    if not used:
        parts = parts[-1:]
    return DocumentContext("\n\n".join(parts), tuple(used), tuple(left_out))


class DocumentRetriever:
    """Searches the named collections for a question and builds the turn's context."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        *,
        collections: Sequence[str],
        limit: int = 6,
    ) -> None:
        for name in collections:
            index.collection(name)  # an unknown name fails now, not at the first message
        self.index = index
        self.embedder = embedder
        self.collections = list(collections)
        self.limit = limit

    def context_for(self, question: str, *, budget_chars: int) -> DocumentContext:
        """The excerpts for ``question`` that fit in ``budget_chars``."""
        hits = search(
            self.index,
            question,
            embedder=self.embedder,
            collections=self.collections,
            limit=self.limit,
        )
        return build_context(hits, budget_chars=budget_chars)


NO_DOCUMENTS = DocumentContext("", (), ())


class AttachedRetriever:
    """Searches the collections a chat has attached now, asked at every turn.

    ``collections`` gives the names (a chat's picker changes them between turns);
    ``embedder`` gives the embedding model, loaded on first need. Names of collections
    that were removed since are passed over; with none attached, nothing is searched.
    """

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Callable[[], Embedder],
        *,
        collections: Callable[[], Sequence[str]],
        limit: int = 6,
    ) -> None:
        self.index = index
        self._embedder = embedder
        self._collections = collections
        self.limit = limit

    def context_for(self, question: str, *, budget_chars: int) -> DocumentContext:
        """The excerpts of the attached collections for ``question`` that fit."""
        known = {c.name for c in self.index.collections()}
        names = [name for name in self._collections() if name in known]
        if not names:
            return NO_DOCUMENTS
        hits = search(
            self.index, question, embedder=self._embedder(), collections=names, limit=self.limit
        )
        return build_context(hits, budget_chars=budget_chars)
