"""What every importer shares: its errors, its description, and small readers."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from app.core.chat.history import HistoryError, ImportedConversation, ImportedMessage, Role
from app.core.chat.importers.jsonstream import JSONStreamError, iter_array
from app.core.errors import DamagedFileError

NOTHING_CHANGED = "Nothing was imported; your history is as it was."


class ChatImportError(HistoryError):
    """Chats could not be imported from this source; the history was left unchanged."""

    hint = NOTHING_CHANGED


class UnknownSourceError(ChatImportError):
    """The file or folder is not a chat export Hearth can read."""

    hint = (
        "Pick a GPT4All .chat file or folder, an LM Studio conversation, a Jan thread "
        "folder, Ollama's db.sqlite, an Open WebUI export or ChatGPT's conversations.json. "
        + NOTHING_CHANGED
    )


class DamagedSourceError(ChatImportError, DamagedFileError):
    """The source is in a known format but cut short or damaged."""

    hint = "Export it again, or copy the file again from the other app. " + NOTHING_CHANGED


class SourceVersionError(ChatImportError):
    """The source was written by a newer version of the other app than Hearth knows."""

    hint = "Tell Hearth's developers which version wrote it. " + NOTHING_CHANGED


@dataclass(frozen=True, slots=True)
class Importer:
    """One app's format: ``claims`` is a cheap check of a path, ``read`` streams its chats."""

    name: str
    label: str
    claims: Callable[[Path], bool]
    read: Callable[[Path], Iterator[ImportedConversation]]


# -- small readers ------------------------------------------------------------------------


def timestamp(value: Any, default: float) -> float:
    """Unix seconds from seconds, milliseconds, or an ISO 8601 / SQLite date text."""
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int | float):
        seconds = float(value)
        return seconds / 1000.0 if seconds > 1e11 else seconds  # 1e11 s is the year 5138
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        # Go writes nanoseconds; Python reads at most microseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                return timestamp(float(text), default)
            except ValueError:
                return default
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)  # SQLite's CURRENT_TIMESTAMP is UTC
        return parsed.timestamp()
    return default


def stable_key(*parts: object) -> str:
    """A short hash naming a conversation that its app gave no id."""
    digest = hashlib.sha256(json.dumps(parts, default=str).encode("utf-8")).hexdigest()
    return digest[:32]


def read_json_file(path: Path, label: str) -> Any:
    """The whole JSON value in a (small) file, or DamagedSourceError."""
    try:
        with path.open("r", encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        raise ChatImportError(f"Hearth cannot read {path}: {error}.", path=path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DamagedSourceError(
            f"{path.name} is not a complete {label} file: {error}.", path=path
        ) from None


@contextmanager
def open_text(path: Path, *, member: str | None = None) -> Iterator[TextIO]:
    """The file as text; ``member``: that file inside a zip archive at ``path``."""
    closing: list[Any] = []
    try:
        if member is not None and zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            closing.append(archive)
            try:
                stream: TextIO = io.TextIOWrapper(archive.open(member), encoding="utf-8")
            except KeyError:
                archive.close()
                raise UnknownSourceError(f"{path.name} holds no {member}.", path=path) from None
        else:
            stream = path.open("r", encoding="utf-8")
    except (OSError, zipfile.BadZipFile) as error:
        raise ChatImportError(f"Hearth cannot read {path}: {error}.", path=path) from None
    closing.insert(0, stream)
    try:
        yield stream
    finally:
        for thing in closing:
            thing.close()


def iter_chats(stream: TextIO, path: Path, label: str) -> Iterator[Any]:
    """Each chat of a JSON export: the elements of its top-level array, or the one object."""
    try:
        head = stream.read(4096)
    except UnicodeDecodeError:
        raise UnknownSourceError(
            f"{path.name} is not a {label} export (it is not text).", path=path
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DamagedSourceError(f"{path.name} cannot be read: {error}.", path=path) from None
    source = _Prefixed(head, stream)
    first = head.lstrip()[:1]
    try:
        if first == "[":
            yield from iter_array(source)
            return
        if first == "{":
            yield json.loads(source.read())
            return
    except (JSONStreamError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedSourceError(
            f"{path.name} is not a complete {label} export: {error}.", path=path
        ) from None
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
    ) as error:  # a damaged zip, a failing disk
        raise DamagedSourceError(
            f"{path.name} cannot be read to its end: {error}.", path=path
        ) from None
    raise UnknownSourceError(f"{path.name} is not a {label} export (it is not JSON).", path=path)


class _Prefixed:
    """A text stream with what was already read in front of it again."""

    def __init__(self, head: str, rest: TextIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1, /) -> str:
        head, self._head = self._head, ""
        if size < 0:
            return head + self._rest.read()
        if head:
            return head
        return self._rest.read(size)


def first_json_value(path: Path, *, member: str | None = None) -> Any:
    """The first chat of a JSON export (or its only object); None when it is not JSON."""
    try:
        with open_text(path, member=member) as stream:
            return next(iter_chats(stream, path, "JSON"), None)
    except ChatImportError:
        return None


def text_parts(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts with text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, dict):
                    text = text.get("value")
                if isinstance(text, str):
                    pieces.append(text)
        return "".join(pieces)
    return ""


def with_reasoning(thinking: str, text: str) -> str:
    """The reply as Hearth keeps it: reasoning in ``<think>`` tags, then the answer."""
    return f"<think>{thinking}</think>\n{text}" if thinking.strip() else text


class ChainBuilder:
    """Collects a conversation's messages; the first system message becomes its prompt."""

    def __init__(self) -> None:
        self.messages: list[ImportedMessage] = []
        self.system_prompt = ""

    def add(
        self,
        key: str,
        parent_key: str | None,
        role: str,
        text: str,
        created: float,
        *,
        model: str | None = None,
        status: str = "complete",
        error: str | None = None,
    ) -> bool:
        """Add one message; False when it was left out (a role Hearth has no place for)."""
        if role not in ("system", "user", "assistant"):
            return False
        if role == "system" and not self.messages and not self.system_prompt:
            self.system_prompt = text
            return False
        typed_role: Role = role  # type: ignore[assignment]
        self.messages.append(
            ImportedMessage(
                key=key,
                parent_key=parent_key,
                role=typed_role,
                text=text,
                created=created,
                model=model or None,
                status=status,  # type: ignore[arg-type]
                error=error,
            )
        )
        return True

    def last_time(self, default: float) -> float:
        return max((m.created for m in self.messages), default=default)
