"""A reply streamed from another machine, relayed so that Stop ends it at once.

A reader thread (the client's ``pump``) does the blocking network reads and puts
``("data", item)``, ``("error", exception)`` or ``("end", None)`` on a queue; the
reply's generator takes them off, checking the Stop flag at least every
:data:`POLL_SECONDS`, so a silent server never holds a Stop back. The Claude client
and the remote-server client differ only in how they read an item and name an error.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

POLL_SECONDS = 0.05


class Progress(Protocol):
    """What the relay keeps up to date on a client's record of a reply."""

    chars: int
    stopped: bool


P = TypeVar("P", bound=Progress)
E = TypeVar("E", bound=BaseException)


def relay(
    pump: Callable[[queue.Queue[tuple[str, Any]], threading.Event], None],
    stop: threading.Event,
    progress: P,
    *,
    name: str,
    parse: Callable[[Any, P], str | None],
    complete: Callable[[P], bool],
    cut: Callable[[int], E],
    translate: Callable[[BaseException, int], E],
    finish: Callable[[E | None], None],
    done: Callable[[P], bool] = lambda progress: False,
) -> Iterator[str]:
    """The reply's text pieces, as ``parse`` reads them from the items ``pump`` puts.

    ``complete``: whether the reply had ended when the stream ended (else ``cut`` names
    the error, given the characters received); ``translate`` names a reader's
    exception; ``finish`` hears the outcome (None: complete or stopped) whatever
    happens, the generator closed early included; ``done``: stop reading although the
    stream goes on. The error, if any, is raised after ``finish``.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    reader = threading.Thread(target=pump, args=(items, stop), name=name, daemon=True)
    error: E | None = None
    try:
        reader.start()
        while not done(progress):
            try:
                kind, item = items.get(timeout=POLL_SECONDS)
            except queue.Empty:
                item = kind = None
            if stop.is_set():
                progress.stopped = True
                break
            if kind is None:
                continue
            if kind == "end":
                if not complete(progress):
                    error = cut(progress.chars)
                break
            if kind == "error":
                error = translate(item, progress.chars)
                break
            piece = parse(item, progress)
            if piece:
                progress.chars += len(piece)
                yield piece
    except GeneratorExit:
        progress.stopped = True
        raise
    finally:
        stop.set()  # the reader closes the response and ends
        finish(error)
    if error is not None:
        raise error
