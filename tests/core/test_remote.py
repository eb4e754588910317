"""Models on your other computers: a remote OpenAI-compatible server, end to end in core.

The loopback path runs against the stand-in (tests/support/openai_server.py) as it is.
A server on another computer cannot be reached from a test, so that path is decided
on the URL's host, as Hearth decides it: the remote is registered under a LAN address
(192.168.1.20) and its client is given a transport that carries each request to the
stand-in instead. Everything above the socket (the decision, the opt-in, the preview,
what is sent, the stream) is the real code; the offline block is checked on the real
sockets with the socket guard.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.core.chat import ChatSession, HistoryStore, RemoteModel, Route
from app.core.chat.routing import Preview, decide_route
from app.core.cloud import (
    RemoteClient,
    RemoteNotAllowedError,
    RemoteOfflineError,
    RemoteStreamCutError,
    RemoteTimeoutError,
    RemoteTokenRefusedError,
    UnknownRemoteError,
    add_remote,
    leaves_machine,
    remove_remote,
)
from app.core.cloud.remote import RemoteServerError
from app.core.errors import NoModelLoadedError
from app.core.secrets import KeyStore
from app.core.settings import RemoteServer, Settings, SettingsError, SettingsStore
from tests.support.conversations import store_mixed_conversation
from tests.support.keychain import MemoryKeychain
from tests.support.openai_server import TEST_TOKEN, OpenAIServer, openai_server
from tests.support.socket_guard import SocketGuard, socket_guard

__all__ = ["openai_server", "socket_guard"]

LAN_URL = "http://192.168.1.20:8080"


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore.open(tmp_path / "history.db") as store:
        yield store  # type: ignore[misc]


class Prompts:
    def __init__(self, confirm: bool = True) -> None:
        self.confirm = confirm
        self.previews: list[Preview] = []

    def choose_route(self) -> Route | None:
        return Route.LOCAL

    def confirm_preview(self, preview: Preview) -> bool:
        self.previews.append(preview)
        return self.confirm


class ToStandIn(httpx2.BaseTransport):
    """Carries requests meant for another computer to the loopback stand-in."""

    def __init__(self, server: OpenAIServer) -> None:
        self.server = server
        self.hosts: list[str] = []
        self._inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.hosts.append(request.url.host)
        host, port = self.server.address
        request.url = request.url.copy_with(host=host, port=port)
        return self._inner.handle_request(request)


def settings_with(*remotes: RemoteServer, **values: Any) -> Settings:
    settings = Settings(remotes=remotes)
    for key, value in values.items():
        settings = settings.with_value(key, value)
    return settings


def session_for(
    store: HistoryStore, settings: Settings, remote: str, prompts: Prompts | None = None
) -> ChatSession:
    session = ChatSession(
        store,
        settings=lambda: settings,
        prompts=prompts or Prompts(),
        remote_token=lambda name: TEST_TOKEN,
    )
    session.open(None)
    session.remote = RemoteModel(remote, "llama-3-70b")
    return session


# -- where a server is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "leaves"),
    [
        ("http://127.0.0.1:8080/v1", False),
        ("http://127.8.9.10:1234", False),
        ("http://[::1]:8642/v1", False),
        ("http://localhost:11434", False),
        ("http://LocalHost", False),
        (LAN_URL, True),
        ("https://gpu-box.lan/v1", True),
        ("http://10.0.0.5:8000", True),
        ("http://0.0.0.0:8080", True),
        ("http://[fe80::1]:8080", True),
    ],
)
def test_only_loopback_stays_on_this_computer(url: str, leaves: bool) -> None:
    assert leaves_machine(url) is leaves


def test_remotes_are_kept_in_the_settings_file_and_bad_ones_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings_store = SettingsStore(path)
    keys = KeyStore(backend=MemoryKeychain())
    add_remote(settings_store, keys, name="den", url=LAN_URL + "/v1/", token=TEST_TOKEN)
    reopened = SettingsStore.open(path).current
    assert reopened.remotes == (RemoteServer("den", LAN_URL + "/v1", allowed=False),)
    assert TEST_TOKEN not in path.read_text()  # the token is in the keychain only
    assert keys.remote_token("den").load() == TEST_TOKEN
    before = path.read_text()
    for name, url in (("den", "ftp://box"), ("two words", LAN_URL), ("x", "http://u:p@box")):
        with pytest.raises(SettingsError):
            add_remote(settings_store, keys, name=name, url=url, token="other")
    assert path.read_text() == before and keys.remote_token("den").load() == TEST_TOKEN
    with pytest.raises(SettingsError, match="two servers"):
        Settings().with_value(
            "remotes", '[{"name": "a", "url": "http://a"}, {"name": "a", "url": "http://b"}]'
        )
    remove_remote(settings_store, keys, "den")
    assert SettingsStore.open(path).current.remotes == ()
    assert keys.remote_token("den").load() is None
    with pytest.raises(UnknownRemoteError):
        remove_remote(settings_store, keys, "den")


# -- talking to it ------------------------------------------------------------------------


def test_models_are_listed_and_a_wrong_token_or_a_broken_server_is_said_plainly(
    openai_server: OpenAIServer,
) -> None:
    with RemoteClient(name="den", url=openai_server.base_url, token=TEST_TOKEN) as client:
        assert client.models() == ["llama-3-70b", "qwen2.5-coder-32b"]
    assert openai_server.requests[0].path == "/v1/models"  # /v1 added to a bare address
    wrong = RemoteClient(name="den", url=openai_server.api_url, token="wrong")
    with wrong, pytest.raises(RemoteTokenRefusedError) as refused:
        wrong.models()
    assert "den (127.0.0.1:" in str(refused.value)
    assert "refused the token (401)" in str(refused.value)
    assert "wrong" not in refused.value.describe()
    openai_server.fail = [500]
    client = RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN)
    with client, pytest.raises(RemoteServerError, match=r"failed \(500\)"):
        client.models()


def test_a_loopback_remote_streams_without_a_preview_and_is_saved(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    remote = RemoteServer("den", openai_server.api_url)  # not opted in: it needs none
    settings = settings_with(remote, system_prompt="Be brief.")
    decision = decide_route(settings, remote="den")
    assert decision.route is Route.REMOTE and not decision.preview
    assert "on this computer" in decision.reason and "nothing leaves it" in decision.reason
    prompts = Prompts()
    session = session_for(store, settings, "den", prompts)
    session.new_system_prompt = "Be brief."
    turn = session.send("Where are you?")
    assert turn is not None and turn.route is Route.REMOTE
    assert prompts.previews == []
    with RemoteClient(name="den", url=remote.url, token=turn.key) as client:
        pieces = list(turn.run_client(client))
    assert "".join(pieces) == "Hello from afar."
    (sent,) = openai_server.requests
    assert sent.headers["authorization"] == f"Bearer {TEST_TOKEN}"
    assert sent.body["model"] == "llama-3-70b" and sent.body["stream"] is True
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where are you?"},
    ]
    assert turn.record is not None
    reply = store.message(turn.message_id)
    assert (reply.text, reply.backend, reply.model, reply.status) == (
        "Hello from afar.",
        "remote",
        "llama-3-70b",
        "complete",
    )
    assert (reply.prompt_tokens, reply.completion_tokens) == (21, 4)


def test_stop_closes_the_stream_at_once_and_keeps_what_arrived(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    openai_server.pieces = ["one", " two", " three"]
    openai_server.stall_after, openai_server.delay = 1, 5.0  # then silent for 5 s
    session = session_for(store, settings_with(RemoteServer("den", openai_server.api_url)), "den")
    turn = session.send("Count.")
    assert turn is not None
    client = RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN)
    pieces = turn.run_client(client)
    assert next(pieces) == "one"
    threading.Timer(0.2, client.stop).start()
    start = time.monotonic()
    assert list(pieces) == []
    assert time.monotonic() - start < 1.0  # not the server's 5 s
    reply = store.message(turn.message_id)
    assert (reply.text, reply.status, reply.stop_reason) == ("one", "interrupted", "user")
    client.close()


def test_a_cut_stream_keeps_its_text_marked_interrupted(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    openai_server.cut_after = 2
    session = session_for(store, settings_with(RemoteServer("den", openai_server.api_url)), "den")
    turn = session.send("Hello?")
    assert turn is not None
    client = RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN)
    with client, pytest.raises(RemoteStreamCutError) as cut:
        list(turn.run_client(client))
    assert "cut off after 10 characters" in str(cut.value)
    reply = store.message(turn.message_id)
    assert (reply.text, reply.status) == ("Hello from", "interrupted")
    assert "cut off" in (reply.error or "")
    assert not session.busy  # the next message can be sent


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, RemoteTokenRefusedError, "den (127.0.0.1:{port}) refused the token (401)"),
        (500, RemoteServerError, "den (127.0.0.1:{port}) failed (500)"),
    ],
)
def test_a_refused_or_failed_chat_is_saved_as_an_error_that_says_why(
    openai_server: OpenAIServer,
    store: HistoryStore,
    status: int,
    error: type[Exception],
    words: str,
) -> None:
    openai_server.fail = [status]
    session = session_for(store, settings_with(RemoteServer("den", openai_server.api_url)), "den")
    turn = session.send("Hello?")
    assert turn is not None
    client = RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN)
    with client, pytest.raises(error) as caught:
        list(turn.run_client(client))
    expected = words.format(port=openai_server.address[1])
    assert expected in str(caught.value)
    reply = store.message(turn.message_id)
    assert reply.status == "error" and expected in (reply.error or "")
    assert session.conversation is not None
    assert store.active_path(session.conversation.id)[0].text == "Hello?"  # the message kept


def test_a_slow_server_times_out_with_a_clear_message(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    openai_server.delay = 3.0
    session = session_for(store, settings_with(RemoteServer("den", openai_server.api_url)), "den")
    turn = session.send("Hello?")
    assert turn is not None
    start = time.monotonic()
    client = RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN, timeout=0.5)
    with client, pytest.raises(RemoteTimeoutError) as slow:
        list(turn.run_client(client))
    assert time.monotonic() - start < 2.5
    assert "did not answer within 0.5 s" in str(slow.value)
    assert store.message(turn.message_id).status == "error"


def test_a_local_reply_is_regenerated_locally_and_a_remote_one_remotely(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    conversation_id = store_mixed_conversation(store)  # its last reply is a local one
    session = session_for(store, settings_with(RemoteServer("den", openai_server.api_url)), "den")
    session.open(conversation_id)
    with pytest.raises(NoModelLoadedError):  # not sent to den
        session.regenerate()
    turn = session.send("And at sunset?")
    assert turn is not None and turn.route is Route.REMOTE
    with RemoteClient(name="den", url=openai_server.api_url, token=TEST_TOKEN) as client:
        list(turn.run_client(client))
    again = session.regenerate()
    assert again is not None and again.route is Route.REMOTE
    assert again.preview is not None and again.preview.messages[-1].content == "And at sunset?"
    assert openai_server.requests[0].body["messages"][-1]["content"] == "And at sunset?"


# -- a server on another computer ----------------------------------------------------------


def test_another_computer_needs_the_opt_in_and_nothing_is_stored_before(
    store: HistoryStore,
) -> None:
    session = session_for(store, settings_with(RemoteServer("den", LAN_URL)), "den")
    with pytest.raises(RemoteNotAllowedError) as refused:
        session.send("Hello?")
    assert "den (192.168.1.20:8080)" in str(refused.value)
    assert "hearth remote allow den" in refused.value.describe()
    assert session.conversation is None and store.list_conversations() == []
    with pytest.raises(UnknownRemoteError):
        session_for(store, Settings(), "nowhere").send("Hello?")


def test_another_computer_shows_the_preview_and_sends_exactly_that(
    openai_server: OpenAIServer, store: HistoryStore
) -> None:
    settings = settings_with(RemoteServer("den", LAN_URL, allowed=True))
    declined = Prompts(confirm=False)
    session = session_for(store, settings, "den", declined)
    assert session.send("Is this private?") is None
    (preview,) = declined.previews
    assert preview.recipient == "den (192.168.1.20:8080)"
    assert preview.host == "192.168.1.20:8080"
    assert preview.summary() == (
        "1 message and the system prompt, to llama-3-70b on den at 192.168.1.20:8080, "
        "about 17 tokens, on your own server (no price)"
    )
    assert [m.content for m in preview.messages] == ["Is this private?"]
    assert store.list_conversations() == [] and openai_server.requests == []

    accepted = Prompts(confirm=True)
    session.prompts = accepted
    turn = session.send("Is this private?")
    assert turn is not None and turn.preview is accepted.previews[0]
    transport = ToStandIn(openai_server)
    with RemoteClient.for_remote(
        settings, RemoteServer("den", LAN_URL, allowed=True), token=turn.key, transport=transport
    ) as client:
        assert "".join(turn.run_client(client)) == "Hello from afar."
    assert transport.hosts == ["192.168.1.20"]
    (sent,) = openai_server.requests
    assert sent.headers["host"] == "192.168.1.20:8080"
    shown = turn.preview.request.payload()  # what the preview showed is what went
    assert {k: sent.body[k] for k in shown} == shown


def test_offline_mode_blocks_another_computer_before_any_socket(
    socket_guard: SocketGuard, openai_server: OpenAIServer, store: HistoryStore
) -> None:
    lan = RemoteServer("den", LAN_URL, allowed=True)
    home = RemoteServer("here", openai_server.api_url)
    settings = settings_with(lan, home, offline=True)
    session = session_for(store, settings, "den")
    with pytest.raises(RemoteOfflineError) as blocked:
        session.send("Hello?")
    assert "offline" in str(blocked.value)
    with pytest.raises(RemoteOfflineError):
        RemoteClient.for_remote(settings, lan, token=TEST_TOKEN, chat=False)
    assert socket_guard.network == []
    assert store.list_conversations() == []
    # This computer's own server is no network call: offline mode lets it answer.
    socket_guard.allowed.add(openai_server.address)
    session = session_for(store, settings, "here")
    turn = session.send("Hello?")
    assert turn is not None
    with RemoteClient.for_remote(settings, home, token=TEST_TOKEN) as client:
        assert "".join(turn.run_client(client)) == "Hello from afar."
    assert {e[1] for e in socket_guard.network if e[0] == "connect"} == {openai_server.address}
