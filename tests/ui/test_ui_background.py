"""Slow calls stay off the GUI thread: the keychain, disk-space checks, header scans.

Each test records the thread that made the call (a keychain that says who asked,
wrappers around the library's scan, the header reader and the disk-space probe), then
drives the window as a user would.
"""

from __future__ import annotations

import importlib
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.secrets import KeyStore
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.library_page import HUB_ACTIONS
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("qapp")


class RecordingKeychain:
    """A keyring backend in memory that remembers which threads called it."""

    name = "Test keychain"

    def __init__(self) -> None:
        self.password: str | None = None
        self.threads: list[threading.Thread] = []

    def get_password(self, _service: str, _account: str) -> str | None:
        self.threads.append(threading.current_thread())
        return self.password

    def set_password(self, _service: str, _account: str, value: str) -> None:
        self.threads.append(threading.current_thread())
        self.password = value

    def delete_password(self, _service: str, _account: str) -> None:
        self.threads.append(threading.current_thread())
        self.password = None


class Calls:
    """Wraps functions to count their calls and remember their threads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.threads: dict[str, list[threading.Thread]] = {}

    def watch(self, target: str, name: str) -> None:
        owner, attribute = _owner(target)
        original: Callable[..., Any] = getattr(owner, attribute)
        seen = self.threads.setdefault(name, [])

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen.append(threading.current_thread())
            return original(*args, **kwargs)

        self.monkeypatch.setattr(owner, attribute, wrapper)

    def count(self, name: str) -> int:
        return len(self.threads.get(name, []))

    def on_the_gui_thread(self) -> dict[str, int]:
        main = threading.main_thread()
        return {name: sum(t is main for t in seen) for name, seen in self.threads.items()}


def _owner(target: str) -> tuple[Any, str]:
    """The object holding ``target``'s last name: a module, or a class in one."""
    parts = target.split(".")
    for end in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1]
    raise ValueError(target)


@pytest.fixture
def keychain() -> RecordingKeychain:
    return RecordingKeychain()


@pytest.fixture
def window(qtbot, keychain: RecordingKeychain) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session(keys=KeyStore(backend=keychain))
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def test_the_claude_key_is_stored_tested_and_forgotten_off_the_gui_thread(
    window: MainWindow, qtbot, keychain: RecordingKeychain, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    status = window.settings_page.key_status
    qtbot.waitUntil(lambda: status.text() == "No key yet. It will be kept in Test keychain.")
    monkeypatch.setattr(Ask, "secret", classmethod(lambda cls, *a: "sk-ant-" + "k" * 40))
    with qtbot.waitSignal(window.claude_key.status_shown, timeout=10_000):
        window.claude_key.set_claude_key()
    assert status.text() == "A key is stored (keychain)."
    assert keychain.password == "sk-ant-" + "k" * 40
    with qtbot.waitSignal(window.claude_key.status_shown, timeout=10_000):
        window.claude_key.clear_claude_key()
    assert keychain.password is None and status.text().startswith("No key yet.")
    with qtbot.waitSignal(window.claude_key.failed, timeout=10_000):
        window.claude_key.test_claude_key()
    qtbot.waitUntil(window.notification.isVisible)
    assert "There is no key to test." in window.notification.text()
    assert keychain.threads and threading.main_thread() not in keychain.threads


def test_a_download_scans_the_library_once_and_nothing_slow_runs_in_a_slot(
    window: MainWindow, qtbot, stories_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.support.hf_server import FakeHub

    calls = Calls(monkeypatch)
    calls.watch("app.core.secrets.Secret.load", "a secret from the keychain")
    calls.watch("shutil.disk_usage", "free disk space")
    calls.watch("app.core.library.installed.read_header", "GGUF header")
    calls.watch("app.core.library.installed.Library.installed", "library scan")
    calls.watch("app.core.library.installed.Library.delete", "delete")
    page = window.library_page
    with FakeHub() as hub:
        hub.add_repo("tiny/Stories-GGUF", {"stories-F32.gguf": stories_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        window.show_page("library")
        qtbot.waitUntil(lambda: calls.count("library scan") >= 1)
        qtbot.waitUntil(lambda: page.installed.count() == 1)  # "No models yet"
        page.search_box.setText("stories")
        page.search_hub()
        qtbot.waitUntil(lambda: page.hub_tree.topLevelItemCount() == 1, timeout=30_000)
        repo = page.hub_tree.topLevelItem(0)
        repo.setExpanded(True)
        qtbot.waitUntil(lambda: repo.childCount() == 1, timeout=30_000)
        scans_before = calls.count("library scan")
        page.hub_tree.itemWidget(repo.child(0), HUB_ACTIONS).click()  # Download
        qtbot.waitUntil(lambda: page.installed_count == 1, timeout=60_000)
        selector = window.model_bar.selector
        names = [selector.itemText(i) for i in range(selector.count())]
        assert "stories-F32.gguf" in names  # the selector got the same scan's result
        qtbot.wait(500)  # time for a second scan, were there one
        assert calls.count("library scan") == scans_before + 1
    assert calls.count("free disk space") >= 1 and calls.count("GGUF header") >= 1
    assert calls.count("a secret from the keychain") >= 2  # search, list, download
    # Delete it again: the file goes, off the GUI thread too.
    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, *a: True))
    page.installed.setCurrentRow(0)
    page.delete_button.click()
    qtbot.waitUntil(lambda: page.installed_count == 0, timeout=10_000)
    assert calls.count("delete") == 1
    assert calls.on_the_gui_thread() == {name: 0 for name in calls.threads}
    assert not list(window.settings.models_folder().rglob("*.gguf"))


def test_a_failed_download_start_is_reported_from_the_background(
    window: MainWindow, qtbot, monkeypatch: pytest.MonkeyPatch, stories_model: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.support.hf_server import FakeHub

    monkeypatch.setattr(
        "app.core.library.downloads.shutil.disk_usage",
        lambda _path: shutil._ntuple_diskusage(10, 10, 0),  # type: ignore[attr-defined]
    )
    page = window.library_page
    with FakeHub() as hub:
        hub.add_repo("tiny/Stories-GGUF", {"stories-F32.gguf": stories_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        page.search_box.setText("stories")
        page.search_hub()
        qtbot.waitUntil(lambda: page.hub_tree.topLevelItemCount() == 1, timeout=30_000)
        repo = page.hub_tree.topLevelItem(0)
        repo.setExpanded(True)
        qtbot.waitUntil(lambda: repo.childCount() == 1, timeout=30_000)
        # The file's verdict reads its header first; the download itself must send nothing.
        qtbot.waitUntil(lambda: repo.child(0).text(2) not in ("…", ""), timeout=30_000)
        hub.reset_counts()
        with qtbot.waitSignal(page.failed, timeout=10_000):
            page.hub_tree.itemWidget(repo.child(0), HUB_ACTIONS).click()
    qtbot.waitUntil(window.notification.isVisible)
    assert "free" in window.notification.text() and "Free some space" in window.notification.text()
    assert hub.served("stories-F32.gguf") == 0
