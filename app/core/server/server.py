"""The local server: Hearth's model for other programs, over OpenAI's and Anthropic's APIs.

:class:`LocalServer` serves one :class:`EngineProcess` (and optionally a second one
holding an embedding model) with uvicorn on sockets it binds itself: 127.0.0.1 and
::1 by default. ``hearth serve`` runs it in the foreground (:meth:`LocalServer.run`);
the desktop app can run it beside its own chats on the same engine
(:meth:`LocalServer.start`, :meth:`LocalServer.stop`), so both queue for the one model.

Settings are read when they are needed, through the ``settings`` callable: allowed
origins, logging of bodies, the queue's size and the longest reply apply to the next
request after a change. The address, port and token apply from the next start.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

from app.core.inference import EngineProcess
from app.core.server.app import build_app
from app.core.server.backend import Backend
from app.core.server.config import ServerConfig, ServerSetupError, host_names
from app.core.server.guard import guarded_protocol
from app.core.server.streams import Activity
from app.core.settings import Settings

log = logging.getLogger(__name__)

START_SECONDS = 30.0
STOP_SECONDS = 10.0


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets: ``127.0.0.1`` or ``localhost`` gets ::1 too, on the same port.

    Port 0 picks a free port. ::1 is left out, with a log line, where this computer has
    no IPv6 (or its port is taken there); any other failure is a ServerSetupError.
    """
    addresses = ["127.0.0.1", "::1"] if host in ("127.0.0.1", "localhost") else [host]
    for _attempt in range(5):
        try:
            first = _socket(addresses[0], port)
        except OSError as error:
            raise _bind_error(addresses[0], port, error) from None
        sockets = [first]
        chosen = first.getsockname()[1]
        retry = False
        for extra in addresses[1:]:
            try:
                sockets.append(_socket(extra, chosen))
            except OSError as error:
                if port == 0 and error.errno == errno.EADDRINUSE:
                    retry = True  # the free port on one family is taken on the other
                    break
                log.info("not listening on %s: %s", extra, error)
        if not retry:
            return sockets
        for sock in sockets:
            sock.close()
    raise ServerSetupError(f"No port was free on both {' and '.join(addresses)}.")


def _bind_error(host: str, port: int, error: OSError) -> ServerSetupError:
    if error.errno == errno.EADDRINUSE:
        return ServerSetupError(
            f"Port {port} on {host} is in use by another program.",
            hint="Stop that program, or choose another port (--port, or the server_port setting).",
        )
    if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return ServerSetupError(
            f"{host} is not an address of this computer.",
            hint="Use 127.0.0.1 for this computer only, or one of its own addresses.",
        )
    if error.errno == errno.EACCES:
        return ServerSetupError(
            f"This user may not listen on port {port}.", hint="Use a port above 1024."
        )
    return ServerSetupError(f"Hearth cannot listen on {host} port {port}: {error}.")


def _url(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = address[0], address[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Uvicorn(uvicorn.Server):
    """uvicorn's server; Ctrl-C also stops the reply in progress (shutdown need not wait)."""

    def __init__(self, on_exit: Callable[[], None], config: uvicorn.Config) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._on_exit()


class LocalServer:
    """Serves ``engine`` (and ``embedder``) as in the module docstring."""

    def __init__(
        self,
        engine: EngineProcess,
        *,
        config: ServerConfig,
        settings: Callable[[], Settings],
        embedder: EngineProcess | None = None,
        on_activity: Callable[[Activity], None] | None = None,
    ) -> None:
        """``on_activity`` hears, from the server's threads, when a request waits, runs, ends."""
        config.check()
        self.config = config
        self.backend = Backend(
            engine,
            settings=settings,
            limits=config.limits,
            embedder=embedder,
            on_activity=on_activity,
        )
        self._settings = settings
        self._sockets: list[socket.socket] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- where -----------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        """Each listening address's base URL (``http://127.0.0.1:8642``...)."""
        return [_url(sock.getsockname()) for sock in self._sockets]

    @property
    def port(self) -> int:
        return int(self._sockets[0].getsockname()[1]) if self._sockets else self.config.port

    @property
    def activity(self) -> Activity:
        return self.backend.activity

    def _origins(self) -> frozenset[str]:
        listed = self._settings().server_allowed_origins
        return frozenset(o for o in listed.lower().split(",") if o)

    # -- running ---------------------------------------------------------------------------

    def listen(self) -> list[str]:
        """Bind the sockets now (before a model loads, say); their URLs. ServerSetupError."""
        if not self._sockets:
            self._sockets = bind(self.config.host, self.config.port)
        return self.urls

    def _prepare(self) -> uvicorn.Server:
        if self._server is not None:
            raise ServerSetupError("The server is already running.")
        self.listen()
        limits = self.config.limits
        app = build_app(
            self.backend,
            hosts=host_names(self.config.host),
            token=self.config.token,
            origins=self._origins,
        )
        server = _Uvicorn(
            self.backend.cancel_all,
            uvicorn.Config(
                app,
                http=guarded_protocol(limits.header_seconds),
                ws="none",
                lifespan="off",
                log_config=None,
                access_log=False,  # the guard logs each request, without its client
                limit_concurrency=limits.max_connections,
                timeout_keep_alive=limits.keep_alive_seconds,
                timeout_graceful_shutdown=int(STOP_SECONDS),
                server_header=False,
            ),
        )
        self._server = server
        return server

    def run(self) -> None:
        """Serve in this thread until Ctrl-C (or :meth:`stop` from another thread)."""
        server = self._prepare()
        try:
            server.run(sockets=self._sockets)
        finally:
            self._closed()

    def start(self) -> None:
        """Serve on a thread of its own; returns once it listens (ServerSetupError if not)."""
        server = self._prepare()
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": self._sockets}, name="hearth-server", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._closed()
                raise ServerSetupError("The server did not start; Hearth's log says why.")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving: replies in progress are stopped, then the sockets closed."""
        server = self._server
        if server is None:
            return
        server.should_exit = True
        self.backend.cancel_all()  # a long reply need not run to its end
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS + 5)
        self._closed()

    def _closed(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = []
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
