"""From the engine's thread to the client's socket: the queue, the reply, the stream.

- :class:`RequestQueue`: one request runs on the model, a bounded number wait their
  turn (in order, in the engine's own queue, with the desktop app's chats); any more
  are answered 503 with a ``Retry-After`` at once.
- :class:`ReplyStream`: runs one engine reply on its own thread (waiting its turn
  there, never on the event loop) and hands its pieces to the event loop in batches:
  one wake-up of the loop per batch of pieces, however many there are. Each batch goes
  out as one event: the engine sends pieces in batches of up to 100 ms (the first at
  once), so they reach the client together anyway, and a client that parses one event
  per token (the openai SDK: a model object each) would spend a core's worth of the
  machine on a fast model, taken from llama.cpp's threads.
- :class:`EventStream`: a server-sent-events response that watches the connection
  while it streams; when the client goes away, the reply is stopped that moment
  (the engine stops at its next token and serves the next request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.core.generation import Reply, ReplyStats
from app.core.server.errors import ApiError, Problem

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Activity:
    """What the server is doing: requests on the model now, waiting, and served so far."""

    running: int = 0
    waiting: int = 0
    served: int = 0


class Ticket:
    """One admitted request's place: waiting until its reply starts, then running."""

    def __init__(self, queue: RequestQueue) -> None:
        self._queue = queue
        self._state = "waiting"
        self._started = time.monotonic()

    def running(self) -> None:
        self._queue._move(self, "running")

    def done(self) -> None:
        self._queue._move(self, "done")


class RequestQueue:
    """At most one running and ``size`` waiting (a callable: the setting, read each time)."""

    def __init__(
        self,
        size: Callable[[], int],
        *,
        on_change: Callable[[Activity], None] | None = None,
    ) -> None:
        self._size = size
        self._on_change = on_change
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0
        self._served = 0
        self._durations: deque[float] = deque(maxlen=20)

    @property
    def activity(self) -> Activity:
        with self._lock:
            return Activity(self._running, self._waiting, self._served)

    def admit(self) -> Ticket:
        """A place in the queue, or ApiError BUSY (503, ``Retry-After``) when it is full."""
        with self._lock:
            if self._running + self._waiting >= 1 + self._size():
                retry = self._retry_after()
                raise ApiError(
                    Problem.BUSY,
                    f"Hearth's model is busy: {self._waiting} requests are already waiting. "
                    f"Try again in {retry} s.",
                    code="queue_full",
                    headers={"Retry-After": str(retry)},
                )
            self._waiting += 1
        ticket = Ticket(self)
        self._announce()
        return ticket

    def _retry_after(self) -> int:
        typical = sorted(self._durations)[len(self._durations) // 2] if self._durations else 2.0
        return max(1, min(120, math.ceil(typical * max(self._waiting, 1))))

    def _move(self, ticket: Ticket, state: str) -> None:
        with self._lock:
            before = ticket._state
            if before == state or before == "done":
                return
            ticket._state = state
            if before == "waiting":
                self._waiting -= 1
            elif before == "running":
                self._running -= 1
            if state == "running":
                self._running += 1
            elif state == "done":
                self._served += 1
                self._durations.append(time.monotonic() - ticket._started)
        self._announce()

    def _announce(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change(self.activity)
            except Exception:  # a listener's failure is not the request's
                log.exception("server activity listener failed")


class ReplyStream:
    """One engine reply on its own thread, its pieces handed to the event loop.

    ``start`` calls the engine (it may wait there for its turn); ``stop`` stops that
    one reply (``EngineProcess.stop(reply)``). Use :meth:`open`, then :meth:`batches`;
    :meth:`cancel` from the loop at any time.
    """

    def __init__(
        self,
        start: Callable[[], Reply],
        *,
        stop: Callable[[Reply], None],
        ticket: Ticket,
        on_end: Callable[[ReplyStats], None] | None = None,
    ) -> None:
        """``on_end`` hears the reply's figures when it ends (on the engine's side)."""
        self._start = start
        self._stop = stop
        self._ticket = ticket
        self._on_end = on_end
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._woken = False
        self._reply: Reply | None = None
        self._error: BaseException | None = None
        self._done = False
        self._cancelled = False
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the engine's side (its own thread) -----------------------------------------------

    def _wake(self) -> None:
        """Wake the loop unless a wake-up is already on its way (call with the lock held)."""
        if self._woken or self._loop is None:
            return
        self._woken = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            self._loop.call_soon_threadsafe(self._event.set)

    def _run(self) -> None:
        try:
            reply = self._start()
        except BaseException as error:
            self._finish(error)
            return
        self._ticket.running()
        with self._lock:
            self._reply = reply
            cancelled = self._cancelled
            self._wake()
        if cancelled:  # the client left while this request waited for its turn
            self._stop(reply)
        try:
            for piece in reply:
                with self._lock:
                    self._pending.append(piece)
                    self._wake()
        except BaseException as error:
            self._finish(error)
            return
        self._finish(None)

    def _finish(self, error: BaseException | None) -> None:
        stats = self._reply.stats if self._reply is not None else None
        if stats is not None and self._on_end is not None:
            self._on_end(stats)
        self._ticket.done()
        with self._lock:
            self._error = error
            self._done = True
            self._wake()

    # -- the event loop's side --------------------------------------------------------------

    async def _wait(self) -> None:
        await self._event.wait()
        self._event.clear()
        with self._lock:
            self._woken = False

    async def open(self) -> Reply:
        """Start: returns when the reply has begun (its turn came); raises what the engine did."""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._run, name="server-reply", daemon=True).start()
        while True:
            with self._lock:
                if self._reply is not None:
                    return self._reply
                if self._error is not None:
                    raise self._error
            await self._wait()

    async def batches(self) -> AsyncIterator[list[str]]:
        """The pieces as they come, in batches; raises what the engine raised mid-reply."""
        while True:
            with self._lock:
                pieces, self._pending = self._pending, []
                done, error = self._done, self._error
            if pieces:
                yield pieces
            if done:
                if error is not None:
                    raise error
                return
            await self._wait()

    async def text(self) -> str:
        """The whole reply."""
        parts: list[str] = []
        async for pieces in self.batches():
            parts.extend(pieces)
        return "".join(parts)

    @property
    def stats(self) -> ReplyStats | None:
        return self._reply.stats if self._reply is not None else None

    @property
    def prompt_tokens(self) -> int:
        return self._reply.prompt_tokens if self._reply is not None else 0

    def cancel(self) -> None:
        """Stop the reply now (the client went away); safe at any point, more than once."""
        with self._lock:
            if self._cancelled or self._done:
                self._cancelled = True
                return
            self._cancelled = True
            reply = self._reply
        if reply is not None:
            self._stop(reply)


async def until_disconnected(
    request: Request, work: Awaitable[T], *, on_disconnect: Callable[[], None]
) -> T:
    """Await ``work`` while watching the connection; on a disconnect, call ``on_disconnect``.

    ``work`` is still awaited to its end after a disconnect (the reply then ends at
    once), so the engine is never left with a reply nobody finishes.
    """
    result: list[T] = []
    failure: list[Exception] = []

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        on_disconnect()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            result.append(await work)
        except Exception as error:  # raised as itself below, not in a task group's wrapper
            failure.append(error)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return result[0]


class EventStream(Response):
    """Server-sent events from ``events``; the client leaving calls ``on_disconnect`` at once.

    A client that reads nothing for ``send_seconds`` is treated as gone.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[bytes],
        *,
        on_disconnect: Callable[[], None],
        send_seconds: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.events = events
        self.on_disconnect = on_disconnect
        self.send_seconds = send_seconds
        self.status_code = 200
        self.background = None
        self.init_headers(
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.on_disconnect()
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            try:
                async for chunk in self.events:
                    with anyio.fail_after(self.send_seconds):
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                with anyio.fail_after(self.send_seconds):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            except (TimeoutError, OSError):
                log.info("a client stopped reading its reply; it was stopped")
                self.on_disconnect()
            except Exception:
                log.exception("a streamed reply failed")
                self.on_disconnect()
            finally:
                group.cancel_scope.cancel()
                aclose: Any = getattr(self.events, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()
