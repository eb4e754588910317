"""The history store: nothing the user typed or received is lost, across restarts and crashes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.chat.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ConversationNotFoundError,
    HistoryCorruptError,
    HistoryError,
    HistoryStore,
    HistoryVersionError,
    MessageNotFoundError,
    Migration,
    Role,
    default_history_path,
)

HOSTILE = [
    "'; DROP TABLE conversations; --",
    'Robert"); DELETE FROM messages WHERE ("1"="1',
    "100% sure_not a wildcard \\ backslash",
    "nul\x00inside",
    "emoji 🔥 and RTL עברית and combining é and CJK 漢字",
    "x" * 1_000_000,
    "",
]


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "conversations" / "history.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(db_path) as opened:
        yield opened


def chat(store: HistoryStore) -> tuple[int, list[int]]:
    """A conversation of two exchanges; returns its id and the message ids in order."""
    conversation = store.create_conversation(system_prompt="Be brief.")
    ids = []
    turns: tuple[tuple[Role, str], ...] = (
        ("user", "What is the capital of France?"),
        ("assistant", "Paris."),
        ("user", "And of Italy?"),
        ("assistant", "Rome."),
    )
    for role, text in turns:
        ids.append(store.add_message(conversation.id, role=role, text=text).id)
    return conversation.id, ids


# -- opening, reopening, where it lives --------------------------------------------------


def test_default_path_is_in_the_conversations_folder_under_hearth_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    assert default_history_path() == tmp_path / "conversations" / "history.sqlite3"
    with HistoryStore.open() as opened:
        assert opened.path == tmp_path / "conversations" / "history.sqlite3"
    assert (tmp_path / "conversations" / "history.sqlite3").is_file()


def test_new_file_is_at_the_latest_schema_in_wal_mode(db_path: Path) -> None:
    with HistoryStore.open(db_path) as opened:
        assert opened.schema_version == SCHEMA_VERSION == MIGRATIONS[-1].version
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_conversation_and_messages_survive_reopening(db_path: Path) -> None:
    with HistoryStore.open(db_path) as first:
        conversation_id, ids = chat(first)
    with HistoryStore.open(db_path) as second:
        path = second.active_path(conversation_id)
        assert [m.text for m in path] == [
            "What is the capital of France?",
            "Paris.",
            "And of Italy?",
            "Rome.",
        ]
        assert [m.id for m in path] == ids
        conversation = second.conversation(conversation_id)
        assert conversation.system_prompt == "Be brief."
        # An untitled conversation is named after its first question.
        assert conversation.title == "What is the capital of France?"


def test_a_closed_store_refuses_calls(db_path: Path) -> None:
    opened = HistoryStore.open(db_path)
    opened.close()
    with pytest.raises(HistoryError):
        opened.list_conversations()


# -- drafts -------------------------------------------------------------------------------


def test_draft_survives_restart_and_clears_after_sending(db_path: Path) -> None:
    with HistoryStore.open(db_path) as first:
        conversation = first.create_conversation()
        first.save_draft(conversation.id, "half a thought")
        first.save_draft(conversation.id, "half a thought, now longer")
        first.save_draft(None, "typed before any conversation existed")
    with HistoryStore.open(db_path) as second:
        assert second.draft(conversation.id) == "half a thought, now longer"
        assert second.draft(None) == "typed before any conversation existed"
        second.clear_draft(conversation.id)
        assert second.draft(conversation.id) == ""
        assert second.draft(None) == "typed before any conversation existed"


@pytest.mark.parametrize("text", HOSTILE[:-1])
def test_hostile_drafts_round_trip(db_path: Path, text: str) -> None:
    with HistoryStore.open(db_path) as first:
        conversation = first.create_conversation()
        first.save_draft(conversation.id, text)
    with HistoryStore.open(db_path) as second:
        assert second.draft(conversation.id) == text


# -- streaming replies --------------------------------------------------------------------


def test_finished_reply_keeps_text_and_figures(store: HistoryStore) -> None:
    conversation = store.create_conversation(options={"backend": "local"})
    question = store.add_message(conversation.id, role="user", text="Count to three.")
    writer = store.begin_reply(
        conversation.id, model="stories260K", quantization="Q8_0", backend="local"
    )
    for piece in ("One", ", two", ", three."):
        writer.append(piece)
    reply = writer.finish(
        stop_reason="eos",
        prompt_tokens=12,
        completion_tokens=7,
        ttft=0.042,
        tokens_per_second=88.5,
    )
    assert reply.text == "One, two, three."
    assert reply.parent_id == question.id
    assert reply.status == "complete"
    assert (reply.model, reply.quantization, reply.backend) == ("stories260K", "Q8_0", "local")
    assert (reply.prompt_tokens, reply.completion_tokens) == (12, 7)
    assert reply.ttft == pytest.approx(0.042)
    assert reply.tokens_per_second == pytest.approx(88.5)
    assert reply.stop_reason == "eos"
    assert store.message(reply.id) == reply


def test_a_reply_stopped_by_the_user_is_marked_interrupted(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, role="user", text="Tell me a long story.")
    writer = store.begin_reply(conversation.id)
    writer.append("Once upon a")
    reply = writer.finish(stop_reason="user")
    assert (reply.status, reply.text, reply.stop_reason) == ("interrupted", "Once upon a", "user")


def test_a_failed_reply_keeps_its_error(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, role="user", text="Hello")
    reply = store.begin_reply(conversation.id).finish(error="The model ran out of memory.")
    assert reply.status == "error"
    assert reply.error == "The model ran out of memory."


def test_reply_not_finished_is_kept_as_interrupted_after_reopening(db_path: Path) -> None:
    store = HistoryStore.open(db_path)
    conversation = store.create_conversation()
    store.add_message(conversation.id, role="user", text="Write a poem.")
    writer = store.begin_reply(conversation.id, flush_interval=0)
    writer.append("Roses are red,\n")
    writer.append("violets are")
    store.close()  # finish() never called
    with HistoryStore.open(db_path) as reopened:
        last = reopened.active_path(conversation.id)[-1]
        assert last.role == "assistant"
        assert last.text == "Roses are red,\nviolets are"
        assert last.status == "interrupted"


def test_a_crash_mid_stream_keeps_what_was_streamed(db_path: Path) -> None:
    """A real process dies (os._exit, no close, no finish) while a reply streams."""
    script = f"""
import os
from app.core.chat.history import HistoryStore
store = HistoryStore.open({str(db_path)!r})
conversation = store.create_conversation()
store.add_message(conversation.id, role="user", text="Explain WAL.")
writer = store.begin_reply(conversation.id, flush_interval=0)
writer.append("Write-ahead logging ")
writer.append("keeps readers")
print(conversation.id, flush=True)
os._exit(9)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 9, done.stderr
    conversation_id = int(done.stdout.split()[0])
    with HistoryStore.open(db_path) as reopened:
        last = reopened.active_path(conversation_id)[-1]
        assert (last.text, last.status) == ("Write-ahead logging keeps readers", "interrupted")


def test_reply_text_is_saved_within_the_flush_interval(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    writer = store.begin_reply(conversation.id, flush_interval=3600)
    writer.append("buffered")
    assert store.message(writer.message_id).text == ""  # not written on every token
    writer.flush()
    assert store.message(writer.message_id).text == "buffered"
    writer.finish()
    with pytest.raises(HistoryError):
        writer.append("after the end")


def test_a_worker_thread_can_stream_while_the_gui_thread_writes(store: HistoryStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, role="user", text="Go")
    tokens = [f"t{i} " for i in range(400)]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            writer = store.begin_reply(conversation.id, flush_interval=0)
            for token in tokens:
                writer.append(token)
            writer.finish(stop_reason="eos")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=worker)
    thread.start()
    others = []
    for i in range(100):
        store.save_draft(conversation.id, f"typing {i}")
        others.append(store.create_conversation(title=f"other {i}").id)
        store.search("t1")
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert errors == []
    reply = store.active_path(conversation.id)[-1]
    assert (reply.text, reply.status) == ("".join(tokens), "complete")
    assert store.draft(conversation.id) == "typing 99"
    assert len(store.list_conversations()) == 101


# -- branches: edit and resend, regenerate ------------------------------------------------


def test_edit_and_resend_replaces_later_turns_but_keeps_the_old_branch(
    store: HistoryStore,
) -> None:
    conversation_id, (_q1, _a1, q2, _a2) = chat(store)
    edited = store.edit_message(q2, text="And of Spain?")
    reply = store.begin_reply(conversation_id)
    reply.append("Madrid.")
    reply.finish()

    shown = store.active_path(conversation_id)
    assert [m.text for m in shown] == [
        "What is the capital of France?",
        "Paris.",
        "And of Spain?",
        "Madrid.",
    ]
    assert [m.id for m in store.siblings(edited.id)] == [q2, edited.id]
    assert len(store.all_messages(conversation_id)) == 6

    old = store.switch_branch(q2)
    assert [m.text for m in old][-2:] == ["And of Italy?", "Rome."]
    new = store.switch_branch(edited.id)
    assert [m.text for m in new][-2:] == ["And of Spain?", "Madrid."]


def test_the_active_branch_survives_reopening(db_path: Path) -> None:
    with HistoryStore.open(db_path) as first:
        conversation_id, (_q1, _a1, q2, _a2) = chat(first)
        first.edit_message(q2, text="And of Spain?")
        first.switch_branch(q2)
    with HistoryStore.open(db_path) as second:
        assert [m.text for m in second.active_path(conversation_id)][-1] == "Rome."


def test_editing_the_first_message_starts_a_new_root(store: HistoryStore) -> None:
    conversation_id, (q1, _a1, _q2, _a2) = chat(store)
    edited = store.edit_message(q1, text="What is the capital of Peru?")
    assert [m.text for m in store.active_path(conversation_id)] == ["What is the capital of Peru?"]
    assert [m.id for m in store.siblings(edited.id)] == [q1, edited.id]


def test_regenerate_adds_a_sibling_reply(store: HistoryStore) -> None:
    conversation_id, (_q1, _a1, q2, a2) = chat(store)
    writer = store.begin_reply(conversation_id, parent=q2)
    writer.append("Rome, of course.")
    writer.finish()
    assert store.active_path(conversation_id)[-1].text == "Rome, of course."
    assert [m.text for m in store.siblings(a2)] == ["Rome.", "Rome, of course."]


def test_a_parent_from_another_conversation_is_refused(store: HistoryStore) -> None:
    _first, (q1, *_rest) = chat(store)
    other = store.create_conversation()
    with pytest.raises(MessageNotFoundError):
        store.add_message(other.id, role="user", text="hi", parent=q1)
    assert store.active_path(other.id) == []


# -- conversations: rename, options, delete with undo -------------------------------------


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_round_trip(db_path: Path, title: str) -> None:
    with HistoryStore.open(db_path) as first:
        conversation = first.create_conversation(title="first")
        first.rename(conversation.id, title)
    with HistoryStore.open(db_path) as second:
        assert second.conversation(conversation.id).title == title
        assert len(second.list_conversations()) == 1


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_message_text_round_trips_and_exports(db_path: Path, text: str) -> None:
    with HistoryStore.open(db_path) as first:
        conversation = first.create_conversation(title="t")
        first.add_message(conversation.id, role="user", text=text)
    with HistoryStore.open(db_path) as second:
        assert second.active_path(conversation.id)[0].text == text
        exported = json.loads(second.export_json(conversation.id))
        assert exported["messages"][0]["text"] == text


def test_rename_and_options_persist(db_path: Path) -> None:
    with HistoryStore.open(db_path) as first:
        conversation = first.create_conversation(
            options={"backend": "local", "preview_before_send": False}
        )
        first.rename(conversation.id, "Trip planning")
        first.set_options(conversation.id, {"backend": "claude", "preview_before_send": True})
        first.set_system_prompt(conversation.id, "You plan trips.")
    with HistoryStore.open(db_path) as second:
        again = second.conversation(conversation.id)
        assert again.title == "Trip planning"
        assert again.options == {"backend": "claude", "preview_before_send": True}
        assert again.system_prompt == "You plan trips."


@pytest.mark.parametrize(
    "options", [{"backend": "gpt-cloud"}, {"preview_before_send": "yes"}, {"when": object()}]
)
def test_bad_options_are_refused_and_nothing_changes(
    store: HistoryStore, options: dict[str, object]
) -> None:
    conversation = store.create_conversation(options={"backend": "local"})
    with pytest.raises(HistoryError):
        store.set_options(conversation.id, options)
    assert store.conversation(conversation.id).options == {"backend": "local"}


def test_unknown_conversation_is_a_typed_error(store: HistoryStore) -> None:
    with pytest.raises(ConversationNotFoundError):
        store.rename(404, "x")
    with pytest.raises(ConversationNotFoundError):
        store.add_message(404, role="user", text="x")


def test_delete_can_be_undone_until_purged(db_path: Path) -> None:
    clock = FakeClock()
    with HistoryStore.open(db_path, clock=clock) as store:
        conversation_id, _ids = chat(store)
        store.save_draft(conversation_id, "unsent")
        store.delete(conversation_id)
        assert store.list_conversations() == []
        assert [c.id for c in store.list_conversations(deleted=True)] == [conversation_id]
        assert store.search("Paris") == []

        store.restore(conversation_id)
        assert [c.id for c in store.list_conversations()] == [conversation_id]
        assert len(store.active_path(conversation_id)) == 4
        assert store.draft(conversation_id) == "unsent"

        store.delete(conversation_id)
        clock.now += 60
        assert store.purge_deleted(older_than=3600) == 0  # too recent: still restorable
        clock.now += 3600
        assert store.purge_deleted(older_than=3600) == 1
        with pytest.raises(ConversationNotFoundError):
            store.conversation(conversation_id)
        assert store.draft(conversation_id) == ""
        assert store.search("Paris") == []


def test_conversations_are_listed_most_recent_first(store: HistoryStore) -> None:
    clock = FakeClock()
    store._clock = clock  # the same store, time under the test's control
    older = store.create_conversation(title="older")
    clock.now += 10
    newer = store.create_conversation(title="newer")
    assert [c.id for c in store.list_conversations()] == [newer.id, older.id]
    clock.now += 10
    store.add_message(older.id, role="user", text="back to this one")
    assert [c.id for c in store.list_conversations()] == [older.id, newer.id]


# -- search -------------------------------------------------------------------------------


def test_search_finds_titles_and_message_text(store: HistoryStore) -> None:
    conversation_id, (_q1, a1, *_rest) = chat(store)
    store.rename(conversation_id, "Geography quiz")
    other = store.create_conversation(title="Shopping")

    by_title = store.search("geography")
    assert [(h.conversation_id, h.message_id) for h in by_title] == [(conversation_id, None)]

    by_text = store.search("paris")
    assert [(h.conversation_id, h.message_id) for h in by_text] == [(conversation_id, a1)]
    assert "Paris." in by_text[0].snippet
    assert all(h.conversation_id != other.id for h in store.search("capital"))


def test_search_treats_wildcards_and_quotes_literally(store: HistoryStore) -> None:
    plain = store.create_conversation(title="plain words")
    store.add_message(plain.id, role="user", text="nothing special here")
    special = store.create_conversation(title="It's 100% done")
    store.add_message(special.id, role="user", text="snake_case and back\\slash")

    assert store.search("%") != []
    assert {h.conversation_id for h in store.search("%")} == {special.id}
    assert {h.conversation_id for h in store.search("_")} == {special.id}
    assert {h.conversation_id for h in store.search("e_c")} == {special.id}
    assert {h.conversation_id for h in store.search("'s 100")} == {special.id}
    assert {h.conversation_id for h in store.search("\\")} == {special.id}
    assert store.search("x' OR '1'='1") == []
    assert store.search("   ") == []


def test_search_snippet_is_short_for_long_messages(store: HistoryStore) -> None:
    conversation = store.create_conversation(title="long")
    store.add_message(conversation.id, role="user", text="a" * 10_000 + " needle " + "b" * 10_000)
    (hit,) = store.search("needle")
    assert "needle" in hit.snippet
    assert len(hit.snippet) < 200


# -- export -------------------------------------------------------------------------------


def test_export_json_has_the_documented_fields(store: HistoryStore) -> None:
    conversation_id, (_q1, _a1, q2, _a2) = chat(store)
    store.rename(conversation_id, "Capitals")
    store.edit_message(q2, text="And of Spain?")
    data = json.loads(store.export_json(conversation_id))
    assert data["format"] == "hearth-conversation"
    assert data["format_version"] == 1
    assert data["title"] == "Capitals"
    assert data["system_prompt"] == "Be brief."
    assert data["created"].endswith("+00:00")
    assert [m["text"] for m in data["messages"]] == [
        "What is the capital of France?",
        "Paris.",
        "And of Spain?",
    ]
    assert set(data["messages"][0]) == {
        "id",
        "parent_id",
        "role",
        "text",
        "created",
        "status",
        "error",
        "model",
        "quantization",
        "backend",
        "prompt_tokens",
        "completion_tokens",
        "ttft_seconds",
        "tokens_per_second",
        "stop_reason",
    }
    everything = json.loads(store.export_json(conversation_id, all_branches=True))
    assert len(everything["messages"]) == 5


def test_export_markdown_reads_like_the_chat(store: HistoryStore) -> None:
    conversation = store.create_conversation(title="Poems", system_prompt="Rhyme.")
    store.add_message(conversation.id, role="user", text="A poem about tea")
    writer = store.begin_reply(conversation.id, model="stories260K", quantization="Q8_0")
    writer.append("Steam rises slow")
    writer.finish(stop_reason="user")
    text = store.export_markdown(conversation.id)
    assert text.startswith("# Poems\n")
    assert "Rhyme." in text
    assert text.index("A poem about tea") < text.index("Steam rises slow")
    assert "## Assistant (stories260K, Q8_0)" in text
    assert "interrupted" in text


# -- damaged files, newer files, migrations -----------------------------------------------


def test_a_file_that_is_not_sqlite_is_kept_aside_with_a_typed_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    junk = b"These are my notes, not a database.\n" * 200
    db_path.write_bytes(junk)
    with pytest.raises(HistoryCorruptError) as caught:
        HistoryStore.open(db_path)
    moved = caught.value.moved_to
    assert moved.read_bytes() == junk  # kept, byte for byte
    assert moved.parent == db_path.parent
    assert str(moved) in str(caught.value)
    assert not db_path.exists()
    # The next start gets a fresh, working history; the kept file stays.
    with HistoryStore.open(db_path) as fresh:
        assert fresh.list_conversations() == []
    assert moved.read_bytes() == junk


def test_a_damaged_database_is_kept_aside(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        for i in range(50):
            conversation = store.create_conversation(title=f"c{i}")
            store.add_message(conversation.id, role="user", text="words " * 500)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 4 * page] = b"\xa5" * (2 * page)  # scribble over two pages
    db_path.write_bytes(bytes(data))
    with pytest.raises(HistoryCorruptError) as caught:
        HistoryStore.open(db_path)
    assert caught.value.moved_to.read_bytes() == bytes(data)


def test_a_file_from_a_newer_hearth_is_refused_and_untouched(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        store.create_conversation(title="keep me")
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(HistoryVersionError):
        HistoryStore.open(db_path)
    assert db_path.read_bytes() == before


# The schema exactly as the first release writes it. Frozen here on purpose: if
# migration 1 is ever edited instead of adding migration 2, these tests fail.
VERSION_1_SQL = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', created REAL NOT NULL,
    updated REAL NOT NULL, system_prompt TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '{}', active_leaf INTEGER, deleted REAL);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    text TEXT NOT NULL DEFAULT '', model TEXT, quantization TEXT, backend TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, ttft REAL, tokens_per_second REAL,
    stop_reason TEXT,
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('complete', 'interrupted', 'error')),
    error TEXT, created REAL NOT NULL);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE TABLE drafts (conversation_id INTEGER PRIMARY KEY, text TEXT NOT NULL,
    updated REAL NOT NULL);
INSERT INTO conversations VALUES (1, 'Old chat', 1.0, 2.0, 'Be kind.',
    '{"backend": "local"}', 2, NULL);
INSERT INTO messages VALUES
    (1, 1, NULL, 'user', 'Hi from v1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     'complete', NULL, 1.0),
    (2, 1, 1, 'assistant', 'Hello!', 'tiny', 'Q8_0', 'local', 5, 2, 0.1, 20.0, 'eos',
     'complete', NULL, 2.0);
INSERT INTO drafts VALUES (1, 'unsent words', 3.0);
PRAGMA user_version = 1;
"""


def write_version_1(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(VERSION_1_SQL)
    conn.close()


def test_a_version_1_file_opens_with_every_row(db_path: Path) -> None:
    write_version_1(db_path)
    with HistoryStore.open(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        (conversation,) = store.list_conversations()
        assert (conversation.title, conversation.options) == ("Old chat", {"backend": "local"})
        assert [m.text for m in store.active_path(1)] == ["Hi from v1", "Hello!"]
        assert store.active_path(1)[1].tokens_per_second == 20.0
        assert store.active_path(1)[1].sources == ()  # written before replies had sources
        assert store.draft(1) == "unsent words"


def add_pinned(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE conversations SET pinned = 1 WHERE title = 'Old chat'")


MIGRATION_2 = Migration(
    SCHEMA_VERSION + 1,
    "pinned conversations",
    ("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0", add_pinned),
)


def test_a_version_1_file_migrates_to_version_2_without_losing_rows(db_path: Path) -> None:
    write_version_1(db_path)
    with HistoryStore.open(db_path, migrations=(*MIGRATIONS, MIGRATION_2)) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        assert [m.text for m in store.active_path(1)] == ["Hi from v1", "Hello!"]
        assert store.draft(1) == "unsent words"
        store.add_message(1, role="user", text="after the migration")
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT pinned FROM conversations WHERE id = 1").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM messages").fetchone() == (3,)
    conn.close()
    # Opening it again does not run migration 2 a second time.
    with HistoryStore.open(db_path, migrations=(*MIGRATIONS, MIGRATION_2)) as again:
        assert again.schema_version == SCHEMA_VERSION + 1


def test_a_failing_migration_changes_nothing(db_path: Path) -> None:
    write_version_1(db_path)

    def explode(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("simulated failure half way")

    broken = Migration(
        SCHEMA_VERSION + 1,
        "broken",
        ("ALTER TABLE conversations ADD COLUMN pinned INTEGER", explode),
    )
    with pytest.raises(HistoryError):
        HistoryStore.open(db_path, migrations=(*MIGRATIONS, broken))
    assert db_path.exists()  # a failed migration is not mistaken for corruption
    conn = sqlite3.connect(db_path)
    # The migrations before it were applied, each in its own transaction; it was not.
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(conversations)")]
    assert "pinned" not in columns
    assert conn.execute("SELECT count(*) FROM messages").fetchone() == (2,)
    conn.close()


# -- hearth history (the CLI over the same file) ------------------------------------------


def test_cli_lists_searches_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    with HistoryStore.open() as store:
        conversation_id, _ids = chat(store)
        store.rename(conversation_id, "Capitals")
    assert main(["history", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["title"]) == (conversation_id, "Capitals")

    assert main(["history", "search", "rome", "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["conversation_id"] == conversation_id

    out_file = tmp_path / "capitals.md"
    assert main(["history", "export", str(conversation_id), "-o", str(out_file)]) == 0
    assert out_file.read_text(encoding="utf-8").startswith("# Capitals\n")
    assert main(["history", "export", str(conversation_id), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Capitals"


def test_cli_export_of_a_missing_conversation_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    assert main(["history", "export", "42"]) == 1
    assert "no conversation 42" in capsys.readouterr().err
    assert main(["history", "export", "42", "--all-branches"]) == 2


# -- the observable Conversation model over the store -------------------------------------


def test_conversation_model_announces_streamed_pieces_and_persists(db_path: Path) -> None:
    from app.core.chat.conversation import Conversation, ConversationEvent

    events: list[ConversationEvent] = []
    with HistoryStore.open(db_path) as store:
        conversation = Conversation.create(store, system_prompt="Be brief.")
        unsubscribe = conversation.subscribe(events.append)
        conversation.set_draft("What is 2+2?")
        question = conversation.send("What is 2+2?")
        assert conversation.draft == ""
        reply = conversation.start_reply(model="stories260K")
        reply.append("4")
        reply.append(".")
        done = reply.finish(stop_reason="eos", completion_tokens=2)
        unsubscribe()
        conversation.rename("ignored by the unsubscribed listener")

    kinds = [(e.kind, e.message_id, e.text) for e in events]
    assert ("appended", question.id, "") in kinds
    assert [e.text for e in events if e.kind == "streamed"] == ["4", "."]
    assert kinds[-1] == ("updated", done.id, "")
    assert [m.text for m in conversation.messages] == ["What is 2+2?", "4."]
    assert conversation.messages[-1].status == "complete"
    with HistoryStore.open(db_path) as reopened:
        again = Conversation(reopened, conversation.id)
        assert [m.text for m in again.messages] == ["What is 2+2?", "4."]
        assert again.record.title == "ignored by the unsubscribed listener"


def test_conversation_model_edit_regenerate_and_versions(store: HistoryStore) -> None:
    from app.core.chat.conversation import Conversation

    conversation = Conversation.create(store)
    events: list[str] = []
    conversation.subscribe(lambda e: events.append(e.kind))
    first = conversation.send("Name a colour")
    reply = conversation.start_reply()
    reply.append("Red")
    old_reply = reply.finish()

    again = conversation.start_reply(regenerate=True)
    again.append("Blue")
    again.finish()
    assert [m.text for m in conversation.messages] == ["Name a colour", "Blue"]
    assert conversation.versions(again.message_id) == (2, 2)
    assert conversation.versions(old_reply.id) == (1, 2)

    edited = conversation.edit(first.id, "Name a fruit")
    assert [m.text for m in conversation.messages] == ["Name a fruit"]
    assert "reset" in events
    conversation.switch_branch(first.id)
    assert [m.text for m in conversation.messages] == ["Name a colour", "Blue"]
    assert conversation.versions(edited.id) == (2, 2)


def test_a_failed_send_keeps_the_draft(store: HistoryStore) -> None:
    from app.core.chat.conversation import Conversation

    conversation = Conversation.create(store)
    conversation.set_draft("precious words")
    store.close()  # the next write fails
    with pytest.raises(HistoryError):
        conversation.send("precious words")
    with HistoryStore.open(store.path) as reopened:
        assert reopened.draft(conversation.id) == "precious words"
        assert reopened.active_path(conversation.id) == []
