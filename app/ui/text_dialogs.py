"""Dialogs around text: an editor sized to what it edits, and texts shown exactly.

:class:`TextEditDialog` is the multi-line question (editing a sent message): a
resizable window whose word-wrapping editor opens at the size of its text.
:class:`ExactTextsDialog` shows texts exactly as they are (monospace, every space,
tab and line kept) under their headings, for the preview of what leaves the machine.
Both take their words from the caller (:class:`~app.ui.dialogs.Ask`), so the words
live in one place.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from PySide6.QtCore import QSize
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QFontMetrics,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

_EDIT_COLUMNS = (50, 90)  # the editor opens between these widths, in characters
_EDIT_ROWS = (5, 25)  # and between these heights, in lines
_SHOWN_COLUMNS = 80
_SHOWN_ROWS = (1, 15)  # each shown text; a longer one scrolls inside its box


def wrapped_lines(text: str, columns: int) -> int:
    """How many lines ``text`` takes when its words wrap at ``columns`` characters."""
    return sum(len(textwrap.wrap(line, columns)) or 1 for line in text.split("\n"))


def _fit(
    editor: QPlainTextEdit, text: str, columns: tuple[int, int], rows: tuple[int, int]
) -> QSize:
    """The size that shows ``text`` in ``editor`` at a width within ``columns`` characters
    and a height within ``rows`` lines, capped by the screen."""
    metrics = editor.fontMetrics()
    longest = max((len(line) for line in text.split("\n")), default=0)
    wide = min(max(longest, columns[0]), columns[1])
    tall = min(max(wrapped_lines(text, wide), rows[0]), rows[1])
    chrome = 2 * (editor.frameWidth() + round(editor.document().documentMargin())) + 4
    width = (
        wide * metrics.horizontalAdvance("x")
        + chrome
        + editor.verticalScrollBar().sizeHint().width()
    )
    height = tall * metrics.lineSpacing() + chrome
    screen = editor.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        room = screen.availableGeometry()
        width = min(width, int(room.width() * 0.9))
        height = min(height, int(room.height() * 0.7))
    return QSize(width, height)


class TextEditDialog(QDialog):
    """Edit a text in a word-wrapping editor sized to it; resizable; Ctrl+Return accepts."""

    def __init__(self, parent: QWidget | None, title: str, label: str, value: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setSizeGripEnabled(True)
        layout = QVBoxLayout(self)
        prompt = QLabel(label)
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        self.editor = QPlainTextEdit()
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setPlainText(value)
        self.editor.setAccessibleName(title)
        self.editor.setAccessibleDescription(label)
        prompt.setBuddy(self.editor)
        layout.addWidget(self.editor, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.accept)
        # Open at the text's size, then let the person make it smaller or larger.
        self.editor.setMinimumSize(_fit(self.editor, value, _EDIT_COLUMNS, _EDIT_ROWS))
        self.adjustSize()
        self.editor.setMinimumSize(QSize(160, 3 * self.editor.fontMetrics().lineSpacing()))
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.setFocus()

    def text(self) -> str:
        return self.editor.toPlainText()


class ExactTextsDialog(QDialog):
    """Texts under their headings, exactly as they are, and a button that accepts them.

    ``views`` holds one read-only monospace box per text, in order.
    """

    def __init__(
        self,
        parent: QWidget | None,
        *,
        title: str,
        header: str,
        sections: Sequence[tuple[str, str]],
        footer: str,
        accept_label: str,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setSizeGripEnabled(True)
        layout = QVBoxLayout(self)
        self.header = QLabel(header)
        self.header.setWordWrap(True)
        bold = QFont(self.header.font())
        bold.setBold(True)
        self.header.setFont(bold)
        layout.addWidget(self.header)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.views: list[QPlainTextEdit] = []
        for heading, text in sections:
            name = QLabel(heading)
            name.setFont(bold)
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(fixed)
            view.setTabStopDistance(4 * view.fontMetrics().horizontalAdvance(" "))
            view.setPlainText(text)
            view.setAccessibleName(heading)
            # Estimated a little narrower than the box, so a wrapped text never scrolls
            # for want of one line.
            fit = _fit(view, text, (_SHOWN_COLUMNS - 6,) * 2, _SHOWN_ROWS)
            view.setFixedHeight(fit.height())
            name.setBuddy(view)
            column.addWidget(name)
            column.addWidget(view)
            self.views.append(view)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        self.footer = QLabel(footer)
        self.footer.setWordWrap(True)
        layout.addWidget(self.footer)
        buttons = QDialogButtonBox()
        self.accept_button = buttons.addButton(accept_label, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # Wide enough for a line of code, tall enough for all of it up to most of the screen.
        wide = _SHOWN_COLUMNS * QFontMetrics(fixed).horizontalAdvance("x") + 80
        room = self.screen().availableGeometry()
        tall = body.sizeHint().height() + self.header.sizeHint().height() + 120
        self.resize(min(wide, int(room.width() * 0.9)), min(tall, int(room.height() * 0.8)))
