"""Local documents: indexing throughput, query latency, the vector store, retrieval quality.

Throughput: the same chunks and model (all-MiniLM-L6-v2 F16), alternately through raw
in-process llama-cpp-python (``Llama.embed`` over batches of 64, normalised, the same
threads) and through Hearth's whole path (scan, read, chunk, embed in the engine process,
write to SQLite with FTS5); chunks per second, the ratio of medians.

Query latency at 10,000 and 100,000 chunks: synthetic chunk text and random unit vectors
(384 wide); the query's own embedding is left out (a precomputed vector). p50 and p95 of
a whole fused search (FTS5 keywords, the vector scan, the fusion and reading the hits),
and of its parts; the first query, which loads the vectors into memory, apart.

The vector store: at 100,000 × 384, numpy's scan of the float32 matrix against sqlite-vec's
``vec0`` table (through apsw, whose SQLite can load extensions), the same queries, k = 50.

Retrieval quality: bench/data/documents_qa.json, household notes written for the purpose
and 63 questions, each labelled with the file that answers it; recall@5 (and @1) for
keyword-only, vector-only and fused search.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.core.documents import DocumentIndex, EngineEmbedder, Indexer, search
from app.core.documents.chunking import Chunk
from app.core.documents.index import FileRecord

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "documents_qa.json"
DIMENSIONS = 384
BATCH = 64


def _model() -> Path:
    default = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2-f16.gguf"
    return Path(os.environ.get("HEARTH_TEST_EMBEDDING_MODEL", default))


def _threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _corpus() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# -- throughput ------------------------------------------------------------------------------


def _throughput_folder(folder: Path, files: int = 40) -> None:
    """Files of several notes each, shuffled differently, so chunks are distinct prose."""
    notes = list(_corpus()["documents"].values())
    rng = random.Random(7)
    for number in range(files):
        picked = rng.sample(notes, 8)
        text = "\n\n".join(f"{note}\n\nReference {number}-{i}." for i, note in enumerate(picked))
        (folder / f"notes-{number:03}.md").write_text(text, encoding="utf-8")


def throughput(pairs: int = 2) -> dict[str, Any]:
    import llama_cpp

    model = _model()
    hearth: list[float] = []
    raw: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        _throughput_folder(folder)
        with EngineEmbedder(model) as embedder:
            texts: list[str] = []
            for attempt in range(pairs):
                index = DocumentIndex(Path(tmp) / f"index-{attempt}.sqlite3")
                index.add_sources("bench", [folder])
                started = time.perf_counter()
                report = Indexer(index, embedder, batch_chunks=BATCH).run("bench")
                seconds = time.perf_counter() - started
                hearth.append(report.chunks_embedded / seconds)
                if not texts:
                    texts = [row[0] for row in index._db.execute("SELECT text FROM chunks")]
                index.close()
                threads = _threads()
                llm = llama_cpp.Llama(
                    model_path=str(model),
                    embedding=True,
                    n_ctx=512,
                    n_batch=512,
                    n_ubatch=512,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
                started = time.perf_counter()
                for start in range(0, len(texts), BATCH):
                    llm.embed(texts[start : start + BATCH], normalize=True, truncate=False)
                raw.append(len(texts) / (time.perf_counter() - started))
                llm.close()
    return {
        "model": model.name,
        "chunks": len(texts),
        "raw_chunks_s": round(statistics.median(raw), 1),
        "hearth_chunks_s": round(statistics.median(hearth), 1),
        "ratio": round(statistics.median(hearth) / statistics.median(raw), 3),
        "runs": {"raw": [round(r, 1) for r in raw], "hearth": [round(h, 1) for h in hearth]},
    }


# -- latency -----------------------------------------------------------------------------------


class _FixedQuery:
    """Stands in for the embedding model: the query's vector is made before the clock."""

    model_id = "synthetic-384"

    def __init__(self) -> None:
        self.vector: list[float] = []

    def embed(self, texts: Any) -> list[list[float]]:
        return [self.vector]


def _unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    matrix = rng.standard_normal((rows, DIMENSIONS)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def _synthetic_index(path: Path, chunks: int, vectors: np.ndarray) -> DocumentIndex:
    index = DocumentIndex(path)
    collection = index.add_sources("bench", [path.parent / "none"])
    rng = random.Random(chunks)
    words = [f"word{n}" for n in range(20_000)]
    per_file = 50
    for first in range(0, chunks, 5_000):
        records = []
        pairs = []
        for file_start in range(first, min(chunks, first + 5_000), per_file):
            file_chunks = []
            for n in range(file_start, min(chunks, file_start + per_file)):
                text = f"chunk {n} " + " ".join(rng.choices(words, k=60))
                chunk = Chunk(text=text, page=None, first_line=n, last_line=n)
                file_chunks.append(chunk)
                pairs.append((chunk.hash, vectors[n]))
            records.append(
                FileRecord(
                    f"/bench/file{file_start}.txt",
                    1,
                    1,
                    str(file_start),
                    "indexed",
                    "",
                    file_chunks,
                )
            )
        index.store_vectors(_FixedQuery.model_id, pairs)
        index.write_files(collection.id, records)
    return index


def latency(sizes: tuple[int, ...] = (10_000, 100_000), queries: int = 100) -> list[dict[str, Any]]:
    rows = []
    rng = np.random.default_rng(1)
    words = random.Random(2)
    for size in sizes:
        vectors = _unit(rng, size)
        asked = _unit(rng, queries)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            index = _synthetic_index(Path(tmp) / "index.sqlite3", size, vectors)
            build = time.perf_counter() - started
            query = _FixedQuery()
            ids = [index.collection("bench").id]
            query.vector = asked[0].tolist()
            started = time.perf_counter()
            search(index, "word1 word2", embedder=query)
            first = time.perf_counter() - started
            total, keyword, vector = [], [], []
            for n in range(queries):
                text = " ".join(f"word{words.randrange(20_000)}" for _ in range(3))
                query.vector = asked[n].tolist()
                started = time.perf_counter()
                search(index, text, embedder=query)
                total.append(time.perf_counter() - started)
                started = time.perf_counter()
                index.keyword_search(text, ids, 50)
                keyword.append(time.perf_counter() - started)
                started = time.perf_counter()
                index.vector_search(query.vector, query.model_id, ids, 50)
                vector.append(time.perf_counter() - started)
            size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
            index.close()
        rows.append(
            {
                "chunks": size,
                "build_s": round(build, 1),
                "index_mb": round(size_mb, 1),
                "first_query_ms": round(first * 1000, 1),
                "p50_ms": round(_percentile(total, 0.5) * 1000, 2),
                "p95_ms": round(_percentile(total, 0.95) * 1000, 2),
                "keyword_p95_ms": round(_percentile(keyword, 0.95) * 1000, 2),
                "vector_p95_ms": round(_percentile(vector, 0.95) * 1000, 2),
            }
        )
    return rows


def vector_stores(size: int = 100_000, queries: int = 100, k: int = 50) -> dict[str, Any]:
    """numpy over a float32 matrix against sqlite-vec's vec0, same vectors and queries."""
    rng = np.random.default_rng(3)
    matrix = _unit(rng, size)
    asked = _unit(rng, queries)
    numpy_times = []
    for q in asked:
        started = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, k - 1)[:k]
        top[np.argsort(-scores[top])]
        numpy_times.append(time.perf_counter() - started)
    result: dict[str, Any] = {
        "chunks": size,
        "numpy_p50_ms": round(_percentile(numpy_times, 0.5) * 1000, 2),
        "numpy_p95_ms": round(_percentile(numpy_times, 0.95) * 1000, 2),
        "numpy_mb_in_memory": round(matrix.nbytes / 1e6, 1),
    }
    try:
        import apsw
        import sqlite_vec
    except ImportError as error:
        result["sqlite_vec"] = f"not measured: {error} (pip install apsw sqlite-vec)"
        return result
    with tempfile.TemporaryDirectory() as tmp:
        db = apsw.Connection(str(Path(tmp) / "vec.sqlite3"))
        db.enable_load_extension(True)
        db.load_extension(sqlite_vec.loadable_path())
        db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{DIMENSIONS}])")
        started = time.perf_counter()
        with db:
            db.executemany(
                "INSERT INTO v(rowid, embedding) VALUES (?, ?)",
                ((n + 1, matrix[n].tobytes()) for n in range(size)),
            )
        insert = time.perf_counter() - started
        vec_times = []
        agree = 0
        for q in asked:
            started = time.perf_counter()
            found = [
                row[0]
                for row in db.execute(
                    "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                    (q.tobytes(), k),
                )
            ]
            vec_times.append(time.perf_counter() - started)
            best = int(np.argmax(matrix @ q)) + 1
            agree += found[0] == best
        disk = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        db.close()
    result.update(
        {
            "sqlite_vec_version": sqlite_vec.__version__
            if hasattr(sqlite_vec, "__version__")
            else "?",
            "sqlite_vec_insert_s": round(insert, 1),
            "sqlite_vec_p50_ms": round(_percentile(vec_times, 0.5) * 1000, 2),
            "sqlite_vec_p95_ms": round(_percentile(vec_times, 0.95) * 1000, 2),
            "sqlite_vec_disk_mb": round(disk, 1),
            "same_top_hit": f"{agree}/{queries}",
        }
    )
    return result


# -- quality -----------------------------------------------------------------------------------


def quality() -> dict[str, Any]:
    corpus = _corpus()
    questions = corpus["questions"]
    found: dict[str, dict[str, int]] = {
        m: {"at1": 0, "at5": 0} for m in ("keyword", "vector", "fused")
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notes"
        folder.mkdir()
        for name, text in corpus["documents"].items():
            (folder / name).write_text(text, encoding="utf-8")
        with (
            DocumentIndex(Path(tmp) / "index.sqlite3") as index,
            EngineEmbedder(_model()) as embedder,
        ):
            index.add_sources("notes", [folder])
            Indexer(index, embedder).run("notes")
            for item in questions:
                for mode in found:
                    hits = search(index, item["question"], embedder=embedder, limit=5, mode=mode)
                    names = [Path(h.path).name for h in hits]
                    found[mode]["at5"] += item["answer_in"] in names
                    found[mode]["at1"] += names[:1] == [item["answer_in"]]
    count = len(questions)
    return {
        "documents": len(corpus["documents"]),
        "questions": count,
        **{
            mode: {
                "recall_at_5": round(v["at5"] / count, 3),
                "recall_at_1": round(v["at1"] / count, 3),
            }
            for mode, v in found.items()
        },
    }


def run() -> dict[str, Any]:
    return {
        "throughput": throughput(),
        "latency": latency(),
        "vector_stores": vector_stores(),
        "quality": quality(),
    }


def print_table(results: dict[str, Any]) -> None:
    t = results["throughput"]
    print(f"\nIndexing {t['chunks']} chunks with {t['model']}: raw embed loop vs Hearth")
    print(
        f"  raw {t['raw_chunks_s']} chunks/s, Hearth {t['hearth_chunks_s']} chunks/s, "
        f"ratio {t['ratio']}"
    )
    print("\nQuery latency (fused search, the query's embedding excluded)")
    heads = ("chunks", "build s", "MB", "first ms", "p50 ms", "p95 ms", "FTS p95", "vec p95")
    print(" ".join(f"{h:>9}" for h in heads))
    keys = (
        "chunks",
        "build_s",
        "index_mb",
        "first_query_ms",
        "p50_ms",
        "p95_ms",
        "keyword_p95_ms",
        "vector_p95_ms",
    )
    for row in results["latency"]:
        print(" ".join(f"{row[k]:>9}" for k in keys))
    v = results["vector_stores"]
    print(f"\nVector store at {v['chunks']:,} × {DIMENSIONS}, k = 50")
    print(
        f"  numpy float32 scan: p50 {v['numpy_p50_ms']} ms, p95 {v['numpy_p95_ms']} ms, "
        f"{v['numpy_mb_in_memory']} MB in memory"
    )
    if "sqlite_vec_p50_ms" in v:
        print(
            f"  sqlite-vec vec0: p50 {v['sqlite_vec_p50_ms']} ms, p95 {v['sqlite_vec_p95_ms']} ms, "
            f"insert {v['sqlite_vec_insert_s']} s, {v['sqlite_vec_disk_mb']} MB on disk, "
            f"same top hit {v['same_top_hit']}"
        )
    else:
        print(f"  sqlite-vec: {v['sqlite_vec']}")
    q = results["quality"]
    print(f"\nRetrieval quality: {q['questions']} labelled questions over {q['documents']} notes")
    for mode in ("keyword", "vector", "fused"):
        at5, at1 = q[mode]["recall_at_5"], q[mode]["recall_at_1"]
        print(f"  {mode:8} recall@5 {at5:.3f}  recall@1 {at1:.3f}")


if __name__ == "__main__":
    print_table(run())
