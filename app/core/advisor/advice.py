"""Which model file to download, and how it will run here, before it is downloaded.

For every quantization file of a model, :func:`advise` says whether it fits fully on
the GPU, partly (N of M layers), on the CPU only, or not at all; the GPU layers to
use; the largest context that fits; the quality cost (:mod:`app.core.advisor.quality`);
a rough speed; and one sentence. One file is marked recommended.

Headroom: Hearth keeps 2 GiB plus 10% of RAM (at most 6 GiB in all) for the operating
system and other apps, and 512 MiB or 8% of a discrete GPU's memory (whichever is
more) for the desktop and other programs. On Apple Silicon the GPU may use Metal's
working-set limit, and GPU and RAM use come out of the same memory.

Context: the wanted context is capped at each file's trained length (loading clamps it
there too), so a huge context setting never makes a small model "not fit".

Speed comes from :mod:`app.core.machine.speed` (a roofline of memory bandwidth and the CPU's
rate per weight type, plus per-layer and per-token costs), replaced by the speed
measured here once a file has run and corrected by this machine's learnt ratio.

:func:`plan_backoff` turns a failed load into the next configurations to try, each
with a sentence saying what was changed, for the engine.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.core.advisor.quality import QuantQuality, auto_ladder, normalise_quant, quant_quality
from app.core.gguf.header import GGUFHeader
from app.core.machine.hardware import GIB, MIB, HardwareProfile
from app.core.machine.memory import (
    CONTEXT_PAD,
    MemoryEstimate,
    ModelFigures,
    estimate_memory,
    extra_buffers_for,
)
from app.core.machine.speed import SpeedCalibration, estimate_speed, model_id
from app.core.units import format_bytes

RAM_HEADROOM_BASE = 2 * GIB
RAM_HEADROOM_FRACTION = 0.10
RAM_HEADROOM_MAX = 6 * GIB
GPU_HEADROOM_MIN = 512 * MIB
GPU_HEADROOM_FRACTION = 0.08
BANDWIDTH_EFFICIENCY = 0.6
DEFAULT_CPU_BANDWIDTH = 50e9
MIN_USABLE_SPEED = 3.0
"""Below this a reply is painfully slow: never recommended without saying so."""
COMFORTABLE_SPEED = 8.0
"""Tokens/s a person reads along with comfortably: about 6 words a second, faster than
most people read (4-5 words/s), since a token is about three quarters of a word. On a
machine without a usable GPU the advisor picks the best quality that reaches it."""
MIN_CONTEXT = 512

# Memory bandwidth (GB/s) of common chips, matched by substring of the name, most
# specific first.
BANDWIDTH_TABLE: tuple[tuple[str, float], ...] = (
    ("H100", 3350),
    ("A100", 1555),
    ("4090", 1008),
    ("3090", 936),
    ("4080", 717),
    ("7900 XTX", 960),
    ("4070", 504),
    ("3060 Laptop", 336),
    ("3060", 360),
    ("M4 Max", 546),
    ("M4 Pro", 273),
    ("M4", 120),
    ("M3 Max", 400),
    ("M3 Pro", 150),
    ("M3", 100),
    ("M2 Ultra", 800),
    ("M2 Max", 400),
    ("M2 Pro", 200),
    ("M2", 100),
    ("M1 Ultra", 800),
    ("M1 Max", 400),
    ("M1 Pro", 200),
    ("M1", 68),
)


class Verdict(enum.StrEnum):
    """How a file runs on this machine."""

    FULL_GPU = "full_gpu"
    PARTIAL = "partial"
    CPU_ONLY = "cpu_only"
    NO_FIT = "no_fit"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One quantization file of a model (all parts of a split model together)."""

    name: str
    quant: str
    size_bytes: int
    header: GGUFHeader | ModelFigures

    @property
    def figures(self) -> ModelFigures:
        if isinstance(self.header, ModelFigures):
            return self.header
        return ModelFigures.from_header(self.header)


@dataclass(frozen=True, slots=True)
class Headroom:
    """Memory Hearth leaves for everything else, and for the embedding model beside it."""

    ram: int
    gpu: int
    embedding: int = 0
    """RAM the embedding model for local documents takes in the engine (0: none in use)."""

    def describe(self) -> str:
        text = f"{format_bytes(self.ram)} of RAM"
        if self.gpu:
            text += f" and {format_bytes(self.gpu)} of GPU memory"
        text += " are kept free for the system and other apps"
        if self.embedding:
            text += f", and {format_bytes(self.embedding)} of RAM for the embedding model"
        return text


@dataclass(frozen=True, slots=True)
class Advice:
    """How one file would run."""

    file: ModelFile
    verdict: Verdict
    gpu_layers: int
    total_layers: int
    context_length: int
    """The context this advice is for (the wanted one, or the largest that fits)."""
    max_context: int
    """Largest context that fits with these GPU layers (0: none)."""
    estimate: MemoryEstimate
    quality: QuantQuality | None
    tokens_per_second: float | None
    sentence: str
    recommended: bool = False
    approximate: bool = False
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Advice for every file, which one is recommended, and the headroom kept."""

    advice: tuple[Advice, ...]
    headroom: Headroom
    context_length: int
    preference: str
    note: str = ""

    @property
    def recommended(self) -> Advice | None:
        return next((a for a in self.advice if a.recommended), None)


# ------------------------------------------------------------------------------------


def headroom_for(profile: HardwareProfile, *, embedding_bytes: int = 0) -> Headroom:
    """The RAM and GPU memory kept free on this machine.

    ``embedding_bytes`` is what the embedding model of local documents takes beside the
    chat model (:func:`app.core.documents.embedding_memory_in_use`); it is kept too.
    """
    ram = min(RAM_HEADROOM_MAX, RAM_HEADROOM_BASE + int(profile.ram_total * RAM_HEADROOM_FRACTION))
    gpu = profile.gpu
    gpu_keep = 0
    if gpu is not None and not gpu.unified:
        gpu_keep = max(GPU_HEADROOM_MIN, int(gpu.total_bytes * GPU_HEADROOM_FRACTION))
    return Headroom(ram=ram, gpu=gpu_keep, embedding=max(0, embedding_bytes))


def _budgets(profile: HardwareProfile, headroom: Headroom) -> tuple[int, int]:
    ram_budget = max(0, profile.ram_total - headroom.ram - headroom.embedding)
    gpu = profile.gpu
    if gpu is None:
        return ram_budget, 0
    if gpu.unified:
        return ram_budget, min(gpu.total_bytes, ram_budget)
    return ram_budget, max(0, gpu.budget_bytes - headroom.gpu)


def _bandwidth(name: str, default: float | None) -> float | None:
    for key, gbs in BANDWIDTH_TABLE:
        if key.lower() in name.lower():
            return gbs * 1e9
    return default


def _speed(
    profile: HardwareProfile,
    file: ModelFile,
    estimate: MemoryEstimate,
    calibration: SpeedCalibration | None,
) -> float | None:
    """Tokens/s: measured here for this file if it has run, else estimated (corrected)."""
    if calibration is not None:
        measured = calibration.measured.get(model_id(file.name, file.size_bytes))
        if measured and estimate.gpu_layers == 0:
            return measured
    gpu = profile.gpu
    gpu_bw = (gpu.bandwidth or _bandwidth(gpu.name, None)) if gpu is not None else None
    cpu_bw = profile.memory_bandwidth or _bandwidth(profile.cpu_model, DEFAULT_CPU_BANDWIDTH)
    speed = estimate_speed(
        profile,
        file.figures,
        estimate,
        gpu_bandwidth=gpu_bw,
        cpu_bandwidth=cpu_bw,
        probed_bandwidth=calibration.bandwidth if calibration is not None else None,
    )
    if speed is None:
        return None
    return speed * (calibration.factor if calibration is not None else 1.0)


class _Fitter:
    """Estimates for one file on one machine, and whether they fit."""

    def __init__(
        self, file: ModelFile, profile: HardwareProfile, *, kv_type: str, headroom: Headroom
    ) -> None:
        self.figures = file.figures
        self.profile = profile
        self.kv_type = kv_type
        self.ram_budget, self.gpu_budget = _budgets(profile, headroom)
        gpu = profile.gpu
        self.backend = gpu.backend if gpu is not None else None
        self.unified = gpu is not None and gpu.unified
        self.extra = extra_buffers_for(
            cpu_features=profile.cpu_features, llama_system_info=profile.llama_system_info
        )

    def estimate(self, gpu_layers: int, context: int) -> MemoryEstimate:
        return estimate_memory(
            self.figures,
            context_length=context,
            gpu_layers=gpu_layers,
            kv_type=self.kv_type,
            gpu_backend=self.backend,
            extra_buffers=self.extra,
        )

    def fits(self, estimate: MemoryEstimate) -> bool:
        if estimate.gpu_bytes > self.gpu_budget:
            return False
        if self.unified:
            return estimate.gpu_bytes + estimate.ram_required_bytes <= self.ram_budget
        return estimate.ram_required_bytes <= self.ram_budget

    def best_layers(self, context: int) -> int | None:
        """Most GPU layers that fit at ``context`` (0: CPU only), None if nothing fits."""
        total = self.figures.n_layer + 1
        if self.backend is None:
            return 0 if self.fits(self.estimate(0, context)) else None
        if self.fits(self.estimate(total, context)):
            return total
        low, high = 0, total - 1
        best: int | None = None
        while low <= high:
            middle = (low + high) // 2
            if self.fits(self.estimate(middle, context)):
                best, low = middle, middle + 1
            else:
                high = middle - 1
        return best

    def max_context(self, gpu_layers: int, limit: int) -> int:
        """Largest context (a multiple of 256, at most ``limit``) that fits, else 0."""
        low, high, best = 1, max(1, limit // CONTEXT_PAD), 0
        while low <= high:
            middle = (low + high) // 2
            if self.fits(self.estimate(gpu_layers, middle * CONTEXT_PAD)):
                best, low = middle * CONTEXT_PAD, middle + 1
            else:
                high = middle - 1
        return best


def _sentence(
    advice_verdict: Verdict,
    *,
    layers: int,
    total: int,
    context: int,
    max_context: int,
    wanted: int,
    speed: float | None,
    quality: QuantQuality | None,
    gpu_name: str,
    need: int,
    budget: int,
    headroom: Headroom,
) -> str:
    speed_text = (
        f", about {speed:.0f} tokens/s"
        if speed and speed >= 1
        else (", under 1 token/s" if speed else "")
    )
    quality_text = f"; quality loss {quality.label}" if quality else ""
    if advice_verdict is Verdict.FULL_GPU:
        return (
            f"Runs fully on your {gpu_name} with {context:,} tokens of context"
            f"{speed_text}{quality_text}."
        )
    if advice_verdict is Verdict.PARTIAL:
        return (
            f"Runs {layers} of {total} layers on your {gpu_name} and the rest on the CPU "
            f"with {context:,} tokens of context{speed_text}{quality_text}."
        )
    if advice_verdict is Verdict.CPU_ONLY:
        return f"Runs on the CPU with {context:,} tokens of context{speed_text}{quality_text}."
    if max_context >= MIN_CONTEXT:
        return (
            f"Does not fit with {wanted:,} tokens of context; it fits with up to {max_context:,}."
        )
    return (
        f"Does not fit: it needs about {format_bytes(need)} but {format_bytes(budget)} "
        f"can be used ({headroom.describe()})."
    )


def advise_file(
    file: ModelFile,
    profile: HardwareProfile,
    *,
    context_length: int,
    kv_type: str = "f16",
    headroom: Headroom | None = None,
    speed: SpeedCalibration | None = None,
) -> Advice:
    """How one file runs here with the wanted context (at most its trained length).

    ``speed`` (:meth:`app.core.machine.calibration.CalibrationStore.speed_calibration`) puts
    speeds measured on this machine in place of the estimate.
    """
    headroom = headroom or headroom_for(profile)
    fitter = _Fitter(file, profile, kv_type=kv_type, headroom=headroom)
    figures = fitter.figures
    total = figures.n_layer + 1
    trained = _train_context(file)
    capped: tuple[str, ...] = ()
    asked = context_length
    if trained and context_length > trained:
        # More than the model knows: loading uses its trained length, and backs off to
        # a smaller context when that does not fit. Advise on what loading will use.
        context_length = trained
        layers = fitter.best_layers(trained)
        if layers is None:
            room = fitter.best_layers(MIN_CONTEXT)
            largest = fitter.max_context(room, trained) if room is not None else 0
            if largest >= MIN_CONTEXT:
                context_length = largest
                layers = fitter.best_layers(largest)
        capped = (
            f"The context is capped at {context_length:,} tokens ({asked:,} were asked for): "
            + (
                "the length this model was trained for."
                if context_length == trained
                else f"the most that fits here (the model was trained for {trained:,})."
            ),
        )
    else:
        layers = fitter.best_layers(context_length)
    gpu = profile.gpu
    if layers is None:
        # Nothing fits at the wanted context: report the largest context at the
        # configuration that leaves the most room (all on GPU where there is one).
        fallback_layers = fitter.best_layers(MIN_CONTEXT)
        probe_layers = fallback_layers if fallback_layers is not None else 0
        max_context = (
            fitter.max_context(probe_layers, context_length) if fallback_layers is not None else 0
        )
        verdict = Verdict.NO_FIT
        estimate = fitter.estimate(
            probe_layers if fallback_layers is not None else 0, context_length
        )
        layers_out = 0
    else:
        max_limit = max(context_length, _train_context(file) or context_length)
        max_context = fitter.max_context(layers, max_limit)
        estimate = fitter.estimate(layers, context_length)
        layers_out = layers
        if gpu is None or fitter.backend is None or layers == 0:
            verdict = Verdict.CPU_ONLY
        elif layers >= total:
            verdict = Verdict.FULL_GPU
        else:
            verdict = Verdict.PARTIAL
    quality = quant_quality(file.quant)
    rate = _speed(profile, file, estimate, speed) if verdict is not Verdict.NO_FIT else None
    need = estimate.ram_required_bytes + (estimate.gpu_bytes if fitter.unified else 0)
    sentence = _sentence(
        verdict,
        layers=layers_out,
        total=total,
        context=context_length,
        max_context=max_context,
        wanted=context_length,
        speed=rate,
        quality=quality,
        gpu_name=gpu.name if gpu else "GPU",
        need=need,
        budget=fitter.ram_budget,
        headroom=headroom,
    )
    return Advice(
        file=file,
        verdict=verdict,
        gpu_layers=layers_out,
        total_layers=total,
        context_length=context_length,
        max_context=max_context,
        estimate=estimate,
        quality=quality,
        tokens_per_second=rate,
        sentence=sentence,
        approximate=estimate.approximate,
        notes=estimate.notes + capped,
    )


def _train_context(file: ModelFile) -> int | None:
    header = file.header
    if isinstance(header, GGUFHeader):
        return header.context_length
    return None


def _parameters(files: Sequence[ModelFile]) -> float:
    for file in files:
        if isinstance(file.header, GGUFHeader) and file.header.tensors:
            return float(file.header.parameter_count)
    return 0.0


def advise(
    files: Sequence[ModelFile],
    profile: HardwareProfile,
    *,
    context_length: int = 4096,
    preference: str = "auto",
    kv_type: str = "f16",
    parameter_count: float | None = None,
    speed: SpeedCalibration | None = None,
    embedding_bytes: int = 0,
) -> Recommendation:
    """Advice for every file and the one to recommend.

    ``embedding_bytes``: RAM the documents' embedding model takes beside the chat model,
    subtracted from what the chat model may use (and named in the headroom).

    ``preference`` is ``auto`` or a quantization name from settings. Auto with a GPU:
    the highest file of the Auto ladder that runs fully on the GPU, else the highest that
    fits and runs at least :data:`MIN_USABLE_SPEED` and half as fast as the fastest file,
    else the fastest that fits. Auto without a GPU: the highest that reaches
    :data:`COMFORTABLE_SPEED`, else the fastest that fits. A pick below
    :data:`MIN_USABLE_SPEED` is always said in the note.
    """
    headroom = headroom_for(profile, embedding_bytes=embedding_bytes)
    results = [
        advise_file(
            f,
            profile,
            context_length=context_length,
            kv_type=kv_type,
            headroom=headroom,
            speed=speed,
        )
        for f in files
    ]
    params = parameter_count if parameter_count is not None else _parameters(files)
    by_quant = {normalise_quant(a.file.quant): a for a in results}
    chosen: Advice | None = None
    note = ""
    wanted = normalise_quant(preference) if preference.lower() != "auto" else "AUTO"
    if wanted != "AUTO":
        fixed = by_quant.get(wanted)
        if fixed is not None and fixed.verdict is not Verdict.NO_FIT:
            chosen = fixed
        elif fixed is None:
            note = f"This model has no {wanted} file; Hearth picked the best that fits."
        else:
            note = f"The {wanted} file does not fit here; Hearth picked the best that fits."
    ladder = auto_ladder(params)
    if chosen is None:
        chosen = _auto_choice(by_quant, ladder, profile)
    if chosen is None:
        fitting = [a for a in results if a.verdict is not Verdict.NO_FIT]
        chosen = max(fitting, key=lambda a: a.tokens_per_second or 0.0, default=None)
        if chosen is not None and not note:
            if any(quant in by_quant for quant in ladder):
                note = "No file of the Auto ladder fits; this is the best of the others."
            else:  # an F32 or F16 file, a Q2_K: it fits, it is just not a usual pick
                picks = ", ".join(ladder)
                note = (
                    f"This file is not one of the quantizations Auto picks from ({picks})."
                    if len(results) == 1
                    else f"None of these files is a quantization Auto picks from ({picks}); "
                    "this is the fastest of them here."
                )
    if chosen is None and not note:
        note = "No file of this model fits on this computer, even with a smaller context."
    if chosen is not None and (slow := _slow_note(chosen)):
        note = f"{note} {slow}".strip()
    advice = tuple(
        _with_recommended(a) if chosen is not None and a is chosen else a for a in results
    )
    return Recommendation(
        advice=advice,
        headroom=headroom,
        context_length=context_length,
        preference=preference,
        note=note,
    )


def _with_recommended(advice: Advice) -> Advice:
    from dataclasses import replace

    return replace(advice, recommended=True)


def _auto_choice(
    by_quant: dict[str, Advice], ladder: Sequence[str], profile: HardwareProfile
) -> Advice | None:
    candidates = [by_quant[q] for q in ladder if q in by_quant]
    fitting = [a for a in candidates if a.verdict is not Verdict.NO_FIT]
    if profile.gpu is None:
        # CPU only: speed first. The best quality a person can read along with, else
        # the fastest (a smaller file is faster: it is read once per token).
        for advice in fitting:
            if advice.tokens_per_second is None or advice.tokens_per_second >= COMFORTABLE_SPEED:
                return advice
        return _fastest(fitting)
    for advice in candidates:
        if advice.verdict is Verdict.FULL_GPU:
            return advice
    fastest = max((a.tokens_per_second or 0.0 for a in fitting), default=0.0)
    # Partial offload: a better quantization is worth it only while it keeps at least
    # half the speed of the fastest file and stays usable.
    floor = max(MIN_USABLE_SPEED, fastest / 2)
    for advice in fitting:
        speed = advice.tokens_per_second
        if speed is None or speed >= floor:
            return advice
    return _fastest(fitting)


def _fastest(advice: Sequence[Advice]) -> Advice | None:
    return max(advice, key=lambda a: a.tokens_per_second or 0.0, default=None)


def _slow_note(chosen: Advice) -> str:
    """Said whenever the pick runs below :data:`MIN_USABLE_SPEED`."""
    speed = chosen.tokens_per_second
    if speed is None or speed >= MIN_USABLE_SPEED:
        return ""
    return (
        f"Very slow here: even this file runs at about {speed:.1f} tokens/s, below "
        f"{MIN_USABLE_SPEED:.0f} tokens/s (a short answer takes minutes). A smaller model "
        "is a better start."
    )


# ------------------------------------------------------------------------------------
# Backing off after a failed load


@dataclass(frozen=True, slots=True)
class LoadAttempt:
    """A configuration to try after a load failed, and what changed, in words."""

    gpu_layers: int
    context_length: int
    change: str


def plan_backoff(
    header: GGUFHeader | ModelFigures,
    profile: HardwareProfile,
    *,
    gpu_layers: int,
    context_length: int,
    kv_type: str = "f16",
    min_context: int = 2048,
) -> list[LoadAttempt]:
    """What to try, in order, after loading with these settings ran out of memory.

    First fewer GPU layers (the estimate's best guess below the failed count, then
    steps of a quarter), then smaller contexts (halving, down to ``min_context``) at
    the last layer count. Each attempt says what was changed; moving everything to
    the CPU is said too, never done silently. An empty list: nothing left to try.
    """
    figures = header if isinstance(header, ModelFigures) else ModelFigures.from_header(header)
    total = figures.n_layer + 1
    file = ModelFile(name="", quant="", size_bytes=0, header=figures)
    fitter = _Fitter(file, profile, kv_type=kv_type, headroom=headroom_for(profile))
    attempts: list[LoadAttempt] = []
    layers = min(gpu_layers if gpu_layers >= 0 else total, total)
    tried = {layers}
    if layers > 0:
        guess = fitter.best_layers(context_length)
        steps = []
        if guess is not None and guess < layers:
            steps.append(guess)
        steps += [layers * 3 // 4, layers // 2, layers // 4, 0]
        for step in steps:
            if step in tried or step >= layers:
                continue
            tried.add(step)
            layers_now = step
            if step == 0:
                change = (
                    "Not enough GPU memory for any layer: the model now runs on the CPU "
                    "only, which is slower."
                )
            else:
                change = (
                    f"Not enough GPU memory: {step} of {total} layers now run on the GPU "
                    f"(was {layers}); the rest run on the CPU, which is slower."
                )
            attempts.append(LoadAttempt(layers_now, context_length, change))
        final_layers = min(tried)
    else:
        final_layers = 0
    context = context_length
    while context // 2 >= min(min_context, context_length) and context > min_context:
        context = max(min_context, context // 2)
        attempts.append(
            LoadAttempt(
                final_layers,
                context,
                f"Not enough memory: the context is now {context:,} tokens "
                f"(was {context_length:,}); the model forgets earlier parts of long chats "
                "sooner.",
            )
        )
    return attempts


# ------------------------------------------------------------------------------------
# Reference models: real hyper-parameters and real file sizes, for `hearth doctor`'s
# "what this means" lines and for tests. Headers are synthesised (no weights): each
# tensor gets its share of the real file size in proportion to its element count.


@dataclass(frozen=True, slots=True)
class ReferenceModel:
    """A well-known model's shape and the sizes of its published GGUF files."""

    label: str
    architecture: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_vocab: int
    tied_embeddings: bool
    context_length: int
    file_sizes: dict[str, int]


GB = 10**9
REFERENCE_MODELS = (
    ReferenceModel(
        "Llama 3.2 3B",
        "llama",
        28,
        3072,
        24,
        8,
        8192,
        128256,
        True,
        131072,
        {"Q4_K_M": int(2.02 * GB), "Q8_0": int(3.42 * GB)},
    ),
    ReferenceModel(
        "Llama 3.1 8B",
        "llama",
        32,
        4096,
        32,
        8,
        14336,
        128256,
        False,
        131072,
        {"Q4_K_M": int(4.92 * GB), "Q8_0": int(8.54 * GB)},
    ),
    ReferenceModel(
        "Qwen2.5 14B",
        "qwen2",
        48,
        5120,
        40,
        8,
        13824,
        152064,
        False,
        131072,
        {"Q4_K_M": int(8.99 * GB), "Q8_0": int(15.70 * GB)},
    ),
    ReferenceModel(
        "Llama 3.3 70B",
        "llama",
        80,
        8192,
        64,
        8,
        28672,
        128256,
        False,
        131072,
        {"Q4_K_M": int(42.52 * GB), "Q8_0": int(74.98 * GB)},
    ),
)


def synthetic_header(model: ReferenceModel, quant: str) -> GGUFHeader:
    """A header with ``model``'s metadata and a tensor table sized like its real file."""
    from app.core.gguf.header import GGUFArray, TensorInfo

    head_dim = model.n_embd // model.n_head
    n_kv = model.n_head_kv * head_dim
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("token_embd.weight", (model.n_embd, model.n_vocab))
    ]
    for i in range(model.n_layer):
        shapes += [
            (f"blk.{i}.attn_norm.weight", (model.n_embd,)),
            (f"blk.{i}.attn_q.weight", (model.n_embd, model.n_embd)),
            (f"blk.{i}.attn_k.weight", (model.n_embd, n_kv)),
            (f"blk.{i}.attn_v.weight", (model.n_embd, n_kv)),
            (f"blk.{i}.attn_output.weight", (model.n_embd, model.n_embd)),
            (f"blk.{i}.ffn_norm.weight", (model.n_embd,)),
            (f"blk.{i}.ffn_gate.weight", (model.n_embd, model.n_ff)),
            (f"blk.{i}.ffn_up.weight", (model.n_embd, model.n_ff)),
            (f"blk.{i}.ffn_down.weight", (model.n_ff, model.n_embd)),
        ]
    shapes.append(("output_norm.weight", (model.n_embd,)))
    if not model.tied_embeddings:
        shapes.append(("output.weight", (model.n_embd, model.n_vocab)))
    elements = [math.prod(shape) for _, shape in shapes]
    file_size = model.file_sizes[quant]
    per_element = file_size / sum(elements)
    ggml_type = _tensor_type(quant)
    tensors = [
        TensorInfo(name, shape, ggml_type if len(shape) > 1 else "F32", 0, int(n * per_element))
        for (name, shape), n in zip(shapes, elements, strict=True)
    ]
    arch = model.architecture
    metadata = {
        "general.architecture": arch,
        "general.name": model.label,
        f"{arch}.block_count": model.n_layer,
        f"{arch}.embedding_length": model.n_embd,
        f"{arch}.attention.head_count": model.n_head,
        f"{arch}.attention.head_count_kv": model.n_head_kv,
        f"{arch}.feed_forward_length": model.n_ff,
        f"{arch}.context_length": model.context_length,
        "tokenizer.ggml.tokens": GGUFArray("string", model.n_vocab),
    }
    return GGUFHeader(
        version=3,
        metadata=metadata,
        tensors=tensors,
        alignment=32,
        data_offset=0,
        file_size=file_size,
    )


def _tensor_type(quant: str) -> str:
    """The weight type of a file's matrices: Q5_K_M files hold Q5_K tensors, and so on."""
    upper = quant.upper()
    if "_K_" in upper:  # Q3_K_M, Q4_K_S, Q5_K_M...: the suffix is the mix, not a type
        return upper.rsplit("_", 1)[0]
    return upper


def reference_files() -> list[tuple[str, list[ModelFile]]]:
    """Each reference model's files, ready for :func:`advise`."""
    return [
        (
            model.label,
            [
                ModelFile(
                    name=f"{model.label} {quant}",
                    quant=quant,
                    size_bytes=size,
                    header=synthetic_header(model, quant),
                )
                for quant, size in model.file_sizes.items()
            ],
        )
        for model in REFERENCE_MODELS
    ]
