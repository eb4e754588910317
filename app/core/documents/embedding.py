"""Embedding chunks: through the engine process, never in the app's own process."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from app.core.errors import ContextOverflowError, HearthError, NotFoundError
from app.core.inference import EngineProcess, LoadOptions
from app.core.library import Library
from app.core.settings import Settings

EMBEDDING_MODEL_NAMES = ("minilm-l6", "nomic-embed-text")
"""Among installed embedding models, those whose file names hold these come first, in order."""

EMBEDDING_CONTEXT = 512
"""What the embedding models Hearth offers read at most (all-MiniLM-L6-v2's positions)."""


class Embedder(Protocol):
    """Turns texts into unit vectors; ``model_id`` names the model the vectors belong to."""

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


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


class EngineEmbedder:
    """An embedding model loaded in an :class:`EngineProcess` (started here if not given)."""

    def __init__(self, model: str | Path, *, engine: EngineProcess | None = None) -> None:
        self.model_path = Path(model)
        self._own = engine is None
        self.engine = engine or EngineProcess()
        self.engine.load(
            self.model_path, LoadOptions(context_length=EMBEDDING_CONTEXT, embedding=True)
        )
        self._model_id = model_id_for(self.model_path)
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
