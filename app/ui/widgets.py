"""Small widgets shared by the pages: text and tables that never widen the window."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHeaderView, QLabel, QSizePolicy, QTreeWidget, QWidget


class ElidedLabel(QLabel):
    """One line of text that shrinks with its room and ends in "…" when cut.

    Its minimum width is a few characters, not the text's, so a long title or a
    long list of figures never pushes the window wider; the whole text is kept as
    the tooltip when none is set.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 4)
        self._own_tip = False

    def setToolTip(self, tip: str) -> None:
        self._own_tip = bool(tip)
        super().setToolTip(tip or self.text())

    def setText(self, text: str) -> None:
        super().setText(text)
        if not self._own_tip:
            super().setToolTip(text)

    def is_elided(self) -> bool:
        """Whether the text is cut at the current width."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        text = self.fontMetrics().horizontalAdvance(self.text()) + 4
        return QSize(min(hint.width(), text), hint.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), text)


def fit_columns(tree: QTreeWidget) -> None:
    """The first column (the names) takes the width the others leave: the figures and
    the buttons always show, at 800 px too, and a long name is cut in the middle, so a
    file name keeps its quantization at the end (its tooltip is whole)."""
    tree.setIndentation(14)
    tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(40)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, tree.columnCount()):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)


def set_tone(label: QLabel, tone: str | None) -> None:
    """Colour ``label`` by the theme: ``"muted"`` (help, notes), ``"error"``, or None."""
    label.setProperty("tone", tone or "")
    label.style().unpolish(label)
    label.style().polish(label)
