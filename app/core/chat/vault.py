"""Backups of the history file: consistent copies made with SQLite's online backup API.

A backup is never a file copy of the live database (in WAL mode the newest writes sit in
``history.sqlite3-wal``, and a copy taken mid-write is torn): :func:`backup_database`
reads one consistent snapshot through ``sqlite3.Connection.backup`` while the app keeps
writing, into ``NAME.incomplete``, checks the copy (``PRAGMA quick_check``), and only
then renames it into place. The copy is a self-contained single file (journal mode
DELETE), so it opens anywhere without its ``-wal`` companion.

Backups live in a ``backups`` folder next to the history file, named
``history-YYYYMMDDTHHMMSSZ-vSCHEMA-KIND.sqlite3``. Kinds and how many are kept
(:data:`KEEP`): ``daily`` (made once a day while the app runs; 7 kept), ``manual``
(Back up now / ``hearth history backup``; 5 kept) and ``pre-migration`` (before a
schema upgrade; 3 kept). Older ones of a kind are deleted when a new one is written;
nothing else in the folder is touched.

This module knows files and SQLite only; restoring a backup into the history is
:meth:`app.core.chat.history.HistoryStore.restore_backup`.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from app.core.errors import DamagedFileError, DiskFullError, HearthError, NotFoundError

log = logging.getLogger(__name__)

BackupKind = Literal["daily", "manual", "pre-migration"]
KEEP: Final[dict[str, int]] = {"daily": 7, "manual": 5, "pre-migration": 3}
"""How many backups of each kind are kept; the oldest beyond this are deleted."""

BACKUPS_FOLDER: Final = "backups"
_NAME = re.compile(
    r"^history-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?-v(?P<schema>\d+)"
    r"-(?P<kind>daily|manual|pre-migration)\.sqlite3$"
)
_STAMP = "%Y%m%dT%H%M%SZ"
_INCOMPLETE = ".incomplete"
_SQLITE_IOERR_WRITE: Final = sqlite3.SQLITE_IOERR | (3 << 8)


# -- errors -------------------------------------------------------------------------------


class BackupError(HearthError):
    """A backup could not be written or read."""

    hint = "Your history itself was not changed. See Hearth's log for details."


class BackupSpaceError(BackupError, DiskFullError):
    """The disk filled up (or a file-size limit was hit) while writing a backup."""

    hint = "Free some space on the disk, then back up again. Your history was not changed."


class BackupNotFoundError(BackupError, NotFoundError):
    hint = "List the backups with `hearth history backups` (or Settings → Backups)."


class BackupDamagedError(BackupError, DamagedFileError):
    """The backup file is damaged, or is not a Hearth history this version can read."""

    hint = "Choose another backup; your current history was not changed."


# -- what a backup is ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """One backup file. ``created`` is Unix seconds; ``schema_version`` is the file's."""

    path: Path
    kind: BackupKind
    created: float
    schema_version: int
    size: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class BackupCheck:
    """What a full check of a backup found: it is sound, and holds this much."""

    schema_version: int
    conversations: int
    messages: int


def backups_folder(history_path: str | os.PathLike[str]) -> Path:
    """The folder that holds the backups of the history at ``history_path``."""
    return Path(history_path).parent / BACKUPS_FOLDER


def list_backups(history_path: str | os.PathLike[str]) -> list[BackupInfo]:
    """The backups of this history, newest first (unfinished copies are not listed)."""
    folder = backups_folder(history_path)
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BackupError(f"Hearth cannot read its backups folder {folder}: {error}.") from None
    found = []
    for entry in entries:
        info = _parse(entry)
        if info is not None:
            found.append(info)
    found.sort(key=_order, reverse=True)
    return found


def find_backup(history_path: str | os.PathLike[str], name: str) -> BackupInfo:
    """The backup called ``name`` (a file name from :func:`list_backups`, or a path)."""
    candidate = Path(name)
    if candidate.parent == Path("."):
        candidate = backups_folder(history_path) / name
    info = _parse(candidate)
    if info is not None:
        return info
    if candidate.is_file():  # a copy the user moved or renamed: still restorable
        stat = candidate.stat()
        return BackupInfo(candidate, "manual", stat.st_mtime, 0, stat.st_size)
    raise BackupNotFoundError(f"There is no backup {name}.", path=candidate)


def latest_good_backup(
    history_path: str | os.PathLike[str], *, newest_schema: int
) -> tuple[BackupInfo, BackupCheck] | None:
    """The newest backup that passes :func:`check_backup`, with what it holds, or None."""
    for info in list_backups(history_path):
        try:
            return info, check_backup(info.path, newest_schema=newest_schema)
        except BackupError as error:
            log.warning("Skipping backup %s: %s", info.path, error)
    return None


# -- making one ---------------------------------------------------------------------------


def backup_database(
    source: sqlite3.Connection,
    history_path: str | os.PathLike[str],
    *,
    kind: BackupKind,
    schema_version: int,
    clock: Callable[[], float],
) -> BackupInfo:
    """Copy the database open on ``source`` into a new backup of ``kind``; prune that kind.

    ``source`` must have no transaction open. The copy is one consistent snapshot:
    writers in other connections carry on meanwhile and are not part of it.

    Raises BackupSpaceError when the disk (or a size limit) runs out, BackupError for
    any other failure; either way no partial backup is left behind.
    """
    folder = backups_folder(history_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _os_error(error, f"create the backups folder {folder}") from None
    _remove_incomplete(folder)
    now = clock()
    final = _free_name(folder, now, schema_version, kind)
    partial = final.with_name(final.name + _INCOMPLETE)
    try:
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(target)
            # A single self-contained file: no -wal companion needed to open it.
            target.execute("PRAGMA journal_mode=DELETE")
            _require_quick_check(target, partial)
        finally:
            target.close()
        os.replace(partial, final)
    except BaseException as error:
        _discard(partial)
        if isinstance(error, sqlite3.Error):
            raise _sqlite_error(error, folder) from None
        if isinstance(error, OSError):
            raise _os_error(error, f"write the backup {final}") from None
        raise
    info = BackupInfo(final, kind, _parse_stamp(final), schema_version, final.stat().st_size)
    log.info("History backed up to %s (%d bytes)", final, info.size)
    prune_backups(history_path, kind=kind)
    return info


def prune_backups(history_path: str | os.PathLike[str], *, kind: BackupKind) -> list[Path]:
    """Delete the oldest backups of ``kind`` beyond :data:`KEEP`; returns what was deleted."""
    same = [b for b in list_backups(history_path) if b.kind == kind]
    removed = []
    for old in same[KEEP[kind] :]:
        try:
            old.path.unlink()
            removed.append(old.path)
        except OSError as error:
            log.warning("Could not delete the old backup %s: %s", old.path, error)
    return removed


def daily_backup_due(history_path: str | os.PathLike[str], *, now: float) -> bool:
    """True when no daily backup was made today (local time) yet."""
    dailies = [b for b in list_backups(history_path) if b.kind == "daily"]
    if not dailies:
        return True
    newest = dailies[0].created
    if newest > now + 3600:  # the clock went back: do not wait for the future
        return True
    return datetime.fromtimestamp(newest).date() < datetime.fromtimestamp(now).date()


# -- checking one -------------------------------------------------------------------------


def check_backup(path: str | os.PathLike[str], *, newest_schema: int) -> BackupCheck:
    """Check a backup fully (``PRAGMA integrity_check``) and read its schema and counts.

    The file is opened read-only and never changed. Raises BackupNotFoundError, or
    BackupDamagedError saying what is wrong (not SQLite, damaged pages, not a Hearth
    history, written by a newer Hearth).
    """
    file = Path(path)
    if not file.is_file():
        raise BackupNotFoundError(f"There is no backup file {file}.", path=file)
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupDamagedError(f"The backup {file.name} cannot be opened: {error}.") from None
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if [tuple(r) for r in rows] != [("ok",)]:
            problems = "; ".join(str(r[0]) for r in rows[:3])
            raise BackupDamagedError(f"The backup {file.name} is damaged: {problems}.", path=file)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if version < 1 or not {"conversations", "messages"} <= tables:
            raise BackupDamagedError(
                f"The backup {file.name} is a SQLite file but not a Hearth history.", path=file
            )
        if version > newest_schema:
            raise BackupDamagedError(
                f"The backup {file.name} was written by a newer Hearth (schema {version}; "
                f"this version reads up to {newest_schema}).",
                path=file,
                hint="Update Hearth to restore it; your current history was not changed.",
            )
        conversations = int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])
        messages = int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise BackupDamagedError(
            f"The backup {file.name} is damaged or is not a Hearth history ({error}).", path=file
        ) from None
    finally:
        conn.close()
    return BackupCheck(version, conversations, messages)


# -- helpers ------------------------------------------------------------------------------


def _parse(path: Path) -> BackupInfo | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    kind: BackupKind = match["kind"]  # type: ignore[assignment]  # the pattern allows only these
    return BackupInfo(path, kind, _parse_stamp(path), int(match["schema"]), size)


def _order(info: BackupInfo) -> tuple[float, int]:
    """Oldest first: by time, then by the -N that tells apart copies made in one second."""
    match = _NAME.match(info.name)
    return info.created, int(match["n"] or 1) if match else 1


def _parse_stamp(path: Path) -> float:
    match = _NAME.match(path.name)
    assert match is not None
    return datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC).timestamp()


def _free_name(folder: Path, now: float, schema_version: int, kind: str) -> Path:
    """A new name; copies within one second get -2, -3... after the highest one used."""
    stamp = datetime.fromtimestamp(now, tz=UTC).strftime(_STAMP)
    used = [
        int(match["n"] or 1)
        for entry in folder.glob(f"history-{stamp}*")
        if (match := _NAME.match(entry.name.removesuffix(_INCOMPLETE))) is not None
    ]
    n = max(used, default=0) + 1
    suffix = f"-{n}" if n > 1 else ""
    return folder / f"history-{stamp}{suffix}-v{schema_version}-{kind}.sqlite3"


def _require_quick_check(conn: sqlite3.Connection, path: Path) -> None:
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if [tuple(r) for r in rows] != [("ok",)]:
        raise BackupError(f"The new backup {path.name} did not pass SQLite's check.")


def _remove_incomplete(folder: Path) -> None:
    """Unfinished copies from a backup that was cut short (a crash, a full disk)."""
    for leftover in folder.glob("history-*" + _INCOMPLETE + "*"):
        _discard(leftover)


def _discard(path: Path) -> None:
    for file in (path, path.with_name(path.name + "-journal")):
        try:
            file.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Could not delete the unfinished backup %s: %s", file, error)


def _sqlite_error(error: sqlite3.Error, folder: Path) -> BackupError:
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return BackupSpaceError(
            f"There is not enough space in {folder} to back up the history ({error}).",
            path=folder,
        )
    if code == _SQLITE_IOERR_WRITE:  # SQLite keeps no errno; a failed write is mostly space
        return BackupSpaceError(
            f"Writing the backup in {folder} failed ({error}): the disk is probably full.",
            path=folder,
        )
    return BackupError(f"The history could not be backed up: {error}.", path=folder)


def _os_error(error: OSError, doing: str) -> BackupError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return BackupSpaceError(f"Hearth could not {doing}: {error.strerror}.")
    return BackupError(f"Hearth could not {doing}: {error.strerror or error}.")
