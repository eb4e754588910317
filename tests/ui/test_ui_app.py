"""The desktop app driven as a user would, with the real model on the real worker thread."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

from app.core.chat.history import HistoryError, HistoryStore
from app.core.errors import HearthError
from app.core.settings import load_settings
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow
from app.ui.message_view import REPAINT_MS

pytestmark = pytest.mark.usefixtures("qapp")


def test_signal_emit_keeps_refcounts() -> None:
    """PySide6 6.12.0 drops a reference to True per emit; a long chat then crashes."""

    class Emitter(QObject):
        signal = Signal(int)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for _ in range(500):
        emitter.signal.emit(1)
    assert abs(sys.getrefcount(True) - before) < 50


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


def load(window: MainWindow, qtbot, path: Path, *, context: int | None = None) -> None:  # type: ignore[no-untyped-def]
    # waitSignal's own slot runs on the worker thread: wait for the window's slot too.
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    qtbot.waitUntil(lambda: window.loaded is not None and window.loaded.path == path)


def send(window: MainWindow, qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    window.chat_page.composer.setPlainText(text)
    with qtbot.waitSignal(window.chat.reply_done, timeout=120_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)


def set_max_tokens(window: MainWindow, value: int) -> None:
    # Greedy: the random-weight test models then never pick end-of-text early.
    window.settings = window.settings.with_value("max_tokens", value).with_value("temperature", 0.0)


def test_a_message_gets_a_streamed_reply_that_is_saved_with_its_figures(
    window: MainWindow,
    qtbot,
    stories_model: Path,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, stories_model)
    details = window.model_bar.details.text()
    assert "F32" in details and "CPU" in details and "RAM" in details
    assert "of RAM" in window.model_bar.details.toolTip()
    assert "context cache" in window.model_bar.details.toolTip()
    assert "no chat template" in window.chat_page.model_note.text()
    set_max_tokens(window, 40)
    send(window, qtbot, "Once upon a time")
    assert window.chat_page.composer.toPlainText() == ""
    conversation = window.chat.conversation
    assert conversation is not None
    user, reply = conversation.messages
    assert user.text == "Once upon a time" and user.role == "user"
    assert reply.role == "assistant" and reply.status == "complete"
    assert reply.backend == "local" and reply.quantization == "F32"
    assert reply.completion_tokens == 40 and reply.tokens_per_second
    view = window.chat_page.views[reply.id]
    # Rendered as Markdown once finished (a single newline joins lines, as Markdown does).
    assert view.body.toPlainText().split() == reply.text.split()
    assert "tok/s" in window.status_speed.text()
    assert "/ 2,048 tokens" in window.status_context.text()
    # The sidebar lists it, titled from the first message.
    titles = [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())]
    assert titles == ["Once upon a time"]


def test_without_a_model_the_chat_says_so_and_keeps_the_text(window: MainWindow) -> None:
    window.chat_page.composer.setPlainText("Hello?")
    window.chat_page._submit()
    assert "No model is loaded" in window.chat_page.notice.text()
    assert window.chat_page.composer.toPlainText() == "Hello?"
    assert window.chat.conversation is None


def test_a_failed_send_leaves_the_text_and_says_why(
    window: MainWindow,
    qtbot,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, stories_model)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise HistoryError("The disk is full.", hint="Free some space.")

    monkeypatch.setattr(HistoryStore, "add_message", broken)
    window.chat_page.composer.setPlainText("Please keep me")
    window.chat_page._submit()
    assert window.chat_page.composer.toPlainText() == "Please keep me"
    assert "The disk is full." in window.notification.text()
    assert window.notification.isVisible()


def test_stop_keeps_what_was_written_marked_as_interrupted(
    window: MainWindow,
    qtbot,
    slow_chatml_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, slow_chatml_model)
    set_max_tokens(window, 3000)
    window.chat_page.composer.setPlainText("Write a lot")
    window.chat_page._submit()
    assert window.chat_page.stop_button.isVisible()
    conversation = window.chat.conversation
    assert conversation is not None
    qtbot.waitUntil(
        lambda: window.chat.busy and len(window.chat.session.turn.live.text) > 20, timeout=60_000
    )
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000) as done:
        qtbot.mouseClick(window.chat_page.stop_button, Qt.MouseButton.LeftButton)
    assert done.args[0].stop_reason == "user"
    reply = conversation.messages[-1]
    assert reply.status == "interrupted" and reply.text
    assert "stopped by you" in window.chat_page.views[reply.id].footer.text()
    assert window.chat_page.send_button.isVisible()


def test_regenerate_and_edit_keep_the_old_versions(
    window: MainWindow,
    qtbot,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, stories_model)
    window.settings = window.settings.with_value("max_tokens", 12).with_value("seed", -1)
    send(window, qtbot, "The cat")
    conversation = window.chat.conversation
    assert conversation is not None
    first_reply = conversation.messages[-1]
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        window.chat_page.regenerate_button.click()
    second_reply = conversation.messages[-1]
    assert second_reply.id != first_reply.id
    assert conversation.versions(second_reply.id) == (2, 2)
    view = window.chat_page.views[second_reply.id]
    assert view.version_label.text() == "2/2" and view.previous_version.isVisible()
    view.previous_version.click()  # back to the first reply
    assert conversation.messages[-1].id == first_reply.id

    user = conversation.messages[0]
    monkeypatch.setattr(Ask, "multiline", classmethod(lambda cls, *a, **k: "The dog"))
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        window.chat_page.views[user.id].edit_button.click()
    edited = conversation.messages[0]
    assert edited.text == "The dog" and edited.id != user.id
    assert conversation.versions(edited.id) == (2, 2)
    # The old branch is still there, not silently lost.
    assert [m.text for m in session_store(window).siblings(edited.id)] == ["The cat", "The dog"]


def session_store(window: MainWindow) -> HistoryStore:
    return window.store


def test_export_a_chat_as_markdown_and_json(
    window: MainWindow, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = session.store.create_conversation(title="Recipes: soup/stew?")
    session.store.add_message(record.id, role="user", text="How long to simmer?")
    targets = iter([tmp_path / "chat.md", tmp_path / "chat.json"])
    monkeypatch.setattr(Ask, "save_file", classmethod(lambda cls, *a: str(next(targets))))
    window.sidebar.export(record.id, "md")
    window.sidebar.export(record.id, "json")
    assert "How long to simmer?" in (tmp_path / "chat.md").read_text()
    exported = json.loads((tmp_path / "chat.json").read_text())
    assert exported["title"] == "Recipes: soup/stew?"
    assert exported["messages"][0]["text"] == "How long to simmer?"


def test_delete_with_undo_and_search(window: MainWindow, session: Session) -> None:
    store = session.store
    keep = store.create_conversation(title="Holiday plans")
    store.add_message(keep.id, role="user", text="Where should we go in June?")
    gone = store.create_conversation(title="Tax questions")
    window.sidebar.refresh()
    assert window.sidebar.list.count() == 2
    window.sidebar.delete(gone.id)
    assert window.sidebar.list.count() == 1
    assert window.sidebar.undo_bar.isVisible()
    window.sidebar.undo_button.click()
    assert window.sidebar.list.count() == 2
    window.sidebar.search.setText("june")
    items = [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())]
    assert len(items) == 1 and items[0].startswith("Holiday plans")


def test_settings_are_validated_saved_and_applied(
    window: MainWindow,
    qtbot,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    session: Session,
) -> None:
    load(window, qtbot, stories_model)
    page = window.settings_page
    window.show_page("settings")
    page.editors["temperature"].setValue(0.2)
    theme = page.editors["theme"]
    theme.setCurrentIndex(theme.findData("dark"))  # shown as "Dark"
    asked: list[str] = []
    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, p, t, x: asked.append(t) or True))
    page.editors["context_length"].setValue(1024)
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        assert page.apply()
    qtbot.waitUntil(lambda: window.loaded is not None and window.loaded.context_length == 1024)
    saved = load_settings(session.paths.settings_file)
    assert saved.temperature == pytest.approx(0.2)
    assert saved.theme == "dark" and saved.context_length == 1024
    assert QGuiApplication.palette().window().color().lightness() < 100  # dark
    assert asked == ["Reload the model?"]
    # A value the settings model refuses is shown, not saved.
    page.editors["kv_cache_type"].setCurrentText("q8_0")
    page.editors["system_prompt"].setText("x" * 10)
    page.editors["models_dir"].setText("")
    page.editors["top_p"].setValue(1.0)
    window.settings_page.editors["quantization"].setCurrentText("Q4_K_M")
    assert page.apply()
    assert load_settings(session.paths.settings_file).quantization == "Q4_K_M"


def test_a_bad_settings_file_is_reported_and_defaults_are_used(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.core.paths import app_paths

    paths = app_paths().ensure()
    paths.settings_file.write_text("{ not json")
    session = Session()
    try:
        window = session.build_window()
        assert "cannot be read" in window.notification.text()
        assert paths.settings_file.read_text() == "{ not json"  # left for the user to see
        window.close()
    finally:
        session.close()


def test_draft_layout_and_last_chat_survive_a_restart(qtbot) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    store = session.store
    record = store.create_conversation(title="Ongoing")
    store.add_message(record.id, role="user", text="Remember me")
    store.add_message(record.id, role="assistant", text="**Noted.**", model="m", backend="local")
    window.open_conversation(record.id)
    window.chat_page.composer.setPlainText("half a thought")
    window.resize(790, 560)  # within the offscreen screen's 800 x 600, above the minimum
    window.close()
    session.close()

    again = Session()
    try:
        reopened = again.build_window()
        reopened.show()
        assert reopened.chat.conversation is not None
        assert reopened.chat.conversation.id == record.id
        assert reopened.chat_page.composer.toPlainText() == "half a thought"
        shown = [v.body.toPlainText() for v in reopened.chat_page.views.values()]
        assert shown == ["Remember me", "Noted."]  # Markdown rendered, not raw
        assert (reopened.width(), reopened.height()) == (790, 560)
        reopened.close()
    finally:
        again.close()


def test_long_replies_are_painted_in_throttled_appends(
    window: MainWindow,
    qtbot,
    slow_chatml_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    load(window, qtbot, slow_chatml_model)
    set_max_tokens(window, 600)
    pieces: list[str] = []
    times: list[float] = []

    def on_piece(_sink: object, text: str) -> None:
        pieces.append(text)
        times.append(time.monotonic())

    window.worker.piece.connect(on_piece)
    send(window, qtbot, "Go")
    conversation = window.chat.conversation
    assert conversation is not None
    reply = conversation.messages[-1]
    view = window.chat_page.views[reply.id]
    assert len(pieces) > 100
    # Pieces are batched: at most one repaint per REPAINT_MS of streaming (however slow
    # the machine), and fewer repaints than pieces.
    streaming_ms = (times[-1] - times[0]) * 1000
    assert 0 < view.flush_count <= streaming_ms / REPAINT_MS + 5
    assert view.flush_count < len(pieces)
    assert REPAINT_MS <= 40


def test_reasoning_is_collapsed_and_code_can_be_copied(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    store = session.store
    record = store.create_conversation(title="Code")
    store.add_message(record.id, role="user", text="Show me code")
    text = (
        "<think>The user wants code.</think>Here it is:\n\n```python\nprint('hi')\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    reply = store.add_message(record.id, role="assistant", text=text, model="m", backend="local")
    window.open_conversation(record.id)
    view = window.chat_page.views[reply.id]
    qtbot.waitUntil(view.isVisible)  # Qt shows widgets added to a shown window on the next turn
    assert view.reasoning_toggle.isVisibleTo(window) and not view.reasoning.isVisibleTo(window)
    assert "The user wants code." in view.reasoning.toPlainText()
    assert "The user wants code." not in view.body.toPlainText()
    assert view.body.document().toPlainText().startswith("Here it is:")
    assert view.body.document().rootFrame().childFrames()  # the table is a real table
    view.reasoning_toggle.click()
    assert view.reasoning.isVisibleTo(window)
    view.code_headers()[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == "print('hi')"
    view.copy_button.click()
    assert "<think>" not in QGuiApplication.clipboard().text()


def test_model_load_failure_is_shown_and_the_app_keeps_working(
    window: MainWindow,
    qtbot,
    tmp_path: Path,
    stories_model: Path,  # type: ignore[no-untyped-def]
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_text("not a model")
    with qtbot.waitSignal(window.worker.load_failed, timeout=30_000):
        window.load_model(str(bad))
    qtbot.waitUntil(window.notification.isVisible)
    assert "not a GGUF model file" in window.notification.text()
    assert "Not loaded" in window.model_bar.details.text()
    load(window, qtbot, stories_model)
    assert window.loaded is not None


def test_errors_surface_in_one_place(window: MainWindow) -> None:
    window.notify(HearthError("Something failed.", hint="Try again."))
    assert window.notification.text() == "Something failed.\nTry again."


# -- the library page ----------------------------------------------------------------------


def test_library_shows_what_runs_here_with_the_numbers(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.show_page("library")
    page = window.library_page
    qtbot.waitUntil(lambda: page.catalog_tree.topLevelItemCount() > 0, timeout=30_000)
    assert "This computer:" in page.machine.text()
    assert "Welcome to Hearth" in page.machine.text()  # nothing installed yet: first run
    stars = 0
    for i in range(page.catalog_tree.topLevelItemCount()):
        model = page.catalog_tree.topLevelItem(i)
        rows = [model.child(j) for j in range(model.childCount())]
        assert rows, model.text(0)
        stars += sum("★" in row.text(0) for row in rows)
        for row in rows:
            assert row.text(2)  # a verdict for every file
            tip = row.toolTip(2)
            assert "GPU layers:" in tip and "Largest context that fits:" in tip
    assert stars >= 1


def test_search_download_and_load_a_model_from_the_hub(
    window: MainWindow,
    qtbot,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.hf_server import FakeHub

    with FakeHub() as hub:
        hub.add_repo("tiny/Stories-GGUF", {"stories-F32.gguf": stories_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        window.show_page("library")
        page = window.library_page
        page.search_box.setText("stories")
        page.search_hub()
        qtbot.waitUntil(lambda: page.hub_tree.topLevelItemCount() == 1, timeout=30_000)
        repo = page.hub_tree.topLevelItem(0)
        assert repo.text(0) == "tiny/Stories-GGUF"
        repo.setExpanded(True)
        qtbot.waitUntil(lambda: repo.childCount() == 1, timeout=30_000)
        row = repo.child(0)
        assert "F32" in row.text(0)
        # Its verdict, from its header read with range requests, before any download.
        qtbot.waitUntil(lambda: row.text(2) not in ("…", ""), timeout=30_000)
        assert row.text(2) in ("GPU", "CPU") and row.text(0).endswith("★")
        assert "Largest context that fits" in row.toolTip(2)
        hub.reset_counts()
        page.hub_tree.itemWidget(row, 3).click()  # Download
        qtbot.waitUntil(lambda: page.installed_count == 1, timeout=60_000)
        assert "stories" in page.installed.item(0).text()
        controls = page.hub_tree.itemWidget(row, 3)
        assert controls.bar.value() == 1000 and controls.label.text() == "done"
        assert hub.served("stories-F32.gguf") == stories_model.stat().st_size
    page.installed.setCurrentRow(0)
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        page.load_button.click()
    qtbot.waitUntil(lambda: window.loaded is not None)
    assert window.loaded is not None and window.loaded.path.name == "stories-F32.gguf"


def test_offline_mode_refuses_hub_search_with_a_clear_message(
    window: MainWindow,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    window.settings = window.settings.with_value("offline", True)
    page = window.library_page
    page.search_box.setText("llama")
    page.search_hub()
    qtbot.waitUntil(window.notification.isVisible, timeout=10_000)
    assert "offline" in window.notification.text().lower()


def test_streamed_text_keeps_every_character_across_segments(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.ui.message_view import StreamingText

    view = StreamingText()
    qtbot.addWidget(view)
    lines = [f"line {i} " + "word " * 12 for i in range(60)]
    streamed = "\n".join(lines)
    for start in range(0, len(streamed), 7):  # pieces of a few characters, as tokens come
        view.append(streamed[start : start + 7])
    assert view.segments > 1  # long replies are split into short documents...
    assert view.toPlainText() == streamed  # ...without losing or reordering a character
    view.set_markdown("# Done\n\nWhole again.")
    assert view.segments == 1
    assert view.toPlainText() == "Done\nWhole again."
