"""The first ten minutes, driven as a new user would: a first run that leads to a model,
replies shown as what they are, closable banners, plain network errors, the menu bar,
and nothing lost (Recently deleted, confirmations)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core.library import HubUnavailableError
from app.core.library.catalog import CATALOG_FILE
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.library_page import ADVICE_ROLE
from app.ui.main_window import MainWindow
from app.ui.model_bar import GET_MODEL

pytestmark = pytest.mark.usefixtures("qapp")

REPO = "tiny/Stories-GGUF"
FILE = "stories260K-F32.gguf"


@pytest.fixture
def session() -> Iterator[Session]:
    session = Session()
    yield session
    session.close()


@pytest.fixture
def window(session: Session, qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def load(window: MainWindow, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    qtbot.waitUntil(lambda: window.loaded is not None)


def stories_catalog(tmp_path: Path, stories_model: Path) -> Path:
    """A catalog of one model, the real stories260K, served by the Hub stand-in."""
    data = json.loads(CATALOG_FILE.read_text())
    data["models"] = [
        {
            "id": "stories-260k",
            "name": "Stories 260K",
            "repo": REPO,
            "license": "mit",
            "parameters": 260_000,
            "architecture": "llama",
            "header": {
                "n_layer": 5,
                "n_embd": 64,
                "n_head": 8,
                "n_head_kv": 4,
                "n_ff": 172,
                "n_vocab": 512,
                "n_ctx_train": 2048,
            },
            "description": "A tiny story teller.",
            "files": {"F32": {"file": FILE, "size": stories_model.stat().st_size}},
        }
    ]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    return path


# -- 1. a first run that leads ---------------------------------------------------------


def test_first_run_offers_the_recommended_model_downloads_it_here_and_loads_it(
    session: Session,
    qtbot,
    stories_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.hf_server import FakeHub

    monkeypatch.setattr(
        "app.core.library.catalog.CATALOG_FILE", stories_catalog(tmp_path, stories_model)
    )
    with FakeHub() as hub:
        hub.add_repo(REPO, {FILE: stories_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        window = session.build_window()
        window.show()
        try:
            first = window.first_run
            qtbot.waitUntil(first.isVisible, timeout=30_000)
            assert not window.chat_page.empty_label.isVisible()
            # This computer in one line, and the pick with its numbers.
            qtbot.waitUntil(first.download_button.isEnabled, timeout=60_000)
            machine = first.machine.text()
            assert machine.startswith("This computer:") and "RAM" in machine
            assert "CPU core" in machine and ("GPU" in machine)
            text = first.download_button.text()
            assert text.startswith("Download Stories 260K (F32, 1.2 MB, about ")
            assert text.endswith("tokens/s here)")
            assert first.import_button.isVisible() and first.library_button.isVisible()
            assert GET_MODEL in [
                window.model_bar.selector.itemText(i)
                for i in range(window.model_bar.selector.count())
            ]

            with qtbot.waitSignal(window.worker.loaded, timeout=120_000):
                qtbot.mouseClick(first.download_button, Qt.MouseButton.LeftButton)
                qtbot.waitUntil(first.progress_box.isVisible, timeout=30_000)
            assert first.progress.value() == 1000
            qtbot.waitUntil(lambda: window.loaded is not None, timeout=30_000)
            assert window.loaded is not None and window.loaded.path.name == FILE
            assert hub.served(FILE) == stories_model.stat().st_size
            assert not first.isVisible()  # a model is here: the chat is a chat again
            assert window.chat_page.empty_label.isVisible()
        finally:
            window.close()


def test_get_a_model_in_the_model_list_opens_the_library(window: MainWindow) -> None:
    selector = window.model_bar.selector
    index = selector.findText(GET_MODEL)
    assert index > 0
    selector.activated.emit(index)
    assert window.pages.currentWidget() is window.library_page
    assert selector.currentText() != GET_MODEL  # the list shows what is loaded, not the action


def test_the_first_run_leaves_once_a_model_is_loaded(
    window: MainWindow,
    qtbot,
    stories_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    qtbot.waitUntil(window.first_run.isVisible, timeout=30_000)
    load(window, qtbot, stories_model)
    assert not window.first_run.isVisible()


# -- 3. honest states -------------------------------------------------------------------


def test_a_streaming_reply_is_shown_as_generating_then_as_stopped_by_you(
    window: MainWindow,
    qtbot,
    slow_chatml_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, slow_chatml_model)
    window.settings = window.settings.with_value("max_tokens", 3000).with_value("temperature", 0.0)
    window.chat_page.composer.setPlainText("Tell me a long story")
    qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    page = window.chat_page

    def reply_footer() -> str:
        views = [v for v in page.views.values() if v.role == "assistant"]
        return views[-1].footer.text() if views else ""

    qtbot.waitUntil(lambda: "generating" in reply_footer(), timeout=60_000)
    assert "interrupted" not in reply_footer()
    streamed: list[str] = []
    window.worker.piece.connect(lambda _turn, text: streamed.append(text))
    qtbot.waitUntil(lambda: len(streamed) >= 5, timeout=60_000)  # written, not yet done
    assert "generating" in reply_footer()
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert "stopped by you" in reply_footer()
    assert "generating" not in reply_footer()
    # The worker's last pieces, queued behind the end, do not make it "generating" again.
    text = [v for v in page.views.values() if v.role == "assistant"][-1].answer_text()
    qtbot.wait(500)
    assert "stopped by you" in reply_footer() and "generating" not in reply_footer()
    assert [v for v in page.views.values() if v.role == "assistant"][-1].answer_text() == text


def test_a_reply_cut_by_the_length_limit_says_so(
    window: MainWindow,
    qtbot,
    stories_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, stories_model)
    window.settings = window.settings.with_value("max_tokens", 4).with_value("temperature", 0.0)
    window.chat_page.composer.setPlainText("Once upon a time")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000) as done:
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert str(done.args[0].stop_reason) == "length"
    views = [v for v in window.chat_page.views.values() if v.role == "assistant"]
    assert "cut at the length limit" in views[-1].footer.text()


def test_an_error_and_an_unfinished_reply_are_told_apart(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.core.chat.history import MessageRecord
    from app.ui.message_view import MessageView

    def record(**fields: object) -> MessageRecord:
        base: dict[str, object] = {
            "id": 1,
            "conversation_id": 1,
            "parent_id": None,
            "role": "assistant",
            "text": "Half a",
            "model": "m",
            "quantization": None,
            "backend": "local",
            "prompt_tokens": None,
            "completion_tokens": None,
            "ttft": None,
            "tokens_per_second": None,
            "stop_reason": None,
            "status": "complete",
            "error": None,
            "created": 0.0,
        }
        return MessageRecord(**{**base, **fields})  # type: ignore[arg-type]

    error = MessageView(record(status="error", error="The disk is full."))
    qtbot.addWidget(error)
    assert error.footer.text().startswith("⚠ interrupted by an error — The disk is full.")
    unfinished = MessageView(record(status="interrupted"))  # from an earlier run
    qtbot.addWidget(unfinished)
    assert "not finished" in unfinished.footer.text()
    unfinished.set_generating(True)  # the same record, while it is being written
    assert unfinished.footer.text().startswith("● generating")
    complete = MessageView(record(stop_reason="eos"))
    qtbot.addWidget(complete)
    assert not complete.footer.isVisibleTo(complete)


def test_regenerate_is_disabled_in_an_empty_chat(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    page = window.chat_page
    assert not page.views
    assert not page.regenerate_button.isEnabled()
    window.chat.new_chat()
    assert not page.regenerate_button.isEnabled()
    page.composer.setPlainText("Hello?")  # no model: refused, and still nothing to regenerate
    qtbot.mouseClick(page.send_button, Qt.MouseButton.LeftButton)
    assert not page.regenerate_button.isEnabled()


def test_a_new_chat_is_highlighted_and_the_status_line_forgets_the_old_chat(
    window: MainWindow,
    qtbot,
    stories_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, stories_model)
    window.settings = window.settings.with_value("max_tokens", 8).with_value("temperature", 0.0)
    window.chat_page.composer.setPlainText("Once upon a time")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert " / " in window.status_context.text()
    conversation = window.chat.conversation
    assert conversation is not None
    selected = window.sidebar.list.selectedItems()
    assert [i.data(Qt.ItemDataRole.UserRole) for i in selected] == [conversation.id]
    window.menus.new_chat.trigger()  # Ctrl+N
    assert not window.sidebar.list.selectedItems()
    assert window.status_context.text() == f"context {window.loaded.context_length:,}"  # type: ignore[union-attr]
    assert window.status_speed.text() == ""
    window.chat_page.composer.setPlainText("A second story")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    second = window.chat.conversation
    assert second is not None and second.id != conversation.id
    selected = window.sidebar.list.selectedItems()
    assert [i.data(Qt.ItemDataRole.UserRole) for i in selected] == [second.id]


def test_the_installed_tab_empty_state_is_not_a_model(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    page = window.library_page
    qtbot.waitUntil(lambda: page.installed.count() == 1, timeout=30_000)
    item = page.installed.item(0)
    assert "No models yet" in item.text()
    assert not item.flags() & Qt.ItemFlag.ItemIsSelectable
    page.installed.setCurrentRow(0)
    assert not page.load_button.isEnabled() and not page.delete_button.isEnabled()


# -- banners and network errors ---------------------------------------------------------


def test_a_banner_closes_and_a_stale_hub_error_clears_once_the_hub_answers(
    window: MainWindow,
    qtbot,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from app.core.errors import HearthError
    from tests.support.hf_server import FakeHub

    banner = window.notification
    window.notify(HearthError("Something else failed."))
    assert banner.isVisible()
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()

    window.notify(HubUnavailableError("You're offline: searching Hugging Face failed."))
    window.show_page("settings")
    assert banner.isVisible()  # not tied to a page
    with FakeHub() as hub:
        hub.add_repo(REPO, {FILE: b"GGUF"})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        window.show_page("library")
        window.library_page.search_box.setText("stories")
        window.library_page.search_hub()
        qtbot.waitUntil(lambda: not banner.isVisible(), timeout=30_000)
    # An error of another cause stays when the Hub answers.
    window.notify(HearthError("The disk is full."))
    window.library_page.hub_answered.emit()
    assert banner.isVisible() and "disk is full" in banner.text()


def test_no_network_is_said_plainly_and_the_catalog_still_answers(
    window: MainWindow,
    qtbot,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://hearth-test.invalid")  # never resolves
    page = window.library_page
    window.show_page("library")
    page.search_box.setText("qwen")
    page.search_hub()
    qtbot.waitUntil(window.notification.isVisible, timeout=30_000)
    text = window.notification.text()
    assert text.startswith("You're offline") and "Errno" not in text
    qtbot.waitUntil(lambda: page.hub_tree.topLevelItemCount() > 1, timeout=10_000)
    rows = [page.hub_tree.topLevelItem(i).text(0) for i in range(page.hub_tree.topLevelItemCount())]
    assert "From Hearth's catalog" in rows[0]
    assert any(r.startswith("Qwen2.5 7B Instruct") for r in rows[1:])
    assert page.search_button.isEnabled()


def test_a_file_that_does_not_fit_asks_first_with_the_numbers(
    window: MainWindow,
    qtbot,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from app.core.advisor import Verdict

    asked: list[str] = []
    monkeypatch.setattr(
        Ask, "confirm", classmethod(lambda cls, p, title, text: asked.append(text) or False)
    )
    window.show_page("library")
    page = window.library_page
    qtbot.waitUntil(lambda: page.catalog_tree.topLevelItemCount() > 0, timeout=60_000)
    rows = [
        page.catalog_tree.topLevelItem(i).child(j)
        for i in range(page.catalog_tree.topLevelItemCount())
        for j in range(page.catalog_tree.topLevelItem(i).childCount())
    ]
    too_big = next(r for r in rows if r.data(0, ADVICE_ROLE).verdict is Verdict.NO_FIT)
    page.catalog_tree.itemWidget(too_big, 5).click()
    assert len(asked) == 1
    assert "does not fit on this computer" in asked[0] and " GB)" in asked[0]
    assert "Download it anyway?" in asked[0]
    qtbot.wait(300)
    assert not page._rows  # answered No: nothing started
    assert not list(window.context.models_folder.glob("**/*.incomplete"))


# -- 7. nothing lost, visibly -----------------------------------------------------------


def test_ctrl_q_quits_and_the_menu_bar_is_standard(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Help"]
    file_items = [a.text().replace("&", "") for a in window.menuBar().actions()[0].menu().actions()]
    assert {"New chat", "Import…", "Import a model (.gguf)…", "Export this chat…", "Quit"} <= set(
        file_items
    )
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert window._closed  # closed the clean way: state saved


def test_the_view_menu_reaches_every_page_by_its_shortcut(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Documents too: its button sits in the chat list, which can be hidden."""
    window.show_sidebar(False)
    window.activateWindow()
    for key, modifiers, page in (
        (
            Qt.Key.Key_D,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
            "documents_page",
        ),
        (Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier, "library_page"),
        (Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier, "settings_page"),
        (Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier, "chat_page"),
    ):
        qtbot.keyClick(window, key, modifiers)
        assert window.pages.currentWidget() is getattr(window, page), page
    view = window.menuBar().actions()[2].menu()
    items = [a.text().replace("&", "") for a in view.actions() if not a.isSeparator()]
    assert items[:4] == ["Chat", "Documents", "Library", "Settings"]


def test_recently_deleted_chats_come_back_with_restore(
    window: MainWindow,
    qtbot,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    record = session.store.create_conversation(title="Holiday plans")
    session.store.add_message(record.id, role="user", text="Where to go?")
    window.sidebar.refresh()
    window.sidebar.delete(record.id)
    window.sidebar.undo_bar.hide()  # the Undo bar is gone
    window.menus.recently_deleted.trigger()
    dialog = window.recently_deleted_dialog
    assert dialog.list.item(0).text().startswith("Holiday plans\ndeleted ")
    assert not dialog.restore_button.isEnabled()
    dialog.list.setCurrentRow(0)
    dialog.restore_button.click()
    titles = [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())]
    assert "Holiday plans" in titles
    assert window.statusBar().currentMessage() == "Restored “Holiday plans”."
    assert session.store.all_messages(record.id)[0].text == "Where to go?"
    assert "No deleted chats." in dialog.list.item(0).text()
    dialog.close()


def test_import_and_export_are_confirmed(
    window: MainWindow,
    qtbot,
    session: Session,
    stories_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    record = session.store.create_conversation(title="Notes")
    session.store.add_message(record.id, role="user", text="Keep this")
    window.open_conversation(record.id)
    target = tmp_path / "notes.md"
    monkeypatch.setattr(Ask, "choose", classmethod(lambda cls, *a: "Markdown"))
    monkeypatch.setattr(Ask, "save_file", classmethod(lambda cls, *a: str(target)))
    window.menus.export_chat.trigger()
    assert "Keep this" in target.read_text()
    assert window.statusBar().currentMessage() == f"Exported “Notes” to {target}."

    monkeypatch.setattr(Ask, "open_model_file", classmethod(lambda cls, *a: str(stories_model)))
    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, *a: False))  # use it where it is
    window.menus.import_model.trigger()
    qtbot.waitUntil(lambda: "Imported" in window.statusBar().currentMessage(), timeout=30_000)
    assert "used where it is" in window.statusBar().currentMessage()
    assert QApplication.instance() is not None


def test_a_very_slow_file_asks_first_too_with_its_speed() -> None:
    from app.core.library import catalog_recommendation, load_catalog
    from app.core.machine.hardware import GIB, HardwareProfile
    from app.ui.library_page import download_warning

    two_cores = HardwareProfile(
        os="test",
        arch="x86_64",
        cpu_model="Intel Core i3",
        physical_cores=2,
        logical_cores=2,
        ram_total=16 * GIB,
        ram_available=16 * GIB,
        cpu_features=frozenset({"AVX2"}),
        gpus=(),
        gpu_offload_supported=False,
    )
    catalog = load_catalog()
    result = catalog_recommendation(catalog.get("qwen2.5-14b-instruct"), two_cores)
    q4 = next(a for a in result.advice if a.file.quant == "Q4_K_M")  # ~1.7 tokens/s
    warning = download_warning(q4)
    assert warning is not None
    assert "would be very slow here: about" in warning and "below 3 tokens/s" in warning
    assert "GB)" in warning and warning.endswith("Download it anyway?")
    fast = catalog_recommendation(catalog.get("llama-3.2-1b-instruct"), two_cores)
    assert download_warning(fast.advice[0]) is None
