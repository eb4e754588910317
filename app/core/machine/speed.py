"""How fast a model generates here: estimated before a download, learnt after a reply.

Generating one token multiplies every weight matrix by one vector. On the CPU that
takes the longer of two times (a roofline): reading the weights from memory
(``bytes / (bandwidth x 0.6)``), or computing with them, ``elements / (cores x rate)``
where the rate (weights per second per core) depends on the weight type and the
CPU's vector unit. The bandwidth is measured once per machine by a 0.2 s copy
(:func:`probe_memory_bandwidth`, kept in the calibration store), of which a token
reaches about 75% (measured with a 114 MB model; smaller ones run from the cache); without it,
60% of the chip's rated bandwidth. Small models are bound by compute and, smaller still, by fixed
costs: llama.cpp's threads meet at a barrier after every operation, so each layer
costs about ``LAYER_SECONDS`` and each token ``TOKEN_SECONDS`` more. On the GPU the
weights' bytes over its bandwidth. The constants were measured with the test models
(``bench/estimate.py``) on an AVX-512 Xeon; other vector units scale the rates.

After a reply, :func:`record_reply_speed` keeps the measured speed for that file and
a per-machine ratio of measured to estimated speed in the calibration store (only from
files read from memory, :func:`teaches_correction`); the
advisor shows the measured speed for files that have run here and corrects its
estimate for the others by that ratio.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.core.machine.calibration import CalibrationStore, calibration_key
from app.core.machine.hardware import HardwareProfile
from app.core.machine.memory import EMBEDDING, OUTPUT, MemoryEstimate, ModelFigures

log = logging.getLogger(__name__)

BANDWIDTH_EFFICIENCY = 0.6
# What a token's matrix-vector products reach of the bandwidth measured by
# :func:`probe_memory_bandwidth` when the weights come from memory: 0.74 measured with
# a 114 MB Q4_K_M model (100 tok/s, probe 15.4 GB/s). Test models of tens of MB run
# faster, from the CPU cache; real models (gigabytes) never do.
PROBED_EFFICIENCY = 0.75
DEFAULT_CPU_BANDWIDTH = 50e9
PROBE_BYTES = 64 * 1024**2
# Fitted on a quiet machine (load < 1) with the test models; the first fit, on a machine
# with load 4-6, had 160 and 200 µs and showed stories260K at 0.3 of its real speed.
# Runs here drift by a third over minutes (a shared host: turbo, neighbours, cache), so
# the constants sit in the middle of what was measured across a session.
LAYER_SECONDS = 32e-6
TOKEN_SECONDS = 44e-6
GPU_LAYER_SECONDS = 20e-6
# Weights one AVX-512 core multiplies per second in a token's matrix-vector products,
# by type (measured: the test models, llama.cpp from llama-cpp-python 0.3.36).
CORE_RATE = {
    "Q4_0": 15e9,
    "IQ4_NL": 15e9,
    "Q4_K": 20e9,
    "Q3_K": 12e9,
    "Q2_K": 17e9,
    "IQ4_XS": 12e9,
    "Q8_0": 9e9,
    "Q5_K": 11e9,
    "Q6_K": 11e9,
    "F16": 5.4e9,
    "BF16": 5.4e9,
    "Q5_0": 4e9,
    "Q5_1": 4e9,
    "F32": 3e9,
}
DEFAULT_CORE_RATE = 5e9
# The vector unit's share of an AVX-512 core's rate.
VECTOR_SCALE = {"AVX512": 1.0, "AVX2": 0.6, "NEON": 0.6}
SCALAR_SCALE = 0.1
# Replies shorter than this say more about noise than about speed.
MIN_MEASURED_TOKENS = 16
# A file smaller than this teaches the machine's speed correction nothing: it may be
# read from the CPU's cache rather than from memory (CPUs have up to a few hundred MB of
# last-level cache: this VM's Xeon reports 260 MB, where a 28 MB test model ran at 2.5
# times its memory-bound estimate even on a slow minute, and would have promised every
# real model that much more), and a tiny one costs fixed per-token work that swings
# tenfold on a busy machine (stories260K, 1 MB: 77 tok/s against 3,000 while other work
# ran). Its own measured speed is still kept, for itself. Chat models worth running
# are larger (the catalog's smallest file is 0.8 GB).
MIN_CALIBRATING_BYTES = 512 * 1024**2


@dataclass(frozen=True, slots=True)
class SpeedCalibration:
    """What replies on this machine taught: measured speeds and a correction."""

    factor: float = 1.0
    """Measured over estimated tokens/s for files that have run here (1.0: none yet)."""
    measured: dict[str, float] = field(default_factory=dict)
    """:func:`model_id` -> measured tokens/s."""
    bandwidth: float | None = None
    """Memory bandwidth measured here (:func:`probe_memory_bandwidth`), bytes/s."""


def probe_memory_bandwidth() -> float:
    """This machine's memory bandwidth in bytes/s: the best of a few 64 MiB copies.

    Takes about 0.2 s; the calibration store keeps the result.
    """
    import time

    import numpy as np

    source = np.ones(PROBE_BYTES // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(4):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best  # read and written


def model_id(name: str, size_bytes: int) -> str:
    """A file's identity for speed records: its name and size."""
    return f"{name}:{size_bytes}"


def _vector_scale(profile: HardwareProfile) -> float:
    return max(
        (VECTOR_SCALE[f] for f in profile.cpu_features if f in VECTOR_SCALE), default=SCALAR_SCALE
    )


def _cpu_cores(profile: HardwareProfile) -> int:
    return max(1, profile.physical_cores or profile.logical_cores or 1)


def estimate_speed(
    profile: HardwareProfile,
    figures: ModelFigures,
    estimate: MemoryEstimate,
    *,
    gpu_bandwidth: float | None = None,
    cpu_bandwidth: float | None = None,
    probed_bandwidth: float | None = None,
) -> float | None:
    """Greedy decode tokens per second of ``figures`` loaded as ``estimate`` says.

    ``cpu_bandwidth`` is a chip's rated bandwidth, ``probed_bandwidth`` one measured
    here (preferred). None when part of the model is on a GPU of unknown bandwidth.
    """
    n_layer = figures.n_layer
    gpu_layers = min(estimate.gpu_layers, n_layer + 1)
    start = max(n_layer - gpu_layers, 0)
    output_on_gpu = gpu_layers > n_layer
    cpu_bytes = gpu_bytes = 0
    cpu_seconds = 0.0
    rate = _cpu_cores(profile) * _vector_scale(profile)
    tensors = list(figures.tensors)
    embedding = next((t for t in tensors if t.layer == EMBEDDING), None)
    if figures.tied_output and embedding is not None:
        tensors.append(replace(embedding, layer=OUTPUT))  # read again as the output
    for tensor in tensors:
        if tensor.layer == EMBEDDING or len(tensor.shape) < 2:
            continue  # one row of the embedding is read; norms are vectors
        on_gpu = output_on_gpu if tensor.layer < 0 else tensor.layer >= start and gpu_layers > 0
        if on_gpu:
            gpu_bytes += tensor.n_bytes
            continue
        cpu_bytes += tensor.n_bytes
        elements = math.prod(tensor.shape)
        cpu_seconds += elements / (rate * CORE_RATE.get(tensor.ggml_type, DEFAULT_CORE_RATE))
    seconds = 0.0
    if gpu_bytes:
        if not gpu_bandwidth:
            return None
        seconds += gpu_bytes / (gpu_bandwidth * BANDWIDTH_EFFICIENCY)
        seconds += min(gpu_layers, n_layer) * GPU_LAYER_SECONDS
    cpu_layers = n_layer - min(gpu_layers, n_layer)
    if cpu_bytes or cpu_layers:
        if probed_bandwidth:
            effective = probed_bandwidth * PROBED_EFFICIENCY
        else:
            bandwidth = cpu_bandwidth or profile.memory_bandwidth or DEFAULT_CPU_BANDWIDTH
            effective = bandwidth * BANDWIDTH_EFFICIENCY
        seconds += max(cpu_bytes / effective, cpu_seconds)
        seconds += cpu_layers * LAYER_SECONDS
    seconds += TOKEN_SECONDS
    return 1.0 / seconds


def teaches_correction(size_bytes: int, tokens_per_second: float, bandwidth: float | None) -> bool:
    """Whether a reply's speed may correct the estimates of other files on this machine.

    Not when the file is small enough to stay in a CPU's cache
    (:data:`MIN_CALIBRATING_BYTES`), nor when its weights were read faster than this
    machine's memory delivers (``bandwidth``, probed): every token reads every weight,
    so a file read at ``size x tokens/s`` above that came from the cache, and a real
    model of gigabytes never does. Its own speed is still kept.
    """
    if size_bytes < MIN_CALIBRATING_BYTES:
        return False
    return not bandwidth or size_bytes * tokens_per_second <= bandwidth


def record_reply_speed(
    store: CalibrationStore, profile: HardwareProfile, model: Any, stats: Any
) -> None:
    """After a reply: keep its measured speed for the loaded file and this machine.

    ``model`` is the engine's ``LoadedModel`` (None: nothing loaded), ``stats`` the
    reply's ``ReplyStats``. Short replies are ignored; a failure to save is logged.
    """
    rate = getattr(stats, "tokens_per_second", None)
    if model is None or not rate or stats.completion_tokens < MIN_MEASURED_TOKENS:
        return
    try:
        path = Path(model.path)
        size = path.stat().st_size
        bandwidth = store.memory_bandwidth(calibration_key(profile))
        estimated = (
            estimate_speed(
                profile,
                ModelFigures.from_header(model.header),
                model.estimate,
                probed_bandwidth=bandwidth,
            )
            if teaches_correction(size, float(rate), bandwidth)
            else None  # kept for this file only
        )
        store.record_speed(
            key=calibration_key(profile),
            model_id=model_id(path.name, size),
            tokens_per_second=float(rate),
            estimated_tokens_per_second=estimated,
        )
    except Exception as error:  # bookkeeping must never break the reply it follows
        log.warning("Could not save the measured speed: %s", error)
