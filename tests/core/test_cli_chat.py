"""The ``hearth`` command line, end to end in a subprocess, with real models."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from app.core.inference.engine import Engine, LoadOptions, Message, SamplingOptions
from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def hearth(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=os.environ.copy(),
    )


def test_one_shot_prompt_streams_the_reply_to_stdout(stories_model: Path) -> None:
    result = hearth(
        "chat",
        "--model",
        str(stories_model),
        "--prompt",
        "Once upon a time",
        "--temperature",
        "0",
        "--max-tokens",
        "40",
        "--system",
        "",
    )
    assert result.returncode == 0, result.stderr
    # Exactly what the engine says for the same conversation and settings.
    settings = Settings().with_value("temperature", 0).with_value("max_tokens", 40)
    engine = Engine()
    engine.load(stories_model, LoadOptions.from_settings(settings))
    expected = engine.chat(
        [Message("user", "Once upon a time")], SamplingOptions.from_settings(settings)
    ).read()
    engine.close()
    assert len(expected) > 40
    assert result.stdout == expected + "\n"
    # Figures and notices go to stderr, never mixed into the reply.
    assert "40 tokens" in result.stderr and "length limit" in result.stderr
    assert "no chat template" in result.stderr
    assert "tok/s" not in result.stdout
    # llama.cpp's own log stays out of the terminal.
    assert "llama_model_loader" not in result.stderr


def test_interactive_session_keeps_the_conversation_and_quits_on_eof(stories_model: Path) -> None:
    result = hearth(
        "chat",
        "--model",
        str(stories_model),
        "--temperature",
        "0",
        "--max-tokens",
        "16",
        stdin="Hello there\nTell me more\n",
    )
    assert result.returncode == 0, result.stderr
    figures = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(figures) == 2
    # The second turn reused the first turn's cache.
    cached = int(figures[1].split("(")[1].split(" cached")[0])
    assert cached > 0


def test_ctrl_c_stops_the_reply_not_the_program(slow_chatml_model: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "chat",
            "--model",
            str(slow_chatml_model),
            "--temperature",
            "0",
            "--max-tokens",
            "4000",
            "--context",
            "4096",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdin and process.stdout and process.stderr
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(
            target=lambda: out.extend(iter(lambda: process.stdout.read(1), "")), daemon=True
        ),
        threading.Thread(target=lambda: err.extend(iter(process.stderr.readline, "")), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        process.stdin.write("Write a very long answer\n")
        process.stdin.flush()
        _wait_for(lambda: len(out) > 30, "the reply to start")
        process.send_signal(signal.SIGINT)
        _wait_for(lambda: any("stopped]" in line for line in err), "the reply to stop")
        assert process.poll() is None, "Ctrl-C during a reply must not quit"
        process.stdin.write("And a short one\n")  # the chat goes on: a second reply
        process.stdin.flush()
        mark = len(out)
        _wait_for(lambda: len(out) > mark + 10, "the second reply to start")
        process.stdin.close()
        process.send_signal(signal.SIGINT)  # stopped too (up to 4,000 tokens otherwise)
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
    figures = [line for line in err if line.startswith("[")]
    assert len(figures) == 2, err
    assert "stopped]" in figures[0]
    assert int(figures[0].split()[0][1:]) < 4000


def _wait_for(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def test_info_json_has_the_documented_fields(stories_model: Path) -> None:
    result = hearth("info", str(stories_model), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["architecture"] == "llama"
    assert info["parameters"] == 292_800
    assert info["quantization"] == "F32"
    assert info["context_length"] == 2048
    assert info["layers"] == 5
    assert info["attention_heads"] == 8 and info["kv_heads"] == 4
    assert info["vocab_size"] == 512
    assert info["has_chat_template"] is False
    assert info["size_bytes"] == stories_model.stat().st_size


def test_info_table_for_a_model_with_a_template(
    chatml_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", str(chatml_model)]) == 0
    out = capsys.readouterr().out
    assert "Chat template    yes" in out
    assert "Vocabulary       514" in out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.gguf", "No model file"),
        (lambda d: d, "is a folder"),
        (lambda d: _write(d / "notes.gguf", b"just some text\n"), "not a GGUF model file"),
    ],
)
def test_bad_model_paths_exit_1_with_a_clear_message(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    for args in (("info", str(path)), ("chat", "--model", str(path), "--prompt", "hi")):
        result = hearth(*args)
        assert result.returncode == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_bad_option_value_is_refused_with_the_allowed_range(stories_model: Path) -> None:
    result = hearth("chat", "--model", str(stories_model), "--prompt", "hi", "--temperature", "-3")
    assert result.returncode == 1
    assert "temperature must be at least" in result.stderr


def test_no_arguments_starts_the_desktop_app(hearth_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = hearth_home / "logs" / "hearth.log"
    try:
        _wait_for(lambda: log.exists() and "window shown" in log.read_text(), "the window")
        assert process.poll() is None  # the app is running, not an error message
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_chatting_records_when_a_library_model_was_last_used(stories_model: Path) -> None:
    assert hearth("import", str(stories_model), "--reference").returncode == 0
    before = json.loads(hearth("models", "--json").stdout)
    assert [m["last_used"] for m in before if "stories" in m["name"]] == [None]
    result = hearth("chat", "--model", str(stories_model), "--prompt", "Hi", "--max-tokens", "4")
    assert result.returncode == 0, result.stderr
    after = json.loads(hearth("models", "--json").stdout)
    assert [m["last_used"] is not None for m in after if "stories" in m["name"]] == [True]


def test_a_model_s_own_settings_apply_and_the_command_line_wins(stories_model: Path) -> None:
    from app.core.library import ModelSettings, ModelSettingsStore
    from app.core.library.model_settings import MODEL_SETTINGS_FILE
    from app.core.paths import app_paths

    store = ModelSettingsStore(app_paths().config / MODEL_SETTINGS_FILE)
    own = ModelSettings(values={"max_tokens": 5, "temperature": 0.0}, chat_template="chatml")
    store.set(stories_model, own)
    result = hearth("chat", "--model", str(stories_model), "--prompt", "Once upon a time")
    assert result.returncode == 0, result.stderr
    assert "Using the ChatML chat template set in this model's settings" in result.stderr
    assert re.search(r"\b5 tokens", result.stderr)
    result = hearth("chat", "--model", str(stories_model), "--prompt", "Once", "--max-tokens", "3")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b3 tokens", result.stderr)
