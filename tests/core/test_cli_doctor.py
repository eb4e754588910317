"""`hearth doctor` and `hearth recommend` as a person runs them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.hf_server import FakeHub
from tests.support.keychain import Keychain, keychain

__all__ = ["keychain"]


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_doctor_json_has_the_profile_and_what_it_means(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ram_total"] > 0
    assert data["headroom"]["ram"] > 0
    assert any(
        line.startswith("Llama 3.1 8B models at Q4_K_M with 8k context")
        for line in data["implications"]
    )


def test_doctor_prints_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "RAM" in out and "kept free for the system" in out
    assert "Llama 3.2 3B models at Q4_K_M with 8k context" in out


def test_doctor_says_the_speeds_the_library_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """One estimate everywhere: the machine's measured bandwidth, not a chip's rating."""
    from app.core.advisor import advise, reference_files
    from app.core.inference import detect_machine
    from app.core.machine import CalibrationStore, calibration_key

    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    profile = detect_machine()
    learnt = CalibrationStore().speed_calibration(calibration_key(profile), probe=False)
    assert learnt.bandwidth and data["memory_bandwidth_measured"] == learnt.bandwidth
    label, files = reference_files()[0]
    q4 = [f for f in files if f.quant == "Q4_K_M"]
    advice = advise(q4, profile, context_length=8192, speed=learnt).advice[0]
    line = next(line for line in data["implications"] if line.startswith(label))
    assert f"roughly {advice.tokens_per_second:.0f} token" in line
    unrated = advise(q4, profile, context_length=8192).advice[0].tokens_per_second
    if f"{unrated:.0f}" != f"{advice.tokens_per_second:.0f}":  # the rating would differ
        assert f"roughly {unrated:.0f} token" not in line
    assert main(["doctor"]) == 0
    assert f"Memory     {learnt.bandwidth / 1e9:.1f} GB/s measured" in capsys.readouterr().out


def test_recommend_a_local_folder_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(stories_path(), tmp_path / "stories-F32.gguf")
    assert main(["recommend", str(tmp_path), "--context", "1024", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (entry,) = data["files"]
    assert entry["verdict"] == "cpu_only" and entry["recommended"]
    assert entry["max_context"] >= 1024
    assert entry["sentence"].startswith("Runs on the CPU with 1,024 tokens of context")


def test_recommend_keeps_room_for_the_documents_embedding_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedding_model: Path
) -> None:
    shutil.copy(stories_path(), tmp_path / "stories-F32.gguf")
    assert main(["recommend", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["headroom"]["embedding"] == 0
    assert main(["config", "set", "docs_embedding_model", str(embedding_model)]) == 0
    capsys.readouterr()
    assert main(["recommend", str(tmp_path), "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)["headroom"]["embedding"]
    assert kept > embedding_model.stat().st_size
    assert main(["recommend", str(tmp_path)]) == 0
    assert "of RAM for the embedding model" in capsys.readouterr().out


def test_recommend_a_hub_repo_reads_headers_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stories = stories_path().read_bytes() + bytes(8 * 1024 * 1024)
    with FakeHub() as hub:
        hub.add_repo("test/stories-GGUF", {"stories-F32.gguf": stories})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        assert main(["recommend", "test/stories-GGUF"]) == 0
        assert hub.served("stories-F32.gguf") < 4 * 1024 * 1024
    out = capsys.readouterr().out
    assert "* stories-F32.gguf" in out and "CPU only" in out


def test_recommend_unknown_source_is_a_typed_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "no-such-thing"]) == 1
    assert "neither a file, a folder nor a Hub repo id" in capsys.readouterr().err


def test_recommend_sends_the_stored_token_and_says_when_it_is_refused(
    keychain: Keychain, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "hf_" + "RecommendToken" * 3
    with FakeHub() as hub:
        hub.add_repo(
            "meta/Gated-GGUF", {"g-F32.gguf": stories_path().read_bytes()}, gated=True, token=token
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        assert main(["recommend", "meta/Gated-GGUF"]) == 1
        err = capsys.readouterr().err
        assert "meta/Gated-GGUF is gated" in err and "not found" not in err.lower()
        monkeypatch.setattr("sys.stdin", Pipe(token + "\n"))
        assert main(["token", "set"]) == 0
        hub.auth_seen.clear()
        hub.requests.clear()
        assert main(["recommend", "meta/Gated-GGUF"]) == 0
        assert "* g-F32.gguf" in capsys.readouterr().out
        ranges = [
            a
            for (_, path), a in zip(hub.requests, hub.auth_seen, strict=True)
            if "/resolve/" in path
        ]
        assert ranges and set(ranges) == {f"Bearer {token}"}
        hub.faults.status["g-F32.gguf"] = 401  # the Hub no longer accepts that token
        assert main(["recommend", "meta/Gated-GGUF"]) == 1
        err = capsys.readouterr().err
        assert "refused access to meta/Gated-GGUF/g-F32.gguf (HTTP 401)" in err
        assert "hearth token set" in err and "does not exist" not in err


def test_recommend_offline_says_so_and_reads_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeHub() as hub:
        hub.add_repo("test/stories-GGUF", {"stories-F32.gguf": stories_path().read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        assert main(["config", "set", "offline", "true"]) == 0
        assert main(["recommend", "test/stories-GGUF"]) == 1
        assert hub.requests == []
    err = capsys.readouterr().err
    assert "needs the network, and Hearth is in offline mode" in err
    assert "hearth config set offline false" in err
