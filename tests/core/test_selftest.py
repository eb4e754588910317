"""``hearth --self-test`` from the source tree: passes on a real model, names what breaks.

The bundled executable runs the same self-test in tests/core/test_bundle.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.selftest import requested


def run_self_test(
    *args: str, tmp: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    tmp.mkdir(exist_ok=True)
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app", "--self-test", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_passes_on_the_real_model_and_leaves_user_data_alone(
    stories_model: Path, hearth_home: Path, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    result = run_self_test("--model", str(stories_model), tmp=tmp)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("hearth 0.") and "from source" in lines[0]
    for step in ("llama.cpp", "catalog", "model", "window"):
        assert any(line.startswith(f"{step} ") and " ok: " in line for line in lines), step
    assert "CPU build" in result.stdout  # this machine's llama.cpp build is named
    assert "backends CPU" in result.stdout
    model_line = next(line for line in lines if line.startswith("model "))
    assert "loaded and wrote '" in model_line and "wrote ''" not in model_line
    assert "main window shown" in result.stdout
    assert lines[-1] == "self-test passed"
    # The user's Hearth folder (HEARTH_HOME of the caller) is never created or written,
    # and the self-test's own temporary home is removed.
    assert not hearth_home.exists()
    assert list(tmp.iterdir()) == []


def test_a_missing_model_fails_naming_the_model_and_keeps_the_log(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    result = run_self_test("--model", str(missing), tmp=tmp_path / "tmp")

    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert failed[0].startswith("model ") and str(missing) in failed[0]
    assert "No model file" in failed[0]
    assert failed[-1].startswith("self-test FAILED: model (log kept at ")
    log_dir = Path(failed[-1].split("log kept at ")[1].rstrip(")"))
    assert (log_dir / "hearth.log").is_file()
    # The other steps still ran and passed: the report says exactly what is broken.
    assert "llama.cpp  ok" in result.stdout and "window     ok" in result.stdout


def test_a_file_that_is_not_a_model_fails(tmp_path: Path) -> None:
    page = tmp_path / "model.gguf"
    page.write_text("<html>Not Found</html>")
    result = run_self_test("--model", str(page), tmp=tmp_path / "tmp")

    assert result.returncode == 1
    assert "model      FAILED" in result.stdout and "not a GGUF" in result.stdout


def test_without_a_model_it_says_how_to_give_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_TEST_MODEL"}
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        capture_output=True,
        text=True,
        env={**env, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "no model to load: pass --model PATH or set HEARTH_TEST_MODEL" in result.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--self-test"], True),
        (["-v", "--self-test", "--model", "m.gguf"], True),
        (["--model", "m.gguf", "--self-test"], True),
        (["chat", "--self-test"], False),  # an option of a command, not the self-test
        (["chat", "--model", "m.gguf"], False),
        ([], False),
    ],
)
def test_only_a_leading_self_test_option_starts_it(argv: list[str], expected: bool) -> None:
    assert requested(argv) is expected
