"""Answer the next modal dialog from a timer, as a person would, while ``exec()`` runs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget


def answer_modal(answer: Callable[[QWidget], None]) -> None:
    """Call ``answer`` with the dialog that opens next (the test's hand on it)."""

    def look() -> None:
        modal = QApplication.activeModalWidget()
        if modal is None or not modal.isVisible():
            QTimer.singleShot(10, look)
            return
        QApplication.processEvents()  # laid out as the person sees it
        answer(modal)

    QTimer.singleShot(0, look)
