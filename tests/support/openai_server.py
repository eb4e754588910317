"""A loopback stand-in for an OpenAI-compatible server (llama.cpp's, vLLM, Ollama, another
Hearth), misbehaving on request.

``GET /v1/models`` lists ``models``; ``POST /v1/chat/completions`` with ``"stream": true``
answers server-sent events in the real wire format (``chat.completion.chunk`` objects
with ``choices[0].delta.content``, a last chunk with ``finish_reason``, a usage chunk when
``stream_options.include_usage`` asks, then ``data: [DONE]``) over a chunked response.
The reply is ``pieces`` (one chunk each, one token each), cut at ``max_tokens`` with
``finish_reason: "length"``. With ``token`` set, a request must carry
``Authorization: Bearer <token>``, else 401.

Faults: ``fail`` (statuses, one used per request: 401, 500...), ``delay`` (seconds before
answering), ``stall_after`` (stop sending after that many chunks, for ``delay`` seconds),
``cut_after`` (hang up after that many chunks, mid-stream). Every request is recorded.
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

TEST_TOKEN = "remote-test-token-0123456789"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class OpenAIServer(LoopbackServer):
    """Serves a fake OpenAI-compatible API on 127.0.0.1 until stopped."""

    token: str | None = TEST_TOKEN
    models: list[str] = field(default_factory=lambda: ["llama-3-70b", "qwen2.5-coder-32b"])
    pieces: list[str] = field(default_factory=lambda: ["Hello", " from", " afar", "."])
    prompt_tokens: int = 21
    fail: list[int] = field(default_factory=list)
    delay: float = 0.0
    stall_after: int | None = None
    cut_after: int | None = None
    piece_delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh stand-in OpenAI-compatible server for one test."""
    with OpenAIServer() as server:
        yield server


def _handler(state: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def handle(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def do_GET(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._record(None)
                if not self._admitted():
                    return
                if self.path.split("?")[0] != "/v1/models":
                    self._error(404, "not found")
                    return
                data = [{"id": m, "object": "model", "owned_by": "test"} for m in state.models]
                self._json(200, {"object": "list", "data": data})

        def do_POST(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                self._record(body)
                if not self._admitted():
                    return
                if self.path.split("?")[0] != "/v1/chat/completions":
                    self._error(404, "not found")
                    return
                if not isinstance(body, dict) or body.get("model") not in state.models:
                    self._error(404, f"model {body.get('model')!r} not found")
                    return
                if state.delay and state.stall_after is None:
                    time.sleep(state.delay)
                pieces = state.pieces[: int(body.get("max_tokens") or len(state.pieces))]
                finish = "stop" if len(pieces) == len(state.pieces) else "length"
                if body.get("stream"):
                    usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    self._stream(body["model"], pieces, finish, usage)
                else:
                    self._json(200, _completion(body["model"], pieces, finish, state))

        def _record(self, body: Any) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append(Recorded(self.command, self.path, headers, body))

        def _admitted(self) -> bool:
            presented = self.headers.get("Authorization")
            if state.token is not None and presented != f"Bearer {state.token}":
                self._error(401, "Invalid API key")
                return False
            if state.fail:
                status = state.fail.pop(0)
                self._error(status, "Internal server error" if status >= 500 else "refused")
                return False
            return True

        def _json(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            kind = "authentication_error" if status == 401 else "server_error"
            self._json(status, {"error": {"message": message, "type": kind, "code": status}})

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _data(self, payload: object) -> None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            self._chunk(f"data: {text}\n\n".encode())

        def _stream(self, model: str, pieces: list[str], finish: str, usage: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._data(_chunk_of(model, {"role": "assistant", "content": ""}, None))
            for sent, piece in enumerate(pieces):
                if sent == state.cut_after:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)  # hang up mid-stream, no final chunk
                    return
                if sent == state.stall_after:
                    time.sleep(state.delay)
                    return
                if state.piece_delay:
                    time.sleep(state.piece_delay)
                self._data(_chunk_of(model, {"content": piece}, None))
            self._data(_chunk_of(model, {}, finish))
            if usage:
                tail = _chunk_of(model, {}, None)
                tail["choices"] = []
                tail["usage"] = _usage(state, pieces)
                self._data(tail)
            self._data("[DONE]")
            self._chunk(b"")

    return Handler


def _usage(state: OpenAIServer, pieces: list[str]) -> dict[str, int]:
    return {
        "prompt_tokens": state.prompt_tokens,
        "completion_tokens": len(pieces),
        "total_tokens": state.prompt_tokens + len(pieces),
    }


def _chunk_of(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(model: str, pieces: list[str], finish: str, state: OpenAIServer) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(pieces)},
                "finish_reason": finish,
            }
        ],
        "usage": _usage(state, pieces),
    }
