"""The conversation list: new, search (titles and messages), rename, delete with undo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import HistoryStore
from app.core.errors import storage_error
from app.ui.dialogs import Ask
from app.ui.icons import set_icon
from app.ui.theme import SIDEBAR_MIN
from app.ui.widgets import ElidedLabel

UNDO_SECONDS = 10


class Sidebar(QWidget):
    """Lists conversations; emits which one to open."""

    open_requested = Signal(object)  # conversation id, or None for a new chat
    deleted = Signal(int)
    failed = Signal(object)  # HearthError
    import_requested = Signal()
    confirmed = Signal(str)  # "Exported … to …"

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._current: int | None = None
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        # Its own width, whatever the rest of the window holds (a long model name, a
        # notice): the user sets it with the splitter, titles are cut with "…".
        self.setMinimumWidth(SIDEBAR_MIN)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.new_button = QPushButton(self.tr("New chat"))
        set_icon(self.new_button, "message-square-plus")
        self.new_button.setToolTip(self.tr("New chat (Ctrl+N)"))
        self.new_button.setAccessibleDescription(self.tr("Start a new conversation (Ctrl+N)"))
        self.new_button.clicked.connect(lambda: self.open_requested.emit(None))
        layout.addWidget(self.new_button)
        self.import_button = QPushButton(self.tr("Import…"))
        self.import_button.setToolTip(
            self.tr("Import chats from GPT4All, LM Studio, Jan, Ollama, Open WebUI, ChatGPT")
        )
        self.import_button.clicked.connect(self.import_requested.emit)
        layout.addWidget(self.import_button)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search chats (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(self.tr("Search chats"))
        self.search.setAccessibleDescription(
            self.tr("Finds chats by title and by what was written")
        )
        self.search.textChanged.connect(self.refresh)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("chat-list")
        self.list.setAccessibleName(self.tr("Chats"))
        self.list.setAccessibleDescription(
            self.tr("Enter opens a chat; F2 renames it, Delete deletes it, the menu key shows more")
        )
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        for keys, action in (
            (QKeySequence(Qt.Key.Key_Delete), self.delete),
            (QKeySequence(Qt.Key.Key_F2), self.rename),
        ):
            shortcut = QShortcut(keys, self.list, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda act=action: self._on_current(act))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        layout.addWidget(self.list, 1)

        self.undo_bar = QWidget()
        self.undo_bar.setObjectName("undo-bar")
        self.undo_bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        undo_layout = QHBoxLayout(self.undo_bar)
        undo_layout.setContentsMargins(8, 4, 4, 4)
        self.undo_label = ElidedLabel(self.tr("Chat deleted."))  # a long title is cut, never widens
        self.undo_button = QPushButton(self.tr("Undo"))
        set_icon(self.undo_button, "undo-2")
        self.undo_button.setAccessibleDescription(self.tr("Bring back the chat just deleted"))
        self.undo_button.clicked.connect(self.undo_delete)
        undo_layout.addWidget(self.undo_label, 1)
        undo_layout.addWidget(self.undo_button)
        self.undo_bar.hide()
        layout.addWidget(self.undo_bar)
        self._undo_id: int | None = None
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        self.refresh()

    def set_current(self, conversation_id: int | None) -> None:
        self._current = conversation_id
        self.refresh()

    def refresh(self) -> None:
        query = self.search.text().strip()
        self.list.clear()
        if query:
            seen: set[int] = set()
            for hit in self.store.search(query):
                if hit.conversation_id in seen:
                    continue
                seen.add(hit.conversation_id)
                label = hit.title or self.tr("Untitled chat")
                if hit.message_id is not None:
                    label += f"\n  …{hit.snippet}…"
                self._add(hit.conversation_id, label)
        else:
            for record in self.store.list_conversations():
                item = self._add(record.id, record.title or self.tr("Untitled chat"))
                origin = record.options.get("imported")
                if isinstance(origin, dict):
                    item.setToolTip(
                        self.tr("Imported from {file} ({app})").format(
                            file=origin.get("file"), app=origin.get("app")
                        )
                    )

    def _add(self, conversation_id: int, label: str) -> QListWidgetItem:
        item = QListWidgetItem(label)
        item.setToolTip(label)  # the whole title, where the list cuts it
        item.setData(Qt.ItemDataRole.UserRole, conversation_id)
        self.list.addItem(item)
        if conversation_id == self._current:
            item.setSelected(True)
        return item

    def _on_current(self, action: object) -> None:
        item = self.list.currentItem()
        if item is not None:
            action(item.data(Qt.ItemDataRole.UserRole))  # type: ignore[operator]

    def _activated(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def _menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is None and self.list.hasFocus():  # the menu key: the current chat
            item = self.list.currentItem()
            if item is not None:
                position = self.list.visualItemRect(item).center()
        if item is None:
            return
        conversation_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.rename(conversation_id))
        menu.addAction(self.tr("Export as Markdown…"), lambda: self.export(conversation_id, "md"))
        menu.addAction(self.tr("Export as JSON…"), lambda: self.export(conversation_id, "json"))
        menu.addAction(self.tr("Delete"), lambda: self.delete(conversation_id))
        menu.exec(self.list.mapToGlobal(position))

    def rename(self, conversation_id: int) -> None:
        old = self.store.conversation(conversation_id).title
        title = Ask.text(self, self.tr("Rename chat"), self.tr("Title:"), old)
        if title is not None and title.strip() and title != old:
            self.store.rename(conversation_id, title.strip())
            self.refresh()

    def export(self, conversation_id: int, kind: str) -> None:
        """Save a conversation as Markdown or JSON where the user chooses."""
        title = self.store.conversation(conversation_id).title or "conversation"
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in title)[:60].strip()
        filters = self.tr("Markdown (*.md)") if kind == "md" else self.tr("JSON (*.json)")
        path = Ask.save_file(
            self, self.tr("Export chat"), f"{safe or 'conversation'}.{kind}", filters
        )
        if not path:
            return
        if kind == "md":
            text = self.store.export_markdown(conversation_id)
        else:
            text = self.store.export_json(conversation_id)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as error:
            self.failed.emit(storage_error(error, doing=f"save the chat to {path}"))
            return
        self.confirmed.emit(self.tr("Exported “{title}” to {path}.").format(title=title, path=path))

    def delete(self, conversation_id: int) -> None:
        """Move a chat to the bin; Undo brings it back for a few seconds."""
        self.store.delete(conversation_id)
        self._undo_id = conversation_id
        title = self.store.conversation(conversation_id).title or self.tr("Untitled chat")
        self.undo_label.setText(self.tr("Deleted “{title}”.").format(title=title))
        self.undo_bar.show()
        self._undo_timer.start(UNDO_SECONDS * 1000)
        self.refresh()
        self.deleted.emit(conversation_id)

    def undo_delete(self) -> None:
        if self._undo_id is not None:
            self.store.restore(self._undo_id)
            self.open_requested.emit(self._undo_id)
            self._undo_id = None
        self.undo_bar.hide()
        self.refresh()
