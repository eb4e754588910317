"""The engine process against raw in-process llama-cpp-python, and its restart time.

Decode: the same model, context, threads and sampling, alternately through raw
``Llama.generate`` in this process (tokens only, the library's tightest loop) and
through :class:`EngineProcess` (llama.cpp in the child, text pieces over the pipe). For
the engine process the clock is this process's: from the first piece received to the
last, so the pipe and the batching are inside the figure. End of text is ignored so
every run makes the same number of tokens; the ratio is the median of back-to-back pairs.

Time to first token: turn 1 and turn 10 of a chat through the process (prefix reuse in
the child), from the ``chat`` call to the first piece here.

Restart: the engine process is killed with SIGKILL mid-reply; the figure is the time
from the kill until the supervisor has a new process with the model loaded again (the
reply ends as crashed), and, for scale, a fresh start-and-load.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app.core.generation import Message, SamplingOptions, StopReason
from app.core.inference.process import EngineProcess, RecipeStore
from app.core.inference.types import LoadOptions
from bench.decode import PROMPT, SAMPLING, q4_model
from bench.decode import _raw_decode as decode_tokens
from tests.support.gguf_factory import test_model_path


def _threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _raw(path: Path) -> Any:
    from app.core.inference.runtime import HearthLlama

    threads = _threads()
    return HearthLlama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=512,
        n_ubatch=512,
        verbose=True,
    )


def _raw_decode(llm: Any, n: int) -> float:
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    return decode_tokens(llm, tokens, n)


def _process_decode(engine: EngineProcess, n: int) -> float:
    sampling = SamplingOptions(
        temperature=SAMPLING.temperature,
        top_p=SAMPLING.top_p,
        top_k=SAMPLING.top_k,
        min_p=SAMPLING.min_p,
        repeat_penalty=SAMPLING.repeat_penalty,
        max_tokens=n,
        seed=SAMPLING.seed,
    )
    reply = engine.complete(PROMPT, sampling, ignore_eos=True)
    first = last = 0.0
    for piece_count, _ in enumerate(reply, start=1):
        last = time.perf_counter()
        if piece_count == 1:
            first = last
    assert reply.stats is not None and reply.stats.completion_tokens == n
    # Tokens after the first one, over the time from the first piece to the last here.
    return (n - 1) / (last - first)


def decode_ratio(path: Path, *, tokens: int, repeats: int) -> dict[str, Any]:
    engine = EngineProcess()
    engine.load(path, LoadOptions(context_length=2048, batch_size=512))
    raw = _raw(path)
    ours, theirs = [], []
    _raw_decode(raw, tokens)
    _process_decode(engine, tokens)  # warm-up
    for repeat in range(repeats):
        if repeat % 2:
            ours.append(_process_decode(engine, tokens))
            theirs.append(_raw_decode(raw, tokens))
        else:
            theirs.append(_raw_decode(raw, tokens))
            ours.append(_process_decode(engine, tokens))
    raw.close()
    engine.close()
    paired = sorted(o / r for o, r in zip(ours, theirs, strict=True))
    return {
        "model": path.name,
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "tokens": tokens,
        "repeats": repeats,
        "raw_tok_s": round(statistics.median(theirs), 1),
        "process_tok_s": round(statistics.median(ours), 1),
        "ratio": round(statistics.median(paired), 3),
        "ratio_range": [round(paired[0], 3), round(paired[-1], 3)],
    }


def ttft_turns(path: Path, *, turns: int = 10) -> dict[str, Any]:
    engine = EngineProcess()
    engine.load(path, LoadOptions(context_length=4096))
    history = [Message("system", "You are a helpful assistant.")]
    sampling = SamplingOptions(temperature=0.7, max_tokens=48, seed=42)
    ttft: list[float] = []
    evaluated: list[int] = []
    for turn in range(1, turns + 1):
        history.append(Message("user", f"Question {turn}: tell me about the sea and the boats."))
        started = time.perf_counter()
        reply = engine.chat(history, sampling, ignore_eos=True)
        first = None
        for _ in reply:
            first = first or time.perf_counter()
        history.append(Message("assistant", reply.text))
        assert reply.stats is not None and first is not None
        ttft.append(first - started)
        evaluated.append(reply.stats.prompt_tokens - reply.stats.cached_tokens)
    engine.close()
    return {
        "model": path.name,
        "turn1_ttft_ms": round(ttft[0] * 1000, 1),
        "turn10_ttft_ms": round(ttft[-1] * 1000, 1),
        "turn10_evaluated_tokens": evaluated[-1],
    }


def restart_time(path: Path, *, repeats: int = 3) -> dict[str, Any]:
    recoveries, fresh = [], []
    for _ in range(repeats):
        # A fresh memory of what worked each time, kept out of the user's cache folder.
        folder = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
        started = time.perf_counter()
        engine = EngineProcess(recipes=RecipeStore(folder / "engine-recipes.json"))
        engine.load(path, LoadOptions(context_length=2048))
        fresh.append(time.perf_counter() - started)
        reply = engine.complete(PROMPT, SamplingOptions(max_tokens=4000), ignore_eos=True)
        killed = 0.0
        for count, _ in enumerate(reply, start=1):
            if count == 5:
                pid = engine.pid
                assert pid is not None
                killed = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
        recovered = time.perf_counter()
        assert reply.stats is not None and reply.stats.stop_reason is StopReason.CRASHED
        assert engine.model is not None
        recoveries.append(recovered - killed)
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "model": path.name,
        "recovery_s": round(statistics.median(recoveries), 2),
        "fresh_start_and_load_s": round(statistics.median(fresh), 2),
    }


def run(*, repeats: int = 15) -> dict[str, Any]:
    stories = test_model_path()
    q4 = q4_model()
    return {
        "decode": [
            decode_ratio(stories, tokens=512, repeats=repeats),
            decode_ratio(q4, tokens=128, repeats=repeats + 6),  # slower pairs wander more
        ],
        "ttft": [ttft_turns(stories), ttft_turns(q4)],
        "restart": [restart_time(stories), restart_time(q4)],
    }


def print_table(results: dict[str, Any]) -> None:
    print("\nDecode through the engine process vs raw in-process llama-cpp-python")
    print(f"{'model':30} {'MB':>6} {'tokens':>6} {'raw tok/s':>10} {'process':>8} {'ratio':>6}")
    for row in results["decode"]:
        low, high = row["ratio_range"]
        print(
            f"{row['model']:30} {row['size_mb']:>6} {row['tokens']:>6} {row['raw_tok_s']:>10} "
            f"{row['process_tok_s']:>8} {row['ratio']:>6}  ({low}-{high})"
        )
    print("\nTime to first token through the process, with prefix reuse")
    for row in results["ttft"]:
        print(
            f"{row['model']:30} turn 1 {row['turn1_ttft_ms']} ms, turn 10 "
            f"{row['turn10_ttft_ms']} ms ({row['turn10_evaluated_tokens']} tokens evaluated)"
        )
    print("\nAfter SIGKILL mid-reply: new process with the model loaded again")
    for row in results["restart"]:
        print(
            f"{row['model']:30} recovery {row['recovery_s']} s "
            f"(a fresh start and load: {row['fresh_start_and_load_s']} s)"
        )


if __name__ == "__main__":
    print_table(run())
