"""A loopback HTTP file server for range-request tests, misbehaving on request.

``GET /files/NAME`` serves a file and honours ``Range`` (206 with ``Content-Range``)
unless ``ignore_ranges`` is set, in which case it answers 200 with the whole body, like
some proxies do. ``GET /redirect/NAME`` answers 302 to ``/files/NAME``. The server
counts the body bytes it actually wrote per file (a client that hangs up early is
counted only for what it took) and records every ``Range`` header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.loopback import LoopbackServer

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
CHUNK = 64 * 1024


@dataclass
class RangeServer(LoopbackServer):
    """Serves ``files`` on 127.0.0.1 until stopped."""

    files: dict[str, bytes]
    ignore_ranges: bool = False
    sent: dict[str, int] = field(default_factory=dict)
    ranges: list[str] = field(default_factory=list)

    def url(self, name: str, *, redirect: bool = False) -> str:
        return f"{self.base_url}/{'redirect' if redirect else 'files'}/{name}"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)


def _handler(state: RangeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            kind, _, name = self.path.lstrip("/").partition("/")
            if kind == "redirect":
                self.send_response(302)
                self.send_header("Location", f"/files/{name}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = state.files.get(name)
            if kind != "files" or body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            requested = self.headers.get("Range")
            if requested:
                state.ranges.append(requested)
            match = _RANGE.fullmatch(requested or "")
            if match and not state.ignore_ranges:
                start = int(match[1])
                end = min(int(match[2]) if match[2] else len(body) - 1, len(body) - 1)
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
                payload = body[start : end + 1]
            else:
                self.send_response(200)
                payload = body
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                for offset in range(0, len(payload), CHUNK):
                    chunk = payload[offset : offset + CHUNK]
                    self.wfile.write(chunk)
                    state.sent[name] = state.sent.get(name, 0) + len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
