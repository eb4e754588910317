"""ChatGPT's data export: ``conversations.json`` (alone or in the export's zip).

The file is one JSON array; each conversation has a ``mapping`` of nodes (``id``,
``parent``, ``children``, ``message``) that form a tree: editing a prompt or
regenerating an answer adds a branch, and ``current_node`` is the leaf that was shown.
A node's message has ``author.role``, ``create_time`` (Unix seconds), ``content``
(``content_type`` and ``parts``), ``metadata.model_slug`` and a ``status``. Hidden
system scaffolding, tool output and nodes without a message are left out; their
children hang from the nearest message that is kept.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.chat.history import ImportedConversation
from app.core.chat.importers.base import (
    ChainBuilder,
    DamagedSourceError,
    Importer,
    UnknownSourceError,
    first_json_value,
    iter_chats,
    open_text,
    stable_key,
    text_parts,
    timestamp,
)

NAME = "chatgpt"
LABEL = "ChatGPT"
MEMBER = "conversations.json"


def claims(path: Path) -> bool:
    """A conversations.json whose chats have a ``mapping``, or the zip holding one."""
    if not path.is_file():
        return False
    member = MEMBER if zipfile.is_zipfile(path) else None
    first = first_json_value(path, member=member)
    return isinstance(first, dict) and isinstance(first.get("mapping"), dict)


def read(path: Path) -> Iterator[ImportedConversation]:
    """Every conversation in the export, branches included."""
    member = MEMBER if zipfile.is_zipfile(path) else None
    with open_text(path, member=member) as stream:
        for number, item in enumerate(iter_chats(stream, path, LABEL), start=1):
            yield _conversation(item, number, path)


def _conversation(item: Any, number: int, path: Path) -> ImportedConversation:
    if not isinstance(item, dict) or not isinstance(item.get("mapping"), dict):
        raise (UnknownSourceError if number == 1 else DamagedSourceError)(
            f"Conversation {number} in {path.name} has no message tree (mapping).", path=path
        )
    mapping: dict[str, Any] = item["mapping"]
    created = timestamp(item.get("create_time"), 0.0)
    chain = ChainBuilder()
    kept: dict[str, str | None] = {}  # node id -> the kept message it stands for
    roots = [
        node_id
        for node_id, node in mapping.items()
        if not isinstance(node, dict) or node.get("parent") not in mapping
    ]
    stack: list[tuple[str, str | None]] = [(node_id, None) for node_id in reversed(roots)]
    while stack:
        node_id, parent_key = stack.pop()
        if node_id in kept:
            continue  # a node listed twice (or a cycle) is read once
        node = mapping.get(node_id)
        if not isinstance(node, dict):
            raise DamagedSourceError(
                f"Conversation {number} in {path.name} has a damaged node {node_id!r}.",
                path=path,
            )
        key = parent_key
        message = node.get("message")
        if isinstance(message, dict) and _add(chain, node_id, parent_key, message, created):
            key = node_id
        kept[node_id] = key
        children = node.get("children") or []
        if not isinstance(children, list):
            children = []
        stack.extend((child, key) for child in reversed(children) if child in mapping)
    current = item.get("current_node")
    return ImportedConversation(
        source_key=str(
            item.get("conversation_id")
            or item.get("id")
            or stable_key(item.get("title"), item.get("create_time"), len(mapping))
        ),
        app=NAME,
        source_file=path.name,
        title=str(item.get("title") or ""),
        created=created,
        updated=max(timestamp(item.get("update_time"), created), chain.last_time(created)),
        system_prompt=chain.system_prompt,
        messages=chain.messages,
        active_key=kept.get(current) if isinstance(current, str) else None,
    )


def _add(
    chain: ChainBuilder, node_id: str, parent_key: str | None, message: dict[str, Any], at: float
) -> bool:
    metadata = message.get("metadata") or {}
    if not isinstance(metadata, dict):
        metadata = {}
    author = message.get("author") or {}
    role = author.get("role") if isinstance(author, dict) else None
    content = message.get("content") or {}
    if not isinstance(content, dict):
        return False
    kind = content.get("content_type")
    if kind == "user_editable_context":
        # Custom instructions: what ChatGPT was told about the user and how to answer.
        instructions = "\n\n".join(
            str(content[k]) for k in ("user_profile", "user_instructions") if content.get(k)
        )
        if instructions and not chain.messages and not chain.system_prompt:
            chain.system_prompt = instructions
        return False
    if metadata.get("is_visually_hidden_from_conversation"):
        return False
    if kind in ("text", "multimodal_text"):
        text = text_parts(content.get("parts"))
    elif kind == "code":
        text = str(content.get("text") or "")
    else:
        return False  # reasoning recaps, tool traces, browsing results...
    if not text.strip() or role not in ("system", "user", "assistant"):
        return False
    status = "interrupted" if message.get("status") == "in_progress" else "complete"
    return chain.add(
        node_id,
        parent_key,
        str(role),
        text,
        timestamp(message.get("create_time"), at),
        model=str(metadata.get("model_slug") or "") or None,
        status=status,
    )


IMPORTER = Importer(NAME, LABEL, claims, read)
