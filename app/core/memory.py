"""How much memory a model needs, on the GPU and in RAM, before it is loaded.

The estimate follows what llama.cpp does when it loads a model (measured against its
own log in ``bench/estimate.py``; see docs/hardware.md for the figures):

Weights
    Per tensor, from the header's tensor table. With ``gpu_layers = g`` (llama.cpp's
    ``n_gpu_layers``; a model with ``L`` blocks has ``L + 1`` offloadable layers, the
    last being the output layer) blocks ``L - g ... L - 1`` go to the GPU; the output
    layer (``output.weight``, ``output_norm``) goes to the GPU only when ``g > L``; the
    token embedding always stays in RAM. A model without ``output.weight`` reuses the
    embedding as output, and llama.cpp then copies it to the GPU as well.
    On CPUs where llama.cpp repacks weights for faster matrix products (Q4_0, Q4_K and
    IQ4_NL with AVX2; Q4_0 and IQ4_NL with NEON), the repacked copy is a second
    allocation; the mapped file pages it was made from become reclaimable page cache
    (resident until the OS needs them, so they count in ``ram_bytes`` but not in
    ``ram_required_bytes``).
KV cache
    ``n_ctx`` is rounded up to a multiple of 256. Per layer ``i``:
    ``n_ctx_i x (row(type_k, n_head_kv[i] x key_length) + row(type_v, n_head_kv[i] x
    value_length))``, where ``row`` is ggml's row size for the cache type (f16: 2 bytes
    per value, q8_0: 34 bytes per 32 values...), ``n_head_kv`` may be a per-layer array
    (0 means no attention in that layer), and sliding-window layers keep only
    ``n_ctx_i = min(n_ctx, pad256(window + n_ubatch))`` cells.
Compute buffers (measured fit of llama.cpp's graph allocator, n_ubatch = 512)
    The largest of three phases of the graph, each ``n_ubatch x`` bytes per token:
    attention ``4 n_kv (n_head + 1) + 20 n_embd + 8 n_embd_v_gqa``;
    feed-forward ``4 n_kv + 6.375 n_ff + 6 n_embd - 2560``; output ``4 (n_vocab +
    n_embd)``. Plus the logits buffer, ``4 n_vocab``.
Overhead (stated, not measured from the header)
    RAM: 6.5 MiB for llama.cpp's runtime and threads, plus the CPU backend's work
    buffer for converting the attention matrix, ``2 n_kv n_ubatch n_head``, when the
    CPU computes attention. GPU: the driver's context, per backend (CUDA/ROCm
    350 MiB, Vulkan 200 MiB, Metal 0 — it shares RAM).

Estimates are corrected by per-machine factors learnt from real loads
(:mod:`app.core.calibration`) when one is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import gguf as _gguf

from app.core.gguf import GGUFHeader

MIB = 1024**2
GIB = 1024**3

CONTEXT_PAD = 256
DEFAULT_UBATCH = 512
RAM_RUNTIME_OVERHEAD = int(6.5 * MIB)
GPU_CONTEXT_OVERHEAD = {"CUDA": 350 * MIB, "ROCm": 350 * MIB, "Vulkan": 200 * MIB, "Metal": 0}

# Architectures whose hyper-parameters and graph this estimate has been checked against.
# Others are estimated from the generic keys and flagged approximate.
KNOWN_ARCHITECTURES = frozenset(
    {
        "llama",
        "mistral",
        "qwen2",
        "qwen3",
        "phi3",
        "gemma",
        "gemma2",
        "gemma3",
        "granite",
        "olmo2",
        "stablelm",
        "starcoder2",
        "internlm2",
        "deepseek",
        "exaone",
        "cohere2",
        "smollm3",
    }
)
# llama.cpp's hard-coded sliding-window patterns: layer i uses the window when
# ``i % pattern < pattern - 1``.
SWA_PATTERNS = {"gemma2": 2, "gemma3": 6, "cohere2": 4, "gpt-oss": 2}

KV_TYPES = ("f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")


def row_bytes(ggml_type: str, n_values: int) -> int:
    """Bytes ggml needs for ``n_values`` values of ``ggml_type`` (``f16``, ``q8_0``...)."""
    try:
        qtype = _gguf.GGMLQuantizationType[ggml_type.upper()]
    except KeyError:
        raise ValueError(f"Unknown cache type {ggml_type!r}; use one of {KV_TYPES}.") from None
    block, size = _gguf.GGML_QUANT_SIZES[qtype]
    return -(-n_values // block) * size


def pad_context(n_ctx: int) -> int:
    """The context llama.cpp allocates: rounded up to a multiple of 256."""
    return max(CONTEXT_PAD, -(-n_ctx // CONTEXT_PAD) * CONTEXT_PAD)


def repack_types_for(
    *, cpu_features: frozenset[str], llama_system_info: str = ""
) -> frozenset[str]:
    """Weight types llama.cpp's CPU backend copies into a repacked buffer on this CPU."""
    if llama_system_info and "REPACK = 1" not in llama_system_info:
        return frozenset()
    if "AVX2" in cpu_features:
        return frozenset({"Q4_0", "Q4_K", "IQ4_NL"})
    if "NEON" in cpu_features:
        return frozenset({"Q4_0", "IQ4_NL"})
    return frozenset()


# ------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _per_layer(value: Any, n_layer: int, default: int) -> list[int]:
    """A hyper-parameter that may be one number or one per layer."""
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        values = [int(v) for v in value[:n_layer]]
        return values + [values[-1]] * (n_layer - len(values))
    number = _int(value)
    return [number if number is not None else default] * n_layer


@dataclass(frozen=True, slots=True)
class ModelFigures:
    """What the estimate needs from a header, computed once per model."""

    architecture: str
    n_layer: int
    n_embd: int
    n_head: list[int]
    n_head_kv: list[int]
    key_length: int
    value_length: int
    n_ff: int
    n_vocab: int
    swa_layers: list[bool]
    sliding_window: int
    layer_bytes: list[int]
    layer_tensors: list[list[tuple[str, tuple[int, ...], int]]]
    embedding_bytes: int
    output_tensors: list[tuple[str, tuple[int, ...], int]]
    tied_output: bool
    approximate: bool
    notes: tuple[str, ...] = ()

    @property
    def weight_bytes(self) -> int:
        return (
            sum(self.layer_bytes)
            + self.embedding_bytes
            + sum(size for _, _, size in self.output_tensors)
        )

    @classmethod
    def from_header(cls, header: GGUFHeader) -> ModelFigures:
        """Read hyper-parameters and per-layer weight bytes from a header."""
        notes: list[str] = []
        arch = header.architecture
        approximate = arch not in KNOWN_ARCHITECTURES
        if approximate:
            notes.append(
                f"The architecture {arch!r} is not one Hearth knows: the memory estimate "
                "uses generic figures and may be off."
            )
        block_indices = [t.layer for t in header.tensors if t.layer is not None]
        n_layer = header.block_count or (max(block_indices) + 1 if block_indices else 0)
        n_layer = min(n_layer, 4096)
        n_embd = header.embedding_length
        embedding = header.tensor("token_embd.weight")
        if n_embd is None:
            n_embd = embedding.shape[0] if embedding is not None else 4096
            approximate = True
        n_head_raw = header.arch_value("attention.head_count")
        if n_head_raw is None:
            approximate = True
            notes.append("The header does not give the attention head count; guessed.")
        n_head = _per_layer(n_head_raw, n_layer, max(1, n_embd // 128))
        kv_raw = header.arch_value("attention.head_count_kv")
        # Without the key, llama.cpp uses as many KV heads as heads (no GQA).
        n_head_kv = _per_layer(kv_raw, n_layer, 0) if kv_raw is not None else list(n_head)
        first_head = max(n_head, default=1) or 1
        key_length = _int(header.arch_value("attention.key_length")) or n_embd // first_head
        value_length = _int(header.arch_value("attention.value_length")) or key_length
        n_ff_raw = header.arch_value("feed_forward_length")
        n_ff = max(n_ff_raw) if isinstance(n_ff_raw, list) and n_ff_raw else _int(n_ff_raw) or 0
        n_vocab = header.vocab_size or (embedding.shape[1] if embedding is not None else 32000)

        window = _int(header.arch_value("attention.sliding_window")) or 0
        pattern_raw = header.arch_value("attention.sliding_window_pattern")
        if window and isinstance(pattern_raw, list):
            swa = [bool(v) for v in pattern_raw[:n_layer]]
            swa += [False] * (n_layer - len(swa))
        elif window:
            pattern = _int(pattern_raw) or SWA_PATTERNS.get(arch, 0)
            swa = [pattern > 0 and i % pattern < pattern - 1 for i in range(n_layer)]
            if not pattern:
                # Every layer uses the window (mistral v0.1 style).
                swa = [True] * n_layer
        else:
            swa = [False] * n_layer

        layer_bytes = [0] * n_layer
        layer_tensors: list[list[tuple[str, tuple[int, ...], int]]] = [[] for _ in range(n_layer)]
        embedding_bytes = 0
        output: list[tuple[str, tuple[int, ...], int]] = []
        for tensor in header.tensors:
            index = tensor.layer
            if index is not None and index < n_layer:
                layer_bytes[index] += tensor.n_bytes
                layer_tensors[index].append((tensor.ggml_type, tensor.shape, tensor.n_bytes))
            elif tensor.name.startswith("token_embd"):
                embedding_bytes += tensor.n_bytes
            else:
                output.append((tensor.ggml_type, tensor.shape, tensor.n_bytes))
        if not header.tensors:
            approximate = True
            notes.append("The header has no tensor table; weights are not counted.")
        return cls(
            architecture=arch,
            n_layer=n_layer,
            n_embd=n_embd,
            n_head=n_head,
            n_head_kv=n_head_kv,
            key_length=key_length,
            value_length=value_length,
            n_ff=n_ff,
            n_vocab=n_vocab,
            swa_layers=swa,
            sliding_window=window,
            layer_bytes=layer_bytes,
            layer_tensors=layer_tensors,
            embedding_bytes=embedding_bytes,
            output_tensors=output,
            tied_output=header.tensor("output.weight") is None,
            approximate=approximate,
            notes=tuple(notes),
        )


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes a model needs with one configuration, split by device and by purpose."""

    context_length: int
    """The context llama.cpp will allocate (the request rounded up to 256)."""
    gpu_layers: int
    total_layers: int
    """Offloadable layers: the blocks plus the output layer."""
    weights_gpu: int
    weights_ram: int
    repack_ram: int
    """Repacked copies of CPU weights; their mapped pages become reclaimable."""
    kv_gpu: int
    kv_ram: int
    compute_gpu: int
    compute_ram: int
    overhead_gpu: int
    overhead_ram: int
    gpu_factor: float = 1.0
    ram_factor: float = 1.0
    """Calibration from real loads on this machine (1.0: none yet)."""
    approximate: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def weights_bytes(self) -> int:
        """All weight buffers llama.cpp reports (mapped, repacked and GPU)."""
        return self.weights_gpu + self.weights_ram + self.repack_ram

    @property
    def kv_bytes(self) -> int:
        return self.kv_gpu + self.kv_ram

    @property
    def compute_bytes(self) -> int:
        return self.compute_gpu + self.compute_ram

    @property
    def gpu_bytes(self) -> int:
        """Bytes on the GPU, calibrated."""
        raw = self.weights_gpu + self.kv_gpu + self.compute_gpu + self.overhead_gpu
        return int(raw * self.gpu_factor)

    @property
    def ram_bytes(self) -> int:
        """Resident bytes the process grows by once the context is full, calibrated."""
        raw = (
            self.weights_ram + self.repack_ram + self.kv_ram + self.compute_ram + self.overhead_ram
        )
        return int(raw * self.ram_factor)

    @property
    def ram_required_bytes(self) -> int:
        """RAM that must be free: resident bytes less reclaimable file pages."""
        return max(0, self.ram_bytes - int(self.repack_ram * self.ram_factor))

    @property
    def total_bytes(self) -> int:
        return self.gpu_bytes + self.ram_bytes

    @property
    def fully_offloaded(self) -> bool:
        return self.gpu_layers >= self.total_layers


def _layer_on_gpu(index: int, n_layer: int, gpu_layers: int) -> bool:
    # llama.cpp: i_gpu_start = max(n_layer - n_gpu_layers, 0), the output layer is
    # index n_layer and needs n_gpu_layers > n_layer.
    start = max(n_layer - gpu_layers, 0)
    return index >= start and index - start < min(gpu_layers, n_layer + 1)


def _repack(tensors: list[tuple[str, tuple[int, ...], int]], types: frozenset[str]) -> int:
    return sum(
        size
        for ggml_type, shape, size in tensors
        if ggml_type in types and len(shape) >= 2 and shape[1] % 8 == 0
    )


def kv_cache_bytes(
    figures: ModelFigures,
    *,
    context_length: int,
    kv_type: str = "f16",
    n_ubatch: int = DEFAULT_UBATCH,
) -> list[int]:
    """KV-cache bytes of each layer for a context (rounded up to 256)."""
    n_ctx = pad_context(context_length)
    swa_cells = min(n_ctx, pad_context(figures.sliding_window + n_ubatch))
    sizes = []
    for i in range(figures.n_layer):
        heads = figures.n_head_kv[i]
        if heads <= 0:
            sizes.append(0)
            continue
        cells = swa_cells if figures.swa_layers[i] else n_ctx
        k_row = row_bytes(kv_type, heads * figures.key_length)
        v_row = row_bytes(kv_type, heads * figures.value_length)
        sizes.append(cells * (k_row + v_row))
    return sizes


def compute_buffer_bytes(
    figures: ModelFigures, *, context_length: int, n_ubatch: int = DEFAULT_UBATCH
) -> int:
    """llama.cpp's compute buffer for the worst-case batch (flash attention off)."""
    n_kv = pad_context(context_length)
    n_head = max(figures.n_head, default=1)
    n_embd_v = max(figures.n_head_kv, default=0) * figures.value_length
    attention = 4 * n_kv * (n_head + 1) + 20 * figures.n_embd + 8 * n_embd_v
    feed_forward = 4 * n_kv + 6.375 * figures.n_ff + 6 * figures.n_embd - 2560
    output = 4 * (figures.n_vocab + figures.n_embd)
    return int(n_ubatch * max(attention, feed_forward, output))


def estimate_memory(
    header: GGUFHeader | ModelFigures,
    *,
    context_length: int,
    gpu_layers: int = 0,
    kv_type: str = "f16",
    flash_attention: bool = False,
    n_ubatch: int = DEFAULT_UBATCH,
    gpu_backend: str | None = None,
    repack_types: frozenset[str] = frozenset(),
    gpu_factor: float = 1.0,
    ram_factor: float = 1.0,
) -> MemoryEstimate:
    """Bytes on the GPU and in RAM to load ``header`` with these settings.

    ``gpu_layers`` counts as llama.cpp's ``n_gpu_layers`` does (``-1``: all); it is
    ignored when ``gpu_backend`` is None (a CPU-only build). ``repack_types`` comes
    from :func:`repack_types_for`. ``gpu_factor``/``ram_factor`` are calibration
    factors (:meth:`app.core.calibration.CalibrationStore.factors`).
    """
    figures = header if isinstance(header, ModelFigures) else ModelFigures.from_header(header)
    if context_length <= 0:
        raise ValueError("context_length must be positive")
    n_layer = figures.n_layer
    total_layers = n_layer + 1
    if gpu_backend is None:
        gpu_layers = 0
    elif gpu_layers < 0 or gpu_layers > total_layers:
        gpu_layers = total_layers
    notes = list(figures.notes)

    weights_gpu = weights_ram = repack = 0
    kv_gpu = kv_ram = 0
    kv = kv_cache_bytes(figures, context_length=context_length, kv_type=kv_type, n_ubatch=n_ubatch)
    for i in range(n_layer):
        if _layer_on_gpu(i, n_layer, gpu_layers):
            weights_gpu += figures.layer_bytes[i]
            kv_gpu += kv[i]
        else:
            weights_ram += figures.layer_bytes[i]
            repack += _repack(figures.layer_tensors[i], repack_types)
            kv_ram += kv[i]
    output_bytes = sum(size for _, _, size in figures.output_tensors)
    output_on_gpu = _layer_on_gpu(n_layer, n_layer, gpu_layers)
    weights_ram += figures.embedding_bytes
    if output_on_gpu:
        weights_gpu += output_bytes
        if figures.tied_output:
            weights_gpu += figures.embedding_bytes
    else:
        weights_ram += output_bytes
        repack += _repack(figures.output_tensors, repack_types)

    graph = compute_buffer_bytes(figures, context_length=context_length, n_ubatch=n_ubatch)
    n_kv = pad_context(context_length)
    logits = 4 * figures.n_vocab
    cpu_work = 2 * n_kv * n_ubatch * max(figures.n_head, default=1)
    if flash_attention:
        notes.append(
            "With flash attention llama.cpp needs less compute memory than estimated "
            "(the estimate is an upper bound)."
        )
    if gpu_layers > 0:
        compute_gpu = graph
        # The host keeps the batch's inputs and, when the output layer stays in RAM,
        # the logits of the output phase.
        host = n_ubatch * 8 * figures.n_embd
        if not output_on_gpu:
            host += n_ubatch * 4 * (figures.n_vocab + figures.n_embd)
        compute_ram = host + logits
        overhead_gpu = GPU_CONTEXT_OVERHEAD.get(gpu_backend or "", 300 * MIB)
        overhead_ram = RAM_RUNTIME_OVERHEAD + (cpu_work if kv_ram else 0)
        notes.append(
            "GPU compute buffers are estimated from the CPU graph; the first real load "
            "calibrates them."
        )
    else:
        compute_gpu = 0
        compute_ram = graph + logits
        overhead_gpu = 0
        overhead_ram = RAM_RUNTIME_OVERHEAD + cpu_work
    return MemoryEstimate(
        context_length=n_kv,
        gpu_layers=gpu_layers,
        total_layers=total_layers,
        weights_gpu=weights_gpu,
        weights_ram=weights_ram,
        repack_ram=repack,
        kv_gpu=kv_gpu,
        kv_ram=kv_ram,
        compute_gpu=compute_gpu,
        compute_ram=compute_ram,
        overhead_gpu=overhead_gpu,
        overhead_ram=overhead_ram,
        gpu_factor=gpu_factor,
        ram_factor=ram_factor,
        approximate=figures.approximate,
        notes=tuple(notes),
    )


def format_bytes(n_bytes: float) -> str:
    """``1.2 GB``-style sizes for people (decimal units, as file managers show)."""
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


def gib(n_bytes: float) -> float:
    """Bytes as GiB, rounded for messages."""
    return math.floor(n_bytes / GIB * 10 + 0.5) / 10
