"""Bring chats from other apps into Hearth's history: GPT4All, LM Studio, Jan, Ollama,
Open WebUI and ChatGPT (and Hearth's own archive, handed to ``vault_archive``).

:func:`detect_source` names the app a file or folder comes from; :func:`preview_import`
reads it and says what an import would add (nothing is written); :func:`import_chats`
adds it to a :class:`~app.core.chat.history.HistoryStore` in one transaction, so a
source that turns out damaged half way adds nothing. Each imported conversation
remembers its app, file and the app's id for it (``HistoryStore.imported_from``); a
conversation already imported is skipped, so importing the same source again adds
nothing new.

Each app's module says which of its files it reads and how (with the source files of
that app it follows). Sources are read as streams: a very large export costs memory in
proportion to its largest chat, not to the whole file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.chat.history import HistoryStore, ImportedConversation
from app.core.chat.importers import chatgpt, gpt4all, jan, lmstudio, ollama, openwebui
from app.core.chat.importers.base import (
    ChatImportError,
    DamagedSourceError,
    Importer,
    SourceVersionError,
    UnknownSourceError,
)
from app.core.chat.vault_archive import import_archive, is_hearth_archive, read_archive

IMPORTERS: tuple[Importer, ...] = (
    gpt4all.IMPORTER,
    ollama.IMPORTER,
    jan.IMPORTER,
    chatgpt.IMPORTER,
    openwebui.IMPORTER,
    lmstudio.IMPORTER,
)
"""Every app Hearth imports from, in the order :func:`detect_source` tries them."""

SOURCES: tuple[str, ...] = tuple(importer.name for importer in IMPORTERS)
"""The names ``--from`` takes."""

_PREVIEW_TITLES = 20
HEARTH = "hearth"
HEARTH_LABEL = "Hearth archive"


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What importing a source would add; ``titles`` are the first few new chats' titles."""

    source: str
    label: str
    path: Path
    conversations: int
    messages: int
    already_there: int
    titles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import added, and how many of the source's chats Hearth already had."""

    source: str
    label: str
    path: Path
    conversations: int
    messages: int
    already_there: int


def importer(name: str) -> Importer:
    """The importer called ``name`` (one of :data:`SOURCES`)."""
    for candidate in IMPORTERS:
        if candidate.name == name:
            return candidate
    raise UnknownSourceError(
        f"Hearth has no importer called {name!r}; it knows {', '.join(SOURCES)}."
    )


def detect_source(path: str | Path) -> Importer:
    """The app whose chats are at ``path`` (a file or a folder), or UnknownSourceError."""
    where = Path(path).expanduser()
    if not where.exists():
        raise ChatImportError(f"There is nothing at {where}.", path=where)
    if is_hearth_archive(where):
        raise ChatImportError(
            f"{where.name} is a Hearth archive, not another app's chats; import_chats "
            "and preview_import read it.",
            path=where,
        )
    for candidate in IMPORTERS:
        if candidate.claims(where):
            return candidate
    raise UnknownSourceError(
        f"Hearth does not recognise {where.name or where} as chats from GPT4All, LM Studio, "
        "Jan, Ollama, Open WebUI or ChatGPT.",
        path=where,
    )


def preview_import(
    store: HistoryStore, path: str | Path, *, source: str | None = None
) -> ImportPreview:
    """Read the whole source and count what :func:`import_chats` would add; writes nothing.

    Raises the same errors an import would (a damaged file is found here first). For a
    Hearth archive (source ``"hearth"``) the counts are the archive's: the chats the
    history already holds are found, and skipped, by the import.
    """
    where = _existing(path)
    if source is None and _archive_like(where):
        summary = read_archive(where)
        return ImportPreview(
            HEARTH, HEARTH_LABEL, where, summary.conversations, summary.messages, 0, ()
        )
    where, chosen = _resolve(path, source)
    known = _known_keys(store)
    conversations = messages = already_there = 0
    titles: list[str] = []
    for conversation in _read(chosen, where):
        if conversation.source_key in known:
            already_there += 1
            continue
        known.add(conversation.source_key)
        conversations += 1
        messages += len(conversation.messages)
        if len(titles) < _PREVIEW_TITLES:
            titles.append(conversation.title or _first_words(conversation))
    return ImportPreview(
        chosen.name, chosen.label, where, conversations, messages, already_there, tuple(titles)
    )


def import_chats(
    store: HistoryStore, path: str | Path, *, source: str | None = None
) -> ImportResult:
    """Import every chat at ``path`` not imported before: all of them, or none.

    ``source`` is one of :data:`SOURCES`; None detects it. Raises UnknownSourceError
    (not a format Hearth reads), DamagedSourceError (cut short or damaged),
    SourceVersionError (a newer format than Hearth knows), ChatImportError (cannot
    be read); in every case the history is left as it was. A Hearth archive (from
    ``export_archive``) goes to :func:`~app.core.chat.vault_archive.import_archive`.
    """
    where = _existing(path)
    if source is None and _archive_like(where):
        done = import_archive(store, where)
        return ImportResult(
            HEARTH, HEARTH_LABEL, where, len(done.added), done.messages, done.skipped
        )
    where, chosen = _resolve(path, source)
    counts = store.import_conversations(_read(chosen, where))
    return ImportResult(
        chosen.name,
        chosen.label,
        where,
        counts.conversations,
        counts.messages,
        counts.already_there,
    )


def _existing(path: str | Path) -> Path:
    where = Path(path).expanduser()
    if not where.exists():
        raise ChatImportError(f"There is nothing at {where}.", path=where)
    return where


def _archive_like(where: Path) -> bool:
    """A Hearth archive, or a .zip that is not ChatGPT's (its error is then the archive's)."""
    if is_hearth_archive(where):
        return True
    return where.suffix.lower() == ".zip" and where.is_file() and not chatgpt.claims(where)


def _resolve(path: str | Path, source: str | None) -> tuple[Path, Importer]:
    where = Path(path).expanduser()
    if not where.exists():
        raise ChatImportError(f"There is nothing at {where}.", path=where)
    return where, importer(source) if source is not None else detect_source(where)


def _read(chosen: Importer, where: Path) -> Iterator[ImportedConversation]:
    found = False
    for conversation in chosen.read(where):
        found = True
        # The app's own id, named by the app: two apps may well use the same ids.
        yield replace(conversation, source_key=f"{chosen.name}:{conversation.source_key}")
    if not found and not chosen.claims(where):
        raise UnknownSourceError(
            f"{where.name or where} holds no {chosen.label} chats.", path=where
        )


def _known_keys(store: HistoryStore) -> set[str]:
    keys = set()
    for deleted in (False, True):
        for conversation in store.list_conversations(deleted=deleted):
            marker = conversation.options.get("imported")
            if isinstance(marker, dict) and "key" in marker:
                keys.add(str(marker["key"]))
    return keys


def _first_words(conversation: ImportedConversation) -> str:
    first = next((m for m in conversation.messages if m.role == "user"), None)
    return " ".join(first.text.split())[:60] if first is not None else "(untitled)"


__all__ = [
    "HEARTH",
    "IMPORTERS",
    "SOURCES",
    "ChatImportError",
    "DamagedSourceError",
    "ImportPreview",
    "ImportResult",
    "Importer",
    "SourceVersionError",
    "UnknownSourceError",
    "detect_source",
    "import_chats",
    "importer",
    "preview_import",
]
