"""`hearth history`: the counts it prints agree with their nouns ("1 chat", not "1 chats")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.core.chat import HistoryStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_one_chat_of_one_message_is_counted_in_the_singular(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore.open() as store:
        chat = store.create_conversation(title="Only one")
        store.add_message(chat.id, role="user", text="a single message")
    archive = tmp_path / "all.zip"
    assert main(["history", "export-all", str(archive)]) == 0
    assert f"Exported 1 chat (1 message) to {archive}." in capsys.readouterr().out

    assert main(["history", "import", str(archive), "--dry-run"]) == 0
    assert "  1 chat, 1 message (those already in the history are skipped)" in (
        capsys.readouterr().out
    )

    (home / "conversations" / "history.sqlite3").unlink()
    assert main(["history", "import", str(archive)]) == 0
    assert "Imported 1 chat (1 message) from" in capsys.readouterr().out
    with HistoryStore.open() as store:
        assert [c.title for c in store.list_conversations()] == ["Only one"]

    assert main(["history", "backup"]) == 0
    capsys.readouterr()
    with HistoryStore.open() as store:
        (backup,) = store.backups()
    assert main(["history", "restore", backup.name, "--yes"]) == 0
    assert f"{backup.name}: 1 chat, 1 message, made " in capsys.readouterr().out


def test_a_damaged_history_names_its_backup_of_one_chat_in_the_singular(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore.open() as store:
        chat = store.create_conversation(title="Only one")
        store.add_message(chat.id, role="user", text="z" * 40_000)  # pages enough to damage
        info = store.backup()
        path = store.path
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    data[2 * 4096 : 4 * 4096] = b"\xa5" * (2 * 4096)
    path.write_bytes(bytes(data))
    assert main(["history", "list"]) == 1
    assert f"(1 chat): restore it with `hearth history restore {info.name}`" in (
        capsys.readouterr().err
    )
