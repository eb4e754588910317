"""Offline mode in every `hearth` command: zero connection attempts, and a clear message.

The loopback stand-ins for Hugging Face and Claude run and are configured
(``HF_ENDPOINT``, ``ANTHROPIC_BASE_URL``, Claude turned on, a key and a token in a
keychain), so a command that ignored offline mode would have somewhere to connect to.
The socket guard records every connection attempt and name lookup, loopback included.
(``hearth chat --model`` runs the model in a child process the guard cannot watch;
test_privacy covers a local chat.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.library import load_catalog
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, save_settings
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.hf_server import FakeHub
from tests.support.keychain import Keychain, keychain
from tests.support.socket_guard import SocketGuard, install

__all__ = ["claude_server", "keychain"]

CATALOG_ID = "llama-3.2-1b-instruct"
HUB_TOKEN = "hf_" + "OfflineToken" * 3
NEEDS_NETWORK = "needs the network, and Hearth is in offline mode"


@pytest.fixture
def online_world(
    keychain: Keychain, claude_server: ClaudeServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeHub, ClaudeServer]]:
    """Everything a command could reach, set up; then offline mode turned on."""
    stories = stories_path().read_bytes()
    with FakeHub() as hub:
        model = load_catalog().get(CATALOG_ID)
        hub.add_repo(model.repo, {model.file("Q4_K_M").filename: stories})
        hub.add_repo("someone/Stories-GGUF", {"stories-F32.gguf": stories})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
        keys = KeyStore()
        keys.claude.save(TEST_KEY)
        keys.hub_token.save(HUB_TOKEN)
        save_settings(Settings(claude_enabled=True, offline=True), app_paths().settings_file)
        yield hub, claude_server


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> SocketGuard:
    return install(monkeypatch)


# (command, exit status, words the person is told)
NETWORK_COMMANDS = [
    (["recommend", "someone/Stories-GGUF"], 1, "Reading the models of someone/Stories-GGUF"),
    (["recommend", "someone/Stories-GGUF", "--json"], 1, NEEDS_NETWORK),
    (["pull", CATALOG_ID], 1, f"Downloading {CATALOG_ID} {NEEDS_NETWORK}"),
    (["pull", "someone/Stories-GGUF", "--list"], 1, NEEDS_NETWORK),
    (["pull", "someone/Stories-GGUF", "--file", "stories-F32.gguf"], 1, NEEDS_NETWORK),
    (["search", "stories"], 1, f"Searching Hugging Face {NEEDS_NETWORK}"),
    (["search", "llama-3.2"], 0, f"Searching Hugging Face {NEEDS_NETWORK}"),
    (["models", "--catalog", "--refresh"], 1, f"Refreshing the model catalog {NEEDS_NETWORK}"),
    (["key", "test"], 1, "Hearth is offline, so nothing is sent to Claude."),
    (["chat", "--claude", "--prompt", "hi", "--yes"], 1, "Hearth is offline"),
    (["chat", "--claude", "--prompt", "hi"], 1, "Hearth is offline"),
]


@pytest.mark.parametrize(
    ("argv", "code", "said"), NETWORK_COMMANDS, ids=[" ".join(c[0]) for c in NETWORK_COMMANDS]
)
def test_a_command_that_needs_the_network_says_so_and_connects_nowhere(
    online_world: tuple[FakeHub, ClaudeServer],
    guard: SocketGuard,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    said: str,
) -> None:
    hub, claude = online_world
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert said in err
    assert "offline" in err.lower()
    assert guard.network == []
    assert hub.requests == [] and claude.requests == []
    assert TEST_KEY not in out + err and HUB_TOKEN not in out + err
    assert not list(app_paths().models.rglob("*.gguf*"))  # nothing downloaded, not a byte


def test_every_other_command_works_offline_and_connects_nowhere(
    online_world: tuple[FakeHub, ClaudeServer],
    guard: SocketGuard,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    hub, claude = online_world
    folder = tmp_path / "local"
    folder.mkdir()
    model = shutil.copy(stories_path(), folder / "stories-F32.gguf")
    for argv in (
        ["info", str(model)],
        ["info", str(model), "--json"],
        ["doctor"],
        ["doctor", "--json"],
        ["recommend", str(folder)],
        ["models"],
        ["models", "--catalog"],
        ["import", str(model), "--reference"],
        ["models", "--json"],
        ["config", "list"],
        ["config", "get", "offline"],
        ["config", "set", "temperature", "0.5"],
        ["history", "list"],
        ["docs", "list"],
        ["key", "status"],
        ["token", "status"],
    ):
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    out = capsys.readouterr().out
    assert "stories-F32.gguf" in out and "A key is stored" in out and "A token is stored" in out
    assert guard.network == []
    assert hub.requests == [] and claude.requests == []


def test_offline_turned_on_from_the_cli_stops_the_next_command(
    online_world: tuple[FakeHub, ClaudeServer],
    guard: SocketGuard,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub, _claude = online_world
    guard.allowed.add(hub.address)  # the loopback Hub, and nothing else
    assert main(["config", "set", "offline", "false"]) == 0
    assert main(["pull", "someone/Stories-GGUF", "--list"]) == 0
    assert "stories-F32.gguf" in capsys.readouterr().out
    assert {e[1] for e in guard.network if e[0] == "connect"} == {hub.address}
    assert main(["config", "set", "offline", "true"]) == 0
    guard.events.clear()
    hub.reset_counts()
    assert main(["pull", "someone/Stories-GGUF", "--file", "stories-F32.gguf"]) == 1
    assert NEEDS_NETWORK in capsys.readouterr().err
    assert guard.network == [] and hub.requests == []
