"""The server under load: clients at once, clients that leave, and the app beside them.

One engine serves everything in turn; nothing interleaves inside its one context, and a
client that goes away gives the engine back at once.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.generation import Message, SamplingOptions, StopReason
from app.core.inference import EngineProcess
from tests.support.local_server import (
    Served,
    engine_for,
    greedy,
    served,
    serving,
    stories_engine,
    stories_server,
)

__all__ = ["served", "stories_engine", "stories_server"]

pytestmark = pytest.mark.slow

NAMES = ("Lily", "Tom", "Sue", "Ben", "Max", "Amy", "Sam", "Zoe")


def stream_story(served: Served, name: str, tokens: int) -> tuple[str, float, float]:
    """A streamed greedy completion: its text, and when its first and last pieces came."""
    chunks = served.openai(timeout=120).completions.create(
        model="stories260K",
        prompt=f"Once upon a time, {name}",
        temperature=0,
        max_tokens=tokens,
        stream=True,
    )
    parts: list[str] = []
    first = last = 0.0
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].text:
            last = time.monotonic()
            first = first or last
            parts.append(chunk.choices[0].text)
    return "".join(parts), first, last


def test_eight_streaming_clients_at_once_are_served_whole_in_turn(served: Served) -> None:
    tokens = 64
    alone = {name: stream_story(served, name, tokens)[0] for name in NAMES}
    assert len(set(alone.values())) == len(NAMES)  # eight different replies
    results: dict[str, tuple[str, float, float]] = {}
    started: list[str] = []

    def client(name: str) -> None:
        results[name] = stream_story(served, name, tokens)

    def admitted() -> int:
        activity = served.server.activity
        return activity.running + activity.waiting + activity.served

    threads = []
    before = admitted()
    for name in NAMES:  # one after another, so the order they asked in is known
        thread = threading.Thread(target=client, args=(name,))
        started.append(name)
        thread.start()
        threads.append(thread)
        # The next asks once the server has this one in its queue (a client thread's
        # start can take longer than any fixed pause on a busy machine).
        deadline = time.monotonic() + 30
        while admitted() - before < len(started) and time.monotonic() < deadline:
            time.sleep(0.005)
    for thread in threads:
        thread.join(timeout=300)
    assert {name: text for name, (text, _, _) in results.items()} == alone
    served_order = sorted(NAMES, key=lambda name: results[name][1])
    assert served_order == started  # first come, first served
    for before, after in itertools.pairwise(served_order):
        # One reply at a time: the next one's first piece comes after this one's last
        # (give or take a client thread's wait for a core on a busy machine).
        assert results[after][1] >= results[before][2] - 0.1
    assert served.server.activity.running == 0 and served.server.activity.waiting == 0


@pytest.fixture(scope="module")
def slow_server(
    slow_chatml_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with (
        engine_for(slow_chatml_model, tmp_path_factory.mktemp("slow-home")) as engine,
        serving(engine) as server,
    ):
        yield server


LONG = 3000


def test_a_client_that_leaves_mid_stream_frees_the_engine_at_once(slow_server: Served) -> None:
    client = slow_server.openai(timeout=120)
    sent = time.monotonic()
    stream = client.chat.completions.create(
        model="chatml-wide",
        messages=[{"role": "user", "content": "Tell me everything."}],
        temperature=0,
        max_tokens=LONG,
        stream=True,
    )
    received = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
            if received == 5:
                break
    stream.close()  # the connection goes away mid-reply
    left = time.monotonic()
    follow = client.chat.completions.create(
        model="chatml-wide",
        messages=[{"role": "user", "content": "Hi"}],
        temperature=0,
        max_tokens=1,
    )
    waited = time.monotonic() - left
    assert follow.usage is not None and follow.usage.completion_tokens == 1
    stopped = slow_server.server.backend.finished[-2]
    assert stopped.stop_reason is StopReason.USER
    assert stopped.tokens_per_second is not None
    assert stopped.completion_tokens < LONG / 4
    # The engine's reply began after the request was sent and ended within one token of
    # the client leaving (give or take the stop's way to it, a pipe and two threads).
    one_token = 1 / stopped.tokens_per_second
    assert stopped.elapsed <= (left - sent) + one_token + 0.25, (left - sent, stopped)
    # The whole reply would have taken LONG / rate seconds; the next one did not wait for it.
    assert waited < min(LONG / stopped.tokens_per_second / 4, 10), waited


def test_a_client_that_leaves_while_waiting_is_never_run_on(served: Served) -> None:
    app_reply = served.engine.complete(
        "Once upon a time", SamplingOptions(temperature=0, max_tokens=4000), ignore_eos=True
    )
    pieces = iter(app_reply)
    next(pieces)  # the desktop app is replying
    body = json.dumps(
        {"model": "stories260K", "prompt": "Once", "max_tokens": 4000, "stream": True}
    ).encode()
    request = (
        b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    finished = len(served.server.backend.finished)
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as impatient:
        impatient.sendall(request)
        deadline = time.monotonic() + 30
        while served.server.activity.waiting < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    # It gave up while waiting behind the app's reply; the app finishes.
    pieces.close()
    deadline = time.monotonic() + 30
    while len(served.server.backend.finished) == finished:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    gone = served.server.backend.finished[-1]
    assert gone.stop_reason is StopReason.USER
    # Stopped as soon as its turn came: the few tokens written while the stop crossed the
    # pipe, not the 4,000 it asked for.
    assert gone.elapsed < 0.25 and gone.completion_tokens < 200, gone
    answer = served.openai().completions.create(model="stories260K", prompt="Once", max_tokens=3)
    assert answer.usage is not None and answer.usage.completion_tokens == 3


def test_the_app_keeps_chatting_while_the_server_is_busy(served: Served) -> None:
    question = [Message("user", "Tell me a story.")]
    app_alone = served.engine.chat(question, greedy(40)).read()
    server_alone = stream_story(served, "Lily", 200)[0]
    results: dict[str, str] = {}
    thread = threading.Thread(
        target=lambda: results.update(server=stream_story(served, "Lily", 200)[0])
    )
    thread.start()
    deadline = time.monotonic() + 30
    while served.server.activity.running < 1:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    finished = len(served.server.backend.finished)
    reply = served.engine.chat(question, greedy(40))  # the app's turn: waits in the same queue
    results["app"] = reply.read()
    thread.join(timeout=120)
    assert results == {"server": server_alone, "app": app_alone}  # nothing interleaved
    # The server's reply, which held the model when the app asked, ran to its end.
    assert len(served.server.backend.finished) == finished + 1
    assert served.server.backend.finished[-1].completion_tokens == 200


def test_the_activity_line_counts_running_and_waiting(stories_engine: EngineProcess) -> None:
    seen: list[tuple[int, int]] = []
    from app.core.server import LocalServer, ServerConfig
    from app.core.settings import Settings

    server = LocalServer(
        stories_engine,
        config=ServerConfig(port=0),
        settings=Settings,
        on_activity=lambda a: seen.append((a.running, a.waiting)),
    )
    server.start()
    try:
        import openai

        client = openai.OpenAI(base_url=f"{server.urls[0]}/v1", api_key="x", max_retries=0)
        threads = [
            threading.Thread(
                target=client.completions.create,
                kwargs={"model": "stories260K", "prompt": "Once", "max_tokens": 100},
            )
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()
    assert (1, 0) in seen and max(waiting for _, waiting in seen) >= 1
    assert seen[-1] == (0, 0) and server.activity.served == 3
