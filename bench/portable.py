"""Decode speed of the bundles' portable llama.cpp against the dev venv's native one.

``python -m bench bench.portable``. The same Python code (llama-cpp-python) runs with
each build's libraries in turn (``LLAMA_CPP_LIB_PATH``), each run in its own process
(a process can load only one llama.cpp), alternating native / portable so that a
machine getting busier or cooler affects both alike: a paired comparison. Each run
loads the model, decodes the same prompt greedily for a fixed number of tokens with
end of text ignored, and counts tokens per second from the first token to the last.
The ratio is portable / native of the medians; 1.00 means as fast.

The portable build is found at ``$HEARTH_PORTABLE_LIB``, else in build/bundle-venv
(made by packaging/linux/build.sh), else in the built bundle dist/Hearth/_internal. Where
there is none, the benchmark says so and skips.

Models: the decode bench's ~110 MB Q4_K_M llama (bench/decode.py) and stories260K.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core.inference.backends import variant_libraries
from bench.decode import q4_model
from tests.support.gguf_factory import test_model_path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
TOKENS = 128

CHILD = r"""
import json, sys, time
import llama_cpp
from app.core.inference import backends as ggml_backends
report = ggml_backends.load_backends()
llm = llama_cpp.Llama(sys.argv[1], n_ctx=512, n_batch=64, n_threads=int(sys.argv[3]),
                      verbose=False)
tokens = llm.tokenize(b"Once upon a time, in a small village by the sea,")
stamps = []
for token in llm.generate(tokens, temp=0.0, reset=True):
    stamps.append(time.perf_counter())
    if len(stamps) == int(sys.argv[2]):
        break
print(json.dumps({"tps": (len(stamps) - 1) / (stamps[-1] - stamps[0]),
                  "cpu": report.describe()}))
"""


def portable_library() -> Path | None:
    """The folder of a portable build's libraries, or None when there is none here."""
    venv = ROOT / "build" / "bundle-venv" / "lib"
    candidates = [
        os.environ.get("HEARTH_PORTABLE_LIB", ""),
        *map(str, venv.glob("python*/site-packages/llama_cpp/lib")),
        str(ROOT / "dist" / "Hearth" / "_internal" / "llama_cpp" / "lib"),
    ]
    for candidate in filter(None, candidates):
        if variant_libraries(Path(candidate)):
            return Path(candidate)
    return None


def _decode(model: Path, library: Path | None, threads: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LLAMA_CPP_LIB_PATH", None)
    if library is not None:
        env["LLAMA_CPP_LIB_PATH"] = str(library)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(TOKENS), str(threads)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    library = portable_library()
    if library is None:
        message = (
            "skipped: no portable llama.cpp here (make bundle builds one; "
            "or set HEARTH_PORTABLE_LIB to its lib folder)"
        )
        print(message)
        return {"skipped": message}
    threads = max(1, min(4, os.cpu_count() or 1))
    results: dict[str, Any] = {"portable_lib": str(library), "threads": threads, "models": {}}
    for model in (q4_model(), test_model_path()):
        native: list[float] = []
        portable: list[float] = []
        cpu = ""
        for _ in range(ROUNDS):
            native.append(_decode(model, None, threads)["tps"])
            run = _decode(model, library, threads)
            portable.append(run["tps"])
            cpu = run["cpu"]
        results["models"][model.name] = {
            "native_tps": statistics.median(native),
            "portable_tps": statistics.median(portable),
            "ratio": statistics.median(portable) / statistics.median(native),
            "portable_cpu": cpu,
            "native_runs": native,
            "portable_runs": portable,
        }
    return results


def print_table(results: dict[str, Any]) -> None:
    if "skipped" in results:
        return
    print(f"portable build: {results['portable_lib']} ({results['threads']} threads)")
    print(f"{'model':<32} {'native tok/s':>13} {'portable tok/s':>15} {'ratio':>6}  variant")
    for name, row in results["models"].items():
        print(
            f"{name:<32} {row['native_tps']:>13.1f} {row['portable_tps']:>15.1f} "
            f"{row['ratio']:>6.2f}  {row['portable_cpu']}"
        )


if __name__ == "__main__":
    outcome = run()
    print_table(outcome)
