"""Run slow work (advice, Hub calls, file copies) off the GUI thread.

``run_operation(fn, on_success=..., on_failure=...)`` runs ``fn`` on Qt's thread pool
and calls one of the two back on the GUI thread. Every HearthError reaches
``on_failure``; anything else is logged with its traceback and reaches it as the
HearthError :func:`~app.core.errors.unexpected` makes of it, so no error is lost in a
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.core.errors import HearthError, unexpected

_alive: set[QObject] = set()  # keep receivers (and their callbacks) until they report


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class _Operation(QRunnable):
    def __init__(self, fn: Callable[[], Any], doing: str | None) -> None:
        super().__init__()
        self.fn = fn
        self.doing = doing
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as error:  # a worker must never die silently
            self.signals.failed.emit(unexpected(error, doing=self.doing))
        else:
            self.signals.succeeded.emit(result)


class _Receiver(QObject):
    """Lives on the GUI thread, so the pool's signals are queued to it."""

    def __init__(
        self,
        operation: _Operation,
        on_success: Callable[[Any], None],
        on_failure: Callable[[HearthError], None],
    ) -> None:
        super().__init__()
        self.operation = operation
        self.on_success = on_success
        self.on_failure = on_failure

    @Slot(object)
    def succeed(self, value: Any) -> None:
        _alive.discard(self)
        self.on_success(value)

    @Slot(object)
    def fail(self, error: HearthError) -> None:
        _alive.discard(self)
        self.on_failure(error)


def run_operation(
    fn: Callable[[], Any],
    *,
    on_success: Callable[[Any], None],
    on_failure: Callable[[HearthError], None],
    doing: str | None = None,
) -> None:
    """Run ``fn`` in the background; report back on the calling (GUI) thread.

    ``doing`` names the work for an unexpected error's message (``"reading the library"``).
    """
    operation = _Operation(fn, doing)
    receiver = _Receiver(operation, on_success, on_failure)
    operation.signals.succeeded.connect(receiver.succeed)
    operation.signals.failed.connect(receiver.fail)
    _alive.add(receiver)
    QThreadPool.globalInstance().start(operation)
