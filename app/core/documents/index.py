"""The documents index: one SQLite file with collections, files, chunks, keywords and vectors.

``app_paths().documents / "index.sqlite3"``. Tables:

- ``collections`` and ``sources`` (the files and folders a collection was given);
- ``files``: every file found, with its size, modification time, content hash, the chunk
  size and overlap it was cut with (``chunking``: a change in settings re-chunks it), and
  either its chunk count or the reason it was skipped or limited;
- ``chunks``: text, page, first and last line, and the hash of the text; ``chunks_fts`` (FTS5)
  holds the same text for keyword search, row for row;
- ``vectors``: one float32 BLOB per (embedding model, chunk text hash). Equal text is embedded
  once, so a moved file or an unchanged paragraph of an edited one costs no embedding. A
  rowid table, not WITHOUT ROWID: a 1.5 KB vector fits in its leaf page there, where an
  index b-tree spills each one to overflow pages (twice the file, 2.4 times slower reads).

A file's chunks, their keyword rows and its ``files`` row are written in one transaction
after their vectors are stored, so an index killed at any point has every chunk with a
vector, keyword rows equal to chunk rows, and no file half written. Vector search scans a
float32 matrix with numpy (README: 100,000 × 384 in a few milliseconds); the matrix is kept
in memory and rebuilt when the index changes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.core.documents.chunking import TOKEN, Chunk
from app.core.errors import (
    DamagedFileError,
    DiskFullError,
    NotFoundError,
    StorageError,
    storage_error,
)

INDEX_FILE = "index.sqlite3"
RRF_K = 60
"""Reciprocal-rank fusion's constant (Cormack et al.; GPT4All uses the same)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    chunks INTEGER NOT NULL DEFAULT 0,
    chunking TEXT NOT NULL DEFAULT '',
    UNIQUE (collection_id, path)
);
CREATE INDEX IF NOT EXISTS files_by_hash ON files (collection_id, hash);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    first_line INTEGER NOT NULL,
    last_line INTEGER NOT NULL,
    unit TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (text, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS vectors (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (model, hash)
);
"""


class CollectionNotFoundError(NotFoundError):
    """No collection has that name."""

    hint = "Run `hearth docs list` to see your collections."


class SourceNotFoundError(NotFoundError):
    """A file or folder to add is not there; nothing was added."""

    hint = "Check the path (a typo, or a drive that is not connected?) and add it again."


class DocumentIndexError(DamagedFileError):
    """The index file cannot be used as it is."""

    hint = "The index can be rebuilt: `hearth docs reindex NAME`."


@dataclass(frozen=True, slots=True)
class Collection:
    """A collection, its sources, and how many files, chunks and skipped files it has."""

    id: int
    name: str
    sources: tuple[str, ...]
    files: int
    chunks: int
    skipped: int


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a collection: indexed, limited (with why) or skipped (with why)."""

    path: str
    status: str
    """``indexed``, ``limited`` or ``skipped``."""
    reason: str
    chunks: int
    size: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What the index remembers of a file, to tell whether it changed."""

    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str
    status: str
    chunking: str = ""
    """The chunk size and overlap it was cut with (``200/40``); empty when unknown."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its scores; a score of None means that search did not find it."""

    chunk_id: int
    path: str
    text: str
    page: int | None
    first_line: int
    last_line: int
    unit: str
    keyword_score: float | None
    keyword_rank: int | None
    vector_score: float | None
    vector_rank: int | None
    fused_score: float

    @property
    def where(self) -> str:
        """The position in words: ``page 3``, ``lines 10–24``, ``paragraphs 2–5``."""
        if self.page is not None:
            return f"page {self.page}"
        if self.first_line == self.last_line:
            return f"{self.unit.rstrip('s')} {self.first_line}"
        return f"{self.unit} {self.first_line}–{self.last_line}"


@dataclass(frozen=True, slots=True)
class Consistency:
    """What :meth:`DocumentIndex.check` counts; all zero in a consistent index."""

    chunks_without_vector: int
    duplicate_chunks: int
    fts_rows_missing: int
    fts_rows_extra: int
    files_counted_wrong: int

    @property
    def ok(self) -> bool:
        """Whether nothing is inconsistent."""
        return not any(
            (
                self.chunks_without_vector,
                self.duplicate_chunks,
                self.fts_rows_missing,
                self.fts_rows_extra,
                self.files_counted_wrong,
            )
        )


class DocumentIndex:
    """The index database; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise storage_error(error, doing=f"create {self.path.parent}") from None
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA secure_delete = ON")  # deleted text is overwritten
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
            if "chunking" not in columns:  # an index from before chunk sizes were kept
                self._db.execute("ALTER TABLE files ADD COLUMN chunking TEXT NOT NULL DEFAULT ''")
            # Keyword search reads on its own connection, so it runs beside a vector scan
            # (or the query's embedding) instead of waiting for the main one: WAL readers
            # do not block each other.
            self._keywords = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
        except sqlite3.Error as error:
            code = getattr(error, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in (
                sqlite3.SQLITE_CORRUPT,
                sqlite3.SQLITE_NOTADB,
            ):
                raise DocumentIndexError(
                    f"The documents index {self.path} is damaged: {error}.", path=self.path
                ) from None
            raise StorageError(
                f"Hearth could not open the documents index {self.path}: {error}.", path=self.path
            ) from None
        self._keywords_lock = threading.Lock()
        self._matrix_key: tuple[object, ...] | None = None
        self._matrix: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None

    @classmethod
    def open(cls, folder: str | Path | None = None) -> DocumentIndex:
        """The index in ``folder``, by default Hearth's documents folder."""
        if folder is None:
            from app.core.paths import app_paths

            folder = app_paths().documents
        return cls(Path(folder) / INDEX_FILE)

    def close(self) -> None:
        """Close the database (the indexer must have stopped)."""
        with self._keywords_lock:
            self._keywords.close()
        with self._lock:
            self._db.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute(
                    "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
                self._db.execute("COMMIT")
            except BaseException as error:
                with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have ended it
                    self._db.execute("ROLLBACK")
                code = getattr(error, "sqlite_errorcode", None)
                if isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL:
                    raise DiskFullError(
                        "The disk is full: the documents index could not be written "
                        "(what was indexed before is kept).",
                        path=self.path,
                    ) from None
                raise

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- collections -----------------------------------------------------------------------

    def add_sources(self, name: str, paths: Iterable[str | Path]) -> Collection:
        """Add files and folders to the collection ``name``, creating it if needed.

        Every path must exist: otherwise SourceNotFoundError names the missing ones and
        nothing is added (a source that disappears later is reported as gone).
        """
        resolved = [str(Path(p).expanduser().absolute()) for p in paths]
        missing = [p for p in resolved if not os.path.exists(p)]
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            listed = ", ".join(missing[:3]) + more
            raise SourceNotFoundError(
                f"Nothing was added to {name!r}: {listed} "
                f"{'does' if len(missing) == 1 else 'do'} not exist."
            )
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO collections (name, created) VALUES (?, ?)",
                (name, time.time()),
            )
            cid = self._collection_id(name)
            db.executemany(
                "INSERT OR IGNORE INTO sources VALUES (?, ?)", [(cid, p) for p in resolved]
            )
        return self.collection(name)

    def _collection_id(self, name: str) -> int:
        row = self._db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise CollectionNotFoundError(f"There is no collection called {name!r}.")
        return int(row[0])

    def collection(self, name: str) -> Collection:
        """The collection ``name``; CollectionNotFoundError when there is none."""
        with self._lock:
            cid = self._collection_id(name)
            return self._describe(cid, name)

    def _describe(self, cid: int, name: str) -> Collection:
        sources = tuple(
            row[0]
            for row in self._db.execute(
                "SELECT path FROM sources WHERE collection_id = ? ORDER BY path", (cid,)
            )
        )
        files, chunks, skipped = self._db.execute(
            "SELECT count(*), coalesce(sum(chunks), 0), "
            "coalesce(sum(status = 'skipped'), 0) FROM files WHERE collection_id = ?",
            (cid,),
        ).fetchone()
        return Collection(cid, name, sources, int(files), int(chunks), int(skipped))

    def collections(self) -> list[Collection]:
        """Every collection, by name."""
        with self._lock:
            rows = self._db.execute("SELECT id, name FROM collections ORDER BY name").fetchall()
            return [self._describe(cid, name) for cid, name in rows]

    def remove_collection(self, name: str) -> None:
        """Delete the collection with its files, chunks, keywords and any vector left unused."""
        with self._write() as db:
            cid = self._collection_id(name)
            ids = [r[0] for r in db.execute(_CHUNKS_OF_COLLECTION, (cid,))]
            db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
            db.execute("DELETE FROM collections WHERE id = ?", (cid,))
            self._prune_vectors(db)
            # FTS5 keeps deleted words in its segments until they are merged.
            db.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        with self._lock:
            # The deleted text must not linger in free pages or the write-ahead log.
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def files(self, name: str) -> list[FileEntry]:
        """Every file found for the collection, with its status and reason."""
        with self._lock:
            cid = self._collection_id(name)
            return [
                FileEntry(*row)
                for row in self._db.execute(
                    "SELECT path, status, reason, chunks, size FROM files "
                    "WHERE collection_id = ? ORDER BY path",
                    (cid,),
                )
            ]

    def stored_files(self, collection_id: int) -> dict[str, StoredFile]:
        """The files the index holds for a collection, by path."""
        with self._lock:
            return {
                row[1]: StoredFile(*row)
                for row in self._db.execute(
                    "SELECT id, path, size, mtime_ns, hash, status, chunking FROM files "
                    "WHERE collection_id = ?",
                    (collection_id,),
                )
            }

    # -- writing files -----------------------------------------------------------------------

    def known_vectors(self, model: str, hashes: Sequence[str]) -> set[str]:
        """Which of these chunk hashes already have a vector for ``model``."""
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = list(hashes[start : start + 500])
                marks = ",".join("?" * len(part))
                found.update(
                    row[0]
                    for row in self._db.execute(
                        f"SELECT hash FROM vectors WHERE model = ? AND hash IN ({marks})",
                        (model, *part),
                    )
                )
        return found

    def paths_missing_vectors(self, collection_id: int, model: str) -> set[str]:
        """Files with a chunk that has no vector for ``model`` (the embedding model changed)."""
        with self._lock:
            return {
                row[0]
                for row in self._db.execute(
                    "SELECT DISTINCT files.path FROM files "
                    "JOIN chunks ON chunks.file_id = files.id WHERE files.collection_id = ? "
                    "AND NOT EXISTS (SELECT 1 FROM vectors "
                    "WHERE vectors.model = ? AND vectors.hash = chunks.hash)",
                    (collection_id, model),
                )
            }

    def store_vectors(self, model: str, pairs: Iterable[tuple[str, Sequence[float]]]) -> None:
        """Keep vectors by chunk hash (a cache: committed before the chunks that use them)."""
        rows = [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in pairs]
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (model, hash, vector) VALUES (?, ?, ?)", rows
            )

    def write_files(self, collection_id: int, records: Sequence[FileRecord]) -> None:
        """Replace these files' rows and chunks in one transaction."""
        with self._write() as db:
            for record in records:
                self._write_file(db, collection_id, record)

    def _write_file(self, db: sqlite3.Connection, cid: int, record: FileRecord) -> None:
        row = db.execute(
            "SELECT id FROM files WHERE collection_id = ? AND path = ?", (cid, record.path)
        ).fetchone()
        if row is not None:
            self._drop_chunks(db, int(row[0]))
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, hash = ?, status = ?, reason = ?, "
                "chunks = ?, chunking = ? WHERE id = ?",
                (
                    record.size,
                    record.mtime_ns,
                    record.hash,
                    record.status,
                    record.reason,
                    len(record.chunks),
                    record.chunking,
                    row[0],
                ),
            )
            file_id = int(row[0])
        else:
            file_id = int(
                db.execute(
                    "INSERT INTO files (collection_id, path, size, mtime_ns, hash, status, "
                    "reason, chunks, chunking) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cid,
                        record.path,
                        record.size,
                        record.mtime_ns,
                        record.hash,
                        record.status,
                        record.reason,
                        len(record.chunks),
                        record.chunking,
                    ),
                ).lastrowid
                or 0
            )
        for order, chunk in enumerate(record.chunks):
            chunk_id = db.execute(
                "INSERT INTO chunks (file_id, ord, text, page, first_line, last_line, unit, "
                "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    file_id,
                    order,
                    chunk.text,
                    chunk.page,
                    chunk.first_line,
                    chunk.last_line,
                    chunk.unit,
                    chunk.hash,
                ),
            ).lastrowid
            db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (chunk_id, chunk.text))

    def _drop_chunks(self, db: sqlite3.Connection, file_id: int) -> None:
        ids = [(r[0],) for r in db.execute("SELECT id FROM chunks WHERE file_id = ?", (file_id,))]
        db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ids)
        db.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))

    def relink(self, file_id: int, path: str, *, size: int, mtime_ns: int) -> None:
        """A moved or renamed file: the same row and chunks under its new path."""
        with self._write() as db:
            db.execute(
                "UPDATE files SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (path, size, mtime_ns, file_id),
            )

    def touch(self, file_id: int, *, mtime_ns: int) -> None:
        """A file saved again with the same content: remember its new time, keep its chunks."""
        with self._write() as db:
            db.execute("UPDATE files SET mtime_ns = ? WHERE id = ?", (mtime_ns, file_id))

    def forget_files(self, file_ids: Sequence[int]) -> None:
        """Files no longer found: their rows and chunks go, and vectors nothing else uses."""
        with self._write() as db:
            for file_id in file_ids:
                self._drop_chunks(db, file_id)
                db.execute("DELETE FROM files WHERE id = ?", (file_id,))
            self._prune_vectors(db)

    def prune_vectors(self) -> None:
        """Delete vectors no chunk uses any more."""
        with self._write() as db:
            self._prune_vectors(db)

    @staticmethod
    def _prune_vectors(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM chunks)")

    # -- searching ---------------------------------------------------------------------------

    def keyword_search(
        self, query: str, collection_ids: Sequence[int], limit: int
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) for the query's words, best first.

        Safe to call from another thread while this one searches vectors.
        """
        words = [m.group(0) for m in TOKEN.finditer(query) if m.group(0).isalnum()]
        if not words or not collection_ids:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        marks = ",".join("?" * len(collection_ids))
        with self._keywords_lock:
            rows = self._keywords.execute(
                "SELECT chunks_fts.rowid, bm25(chunks_fts) FROM chunks_fts "
                "JOIN chunks ON chunks.id = chunks_fts.rowid "
                "JOIN files ON files.id = chunks.file_id "
                f"WHERE chunks_fts MATCH ? AND files.collection_id IN ({marks}) "
                "ORDER BY bm25(chunks_fts) LIMIT ?",
                (match, *collection_ids, limit),
            ).fetchall()
        return [(int(cid), -float(score)) for cid, score in rows]

    def _vectors(
        self, model: str, collection_ids: Sequence[int]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        with self._lock:
            key = (model, tuple(sorted(collection_ids)), self._generation())
            if self._matrix is not None and key == self._matrix_key:
                return self._matrix
            marks = ",".join("?" * len(collection_ids))
            rows = self._db.execute(
                "SELECT chunks.id, vectors.vector FROM chunks "
                "JOIN files ON files.id = chunks.file_id "
                "JOIN vectors ON vectors.model = ? AND vectors.hash = chunks.hash "
                f"WHERE files.collection_id IN ({marks})",
                (model, *collection_ids),
            ).fetchall()
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            if rows:
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                matrix = matrix.reshape(len(rows), -1)
            else:
                matrix = np.zeros((0, 0), dtype=np.float32)
            self._matrix_key, self._matrix = key, (ids, matrix)
            return ids, matrix

    def vector_search(
        self,
        vector: Sequence[float],
        model: str,
        collection_ids: Sequence[int],
        limit: int,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) nearest the (normalised) query vector, best first."""
        if not collection_ids:
            return []
        ids, matrix = self._vectors(model, collection_ids)
        if not len(ids):
            return []
        query = np.asarray(vector, dtype=np.float32)
        if query.shape[0] != matrix.shape[1]:
            raise ValueError(  # one model id, two widths: a bug, not the user's doing
                f"The query vector has {query.shape[0]} dimensions; the index has "
                f"{matrix.shape[1]} for {model}."
            )
        scores = matrix @ query
        count = min(limit, len(scores))
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def hits(
        self,
        keyword: list[tuple[int, float]],
        vector: list[tuple[int, float]],
        limit: int,
    ) -> list[Hit]:
        """Both result lists merged by reciprocal-rank fusion, with every score kept."""
        fused: dict[int, float] = {}
        keyword_at = {cid: (rank, score) for rank, (cid, score) in enumerate(keyword, 1)}
        vector_at = {cid: (rank, score) for rank, (cid, score) in enumerate(vector, 1)}
        for ranking in (keyword_at, vector_at):
            for cid, (rank, _score) in ranking.items():
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:limit]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        with self._lock:
            rows = {
                row[0]: row[1:]
                for row in self._db.execute(
                    "SELECT chunks.id, files.path, chunks.text, chunks.page, chunks.first_line, "
                    "chunks.last_line, chunks.unit FROM chunks "
                    f"JOIN files ON files.id = chunks.file_id WHERE chunks.id IN ({marks})",
                    best,
                )
            }
        hits = []
        for cid in best:
            if cid not in rows:
                continue  # removed between the searches and now
            k_rank, k_score = keyword_at.get(cid, (None, None))
            v_rank, v_score = vector_at.get(cid, (None, None))
            path, text, page, first_line, last_line, unit = rows[cid]
            hits.append(
                Hit(
                    chunk_id=cid,
                    path=path,
                    text=text,
                    page=page,
                    first_line=first_line,
                    last_line=last_line,
                    unit=unit,
                    keyword_score=k_score,
                    keyword_rank=k_rank,
                    vector_score=v_score,
                    vector_rank=v_rank,
                    fused_score=fused[cid],
                )
            )
        return hits

    # -- checking ------------------------------------------------------------------------------

    def check(self) -> Consistency:
        """Count what would make the index inconsistent (a test runs this after a kill)."""
        with self._lock:
            one = self._db.execute

            def count(sql: str) -> int:
                return int(one(sql).fetchone()[0])

            return Consistency(
                chunks_without_vector=count(
                    "SELECT count(*) FROM chunks WHERE NOT EXISTS "
                    "(SELECT 1 FROM vectors WHERE vectors.hash = chunks.hash)"
                ),
                duplicate_chunks=count(
                    "SELECT count(*) FROM (SELECT file_id, ord FROM chunks "
                    "GROUP BY file_id, ord HAVING count(*) > 1)"
                ),
                fts_rows_missing=count(
                    "SELECT count(*) FROM chunks WHERE id NOT IN (SELECT rowid FROM chunks_fts)"
                ),
                fts_rows_extra=count(
                    "SELECT count(*) FROM chunks_fts WHERE rowid NOT IN (SELECT id FROM chunks)"
                ),
                files_counted_wrong=count(
                    "SELECT count(*) FROM files WHERE chunks != "
                    "(SELECT count(*) FROM chunks WHERE chunks.file_id = files.id)"
                ),
            )


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the indexer writes for one file."""

    path: str
    size: int
    mtime_ns: int
    hash: str
    status: str
    reason: str
    chunks: Sequence[Chunk]
    chunking: str = ""


_CHUNKS_OF_COLLECTION = (
    "SELECT chunks.id FROM chunks JOIN files ON files.id = chunks.file_id "
    "WHERE files.collection_id = ?"
)
