"""The Claude client, through the real anthropic SDK against the loopback Messages API."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from app.core.chat.history import HistoryStore
from app.core.cloud.claude import (
    ClaudeClient,
    ClaudeDisabledError,
    CloudError,
    InvalidKeyError,
    MissingKeyError,
    NoNetworkError,
    NothingToSendError,
    OfflineError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    StreamInterruptedError,
    prepare_request,
)
from app.core.inference.engine import Message, StopReason
from app.core.settings import Settings
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server

__all__ = ["claude_server"]

MODEL = "claude-haiku-4-5"
HELLO = [Message("user", "Hello?")]


def client_for(server: ClaudeServer, *, key: str = TEST_KEY, **options: float) -> ClaudeClient:
    return ClaudeClient(
        api_key=key,
        model=MODEL,
        base_url=server.base_url,
        timeout=float(options.get("timeout", 5.0)),
        max_retries=int(options.get("max_retries", 0)),
    )


def test_streams_the_reply_and_reports_usage(claude_server: ClaudeServer) -> None:
    request = prepare_request(HELLO, model=MODEL, system="Be brief.", max_tokens=50)
    reply = client_for(claude_server).chat(request)
    assert claude_server.requests == []  # nothing leaves before the reply is read
    pieces = list(reply)
    assert pieces == ["Hello", " from", " Claude", "."]
    assert reply.text == "Hello from Claude."
    stats = reply.stats
    assert stats is not None
    assert (stats.input_tokens, stats.output_tokens) == (25, 4)
    assert (stats.prompt_tokens, stats.completion_tokens) == (25, 4)
    assert stats.stop_reason is StopReason.END_OF_TEXT
    assert stats.api_stop_reason == "end_turn"
    assert not stats.incomplete
    assert stats.time_to_first_token is not None
    (sent,) = claude_server.requests
    assert sent.path == "/v1/messages"
    assert sent.body == {**request.payload(), "stream": True}
    assert sent.body["system"] == "Be brief."


def test_max_tokens_reached_is_a_length_stop(claude_server: ClaudeServer) -> None:
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL, max_tokens=2))
    assert reply.read() == "Hello from"
    assert reply.stats is not None
    assert reply.stats.stop_reason is StopReason.LENGTH
    assert reply.stats.api_stop_reason == "max_tokens"


def test_temperature_and_max_tokens_map_to_the_api(claude_server: ClaudeServer) -> None:
    request = prepare_request(
        HELLO, model="claude-sonnet-4-6", system="S", temperature=1.7, max_tokens=500_000
    )
    client_for(claude_server).chat(request).read()
    body = claude_server.requests[0].body
    assert body["temperature"] == 1.0  # Hearth allows up to 5; the API up to 1
    assert body["max_tokens"] == 64_000  # the model's output limit
    assert "top_p" not in body and "top_k" not in body  # refused together with temperature
    cool = prepare_request(HELLO, model=MODEL, temperature=0.3)
    assert cool.payload()["temperature"] == 0.3


def test_mixed_local_and_claude_history_becomes_alternating_turns() -> None:
    history = [
        Message("system", "You are terse."),
        Message("assistant", "Hi! I am the local model."),  # greeting before any user turn
        Message("user", "First question"),
        Message("user", "Second question (the first reply failed)"),
        Message("assistant", ""),  # an empty, interrupted local reply
        Message("assistant", "Claude's answer"),
        Message("user", "   "),
        Message("assistant", "A local answer"),
        Message("user", "Last question"),
    ]
    request = prepare_request(history, model=MODEL, system="Settings prompt")
    roles = [m.role for m in request.messages]
    assert roles == ["user", "assistant", "user"]
    assert (
        request.messages[0].content == "First question\n\nSecond question (the first reply failed)"
    )
    assert request.messages[1].content == "Claude's answer\n\nA local answer"
    assert request.system == "Settings prompt\n\nYou are terse."
    assert request.dropped_turns == 3
    with pytest.raises(NothingToSendError):
        prepare_request([Message("assistant", "only a reply")], model=MODEL)
    with pytest.raises(NothingToSendError):
        prepare_request([*HELLO, Message("assistant", "answered")], model=MODEL)


ERRORS = [
    (401, InvalidKeyError, "did not accept the API key"),
    (403, PermissionDeniedError, "permission"),
    (429, RateLimitedError, "Try again in 7 s"),
    (529, OverloadedError, "overloaded"),
    (500, ServerError, "server failed (500)"),
]


@pytest.mark.parametrize(("status", "kind", "words"), ERRORS)
def test_each_api_error_is_a_typed_error_without_the_key(
    claude_server: ClaudeServer, status: int, kind: type[CloudError], words: str
) -> None:
    claude_server.fail = [status]
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL))
    with pytest.raises(kind) as caught:
        reply.read()
    error = caught.value
    assert words in str(error)
    assert error.hint
    for text in (str(error), repr(error), error.describe(), repr(reply.error)):
        assert TEST_KEY not in text
    assert error.__cause__ is None and error.__context__ is None
    assert reply.text == ""
    assert reply.stats is not None and reply.stats.incomplete
    assert reply.history_fields()["status"] == "error"
    if status == 429:
        assert isinstance(error, RateLimitedError) and error.retry_after == 7.0


def test_a_wrong_key_is_reported_not_echoed(claude_server: ClaudeServer) -> None:
    wrong = "sk-ant-api03-WRONG-KEY-THAT-MUST-NOT-LEAK-000000000000"
    with pytest.raises(InvalidKeyError) as caught:
        client_for(claude_server, key=wrong).test_key()
    assert wrong not in caught.value.describe()
    assert "401" in str(caught.value)


def test_no_answer_in_time_is_a_timeout(claude_server: ClaudeServer) -> None:
    claude_server.delay = 3.0
    start = time.monotonic()
    with pytest.raises(RequestTimeoutError, match=r"within 1 s"):
        client_for(claude_server, timeout=1.0).chat(prepare_request(HELLO, model=MODEL)).read()
    assert time.monotonic() - start < 2.5


def test_connection_refused_is_no_network() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ClaudeClient(
        api_key=TEST_KEY, model=MODEL, base_url=f"http://127.0.0.1:{port}", max_retries=0
    )
    with pytest.raises(NoNetworkError, match=r"could not reach 127\.0\.0\.1") as caught:
        client.chat(prepare_request(HELLO, model=MODEL)).read()
    assert TEST_KEY not in caught.value.describe()


def test_a_cut_stream_keeps_what_arrived_marked_incomplete(claude_server: ClaudeServer) -> None:
    claude_server.cut_after = 2
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL))
    received: list[str] = []
    with pytest.raises(StreamInterruptedError, match="cut off after 10 characters"):
        for piece in reply:
            received.append(piece)
    assert received == ["Hello", " from"]
    assert reply.text == "Hello from"
    assert reply.stats is not None and reply.stats.incomplete
    assert reply.stats.stop_reason is None
    fields = reply.history_fields()
    assert fields["status"] == "error" and "cut off" in fields["error"]


def test_an_error_event_mid_stream_keeps_the_text(claude_server: ClaudeServer) -> None:
    claude_server.error_event_after = 3
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL))
    with pytest.raises(OverloadedError, match="kept, marked incomplete"):
        reply.read()
    assert reply.text == "Hello from Claude"
    assert reply.stats is not None and reply.stats.incomplete


def test_a_stalled_stream_times_out_and_keeps_the_text(claude_server: ClaudeServer) -> None:
    claude_server.stall_after, claude_server.delay = 1, 3.0
    reply = client_for(claude_server, timeout=1.0).chat(prepare_request(HELLO, model=MODEL))
    with pytest.raises(StreamInterruptedError, match="stopped sending"):
        reply.read()
    assert reply.text == "Hello"


def test_stop_from_another_thread_ends_a_stalled_reply(claude_server: ClaudeServer) -> None:
    claude_server.stall_after, claude_server.delay = 1, 5.0
    client = client_for(claude_server, timeout=10.0)
    reply = client.chat(prepare_request(HELLO, model=MODEL))
    threading.Timer(0.3, client.stop).start()
    start = time.monotonic()
    assert reply.read() == "Hello"  # no error: the user stopped it
    assert time.monotonic() - start < 3
    assert reply.stats is not None and reply.stats.stop_reason is StopReason.USER
    assert reply.history_fields()["status"] == "interrupted"


def test_closing_the_reply_early_is_a_user_stop(claude_server: ClaudeServer) -> None:
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL))
    for _piece in reply:
        break
    assert reply.text == "Hello"
    assert reply.stats is not None and reply.stats.stop_reason is StopReason.USER


def test_sdk_retries_an_overload_when_allowed(claude_server: ClaudeServer) -> None:
    claude_server.fail = [529]
    reply = client_for(claude_server, max_retries=1).chat(prepare_request(HELLO, model=MODEL))
    assert reply.read() == "Hello from Claude."
    assert len(claude_server.requests) == 2


def test_off_or_offline_refuses_before_any_request(claude_server: ClaudeServer) -> None:
    with pytest.raises(ClaudeDisabledError):
        ClaudeClient.from_settings(Settings(), api_key=TEST_KEY, base_url=claude_server.base_url)
    offline = Settings(claude_enabled=True, offline=True)
    with pytest.raises(OfflineError):
        ClaudeClient.from_settings(offline, api_key=TEST_KEY, base_url=claude_server.base_url)
    with pytest.raises(MissingKeyError):
        ClaudeClient.from_settings(Settings(claude_enabled=True), api_key=None)
    assert claude_server.requests == []
    client = ClaudeClient.from_settings(
        Settings(claude_enabled=True, claude_model="claude-opus-4-6"),
        api_key=TEST_KEY,
        base_url=claude_server.base_url,
    )
    assert client.model == "claude-opus-4-6"


def test_key_never_in_repr_or_logs(
    claude_server: ClaudeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(claude_server)
    assert TEST_KEY not in repr(client) and claude_server.address[0] in repr(client)
    client.chat(prepare_request(HELLO, model=MODEL)).read()
    claude_server.fail = [401]
    with pytest.raises(InvalidKeyError):
        client.chat(prepare_request(HELLO, model=MODEL)).read()
    assert "sending 1 messages to Claude" in caplog.text
    assert TEST_KEY not in caplog.text


def test_test_key_makes_one_minimal_request(claude_server: ClaudeServer) -> None:
    check = client_for(claude_server).test_key()
    assert check.model == MODEL
    (sent,) = claude_server.requests
    assert sent.body["max_tokens"] == 1
    assert sent.body["messages"] == [{"role": "user", "content": "Hi"}]
    assert "stream" not in sent.body


def test_a_claude_reply_is_recorded_with_backend_model_and_usage(
    claude_server: ClaudeServer, hearth_home: Path
) -> None:
    store = HistoryStore.open(hearth_home / "history.db")
    conversation = store.create_conversation(title="t")
    store.add_message(conversation.id, role="user", text="Hello?")
    writer = store.begin_reply(conversation.id, backend="claude", model=MODEL)
    reply = client_for(claude_server).chat(prepare_request(HELLO, model=MODEL))
    for piece in reply:
        writer.append(piece)
    record = writer.finish(**reply.history_fields())
    assert (record.backend, record.model, record.status) == ("claude", MODEL, "complete")
    assert (record.prompt_tokens, record.completion_tokens) == (25, 4)
    assert record.text == "Hello from Claude."
    store.close()
