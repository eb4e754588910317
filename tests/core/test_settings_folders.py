"""The models folder must be a folder Hearth can write in; anything else is refused, unsaved."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import (
    Settings,
    SettingsChange,
    SettingsError,
    SettingsStore,
    check_writable_folder,
)

NOBODY = 65534


def test_a_writable_folder_is_accepted_and_nothing_is_left_in_it(tmp_path: Path) -> None:
    assert check_writable_folder(str(tmp_path)) == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_does_not_exist_yet_is_accepted_and_not_made(tmp_path: Path) -> None:
    wanted = tmp_path / "new" / "models"
    assert check_writable_folder(f"  {wanted}  ") == wanted
    assert not (tmp_path / "new").exists()


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_writable_folder("~/Models") == tmp_path / "Models"


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0\n")
    with pytest.raises(SettingsError, match=f"{file} is a file, not a folder"):
        check_writable_folder(str(file))
    assert file.read_text() == "root:x:0:0\n"


def test_etc_passwd_is_refused() -> None:
    with pytest.raises(SettingsError, match="is a file, not a folder"):
        check_writable_folder("/etc/passwd")


def test_a_folder_under_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    file.write_text("x")
    with pytest.raises(SettingsError, match=f"cannot be a folder: {file} is a file"):
        check_writable_folder(str(file / "models"))


def test_a_relative_path_is_refused() -> None:
    with pytest.raises(SettingsError, match="not a full path"):
        check_writable_folder("models")


@pytest.fixture
def root_only_folder() -> Iterator[Path]:
    """A folder everyone may enter and only its owner (root, when tests run as root) may write."""
    base = Path(tempfile.mkdtemp(prefix="hearth-ro-", dir="/tmp"))
    base.chmod(0o755)
    folder = base / "models"
    folder.mkdir(mode=0o755)
    folder.chmod(0o555 if os.geteuid() != 0 else 0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(base)


def _check_as_ordinary_user(text: str) -> str:
    """check_writable_folder(text) as a user permission bits do stop: "" or the error."""
    if os.geteuid() != 0:
        try:
            check_writable_folder(text)
        except SettingsError as error:
            return str(error)
        return ""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        os.close(read)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            check_writable_folder(text)
            message = ""
        except SettingsError as error:
            message = str(error)
        except BaseException as error:
            message = f"unexpected {type(error).__name__}: {error}"
        os.write(write, message.encode() or b"-")
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    return "" if message == "-" else message


def test_a_folder_the_user_cannot_write_in_is_refused(root_only_folder: Path) -> None:
    message = _check_as_ordinary_user(str(root_only_folder))
    assert message == f"Hearth cannot write in {root_only_folder}: Permission denied."
    below = _check_as_ordinary_user(str(root_only_folder / "new"))
    assert below == f"Hearth cannot write in {root_only_folder}: Permission denied."
    assert list(root_only_folder.iterdir()) == []


def test_a_folder_the_user_cannot_even_reach_is_refused(tmp_path: Path) -> None:
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    if os.geteuid() != 0:
        hidden.chmod(0o000)
    try:
        message = _check_as_ordinary_user(str(hidden / "models"))
    finally:
        hidden.chmod(0o700)
    assert "Hearth cannot" in message and "Permission denied" in message


def test_the_store_refuses_a_bad_models_folder_and_saves_nothing(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.set("models_dir", str(tmp_path / "models"))
    saved = store.path.read_text()
    heard: list[SettingsChange] = []
    store.subscribe(heard.append)
    file = tmp_path / "a-file"
    file.write_text("x")
    for bad in (str(file), str(file / "x"), "relative/models"):
        with pytest.raises(SettingsError, match=r"^models_dir: ") as caught:
            store.update(store.current.with_value("models_dir", bad).with_value("top_k", 7))
        assert caught.value.hint
    assert store.current.models_dir == str(tmp_path / "models")
    assert store.current.top_k == Settings().top_k
    assert store.path.read_text() == saved
    assert heard == []
    store.set("models_dir", "")  # back to Hearth's own folder: always allowed
    assert store.current.models_dir == ""


def test_a_folder_set_in_the_file_is_read_as_it_is(tmp_path: Path) -> None:
    """A folder on a drive that is not plugged in must not make the settings unreadable."""
    file = tmp_path / "settings.json"
    file.write_text('{"version": 1, "models_dir": "/media/usb-not-here/models"}')
    assert SettingsStore.open(file).current.models_dir == "/media/usb-not-here/models"
