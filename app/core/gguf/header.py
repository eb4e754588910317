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

import os
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gguf as _gguf

from app.core.errors import (
    CorruptModelError,
    ModelNotFoundError,
    NotAModelFileError,
    TruncatedModelError,
)

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Hard limits for untrusted headers. Real models stay far below each of them.
MAX_KV_PAIRS = 100_000
MAX_TENSORS = 1_000_000
MAX_STRING_BYTES = 64 * 1024 * 1024
MAX_ARRAY_ITEMS = 64 * 1024 * 1024
MAX_DIMS = 4
MAX_DIM = 1 << 40
MAX_ARRAY_DEPTH = 2
# Numeric arrays up to this length are kept (per-layer head counts, window patterns);
# longer ones (token scores, token types) are summarised as GGUFArray.
KEEP_ARRAY_ITEMS = 4096


class ByteSource(Protocol):
    """Random-access bytes. ``size`` is the total length when known."""

    @property
    def size(self) -> int | None: ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only at the end of the data."""
        ...


class FileSource:
    """A local file as a :class:`ByteSource`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._size = self._path.stat().st_size

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        with self._path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)


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
        if len(parts) > 2 and parts[0] == "blk" and parts[1].isdigit():
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

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return str(value) if value is not None else None

    def arch_value(self, key: str, default: Any = None) -> Any:
        """``{architecture}.{key}`` from the metadata."""
        return self.metadata.get(f"{self.architecture}.{key}", default)

    @property
    def context_length(self) -> int | None:
        value = self.arch_value("context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def block_count(self) -> int | None:
        value = self.arch_value("block_count")
        return int(value) if isinstance(value, int) else None

    @property
    def embedding_length(self) -> int | None:
        value = self.arch_value("embedding_length")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, GGUFArray):
            return tokens.count
        if isinstance(tokens, list):
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
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)

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
    """Sequential reads over a ByteSource, fetching in growing slices."""

    def __init__(self, source: ByteSource, *, first_fetch: int) -> None:
        self.source = source
        self.size = source.size
        self.buffer = bytearray()
        self.pos = 0
        self._fetch = first_fetch

    def remaining(self) -> int | None:
        return None if self.size is None else self.size - self.pos

    def ensure(self, n: int) -> None:
        """Make ``n`` bytes from ``pos`` available in the buffer, or raise Truncated."""
        need = self.pos + n
        while len(self.buffer) < need:
            if self.size is not None and need > self.size:
                raise TruncatedModelError(
                    f"The file ends inside its header (at byte {self.size:,}; "
                    f"the header needs at least {need:,})."
                )
            want = max(need - len(self.buffer), self._fetch)
            chunk = self.source.read(len(self.buffer), want)
            if not chunk:
                raise TruncatedModelError(
                    f"The file ends inside its header (after {len(self.buffer):,} bytes)."
                )
            self.buffer += chunk
            self._fetch = min(self._fetch * 2, 64 * 1024 * 1024)

    def unpack(self, fmt: str, size: int) -> Any:
        self.ensure(size)
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def u32(self) -> int:
        return int(self.unpack("<I", 4))

    def u64(self) -> int:
        return int(self.unpack("<Q", 8))

    def string(self, what: str) -> str:
        length = self.u64()
        self._check_length(length, 1, MAX_STRING_BYTES, what)
        self.ensure(length)
        raw = bytes(self.buffer[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Walk ``count`` strings without decoding them (tokenizer vocabularies)."""
        unpack_from = struct.unpack_from
        for _ in range(count):
            self.ensure(8)
            (length,) = unpack_from("<Q", self.buffer, self.pos)
            self._check_length(length, 1, MAX_STRING_BYTES, "a string in an array")
            self.pos += 8
            self.ensure(length)
            self.pos += length

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
            cursor.ensure(count * item_size)
            if count <= KEEP_ARRAY_ITEMS:
                values = list(struct.unpack_from(f"<{count}{fmt[1]}", cursor.buffer, cursor.pos))
                cursor.pos += count * item_size
                return values
            cursor.pos += count * item_size
            return GGUFArray(type_name, count)
        if item_type == _STRING:
            cursor._check_length(count, 8, MAX_ARRAY_ITEMS, f"array {key!r}")
            if count <= 64:
                return [cursor.string(f"an item of {key!r}") for _ in range(count)]
            cursor.skip_strings(count)
            return GGUFArray("string", count)
        if item_type == _ARRAY:
            cursor._check_length(count, 12, MAX_ARRAY_ITEMS, f"array {key!r}")
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


def parse_header(source: ByteSource, *, first_fetch: int = 1 << 20) -> GGUFHeader:
    """Parse the header from ``source``. Raises NotAModelFile, Truncated or Corrupt errors."""
    cursor = _Cursor(source, first_fetch=first_fetch)
    try:
        cursor.ensure(4)
    except TruncatedModelError:
        raise NotAModelFileError("The file is empty or too short to be a GGUF model.") from None
    if bytes(cursor.buffer[:4]) != GGUF_MAGIC:
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
        key = cursor.string("a metadata key")
        value_type = cursor.u32()
        metadata[key] = _read_value(cursor, value_type, key)

    tensors: list[TensorInfo] = []
    for _ in range(n_tensors):
        name = cursor.string("a tensor name")
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

    Raises a typed error for a missing path, a directory, a file that is not GGUF,
    a header that is cut short or corrupt, and tensor data that is cut short.
    """
    file = Path(path)
    if not file.exists():
        raise ModelNotFoundError(f"No model file at {file}.")
    if file.is_dir():
        raise NotAModelFileError(f"{file} is a folder, not a model file.")
    try:
        header = parse_header(FileSource(file))
    except PermissionError as error:
        raise ModelNotFoundError(f"Hearth may not read {file}: {error.strerror}.") from None
    expected = header.expected_file_size
    if header.file_size is not None and header.file_size < expected:
        raise TruncatedModelError(
            f"{file.name} is cut short: it has {header.file_size:,} bytes but its "
            f"tensors need {expected:,} ({expected - header.file_size:,} missing)."
        )
    return header


def iter_layers(header: GGUFHeader) -> Iterator[tuple[int, list[TensorInfo]]]:
    """The tensors of each ``blk.N`` block, in block order."""
    layers: dict[int, list[TensorInfo]] = {}
    for tensor in header.tensors:
        index = tensor.layer
        if index is not None:
            layers.setdefault(index, []).append(tensor)
    yield from sorted(layers.items())
