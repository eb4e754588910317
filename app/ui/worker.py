"""The inference worker: the one thread that talks to the engine process.

llama.cpp runs in its own supervised process (:class:`EngineProcess`), so a crash
there is an event this window reports, not the end of the window. One
:class:`InferenceWorker` lives on its own ``QThread`` (it blocks while it waits for the
engine) and is driven only through queued signals (GPT4All's ChatLLM does the same). It
streams the engine's pieces back as signals, one per piece; the chat view throttles what
it repaints. Each piece is handed to the turn it belongs to on this thread, so saving
streamed text never runs in a GUI slot. Stop is the one call made directly from the GUI thread:
:meth:`EngineProcess.stop` only sends a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.errors import HearthError, unexpected
from app.core.generation import Message, Reply, SamplingOptions
from app.core.inference import EngineProcess, LoadedModel, LoadOptions


class PieceSink(Protocol):
    """Where a reply's pieces go as they stream (a core chat turn saves them)."""

    def append(self, piece: str) -> None: ...


class InferenceWorker(QObject):
    """Loads models and streams replies on its own thread."""

    # Requests (connected queued: emitted on the GUI thread, run on the worker's).
    load_requested = Signal(str, object)  # path, LoadOptions
    reply_requested = Signal(object, object, object)  # PieceSink, messages, SamplingOptions

    # Results.
    loading = Signal(str)
    loaded = Signal(object)  # LoadedModel
    load_failed = Signal(object)  # HearthError
    waiting = Signal(object, int)  # the sink, requests ahead of it (0: its turn came)
    reply_started = Signal(object, int, int)  # the sink, prompt tokens, dropped messages
    piece = Signal(object, str)  # the sink, text (already appended to it)
    reply_finished = Signal(object, object)  # the sink, ReplyStats
    reply_failed = Signal(object, object)  # the sink, HearthError
    notice = Signal(str)  # what Hearth did after the engine crashed, as it happens

    def __init__(self, engine: EngineProcess | None = None) -> None:
        super().__init__()
        self.engine = engine or EngineProcess(on_notice=self.notice.emit)
        self.load_requested.connect(self._load)
        self.reply_requested.connect(self._reply)

    def stop(self) -> None:
        """End the reply in progress. Safe from any thread."""
        self.engine.stop()

    @Slot(str, object)
    def _load(self, path: str, options: LoadOptions) -> None:
        self.loading.emit(path)
        try:
            model: LoadedModel = self.engine.load(path, options)
        except HearthError as error:
            self.load_failed.emit(error)
            return
        except Exception as error:  # never let a worker die silently
            self.load_failed.emit(unexpected(error, doing="loading the model"))
            return
        self.loaded.emit(model)

    @Slot(object, object, object)
    def _reply(
        self, sink: PieceSink, messages: Sequence[Message], sampling: SamplingOptions
    ) -> None:
        reply = None
        try:
            # Behind the local server's requests, the chat says how many are ahead.
            reply = self.engine.chat(
                list(messages), sampling, on_wait=lambda ahead: self.waiting.emit(sink, ahead)
            )
            self.reply_started.emit(sink, reply.prompt_tokens, reply.dropped_messages)
            for text in reply:
                sink.append(text)
                self.piece.emit(sink, text)
        except HearthError as error:
            self._abandon(reply)
            self.reply_failed.emit(sink, error)
            return
        except Exception as error:  # never let a worker die silently
            self._abandon(reply)
            self.reply_failed.emit(sink, unexpected(error, doing="writing the reply"))
            return
        self.reply_finished.emit(sink, reply.stats)

    def _abandon(self, reply: Reply | None) -> None:
        if reply is not None:
            reply.close()  # the engine stops writing a reply nobody saves


class WorkerThread:
    """An :class:`InferenceWorker` on its own started QThread."""

    def __init__(self, engine: EngineProcess | None = None) -> None:
        self.thread = QThread()
        self.thread.setObjectName("hearth-inference")
        self.worker = InferenceWorker(engine)
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Stop any reply, end the thread, then end the engine process."""
        self.worker.stop()
        self.thread.quit()
        if self.thread.wait(timeout_ms):
            self.worker.engine.close()  # the thread is gone: no one else touches it
