"""Downloads left unfinished by a previous run: offered at start, resumed or discarded.

The real huggingface_hub client talks to the loopback Hub (``HF_ENDPOINT``); the
partial file is left by a real download cut off mid-way, as a dropped connection or
a closed Hearth leaves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton, QTreeWidgetItem

from app.core.library import DownloadManager, Hub
from app.core.library.hub import HubUnavailableError
from app.core.paths import app_paths
from app.core.units import format_bytes
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.main_window import MainWindow
from tests.support.hf_server import FakeHub

pytestmark = pytest.mark.usefixtures("qapp")

REPO = "tiny/Stories-GGUF"
NAME = "stories-F32.gguf"


@pytest.fixture
def hub(stories_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as server:
        server.add_repo(REPO, {NAME: stories_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


def leave_unfinished(hub: FakeHub, cut: int) -> Path:
    """A download of NAME that stopped after ``cut`` bytes; the partial file's path."""
    models = app_paths().models
    hub.faults.cut_after[NAME] = cut
    manager = DownloadManager(models_dir=models, hub=Hub(endpoint=hub.endpoint), max_retries=0)
    with pytest.raises(HubUnavailableError):
        manager.download(REPO, manager.hub.list_gguf(REPO).find(filename=NAME))
    partial = models / "tiny" / "Stories-GGUF" / (NAME + ".incomplete")
    assert partial.stat().st_size == cut
    hub.reset_counts()
    return partial


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    session.close()


def button(row: QTreeWidgetItem, window: MainWindow, text: str) -> QPushButton:
    holder = window.library_page.unfinished.tree.itemWidget(row, 2)
    [found] = [b for b in holder.findChildren(QPushButton) if b.text() == text]
    return found


def test_an_unfinished_download_is_offered_at_start_and_resumes_from_its_bytes(
    hub: FakeHub, stories_model: Path, qtbot, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    size = stories_model.stat().st_size
    cut = size // 2
    partial = leave_unfinished(hub, cut)
    window = request.getfixturevalue("window")  # the app starts after the interruption
    unfinished = window.library_page.unfinished
    qtbot.waitUntil(lambda: len(unfinished.rows()) == 1, timeout=30_000)
    [row] = unfinished.rows()
    assert not unfinished.isHidden()
    assert row.text(0) == f"stories-F32 (F32) — {REPO}"
    assert row.text(1) == f"{format_bytes(cut)} of {format_bytes(size)}"

    button(row, window, "Resume").click()
    page = window.library_page
    qtbot.waitUntil(lambda: page.installed_count == 1, timeout=60_000)
    installed = partial.with_name(NAME)
    assert installed.read_bytes() == stories_model.read_bytes()
    assert hub.ranges == [(NAME, cut)]  # it continued from the bytes on disk
    assert hub.served(NAME) == size - cut
    qtbot.waitUntil(lambda: unfinished.rows() == [] and unfinished.isHidden())
    unfinished.refresh()  # as when the library is shown again: nothing is left to offer
    qtbot.wait(200)
    assert unfinished.rows() == []


def test_discard_asks_first_and_then_deletes_only_the_partial_files(
    hub: FakeHub, qtbot, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    partial = leave_unfinished(hub, 4096)
    record = partial.with_name(NAME + ".incomplete.json")
    neighbour = partial.with_name("other-Q8_0.gguf")
    neighbour.write_bytes(b"an installed model")
    window = request.getfixturevalue("window")
    unfinished = window.library_page.unfinished
    qtbot.waitUntil(lambda: len(unfinished.rows()) == 1, timeout=30_000)
    [row] = unfinished.rows()
    asked: list[str] = []

    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, p, t, text: asked.append(text)))
    button(row, window, "Discard…").click()  # answered No: nothing is deleted
    assert asked == ["Delete the 4 KB of stories-F32 downloaded so far?"]
    qtbot.wait(200)
    assert partial.stat().st_size == 4096 and record.exists()
    assert len(unfinished.rows()) == 1

    monkeypatch.setattr(Ask, "confirm", classmethod(lambda cls, *a: True))
    button(row, window, "Discard…").click()
    qtbot.waitUntil(lambda: unfinished.rows() == [] and unfinished.isHidden(), timeout=10_000)
    assert not partial.exists() and not record.exists()
    assert neighbour.read_bytes() == b"an installed model"
    assert hub.requests == []  # discarding asks the Hub nothing


def test_a_model_gone_from_the_hub_is_a_clear_error_and_keeps_the_bytes(
    hub: FakeHub, qtbot, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    partial = leave_unfinished(hub, 4096)
    del hub.repos[REPO]
    window = request.getfixturevalue("window")
    unfinished = window.library_page.unfinished
    qtbot.waitUntil(lambda: len(unfinished.rows()) == 1, timeout=30_000)
    button(unfinished.rows()[0], window, "Resume").click()
    qtbot.waitUntil(window.notification.isVisible, timeout=30_000)
    assert REPO in window.notification.text()
    assert partial.stat().st_size == 4096  # nothing lost
    unfinished.refresh()  # as when the library is shown again
    qtbot.wait(200)
    [row] = unfinished.rows()  # still offered, to retry or discard
    assert button(row, window, "Resume").isEnabled()


def test_a_partial_file_without_its_record_is_offered_only_for_discarding(
    hub: FakeHub, qtbot, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    partial = leave_unfinished(hub, 4096)
    partial.with_name(NAME + ".incomplete.json").unlink()
    window = request.getfixturevalue("window")
    unfinished = window.library_page.unfinished
    qtbot.waitUntil(lambda: len(unfinished.rows()) == 1, timeout=30_000)
    [row] = unfinished.rows()
    assert row.text(0) == NAME and row.text(1) == "4 KB"
    assert not button(row, window, "Resume").isEnabled()
    assert button(row, window, "Discard…").isEnabled()
