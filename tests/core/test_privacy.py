"""What leaves the machine, checked by a socket guard rather than by reading the code.

With Claude off, a whole session (settings, a real model loaded and chatting, the
history, the CLI) opens no network connection and resolves no name. With Claude on,
only the configured host is contacted, and only after the person said yes. After a
session with a key set, the key's text is in no file under Hearth's folders.
"""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest

from app.cli import main
from app.core.chat import ChatSession
from app.core.chat.history import HistoryStore
from app.core.chat.routing import Route, build_preview, decide_route, suggest_claude
from app.core.cloud.claude import ClaudeClient, ClaudeDisabledError
from app.core.documents import DocumentIndex, DocumentRetriever, EngineEmbedder, Indexer, search
from app.core.inference import EngineProcess
from app.core.inference.engine import Engine, LoadOptions, Message, SamplingOptions
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, load_settings, save_settings
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server
from tests.support.keychain import Keychain, keychain
from tests.support.socket_guard import LOOPBACK_NAMES, SocketGuard, install

__all__ = ["claude_server", "keychain"]


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> SocketGuard:
    return install(monkeypatch)


class Answer(io.StringIO):
    """Standard input that notes in the guard's log when the person answered."""

    def __init__(self, text: str, guard: SocketGuard) -> None:
        super().__init__(text)
        self.guard = guard

    def isatty(self) -> bool:
        return False

    def readline(self, size: int | None = -1) -> str:
        self.guard.mark("answered")
        return super().readline(size)


def test_guard_catches_a_connection(guard: SocketGuard) -> None:
    with pytest.raises(OSError), socket.create_connection(("10.255.255.1", 443), timeout=0.2):
        pass
    assert guard.network  # the guard works, so the empty lists below mean something


def test_with_claude_off_a_whole_session_opens_no_connection(
    guard: SocketGuard, stories_model: Path, hearth_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = app_paths().ensure()
    save_settings(Settings().with_value("temperature", "0.2"), paths.settings_file)
    assert main(["config", "set", "max_tokens", "16"]) == 0
    settings = load_settings(paths.settings_file)
    assert not settings.claude_enabled
    engine = Engine()
    engine.load(stories_model, LoadOptions(context_length=256))
    history = [Message("user", "Once upon a time")]
    reply = engine.chat(history, SamplingOptions(max_tokens=8, temperature=0.0, seed=1))
    text = reply.read()
    engine.close()
    assert reply.stats is not None and reply.stats.completion_tokens > 0
    store = HistoryStore.open(paths.conversations / "history.db")
    conversation = store.create_conversation(title="story")
    store.add_message(conversation.id, role="user", text=history[0].content)
    store.add_message(conversation.id, role="assistant", text=text, backend="local")
    store.close()
    assert decide_route(settings).route is Route.LOCAL
    suggest_claude(settings, dropped_messages=2)
    build_preview(history, model=settings.claude_model)  # built locally; nothing is sent
    with pytest.raises(ClaudeDisabledError):
        ClaudeClient.from_settings(settings, api_key=TEST_KEY)
    assert main(["chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    assert main(["chat", "--model", str(stories_model), "--prompt", "Once", "--quiet"]) == 0
    assert "Claude is turned off" in capsys.readouterr().err
    assert guard.network == []


def test_with_claude_on_only_the_configured_host_after_yes(
    guard: SocketGuard,
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_settings(Settings(claude_enabled=True), app_paths().settings_file)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    KeyStore().claude.save(TEST_KEY)
    guard.allowed.add(claude_server.address)
    monkeypatch.setattr("sys.stdin", Answer("n\n", guard))
    assert main(["chat", "--claude", "--prompt", "hi"]) == 1
    assert guard.network == []  # previewed, declined: nothing left the machine
    assert claude_server.requests == []
    guard.events.clear()
    monkeypatch.setattr("sys.stdin", Answer("y\n", guard))
    assert main(["chat", "--claude", "--prompt", "hi"]) == 0
    assert "Hello from Claude." in capsys.readouterr().out
    answered = guard.events.index(("mark", "answered"))
    assert guard.network, "the request should have gone out"
    assert all(i > answered for i, e in enumerate(guard.events) if e[0] != "mark")
    connects = {e[1] for e in guard.network if e[0] == "connect"}
    assert connects == {claude_server.address}
    lookups = {e[1] for e in guard.network if e[0] == "lookup"}
    assert lookups <= LOOPBACK_NAMES


def test_the_key_leaks_into_no_file(
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    hearth_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    monkeypatch.setattr("sys.stdin", Answer(TEST_KEY + "\n", SocketGuard()))
    assert main(["-v", "key", "set"]) == 0
    assert main(["-v", "config", "set", "claude_enabled", "true"]) == 0
    assert main(["-v", "key", "test"]) == 0
    assert main(["-v", "chat", "--claude", "--prompt", "hi", "--yes"]) == 0
    for status in (401, 429, 500):
        claude_server.fail = [status]
        assert main(["-v", "chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    claude_server.cut_after = 1
    assert main(["-v", "chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    assert main(["-v", "key", "status"]) == 0
    out, err = capsys.readouterr()
    assert TEST_KEY not in out + err
    files = [p for p in hearth_home.rglob("*") if p.is_file()]
    log = hearth_home / "logs" / "hearth.log"
    assert log in files and "sending 1 messages to Claude" in log.read_text()
    assert (hearth_home / "config" / "settings.json") in files
    fragment = TEST_KEY[8:40].encode()
    leaked = [p for p in files if TEST_KEY.encode() in p.read_bytes() or fragment in p.read_bytes()]
    assert leaked == []
    assert len(claude_server.requests) == 6


def _sockets_of(pid: int) -> list[str]:
    """The sockets a process holds open (Linux: its /proc fd links)."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue  # closed while listing
    return [link for link in links if link.startswith("socket:")]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_indexing_and_asking_your_documents_opens_no_connection(
    guard: SocketGuard,
    stories_model: Path,
    embedding_model: Path,
    hearth_home: Path,
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # the check below sees a socket when there is one
        assert f"socket:[{os.fstat(probe.fileno()).st_ino}]" in _sockets_of(os.getpid())
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "letter.md").write_text("Your test results are normal.", encoding="utf-8")
    (folder / "lease.txt").write_text("The lease ends in March 2027.", encoding="utf-8")
    with DocumentIndex.open() as index, EngineEmbedder(embedding_model) as embedder:
        index.add_sources("private", [folder])
        Indexer(index, embedder).run("private")
        hits = search(index, "When does the lease end?", embedder=embedder)
        assert Path(hits[0].path).name == "lease.txt"
        session = ChatSession(
            HistoryStore.open(app_paths().conversations / "history.db"),
            settings=lambda: Settings().with_value("max_tokens", 8),
            retriever=DocumentRetriever(index, embedder, collections=["private"]),
        )
        session.open(None)
        engine = EngineProcess()
        try:
            session.model = engine.load(stories_model, LoadOptions(context_length=512))
            turn = session.send("When does the lease end?")
            assert turn is not None and turn.documents is not None and turn.documents.used
            "".join(turn.run_local(engine))
            # The engines talk over their stdin and stdout pipes only.
            assert engine.pid is not None and embedder.engine.pid is not None
            assert _sockets_of(engine.pid) == [] and _sockets_of(embedder.engine.pid) == []
        finally:
            engine.close()
            session.store.close()
    assert guard.network == []
