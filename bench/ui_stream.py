"""Does a long reply stay smooth in the window?

The real window (offscreen) streams a 2,000-token reply from a real model on the real
inference thread. Meanwhile a 5 ms heartbeat timer on the GUI thread records every
gap in the event loop: the longest gap, less the timer's own 5 ms, is the worst stall
a user could notice (goal: under 50 ms). Every piece's GUI-side work (saving it to
the history, queueing it for the view) and every repaint (appending to the
document) is timed, so the GUI cost per token is compared between the first and the
last 400 tokens (goal: the same within 20%: the cost must not grow with the reply).
"Start" is tokens 400-800: before that the reply does not fill the view yet and no
scrolling happens, which is cheaper; that figure is reported too.

The model is a random-weight llama (4 layers x 512 wide) built under ``bench/out/``;
greedy decoding never ends it early.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOKENS = 2000
EDGE = 400
HEARTBEAT_MS = 5


def _model() -> Path:
    from tests.support.gguf_factory import CHATML_TEMPLATE, ModelShape, write_llama_gguf

    out = Path(__file__).resolve().parent / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "ui-stream-4x512.gguf"
    if not path.exists():
        shape = ModelShape(n_layer=4, n_embd=512, n_head=8, n_head_kv=4, n_ff=1024)
        write_llama_gguf(path, shape=shape, chat_template=CHATML_TEMPLATE, chatml_tokens=True)
    return path


def run() -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="hearth-bench-ui-")
    os.environ["HEARTH_HOME"] = home
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.chat import conversation
    from app.ui import message_view
    from app.ui.application import Session

    app = QApplication.instance() or QApplication(sys.argv[:1])
    piece_costs: list[tuple[int, float]] = []  # (token index, seconds)
    flush_costs: list[tuple[int, float, int]] = []  # (last token index, seconds, tokens)
    counter = {"tokens": 0, "pending": 0}

    # Patch plain-Python and timer-driven methods only: replacing a slot connected to a
    # cross-thread signal would change which thread runs it.
    original_piece = conversation.LiveReply.append
    original_flush = message_view.MessageView.flush

    def timed_piece(self: Any, text: str) -> None:
        started = time.perf_counter()
        original_piece(self, text)
        piece_costs.append((counter["tokens"], time.perf_counter() - started))
        counter["tokens"] += 1
        counter["pending"] += 1

    def timed_flush(self: Any) -> None:
        started = time.perf_counter()
        original_flush(self)
        if counter["pending"]:
            flush_costs.append(
                (counter["tokens"], time.perf_counter() - started, counter["pending"])
            )
            counter["pending"] = 0

    conversation.LiveReply.append = timed_piece  # type: ignore[method-assign]
    message_view.MessageView.flush = timed_flush  # type: ignore[method-assign]
    session = Session()
    try:
        window = session.build_window()
        window.show()
        loaded: list[object] = []
        window.worker.loaded.connect(loaded.append)
        window.load_model(str(_model()))
        while not loaded:
            app.processEvents()
            time.sleep(0.01)
        app.processEvents()
        window.settings = window.settings.with_value("max_tokens", TOKENS).with_value(
            "temperature", 0.0
        )
        gaps: list[float] = []
        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(beat)
        done: list[object] = []
        window.chat.reply_done.connect(done.append)
        window.chat_page.composer.setPlainText("Write a long story.")
        started = time.perf_counter()
        window.chat_page._submit()
        last[0] = time.perf_counter()
        heartbeat.start()
        while not done:
            app.processEvents()
            time.sleep(0.0005)
        heartbeat.stop()
        elapsed = time.perf_counter() - started
        window.close()
    finally:
        conversation.LiveReply.append = original_piece  # type: ignore[method-assign]
        message_view.MessageView.flush = original_flush  # type: ignore[method-assign]
        session.close()

    def split(lo: int, hi: int) -> tuple[float, float]:
        pieces = sum(cost for index, cost in piece_costs if lo <= index < hi)
        paints = sum(cost for index, cost, _n in flush_costs if lo < index <= hi)
        return pieces / (hi - lo), paints / (hi - lo)

    def per_token(lo: int, hi: int) -> float:
        return sum(split(lo, hi))

    tokens = counter["tokens"]
    first = per_token(0, EDGE)  # the chat view is not full yet: no scrolling
    start = per_token(EDGE, 2 * EDGE)  # the view is full and follows the reply
    end = per_token(tokens - EDGE, tokens)
    stall = max(gaps) * 1000 - HEARTBEAT_MS if gaps else 0.0
    result = {
        "tokens": tokens,
        "seconds": round(elapsed, 2),
        "repaints": len(flush_costs),
        "longest_stall_ms": round(stall, 1),
        "median_gap_ms": round(statistics.median(gaps) * 1000, 2) if gaps else None,
        "gui_us_per_token_0_400": round(first * 1e6, 1),
        "gui_us_per_token_400_800": round(start * 1e6, 1),
        "gui_us_per_token_last_400": round(end * 1e6, 1),
        "end_over_start": round(end / start, 3) if start else None,
        "saving_us_per_token_start_end": [
            round(split(EDGE, 2 * EDGE)[0] * 1e6, 1),
            round(split(tokens - EDGE, tokens)[0] * 1e6, 1),
        ],
        "painting_us_per_token_start_end": [
            round(split(EDGE, 2 * EDGE)[1] * 1e6, 1),
            round(split(tokens - EDGE, tokens)[1] * 1e6, 1),
        ],
    }
    print(
        f"\nStreaming {tokens} tokens into the window ({elapsed:.1f} s, "
        f"{len(flush_costs)} repaints)"
    )
    print(f"  longest GUI stall: {result['longest_stall_ms']} ms (goal < 50 ms)")
    print(
        f"  GUI time per token: tokens 0-{EDGE} {result['gui_us_per_token_0_400']} µs "
        f"(view not full yet), {EDGE}-{2 * EDGE} {result['gui_us_per_token_400_800']} µs, "
        f"last {EDGE} {result['gui_us_per_token_last_400']} µs "
        f"(end/start {result['end_over_start']}, goal within 20%)"
    )
    return result


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    run()
