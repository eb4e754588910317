"""Recently deleted chats: the bin, with Restore, after the Undo bar is gone.

Deleted chats stay in the history store until they are purged
(:data:`~app.core.chat.DELETED_KEPT_FOR_S` after the delete, at start); this list
shows them, newest first, with when each was deleted.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import DELETED_KEPT_FOR_S, HistoryStore
from app.core.errors import HearthError

KEEP_DAYS = round(DELETED_KEPT_FOR_S / (24 * 3600))


class RecentlyDeleted(QDialog):
    """The deleted chats; Restore brings the selected one back to the sidebar."""

    restored = Signal(int, str)  # conversation id, title
    failed = Signal(object)  # HearthError

    def __init__(self, store: HistoryStore, *, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(self.tr("Recently deleted chats"))
        self.resize(480, 360)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                self.tr(
                    "Deleted chats are kept for {keep_days} days, then erased for good."
                ).format(keep_days=KEEP_DAYS)
            )
        )
        self.list = QListWidget()
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self.restore_selected())
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.restore_button = QPushButton(self.tr("Restore"))
        self.restore_button.clicked.connect(self.restore_selected)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for record in self.store.list_conversations(deleted=True):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.deleted or 0))
            item = QListWidgetItem(
                self.tr("{value}\ndeleted {when}").format(
                    value=record.title or self.tr("Untitled chat"), when=when
                )
            )
            item.setData(
                Qt.ItemDataRole.UserRole, (record.id, record.title or self.tr("Untitled chat"))
            )
            self.list.addItem(item)
        if not self.list.count():
            empty = QListWidgetItem(self.tr("No deleted chats."))
            empty.setFlags(Qt.ItemFlag.NoItemFlags)  # a message, not a row to pick
            self.list.addItem(empty)
        self._selection_changed()

    def _selection_changed(self) -> None:
        item = self.list.currentItem()
        self.restore_button.setEnabled(
            item is not None and item.isSelected() and bool(item.data(Qt.ItemDataRole.UserRole))
        )

    def restore_selected(self) -> None:
        item = self.list.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not value:
            return
        conversation_id, title = value
        try:
            self.store.restore(conversation_id)
        except HearthError as error:
            self.failed.emit(error)
            return
        self.refresh()
        self.restored.emit(conversation_id, title)
