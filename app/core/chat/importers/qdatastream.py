"""Read Qt's QDataStream encoding in plain Python (no Qt): what GPT4All's files are made of.

Big-endian throughout. A ``QString`` is a ``quint32`` byte count (``0xFFFFFFFF`` for a
null string) then UTF-16BE; a ``QByteArray`` the same with raw bytes; ``bool`` one
byte; ``qsizetype`` 64 bits; a ``QList`` a ``quint32`` count (``0xFFFFFFFE`` then a
``qint64`` for huge lists, Qt 6.7) then its items; a ``QVariant`` a ``quint32`` type
id, a ``qint8`` null flag, then the value.

Every read checks that the bytes are there, so a cut-short file raises
:class:`StreamEnded` at the point it ends, and no length field can make the reader
allocate more than the file holds.
"""

from __future__ import annotations

import struct
from typing import IO, Any

NULL_LENGTH = 0xFFFFFFFF
EXTENDED_LENGTH = 0xFFFFFFFE


class StreamEnded(ValueError):
    """The data ends before the value being read."""


class StreamDamaged(ValueError):
    """The data holds a value that cannot be what the format says."""


class DataStream:
    """Reads QDataStream values from a binary file, in order."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self._file = file
        self._size = size

    @property
    def position(self) -> int:
        return self._file.tell()

    def at_end(self) -> bool:
        return self._file.tell() >= self._size

    def raw(self, count: int) -> bytes:
        if count < 0 or count > self._size - self._file.tell():
            raise StreamEnded(f"{count} bytes needed at byte {self.position}")
        return self._file.read(count)

    def skip(self, count: int) -> None:
        if count < 0 or count > self._size - self._file.tell():
            raise StreamEnded(f"{count} bytes to skip at byte {self.position}")
        self._file.seek(count, 1)

    def _unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.raw(struct.calcsize(fmt)))[0]

    def bool(self) -> bool:
        return bool(self._unpack(">B"))

    def i8(self) -> int:
        return int(self._unpack(">b"))

    def i32(self) -> int:
        return int(self._unpack(">i"))

    def u32(self) -> int:
        return int(self._unpack(">I"))

    def i64(self) -> int:
        return int(self._unpack(">q"))

    def u64(self) -> int:
        return int(self._unpack(">Q"))

    def f64(self) -> float:
        return float(self._unpack(">d"))

    def string(self) -> str:
        """A QString (a null one reads as '')."""
        length = self.u32()
        if length == NULL_LENGTH:
            return ""
        if length % 2:
            raise StreamDamaged(f"a text of an odd byte count ({length}) at byte {self.position}")
        try:
            return self.raw(length).decode("utf-16-be")
        except UnicodeDecodeError as error:
            raise StreamDamaged(f"a text that is not UTF-16 ({error})") from None

    def byte_array(self) -> bytes:
        length = self.u32()
        return b"" if length == NULL_LENGTH else self.raw(length)

    def skip_byte_array(self) -> None:
        length = self.u32()
        if length != NULL_LENGTH:
            self.skip(length)

    def list_length(self) -> int:
        length = self.u32()
        return self.i64() if length == EXTENDED_LENGTH else length

    def string_list(self) -> list[str]:
        return [self.string() for _ in range(self._count(self.list_length(), 4))]

    def _count(self, count: int, smallest_item: int) -> int:
        """A count of items, checked against what is left (each at least ``smallest_item``)."""
        if count < 0 or count * smallest_item > self._size - self._file.tell():
            raise StreamEnded(f"{count} items announced at byte {self.position}")
        return count

    def count(self, smallest_item: int) -> int:
        """A ``qsizetype`` item count, checked as :meth:`_count` does."""
        return self._count(self.i64(), smallest_item)

    def variant(self) -> Any:
        """A QVariant of the plain types GPT4All's tool calls hold."""
        type_id = self.u32()
        self.i8()  # null flag
        readers = {
            0: lambda: None,
            1: self.bool,
            2: self.i32,
            3: self.u32,
            4: self.i64,
            5: self.u64,
            6: self.f64,
            10: self.string,
            11: self.string_list,
            12: self.byte_array,
            51: lambda: None,  # std::nullptr_t
        }
        if type_id == 8:  # QVariantMap
            return {self.string(): self.variant() for _ in range(self._count(self.u32(), 9))}
        if type_id == 9:  # QVariantList
            return [self.variant() for _ in range(self._count(self.u32(), 5))]
        if type_id not in readers:
            raise StreamDamaged(f"a value of Qt type {type_id}, which Hearth cannot read")
        return readers[type_id]()
