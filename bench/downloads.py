"""Download throughput: Hearth's DownloadManager vs plain ``hf_hub_download``.

Both fetch the same GGUF file from the same loopback Hub (tests/support/hf_server.py)
with the real huggingface_hub client, three times each, alternating. Hearth's figure
includes what plain ``hf_hub_download`` does not do: the SHA-256 of every byte and
the GGUF header check. On loopback the server (Python's http.server) is usually the
limit, so the ratio says whether Hearth's bookkeeping costs anything measurable, not
what a real connection would give.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SIZE_SHAPE = {"n_layer": 4, "n_embd": 512, "n_head": 8, "n_head_kv": 8, "n_ff": 2048}
REPO = "bench/Bench-GGUF"
NAME = "Bench-F32.gguf"
RUNS = 3


def run() -> dict[str, Any]:
    """Median seconds and MB/s for each way, and Hearth's throughput as a ratio."""
    from huggingface_hub import hf_hub_download

    from app.core.library.downloads import DownloadManager
    from app.core.library.hub import Hub
    from tests.support.gguf_factory import ModelShape, write_llama_gguf
    from tests.support.hf_server import FakeHub

    with tempfile.TemporaryDirectory() as tmp, FakeHub() as fake:
        root = Path(tmp)
        data = write_llama_gguf(root / "src.gguf", shape=ModelShape(**SIZE_SHAPE)).read_bytes()
        fake.add_repo(REPO, {NAME: data})
        hub = Hub(endpoint=fake.endpoint)
        timings: dict[str, list[float]] = {"hearth": [], "hf_hub_download": []}
        for attempt in range(RUNS):
            target = root / f"hearth-{attempt}"
            manager = DownloadManager(models_dir=target, hub=hub, progress_interval_s=0.1)
            variant = hub.list_gguf(REPO).find(filename=NAME)
            start = time.perf_counter()
            result = manager.download(REPO, variant)
            timings["hearth"].append(time.perf_counter() - start)
            assert result.sha256_verified

            start = time.perf_counter()
            hf_hub_download(
                REPO,
                NAME,
                local_dir=root / f"plain-{attempt}",
                endpoint=fake.endpoint,
                token=False,
            )
            timings["hf_hub_download"].append(time.perf_counter() - start)
    mb = len(data) / 1e6
    out: dict[str, Any] = {"file_mb": round(mb, 1), "runs": RUNS}
    for way, seconds in timings.items():
        median = statistics.median(seconds)
        out[way] = {"median_s": round(median, 3), "mb_per_s": round(mb / median, 1)}
    out["hearth_vs_plain_throughput"] = round(
        out["hearth"]["mb_per_s"] / out["hf_hub_download"]["mb_per_s"], 2
    )
    print(
        f"{mb:.0f} MB file, median of {RUNS}: Hearth {out['hearth']['mb_per_s']} MB/s "
        f"(with SHA-256 and header check), hf_hub_download "
        f"{out['hf_hub_download']['mb_per_s']} MB/s -> ratio {out['hearth_vs_plain_throughput']}"
    )
    return out


if __name__ == "__main__":
    run()
