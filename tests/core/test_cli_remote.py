"""`hearth remote add|list|models|allow|remove` and `hearth chat --remote`, run in-process."""

from __future__ import annotations

import io
import json

import pytest

from app.cli import main
from app.core.context import AppContext
from app.core.secrets import KeyStore
from tests.support.keychain import Keychain, keychain
from tests.support.openai_server import TEST_TOKEN, OpenAIServer, openai_server

__all__ = ["keychain", "openai_server"]


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_add_list_models_and_remove_a_server_with_its_token(
    keychain: Keychain,
    openai_server: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", Pipe(TEST_TOKEN + "\n"))
    assert main(["remote", "add", "den", openai_server.api_url, "--token-stdin"]) == 0
    assert "nothing you send there leaves it" in capsys.readouterr().err
    assert KeyStore().remote_token("den").load() == TEST_TOKEN
    assert main(["remote", "add", "gpu", "http://192.168.1.20:8000/v1"]) == 0
    assert "only after `hearth remote allow gpu`" in capsys.readouterr().err
    assert main(["remote", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["leaves_machine"], r["allowed"], r["token"]) for r in rows] == [
        ("den", False, False, True),
        ("gpu", True, False, False),
    ]
    assert main(["remote", "models", "den"]) == 0
    assert capsys.readouterr().out.split() == ["llama-3-70b", "qwen2.5-coder-32b"]
    assert main(["remote", "remove", "den"]) == 0
    assert KeyStore().remote_token("den").load() is None
    assert [r.name for r in AppContext().current.remotes] == ["gpu"]
    assert main(["remote", "remove", "den"]) == 1
    assert "no remote server called 'den'" in capsys.readouterr().err


def test_a_bad_address_is_refused_and_nothing_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remote", "add", "den", "den.lan:8080"]) == 1
    assert "is not a server address" in capsys.readouterr().err
    assert AppContext().current.remotes == ()


def test_chat_with_a_remote_model(
    keychain: Keychain,
    openai_server: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", Pipe(TEST_TOKEN + "\n"))
    assert main(["remote", "add", "den", openai_server.api_url, "--token-stdin"]) == 0
    capsys.readouterr()
    code = main(["chat", "--remote", "den", "--model", "llama-3-70b", "--prompt", "Hi"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == "Hello from afar.\n"
    assert "[llama-3-70b, 21 tokens in, 4 out, end of text]" in err
    assert openai_server.requests[-1].body["messages"][-1] == {"role": "user", "content": "Hi"}


def test_chat_with_another_computer_is_refused_until_allowed_then_previewed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remote", "add", "gpu", "http://192.168.1.20:8000/v1"]) == 0
    capsys.readouterr()
    args = ["chat", "--remote", "gpu", "--model", "m", "--prompt", "Hi"]
    assert main(args) == 1
    assert "not allowed yet" in capsys.readouterr().err
    assert main(["remote", "allow", "gpu"]) == 0
    assert main(["config", "set", "offline", "true"]) == 0
    capsys.readouterr()
    assert main(args) == 1
    assert "Hearth is offline, so nothing is sent to gpu" in capsys.readouterr().err
    assert main(["config", "set", "offline", "false"]) == 0
    monkeypatch.setattr("sys.stdin", Pipe("n\n"))
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "About to send 1 message and the system prompt, to m on gpu at 192.168.1.20:8000" in err
    assert "Send this to gpu (192.168.1.20:8000)? [y/N]" in err and "Not sent." in err


def test_config_shows_and_sets_the_remotes_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remote", "add", "den", "http://127.0.0.1:9/v1"]) == 0
    assert main(["config", "list", "--json"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["remotes"]["value"] == [
        {"name": "den", "url": "http://127.0.0.1:9/v1", "allowed": False}
    ]
    assert main(["config", "list"]) == 0
    assert '[{"name": "den"' in capsys.readouterr().out
    assert main(["config", "set", "remotes", '[{"name": "gpu", "url": "ftp://x"}]']) == 2
    assert "is not a server address" in capsys.readouterr().err
    assert main(["config", "get", "remotes"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "den"
