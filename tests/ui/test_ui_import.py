"""Import… in the app: a preview of the source, the import on a worker, a confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.chat.history import HistoryStore
from app.ui.import_dialog import ImportDialog
from tests.core.test_importers import chatgpt_conversation

pytestmark = pytest.mark.usefixtures("qapp")


def test_the_import_dialog_previews_imports_and_confirms(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    history = tmp_path / "history.sqlite3"
    with HistoryStore.open(history) as store:
        mine = store.create_conversation(title="Mine")
        store.add_message(mine.id, role="user", text="my own words")
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([chatgpt_conversation("a"), chatgpt_conversation("b")]), "utf-8")
    damaged = tmp_path / "broken.json"
    damaged.write_text(export.read_text("utf-8")[:-100], "utf-8")

    dialog = ImportDialog(history)
    qtbot.addWidget(dialog)
    dialog.show()

    # A damaged source: what is wrong, and no way to import it.
    dialog.set_source("chatgpt")
    dialog.set_path(damaged)
    qtbot.waitUntil(lambda: "cut short" in dialog.status.text(), timeout=30_000)
    assert "Nothing was imported" in dialog.status.text()
    assert not dialog.import_button.isEnabled()

    dialog.set_source(None)
    dialog.set_path(export)
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=30_000)
    assert dialog.status.text().startswith("ChatGPT: 2 new chats, 10 messages.")
    assert "• Garlic" in dialog.status.text()
    # Typing another path takes the preview back: only what was previewed is imported.
    qtbot.keyClicks(dialog.path_edit, "x")
    assert not dialog.import_button.isEnabled()
    dialog.set_path(export)
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=30_000)

    with qtbot.waitSignal(dialog.imported, timeout=30_000) as done:
        dialog.import_button.click()
    assert dialog.status.text() == "Imported 2 chats (10 messages)."
    assert (done.args[0].conversations, done.args[0].messages) == (2, 10)
    assert not dialog.import_button.isEnabled()
    with HistoryStore.open(history) as store:
        titles = sorted(c.title for c in store.list_conversations())
        assert titles == ["Garlic", "Garlic", "Mine"]

    # The same source again: nothing new to import.
    dialog.set_path(export)
    qtbot.waitUntil(lambda: "imported before" in dialog.status.text(), timeout=30_000)
    assert dialog.status.text().startswith("ChatGPT: 0 new chats, 0 messages.")
    assert not dialog.import_button.isEnabled()


def test_import_chats_in_the_sidebar_opens_the_dialog_and_lists_what_came_in(
    qtbot,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from app.ui.application import Session

    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([chatgpt_conversation("a")]), "utf-8")
    session = Session()
    window = session.build_window()
    try:
        window.show()
        qtbot.waitExposed(window)
        window.sidebar.import_button.click()
        (dialog,) = window.findChildren(ImportDialog)
        assert dialog.isVisible()
        dialog.set_path(export)
        qtbot.waitUntil(dialog.import_button.isEnabled, timeout=30_000)
        with qtbot.waitSignal(dialog.imported, timeout=30_000):
            dialog.import_button.click()
        items = [window.sidebar.list.item(i) for i in range(window.sidebar.list.count())]
        (garlic,) = [item for item in items if item.text() == "Garlic"]
        assert garlic.toolTip() == "Imported from conversations.json (chatgpt)"
        dialog.close()
    finally:
        window.close()
        session.close()


def test_the_import_dialog_reads_a_hearth_archive_too(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.core.chat.vault_archive import export_archive

    with HistoryStore.open(tmp_path / "old.sqlite3") as old:
        chat = old.create_conversation(title="From the archive")
        old.add_message(chat.id, role="user", text="kept words")
        export_archive(old, tmp_path / "all.zip")
    history = tmp_path / "history.sqlite3"
    dialog = ImportDialog(history)
    qtbot.addWidget(dialog)
    dialog.set_path(tmp_path / "all.zip")
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=30_000)
    assert dialog.status.text().startswith("Hearth archive: 1 chat, 1 message.")
    with qtbot.waitSignal(dialog.imported, timeout=30_000):
        dialog.import_button.click()
    assert dialog.status.text() == "Imported 1 chat (1 message)."
    with HistoryStore.open(history) as store:
        assert [c.title for c in store.list_conversations()] == ["From the archive"]
