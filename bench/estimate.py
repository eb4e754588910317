"""How close is Hearth's memory estimate to what llama.cpp really allocates?

For stories260K and for Q4_K_M / Q8_0 models of several shapes built here, at several
context lengths, each model is loaded in a fresh process that captures llama.cpp's log
(``llama_log_set``) and reads the buffer sizes llama.cpp reports (model, KV cache,
compute, output), then fills the context with a prompt and measures how much the
process's resident memory grew. The estimate (:func:`app.core.memory.estimate_memory`)
is compared with both.

``run()`` returns the figures; ``python -m bench.estimate`` prints the table.
Numbers, not pass/fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 1024**2

_BUFFER = re.compile(r"(\S+)\s+(model|KV|compute|output) buffer size =\s+([\d.]+) MiB")


@dataclass(frozen=True)
class Case:
    """One model file loaded with one context length."""

    label: str
    path: Path
    n_ctx: int


def parse_llama_log(text: str) -> dict[str, float]:
    """Bytes per kind (``model``, ``KV``, ``compute``, ``output``) from llama.cpp's log."""
    sizes: dict[str, float] = {}
    for _buffer, kind, mib in _BUFFER.findall(text):
        sizes[kind] = sizes.get(kind, 0.0) + float(mib) * MIB
    return sizes


_WORKER = r"""
import ctypes, json, sys, random
import psutil, llama_cpp
lines = []
@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _log(level, text, user):
    lines.append(text.decode(errors="replace"))
llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
path, n_ctx = sys.argv[1], int(sys.argv[2])
process = psutil.Process()
before = process.memory_info().rss
llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_gpu_layers=0, verbose=True,
                      n_threads=2, n_batch=512, n_ubatch=512)
after_load = process.memory_info().rss
random.seed(0)
vocab = llm.n_vocab()
tokens = [1] + [random.randrange(3, vocab) for _ in range(n_ctx - 2)]
llm.eval(tokens)
after_fill = process.memory_info().rss
print(json.dumps({"log": "".join(lines), "rss_before": before,
                  "rss_after_load": after_load, "rss_after_fill": after_fill}))
"""


def measure(path: Path, n_ctx: int) -> dict[str, Any]:
    """Load ``path`` in a fresh process; llama.cpp's reported sizes and RSS growth."""
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, str(path), str(n_ctx)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    data["reported"] = parse_llama_log(data.pop("log"))
    return data


def build_cases(folder: Path) -> list[Case]:
    """stories260K and quantized llama models of three shapes, at several contexts."""
    from tests.support.gguf_factory import ModelShape, quantize, test_model_path, write_llama_gguf

    cases = [
        Case("stories260K F32", test_model_path(), 512),
        Case("stories260K F32", test_model_path(), 2048),
    ]
    shapes = {
        "4L-256d-GQA": ModelShape(n_layer=4, n_embd=256, n_head=4, n_head_kv=2, n_ff=768),
        "8L-512d-GQA": ModelShape(n_layer=8, n_embd=512, n_head=8, n_head_kv=2, n_ff=1536),
        "6L-768d-MHA": ModelShape(n_layer=6, n_embd=768, n_head=12, n_head_kv=12, n_ff=2048),
    }
    contexts = {"4L-256d-GQA": (1024, 4096), "8L-512d-GQA": (512, 2048), "6L-768d-MHA": (2048,)}
    for name, shape in shapes.items():
        source = folder / f"{name}-F32.gguf"
        if not source.exists():
            write_llama_gguf(source, shape=shape)
        for quant in ("Q4_K_M", "Q8_0"):
            target = folder / f"{name}-{quant}.gguf"
            if not target.exists():
                quantize(source, target, quant)
            for n_ctx in contexts[name]:
                cases.append(Case(f"{name} {quant}", target, n_ctx))
    return cases


def _pct(estimate: float, actual: float) -> float:
    return 100.0 * (estimate - actual) / actual if actual else float("nan")


def run(*, folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Measure every case; returns ``{"cases": [...], "summary": {...}}``."""
    from app.core.gguf import read_header
    from app.core.hardware import detect_hardware
    from app.core.memory import estimate_memory, repack_types_for

    work = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    profile = detect_hardware()
    repack = repack_types_for(
        cpu_features=profile.cpu_features, llama_system_info=profile.llama_system_info
    )
    rows: list[dict[str, Any]] = []
    for case in build_cases(work):
        measured = measure(case.path, case.n_ctx)
        reported = measured["reported"]
        estimate = estimate_memory(
            read_header(case.path), context_length=case.n_ctx, repack_types=repack
        )
        reported_total = sum(reported.values())
        rss_growth = measured["rss_after_fill"] - measured["rss_before"]
        estimated_buffers = estimate.weights_bytes + estimate.kv_bytes + estimate.compute_bytes
        rows.append(
            {
                "model": case.label,
                "n_ctx": case.n_ctx,
                "weights_reported": reported.get("model", 0.0),
                "weights_estimated": estimate.weights_bytes,
                "kv_reported": reported.get("KV", 0.0),
                "kv_estimated": estimate.kv_bytes,
                "compute_reported": reported.get("compute", 0.0) + reported.get("output", 0.0),
                "compute_estimated": estimate.compute_bytes,
                "buffers_reported": reported_total,
                "buffers_estimated": estimated_buffers,
                "buffers_error_pct": _pct(estimated_buffers, reported_total),
                "rss_growth": rss_growth,
                "ram_estimated": estimate.ram_bytes,
                "rss_error_pct": _pct(estimate.ram_bytes, rss_growth),
            }
        )
    worst_buffers = max(abs(r["buffers_error_pct"]) for r in rows)
    worst_rss = max(abs(r["rss_error_pct"]) for r in rows)
    return {
        "cases": rows,
        "summary": {
            "cases": len(rows),
            "worst_buffers_error_pct": worst_buffers,
            "worst_rss_error_pct": worst_rss,
            "within_10pct": worst_buffers <= 10 and worst_rss <= 10,
        },
    }


def print_table(result: dict[str, Any]) -> None:
    """The figures as a plain-text table (MiB)."""
    header = (
        f"{'model':<22}{'ctx':>6}{'weights r/e':>16}{'KV r/e':>14}{'compute r/e':>16}"
        f"{'total err':>10}{'RSS grow':>10}{'est RAM':>9}{'RSS err':>9}"
    )
    print(header)
    for r in result["cases"]:
        print(
            f"{r['model']:<22}{r['n_ctx']:>6}"
            f"{r['weights_reported'] / MIB:>8.1f}/{r['weights_estimated'] / MIB:<7.1f}"
            f"{r['kv_reported'] / MIB:>7.1f}/{r['kv_estimated'] / MIB:<6.1f}"
            f"{r['compute_reported'] / MIB:>8.1f}/{r['compute_estimated'] / MIB:<7.1f}"
            f"{r['buffers_error_pct']:>+9.1f}%"
            f"{r['rss_growth'] / MIB:>10.1f}{r['ram_estimated'] / MIB:>9.1f}"
            f"{r['rss_error_pct']:>+8.1f}%"
        )
    s = result["summary"]
    print(
        f"\n{s['cases']} cases; worst error vs llama.cpp's buffers "
        f"{s['worst_buffers_error_pct']:.1f}%, vs RSS growth {s['worst_rss_error_pct']:.1f}%."
    )


if __name__ == "__main__":
    outcome = run(folder=sys.argv[1] if len(sys.argv) > 1 else None)
    print_table(outcome)
