"""`hearth serve` against llama-cpp-python's own server, and against the raw library.

Three ways to the same model file with the same context, threads and sampling, in the
same run, alternately:

- raw: ``Llama.generate`` in this process (tokens only, the library's tightest loop);
- hearth: ``hearth serve`` (a subprocess, its engine in a child of that), streaming
  ``/v1/completions`` through the ``openai`` SDK;
- llama_cpp.server: ``python -m llama_cpp.server`` (its ``server`` extra), the same
  request through the same SDK.

Tokens per second count from the first streamed piece to the last, at the client (the
pipe, the batching, HTTP and the SDK's parsing are inside the figure); the ratio is the
median of back-to-back pairs. Time to first token is from the request to the first
piece, with the prompt cached by both servers as a chat's next turn would be. Then 8
clients at once, each streaming the same request: all tokens over the wall time.

Models: stories260K (where per-token overhead shows most) and the ~110 MB Q4_K_M
random-weight llama that bench.decode builds (16 layers x 1024 wide).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.decode import PROMPT, SAMPLING, q4_model
from bench.decode import _raw_decode as decode_tokens
from tests.support.gguf_factory import test_model_path

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = 2048


def _threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """A server subprocess on a free port; ``name`` is the model name it answers to."""

    def __init__(self, command: list[str], port: int, name: str, home: Path) -> None:
        self.port = port
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HEARTH_HOME": str(home)}
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait()

    def _wait(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/models", timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def client(self) -> Any:
        import openai

        return openai.OpenAI(
            base_url=f"http://127.0.0.1:{self.port}/v1", api_key="bench", max_retries=0, timeout=600
        )

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def hearth(path: Path, home: Path) -> _Server:
    port = _free_port()
    command = [sys.executable, "-m", "app", "serve", "--model", str(path), "--port", str(port)]
    command += ["--context", str(CONTEXT), "--threads", str(_threads())]
    return _Server(command, port, path.stem, home)


def llama_cpp_server(path: Path, home: Path) -> _Server:
    port = _free_port()
    threads = str(_threads())
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(path)]
    command += ["--port", str(port), "--n_ctx", str(CONTEXT), "--n_batch", "512"]
    command += ["--n_threads", threads, "--n_threads_batch", threads, "--verbose", "False"]
    # Its default ends a stream as soon as another request arrives; off, 8 clients each
    # get their whole reply, as from Hearth.
    command += ["--interrupt_requests", "False"]
    return _Server(command, port, str(path), home)


def _request(server: _Server, tokens: int) -> dict[str, Any]:
    return {
        "model": server.name,
        "prompt": PROMPT,
        "max_tokens": tokens,
        "temperature": SAMPLING.temperature,
        "top_p": SAMPLING.top_p,
        "seed": SAMPLING.seed,
        "stream": True,
        "stream_options": {"include_usage": True},  # Hearth's sends usage; the other ignores it
        "extra_body": {
            "top_k": SAMPLING.top_k,
            "min_p": SAMPLING.min_p,
            "repeat_penalty": SAMPLING.repeat_penalty,
        },
    }


def stream_once(server: _Server, tokens: int) -> tuple[float, float, int]:
    """One streamed completion: (tokens per second, time to first token, tokens).

    Tokens are the usage figure where the server sends it (Hearth sends the pieces of
    each batch as one event, its first piece alone); llama_cpp.server sends no usage but
    one event per token (an empty one for a token that is only part of a character).
    """
    client = server.client()
    started = time.perf_counter()
    first = last = 0.0
    events = per_token = 0
    used: int | None = None
    for chunk in client.completions.create(**_request(server, tokens)):
        if chunk.usage is not None:
            used = chunk.usage.completion_tokens
        if not chunk.choices:
            continue
        if chunk.choices[0].finish_reason is None:
            per_token += 1
        if chunk.choices[0].text:
            last = time.perf_counter()
            first = first or last
            events += 1
    count = used if used is not None else per_token
    if events < 2 or last <= first:
        raise RuntimeError(f"the stream ended after {events} events")
    return (count - 1) / (last - first), first - started, count


def _raw(path: Path) -> Any:
    from app.core.inference.runtime import HearthLlama

    threads = _threads()
    return HearthLlama(
        model_path=str(path),
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=512,
        n_ubatch=512,
        verbose=True,
    )


def compare(path: Path, *, tokens: int, repeats: int, home: Path) -> dict[str, Any]:
    ours, theirs = hearth(path, home), llama_cpp_server(path, home)
    raw = _raw(path)
    prompt = raw.tokenize(PROMPT.encode(), add_bos=True, special=False)
    rates: dict[str, list[float]] = {"raw": [], "hearth": [], "llama_cpp": []}
    ttft: dict[str, list[float]] = {"hearth": [], "llama_cpp": []}
    pieces: dict[str, int] = {}
    try:
        stream_once(ours, tokens)  # warm-up: loads pages, fills the prompt cache
        stream_once(theirs, tokens)
        decode_tokens(raw, prompt, tokens)
        for repeat in range(repeats):
            order = ["raw", "hearth", "llama_cpp"]
            if repeat % 2:
                order.reverse()
            for name in order:
                if name == "raw":
                    rates["raw"].append(decode_tokens(raw, prompt, tokens))
                    continue
                rate, first, count = stream_once(ours if name == "hearth" else theirs, tokens)
                rates[name].append(rate)
                ttft[name].append(first)
                pieces[name] = count
        concurrent = {
            "hearth": concurrent_throughput(ours, tokens),
            "llama_cpp": concurrent_throughput(theirs, tokens),
        }
    finally:
        ours.close()
        theirs.close()
        raw.close()

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    return {
        "model": path.name,
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "tokens": tokens,
        "repeats": repeats,
        "reply_tokens": pieces,
        "tok_s": {name: round(statistics.median(values), 1) for name, values in rates.items()},
        "ttft_ms": {name: round(statistics.median(v) * 1000, 1) for name, v in ttft.items()},
        "hearth_vs_llama_cpp_server": round(paired("hearth", "llama_cpp"), 3),
        "ttft_llama_cpp_over_hearth": round(
            statistics.median(ttft["llama_cpp"]) / statistics.median(ttft["hearth"]), 3
        ),
        "hearth_vs_raw": round(paired("hearth", "raw"), 3),
        "llama_cpp_server_vs_raw": round(paired("llama_cpp", "raw"), 3),
        "concurrent_8": concurrent,
    }


def concurrent_throughput(server: _Server, tokens: int, clients: int = 8) -> dict[str, Any]:
    """``clients`` streaming at once: every piece over the wall time (and who got a reply)."""
    results: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            _rate, _first, count = stream_once(server, tokens)
        except Exception as error:  # counted, not raised: the figure says how many failed
            with lock:
                failures.append(f"{type(error).__name__}: {error}")
            return
        with lock:
            results.append(count)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    total = sum(results)
    return {
        "clients": clients,
        "completed": len(results),
        "fewest_tokens": min(results, default=0),
        "failures": failures[:3],
        "tokens": total,
        "wall_s": round(wall, 2),
        "tok_s": round(total / wall, 1),
    }


def run(*, repeats: int = 7) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hearth-bench-server-") as folder:
        home = Path(folder)
        return {
            "compare": [
                compare(test_model_path(), tokens=256, repeats=repeats, home=home),
                compare(q4_model(), tokens=128, repeats=repeats, home=home),
            ]
        }


def print_table(results: dict[str, Any]) -> None:
    print("\nStreaming /v1/completions through the openai SDK (median tokens/s, first token)")
    head = f"{'model':30} {'raw':>7} {'hearth':>7} {'l.c.server':>10} {'ours/theirs':>11}"
    print(head + f" {'ours/raw':>8} {'TTFT hearth':>11} {'TTFT l.c.s':>10}")
    for row in results["compare"]:
        rate, ttft = row["tok_s"], row["ttft_ms"]
        print(
            f"{row['model']:30} {rate['raw']:>7} {rate['hearth']:>7} {rate['llama_cpp']:>10} "
            f"{row['hearth_vs_llama_cpp_server']:>11} {row['hearth_vs_raw']:>8} "
            f"{ttft['hearth']:>9} ms {ttft['llama_cpp']:>7} ms"
        )
    print("\n8 clients streaming at once (all tokens over the wall time)")
    for row in results["compare"]:
        ours, theirs = row["concurrent_8"]["hearth"], row["concurrent_8"]["llama_cpp"]
        print(
            f"{row['model']:30} hearth {ours['tok_s']} tok/s ({ours['completed']}/8 done, "
            f"{ours['wall_s']} s), llama_cpp.server {theirs['tok_s']} tok/s "
            f"({theirs['completed']}/8 done, {theirs['wall_s']} s)"
        )


if __name__ == "__main__":
    print_table(run())
