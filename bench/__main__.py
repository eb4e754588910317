"""``make bench``: every benchmark, printed as tables and saved to bench/out/results.json.

Benchmarks are numbers, not pass/fail: each compares Hearth with the raw library on
the same machine in the same run. Run them on a quiet machine.
"""

from __future__ import annotations

import importlib
import json
import logging
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Benchmark modules; each has run() -> dict.
BENCHMARKS = (
    "bench.decode",
    "bench.engine_process",
    "bench.server",
    "bench.estimate",
    "bench.downloads",
    "bench.ui_stream",
    "bench.portable",
    "bench.documents",
    "bench.vault",
    "bench.imports",
)


def main(names: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    for name in names or BENCHMARKS:
        module = importlib.import_module(name)
        print(f"\n=== {name} ===", flush=True)
        results[name] = module.run()
        if hasattr(module, "print_table"):
            module.print_table(results[name])
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nSaved to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
