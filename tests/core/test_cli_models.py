"""`hearth models / search / pull / rm / import`, run in-process against a loopback Hub."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.library.catalog import load_catalog
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, save_settings
from tests.support.gguf_factory import write_llama_gguf
from tests.support.hf_server import FakeHub
from tests.support.keychain import Keychain, keychain, no_keychain

__all__ = ["keychain", "no_keychain"]

CATALOG_ID = "llama-3.2-1b-instruct"
HUB_TOKEN = "hf_" + "T0ken" * 7


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        model = load_catalog().get(CATALOG_ID)
        files = {
            entry.filename: write_llama_gguf(tmp_path / f"{quant}.gguf", seed=i).read_bytes()
            for i, (quant, entry) in enumerate(model.files.items())
        }
        server.add_repo(model.repo, files, downloads=5000)
        server.add_repo(
            "someone/Llama-Fork-GGUF",
            {
                "fork-Q5_K_M.gguf": files[model.file("Q5_K_M").filename],
                "fork-Q4_K_M.gguf": files[model.file("Q4_K_M").filename],
            },
            downloads=10,
        )
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_pull_with_quant_then_models_then_rm(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "pull", CATALOG_ID, "--quant", "Q4_K_M")
    assert code == 0, err
    target = app_paths().models / "bartowski" / "Llama-3.2-1B-Instruct-GGUF"
    path = target / "Llama-3.2-1B-Instruct-Q4_K_M.gguf"
    assert f"Installed {path} (SHA-256 verified)" in out
    assert "100% [" in err  # the progress bar reached the end
    assert path.exists()
    served = fake.served("Llama-3.2-1B-Instruct-Q4_K_M.gguf")
    code, out, _ = run(capsys, "pull", CATALOG_ID, "--quant", "Q4_K_M")
    assert code == 0 and f"already installed: {path}" in out
    assert fake.served("Llama-3.2-1B-Instruct-Q4_K_M.gguf") == served

    code, out, _ = run(capsys, "models", "--json")
    [entry] = json.loads(out)
    assert entry["path"] == str(path) and entry["repo_id"] == "bartowski/Llama-3.2-1B-Instruct-GGUF"
    assert entry["size"] == path.stat().st_size

    code, out, _ = run(capsys, "rm", "Llama-3.2-1B-Instruct-Q4_K_M")
    assert code == 0 and "Deleted Llama-3.2-1B-Instruct-Q4_K_M" in out
    assert not path.exists()
    code, out, _ = run(capsys, "models")
    assert "No models installed" in out


def test_pull_without_quant_explains_its_choice(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "pull", CATALOG_ID)
    assert code == 0, err
    chosen = out.split("Choosing ")[1].split(":")[0]
    assert chosen in load_catalog().get(CATALOG_ID).files
    assert "advised for this computer" in out or "advisor is not available" in out
    assert f"Llama-3.2-1B-Instruct-{chosen}.gguf" in out


def test_pull_of_another_repo_uses_the_setting_then_q4_k_m(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "pull", "someone/Llama-Fork-GGUF")
    assert code == 0 and "Choosing Q4_K_M: Hearth's default" in out
    save_settings(Settings().with_value("quantization", "Q5_K_M"), app_paths().settings_file)
    code, out, _ = run(capsys, "pull", "someone/Llama-Fork-GGUF")
    assert code == 0 and "Choosing Q5_K_M: your quantization setting" in out
    assert (app_paths().models / "someone" / "Llama-Fork-GGUF" / "fork-Q5_K_M.gguf").exists()


def test_pull_list_and_unknown_file(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "pull", CATALOG_ID, "--list")
    assert code == 0 and out.count(".gguf") == 4 and "Q8_0" in out
    code, _, err = run(capsys, "pull", CATALOG_ID, "--file", "nope.gguf")
    assert code == 1 and "has no file named nope.gguf" in err
    assert "GGUF files offered: Q4_K_M, Q5_K_M, Q6_K, Q8_0" in err
    code, _, err = run(capsys, "pull", "not a repo")
    assert code == 1 and "is not a Hugging Face repository name" in err


def test_search_shows_catalog_and_hub(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "llama", "--json")
    assert code == 0
    data = json.loads(out)
    assert CATALOG_ID in [m["id"] for m in data["catalog"]]
    assert [r["repo"] for r in data["hub"]] == [
        "bartowski/Llama-3.2-1B-Instruct-GGUF",
        "someone/Llama-Fork-GGUF",
    ]
    code, out, _ = run(capsys, "search", "fork")
    assert code == 0 and "someone/Llama-Fork-GGUF" in out and "In Hearth's catalog" not in out


def test_search_without_a_network_still_shows_the_catalog_in_plain_words(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://hearth-test.invalid")  # never resolves
    code, out, err = run(capsys, "search", "qwen")
    assert code == 0 and "In Hearth's catalog" in out and "qwen2.5-7b-instruct" in out
    assert "You're offline" in err and "Errno" not in err
    code, _, err = run(capsys, "search", "zzz-no-such")
    assert code == 1 and "You're offline" in err


def test_offline_mode_says_what_needs_the_network_and_opens_no_socket(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(Settings().with_value("offline", True), app_paths().settings_file)

    def refuse(*args: object) -> None:
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    code, _, err = run(capsys, "pull", CATALOG_ID)
    assert code == 1 and "Downloading llama-3.2-1b-instruct needs the network" in err
    assert "offline" in err
    code, out, err = run(capsys, "search", "qwen")
    assert code == 0 and "qwen2.5-7b-instruct" in out  # the catalog still answers
    assert "Searching Hugging Face needs the network" in err
    code, _, err = run(capsys, "search", "zzz-no-such")
    assert code == 1 and "needs the network" in err
    code, out, _ = run(capsys, "models", "--catalog", "--json")
    assert len(json.loads(out)) == len(load_catalog())


def test_gated_repo_message(
    home: Path, fake: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_llama_gguf(tmp_path / "g.gguf").read_bytes()
    fake.add_repo("meta-llama/Locked-GGUF", {"Locked-Q4_K_M.gguf": data}, gated=True, token="t")
    code, _, err = run(capsys, "pull", "meta-llama/Locked-GGUF")
    assert code == 1
    assert "meta-llama/Locked-GGUF is gated" in err and "accept its licence" in err
    assert not list(app_paths().models.rglob("*.gguf"))


def test_import_copy_and_reference(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_llama_gguf(tmp_path / "Mine-F32.gguf")
    code, out, _ = run(capsys, "import", str(source))
    assert code == 0 and "was copied to" in out
    other = write_llama_gguf(tmp_path / "Other-F32.gguf", seed=3)
    code, out, _ = run(capsys, "import", str(other), "--reference")
    assert code == 0 and "will be used where it is" in out
    code, out, _ = run(capsys, "rm", "Other-F32")
    assert "its file stays" in out and other.exists()
    junk = tmp_path / "junk.gguf"
    junk.write_text("junk")
    code, _, err = run(capsys, "import", str(junk))
    assert code == 1 and "junk.gguf cannot be imported" in err


def test_token_set_status_clear(
    home: Path,
    keychain: Keychain,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", Pipe(HUB_TOKEN + "\n"))
    code, out, _ = run(capsys, "token", "set")
    assert code == 0 and "system keychain" in out and HUB_TOKEN not in out
    assert KeyStore().hub_token.load() == HUB_TOKEN
    assert KeyStore().claude.load() is None  # the token is not the Claude key
    assert run(capsys, "token", "status")[1].strip() == "A token is stored."
    assert "Removed" in run(capsys, "token", "clear")[1]
    assert run(capsys, "token", "status")[1].strip() == "No token is stored."


def test_token_set_without_a_keychain_refuses_before_reading_it(
    home: Path,
    no_keychain: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", Pipe(HUB_TOKEN + "\n"))
    code, _, err = run(capsys, "token", "set")
    assert code == 1 and "cannot keep the Hugging Face token" in err
    assert "never in a file" in err
    import sys

    assert sys.stdin.read() == HUB_TOKEN + "\n"  # refused before the token was read
    assert not any(HUB_TOKEN.encode() in p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_catalog_refresh_from_the_cli(
    home: Path, fake: FakeHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "models", "--catalog", "--refresh", "--json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)}
    assert rows[CATALOG_ID]["sizes_exact"] is True
    assert rows["llama-3.1-8b-instruct"]["sizes_exact"] is False
    assert "kept the catalog's sizes for bartowski/Meta-Llama-3.1-8B-Instruct-GGUF" in err
    # Cached: the next, offline, listing still has the exact figures.
    save_settings(Settings().with_value("offline", True), app_paths().settings_file)
    code, out, _ = run(capsys, "models", "--catalog", "--json")
    assert {r["id"]: r for r in json.loads(out)}[CATALOG_ID]["sizes_exact"] is True


def test_pull_an_embedding_model_takes_its_tested_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_catalog().get("all-minilm-l6-v2")
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        files = {
            entry.filename: write_llama_gguf(tmp_path / f"{quant}.gguf", seed=i).read_bytes()
            for i, (quant, entry) in enumerate(model.files.items())
        }
        server.add_repo(model.repo, files, downloads=100)
        code, out, err = run(capsys, "pull", "all-minilm-l6-v2")
    assert code == 0, err
    assert "Choosing F16: the catalog's file for this embedding model" in out
    assert (app_paths().models / model.repo / "all-MiniLM-L6-v2-ggml-model-f16.gguf").exists()
