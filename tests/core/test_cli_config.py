"""``hearth config``: the settings file, read and changed from a terminal with the same rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))
    return tmp_path


def settings_file(home: Path) -> Path:
    return home / "config" / "settings.json"


def test_list_shows_every_key_value_default_and_help(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out
    for key in Settings.keys():  # noqa: SIM118 (a classmethod, not a dict)
        assert key in out
        assert Settings.describe(key) in out
    assert '"auto"' in out  # quantization's value and default
    assert not settings_file(home).exists()  # listing never writes


def test_list_marks_what_was_changed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "temperature", "0.2"]) == 0
    capsys.readouterr()
    assert main(["config", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (line,) = [x for x in lines if x[2:].startswith("temperature ")]
    assert line.startswith("*")
    assert "0.2" in line and "0.7" in line
    (untouched,) = [x for x in lines if x[2:].startswith("top_p ")]
    assert not untouched.startswith("*")


def test_list_json_is_complete(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "theme", "dark"]) == 0
    capsys.readouterr()
    assert main(["config", "list", "--json"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert list(rows) == Settings.keys()
    assert rows["theme"] == {
        "key": "theme",
        "value": "dark",
        "default": "system",
        "help": Settings.describe("theme"),
        "choices": ["system", "light", "dark"],
    }
    assert rows["flash_attention"]["value"] is False


def test_get_prints_plain_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "get", "context_length"]) == 0
    assert capsys.readouterr().out == "4096\n"
    assert main(["config", "get", "flash_attention"]) == 0
    assert capsys.readouterr().out == "false\n"
    assert main(["config", "get", "system_prompt"]) == 0
    assert capsys.readouterr().out == "You are a helpful assistant.\n"


def test_set_validates_saves_and_says_what_changed(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", "flash_attention", "on"]) == 0
    assert capsys.readouterr().out == "flash_attention = true (was false)\n"
    assert main(["config", "set", "system_prompt", 'Réponds en français; 100% "sûr".']) == 0
    saved = load_settings(settings_file(home))
    assert saved.flash_attention is True
    assert saved.system_prompt == 'Réponds en français; 100% "sûr".'
    capsys.readouterr()
    assert main(["config", "get", "flash_attention"]) == 0
    assert capsys.readouterr().out == "true\n"


def test_reset_puts_back_the_default(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "set", "context_length", "8192"]) == 0
    assert main(["config", "reset", "context_length"]) == 0
    assert load_settings(settings_file(home)).context_length == 4096
    assert "context_length = 4096 (was 8192)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("theme", "blue", "Allowed values: system, light, dark."),
        ("quantization", "Q4", "Allowed values: auto, Q8_0, Q6_K, Q5_K_M, Q4_K_M"),
        ("flash_attention", "maybe", "Allowed values: true, false"),
        ("context_length", "4k", "a whole number from 256 to 1048576"),
        ("temperature", "9", "a number from 0.0 to 5.0"),
    ],
)
def test_a_bad_value_exits_2_lists_what_is_allowed_and_changes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, allowed: str
) -> None:
    assert main(["config", "set", "theme", "light"]) == 0
    before = settings_file(home).read_bytes()
    capsys.readouterr()
    assert main(["config", "set", key, value]) == 2
    err = capsys.readouterr().err
    assert key in err and value in err
    assert allowed in err
    assert settings_file(home).read_bytes() == before


@pytest.mark.parametrize("action", [["get"], ["set", "x"], ["reset"]])
def test_an_unknown_key_exits_2_and_lists_the_keys(
    home: Path, capsys: pytest.CaptureFixture[str], action: list[str]
) -> None:
    argv = ["config", action[0], "temprature", *action[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no setting called 'temprature'" in err
    assert "Did you mean temperature?" in err
    assert all(key in err for key in Settings.keys())  # noqa: SIM118
    assert not settings_file(home).exists()


def test_a_damaged_settings_file_is_reported_and_kept(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = settings_file(home)
    file.parent.mkdir(parents=True)
    file.write_bytes(b'{"theme": "dark", oops')
    assert main(["config", "set", "theme", "light"]) == 1
    err = capsys.readouterr().err
    assert str(file) in err
    assert file.read_bytes() == b'{"theme": "dark", oops'


def test_config_without_an_action_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["config"])
    assert caught.value.code == 2
    assert "list" in capsys.readouterr().err


def test_path_prints_the_settings_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(settings_file(home))


def test_end_to_end_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "HEARTH_HOME": str(tmp_path)}

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "config", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
        )

    changed = hearth("set", "theme", "dark")
    assert changed.returncode == 0, changed.stderr
    got = hearth("get", "theme")
    assert (got.returncode, got.stdout) == (0, "dark\n")
    refused = hearth("set", "theme", "purple")
    assert refused.returncode == 2
    assert "system, light, dark" in refused.stderr
    saved = json.loads((tmp_path / "config" / "settings.json").read_text(encoding="utf-8"))
    assert saved["theme"] == "dark"


def test_a_models_folder_that_is_a_file_is_refused_and_not_saved(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = settings_file(home)
    assert main(["config", "set", "models_dir", str(tmp_path / "models")]) == 0
    before = file.read_text()
    assert main(["config", "set", "models_dir", "/etc/passwd"]) == 2
    err = capsys.readouterr().err
    assert "models_dir: /etc/passwd is a file, not a folder." in err
    assert file.read_text() == before
    assert load_settings(file).models_dir == str(tmp_path / "models")
