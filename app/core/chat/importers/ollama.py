"""The Ollama desktop app's chats: the SQLite database ``db.sqlite``.

Its ``chats`` table has ``id``, ``title`` and ``created_at``; ``messages`` has
``chat_id``, ``role``, ``content``, ``thinking`` (a reasoning model's thoughts),
``model_name`` and ``created_at``, in insertion order (``id``). Times are SQLite
texts: ``CURRENT_TIMESTAMP`` (UTC) or Go's ``2006-01-02 15:04:05.999999999-07:00``.
Tool calls and tool results are left out. The database is opened read-only, so the
app may keep running.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from app.core.chat.history import ImportedConversation
from app.core.chat.importers.base import (
    ChainBuilder,
    ChatImportError,
    DamagedSourceError,
    Importer,
    UnknownSourceError,
    timestamp,
    with_reasoning,
)

NAME = "ollama"
LABEL = "Ollama"
DATABASE = "db.sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0  # how long to wait while Ollama holds its database's lock
_NEEDED = {
    "chats": {"id", "title", "created_at"},
    "messages": {"chat_id", "role", "content", "created_at"},
}


def _database(path: Path) -> Path:
    return path / DATABASE if path.is_dir() else path


def claims(path: Path) -> bool:
    """A SQLite file (or a folder holding db.sqlite) with Ollama's chats and messages."""
    file = _database(path)
    try:
        with file.open("rb") as handle:
            if handle.read(16) != _SQLITE_MAGIC:
                return False
        conn = _connect(file)
        try:
            return _missing(conn) == ""
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        # Damaged where the tables are listed: Ollama's by its name, to say it is damaged.
        return file.name == DATABASE
    except OSError:
        return False


def read(path: Path) -> Iterator[ImportedConversation]:
    """Every chat in the database, oldest first."""
    file = _database(path)
    try:
        with file.open("rb") as handle:
            if handle.read(16) != _SQLITE_MAGIC:
                raise UnknownSourceError(f"{file.name} is not an SQLite database.", path=file)
    except OSError as error:
        raise ChatImportError(f"Hearth cannot read {file}: {error}.", path=file) from None
    try:
        conn = _connect(file)
        try:
            missing = _missing(conn)
            if missing:
                raise UnknownSourceError(
                    f"{file.name} is an SQLite database but not Ollama's ({missing}).", path=file
                )
            has_thinking = "thinking" in _columns(conn, "messages")
            has_model = "model_name" in _columns(conn, "messages")
            chats = conn.execute("SELECT id, title, created_at FROM chats ORDER BY created_at, id")
            for chat_id, title, created_at in chats.fetchall():
                yield _conversation(conn, file, chat_id, title, created_at, has_thinking, has_model)
        finally:
            conn.close()
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise ChatImportError(
                f"Ollama is writing {file.name} and holds it locked; try again in a moment, "
                "or once the Ollama app is closed.",
                path=file,
            ) from None
        raise DamagedSourceError(
            f"{file.name} cannot be read as Ollama's database: {error}.", path=file
        ) from None
    except sqlite3.DatabaseError as error:
        raise DamagedSourceError(
            f"{file.name} cannot be read as Ollama's database: {error}.", path=file
        ) from None


def _connect(file: Path) -> sqlite3.Connection:
    uri = f"{file.resolve().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def _missing(conn: sqlite3.Connection) -> str:
    for table, needed in _NEEDED.items():
        absent = needed - _columns(conn, table)
        if absent:
            return f"no {table} table" if absent == needed else f"{table} lacks {sorted(absent)}"
    return ""


def _conversation(
    conn: sqlite3.Connection,
    file: Path,
    chat_id: object,
    title: object,
    created_at: object,
    has_thinking: bool,
    has_model: bool,
) -> ImportedConversation:
    created = timestamp(created_at, 0.0)
    columns = "id, role, content, created_at"
    columns += ", thinking" if has_thinking else ", ''"
    columns += ", model_name" if has_model else ", NULL"
    chain = ChainBuilder()
    parent: str | None = None
    for message_id, role, content, at, thinking, model in conn.execute(
        f"SELECT {columns} FROM messages WHERE chat_id = ? ORDER BY id", (chat_id,)
    ):
        text = with_reasoning(str(thinking or ""), str(content or ""))
        key = str(message_id)
        if chain.add(
            key,
            parent,
            str(role),
            text,
            timestamp(at, created),
            model=str(model) if model and role == "assistant" else None,
        ):
            parent = key
    return ImportedConversation(
        source_key=str(chat_id),
        app=NAME,
        source_file=file.name,
        title=str(title or ""),
        created=created,
        updated=chain.last_time(created),
        system_prompt=chain.system_prompt,
        messages=chain.messages,
    )


IMPORTER = Importer(NAME, LABEL, claims, read)
