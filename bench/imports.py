"""Importing chats: messages per second for a 100,000-message ChatGPT-style export.

The export is generated in ChatGPT's ``conversations.json`` shape (a ``mapping`` tree per
conversation): 2,000 conversations of 50 messages, every fourth answer regenerated once
(a branch), answers of a few hundred characters. Measured: reading it alone (Hearth's
streaming reader, next to ``json.load`` of the whole file as the raw library's floor),
a whole import into an empty history (read, then write in one transaction), and
importing it again (every chat skipped as already there).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.chat.history import HistoryStore
from app.core.chat.importers import chatgpt, import_chats

CONVERSATIONS = 2_000
TURNS = 22  # a question and an answer each, 6 answers regenerated: 50 messages
T0 = 1_700_000_000.0


def _node(node_id: str, parent: str | None, role: str | None, text: str, at: float) -> dict:
    message = None
    if role is not None:
        message = {
            "id": node_id,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": at,
            "content": {"content_type": "text", "parts": [text]},
            "status": "finished_successfully",
            "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {},
        }
    return {"id": node_id, "message": message, "parent": parent, "children": []}


def _conversation(n: int) -> tuple[dict[str, Any], int]:
    mapping = {"root": _node("root", None, None, "", T0)}
    parent, count = "root", 0
    for turn in range(TURNS):
        at = T0 + n * 100 + turn
        question = f"q{turn}"
        mapping[question] = _node(question, parent, "user", f"Question {turn} of {n}?", at)
        mapping[parent]["children"].append(question)
        answers = [f"a{turn}"] + ([f"a{turn}b"] if turn % 4 == 0 else [])
        for answer in answers:
            text = f"Answer {answer} to {n}: " + "a few words of reply " * 15
            mapping[answer] = _node(answer, question, "assistant", text, at + 0.5)
            mapping[question]["children"].append(answer)
        count += 1 + len(answers)
        parent = answers[-1]
    return {
        "title": f"Conversation {n}",
        "create_time": T0 + n * 100,
        "update_time": T0 + n * 100 + TURNS,
        "mapping": mapping,
        "current_node": parent,
        "conversation_id": f"bench-{n}",
    }, count


def _write_export(file: Path) -> int:
    messages = 0
    with file.open("w", encoding="utf-8") as out:
        out.write("[")
        for n in range(CONVERSATIONS):
            conversation, count = _conversation(n)
            messages += count
            out.write(("," if n else "") + json.dumps(conversation))
        out.write("]")
    return messages


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "conversations.json"
        messages = _write_export(export)
        started = time.perf_counter()
        with export.open(encoding="utf-8") as file:
            json.load(file)
        raw_load = time.perf_counter() - started
        started = time.perf_counter()
        read = sum(len(c.messages) for c in chatgpt.read(export))
        reading = time.perf_counter() - started
        with HistoryStore.open(Path(folder) / "history.sqlite3") as store:
            started = time.perf_counter()
            result = import_chats(store, export)
            importing = time.perf_counter() - started
            started = time.perf_counter()
            again = import_chats(store, export)
            reimporting = time.perf_counter() - started
        assert read == messages == result.messages and again.conversations == 0
        return {
            "conversations": CONVERSATIONS,
            "messages": messages,
            "export_mb": export.stat().st_size / 1e6,
            "json_load_s": raw_load,
            "read_s": reading,
            "import_s": importing,
            "reimport_s": reimporting,
            "import_messages_per_s": messages / importing,
        }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['messages']:,} messages in {result['conversations']:,} conversations "
        f"({result['export_mb']:.0f} MB)"
    )
    print(f"  json.load, whole file   {result['json_load_s']:6.2f} s")
    print(f"  Hearth's reader alone   {result['read_s']:6.2f} s")
    print(
        f"  import (read + write)   {result['import_s']:6.2f} s"
        f"  = {result['import_messages_per_s']:,.0f} messages/s"
    )
    print(f"  the same import again   {result['reimport_s']:6.2f} s (nothing new)")


if __name__ == "__main__":
    print_table(run())
