"""Build small, real llama-architecture GGUF files for tests and benchmarks.

Weights are random (seeded), the tokenizer is stories260K's SentencePiece vocabulary,
optionally extended with ChatML's two control tokens, so llama.cpp loads and runs
every file this writes. ``quantize`` turns an F32/F16 file into Q4_K_M, Q8_0, ...
with llama.cpp itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

SHARED_MODEL = Path(__file__).resolve().parents[3] / "shared" / "models" / "stories260K.gguf"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_model_path() -> Path:
    """The real test model: ``$HEARTH_TEST_MODEL`` or ../shared/models/stories260K.gguf."""
    return Path(os.environ.get("HEARTH_TEST_MODEL", str(SHARED_MODEL)))


@dataclass(frozen=True)
class ModelShape:
    """Hyper-parameters of a llama-style model."""

    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    n_ctx_train: int = 4096


def _stories_vocab() -> tuple[list[bytes], list[float], list[int]]:
    reader = gguf.GGUFReader(str(test_model_path()))
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]) for i in field.data]
    scores_field = reader.fields["tokenizer.ggml.scores"]
    scores = [float(scores_field.parts[i][0]) for i in scores_field.data]
    types_field = reader.fields["tokenizer.ggml.token_type"]
    types = [int(types_field.parts[i][0]) for i in types_field.data]
    return tokens, scores, types


def write_llama_gguf(
    path: str | os.PathLike[str],
    *,
    shape: ModelShape | None = None,
    chat_template: str | None = None,
    chatml_tokens: bool = False,
    architecture: str = "llama",
    dtype: type = np.float32,
    seed: int = 0,
    name: str = "hearth-test",
) -> Path:
    """Write a random-weight llama GGUF at ``path`` and return the path.

    ``chatml_tokens`` adds ``<|im_start|>`` and ``<|im_end|>`` as control tokens and
    makes ``<|im_end|>`` the end-of-turn token. ``architecture`` may name one llama.cpp
    does not know, to test that error.
    """
    shape = shape or ModelShape()
    out = Path(path)
    tokens, scores, types = _stories_vocab()
    eos_id = 2
    if chatml_tokens:
        tokens += [b"<|im_start|>", b"<|im_end|>"]
        scores += [0.0, 0.0]
        types += [3, 3]
        eos_id = len(tokens) - 1
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(out), architecture)
    writer.add_name(name)
    writer.add_context_length(shape.n_ctx_train)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_dimension_count(shape.n_embd // shape.n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == np.float32 else 1)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(eos_id)
    writer.add_unk_token_id(0)
    if chatml_tokens:
        writer.add_eot_token_id(eos_id)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    rng = np.random.default_rng(seed)
    head_dim = shape.n_embd // shape.n_head
    n_embd_kv = head_dim * shape.n_head_kv

    def weight(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(dtype)

    def norm() -> np.ndarray:
        return np.ones(shape.n_embd, dtype=np.float32)

    writer.add_tensor("token_embd.weight", weight(n_vocab, shape.n_embd))
    for i in range(shape.n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", norm())
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(shape.n_embd, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(n_embd_kv, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(n_embd_kv, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(shape.n_embd, shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", norm())
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(shape.n_ff, shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(shape.n_ff, shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(shape.n_embd, shape.n_ff))
    writer.add_tensor("output_norm.weight", norm())
    writer.add_tensor("output.weight", weight(n_vocab, shape.n_embd))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


# llama.cpp's file-type ids for the quantizations tests and benchmarks build.
FTYPES = {
    "Q4_0": 2,
    "Q8_0": 7,
    "Q2_K": 10,
    "Q3_K_M": 12,
    "Q4_K_M": 15,
    "Q5_K_M": 17,
    "Q6_K": 18,
    "IQ4_XS": 30,
}


def quantize(source: str | os.PathLike[str], target: str | os.PathLike[str], quant: str) -> Path:
    """Quantize ``source`` into ``target`` with llama.cpp (``llama_model_quantize``)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[quant]
    params.nthread = os.cpu_count() or 1
    result = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), llama_cpp.byref(params)
    )
    if result != 0:
        raise RuntimeError(f"llama_model_quantize failed with {result}")
    return Path(target)


GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Gemma3Shape:
    """Hyper-parameters of a gemma3-style model; the defaults are Gemma 3 270M's."""

    n_layer: int = 18
    n_embd: int = 640
    n_head: int = 4
    n_head_kv: int = 1
    head_dim: int = 256
    n_ff: int = 2048
    sliding_window: int = 512
    n_ctx_train: int = 32768


def write_gemma3_gguf(
    path: str | os.PathLike[str],
    *,
    shape: Gemma3Shape | None = None,
    dtype: type = np.float16,
    seed: int = 0,
    name: str = "hearth-gemma3",
) -> Path:
    """Write a random-weight gemma3 GGUF (sliding-window layers, 5 local : 1 global).

    It has what llama.cpp's gemma3 loader reads: ``attention.sliding_window``, head
    size as ``key_length``/``value_length`` (not ``n_embd / n_head``), the q/k norms,
    the post-attention and post-feed-forward norms, and a tied output (no
    ``output.weight``). The vocabulary is stories260K's plus ``<start_of_turn>`` and
    ``<end_of_turn>`` as control tokens, with a Gemma chat template.
    """
    shape = shape or Gemma3Shape()
    out = Path(path)
    tokens, scores, types = _stories_vocab()
    tokens += [b"<start_of_turn>", b"<end_of_turn>"]
    scores += [0.0, 0.0]
    types += [3, 3]
    eot_id = len(tokens) - 1
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(out), "gemma3")
    writer.add_name(name)
    writer.add_context_length(shape.n_ctx_train)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_sliding_window(shape.sliding_window)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == np.float32 else 1)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_eot_token_id(eot_id)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_chat_template(GEMMA_TEMPLATE)

    rng = np.random.default_rng(seed)
    n_q = shape.head_dim * shape.n_head
    n_kv = shape.head_dim * shape.n_head_kv

    def weight(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(dtype)

    def norm(n: int) -> np.ndarray:
        # Gemma's RMS norms multiply by (1 + w); the converter stores 1 + w.
        return np.ones(n, dtype=np.float32)

    writer.add_tensor("token_embd.weight", weight(n_vocab, shape.n_embd))
    for i in range(shape.n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", norm(shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(n_q, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(n_kv, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(n_kv, shape.n_embd))
        writer.add_tensor(f"blk.{i}.attn_q_norm.weight", norm(shape.head_dim))
        writer.add_tensor(f"blk.{i}.attn_k_norm.weight", norm(shape.head_dim))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(shape.n_embd, n_q))
        writer.add_tensor(f"blk.{i}.post_attention_norm.weight", norm(shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", norm(shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(shape.n_ff, shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(shape.n_ff, shape.n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(shape.n_embd, shape.n_ff))
        writer.add_tensor(f"blk.{i}.post_ffw_norm.weight", norm(shape.n_embd))
    writer.add_tensor("output_norm.weight", norm(shape.n_embd))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
