"""GPT4All's chats: ``gpt4all-<id>.chat`` files, binary QDataStream, format versions 1-12.

Read as GPT4All's own ``ChatsRestoreThread`` (chatlistmodel.cpp), ``Chat::deserialize``
(chat.cpp), ``ChatLLM::deserialize`` (chatllm.cpp) and ``ChatModel``/``ChatItem``
``deserialize`` (chatmodel.h, chatmodel.cpp) read them: a magic number and a version,
then the chat (creation date in Unix seconds, id, name, the name the user gave, the
model, its document collections), the model state older versions saved (skipped),
and the items: prompts and responses, each with flags (stopped, error), sources,
attachments and, from version 12, sub-items (text, thinking, tool calls). A response
with sub-items reads as its text sub-items in order, its thinking in ``<think>`` tags.

GPT4All keeps one time per chat (messages get it), no system prompt per chat (it is
a setting of the model) and no branches. Files from before the magic number existed
(version 0, kept in the settings folder before mid-2023) are not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.core.chat.history import ImportedConversation
from app.core.chat.importers.base import (
    ChainBuilder,
    ChatImportError,
    DamagedSourceError,
    Importer,
    SourceVersionError,
    UnknownSourceError,
    with_reasoning,
)
from app.core.chat.importers.qdatastream import DataStream, StreamDamaged, StreamEnded

NAME = "gpt4all"
LABEL = "GPT4All"
MAGIC = 0xF5D553CC
NEWEST_VERSION = 12
_MAGIC_BYTES = MAGIC.to_bytes(4, "big")
_SUB_ITEM_TYPES = ("Response: ", "Text: ", "ToolCall: ", "ToolResponse: ", "Think: ")
_ITEM_TYPES = ("System: ", "Prompt: ", *_SUB_ITEM_TYPES)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.chat") if p.is_file())
    return [path] if path.is_file() else []


def claims(path: Path) -> bool:
    """A file that starts with GPT4All's magic number, or a folder of .chat files."""
    if path.is_dir():
        return any(_starts_with_magic(p) for p in _files(path))
    return _starts_with_magic(path)


def _starts_with_magic(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == _MAGIC_BYTES
    except OSError:
        return False


def read(path: Path) -> Iterator[ImportedConversation]:
    """The chat in the file, or every chat in the folder (GPT4All's models folder)."""
    for file in _files(path):
        yield read_chat_file(file)


@dataclass
class _Item:
    kind: str
    value: str
    stopped: bool = False
    error: bool = False
    sub_items: list[_Item] = field(default_factory=list)

    def text(self) -> str:
        """The reply as shown: its text sub-items (reasoning in ``<think>`` tags), else its value.

        GPT4All's ``flattenedContent`` joins every sub-item's value; the tool calls and
        their results among them are left out here, as for every app.
        """
        if not self.sub_items:
            return self.value
        thinking = "".join(item.value for item in self.sub_items if item.kind == "Think: ")
        answer = "".join(
            item.value for item in self.sub_items if item.kind in ("Text: ", "Response: ")
        )
        return with_reasoning(thinking, answer)


def read_chat_file(file: Path) -> ImportedConversation:
    """One .chat file, or DamagedSourceError / SourceVersionError / UnknownSourceError."""
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            stream = DataStream(handle, size)
            try:
                return _read(stream, file)
            except StreamEnded as error:
                raise DamagedSourceError(
                    f"{file.name} is cut short: it ends inside the chat ({error}).", path=file
                ) from None
            except StreamDamaged as error:
                raise DamagedSourceError(
                    f"{file.name} is damaged: it holds {error}.", path=file
                ) from None
    except OSError as error:
        raise ChatImportError(f"Hearth cannot read {file}: {error}.", path=file) from None


def _read(stream: DataStream, file: Path) -> ImportedConversation:
    if stream.raw(4) != _MAGIC_BYTES:
        raise UnknownSourceError(f"{file.name} is not a GPT4All chat file.", path=file)
    version = stream.i32()
    if version > NEWEST_VERSION:
        raise SourceVersionError(
            f"{file.name} was written by a newer GPT4All (chat format {version}; Hearth "
            f"reads formats 1 to {NEWEST_VERSION}).",
            path=file,
        )
    if version < 1:
        raise SourceVersionError(
            f"{file.name} has chat format {version}, which GPT4All itself no longer reads.",
            path=file,
        )
    created = float(stream.i64())
    chat_id = stream.string()
    name = stream.string()
    user_name = stream.string()
    model = stream.string()
    if version >= 3:
        stream.string_list()  # the LocalDocs collections the chat searched
    if version < 11:
        _skip_model_state(stream, version)
    count = stream.i32()
    if count < 0:
        raise StreamDamaged(f"a negative number of messages ({count})")
    items = [_item(stream, version) for _ in range(count)]
    if not stream.at_end():
        raise StreamDamaged(f"data after the last message (byte {stream.position})")
    chain = ChainBuilder()
    parent: str | None = None
    for number, item in enumerate(items):
        key = str(number)
        role = {"Prompt: ": "user", "Response: ": "assistant", "System: ": "system"}.get(item.kind)
        if role is None:
            continue
        text = item.text()
        status = "error" if item.error else "interrupted" if item.stopped else "complete"
        if chain.add(
            key,
            parent,
            role,
            text,
            created,
            model=model if role == "assistant" else None,
            status=status,
            error=text if item.error else None,
        ):
            parent = key
    return ImportedConversation(
        source_key=chat_id or file.name,
        app=NAME,
        source_file=file.name,
        title=user_name or name,
        created=created,
        updated=created,
        system_prompt=chain.system_prompt,
        messages=chain.messages,
    )


def _skip_model_state(stream: DataStream, version: int) -> None:
    """What ``ChatLLM::deserialize`` reads and throws away (versions 1-10)."""
    keep_state = True
    if version >= 6:
        keep_state = stream.bool()
    if version >= 2:
        stream.i32()  # model type
        stream.i32()  # state version
    stream.string()  # response
    stream.string()  # name response
    stream.u32()  # prompt + response token count
    if keep_state:
        if version < 4:
            stream.u32()  # response logits
        stream.u32()  # n_past
        if version >= 7:
            stream.u32()  # n_ctx
        if version < 9:
            stream.skip(stream.u64() * 4)  # logits (floats)
        stream.skip(stream.u64() * 4)  # token cache (ints)
        stream.skip_byte_array()  # the model's state


def _item(stream: DataStream, version: int) -> _Item:
    """One ``ChatItem::deserialize``."""
    if version < 12:
        stream.i32()  # id
    kind = stream.string()
    if kind not in _ITEM_TYPES:
        raise StreamDamaged(f"a message of unknown kind {kind!r}")
    value = stream.string()
    if version < 10:
        stream.string()  # prompt (no longer used)
    stream.string()  # new response (an edit the user suggested)
    stream.bool()  # is current response
    stopped = stream.bool()
    stream.bool()  # thumbs up
    stream.bool()  # thumbs down
    error = stream.bool() if version >= 11 and kind == "Response: " else False
    if version >= 8:
        for _ in range(stream.count(40)):  # sources: 7 texts and 3 ints
            for _ in range(7):
                stream.string()
            for _ in range(3):
                stream.i32()
    elif version >= 3:
        stream.string()  # references
        stream.string_list()  # their context
    if version >= 10:
        for _ in range(stream.count(8)):  # attachments: url, content
            stream.skip_byte_array()
            stream.skip_byte_array()
    item = _Item(kind, value, stopped, error)
    if version >= 12:
        item.sub_items = [_sub_item(stream, version) for _ in range(stream.count(12))]
    return item


def _sub_item(stream: DataStream, version: int) -> _Item:
    """One ``ChatItem::deserializeSubItems`` (recursive)."""
    kind = stream.string()
    if kind not in _SUB_ITEM_TYPES:
        raise StreamDamaged(f"a part of a reply of unknown kind {kind!r}")
    value = stream.string()
    if kind == "ToolCall: ":
        _skip_tool_call(stream)
    elif kind == "Think: ":
        stream.i32()  # thinking time
    item = _Item(kind, value)
    item.sub_items = [_sub_item(stream, version) for _ in range(stream.count(12))]
    return item


def _skip_tool_call(stream: DataStream) -> None:
    """``ToolCallInfo::deserialize`` (tool.cpp)."""
    stream.string()  # name
    for _ in range(stream.count(13)):  # params: name, type, value
        stream.string()
        stream.i32()
        stream.variant()
    stream.string()  # result
    stream.i32()  # error
    stream.string()  # error text


IMPORTER = Importer(NAME, LABEL, claims, read)
