"""The chat: a view over one :class:`~app.core.chat.conversation.Conversation` and a composer.

The page only renders the conversation's events and forwards the user's intents
(send, stop, regenerate, edit, switch version) as signals; the
:class:`~app.ui.chat_controller.ChatController` acts on them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import Conversation, ConversationEvent
from app.ui.accessibility import announce
from app.ui.collection_picker import CollectionPicker
from app.ui.icons import set_icon
from app.ui.message_view import MessageView, copy_to_clipboard, reply_announcement
from app.ui.sources_panel import SourcesPanel
from app.ui.theme import MESSAGE_COLUMN, SPACE_M, SPACE_S
from app.ui.widgets import set_tone

DRAFT_SAVE_MS = 400


class Composer(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ChatPage(QWidget):
    """Messages, a per-conversation system prompt, and the composer."""

    send_requested = Signal(str)
    stop_requested = Signal()
    regenerate_requested = Signal()
    edit_requested = Signal(int)
    version_requested = Signal(int, int)
    system_prompt_changed = Signal(str)
    ask_claude_requested = Signal(str)
    backend_changed = Signal(str)  # "local" or "claude", for this conversation
    preview_changed = Signal(bool)  # show the Claude preview before sending
    announced = Signal(str)  # what screen readers were told (a reply finished)
    # The conversation's events, from whichever thread changed it (the inference worker
    # saves streamed pieces on its own thread): delivered queued to this page's thread.
    _conversation_event = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conversation: Conversation | None = None
        self._unsubscribe = None
        self.views: dict[int, MessageView] = {}
        self._busy = False
        self.first_run: QWidget | None = None
        self._first_run_wanted = False
        self._conversation_event.connect(self._on_event)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        system_row = QHBoxLayout()
        system_row.addWidget(QLabel(self.tr("System prompt:")))
        self.system_prompt = QLineEdit()
        self.system_prompt.setPlaceholderText(
            self.tr("How the assistant should behave in this chat")
        )
        self.system_prompt.editingFinished.connect(
            lambda: self.system_prompt_changed.emit(self.system_prompt.text())
        )
        system_row.addWidget(self.system_prompt, 1)
        self.backend_label = QLabel(self.tr("Replies from:"))
        self.backend = QComboBox()
        self.backend.addItem(self.tr("This computer"), "local")
        self.backend.addItem(self.tr("Claude (sent to Anthropic)"), "claude")
        self.backend.activated.connect(
            lambda _i: self.backend_changed.emit(self.backend.currentData())
        )
        system_row.addWidget(self.backend_label)
        system_row.addWidget(self.backend)
        self.preview_check = QCheckBox(self.tr("Preview before sending"))
        self.preview_check.setToolTip(
            self.tr("Show exactly what will be sent to Claude, and its cost, before each request")
        )
        self.preview_check.setChecked(True)
        self.preview_check.clicked.connect(self.preview_changed)
        system_row.addWidget(self.preview_check)
        layout.addLayout(system_row)

        self.model_note = QLabel()  # about the loaded model; stays across chats
        self.model_note.setObjectName("model-note")
        self.model_note.setWordWrap(True)
        set_tone(self.model_note, "muted")
        self.model_note.hide()
        layout.addWidget(self.model_note)
        self.notice = QLabel()  # about this chat's last reply
        self.notice.setObjectName("chat-notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        layout.addWidget(self.notice)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The messages: a column of readable width, centred however wide the window is.
        holder = QWidget()
        holder.setObjectName("message-holder")
        centre = QHBoxLayout(holder)
        centre.setContentsMargins(SPACE_M, SPACE_M, SPACE_M, SPACE_M)
        self.message_column = QWidget()
        self.message_column.setMaximumWidth(MESSAGE_COLUMN)
        centre.addWidget(self.message_column)
        self.messages_layout = QVBoxLayout(self.message_column)
        self.messages_layout.setContentsMargins(0, 0, 0, 0)
        self.messages_layout.setSpacing(SPACE_M)
        self.messages_layout.addStretch(1)
        self.scroll.setWidget(holder)
        layout.addWidget(self.scroll, 1)
        self.sources = SourcesPanel()  # the last reply's retrieved excerpts and their scores
        layout.addWidget(self.sources)
        self.empty_label = QLabel(self.tr("Start a conversation: type a message below."))
        self.empty_label.setObjectName("empty-chat")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.messages_layout.insertWidget(0, self.empty_label)

        composer_row = QHBoxLayout()
        self.composer = Composer()
        self.composer.setPlaceholderText(
            self.tr("Message (Enter sends, Shift+Enter for a new line)")
        )
        self.composer.setAccessibleName(self.tr("Message"))
        self.composer.setTabChangesFocus(True)  # Tab reaches Send; Shift+Enter is the new line
        self.composer.setMaximumHeight(96)
        self.composer.submitted.connect(self._submit)
        self.composer.textChanged.connect(self._draft_changed)
        composer_row.addWidget(self.composer, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.clicked.connect(self._submit)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()
        self.regenerate_button = QPushButton(self.tr("Regenerate"))
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.ask_claude_button = QPushButton(self.tr("Ask Claude"))
        self.ask_claude_button.setToolTip(
            self.tr("Send this message and the conversation to Claude (you see exactly what first)")
        )
        self.ask_claude_button.clicked.connect(self._ask_claude)
        self.collections = CollectionPicker()  # local documents this chat answers from
        self.send_button.setObjectName("primary")
        for button, name in (
            (self.send_button, "send"),
            (self.stop_button, "square"),
            (self.ask_claude_button, "sparkles"),
            (self.regenerate_button, "refresh-cw"),
        ):
            set_icon(button, name)
            buttons.addWidget(button)
        buttons.addWidget(self.collections)
        self.stop_button.setAccessibleDescription(
            self.tr("Stop the reply; what was written is kept (Esc)")
        )
        self.regenerate_button.setAccessibleDescription(self.tr("Write the last reply again"))
        composer_row.addLayout(buttons)
        # The composer lines up with the message column above it.
        composer_box = QWidget()
        composer_box.setLayout(composer_row)
        composer_row.setContentsMargins(SPACE_M, 0, SPACE_M, SPACE_S)
        composer_box.setMaximumWidth(MESSAGE_COLUMN + 2 * SPACE_M)
        centred = QHBoxLayout()  # a row of its own: at its maximum width, it is centred
        centred.addWidget(composer_box)
        layout.addLayout(centred)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_SAVE_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._loading_conversation = False
        self.scroll.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_bottom = True
        self.scroll.verticalScrollBar().valueChanged.connect(self._remember_position)

    # -- the conversation shown -------------------------------------------------------

    def show_conversation(self, conversation: Conversation | None) -> None:
        self.save_draft()
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        self.conversation = conversation
        self._loading_conversation = True
        self.composer.setPlainText(conversation.draft if conversation else "")
        self.system_prompt.setText(conversation.record.system_prompt if conversation else "")
        self._loading_conversation = False
        self.notice.hide()
        self._show_options()
        if conversation is not None:
            self._unsubscribe = conversation.subscribe(self._conversation_event.emit)
        self._rebuild()

    def _show_options(self) -> None:
        options = self.conversation.options if self.conversation else {}
        backend = options.get("backend", "local")
        self.backend.setCurrentIndex(max(0, self.backend.findData(backend)))
        self.preview_check.setChecked(bool(options.get("preview_before_send", True)))

    def _rebuild(self) -> None:
        for view in self.views.values():
            # Keep the parent until Qt deletes it on this thread: an orphan's wrapper
            # could be garbage-collected (and the widget destroyed) on the worker thread.
            view.hide()
            self.messages_layout.removeWidget(view)
            view.deleteLater()
        self.views.clear()
        messages = self.conversation.messages if self.conversation else []
        for message in messages:
            self._add_view(message.id)
        self._show_empty()
        self.regenerate_button.setEnabled(bool(messages) and messages[-1].role == "assistant")
        self._show_sources(messages[-1].id if messages else None)
        self._mark_last_reply()

    def _add_view(self, message_id: int) -> MessageView:
        assert self.conversation is not None
        record = next(m for m in self.conversation.messages if m.id == message_id)
        view = MessageView(record, versions=self.conversation.versions(message_id))
        view.copy_requested.connect(copy_to_clipboard)
        view.edit_requested.connect(self.edit_requested)
        view.version_requested.connect(self.version_requested)
        view.source_requested.connect(self._show_sources)
        view.regenerate_requested.connect(self.regenerate_requested)
        alignment = Qt.AlignmentFlag.AlignRight if record.role == "user" else Qt.AlignmentFlag(0)
        self.messages_layout.insertWidget(self.messages_layout.count() - 1, view, 0, alignment)
        self.views[message_id] = view
        self._show_empty()
        return view

    # -- the first run: no model yet ----------------------------------------------------

    def set_first_run(self, widget: QWidget) -> None:
        """The panel an empty chat shows instead of its hint while no model is there."""
        self.first_run = widget
        self.messages_layout.insertWidget(0, widget)
        self._show_empty()

    def show_first_run(self, shown: bool) -> None:
        self._first_run_wanted = shown
        self._show_empty()

    def _show_empty(self) -> None:
        empty = not self.views
        first_run = self.first_run is not None and self._first_run_wanted and empty
        if self.first_run is not None:
            self.first_run.setVisible(first_run)
        self.empty_label.setVisible(empty and not first_run)

    def _on_event(self, event: ConversationEvent) -> None:
        if self.conversation is None:
            return
        if event.kind == "system_prompt":
            if self.system_prompt.text() != event.text:
                self.system_prompt.setText(event.text)
        elif event.kind == "options":
            self._show_options()
        elif event.kind == "reset":
            self._rebuild()
        elif event.kind == "appended" and event.message_id is not None:
            self._add_view(event.message_id)
            self._mark_last_reply()
        elif event.kind == "streamed" and event.message_id in self.views:
            self.views[event.message_id].append(event.text)
        elif event.kind == "updated" and event.message_id in self.views:
            assert self.conversation is not None
            record = next(m for m in self.conversation.messages if m.id == event.message_id)
            self.views[event.message_id].finish(record)
            if record.role == "assistant":
                text = reply_announcement(record)
                announce(self.views[event.message_id], text)
                self.announced.emit(text)
            messages = self.conversation.messages
            if record is messages[-1]:
                self._show_sources(record.id)
            self.regenerate_button.setEnabled(bool(messages) and messages[-1].role == "assistant")
            self._mark_last_reply()

    def _mark_last_reply(self) -> None:
        """Only the last reply offers Regenerate among its actions."""
        messages = self.conversation.messages if self.conversation else []
        last = messages[-1].id if messages and messages[-1].role == "assistant" else None
        if self._busy:
            last = None  # a reply is being written
        for message_id, view in self.views.items():
            view.set_can_regenerate(message_id == last)

    def _show_sources(self, message_id: int | None, index: int = 0) -> None:
        """The Sources panel for a reply (the last one, or the one whose source was clicked)."""
        messages = self.conversation.messages if self.conversation else []
        record = next((m for m in messages if m.id == message_id), None)
        self.sources.show_sources(message_id, record.sources if record else (), select=index)

    # -- composer -------------------------------------------------------------------------

    def _submit(self) -> None:
        text = self.composer.toPlainText()
        if text.strip() and self.send_button.isEnabled():
            self.send_requested.emit(text)

    def _ask_claude(self) -> None:
        text = self.composer.toPlainText()
        if text.strip() and self.send_button.isEnabled():
            self.ask_claude_requested.emit(text)

    def set_claude_available(self, available: bool) -> None:
        """Show the Claude controls only when the user opted in."""
        for widget in (
            self.ask_claude_button,
            self.backend_label,
            self.backend,
            self.preview_check,
        ):
            widget.setVisible(available)

    def clear_composer(self) -> None:
        """After a successful send only: a failed send leaves the text where it was."""
        self._loading_conversation = True
        self.composer.clear()
        self._loading_conversation = False

    def _draft_changed(self) -> None:
        if not self._loading_conversation:
            self._draft_timer.start()

    def save_draft(self) -> None:
        self._draft_timer.stop()
        if self.conversation is not None:
            text = self.composer.toPlainText()
            if text != self.conversation.draft:
                self.conversation.set_draft(text)

    def set_busy(self, busy: bool) -> None:
        """While a reply streams: Stop instead of Send."""
        self.stop_button.setVisible(busy)
        self.send_button.setVisible(not busy)
        self.send_button.setEnabled(not busy)
        self.ask_claude_button.setEnabled(not busy)
        messages = self.conversation.messages if self.conversation else []
        self.regenerate_button.setEnabled(
            not busy and bool(messages) and messages[-1].role == "assistant"
        )
        if busy and messages and messages[-1].role == "assistant" and messages[-1].id in self.views:
            self.views[messages[-1].id].set_generating(True)  # the reply being written
        self._busy = busy
        self._mark_last_reply()

    def show_model_note(self, text: str) -> None:
        self.model_note.setText(text)
        self.model_note.setVisible(bool(text))

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # -- scrolling: follow the reply unless the user scrolled up ----------------------

    def _remember_position(self, value: int) -> None:
        bar = self.scroll.verticalScrollBar()
        self._at_bottom = value >= bar.maximum() - 4

    def _follow(self, _minimum: int, maximum: int) -> None:
        if self._at_bottom:
            self.scroll.verticalScrollBar().setValue(maximum)
