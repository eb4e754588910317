"""Read GGUF headers of files on a server (the Hugging Face Hub) without downloading them.

:class:`HTTPRangeSource` is a :class:`~app.core.gguf.header.ByteSource` that fetches byte
ranges on demand; the header parser asks for 1 MiB first and doubles until the header
parses, so a 150,000-token vocabulary costs a few requests, not the model. Redirects
are followed (the Hub sends file bytes from a CDN). A server that ignores ``Range`` and
answers ``200`` with the whole body is read as a stream only as far as the header
needs, then the connection is closed.

Split models (``name-00001-of-00003.gguf``) count as one model:
:func:`group_split_files` groups part names, :func:`merge_split_headers` adds up their
tensors and sizes.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.client import HTTPResponse
from types import TracebackType

from app.core.errors import ModelNotFoundError, NetworkError, NotAModelFileError
from app.core.gguf.header import GGUFHeader, parse_header

USER_AGENT = "Hearth (GGUF header reader)"
_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


class RemoteReadError(NetworkError):
    """The server could not be read."""

    hint = "Check your internet connection, or try again later."


class HTTPRangeSource:
    """A file on an HTTP server as a :class:`~app.core.gguf.header.ByteSource`."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._timeout = timeout
        self._size: int | None = None
        self._stream: HTTPResponse | None = None
        self._stream_pos = 0
        self.ignores_ranges = False
        self.requests = 0
        self.bytes_received = 0

    @property
    def size(self) -> int | None:
        return self._size

    def _open(self, offset: int, length: int) -> HTTPResponse:
        request = urllib.request.Request(self.url, headers=dict(self._headers))
        request.add_header("Range", f"bytes={offset}-{offset + length - 1}")
        self.requests += 1
        try:
            response: HTTPResponse = urllib.request.urlopen(request, timeout=self._timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416:  # asked past the end
                raise EOFError from None
            if error.code in (401, 403, 404):
                raise ModelNotFoundError(
                    f"The server has no file at {self.url} (HTTP {error.code}).",
                    url=self.url,
                    status=error.code,
                ) from None
            raise RemoteReadError(
                f"The server answered HTTP {error.code} for {self.url}.",
                url=self.url,
                status=error.code,
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RemoteReadError(f"Could not reach {self.url}: {reason}.", url=self.url) from None
        return response

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only at the end of the file."""
        if length <= 0 or (self._size is not None and offset >= self._size):
            return b""
        if self.ignores_ranges:
            return self._read_stream(offset, length)
        try:
            response = self._open(offset, length)
        except EOFError:
            return b""
        if response.status == 206:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            if total.isdigit():
                self._size = int(total)
            with response:
                data = response.read(length)
            self.bytes_received += len(data)
            return data
        # 200: the server ignored Range and sends the whole file. Keep the stream and
        # read it forward only as far as asked.
        self.ignores_ranges = True
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit():
            self._size = int(declared)
        self._stream, self._stream_pos = response, 0
        return self._read_stream(offset, length)

    def _read_stream(self, offset: int, length: int) -> bytes:
        if self._stream is None or offset < self._stream_pos:
            self.close()
            response = self._open(0, offset + length)
            self._stream, self._stream_pos = response, 0
        stream = self._stream
        assert stream is not None
        while self._stream_pos < offset:
            skipped = stream.read(min(offset - self._stream_pos, 1 << 20))
            if not skipped:
                return b""
            self._stream_pos += len(skipped)
            self.bytes_received += len(skipped)
        data = stream.read(length)
        self._stream_pos += len(data)
        self.bytes_received += len(data)
        return data

    def close(self) -> None:
        """Close a streaming connection, if one is open."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> HTTPRangeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_remote_header(
    url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0
) -> GGUFHeader:
    """The GGUF header of the file at ``url``, read with range requests.

    Raises :class:`NotAModelFileError` for a file that is not GGUF, the usual header
    errors, :class:`ModelNotFoundError` for a missing file and
    :class:`RemoteReadError` when the server cannot be reached.
    """
    with HTTPRangeSource(url, headers=headers, timeout=timeout) as source:
        try:
            return parse_header(source)
        except NotAModelFileError:
            raise NotAModelFileError(
                f"{url.rsplit('/', 1)[-1]} is not a GGUF model file."
            ) from None


def hub_file_url(
    repo_id: str, filename: str, *, revision: str = "main", endpoint: str | None = None
) -> str:
    """The download URL of a Hub file, honouring ``HF_ENDPOINT``."""
    from huggingface_hub import hf_hub_url

    return str(
        hf_hub_url(
            repo_id,
            filename,
            revision=revision,
            endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None,
        )
    )


def read_hub_header(
    repo_id: str,
    filename: str,
    *,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | None = None,
) -> GGUFHeader:
    """The header of ``filename`` in a Hub repository, without downloading the model."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return read_remote_header(
        hub_file_url(repo_id, filename, revision=revision, endpoint=endpoint), headers=headers
    )


# ------------------------------------------------------------------------------------
# Split models


@dataclass(frozen=True, slots=True)
class SplitModel:
    """One model's file names: a single file, or every part of a split one, in order."""

    name: str
    parts: tuple[str, ...]
    expected_parts: int = 1

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.expected_parts


def split_part(filename: str) -> tuple[str, int, int] | None:
    """``(stem, index, count)`` for ``stem-00002-of-00005.gguf``, else None."""
    base = filename.rsplit("/", 1)[-1]
    match = _SPLIT.match(base)
    if not match:
        return None
    prefix = filename[: len(filename) - len(base)]
    return prefix + match["stem"], int(match["index"]), int(match["count"])


def group_split_files(filenames: Iterable[str]) -> list[SplitModel]:
    """Group GGUF file names so each split model appears once, parts in order."""
    singles: list[SplitModel] = []
    groups: dict[tuple[str, int], dict[int, str]] = {}
    for name in filenames:
        if not name.lower().endswith(".gguf"):
            continue
        part = split_part(name)
        if part is None:
            singles.append(SplitModel(name=name, parts=(name,)))
            continue
        stem, index, count = part
        groups.setdefault((stem, count), {})[index] = name
    for (stem, count), parts in groups.items():
        ordered = tuple(parts[i] for i in sorted(parts))
        singles.append(SplitModel(name=f"{stem}.gguf", parts=ordered, expected_parts=count))
    return sorted(singles, key=lambda model: model.name)


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


@dataclass(slots=True)
class RemoteModelFile:
    """A GGUF model in a Hub repository (all parts of a split one), with its header."""

    name: str
    parts: tuple[str, ...]
    size: int
    header: GGUFHeader
    notes: list[str] = field(default_factory=list)


def read_hub_models(
    repo_id: str,
    *,
    revision: str = "main",
    endpoint: str | None = None,
    token: str | None = None,
) -> list[RemoteModelFile]:
    """Every GGUF model in a Hub repository with its header, read by range requests.

    Split models are merged into one entry. Files whose header cannot be read are
    left out with nothing downloaded beyond their header.
    """
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=token)
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
    except Exception as error:  # huggingface_hub raises many kinds; all mean "not here"
        raise ModelNotFoundError(f"Could not list {repo_id} on the Hub: {error}") from None
    sizes = {s.rfilename: int(s.size or 0) for s in (info.siblings or [])}
    models: list[RemoteModelFile] = []
    for group in group_split_files(sizes):
        headers = [
            read_hub_header(repo_id, part, revision=revision, endpoint=endpoint, token=token)
            for part in group.parts
        ]
        notes = (
            []
            if group.complete
            else [f"Only {len(group.parts)} of {group.expected_parts} parts are in the repository."]
        )
        models.append(
            RemoteModelFile(
                name=group.name,
                parts=group.parts,
                size=sum(sizes[p] for p in group.parts),
                header=merge_split_headers(headers),
                notes=notes,
            )
        )
    return models
