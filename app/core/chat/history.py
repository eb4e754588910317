"""Conversation history: conversations, messages, branches and drafts in one SQLite file.

The file lives at ``app_paths().conversations / "history.sqlite3"`` and is opened in
WAL mode. Its schema carries a version (``PRAGMA user_version``) and grows only
through :data:`MIGRATIONS`, applied in order, each in its own transaction, so a file
written by any earlier Hearth opens in this one without losing a row.

Messages form a tree: each has a ``parent_id`` (the message it follows; ``None`` for
the first turn). Editing a sent message or regenerating a reply adds a *sibling*
rather than overwriting, and the conversation remembers which leaf is active, so the
old branch stays listed and can be switched back to (:meth:`HistoryStore.siblings`,
:meth:`HistoryStore.switch_branch`).

A streaming reply is written as it arrives: :meth:`HistoryStore.begin_reply` stores
the row marked ``interrupted``, :class:`ReplyWriter` saves the text at most every
``flush_interval`` seconds, and only :meth:`ReplyWriter.finish` marks it complete. A
crash therefore leaves what was streamed, marked as interrupted.

Threads: one :class:`HistoryStore` may be shared by the GUI thread and workers. It
holds a single connection (opened with ``check_same_thread=False``) and serialises
every public call with one re-entrant lock; each call is one short transaction, so a
worker saving a reply blocks the GUI thread for well under a millisecond. Other
processes on the same file are kept out of the way by SQLite's own locking (with a
busy timeout).

Safety: the file is checked (``PRAGMA quick_check``) each time it opens; a damaged one
is moved aside, never overwritten, and the error names the newest good backup. Before a
schema migration, and once a day while the app runs (:meth:`HistoryStore.backup_if_due`),
a consistent copy is written to the ``backups`` folder next to the file
(:mod:`app.core.chat.vault`); :meth:`HistoryStore.restore_backup` brings one back after
checking it, keeping the current file aside.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from app.core.chat.sources import Source, sources_from_json, sources_json
from app.core.chat.vault import (
    BackupCheck,
    BackupDamagedError,
    BackupError,
    BackupInfo,
    BackupKind,
    backup_database,
    check_backup,
    daily_backup_due,
    latest_good_backup,
    list_backups,
)
from app.core.errors import DamagedFileError, HearthError, NotFoundError
from app.core.paths import app_paths
from app.core.units import count

log = logging.getLogger(__name__)

HISTORY_FILENAME: Final = "history.sqlite3"
EXPORT_FORMAT_VERSION: Final = 1

Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "interrupted", "error"]
ROLES: Final = ("system", "user", "assistant")
STATUSES: Final = ("complete", "interrupted", "error")
BACKENDS: Final = ("local", "claude", "remote")

DELETED_KEPT_FOR_S: Final = 30 * 24 * 3600
"""How long a deleted conversation stays in Recently deleted before it is purged."""
BUSY_TIMEOUT_S: Final = 5.0

_TITLE_FROM_MESSAGE_CHARS = 60
_SNIPPET_CHARS = 60


# -- errors -------------------------------------------------------------------------------


class HistoryError(HearthError):
    """The conversation history cannot be read or changed."""

    hint = "See Hearth's log for details."


class HistoryCorruptError(HistoryError, DamagedFileError):
    """The history file is not a readable SQLite database; it was moved aside.

    ``latest_backup`` is the newest backup that passed a full check (with what it
    holds), or None when there is none.
    """

    hint = "Hearth kept the damaged file and will start a new, empty history."

    def __init__(
        self,
        message: str,
        *,
        moved_to: Path,
        latest_backup: tuple[BackupInfo, BackupCheck] | None = None,
        hint: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, path=path)
        self.moved_to = moved_to
        self.latest_backup = latest_backup


class HistoryLockedError(HistoryError):
    """Another program holds the history's write lock (another Hearth, a database tool)."""

    hint = "Close the other program that has the history open, then try again."


class HistoryVersionError(HistoryError):
    """The history file was written by a newer Hearth."""

    hint = "Update Hearth to open it; the file was left untouched."


class ConversationNotFoundError(HistoryError, NotFoundError):
    hint = "The conversation may have been deleted; pick another one."


class MessageNotFoundError(HistoryError, NotFoundError):
    hint = "The message may have been deleted with its conversation."


# -- schema and migrations ----------------------------------------------------------------

MigrationStep = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: the steps that take a file from ``version - 1`` to ``version``.

    A step is one SQL statement or a function given the connection (for data
    changes). Steps run inside one transaction with ``user_version``'s bump, so a
    migration is applied fully or not at all.
    """

    version: int
    description: str
    steps: tuple[MigrationStep, ...]


_SCHEMA_1: tuple[MigrationStep, ...] = (
    """
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        title         TEXT    NOT NULL DEFAULT '',
        created       REAL    NOT NULL,
        updated       REAL    NOT NULL,
        system_prompt TEXT    NOT NULL DEFAULT '',
        options       TEXT    NOT NULL DEFAULT '{}',
        active_leaf   INTEGER,
        deleted       REAL
    )
    """,
    """
    CREATE TABLE messages (
        id                INTEGER PRIMARY KEY,
        conversation_id   INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id         INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        role              TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        text              TEXT    NOT NULL DEFAULT '',
        model             TEXT,
        quantization      TEXT,
        backend           TEXT,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        ttft              REAL,
        tokens_per_second REAL,
        stop_reason       TEXT,
        status            TEXT    NOT NULL DEFAULT 'complete'
                          CHECK (status IN ('complete', 'interrupted', 'error')),
        error             TEXT,
        created           REAL    NOT NULL
    )
    """,
    "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
    "CREATE INDEX messages_by_parent ON messages(parent_id)",
    # conversation_id 0 holds the draft of a conversation not created yet.
    """
    CREATE TABLE drafts (
        conversation_id INTEGER PRIMARY KEY,
        text            TEXT NOT NULL,
        updated         REAL NOT NULL
    )
    """,
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "first release: conversations, messages with branches, drafts", _SCHEMA_1),
    Migration(
        2,
        "a reply's sources from the user's documents (JSON)",
        ("ALTER TABLE messages ADD COLUMN sources TEXT",),
    ),
)
"""Every schema change since the first release, in order. Append; never edit."""

SCHEMA_VERSION: Final = MIGRATIONS[-1].version


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation as stored. Times are Unix seconds."""

    id: int
    title: str
    created: float
    updated: float
    system_prompt: str
    options: dict[str, Any]
    active_leaf: int | None
    deleted: float | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message. ``ttft`` is seconds to the first token; figures are None when unknown."""

    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    text: str
    model: str | None
    quantization: str | None
    backend: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft: float | None
    tokens_per_second: float | None
    stop_reason: str | None
    status: Status
    error: str | None
    created: float
    sources: tuple[Source, ...] = ()
    """The document excerpts retrieved for this reply (see :mod:`app.core.chat.sources`)."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A match in a title (``message_id`` is None) or in a message's text."""

    conversation_id: int
    title: str
    message_id: int | None
    snippet: str


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A restored backup: what it held, and where the history before it was kept."""

    backup: Path
    check: BackupCheck
    kept_at: Path


@dataclass(frozen=True, slots=True)
class ConversationCopy:
    """A whole conversation to write as it is: an archive's or another app's.

    Ids in ``conversation`` and ``messages`` are the source's own: they only tie a
    message to its parent and the conversation to its active leaf; the store gives
    new ones. Times, figures and statuses are kept exactly.
    """

    conversation: ConversationRecord
    messages: tuple[MessageRecord, ...]
    draft: str = ""


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What :meth:`HistoryStore.write_conversations` did."""

    added: tuple[int, ...]
    """The new conversations' ids, in the order given."""
    skipped: int
    """Conversations left out because the history already holds them."""
    messages: int
    """Messages written."""


@dataclass(frozen=True, slots=True)
class ImportedMessage:
    """One message read from another app, for :meth:`HistoryStore.import_conversations`.

    ``key`` names it within its conversation; ``parent_key`` is the key of the message
    it follows (``None`` for the first turn), listed earlier in the same conversation.
    """

    key: str
    parent_key: str | None
    role: Role
    text: str
    created: float
    model: str | None = None
    status: Status = "complete"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedConversation:
    """A conversation read from another app, with where it came from.

    ``source_key`` is stable for the same conversation in the same app (its id
    there), so importing a source again skips what is already in the history.
    ``active_key`` is the message the source showed last (its current branch);
    ``None`` means the last message listed.
    """

    source_key: str
    app: str
    source_file: str
    title: str
    created: float
    updated: float
    system_prompt: str = ""
    messages: Sequence[ImportedMessage] = field(default_factory=tuple)
    active_key: str | None = None


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What one import added, and how many conversations were there already."""

    conversations: int
    messages: int
    already_there: int


class _Tip(enum.Enum):
    TIP = "tip"


TIP: Final = _Tip.TIP
"""As ``parent``: after the last message of the conversation's active branch."""


# -- the store ----------------------------------------------------------------------------


def default_history_path() -> Path:
    """Where Hearth keeps its history file (honours ``HEARTH_HOME``)."""
    return app_paths().conversations / HISTORY_FILENAME


class HistoryStore:
    """Conversations, messages and drafts in one SQLite file. Safe to share between threads.

    Open with :meth:`open`; close with :meth:`close` or a ``with`` block.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        clock: Callable[[], float],
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ):
        self._conn = connection
        self._path = path
        self._clock = clock
        self._migrations = tuple(migrations)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._closed = False

    # -- opening ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ) -> HistoryStore:
        """Open (creating or migrating as needed) the history at ``path``.

        ``path`` defaults to :func:`default_history_path`. ``clock`` gives the time
        stamps (tests pass a fake one); ``migrations`` is for tests of migrations;
        ``busy_timeout`` is how long to wait for another program's write lock.
        A file at an older schema is backed up (kind ``pre-migration``) before it is
        migrated; if that backup fails, nothing is migrated.

        Raises HistoryCorruptError (after moving the bad file aside, never deleting
        it), HistoryVersionError for a file from a newer Hearth, HistoryError when the
        file cannot be opened at all (or not backed up before a migration).
        """
        file = Path(path) if path is not None else default_history_path()
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(f"Hearth cannot create the folder {file.parent}: {error}.") from None
        try:
            conn = sqlite3.connect(
                file, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as error:
            raise HistoryError(f"Hearth cannot open its history file {file}: {error}.") from None
        conn.row_factory = sqlite3.Row
        try:
            _check_and_configure(conn)
            _migrate(
                conn,
                migrations,
                backup=lambda version: _backup_before_migration(conn, file, version, clock),
            )
        except sqlite3.DatabaseError as error:
            conn.close()
            if _is_corruption(error):
                try:
                    moved = _move_aside(file)
                except OSError as move_error:
                    raise HistoryError(
                        f"The history file {file} is damaged ({error}), and Hearth could not "
                        f"move it aside: {move_error}.",
                        hint="Move the file away yourself; Hearth then starts a new history.",
                    ) from None
                latest = latest_good_backup(file, newest_schema=_latest(migrations))
                raise HistoryCorruptError(
                    f"The history file {file} is damaged or is not a Hearth history "
                    f"({error}). It was kept as {moved}.",
                    moved_to=moved,
                    latest_backup=latest,
                    hint=_damaged_hint(latest),
                    path=file,
                ) from None
            raise HistoryError(f"Hearth cannot read its history file {file}: {error}.") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, file, clock=clock, migrations=migrations, busy_timeout=busy_timeout)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the file; later calls raise HistoryError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- backups ----------------------------------------------------------------------

    def backups(self) -> list[BackupInfo]:
        """This history's backups, newest first."""
        return list_backups(self._path)

    def backup(self, *, kind: BackupKind = "manual") -> BackupInfo:
        """Write a consistent copy of the history now (see :mod:`app.core.chat.vault`).

        Uses a connection of its own, so other threads keep reading and writing
        meanwhile. Raises BackupSpaceError when the disk is full, BackupError else.
        """
        with self._read():
            pass  # refuse on a closed store
        try:
            source = sqlite3.connect(self._path, timeout=self._busy_timeout)
        except sqlite3.Error as error:
            raise BackupError(
                f"Hearth cannot read its history file to back it up: {error}."
            ) from None
        try:
            return backup_database(
                source,
                self._path,
                kind=kind,
                schema_version=self.schema_version,
                clock=self._clock,
            )
        finally:
            source.close()

    def backup_if_due(self) -> BackupInfo | None:
        """The daily backup, if none was made today and the history holds any chat."""
        if not daily_backup_due(self._path, now=self._clock()):
            return None
        with self._read() as conn:
            empty = conn.execute("SELECT 1 FROM conversations LIMIT 1").fetchone() is None
        if empty:  # an empty copy would only push good ones out of the seven kept
            return None
        return self.backup(kind="daily")

    def restore_backup(self, backup: str | os.PathLike[str]) -> RestoreResult:
        """Replace the history's contents with a backup, after checking the backup fully.

        The current contents are first copied (online, consistently) next to the history
        file as ``history.sqlite3.before-restore-STAMP``, which Hearth never deletes.
        Every thread using this store sees the restored history at once; an older
        schema is migrated. Raises BackupDamagedError (nothing changed) for a bad backup,
        HistoryLockedError when another program holds the write lock (nothing changed).
        """
        source_path = Path(backup)
        check = check_backup(source_path, newest_schema=_latest(self._migrations))
        with self._lock:
            if self._closed:
                raise HistoryError("The history is closed.")
            kept = self._keep_current_aside()
            try:
                source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
            except sqlite3.Error as error:
                raise BackupDamagedError(f"The backup cannot be opened: {error}.") from None
            deadline = time.monotonic() + self._busy_timeout

            def give_up_when_locked(status: int, remaining: int, total: int) -> None:
                busy = status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if busy and time.monotonic() > deadline:
                    raise _Locked

            try:
                source.backup(self._conn, progress=give_up_when_locked)
            except BaseException as error:
                kept.unlink(missing_ok=True)  # the history was not touched: no copy needed
                if isinstance(error, _Locked):
                    raise HistoryLockedError(
                        f"The history {self._path} is being written by another program, so "
                        "the backup was not restored. Nothing changed."
                    ) from None
                if not isinstance(error, sqlite3.Error):
                    raise
                if _is_busy(error):
                    raise HistoryLockedError(
                        f"The history {self._path} is locked by another program ({error}); "
                        "the backup was not restored. Nothing changed."
                    ) from None
                raise HistoryError(f"Restoring the backup failed: {error}.") from error
            finally:
                source.close()
            try:
                _check_and_configure(self._conn)
                _migrate(self._conn, self._migrations, backup=lambda version: None)
            except sqlite3.Error as error:
                raise HistoryError(
                    f"The backup was restored but could not be brought up to date: {error}. "
                    f"Your previous history is at {kept}."
                ) from error
        log.info("History restored from %s; the previous one kept at %s", source_path, kept)
        return RestoreResult(backup=source_path, check=check, kept_at=kept)

    def _keep_current_aside(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self._path.with_name(f"{self._path.name}.before-restore-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self._path.with_name(f"{self._path.name}.before-restore-{stamp}-{n}")
        try:
            copy = sqlite3.connect(target, isolation_level=None)
            try:
                self._conn.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        except sqlite3.Error as error:
            target.unlink(missing_ok=True)
            raise HistoryError(
                f"Hearth could not keep a copy of the current history at {target} ({error}), "
                "so it restored nothing.",
                hint="Free some space on the disk, then try again.",
            ) from None
        return target

    # -- conversations ----------------------------------------------------------------

    def create_conversation(
        self,
        *,
        title: str = "",
        system_prompt: str = "",
        options: Mapping[str, Any] | None = None,
    ) -> ConversationRecord:
        """A new, empty conversation. An empty title is filled from the first user message."""
        options_json = _options_json(options or {})
        now = self._clock()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, created, updated, system_prompt, options)"
                " VALUES (?, ?, ?, ?, ?)",
                (title, now, now, system_prompt, options_json),
            )
            new_id = int(cursor.lastrowid or 0)
        return self.conversation(new_id)

    def conversation(self, conversation_id: int) -> ConversationRecord:
        """The conversation with this id, deleted or not."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"There is no conversation {conversation_id}.")
        return _conversation(row)

    def list_conversations(self, *, deleted: bool = False) -> list[ConversationRecord]:
        """Conversations, the most recently active first; ``deleted=True`` lists the bin."""
        condition = "deleted IS NOT NULL" if deleted else "deleted IS NULL"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM conversations WHERE {condition} ORDER BY updated DESC, id DESC"
            ).fetchall()
        return [_conversation(row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        """Give the conversation a new title (any text; it is stored as typed)."""
        self._update_conversation(conversation_id, "title = ?", (title,))

    def set_system_prompt(self, conversation_id: int, system_prompt: str) -> None:
        """Set the instruction this conversation's replies follow."""
        self._update_conversation(conversation_id, "system_prompt = ?", (system_prompt,))

    def set_options(self, conversation_id: int, options: Mapping[str, Any]) -> None:
        """Replace the per-conversation options (JSON-serialisable).

        Known keys are checked: ``backend`` is ``"local"`` or ``"claude"``,
        ``preview_before_send`` is a bool. Other keys are stored as given.
        """
        self._update_conversation(conversation_id, "options = ?", (_options_json(options),))

    def delete(self, conversation_id: int) -> None:
        """Move the conversation to the bin; :meth:`restore` undoes it until a purge."""
        self._update_conversation(conversation_id, "deleted = ?", (self._clock(),))

    def restore(self, conversation_id: int) -> None:
        """Bring a deleted conversation back, with all its messages."""
        self._update_conversation(conversation_id, "deleted = NULL", ())

    def purge_deleted(self, *, older_than: float = 0.0) -> int:
        """Erase conversations deleted at least ``older_than`` seconds ago; returns how many."""
        cutoff = self._clock() - older_than
        with self._write() as conn:
            ids = [
                int(row[0])
                for row in conn.execute(
                    "SELECT id FROM conversations WHERE deleted IS NOT NULL AND deleted <= ?",
                    (cutoff,),
                )
            ]
            for conversation_id in ids:
                conn.execute("DELETE FROM drafts WHERE conversation_id = ?", (conversation_id,))
                conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
                conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return len(ids)

    # -- messages ---------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        *,
        role: Role,
        text: str,
        parent: int | _Tip | None = TIP,
        model: str | None = None,
        quantization: str | None = None,
        backend: str | None = None,
        status: Status = "complete",
        error: str | None = None,
    ) -> MessageRecord:
        """Add a message after ``parent`` and make it the tip of the active branch.

        ``parent`` defaults to the active branch's last message; another message id
        starts a new branch there (the old one is kept); ``None`` starts at the root.
        """
        _check_choice("role", role, ROLES)
        _check_choice("status", status, STATUSES)
        with self._write() as conn:
            message_id = self._insert_message(
                conn,
                conversation_id,
                parent=parent,
                role=role,
                text=text,
                model=model,
                quantization=quantization,
                backend=backend,
                status=status,
                error=error,
            )
        return self.message(message_id)

    def edit_message(self, message_id: int, *, text: str) -> MessageRecord:
        """A new version of a sent message: a sibling with ``text``, now the active branch.

        The edited message and every turn after it stay stored on their own branch.
        """
        old = self.message(message_id)
        return self.add_message(
            old.conversation_id,
            role=old.role,
            text=text,
            parent=old.parent_id,
            model=old.model,
            quantization=old.quantization,
            backend=old.backend,
        )

    def begin_reply(
        self,
        conversation_id: int,
        *,
        parent: int | _Tip | None = TIP,
        model: str | None = None,
        quantization: str | None = None,
        backend: str | None = None,
        flush_interval: float = 0.25,
    ) -> ReplyWriter:
        """Store an empty assistant reply, marked interrupted until it is finished.

        Regenerating a reply is ``begin_reply(..., parent=<the user message>)``: the
        old reply stays as a sibling. ``flush_interval`` bounds how much streamed text
        a crash can lose (0 writes every piece).
        """
        if backend is not None:
            _check_choice("backend", backend, BACKENDS)
        with self._write() as conn:
            message_id = self._insert_message(
                conn,
                conversation_id,
                parent=parent,
                role="assistant",
                text="",
                model=model,
                quantization=quantization,
                backend=backend,
                status="interrupted",
                error=None,
            )
        return ReplyWriter(self, message_id, flush_interval=flush_interval)

    def message(self, message_id: int) -> MessageRecord:
        """The message with this id."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise MessageNotFoundError(f"There is no message {message_id}.")
        return _message(row)

    def active_path(self, conversation_id: int) -> list[MessageRecord]:
        """The conversation as shown: the active branch, first message first."""
        conversation = self.conversation(conversation_id)
        if conversation.active_leaf is None:
            return []
        with self._read() as conn:
            rows = conn.execute(
                """
                WITH RECURSIVE path(id, depth) AS (
                    SELECT ?, 0
                    UNION ALL
                    SELECT m.parent_id, path.depth + 1
                    FROM messages m JOIN path ON m.id = path.id
                    WHERE m.parent_id IS NOT NULL
                )
                SELECT m.* FROM path JOIN messages m ON m.id = path.id
                ORDER BY path.depth DESC
                """,
                (conversation.active_leaf,),
            ).fetchall()
        return [_message(row) for row in rows]

    def all_messages(self, conversation_id: int) -> list[MessageRecord]:
        """Every message of every branch, oldest first."""
        self.conversation(conversation_id)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [_message(row) for row in rows]

    def siblings(self, message_id: int) -> list[MessageRecord]:
        """Every version of this turn (itself included), oldest first: the branches here."""
        message = self.message(message_id)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
                (message.conversation_id, message.parent_id),
            ).fetchall()
        return [_message(row) for row in rows]

    def switch_branch(self, message_id: int) -> list[MessageRecord]:
        """Make the branch through ``message_id`` active; returns the new active path.

        Below ``message_id`` the branch follows the newest reply at each turn.
        """
        message = self.message(message_id)
        with self._write() as conn:
            leaf = message_id
            while True:
                child = conn.execute(
                    "SELECT id FROM messages WHERE parent_id = ? ORDER BY id DESC LIMIT 1",
                    (leaf,),
                ).fetchone()
                if child is None:
                    break
                leaf = int(child[0])
            conn.execute(
                "UPDATE conversations SET active_leaf = ? WHERE id = ?",
                (leaf, message.conversation_id),
            )
        return self.active_path(message.conversation_id)

    def write_conversations(
        self, copies: Iterable[ConversationCopy], *, skip_duplicates: bool = True
    ) -> CopyResult:
        """Write whole conversations (every branch, times and figures) in one transaction.

        All or nothing: a copy that is not valid (an unknown role or status, a parent
        or active leaf that is not one of its messages, options that are not plain
        JSON) raises HistoryError, and nothing of any copy is written. With
        ``skip_duplicates``, a conversation the history already holds (same title,
        start time, system prompt, and the same messages with the same times) is
        skipped, so importing the same file twice adds nothing.
        """
        added: list[int] = []
        skipped = 0
        written = 0
        with self._write() as conn:
            for number, copy in enumerate(copies, start=1):
                try:
                    if skip_duplicates and self._holds(conn, copy):
                        skipped += 1
                        continue
                    added.append(self._insert_copy(conn, copy))
                except HistoryError as error:
                    title = copy.conversation.title or "untitled"
                    raise HistoryError(
                        f"Conversation {number} ({title!r}) cannot be written: {error}"
                    ) from None
                written += len(copy.messages)
        return CopyResult(tuple(added), skipped, written)

    def _holds(self, conn: sqlite3.Connection, copy: ConversationCopy) -> bool:
        c = copy.conversation
        candidates = conn.execute(
            "SELECT id FROM conversations WHERE created = ? AND title = ? AND system_prompt = ?",
            (c.created, c.title, c.system_prompt),
        ).fetchall()
        if not candidates:
            return False
        wanted = _fingerprint((m.role, m.text, m.created) for m in copy.messages)
        for (candidate,) in candidates:
            rows = conn.execute(
                "SELECT role, text, created FROM messages WHERE conversation_id = ?",
                (candidate,),
            ).fetchall()
            if _fingerprint((r[0], r[1], r[2]) for r in rows) == wanted:
                return True
        return False

    def _insert_copy(self, conn: sqlite3.Connection, copy: ConversationCopy) -> int:
        c = copy.conversation
        cursor = conn.execute(
            "INSERT INTO conversations (title, created, updated, system_prompt, options, deleted)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (c.title, c.created, c.updated, c.system_prompt, _options_json(c.options), c.deleted),
        )
        conversation_id = int(cursor.lastrowid or 0)
        # Ids given here (the transaction holds the write lock) let one executemany write
        # every message: several times faster than a statement each.
        next_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0])
        new_ids: dict[int, int] = {}
        rows = []
        for m in _parents_first(copy.messages):
            _check_choice("role", m.role, ROLES)
            _check_choice("status", m.status, STATUSES)
            parent = new_ids[m.parent_id] if m.parent_id is not None else None
            next_id += 1
            new_ids[m.id] = next_id
            rows.append(
                (
                    next_id,
                    conversation_id,
                    parent,
                    m.role,
                    m.text,
                    m.model,
                    m.quantization,
                    m.backend,
                    m.prompt_tokens,
                    m.completion_tokens,
                    m.ttft,
                    m.tokens_per_second,
                    m.stop_reason,
                    m.status,
                    m.error,
                    m.created,
                    sources_json(m.sources) if m.sources else None,
                )
            )
        conn.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, text, model,"
            " quantization, backend, prompt_tokens, completion_tokens, ttft,"
            " tokens_per_second, stop_reason, status, error, created, sources)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if c.active_leaf is not None and c.active_leaf not in new_ids:
            raise HistoryError(f"its active message {c.active_leaf} is not one of its messages.")
        leaf = new_ids[c.active_leaf] if c.active_leaf is not None else None
        conn.execute(
            "UPDATE conversations SET active_leaf = ? WHERE id = ?", (leaf, conversation_id)
        )
        if copy.draft:
            conn.execute(
                "INSERT INTO drafts (conversation_id, text, updated) VALUES (?, ?, ?)",
                (conversation_id, copy.draft, c.updated),
            )
        return conversation_id

    # -- imports ----------------------------------------------------------------------

    def import_conversations(self, conversations: Iterable[ImportedConversation]) -> ImportCounts:
        """Add conversations read from another app, all of them in one transaction.

        A conversation whose ``source_key`` the history already holds (in the bin
        too) is skipped, so importing a source twice adds nothing the second time.
        If reading ``conversations`` raises, the error propagates and nothing is
        added. Each conversation's ``options`` get ``imported``: the app, the source
        file's name and the key (see :meth:`imported_from`).
        """
        added = messages = already_there = 0
        with self._write() as conn:
            known = {
                str(row[0])
                for row in conn.execute(
                    "SELECT json_extract(options, '$.imported.key') FROM conversations"
                    " WHERE json_valid(options)"
                    " AND json_extract(options, '$.imported.key') IS NOT NULL"
                )
            }
            for conversation in conversations:
                if conversation.source_key in known:
                    already_there += 1
                    continue
                known.add(conversation.source_key)
                self._insert_copy(conn, _copy_of(conversation))
                added += 1
                messages += len(conversation.messages)
        return ImportCounts(added, messages, already_there)

    def imported_from(self, conversation_id: int) -> dict[str, str] | None:
        """Where an imported conversation came from: ``app``, ``file`` and ``key``; else None."""
        marker = self.conversation(conversation_id).options.get("imported")
        return {str(k): str(v) for k, v in marker.items()} if isinstance(marker, dict) else None

    # -- drafts -----------------------------------------------------------------------

    def save_draft(self, conversation_id: int | None, text: str) -> None:
        """Remember the text being typed (``None``: a conversation not created yet).

        Empty text clears the draft.
        """
        key = conversation_id or 0
        with self._write() as conn:
            if text:
                conn.execute(
                    "INSERT INTO drafts (conversation_id, text, updated) VALUES (?, ?, ?)"
                    " ON CONFLICT (conversation_id) DO UPDATE"
                    " SET text = excluded.text, updated = excluded.updated",
                    (key, text, self._clock()),
                )
            else:
                conn.execute("DELETE FROM drafts WHERE conversation_id = ?", (key,))

    def draft(self, conversation_id: int | None) -> str:
        """The saved draft, or ``""``."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT text FROM drafts WHERE conversation_id = ?", (conversation_id or 0,)
            ).fetchone()
        return str(row[0]) if row is not None else ""

    def clear_draft(self, conversation_id: int | None) -> None:
        """Forget the draft (after it was sent successfully)."""
        self.save_draft(conversation_id, "")

    # -- search and export ------------------------------------------------------------

    def search(self, query: str, *, limit: int = 50) -> list[SearchHit]:
        """Conversations whose title or messages contain ``query`` (not deleted ones).

        The text is matched literally (``%``, ``_`` and quotes are not special);
        ASCII letters match either case. Title matches come first, then messages,
        newest first.
        """
        needle = query.replace("\x00", "").strip()
        if not needle:
            return []
        pattern = "%" + _escape_like(needle) + "%"
        with self._read() as conn:
            titles = conn.execute(
                "SELECT id, title FROM conversations"
                " WHERE deleted IS NULL AND title LIKE ? ESCAPE '\\'"
                " ORDER BY updated DESC LIMIT ?",
                (pattern, limit),
            ).fetchall()
            messages = conn.execute(
                "SELECT m.id, m.conversation_id, m.text, c.title FROM messages m"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE c.deleted IS NULL AND m.text LIKE ? ESCAPE '\\'"
                " ORDER BY m.created DESC, m.id DESC LIMIT ?",
                (pattern, limit),
            ).fetchall()
        hits = [SearchHit(int(r["id"]), str(r["title"]), None, str(r["title"])) for r in titles]
        hits += [
            SearchHit(
                int(r["conversation_id"]),
                str(r["title"]),
                int(r["id"]),
                _snippet(str(r["text"]), needle),
            )
            for r in messages
        ]
        return hits[:limit]

    def export_json(self, conversation_id: int, *, all_branches: bool = False) -> str:
        """The conversation as JSON text (fields in docs/history.md).

        ``messages`` is the active branch, or every message when ``all_branches``;
        each carries ``parent_id`` so branches can be rebuilt.
        """
        return json.dumps(
            self.export_dict(conversation_id, all_branches=all_branches),
            ensure_ascii=False,
            indent=2,
        )

    def export_dict(self, conversation_id: int, *, all_branches: bool = False) -> dict[str, Any]:
        """The data :meth:`export_json` writes, as a dict."""
        conversation = self.conversation(conversation_id)
        messages = (
            self.all_messages(conversation_id)
            if all_branches
            else self.active_path(conversation_id)
        )
        return {
            "format": "hearth-conversation",
            "format_version": EXPORT_FORMAT_VERSION,
            "id": conversation.id,
            "title": conversation.title,
            "created": _iso(conversation.created),
            "updated": _iso(conversation.updated),
            "system_prompt": conversation.system_prompt,
            "options": conversation.options,
            "all_branches": all_branches,
            "messages": [
                {
                    "id": m.id,
                    "parent_id": m.parent_id,
                    "role": m.role,
                    "text": m.text,
                    "created": _iso(m.created),
                    "status": m.status,
                    "error": m.error,
                    "model": m.model,
                    "quantization": m.quantization,
                    "backend": m.backend,
                    "prompt_tokens": m.prompt_tokens,
                    "completion_tokens": m.completion_tokens,
                    "ttft_seconds": m.ttft,
                    "tokens_per_second": m.tokens_per_second,
                    "stop_reason": m.stop_reason,
                }
                for m in messages
            ],
        }

    def export_markdown(self, conversation_id: int) -> str:
        """The active branch as a Markdown document a person can read or share."""
        conversation = self.conversation(conversation_id)
        lines = [f"# {_one_line(conversation.title) or 'Untitled conversation'}", ""]
        lines.append(f"_Exported from Hearth. Started {_iso(conversation.created)}._")
        lines.append("")
        if conversation.system_prompt:
            lines += ["> **System prompt:** " + _quote(conversation.system_prompt), ""]
        for m in self.active_path(conversation_id):
            heading = {"user": "You", "assistant": "Assistant", "system": "System"}[m.role]
            details = [d for d in (m.model, m.quantization, m.backend) if d]
            if details:
                heading += f" ({', '.join(details)})"
            lines += [f"## {heading}", "", m.text, ""]
            if m.status == "interrupted":
                lines += ["_This reply was interrupted; the text above is what was received._", ""]
            elif m.status == "error":
                lines += [f"_This reply failed: {_one_line(m.error or 'unknown error')}_", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    # -- internals --------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise HistoryError("The history is closed.")
            try:
                yield self._conn
            except sqlite3.Error as error:
                raise HistoryError(f"Reading the history failed: {error}.") from error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back if anything inside fails."""
        with self._lock:
            if self._closed:
                raise HistoryError("The history is closed.")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                if _is_busy(error):
                    raise HistoryLockedError(
                        f"The history {self._path} is locked by another program ({error}); "
                        "nothing was changed."
                    ) from error
                raise HistoryError(f"The history cannot be written: {error}.") from error
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise HistoryError(f"Saving to the history failed: {error}.") from error
                raise

    def _update_conversation(
        self, conversation_id: int, assignment: str, params: tuple[Any, ...]
    ) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (*params, conversation_id)
            )
            if cursor.rowcount == 0:
                raise ConversationNotFoundError(f"There is no conversation {conversation_id}.")

    def _insert_message(
        self,
        conn: sqlite3.Connection,
        conversation_id: int,
        *,
        parent: int | _Tip | None,
        role: str,
        text: str,
        model: str | None,
        quantization: str | None,
        backend: str | None,
        status: str,
        error: str | None,
    ) -> int:
        row = conn.execute(
            "SELECT active_leaf, title FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"There is no conversation {conversation_id}.")
        parent_id = row["active_leaf"] if parent is TIP else parent
        if parent_id is not None:
            owner = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (parent_id,)
            ).fetchone()
            if owner is None or owner[0] != conversation_id:
                raise MessageNotFoundError(
                    f"Message {parent_id} is not part of conversation {conversation_id}."
                )
        now = self._clock()
        cursor = conn.execute(
            "INSERT INTO messages (conversation_id, parent_id, role, text, model, quantization,"
            " backend, status, error, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                parent_id,
                role,
                text,
                model,
                quantization,
                backend,
                status,
                error,
                now,
            ),
        )
        message_id = int(cursor.lastrowid or 0)
        title = row["title"]
        if not title and role == "user":
            title = _title_from(text)
        conn.execute(
            "UPDATE conversations SET active_leaf = ?, updated = ?, title = ? WHERE id = ?",
            (message_id, now, title, conversation_id),
        )
        return message_id

    def set_sources(self, message_id: int, sources: Sequence[Source]) -> None:
        """Keep the document excerpts retrieved for a reply with it."""
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET sources = ? WHERE id = ?",
                (sources_json(sources) if sources else None, message_id),
            )

    def _save_reply(self, message_id: int, text: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE messages SET text = ? WHERE id = ?", (text, message_id))

    def _finish_reply(self, message_id: int, text: str, figures: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in figures)
        with self._write() as conn:
            conn.execute(
                f"UPDATE messages SET text = ?, {assignments} WHERE id = ?",
                (text, *figures.values(), message_id),
            )
            conn.execute(
                "UPDATE conversations SET updated = ?"
                " WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (self._clock(), message_id),
            )


class ReplyWriter:
    """Saves one streaming reply as it arrives. Use from one thread (the worker's).

    Text is written at most every ``flush_interval`` seconds; the row stays marked
    ``interrupted`` until :meth:`finish`.
    """

    def __init__(self, store: HistoryStore, message_id: int, *, flush_interval: float) -> None:
        self._store = store
        self.message_id = message_id
        self._flush_interval = flush_interval
        self._parts: list[str] = []
        self._dirty = False
        self._last_flush = time.monotonic()
        self._finished = False

    @property
    def text(self) -> str:
        """Everything appended so far."""
        return "".join(self._parts)

    def append(self, piece: str) -> None:
        """Add streamed text; saved now or within ``flush_interval`` seconds."""
        if self._finished:
            raise HistoryError("This reply is already finished.")
        self._parts.append(piece)
        self._dirty = True
        if time.monotonic() - self._last_flush >= self._flush_interval:
            self.flush()

    def flush(self) -> None:
        """Save the text received so far."""
        if self._dirty:
            self._store._save_reply(self.message_id, self.text)
            self._dirty = False
        self._last_flush = time.monotonic()

    def finish(
        self,
        *,
        status: Status | None = None,
        stop_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft: float | None = None,
        tokens_per_second: float | None = None,
        error: str | None = None,
    ) -> MessageRecord:
        """Save the whole text with the engine's figures, and mark the reply's status.

        ``status`` defaults to ``error`` when ``error`` is given, ``interrupted`` when
        the user stopped it (``stop_reason="user"``), else ``complete``.
        """
        if status is None:
            if error is not None:
                status = "error"
            elif stop_reason == "user":
                status = "interrupted"
            else:
                status = "complete"
        _check_choice("status", status, STATUSES)
        self._store._finish_reply(
            self.message_id,
            self.text,
            {
                "status": status,
                "stop_reason": stop_reason,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "ttft": ttft,
                "tokens_per_second": tokens_per_second,
                "error": error,
            },
        )
        self._finished = True
        self._dirty = False
        return self._store.message(self.message_id)


# -- helpers ------------------------------------------------------------------------------


def _check_and_configure(conn: sqlite3.Connection) -> None:
    """Fail early on a file that is not SQLite or is damaged; set WAL and friends."""
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if [tuple(r) for r in rows] != [("ok",)]:
        problems = "; ".join(str(r[0]) for r in rows[:3])
        raise _QuickCheckFailed(f"database disk image is malformed: {problems}")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        log.warning("History file is in %s journal mode, not WAL; writes may be slower.", mode)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")


def _migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration],
    *,
    backup: Callable[[int], object],
) -> None:
    """Apply the migrations the file lacks; ``backup(version)`` runs first if any are."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    latest = _latest(migrations)
    if current > latest:
        raise HistoryVersionError(
            f"The history file was written by a newer Hearth (schema {current}; "
            f"this version reads up to {latest})."
        )
    if 0 < current < latest:  # a new, empty file (version 0) has nothing to lose
        backup(current)
    for migration in migrations:
        if migration.version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for step in migration.steps:
                if isinstance(step, str):
                    conn.execute(step)
                else:
                    step(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("History migrated to schema %d: %s", migration.version, migration.description)
        current = migration.version


def _copy_of(imported: ImportedConversation) -> ConversationCopy:
    """Another app's conversation as a copy to write: keys become ids, the source a marker."""
    ids = {m.key: number for number, m in enumerate(imported.messages, start=1)}
    messages = []
    for m in imported.messages:
        if m.parent_key is not None and m.parent_key not in ids:
            raise HistoryError(f"Imported message {m.key!r} follows {m.parent_key!r}, not there.")
        messages.append(
            MessageRecord(
                id=ids[m.key],
                conversation_id=0,
                parent_id=ids[m.parent_key] if m.parent_key is not None else None,
                role=m.role,
                text=m.text,
                model=m.model,
                quantization=None,
                backend=None,
                prompt_tokens=None,
                completion_tokens=None,
                ttft=None,
                tokens_per_second=None,
                stop_reason=None,
                status=m.status,
                error=m.error,
                created=m.created,
            )
        )
    title = imported.title
    if not title:
        first = next((m for m in imported.messages if m.role == "user"), None)
        title = _title_from(first.text) if first is not None else ""
    leaf = ids.get(imported.active_key or "", len(ids)) if ids else None
    marker = {"app": imported.app, "file": imported.source_file, "key": imported.source_key}
    record = ConversationRecord(
        id=0,
        title=title,
        created=imported.created,
        updated=imported.updated,
        system_prompt=imported.system_prompt,
        options={"imported": marker},
        active_leaf=leaf,
        deleted=None,
    )
    return ConversationCopy(record, tuple(messages))


def _parents_first(messages: Sequence[MessageRecord]) -> list[MessageRecord]:
    """The messages ordered so each comes after its parent; refuses a broken tree."""
    by_id = {m.id: m for m in messages}
    if len(by_id) != len(messages):
        raise HistoryError("two of its messages have the same id.")
    ordered: list[MessageRecord] = []
    placed: set[int] = set()
    for start in sorted(messages, key=lambda m: m.id):
        chain: list[MessageRecord] = []
        in_chain: set[int] = set()
        node: MessageRecord | None = start
        while node is not None and node.id not in placed:
            if node.id in in_chain:
                raise HistoryError(f"message {node.id} is its own ancestor.")
            chain.append(node)
            in_chain.add(node.id)
            if node.parent_id is None:
                node = None
            elif node.parent_id not in by_id:
                raise HistoryError(
                    f"message {node.id} follows message {node.parent_id}, which is not there."
                )
            else:
                node = by_id[node.parent_id]
        for item in reversed(chain):
            ordered.append(item)
            placed.add(item.id)
    return ordered


def _fingerprint(messages: Iterable[tuple[str, str, float]]) -> str:
    digest = hashlib.sha256()
    for role, text, created in sorted(messages):
        digest.update(json.dumps([role, text, created]).encode())
    return digest.hexdigest()


def _latest(migrations: Sequence[Migration]) -> int:
    return migrations[-1].version if migrations else 0


def _backup_before_migration(
    conn: sqlite3.Connection, file: Path, version: int, clock: Callable[[], float]
) -> None:
    try:
        backup_database(conn, file, kind="pre-migration", schema_version=version, clock=clock)
    except BackupError as error:
        raise HistoryError(
            f"Hearth needs to upgrade its history file {file}, and backs it up first; the "
            f"backup failed, so nothing was changed. {error}",
            hint=error.hint,
        ) from None


def _damaged_hint(latest: tuple[BackupInfo, BackupCheck] | None) -> str:
    if latest is None:
        return "Hearth kept the damaged file and starts a new, empty history; no backup exists."
    info, check = latest
    when = datetime.fromtimestamp(info.created).strftime("%Y-%m-%d %H:%M")
    return (
        f"Your latest good backup is from {when} ({count(check.conversations, 'chat')}): "
        "restore it "
        f"with `hearth history restore {info.name}` or in Settings → Backups."
    )


class _Locked(Exception):
    """Raised from a backup's progress callback to stop waiting for a lock."""


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _QuickCheckFailed(sqlite3.DatabaseError):
    """SQLite's own check found damage (it reports it as rows, not as an error)."""


def _is_corruption(error: sqlite3.DatabaseError) -> bool:
    if isinstance(error, _QuickCheckFailed):
        return True
    code = getattr(error, "sqlite_errorcode", None)  # extended codes keep the primary low byte
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _move_aside(file: Path) -> Path:
    """Rename the damaged file (and its WAL/SHM companions) so nothing is lost."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = file.with_name(f"{file.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = file.with_name(f"{file.name}.damaged-{stamp}-{n}")
    file.rename(target)
    for suffix in ("-wal", "-shm"):
        companion = file.with_name(file.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def _conversation(row: sqlite3.Row) -> ConversationRecord:
    try:
        options = json.loads(row["options"])
    except (TypeError, json.JSONDecodeError):
        options = {}
    return ConversationRecord(
        id=int(row["id"]),
        title=str(row["title"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        system_prompt=str(row["system_prompt"]),
        options=options if isinstance(options, dict) else {},
        active_leaf=row["active_leaf"],
        deleted=row["deleted"],
    )


def _message(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        id=int(row["id"]),
        conversation_id=int(row["conversation_id"]),
        parent_id=row["parent_id"],
        role=row["role"],
        text=str(row["text"]),
        model=row["model"],
        quantization=row["quantization"],
        backend=row["backend"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        ttft=row["ttft"],
        tokens_per_second=row["tokens_per_second"],
        stop_reason=row["stop_reason"],
        status=row["status"],
        error=row["error"],
        created=float(row["created"]),
        # A file opened at an earlier schema (a test of migrations) has no such column.
        sources=sources_from_json(row["sources"]) if "sources" in row.keys() else (),  # noqa: SIM118
    )


def _options_json(options: Mapping[str, Any]) -> str:
    if "backend" in options:
        _check_choice("backend", options["backend"], BACKENDS)
    if "preview_before_send" in options and not isinstance(options["preview_before_send"], bool):
        raise HistoryError("preview_before_send must be true or false.")
    try:
        return json.dumps(dict(options), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise HistoryError(f"Conversation options must be plain JSON values: {error}.") from None


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise HistoryError(f"{name} must be one of {', '.join(allowed)}; {value!r} is not.")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _snippet(text: str, needle: str) -> str:
    at = text.lower().find(needle.lower())
    if at < 0:
        at = 0
    start = max(0, at - _SNIPPET_CHARS)
    end = min(len(text), at + len(needle) + _SNIPPET_CHARS)
    snippet = _one_line(text[start:end])
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _title_from(text: str) -> str:
    line = _one_line(text)
    if len(line) <= _TITLE_FROM_MESSAGE_CHARS:
        return line
    return line[: _TITLE_FROM_MESSAGE_CHARS - 1].rstrip() + "…"


def _quote(text: str) -> str:
    return text.replace("\n", "\n> ")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
