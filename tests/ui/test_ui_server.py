"""Settings → Server in the app: the switch serves the app's one engine to the real `openai`
SDK, the copy buttons, the live line, and the chat's visible wait behind the server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from PySide6.QtGui import QGuiApplication

from app.core.generation import Message, SamplingOptions
from app.core.secrets import KeyStore
from app.core.server import ServerToken
from app.ui.application import Session
from app.ui.main_window import MainWindow
from app.ui.server_panel import ServerPanel
from tests.support.keychain import MemoryKeychain

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def window(qtbot, stories_model: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session(keys=KeyStore(backend=MemoryKeychain()))
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    window.settings = (
        window.settings.with_value("server_port", 0)  # any free port
        .with_value("max_tokens", 8)
        .with_value("temperature", 0.0)
    )
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(stories_model))
    yield window
    window.close()
    session.close()


def switch(panel: ServerPanel, qtbot, on: bool) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.state_changed, timeout=30_000) as changed:
        panel.switch.setChecked(on)
    assert changed.args == [on]


def test_the_switch_serves_the_apps_model_and_stops(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = window.server_panel
    assert not panel.switch.isChecked() and "Off" in panel.address.text()
    assert not panel.copy_url_button.isEnabled()
    switch(panel, qtbot, True)
    url = panel.base_url
    assert url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert f"Serving at {url}" in panel.address.text()
    assert "only programs on this computer" in panel.address.text()
    assert panel.activity.text() == "Idle · 0 served so far"
    client = openai.OpenAI(base_url=url, api_key="not-needed-on-loopback", max_retries=0)
    model = client.models.list().data[0].id
    answer = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Once upon a time"}], max_tokens=8
    )
    assert answer.choices[0].message.content
    qtbot.waitUntil(lambda: panel.activity.text() == "Idle · 1 served so far", timeout=10_000)

    panel.copy_url_button.click()
    assert QGuiApplication.clipboard().text() == url
    assert panel.token.isHidden()  # shown only on request
    panel.copy_token_button.click()
    token = ServerToken(window.context.keys).get()
    assert QGuiApplication.clipboard().text() == token
    panel.show_token_button.click()
    assert not panel.token.isHidden() and panel.token.text() == token
    panel.show_token_button.click()
    assert panel.token.isHidden()

    switch(panel, qtbot, False)
    assert panel.base_url is None and "Off" in panel.address.text()
    with pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_the_apps_server_uses_the_loaded_models_own_settings_read_at_each_request(  # type: ignore[no-untyped-def]
    window: MainWindow, qtbot, stories_model: Path
) -> None:
    from app.core.library import ModelSettings

    window.context.model_settings.set(stories_model, ModelSettings(values={"max_tokens": 3}))
    panel = window.server_panel
    switch(panel, qtbot, True)
    client = openai.OpenAI(base_url=panel.base_url, api_key="x", max_retries=0)
    model = client.models.list().data[0].id

    def completion_tokens() -> int:
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Once"}]
        )
        assert reply.usage is not None
        return reply.usage.completion_tokens

    assert completion_tokens() == 3  # the model's 3, not the app's 8
    window.context.model_settings.set(stories_model, ModelSettings(values={"max_tokens": 5}))
    assert completion_tokens() == 5  # an edit applies to the next request
    window.context.model_settings.set(stories_model, ModelSettings())
    assert completion_tokens() == 8  # back to the app's
    switch(panel, qtbot, False)


def test_the_chat_shows_its_wait_behind_the_servers_requests(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = window.server_panel
    switch(panel, qtbot, True)
    engine = window.context.engine
    assert engine is not None
    held = engine.chat([Message("user", "Hold the model")], SamplingOptions(max_tokens=4))
    client = openai.OpenAI(base_url=panel.base_url, api_key="x", max_retries=0)
    answers: list[str] = []

    def ask() -> None:
        model = client.models.list().data[0].id
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
        )
        answers.append(reply.choices[0].message.content or "")

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: panel.activity.text().startswith("Serving 1 request"), timeout=10_000)

    window.chat_page.composer.setPlainText("Once upon a time")
    window.chat_page._submit()
    notice = window.chat_page.notice
    qtbot.waitUntil(
        lambda: notice.text() == "Waiting for the model (2 requests ahead)…", timeout=10_000
    )
    assert not notice.isHidden()
    held.close()  # the server's request goes next, then the chat's
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    thread.join(timeout=10)
    assert answers and answers[0] is not None
    assert notice.text() == ""
    record = window.store.active_path(window.chat.conversation.id)[-1]  # type: ignore[union-attr]
    assert record.role == "assistant" and record.status == "complete" and record.text
    qtbot.waitUntil(lambda: panel.activity.text() == "Idle · 1 served so far", timeout=10_000)


def test_a_port_in_use_is_said_and_the_switch_stays_off(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        window.settings = window.settings.with_value("server_port", taken.getsockname()[1])
        panel = window.server_panel
        with qtbot.waitSignal(panel.failed, timeout=30_000):
            panel.switch.setChecked(True)
        assert "is in use by another program" in window.notification.text()
        assert not panel.switch.isChecked() and panel.switch.isEnabled()
        assert panel.base_url is None and "Off" in panel.address.text()
    finally:
        taken.close()
