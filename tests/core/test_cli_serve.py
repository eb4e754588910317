"""`hearth serve` from a terminal: headless (Qt hidden), its token, and its refusals."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from app.cli import main
from app.core.secrets import KeyStore
from tests.support.keychain import Keychain, keychain, no_keychain
from tests.support.local_server import free_port

__all__ = ["keychain", "no_keychain"]

ROOT = Path(__file__).resolve().parents[2]
# The command runs in a Python where PySide6 cannot be imported, as on a headless server.
HEADLESS = (
    "import sys, tests.support.without_qt; from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: queue.Queue[str]
    said: list[str]

    def wait_for(self, words: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, "\n".join(self.said)
                continue
            self.said.append(line)
            if words in line:
                return line
        raise AssertionError(f"never said {words!r}: " + "\n".join(self.said))

    def rest(self) -> str:
        while True:
            try:
                self.said.append(self.lines.get(timeout=5))
            except queue.Empty:
                return "\n".join(self.said)


@pytest.fixture
def hearth_serve() -> Iterator[object]:
    started: list[Running] = []

    def start(*args: str) -> Running:
        process = subprocess.Popen(
            [sys.executable, "-c", HEADLESS, "serve", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.put(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        running = Running(process, lines, [])
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=30)


def url_of(line: str) -> str:
    return line.split(" at ", 1)[1].split("/v1", 1)[0]


@pytest.mark.slow
def test_serve_runs_headless_answers_logs_lines_and_stops_on_ctrl_c(
    hearth_serve: object, stories_model: Path, embedding_model: Path
) -> None:
    running = hearth_serve(  # type: ignore[operator]
        "--model", str(stories_model), "--embedding-model", str(embedding_model), "--port", "0"
    )
    base = url_of(running.wait_for("Hearth serves stories260K at http://127.0.0.1:"))
    running.wait_for("Only programs on this computer can reach it.")
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["stories260K", "all-MiniLM-L6-v2-f16"]
    reply = client.chat.completions.create(
        model="stories260K",
        messages=[{"role": "user", "content": "The purple elephant"}],
        max_tokens=8,
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 8
    vector = client.embeddings.create(model="all-MiniLM-L6-v2-f16", input="hello")
    assert len(vector.data[0].embedding) == 384
    running.wait_for("POST /v1/chat/completions 200")
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0
    said = running.rest()
    assert "Stopped." in said and "Traceback" not in said
    assert "purple elephant" not in said  # the prompt is never logged unless asked


def test_serve_uses_the_model_s_own_settings(hearth_serve: object, stories_model: Path) -> None:
    from app.core.library import ModelSettings, ModelSettingsStore
    from app.core.library.model_settings import MODEL_SETTINGS_FILE
    from app.core.paths import app_paths

    store = ModelSettingsStore(app_paths().config / MODEL_SETTINGS_FILE)
    store.set(stories_model, ModelSettings(values={"max_tokens": 3}, chat_template="chatml"))
    running = hearth_serve("--model", str(stories_model), "--port", "0")  # type: ignore[operator]
    running.wait_for("Using the ChatML chat template set in this model's settings")
    base = url_of(running.wait_for("Hearth serves stories260K at http://127.0.0.1:"))
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model="stories260K", messages=[{"role": "user", "content": "Once"}]
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0


@pytest.mark.slow
def test_serve_beyond_loopback_keeps_a_token_in_the_keychain(
    keychain: Keychain, hearth_serve: object, stories_model: Path, hearth_home: Path
) -> None:
    port = free_port()
    running = hearth_serve(  # type: ignore[operator]
        "--model", str(stories_model), "--host", "0.0.0.0", "--port", str(port)
    )
    running.wait_for("every request needs the token")
    token = KeyStore().server_token.load()
    assert token is not None and token.startswith("hearth-") and len(token) > 40
    base = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base, api_key="sk-guess", max_retries=0).models.list()
    models = openai.OpenAI(base_url=base, api_key=token, max_retries=0).models.list()
    assert [m.id for m in models] == ["stories260K"]
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0
    assert token not in running.rest()  # never printed unless asked
    for file in hearth_home.rglob("*"):
        assert not file.is_file() or token.encode() not in file.read_bytes()


def test_show_token_prints_the_same_token_until_a_new_one_is_made(
    keychain: Keychain, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--show-token"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("hearth-")
    assert main(["serve", "--show-token"]) == 0
    assert capsys.readouterr().out.strip() == first
    assert main(["serve", "--new-token"]) == 0
    second = capsys.readouterr().out.strip()
    assert second != first and KeyStore().server_token.load() == second


def test_beyond_loopback_without_a_keychain_it_refuses_to_start(
    no_keychain: None, stories_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    code = main(["serve", "--model", str(stories_model), "--host", "0.0.0.0", "--port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert "will not listen on 0.0.0.0 without a token" in err
    assert "Secret Service" in err  # why no token can be kept
    with socket.socket() as probe:  # nothing was left listening
        probe.bind(("0.0.0.0", port))


def test_a_port_in_use_is_said_before_any_model_loads(
    stories_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.monotonic()
        assert main(["serve", "--model", str(stories_model), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"Port {port} on 127.0.0.1 is in use by another program" in err
    assert "note:" not in err  # no model was loaded
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--allow-origin", "*"], "a wildcard is never allowed"),
        (["--allow-origin", "http://localhost:3000/app"], "no path"),
        (["--host", "my-laptop.example"], "is not an IP address"),
        (["--port", "70000"], "at most 65535"),
    ],
)
def test_bad_options_are_refused_with_what_is_allowed(
    stories_model: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert main(["serve", "--model", str(stories_model), *args]) == 1
    assert words in capsys.readouterr().err


def test_with_no_model_named_or_used_it_says_how_to_name_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert "No model to serve" in err and "--model" in err
