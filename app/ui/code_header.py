"""A bar on top of each fenced code block of a message: its language and a Copy button.

Qt's Markdown reader gives each line of a fenced block its own text block, marked
``BlockCodeFence`` and carrying the fence's language; a block left open at the end of
a reply (one that was stopped) is code to the end, and gets its bar too. The first
line of each block is given a top margin, and the bar is a child of the text view's
viewport placed in that margin, so it sits on the block and scrolls with it. What is
copied is the block's text as shown, indentation included.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument, QTextFormat
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTextEdit, QToolButton

from app.ui.icons import set_icon

HEADER_HEIGHT = 28
COPIED_MS = 1500


@dataclass(frozen=True, slots=True)
class CodeBlockSpan:
    """One fenced block as the document holds it."""

    first: QTextBlock
    language: str
    code: str


def code_spans(document: QTextDocument) -> list[CodeBlockSpan]:
    """The fenced code blocks of a rendered Markdown document, in order."""
    spans: list[CodeBlockSpan] = []
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if not fmt.hasProperty(QTextFormat.Property.BlockCodeFence):
            block = block.next()
            continue
        language = str(fmt.property(QTextFormat.Property.BlockCodeLanguage) or "")
        first, lines = block, []
        while block.isValid():
            fmt = block.blockFormat()
            same = str(fmt.property(QTextFormat.Property.BlockCodeLanguage) or "") == language
            if not fmt.hasProperty(QTextFormat.Property.BlockCodeFence) or not same:
                break
            lines.append(block.text())
            block = block.next()
        spans.append(CodeBlockSpan(first, language, "\n".join(lines)))
    return spans


class CodeHeader(QFrame):
    """The language of one code block, and a Copy button that says "Copied"."""

    copy_requested = Signal(str)

    def __init__(self, span: CodeBlockSpan, parent: QObject | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.setObjectName("code-header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.code = span.code
        self.language = span.language
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 2, 0)
        self.label = QLabel(span.language or "code")
        self.label.setObjectName("code-language")
        layout.addWidget(self.label)
        layout.addStretch(1)
        self.copy_button = QToolButton()
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setAccessibleName(
            self.tr("Copy the {language} code").format(language=span.language)
            if span.language
            else self.tr("Copy the code")
        )
        self.copy_button.setToolTip(self.tr("Copy this code block"))
        self.copy_button.setAccessibleDescription(self.tr("Copy this code block"))
        self.copy_button.clicked.connect(self._copy)
        layout.addWidget(self.copy_button)
        self._reset = QTimer(self)
        self._reset.setSingleShot(True)
        self._reset.setInterval(COPIED_MS)
        self._reset.timeout.connect(self._show_ready)
        self._show_ready()

    def _copy(self) -> None:
        self.copy_requested.emit(self.code)
        self.copy_button.setText(self.tr("Copied"))
        set_icon(self.copy_button, "check")
        self._reset.start()

    def _show_ready(self) -> None:
        self.copy_button.setText(self.tr("Copy"))
        set_icon(self.copy_button, "copy")


class CodeHeaders(QObject):
    """The bars of one text view's code blocks, rebuilt when its text is rendered."""

    copy_requested = Signal(str)

    def __init__(self, view: QTextEdit) -> None:
        super().__init__(view)
        self.view = view
        self.headers: list[CodeHeader] = []
        self._blocks: list[QTextBlock] = []

    def rebuild(self) -> None:
        """Put a bar on each code block of the view's document (none when there are none)."""
        for header in self.headers:
            header.hide()
            header.deleteLater()
        self.headers, self._blocks = [], []
        for span in code_spans(self.view.document()):
            fmt = span.first.blockFormat()
            fmt.setTopMargin(HEADER_HEIGHT)
            QTextCursor(span.first).setBlockFormat(fmt)
            header = CodeHeader(span, self.view.viewport())
            header.copy_requested.connect(self.copy_requested)
            header.show()
            self.headers.append(header)
            self._blocks.append(span.first)
        self.place()

    def place(self) -> None:
        """Move each bar onto the top margin of its block (after a resize or a re-layout)."""
        layout = self.view.document().documentLayout()
        margin = int(self.view.document().documentMargin())
        width = self.view.viewport().width() - 2 * margin
        for header, block in zip(self.headers, self._blocks, strict=True):
            top = layout.blockBoundingRect(block).top()  # below the block's top margin
            header.setGeometry(margin, int(top) - HEADER_HEIGHT, max(width, 0), HEADER_HEIGHT)
