"""The Sources panel: every excerpt retrieved for a reply, and why it was found.

One row per excerpt: its number in the prompt (or "left out" when it did not fit the
context), the file, where in it, and the keyword (BM25), vector (cosine) and fused
(reciprocal-rank) scores. Selecting a row shows the excerpt's text; Open file (or a
double click) opens the file with the system's viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import Source

COLUMNS = [
    "#",
    QT_TRANSLATE_NOOP("SourcesPanel", "File"),
    QT_TRANSLATE_NOOP("SourcesPanel", "Where"),
    QT_TRANSLATE_NOOP("SourcesPanel", "Keyword"),
    QT_TRANSLATE_NOOP("SourcesPanel", "Vector"),
    QT_TRANSLATE_NOOP("SourcesPanel", "Fused"),
]
"""The table's columns (English here, translated when shown)."""


def open_file(path: str) -> bool:
    """Open ``path`` with the system's viewer (tests replace this)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def score(value: float | None) -> str:
    """A score as shown (three significant digits); ``—`` when that search did not find it."""
    return "—" if value is None else f"{value:.3g}"


class SourcesPanel(QWidget):
    """The sources of one reply (hidden when it has none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sources-panel")
        self.sources: tuple[Source, ...] = ()
        self.message_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.title = QLabel(self.tr("<b>Sources</b>"))
        self.open_button = QPushButton(self.tr("Open file"))
        self.open_button.clicked.connect(self.open_selected)
        self.close_button = QPushButton(self.tr("Hide"))
        self.close_button.clicked.connect(self.hide)
        header.addWidget(self.title, 1)
        header.addWidget(self.open_button)
        header.addWidget(self.close_button)
        layout.addLayout(header)
        self.table = QTreeWidget()
        self.table.setHeaderLabels([self.tr(column) for column in COLUMNS])
        self.table.setRootIsDecorated(False)
        for column, width in enumerate((60, 120, 80, 64, 56, 56)):
            self.table.setColumnWidth(column, width)
        self.table.currentItemChanged.connect(lambda *_: self._show_text())
        self.table.itemDoubleClicked.connect(lambda *_: self.open_selected())
        self.text = QTextBrowser()
        self.text.setObjectName("source-text")
        self.table.setAccessibleName(self.tr("Sources of the reply"))
        self.table.setAccessibleDescription(
            self.tr("Each excerpt retrieved, with its keyword, vector and fused scores")
        )
        self.text.setAccessibleName(self.tr("Text of the selected source"))
        # Side by side, so the panel takes a few lines of the chat's height, not half of it.
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(self.table)
        body.addWidget(self.text)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        layout.addWidget(body)
        self.setMaximumHeight(160)
        self.hide()

    def show_sources(
        self, message_id: int | None, sources: Sequence[Source], *, select: int = 0
    ) -> None:
        """Show a reply's sources and select one (hide the panel when there are none)."""
        self.message_id = message_id
        self.sources = tuple(sources)
        self.table.clear()
        for source in self.sources:
            row = QTreeWidgetItem(
                [
                    str(source.number) if source.number is not None else self.tr("left out"),
                    Path(source.path).name,
                    source.where,
                    score(source.keyword_score),
                    score(source.vector_score),
                    score(source.fused_score),
                ]
            )
            row.setToolTip(1, source.path)
            row.setToolTip(
                5,
                self.tr(
                    "Reciprocal-rank fusion of the keyword rank ({value}) and the vector "
                    "rank ({value2})"
                ).format(value=source.keyword_rank or "—", value2=source.vector_rank or "—"),
            )
            if not source.used:
                row.setToolTip(
                    0, self.tr("Found, but left out: it did not fit the model's context")
                )
            self.table.addTopLevelItem(row)
        used = sum(1 for s in self.sources if s.used)
        if used == 1:
            title = self.tr("<b>Sources</b> — %n excerpt given to the model", "", used)
        else:
            title = self.tr("<b>Sources</b> — %n excerpts given to the model", "", used)
        left_out = len(self.sources) - used
        if left_out:
            title += self.tr(", %n left out", "", left_out)
        self.title.setText(title)
        self.setVisible(bool(self.sources))
        if self.sources:
            self.table.setCurrentItem(self.table.topLevelItem(min(select, len(self.sources) - 1)))

    def selected(self) -> Source | None:
        row = self.table.currentItem()
        if row is None:
            return None
        return self.sources[self.table.indexOfTopLevelItem(row)]

    def _show_text(self) -> None:
        source = self.selected()
        self.text.setPlainText(
            f"{source.path}, {source.where}\n\n{source.text}" if source is not None else ""
        )
        self.open_button.setEnabled(source is not None and Path(source.path).exists())

    def open_selected(self) -> None:
        source = self.selected()
        if source is not None:
            open_file(source.path)

    def headers(self) -> list[str]:
        return [self.table.headerItem().text(i) for i in range(self.table.columnCount())]

    def row_texts(self, row: int) -> list[str]:
        item = self.table.topLevelItem(row)
        return [item.text(i) for i in range(self.table.columnCount())]
