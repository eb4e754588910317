"""The chat vault: backups, restore, integrity at start, Recently deleted, the archive.

Each bad input (a locked database, a full disk, a damaged backup, an archive from a
newer Hearth, a truncated archive) must give a clear message and leave the current
history exactly as it was.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.chat import (
    ArchiveDamagedError,
    ArchiveVersionError,
    BackupDamagedError,
    HistoryCorruptError,
    HistoryError,
    HistoryLockedError,
    HistoryStore,
    NotAnArchiveError,
    export_archive,
    import_archive,
    is_hearth_archive,
    read_archive,
)
from app.core.chat.history import MIGRATIONS, SCHEMA_VERSION, Migration
from app.core.chat.vault import KEEP, backups_folder, check_backup, list_backups

DAY = 24 * 3600.0
ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 0.001  # distinct, exactly representable-enough times per row
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "conversations" / "history.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[HistoryStore]:
    with HistoryStore.open(db_path, clock=clock, busy_timeout=0.5) as opened:
        yield opened


def fill(store: HistoryStore, chats: int = 3, *, text: str = "words") -> None:
    """Chats with a system prompt, options, an edit (two branches), figures and a draft."""
    for n in range(chats):
        c = store.create_conversation(
            title=f"Chat {n}", system_prompt=f"Be brief {n}.", options={"backend": "local"}
        )
        question = store.add_message(c.id, role="user", text=f"{text} question {n}")
        reply = store.begin_reply(c.id, model="tiny", quantization="Q8_0", backend="local")
        reply.append(f"{text} answer {n}")
        reply.finish(stop_reason="eos", prompt_tokens=5, completion_tokens=3, ttft=0.25)
        store.edit_message(question.id, text=f"{text} edited question {n}")
        store.add_message(c.id, role="assistant", text="second branch", status="interrupted")
        store.save_draft(c.id, f"draft {n}")


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read without the store (what a user could lose)."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in ("conversations", "messages", "drafts")
        }
    finally:
        conn.close()


def hold_write_lock(path: Path) -> subprocess.Popen[str]:
    """A real second process with an open write transaction on the history."""
    code = textwrap.dedent(
        f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(path)!r}, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE conversations SET title = 'uncommitted'")
        print("locked", flush=True)
        sys.stdin.readline()
        conn.execute("ROLLBACK")
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def release(child: subprocess.Popen[str]) -> None:
    child.communicate("\n", timeout=30)
    assert child.returncode == 0


# -- backups ------------------------------------------------------------------------------


def test_a_backup_is_a_consistent_single_file_copy_while_another_process_writes(
    store: HistoryStore, db_path: Path
) -> None:
    fill(store)
    committed = snapshot(db_path)
    child = hold_write_lock(db_path)  # an uncommitted write sits in the WAL
    try:
        info = store.backup()
    finally:
        release(child)
    assert info.path.parent == backups_folder(db_path)
    assert info.kind == "manual" and info.schema_version == SCHEMA_VERSION
    assert not info.path.with_name(info.path.name + "-wal").exists()
    conn = sqlite3.connect(f"{info.path.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert snapshot(info.path) == committed  # committed rows only, nothing torn
    check = check_backup(info.path, newest_schema=SCHEMA_VERSION)
    assert (check.conversations, check.messages) == (3, 12)


def test_daily_backups_are_made_once_a_day_and_seven_are_kept(
    store: HistoryStore, db_path: Path, clock: FakeClock
) -> None:
    assert store.backup_if_due() is None  # an empty history is not backed up
    fill(store, chats=1)
    first = store.backup_if_due()
    assert first is not None and first.kind == "daily"
    assert store.backup_if_due() is None  # the same day
    manual = store.backup()
    for _ in range(KEEP["daily"] + 2):
        clock.now += DAY
        assert store.backup_if_due() is not None
    dailies = [b for b in list_backups(db_path) if b.kind == "daily"]
    assert len(dailies) == KEEP["daily"]
    assert first.path not in [b.path for b in dailies]  # the oldest went first
    assert manual.path.exists()  # other kinds are not pruned by daily ones


def test_backups_made_in_the_same_second_keep_their_order(store: HistoryStore) -> None:
    fill(store, chats=1)
    store._clock = lambda: 1_780_000_000.0  # every backup in the same second
    made = [store.backup() for _ in range(KEEP["manual"] + 2)]
    assert [b.path for b in store.backups()] == [b.path for b in reversed(made)][: KEEP["manual"]]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_during_a_backup_is_reported_and_leaves_nothing_behind(
    store: HistoryStore, db_path: Path
) -> None:
    fill(store, chats=20, text="x" * 20_000)
    before = snapshot(db_path)
    # A real write failure: the child may not write files over 200 kB (EFBIG), as on a
    # full disk; SIGXFSZ is ignored so the write fails instead of killing the process.
    code = textwrap.dedent(
        f"""
        import json, resource, signal
        from app.core.chat import HistoryStore
        store = HistoryStore.open({str(db_path)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        try:
            store.backup()
        except Exception as error:
            print(json.dumps([type(error).__name__, error.describe()]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    kind, message = json.loads(done.stdout)
    assert kind == "BackupSpaceError"
    assert "disk" in message and "Free some space" in message
    assert list(backups_folder(db_path).iterdir()) == []  # no half backup
    assert snapshot(db_path) == before
    assert len(store.all_messages(1)) == 4


# -- restore ------------------------------------------------------------------------------


def test_restore_brings_a_backup_back_and_keeps_the_current_history_aside(
    store: HistoryStore, db_path: Path
) -> None:
    fill(store, chats=2)
    backed_up = snapshot(db_path)
    info = store.backup()
    store.create_conversation(title="written after the backup")
    current = snapshot(db_path)
    result = store.restore_backup(info.path)
    assert snapshot(db_path) == backed_up
    assert [c.title for c in store.list_conversations()] == ["Chat 1", "Chat 0"]
    assert result.kept_at.parent == db_path.parent
    assert snapshot(result.kept_at) == current  # never deleted: the newer chat is there
    assert (result.check.conversations, result.check.messages) == (2, 8)
    store.add_message(1, role="user", text="the restored history takes writes")
    with HistoryStore.open(db_path) as again:
        assert again.active_path(1)[-1].text == "the restored history takes writes"


def test_restoring_a_backup_from_an_older_schema_migrates_it(
    db_path: Path, clock: FakeClock
) -> None:
    with HistoryStore.open(db_path, clock=clock) as store:
        fill(store, chats=1)
        info = store.backup()
    newer = (*MIGRATIONS, _extra_migration())
    with HistoryStore.open(db_path, clock=clock, migrations=newer) as store:
        store.create_conversation(title="new")
        store.restore_backup(info.path)
        assert store.schema_version == SCHEMA_VERSION + 1
        assert [c.title for c in store.list_conversations()] == ["Chat 0"]


@pytest.mark.parametrize("damage", ["scribbled", "truncated", "not sqlite", "newer schema"])
def test_a_damaged_backup_is_refused_and_the_history_is_untouched(
    store: HistoryStore, db_path: Path, damage: str
) -> None:
    fill(store, chats=30, text="y" * 2000)
    info = store.backup()
    data = bytearray(info.path.read_bytes())
    if damage == "scribbled":
        data[3 * 4096 : 6 * 4096] = b"\xa5" * (3 * 4096)
    elif damage == "truncated":
        del data[len(data) // 2 :]
    elif damage == "not sqlite":
        data = bytearray(b"my notes, not a database\n" * 100)
    info.path.write_bytes(bytes(data))
    if damage == "newer schema":
        conn = sqlite3.connect(info.path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
    before = snapshot(db_path)
    with pytest.raises(BackupDamagedError) as caught:
        store.restore_backup(info.path)
    message = caught.value.describe()
    assert info.path.name in message
    expected = "newer Hearth" if damage == "newer schema" else "damaged"
    assert expected in message
    assert "current history was not changed" in message
    assert snapshot(db_path) == before
    assert not list(db_path.parent.glob("*.before-restore-*"))


def test_restore_while_another_process_holds_the_write_lock_changes_nothing(
    store: HistoryStore, db_path: Path
) -> None:
    fill(store, chats=2)
    info = store.backup()
    store.create_conversation(title="after the backup")
    before = snapshot(db_path)
    child = hold_write_lock(db_path)
    try:
        with pytest.raises(HistoryLockedError) as caught:
            store.restore_backup(info.path)
        with pytest.raises(HistoryLockedError):
            store.create_conversation(title="blocked")
    finally:
        release(child)
    assert "another program" in str(caught.value) and "Nothing changed" in str(caught.value)
    assert "Close the other program" in caught.value.describe()
    assert snapshot(db_path) == before
    assert not list(db_path.parent.glob("*.before-restore-*"))


# -- migrations ---------------------------------------------------------------------------


def _extra_migration() -> Migration:
    """A schema change after the newest real one, so every real version is 'earlier'."""
    return Migration(
        SCHEMA_VERSION + 1,
        "test: pinned conversations",
        ("ALTER TABLE conversations ADD COLUMN pinned_for_test INTEGER NOT NULL DEFAULT 0",),
    )


@pytest.mark.parametrize("version", [m.version for m in MIGRATIONS])
def test_every_earlier_schema_is_backed_up_before_its_upgrade_and_keeps_every_message(
    db_path: Path, clock: FakeClock, version: int
) -> None:
    older = MIGRATIONS[: [m.version for m in MIGRATIONS].index(version) + 1]
    with HistoryStore.open(db_path, clock=clock, migrations=older) as store:
        assert store.schema_version == version
        fill(store, chats=4)
    before = snapshot(db_path)
    newer = (*MIGRATIONS, _extra_migration())
    with HistoryStore.open(db_path, clock=clock, migrations=newer) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        (backup,) = store.backups()
        assert (backup.kind, backup.schema_version) == ("pre-migration", version)
        assert snapshot(backup.path) == before  # written before anything changed
        after = snapshot(db_path)
        assert after["drafts"] == before["drafts"]
        for table in ("conversations", "messages"):  # later migrations add columns
            width = len(before[table][0])
            assert [row[:width] for row in after[table]] == before[table]
    # Opening again migrates nothing and backs up nothing.
    with HistoryStore.open(db_path, clock=clock, migrations=newer) as store:
        assert len(store.backups()) == 1


def test_a_migration_whose_backup_fails_is_not_applied(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        fill(store, chats=1)
    backups_folder(db_path).write_text("a file where the folder should be")
    before = snapshot(db_path)
    with pytest.raises(HistoryError) as caught:
        HistoryStore.open(db_path, migrations=(*MIGRATIONS, _extra_migration()))
    assert "backup failed, so nothing was changed" in str(caught.value)
    assert snapshot(db_path) == before
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


# -- integrity at start -------------------------------------------------------------------


def _scribble(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    data[2 * 4096 : 4 * 4096] = b"\xa5" * (2 * 4096)
    path.write_bytes(bytes(data))
    return bytes(data)


def test_a_damaged_history_is_kept_and_the_latest_good_backup_is_offered(
    db_path: Path, clock: FakeClock
) -> None:
    with HistoryStore.open(db_path, clock=clock) as store:
        fill(store, chats=2)
        good = store.backup()
        fill(store, chats=40, text="z" * 3000)
        clock.now += 60
        bad = store.backup()
    bad.path.write_bytes(b"not a database" * 100)  # the newest backup is itself damaged
    damaged = _scribble(db_path)
    with pytest.raises(HistoryCorruptError) as caught:
        HistoryStore.open(db_path)
    error = caught.value
    assert error.moved_to.read_bytes() == damaged  # kept for recovery, never overwritten
    assert error.latest_backup is not None
    info, check = error.latest_backup
    assert info.path == good.path and check.conversations == 2
    assert f"hearth history restore {good.name}" in error.describe()
    with HistoryStore.open(db_path) as fresh:
        fresh.restore_backup(info.path)
        assert [c.title for c in fresh.list_conversations()] == ["Chat 1", "Chat 0"]
    assert error.moved_to.read_bytes() == damaged


def test_a_damaged_history_without_a_backup_says_so(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        fill(store, chats=40, text="z" * 3000)
    _scribble(db_path)
    with pytest.raises(HistoryCorruptError) as caught:
        HistoryStore.open(db_path)
    assert caught.value.latest_backup is None
    assert "no backup exists" in caught.value.describe()


# -- the archive --------------------------------------------------------------------------


def _normalised(path: Path) -> list[dict[str, Any]]:
    """The archive's conversations with ids replaced by positions (ids are the store's)."""
    out = []
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("hearth-archive.json"))
        for name in manifest["files"]:
            entry = json.loads(archive.read(name))
            position = {m["id"]: i for i, m in enumerate(entry["messages"])}
            for m in entry["messages"]:
                m["id"] = position[m["id"]]
                m["parent_id"] = position.get(m["parent_id"])
            entry["active_leaf"] = position.get(entry["active_leaf"])
            del entry["id"]
            out.append(entry)
    return out


def test_the_archive_round_trips_exactly(tmp_path: Path, store: HistoryStore) -> None:
    fill(store, chats=3, text='emoji 🔥 "quotes" nul\x00 and\nnewlines')
    store.set_options(1, {"backend": "claude", "preview_before_send": True})
    store.delete(2)  # Recently deleted is part of everything
    archive = tmp_path / "everything.zip"
    summary = export_archive(store, archive)
    assert (summary.conversations, summary.messages) == (3, 12)
    assert is_hearth_archive(archive)
    assert read_archive(archive).format_version == 1
    with zipfile.ZipFile(archive) as opened:
        markdown = [n for n in opened.namelist() if n.startswith("chats/")]
        assert len(markdown) == 3
        assert opened.read(markdown[0]).decode().startswith("# Chat 0\n")

    with HistoryStore.open(tmp_path / "other" / "history.sqlite3") as other:
        other.create_conversation(title="already here")
        result = import_archive(other, archive)
        assert (len(result.added), result.skipped, result.messages) == (3, 0, 12)
        again = tmp_path / "again.zip"
        export_archive(other, again)
        assert _normalised(again)[1:] == _normalised(archive)
        restored = other.conversation(result.added[0])
        assert other.draft(restored.id) == "draft 0"
        assert len(other.siblings(other.active_path(restored.id)[0].id)) == 2
        assert other.conversation(result.added[1]).deleted is not None
        # The same archive again adds nothing.
        second = import_archive(other, archive)
        assert (second.added, second.skipped) == ((), 3)
        assert len(other.list_conversations()) + len(other.list_conversations(deleted=True)) == 4


def _rewrite(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.get(name, old.read(name)))


@pytest.mark.parametrize(
    "case", ["newer version", "truncated", "damaged entry", "not a zip", "another zip"]
)
def test_a_bad_archive_is_refused_and_nothing_is_imported(
    tmp_path: Path, store: HistoryStore, db_path: Path, case: str
) -> None:
    fill(store, chats=3)
    good = tmp_path / "good.zip"
    export_archive(store, good)
    with HistoryStore.open(tmp_path / "target" / "history.sqlite3") as target:
        target.create_conversation(title="mine")
        before = snapshot(target.path)
        bad = tmp_path / "bad.zip"
        if case == "newer version":
            manifest = json.loads(zipfile.ZipFile(good).read("hearth-archive.json"))
            manifest["format_version"] = 99
            _rewrite(good, bad, {"hearth-archive.json": json.dumps(manifest).encode()})
            expected: tuple[type[Exception], str] = (ArchiveVersionError, "format version 99")
        elif case == "truncated":
            bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
            expected = (ArchiveDamagedError, "truncated")
        elif case == "damaged entry":  # the third conversation is cut: the first two too go
            _rewrite(good, bad, {"conversations/000003.json": b'{"id": 3, "title": '})
            expected = (ArchiveDamagedError, "conversations/000003.json")
        elif case == "not a zip":
            bad.write_text('{"conversations": []}')
            expected = (NotAnArchiveError, "not a zip")
        else:
            with zipfile.ZipFile(bad, "w") as other:
                other.writestr("conversations.json", "[]")
            expected = (NotAnArchiveError, "not a Hearth archive")
        with pytest.raises(expected[0]) as caught:
            import_archive(target, bad)
        assert expected[1] in str(caught.value)
        assert "nothing was imported" in caught.value.describe().lower()
        assert snapshot(target.path) == before


def test_import_while_another_process_holds_the_write_lock_changes_nothing(
    tmp_path: Path, store: HistoryStore, db_path: Path
) -> None:
    archive = tmp_path / "a.zip"
    with HistoryStore.open(tmp_path / "src" / "history.sqlite3") as source:
        fill(source, chats=2)
        export_archive(source, archive)
    fill(store, chats=1)
    before = snapshot(db_path)
    child = hold_write_lock(db_path)
    try:
        with pytest.raises(HistoryLockedError):
            import_archive(store, archive)
    finally:
        release(child)
    assert snapshot(db_path) == before


# -- hearth history (the CLI) -------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_cli_lists_and_restores_recently_deleted(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    with HistoryStore.open() as store:
        fill(store, chats=2)
        store.delete(1)
    assert main(["history", "deleted", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["title"]) == (1, "Chat 0") and row["purged_after"] > row["deleted"]
    assert main(["history", "restore-chat", "1"]) == 0
    assert "Restored conversation 1" in capsys.readouterr().out
    assert main(["history", "deleted"]) == 0
    assert "Recently deleted is empty" in capsys.readouterr().out
    assert main(["history", "restore-chat", "1"]) == 1
    assert "not in Recently deleted" in capsys.readouterr().err
    assert main(["history", "restore-chat", "99"]) == 1
    assert "no conversation 99" in capsys.readouterr().err
    with HistoryStore.open() as store:
        assert len(store.list_conversations()) == 2


def test_cli_backs_up_lists_and_restores(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import main

    with HistoryStore.open() as store:
        fill(store, chats=1)
    assert main(["history", "backup"]) == 0
    assert "Backed up the history to" in capsys.readouterr().out
    assert main(["history", "backups", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["kind"] == "manual"
    with HistoryStore.open() as store:
        store.create_conversation(title="newer")
        before = snapshot(store.path)
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115 (not a terminal)
    assert main(["history", "restore", row["name"]]) == 2
    assert "--yes" in capsys.readouterr().err
    with HistoryStore.open() as store:
        assert snapshot(store.path) == before
    assert main(["history", "restore", row["name"], "--yes"]) == 0
    assert "kept at" in capsys.readouterr().out
    with HistoryStore.open() as store:
        assert [c.title for c in store.list_conversations()] == ["Chat 0"]
    assert main(["history", "restore", "no-such-backup", "--yes"]) == 1
    assert "There is no backup no-such-backup" in capsys.readouterr().err


def test_cli_export_all_and_import_round_trip(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    with HistoryStore.open() as store:
        fill(store, chats=2)
    archive = tmp_path / "all.zip"
    assert main(["history", "export-all", str(archive)]) == 0
    assert "Exported 2 chats (8 messages)" in capsys.readouterr().out
    assert main(["history", "import", str(archive)]) == 0
    assert "Imported 0 chats" in capsys.readouterr().out
    (home / "conversations" / "history.sqlite3").unlink()
    assert main(["history", "import", str(archive)]) == 0
    assert "Imported 2 chats (8 messages)" in capsys.readouterr().out
    junk = tmp_path / "junk.zip"
    junk.write_text("junk")
    assert main(["history", "import", str(junk)]) == 1
    assert "not a Hearth archive" in capsys.readouterr().err


def test_cli_on_a_damaged_history_names_the_backup_and_restores_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    with HistoryStore.open() as store:
        fill(store, chats=40, text="z" * 3000)
        info = store.backup()
        path = store.path
    damaged = _scribble(path)
    assert main(["history", "list"]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and f"hearth history restore {info.name}" in err
    assert main(["history", "restore", info.name, "--yes"]) == 0
    assert "Restored." in capsys.readouterr().out
    with HistoryStore.open() as store:
        assert len(store.list_conversations()) == 40
    kept = path.parent.glob("history.sqlite3.damaged-*")
    assert damaged in [file.read_bytes() for file in kept]  # kept for recovery
