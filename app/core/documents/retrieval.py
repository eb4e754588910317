"""Searching collections: keywords (FTS5) and meaning (vectors), merged by reciprocal rank."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.documents.embedding import Embedder
from app.core.documents.index import DocumentIndex, Hit

CANDIDATES = 50
"""How many results each search hands to the fusion."""


def search(
    index: DocumentIndex,
    query: str,
    *,
    embedder: Embedder | None,
    collections: Sequence[str] | None = None,
    limit: int = 8,
    mode: str = "fused",
) -> list[Hit]:
    """The chunks that best answer ``query``, with keyword, vector and fused scores.

    ``collections`` names where to look (all when None). ``mode`` is ``fused``,
    ``keyword`` (no embedder needed) or ``vector``.
    """
    if mode not in ("fused", "keyword", "vector"):
        raise ValueError(f"mode must be fused, keyword or vector, not {mode!r}")
    chosen = index.collections()
    if collections is not None:
        ids = [index.collection(name).id for name in collections]
    else:
        ids = [c.id for c in chosen]
    keyword = index.keyword_search(query, ids, CANDIDATES) if mode != "vector" else []
    vector: list[tuple[int, float]] = []
    if mode != "keyword":
        if embedder is None:
            raise ValueError("A vector search needs an embedder.")
        query_vector = embedder.embed([query])[0]
        vector = index.vector_search(query_vector, embedder.model_id, ids, CANDIDATES)
    return index.hits(keyword, vector, limit)
