"""Jan's threads: a folder per thread holding ``thread.json`` and ``messages.jsonl``.

``thread.json`` has ``id``, ``title``, ``created``/``updated`` and ``assistants``
(each with ``model.id`` and ``instructions``, the system prompt). ``messages.jsonl``
has one message per line: ``id``, ``role``, ``content`` (parts of ``type`` ``text``
holding ``text.value``; ``reasoning`` parts hold a reasoning model's thoughts, kept in
``<think>`` tags), ``status`` (``ready``, ``pending``, ``error``, ``stopped``) and
``created_at``. Jan writes times in seconds in older versions and milliseconds in
newer ones; both are read. Jan keeps no branches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.chat.history import ImportedConversation
from app.core.chat.importers.base import (
    ChainBuilder,
    ChatImportError,
    DamagedSourceError,
    Importer,
    read_json_file,
    text_parts,
    timestamp,
    with_reasoning,
)

NAME = "jan"
LABEL = "Jan"
THREAD_FILE = "thread.json"
MESSAGES_FILE = "messages.jsonl"
_STATUS = {"error": "error", "stopped": "interrupted", "pending": "interrupted"}


def _thread_dirs(path: Path) -> list[Path]:
    if path.is_file() and path.name in (THREAD_FILE, MESSAGES_FILE):
        path = path.parent
    if not path.is_dir():
        return []
    if (path / THREAD_FILE).is_file():
        return [path]
    for folder in (path, path / "threads", path / "data" / "threads"):
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if (p / THREAD_FILE).is_file())
            if found:
                return found
    return []


def claims(path: Path) -> bool:
    """A thread folder, its thread.json, or a folder of thread folders."""
    return bool(_thread_dirs(path))


def read(path: Path) -> Iterator[ImportedConversation]:
    """Every thread found at ``path``."""
    for folder in _thread_dirs(path):
        yield _conversation(folder)


def _conversation(folder: Path) -> ImportedConversation:
    thread = read_json_file(folder / THREAD_FILE, LABEL)
    if not isinstance(thread, dict):
        raise DamagedSourceError(
            f"{folder.name}/{THREAD_FILE} is not a Jan thread.", path=folder / THREAD_FILE
        )
    created = timestamp(thread.get("created"), 0.0)
    assistants = thread.get("assistants")
    assistant = assistants[0] if isinstance(assistants, list) and assistants else {}
    assistant = assistant if isinstance(assistant, dict) else {}
    model_info = assistant.get("model")
    model = model_info.get("id") if isinstance(model_info, dict) else None
    chain = ChainBuilder()
    instructions = assistant.get("instructions")
    if isinstance(instructions, str):
        chain.system_prompt = instructions
    parent: str | None = None
    for number, message in enumerate(_messages(folder), start=1):
        key = str(message.get("id") or number)
        role = str(message.get("role") or "")
        status = _STATUS.get(str(message.get("status")), "complete")
        text = _text(message.get("content"))
        if chain.add(
            key,
            parent,
            role,
            text,
            timestamp(message.get("created_at"), created),
            model=str(model) if model and role == "assistant" else None,
            status=status,
            error=text if status == "error" else None,
        ):
            parent = key
    return ImportedConversation(
        source_key=str(thread.get("id") or folder.name),
        app=NAME,
        source_file=f"{folder.name}/{THREAD_FILE}",
        title=str(thread.get("title") or ""),
        created=created,
        updated=max(timestamp(thread.get("updated"), created), chain.last_time(created)),
        system_prompt=chain.system_prompt,
        messages=chain.messages,
    )


def _text(content: object) -> str:
    """The answer, with its ``reasoning`` parts in ``<think>`` tags; tool calls left out."""
    if not isinstance(content, list):
        return text_parts(content)
    parts = [p for p in content if isinstance(p, dict)]
    reasoning = text_parts([p for p in parts if p.get("type") == "reasoning"])
    answer = text_parts([p for p in parts if p.get("type") in ("text", None)])
    return with_reasoning(reasoning, answer)


def _messages(folder: Path) -> Iterator[dict[str, Any]]:
    file = folder / MESSAGES_FILE
    if not file.exists():
        return
    seen: set[str] = set()
    try:
        with file.open("r", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DamagedSourceError(
                        f"Line {number} of {folder.name}/{MESSAGES_FILE} is not a complete "
                        f"message: {error}.",
                        path=file,
                    ) from None
                if not isinstance(message, dict):
                    raise DamagedSourceError(
                        f"Line {number} of {folder.name}/{MESSAGES_FILE} is not a message.",
                        path=file,
                    )
                key = str(message.get("id") or number)
                if key in seen:
                    continue  # Jan rewrites the file; a message listed twice is read once
                seen.add(key)
                yield message
    except UnicodeDecodeError as error:
        raise DamagedSourceError(
            f"{folder.name}/{MESSAGES_FILE} is not text: {error}.", path=file
        ) from None
    except OSError as error:
        raise ChatImportError(f"Hearth cannot read {file}: {error}.", path=file) from None


IMPORTER = Importer(NAME, LABEL, claims, read)
