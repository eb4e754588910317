"""A remote server's token is read from the keychain in the background, never in a slot,
and a changed token is the one the next chat sends."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.chat import RemoteModel
from app.core.secrets import KeyStore
from app.ui.application import Session
from app.ui.main_window import MainWindow
from tests.support.keychain import MemoryKeychain
from tests.support.openai_server import TEST_TOKEN, OpenAIServer, openai_server
from tests.ui.test_ui_remote import add, pick, send

__all__ = ["openai_server"]

pytestmark = pytest.mark.usefixtures("qapp")


class WatchedKeychain(MemoryKeychain):
    """Notes each read and whether it ran on the GUI (main) thread."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, bool]] = []

    def get_password(self, service: str, account: str) -> str | None:
        self.reads.append((account, threading.current_thread() is threading.main_thread()))
        return super().get_password(service, account)


@pytest.fixture
def keychain() -> WatchedKeychain:
    return WatchedKeychain()


@pytest.fixture
def window(qtbot, keychain: WatchedKeychain) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session(keys=KeyStore(backend=keychain))
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def test_a_chat_with_a_remote_never_reads_its_token_on_the_gui_thread(
    window: MainWindow, openai_server: OpenAIServer, keychain: WatchedKeychain, qtbot
) -> None:  # type: ignore[no-untyped-def]
    add(window, qtbot, "den", openai_server.api_url, TEST_TOKEN)
    qtbot.waitUntil(lambda: "den answered" in window.remotes_panel.status.text(), timeout=10_000)
    tokens = window.chat.remote_tokens
    assert tokens is not None
    qtbot.waitUntil(lambda: tokens.pending == 0, timeout=10_000)
    pick(window, qtbot, RemoteModel("den", "llama-3-70b"))
    keychain.reads.clear()
    send(window, "Where are you?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {TEST_TOKEN}"
    on_gui = [account for account, main in keychain.reads if main]
    assert on_gui == []

    # A new token for the same server (added again): the next chat sends it.
    openai_server.token = "remote-test-token-renewed-98765"
    window.remotes_panel.status.clear()
    add(window, qtbot, "den", openai_server.api_url, openai_server.token)
    qtbot.waitUntil(lambda: "den answered" in window.remotes_panel.status.text(), timeout=10_000)
    qtbot.waitUntil(lambda: tokens.pending == 0, timeout=10_000)
    keychain.reads.clear()
    send(window, "And now?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {openai_server.token}"
    reply = window.store.active_path(window.chat.conversation.id)[-1]  # type: ignore[union-attr]
    assert reply.status == "complete"
    assert [account for account, main in keychain.reads if main] == []


def test_a_token_changed_elsewhere_is_read_again_after_the_server_refuses_the_old_one(
    window: MainWindow, openai_server: OpenAIServer, keychain: WatchedKeychain, qtbot
) -> None:  # type: ignore[no-untyped-def]
    add(window, qtbot, "den", openai_server.api_url, TEST_TOKEN)
    tokens = window.chat.remote_tokens
    assert tokens is not None
    qtbot.waitUntil(lambda: tokens.pending == 0, timeout=10_000)
    pick(window, qtbot, RemoteModel("den", "llama-3-70b"))
    # As `hearth remote add den URL --token NEW` in another process: same server, new token.
    openai_server.token = "remote-test-token-renewed-98765"
    KeyStore(backend=keychain).remote_token("den").save(openai_server.token)
    send(window, "Hello?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    assert "refused the token (401)" in window.notification.text()
    qtbot.waitUntil(lambda: tokens.pending == 0, timeout=10_000)
    send(window, "Hello again?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {openai_server.token}"
    reply = window.store.active_path(window.chat.conversation.id)[-1]  # type: ignore[union-attr]
    assert reply.status == "complete"
