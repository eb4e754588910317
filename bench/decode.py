"""Decode speed of Hearth's streaming path against raw llama-cpp-python, and TTFT.

For each model, the same ``Llama`` context decodes the same prompt with the same
sampling settings, alternately through the raw library (``Llama.generate``, tokens
only: the tightest loop the library offers) and through ``Engine.complete`` (text
pieces, stop checks, figures). End of text is ignored so every run makes exactly the
same number of tokens. Tokens per second count from the first token to the last, so
prompt evaluation does not blur the decode figure; the ratio is of medians.

Time to first token is measured at turn 1 and turn 10 of a chat whose turns each add
a message and a reply of similar length, with Hearth's prefix reuse, and for turn 10
once more with the cache cleared (what it would cost without reuse).

Models: stories260K (where per-token overhead shows most) and a ~110 MB Q4_K_M
random-weight llama (16 layers x 1024 wide) that the bench builds once under
``bench/out/``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from app.core.inference.engine import Engine, LoadOptions, Message, SamplingOptions
from tests.support.gguf_factory import (
    CHATML_TEMPLATE,
    ModelShape,
    quantize,
    test_model_path,
    write_llama_gguf,
)

OUT = Path(__file__).resolve().parent / "out"
SAMPLING = SamplingOptions(
    temperature=0.7, top_p=0.95, top_k=40, min_p=0.05, repeat_penalty=1.1, max_tokens=256, seed=42
)
PROMPT = "Once upon a time, in a small village by the sea,"


def q4_model() -> Path:
    """The bench's ~110 MB Q4_K_M model, built on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "bench-16x1024-Q4_K_M.gguf"
    if not target.exists():
        source = OUT / "bench-16x1024-F16.gguf"
        shape = ModelShape(
            n_layer=16, n_embd=1024, n_head=16, n_head_kv=8, n_ff=2816, n_ctx_train=8192
        )
        import numpy as np

        write_llama_gguf(
            source, shape=shape, chat_template=CHATML_TEMPLATE, chatml_tokens=True, dtype=np.float16
        )
        quantize(source, target, "Q4_K_M")
        source.unlink()
    return target


def _raw_decode(llm: Any, tokens: list[int], n: int) -> float:
    llm.set_seed(SAMPLING.seed)
    first = last = 0.0
    stream = llm.generate(
        tokens,
        temp=SAMPLING.temperature,
        top_p=SAMPLING.top_p,
        top_k=SAMPLING.top_k,
        min_p=SAMPLING.min_p,
        repeat_penalty=SAMPLING.repeat_penalty,
    )
    for count, _token in enumerate(stream, start=1):
        if count == 1:
            first = time.perf_counter()
        if count == n:
            last = time.perf_counter()
            break
    return (n - 1) / (last - first)


def _engine_decode(engine: Engine, n: int) -> float:
    reply = engine.complete(
        PROMPT, SamplingOptions(**{**_as_dict(SAMPLING), "max_tokens": n}), ignore_eos=True
    )
    for _ in reply:
        pass
    assert reply.stats is not None and reply.stats.completion_tokens == n
    assert reply.stats.tokens_per_second is not None
    return reply.stats.tokens_per_second


def _as_dict(options: SamplingOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}


def decode_ratio(path: Path, *, tokens: int, repeats: int) -> dict[str, Any]:
    engine = Engine()
    engine.load(path, LoadOptions(context_length=2048))
    llm = engine._llm  # the same context for both paths
    prompt_tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    raw, ours = [], []
    _raw_decode(llm, prompt_tokens, tokens)  # warm-up
    for repeat in range(repeats):
        # Alternate which goes first, so neither always runs on a warmer machine.
        if repeat % 2:
            ours.append(_engine_decode(engine, tokens))
            raw.append(_raw_decode(llm, prompt_tokens, tokens))
        else:
            raw.append(_raw_decode(llm, prompt_tokens, tokens))
            ours.append(_engine_decode(engine, tokens))
    engine.close()
    raw_median, ours_median = statistics.median(raw), statistics.median(ours)
    # Each repeat runs both paths back to back; the median of those paired ratios
    # cancels the machine's slower drifts (other tenants, frequency changes).
    paired = sorted(o / r for o, r in zip(ours, raw, strict=True))
    return {
        "model": path.name,
        "tokens": tokens,
        "repeats": repeats,
        "raw_tok_s": round(raw_median, 1),
        "hearth_tok_s": round(ours_median, 1),
        "ratio": round(statistics.median(paired), 3),
        "ratio_range": [round(paired[0], 3), round(paired[-1], 3)],
    }


def overhead_per_token(path: Path, *, tokens: int = 2000, repeats: int = 5) -> dict[str, Any]:
    """Hearth's own cost per token, without the model: llama.cpp's token stream is
    replaced by a generator that yields at once, so what remains is the engine's
    work (stop checks, text pieces, figures) against the bare loop over the same
    generator. Decode-speed ratios on a 2-core shared machine wander by a few
    percent between runs; this figure does not.
    """
    engine = Engine()
    engine.load(path, LoadOptions(context_length=tokens + 64))
    llm = engine._llm
    vocabulary = list(range(3, 400))

    def instant(_tokens: Any, **_options: Any) -> Any:
        index = 0
        while True:
            yield vocabulary[index % len(vocabulary)]
            index += 1

    llm.generate = instant  # the model step only; everything of Hearth's stays
    ours, bare = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        reply = engine.complete(PROMPT, SamplingOptions(max_tokens=tokens), ignore_eos=True)
        for _piece in reply:
            pass
        assert reply.stats is not None and reply.stats.completion_tokens == tokens
        ours.append((time.perf_counter() - started) / tokens)
        started = time.perf_counter()
        for count, _token in enumerate(instant(None), start=1):
            if count == tokens:
                break
        bare.append((time.perf_counter() - started) / tokens)
    engine.close()
    return {
        "hearth_us_per_token": round(statistics.median(ours) * 1e6, 2),
        "bare_loop_us_per_token": round(statistics.median(bare) * 1e6, 2),
    }


def ttft_turns(path: Path, *, turns: int = 10) -> dict[str, Any]:
    engine = Engine()
    engine.load(path, LoadOptions(context_length=4096))
    history = [Message("system", "You are a helpful assistant.")]
    sampling = SamplingOptions(**{**_as_dict(SAMPLING), "max_tokens": 48})
    ttft: list[float] = []
    prompt_sizes: list[int] = []
    evaluated: list[int] = []
    for turn in range(1, turns + 1):
        history.append(
            Message(
                "user",
                f"Question {turn}: tell me about the sea, the boats "
                "and the people who live by the harbour, please.",
            )
        )
        reply = engine.chat(history, sampling, ignore_eos=True)
        history.append(Message("assistant", reply.read()))
        assert reply.stats is not None and reply.stats.time_to_first_token is not None
        ttft.append(reply.stats.time_to_first_token)
        prompt_sizes.append(reply.stats.prompt_tokens)
        evaluated.append(reply.stats.prompt_tokens - reply.stats.cached_tokens)
    # Turn 10 again from an empty cache: what every turn would cost without reuse.
    engine._llm.reset()
    engine._llm._ctx.kv_cache_clear()
    cold = engine.chat(history[:-1], sampling, ignore_eos=True)
    cold.read()
    assert cold.stats is not None and cold.stats.time_to_first_token is not None
    engine.close()
    return {
        "model": path.name,
        "turn1_ttft_ms": round(ttft[0] * 1000, 1),
        "turn10_ttft_ms": round(ttft[-1] * 1000, 1),
        "turn1_prompt_tokens": prompt_sizes[0],
        "turn10_prompt_tokens": prompt_sizes[-1],
        "turn10_evaluated_tokens": evaluated[-1],
        "turn10_without_reuse_ms": round(cold.stats.time_to_first_token * 1000, 1),
    }


def run(*, repeats: int = 15) -> dict[str, Any]:
    stories = test_model_path()
    q4 = q4_model()
    results = {
        "decode": [
            decode_ratio(stories, tokens=512, repeats=repeats),
            decode_ratio(q4, tokens=128, repeats=repeats),
        ],
        "ttft": [ttft_turns(stories), ttft_turns(q4)],
        "overhead": overhead_per_token(stories),
    }
    print("\nDecode speed, Hearth's streaming path vs raw llama-cpp-python")
    print("(medians; ratio = median of back-to-back pairs, with the lowest and highest)")
    print(f"{'model':30} {'tokens':>6} {'raw tok/s':>10} {'Hearth tok/s':>13} {'ratio':>6}  range")
    for row in results["decode"]:
        low, high = row["ratio_range"]
        print(
            f"{row['model']:30} {row['tokens']:>6} {row['raw_tok_s']:>10} "
            f"{row['hearth_tok_s']:>13} {row['ratio']:>6}  {low}-{high}"
        )
    over = results["overhead"]
    added = over["hearth_us_per_token"] - over["bare_loop_us_per_token"]
    print(
        f"\nHearth's own work per token, model step removed: {over['hearth_us_per_token']} µs "
        f"(bare loop {over['bare_loop_us_per_token']} µs): {added:.2f} µs added per token"
    )
    for row in results["decode"]:
        per_token = 1e6 / row["raw_tok_s"]
        print(f"  = {100 * added / per_token:.2f}% of a {row['model']} token ({per_token:.0f} µs)")
    print("\nTime to first token, with prefix reuse")
    print(
        f"{'model':30} {'turn 1 (prompt)':>17} {'turn 10 (prompt/evaluated)':>28} "
        f"{'turn 10, no reuse':>18}"
    )
    for row in results["ttft"]:
        turn1 = f"{row['turn1_ttft_ms']}ms ({row['turn1_prompt_tokens']})"
        turn10 = (
            f"{row['turn10_ttft_ms']}ms ({row['turn10_prompt_tokens']}/"
            f"{row['turn10_evaluated_tokens']})"
        )
        print(f"{row['model']:30} {turn1:>17} {turn10:>28} {row['turn10_without_reuse_ms']:>16}ms")
    return results


if __name__ == "__main__":
    run()
