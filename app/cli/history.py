"""``hearth history``: list, search and export saved conversations from a terminal.

``list [--json] [--deleted]``, ``search TEXT [--json]`` and
``export ID [--format md|json] [--all-branches] [-o FILE]`` read the same history
file the desktop app writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.chat import HistoryStore
from app.core.context import AppContext

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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: AppContext) -> int:
    """Carry out one ``hearth history`` action; returns the exit status."""
    if args.history_action == "export" and args.all_branches and args.format != "json":
        print("hearth: --all-branches needs --format json.", file=sys.stderr)
        return EXIT_USAGE
    with HistoryStore.open() as store:
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
                    }
                    for c in conversations
                ]
                print(json.dumps(rows, indent=2, ensure_ascii=False))
            elif not conversations:
                print("No conversations saved yet.")
            else:
                for c in conversations:
                    print(f"{c.id:>6}  {_iso(c.updated)}  {c.title or '(untitled)'}")
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


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
