"""Start the desktop app: the application context, history, the inference thread, the window."""

from __future__ import annotations

import logging
import sys
from datetime import datetime

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.core.chat import DELETED_KEPT_FOR_S, HistoryCorruptError, HistoryStore
from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.machine import check_before_qt
from app.core.paths import AppPaths, app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, SettingsError, SettingsStore
from app.ui.cloud_worker import CloudThread
from app.ui.dialogs import Ask
from app.ui.exception_hook import ExceptionHook
from app.ui.i18n import install_translation
from app.ui.main_window import MainWindow
from app.ui.state import UiState
from app.ui.theme import apply_theme
from app.ui.wheel_guard import install_wheel_guard
from app.ui.worker import WorkerThread

log = logging.getLogger(__name__)

PURGE_DELETED_AFTER_S = DELETED_KEPT_FOR_S


class Session:
    """Everything the window needs, created and closed in order.

    ``context`` is the one :class:`~app.core.context.AppContext` of this run: the
    window and every page read the settings, the key store, the Hub and the catalog
    from it, never from a copy. ``keys`` replaces the OS keychain's key store (tests).
    """

    def __init__(self, paths: AppPaths | None = None, *, keys: KeyStore | None = None) -> None:
        self.paths = (paths or app_paths()).ensure()
        self.notices: list[str] = []
        try:
            settings = SettingsStore.open(self.paths.settings_file)
        except SettingsError as error:
            # The damaged file stays as it is until the user applies settings.
            settings = SettingsStore(self.paths.settings_file)
            self.notices.append(f"{error.describe()}\nHearth is using its defaults for now.")
            # (in English: the language is a setting, and the settings could not be read)
        # Before any window or question: every widget takes its text when it is made.
        self.translation = install_translation(settings.current.language, cache=self.paths.cache)
        if self.translation.notice:
            self.notices.append(self.translation.notice)
        self.context = AppContext(paths=self.paths, settings=settings, keys=keys)
        try:
            self.store = HistoryStore.open()
        except HistoryCorruptError as error:
            self.store = HistoryStore.open()
            self.notices.append(self._recover(error))
        self.store.purge_deleted(older_than=PURGE_DELETED_AFTER_S)
        self.worker = WorkerThread()
        self.context.engine = self.worker.worker.engine  # the window's chats and the server's
        self.cloud = CloudThread()
        self.state = UiState.load(self.paths.config / "ui_state.json")
        # Still "running" from last time: the app died (a crash, a kill, a power cut).
        self.closed_unexpectedly = self.state.running
        self.state.running = True
        self._save_state()

    def _recover(self, error: HistoryCorruptError) -> str:
        """Offer the latest good backup of a damaged history; returns what to tell the user."""
        found = QCoreApplication.translate(
            "Session", "{error} The damaged file is kept for recovery."
        ).format(error=error)
        if error.latest_backup is None:
            return QCoreApplication.translate(
                "Session", "{found} There is no backup, so Hearth started a new, empty history."
            ).format(found=found)
        info, check = error.latest_backup
        when = datetime.fromtimestamp(info.created).strftime("%Y-%m-%d %H:%M")
        chats = check.conversations
        question = QCoreApplication.translate(
            "Session",
            "{found}\n\nRestore the latest good backup, from {when} ({chats} chats)? "
            "Chats written after it stay only in the damaged file.",
        ).format(found=found, when=when, chats=chats)
        if not Ask.confirm(
            None, QCoreApplication.translate("Session", "Hearth's history is damaged"), question
        ):
            return QCoreApplication.translate(
                "Session",
                "{found} Hearth started a new, empty history; the backup from {when} can be "
                "restored in Settings → Backups.",
            ).format(found=found, when=when)
        try:
            self.store.restore_backup(info.path)
        except HearthError as failure:
            return QCoreApplication.translate(
                "Session", "{found} Restoring the backup from {when} failed: {reason}"
            ).format(found=found, when=when, reason=failure.describe())
        return QCoreApplication.translate(
            "Session", "{found} Hearth restored the backup from {when} ({chats} chats)."
        ).format(found=found, when=when, chats=chats)

    @property
    def settings(self) -> Settings:
        """The settings now."""
        return self.context.current

    def _save_state(self) -> None:
        try:
            self.state.save()
        except OSError as error:
            self.notices.append(
                QCoreApplication.translate(
                    "Session", "Hearth cannot save the window's state ({error})."
                ).format(error=error)
            )

    def build_window(self) -> MainWindow:
        window = MainWindow(
            context=self.context,
            store=self.store,
            worker=self.worker,
            state=self.state,
            cloud=self.cloud,
        )
        for notice in self.notices:
            window.notify(HearthError(notice))
        if self.closed_unexpectedly:
            window.chat_page.show_notice(
                QCoreApplication.translate(
                    "Session",
                    "Hearth closed unexpectedly last time. Your last chat and model are back; "
                    "everything you wrote and every reply streamed so far was saved.",
                )
            )
        return window

    def close(self) -> None:
        self.worker.shutdown()
        self.cloud.shutdown()
        self.store.close()
        self.state.running = False
        self._save_state()
        self.translation.remove()


def run(argv: list[str] | None = None) -> int:
    """Run the desktop app until its window closes; returns the exit status."""
    missing = check_before_qt()
    if missing is not None and QApplication.instance() is None:
        print(f"hearth: {missing.describe()}", file=sys.stderr)  # Qt would dump core
        return 1
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Hearth")
    app.setApplicationVersion(__version__)
    install_wheel_guard(app)
    try:
        session = Session()
    except HearthError as error:
        QMessageBox.critical(None, "Hearth cannot start", error.describe())
        return 1
    apply_theme(session.settings.theme)
    window = session.build_window()
    hook = ExceptionHook(window.notify).install()  # any slot's error reaches the window
    window.show()
    log.info("Hearth %s window shown", __version__)
    try:
        return int(app.exec())
    finally:
        hook.uninstall()
        session.close()
