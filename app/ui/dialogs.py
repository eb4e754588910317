"""Every question Hearth asks the user, behind small classmethods tests can answer.

Tests replace ``Ask.confirm`` (and friends) with a function returning the answer,
so no modal dialog ever blocks a test.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget


class Ask:
    """Questions to the user; each returns the answer, or None when cancelled."""

    @classmethod
    def confirm(cls, parent: QWidget | None, title: str, text: str) -> bool:
        answer = QMessageBox.question(parent, title, text)
        return answer == QMessageBox.StandardButton.Yes

    @classmethod
    def text(cls, parent: QWidget | None, title: str, label: str, value: str = "") -> str | None:
        text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, value)
        return text if ok else None

    @classmethod
    def multiline(
        cls, parent: QWidget | None, title: str, label: str, value: str = ""
    ) -> str | None:
        text, ok = QInputDialog.getMultiLineText(parent, title, label, value)
        return text if ok else None

    @classmethod
    def open_model_file(cls, parent: QWidget | None) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            parent, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)"
        )
        return path or None

    @classmethod
    def save_file(cls, parent: QWidget | None, title: str, name: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, title, name, filters)
        return path or None
