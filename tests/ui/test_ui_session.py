"""The window drives the core chat session: same messages as the CLI, events not rebuilds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.chat.history import HistoryStore
from app.core.generation import Message
from app.ui.application import Session
from app.ui.main_window import MainWindow
from tests.support.conversations import EXPECTED, NEXT, store_mixed_conversation

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def load(window: MainWindow, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    qtbot.waitUntil(lambda: window.loaded is not None)
    window.settings = window.settings.with_value("max_tokens", 8).with_value("temperature", 0.0)


def test_the_window_sends_a_stored_conversation_as_the_cli_does(
    window: MainWindow, qtbot, stories_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    conversation_id = store_mixed_conversation(window.store)
    load(window, qtbot, stories_model)
    engine = window.worker.engine
    seen: list[list[Message]] = []
    real_chat = engine.chat
    monkeypatch.setattr(
        engine, "chat", lambda m, *a, **k: seen.append(list(m)) or real_chat(m, *a, **k)
    )
    window.chat.open(conversation_id)
    window.chat_page.composer.setPlainText(NEXT)
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert seen == [EXPECTED]  # the same list tests/core/test_chat_session.py gets from the CLI


def test_streamed_text_is_saved_off_the_gui_thread(
    window: MainWindow, qtbot, stories_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    load(window, qtbot, stories_model)
    window.settings = window.settings.with_value("max_tokens", 60)
    saves: list[int] = []
    real_save, real_begin = HistoryStore._save_reply, HistoryStore.begin_reply

    def save(self: HistoryStore, message_id: int, text: str) -> None:
        saves.append(threading.get_ident())
        real_save(self, message_id, text)

    def begin(self: HistoryStore, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return real_begin(self, *args, **{**kwargs, "flush_interval": 0.0})  # save every piece

    monkeypatch.setattr(HistoryStore, "_save_reply", save)
    monkeypatch.setattr(HistoryStore, "begin_reply", begin)
    window.chat_page.composer.setPlainText("Once upon a time")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    reply = window.chat.conversation.messages[-1]
    assert reply.status == "complete" and reply.text
    # Every save while streaming ran on the worker's thread, none in a GUI slot.
    assert len(saves) > 10 and threading.main_thread().ident not in saves
    view = window.chat_page.views[reply.id]
    assert view.body.toPlainText().split() == reply.text.split()


def test_options_and_the_system_prompt_change_without_rebuilding_messages(
    window: MainWindow, qtbot
) -> None:  # type: ignore[no-untyped-def]
    conversation_id = store_mixed_conversation(window.store)
    window.chat.open(conversation_id)
    page = window.chat_page
    qtbot.waitUntil(lambda: all(v.isVisibleTo(page) for v in page.views.values()))
    views = dict(page.views)
    assert len(views) == 7
    page.preview_check.click()  # off
    page.system_prompt.setText("Be poetic.")
    page.system_prompt.editingFinished.emit()
    assert page.views == views and all(v.isVisibleTo(page) for v in views.values())
    record = window.store.conversation(conversation_id)
    assert record.options["preview_before_send"] is False
    assert record.system_prompt == "Be poetic."
    # The model sees the new system prompt on the next turn.
    assert window.chat.session.model_messages()[0] == Message("system", "Be poetic.")
