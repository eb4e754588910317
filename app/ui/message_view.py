"""One message in the chat: Markdown text, collapsed reasoning, copy buttons, versions.

While a reply streams, pieces are buffered and appended to the end of the document
at most every :data:`REPAINT_MS` milliseconds; nothing already shown is laid out
again, so token 4,000 costs what token 40 did. When the reply ends, the message is
rendered once as Markdown.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import MessageRecord, ReasoningSplitter, split_reasoning
from app.ui.code_header import CodeHeader, CodeHeaders
from app.ui.highlight import CodeHighlighter, is_dark
from app.ui.icons import set_icon
from app.ui.theme import MESSAGE_COLUMN, SPACE_M, SPACE_S

REPAINT_MS = 30


class AutoHeightBrowser(QTextBrowser):
    """A read-only text view as tall as its text, inside the chat's scroll area."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.highlighter = CodeHighlighter(self.document(), dark=is_dark(self.palette()))
        self.code_headers = CodeHeaders(self)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed
            self.highlighter.set_dark(is_dark(self.palette()))

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 6
        if height != self.height():
            self.setFixedHeight(height)
        self.code_headers.place()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.document().setTextWidth(self.viewport().width())
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, int(self.document().size().height()) + 6)


class StreamingText(QWidget):
    """Text that grows at the end in bounded pieces, then is rendered once, whole.

    Qt lays out a paragraph again whenever text is added to it, so appending to one
    long paragraph costs more with every token. While streaming, text therefore goes
    into a stack of short documents: a new one starts at a line break once the
    current one holds :data:`SEGMENT_CHARS` (or at :data:`HARD_LIMIT` in any case), so
    each append costs the same at token 4,000 as at token 40. :meth:`set_markdown`
    puts the whole text back into one document.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.first = AutoHeightBrowser()
        self._layout.addWidget(self.first)
        self._segments = [self.first]
        self._length = 0  # characters in the last segment

    @property
    def segments(self) -> int:
        return len(self._segments)

    def document(self) -> QTextDocument:
        return self.first.document()

    def toPlainText(self) -> str:
        return "\n".join(s.toPlainText() for s in self._segments)

    def append(self, text: str) -> None:
        if self._length >= SEGMENT_CHARS and "\n" in text:
            head, _, tail = text.rpartition("\n")
            self._insert(head)
            self._new_segment()
            text = tail
        elif self._length >= HARD_LIMIT:
            # A very long paragraph: continue below, at a space when there is one.
            head, space, tail = text.rpartition(" ")
            if space:
                self._insert(head)
                text = tail
            self._new_segment()
        self._insert(text)

    def _insert(self, text: str) -> None:
        if text:
            _append(self._segments[-1], text)
            self._length += len(text)

    def _new_segment(self) -> None:
        segment = AutoHeightBrowser()
        self._layout.addWidget(segment)
        self._segments.append(segment)
        self._length = 0

    def _reset(self) -> None:
        for segment in self._segments[1:]:
            segment.hide()
            self._layout.removeWidget(segment)
            segment.deleteLater()
        self._segments = [self.first]
        self._length = 0

    def set_markdown(self, text: str) -> None:
        self._reset()
        self.first.setMarkdown(text)
        _shade_code_blocks(self.first.document())
        self.first.code_headers.rebuild()

    def set_plain(self, text: str) -> None:
        self._reset()
        self.first.setPlainText(text)
        self.first.code_headers.rebuild()
        self._length = len(text)


SEGMENT_CHARS = 600
HARD_LIMIT = 1500


class MessageView(QFrame):
    """A user or assistant message."""

    copy_requested = Signal(str)
    edit_requested = Signal(int)
    regenerate_requested = Signal()
    version_requested = Signal(int, int)  # message id, step (-1 or +1)
    source_requested = Signal(int, int)  # message id, index in its sources

    def __init__(
        self,
        message: MessageRecord,
        *,
        versions: tuple[int, int] = (1, 1),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message_id = message.id
        self.role = message.role
        self._record = message
        self.generating = False
        self._finished = False  # set by finish(): later pieces are late copies
        # A user's message is a bubble on the right, a reply plain text on the page
        # (the style sheet draws both, by these names).
        self.setObjectName(f"message-{message.role}")
        self.setFrameShape(QFrame.Shape.NoFrame)
        if message.role == "user":
            self.setMaximumWidth(int(MESSAGE_COLUMN * 0.85))
        self.flush_count = 0  # repaints during streaming (tests and the bench read it)
        self._text = message.text
        self._pending: list[str] = []
        self._splitter = ReasoningSplitter()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self.flush)

        layout = QVBoxLayout(self)
        if message.role == "user":
            layout.setContentsMargins(SPACE_M, SPACE_S, SPACE_M, SPACE_S)
        else:
            layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("message-title")
        header.addWidget(self.title)
        header.addStretch(1)
        self.previous_version = self._tool("chevron-left", self.tr("Previous version"))
        self.version_label = QLabel()
        self.next_version = self._tool("chevron-right", self.tr("Next version"))
        self.previous_version.clicked.connect(
            lambda: self.version_requested.emit(self.message_id, -1)
        )
        self.next_version.clicked.connect(lambda: self.version_requested.emit(self.message_id, 1))
        for widget in (self.previous_version, self.version_label, self.next_version):
            header.addWidget(widget)
        # Hover actions: shown while the pointer is over the message or one of them has
        # the keyboard focus (Tab reaches them; they are never hidden, only faded out).
        self.actions = QWidget()
        actions = QHBoxLayout(self.actions)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(0)
        self.copy_button = self._tool("copy", self.tr("Copy this message"))
        self.copy_button.clicked.connect(lambda: self.copy_requested.emit(self.answer_text()))
        actions.addWidget(self.copy_button)
        if message.role == "user":
            self.edit_button = self._tool(
                "pencil", self.tr("Edit and resend (the old branch is kept)")
            )
            self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.message_id))
            actions.addWidget(self.edit_button)
        self.regenerate_button = self._tool("refresh-cw", self.tr("Write this reply again"))
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(False)  # the last reply only: set_can_regenerate
        actions.addWidget(self.regenerate_button)
        self._fade = QGraphicsOpacityEffect(self.actions)
        self.actions.setGraphicsEffect(self._fade)
        self._show_actions(False)
        header.addWidget(self.actions)
        layout.addLayout(header)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setText(self.tr("Reasoning ▸"))
        set_icon(self.reasoning_toggle, "brain")
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setAutoRaise(True)
        self.reasoning = StreamingText()
        self.reasoning.setObjectName("reasoning")
        self.reasoning.hide()
        self.reasoning_toggle.hide()
        self.reasoning_toggle.toggled.connect(self._toggle_reasoning)
        layout.addWidget(self.reasoning_toggle)
        layout.addWidget(self.reasoning)

        self.body = StreamingText()
        self.body.first.code_headers.copy_requested.connect(self.copy_requested)
        layout.addWidget(self.body)
        self.sources_line = QLabel()  # the reply's sources, each a link to the Sources panel
        self.sources_line.setObjectName("message-sources")
        self.sources_line.setWordWrap(True)
        self.sources_line.setAccessibleName(self.tr("Sources of this reply"))
        self.sources_line.linkActivated.connect(
            lambda link: self.source_requested.emit(self.message_id, int(link.split(":")[1]))
        )
        layout.addWidget(self.sources_line)
        self.footer = QLabel()
        self.footer.setObjectName("message-footer")
        self.footer.setWordWrap(True)
        layout.addWidget(self.footer)
        self.set_versions(*versions)
        self.update_record(message)

    def _tool(self, icon: str, tip: str) -> QToolButton:
        button = QToolButton()
        set_icon(button, icon)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        button.installEventFilter(self)
        return button

    # -- hover actions ------------------------------------------------------------------

    def _show_actions(self, shown: bool) -> None:
        self._fade.setOpacity(1.0 if shown else 0.0)

    def enterEvent(self, event: QEvent) -> None:  # type: ignore[override]
        super().enterEvent(event)  # type: ignore[arg-type]
        self._show_actions(True)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self._show_actions(self.actions.isAncestorOf(self.focusWidget() or self))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn:
            self._show_actions(True)
        elif event.type() == QEvent.Type.FocusOut:
            self._show_actions(self.underMouse())
        return super().eventFilter(watched, event)

    def set_can_regenerate(self, can: bool) -> None:
        """Offer Regenerate among this message's actions (the last reply, when idle)."""
        self.regenerate_button.setVisible(can and self.role == "assistant")

    def code_headers(self) -> list[CodeHeader]:
        """The bars on this message's code blocks (language and Copy)."""
        return self.body.first.code_headers.headers

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.role != "user":
            return hint
        # A bubble as wide as its longest line, up to its maximum width.
        metrics = self.body.first.fontMetrics()
        lines = self._text.splitlines() or [""]
        text = max(metrics.horizontalAdvance(line) for line in lines)
        margins = self.layout().contentsMargins()
        wanted = text + margins.left() + margins.right() + 24
        header = self.title.sizeHint().width() + self.actions.sizeHint().width() + 32
        return QSize(min(max(wanted, header), self.maximumWidth()), hint.height())

    # -- content ------------------------------------------------------------------------

    def answer_text(self) -> str:
        return split_reasoning(self._text)[1] if self.role == "assistant" else self._text

    def update_record(self, message: MessageRecord) -> None:
        """Show a stored message whole (rendered as Markdown)."""
        self._text = message.text
        self._record = message
        self._pending.clear()
        self._render()
        self._set_title(message)
        self._set_footer(message)
        self._set_sources(message)

    def _set_sources(self, message: MessageRecord) -> None:
        links = [
            f"<a href='source:{index}'>{_escape(source.label())}</a>"
            for index, source in enumerate(message.sources)
            if source.used
        ]
        self.sources_line.setText(
            self.tr("Sources: {links}").format(links=" · ".join(links)) if links else ""
        )
        self.sources_line.setVisible(bool(links))

    def _render(self) -> None:
        if self.role == "assistant":
            reasoning, answer = split_reasoning(self._text)
        else:
            reasoning, answer = "", self._text
        self.reasoning.set_markdown(reasoning)
        self.reasoning_toggle.setVisible(bool(reasoning.strip()))
        if self.role == "user":
            self.body.set_plain(answer)
        else:
            self.body.set_markdown(answer)
        self.updateGeometry()  # a bubble fits its text

    def _set_title(self, message: MessageRecord) -> None:
        if message.role == "user":
            self.title.setText(self.tr("<b>You</b>"))
            return
        source = message.model or "assistant"
        if message.quantization:
            source += f" · {message.quantization}"
        backend = "Claude" if message.backend == "claude" else self.tr("local")
        self.title.setText(
            self.tr("<b>{source}</b> <span style='color:gray'>({backend})</span>").format(
                source=_escape(source), backend=backend
            )
        )

    def _set_footer(self, message: MessageRecord) -> None:
        parts = [state] if (state := self._state(message)) else []
        if message.completion_tokens:
            parts.append(
                self.tr("{completion_tokens} tokens").format(
                    completion_tokens=message.completion_tokens
                )
            )
        if message.tokens_per_second:
            parts.append(
                self.tr("{tokens_per_second:.1f} tok/s").format(
                    tokens_per_second=message.tokens_per_second
                )
            )
        if message.ttft is not None:
            parts.append(self.tr("first token {ttft:.2f} s").format(ttft=message.ttft))
        self.footer.setText(" · ".join(parts))
        self.footer.setVisible(bool(parts))

    def _state(self, message: MessageRecord) -> str:
        """How the reply ended (or that it is still being written), in words."""
        if self.generating:
            return self.tr("● generating…")
        reason = message.stop_reason
        if message.status == "error":
            return self.tr("⚠ interrupted by an error — {value}").format(
                value=message.error or self.tr("failed")
            )
        if message.status == "interrupted" and reason == "crashed":
            return self.tr("⚠ the model stopped unexpectedly — what was written so far is kept")
        if reason == "user":
            return self.tr("■ stopped by you")
        if message.status == "interrupted":
            return self.tr(
                "⚠ not finished: Hearth closed while this was written — what arrived is kept"
            )
        if reason == "length":
            return self.tr("✂ cut at the length limit (Max tokens in Settings)")
        if reason == "context":
            return self.tr("✂ cut: the context window is full")
        return ""

    def set_generating(self, generating: bool) -> None:
        """Mark this reply as being written now (until :meth:`finish`); a reply that has
        ended is never written again (a new version is a new message)."""
        if generating and self._finished:
            return
        self.generating = generating
        self._set_footer(self._record)

    def set_versions(self, position: int, count: int) -> None:
        many = count > 1
        for widget in (self.previous_version, self.version_label, self.next_version):
            widget.setVisible(many)
        self.version_label.setText(f"{position}/{count}")
        self.previous_version.setEnabled(position > 1)
        self.next_version.setEnabled(position < count)

    # -- streaming ----------------------------------------------------------------------

    def append(self, piece: str) -> None:
        """Queue a streamed piece; it is painted within REPAINT_MS.

        A piece that arrives after :meth:`finish` is dropped: the finished record already
        holds the whole text (the end is announced on the GUI thread at once, while the
        worker's last pieces may still be queued behind it).
        """
        if self._finished:
            return
        if not self.generating:  # pieces arrive only while the reply is written
            self.set_generating(True)
        self._pending.append(piece)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Append what is pending to the end of the document (no re-layout of the rest)."""
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._text += text
        self.flush_count += 1
        routed = self._splitter.feed(text)
        if routed.reasoning:
            self.reasoning_toggle.show()
            self.reasoning.append(routed.reasoning)
        if routed.answer:
            self.body.append(routed.answer)

    def finish(self, message: MessageRecord) -> None:
        """The reply ended: render it once, whole, as Markdown."""
        self._timer.stop()
        self.flush()
        self.generating = False
        self._finished = True
        self.update_record(message)

    def _toggle_reasoning(self, shown: bool) -> None:
        self.reasoning.setVisible(shown)
        self.reasoning_toggle.setText(self.tr("Reasoning ▾") if shown else self.tr("Reasoning ▸"))


def reply_announcement(message: MessageRecord) -> str:
    """What a screen reader says when a reply has ended: how it ended, then its start."""
    answer = split_reasoning(message.text)[1].strip()
    if message.status == "error":
        head = QCoreApplication.translate("MessageView", "The reply failed")
    elif message.status == "interrupted":
        head = QCoreApplication.translate("MessageView", "The reply stopped")
    else:
        head = QCoreApplication.translate("MessageView", "Reply finished")
    return f"{head}: {answer[:400]}" if answer else f"{head}."


def _shade_code_blocks(document: QTextDocument) -> None:
    """Give fenced code a background, so it reads as code in light and dark themes."""
    shade = QColor(128, 128, 128, 40)
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.hasProperty(QTextFormat.Property.BlockCodeFence):
            fmt.setBackground(shade)
            QTextCursor(block).setBlockFormat(fmt)
        block = block.next()


def _append(view: QTextBrowser, text: str) -> None:
    cursor = QTextCursor(view.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def copy_to_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)
