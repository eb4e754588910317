"""The installed-models library: list, delete, import, last used."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.errors import NotAModelFileError, StorageError, TruncatedModelError
from app.core.library.downloads import NotEnoughDiskSpaceError
from app.core.library.installed import (
    AmbiguousModelNameError,
    ImportMode,
    Library,
    LibraryError,
    ModelAlreadyInstalledError,
    ModelNotInstalledError,
    reveal_command,
)
from tests.support.gguf_factory import quantize, write_llama_gguf


@pytest.fixture(scope="module")
def q4_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("src")
    f32 = write_llama_gguf(folder / "f32.gguf")
    return quantize(f32, folder / "Tiny-Q4_K_M.gguf", "Q4_K_M")


def test_lists_downloads_with_size_quant_repo_and_last_used(tmp_path: Path, q4_file: Path) -> None:
    models = tmp_path / "models"
    target = models / "bartowski" / "Tiny-GGUF" / "Tiny-Q4_K_M.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(q4_file.read_bytes())
    (target.parent / "Other-Q8_0.gguf.incomplete").write_bytes(b"half")  # a download
    library = Library(models_dir=models)

    [model] = library.installed()
    assert model.name == "Tiny-Q4_K_M"
    assert model.quant == "Q4_K_M"  # from the header
    assert model.architecture == "llama"
    assert model.size == q4_file.stat().st_size
    assert model.repo_id == "bartowski/Tiny-GGUF"
    assert model.last_used is None and not model.referenced and model.problem is None

    library.mark_used(target, when=1234.0)
    assert library.find("tiny").last_used == 1234.0
    assert library.installed()[0].to_dict()["last_used"] == 1234.0


def test_split_model_is_one_entry_and_a_missing_shard_is_shown(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "someone" / "Big-GGUF"
    folder.mkdir(parents=True)
    for i in (1, 2, 3):
        write_llama_gguf(folder / f"Big-Q8_0-{i:05d}-of-00003.gguf", seed=i)
    library = Library(models_dir=tmp_path / "models")
    [model] = library.installed()
    assert model.name == "Big-Q8_0" and len(model.files) == 3
    assert model.path.name.endswith("00001-of-00003.gguf")
    assert model.size == sum(f.stat().st_size for f in model.files)

    (folder / "Big-Q8_0-00002-of-00003.gguf").unlink()
    [broken] = library.installed()
    assert broken.problem == "Shard 2 of 3 is missing."


def test_a_damaged_file_is_listed_with_its_problem(tmp_path: Path, q4_file: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "Cut-Q4_K_M.gguf").write_bytes(q4_file.read_bytes()[:-1000])
    [model] = Library(models_dir=models).installed()
    assert model.problem is not None and "cut short" in model.problem


def test_delete_removes_files_and_empty_folders(tmp_path: Path, q4_file: Path) -> None:
    models = tmp_path / "models"
    target = models / "bartowski" / "Tiny-GGUF" / "Tiny-Q4_K_M.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(q4_file.read_bytes())
    library = Library(models_dir=models)
    library.mark_used(target)
    removed = library.delete("Tiny-Q4_K_M")
    assert removed.path == target and not target.exists()
    assert not (models / "bartowski").exists()
    assert library.installed() == []
    with pytest.raises(ModelNotInstalledError):
        library.delete("Tiny-Q4_K_M")


def test_import_copy_and_reference(tmp_path: Path, q4_file: Path) -> None:
    library = Library(models_dir=tmp_path / "models")
    copied = library.import_file(q4_file)
    assert copied.path == tmp_path / "models" / "imported" / q4_file.name
    assert copied.path.read_bytes() == q4_file.read_bytes() and not copied.referenced
    assert not list((tmp_path / "models").rglob("*.incomplete"))
    with pytest.raises(ModelAlreadyInstalledError):
        library.import_file(q4_file)

    elsewhere = tmp_path / "mine" / "Mine-Q4_K_M.gguf"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(q4_file.read_bytes())
    referenced = library.import_file(elsewhere, mode=ImportMode.REFERENCE)
    assert referenced.referenced and referenced.path == elsewhere
    with pytest.raises(AmbiguousModelNameError):
        library.find("Q4_K_M")
    assert {m.name for m in library.installed()} == {"Tiny-Q4_K_M", "Mine-Q4_K_M"}

    forgotten = library.delete("Mine-Q4_K_M")
    assert forgotten.referenced and elsewhere.exists(), "a referenced file must never be deleted"
    assert [m.name for m in library.installed()] == ["Tiny-Q4_K_M"]


def test_import_refuses_what_is_not_a_model(tmp_path: Path, q4_file: Path) -> None:
    library = Library(models_dir=tmp_path / "models")
    text = tmp_path / "notes.gguf"
    text.write_text("hello, this is not a model")
    with pytest.raises(NotAModelFileError, match=r"notes\.gguf cannot be imported"):
        library.import_file(text)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(q4_file.read_bytes()[:-10])
    with pytest.raises(TruncatedModelError):
        library.import_file(cut, mode=ImportMode.REFERENCE)
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(q4_file.read_bytes())
    with pytest.raises(LibraryError, match=r"does not end in \.gguf"):
        library.import_file(renamed)
    assert library.installed() == []
    assert not (tmp_path / "models" / "imported").exists()


def test_import_checks_space_and_split_completeness(tmp_path: Path, q4_file: Path) -> None:
    tight = Library(models_dir=tmp_path / "models", free_space=lambda folder: 1000)
    with pytest.raises(NotEnoughDiskSpaceError, match="only 1,000"):
        tight.import_file(q4_file)
    shard = tmp_path / "Big-Q8_0-00001-of-00002.gguf"
    write_llama_gguf(shard)
    with pytest.raises(LibraryError, match="only 1 are"):
        tight.import_file(shard, mode=ImportMode.REFERENCE)


def test_reveal_command_names_the_file_manager(tmp_path: Path) -> None:
    command = reveal_command(tmp_path / "x.gguf")
    expected = {"darwin": "open", "win32": "explorer"}.get(sys.platform, "xdg-open")
    assert command[0] == expected


def test_a_models_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0\n")
    library = Library(models_dir=file)
    with pytest.raises(StorageError, match=f"models folder {file} is a file") as caught:
        library.installed()
    assert "index" not in caught.value.describe()
    assert file.read_text() == "root:x:0:0\n"
