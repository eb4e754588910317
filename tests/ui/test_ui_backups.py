"""Settings → Backups and a damaged history at start, as a user meets them in the window."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from app.core.chat import HistoryStore
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("qapp", "hearth_home")


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def titles(store: HistoryStore) -> list[str]:
    return [c.title for c in store.list_conversations()]


def sidebar_labels(window: MainWindow) -> list[str]:
    return [window.sidebar.list.item(i).text() for i in range(window.sidebar.list.count())]


def answer(monkeypatch: pytest.MonkeyPatch, value: bool) -> list[str]:
    asked: list[str] = []

    def confirm(cls, parent, title, text):  # type: ignore[no-untyped-def]
        asked.append(text)
        return value

    monkeypatch.setattr(Ask, "confirm", classmethod(confirm))
    return asked


def test_back_up_now_then_restore_after_confirming(
    window: MainWindow, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    store = window.store
    store.create_conversation(title="Kept in the backup")
    section = window.backups
    window.show_page("settings")
    assert section.isVisibleTo(window.settings_page)
    assert section.list.item(0).text() == "No backups yet."
    assert not section.restore_button.isEnabled()

    section.backup_button.click()
    qtbot.waitUntil(lambda: section.status.text().startswith("Backed up:"), timeout=10_000)
    item = section.list.item(0)
    assert "made by you" in item.text()

    store.create_conversation(title="Written after the backup")
    window.sidebar.refresh()
    assert any("Written after" in label for label in sidebar_labels(window))
    section.list.setCurrentItem(item)
    asked = answer(monkeypatch, False)
    section.restore_button.click()
    assert asked and "kept as a file" in asked[0]
    assert titles(store) == ["Written after the backup", "Kept in the backup"]  # said no

    answer(monkeypatch, True)
    with qtbot.waitSignal(section.restored, timeout=10_000):
        section.restore_button.click()
    assert titles(store) == ["Kept in the backup"]
    assert "Restored 1 chats" in section.status.text()
    assert "kept at" in section.status.text()
    assert not any("Written after" in label for label in sidebar_labels(window))


def test_a_damaged_backup_is_refused_with_a_message_and_nothing_changes(
    window: MainWindow, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    store = window.store
    store.create_conversation(title="Mine")
    info = store.backup()
    info.path.write_bytes(b"not a database" * 500)
    section = window.backups
    section.refresh()
    section.list.setCurrentRow(0)
    answer(monkeypatch, True)
    section.restore_button.click()
    qtbot.waitUntil(window.notification.isVisible, timeout=10_000)
    assert "damaged" in section.status.text()
    assert "current history was not changed" in window.notification.text()
    assert titles(store) == ["Mine"]
    assert section.restore_button.isEnabled()


def test_a_damaged_history_at_start_offers_the_latest_backup(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    with HistoryStore.open() as store:
        for n in range(40):
            store.add_message(
                store.create_conversation(title=f"c{n}").id, role="user", text="w" * 3000
            )
        backup = store.backup()
        path = store.path
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    data[2 * 4096 : 4 * 4096] = b"\xa5" * (2 * 4096)
    path.write_bytes(bytes(data))

    asked = answer(monkeypatch, True)
    session = Session()
    try:
        window = session.build_window()
        window.show()
        qtbot.waitExposed(window)
        assert "Restore the latest good backup" in asked[0] and "40 chats" in asked[0]
        assert len(session.store.list_conversations()) == 40
        text = window.notification.text()
        assert "damaged" in text and "kept for recovery" in text
        assert "restored the backup" in text
        kept = list(path.parent.glob("history.sqlite3.damaged-*"))
        assert [k.read_bytes() for k in kept if not k.name.endswith(("-wal", "-shm"))] == [
            bytes(data)
        ]
        assert backup.path.exists()
        assert window.sidebar.list.count() == 40
        window.close()
    finally:
        session.close()
