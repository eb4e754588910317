"""The Claude worker: streams a Claude reply on its own thread.

It mirrors :class:`~app.ui.worker.InferenceWorker`'s reply signals, so the chat
treats both backends alike. It sends only the request built for the preview the user
saw (or confirmed), and nothing at all unless asked: it makes no connection of its own.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.chat import Preview
from app.core.cloud import ClaudeClient, CloudError
from app.core.errors import HearthError, unexpected
from app.core.settings import Settings
from app.ui.worker import PieceSink


class CloudWorker(QObject):
    reply_requested = Signal(object, object, object, str)  # PieceSink, Preview, Settings, key

    reply_started = Signal(object, int, int)
    piece = Signal(object, str)
    reply_finished = Signal(object, object)  # the sink, history fields (dict)
    reply_failed = Signal(object, object, object)  # the sink, HearthError, history fields

    def __init__(self) -> None:
        super().__init__()
        self._client: ClaudeClient | None = None
        self.reply_requested.connect(self._reply)

    def stop(self) -> None:
        """End the reply in progress (any thread)."""
        client = self._client
        if client is not None:
            client.stop()

    @Slot(object, object, object, str)
    def _reply(self, request: PieceSink, preview: Preview, settings: Settings, key: str) -> None:
        fields: dict[str, Any] = {}
        try:
            with ClaudeClient.from_settings(
                settings, api_key=key, model=preview.model, max_retries=0
            ) as client:
                self._client = client
                reply = client.chat(preview.request)
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
                request, unexpected(error, doing="asking Claude"), {"status": "error"}
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
