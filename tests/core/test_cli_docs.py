"""`hearth docs add / list / remove / reindex / search`, in-process, with the real MiniLM model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.paths import app_paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "boiler.md").write_text(
        "# Boiler\n\nThe boiler service is due every October.\nCall the engineer in September.\n",
        encoding="utf-8",
    )
    (docs / "garden.txt").write_text(
        "Prune the roses in late winter.\nWater the tomatoes daily in July.\n", encoding="utf-8"
    )
    (docs / "photo.txt").write_bytes(b"\x89PNG\x00\x00\x00binary")
    return docs


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def docs(model: Path, *argv: str) -> list[str]:
    return ["docs", "--embedding-model", str(model), *argv]


def test_add_list_search_reindex_remove(
    home: Path, folder: Path, embedding_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(
        capsys, *docs(embedding_model, "add", str(folder), "--collection", "home")
    )
    assert code == 0
    assert "home: 2 indexed, 1 skipped; 2 chunks embedded" in err
    assert "photo.txt: not text: binary content" in err

    code, out, err = run(capsys, "docs", "list")
    assert out.splitlines()[0] == "home: 3 files, 2 chunks, 1 skipped"
    assert str(app_paths().documents / "index.sqlite3") in err
    code, out, _err = run(capsys, "docs", "list", "home", "--json")
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    assert rows["photo.txt"]["status"] == "skipped"
    assert rows["boiler.md"]["chunks"] == 1

    code, out, _err = run(
        capsys, *docs(embedding_model, "search", "when is the heating serviced?", "--json")
    )
    hits = json.loads(out)
    assert Path(hits[0]["path"]).name == "boiler.md"
    assert hits[0]["where"] == "lines 1–4"
    assert hits[0]["vector_score"] > 0.2 and hits[0]["fused_score"] > 0
    code, out, _err = run(capsys, *docs(embedding_model, "search", "roses"))
    assert out.startswith(f"1. {folder / 'garden.txt'}, lines 1–2\n   keyword ")

    (folder / "garden.txt").rename(folder / "garden-notes.txt")
    code, _out, err = run(capsys, *docs(embedding_model, "reindex", "home"))
    assert "1 moved or renamed (re-linked)" in err and "0 chunks embedded" in err

    code, _out, err = run(capsys, "docs", "remove", "home")
    assert code == 0 and "Removed collection 'home'" in err
    code, out, _err = run(capsys, "docs", "list", "--json")
    assert json.loads(out) == []


def test_unknown_collection_and_missing_model_are_clear_errors(
    home: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "docs", "reindex", "nope")
    assert code == 1 and "There is no collection called 'nope'." in err
    assert "hearth docs list" in err
    code, _out, err = run(capsys, "docs", "add", str(folder))
    assert code == 1 and "No embedding model is installed." in err
    assert "hearth pull all-minilm-l6-v2" in err
    # The sources were recorded: `reindex` indexes them once a model is there.
    code, out, _err = run(capsys, "docs", "list")
    assert out.startswith("documents: 0 files, 0 chunks")
    code, _out, err = run(capsys, "docs", "--embedding-model", str(folder / "none.gguf"), "reindex")
    assert code == 1 and "There is no embedding model at" in err


def test_a_path_that_is_not_there_is_a_clear_error_and_adds_nothing(
    home: Path, folder: Path, embedding_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = folder.parent / "dcos"
    argv = docs(embedding_model, "add", str(folder), str(typo), "--collection", "house")
    code, _out, err = run(capsys, *argv)
    assert code == 1
    assert f"Nothing was added to 'house': {typo} does not exist." in err
    assert "Check the path" in err and "Traceback" not in err
    code, out, _err = run(capsys, "docs", "list", "--json")
    assert json.loads(out) == []  # not even the folder that exists: nothing half-added
    # Added again without the typo, it is indexed.
    code, _out, err = run(
        capsys, *docs(embedding_model, "add", str(folder), "--collection", "house")
    )
    assert code == 0
    code, out, _err = run(capsys, "docs", "list", "--json")
    assert [c["name"] for c in json.loads(out)] == ["house"]


def test_an_installed_embedding_model_is_found_without_being_named(
    home: Path, folder: Path, embedding_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = app_paths().models / "second-state" / "MiniLM" / embedding_model.name
    installed.parent.mkdir(parents=True)
    installed.symlink_to(embedding_model)
    code, _out, err = run(capsys, "docs", "add", str(folder / "garden.txt"))
    assert code == 0 and "documents: 1 indexed" in err
    code, out, _err = run(capsys, "models", "--json")
    assert [Path(m["path"]).name for m in json.loads(out)] == [embedding_model.name]


def test_chat_with_docs_lists_the_sources_of_its_reply(
    home: Path,
    folder: Path,
    embedding_model: Path,
    stories_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, *docs(embedding_model, "add", str(folder), "--collection", "home"))
    chat = ["chat", "--model", str(stories_model), "--temperature", "0", "--max-tokens", "8"]
    code, out, err = run(
        capsys,
        *chat,
        "--docs",
        "home",
        "--embedding-model",
        str(embedding_model),
        "--prompt",
        "When is the boiler serviced?",
    )
    assert code == 0, err
    assert out.strip()  # the reply itself, on stdout
    sources = err.split("Sources:\n")[1].splitlines()
    assert sources[0] == f"  [1] {folder / 'boiler.md'}, lines 1–4"
    code, _out, err = run(capsys, *chat, "--docs", "nope", "--prompt", "Hello")
    assert code == 1 and "There is no collection called 'nope'." in err
