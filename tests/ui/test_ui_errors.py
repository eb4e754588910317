"""Errors in the window: every one reaches the notification bar, the window keeps running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import configure_logging
from app.ui.application import Session
from app.ui.exception_hook import ExceptionHook
from app.ui.main_window import MainWindow
from app.ui.operations import run_operation

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def log_file(hearth_home: Path) -> Path:
    configure_logging(verbose=False)  # as `hearth` does before it opens the window
    return hearth_home / "logs" / "hearth.log"


@pytest.fixture
def window(qtbot, log_file: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    hook = ExceptionHook(window.notify).install()  # as application.run does
    window.show()
    qtbot.waitExposed(window)
    yield window
    hook.uninstall()
    window.close()
    session.close()


def test_an_exception_in_a_slot_is_shown_logged_and_the_window_keeps_working(
    window: MainWindow, qtbot, log_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    def broken(_path: object) -> None:
        raise KeyError("gpu_layers")

    monkeypatch.setattr(window.context, "load_options", broken)
    missing = tmp_path / "gone.gguf"
    window.model_bar.set_models([missing])
    window.model_bar.selector.activated.emit(1)  # the user picks it: a real slot raises
    qtbot.waitUntil(window.notification.isVisible)
    text = window.notification.text()
    assert text.startswith("Something went wrong (KeyError: 'gpu_layers').")
    assert f"The details are in {log_file}." in text
    assert "bug in Hearth" in text
    logged = log_file.read_text()
    assert "Traceback (most recent call last)" in logged and "in load_model" in logged
    # Still running: the same choice, unbroken, reaches the worker and fails cleanly.
    monkeypatch.undo()
    window.notification.hide()
    with qtbot.waitSignal(window.worker.load_failed, timeout=30_000):
        window.model_bar.selector.activated.emit(1)
    qtbot.waitUntil(window.notification.isVisible)
    assert "No model file at" in window.notification.text()


def test_an_exception_in_a_python_thread_is_shown(
    window: MainWindow, qtbot, log_file: Path
) -> None:  # type: ignore[no-untyped-def]
    worker = threading.Thread(target=lambda: 1 / 0, name="indexer")
    worker.start()
    worker.join()
    qtbot.waitUntil(window.notification.isVisible)
    assert window.notification.text().startswith(
        "Something went wrong while working in the background (indexer) "
        "(ZeroDivisionError: division by zero)."
    )
    assert "ZeroDivisionError" in log_file.read_text()


def test_an_unexpected_error_in_background_work_names_the_work_and_the_log(
    window: MainWindow, qtbot, log_file: Path
) -> None:  # type: ignore[no-untyped-def]
    def work() -> None:
        raise ValueError("bad figure")

    run_operation(
        work, on_success=lambda _: None, on_failure=window.notify, doing="reading the library"
    )
    qtbot.waitUntil(window.notification.isVisible)
    assert window.notification.text().startswith(
        "Something went wrong while reading the library (ValueError: bad figure). "
        f"The details are in {log_file}."
    )
    assert "in work" in log_file.read_text()
