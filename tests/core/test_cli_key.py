"""`hearth key set|test|clear|status` and `hearth chat --claude`, run in-process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.cli import main
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, save_settings
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server
from tests.support.keychain import Keychain, keychain, no_keychain

__all__ = ["claude_server", "keychain", "no_keychain"]


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def feed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", Pipe(text))


def claude_on(server: ClaudeServer, monkeypatch: pytest.MonkeyPatch, **extra: object) -> None:
    save_settings(Settings(claude_enabled=True, **extra), app_paths().settings_file)  # type: ignore[arg-type]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)


def test_set_reads_the_key_from_stdin(
    keychain: Keychain, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed(monkeypatch, TEST_KEY + "\n")
    assert main(["key", "set"]) == 0
    out, err = capsys.readouterr()
    assert "stored in the keychain" in err
    assert TEST_KEY not in out + err
    assert KeyStore().claude.load() == TEST_KEY
    assert main(["key", "status"]) == 0
    assert "A key is stored in the keychain" in capsys.readouterr().out


def test_set_uses_a_hidden_prompt_on_a_terminal(
    keychain: Keychain, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or TEST_KEY)
    assert main(["key", "set"]) == 0
    assert prompts and "hidden" in prompts[0]
    assert KeyStore().claude.load() == TEST_KEY


def test_the_key_is_never_taken_from_the_command_line(
    keychain: Keychain, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["key", "set", TEST_KEY])
    assert caught.value.code == 2
    assert KeyStore().claude.load() is None


def test_set_without_a_keychain_says_so(
    no_keychain: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    hearth_home: Path,
) -> None:
    feed(monkeypatch, TEST_KEY + "\n")
    assert main(["key", "set"]) == 1
    err = capsys.readouterr().err
    assert "cannot keep the key" in err and "never writes the key to a file" in err
    assert sys_stdin_unread(monkeypatch)
    for file in hearth_home.rglob("*"):
        assert not file.is_file() or TEST_KEY.encode() not in file.read_bytes()


def sys_stdin_unread(monkeypatch: pytest.MonkeyPatch) -> bool:
    import sys

    return sys.stdin.read() == TEST_KEY + "\n"  # refused before asking for the key


def test_key_test_reports_success_and_failure(
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claude_on(claude_server, monkeypatch)
    KeyStore().claude.save(TEST_KEY)
    assert main(["key", "test"]) == 0
    out, err = capsys.readouterr()
    assert "The key works" in out and "claude-sonnet-4-6" in out
    assert len(claude_server.requests) == 1
    assert claude_server.requests[0].body["max_tokens"] == 1
    claude_server.fail = [401]
    assert main(["key", "test"]) == 1
    err = capsys.readouterr().err
    assert "did not accept the API key (401)" in err and TEST_KEY not in err


def test_key_test_is_refused_while_claude_is_off(
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    KeyStore().claude.save(TEST_KEY)
    assert main(["key", "test"]) == 1
    assert "Claude is turned off" in capsys.readouterr().err
    assert claude_server.requests == []


def test_clear_removes_the_key(keychain: Keychain, capsys: pytest.CaptureFixture[str]) -> None:
    KeyStore().claude.save(TEST_KEY)
    assert main(["key", "clear"]) == 0
    assert "removed" in capsys.readouterr().err
    assert KeyStore().claude.load() is None
    assert main(["key", "status"]) == 1
    assert main(["key", "clear"]) == 0
    assert "No key was stored" in capsys.readouterr().err


def test_chat_claude_is_refused_while_off(
    claude_server: ClaudeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    assert main(["chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    assert "Claude is turned off" in capsys.readouterr().err
    assert claude_server.requests == []


def test_chat_claude_previews_and_sends_only_after_yes(
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claude_on(claude_server, monkeypatch, system_prompt="Be brief.")
    KeyStore().claude.save(TEST_KEY)
    feed(monkeypatch, "n\n")
    assert main(["chat", "--claude", "--prompt", "What is 2+2?"]) == 1
    out, err = capsys.readouterr()
    assert "About to send 1 message and the system prompt, to Claude Sonnet 4.6 at 127.0.0.1" in err
    assert "[system] Be brief." in err and "[user] What is 2+2?" in err
    assert "Not sent." in err
    assert claude_server.requests == []
    feed(monkeypatch, "y\n")
    assert (
        main(["chat", "--claude", "--claude-model", "claude-haiku-4-5", "--prompt", "What is 2+2?"])
        == 0
    )
    out, err = capsys.readouterr()
    assert out == "Hello from Claude.\n"
    assert "[claude-haiku-4-5, 25 tokens in, 4 out, end of text]" in err
    (sent,) = claude_server.requests
    assert sent.body["model"] == "claude-haiku-4-5"
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"] == [{"role": "user", "content": "What is 2+2?"}]


def test_chat_claude_shows_errors_and_partial_text(
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claude_on(claude_server, monkeypatch)
    KeyStore().claude.save(TEST_KEY)
    claude_server.cut_after = 2
    assert main(["chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    out, err = capsys.readouterr()
    assert out == "Hello from\n"
    assert "cut off after 10 characters" in err and "incomplete" in err
    claude_server.cut_after, claude_server.fail = None, [429]
    assert main(["chat", "--claude", "--prompt", "hi", "--yes"]) == 1
    assert "Try again in 7 s" in capsys.readouterr().err
