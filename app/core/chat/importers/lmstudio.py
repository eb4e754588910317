"""LM Studio's conversations: one ``<created ms>.conversation.json`` per chat.

A conversation has ``name``, ``createdAt`` (Unix milliseconds), ``systemPrompt``
(newer versions keep it in ``perChatPredictionConfig.fields`` under
``llm.prediction.systemPrompt``), ``lastUsedModel.identifier`` and ``messages``. Each
message is a list of ``versions`` (regenerated or edited alternatives, each a
branch) with ``currentlySelected`` the one shown; the conversation continues after
the selected version. A version is ``singleStep`` (``role``, ``content`` parts) or
``multiStep`` (an assistant's ``steps``, whose ``contentBlock`` steps hold the text
and ``genInfo``). LM Studio keeps no time per message: each gets the chat's.
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
    read_json_file,
    text_parts,
    timestamp,
)

NAME = "lmstudio"
LABEL = "LM Studio"
SUFFIX = ".conversation.json"
_SYSTEM_PROMPT_FIELD = "llm.prediction.systemPrompt"


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
    return [path] if path.is_file() else []


def claims(path: Path) -> bool:
    """A .conversation.json, or a folder of them (LM Studio's conversations folder)."""
    if path.is_dir():
        return bool(_files(path))
    if not path.is_file() or not path.name.endswith(".json") or path.stat().st_size > 64 << 20:
        return False
    try:
        data = read_json_file(path, LABEL)
    except Exception:
        return False
    return _looks_like(data)


def _looks_like(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return False
    first = data["messages"][0] if data["messages"] else {}
    return "createdAt" in data or (isinstance(first, dict) and "versions" in first)


def read(path: Path) -> Iterator[ImportedConversation]:
    """The conversation in the file, or every conversation in the folder."""
    for file in _files(path):
        data = read_json_file(file, LABEL)
        if not _looks_like(data):
            raise DamagedSourceError(f"{file.name} is not an LM Studio conversation.", path=file)
        yield _conversation(data, file, path)


def _conversation(data: dict[str, Any], file: Path, root: Path) -> ImportedConversation:
    created = timestamp(data.get("createdAt"), 0.0)
    last_model = data.get("lastUsedModel")
    default_model = last_model.get("identifier") if isinstance(last_model, dict) else None
    chain = ChainBuilder()
    chain.system_prompt = _system_prompt(data)
    parent_key: str | None = None
    for position, message in enumerate(data["messages"]):
        versions = message.get("versions") if isinstance(message, dict) else None
        if not isinstance(versions, list) or not versions:
            raise DamagedSourceError(
                f"Message {position + 1} in {file.name} has no versions.", path=file
            )
        selected = message.get("currentlySelected", 0)
        if not isinstance(selected, int) or not 0 <= selected < len(versions):
            selected = len(versions) - 1
        next_parent = parent_key
        for number, version in enumerate(versions):
            if not isinstance(version, dict):
                raise DamagedSourceError(
                    f"Message {position + 1} in {file.name} has a damaged version.", path=file
                )
            key = f"{position}.{number}"
            role = str(version.get("role") or "")
            text, model = _text_and_model(version)
            added = chain.add(
                key,
                parent_key,
                role,
                text,
                created,
                model=(model or default_model) if role == "assistant" else None,
            )
            if number == selected and added:
                next_parent = key
        parent_key = next_parent
    relative = file.relative_to(root).as_posix() if root.is_dir() else file.name
    return ImportedConversation(
        source_key=f"{file.name}:{data.get('createdAt')}",
        app=NAME,
        source_file=relative,
        title=str(data.get("name") or ""),
        created=created,
        updated=created,
        system_prompt=chain.system_prompt,
        messages=chain.messages,
        active_key=parent_key,
    )


def _system_prompt(data: dict[str, Any]) -> str:
    config = data.get("perChatPredictionConfig")
    fields = config.get("fields") if isinstance(config, dict) else None
    for entry in fields if isinstance(fields, list) else []:
        is_prompt = isinstance(entry, dict) and entry.get("key") == _SYSTEM_PROMPT_FIELD
        if is_prompt and isinstance(entry.get("value"), str):
            return str(entry["value"])
    prompt = data.get("systemPrompt")
    return prompt if isinstance(prompt, str) else ""


def _text_and_model(version: dict[str, Any]) -> tuple[str, str | None]:
    model: str | None = None
    sender = version.get("senderInfo")
    if isinstance(sender, dict) and isinstance(sender.get("senderName"), str):
        model = sender["senderName"]
    if version.get("type") != "multiStep":
        return text_parts(version.get("content")), model
    blocks = []
    for step in version.get("steps") or []:
        if isinstance(step, dict) and step.get("type") == "contentBlock":
            blocks.append(text_parts(step.get("content")))
            info = step.get("genInfo")
            if isinstance(info, dict) and isinstance(info.get("indexedModelIdentifier"), str):
                model = info["indexedModelIdentifier"]
    return "\n\n".join(b for b in blocks if b), model


IMPORTER = Importer(NAME, LABEL, claims, read)
