"""The advisor on eight real machines and four real models (real shapes, real file sizes).

Context 8192 throughout. KV cache at 8k, f16: layers x 8192 x 2 x kv_heads x 128 x 2 B:
3B 28 layers -> 0.88 GiB; 8B 32 -> 1.0 GiB; 14B 48 -> 1.5 GiB; 70B 80 -> 2.5 GiB.
Headroom kept: RAM 2 GiB + 10% (max 6 GiB); discrete GPU max(512 MiB, 8%).
Metal may use 2/3 of RAM up to 36 GB, 3/4 above.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.core.advisor.advice import (
    COMFORTABLE_SPEED,
    MIN_USABLE_SPEED,
    REFERENCE_MODELS,
    ModelFile,
    Verdict,
    advise,
    headroom_for,
    plan_backoff,
    reference_files,
    synthetic_header,
)
from app.core.library.catalog import catalog_recommendation, first_model, load_catalog
from app.core.machine.hardware import GIB, MIB, GPUInfo, HardwareProfile, metal_working_set

F, P, C, N = Verdict.FULL_GPU, Verdict.PARTIAL, Verdict.CPU_ONLY, Verdict.NO_FIT


def machine(
    ram_gib: int,
    *,
    gpu: tuple[str, int] | None = None,
    apple: str | None = None,
) -> HardwareProfile:
    gpus: tuple[GPUInfo, ...] = ()
    if apple:
        gpus = (GPUInfo(apple, "Metal", metal_working_set(ram_gib * GIB), unified=True),)
    elif gpu:
        gpus = (GPUInfo(gpu[0], "CUDA", gpu[1] * GIB, free_bytes=gpu[1] * GIB),)
    return HardwareProfile(
        os="test",
        arch="arm64" if apple else "x86_64",
        cpu_model=apple or "Intel Core i5",
        physical_cores=4,
        logical_cores=8,
        ram_total=ram_gib * GIB,
        ram_available=ram_gib * GIB,
        cpu_features=frozenset({"NEON"} if apple else {"AVX2"}),
        gpus=gpus,
        gpu_offload_supported=bool(gpus),
    )


MACHINES = {
    "8 GB Intel laptop": machine(8),
    "8 GB M1 Air": machine(8, apple="Apple M1"),
    "16 GB M2": machine(16, apple="Apple M2"),
    "36 GB M3 Pro": machine(36, apple="Apple M3 Pro"),
    "64 GB M2 Max": machine(64, apple="Apple M2 Max"),
    "16 GB + RTX 3060 Laptop 6 GB": machine(16, gpu=("NVIDIA GeForce RTX 3060 Laptop GPU", 6)),
    "32 GB + RTX 3060 12 GB": machine(32, gpu=("NVIDIA GeForce RTX 3060", 12)),
    "64 GB + RTX 4090 24 GB": machine(64, gpu=("NVIDIA GeForce RTX 4090", 24)),
}

# (3B Q4, 3B Q8, 8B Q4, 8B Q8, 14B Q4, 14B Q8, 70B Q4, 70B Q8) -> (verdict, GPU layers).
EXPECTED = {
    # 5.2 GiB usable RAM (8 - 2.8): 3B Q8 3.2 GiB + 0.9 KV fits; 8B Q4 4.6 + 1.0 KV +
    # 0.8 compute/work > 5.2; bigger files are bigger than all of it.
    "8 GB Intel laptop": [(C, 0), (C, 0), (N, 0), (N, 0), (N, 0), (N, 0), (N, 0), (N, 0)],
    # Metal 5.33 GiB: 3B Q8 3.2 + 0.9 KV + compute fits; 8B Q4 4.6 + 1.0 does not.
    "8 GB M1 Air": [(F, 29), (F, 29), (N, 0), (N, 0), (N, 0), (N, 0), (N, 0), (N, 0)],
    # Metal 10.67 GiB: 14B Q4 8.4 + 1.5 KV fits; 14B Q8 14.6 does not.
    "16 GB M2": [(F, 29), (F, 29), (F, 33), (F, 33), (F, 49), (N, 0), (N, 0), (N, 0)],
    # Metal 27 GiB (3/4 of 36 GB): 14B Q8 14.6 + 1.5 fits; 70B Q4 39.6 GiB does not.
    "36 GB M3 Pro": [(F, 29), (F, 29), (F, 33), (F, 33), (F, 49), (F, 49), (N, 0), (N, 0)],
    # Metal 48 GiB, RAM budget 58: 70B Q4 39.6 + 2.5 KV fits; 70B Q8 69.8 does not.
    "64 GB M2 Max": [(F, 29), (F, 29), (F, 33), (F, 33), (F, 49), (F, 49), (F, 81), (N, 0)],
    # GPU 5.5 GiB: 3B Q8 3.2 + 0.9 + 0.35 CUDA fits; 8B Q4 needs 6.1: 29 of 33 layers;
    # 14B Q8 14.6 > 5.5 GPU + 12.4 RAM - KV/compute at 8k.
    "16 GB + RTX 3060 Laptop 6 GB": [
        (F, 29),
        (F, 29),
        (P, 29),
        (P, 18),
        (P, 23),
        (N, 0),
        (N, 0),
        (N, 0),
    ],
    # GPU 11.04 GiB: 14B Q4 8.4 + 1.5 + 0.5 + 0.35 fits; 14B Q8 14.6 partly (32 of 49).
    "32 GB + RTX 3060 12 GB": [
        (F, 29),
        (F, 29),
        (F, 33),
        (F, 33),
        (F, 49),
        (P, 32),
        (N, 0),
        (N, 0),
    ],
    # GPU 22.1 GiB: 14B Q8 fits; 70B Q4 39.6: 40 of 81 layers on GPU, the rest in 58 GiB RAM.
    "64 GB + RTX 4090 24 GB": [
        (F, 29),
        (F, 29),
        (F, 33),
        (F, 33),
        (F, 49),
        (F, 49),
        (P, 40),
        (P, 23),
    ],
}


@pytest.mark.parametrize("name", list(MACHINES))
def test_verdicts_for_real_models(name: str) -> None:
    profile = MACHINES[name]
    got = []
    for _label, files in reference_files():
        for advice in advise(files, profile, context_length=8192).advice:
            got.append((advice.verdict, advice.gpu_layers))
            estimate = advice.estimate
            if advice.verdict is F:
                # Necessary condition, by plain arithmetic: file + KV fit the GPU budget.
                gpu = profile.gpu
                assert gpu is not None
                keep = 0 if gpu.unified else max(512 * MIB, int(gpu.total_bytes * 0.08))
                assert advice.file.size_bytes + estimate.kv_bytes <= gpu.total_bytes - keep
            if advice.verdict is N:
                assert advice.tokens_per_second is None
                assert "not fit" in advice.sentence
    assert got == EXPECTED[name]


def test_sentences_say_what_a_person_needs() -> None:
    files = dict(reference_files())["Llama 3.1 8B"]
    laptop = advise(files, MACHINES["16 GB + RTX 3060 Laptop 6 GB"], context_length=8192)
    q4 = laptop.advice[0]
    assert q4.sentence.startswith("Runs 29 of 33 layers on your NVIDIA GeForce RTX 3060 Laptop")
    assert "tokens/s" in q4.sentence
    intel = advise(files, MACHINES["8 GB Intel laptop"], context_length=8192)
    assert intel.advice[0].sentence == (
        "Does not fit with 8,192 tokens of context; it fits with up to "
        f"{intel.advice[0].max_context:,}."
    )
    assert 2048 <= intel.advice[0].max_context < 8192


def test_auto_recommends_best_quality_that_runs_fully_on_the_gpu() -> None:
    files = dict(reference_files())["Qwen2.5 14B"]
    # 12 GB card: Q8_0 (14.6 GiB) only partly fits; Q4_K_M fits fully -> Q4_K_M.
    result = advise(files, MACHINES["32 GB + RTX 3060 12 GB"], context_length=8192)
    assert result.recommended is not None and result.recommended.file.quant == "Q4_K_M"
    # 24 GB card: both fit fully -> the better one, Q8_0.
    result = advise(files, MACHINES["64 GB + RTX 4090 24 GB"], context_length=8192)
    assert result.recommended is not None and result.recommended.file.quant == "Q8_0"
    assert sum(a.recommended for a in result.advice) == 1


def test_fixed_preference_is_kept_when_it_fits_and_explained_when_not() -> None:
    files = dict(reference_files())["Llama 3.1 8B"]
    result = advise(files, MACHINES["16 GB M2"], context_length=8192, preference="q4_k_m")
    assert result.recommended is not None and result.recommended.file.quant == "Q4_K_M"
    result = advise(files, MACHINES["8 GB M1 Air"], context_length=2048, preference="Q8_0")
    assert result.recommended is not None and result.recommended.file.quant == "Q4_K_M"
    assert "Q8_0 file does not fit" in result.note


def test_two_bit_files_only_for_big_models() -> None:
    model = REFERENCE_MODELS[1]
    small_q2 = ModelFile("8B Q2_K", "Q2_K", 3_180_000_000, synthetic_header(model, "Q4_K_M"))
    result = advise([small_q2], MACHINES["8 GB Intel laptop"], context_length=2048)
    # An 8B model at Q2_K fits but is not on the Auto ladder: recommended only as the
    # best of the others, and the note says so (and names the ladder).
    assert result.advice[0].recommended
    assert "not one of the quantizations Auto picks from (Q8_0, Q6_K, Q5_K_M" in result.note
    # Beside a ladder file that does not fit, the note says that one does not fit.
    big_q8 = ModelFile("8B Q8_0", "Q8_0", 8_500_000_000, synthetic_header(model, "Q8_0"))
    both = advise([small_q2, big_q8], MACHINES["8 GB Intel laptop"], context_length=2048)
    assert both.note.startswith("No file of the Auto ladder fits")


def test_headroom_is_stated() -> None:
    headroom = headroom_for(MACHINES["16 GB + RTX 3060 Laptop 6 GB"])
    assert headroom.ram == 2 * GIB + int(16 * GIB * 0.10)
    assert headroom.gpu == 512 * MIB  # 8% of 6 GiB is 491 MiB, less than the 512 MiB floor
    assert "kept free" in headroom.describe()
    assert headroom_for(MACHINES["64 GB M2 Max"]).ram == 6 * GIB


def test_backoff_takes_gpu_layers_first_then_context_and_says_so() -> None:
    header = synthetic_header(REFERENCE_MODELS[1], "Q8_0")
    plan = plan_backoff(
        header, MACHINES["32 GB + RTX 3060 12 GB"], gpu_layers=33, context_length=16384
    )
    assert plan, "a failed load must leave something to try"
    layers = [a.gpu_layers for a in plan]
    assert layers[0] < 33 and layers == sorted(layers, reverse=True)
    assert plan[0].gpu_layers > 0 and "layers now run on the GPU" in plan[0].change
    cpu_only = [a for a in plan if a.gpu_layers == 0]
    assert cpu_only and "CPU only" in cpu_only[0].change  # never silent
    contexts = [a.context_length for a in plan]
    assert contexts[-1] < 16384 and "context is now" in plan[-1].change
    first = next(i for i, c in enumerate(contexts) if c < 16384)
    assert all(c == 16384 for c in contexts[:first])
    assert all(a.gpu_layers == plan[first].gpu_layers for a in plan[first:])


def test_the_documents_embedding_model_is_counted_beside_the_chat_model() -> None:
    laptop = MACHINES["8 GB Intel laptop"]
    files = dict(reference_files())["Llama 3.2 3B"]
    alone = advise(files, laptop, context_length=8192)
    q8 = next(a for a in alone.advice if a.file.quant == "Q8_0")
    # nomic-embed-text's Q4_K_M file and its buffers, beside the chat model.
    embedding = 84_100_000 + 96 * MIB
    beside = advise(files, laptop, context_length=8192, embedding_bytes=embedding)
    q8_beside = next(a for a in beside.advice if a.file.quant == "Q8_0")
    assert q8_beside.max_context < q8.max_context  # less room for the chat model's context
    assert beside.headroom.embedding == embedding
    assert "184.8 MB of RAM for the embedding model" in beside.headroom.describe()
    assert "embedding" not in alone.headroom.describe()
    # A big enough one turns "fits" into "does not fit", and the sentence says why.
    crowded = advise(files, laptop, context_length=8192, embedding_bytes=3 * GIB)
    q8_crowded = next(a for a in crowded.advice if a.file.quant == "Q8_0")
    assert q8.verdict is C and q8_crowded.verdict is N


# -- speed first on the CPU, the 3 tokens/s floor, the trained-context cap ------------

CPU_2_CORES = HardwareProfile(
    os="test",
    arch="x86_64",
    cpu_model="Intel Core i3",
    physical_cores=2,
    logical_cores=2,
    ram_total=8 * GIB,
    ram_available=8 * GIB,
    cpu_features=frozenset({"AVX2"}),
    gpus=(),
    gpu_offload_supported=False,
)

# The first-run pick (catalog model, file, where it runs) at the default 4,096 tokens.
FIRST_PICKS = {
    "2-core CPU-only 8 GB": ("gemma-2-2b-it", "Q4_K_M", C),
    "8 GB Intel laptop": ("phi-3.5-mini-instruct", "Q4_K_M", C),
    "8 GB M1 Air": ("llama-3.1-8b-instruct", "IQ4_XS", F),
    "16 GB M2": ("phi-3.5-mini-instruct", "Q8_0", F),
    "36 GB M3 Pro": ("gemma-2-9b-it", "Q8_0", F),
    "64 GB M2 Max": ("qwen2.5-14b-instruct", "Q8_0", F),
    "16 GB + RTX 3060 Laptop 6 GB": ("mistral-nemo-instruct-2407", "Q4_K_M", P),
    "32 GB + RTX 3060 12 GB": ("qwen2.5-14b-instruct", "Q5_K_M", F),
    "64 GB + RTX 4090 24 GB": ("qwen2.5-32b-instruct", "Q4_K_M", F),
}


@pytest.mark.parametrize("name", list(FIRST_PICKS))
def test_first_run_pick_for_each_reference_machine_reads_comfortably(name: str) -> None:
    profile = {**MACHINES, "2-core CPU-only 8 GB": CPU_2_CORES}[name]
    catalog = load_catalog()
    recommendations = {m.id: catalog_recommendation(m, profile) for m in catalog}
    pick = first_model(catalog, recommendations)
    assert pick is not None
    got = (pick.model.id, pick.advice.file.quant, pick.advice.verdict)
    assert got == FIRST_PICKS[name]
    assert pick.comfortable
    assert pick.advice.tokens_per_second is not None
    assert pick.advice.tokens_per_second >= COMFORTABLE_SPEED


def test_the_two_core_machine_starts_with_a_small_model() -> None:
    catalog = load_catalog()
    recommendations = {m.id: catalog_recommendation(m, CPU_2_CORES) for m in catalog}
    pick = first_model(catalog, recommendations)
    assert pick is not None
    assert pick.model.parameters < 4e9
    assert pick.advice.file.size_bytes < 2 * 10**9


def test_cpu_only_prefers_a_readable_speed_over_the_best_quality() -> None:
    catalog = load_catalog()
    for model_id in ("mistral-7b-instruct-v0.3", "llama-3.2-3b-instruct"):
        result = catalog_recommendation(catalog.get(model_id), CPU_2_CORES)
        chosen = result.recommended
        assert chosen is not None
        # Q8_0 fits, but at a crawl: the fastest file is the one to start with.
        assert chosen.file.quant == "Q4_K_M"
        assert chosen.tokens_per_second == max(
            a.tokens_per_second or 0.0 for a in result.advice if a.verdict is C
        )
    # A 1B model reaches reading speed even at Q8_0: quality is affordable there.
    small = catalog_recommendation(catalog.get("llama-3.2-1b-instruct"), CPU_2_CORES)
    assert small.recommended is not None and small.recommended.file.quant == "Q8_0"
    assert (small.recommended.tokens_per_second or 0) >= COMFORTABLE_SPEED


def test_a_pick_below_three_tokens_per_second_says_so_on_the_cpu_too() -> None:
    catalog = load_catalog()
    sixteen = replace(CPU_2_CORES, ram_total=16 * GIB, ram_available=16 * GIB)
    result = catalog_recommendation(catalog.get("qwen2.5-14b-instruct"), sixteen)
    chosen = result.recommended
    assert chosen is not None and chosen.verdict is C
    assert (chosen.tokens_per_second or 0) < MIN_USABLE_SPEED
    assert "Very slow here" in result.note and "below 3 tokens/s" in result.note
    # A pick that reads comfortably carries no such warning.
    fine = catalog_recommendation(catalog.get("llama-3.2-1b-instruct"), sixteen)
    assert "slow" not in fine.note.lower()


def test_a_huge_context_setting_is_capped_at_the_trained_length() -> None:
    catalog = load_catalog()
    model = catalog.get("llama-3.2-1b-instruct")  # 0.8 GB, trained for 131,072 tokens
    result = catalog_recommendation(model, MACHINES["16 GB M2"], context_length=999_999)
    q4 = next(a for a in result.advice if a.file.quant == "Q4_K_M")
    # 131,072 tokens need ~13 GB of attention buffers here: loading backs off to what
    # fits, and the advice says that context instead of "does not fit".
    assert q4.verdict is F
    assert 32_768 <= q4.context_length < 131_072
    assert q4.context_length == q4.max_context
    assert any(
        f"capped at {q4.context_length:,} tokens (999,999 were asked for)" in note
        and "trained for 131,072" in note
        for note in q4.notes
    )
    assert result.recommended is not None
    # A big machine takes the whole trained length.
    big = catalog_recommendation(model, MACHINES["64 GB M2 Max"], context_length=999_999)
    assert big.advice[0].context_length == 131_072
    assert "the length this model was trained for" in big.advice[0].notes[-1]
    # Within the trained length nothing is capped, and nothing is said.
    plain = catalog_recommendation(model, MACHINES["16 GB M2"], context_length=8192)
    assert all(a.context_length == 8192 for a in plain.advice)
    assert not any("capped" in note for a in plain.advice for note in a.notes)


def test_k_quant_mixes_are_estimated_with_their_tensor_type() -> None:
    # A Q5_K_M file holds Q5_K tensors: it runs between Q4_K_M and Q8_0, not below both.
    catalog = load_catalog()
    result = catalog_recommendation(
        catalog.get("llama-3.2-3b-instruct"), MACHINES["8 GB Intel laptop"]
    )
    speed = {a.file.quant: a.tokens_per_second or 0.0 for a in result.advice}
    assert speed["Q4_K_M"] > speed["Q5_K_M"] > speed["Q8_0"]
