"""The Documents page, a chat's collection picker and the Sources panel, with real models.

The embedding model is the real all-MiniLM-L6-v2 (in the documents' own engine process);
the chat model is stories260K. Nothing here opens a network connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from app.core.documents import Progress, Report
from app.ui import documents_page, sources_panel
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("qapp")

BOILER = (
    "# House notes\n\nThe boiler is serviced every October by the heating company.\n\n"
    "The spare key is under the blue flowerpot.\n"
)


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "house"
    docs.mkdir()
    (docs / "boiler.md").write_text(BOILER, encoding="utf-8")
    (docs / "garden.txt").write_text("Tomatoes are planted in May.\n", encoding="utf-8")
    (docs / "photo.txt").write_bytes(b"\x89PNG\0\0\0 not text at all")
    for name, text in (
        ("car.txt", "The car's tyres are changed in November."),
        ("bank.txt", "The bank statement arrives on the first of the month."),
        ("school.txt", "School starts again in September."),
    ):
        (docs / name).write_text(text + "\n", encoding="utf-8")
    return docs


def load_chat_model(window: MainWindow, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    window.settings = window.settings.with_value("max_tokens", 8).with_value("temperature", 0.0)


def file_rows(window: MainWindow) -> dict[str, list[str]]:
    tree = window.documents_page.files
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    return {Path(r.text(0)).name: [r.text(c) for c in range(1, 4)] for r in rows}


def test_no_embedding_model_is_said_and_a_gguf_can_be_chosen(
    window: MainWindow, qtbot, embedding_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    page = window.documents_page
    window.documents_button.click()
    assert window.pages.currentWidget() is page
    qtbot.waitUntil(page.model_banner.isVisible, timeout=10_000)
    assert "No embedding model is installed" in page.model_label.text()
    assert page.download_button.isVisible() and page.open_model_button.isVisible()
    monkeypatch.setattr(
        documents_page.DocumentDialogs, "embedding_model", lambda _p: str(embedding_model)
    )
    page.open_model_button.click()
    qtbot.waitUntil(lambda: not page.model_banner.isVisible(), timeout=10_000)
    assert window.settings.docs_embedding_model == str(embedding_model)


def test_index_a_folder_ask_with_it_and_the_sources_stay_with_the_reply(
    window: MainWindow,
    qtbot,
    folder: Path,
    embedding_model: Path,
    stories_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    window.settings = window.settings.with_value("docs_embedding_model", str(embedding_model))
    page = window.documents_page
    window.show_page("documents")
    seen: list[Progress] = []
    window.documents.progressed.connect(seen.append)

    # Paused before it starts: the run waits at its first file until Resume.
    page.toggle_pause()
    assert page.pause_button.text() == "Resume"
    monkeypatch.setattr(Ask, "text", lambda *_a, **_k: "house")
    monkeypatch.setattr(documents_page.DocumentDialogs, "folder", lambda _p: str(folder))
    page.add_folder_button.click()
    qtbot.waitUntil(lambda: any(p.paused for p in seen), timeout=60_000)
    assert page.progress_bar.isVisible() and "paused" in page.progress_label.text()
    assert "of 6 files" in page.progress_label.text()
    done: list[Report] = []
    window.documents.indexed.connect(lambda _name, report: done.append(report))
    page.pause_button.click()  # Resume
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    report = done[0]
    assert (report.indexed, report.skipped, report.cancelled) == (5, 1, False)
    assert seen[-1].files_done == seen[-1].files_total == 6 and seen[-1].chunks_done >= 5
    assert "“house” up to date" in page.progress_label.text()
    assert not page.progress_bar.isVisible()

    rows = file_rows(window)
    assert rows["boiler.md"][0] == "indexed" and int(rows["boiler.md"][1]) >= 1
    assert rows["photo.txt"] == ["skipped", "", "not text: binary content"]
    assert "house  (6 files, " in page.collections.currentItem().text()
    assert "1 skipped" in page.collections.currentItem().text()

    # The chat's picker lists the collection; attaching it is saved with the chat.
    load_chat_model(window, qtbot, stories_model)
    window.show_page("chat")
    picker = window.chat_page.collections
    assert picker.text() == "Documents: none"
    picker.actions_by_name()["house"].trigger()
    assert picker.text() == "Documents: house"
    chat = window.chat.conversation
    assert chat is not None and chat.record.options["collections"] == ["house"]

    window.chat_page.composer.setPlainText("When is the boiler serviced?")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    reply = window.chat.conversation.messages[-1]
    assert reply.sources and Path(reply.sources[0].path).name == "boiler.md"

    panel = window.chat_page.sources
    assert panel.isVisible() and panel.message_id == reply.id
    assert panel.headers() == ["#", "File", "Where", "Keyword", "Vector", "Fused"]
    number, name, where, keyword, vector, fused = panel.row_texts(0)
    assert (number, name) == ("1", "boiler.md") and where.startswith("line")
    assert float(keyword) > 0 and 0 < float(vector) <= 1 and float(fused) > 0
    assert "serviced every October" in panel.text.toPlainText()

    # The reply lists its sources; clicking one selects it, Open file opens the file.
    view = window.chat_page.views[reply.id]
    assert view.sources_line.isVisible() and "[1] boiler.md" in view.sources_line.text()
    opened: list[str] = []
    monkeypatch.setattr(sources_panel, "open_file", opened.append)
    view.sources_line.linkActivated.emit("source:0")
    panel.open_button.click()
    assert opened == [str(folder / "boiler.md")]

    # Another chat has no sources shown; reopening this one shows them again.
    window.open_conversation(None)
    assert not panel.isVisible() and picker.text() == "Documents: none"
    window.open_conversation(chat.id)
    assert panel.isVisible() and panel.row_texts(0)[:2] == ["1", "boiler.md"]
    assert picker.text() == "Documents: house"
    assert "[1] boiler.md" in window.chat_page.views[reply.id].sources_line.text()

    # Removing the collection asks first; declined, nothing changes.
    window.show_page("documents")
    asked: list[str] = []
    monkeypatch.setattr(Ask, "confirm", lambda _p, title, _t: asked.append(title) or False)
    page.remove_button.click()
    assert asked == ["Remove the collection?"] and page.collections.count() == 1
    monkeypatch.setattr(Ask, "confirm", lambda *_a: True)
    page.remove_button.click()
    qtbot.waitUntil(lambda: page.collections.count() == 0, timeout=30_000)
    assert window.documents.collections() == []
    assert list(picker.actions_by_name()) == []
    assert (folder / "boiler.md").read_text(encoding="utf-8") == BOILER  # the file stays
    # The reply keeps its sources; the chat now answers from no documents.
    window.open_conversation(chat.id)
    assert window.chat_page.sources.row_texts(0)[1] == "boiler.md"
    assert picker.text() == "Documents: none"


def test_sources_are_there_after_the_app_starts_again(
    qtbot, folder: Path, embedding_model: Path, stories_model: Path
) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    try:
        window.settings = window.settings.with_value("docs_embedding_model", str(embedding_model))
        with qtbot.waitSignal(window.documents.indexed, timeout=60_000):
            window.documents.add("house", [folder])
        load_chat_model(window, qtbot, stories_model)
        window.chat.new_chat()
        window.chat_page.collections.actions_by_name()["house"].trigger()
        window.chat_page.composer.setPlainText("Where is the spare key?")
        with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
            window.chat_page.send_button.click()
        labels = [s.label() for s in window.chat.conversation.messages[-1].sources]
        assert labels
    finally:
        window.close()
        session.close()
    again = Session()
    reopened = again.build_window()
    try:
        panel = reopened.chat_page.sources
        assert reopened.chat.conversation is not None  # the last chat is back
        reply = reopened.chat.conversation.messages[-1]
        assert [s.label() for s in reply.sources] == labels
        assert not panel.isHidden() and panel.row_texts(0)[1] == Path(reply.sources[0].path).name
        assert reopened.chat_page.collections.text() == "Documents: house"
    finally:
        reopened.close()
        again.close()


def test_the_page_downloads_the_embedding_model_as_the_library_does(
    window: MainWindow, qtbot, embedding_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.support.hf_server import FakeHub

    f16 = embedding_model.with_name("all-MiniLM-L6-v2-f16.gguf")
    with FakeHub() as hub:
        hub.add_repo(
            "second-state/All-MiniLM-L6-v2-Embedding-GGUF",
            {"all-MiniLM-L6-v2-ggml-model-f16.gguf": f16.read_bytes()},
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        page = window.documents_page
        window.show_page("documents")
        qtbot.waitUntil(page.model_banner.isVisible, timeout=10_000)
        page.download_button.click()
        qtbot.waitUntil(lambda: not page.model_banner.isVisible(), timeout=120_000)
        assert hub.served("all-MiniLM-L6-v2-ggml-model-f16.gguf") == f16.stat().st_size
    installed = window.documents.embedding_model()
    assert installed.name == "all-MiniLM-L6-v2-ggml-model-f16.gguf"
    assert window.settings.models_folder() in installed.parents  # where the Library keeps it


def test_the_window_goes_on_working_while_a_turn_searches_its_documents(
    window: MainWindow, qtbot, stories_model: Path
) -> None:  # type: ignore[no-untyped-def]
    """A search that takes its time (the embedding model loading, an indexing batch ahead
    of the question) runs off the GUI thread: timers fire and paint goes on, and the chat
    cannot be switched under the turn being prepared."""
    from app.core.documents.context import NO_DOCUMENTS
    from app.ui.documents_service import ResponsiveRetriever

    released = threading.Event()
    searched_on: list[str] = []

    class SlowSearch:
        def context_for(self, question: str, *, budget_chars: int):  # type: ignore[no-untyped-def]
            searched_on.append(threading.current_thread().name)
            released.wait(30)
            return NO_DOCUMENTS

    load_chat_model(window, qtbot, stories_model)
    window.chat.session.retriever = ResponsiveRetriever(SlowSearch())  # type: ignore[arg-type]
    seen: dict[str, object] = {}

    def meanwhile() -> None:  # runs on the GUI thread while the search waits
        seen["busy"] = window.chat.busy
        seen["send_enabled"] = window.chat_page.send_button.isEnabled()
        before = window.chat.conversation
        window.chat.open(None)  # the user clicks another chat: refused for now
        seen["same_chat"] = window.chat.conversation is before
        seen["notice"] = window.chat_page.notice.text()
        released.set()

    QTimer.singleShot(200, meanwhile)
    window.chat_page.composer.setPlainText("When is the boiler serviced?")
    with qtbot.waitSignal(window.chat.reply_done, timeout=60_000):
        qtbot.mouseClick(window.chat_page.send_button, Qt.MouseButton.LeftButton)
    assert searched_on and searched_on[0] != threading.main_thread().name
    assert seen["busy"] is True and seen["send_enabled"] is False and seen["same_chat"] is True
    assert "Searching your documents" in str(seen["notice"])
    messages = window.chat.conversation.messages
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].text == "When is the boiler serviced?"
    assert not window.chat.busy
