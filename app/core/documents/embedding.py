"""Embedding chunks: through the engine process, never in the app's own process."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.core.errors import ContextOverflowError, HearthError, NotFoundError
from app.core.gguf import read_header
from app.core.inference import EngineProcess, LoadOptions
from app.core.library import Library
from app.core.settings import Settings

EMBEDDING_MODEL_NAMES = ("minilm-l6", "nomic-embed-text")
"""Among installed embedding models, those whose file names hold these come first, in order."""

EMBEDDING_CONTEXT = 512
"""What the embedding models Hearth offers read at most (all-MiniLM-L6-v2's positions)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prefixes:
    """What a model wants before a search query and before a document's text."""

    query: str = ""
    document: str = ""


NO_PREFIXES = Prefixes()
NOMIC_PREFIXES = Prefixes(query="search_query: ", document="search_document: ")
"""nomic-embed-text was trained with these task prefixes; without them it retrieves worse."""


def prefixes_for(path: Path) -> Prefixes:
    """The task prefixes of an embedding model file, from its GGUF architecture and name.

    nomic-embed-text (architecture ``nomic-bert``) needs ``search_query: `` and
    ``search_document: ``; all-MiniLM-L6-v2 and other BERT models need none.
    """
    names = [path.name]
    try:
        header = read_header(path)
        names += [header.architecture, header.name or ""]
    except HearthError as error:  # the engine will say what is wrong with the file
        log.debug("no header read from %s: %s", path, error)
    if any("nomic" in name.lower() for name in names):
        return NOMIC_PREFIXES
    return NO_PREFIXES


class Embedder(Protocol):
    """Turns texts into unit vectors; ``model_id`` names the model the vectors belong to.

    An embedder may also have ``prefixes`` (:class:`Prefixes`): the indexer puts
    ``prefixes.document`` before each chunk and the search ``prefixes.query`` before the
    question (see :func:`document_texts`, :func:`query_text`).
    """

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def _prefixes(embedder: Embedder) -> Prefixes:
    prefixes = getattr(embedder, "prefixes", NO_PREFIXES)  # stand-ins in tests have none
    return prefixes if isinstance(prefixes, Prefixes) else NO_PREFIXES


def document_texts(embedder: Embedder, texts: Sequence[str]) -> list[str]:
    """Chunk texts as the model wants them embedded (with its document prefix)."""
    prefix = _prefixes(embedder).document
    return [prefix + text for text in texts]


def query_text(embedder: Embedder, text: str) -> str:
    """A question as the model wants it embedded (with its query prefix)."""
    return _prefixes(embedder).query + text


def model_id_for(path: Path) -> str:
    """A stable name for an embedding model file: its name and a hash of its first MiB."""
    with path.open("rb") as handle:
        digest = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:12]
    return f"{path.name}:{digest}"


class NoEmbeddingModelError(NotFoundError):
    """No embedding model was named or is installed."""

    hint = (
        "Download one with `hearth pull all-minilm-l6-v2`, or name a GGUF embedding model "
        "with --embedding-model or `hearth config set docs_embedding_model PATH`."
    )


def find_embedding_model(settings: Settings, choice: str | None = None) -> Path:
    """The embedding model to use: ``choice``, the setting, else an installed one."""
    wanted = choice or settings.docs_embedding_model
    if wanted:
        path = Path(wanted).expanduser()
        if path.is_file():
            return path
        try:
            return Library(models_dir=settings.models_folder()).find(wanted).path
        except HearthError:
            raise NoEmbeddingModelError(f"There is no embedding model at {wanted}.") from None
    usable = [
        m
        for m in Library(models_dir=settings.models_folder()).installed()
        if m.is_embedding and m.problem is None
    ]
    for name in EMBEDDING_MODEL_NAMES:
        for model in usable:
            if name in model.path.name.lower():
                return model.path
    if usable:
        return usable[0].path
    raise NoEmbeddingModelError("No embedding model is installed.")


EMBEDDING_OVERHEAD = 96 * 1024 * 1024
"""RAM an embedding model takes beyond its file in the engine: its compute buffers for a
512-token batch and the context (measured about 60 MiB for all-MiniLM-L6-v2; rounded up)."""


def embedding_memory(path: Path) -> int:
    """RAM the embedding model at ``path`` takes when loaded in the engine."""
    return path.stat().st_size + EMBEDDING_OVERHEAD


def embedding_memory_in_use(settings: Settings, *, index_file: Path | None = None) -> int:
    """RAM the advisor keeps for the embedding model: 0 unless documents are in use.

    They are when an embedding model is chosen in settings or a collection exists; the
    model is the one :func:`find_embedding_model` picks (none installed: 0).
    """
    if not settings.docs_embedding_model and not _has_collections(index_file):
        return 0
    try:
        return embedding_memory(find_embedding_model(settings))
    except (HearthError, OSError):
        return 0


def _has_collections(index_file: Path | None) -> bool:
    if index_file is None:
        from app.core.paths import app_paths

        index_file = app_paths().documents / "index.sqlite3"
    if not index_file.is_file():
        return False
    try:  # read-only: asking must not create or change the index
        with contextlib.closing(
            sqlite3.connect(f"{index_file.as_uri()}?mode=ro", uri=True, timeout=1)
        ) as db:
            return bool(db.execute("SELECT count(*) FROM collections").fetchone()[0])
    except sqlite3.Error:
        return False


class EngineEmbedder:
    """An embedding model loaded in an :class:`EngineProcess` (started here if not given)."""

    def __init__(self, model: str | Path, *, engine: EngineProcess | None = None) -> None:
        self.model_path = Path(model)
        self._own = engine is None
        self.engine = engine or EngineProcess()
        self.engine.load(
            self.model_path, LoadOptions(context_length=EMBEDDING_CONTEXT, embedding=True)
        )
        self.prefixes = prefixes_for(self.model_path)
        # Vectors made with the prefixes are not those made without (an older index).
        self._model_id = model_id_for(self.model_path) + (
            "+prefixed" if self.prefixes.query else ""
        )
        self.calls = 0
        """How many embedding requests went to the engine (tests count re-embedding)."""

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit vectors; a text too long for the model is embedded by its longest fitting start."""
        if not texts:
            return []
        self.calls += 1
        try:
            return self.engine.embed(list(texts), normalize=True)
        except ContextOverflowError:
            if len(texts) > 1:
                return [vector for text in texts for vector in self.embed([text])]
            # Rare words split into many word pieces: keep the start that fits.
            return self.embed([texts[0][: max(1, len(texts[0]) * 3 // 4)]])

    def close(self) -> None:
        """Stop the engine process if this embedder started it."""
        if self._own:
            self.engine.close()

    def __enter__(self) -> EngineEmbedder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
