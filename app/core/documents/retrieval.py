"""Searching collections: keywords (FTS5) and meaning (vectors), merged by reciprocal rank."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from app.core.documents.embedding import Embedder, query_text
from app.core.documents.index import DocumentIndex, Hit

CANDIDATES = 50
"""How many results each search hands to the fusion."""
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword-search")


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
    if mode != "keyword" and embedder is None:
        raise ValueError("A vector search needs an embedder.")
    if mode == "keyword":
        return index.hits(index.keyword_search(query, ids, CANDIDATES), [], limit)
    assert embedder is not None
    # Keywords are searched beside the query's embedding and the vector scan.
    keywords = (
        _POOL.submit(index.keyword_search, query, ids, CANDIDATES) if mode == "fused" else None
    )
    try:
        query_vector = embedder.embed([query_text(embedder, query)])[0]
        vector = index.vector_search(query_vector, embedder.model_id, ids, CANDIDATES)
    except BaseException:
        if keywords is not None:
            wait([keywords])  # never leave it reading an index the caller may close
        raise
    keyword = keywords.result() if keywords is not None else []
    return index.hits(keyword, vector, limit)
