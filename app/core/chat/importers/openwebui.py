"""Open WebUI's chat export (Settings > Chats > Export chats): one JSON array.

Each element is a chat row (``id``, ``title``, ``created_at`` and ``updated_at`` in
Unix seconds) whose ``chat`` holds ``history.messages``, a map of messages (``id``,
``parentId``, ``childrenIds``, ``role``, ``content``, ``timestamp``, ``model``) that
form a tree, ``history.currentId`` (the leaf shown), ``models`` and ``params.system``
(the chat's system prompt). A single chat downloaded as JSON (the bare ``chat``
object) is read too.
"""

from __future__ import annotations

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

NAME = "openwebui"
LABEL = "Open WebUI"


def claims(path: Path) -> bool:
    """A JSON export whose chats carry a ``history`` of messages."""
    if not path.is_file():
        return False
    first = first_json_value(path)
    return isinstance(first, dict) and _chat(first) is not None


def read(path: Path) -> Iterator[ImportedConversation]:
    """Every chat in the export, branches included."""
    with open_text(path) as stream:
        for number, item in enumerate(iter_chats(stream, path, LABEL), start=1):
            yield _conversation(item, number, path)


def _chat(item: dict[str, Any]) -> dict[str, Any] | None:
    chat = item.get("chat", item)
    if isinstance(chat, dict) and isinstance(chat.get("history"), dict):
        return chat
    return None


def _conversation(item: Any, number: int, path: Path) -> ImportedConversation:
    chat = _chat(item) if isinstance(item, dict) else None
    history = chat.get("history") if chat is not None else None
    nodes = history.get("messages") if isinstance(history, dict) else None
    if chat is None or not isinstance(nodes, dict):
        raise (UnknownSourceError if number == 1 else DamagedSourceError)(
            f"Chat {number} in {path.name} has no message history.", path=path
        )
    assert isinstance(item, dict) and isinstance(history, dict)
    created = timestamp(item.get("created_at", chat.get("timestamp")), 0.0)
    params = chat.get("params") if isinstance(chat.get("params"), dict) else {}
    chain = ChainBuilder()
    system = (params or {}).get("system") or chat.get("system")
    if isinstance(system, str):
        chain.system_prompt = system
    children: dict[str | None, list[str]] = {}
    for node_id, node in nodes.items():
        if not isinstance(node, dict):
            raise DamagedSourceError(
                f"Chat {number} in {path.name} has a damaged message {node_id!r}.", path=path
            )
        parent = node.get("parentId")
        children.setdefault(parent if parent in nodes else None, []).append(node_id)
    kept: dict[str, str | None] = {}
    stack: list[tuple[str, str | None]] = [
        (node_id, None) for node_id in reversed(children.get(None, []))
    ]
    while stack:
        node_id, parent_key = stack.pop()
        if node_id in kept:
            continue
        node = nodes[node_id]
        key = parent_key
        role = str(node.get("role") or "")
        text = text_parts(node.get("content"))
        model = node.get("model")
        if chain.add(
            node_id,
            parent_key,
            role,
            text,
            timestamp(node.get("timestamp"), created),
            model=str(model) if model and role == "assistant" else None,
        ):
            key = node_id
        kept[node_id] = key
        stack.extend((child, key) for child in reversed(children.get(node_id, [])))
    current = history.get("currentId")
    return ImportedConversation(
        source_key=str(
            item.get("id") or chat.get("id") or stable_key(chat.get("title"), created, len(nodes))
        ),
        app=NAME,
        source_file=path.name,
        title=str(item.get("title") or chat.get("title") or ""),
        created=created,
        updated=max(timestamp(item.get("updated_at"), created), chain.last_time(created)),
        system_prompt=chain.system_prompt,
        messages=chain.messages,
        active_key=kept.get(current) if isinstance(current, str) else None,
    )


IMPORTER = Importer(NAME, LABEL, claims, read)
