"""Indexing a collection in the background: progress, pause, resume, cancel, and no lost work.

:class:`Indexer` scans a collection's files and folders, reads only the files whose size or
modification time changed, and embeds only chunk texts the index has no vector for. A file
found under a new path with the content of one that disappeared is re-linked (no reading of
chunks, no embedding). Work is written a batch of files at a time, each batch in one
transaction after its vectors: killed at any point, the next run starts where this one
stopped and the index is consistent.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.core.documents.chunking import chunk_sections
from app.core.documents.embedding import Embedder, document_texts
from app.core.documents.extraction import Extracted, Limits, Skipped, extract, read_file
from app.core.documents.index import DocumentIndex, FileRecord, StoredFile
from app.core.settings import Settings

log = logging.getLogger(__name__)

BATCH_CHUNKS = 64
"""Chunks embedded per engine request and written per transaction."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an indexing run is: files, chunks, bytes, and the time it may still take."""

    files_done: int
    files_total: int
    chunks_done: int
    bytes_done: int
    bytes_total: int
    elapsed: float
    current: str = ""
    paused: bool = False

    @property
    def seconds_left(self) -> float | None:
        """From the bytes read so far; None until there is something to go on."""
        if self.bytes_done <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) * self.elapsed / self.bytes_done)


@dataclass(slots=True)
class Report:
    """What one run did."""

    indexed: int = 0
    relinked: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)
    """Skipped or limited files and why."""


@dataclass(slots=True)
class _Found:
    path: str
    size: int = 0
    mtime_ns: int = 0
    reason: str = ""


class Cancelled(Exception):
    """Raised inside a run at the first checkpoint after :meth:`Indexer.cancel`."""


class Indexer:
    """Indexes collections of one index with one embedder; run in line or on a thread."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        *,
        settings: Settings | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        batch_chunks: int = BATCH_CHUNKS,
    ) -> None:
        settings = settings or Settings()
        self.index = index
        self.embedder = embedder
        self.chunk_tokens = settings.docs_chunk_tokens
        self.chunk_overlap = min(settings.docs_chunk_overlap, settings.docs_chunk_tokens - 1)
        self.chunking = f"{self.chunk_tokens}/{self.chunk_overlap}"
        """Written with each file: a file cut with other sizes is cut again on the next run."""
        self.limits = Limits(
            max_file_bytes=settings.docs_max_file_mb * 1_000_000,
            max_text_chars=settings.docs_max_text_chars,
        )
        self.on_progress = on_progress
        self.batch_chunks = batch_chunks
        self._running = threading.Event()
        self._running.set()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.report: Report | None = None
        self.error: BaseException | None = None

    # -- control (any thread) --------------------------------------------------------------

    def pause(self) -> None:
        """Stop after the file in hand until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Go on after :meth:`pause`."""
        self._running.set()

    def cancel(self) -> None:
        """Stop soon; what was written stays, and the next run goes on from there."""
        self._cancel.set()
        self._running.set()

    def start(self, name: str) -> threading.Thread:
        """Index the collection ``name`` on a background thread; ``wait`` for its report."""

        def work() -> None:
            try:
                self.report = self.run(name)
            except BaseException as error:  # handed to whoever waits
                log.exception("indexing %s failed", name)
                self.error = error

        self._thread = threading.Thread(target=work, name=f"index-{name}", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> Report:
        """The background run's report (its error raised here)."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        if self.report is None:
            raise TimeoutError("Indexing is still running.")
        return self.report

    def _checkpoint(self, progress: Progress) -> None:
        if not self._running.is_set():
            self._emit(progress, paused=True)
            self._running.wait()
        if self._cancel.is_set():
            raise Cancelled

    def _emit(self, progress: Progress, *, paused: bool = False) -> None:
        if self.on_progress is not None:
            if paused:
                progress = dataclasses.replace(progress, paused=True)
            self.on_progress(progress)

    # -- the run -----------------------------------------------------------------------------

    def run(self, name: str) -> Report:
        """Bring the collection's index up to date with its files, in this thread."""
        began = time.monotonic()
        collection = self.index.collection(name)
        report = Report()
        stored = self.index.stored_files(collection.id)
        found = list(_scan(collection.sources))
        seen = {f.path for f in found}
        missing: dict[str, StoredFile] = {
            s.hash: s for path, s in stored.items() if path not in seen and s.status != "skipped"
        }
        # Indexed with another embedding model: their chunks need this model's vectors.
        unembedded = self.index.paths_missing_vectors(collection.id, self.embedder.model_id)
        todo: list[_Found] = []
        skips: list[FileRecord] = []
        for item in found:
            old = stored.get(item.path)
            if item.reason:
                skips.append(_skip(item, item.reason))
            elif (
                old is not None
                and old.status != "skipped"
                and (old.size, old.mtime_ns) == (item.size, item.mtime_ns)
                and old.chunking == self.chunking
                and item.path not in unembedded
            ):
                report.unchanged += 1
            else:
                todo.append(item)
        report.skipped += len(skips)
        for skip in skips:
            report.reasons[skip.path] = skip.reason
        self.index.write_files(collection.id, skips)
        total_bytes = sum(item.size for item in todo)
        done_files = done_bytes = done_chunks = 0
        pending: list[FileRecord] = []

        def progress(current: str = "") -> Progress:
            return Progress(
                files_done=done_files,
                files_total=len(todo),
                chunks_done=done_chunks,
                bytes_done=done_bytes,
                bytes_total=total_bytes,
                elapsed=time.monotonic() - began,
                current=current,
            )

        def flush() -> None:
            nonlocal done_chunks
            if not pending:
                return
            embedded, reused = self._embed(pending)
            # The file may have changed while it was cut and embedded: what is written
            # must be what is on disk now (read again once; skipped if it keeps changing).
            checked = [self._as_on_disk(record, report) for record in pending]
            again = {
                id(c): c
                for c, r in zip(checked, pending, strict=True)
                if c.hash != r.hash and c.chunks
            }
            if again:
                more = self._embed(list(again.values()))
                embedded, reused = embedded + more[0], reused + more[1]
                checked = [self._still(c, report) if id(c) in again else c for c in checked]
            pending[:] = checked
            self.index.write_files(collection.id, pending)
            report.chunks_embedded += embedded
            report.chunks_reused += reused
            done_chunks += sum(len(r.chunks) for r in pending)
            pending.clear()

        try:
            for item in todo:
                self._checkpoint(progress(item.path))
                self._emit(progress(item.path))
                record = self._read(
                    item, stored.get(item.path), missing, report, reembed=item.path in unembedded
                )
                done_files += 1
                done_bytes += item.size
                if record is not None:
                    pending.append(record)
                    if sum(len(r.chunks) for r in pending) >= self.batch_chunks:
                        self._checkpoint(progress(item.path))
                        flush()
            self._checkpoint(progress())
            flush()
        except Cancelled:
            report.cancelled = True
            report.seconds = time.monotonic() - began
            return report
        gone = [s.id for s in missing.values()]
        gone += [s.id for p, s in stored.items() if p not in seen and s.status == "skipped"]
        self.index.forget_files(gone)
        report.removed = len(gone)
        report.seconds = time.monotonic() - began
        self._emit(progress())
        return report

    def _read(
        self,
        item: _Found,
        old: StoredFile | None,
        missing: dict[str, StoredFile],
        report: Report,
        *,
        reembed: bool = False,
    ) -> FileRecord | None:
        path = Path(item.path)
        try:
            extracted = extract(path, self.limits)
        except Skipped as skipped:
            report.skipped += 1
            report.reasons[item.path] = str(skipped)
            return _skip(item, str(skipped))
        moved = missing.get(extracted.content_hash)
        if moved is not None and old is None and moved.chunking == self.chunking:
            # Moved or renamed, and cut as it would be now: the same chunks under a new path.
            del missing[extracted.content_hash]
            self.index.relink(moved.id, item.path, size=extracted.size, mtime_ns=extracted.mtime_ns)
            report.relinked += 1
            return None
        same = (
            old is not None
            and old.hash == extracted.content_hash
            and old.status != "skipped"
            and old.chunking == self.chunking
        )
        if same and not reembed and old is not None:
            self.index.touch(old.id, mtime_ns=extracted.mtime_ns)
            report.unchanged += 1
            return None
        return self._record(item.path, extracted, report)

    def _record(self, path: str, extracted: Extracted, report: Report) -> FileRecord:
        chunks = chunk_sections(
            extracted.sections, size=self.chunk_tokens, overlap=self.chunk_overlap
        )
        reason = extracted.limited
        if reason:
            report.reasons[path] = reason
        report.indexed += 1
        return FileRecord(
            path=path,
            size=extracted.size,
            mtime_ns=extracted.mtime_ns,
            hash=extracted.content_hash,
            status="limited" if reason else "indexed",
            reason=reason,
            chunks=chunks,
            chunking=self.chunking,
        )

    def _as_on_disk(self, record: FileRecord, report: Report) -> FileRecord:
        """``record``, or the file read again when its bytes changed since they were read.

        The size and time are compared first; when they differ, the content hash decides
        (a file saved again unchanged keeps its chunks).
        """
        if record.status == "skipped":
            return record
        path = Path(record.path)
        try:
            info = path.stat()
        except OSError:
            return self._dropped(record, report, "gone: it was deleted while it was indexed")
        if (info.st_size, info.st_mtime_ns) == (record.size, record.mtime_ns):
            return record
        try:
            data, _info = read_file(path, self.limits)
        except Skipped as skipped:
            return self._dropped(record, report, str(skipped))
        if hashlib.sha256(data).hexdigest() == record.hash:
            return dataclasses.replace(record, mtime_ns=info.st_mtime_ns)
        log.info("%s changed while it was indexed: reading it again", record.path)
        report.indexed -= 1  # counted again by the new read
        report.reasons.pop(record.path, None)
        try:
            return self._record(record.path, extract(path, self.limits), report)
        except Skipped as skipped:
            return self._dropped(record, report, str(skipped), counted=False)

    def _still(self, record: FileRecord, report: Report) -> FileRecord:
        """A file read again: if it changed once more, it is skipped until the next rescan."""
        checked = self._as_on_disk(record, report)
        if checked is record or checked.hash == record.hash or checked.status == "skipped":
            return checked
        report.indexed -= 1
        return self._dropped(
            checked,
            report,
            "kept changing while it was indexed: skipped; rescan when it is saved",
            counted=False,
        )

    def _dropped(
        self, record: FileRecord, report: Report, reason: str, *, counted: bool = True
    ) -> FileRecord:
        if counted:
            report.indexed -= 1
        report.skipped += 1
        report.reasons[record.path] = reason
        return FileRecord(record.path, record.size, record.mtime_ns, "", "skipped", reason, ())

    def _embed(self, records: list[FileRecord]) -> tuple[int, int]:
        """Embed the chunk texts the index has no vector for; (embedded, reused)."""
        texts: dict[str, str] = {}
        for record in records:
            for chunk in record.chunks:
                texts.setdefault(chunk.hash, chunk.text)
        model = self.embedder.model_id
        known = self.index.known_vectors(model, list(texts))
        wanted = [(h, t) for h, t in texts.items() if h not in known]
        for start in range(0, len(wanted), self.batch_chunks):
            part = wanted[start : start + self.batch_chunks]
            vectors = self.embedder.embed(document_texts(self.embedder, [t for _h, t in part]))
            self.index.store_vectors(model, zip((h for h, _t in part), vectors, strict=True))
        total = sum(len(r.chunks) for r in records)
        return len(wanted), total - len(wanted)


def _skip(item: _Found, reason: str) -> FileRecord:
    return FileRecord(item.path, item.size, item.mtime_ns, "", "skipped", reason, ())


def _scan(sources: tuple[str, ...]) -> Iterator[_Found]:
    """Every file under the sources (following links once, a loop reported, not followed)."""
    visited: set[tuple[int, int]] = set()
    emitted: set[str] = set()
    for source in sources:
        for item in _walk(Path(source), visited):
            if item.path not in emitted:
                emitted.add(item.path)
                yield item


def _walk(path: Path, visited: set[tuple[int, int]]) -> Iterator[_Found]:
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            yield _Found(str(path), reason="a symbolic link to nothing")
        else:
            yield _Found(str(path), reason="gone: it was deleted or moved")
        return
    except OSError as error:
        if error.errno == errno.ELOOP:
            yield _Found(str(path), reason="a symbolic link that loops back on itself")
        else:
            yield _Found(str(path), reason=f"cannot be read: {error.strerror or error}")
        return
    if stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in visited:
            if path.is_symlink():
                yield _Found(str(path), reason="a symbolic link to a folder already indexed")
            return
        visited.add(key)
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except PermissionError:
            yield _Found(str(path), reason="a folder Hearth has no permission to list")
            return
        except OSError as error:
            yield _Found(str(path), reason=f"a folder that cannot be listed: {error.strerror}")
            return
        for name in names:
            if name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not documents
            yield from _walk(path / name, visited)
    elif stat.S_ISREG(info.st_mode):
        yield _Found(str(path), size=info.st_size, mtime_ns=info.st_mtime_ns)
    else:
        yield _Found(str(path), reason="not a regular file (a pipe, device or socket)")
