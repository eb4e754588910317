"""The window survives llama.cpp dying, and the app says so after it died itself.

Both with real signals to real processes: the engine process killed mid-reply while the
window streams, and the whole app killed with SIGKILL and started again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.inference.host import FAULT_ENV
from app.ui.application import Session
from app.ui.main_window import MainWindow

pytestmark = [pytest.mark.usefixtures("qapp"), pytest.mark.slow]


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def _load(window: MainWindow, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    qtbot.waitUntil(lambda: window.loaded is not None)


def test_engine_killed_mid_reply_keeps_the_window_and_the_text(
    window: MainWindow,
    qtbot,
    slow_chatml_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    # Slow enough (and without an early end of text) to be killed in the middle.
    _load(window, qtbot, slow_chatml_model)
    window.settings = window.settings.with_value("max_tokens", 3000).with_value("temperature", 0.0)
    pid = window.worker.engine.pid
    assert pid is not None
    window.chat_page.composer.setPlainText("Tell me a long story")
    pieces: list[str] = []

    def on_piece(_request: int, text: str) -> None:
        pieces.append(text)
        if len(pieces) == 15:
            os.kill(pid, signal.SIGKILL)

    window.worker.piece.connect(on_piece)
    with qtbot.waitSignal(window.chat.reply_done, timeout=120_000) as done:
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    stats = done.args[0]
    assert str(stats.stop_reason) == "crashed"
    assert window.isVisible()

    conversation = window.chat.conversation
    assert conversation is not None
    saved = window.store.all_messages(conversation.id)[-1]
    assert saved.role == "assistant"
    assert saved.status == "interrupted" and saved.stop_reason == "crashed"
    assert saved.text and saved.text == "".join(pieces)[: len(saved.text)]
    assert "SIGKILL" in (saved.error or "")
    footers = [v.footer.text() for v in window.chat_page.views.values()]
    assert any("the model stopped unexpectedly" in f for f in footers)
    assert "restarted" in window.chat_page.notice.text()

    # The restarted engine has the model again: the next message gets a reply.
    window.worker.piece.disconnect(on_piece)
    window.settings = window.settings.with_value("max_tokens", 20)
    window.chat_page.composer.setPlainText("And then?")
    with qtbot.waitSignal(window.chat.reply_done, timeout=120_000) as again:
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert str(again.args[0].stop_reason) != "crashed"
    assert window.worker.engine.pid != pid


def test_an_amx_style_crash_in_the_app_is_retried_and_explained(
    qtbot,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv(FAULT_ENV, "prompt:SIGSEGV:when=extra_buffers")
    session = Session()
    window = session.build_window()
    window.show()
    try:
        _load(window, qtbot, stories_model)
        window.settings = window.settings.with_value("max_tokens", 20).with_value(
            "temperature", 0.0
        )
        window.chat_page.composer.setPlainText("Once upon a time")
        with qtbot.waitSignal(window.chat.reply_done, timeout=120_000) as done:
            qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
        assert str(done.args[0].stop_reason) != "crashed"
        conversation = window.chat.conversation
        assert conversation is not None
        reply = window.store.all_messages(conversation.id)[-1]
        assert reply.status == "complete" and reply.text
        notice = window.chat_page.notice.text()
        assert "segmentation fault" in notice and "extra weight buffers" in notice
    finally:
        window.close()
        session.close()


_APP = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtWidgets import QApplication
    from app.ui.application import Session
    app = QApplication([])
    session = Session()
    window = session.build_window()
    window.show()
    record = session.store.create_conversation(title="Before the crash")
    session.store.add_message(record.id, role="user", text="Keep this")
    window.open_conversation(record.id)
    window.load_model(sys.argv[1])
    deadline = time.monotonic() + 60
    while window.loaded is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    print("ready", record.id, flush=True)
    while True:
        app.processEvents()
        time.sleep(0.02)
    """
)


def test_after_the_app_was_killed_it_says_so_and_restores_chat_and_model(
    qtbot,
    stories_model: Path,
    hearth_home: Path,  # type: ignore[no-untyped-def]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _APP, str(stories_model)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        assert line[:1] == ["ready"], line
        conversation = int(line[1])
        process.send_signal(signal.SIGKILL)  # no clean exit: nothing is saved at close
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    state = json.loads((hearth_home / "config" / "ui_state.json").read_text())
    assert state["running"] is True
    assert state["last_model"] == str(stories_model)

    session = Session()
    window = session.build_window()
    try:
        window.show()
        assert "closed unexpectedly" in window.chat_page.notice.text()
        assert window.chat.conversation is not None
        assert window.chat.conversation.id == conversation
        qtbot.waitUntil(lambda: window.loaded is not None, timeout=60_000)
        assert window.loaded is not None and window.loaded.path == stories_model
    finally:
        window.close()
        session.close()
    # A clean exit this time: the next start says nothing.
    assert json.loads((hearth_home / "config" / "ui_state.json").read_text())["running"] is False
