"""Remote servers in the app: add one in Settings, pick its model in the model bar, chat
with streaming and Stop through the same chat path, and the preview for another computer.

The server is the loopback OpenAI-compatible stand-in (tests/support/openai_server.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.chat import RemoteModel
from app.core.chat.routing import Preview
from app.core.secrets import KeyStore
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow
from tests.support.keychain import MemoryKeychain
from tests.support.openai_server import TEST_TOKEN, OpenAIServer, openai_server

__all__ = ["openai_server"]

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session(keys=KeyStore(backend=MemoryKeychain()))
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def add(window: MainWindow, qtbot, name: str, url: str, token: str = "") -> None:  # type: ignore[no-untyped-def]
    panel = window.remotes_panel
    panel.name_edit.setText(name)
    panel.url_edit.setText(url)
    panel.token_edit.setText(token)
    panel.add_button.click()
    qtbot.waitUntil(lambda: window.settings.remote(name) is not None, timeout=10_000)
    # The settings change on the worker; the panel shows it when the result is back.
    qtbot.waitUntil(lambda: panel.name_edit.text() == "", timeout=10_000)


def pick(window: MainWindow, qtbot, choice: RemoteModel) -> None:  # type: ignore[no-untyped-def]
    selector = window.model_bar.selector

    def index() -> int:
        found = [i for i in range(selector.count()) if selector.itemData(i) == choice]
        return found[0] if found else -1

    qtbot.waitUntil(lambda: index() >= 0, timeout=10_000)
    selector.activated.emit(index())


def send(window: MainWindow, text: str) -> None:
    window.chat_page.composer.setPlainText(text)
    window.chat_page._submit()


def test_a_remote_is_added_its_models_listed_and_a_chat_streams_and_stops(
    window: MainWindow, openai_server: OpenAIServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    panel = window.remotes_panel
    # None yet: the list says so, and nothing in it can be tested or removed.
    assert panel.list.item(0).text() == "No servers yet: add one below."
    panel.list.setCurrentRow(0)
    assert panel.selected() is None and not panel.remove_button.isEnabled()
    add(window, qtbot, "den", openai_server.api_url, TEST_TOKEN)
    assert panel.list.count() == 1  # the server, in place of the line
    assert window.keys.remote_token("den").load() == TEST_TOKEN
    assert panel.token_edit.text() == ""  # kept in the keychain, not in the field
    assert "this computer: nothing leaves it" in panel.list.item(0).text()
    qtbot.waitUntil(lambda: "den answered: 2 models" in panel.status.text(), timeout=10_000)
    selector = window.model_bar.selector
    texts = [selector.itemText(i) for i in range(selector.count())]
    at = texts.index("On den:")
    assert texts[at + 1 : at + 3] == ["    llama-3-70b", "    qwen2.5-coder-32b"]

    pick(window, qtbot, RemoteModel("den", "llama-3-70b"))
    assert window.model_bar.details.text() == "llama-3-70b on den · this computer"
    send(window, "Where are you?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    assert window.status_backend.text() == "den · llama-3-70b"
    conversation = window.chat.conversation
    assert conversation is not None
    reply = window.store.active_path(conversation.id)[-1]
    assert (reply.text, reply.backend, reply.status) == ("Hello from afar.", "remote", "complete")
    assert openai_server.requests[-1].body["messages"][-1]["content"] == "Where are you?"

    openai_server.pieces = ["Once", " upon", " a time"]
    openai_server.stall_after, openai_server.delay = 1, 5.0
    send(window, "Tell me a story.")
    turn = window.chat.session.turn
    assert turn is not None
    qtbot.waitUntil(lambda: turn.live.text == "Once", timeout=10_000)
    assert window.chat_page.stop_button.isVisibleTo(window)
    window.chat_page.stop_button.click()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=2_000)  # not the server's 5 s
    reply = window.store.active_path(conversation.id)[-1]
    assert (reply.text, reply.status) == ("Once", "interrupted")

    panel.remove_button.click()
    qtbot.waitUntil(lambda: "On den:" not in window.model_bar.selector.itemText(1), timeout=5_000)
    assert window.settings.remotes == () and window.keys.remote_token("den").load() is None
    assert window.chat.remote is None and window.model_bar.details.text() == "den was removed"


def test_another_computer_asks_first_and_previews_every_message(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, qtbot
) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, p, t, text: asked.append(text)))
    add(window, qtbot, "gpu", "http://192.168.1.20:8000/v1")
    assert "another computer (http://192.168.1.20:8000/v1)" in asked[0]
    remote = window.settings.remote("gpu")
    assert remote is not None and not remote.allowed  # the person said no
    assert "another computer: not allowed yet" in window.remotes_panel.list.item(0).text()

    window.use_remote(RemoteModel("gpu", "big-model"))
    send(window, "Is this private?")
    assert "not allowed yet" in window.notification.text()
    assert window.chat_page.composer.toPlainText() == "Is this private?"  # kept

    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, *a: True))
    window.remotes_panel.allow_box.click()
    assert window.settings.remote("gpu").allowed  # type: ignore[union-attr]
    shown: list[Preview] = []
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, p, preview: shown.append(preview)))
    send(window, "Is this private?")
    (preview,) = shown
    assert preview.recipient == "gpu (192.168.1.20:8000)"
    assert [m.content for m in preview.messages] == ["Is this private?"]
    assert window.chat.conversation is None  # declined: nothing stored, the text kept
    assert window.chat_page.composer.toPlainText() == "Is this private?"
