"""The server's doorman: every request passes these checks before any handler runs.

In order, each answered in the called API's error shape:

1. the ``Host`` header must name this server (the bound address, one of this
   computer's names or ``localhost``), else 403: a web page that reached the server
   through a name it controls (DNS rebinding) gets nothing;
2. a request from a browser page (an ``Origin`` header) must come from an origin the
   user listed, else 403 with no CORS headers; a listed origin gets its own name back
   in ``Access-Control-Allow-Origin`` (never ``*``, never credentials), and a preflight
   is answered here;
3. beyond loopback, the server's token (``Authorization: Bearer`` or ``x-api-key``),
   else 401;
4. a declared body over the limit: 413 before a byte of it is read.

Then one log line per request: method, path, status and time, never a body.

:func:`guarded_protocol` is uvicorn's HTTP protocol with one more timeout: a connection
that does not send a whole request line and headers within ``header_seconds`` is closed
(uvicorn itself only times out idle keep-alive connections).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.core.server.config import ServerLimits, host_of
from app.core.server.errors import Api, ApiError, Problem

log = logging.getLogger(__name__)

_HEADER_NAMES = re.compile(r"^[A-Za-z0-9\-_, ]*$")


class Guard:
    """ASGI middleware doing the checks in the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: frozenset[str],
        token: str | None,
        origins: Callable[[], frozenset[str]],
        limits: ServerLimits,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token
        self.origins = origins
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        status = 0
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin.lower() in self.origins()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if allowed and origin is not None:
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), *_cors(origin)]
            await send(message)

        try:
            refusal = self._refusal(method, headers, origin, allowed)
            if refusal is not None:
                await _answer(refusal, Api.of(path), sending)
            elif method == "OPTIONS" and allowed and "access-control-request-method" in headers:
                await _preflight(headers, sending)
            else:
                await self.app(scope, receive, sending)
        finally:
            log.info(
                "%s %s %s %.0f ms",
                method,
                path,
                status or "-",
                (time.perf_counter() - started) * 1e3,
            )

    def _refusal(
        self, method: str, headers: Headers, origin: str | None, allowed: bool
    ) -> ApiError | None:
        name = host_of(headers.get("host", ""))
        if name not in self.hosts:
            return ApiError(
                Problem.FORBIDDEN,
                f"This Hearth server does not answer to the name {name or '(none)'!r} "
                "(the Host header must name this computer).",
                code="host_not_allowed",
            )
        if origin is not None and not allowed:
            return ApiError(
                Problem.FORBIDDEN,
                f"Web pages from {origin} may not use this Hearth server (add the origin "
                "to the server's allowed origins to let them).",
                code="origin_not_allowed",
            )
        if method == "OPTIONS" and origin is not None:
            return None  # a listed origin's preflight carries no token
        if self.token is not None:
            given = _token_in(headers)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                said = "requires its token" if given is None else "was sent a wrong token"
                return ApiError(
                    Problem.UNAUTHORIZED,
                    f"This Hearth server {said}: send it as 'Authorization: Bearer TOKEN' "
                    "(`hearth serve --show-token` shows it on the server's computer).",
                    code="invalid_api_key",
                    headers={"WWW-Authenticate": 'Bearer realm="hearth"'},
                )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            return ApiError(
                Problem.TOO_LARGE,
                f"The request body is {int(declared):,} bytes; Hearth's server takes at most "
                f"{self.limits.max_body_bytes:,}.",
                code="request_too_large",
            )
        return None


def _token_in(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-expose-headers", b"Retry-After"),
        (b"vary", b"Origin"),
    ]


async def _preflight(headers: Headers, send: Send) -> None:
    asked = headers.get("access-control-request-headers", "")
    allow = asked if _HEADER_NAMES.match(asked) else "authorization, content-type"
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", allow.encode("latin-1")),
                (b"access-control-max-age", b"600"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _answer(error: ApiError, api: Api, send: Send) -> None:
    body = error.encoded(api)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guarded_protocol(header_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections slow to send their request headers."""

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's headers have the same time to arrive

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(header_seconds, self._too_slow)

        def _too_slow(self) -> None:
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being served: its body and reply have their own limits
            if not self.transport.is_closing():
                log.info("closed a connection that sent no whole request in %g s", header_seconds)
                self.transport.close()

    return GuardedH11Protocol
