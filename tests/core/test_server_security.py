"""The local server's defences, each tried the way an attacker or a careless client would.

DNS rebinding (a Host the server does not own), cross-origin pages, a bind beyond
loopback without the token or with a wrong one, bodies too large or too slow, too many
connections, a full queue; and a log that keeps no prompt unless asked.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from app.core.generation import SamplingOptions
from app.core.inference import EngineProcess
from app.core.server import LocalServer, ServerConfig, ServerLimits, ServerSetupError
from app.core.settings import Settings
from tests.support.local_server import Served, served, serving, stories_engine, stories_server

__all__ = ["served", "stories_engine", "stories_server"]

pytestmark = pytest.mark.slow

HI = [{"role": "user", "content": "Hi"}]
TOKEN = "hearth-test-token-0123456789abcdefghij"


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


# -- DNS rebinding ---------------------------------------------------------------------------


def test_a_host_the_server_does_not_own_is_refused(served: Served) -> None:
    for host in ("attacker.example", f"attacker.example:{served.port}", "127.0.0.1.nip.io"):
        answer = served.request("GET", "/v1/models", headers={"Host": host})
        assert answer.status == 403, host
        assert answer.json()["error"]["code"] == "host_not_allowed"
        assert "data" not in answer.json()  # nothing of the server's answer leaks
    anthropic_shape = served.request(
        "POST", "/v1/messages", {"model": "stories260K"}, headers={"Host": "attacker.example"}
    )
    assert anthropic_shape.status == 403
    assert anthropic_shape.json()["error"]["type"] == "permission_error"
    for host in (f"localhost:{served.port}", f"127.0.0.1:{served.port}", f"[::1]:{served.port}"):
        assert served.request("GET", "/v1/models", headers={"Host": host}).status == 200, host


def test_it_also_listens_on_ipv6_loopback(served: Served) -> None:
    if not socket.has_ipv6 or len(served.server.urls) < 2:
        pytest.skip("this machine has no IPv6 loopback")
    assert served.server.urls[1] == f"http://[::1]:{served.port}"
    connection = http.client.HTTPConnection("::1", served.port, timeout=30)
    try:
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


# -- browsers ----------------------------------------------------------------------------------


def preflight(served: Served, origin: str) -> Any:
    return served.request(
        "OPTIONS",
        "/v1/chat/completions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_no_origin_is_allowed_until_the_user_lists_one(served: Served) -> None:
    answer = preflight(served, "https://evil.example")
    assert answer.status == 403
    assert cors_headers(answer.headers) == {}
    simple = served.request("GET", "/v1/models", headers={"Origin": "https://evil.example"})
    assert simple.status == 403 and cors_headers(simple.headers) == {}
    assert simple.json()["error"]["code"] == "origin_not_allowed"
    # A program (no Origin) gets no CORS headers either.
    plain = served.request("GET", "/v1/models")
    assert plain.status == 200 and cors_headers(plain.headers) == {}


def test_a_listed_origin_gets_its_own_name_back_never_a_wildcard(served: Served) -> None:
    served.set(server_allowed_origins="http://localhost:3000")  # read at the next request
    answer = preflight(served, "http://localhost:3000")
    assert answer.status == 204
    headers = cors_headers(answer.headers)
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in headers
    real = served.request("GET", "/v1/models", headers={"Origin": "http://localhost:3000"})
    assert real.status == 200
    assert real.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert real.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in real.headers
    other = preflight(served, "http://localhost:3001")
    assert other.status == 403 and cors_headers(other.headers) == {}
    served.set(server_allowed_origins="")
    assert preflight(served, "http://localhost:3000").status == 403  # taken back at once


# -- beyond loopback: the token --------------------------------------------------------------


@pytest.fixture(scope="module")
def open_server(stories_engine: EngineProcess) -> Iterator[Served]:
    """Listening on every address (reached here only through 127.0.0.1), with a token."""
    with serving(stories_engine, host="0.0.0.0", token=TOKEN) as server:
        yield server


def test_beyond_loopback_no_token_or_a_wrong_one_is_401(open_server: Served) -> None:
    missing = open_server.request("GET", "/v1/models")
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "requires its token" in missing.json()["error"]["message"]
    assert open_server.request("GET", "/health").status == 401
    wrong = open_server.request(
        "GET", "/v1/models", headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"}
    )
    assert wrong.status == 401 and "wrong token" in wrong.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError):
        open_server.openai(api_key="sk-not-the-token").models.list()
    with pytest.raises(anthropic.AuthenticationError) as caught:
        open_server.anthropic(api_key="sk-not-the-token").messages.create(
            model="stories260K", max_tokens=4, messages=HI
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "authentication_error"
    assert TOKEN not in missing.body.decode() + wrong.body.decode()


def test_beyond_loopback_the_token_lets_both_sdks_in(open_server: Served) -> None:
    client = open_server.openai(api_key=TOKEN)
    assert [m.id for m in client.models.list()] == ["stories260K"]
    reply = client.completions.create(model="stories260K", prompt="Once", max_tokens=4)
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    message = open_server.anthropic(api_key=TOKEN).messages.create(  # sent as x-api-key
        model="stories260K", max_tokens=4, messages=HI
    )
    assert message.usage.output_tokens == 4
    rebound = open_server.request(
        "GET", "/v1/models", headers={"Authorization": f"Bearer {TOKEN}", "Host": "evil.example"}
    )
    assert rebound.status == 403  # the token does not excuse a foreign Host


def test_a_server_beyond_loopback_without_a_token_never_starts(
    stories_engine: EngineProcess,
) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        with pytest.raises(ServerSetupError, match=r"will not listen on .* without a token"):
            LocalServer(stories_engine, config=ServerConfig(host=host, port=0), settings=Settings)


# -- limits --------------------------------------------------------------------------------


@contextlib.contextmanager
def limited(engine: EngineProcess, **limits: Any) -> Iterator[Served]:
    with serving(engine, limits=ServerLimits(**limits)) as server:
        yield server


def test_an_oversized_body_is_413_declared_or_streamed(stories_engine: EngineProcess) -> None:
    with limited(stories_engine, max_body_bytes=10_000) as server:
        big = {"model": "stories260K", "messages": [{"role": "user", "content": "x" * 20_000}]}
        declared = server.request("POST", "/v1/chat/completions", big)
        assert declared.status == 413
        assert declared.json()["error"]["code"] == "request_too_large"
        assert server.request("POST", "/v1/messages", big).json()["error"]["type"] == (
            "request_too_large"
        )
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:  # no Content-Length: counted as it arrives
            connection.request(
                "POST",
                "/v1/chat/completions",
                body=iter([b'{"messages": "' + b"x" * 4000] * 5 + [b'"}']),
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
            answer = connection.getresponse()
            assert answer.status == 413
        finally:
            connection.close()
        small = server.openai().completions.create(model="stories260K", prompt="Once", max_tokens=2)
        assert small.choices


def test_too_many_messages_is_a_400(stories_engine: EngineProcess) -> None:
    with limited(stories_engine, max_messages=3) as server:
        many = [{"role": "user", "content": "Hi"}] * 4
        with pytest.raises(openai.BadRequestError, match="at most 3 messages"):
            server.openai().chat.completions.create(model="stories260K", messages=many)


def test_a_client_slow_to_send_its_headers_is_cut_off(stories_engine: EngineProcess) -> None:
    with limited(stories_engine, header_seconds=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as silent:
            assert silent.recv(1024) == b""
        assert server.request("GET", "/health").status == 200  # others are served


def test_a_body_that_does_not_arrive_in_time_is_408(stories_engine: EngineProcess) -> None:
    with limited(stories_engine, body_seconds=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model"'
            )
            answer = b""
            while b"seconds" not in answer and (chunk := slow.recv(4096)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"did not arrive within 0.5 seconds" in answer


def test_connections_beyond_the_limit_are_answered_busy(stories_engine: EngineProcess) -> None:
    with limited(stories_engine, max_connections=2) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
        try:
            time.sleep(0.2)  # both accepted
            assert server.request("GET", "/health").status == 503
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + 10
        while server.request("GET", "/health").status != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_a_full_queue_is_503_with_retry_after_and_the_waiting_one_is_served(
    served: Served,
) -> None:
    served.set(server_queue=0)  # one request on the model, none waiting
    client = served.openai()
    # The desktop app's own reply holds the model; the server's first request waits for it.
    app_reply = served.engine.complete(
        "Once upon a time", SamplingOptions(temperature=0, max_tokens=4000), ignore_eos=True
    )
    pieces = iter(app_reply)
    next(pieces)
    results: dict[str, str] = {}
    waiting = threading.Thread(
        target=lambda: results.update(
            text=client.completions.create(
                model="stories260K", prompt="Once upon a time", temperature=0, max_tokens=8
            )
            .choices[0]
            .text
        )
    )
    waiting.start()
    try:
        deadline = time.monotonic() + 30
        while served.server.activity.waiting < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(openai.InternalServerError) as caught:
            client.completions.create(model="stories260K", prompt="Once", max_tokens=4)
        assert caught.value.status_code == 503
        assert int(caught.value.response.headers["retry-after"]) >= 1
        body = caught.value.body
        assert isinstance(body, dict) and body["code"] == "queue_full"
        anthropic_busy = served.request(
            "POST", "/v1/messages", {"model": "stories260K", "max_tokens": 4, "messages": HI}
        )
        assert anthropic_busy.status == 503
        assert anthropic_busy.json()["error"]["type"] == "overloaded_error"
        assert not results  # still waiting behind the app's reply
    finally:
        pieces.close()  # the app stops its reply; the waiting request goes on
        waiting.join(timeout=60)
    assert results["text"].startswith(", there was")


# -- the log ---------------------------------------------------------------------------------


def _server_lines(caplog: pytest.LogCaptureFixture, wanted: str) -> list[str]:
    """The server's log lines, once one starting with `wanted` is there.

    The request line is written when the response has gone out, so the client can hold the
    whole reply a moment before the server's thread writes it.
    """
    deadline = time.monotonic() + 10
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("app.core.server")]
        if any(line.startswith(wanted) for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_the_log_has_the_request_line_and_no_text_unless_asked(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    client = served.openai()
    prompt = [{"role": "user", "content": "The purple elephant said"}]
    request_line = "POST /v1/chat/completions 200 "
    with caplog.at_level(logging.INFO, logger="app.core.server"):
        reply = client.chat.completions.create(  # greedy: a reply of words, never "." alone
            model="stories260K", messages=prompt, max_tokens=8, temperature=0
        )
        lines = _server_lines(caplog, request_line)
    text = reply.choices[0].message.content or ""
    assert text.strip()
    assert any(line.startswith(request_line) for line in lines), lines
    assert "purple elephant" not in caplog.text and text.strip() not in caplog.text
    caplog.clear()
    served.set(server_log_bodies=True)
    with caplog.at_level(logging.INFO, logger="app.core.server"):
        again = client.chat.completions.create(
            model="stories260K", messages=prompt, max_tokens=8, temperature=0
        )
        _server_lines(caplog, request_line)
    assert "purple elephant" in caplog.text
    assert (again.choices[0].message.content or "").strip() in caplog.text
