"""The Hearth archive: every conversation in one zip file that Hearth imports again exactly.

Layout (format version 1, :data:`ARCHIVE_FORMAT_VERSION`; the fields are documented in
docs/archive.md)::

    hearth-archive.json          the manifest: format, version, counts, the file list
    conversations/000001.json    one conversation: every branch, options, times, figures
    chats/000001-title.md        the same conversation's active branch, to read

Times are Unix seconds as JSON numbers, so they come back to the bit. One JSON file
per conversation keeps memory bounded however large the history is: export writes and
import reads one conversation at a time. Export writes ``PATH.incomplete`` and renames
it when done, so a half archive never looks like a whole one. Import is one
transaction: a damaged entry anywhere leaves the history as it was; a conversation the
history already holds is skipped, so importing the same archive twice adds nothing.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from app import __version__
from app.core.chat.history import (
    ROLES,
    STATUSES,
    ConversationCopy,
    ConversationRecord,
    HistoryStore,
    MessageRecord,
)
from app.core.chat.sources import sources_from_json, sources_json
from app.core.errors import DamagedFileError, HearthError, storage_error

ARCHIVE_FORMAT: Final = "hearth-archive"
ARCHIVE_FORMAT_VERSION: Final = 1
MANIFEST: Final = "hearth-archive.json"
_ZIP_MAGIC = b"PK\x03\x04"
_INCOMPLETE = ".incomplete"
_SLUG_CHARS = 40
_DEFLATE_LEVEL = 1  # zlib at its default (6) took 70% of an export, for a few % of size


class ArchiveError(HearthError):
    """A Hearth archive cannot be written or read. The history was not changed."""

    hint = "Nothing in your history was changed."


class NotAnArchiveError(ArchiveError):
    """The file is not a Hearth archive (another app's export, or not a zip at all)."""

    hint = "Choose a file made by `hearth history export-all`; nothing was imported."


class ArchiveVersionError(ArchiveError):
    """The archive was written by a newer Hearth, in a format this one does not know."""

    hint = "Update Hearth to import it; nothing was imported."


class ArchiveDamagedError(ArchiveError, DamagedFileError):
    """The archive is truncated or damaged."""

    hint = "Export it again, or use another copy; nothing was imported."


@dataclass(frozen=True, slots=True)
class ArchiveSummary:
    """An archive's manifest: what it holds and when it was made (Unix seconds)."""

    path: Path
    format_version: int
    exported: float
    hearth_version: str
    conversations: int
    messages: int


@dataclass(frozen=True, slots=True)
class ArchiveImport:
    """What importing an archive did."""

    added: tuple[int, ...]
    """The new conversations' ids."""
    skipped: int
    """Conversations already in the history, left as they were."""
    messages: int
    """Messages written."""


# -- writing ------------------------------------------------------------------------------


def export_archive(
    store: HistoryStore,
    path: str | os.PathLike[str],
    *,
    include_deleted: bool = True,
    clock: Callable[[], float] | None = None,
) -> ArchiveSummary:
    """Write every conversation (and, by default, those in Recently deleted) to ``path``.

    Raises a StorageError (DiskFullError...) when the file cannot be written; no
    partial file is left at ``path``.
    """
    target = Path(path)
    partial = target.with_name(target.name + _INCOMPLETE)
    conversations = store.list_conversations()
    if include_deleted:
        conversations += store.list_conversations(deleted=True)
    conversations.sort(key=lambda c: c.id)
    exported = float(clock() if clock is not None else datetime.now(tz=UTC).timestamp())
    files: list[str] = []
    messages = 0
    try:
        with zipfile.ZipFile(
            partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_DEFLATE_LEVEL
        ) as archive:
            for number, conversation in enumerate(conversations, start=1):
                entry = _conversation_entry(store, conversation)
                messages += len(entry["messages"])
                name = f"conversations/{number:06d}.json"
                with archive.open(name, "w", force_zip64=True) as out:
                    out.write(json.dumps(entry, ensure_ascii=False).encode("utf-8"))
                archive.writestr(
                    f"chats/{number:06d}-{_slug(conversation.title)}.md",
                    store.export_markdown(conversation.id),
                )
                files.append(name)
            manifest = {
                "format": ARCHIVE_FORMAT,
                "format_version": ARCHIVE_FORMAT_VERSION,
                "exported": exported,
                "hearth_version": __version__,
                "conversations": len(files),
                "messages": messages,
                "files": files,
            }
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise storage_error(error, doing=f"write the archive {target}", path=target) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ArchiveSummary(
        target, ARCHIVE_FORMAT_VERSION, exported, __version__, len(files), messages
    )


def _conversation_entry(store: HistoryStore, c: ConversationRecord) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "created": c.created,
        "updated": c.updated,
        "deleted": c.deleted,
        "system_prompt": c.system_prompt,
        "options": c.options,
        "active_leaf": c.active_leaf,
        "draft": store.draft(c.id),
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id,
                "role": m.role,
                "text": m.text,
                "created": m.created,
                "status": m.status,
                "error": m.error,
                "model": m.model,
                "quantization": m.quantization,
                "backend": m.backend,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "ttft": m.ttft,
                "tokens_per_second": m.tokens_per_second,
                "stop_reason": m.stop_reason,
                "sources": json.loads(sources_json(m.sources)),
            }
            for m in store.all_messages(c.id)
        ],
    }


# -- reading ------------------------------------------------------------------------------


def is_hearth_archive(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a zip holding a Hearth manifest (for an import's detector)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return MANIFEST in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_archive(path: str | os.PathLike[str]) -> ArchiveSummary:
    """Read and check an archive's manifest (conversations are read by :func:`iter_archive`).

    Raises NotAnArchiveError, ArchiveVersionError or ArchiveDamagedError.
    """
    with _open(Path(path)) as archive:
        manifest = _manifest(Path(path), archive)
    return ArchiveSummary(
        Path(path),
        manifest["format_version"],
        manifest["exported"],
        manifest["hearth_version"],
        manifest["conversations"],
        manifest["messages"],
    )


def iter_archive(path: str | os.PathLike[str]) -> Iterator[ConversationCopy]:
    """The archive's conversations, one at a time, each checked as it is read."""
    file = Path(path)
    with _open(file) as archive:
        manifest = _manifest(file, archive)
        for name in manifest["files"]:
            try:
                data = json.loads(archive.read(name).decode("utf-8"))
            except KeyError:
                raise ArchiveDamagedError(
                    f"The archive {file.name} lists {name} but does not hold it.", path=file
                ) from None
            except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError) as error:
                raise ArchiveDamagedError(
                    f"{name} in the archive {file.name} is damaged ({error}).", path=file
                ) from None
            except json.JSONDecodeError as error:
                raise ArchiveDamagedError(
                    f"{name} in the archive {file.name} is not valid JSON ({error}).", path=file
                ) from None
            yield _copy(data, f"{file.name}: {name}")


def import_archive(store: HistoryStore, path: str | os.PathLike[str]) -> ArchiveImport:
    """Add an archive's conversations to the history: all of them, or (on an error) none.

    Conversations the history already holds are skipped. Raises NotAnArchiveError,
    ArchiveVersionError, ArchiveDamagedError, HistoryError (HistoryLockedError when
    another program holds the history's write lock); the history is then unchanged.
    """
    read_archive(path)  # fail on the manifest before opening a transaction
    result = store.write_conversations(iter_archive(path))
    return ArchiveImport(result.added, result.skipped, result.messages)


# -- helpers ------------------------------------------------------------------------------


def _open(file: Path) -> zipfile.ZipFile:
    try:
        with file.open("rb") as raw:
            head = raw.read(4)
    except OSError as error:
        raise storage_error(error, doing=f"read {file}", path=file) from None
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        if head == _ZIP_MAGIC:
            raise ArchiveDamagedError(
                f"The archive {file.name} is truncated or damaged ({error}).", path=file
            ) from None
        raise NotAnArchiveError(
            f"{file.name} is not a Hearth archive (it is not a zip file).", path=file
        ) from None


def _manifest(file: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        raw = archive.read(MANIFEST)
    except KeyError:
        raise NotAnArchiveError(
            f"{file.name} is a zip file but not a Hearth archive (it has no {MANIFEST}).",
            path=file,
        ) from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ArchiveDamagedError(
            f"The archive {file.name} is damaged ({error}).", path=file
        ) from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveDamagedError(
            f"The manifest of {file.name} is not valid JSON ({error}).", path=file
        ) from None
    where = f"{file.name}: {MANIFEST}"
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise NotAnArchiveError(f"{file.name} is not a Hearth archive.", path=file)
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArchiveDamagedError(f"{where}: format_version is missing.", path=file)
    if version > ARCHIVE_FORMAT_VERSION or version < 1:
        raise ArchiveVersionError(
            f"The archive {file.name} is in format version {version}; this Hearth reads "
            f"version {ARCHIVE_FORMAT_VERSION}.",
            path=file,
        )
    _field(manifest, "exported", (int, float), where)
    _field(manifest, "hearth_version", str, where)
    _field(manifest, "conversations", int, where)
    _field(manifest, "messages", int, where)
    files = _field(manifest, "files", list, where)
    if not all(isinstance(name, str) for name in files) or len(files) != manifest["conversations"]:
        raise ArchiveDamagedError(f"{where}: the file list does not match the count.", path=file)
    manifest["exported"] = float(manifest["exported"])
    return manifest


def _copy(data: Any, where: str) -> ConversationCopy:
    if not isinstance(data, dict):
        raise ArchiveDamagedError(f"{where}: a conversation must be a JSON object.")
    raw_messages = _field(data, "messages", list, where)
    messages = tuple(_message(m, f"{where} message {i}") for i, m in enumerate(raw_messages))
    conversation = ConversationRecord(
        id=_field(data, "id", int, where),
        title=_field(data, "title", str, where),
        created=float(_field(data, "created", (int, float), where)),
        updated=float(_field(data, "updated", (int, float), where)),
        system_prompt=_field(data, "system_prompt", str, where),
        options=_field(data, "options", dict, where),
        active_leaf=_optional(data, "active_leaf", int, where),
        deleted=_optional_float(data, "deleted", where),
    )
    return ConversationCopy(conversation, messages, _field(data, "draft", str, where))


def _message(data: Any, where: str) -> MessageRecord:
    if not isinstance(data, dict):
        raise ArchiveDamagedError(f"{where}: a message must be a JSON object.")
    role = _field(data, "role", str, where)
    status = _field(data, "status", str, where)
    if role not in ROLES:
        raise ArchiveDamagedError(f"{where}: unknown role {role!r}.")
    if status not in STATUSES:
        raise ArchiveDamagedError(f"{where}: unknown status {status!r}.")
    return MessageRecord(
        id=_field(data, "id", int, where),
        conversation_id=0,
        parent_id=_optional(data, "parent_id", int, where),
        role=role,
        text=_field(data, "text", str, where),
        model=_optional(data, "model", str, where),
        quantization=_optional(data, "quantization", str, where),
        backend=_optional(data, "backend", str, where),
        prompt_tokens=_optional(data, "prompt_tokens", int, where),
        completion_tokens=_optional(data, "completion_tokens", int, where),
        ttft=_optional_float(data, "ttft", where),
        tokens_per_second=_optional_float(data, "tokens_per_second", where),
        stop_reason=_optional(data, "stop_reason", str, where),
        status=status,
        error=_optional(data, "error", str, where),
        created=float(_field(data, "created", (int, float), where)),
        # A reply's document sources (archives from before them have none).
        sources=sources_from_json(json.dumps(_optional(data, "sources", list, where))),
    )


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ArchiveDamagedError(f"{where}: the field {key!r} is missing.")
    value = data[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ArchiveDamagedError(f"{where}: the field {key!r} has the wrong type.")
    if not isinstance(value, kind):
        raise ArchiveDamagedError(f"{where}: the field {key!r} has the wrong type.")
    return value


def _optional(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if data.get(key) is None:
        return None
    return _field(data, key, kind, where)


def _optional_float(data: dict[str, Any], key: str, where: str) -> float | None:
    value = _optional(data, key, (int, float), where)
    return float(value) if value is not None else None


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:_SLUG_CHARS].strip("-")
    return slug or "untitled"
