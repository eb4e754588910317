"""Claude in the desktop app: opt-in, the key in the real keychain, preview, errors.

The real anthropic SDK talks to the loopback stand-in (``ANTHROPIC_BASE_URL``); the key
lives in a private gnome-keyring on a private D-Bus session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QDialog, QPlainTextEdit, QPushButton, QWidget

from app.core.chat.routing import Preview
from app.core.settings import load_settings
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server
from tests.support.keychain import Keychain, keychain
from tests.support.modal import answer_modal

__all__ = ["claude_server", "keychain"]

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def window(
    keychain: Keychain, claude_server: ClaudeServer, monkeypatch: pytest.MonkeyPatch, qtbot
) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def turn_claude_on(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr(
        Ask, "confirm", classmethod(lambda cls, p, t, text: asked.append(text) or True)
    )
    window.settings_page.editors["claude_enabled"].setChecked(True)
    assert window.settings_page.apply()
    return asked


def set_key(window: MainWindow, monkeypatch: pytest.MonkeyPatch, qtbot) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Ask, "secret", classmethod(lambda cls, *a: TEST_KEY))
    window.claude_key.set_claude_key()  # stored in the background
    status = window.settings_page.key_status
    qtbot.waitUntil(lambda: status.text().startswith("A key is stored"), timeout=10_000)


def test_claude_is_off_until_the_user_opts_in_with_plain_words(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = window.chat_page
    assert not page.ask_claude_button.isVisibleTo(window)
    assert not page.backend.isVisibleTo(window)
    # Declining leaves it off, and off in the file.
    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, *a: False))
    window.settings_page.editors["claude_enabled"].setChecked(True)
    window.settings_page.apply()
    assert not load_settings(window.paths.settings_file).claude_enabled
    assert not window.settings_page.editors["claude_enabled"].isChecked()
    asked = turn_claude_on(window, monkeypatch)
    assert len(asked) == 1
    assert "messages and its system prompt" in asked[0] and "api.anthropic.com" in asked[0]
    assert load_settings(window.paths.settings_file).claude_enabled
    assert page.ask_claude_button.isVisibleTo(window)


def test_the_key_goes_to_the_keychain_never_to_a_file(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, keychain: Keychain, qtbot
) -> None:  # type: ignore[no-untyped-def]
    set_key(window, monkeypatch, qtbot)
    assert "stored" in window.settings_page.key_status.text()
    assert window.keys.claude.load() == TEST_KEY
    for path in window.paths.config.parent.rglob("*"):
        if path.is_file():
            assert TEST_KEY.encode() not in path.read_bytes(), path


def test_ask_claude_previews_exactly_what_is_sent_then_streams_the_reply(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    shown: list[Preview] = []
    monkeypatch.setattr(
        Ask, "preview", classmethod(lambda cls, p, preview: shown.append(preview) or True)
    )
    window.chat_page.system_prompt.setText("Be brief.")
    window.chat_page.composer.setPlainText("What is GGUF?")
    window.chat_page.ask_claude_button.click()
    conversation = window.chat.conversation
    assert conversation is not None, window.notification.text()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    reply = conversation.messages[-1]
    assert reply.text == "Hello from Claude."
    assert reply.backend == "claude" and reply.model == shown[0].model
    assert reply.prompt_tokens == 25
    (preview,) = shown
    assert preview.system == "Be brief."
    assert [m.content for m in preview.messages] == ["What is GGUF?"]
    (sent,) = claude_server.requests
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"] == [{"role": "user", "content": "What is GGUF?"}]
    assert sent.body["model"] == preview.model
    assert "Claude" in window.status_backend.text()


def test_the_preview_shows_each_text_exactly_as_it_is_sent_indentation_and_all(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    question = (
        "Why does this fail?\n\n```python\ndef f(x):\n    if x:\n\treturn  x * 2   \n"
        "        # deeper\n```\n<b>not bold</b> &amp;"
    )
    shown: list[str] = []

    def send(modal: QWidget) -> None:
        shown.extend(view.toPlainText() for view in modal.findChildren(QPlainTextEdit))
        for button in modal.findChildren(QPushButton):
            if button.text() == "Send to Claude":
                button.click()
                return
        assert isinstance(modal, QDialog)
        modal.reject()

    answer_modal(send)
    window.chat_page.system_prompt.setText("  Be brief,\tplease.")
    window.chat_page.composer.setPlainText(question)
    window.chat_page.ask_claude_button.click()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    (sent,) = claude_server.requests
    assert shown == [sent.body["system"], *(m["content"] for m in sent.body["messages"])]
    assert "    if x:\n\treturn  x * 2   \n        # deeper" in shown[-1]
    assert shown[-1].endswith("<b>not bold</b> &amp;")


def test_a_declined_preview_sends_nothing_and_keeps_the_text(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: False))
    window.chat_page.composer.setPlainText("Private thoughts")
    window.chat_page.ask_claude_button.click()
    assert claude_server.requests == []
    assert window.chat_page.composer.toPlainText() == "Private thoughts"
    assert window.chat.conversation is None


def test_an_invalid_key_is_a_clear_message_and_the_chat_stays_intact(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    claude_server.fail = [401]
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: True))
    window.chat_page.composer.setPlainText("Hello")
    window.chat_page.ask_claude_button.click()
    qtbot.waitUntil(window.notification.isVisible, timeout=30_000)
    assert "key" in window.notification.text().lower()
    assert TEST_KEY not in window.notification.text()
    conversation = window.chat.conversation
    assert conversation is not None
    user, reply = conversation.messages
    assert user.text == "Hello" and reply.status == "error"


def test_offline_mode_blocks_claude_with_a_clear_message(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    window.settings = window.settings.with_value("offline", True)
    window.chat.send("Hello", ask_claude=True)
    assert "offline" in window.notification.text().lower()
    assert claude_server.requests == []


def test_a_conversation_can_turn_the_preview_off(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    previews: list[object] = []
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: previews.append(a) or True))
    window.chat_page.preview_check.click()  # off, for this conversation
    conversation = window.chat.conversation
    assert conversation is not None
    assert conversation.record.options["preview_before_send"] is False
    window.chat_page.composer.setPlainText("No preview please")
    window.chat_page.ask_claude_button.click()
    qtbot.waitUntil(
        lambda: not window.chat.busy and len(claude_server.requests) == 1, timeout=30_000
    )
    assert previews == []
    # Another conversation still previews.
    window.open_conversation(None)
    assert window.chat_page.preview_check.isChecked()


def test_regenerating_a_claude_reply_asks_claude_again_and_keeps_both(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: True))
    window.chat_page.composer.setPlainText("Tell me a fact")
    window.chat_page.ask_claude_button.click()
    qtbot.waitUntil(
        lambda: not window.chat.busy and len(claude_server.requests) == 1, timeout=30_000
    )
    conversation = window.chat.conversation
    assert conversation is not None
    first = conversation.messages[-1]
    claude_server.pieces = ["Another", " fact."]
    window.chat_page.regenerate_button.click()  # no local model is loaded at all
    qtbot.waitUntil(
        lambda: not window.chat.busy and len(claude_server.requests) == 2, timeout=30_000
    )
    second = conversation.messages[-1]
    assert second.id != first.id and second.backend == "claude"
    assert second.text == "Another fact."
    assert conversation.versions(second.id) == (2, 2)
    # The second request sent the same history, without the replaced reply.
    assert claude_server.requests[1].body["messages"] == [
        {"role": "user", "content": "Tell me a fact"}
    ]


def test_ask_each_time_lets_the_user_choose_per_message(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    window.settings = window.settings.with_value("routing", "ask")
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: True))
    answers = iter(["Answer locally", "Ask Claude"])
    monkeypatch.setattr(Ask, "choose", classmethod(lambda cls, *a: next(answers)))
    window.chat_page.composer.setPlainText("First")
    window.chat_page.send_button.click()  # locally: no model is loaded, so it says so
    assert "No model is loaded" in window.chat_page.notice.text()
    assert claude_server.requests == []
    window.chat_page.send_button.click()  # the same text, now to Claude
    qtbot.waitUntil(
        lambda: not window.chat.busy and len(claude_server.requests) == 1, timeout=30_000
    )
    assert window.chat.conversation is not None
    assert window.chat.conversation.messages[-1].backend == "claude"


def test_the_claude_model_menu_names_each_model_with_its_price(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.core.settings import Settings
    from app.ui.settings_page import SettingsPage

    page = SettingsPage(Settings())
    qtbot.addWidget(page)
    box = page.editors["claude_model"]
    shown = [box.itemText(i) for i in range(box.count())]
    assert shown[0] == ("Claude Sonnet 4.6 — $3 in / $15 out per million tokens, 200K context")
    assert "Claude Haiku 4.5 — $1 in / $5 out per million tokens, 200K context" in shown
    applied: list[Settings] = []
    page.applied.connect(lambda settings, _keys: applied.append(settings))
    box.setCurrentIndex(shown.index(next(s for s in shown if s.startswith("Claude Opus 4.6"))))
    assert page.apply()
    assert applied[-1].claude_model == "claude-opus-4-6"
    page.show_settings(Settings())  # Revert shows the saved value's label again
    assert box.currentText().startswith("Claude Sonnet 4.6")


def test_sending_to_claude_never_reads_the_keychain_in_a_slot(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, claude_server: ClaudeServer, qtbot
) -> None:  # type: ignore[no-untyped-def]
    import threading

    turn_claude_on(window, monkeypatch)
    set_key(window, monkeypatch, qtbot)
    chat = window.chat

    def read_behind() -> bool:  # every background read of the key is back
        return chat.key_reads_pending == 0 and chat._key_read and chat._key == TEST_KEY

    qtbot.waitUntil(read_behind, timeout=10_000)
    qtbot.wait(300)  # a status shown late would start another read
    qtbot.waitUntil(read_behind, timeout=10_000)
    reads: list[int] = []
    secret = window.keys.claude
    real_load = secret.load
    monkeypatch.setattr(secret, "load", lambda: reads.append(threading.get_ident()) or real_load())
    monkeypatch.setattr(Ask, "preview", classmethod(lambda cls, *a: True))
    window.chat_page.composer.setPlainText("Hello")
    window.chat_page.ask_claude_button.click()
    qtbot.waitUntil(
        lambda: len(claude_server.requests) == 1 and not window.chat.busy, timeout=30_000
    )
    assert window.chat.conversation.messages[-1].text == "Hello from Claude."
    assert threading.main_thread().ident not in reads
