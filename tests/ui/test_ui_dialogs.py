"""The questions behind Ask, as the person sees them: the real dialogs, answered from a timer."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QPlainTextEdit, QWidget

from app.ui.dialogs import Ask
from tests.support.modal import answer_modal

pytestmark = pytest.mark.usefixtures("qapp")

PARAGRAPH = "This is a long sentence that a person wrote and now wants to change a little. " * 4


def test_the_edit_dialog_wraps_words_opens_at_its_texts_size_and_resizes() -> None:
    text = "\n\n".join([PARAGRAPH] * 3)
    seen: dict[str, object] = {}

    def answer(modal: QWidget) -> None:
        editor = modal.findChild(QPlainTextEdit)
        assert editor is not None
        seen["wrap"] = editor.lineWrapMode()
        seen["sideways"] = editor.horizontalScrollBar().isVisible()
        spacing = editor.fontMetrics().lineSpacing()
        seen["rows"] = editor.viewport().height() // spacing
        seen["columns"] = editor.viewport().width() // editor.fontMetrics().horizontalAdvance("x")
        before = editor.size()
        modal.resize(modal.width() + 200, modal.height() + 150)
        QApplication.processEvents()
        seen["grows"] = editor.width() > before.width() and editor.height() > before.height()
        editor.setPlainText(text + " Edited.")
        assert isinstance(modal, QDialog)
        modal.accept()

    answer_modal(answer)
    assert Ask.multiline(None, "Edit message", "Edit and resend:", text) == text + " Edited."
    assert seen["wrap"] == QPlainTextEdit.LineWrapMode.WidgetWidth
    assert seen["sideways"] is False  # long lines wrap: no sideways scrolling
    assert isinstance(seen["columns"], int) and seen["columns"] >= 50
    assert isinstance(seen["rows"], int) and seen["rows"] >= 12  # the whole text, not 3 lines
    assert seen["grows"] is True  # a resizable window, the editor with it


def test_a_short_text_opens_in_a_usable_editor_and_cancel_changes_nothing() -> None:
    seen: dict[str, int] = {}

    def answer(modal: QWidget) -> None:
        editor = modal.findChild(QPlainTextEdit)
        assert editor is not None
        seen["rows"] = editor.viewport().height() // editor.fontMetrics().lineSpacing()
        editor.setPlainText("thrown away")
        assert isinstance(modal, QDialog)
        modal.reject()

    answer_modal(answer)
    assert Ask.multiline(None, "Edit message", "Edit and resend:", "Hi") is None
    assert seen["rows"] >= 4
