"""Read GGUF headers of files on the Hugging Face Hub without downloading them.

:class:`HubRangeSource` is a :class:`~app.core.gguf.header.ByteSource` that fetches
byte ranges on demand through :meth:`Hub.stream <app.core.library.hub.Hub.stream>`:
the same offline check, session, token and error translation as listings and
downloads. The header parser asks for 1 MiB first and doubles until the header parses,
so a 150,000-token vocabulary costs a few requests, not the model. Redirects are
followed (the Hub sends file bytes from a CDN). A server that ignores ``Range`` and
answers ``200`` with the whole body is read as a stream only as far as the header
needs, then the connection is closed.

A split model (``name-00001-of-00003.gguf``) counts as one model, grouped as the Hub's
listing groups it; :func:`merge_split_headers` adds up its parts' tensors and sizes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from app.core.errors import ModelFileError, NotAModelFileError
from app.core.gguf.header import GGUFHeader, parse_header
from app.core.library.hub import (
    GGUFVariant,
    Hub,
    RangeNotSatisfiableError,
    RepoListing,
    check_repo_id,
    translate_errors,
)

STREAM_CHUNK = 64 * 1024


class HubRangeSource:
    """A file on the Hub (its ``resolve`` URL) as a :class:`~app.core.gguf.header.ByteSource`.

    Hub errors (offline, not found, refused, unreachable) are raised as they are.
    """

    def __init__(
        self, hub: Hub, url: str, *, repo_id: str | None = None, filename: str | None = None
    ) -> None:
        self.hub = hub
        self.url = url
        self.repo_id = repo_id
        self.filename = filename or url.rsplit("/", 1)[-1]
        self.action = f"Reading the header of {self.filename}"
        self._size: int | None = None
        self._stream: ExitStack | None = None
        self._chunks: Iterator[bytes] | None = None
        self._pending = b""
        self._stream_pos = 0
        self.ignores_ranges = False
        self.requests = 0
        self.bytes_received = 0

    @property
    def size(self) -> int | None:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only at the end of the file."""
        if length <= 0 or (self._size is not None and offset >= self._size):
            return b""
        if self.ignores_ranges:
            return self._read_stream(offset, length)
        stack = ExitStack()
        try:
            response = self._open(stack, offset, offset + length - 1)
        except RangeNotSatisfiableError:  # asked past the end
            stack.close()
            return b""
        if response.status_code == 206:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            if total.isdigit():
                self._size = int(total)
            # Read no more than asked: a server may send past the range's end.
            data = bytearray()
            with stack, self._translated():
                for chunk in response.iter_bytes(min(length, STREAM_CHUNK)):
                    data += chunk
                    if len(data) >= length:
                        break
            self.bytes_received += len(data)
            return bytes(data[:length])
        # 200: the server ignored Range and sends the whole file. Keep the stream and
        # read it forward only as far as asked.
        self.ignores_ranges = True
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit():
            self._size = int(declared)
        self._keep(stack, response)
        return self._read_stream(offset, length)

    def _open(self, stack: ExitStack, first: int, last: int) -> Any:
        self.requests += 1
        return stack.enter_context(
            self.hub.stream(
                self.url,
                action=self.action,
                repo_id=self.repo_id,
                filename=self.filename,
                headers={"Range": f"bytes={first}-{last}", "Accept-Encoding": "identity"},
            )
        )

    def _translated(self) -> Any:
        return translate_errors(self.action, repo_id=self.repo_id, filename=self.filename)

    def _keep(self, stack: ExitStack, response: Any) -> None:
        self._stream = stack
        self._chunks = iter(response.iter_bytes(STREAM_CHUNK))
        self._pending, self._stream_pos = b"", 0

    def _next_chunk(self) -> bytes:
        assert self._chunks is not None
        with self._translated():
            return next(self._chunks, b"")

    def _read_stream(self, offset: int, length: int) -> bytes:
        if self._stream is None or offset < self._stream_pos:
            self.close()
            stack = ExitStack()
            try:
                response = self._open(stack, 0, offset + length - 1)
            except RangeNotSatisfiableError:
                stack.close()
                return b""
            self._keep(stack, response)
        while self._stream_pos + len(self._pending) < offset:  # skip to the offset
            self._stream_pos += len(self._pending)
            self._pending = self._next_chunk()
            if not self._pending:
                return b""
            self.bytes_received += len(self._pending)
        self._pending = self._pending[offset - self._stream_pos :]
        self._stream_pos = offset
        while len(self._pending) < length:
            chunk = self._next_chunk()
            if not chunk:
                break
            self.bytes_received += len(chunk)
            self._pending += chunk
        data, self._pending = self._pending[:length], self._pending[length:]
        self._stream_pos += len(data)
        return data

    def close(self) -> None:
        """Close a streaming connection, if one is open."""
        if self._stream is not None:
            stream, self._stream, self._chunks = self._stream, None, None
            stream.close()

    def __enter__(self) -> HubRangeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_hub_header(
    hub: Hub, repo_id: str, filename: str, *, revision: str | None = None
) -> GGUFHeader:
    """The header of ``filename`` in a Hub repository, without downloading the model.

    Raises the Hub's typed errors, :class:`NotAModelFileError` for a file that is not
    GGUF, and the header parser's errors for a damaged or crafted one.
    """
    url = hub.file_url(repo_id, filename, revision=revision)
    with HubRangeSource(hub, url, repo_id=repo_id, filename=filename) as source:
        try:
            return parse_header(source)
        except NotAModelFileError:
            raise NotAModelFileError(f"{filename} is not a GGUF model file.") from None


def merge_split_headers(headers: Sequence[GGUFHeader]) -> GGUFHeader:
    """One header for a split model: the first part's metadata, every part's tensors."""
    if not headers:
        raise ValueError("no headers to merge")
    first = headers[0]
    tensors = [tensor for header in headers for tensor in header.tensors]
    sizes = [header.file_size for header in headers]
    total = sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None
    return GGUFHeader(
        version=first.version,
        metadata=dict(first.metadata),
        tensors=tensors,
        alignment=first.alignment,
        data_offset=first.data_offset,
        file_size=total,
        _by_name={},
    )


@dataclass(frozen=True, slots=True)
class RemoteModelFile:
    """A GGUF model in a Hub repository (all parts of a split one), with its header."""

    name: str
    variant: GGUFVariant
    header: GGUFHeader

    @property
    def size(self) -> int:
        return self.variant.size


@dataclass(frozen=True, slots=True)
class RemoteModels:
    """The models of a Hub repository with their headers, and what was left out, in words."""

    repo_id: str
    commit: str | None
    models: tuple[RemoteModelFile, ...]
    notes: tuple[str, ...] = ()


def model_file_name(variant: GGUFVariant) -> str:
    """How a model is named to a person: its file's name (a split model's stem)."""
    if variant.is_split:
        return f"{variant.name}.gguf"
    return PurePosixPath(variant.files[0].path).name


def read_hub_models(hub: Hub, repo_id: str, *, revision: str | None = None) -> RemoteModels:
    """Every GGUF model in a Hub repository with its header, read by range requests.

    A file whose header is not a usable GGUF header is left out with a note, nothing
    downloaded beyond what its header needed; Hub errors (offline, not found, refused,
    unreachable) are raised.
    """
    check_repo_id(repo_id)
    hub.require_online(f"Reading the models of {repo_id} from Hugging Face")
    return read_listed_models(hub, hub.list_gguf(repo_id, revision=revision))


def read_listed_models(hub: Hub, listing: RepoListing) -> RemoteModels:
    """The headers of the models of a listing already made, read at its commit."""
    repo_id = listing.repo_id
    hub.require_online(f"Reading the models of {repo_id} from Hugging Face")
    notes = [
        f"{name} is missing shards in the repository; left out." for name in listing.incomplete
    ]
    notes += [f"Refused the unsafe file name {name!r}." for name in listing.rejected]
    models: list[RemoteModelFile] = []
    for variant in listing.variants:
        name = model_file_name(variant)
        try:
            headers = [
                read_hub_header(hub, repo_id, f.path, revision=listing.commit)
                for f in variant.files
            ]
        except ModelFileError as error:
            notes.append(f"{name}: {error} Left out.")
            continue
        models.append(
            RemoteModelFile(name=name, variant=variant, header=merge_split_headers(headers))
        )
    return RemoteModels(
        repo_id=repo_id, commit=listing.commit, models=tuple(models), notes=tuple(notes)
    )
