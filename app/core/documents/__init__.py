"""Local documents: collections of files, indexed privately, searched by keywords and meaning.

Text comes out of plain text, Markdown, source code, PDF, Word .docx and HTML
(:mod:`.extraction`), is cut into overlapping chunks (:mod:`.chunking`), embedded in the
engine process (:mod:`.embedding`) and kept in one SQLite file under Hearth's data folder
(:mod:`.index`) by a background :class:`Indexer` that can pause, resume, and pick up where
it stopped. :func:`search` merges keyword and vector results by reciprocal-rank fusion.
"""

from __future__ import annotations

from app.core.documents.chunking import Chunk, chunk_sections, count_tokens
from app.core.documents.context import (
    AttachedRetriever,
    DocumentContext,
    DocumentRetriever,
    build_context,
)
from app.core.documents.embedding import (
    Embedder,
    EngineEmbedder,
    NoEmbeddingModelError,
    Prefixes,
    embedding_memory,
    embedding_memory_in_use,
    find_embedding_model,
    prefixes_for,
)
from app.core.documents.extraction import Extracted, Limits, Section, Skipped, extract
from app.core.documents.index import (
    Collection,
    CollectionNotFoundError,
    Consistency,
    DocumentIndex,
    DocumentIndexError,
    FileEntry,
    Hit,
    SourceNotFoundError,
)
from app.core.documents.indexer import Indexer, Progress, Report
from app.core.documents.retrieval import search

__all__ = [
    "AttachedRetriever",
    "Chunk",
    "Collection",
    "CollectionNotFoundError",
    "Consistency",
    "DocumentContext",
    "DocumentIndex",
    "DocumentIndexError",
    "DocumentRetriever",
    "Embedder",
    "EngineEmbedder",
    "Extracted",
    "FileEntry",
    "Hit",
    "Indexer",
    "Limits",
    "NoEmbeddingModelError",
    "Prefixes",
    "Progress",
    "Report",
    "Section",
    "Skipped",
    "SourceNotFoundError",
    "build_context",
    "chunk_sections",
    "count_tokens",
    "embedding_memory",
    "embedding_memory_in_use",
    "extract",
    "find_embedding_model",
    "prefixes_for",
    "search",
]
