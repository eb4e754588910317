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
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from app.core.errors import DamagedFileError, HearthError, NotFoundError
from app.core.paths import app_paths

log = logging.getLogger(__name__)

HISTORY_FILENAME: Final = "history.sqlite3"
EXPORT_FORMAT_VERSION: Final = 1

Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "interrupted", "error"]
ROLES: Final = ("system", "user", "assistant")
STATUSES: Final = ("complete", "interrupted", "error")
BACKENDS: Final = ("local", "claude")

_TITLE_FROM_MESSAGE_CHARS = 60
_SNIPPET_CHARS = 60


# -- errors -------------------------------------------------------------------------------


class HistoryError(HearthError):
    """The conversation history cannot be read or changed."""

    hint = "See Hearth's log for details."


class HistoryCorruptError(HistoryError, DamagedFileError):
    """The history file is not a readable SQLite database; it was moved aside."""

    hint = "Hearth kept the damaged file and will start a new, empty history."

    def __init__(
        self,
        message: str,
        *,
        moved_to: Path,
        hint: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, path=path)
        self.moved_to = moved_to


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


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A match in a title (``message_id`` is None) or in a message's text."""

    conversation_id: int
    title: str
    message_id: int | None
    snippet: str


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

    def __init__(self, connection: sqlite3.Connection, path: Path, *, clock: Callable[[], float]):
        self._conn = connection
        self._path = path
        self._clock = clock
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
    ) -> HistoryStore:
        """Open (creating or migrating as needed) the history at ``path``.

        ``path`` defaults to :func:`default_history_path`. ``clock`` gives the time
        stamps (tests pass a fake one); ``migrations`` is for tests of migrations.

        Raises HistoryCorruptError (after moving the bad file aside, never deleting
        it), HistoryVersionError for a file from a newer Hearth, HistoryError when the
        file cannot be opened at all.
        """
        file = Path(path) if path is not None else default_history_path()
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryError(f"Hearth cannot create the folder {file.parent}: {error}.") from None
        try:
            conn = sqlite3.connect(file, isolation_level=None, check_same_thread=False, timeout=5.0)
        except sqlite3.Error as error:
            raise HistoryError(f"Hearth cannot open its history file {file}: {error}.") from None
        conn.row_factory = sqlite3.Row
        try:
            _check_and_configure(conn)
            _migrate(conn, migrations)
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
                raise HistoryCorruptError(
                    f"The history file {file} is damaged or is not a Hearth history "
                    f"({error}). It was kept as {moved}.",
                    moved_to=moved,
                    path=file,
                ) from None
            raise HistoryError(f"Hearth cannot read its history file {file}: {error}.") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, file, clock=clock)

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


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise HistoryVersionError(
            f"The history file was written by a newer Hearth (schema {current}; "
            f"this version reads up to {latest})."
        )
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
