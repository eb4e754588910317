"""Slow calls stay off the GUI thread: the keychain, disk-space checks, header scans.

Each test records the thread that made the call (a keychain that says who asked),
then drives the window as a user would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.secrets import KeyStore
from app.ui.application import Session
from app.ui.dialogs import Ask
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


@pytest.fixture
def keychain() -> RecordingKeychain:
    return RecordingKeychain()


@pytest.fixture
def window(qtbot, keychain: RecordingKeychain) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    session.keys = KeyStore(backend=keychain)
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
