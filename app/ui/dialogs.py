"""Every question Hearth asks the user, behind small classmethods tests can answer.

Tests replace ``Ask.confirm`` (and friends) with a function returning the answer,
so no modal dialog ever blocks a test.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from app.core.chat import Preview
from app.ui.text_dialogs import ExactTextsDialog, TextEditDialog


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
        """A resizable, word-wrapping editor opened at the size of ``value``."""
        dialog = TextEditDialog(parent, title, label, value)
        return dialog.text() if dialog.exec() == QDialog.DialogCode.Accepted else None

    @classmethod
    def secret(cls, parent: QWidget | None, title: str, label: str) -> str | None:
        """Hidden input (an API key): never echoed on screen."""
        text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Password)
        return text if ok else None

    @classmethod
    def choose(
        cls, parent: QWidget | None, title: str, text: str, options: list[str]
    ) -> str | None:
        """One of ``options`` as buttons, or None when cancelled."""
        box = QMessageBox(parent)
        box.setWindowTitle(title)
        box.setText(text)
        buttons = {box.addButton(o, QMessageBox.ButtonRole.AcceptRole): o for o in options}
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return buttons.get(box.clickedButton())

    @classmethod
    def preview(cls, parent: QWidget | None, preview: Preview) -> bool:
        """Show exactly what will leave the machine (every space and tab); True to send it."""
        sections = (
            [(QCoreApplication.translate("Ask", "System prompt"), preview.system)]
            if preview.system
            else []
        )
        sections += [(message.role, message.content) for message in preview.messages]
        name = "Claude" if preview.destination.kind == "claude" else preview.destination.name
        dialog = ExactTextsDialog(
            parent,
            title=QCoreApplication.translate("Ask", "Send to {name}?").format(name=name),
            header=QCoreApplication.translate("Ask", "About to send {summary}.").format(
                summary=preview.summary()
            ),
            sections=sections,
            footer=QCoreApplication.translate(
                "Ask", "Token count estimated on this computer. Host: {host}."
            ).format(host=preview.host),
            accept_label=QCoreApplication.translate("Ask", "Send to {name}").format(name=name),
        )
        return dialog.exec() == QDialog.DialogCode.Accepted

    @classmethod
    def open_model_file(cls, parent: QWidget | None) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            parent,
            QCoreApplication.translate("Ask", "Open a GGUF model"),
            "",
            QCoreApplication.translate("Ask", "GGUF models (*.gguf);;All files (*)"),
        )
        return path or None

    @classmethod
    def save_file(cls, parent: QWidget | None, title: str, name: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, title, name, filters)
        return path or None
