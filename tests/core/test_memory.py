"""Memory estimate: the arithmetic, placement like llama.cpp, and agreement with llama.cpp."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from app.core.advisor.advice import REFERENCE_MODELS, synthetic_header
from app.core.errors import CorruptModelError
from app.core.gguf.header import GGUFHeader, TensorInfo, read_header
from app.core.machine.calibration import CalibrationStore, parse_llama_log
from app.core.machine.memory import GIB, MIB, estimate_memory, pad_context
from tests.support.gguf_factory import test_model_path as stories_path

LLAMA_8B = REFERENCE_MODELS[1]
LLAMA_3B = REFERENCE_MODELS[0]


def test_kv_cache_of_llama_8b_at_8k_is_one_gib() -> None:
    # 32 layers x 8192 cells x (K + V) x 8 KV heads x 128 dims x 2 bytes (f16) = 1 GiB.
    estimate = estimate_memory(synthetic_header(LLAMA_8B, "Q4_K_M"), context_length=8192)
    assert estimate.kv_bytes == 32 * 8192 * 2 * 8 * 128 * 2 == 1 * GIB


def test_q8_0_cache_takes_34_bytes_per_32_values() -> None:
    estimate = estimate_memory(
        synthetic_header(LLAMA_8B, "Q4_K_M"), context_length=8192, kv_type="q8_0"
    )
    assert estimate.kv_bytes == 32 * 8192 * 2 * (1024 // 32 * 34)  # 544 MiB


def test_context_is_rounded_up_to_256() -> None:
    estimate = estimate_memory(synthetic_header(LLAMA_8B, "Q4_K_M"), context_length=1000)
    assert pad_context(1000) == 1024
    assert estimate.context_length == 1024
    assert estimate.kv_bytes == 32 * 1024 * 2 * 1024 * 2


def test_layers_go_to_gpu_from_the_last_and_output_needs_all_plus_one() -> None:
    header = synthetic_header(LLAMA_8B, "Q4_K_M")
    layer = sum(t.n_bytes for t in header.tensors if t.layer == 31)
    embedding = header.tensor("token_embd.weight")
    output = header.tensor("output.weight")
    assert embedding is not None and output is not None
    ten = estimate_memory(header, context_length=4096, gpu_layers=10, gpu_backend="CUDA")
    assert ten.weights_gpu == 10 * layer
    assert ten.kv_gpu == 10 * 4096 * 2 * 1024 * 2
    all_blocks = estimate_memory(header, context_length=4096, gpu_layers=32, gpu_backend="CUDA")
    # 32 of 33: every block on the GPU, the output layer still in RAM with the embedding.
    assert all_blocks.weights_ram >= output.n_bytes + embedding.n_bytes
    full = estimate_memory(header, context_length=4096, gpu_layers=33, gpu_backend="CUDA")
    assert (
        full.weights_gpu
        == all_blocks.weights_gpu + output.n_bytes + header.tensor("output_norm.weight").n_bytes
    )  # type: ignore[union-attr]
    assert full.weights_ram == embedding.n_bytes  # the input layer never leaves the CPU
    assert full.fully_offloaded


def test_tied_embeddings_are_copied_to_the_gpu_with_the_output_layer() -> None:
    header = synthetic_header(LLAMA_3B, "Q8_0")  # Llama 3.2 ties output to the embedding
    embedding = header.tensor("token_embd.weight")
    assert embedding is not None and header.tensor("output.weight") is None
    blocks = sum(t.n_bytes for t in header.tensors if t.layer is not None)
    full = estimate_memory(header, context_length=4096, gpu_layers=-1, gpu_backend="CUDA")
    assert full.weights_gpu > blocks + embedding.n_bytes - 1
    assert full.weights_ram == embedding.n_bytes


def test_cpu_only_build_ignores_gpu_layers() -> None:
    estimate = estimate_memory(
        synthetic_header(LLAMA_8B, "Q4_K_M"), context_length=4096, gpu_layers=33, gpu_backend=None
    )
    assert estimate.gpu_bytes == 0 and estimate.gpu_layers == 0


def _header(arch: str, metadata: dict[str, object], n_layer: int = 4) -> GGUFHeader:
    tensors = [TensorInfo("token_embd.weight", (256, 1000), "F16", 0, 256 * 1000 * 2)]
    tensors += [
        TensorInfo(f"blk.{i}.attn_q.weight", (256, 256), "F16", 0, 256 * 256 * 2)
        for i in range(n_layer)
    ]
    base = {
        "general.architecture": arch,
        f"{arch}.block_count": n_layer,
        f"{arch}.embedding_length": 256,
    }
    return GGUFHeader(3, {**base, **metadata}, tensors, 32, 0)


def test_sliding_window_layers_keep_only_the_window_without_swa_full() -> None:
    # gemma2: every other layer slides over 1024 tokens. With swa_full (llama-cpp-python's
    # and Hearth's default) they keep the whole context; without, pad256(1024 + 512) cells.
    header = _header(
        "gemma2",
        {
            "gemma2.attention.head_count": 4,
            "gemma2.attention.head_count_kv": 2,
            "gemma2.attention.key_length": 64,
            "gemma2.attention.sliding_window": 1024,
        },
    )
    row = 2 * 64 * 2 * 2  # K+V, 2 heads x 64 dims, f16
    assert estimate_memory(header, context_length=8192).kv_bytes == 4 * 8192 * row
    estimate = estimate_memory(header, context_length=8192, swa_full=False)
    assert estimate.kv_bytes == 2 * 8192 * row + 2 * 1536 * row


def test_per_layer_head_counts_and_layers_without_attention() -> None:
    header = _header(
        "llama",
        {"llama.attention.head_count": [4, 4, 4, 4], "llama.attention.head_count_kv": [4, 0, 2, 0]},
    )
    estimate = estimate_memory(header, context_length=256)
    head_dim = 256 // 4
    assert estimate.kv_bytes == 256 * 2 * 2 * head_dim * (4 + 2)


def test_unknown_architecture_is_estimated_from_generic_keys_and_flagged() -> None:
    header = _header("brand-new-arch", {"brand-new-arch.attention.head_count": 4})
    estimate = estimate_memory(header, context_length=512)
    assert estimate.approximate
    assert any("not one Hearth knows" in note for note in estimate.notes)
    assert estimate.kv_bytes == 4 * 512 * 2 * 256 * 2  # no GQA key: KV heads = heads


def test_crafted_header_with_absurd_counts_is_refused_quickly(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.gguf"
    # GGUF v3 claiming 2^60 tensors and a 2^62-byte key: must not allocate or loop.
    crafted.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1 << 60, 1) + struct.pack("<Q", 1 << 62))
    with pytest.raises(CorruptModelError):
        read_header(crafted)
    crafted.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62))
    with pytest.raises(CorruptModelError):
        read_header(crafted)


def test_calibration_corrects_later_estimates(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path / "calibration.json")
    header = synthetic_header(LLAMA_8B, "Q4_K_M")
    estimate = estimate_memory(header, context_length=4096)
    assert store.factors("this machine") == (1.0, 1.0)
    buffers = estimate.weights_ram + estimate.repack_ram + estimate.kv_ram + estimate.compute_ram
    mib = buffers * 1.2 / MIB
    log = f"load_tensors:   CPU_Mapped model buffer size = {mib:.2f} MiB\n"
    store.record(key="this machine", estimate=estimate, reported=parse_llama_log(log))
    gpu_factor, ram_factor = CalibrationStore(tmp_path / "calibration.json").factors("this machine")
    assert gpu_factor == 1.0 and ram_factor == pytest.approx(1.2, rel=1e-3)
    corrected = estimate_memory(header, context_length=4096, ram_factor=ram_factor)
    assert corrected.ram_bytes == pytest.approx(estimate.ram_bytes * 1.2, rel=1e-3)


def test_parse_llama_log_splits_gpu_and_host_buffers() -> None:
    log = (
        "load_tensors:        CUDA0 model buffer size =  4403.49 MiB\n"
        "load_tensors:   CPU_Mapped model buffer size =   281.81 MiB\n"
        "llama_kv_cache:      CUDA0 KV buffer size =   512.00 MiB\n"
        "sched_reserve:      CUDA0 compute buffer size =   258.50 MiB\n"
        "sched_reserve:  CUDA_Host compute buffer size =    16.01 MiB\n"
    )
    reported = parse_llama_log(log)
    assert reported.gpu == int(4403.49 * MIB) + 512 * MIB + int(258.5 * MIB)
    assert reported.ram == int(281.81 * MIB) + int(16.01 * MIB)


@pytest.mark.slow
def test_estimate_is_within_10_percent_of_what_llama_cpp_allocates() -> None:
    from bench.estimate import measure

    model = stories_path()
    measured = measure(model, 1024)
    reported = sum(measured["reported"].values())
    estimate = estimate_memory(read_header(model), context_length=1024)
    buffers = estimate.weights_bytes + estimate.kv_bytes + estimate.compute_bytes
    assert abs(buffers - reported) / reported < 0.10
    growth = measured["rss_after_fill"] - measured["rss_before"]
    assert abs(estimate.ram_bytes - growth) / growth < 0.10
