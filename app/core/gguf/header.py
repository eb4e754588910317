"""Read a GGUF file's header: its metadata and tensor table, never its weights.

The reader is written for files nobody vouched for. Every count and length in the
header is checked against hard limits and against the bytes that are actually there
before anything is allocated, so a crafted file cannot make Hearth allocate gigabytes
or loop for ever; it gets a :class:`~app.core.errors.CorruptModelError` instead.
Large arrays (a tokenizer's 150,000 tokens) are walked, not materialised: the header
keeps their type and length only.

Bytes come from a :class:`ByteSource`, so the same parser reads a local file or, in
slices fetched on demand, a file on a server.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import gguf as _gguf

from app.core.errors import (
    CorruptModelError,
    ModelNotFoundError,
    NotAModelFileError,
    TruncatedModelError,
    UnreadableModelError,
    shown_path,
)

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Hard limits for untrusted headers. Real models stay far below each of them (the
# largest vocabularies have about 260,000 tokens, the largest tensor tables a few
# tens of thousands of entries, and ggml itself caps a tensor name at 64 bytes).
MAX_KV_PAIRS = 100_000
MAX_TENSORS = 200_000
MAX_STRING_BYTES = 64 * 1024 * 1024
MAX_NAME_BYTES = 4096  # a metadata key or a tensor name
MAX_ARRAY_ITEMS = 64 * 1024 * 1024
MAX_STRING_ARRAY_ITEMS = 4 * 1024 * 1024  # each is walked, so each costs time
MAX_NESTED_ARRAYS = 65_536
MAX_DIMS = 4
MAX_DIM = 1 << 40
MAX_ARRAY_DEPTH = 2
# Numeric arrays up to this length are kept (per-layer head counts, window patterns);
# longer ones (token scores, token types) are summarised as GGUFArray.
KEEP_ARRAY_ITEMS = 4096
# What the parsed header may hold in memory (strings, kept arrays, the tensor table),
# counted roughly in bytes. A real header keeps a few MiB; a crafted one that claims
# more is refused instead of filling the memory.
MAX_KEPT_BYTES = 64 * 1024 * 1024
_KEPT_PER_ITEM = 40  # a Python int or float in a list
_KEPT_PER_TENSOR = 320  # a TensorInfo with its shape tuple
# Local files are read in slices of at most this size (a server gets larger ones).
LOCAL_MAX_FETCH = 4 * 1024 * 1024


class ByteSource(Protocol):
    """Random-access bytes. ``size`` is the total length when known."""

    @property
    def size(self) -> int | None: ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only at the end of the data."""
        ...


class FileSource:
    """An open local file as a :class:`ByteSource` (use :meth:`open`, then close it)."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> FileSource:
        """Open ``path`` for reading; it must be a regular file.

        Raises :class:`ModelNotFoundError`, :class:`NotAModelFileError` (a folder, a
        pipe, a device) or :class:`UnreadableModelError` (no permission, a name too
        long, a loop of links). A pipe nobody writes to does not block: it is refused.
        """
        shown = shown_path(path)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            raise ModelNotFoundError(f"No model file at {shown}.", path=path) from None
        except ValueError:  # a NUL byte in the path
            raise ModelNotFoundError(f"No model file at {shown}.", path=path) from None
        except OSError as error:
            if os.path.isdir(path):  # Windows refuses to open a folder
                folder = NotAModelFileError(f"{shown} is a folder, not a model file.", path=path)
                raise folder from None
            raise _unreadable(path, error) from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise NotAModelFileError(f"{shown} is a folder, not a model file.", path=path)
            if not stat.S_ISREG(info.st_mode):
                raise NotAModelFileError(
                    f"{shown} is not a regular file (a pipe, socket or device), so it is not "
                    "a model file.",
                    path=path,
                )
            return cls(os.fdopen(fd, "rb"), info.st_size)
        except BaseException:
            os.close(fd)
            raise

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        self._handle.seek(offset)
        return self._handle.read(length)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _unreadable(path: str | os.PathLike[str], error: OSError) -> UnreadableModelError:
    shown = shown_path(path)
    code = error.errno
    if code == errno.ENAMETOOLONG:
        reason = "its name is longer than this system allows"
    elif code == errno.ELOOP:
        reason = "it is a link that leads in a loop"
    elif code in (errno.EACCES, errno.EPERM):
        reason = "Hearth may not read it"
    else:
        reason = error.strerror or type(error).__name__
    return UnreadableModelError(f"Hearth cannot read {shown}: {reason}.", path=path)


@dataclass(frozen=True, slots=True)
class GGUFArray:
    """A metadata array too long to keep: its element type and length."""

    item_type: str
    count: int


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One entry of the tensor table."""

    name: str
    shape: tuple[int, ...]
    ggml_type: str
    offset: int
    n_bytes: int

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def layer(self) -> int | None:
        """The block index for ``blk.N.*`` tensors, else None."""
        parts = self.name.split(".")
        if len(parts) > 2 and parts[0] == "blk" and _is_index(parts[1]):
            return int(parts[1])
        return None


@dataclass(slots=True)
class GGUFHeader:
    """A GGUF file's metadata and tensor table, with the figures Hearth needs."""

    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo]
    alignment: int
    data_offset: int
    file_size: int | None = None
    _by_name: dict[str, TensorInfo] = field(default_factory=dict, repr=False)

    # -- generic metadata --------------------------------------------------------------

    # Values come from an untrusted file: every accessor checks the type it returns,
    # so a string where a number belongs, or a list of lists, reads as "unknown".

    @property
    def architecture(self) -> str:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) and value else "unknown"

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    def arch_value(self, key: str, default: Any = None) -> Any:
        """``{architecture}.{key}`` from the metadata, whatever its type."""
        return self.metadata.get(f"{self.architecture}.{key}", default)

    def arch_count(self, key: str) -> int | None:
        """``{architecture}.{key}`` as a count above zero; for a per-layer list, its largest.

        None when the key is missing or holds anything else (a string, a list of lists).
        """
        return positive_count(self.arch_value(key))

    @property
    def context_length(self) -> int | None:
        return positive_count(self.arch_value("context_length"), per_layer=False)

    @property
    def block_count(self) -> int | None:
        return positive_count(self.arch_value("block_count"), per_layer=False)

    @property
    def embedding_length(self) -> int | None:
        return positive_count(self.arch_value("embedding_length"), per_layer=False)

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, GGUFArray) and tokens.item_type == "string":
            return tokens.count or None
        if isinstance(tokens, list) and tokens and all(isinstance(t, str) for t in tokens):
            return len(tokens)
        return None

    # -- tensors -----------------------------------------------------------------------

    def tensor(self, name: str) -> TensorInfo | None:
        if not self._by_name:
            self._by_name = {t.name: t for t in self.tensors}
        return self._by_name.get(name)

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def expected_file_size(self) -> int:
        """Bytes a complete file has: the header, then every tensor's data."""
        end = max((t.offset + t.n_bytes for t in self.tensors), default=0)
        return self.data_offset + end

    @property
    def quantization(self) -> str:
        """The quantization name people use (``Q4_K_M``, ``F16``...).

        From ``general.file_type`` when present; otherwise the type holding most of
        the weight bytes.
        """
        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int):
            try:
                name = _gguf.LlamaFileType(file_type).name
            except ValueError:
                name = ""
            if name:
                return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        weights: Counter[str] = Counter()
        for tensor in self.tensors:
            if len(tensor.shape) >= 2:
                weights[tensor.ggml_type] += tensor.n_bytes
        return weights.most_common(1)[0][0] if weights else "unknown"


def positive_count(value: Any, *, per_layer: bool = True) -> int | None:
    """``value`` if it is a whole number above zero (a bool is not), else None.

    With ``per_layer``, a non-empty list of whole numbers gives its largest (per-layer
    head counts); any other list (of lists, of strings) gives None.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    numbers = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )
    if per_layer and numbers and value:
        largest = max(value)
        return largest if largest > 0 else None
    return None


def _is_index(text: str) -> bool:
    """A block number as llama.cpp writes one: ASCII digits, not a 4,000-digit number."""
    return text.isascii() and text.isdigit() and len(text) <= 9


# ------------------------------------------------------------------------------------
# Parsing


_SCALARS: dict[int, tuple[str, str]] = {
    0: ("uint8", "<B"),
    1: ("int8", "<b"),
    2: ("uint16", "<H"),
    3: ("int16", "<h"),
    4: ("uint32", "<I"),
    5: ("int32", "<i"),
    6: ("float32", "<f"),
    7: ("bool", "<?"),
    10: ("uint64", "<Q"),
    11: ("int64", "<q"),
    12: ("float64", "<d"),
}
_STRING = 8
_ARRAY = 9


class _Cursor:
    """Sequential reads over a ByteSource through a sliding window of fetched bytes.

    ``pos`` is the offset in the file of the next byte to parse; the buffer holds the
    bytes from ``start``. Bytes already parsed are dropped before the next fetch, and
    what is skipped (a long array) is never fetched when the file's size is known, so
    memory stays near one fetch whatever the header claims.
    """

    def __init__(self, source: ByteSource, *, first_fetch: int, max_fetch: int) -> None:
        self.source = source
        self.buffer = bytearray()
        self.start = 0
        self.pos = 0
        self.kept = 0
        self._fetch = first_fetch
        self._max_fetch = max_fetch

    @property
    def size(self) -> int | None:
        return self.source.size  # a server's file has a size once the first answer came

    def remaining(self) -> int | None:
        size = self.size
        return None if size is None else size - self.pos

    def ensure(self, n: int) -> int:
        """Make ``n`` bytes from ``pos`` available; their index in the buffer. Or raise."""
        need = self.pos + n
        end = self.start + len(self.buffer)
        if need <= end:
            return self.pos - self.start
        size = self.size
        if size is not None and need > size:
            raise TruncatedModelError(
                f"The file ends inside its header (at byte {size:,}; "
                f"the header needs at least {need:,})."
            )
        if self.pos >= end:
            self.buffer = bytearray()
        else:
            del self.buffer[: self.pos - self.start]
        self.start = self.pos
        while self.start + len(self.buffer) < need:
            have = self.start + len(self.buffer)
            want = max(need - have, self._fetch)
            chunk = self.source.read(have, want)
            if not chunk:
                raise TruncatedModelError(
                    f"The file ends inside its header (after {have:,} bytes)."
                )
            self.buffer += chunk
            self._fetch = min(self._fetch * 2, self._max_fetch)
        return 0

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes, fetching them only when the file's size is unknown."""
        size = self.size
        if size is None:
            self.ensure(n)
        elif self.pos + n > size:
            raise TruncatedModelError(
                f"The file ends inside its header (at byte {size:,}; "
                f"the header needs at least {self.pos + n:,})."
            )
        self.pos += n

    def keep(self, n_bytes: int, what: str) -> None:
        """Count ``n_bytes`` more held in memory; refuse a header that holds too much."""
        self.kept += n_bytes
        if self.kept > MAX_KEPT_BYTES:
            raise CorruptModelError(
                f"The header holds more than {MAX_KEPT_BYTES // 2**20} MiB of metadata "
                f"(at {what}); no real model's does."
            )

    def unpack(self, fmt: str, size: int) -> Any:
        index = self.ensure(size)
        (value,) = struct.unpack_from(fmt, self.buffer, index)
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.unpack("<I", 4))

    def u64(self) -> int:
        return int(self.unpack("<Q", 8))

    def string(self, what: str, *, limit: int = MAX_STRING_BYTES) -> str:
        length = self.u64()
        self._check_length(length, 1, limit, what)
        self.keep(length + 64, what)
        index = self.ensure(length)
        raw = bytes(self.buffer[index : index + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Walk ``count`` strings without decoding them (tokenizer vocabularies)."""
        unpack_from = struct.unpack_from
        for _ in range(count):
            index = self.ensure(8)
            (length,) = unpack_from("<Q", self.buffer, index)
            self.pos += 8
            if length > MAX_STRING_BYTES:
                self._check_length(length, 1, MAX_STRING_BYTES, "a string in an array")
            if self.pos + length <= self.start + len(self.buffer):
                self.pos += length  # already fetched: the common case, kept fast
            else:
                self.skip(length)

    def _check_length(self, count: int, item_size: int, limit: int, what: str) -> None:
        if count > limit:
            raise CorruptModelError(f"The header claims {count:,} items for {what}.")
        remaining = self.remaining()
        if remaining is not None and count * item_size > remaining:
            # Within the limits but past the end: most likely a partial download.
            raise TruncatedModelError(
                f"The file ends inside its header: {what} needs at least "
                f"{count * item_size:,} bytes, and only {remaining:,} remain."
            )


def _read_value(cursor: _Cursor, value_type: int, key: str, depth: int = 0) -> Any:
    if value_type in _SCALARS:
        _, fmt = _SCALARS[value_type]
        return cursor.unpack(fmt, struct.calcsize(fmt))
    if value_type == _STRING:
        return cursor.string(f"the value of {key!r}")
    if value_type == _ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise CorruptModelError(f"Metadata {key!r} nests arrays too deeply.")
        item_type = cursor.u32()
        count = cursor.u64()
        if item_type in _SCALARS:
            type_name, fmt = _SCALARS[item_type]
            item_size = struct.calcsize(fmt)
            cursor._check_length(count, item_size, MAX_ARRAY_ITEMS, f"array {key!r}")
            if count > KEEP_ARRAY_ITEMS:
                cursor.skip(count * item_size)
                return GGUFArray(type_name, count)
            cursor.keep(count * _KEPT_PER_ITEM, f"array {key!r}")
            index = cursor.ensure(count * item_size)
            values = list(struct.unpack_from(f"<{count}{fmt[1]}", cursor.buffer, index))
            cursor.pos += count * item_size
            return values
        if item_type == _STRING:
            cursor._check_length(count, 8, MAX_STRING_ARRAY_ITEMS, f"array {key!r}")
            if count <= 64:
                return [cursor.string(f"an item of {key!r}") for _ in range(count)]
            cursor.skip_strings(count)
            return GGUFArray("string", count)
        if item_type == _ARRAY:
            cursor._check_length(count, 12, MAX_NESTED_ARRAYS, f"array {key!r}")
            cursor.keep(count * _KEPT_PER_ITEM, f"array {key!r}")
            return [_read_value(cursor, _ARRAY, key, depth + 1) for _ in range(count)]
        raise CorruptModelError(f"Metadata {key!r} has an unknown array type {item_type}.")
    raise CorruptModelError(f"Metadata {key!r} has an unknown value type {value_type}.")


def _tensor_type(type_id: int, name: str) -> tuple[str, int, int]:
    try:
        qtype = _gguf.GGMLQuantizationType(type_id)
        block, type_size = _gguf.GGML_QUANT_SIZES[qtype]
    except (ValueError, KeyError):
        raise CorruptModelError(f"Tensor {name!r} has an unknown type {type_id}.") from None
    return qtype.name, block, type_size


def parse_header(
    source: ByteSource, *, first_fetch: int = 1 << 20, max_fetch: int = 64 * 1024 * 1024
) -> GGUFHeader:
    """Parse the header from ``source``. Raises NotAModelFile, Truncated or Corrupt errors."""
    cursor = _Cursor(source, first_fetch=first_fetch, max_fetch=max_fetch)
    try:
        index = cursor.ensure(4)
    except TruncatedModelError:
        raise NotAModelFileError("The file is empty or too short to be a GGUF model.") from None
    if bytes(cursor.buffer[index : index + 4]) != GGUF_MAGIC:
        raise NotAModelFileError("This is not a GGUF model file (it does not start with 'GGUF').")
    cursor.pos = 4
    version = cursor.u32()
    if version not in (2, 3):
        raise CorruptModelError(f"GGUF version {version} is not supported (only 2 and 3 are).")
    n_tensors = cursor.u64()
    n_kv = cursor.u64()
    if n_kv > MAX_KV_PAIRS:
        raise CorruptModelError(f"The header claims {n_kv:,} metadata entries.")
    if n_tensors > MAX_TENSORS:
        raise CorruptModelError(f"The header claims {n_tensors:,} tensors.")

    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cursor.string("a metadata key", limit=MAX_NAME_BYTES)
        value_type = cursor.u32()
        metadata[key] = _read_value(cursor, value_type, key)

    tensors: list[TensorInfo] = []
    for _ in range(n_tensors):
        name = cursor.string("a tensor name", limit=MAX_NAME_BYTES)
        cursor.keep(_KEPT_PER_TENSOR, "the tensor table")
        n_dims = cursor.u32()
        if not 1 <= n_dims <= MAX_DIMS:
            raise CorruptModelError(f"Tensor {name!r} claims {n_dims} dimensions.")
        shape = tuple(cursor.u64() for _ in range(n_dims))
        if any(not 0 < dim <= MAX_DIM for dim in shape):
            raise CorruptModelError(f"Tensor {name!r} claims an impossible shape {shape}.")
        type_name, block, type_size = _tensor_type(cursor.u32(), name)
        offset = cursor.u64()
        if shape[0] % block:
            raise CorruptModelError(
                f"Tensor {name!r}: its rows ({shape[0]}) are not whole {type_name} blocks."
            )
        n_elements = 1
        for dim in shape:
            n_elements *= dim
        tensors.append(TensorInfo(name, shape, type_name, offset, n_elements // block * type_size))

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise CorruptModelError(f"The header's alignment {alignment!r} is not a power of two.")
    data_offset = -(-cursor.pos // alignment) * alignment
    return GGUFHeader(
        version=version,
        metadata=metadata,
        tensors=tensors,
        alignment=alignment,
        data_offset=data_offset,
        file_size=source.size,
    )


def read_header(path: str | os.PathLike[str]) -> GGUFHeader:
    """Read and check a local model file's header.

    Raises a typed error for a missing path, a folder or anything else that is not a
    regular file, a file Hearth may not read (or whose name the system refuses), a
    file that is not GGUF, a header that is cut short or corrupt, and tensor data that
    is cut short.
    """
    file = Path(path)
    with FileSource.open(file) as source:
        try:
            header = parse_header(source, max_fetch=LOCAL_MAX_FETCH)
        except OSError as error:  # the disk failed while reading (EIO...)
            raise _unreadable(file, error) from None
    expected = header.expected_file_size
    if header.file_size is not None and header.file_size < expected:
        raise TruncatedModelError(
            f"{shown_path(file.name)} is cut short: it has {header.file_size:,} bytes but "
            f"its tensors need {expected:,} ({expected - header.file_size:,} missing).",
            path=file,
        )
    return header
