"""``hearth history``: list, search, export, back up and restore saved conversations.

``list [--json] [--deleted]``, ``search TEXT [--json]`` and
``export ID [--format md|json] [--all-branches] [-o FILE]`` read the same history
file the desktop app writes. ``deleted`` and ``restore-chat ID`` bring a chat back
from Recently deleted; ``backup``, ``backups`` and ``restore BACKUP [--yes]`` make,
list and restore backups; ``export-all PATH`` writes every chat into one archive that
``import PATH`` reads back, as it brings in chats from other apps
(``import PATH [--from APP] [--dry-run]``: all of a source's chats, or none).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.chat import (
    DELETED_KEPT_FOR_S,
    HEARTH,
    IMPORT_SOURCES,
    HistoryCorruptError,
    HistoryStore,
    ImportPreview,
    check_backup,
    export_archive,
    find_backup,
    import_chats,
    preview_import,
)
from app.core.context import AppContext
from app.core.units import count, format_bytes

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add ``history`` and its actions to the ``hearth`` parser."""
    parser = subparsers.add_parser(
        "history",
        help="list, search and export saved conversations",
        description="List, search and export the conversations the desktop app saved.",
    )
    actions = parser.add_subparsers(dest="history_action", required=True)
    listing = actions.add_parser("list", help="saved conversations, most recent first")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.add_argument("--deleted", action="store_true", help="list the deleted ones instead")
    search = actions.add_parser("search", help="find text in titles and messages")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--json", action="store_true", help="print JSON for scripts")
    export = actions.add_parser("export", help="write a conversation as Markdown or JSON")
    export.add_argument("id", metavar="ID", type=int)
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument(
        "--all-branches", action="store_true", help="JSON: include edited-away branches"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    deleted = actions.add_parser("deleted", help="chats in Recently deleted, until the purge")
    deleted.add_argument("--json", action="store_true", help="print JSON for scripts")
    restore_chat = actions.add_parser("restore-chat", help="bring a deleted chat back")
    restore_chat.add_argument("id", metavar="ID", type=int)
    actions.add_parser("backup", help="back up the history now")
    backups = actions.add_parser("backups", help="the backups, newest first")
    backups.add_argument("--json", action="store_true", help="print JSON for scripts")
    restore = actions.add_parser(
        "restore", help="replace the history with a backup (the current one is kept aside)"
    )
    restore.add_argument("backup", metavar="BACKUP", help="a name from `backups`, or a path")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export_all = actions.add_parser(
        "export-all", help="every chat, all branches, into one archive (a zip)"
    )
    export_all.add_argument("path", metavar="PATH")
    importing = actions.add_parser(
        "import",
        help="bring in an archive from export-all, or chats from GPT4All, LM Studio, Jan, "
        "Ollama, Open WebUI or ChatGPT",
        description="Import a Hearth archive, or another app's chats: a file or a folder (see "
        "README, Bring your chats). All of a source's chats are imported, or none; chats "
        "imported before are skipped.",
    )
    importing.add_argument("path", metavar="PATH", help="the file or folder the app keeps")
    importing.add_argument(
        "--from", dest="source", choices=IMPORT_SOURCES, help="the app (default: detected)"
    )
    importing.add_argument(
        "--dry-run", action="store_true", help="only show what would be imported"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: AppContext) -> int:
    """Carry out one ``hearth history`` action; returns the exit status."""
    if args.history_action == "export" and args.all_branches and args.format != "json":
        print("hearth: --all-branches needs --format json.", file=sys.stderr)
        return EXIT_USAGE
    vault_action = _VAULT_ACTIONS.get(args.history_action)
    if vault_action is not None:
        return vault_action(args)
    with HistoryStore.open() as store:
        if args.history_action == "import":
            return _import(store, args)
        if args.history_action == "list":
            conversations = store.list_conversations(deleted=args.deleted)
            if args.json:
                rows = [
                    {
                        "id": c.id,
                        "title": c.title,
                        "created": _iso(c.created),
                        "updated": _iso(c.updated),
                        "deleted": _iso(c.deleted) if c.deleted is not None else None,
                        "imported_from": c.options.get("imported"),
                    }
                    for c in conversations
                ]
                print(json.dumps(rows, indent=2, ensure_ascii=False))
            elif not conversations:
                print("No conversations saved yet.")
            else:
                for c in conversations:
                    print(f"{c.id:>6}  {_iso(c.updated)}  {c.title or '(untitled)'}{_origin(c)}")
            return 0
        if args.history_action == "search":
            hits = store.search(args.text)
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "conversation_id": h.conversation_id,
                                "title": h.title,
                                "message_id": h.message_id,
                                "snippet": h.snippet,
                            }
                            for h in hits
                        ],
                        indent=2,
                        ensure_ascii=False,
                    )
                )
            else:
                for h in hits:
                    print(f"{h.conversation_id:>6}  {h.title or '(untitled)'}: {h.snippet}")
            return 0
        if args.format == "json":
            text = store.export_json(args.id, all_branches=args.all_branches) + "\n"
        else:
            text = store.export_markdown(args.id)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _deleted(args: argparse.Namespace) -> int:
    with HistoryStore.open() as store:
        conversations = store.list_conversations(deleted=True)
    rows = [
        {
            "id": c.id,
            "title": c.title,
            "deleted": _iso(c.deleted or 0.0),
            "purged_after": _iso((c.deleted or 0.0) + DELETED_KEPT_FOR_S),
        }
        for c in conversations
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print("Recently deleted is empty.")
    else:
        for row in rows:
            print(
                f"{row['id']:>6}  deleted {row['deleted']}  (kept until {row['purged_after']})  "
                f"{row['title'] or '(untitled)'}"
            )
        print("Bring one back with `hearth history restore-chat ID`.")
    return 0


def _restore_chat(args: argparse.Namespace) -> int:
    with HistoryStore.open() as store:
        conversation = store.conversation(args.id)
        if conversation.deleted is None:
            print(f"hearth: conversation {args.id} is not in Recently deleted.", file=sys.stderr)
            return 1
        store.restore(args.id)
    print(f"Restored conversation {args.id}: {conversation.title or '(untitled)'}.")
    return 0


def _backup(args: argparse.Namespace) -> int:
    with HistoryStore.open() as store:
        info = store.backup()
    print(f"Backed up the history to {info.path} ({format_bytes(info.size)}).")
    return 0


def _backups(args: argparse.Namespace) -> int:
    with HistoryStore.open() as store:
        found = store.backups()
        folder = store.path.parent / "backups"
    if args.json:
        rows = [
            {
                "name": b.name,
                "path": str(b.path),
                "kind": b.kind,
                "created": _iso(b.created),
                "schema_version": b.schema_version,
                "size": b.size,
            }
            for b in found
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not found:
        print(f"No backups yet (they go to {folder}).")
    else:
        for b in found:
            print(f"{_iso(b.created)}  {b.kind:<13}  {format_bytes(b.size):>9}  {b.name}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        store = HistoryStore.open()
    except HistoryCorruptError as error:  # the damaged file is kept; restore into a new one
        print(f"hearth: {error}", file=sys.stderr)
        store = HistoryStore.open()
    with store:
        info = find_backup(store.path, args.backup)
        check = check_backup(info.path, newest_schema=store.schema_version)
        print(
            f"{info.name}: {count(check.conversations, 'chat')}, "
            f"{count(check.messages, 'message')}, "
            f"made {_iso(info.created)}."
        )
        if not args.yes:
            if not sys.stdin.isatty():
                print("hearth: add --yes to restore without a question.", file=sys.stderr)
                return EXIT_USAGE
            answer = input("Replace the current history with it? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing changed.")
                return 0
        result = store.restore_backup(info.path)
    print(f"Restored. The history as it was before is kept at {result.kept_at}.")
    return 0


def _export_all(args: argparse.Namespace) -> int:
    with HistoryStore.open() as store:
        summary = export_archive(store, args.path)
    print(
        f"Exported {count(summary.conversations, 'chat')} "
        f"({count(summary.messages, 'message')}) to {summary.path}."
    )
    return 0


def _import(store: HistoryStore, args: argparse.Namespace) -> int:
    preview = preview_import(store, args.path, source=args.source)
    _print_preview(preview)
    if args.dry_run or not preview.conversations:
        if args.dry_run:
            print("Dry run: nothing was imported.")
        return 0
    result = import_chats(store, args.path, source=args.source)
    line = (
        f"Imported {count(result.conversations, 'chat')} "
        f"({count(result.messages, 'message')}) from {result.label}"
    )
    if result.already_there:
        line += f"; {count(result.already_there, 'chat')} already in the history left unchanged"
    print(line + ".")
    return 0


_VAULT_ACTIONS = {
    "deleted": _deleted,
    "restore-chat": _restore_chat,
    "backup": _backup,
    "backups": _backups,
    "restore": _restore,
    "export-all": _export_all,
}


def _print_preview(preview: ImportPreview) -> None:
    print(f"{preview.label}: {preview.path}")
    if preview.source == HEARTH:  # an archive's own counts; the import skips what is here
        print(
            f"  {count(preview.conversations, 'chat')}, {count(preview.messages, 'message')}"
            " (those already in the history are skipped)"
        )
        return
    print(f"  {count(preview.conversations, 'new chat')}, {count(preview.messages, 'message')}")
    if preview.already_there:
        print(f"  {count(preview.already_there, 'chat')} imported before (skipped)")
    for title in preview.titles:
        print(f"    {title or '(untitled)'}")
    if preview.conversations > len(preview.titles):
        print(f"    … and {preview.conversations - len(preview.titles)} more")


def _origin(conversation: Any) -> str:
    marker = conversation.options.get("imported")
    if not isinstance(marker, dict):
        return ""
    return f"  (imported from {marker.get('app')}: {marker.get('file')})"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
