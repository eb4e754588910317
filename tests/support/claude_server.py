"""A loopback stand-in for Anthropic's Messages API, misbehaving on request.

``POST /v1/messages`` checks the key (``x-api-key`` or ``Authorization: Bearer``)
and answers like the real API: with ``"stream": true``, server-sent events in the
real wire format (``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` with ``text_delta``, ``content_block_stop``,
``message_delta`` with usage and stop reason, ``message_stop``) over a chunked
response; otherwise one JSON message. The reply is ``pieces`` (one delta each, one
output token each), cut at ``max_tokens`` with ``stop_reason: "max_tokens"``.

Faults: ``fail`` (a list of statuses, one used per request: 401, 403, 429 with
``retry-after``, 529, 500...), ``delay`` (seconds before answering), ``stall_after``
(stop sending after that many deltas for ``delay`` seconds), ``cut_after`` (drop the
connection after that many deltas, mid-stream), ``error_event_after`` (send an
``overloaded_error`` event mid-stream, as the API does). Every request is recorded
(method, path, headers, JSON body) so tests can check exactly what was sent.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.loopback import LoopbackServer

TEST_KEY = "sk-ant-api03-TESTKEY-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEF"

ERRORS = {
    400: ("invalid_request_error", "max_tokens: field required"),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "model: claude-nonexistent"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ClaudeServer(LoopbackServer):
    """Serves a fake Messages API on 127.0.0.1 until stopped."""

    api_key: str = TEST_KEY
    pieces: list[str] = field(default_factory=lambda: ["Hello", " from", " Claude", "."])
    input_tokens: int = 25
    stop_reason: str = "end_turn"
    fail: list[int] = field(default_factory=list)
    retry_after: str | None = "7"
    delay: float = 0.0
    stall_after: int | None = None
    cut_after: int | None = None
    error_event_after: int | None = None
    requests: list[Recorded] = field(default_factory=list)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)


@pytest.fixture
def claude_server() -> Iterator[ClaudeServer]:
    """A fresh stand-in Messages API for one test."""
    with ClaudeServer() as server:
        yield server


def _handler(state: ClaudeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def handle(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def do_POST(self) -> None:
            # The client may hang up (a timeout or Stop in a test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            state.requests.append(
                Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if self.path.split("?")[0] != "/v1/messages":
                self._error(404)
                return
            if _presented_key(self.headers) != state.api_key:
                self._error(401)
                return
            if state.fail:
                self._error(state.fail.pop(0))
                return
            if state.delay and state.stall_after is None:
                time.sleep(state.delay)
            if not isinstance(body, dict) or "max_tokens" not in body:
                self._error(400)
                return
            pieces = state.pieces[: int(body["max_tokens"])]
            stop = state.stop_reason if len(pieces) == len(state.pieces) else "max_tokens"
            model = str(body.get("model"))
            if body.get("stream"):
                self._stream(model, pieces, stop)
            else:
                self._json(200, _message(model, "".join(pieces), stop, state.input_tokens, pieces))

        def _json(
            self, status: int, payload: object, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", "req_test")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int) -> None:
            kind, message = ERRORS.get(status, ("api_error", "error"))
            headers = {}
            if status == 429 and state.retry_after is not None:
                headers["retry-after"] = state.retry_after
            self._json(
                status, {"type": "error", "error": {"type": kind, "message": message}}, headers
            )

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _event(self, name: str, payload: dict[str, Any]) -> None:
            self._chunk(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())

        def _stream(self, model: str, pieces: list[str], stop: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("request-id", "req_test")
            self.end_headers()
            start = _message(model, "", None, state.input_tokens, [])
            start["usage"]["output_tokens"] = 1
            self._event("message_start", {"type": "message_start", "message": start})
            self._event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            self._event("ping", {"type": "ping"})
            for sent, piece in enumerate(pieces):
                if sent == state.cut_after:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)  # hang up mid-stream, no final chunk
                    return
                if sent == state.error_event_after:
                    self._event(
                        "error",
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    )
                    self._chunk(b"")
                    return
                if sent == state.stall_after:
                    time.sleep(state.delay)
                    return
                self._event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
            self._event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": len(pieces)},
                },
            )
            self._event("message_stop", {"type": "message_stop"})
            self._chunk(b"")

    return Handler


def _presented_key(headers: Any) -> str | None:
    """The key a request carries: ``x-api-key``, or ``Authorization: Bearer`` (the SDK
    sends the latter since 2.x)."""
    if headers.get("x-api-key"):
        return str(headers["x-api-key"])
    scheme, _, token = str(headers.get("Authorization") or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _message(
    model: str, text: str, stop: str | None, input_tokens: int, pieces: list[str]
) -> dict[str, Any]:
    return {
        "id": "msg_test_0001",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": len(pieces)},
    }
