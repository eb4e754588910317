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
    Extra buffers (llama.cpp ``use_extra_bufts``, :class:`ExtraBufferRules`): each
    matrix weight kept on the CPU goes to the first extra buffer that takes it, as a
    second copy: ``AMX`` (build with AMX-INT8: Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K,
    IQ4_XS, F16 with rows a multiple of 32), then ``CPU_REPACK`` (AVX2: Q4_0, Q4_K,
    IQ4_NL, rows a multiple of 8; AVX-512 also Q2_K; ARM: Q4_0 and IQ4_NL by 4, Q4_K
    by 8). The token embedding is always mapped (a tied output gets its own copy).
    ``CPU_Mapped`` is the file range from the first to the last tensor left in it:
    copied tensors shrink it only at the range's ends; those inside stay mapped but
    unused, reclaimable page cache (in ``ram_bytes``, not in ``ram_required_bytes``).
KV cache
    ``n_ctx`` is rounded up to a multiple of 256. Per layer ``i``:
    ``n_ctx_i x (row(type_k, n_head_kv[i] x key_length) + row(type_v, n_head_kv[i] x
    value_length))``, where ``row`` is ggml's row size for the cache type (f16: 2 bytes
    per value, q8_0: 34 bytes per 32 values...), ``n_head_kv`` may be a per-layer array
    (0 means no attention in that layer). Sliding-window layers keep the whole context
    with ``swa_full`` (llama-cpp-python's default, and Hearth's), else
    ``n_ctx_i = min(n_ctx, pad256(window + n_ubatch))`` cells.
Compute buffers (measured fit of llama.cpp's graph allocator; ``n_ubatch`` is at
most 512 and at most the context asked for)
    The largest of three phases of the graph, each ``n_ubatch x`` bytes per token:
    attention ``4 n_kv (n_head + 1) + 8 n_embd + 12 n_head key_length + 8
    n_embd_v_gqa + m``; feed-forward ``4 n_kv + 6.375 n_ff + 6 n_embd - 2560 + m``;
    output ``4 (n_vocab + n_embd)``, where ``m = 4 x`` the sliding-window cache's cells
    for a model with sliding-window layers (its second attention mask), else 0. Plus
    the logits buffer, ``4 n_vocab``.
Overhead (stated, not measured from the header)
    RAM: 6.5 MiB for llama.cpp's runtime and threads, plus the CPU backend's work
    buffer for converting the attention matrix, ``2 n_kv n_ubatch n_head``, when the
    CPU computes attention. GPU: the driver's context, per backend (CUDA/ROCm
    350 MiB, Vulkan 200 MiB, Metal 0 — it shares RAM).

Estimates are corrected by per-machine factors learnt from real loads
(:mod:`app.core.machine.calibration`) when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gguf as _gguf

from app.core.gguf.header import GGUFHeader, positive_count

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


# Weight types llama.cpp's AMX kernels take (ggml-cpu/amx: qtype_has_amx_kernels, plus
# F16), for matrices whose rows (output features) are a multiple of 32.
AMX_TYPES = frozenset({"Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS", "F16"})
AMX_ROW_MULTIPLE = 32
# The AMX layout keeps a 32-bit compensation per 16 rows x 32 values of Q8_0 (38 bytes
# where the file has 34); the other types pack to their file size.
AMX_SIZE_FACTOR = {"Q8_0": 38 / 34}


@dataclass(frozen=True, slots=True)
class ExtraBufferRules:
    """Which weights llama.cpp's CPU backend copies into an extra buffer on this CPU.

    llama.cpp gives each matrix-product weight kept on the CPU to the first extra buffer
    type that takes it: ``AMX`` (when the build has AMX-INT8), then ``CPU_REPACK``
    (ggml-cpu/repack.cpp: ``ggml_repack_get_optimal_repack_type``). ``repack`` maps a
    type to the multiple its row count must be. Other weights stay in the mapped file.
    """

    amx: frozenset[str] = frozenset()
    repack: tuple[tuple[str, int], ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.amx or self.repack)

    def buffer_for(self, ggml_type: str, shape: tuple[int, ...]) -> str | None:
        """``"AMX"``, ``"CPU_REPACK"`` or None (mapped) for one weight matrix."""
        if len(shape) != 2:
            return None
        rows = shape[1]
        if ggml_type in self.amx and rows % AMX_ROW_MULTIPLE == 0:
            return "AMX"
        for repack_type, multiple in self.repack:
            if ggml_type == repack_type and rows % multiple == 0:
                return "CPU_REPACK"
        return None

    def extra_bytes(self, ggml_type: str, shape: tuple[int, ...], n_bytes: int) -> int:
        """Bytes of the extra copy of one weight (0 when it stays mapped)."""
        buffer = self.buffer_for(ggml_type, shape)
        if buffer == "AMX":
            return int(n_bytes * AMX_SIZE_FACTOR.get(ggml_type, 1.0))
        return n_bytes if buffer else 0


NO_EXTRA_BUFFERS = ExtraBufferRules()


def _build_flags(cpu_features: frozenset[str], llama_system_info: str) -> set[str]:
    """What the CPU backend was built to use: its system info, else the CPU's flags."""
    if llama_system_info:
        return {
            flag
            for flag in (
                *("AVX2", "AVX512", "AVX512_VNNI", "NEON", "DOTPROD", "MATMUL_INT8", "SVE"),
                "AMX_INT8",
            )
            if f" {flag} = 1" in f" {llama_system_info}"
        }
    flags = set(cpu_features)
    if "AMX" in flags:
        flags |= {"AMX_INT8", "AVX512_VNNI"}
    if "NEON" in flags:
        flags.add("DOTPROD")  # every ARM64 CPU llama.cpp's repack targets has it
    return flags


def extra_buffers_for(
    *, cpu_features: frozenset[str], llama_system_info: str = "", enabled: bool = True
) -> ExtraBufferRules:
    """The extra-buffer rules of llama.cpp's CPU backend on this CPU.

    ``enabled`` is :class:`app.core.inference.engine.LoadOptions` ``extra_buffers`` (llama.cpp's
    ``use_extra_bufts``); False gives no extra buffers. The build's system info
    (``AVX2 = 1``, ``AMX_INT8 = 1``, ``REPACK = 1``...) decides when it is known, since
    ggml checks the features it was compiled for.
    """
    if not enabled:
        return NO_EXTRA_BUFFERS
    flags = _build_flags(cpu_features, llama_system_info)
    amx = AMX_TYPES if {"AMX_INT8", "AVX512_VNNI"} <= flags else frozenset()
    if llama_system_info and "REPACK = 1" not in llama_system_info:
        return ExtraBufferRules(amx=amx)
    repack: list[tuple[str, int]] = []
    if "AVX2" in flags or ("SVE" in flags and "MATMUL_INT8" in flags):
        repack += [("Q4_0", 8), ("Q4_K", 8), ("IQ4_NL", 8)]
    elif "NEON" in flags and ("DOTPROD" in flags or "MATMUL_INT8" in flags):
        repack += [("Q4_0", 4), ("Q4_K", 8), ("IQ4_NL", 4)]
    if "AVX512" in flags:
        repack.append(("Q2_K", 8))
    return ExtraBufferRules(amx=amx, repack=tuple(repack))


# ------------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    """A header figure above zero, or None (missing, zero, negative, or not a number)."""
    return positive_count(value, per_layer=False)


def _per_layer(value: Any, n_layer: int, default: int) -> list[int]:
    """A hyper-parameter that may be one number or one per layer (zero for a layer
    without attention); anything else in the header gives ``default`` for every layer."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        values = [int(v) for v in value[:n_layer]]
        return values + [values[-1]] * (n_layer - len(values))
    number = _int(value)
    return [number if number is not None else default] * n_layer


EMBEDDING, OUTPUT = -1, -2


@dataclass(frozen=True, slots=True)
class WeightTensor:
    """One tensor of the file: which layer (or EMBEDDING / OUTPUT) and where it lies."""

    layer: int
    ggml_type: str
    shape: tuple[int, ...]
    n_bytes: int
    offset: int


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
    tensors: tuple[WeightTensor, ...] = ()
    """Every tensor with its place in the file (for llama.cpp's mapped buffer)."""

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
        n_ff = positive_count(n_ff_raw) or 0
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
        placed: list[WeightTensor] = []
        for tensor in header.tensors:
            index = tensor.layer
            if index is not None and index < n_layer:
                layer_bytes[index] += tensor.n_bytes
                layer_tensors[index].append((tensor.ggml_type, tensor.shape, tensor.n_bytes))
                group = index
            elif tensor.name.startswith("token_embd"):
                embedding_bytes += tensor.n_bytes
                group = EMBEDDING
            else:
                output.append((tensor.ggml_type, tensor.shape, tensor.n_bytes))
                group = OUTPUT
            placed.append(
                WeightTensor(group, tensor.ggml_type, tensor.shape, tensor.n_bytes, tensor.offset)
            )
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
            tensors=tuple(placed),
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
    """Extra copies (AMX, CPU_REPACK) of CPU weights; their mapped pages become
    reclaimable."""
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
    reclaimable_ram: int = 0
    """Mapped file pages no tensor uses (those copied to an extra buffer)."""

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
        return max(0, self.ram_bytes - int(self.reclaimable_ram * self.ram_factor))

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


def _mapped_bytes(tensors: list[WeightTensor]) -> tuple[int, int]:
    """llama.cpp's CPU_Mapped buffer, and the bytes of it that no tensor uses.

    The buffer is the file range from its first tensor to its last, so tensors moved to
    an extra buffer shrink it only at the ends; those inside stay mapped but unused
    (reclaimable page cache once read). Headers without real offsets (synthetic ones)
    count the tensors' bytes.
    """
    if not tensors:
        return 0, 0
    total = sum(t.n_bytes for t in tensors)
    span = max(t.offset + t.n_bytes for t in tensors) - min(t.offset for t in tensors)
    return max(total, span), max(0, span - total)


def _weights(
    figures: ModelFigures, gpu_layers: int, output_on_gpu: bool, rules: ExtraBufferRules
) -> tuple[int, int, int, int]:
    """``(gpu, mapped RAM, extra-buffer RAM, unused mapped RAM)`` bytes of the weights."""
    n_layer = figures.n_layer
    gpu = extra = 0
    mapped: list[WeightTensor] = []
    embedding: WeightTensor | None = None
    for tensor in figures.tensors:
        if tensor.layer == EMBEDDING:
            # Read with get_rows, which no extra buffer takes: always mapped.
            mapped.append(tensor)
            embedding = tensor
            continue
        on_gpu = (
            output_on_gpu
            if tensor.layer == OUTPUT
            else _layer_on_gpu(tensor.layer, n_layer, gpu_layers)
        )
        if on_gpu:
            gpu += tensor.n_bytes
            continue
        copy = rules.extra_bytes(tensor.ggml_type, tensor.shape, tensor.n_bytes)
        if copy:
            extra += copy
        else:
            mapped.append(tensor)
    if figures.tied_output and embedding is not None:
        # The output layer gets its own copy of the embedding matrix: on the GPU, or
        # in an extra buffer when one takes it (else it shares the mapped one).
        if output_on_gpu:
            gpu += embedding.n_bytes
        else:
            extra += rules.extra_bytes(embedding.ggml_type, embedding.shape, embedding.n_bytes)
    mapped_bytes, unused = _mapped_bytes(mapped)
    return gpu, mapped_bytes, extra, unused


def swa_cache_cells(
    figures: ModelFigures, *, context_length: int, n_ubatch: int, swa_full: bool
) -> int:
    """Cells of the sliding-window layers' cache (llama-kv-cache-iswa.cpp).

    ``swa_full`` (llama-cpp-python's default) gives them the whole context; without it
    llama.cpp keeps ``min(n_ctx, pad256(n_swa + n_ubatch))`` cells.
    """
    n_ctx = pad_context(context_length)
    if swa_full or not figures.sliding_window:
        return n_ctx
    return min(n_ctx, pad_context(figures.sliding_window + min(n_ubatch, context_length)))


def kv_cache_bytes(
    figures: ModelFigures,
    *,
    context_length: int,
    kv_type: str = "f16",
    n_ubatch: int = DEFAULT_UBATCH,
    swa_full: bool = True,
) -> list[int]:
    """KV-cache bytes of each layer for a context (rounded up to 256)."""
    n_ctx = pad_context(context_length)
    swa_cells = swa_cache_cells(
        figures, context_length=context_length, n_ubatch=n_ubatch, swa_full=swa_full
    )
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
    figures: ModelFigures,
    *,
    context_length: int,
    n_ubatch: int = DEFAULT_UBATCH,
    swa_full: bool = True,
) -> int:
    """llama.cpp's compute buffer for the worst-case batch (flash attention off)."""
    n_kv = pad_context(context_length)
    n_ubatch = min(n_ubatch, context_length)
    n_head = max(figures.n_head, default=1)
    n_embd_v = max(figures.n_head_kv, default=0) * figures.value_length
    n_embd_q = n_head * figures.key_length
    # A model with sliding-window layers has a second attention mask (f32) over the
    # sliding-window cache, alive through the graph.
    swa_mask = 0
    if any(figures.swa_layers):
        swa_mask = 4 * swa_cache_cells(
            figures, context_length=context_length, n_ubatch=n_ubatch, swa_full=swa_full
        )
    attention = (
        4 * n_kv * (n_head + 1) + 8 * figures.n_embd + 12 * n_embd_q + 8 * n_embd_v + swa_mask
    )
    feed_forward = 4 * n_kv + 6.375 * figures.n_ff + 6 * figures.n_embd - 2560 + swa_mask
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
    extra_buffers: ExtraBufferRules | None = None,
    swa_full: bool = True,
    gpu_factor: float = 1.0,
    ram_factor: float = 1.0,
) -> MemoryEstimate:
    """Bytes on the GPU and in RAM to load ``header`` with these settings.

    ``gpu_layers`` counts as llama.cpp's ``n_gpu_layers`` does (``-1``: all); it is
    ignored when ``gpu_backend`` is None (a CPU-only build). ``extra_buffers`` comes
    from :func:`extra_buffers_for` (None: no extra buffers).
    ``swa_full`` is llama.cpp's: a full-size cache for sliding-window layers.
    ``n_ubatch`` is capped at the context asked for, as llama-cpp-python does.
    ``gpu_factor``/``ram_factor`` are calibration factors
    (:meth:`app.core.machine.calibration.CalibrationStore.factors`).
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

    rules = extra_buffers if extra_buffers is not None else ExtraBufferRules()
    output_on_gpu = _layer_on_gpu(n_layer, n_layer, gpu_layers)
    weights_gpu, weights_ram, repack, unused = _weights(figures, gpu_layers, output_on_gpu, rules)

    kv_gpu = kv_ram = 0
    kv = kv_cache_bytes(
        figures,
        context_length=context_length,
        kv_type=kv_type,
        n_ubatch=n_ubatch,
        swa_full=swa_full,
    )
    for i in range(n_layer):
        if _layer_on_gpu(i, n_layer, gpu_layers):
            kv_gpu += kv[i]
        else:
            kv_ram += kv[i]
    if rules.amx and repack:
        notes.append(
            "The AMX copy of the weights is estimated at their file size; the first "
            "real load calibrates it."
        )

    graph = compute_buffer_bytes(
        figures, context_length=context_length, n_ubatch=n_ubatch, swa_full=swa_full
    )
    n_kv = pad_context(context_length)
    n_ubatch = min(n_ubatch, context_length)
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
        reclaimable_ram=unused,
    )
