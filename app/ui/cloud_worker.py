"""The cloud worker: streams a reply from Claude or a remote server on its own thread.

It mirrors :class:`~app.ui.worker.InferenceWorker`'s reply signals, so the chat
treats every backend alike. It sends only the request built for the preview the user
saw (or confirmed), to the preview's destination, and nothing at all unless asked: it
makes no connection of its own.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.chat import Preview
from app.core.cloud import ClaudeClient, CloudError, RemoteClient, leaves_machine
from app.core.errors import HearthError, unexpected
from app.core.settings import Settings
from app.ui.worker import PieceSink


class CloudWorker(QObject):
    # PieceSink, Preview, Settings, the key or token ("" for a remote that needs none)
    reply_requested = Signal(object, object, object, str)

    reply_started = Signal(object, int, int)
    piece = Signal(object, str)
    reply_finished = Signal(object, object)  # the sink, history fields (dict)
    reply_failed = Signal(object, object, object)  # the sink, HearthError, history fields

    def __init__(self) -> None:
        super().__init__()
        self._client: ClaudeClient | RemoteClient | None = None
        self.reply_requested.connect(self._reply)

    def stop(self, *, only: str | None = None) -> None:
        """End the reply in progress (any thread). ``only``: just a reply from ``"claude"``,
        a ``"remote"`` server, or one that ``"leaves"`` the machine (Claude, or a remote
        on another computer)."""
        client = self._client
        if client is None:
            return
        if isinstance(client, ClaudeClient):
            kinds = {"claude", "leaves"}
        else:
            kinds = {"remote", "leaves"} if leaves_machine(client.base_url) else {"remote"}
        if only is None or only in kinds:
            client.stop()

    @staticmethod
    def _client_for(preview: Preview, settings: Settings, key: str) -> ClaudeClient | RemoteClient:
        destination = preview.destination
        if destination.kind == "remote":
            assert destination.remote is not None
            return RemoteClient.for_remote(settings, destination.remote, token=key or None)
        return ClaudeClient.from_settings(settings, api_key=key, model=preview.model, max_retries=0)

    @Slot(object, object, object, str)
    def _reply(self, request: PieceSink, preview: Preview, settings: Settings, key: str) -> None:
        fields: dict[str, Any] = {}
        try:
            with self._client_for(preview, settings, key) as client:
                self._client = client
                reply = client.chat(preview.request)  # type: ignore[arg-type]
                self.reply_started.emit(request, preview.input_tokens, 0)
                try:
                    for text in reply:
                        request.append(text)  # saved on this thread, not in a slot
                        self.piece.emit(request, text)
                finally:
                    fields = reply.history_fields()
        except CloudError as error:
            self.reply_failed.emit(request, error, fields or {"status": "error"})
            return
        except HearthError as error:
            self.reply_failed.emit(request, error, {"status": "error"})
            return
        except Exception as error:  # never let a worker die silently
            self.reply_failed.emit(
                request, unexpected(error, doing="asking for a reply"), {"status": "error"}
            )
            return
        finally:
            self._client = None
        self.reply_finished.emit(request, fields)


class CloudThread:
    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("hearth-claude")
        self.worker = CloudWorker()
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        self.worker.stop()
        self.thread.quit()
        self.thread.wait(timeout_ms)
