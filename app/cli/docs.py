"""``hearth docs``: collections of your own files, indexed on this computer, and searched.

``add PATH… [--collection NAME]`` adds files and folders and indexes them (progress on
standard error; Ctrl-C stops, keeping what was done, and ``reindex`` goes on from there),
``list [NAME] [--json]`` shows the collections or one collection's files with the reason any
was skipped, ``remove NAME`` deletes a collection from the index, ``reindex [NAME]`` rescans,
``search QUERY [--collection NAME] [--json]`` prints the best chunks with their file,
position and keyword, vector and fused scores.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from types import FrameType
from typing import Any

from app.core.context import AppContext
from app.core.documents import (
    DocumentIndex,
    EngineEmbedder,
    Hit,
    Indexer,
    Progress,
    Report,
    find_embedding_model,
    search,
)
from app.core.settings import Settings
from app.core.units import count

DEFAULT_COLLECTION = "documents"


def register(subparsers: Any) -> None:
    """Add ``docs`` and its actions to the ``hearth`` parser."""
    parser = subparsers.add_parser(
        "docs",
        help="index your own files and search them (nothing leaves this computer)",
        description="Collections of your files, indexed on this computer for search and chat.",
    )
    parser.add_argument(
        "--embedding-model", metavar="PATH", help="GGUF embedding model (default: settings)"
    )
    actions = parser.add_subparsers(dest="docs_action", required=True)
    add = actions.add_parser("add", help="add files and folders to a collection and index them")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--collection", default=DEFAULT_COLLECTION, metavar="NAME")
    listing = actions.add_parser("list", help="collections, or one collection's files")
    listing.add_argument("name", nargs="?", metavar="NAME")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    remove = actions.add_parser("remove", help="delete a collection from the index")
    remove.add_argument("name", metavar="NAME")
    reindex = actions.add_parser("reindex", help="rescan a collection (all when none is named)")
    reindex.add_argument("name", nargs="?", metavar="NAME")
    find = actions.add_parser("search", help="the chunks that best match a question")
    find.add_argument("query", metavar="QUERY")
    find.add_argument("--collection", action="append", metavar="NAME", help="repeatable")
    find.add_argument("--limit", type=int, default=8, help="how many chunks (default 8)")
    find.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: AppContext) -> int:
    """Carry out one ``hearth docs`` action; returns the exit status."""
    settings = context.current
    with DocumentIndex.open() as index:
        if args.docs_action == "list":
            return _list(index, args)
        if args.docs_action == "remove":
            index.remove_collection(args.name)
            print(f"Removed collection {args.name!r} and its index.", file=sys.stderr)
            return 0
        if args.docs_action == "add":
            index.add_sources(args.collection, args.paths)
            names = [args.collection]
        elif args.docs_action == "reindex":
            names = [args.name] if args.name else [c.name for c in index.collections()]
            for name in names:
                index.collection(name)  # an unknown name fails before the model loads
        else:
            names = []
        model = find_embedding_model(settings, args.embedding_model)
        with EngineEmbedder(model) as embedder:
            if args.docs_action == "search":
                hits = search(
                    index,
                    args.query,
                    embedder=embedder,
                    collections=args.collection,
                    limit=args.limit,
                )
                _print_hits(hits, as_json=args.json)
                return 0
            status = 0
            for name in names:
                status = max(status, _index(index, embedder, name, settings))
            return status


def _index(index: DocumentIndex, embedder: EngineEmbedder, name: str, settings: Settings) -> int:
    indexer = Indexer(index, embedder, settings=settings, on_progress=_ProgressLine(name))
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        indexer.cancel()

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        report = indexer.run(name)
    finally:
        signal.signal(signal.SIGINT, previous)
    print(file=sys.stderr)
    print(_summary(name, report), file=sys.stderr)
    for path, reason in sorted(report.reasons.items()):
        print(f"  {path}: {reason}", file=sys.stderr)
    return 130 if report.cancelled else 0


class _ProgressLine:
    """One line on standard error, redrawn at most ten times a second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.drawn = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.1 and progress.files_done < progress.files_total:
            return
        self.drawn = now
        left = progress.seconds_left
        eta = f", about {_duration(left)} left" if left is not None else ""
        print(
            f"\r{self.name}: {progress.files_done:,}/{progress.files_total:,} files, "
            f"{progress.chunks_done:,} chunks{eta}   ",
            end="",
            file=sys.stderr,
            flush=True,
        )


def _summary(name: str, report: Report) -> str:
    parts = [f"{report.indexed:,} indexed"]
    for n, words in (
        (report.unchanged, "unchanged"),
        (report.relinked, "moved or renamed (re-linked)"),
        (report.removed, "gone (removed)"),
        (report.skipped, "skipped"),
    ):
        if n:
            parts.append(f"{n:,} {words}")
    head = "Stopped; run `hearth docs reindex` to go on. " if report.cancelled else ""
    return (
        f"{head}{name}: {', '.join(parts)}; {count(report.chunks_embedded, 'chunk')} embedded, "
        f"{report.chunks_reused:,} reused, in {_duration(report.seconds)}."
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    return f"{minutes // 60} h {minutes % 60} min"


def _list(index: DocumentIndex, args: argparse.Namespace) -> int:
    if args.name is None:
        collections = index.collections()
        if args.json:
            rows = [
                {
                    "name": c.name,
                    "sources": list(c.sources),
                    "files": c.files,
                    "chunks": c.chunks,
                    "skipped": c.skipped,
                }
                for c in collections
            ]
            print(json.dumps(rows, indent=2))
            return 0
        if not collections:
            print("No collections yet: `hearth docs add PATH…` makes one.", file=sys.stderr)
        for c in collections:
            skipped = f", {c.skipped:,} skipped" if c.skipped else ""
            print(f"{c.name}: {count(c.files, 'file')}, {count(c.chunks, 'chunk')}{skipped}")
            for source in c.sources:
                print(f"  {source}")
        print(f"Index: {index.path}", file=sys.stderr)
        return 0
    files = index.files(args.name)
    if args.json:
        rows = [
            {"path": f.path, "status": f.status, "reason": f.reason, "chunks": f.chunks}
            for f in files
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for f in files:
        why = f" — {f.reason}" if f.reason else ""
        print(f"{f.status:8} {f.chunks:6,}  {f.path}{why}")
    return 0


def _print_hits(hits: list[Hit], *, as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "path": h.path,
                "page": h.page,
                "first_line": h.first_line,
                "last_line": h.last_line,
                "unit": h.unit,
                "where": h.where,
                "keyword_score": h.keyword_score,
                "keyword_rank": h.keyword_rank,
                "vector_score": h.vector_score,
                "vector_rank": h.vector_rank,
                "fused_score": h.fused_score,
                "text": h.text,
            }
            for h in hits
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not hits:
        print("Nothing found.", file=sys.stderr)
    for number, h in enumerate(hits, start=1):
        keyword = (
            f"{h.keyword_score:.2f} (#{h.keyword_rank})" if h.keyword_score is not None else "-"
        )
        vector = f"{h.vector_score:.3f} (#{h.vector_rank})" if h.vector_score is not None else "-"
        print(f"{number}. {h.path}, {h.where}")
        print(f"   keyword {keyword}, vector {vector}, fused {h.fused_score:.4f}")
        snippet = " ".join(h.text.split())
        print(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}")
