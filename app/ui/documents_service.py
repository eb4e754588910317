"""The window's local documents: the index, the embedding engine, and indexing in the background.

One :class:`DocumentsService` per window. It opens the documents index, keeps an
:class:`~app.core.inference.EngineProcess` of its own loaded with the embedding model (the
chat's engine keeps the chat model; llama.cpp never runs in this process), and indexes one
collection at a time on a background thread with the core :class:`~app.core.documents.Indexer`,
queueing the rest. Its signals reach the GUI thread queued: progress, a finished run, errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.context import AppContext
from app.core.documents import (
    AttachedRetriever,
    Collection,
    DocumentContext,
    DocumentIndex,
    EngineEmbedder,
    FileEntry,
    Indexer,
    NoEmbeddingModelError,
    find_embedding_model,
)
from app.core.errors import HearthError, unexpected
from app.core.inference import EngineProcess
from app.ui.operations import run_operation, wait_responsive

log = logging.getLogger(__name__)


class ResponsiveRetriever:
    """A chat's document search, run off the GUI thread while the window goes on working.

    The session asks for a turn's excerpts before it stores the turn (and before a
    preview shows them), so the GUI thread waits for them; embedding the question waits
    behind an indexing batch in progress, or for the embedding model to load, which can
    take seconds. The search runs on a thread of its own and the window keeps painting.
    """

    def __init__(self, inner: AttachedRetriever) -> None:
        self.inner = inner

    def context_for(self, question: str, *, budget_chars: int) -> DocumentContext:
        return wait_responsive(
            lambda: self.inner.context_for(question, budget_chars=budget_chars),
            doing="searching your documents",
        )


class DocumentsService(QObject):
    """Collections, their indexing, and the embedder the chat searches with."""

    progressed = Signal(object)  # app.core.documents.Progress, from the indexing thread
    indexed = Signal(str, object)  # collection name, Report
    failed = Signal(object)  # HearthError
    model_missing = Signal(object)  # NoEmbeddingModelError: no embedding model to index with
    changed = Signal()  # collections or their files changed
    _run_ended = Signal()

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.index = DocumentIndex.open(context.paths.documents)
        self._engine: EngineProcess | None = None
        self._embedder: EngineEmbedder | None = None
        self._embedder_lock = threading.Lock()
        self._indexer: Indexer | None = None
        self._thread: threading.Thread | None = None
        self._queue: list[str] = []
        self._paused = False
        self.running: str | None = None
        """The collection being indexed now (None: none)."""
        self._closed = False
        self._run_ended.connect(self._next)

    # -- what there is ---------------------------------------------------------------------

    def collections(self) -> list[Collection]:
        return self.index.collections()

    def files(self, name: str) -> list[FileEntry]:
        return self.index.files(name)

    def embedding_model(self) -> Path:
        """The embedding model indexing would use; NoEmbeddingModelError when there is none."""
        return find_embedding_model(self.context.current)

    def retriever(self, collections: Callable[[], Sequence[str]]) -> ResponsiveRetriever:
        """A retriever for a chat; ``collections`` gives the names it has attached."""
        return ResponsiveRetriever(
            AttachedRetriever(self.index, self.embedder, collections=collections)
        )

    def embedder(self) -> EngineEmbedder:
        """The embedding model, loaded in the documents' engine process on first need.

        Blocks while it loads (a second or two); the indexing thread calls it first, so a
        chat's first search usually finds it loaded.
        """
        path = self.embedding_model()
        with self._embedder_lock:
            if self._closed:  # the window is closing: start no engine process
                raise HearthError(self.tr("Hearth is closing; the embedding model was not loaded."))
            if self._embedder is None or self._embedder.model_path != path:
                if self._engine is None:
                    self._engine = EngineProcess()
                self._embedder = EngineEmbedder(path, engine=self._engine)
            return self._embedder

    # -- changing collections ----------------------------------------------------------------

    def add(self, name: str, paths: Sequence[str | Path]) -> None:
        """Add files and folders to ``name`` (created if new) and index it."""
        self.index.add_sources(name, paths)
        self.changed.emit()
        self.rescan(name)

    def remove(self, name: str) -> None:
        """Delete the collection and its index rows, in the background (its indexing is
        stopped first; wiping the text from the file takes a while for a large one)."""
        self._queue = [n for n in self._queue if n != name]
        running = self._thread if self.running == name else None
        if running is not None and self._indexer is not None:
            self._indexer.cancel()

        def work() -> None:
            if running is not None:
                running.join(timeout=60)
            self.index.remove_collection(name)

        run_operation(
            work,
            on_success=lambda _none: self.changed.emit(),
            on_failure=self.failed.emit,
            doing=f"removing the collection {name}",
        )

    # -- indexing ------------------------------------------------------------------------------

    def rescan(self, name: str) -> None:
        """Bring ``name`` up to date with its files (queued behind a run in progress)."""
        if name == self.running or name in self._queue:
            return
        self._queue.append(name)
        if self.running is None:
            self._next()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        if self._indexer is not None:
            self._indexer.pause()

    def resume(self) -> None:
        self._paused = False
        if self._indexer is not None:
            self._indexer.resume()

    def cancel(self) -> None:
        """Stop the run in progress; what it wrote stays, and a rescan goes on from there."""
        self._queue.clear()
        if self._indexer is not None:
            self._indexer.cancel()

    def _next(self) -> None:
        self.running = None
        self._indexer = None
        if self._closed or not self._queue:
            return
        name = self._queue.pop(0)
        self.running = name
        self._thread = threading.Thread(target=self._run, args=(name,), daemon=True)
        self._thread.name = f"documents-{name}"
        self._thread.start()

    def _run(self, name: str) -> None:
        """On the indexing thread: load the embedder, index, report."""
        try:
            embedder = self.embedder()
            indexer = Indexer(
                self.index,
                embedder,
                settings=self.context.current,
                on_progress=self.progressed.emit,
            )
            self._indexer = indexer
            if self._paused:
                indexer.pause()
            report = indexer.run(name)
        except NoEmbeddingModelError as error:
            self._queue.clear()
            self.model_missing.emit(error)
        except HearthError as error:
            self.failed.emit(error)
        except Exception as error:  # never let the thread die silently
            log.exception("indexing %s failed", name)
            self.failed.emit(unexpected(error, doing=f"indexing {name}"))
        else:
            self.indexed.emit(name, report)
        finally:
            self.changed.emit()
            self._run_ended.emit()

    def shutdown(self) -> None:
        """Stop indexing, close the engine process and the index."""
        if self._closed:
            return
        self._closed = True
        self.cancel()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._embedder_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        self.index.close()
