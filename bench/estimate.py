"""How close is Hearth's memory estimate to what llama.cpp really allocates?

For stories260K and for Q4_K_M / Q8_0 models of several shapes built here, at several
context lengths, each model is loaded in a fresh process that captures llama.cpp's log
(``llama_log_set``) and reads the buffer sizes llama.cpp reports (model, KV cache,
compute, output), then fills the context with a prompt and measures how much the
process's resident memory grew. The estimate (:func:`app.core.machine.memory.estimate_memory`)
is compared with both.

``run()`` returns the figures; ``python -m bench.estimate`` prints the table. ``run_rates()``
(``--rates``, part of ``run()``) compares the compute part of the speed estimate, by weight
type, with cache-resident decodes.

``run_shapes()`` does the same with the real engine for every shape the tests build
(stories260K; the 1024-wide GQA model as Q4_K_M, Q8_0 and Q4_0; a gemma3 model of
Gemma 3 270M's shape with sliding-window layers, F16 and Q4_K_M), with extra buffers
on and off and both ``swa_full`` settings for gemma3, and compares the advisor's
pre-download tokens/s with the engine's measured greedy decode speed
(``python -m bench.estimate --shapes``). Numbers, not pass/fail.
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
    from app.core.gguf.header import read_header
    from app.core.inference.devices import detect_machine
    from app.core.machine.memory import estimate_memory, extra_buffers_for

    work = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    profile = detect_machine()
    extra = extra_buffers_for(
        cpu_features=profile.cpu_features, llama_system_info=profile.llama_system_info
    )
    rows: list[dict[str, Any]] = []
    for case in build_cases(work):
        measured = measure(case.path, case.n_ctx)
        reported = measured["reported"]
        estimate = estimate_memory(
            read_header(case.path), context_length=case.n_ctx, extra_buffers=extra
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
        "rates": run_rates(folder=work / "rates"),
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
    if "rates" in result:
        print_rates(result["rates"])


def _decode_rates(engine: Any, runs: int) -> list[float]:
    """Tokens/s of ``runs`` greedy 96-token decodes of the loaded model."""
    from app.core.inference.engine import SamplingOptions

    greedy = SamplingOptions(temperature=0.0, max_tokens=96, seed=1)
    rates = []
    for _ in range(runs):
        reply = engine.complete("Once upon a time", greedy, ignore_eos=True)
        reply.read()
        if reply.stats is not None and reply.stats.tokens_per_second:
            rates.append(reply.stats.tokens_per_second)
    return rates


def _realistic_source(work: Path) -> Path:
    """The tests' realistic 4 x 1024 model in F16 (built once in ``work``), to quantize."""
    import numpy as np

    from tests.conftest import CHATML_TEMPLATE, REALISTIC_SHAPE
    from tests.support.gguf_factory import write_llama_gguf

    source = work / "realistic-F16.gguf"
    if not source.exists():
        write_llama_gguf(
            source,
            shape=REALISTIC_SHAPE,
            chat_template=CHATML_TEMPLATE,
            chatml_tokens=True,
            dtype=np.float16,
        )
    return source


def run_shapes(*, folder: str | os.PathLike[str] | None = None, runs: int = 3) -> dict[str, Any]:
    """Estimate/reported ratios and estimated/measured speed on the tests' shapes."""

    from app.core.advisor.advice import ModelFile, advise_file
    from app.core.gguf.header import read_header
    from app.core.inference.engine import Engine, LoadOptions
    from app.core.machine.calibration import CalibrationStore
    from app.core.machine.calibration import parse_llama_log as parse_buffers
    from tests.support.gguf_factory import (
        quantize,
        test_model_path,
        write_gemma3_gguf,
    )

    work = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="hearth-shapes-"))
    work.mkdir(parents=True, exist_ok=True)
    models: dict[str, tuple[Path, tuple[int, ...]]] = {
        "stories260K F32": (test_model_path(), (128, 512))
    }
    source = _realistic_source(work)
    for quant in ("Q4_K_M", "Q8_0", "Q4_0"):
        target = work / f"realistic-{quant}.gguf"
        if not target.exists():
            quantize(source, target, quant)
        models[f"realistic {quant}"] = (target, (1024, 4096))
    gemma = work / "gemma3-F16.gguf"
    if not gemma.exists():
        write_gemma3_gguf(gemma)
    gemma_q = work / "gemma3-Q4_K_M.gguf"
    if not gemma_q.exists():
        quantize(gemma, gemma_q, "Q4_K_M")
    models["gemma3 F16"] = (gemma, (4096, 32768))
    models["gemma3 Q4_K_M"] = (gemma_q, (4096, 32768))

    engine = Engine(calibration=CalibrationStore(work / "calibration.json"))
    profile = engine.hardware()
    memory: list[dict[str, Any]] = []
    speed: list[dict[str, Any]] = []
    for label, (path, contexts) in models.items():
        gemma3 = read_header(path).architecture == "gemma3"
        for n_ctx in contexts:
            for extra in (True, False):
                for swa_full in (True, False) if gemma3 else (True,):
                    options = LoadOptions(
                        context_length=n_ctx, extra_buffers=extra, swa_full=swa_full
                    )
                    model = engine.load(path, options, back_off=False)
                    reported = parse_buffers("\n".join(model.log_lines)).by_buffer
                    e = model.estimate
                    weights = sum(v for k, v in reported.items() if k.endswith(" model"))
                    compute = reported.get("CPU compute", 0) + reported.get("CPU output", 0)
                    kv = reported.get("CPU KV", 0)
                    memory.append(
                        {
                            "model": label,
                            "n_ctx": n_ctx,
                            "extra_buffers": extra,
                            "swa_full": swa_full,
                            "weights_ratio": (e.weights_ram + e.repack_ram) / weights,
                            "extra_reported": weights - reported.get("CPU_Mapped model", 0),
                            "extra_estimated": e.repack_ram,
                            "kv_reported": kv,
                            "kv_ratio": e.kv_ram / kv,
                            "compute_ratio": e.compute_ram / compute,
                            "total_ratio": (e.weights_ram + e.repack_ram + e.kv_ram + e.compute_ram)
                            / (weights + kv + compute),
                        }
                    )
                    engine.close()
        if runs <= 0:
            continue
        file = ModelFile(path.name, label.split()[-1], path.stat().st_size, read_header(path))
        probe = CalibrationStore(work / "speed-calibration.json").speed_calibration("bench")
        shown = advise_file(file, profile, context_length=512, speed=probe).tokens_per_second
        shown = shown or 0.0
        engine.load(path, LoadOptions(context_length=512))
        rates = _decode_rates(engine, runs)
        engine.close()
        best = max(rates, default=0.0)
        speed.append({"model": label, "estimated": shown, "measured_best": best, "measured": rates})
    return {"memory": memory, "speed": speed, "load": os.getloadavg()[0]}


def print_shapes(result: dict[str, Any]) -> None:
    """The run_shapes figures as two plain tables."""
    print(
        f"{'model':<18}{'ctx':>6}{'extra':>6}{'swa':>5}{'weights':>9}{'extra r/e MiB':>16}"
        f"{'KV MiB':>8}{'KV':>7}{'compute':>9}{'total':>7}"
    )
    for r in result["memory"]:
        print(
            f"{r['model']:<18}{r['n_ctx']:>6}{'on' if r['extra_buffers'] else 'off':>6}"
            f"{'full' if r['swa_full'] else 'win':>5}{r['weights_ratio']:>9.3f}"
            f"{r['extra_reported'] / MIB:>8.2f}/{r['extra_estimated'] / MIB:<7.2f}"
            f"{r['kv_reported'] / MIB:>8.1f}{r['kv_ratio']:>7.3f}{r['compute_ratio']:>9.3f}"
            f"{r['total_ratio']:>7.3f}"
        )
    worst = max(abs(r["total_ratio"] - 1) for r in result["memory"])
    print(f"\n{len(result['memory'])} loads; worst estimate/reported {100 * worst:.1f}% off.")
    if result["speed"]:
        print(f"\n{'model':<18}{'estimated':>10}{'measured':>10}{'ratio':>7}  (best of runs)")
        for r in result["speed"]:
            ratio = r["estimated"] / r["measured_best"] if r["measured_best"] else float("nan")
            print(
                f"{r['model']:<18}{r['estimated']:>10.0f}{r['measured_best']:>10.0f}{ratio:>7.2f}"
            )
        print(f"load average during the run: {result['load']:.1f}")


RATE_QUANTS = ("Q4_K_M", "Q4_0", "Q8_0", "Q5_K_M", "Q6_K", "Q3_K_M", "Q2_K", "IQ4_XS")


def run_rates(*, folder: str | os.PathLike[str] | None = None, runs: int = 5) -> dict[str, Any]:
    """The compute part of the speed estimate, by weight type.

    The 4 x 1024 test model in every type the catalog offers runs from the CPU's cache,
    so its speed is bound by computing, not by memory: the estimate made as if memory
    were no limit (:data:`app.core.machine.speed.CORE_RATE` and the per-layer and
    per-token costs) is compared with the best of ``runs`` greedy decodes.
    """

    from app.core.gguf.header import read_header
    from app.core.inference.engine import Engine, LoadOptions
    from app.core.machine.memory import ModelFigures
    from app.core.machine.speed import estimate_speed
    from tests.support.gguf_factory import quantize

    work = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="hearth-rates-"))
    work.mkdir(parents=True, exist_ok=True)
    source = _realistic_source(work)
    engine = Engine()
    profile = engine.hardware()
    rows = []
    for quant in RATE_QUANTS:
        path = work / f"realistic-{quant}.gguf"
        if not path.exists():
            quantize(source, path, quant)
        model = engine.load(path, LoadOptions(context_length=512))
        figures = ModelFigures.from_header(read_header(path))
        compute_bound = estimate_speed(profile, figures, model.estimate, probed_bandwidth=1e15)
        rates = _decode_rates(engine, runs)
        engine.close()
        best = max(rates, default=0.0)
        rows.append(
            {
                "quant": quant,
                "size": path.stat().st_size,
                "estimated": compute_bound or 0.0,
                "measured_best": best,
                "ratio": (compute_bound or 0.0) / best if best else float("nan"),
            }
        )
    return {"rates": rows, "load": os.getloadavg()[0]}


def print_rates(result: dict[str, Any]) -> None:
    print(f"\n{'type':<8}{'MB':>6}{'compute-bound est.':>20}{'measured':>10}{'ratio':>7}")
    for r in result["rates"]:
        print(
            f"{r['quant']:<8}{r['size'] / 1e6:>6.1f}{r['estimated']:>20.0f}"
            f"{r['measured_best']:>10.0f}{r['ratio']:>7.2f}"
        )
    print(f"load average during the run: {result['load']:.1f}")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    target = arguments[0] if arguments else None
    if "--shapes" in sys.argv:
        print_shapes(run_shapes(folder=target))
    elif "--rates" in sys.argv:
        print_rates(run_rates(folder=target))
    else:
        print_table(run(folder=target))
