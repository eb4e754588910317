"""The window's last resort: an exception nobody caught becomes a notification.

PySide reports an exception raised in a slot (a method, a lambda connected to a
signal, an event handler, a timer) through ``sys.excepthook``, and a Python thread
through ``threading.excepthook``; by default both print a traceback to a terminal
nobody sees and carry on. :class:`ExceptionHook` replaces both while the window runs:
each exception is logged with its traceback to Hearth's log file and handed, as the
HearthError :func:`~app.core.errors.unexpected` makes of it (its message names the log
file), to the window's one notification path, on the GUI thread. The window keeps
running. (napari routes its workers' errors to its notification manager the same way.)
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.core.errors import HearthError, unexpected

log = logging.getLogger(__name__)


class ExceptionHook(QObject):
    """Sends every uncaught exception to ``notify`` (on the thread this object lives on)."""

    _caught = Signal(object)  # HearthError; queued when emitted from another thread

    def __init__(self, notify: Callable[[HearthError], None]) -> None:
        super().__init__()
        self._notify = notify
        self._caught.connect(self._deliver)
        self._previous: tuple[Any, Any] | None = None
        self._delivering = False

    def install(self) -> ExceptionHook:
        """Take over ``sys.excepthook`` and ``threading.excepthook``; returns self."""
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
            sys.excepthook = self._sys_hook
            threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        """Put back the hooks that were there before :meth:`install`."""
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def _sys_hook(
        self,
        kind: type[BaseException],
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt) and self._previous is not None:
            self._previous[0](kind, value, traceback)  # Ctrl+C in a terminal still quits
            return
        error = value if value is not None else kind()
        if error.__traceback__ is None and traceback is not None:
            error = error.with_traceback(traceback)
        self._report(error, doing=None)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        error = args.exc_value if args.exc_value is not None else args.exc_type()
        name = args.thread.name if args.thread is not None else "a background thread"
        self._report(error, doing=f"working in the background ({name})")

    def _report(self, error: BaseException, *, doing: str | None) -> None:
        try:
            if isinstance(error, HearthError):
                log.warning("Uncaught: %s", error.describe())
            self._caught.emit(unexpected(error, doing=doing))
        except Exception:  # a hook that raises would lose both errors
            log.exception("The exception hook failed to report an error")

    @Slot(object)
    def _deliver(self, error: HearthError) -> None:
        if self._delivering:  # notify itself raised: do not loop, the log has both
            log.error("Could not show an error: %s", error)
            return
        self._delivering = True
        try:
            self._notify(error)
        finally:
            self._delivering = False
