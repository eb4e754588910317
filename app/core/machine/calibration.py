"""Learn from real loads: how far the memory estimate was from what llama.cpp allocated.

After each load the engine hands llama.cpp's log (or the sizes it parsed) to
:meth:`CalibrationStore.record`; the store keeps, per machine and backend, a running
ratio of reported to estimated bytes for the GPU and for RAM, in a small JSON file in
Hearth's cache folder. :meth:`CalibrationStore.factors` gives the ratios to pass to
:func:`app.core.machine.memory.estimate_memory` next time.

Speed, the same way: :meth:`CalibrationStore.record_speed` keeps each file's measured
tokens/s and the machine's ratio of measured to estimated speed
(:mod:`app.core.machine.speed`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.files import write_json_atomic
from app.core.machine.hardware import HardwareProfile
from app.core.machine.memory import MemoryEstimate

if TYPE_CHECKING:
    from app.core.machine.speed import SpeedCalibration

FILE_NAME = "memory-calibration.json"
# A new measurement moves the factor half-way; factors stay within these bounds so
# one odd load cannot make Hearth refuse every model or promise the impossible.
SMOOTHING = 0.5
MIN_FACTOR, MAX_FACTOR = 0.5, 2.5
# Speed: estimates may be off several-fold on unusual machines; measured speeds of one
# file move half-way too.
MIN_SPEED_FACTOR, MAX_SPEED_FACTOR = 0.1, 10.0
SPEED_PREFIX = "speed | "

_BUFFER = re.compile(r"(\S+)\s+(model|KV|compute|output) buffer size =\s+([\d.]+) MiB")


@dataclass(frozen=True, slots=True)
class ReportedBuffers:
    """Buffer sizes llama.cpp logged while loading, split into GPU and RAM."""

    gpu: int
    ram: int
    by_buffer: dict[str, int] = field(default_factory=dict)
    """``"CUDA0 KV"``, ``"CPU_Mapped model"``... -> bytes."""


def _is_host(buffer: str) -> bool:
    return buffer.upper().startswith("CPU") or buffer.endswith("_Host")


def parse_llama_log(text: str) -> ReportedBuffers:
    """The ``... buffer size = N MiB`` lines of a llama.cpp load log, added up."""
    by_buffer: dict[str, int] = {}
    gpu = ram = 0
    for buffer, kind, mib in _BUFFER.findall(text):
        size = int(float(mib) * 1024 * 1024)
        key = f"{buffer} {kind}"
        by_buffer[key] = by_buffer.get(key, 0) + size
        if _is_host(buffer):
            ram += size
        else:
            gpu += size
    return ReportedBuffers(gpu=gpu, ram=ram, by_buffer=by_buffer)


def calibration_key(profile: HardwareProfile) -> str:
    """Which machine and backend a calibration belongs to."""
    gpu = profile.gpu
    device = f"{gpu.backend}:{gpu.name}" if gpu is not None else "CPU"
    return f"{profile.cpu_model} | {device}"


class CalibrationStore:
    """Per-machine correction factors, kept in ``<cache>/memory-calibration.json``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            from app.core.paths import app_paths

            path = app_paths().cache / FILE_NAME
        self.path = Path(path)

    def _load(self) -> dict[str, dict[str, float]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        clean: dict[str, dict[str, float]] = {}
        for key, entry in data.items():
            if isinstance(entry, dict):
                clean[str(key)] = {
                    k: float(v) for k, v in entry.items() if isinstance(v, int | float)
                }
        return clean

    def _save(self, data: dict[str, dict[str, float]]) -> None:
        write_json_atomic(self.path, data, sort_keys=True)

    def factors(self, key: str) -> tuple[float, float]:
        """``(gpu_factor, ram_factor)`` for this machine; ``(1.0, 1.0)`` before any load."""
        entry = self._load().get(key, {})
        return entry.get("gpu", 1.0), entry.get("ram", 1.0)

    def record_speed(
        self,
        *,
        key: str,
        model_id: str,
        tokens_per_second: float,
        estimated_tokens_per_second: float | None,
    ) -> None:
        """Fold one reply's measured decode speed into the records for ``key``.

        Keeps the file's measured speed (``model_id``: :func:`app.core.machine.speed.model_id`)
        and, when there was an estimate, the machine's ratio of measured to estimated.
        """
        if tokens_per_second <= 0:
            return
        data = self._load()
        record = data.setdefault(f"{SPEED_PREFIX}{key} | {model_id}", {})
        old = record.get("tokens_per_second")
        record["tokens_per_second"] = (
            tokens_per_second if old is None else old + SMOOTHING * (tokens_per_second - old)
        )
        record["replies"] = record.get("replies", 0.0) + 1
        if estimated_tokens_per_second and estimated_tokens_per_second > 0:
            entry = data.setdefault(key, {})
            ratio = tokens_per_second / estimated_tokens_per_second
            ratio = min(MAX_SPEED_FACTOR, max(MIN_SPEED_FACTOR, ratio))
            old = entry.get("speed")
            entry["speed"] = ratio if old is None else old + SMOOTHING * (ratio - old)
            entry["speed_replies"] = entry.get("speed_replies", 0.0) + 1
        self._save(data)

    def memory_bandwidth(self, key: str, *, probe: bool = True) -> float | None:
        """This machine's measured memory bandwidth (bytes/s), probed once and kept."""
        from app.core.machine.speed import probe_memory_bandwidth

        data = self._load()
        known = data.get(key, {}).get("bandwidth")
        if known or not probe:
            return known
        measured = probe_memory_bandwidth()
        data.setdefault(key, {})["bandwidth"] = measured
        with contextlib.suppress(OSError):  # measured again next time
            self._save(data)
        return measured

    def speed_calibration(self, key: str, *, probe: bool = True) -> SpeedCalibration:
        """Measured speeds of files run here, the speed correction and the bandwidth.

        The first call on a machine measures its memory bandwidth (about 0.2 s)
        unless ``probe`` is False.
        """
        from app.core.machine.speed import SpeedCalibration

        bandwidth = self.memory_bandwidth(key, probe=probe)
        data = self._load()
        prefix = f"{SPEED_PREFIX}{key} | "
        measured = {
            name[len(prefix) :]: entry["tokens_per_second"]
            for name, entry in data.items()
            if name.startswith(prefix) and "tokens_per_second" in entry
        }
        return SpeedCalibration(
            factor=data.get(key, {}).get("speed", 1.0), measured=measured, bandwidth=bandwidth
        )

    def record(self, *, key: str, estimate: MemoryEstimate, reported: ReportedBuffers) -> None:
        """Fold one real load into the factors for ``key``.

        ``estimate`` is the uncalibrated estimate for the configuration that loaded;
        ``reported`` what llama.cpp logged (:func:`parse_llama_log`). Buffers only: the
        stated overheads are not part of llama.cpp's log and are left out of the ratio.
        """
        data = self._load()
        entry = data.setdefault(key, {})
        estimated_gpu = estimate.weights_gpu + estimate.kv_gpu + estimate.compute_gpu
        estimated_ram = (
            estimate.weights_ram + estimate.repack_ram + estimate.kv_ram + estimate.compute_ram
        )
        for side, estimated, actual in (
            ("gpu", estimated_gpu, reported.gpu),
            ("ram", estimated_ram, reported.ram),
        ):
            if estimated <= 0 or actual <= 0:
                continue
            ratio = min(MAX_FACTOR, max(MIN_FACTOR, actual / estimated))
            old = entry.get(side)
            entry[side] = ratio if old is None else old + SMOOTHING * (ratio - old)
            entry[f"{side}_loads"] = entry.get(f"{side}_loads", 0.0) + 1
        self._save(data)
