"""Importing other apps' chats: each format round trip, and every bad input changes nothing.

Each sample is built in the exact format its app writes, following that app's public
source (cited at each builder). An import is read back through HistoryStore and compared
on roles, order, timestamps, models, system prompts and branches.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.chat.history import HistoryStore, MessageRecord
from app.core.chat.importers import (
    ChatImportError,
    DamagedSourceError,
    SourceVersionError,
    UnknownSourceError,
    detect_source,
    import_chats,
    preview_import,
)
from app.core.chat.importers.jsonstream import JSONStreamError, iter_array
from app.core.errors import HearthError

T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(tmp_path / "history" / "history.sqlite3") as opened:
        yield opened


@pytest.fixture
def existing(store: HistoryStore) -> int:
    """A chat the user already has, which no failed import may touch."""
    conversation = store.create_conversation(title="Mine", system_prompt="Be kind.")
    store.add_message(conversation.id, role="user", text="my own words")
    store.add_message(conversation.id, role="assistant", text="my own reply", model="tiny")
    return conversation.id


def snapshot(store: HistoryStore) -> list[dict[str, Any]]:
    """Everything in the history, every branch, the bin too."""
    everything = store.list_conversations() + store.list_conversations(deleted=True)
    return [store.export_dict(c.id, all_branches=True) for c in everything]


def only_imported(store: HistoryStore, app: str) -> list[int]:
    return sorted(
        c.id
        for c in store.list_conversations()
        if (store.imported_from(c.id) or {}).get("app") == app
    )


def shape(messages: list[MessageRecord]) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in messages]


def assert_fails_cleanly(
    store: HistoryStore,
    path: Path,
    error: type[Exception],
    *,
    source: str | None = None,
) -> ChatImportError:
    before = snapshot(store)
    with pytest.raises(error) as caught:
        import_chats(store, path, source=source)
    assert snapshot(store) == before
    assert isinstance(caught.value, ChatImportError)
    assert "Nothing was imported" in caught.value.hint
    return caught.value


# -- GPT4All --------------------------------------------------------------------------------
#
# nomic-ai/gpt4all, gpt4all-chat/src: chatlistmodel.cpp (CHAT_FORMAT_MAGIC 0xF5D553CC,
# CHAT_FORMAT_VERSION 12, ChatsRestoreThread::run), chat.cpp (Chat::deserialize),
# chatllm.cpp (ChatLLM::deserialize: the model state of versions 1-10), chatmodel.h
# (ChatModel::deserialize, ChatItem labels) and chatmodel.cpp (ChatItem::deserialize and
# deserializeSubItems), tool.cpp (ToolCallInfo::deserialize). QDataStream is big-endian;
# QString is a quint32 byte count then UTF-16BE.


class QWriter:
    def __init__(self) -> None:
        self.data = bytearray()

    def pack(self, fmt: str, value: Any) -> None:
        self.data += struct.pack(fmt, value)

    def string(self, text: str) -> None:
        raw = text.encode("utf-16-be")
        self.pack(">I", len(raw))
        self.data += raw

    def byte_array(self, raw: bytes) -> None:
        self.pack(">I", len(raw))
        self.data += raw

    def string_list(self, texts: list[str]) -> None:
        self.pack(">I", len(texts))
        for text in texts:
            self.string(text)


Item = tuple[str, str, bool, bool, list[Any]]  # label, value, stopped, error, sub-items


def gpt4all_sub_item(w: QWriter, label: str, value: str, children: list[Any]) -> None:
    w.string(label)
    w.string(value)
    if label == "ToolCall: ":
        w.string("javascript_interpreter")  # ToolCallInfo: name
        w.pack(">q", 1)  # params
        w.string("code")
        w.pack(">i", 0)  # ToolEnums::ParamType
        w.pack(">I", 10)  # QVariant: QString
        w.pack(">b", 0)
        w.string("2+2")
        w.string("4")  # result
        w.pack(">i", 0)  # error
        w.string("")  # error string
    elif label == "Think: ":
        w.pack(">i", 3)  # thinking time
    w.pack(">q", len(children))
    for child in children:
        gpt4all_sub_item(w, *child)


def gpt4all_chat(
    version: int, items: list[Item], *, keep_state: bool = True, chat_id: str = "1f0c1a3e-uuid"
) -> bytes:
    w = QWriter()
    w.pack(">I", 0xF5D553CC)
    w.pack(">i", version)
    w.pack(">q", int(T0))  # creation date, Unix seconds
    w.string(chat_id)
    w.string("Generated name")
    w.string("Capitals quiz")  # the name the user gave
    w.string("Llama-3.2-3B-Instruct" if version >= 5 else "ggml-model.bin")
    if version >= 3:
        w.string_list(["Notes"])
    if version < 11:  # ChatLLM state
        if version >= 6:
            w.pack(">?", keep_state)
        if version >= 2:
            w.pack(">i", 2)  # model type
            w.pack(">i", 0)  # state version
        w.string("")
        w.string("")
        w.pack(">I", 42)
        if keep_state or version < 6:
            if version < 4:
                w.pack(">I", 0)
            w.pack(">I", 5)  # n_past
            if version >= 7:
                w.pack(">I", 2048)  # n_ctx
            if version < 9:
                w.pack(">Q", 3)
                w.data += b"\0" * 12  # logits
            w.pack(">Q", 2)
            w.data += b"\0" * 8  # token cache
            w.byte_array(b"kv state bytes")
    w.pack(">i", len(items))
    for index, (label, value, stopped, error, sub_items) in enumerate(items):
        if version < 12:
            w.pack(">i", index)
        w.string(label)
        w.string(value)
        if version < 10:
            w.string("")  # prompt
        w.string("")  # newResponse
        w.pack(">?", label == "Response: ")  # isCurrentResponse
        w.pack(">?", stopped)
        w.pack(">?", False)
        w.pack(">?", False)
        if version >= 11 and label == "Response: ":
            w.pack(">?", error)
        if version >= 8:
            w.pack(">q", 1)
            for text in ("Notes", "/n/a.txt", "a.txt", "A", "Me", "2024", "an excerpt"):
                w.string(text)
            for number in (1, -1, -1):
                w.pack(">i", number)
        elif version >= 3:
            w.string("1. In a.txt. [Context](context://1)")
            w.string_list(["an excerpt"])
        if version >= 10:
            w.pack(">q", 1 if label == "Prompt: " else 0)
            if label == "Prompt: ":
                w.byte_array(b"file:///n/a.txt")
                w.byte_array(b"attached text")
        if version >= 12:
            w.pack(">q", len(sub_items))
            for sub in sub_items:
                gpt4all_sub_item(w, *sub)
    return bytes(w.data)


def gpt4all_items(version: int) -> list[Item]:
    answer: list[Any] = []
    if version >= 12:
        answer = [
            ("Think: ", "A sum.", []),
            ("Text: ", "Let me check. ", []),
            ("ToolCall: ", "<tool_call>2+2</tool_call>", [("ToolResponse: ", "4", [])]),
            ("Text: ", "It is 4.", []),
        ]
    return [
        ("Prompt: ", "Capital of France?", False, False, []),
        ("Response: ", "Paris.", False, False, []),
        ("Prompt: ", "And 2+2?", False, False, []),
        ("Response: ", "" if answer else "It is 4.", True, False, answer),
        ("Prompt: ", "Once more", False, False, []),
        ("Response: ", "The model failed to load.", False, version >= 11, []),
    ]


@pytest.mark.parametrize("version", range(1, 13))
def test_gpt4all_chat_files_of_every_version_round_trip(
    store: HistoryStore, tmp_path: Path, version: int
) -> None:
    file = tmp_path / "gpt4all-1f0c1a3e-uuid.chat"
    file.write_bytes(gpt4all_chat(version, gpt4all_items(version), keep_state=version % 2 == 0))
    assert detect_source(file).name == "gpt4all"
    result = import_chats(store, file)
    assert (result.conversations, result.messages) == (1, 6)
    (conversation_id,) = only_imported(store, "gpt4all")
    conversation = store.conversation(conversation_id)
    assert (conversation.title, conversation.created) == ("Capitals quiz", T0)
    assert store.imported_from(conversation_id) == {
        "app": "gpt4all",
        "file": file.name,
        "key": "gpt4all:1f0c1a3e-uuid",
    }
    messages = store.active_path(conversation_id)
    assert shape(messages) == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "And 2+2?"),
        (
            "assistant",
            "It is 4." if version < 12 else "<think>A sum.</think>\nLet me check. It is 4.",
        ),
        ("user", "Once more"),
        ("assistant", "The model failed to load."),
    ]
    model = "Llama-3.2-3B-Instruct" if version >= 5 else "ggml-model.bin"
    assert [m.model for m in messages] == [None, model] * 3
    assert [m.status for m in messages] == [
        "complete",
        "complete",
        "complete",
        "interrupted",  # the user stopped it
        "complete",
        "error" if version >= 11 else "complete",
    ]
    assert {m.created for m in messages} == {T0}


def test_a_gpt4all_folder_imports_every_chat_and_a_second_time_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    folder = tmp_path / "nomic.ai" / "GPT4All"
    folder.mkdir(parents=True)
    for version in (3, 11, 12):
        data = gpt4all_chat(version, gpt4all_items(version), chat_id=f"chat-{version}")
        (folder / f"gpt4all-chat-{version:06}.chat").write_bytes(data)
    (folder / "Llama-3.2-3B-Instruct.gguf").write_bytes(b"GGUF not a chat")
    preview = preview_import(store, folder)
    assert (preview.source, preview.conversations, preview.messages) == ("gpt4all", 3, 18)
    assert len(store.list_conversations()) == 1  # a preview writes nothing
    first = import_chats(store, folder)
    assert (first.conversations, first.messages, first.already_there) == (3, 18, 0)
    after_first = snapshot(store)
    second = import_chats(store, folder)
    assert (second.conversations, second.messages, second.already_there) == (0, 0, 3)
    assert snapshot(store) == after_first
    assert preview_import(store, folder).already_there == 3


def test_a_gpt4all_file_from_a_newer_version_is_refused(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    file = tmp_path / "gpt4all-new.chat"
    file.write_bytes(
        gpt4all_chat(12, gpt4all_items(12)).replace(struct.pack(">i", 12), struct.pack(">i", 13), 1)
    )
    error = assert_fails_cleanly(store, file, SourceVersionError)
    assert "newer GPT4All (chat format 13; Hearth reads formats 1 to 12)" in str(error)


def test_a_cut_short_gpt4all_file_fails_at_every_cut(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    whole = gpt4all_chat(12, gpt4all_items(12))
    file = tmp_path / "gpt4all-cut.chat"
    for cut in range(0, len(whole) - 1, 13):
        file.write_bytes(whole[:cut])
        error = assert_fails_cleanly(store, file, DamagedSourceError, source="gpt4all")
        assert "cut short" in str(error)
    file.write_bytes(whole[:-1])
    assert_fails_cleanly(store, file, DamagedSourceError)


def test_a_damaged_gpt4all_file_fails_with_what_is_wrong(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    file = tmp_path / "gpt4all-bad.chat"
    whole = gpt4all_chat(12, gpt4all_items(12))
    file.write_bytes(
        whole.replace("Response: ".encode("utf-16-be"), "Respons?: ".encode("utf-16-be"), 1)
    )
    assert "unknown kind 'Respons?: '" in str(assert_fails_cleanly(store, file, DamagedSourceError))
    file.write_bytes(whole + b"\0\0\0\0")
    assert "data after the last message" in str(
        assert_fails_cleanly(store, file, DamagedSourceError)
    )
    # A length field far past the end of the file is not believed (nor allocated).
    at = whole.index("Paris.".encode("utf-16-be")) - 4
    file.write_bytes(whole[:at] + struct.pack(">I", 0x7FFFFFF0) + whole[at + 4 :])
    assert_fails_cleanly(store, file, DamagedSourceError)


def test_one_damaged_chat_in_a_gpt4all_folder_imports_none_of_them(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    folder = tmp_path / "GPT4All"
    folder.mkdir()
    (folder / "gpt4all-a.chat").write_bytes(gpt4all_chat(12, gpt4all_items(12)))
    (folder / "gpt4all-b.chat").write_bytes(gpt4all_chat(12, gpt4all_items(12))[:-20])
    assert "gpt4all-b.chat" in str(assert_fails_cleanly(store, folder, DamagedSourceError))


# -- LM Studio ------------------------------------------------------------------------------
#
# LM Studio's app is closed source; the format follows the conversation files it writes
# as read by YorkieDev/lm-studio-conversation-converter, script.js (name, createdAt,
# lastUsedModel.identifier, systemPrompt, perChatPredictionConfig.fields
# llm.prediction.systemPrompt, messages[].versions[currentlySelected], singleStep content
# parts, multiStep steps of type contentBlock with genInfo).


def lmstudio_conversation() -> dict[str, Any]:
    def user(text: str) -> dict[str, Any]:
        return {"type": "singleStep", "role": "user", "content": [{"type": "text", "text": text}]}

    def assistant(text: str, model: str) -> dict[str, Any]:
        return {
            "type": "multiStep",
            "role": "assistant",
            "senderInfo": {"senderName": model},
            "steps": [
                {
                    "type": "contentBlock",
                    "stepIdentifier": "1",
                    "content": [{"type": "text", "text": text}],
                    "genInfo": {"indexedModelIdentifier": model, "stats": {"tokensPerSecond": 9}},
                }
            ],
        }

    return {
        "name": "Soup ideas",
        "pinned": False,
        "createdAt": 1_700_000_000_500,
        "tokenCount": 120,
        "systemPrompt": "",
        "lastUsedModel": {"identifier": "qwen2.5-7b-instruct", "indexedModelIdentifier": "x"},
        "perChatPredictionConfig": {
            "fields": [{"key": "llm.prediction.systemPrompt", "value": "You are a chef."}]
        },
        "messages": [
            {"versions": [user("A soup?")], "currentlySelected": 0},
            {
                "versions": [
                    assistant("Tomato soup.", "qwen2.5-7b-instruct"),
                    assistant("Leek soup.", "llama-3.2-3b"),
                ],
                "currentlySelected": 1,
            },
            {"versions": [user("With bread?"), user("With rice?")], "currentlySelected": 0},
            {"versions": [assistant("Yes, sourdough.", "llama-3.2-3b")], "currentlySelected": 0},
        ],
    }


def test_lmstudio_conversations_round_trip_with_versions_as_branches(
    store: HistoryStore, tmp_path: Path
) -> None:
    folder = tmp_path / ".lmstudio" / "conversations"
    (folder / "Cooking").mkdir(parents=True)
    file = folder / "Cooking" / "1700000000500.conversation.json"
    file.write_text(json.dumps(lmstudio_conversation()), encoding="utf-8")
    (folder / "notes.json").write_text("{}", encoding="utf-8")
    assert detect_source(file).name == detect_source(folder).name == "lmstudio"
    result = import_chats(store, folder)
    assert (result.conversations, result.messages) == (1, 6)
    (conversation_id,) = only_imported(store, "lmstudio")
    conversation = store.conversation(conversation_id)
    assert (conversation.title, conversation.system_prompt) == ("Soup ideas", "You are a chef.")
    assert conversation.created == 1_700_000_000.5
    origin = store.imported_from(conversation_id) or {}
    assert origin["file"] == "Cooking/1700000000500.conversation.json"
    path = store.active_path(conversation_id)
    assert shape(path) == [
        ("user", "A soup?"),
        ("assistant", "Leek soup."),  # the selected version
        ("user", "With bread?"),
        ("assistant", "Yes, sourdough."),
    ]
    assert [m.model for m in path] == [None, "llama-3.2-3b", None, "llama-3.2-3b"]
    assert shape(store.siblings(path[1].id)) == [
        ("assistant", "Tomato soup."),
        ("assistant", "Leek soup."),
    ]
    assert store.siblings(path[1].id)[0].model == "qwen2.5-7b-instruct"
    assert shape(store.siblings(path[2].id)) == [("user", "With bread?"), ("user", "With rice?")]
    assert import_chats(store, file).already_there == 1


def test_damaged_lmstudio_files_import_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    file = tmp_path / "1.conversation.json"
    text = json.dumps(lmstudio_conversation())
    file.write_text(text[: len(text) // 2], encoding="utf-8")
    assert "not a complete LM Studio file" in str(
        assert_fails_cleanly(store, file, DamagedSourceError, source="lmstudio")
    )
    broken = lmstudio_conversation()
    broken["messages"][2] = {"currentlySelected": 0}
    file.write_text(json.dumps(broken), encoding="utf-8")
    assert "Message 3" in str(assert_fails_cleanly(store, file, DamagedSourceError))


# -- Jan ------------------------------------------------------------------------------------
#
# janhq/jan: core/src/types/thread/threadEntity.ts (Thread: id, title, assistants with
# model and instructions, created, updated), core/src/types/message/messageEntity.ts
# (ThreadMessage: id, role, content of ThreadContent {type, text: {value, annotations}},
# status ready|pending|error|stopped, created_at), src-tauri/src/core/threads/helpers.rs
# (messages.jsonl: one JSON message per line) and utils.rs (threads/<id>/thread.json).


def jan_thread(folder: Path, thread_id: str, *, milliseconds: bool) -> None:
    scale = 1000 if milliseconds else 1
    (folder / thread_id).mkdir(parents=True)
    thread = {
        "id": thread_id,
        "object": "thread",
        "title": f"Thread {thread_id}",
        "assistants": [
            {
                "assistant_id": "jan",
                "assistant_name": "Jan",
                "model": {"id": "llama3.2-3b-instruct", "settings": {}, "parameters": {}},
                "instructions": "You are Jan.",
            }
        ],
        "created": int(T0 * scale),
        "updated": int((T0 + 30) * scale),
        "metadata": {},
    }
    (folder / thread_id / "thread.json").write_text(json.dumps(thread, indent=2), "utf-8")

    def message(n: int, role: str, text: str, status: str = "ready") -> dict[str, Any]:
        return {
            "id": f"01J{n}",
            "object": "thread.message",
            "thread_id": thread_id,
            "assistant_id": "jan",
            "role": role,
            "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
            "status": status,
            "created_at": int((T0 + n) * scale),
            "completed_at": int((T0 + n) * scale),
            "metadata": {},
        }

    greeting = message(2, "assistant", "Hello!")
    greeting["content"].insert(
        0, {"type": "reasoning", "text": {"value": "A greeting.", "annotations": []}}
    )
    greeting["content"].append({"type": "tool_call", "tool_name": "search", "input": {}})
    lines = [
        message(1, "user", "Hello Jan"),
        greeting,
        message(3, "user", "Tell me a story"),
        message(4, "assistant", "Once upon", status="stopped"),
    ]
    (folder / thread_id / "messages.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), "utf-8"
    )


def test_jan_threads_round_trip(store: HistoryStore, tmp_path: Path) -> None:
    data = tmp_path / "Jan" / "data"
    jan_thread(data / "threads", "jan_1700000000", milliseconds=False)
    jan_thread(data / "threads", "01JB5XYZ", milliseconds=True)
    assert detect_source(data).name == "jan"
    assert detect_source(data / "threads" / "01JB5XYZ" / "thread.json").name == "jan"
    result = import_chats(store, data)
    assert (result.conversations, result.messages) == (2, 8)
    for conversation_id in only_imported(store, "jan"):
        conversation = store.conversation(conversation_id)
        assert conversation.system_prompt == "You are Jan."
        assert (conversation.created, conversation.updated) == (T0, T0 + 30)
        messages = store.active_path(conversation_id)
        assert shape(messages) == [
            ("user", "Hello Jan"),
            ("assistant", "<think>A greeting.</think>\nHello!"),
            ("user", "Tell me a story"),
            ("assistant", "Once upon"),
        ]
        assert [m.created for m in messages] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4]
        assert [m.model for m in messages] == [None, "llama3.2-3b-instruct"] * 2
        assert messages[-1].status == "interrupted"
    files = sorted((store.imported_from(i) or {})["file"] for i in only_imported(store, "jan"))
    assert files == ["01JB5XYZ/thread.json", "jan_1700000000/thread.json"]


def test_a_cut_short_jan_thread_imports_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    threads = tmp_path / "threads"
    jan_thread(threads, "a", milliseconds=True)
    jan_thread(threads, "b", milliseconds=True)
    jsonl = threads / "b" / "messages.jsonl"
    jsonl.write_text(jsonl.read_text("utf-8")[:-40], "utf-8")
    assert "Line 4 of b/messages.jsonl" in str(
        assert_fails_cleanly(store, threads, DamagedSourceError)
    )
    (threads / "b" / "thread.json").write_text('{"id": "b", "title": ', "utf-8")
    assert_fails_cleanly(store, threads, DamagedSourceError)


# -- Ollama ---------------------------------------------------------------------------------
#
# ollama/ollama: app/store/schema.sql (the first released schema, version 2) and
# app/store/database.go (currentSchemaVersion 18: chats.browser_state, messages.tool_result;
# times written by mattn/go-sqlite3 as "2006-01-02 15:04:05.999999999-07:00" or defaulted by
# CURRENT_TIMESTAMP; store.go: the file is db.sqlite in ~/.ollama, ~/Library/Application
# Support/Ollama or %LOCALAPPDATA%\Ollama).

OLLAMA_SCHEMA = """
CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), device_id TEXT NOT NULL DEFAULT '',
    schema_version INTEGER NOT NULL DEFAULT 18);
INSERT INTO settings (id) VALUES (1);
CREATE TABLE chats (id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, browser_state TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id TEXT NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '', thinking TEXT NOT NULL DEFAULT '',
    stream BOOLEAN NOT NULL DEFAULT 0, model_name TEXT, model_cloud BOOLEAN,
    model_ollama_host BOOLEAN, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, thinking_time_start TIMESTAMP,
    thinking_time_end TIMESTAMP, tool_result TEXT,
    FOREIGN KEY (chat_id) REFERENCES chats(id) ON DELETE CASCADE);
CREATE INDEX idx_messages_chat_id ON messages(chat_id);
CREATE TABLE tool_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id INTEGER NOT NULL,
    type TEXT NOT NULL, function_name TEXT NOT NULL, function_arguments TEXT NOT NULL,
    function_result TEXT);
"""


def ollama_database(file: Path) -> None:
    conn = sqlite3.connect(file)
    conn.executescript(OLLAMA_SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "INSERT INTO chats (id, title, created_at) VALUES"
        " ('c1', 'Why is the sky blue?', '2023-11-14 22:13:20'),"
        " ('c2', '', '2023-11-15 00:00:00.5+01:00')"
    )
    rows = [
        ("c1", "system", "Answer briefly.", "", None, "2023-11-14 22:13:20"),
        ("c1", "user", "Why is the sky blue?", "", None, "2023-11-14 22:13:21.123456789+00:00"),
        (
            "c1",
            "assistant",
            "Rayleigh scattering.",
            "Light scatters.",
            "qwen3:4b",
            "2023-11-14 22:13:25",
        ),
        ("c1", "tool", "{}", "", None, "2023-11-14 22:13:26"),
        ("c2", "user", "Hi", "", None, "2023-11-15 00:00:01+01:00"),
        ("c2", "assistant", "Hello!", "", "llama3.2", "2023-11-15 00:00:02+01:00"),
    ]
    conn.executemany(
        "INSERT INTO messages (chat_id, role, content, thinking, model_name, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*row, row[-1]) for row in rows],
    )
    conn.commit()
    conn.close()


def test_the_ollama_database_round_trips(store: HistoryStore, tmp_path: Path) -> None:
    folder = tmp_path / ".ollama"
    folder.mkdir()
    ollama_database(folder / "db.sqlite")
    assert detect_source(folder).name == detect_source(folder / "db.sqlite").name == "ollama"
    result = import_chats(store, folder)
    assert (result.conversations, result.messages) == (2, 4)
    sky, hi = (store.conversation(i) for i in only_imported(store, "ollama"))
    assert (sky.title, sky.system_prompt, sky.created) == (
        "Why is the sky blue?",
        "Answer briefly.",
        T0,
    )
    messages = store.active_path(sky.id)
    assert shape(messages) == [
        ("user", "Why is the sky blue?"),
        ("assistant", "<think>Light scatters.</think>\nRayleigh scattering."),
    ]
    assert [m.created for m in messages] == [pytest.approx(T0 + 1.123456), T0 + 5]
    assert messages[1].model == "qwen3:4b"
    assert hi.title == "Hi"  # Ollama titles later; Hearth takes the first message meanwhile
    assert hi.created == pytest.approx(T0 + 3600 * 2 - 3600 + 0.5)
    assert [m.model for m in store.active_path(hi.id)] == [None, "llama3.2"]
    assert import_chats(store, folder / "db.sqlite").already_there == 2


def test_a_sqlite_file_that_is_not_ollamas_and_a_damaged_one_import_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.commit()
    conn.close()
    assert_fails_cleanly(store, other, UnknownSourceError)
    assert "not Ollama's (no chats table)" in str(
        assert_fails_cleanly(store, other, UnknownSourceError, source="ollama")
    )
    damaged = tmp_path / "db.sqlite"
    ollama_database(damaged)
    raw = bytearray(damaged.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree, overwritten
    damaged.write_bytes(bytes(raw))
    for source in ("ollama", None):
        error = assert_fails_cleanly(store, damaged, DamagedSourceError, source=source)
        assert "db.sqlite cannot be read as Ollama's database: database disk image" in str(error)


def test_an_ollama_database_locked_by_the_app_says_so_and_imports_nothing(
    store: HistoryStore, tmp_path: Path, existing: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.chat.importers import ollama

    file = tmp_path / "db.sqlite"
    ollama_database(file)
    holder = sqlite3.connect(file, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("BEGIN EXCLUSIVE")  # as a writer in rollback-journal mode holds it
    monkeypatch.setattr(ollama, "BUSY_TIMEOUT_S", 0.1)
    try:
        error = assert_fails_cleanly(store, file, ChatImportError, source="ollama")
        assert "holds it locked; try again" in str(error)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert import_chats(store, file).conversations == 2


# -- Open WebUI -----------------------------------------------------------------------------
#
# open-webui/open-webui: backend/open_webui/models/chats.py (ChatModel rows: id, title,
# chat, created_at, updated_at; "Export chats" downloads the list of them as JSON); the chat
# object (history.messages with parentId/childrenIds, history.currentId, params.system) as
# in yetanotherchris/openwebui-importer, examples/webui-json.json.


def openwebui_export() -> list[dict[str, Any]]:
    def node(
        id_: str,
        parent: str | None,
        children: list[str],
        role: str,
        content: str,
        ts: int,
        model: str | None = None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": id_,
            "parentId": parent,
            "childrenIds": children,
            "role": role,
            "content": content,
            "timestamp": ts,
        }
        if role == "assistant":
            item |= {"model": model, "modelName": model, "modelIdx": 0, "done": True}
        else:
            item["models"] = ["llama3.1:8b"]
        return item

    messages = {
        "u1": node("u1", None, ["a1", "a2"], "user", "Name a planet", 1_700_000_001),
        "a1": node("a1", "u1", ["u2"], "assistant", "Mars.", 1_700_000_002, "llama3.1:8b"),
        "a2": node("a2", "u1", [], "assistant", "Venus.", 1_700_000_005, "gemma2:9b"),
        "u2": node("u2", "a1", ["a3"], "user", "Why red?", 1_700_000_003),
        "a3": node("a3", "u2", [], "assistant", "Iron oxide.", 1_700_000_004, "llama3.1:8b"),
    }
    chat = {
        "id": "",
        "title": "Planets",
        "models": ["llama3.1:8b"],
        "params": {"system": "You are an astronomer."},
        "history": {"messages": messages, "currentId": "a3"},
        "messages": [messages[k] for k in ("u1", "a1", "u2", "a3")],
        "tags": [],
        "timestamp": 1_700_000_000_000,
        "files": [],
    }
    return [
        {
            "id": "3b0c-chat-id",
            "user_id": "user-1",
            "title": "Planets",
            "chat": chat,
            "created_at": 1_700_000_000,
            "updated_at": 1_700_000_010,
            "share_id": None,
            "archived": False,
            "pinned": False,
            "meta": {},
            "folder_id": None,
        }
    ]


def test_an_open_webui_export_round_trips_with_branches(
    store: HistoryStore, tmp_path: Path
) -> None:
    file = tmp_path / "chat-export-1700000010.json"
    file.write_text(json.dumps(openwebui_export()), encoding="utf-8")
    assert detect_source(file).name == "openwebui"
    result = import_chats(store, file)
    assert (result.conversations, result.messages) == (1, 5)
    (conversation_id,) = only_imported(store, "openwebui")
    conversation = store.conversation(conversation_id)
    assert (conversation.title, conversation.system_prompt) == ("Planets", "You are an astronomer.")
    assert (conversation.created, conversation.updated) == (T0, T0 + 10)
    path = store.active_path(conversation_id)
    assert shape(path) == [
        ("user", "Name a planet"),
        ("assistant", "Mars."),
        ("user", "Why red?"),
        ("assistant", "Iron oxide."),
    ]
    assert [m.created for m in path] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    venus = [m for m in store.siblings(path[1].id) if m.text == "Venus."]
    assert [(m.model, m.created) for m in venus] == [("gemma2:9b", T0 + 5)]
    # A single chat saved as JSON (the bare chat object) is read too.
    single = tmp_path / "chat-Planets.json"
    single.write_text(json.dumps(openwebui_export()[0]["chat"]), encoding="utf-8")
    assert import_chats(store, single).conversations == 1


def test_a_cut_short_open_webui_export_imports_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    file = tmp_path / "chat-export.json"
    text = json.dumps(openwebui_export() * 3)
    file.write_text(text[:-30], encoding="utf-8")
    assert "cut short" in str(
        assert_fails_cleanly(store, file, DamagedSourceError, source="openwebui")
    )


# -- ChatGPT --------------------------------------------------------------------------------
#
# ChatGPT's data export, conversations.json: a list of conversations with title,
# create_time, update_time, mapping (node id -> {id, message, parent, children}),
# current_node and conversation_id; a message has author.role, create_time, content
# {content_type: text | multimodal_text | user_editable_context | code..., parts},
# status and metadata.model_slug. As read by yetanotherchris/openwebui-importer,
# convert_chatgpt.py (mapping, client-created-root, parts) and its schemas/chatgpt-schema.json.


def chatgpt_node(
    node_id: str,
    parent: str | None,
    children: list[str],
    role: str | None,
    text: str = "",
    at: float | None = None,
    *,
    model: str | None = None,
    content: dict[str, Any] | None = None,
    hidden: bool = False,
) -> dict[str, Any]:
    message = None
    if role is not None:
        metadata: dict[str, Any] = {}
        if model:
            metadata["model_slug"] = model
        if hidden:
            metadata["is_visually_hidden_from_conversation"] = True
        message = {
            "id": node_id,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": at,
            "update_time": None,
            "content": content or {"content_type": "text", "parts": [text]},
            "status": "finished_successfully",
            "end_turn": True,
            "weight": 1.0,
            "metadata": metadata,
            "recipient": "all",
        }
    return {"id": node_id, "message": message, "parent": parent, "children": children}


def chatgpt_conversation(conversation_id: str = "6650-aaaa") -> dict[str, Any]:
    nodes = [
        chatgpt_node("client-created-root", None, ["sys"], None),
        chatgpt_node("sys", "client-created-root", ["ctx"], "system", "", hidden=True),
        chatgpt_node(
            "ctx",
            "sys",
            ["u1"],
            "user",
            at=T0,
            content={
                "content_type": "user_editable_context",
                "user_profile": "I am a gardener.",
                "user_instructions": "Answer in one line.",
            },
            hidden=True,
        ),
        chatgpt_node("u1", "ctx", ["a1", "a2"], "user", "When to plant garlic?", T0 + 1),
        chatgpt_node("a1", "u1", [], "assistant", "In spring.", T0 + 2, model="gpt-4o"),
        chatgpt_node("a2", "u1", ["t1"], "assistant", "In autumn.", T0 + 3, model="gpt-4o"),
        chatgpt_node("t1", "a2", ["u2"], "tool", "search results", T0 + 4),
        chatgpt_node(
            "u2",
            "t1",
            ["a3"],
            "user",
            at=T0 + 5,
            content={
                "content_type": "multimodal_text",
                "parts": [{"asset_pointer": "file-service://x"}, "How deep?"],
            },
        ),
        chatgpt_node("a3", "u2", [], "assistant", "Two inches.", T0 + 6, model="o3"),
    ]
    return {
        "title": "Garlic",
        "create_time": T0,
        "update_time": T0 + 60,
        "mapping": {node["id"]: node for node in nodes},
        "moderation_results": [],
        "current_node": "a3",
        "conversation_id": conversation_id,
        "id": conversation_id,
    }


def test_a_chatgpt_export_round_trips_with_branches(store: HistoryStore, tmp_path: Path) -> None:
    file = tmp_path / "conversations.json"
    file.write_text(json.dumps([chatgpt_conversation()]), encoding="utf-8")
    assert detect_source(file).name == "chatgpt"
    result = import_chats(store, file)
    assert (result.conversations, result.messages) == (1, 5)
    (conversation_id,) = only_imported(store, "chatgpt")
    conversation = store.conversation(conversation_id)
    assert conversation.title == "Garlic"
    assert conversation.system_prompt == "I am a gardener.\n\nAnswer in one line."
    assert (conversation.created, conversation.updated) == (T0, T0 + 60)
    path = store.active_path(conversation_id)
    assert shape(path) == [
        ("user", "When to plant garlic?"),
        ("assistant", "In autumn."),
        ("user", "How deep?"),  # after the tool's output, which is left out
        ("assistant", "Two inches."),
    ]
    assert [m.created for m in path] == [T0 + 1, T0 + 3, T0 + 5, T0 + 6]
    assert [m.model for m in path] == [None, "gpt-4o", None, "o3"]
    assert shape(store.siblings(path[1].id)) == [
        ("assistant", "In spring."),
        ("assistant", "In autumn."),
    ]
    assert store.imported_from(conversation_id) == {
        "app": "chatgpt",
        "file": "conversations.json",
        "key": "chatgpt:6650-aaaa",
    }


def test_the_chatgpt_export_zip_is_read_as_it_is(store: HistoryStore, tmp_path: Path) -> None:
    archive = tmp_path / "export-2026-01-01.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("conversations.json", json.dumps([chatgpt_conversation()]))
        zipped.writestr("chat.html", "<html></html>")
    assert detect_source(archive).name == "chatgpt"
    assert import_chats(store, archive).conversations == 1


def test_a_damaged_chatgpt_zip_imports_nothing(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("conversations.json", json.dumps([chatgpt_conversation()] * 50))
    raw = bytearray(archive.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)  # inside the compressed conversations.json
    archive.write_bytes(bytes(raw))
    error = assert_fails_cleanly(store, archive, DamagedSourceError, source="chatgpt")
    assert "export.zip" in str(error)


def test_a_chatgpt_export_damaged_in_its_last_chat_imports_none_of_them(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    file = tmp_path / "conversations.json"
    good = [chatgpt_conversation(f"id-{n}") for n in range(3)]
    text = json.dumps(good)
    file.write_text(text[:-200], encoding="utf-8")
    assert "cut short" in str(assert_fails_cleanly(store, file, DamagedSourceError))
    file.write_text(text.replace('"parts": ["Two inches."]', '"parts": ["Two inches."', 1), "utf-8")
    assert_fails_cleanly(store, file, UnknownSourceError)  # its first chat is not readable
    assert_fails_cleanly(store, file, DamagedSourceError, source="chatgpt")
    broken = json.dumps([*good, {"title": "no mapping"}])
    file.write_text(broken, encoding="utf-8")
    assert "Conversation 4" in str(assert_fails_cleanly(store, file, DamagedSourceError))


def test_importing_the_same_export_twice_adds_nothing_new(
    store: HistoryStore, tmp_path: Path
) -> None:
    file = tmp_path / "conversations.json"
    file.write_text(json.dumps([chatgpt_conversation("one")]), encoding="utf-8")
    assert import_chats(store, file).conversations == 1
    # A later export holds the old chat and a new one: only the new one comes in.
    file.write_text(json.dumps([chatgpt_conversation("one"), chatgpt_conversation("two")]), "utf-8")
    preview = preview_import(store, file)
    assert (preview.conversations, preview.already_there, preview.titles) == (1, 1, ("Garlic",))
    result = import_chats(store, file)
    assert (result.conversations, result.already_there) == (1, 1)
    # Deleting an imported chat does not bring it back on the next import.
    store.delete(only_imported(store, "chatgpt")[0])
    assert import_chats(store, file).conversations == 0


# -- wrong formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
        ("notes.txt", b"Just some notes.\n"),
        ("empty.json", b""),
        ("settings.json", json.dumps({"theme": "dark", "messages": 3}).encode()),
        ("list.json", json.dumps([1, 2, 3]).encode()),
        ("latin1.json", "caf\xe9".encode("latin-1")),
    ],
)
def test_a_file_of_no_known_format_is_refused_clearly(
    store: HistoryStore, tmp_path: Path, existing: int, name: str, content: bytes
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    error = assert_fails_cleanly(store, file, UnknownSourceError)
    assert "does not recognise" in str(error) and name in str(error)


def test_a_file_given_as_the_wrong_app_is_refused_clearly(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    chat = tmp_path / "gpt4all-x.chat"
    chat.write_bytes(gpt4all_chat(12, gpt4all_items(12)))
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([chatgpt_conversation()]), encoding="utf-8")
    assert "not a ChatGPT export" in str(
        assert_fails_cleanly(store, chat, UnknownSourceError, source="chatgpt")
    )
    assert "not a GPT4All chat file" in str(
        assert_fails_cleanly(store, export, UnknownSourceError, source="gpt4all")
    )
    assert_fails_cleanly(store, export, UnknownSourceError, source="openwebui")
    assert_fails_cleanly(store, export, DamagedSourceError, source="lmstudio")
    assert "holds no Jan chats" in str(
        assert_fails_cleanly(store, tmp_path, UnknownSourceError, source="jan")
    )
    assert "nothing at" in str(assert_fails_cleanly(store, tmp_path / "missing", ChatImportError))


def test_a_hearth_archive_goes_to_the_archive_import(
    store: HistoryStore, tmp_path: Path, existing: int
) -> None:
    from app.core.chat.vault_archive import export_archive

    archive = tmp_path / "hearth-export.zip"
    export_archive(store, archive)
    preview = preview_import(store, archive)
    assert (preview.source, preview.label, preview.conversations) == ("hearth", "Hearth archive", 1)
    result = import_chats(store, archive)  # the chat is there already: skipped
    assert (result.source, result.conversations, result.already_there) == ("hearth", 0, 1)
    with HistoryStore.open(tmp_path / "other" / "history.sqlite3") as other:
        result = import_chats(other, archive)
        assert (result.conversations, result.messages) == (1, 2)
        (copy,) = other.list_conversations()
        assert shape(other.active_path(copy.id)) == shape(store.active_path(existing))
    # A zip that is neither ChatGPT's nor an archive: the archive import says why.
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    before = snapshot(store)
    with pytest.raises(HearthError, match="not a Hearth archive"):
        import_chats(store, junk)
    assert snapshot(store) == before


# -- a very large export --------------------------------------------------------------------


def test_a_large_export_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """A 1 GB export would take minutes here; this one is ~25 MB of 1,000-message chats.

    The reader holds one chat at a time (plus a read buffer of about a megabyte), so
    reading all of it in a fresh process grows that process's peak memory by a small
    fraction of the file. Reading the file whole (its text, then every object decoded
    from it) would grow it by several times the file's size; so would a 1 GB export
    grow by gigabytes, where this reader needs as much as its largest chat.
    """
    file = tmp_path / "conversations.json"
    conversations = 40
    with file.open("w", encoding="utf-8") as out:
        out.write("[")
        for n in range(conversations):
            out.write(("," if n else "") + json.dumps(big_conversation(n, 1000)))
        out.write("]")
    size = file.stat().st_size
    assert size > 20_000_000
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from app.core.chat.importers import chatgpt\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "count = sum(len(c.messages) for c in chatgpt.read(Path(sys.argv[1])))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(count, (after - before) * 1024)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    count, growth = (int(word) for word in done.stdout.split())
    assert count == conversations * 1000
    assert growth < size / 3, f"grew {growth / 1e6:.1f} MB reading a {size / 1e6:.1f} MB file"
    assert time.monotonic() - started < 20


def big_conversation(n: int, messages: int) -> dict[str, Any]:
    mapping: dict[str, Any] = {"root": chatgpt_node("root", None, ["m0"], None)}
    parent = "root"
    for i in range(messages):
        node_id = f"m{i}"
        child = [f"m{i + 1}"] if i + 1 < messages else []
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Message {i} of chat {n}: " + "words " * 40
        mapping[node_id] = chatgpt_node(node_id, parent, child, role, text, T0 + i)
        parent = node_id
    return {
        "title": f"Chat {n}",
        "create_time": T0,
        "update_time": T0,
        "mapping": mapping,
        "current_node": parent,
        "conversation_id": f"big-{n}",
    }


def test_the_streaming_reader_reads_across_chunk_edges_and_finds_every_fault() -> None:
    import io

    values = [{"text": "é" * n, "n": n * 1.5, "ok": n % 2 == 0, "none": None} for n in range(60)]
    text = json.dumps(values)
    for chunk in (1, 7, 64, 4096):
        assert list(iter_array(io.StringIO(text), chunk=chunk)) == values
    assert list(iter_array(io.StringIO(" [ ] \n"))) == []
    assert list(iter_array(io.StringIO("[12345678901234567890, 2]"), chunk=3)) == [
        12345678901234567890,
        2,
    ]
    for bad, says in [
        (text[:-1], "cut short"),
        (text[: len(text) // 2], "cut short"),
        (text + "x", "more after the array"),
        ('{"a": 1}', "does not start with a JSON array"),
        ("[1 2]", "expected ','"),
        ("[1, oops]", "Expecting value"),
        ("[1,", "cut short"),
    ]:
        with pytest.raises(JSONStreamError, match=says):
            list(iter_array(io.StringIO(bad), chunk=5))


# -- the terminal ---------------------------------------------------------------------------


def test_cli_previews_then_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    file = tmp_path / "conversations.json"
    file.write_text(json.dumps([chatgpt_conversation("one"), chatgpt_conversation("two")]), "utf-8")
    assert main(["history", "import", str(file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ChatGPT:" in out and "2 new chats, 10 messages" in out and "Dry run" in out
    with HistoryStore.open() as store:
        assert store.list_conversations() == []
    assert main(["history", "import", str(file), "--from", "chatgpt"]) == 0
    assert "Imported 2 chats (10 messages) from ChatGPT." in capsys.readouterr().out
    assert main(["history", "import", str(file)]) == 0
    assert "0 new chats, 0 messages\n  2 chats imported before (skipped)" in capsys.readouterr().out
    assert main(["history", "list"]) == 0
    assert "(imported from chatgpt: conversations.json)" in capsys.readouterr().out


def test_cli_import_of_a_bad_file_says_why_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    file = tmp_path / "gpt4all-x.chat"
    file.write_bytes(gpt4all_chat(12, gpt4all_items(12))[:-9])
    assert main(["history", "import", str(file)]) == 1
    err = capsys.readouterr().err
    assert "gpt4all-x.chat is cut short" in err and "Nothing was imported" in err
    with HistoryStore.open() as store:
        assert store.list_conversations() == []
