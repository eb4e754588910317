"""Run slow work (advice, Hub calls, file copies) off the GUI thread.

``run_operation(fn, on_success=..., on_failure=...)`` runs ``fn`` on Qt's thread pool
and calls one of the two back on the GUI thread. Every HearthError reaches
``on_failure``; anything else is logged with its traceback and reaches it as the
HearthError :func:`~app.core.errors.unexpected` makes of it, so no error is lost in a
thread.

Results travel through one long-lived dispatcher on the GUI thread, not through an
object per operation: a per-operation receiver was destroyed from inside its own slot
(its last reference dropped as it reported), and Qt then called into the half-deleted
object now and then, a segmentation fault.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from app.core.errors import HearthError, unexpected

T = TypeVar("T")

log = logging.getLogger(__name__)

_Callbacks = tuple[Callable[[Any], None], Callable[[HearthError], None]]


class _Dispatcher(QObject):
    """Lives on the GUI thread, so the pool's results are queued to it."""

    succeeded = Signal(int, object)
    failed = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self._keys = itertools.count()
        self._pending: dict[int, _Callbacks] = {}  # touched on the GUI thread only
        self.succeeded.connect(self._succeed, Qt.ConnectionType.QueuedConnection)
        self.failed.connect(self._fail, Qt.ConnectionType.QueuedConnection)

    def add(
        self, on_success: Callable[[Any], None], on_failure: Callable[[HearthError], None]
    ) -> int:
        key = next(self._keys)
        self._pending[key] = (on_success, on_failure)
        return key

    @Slot(int, object)
    def _succeed(self, key: int, value: Any) -> None:
        on_success, _ = self._pending.pop(key)
        on_success(value)

    @Slot(int, object)
    def _fail(self, key: int, error: HearthError) -> None:
        _, on_failure = self._pending.pop(key)
        on_failure(error)


_dispatcher: _Dispatcher | None = None


class _Operation(QRunnable):
    def __init__(
        self, fn: Callable[[], Any], dispatcher: _Dispatcher, key: int, doing: str | None
    ) -> None:
        super().__init__()
        self.fn = fn
        self.dispatcher = dispatcher
        self.key = key
        self.doing = doing

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as error:  # a worker must never die silently
            self._report(self.dispatcher.failed, unexpected(error, doing=self.doing))
        else:
            self._report(self.dispatcher.succeeded, result)

    def _report(self, signal: Any, value: Any) -> None:
        try:
            signal.emit(self.key, value)
        except RuntimeError:
            # The app quit while this ran (the dispatcher went with the QApplication):
            # there is no window left to tell.
            log.debug("A background operation ended after the app quit.")


def run_operation(
    fn: Callable[[], Any],
    *,
    on_success: Callable[[Any], None],
    on_failure: Callable[[HearthError], None],
    doing: str | None = None,
    pool: QThreadPool | None = None,
) -> None:
    """Run ``fn`` in the background; report back on the calling (GUI) thread.

    ``doing`` names the work for an unexpected error's message (``"reading the library"``).
    ``pool``: a pool of its own for long work that must not hold up the short operations
    of the shared one (it has as many threads as the machine has cores: two, often).
    """
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = _Dispatcher()
    key = _dispatcher.add(on_success, on_failure)
    (pool or QThreadPool.globalInstance()).start(_Operation(fn, _dispatcher, key, doing))


class _Finished(QObject):
    """Emitted from a worker thread; received on the GUI thread, where it was made."""

    done = Signal()


def wait_responsive(fn: Callable[[], T], *, doing: str | None = None) -> T:
    """Run ``fn`` on a thread of its own and return its result, the window working meanwhile.

    For a call the GUI thread must wait for (a turn's document search, before the turn can be
    stored and previewed): a local event loop keeps painting and answering input until ``fn``
    is done. Callers keep their own state from changing under them meanwhile (the chat
    controller counts as busy). Raises what ``fn`` raised, any non-HearthError as
    :func:`~app.core.errors.unexpected` makes it.
    """
    outcome: dict[str, Any] = {}
    finished = _Finished()
    loop = QEventLoop()
    finished.done.connect(loop.quit, Qt.ConnectionType.QueuedConnection)

    def work() -> None:
        try:
            outcome["value"] = fn()
        except Exception as error:  # reported to the caller, never lost in the thread
            outcome["error"] = error
        finally:
            finished.done.emit()

    threading.Thread(target=work, name="hearth-wait", daemon=True).start()
    loop.exec()
    error = outcome.get("error")
    if error is not None:
        raise error if isinstance(error, HearthError) else unexpected(error, doing=doing)
    return outcome["value"]  # type: ignore[no-any-return]
