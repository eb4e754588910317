"""A loopback HTTP server speaking the part of the Hugging Face Hub API Hearth uses.

The real ``huggingface_hub`` client talks to it (point ``endpoint`` or ``HF_ENDPOINT``
at :attr:`FakeHub.endpoint`). It serves:

- ``GET /api/models?search=&filter=&limit=``: search, newest first;
- ``GET /api/models/{repo}[/revision/{rev}]``: model info, with ``siblings`` carrying
  sizes and LFS SHA-256 when ``blobs=True``;
- ``GET /api/models/{repo}/tree/{rev}[/{path}]``: the file listing;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``: like the Hub, a redirect to a CDN URL
  with ``X-Linked-Etag``, ``X-Linked-Size``, ``X-Repo-Commit`` and ``ETag``; the CDN
  URL honours ``Range`` (open, ``bytes=N-``, and closed, ``bytes=N-M``).

And it misbehaves on request, the way real networks do: cut a connection after N
bytes of a file, flip one byte, stall, answer 500, throttle, demand a token for a
gated repository, or list a hostile file name. It counts the body bytes it sent for
each file and records every range asked for, so tests can prove nothing was fetched
twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.loopback import LoopbackServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeRepo:
    """One model repository: its files (name -> bytes) and access rules."""

    repo_id: str
    files: dict[str, bytes]
    gated: bool = False
    private: bool = False
    token: str | None = None
    commit: str = COMMIT
    downloads: int = 0
    likes: int = 0
    tags: tuple[str, ...] = ("gguf",)
    # Names the listing shows beyond the real files (hostile names, for tests).
    extra_listing: dict[str, bytes] = field(default_factory=dict)

    def listing(self) -> dict[str, bytes]:
        return {**self.files, **self.extra_listing}


@dataclass
class Faults:
    """Ways the server misbehaves. Each ``cut_after`` entry fires once."""

    cut_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)
    stall_after: int = 0
    status: dict[str, int] = field(default_factory=dict)
    throttle_bps: int = 0
    listing_status: int = 0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub(LoopbackServer):
    """The server. Use as a context manager, or call :meth:`start` / :meth:`stop`."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.faults = Faults()
        self.bytes_served: dict[str, int] = {}
        self.ranges: list[tuple[str, int]] = []
        self.requests: list[tuple[str, str]] = []
        self.auth_seen: list[str | None] = []
        self.active = 0
        self.peak_active = 0
        self._lock = threading.Lock()
        self._stop_stall = threading.Event()

    # -- set up -------------------------------------------------------------------------

    def add_repo(self, repo_id: str, files: dict[str, bytes], **options: object) -> FakeRepo:
        repo = FakeRepo(repo_id, dict(files), **options)  # type: ignore[arg-type]
        self.repos[repo_id] = repo
        return repo

    @property
    def endpoint(self) -> str:
        """What ``HF_ENDPOINT`` points at."""
        return self.base_url

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def stop(self) -> None:
        self._stop_stall.set()  # release requests held by a stall fault first
        super().stop()

    def served(self, filename: str, *, settle_s: float = 2.0) -> int:
        """Body bytes sent for ``filename`` so far, over every request.

        Waits (up to ``settle_s``) for streams in progress to end first: the client can
        hold the last bytes before the server thread has added them up.
        """
        deadline = time.monotonic() + settle_s
        while self.active and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._lock:
            return self.bytes_served.get(filename, 0)

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_served.clear()
            self.ranges.clear()
            self.requests.clear()
            self.peak_active = 0

    @contextmanager
    def _downloading(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def _count(self, filename: str, n: int) -> None:
        with self._lock:
            self.bytes_served[filename] = self.bytes_served.get(filename, 0) + n


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        # -- plumbing ---------------------------------------------------------------

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(
            self, status: int, payload: object, headers: dict[str, str] | None = None
        ) -> None:
            body = json.dumps(payload).encode()
            self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

        def _error(self, status: int, code: str, message: str) -> None:
            self._json(
                status,
                {"error": message},
                {"X-Error-Code": code, "X-Error-Message": message},
            )

        def _repo_or_error(self, repo_id: str) -> FakeRepo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not self._authorised(repo)):
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            return repo

        def _authorised(self, repo: FakeRepo) -> bool:
            auth = self.headers.get("Authorization")
            return repo.token is not None and auth == f"Bearer {repo.token}"

        # -- routes -------------------------------------------------------------------

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = parse_qs(url.query)
            with hub._lock:
                hub.requests.append((self.command, path))
                hub.auth_seen.append(self.headers.get("Authorization"))
            if path == "/api/models":
                return self._search(query)
            match = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?", path)
            if match:
                return self._tree(match.group(1), match.group(3) or "")
            match = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
            if match:
                return self._info(match.group(1), blobs="blobs" in query)
            match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if match:
                return self._resolve(match.group(1), match.group(3))
            match = re.fullmatch(r"/cdn/([^/]+/[^/]+)/(.+)", path)
            if match:
                return self._cdn(match.group(1), match.group(2))
            self._send(404, b"not found")

        def _search(self, query: dict[str, list[str]]) -> None:
            text = (query.get("search") or [""])[0].lower()
            filters = query.get("filter") or []
            limit = int((query.get("limit") or ["1000"])[0])
            found = []
            for repo in hub.repos.values():
                if repo.private:
                    continue
                if text and text not in repo.repo_id.lower():
                    continue
                if any(tag not in repo.tags for tag in filters):
                    continue
                found.append(
                    {
                        "_id": repo.repo_id,
                        "id": repo.repo_id,
                        "modelId": repo.repo_id,
                        "downloads": repo.downloads,
                        "likes": repo.likes,
                        "tags": list(repo.tags),
                        "gated": "manual" if repo.gated else False,
                        "private": repo.private,
                        "lastModified": "2024-09-25T00:00:00.000Z",
                    }
                )
            found.sort(key=lambda item: -int(item["downloads"]))  # type: ignore[call-overload]
            self._json(200, found[:limit])

        def _entry(self, name: str, data: bytes, *, blobs: bool) -> dict[str, object]:
            entry: dict[str, object] = {"rfilename": name}
            if blobs:
                entry.update(
                    size=len(data),
                    blobId=_git_sha1(data),
                    lfs={"sha256": _sha256(data), "size": len(data), "pointerSize": 134},
                )
            return entry

        def _info(self, repo_id: str, *, blobs: bool) -> None:
            if hub.faults.listing_status:
                return self._error(hub.faults.listing_status, "", "Internal Error")
            repo = self._repo_or_error(repo_id)
            if repo is None:
                return
            self._json(
                200,
                {
                    "_id": repo.repo_id,
                    "id": repo.repo_id,
                    "modelId": repo.repo_id,
                    "sha": repo.commit,
                    "private": repo.private,
                    "gated": "manual" if repo.gated else False,
                    "downloads": repo.downloads,
                    "likes": repo.likes,
                    "tags": list(repo.tags),
                    "siblings": [
                        self._entry(name, data, blobs=blobs)
                        for name, data in repo.listing().items()
                    ],
                },
            )

        def _tree(self, repo_id: str, prefix: str) -> None:
            if hub.faults.listing_status:
                return self._error(hub.faults.listing_status, "", "Internal Error")
            repo = self._repo_or_error(repo_id)
            if repo is None:
                return
            items = [
                {
                    "type": "file",
                    "path": name,
                    "size": len(data),
                    "oid": _git_sha1(data),
                    "lfs": {"oid": _sha256(data), "size": len(data), "pointerSize": 134},
                }
                for name, data in repo.listing().items()
                if name.startswith(prefix)
            ]
            self._json(200, items)

        def _file_or_error(self, repo_id: str, name: str) -> tuple[FakeRepo, bytes] | None:
            repo = self._repo_or_error(repo_id)
            if repo is None:
                return None
            if repo.gated and not self._authorised(repo):
                self._error(
                    401, "GatedRepo", "Access to model is restricted. You must have access to it."
                )
                return None
            data = repo.listing().get(name)
            if data is None:
                self._error(404, "EntryNotFound", "Entry not found")
                return None
            return repo, data

        def _resolve(self, repo_id: str, name: str) -> None:
            found = self._file_or_error(repo_id, name)
            if found is None:
                return
            repo, data = found
            status = hub.faults.status.get(name)
            if status:
                return self._error(status, "", "Internal Error")
            digest = _sha256(data)
            self._send(
                302,
                b"",
                {
                    "Location": f"{hub.endpoint}/cdn/{repo_id}/{name}",
                    "ETag": f'"{_git_sha1(data)}"',
                    "X-Linked-Etag": f'"{digest}"',
                    "X-Linked-Size": str(len(data)),
                    "X-Repo-Commit": repo.commit,
                },
            )

        def _cdn(self, repo_id: str, name: str) -> None:
            # A CDN URL is pre-signed: it needs no token (the resolve step checked it).
            repo = hub.repos.get(repo_id)
            data = repo.listing().get(name) if repo else None
            if repo is None or data is None:
                return self._send(404, b"not found")
            start, end = 0, len(data) - 1
            range_header = self.headers.get("Range")
            if range_header:
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header.strip())
                if match is None or int(match.group(1)) >= len(data):
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                start = int(match.group(1))
                if match.group(2):  # a closed range, as header reads ask for
                    end = min(end, int(match.group(2)))
            if self.command == "GET":
                with hub._lock:
                    hub.ranges.append((name, start))
            body = data[start : end + 1]
            if name in hub.faults.corrupt and body:
                middle = len(data) // 2 - start
                if 0 <= middle < len(body):
                    body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
            self.send_response(206 if range_header else 200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{_sha256(data)}"')
            # The Hub's CDN is on another host, so huggingface_hub reads these from the
            # redirect; this CDN shares the Hub's host, so the client follows the redirect
            # and reads them here.
            self.send_header("X-Linked-Etag", f'"{_sha256(data)}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("X-Repo-Commit", repo.commit)
            if range_header:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if self.command == "HEAD":
                return
            with hub._downloading():
                self._stream(name, body)

        def _stream(self, name: str, body: bytes) -> None:
            faults = hub.faults
            cut = faults.cut_after.pop(name, None)
            step = 16 * 1024
            sent = 0
            started = time.monotonic()
            while sent < len(body):
                if cut is not None and sent >= cut:
                    self._hang_up()
                    return
                if name in faults.stall and sent >= faults.stall_after:
                    hub._stop_stall.wait(30)
                    self._hang_up()
                    return
                end = min(len(body), sent + step)
                if cut is not None:
                    end = min(end, cut)
                if faults.stall and name in faults.stall:
                    end = min(end, max(faults.stall_after, sent + 1))
                try:
                    self.wfile.write(body[sent:end])
                    self.wfile.flush()
                except OSError:
                    return
                hub._count(name, end - sent)
                sent = end
                if faults.throttle_bps:
                    due = started + sent / faults.throttle_bps
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)

        def _hang_up(self) -> None:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return Handler
