"""The chat vault: backing up and restoring a large history, exporting and importing the archive.

A history of ``size_mb`` (1 GB by default) is generated directly with ``executemany``:
conversations of 10 messages, each about 10 kB of varied words (a pool of texts reused,
so SQLite stores every byte and the archive's deflate has real text to work on). Then,
each timed once:

- backup: ``HistoryStore.backup`` (SQLite's online backup API, the copy's quick_check and
  the rename), in seconds and MB/s of history;
- check: the full ``PRAGMA integrity_check`` a restore runs on the backup first;
- restore: ``HistoryStore.restore_backup`` (check, the copy of the current history kept
  aside, the copy back);
- export: ``export_archive`` of every conversation, messages/s and the archive's size;
- import: ``import_archive`` into an empty history, messages/s.

``python -m bench.vault --size 50`` runs it on 50 MB for a quick look.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.chat import HistoryStore, check_backup, export_archive, import_archive
from app.core.chat.history import SCHEMA_VERSION

MESSAGE_BYTES = 10_000
PER_CONVERSATION = 10
POOL = 256


def _texts(rng: random.Random) -> list[str]:
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(5000)
    ]
    texts = []
    for _ in range(POOL):
        parts: list[str] = []
        size = 0
        while size < MESSAGE_BYTES:
            word = rng.choice(words)
            parts.append(word)
            size += len(word) + 1
        texts.append(" ".join(parts))
    return texts


def generate(path: Path, size_mb: int) -> int:
    """Write a history of about ``size_mb`` megabytes at ``path``; returns its message count."""
    HistoryStore.open(path).close()  # the real schema
    rng = random.Random(15)
    texts = _texts(rng)
    messages = max(PER_CONVERSATION, size_mb * 1_000_000 // MESSAGE_BYTES)
    conversations = messages // PER_CONVERSATION
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    start = 1_700_000_000.0
    conn.executemany(
        "INSERT INTO conversations (id, title, created, updated, system_prompt, options,"
        " active_leaf) VALUES (?, ?, ?, ?, '', '{}', ?)",
        (
            (c, f"Conversation {c}", start + c, start + c + 9, c * PER_CONVERSATION)
            for c in range(1, conversations + 1)
        ),
    )
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, parent_id, role, text, model, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                m,
                (m - 1) // PER_CONVERSATION + 1,
                None if (m - 1) % PER_CONVERSATION == 0 else m - 1,
                "user" if m % 2 else "assistant",
                texts[m % POOL],
                None if m % 2 else "bench-model",
                start + m,
            )
            for m in range(1, conversations * PER_CONVERSATION + 1)
        ),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return conversations * PER_CONVERSATION


def run(*, size_mb: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hearth-bench-vault-") as folder:
        root = Path(folder)
        history = root / "conversations" / "history.sqlite3"
        started = time.perf_counter()
        messages = generate(history, size_mb)
        generate_s = time.perf_counter() - started
        history_mb = history.stat().st_size / 1e6
        results: dict[str, Any] = {
            "size_mb": size_mb,
            "history_mb": round(history_mb, 1),
            "messages": messages,
            "generate_s": round(generate_s, 2),
        }
        with HistoryStore.open(history) as store:
            started = time.perf_counter()
            info = store.backup()
            results["backup_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            check_backup(info.path, newest_schema=SCHEMA_VERSION)
            results["check_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            kept = store.restore_backup(info.path).kept_at
            results["restore_s"] = round(time.perf_counter() - started, 2)
            kept.unlink()
            info.path.unlink()
            archive = root / "everything.zip"
            started = time.perf_counter()
            export_archive(store, archive)
            results["export_s"] = round(time.perf_counter() - started, 2)
            results["archive_mb"] = round(archive.stat().st_size / 1e6, 1)
        history.unlink()
        with HistoryStore.open(root / "imported" / "history.sqlite3") as target:
            started = time.perf_counter()
            imported = import_archive(target, archive)
            results["import_s"] = round(time.perf_counter() - started, 2)
            assert imported.messages == messages
    results["backup_mb_per_s"] = round(history_mb / results["backup_s"], 1)
    results["export_messages_per_s"] = round(messages / results["export_s"])
    results["import_messages_per_s"] = round(messages / results["import_s"])
    return results


def print_table(results: dict[str, Any]) -> None:
    print(
        f"history {results['history_mb']} MB, {results['messages']:,} messages "
        f"(generated in {results['generate_s']} s)"
    )
    print(f"{'step':<10} {'seconds':>8}  rate")
    print(f"{'backup':<10} {results['backup_s']:>8}  {results['backup_mb_per_s']} MB/s")
    print(f"{'check':<10} {results['check_s']:>8}  full integrity_check of the backup")
    print(f"{'restore':<10} {results['restore_s']:>8}  check + keep current aside + copy back")
    print(
        f"{'export':<10} {results['export_s']:>8}  {results['export_messages_per_s']:,} "
        f"messages/s, archive {results['archive_mb']} MB"
    )
    print(
        f"{'import':<10} {results['import_s']:>8}  {results['import_messages_per_s']:,} messages/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="history size in MB")
    outcome = run(size_mb=parser.parse_args().size)
    print_table(outcome)
