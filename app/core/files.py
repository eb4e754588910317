"""Files written whole or not at all.

Every file Hearth writes for itself (settings, the window's state, calibration and
engine records, the catalog cache, the models index, download sidecars) goes through
:func:`write_bytes_atomic`: the bytes go to a temporary file with a unique name in the
same folder, are flushed to the disk, and the file is then renamed over the old one
(``os.replace``, atomic on POSIX and Windows). A crash or a power cut at any moment
leaves either the old file or the new one, never half of one; two writers never share
a temporary file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, creating its folder if needed.

    A temporary file left by a crash is named ``.NAME.*.tmp`` beside ``path``.
    """
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(
    path: str | os.PathLike[str], data: Any, *, indent: int | None = 2, sort_keys: bool = False
) -> None:
    """:func:`write_bytes_atomic` for ``data`` as JSON (one trailing newline)."""
    write_text_atomic(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the platform can open a folder (not Windows)."""
    if os.name == "nt":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on a folder
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = ["TEMP_SUFFIX", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]
