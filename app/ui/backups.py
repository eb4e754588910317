"""Settings → Backups, and the daily backup while the app runs.

:class:`BackupsSection` lists the history's backups and offers Back up now and
Restore… (after a confirmation); the work runs off the GUI thread and every error
reaches one line in the section and the window's notification path. :class:`DailyBackups`
asks core once at start and then every hour whether today's backup is due; the rule
(once a day, not for an empty history, seven kept) is core's
(:meth:`~app.core.chat.HistoryStore.backup_if_due`).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import KEEP, BackupInfo, HistoryStore, RestoreResult
from app.core.errors import HearthError
from app.core.units import format_bytes
from app.ui.dialogs import Ask
from app.ui.operations import run_operation
from app.ui.widgets import set_tone

DAILY_CHECK_MS = 3600 * 1000
KIND_LABELS = {
    "daily": QT_TRANSLATE_NOOP("BackupsSection", "daily"),
    "manual": QT_TRANSLATE_NOOP("BackupsSection", "made by you"),
    "pre-migration": QT_TRANSLATE_NOOP("BackupsSection", "before an upgrade"),
}


class BackupsSection(QWidget):
    """The backups, newest first, with Back up now and Restore…."""

    restored = Signal(object)  # RestoreResult: the history's contents were replaced
    failed = Signal(object)  # HearthError

    def __init__(self, store: HistoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        about = QLabel(
            self.tr(
                "Hearth backs up your chats by itself once a day and before each upgrade, in "
                "{folder}. It keeps {daily} daily backups, {manual} made with Back up now and "
                "{upgrade} from before upgrades. Restoring keeps your current history aside; "
                "nothing is deleted."
            ).format(
                folder=store.path.parent / "backups",
                daily=KEEP["daily"],
                manual=KEEP["manual"],
                upgrade=KEEP["pre-migration"],
            )
        )
        about.setWordWrap(True)
        about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(about)
        self.list = QListWidget()
        self.list.setObjectName("backups-list")
        self.list.setAccessibleName(self.tr("Backups"))
        self.list.setMinimumHeight(120)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.backup_button = QPushButton(self.tr("Back up now"))
        self.backup_button.clicked.connect(self.back_up_now)
        self.restore_button = QPushButton(self.tr("Restore…"))
        self.restore_button.clicked.connect(self.restore_selected)
        buttons.addWidget(self.backup_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setObjectName("backups-status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.list.currentItemChanged.connect(lambda *_: self._enable())
        self.refresh()

    def refresh(self) -> None:
        """List the backups again (after one was made here, by the daily check or a terminal)."""
        try:
            backups = self.store.backups()
        except HearthError as error:
            self._show_error(error)
            return
        self.list.clear()
        for info in backups:
            item = QListWidgetItem(_label(info))
            item.setData(Qt.ItemDataRole.UserRole, info)
            self.list.addItem(item)
        if not backups:
            self.list.addItem(QListWidgetItem(self.tr("No backups yet.")))
        self._enable()

    def selected(self) -> BackupInfo | None:
        item = self.list.currentItem()
        info = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return info if isinstance(info, BackupInfo) else None

    def back_up_now(self) -> None:
        self._busy(self.tr("Backing up…"))
        run_operation(
            lambda: self.store.backup(kind="manual"),
            on_success=self._backed_up,
            on_failure=self._failed,
            doing="backing up the history",
        )

    def restore_selected(self) -> None:
        info = self.selected()
        if info is None:
            self.status.setText(self.tr("Pick a backup in the list first."))
            return
        question = self.tr(
            "Replace your chats with the backup from {when}?\n\n"
            "Hearth checks the backup first. Your current history is kept as a file next to "
            "it, so you can go back."
        ).format(when=_when(info.created))
        if not Ask.confirm(self, self.tr("Restore a backup"), question):
            return
        self._busy(self.tr("Checking and restoring the backup…"))
        run_operation(
            lambda: self.store.restore_backup(info.path),
            on_success=self._restored,
            on_failure=self._failed,
            doing="restoring a backup",
        )

    # -- results ------------------------------------------------------------------------

    def _backed_up(self, info: BackupInfo) -> None:
        self.refresh()
        set_tone(self.status, None)
        self.status.setText(
            self.tr("Backed up: {name} ({size}).").format(
                name=info.name, size=format_bytes(info.size)
            )
        )

    def _restored(self, result: RestoreResult) -> None:
        self.refresh()
        set_tone(self.status, None)
        self.status.setText(
            self.tr(
                "Restored {chats} chats ({messages} messages). "
                "Your history from before is kept at {kept}."
            ).format(
                chats=result.check.conversations,
                messages=result.check.messages,
                kept=result.kept_at,
            )
        )
        self.restored.emit(result)

    def _failed(self, error: HearthError) -> None:
        self._show_error(error)
        self._enable()
        self.failed.emit(error)

    def _show_error(self, error: HearthError) -> None:
        set_tone(self.status, "error")
        self.status.setText(error.describe())

    def _busy(self, text: str) -> None:
        set_tone(self.status, None)
        self.status.setText(text)
        self.backup_button.setEnabled(False)
        self.restore_button.setEnabled(False)

    def _enable(self) -> None:
        self.backup_button.setEnabled(True)
        self.restore_button.setEnabled(self.selected() is not None)


class DailyBackups(QObject):
    """Makes the day's backup at start and, while the app runs, when the day turns."""

    made = Signal(object)  # BackupInfo
    failed = Signal(object)  # HearthError

    def __init__(
        self, store: HistoryStore, *, interval_ms: int = DAILY_CHECK_MS, parent: QObject | None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._running = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        QTimer.singleShot(0, self.check)

    def check(self) -> None:
        """Back up in the background if today's backup is due."""
        if self._running:
            return
        self._running = True
        run_operation(
            self.store.backup_if_due,
            on_success=self._done,
            on_failure=self._failed,
            doing="making the daily backup",
        )

    def _done(self, info: BackupInfo | None) -> None:
        self._running = False
        if info is not None:
            self.made.emit(info)

    def _failed(self, error: HearthError) -> None:
        self._running = False
        self.failed.emit(error)


def _label(info: BackupInfo) -> str:
    kind = QCoreApplication.translate("BackupsSection", KIND_LABELS[info.kind])
    return f"{_when(info.created)}  ·  {kind}  ·  {format_bytes(info.size)}"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
