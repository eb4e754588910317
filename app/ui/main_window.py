"""The main window. It only assembles the views and connects their signals.

Layout: a sidebar of conversations on the left; on the right the model bar and a
stack of pages (chat, library, settings); a status line at the bottom. Worker errors
all arrive at :meth:`MainWindow.notify`, the one place they become a visible message.

Settings live in the context's store; the window listens to it (through a queued Qt
signal) and applies every change, wherever it came from: the settings page, or
``hearth config set`` in a terminal (the config folder is watched).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QByteArray,
    QFileSystemWatcher,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import HistoryStore, RemoteModel
from app.core.cloud import leaves_machine
from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.generation import ReplyStats
from app.core.inference import LoadedModel
from app.core.library import HubError, InstalledModel, ModelSettings
from app.core.settings import Settings, SettingsChange, SettingsError
from app.ui.accessibility import name_controls
from app.ui.backups import BackupsSection, DailyBackups
from app.ui.banner import Banner
from app.ui.chat_controller import ChatController
from app.ui.chat_page import ChatPage
from app.ui.claude_key import ClaudeKeyController
from app.ui.cloud_worker import CloudThread
from app.ui.dialogs import Ask
from app.ui.documents_page import DocumentsPage
from app.ui.documents_service import DocumentsService
from app.ui.first_run import FirstRun
from app.ui.icons import set_icon
from app.ui.import_dialog import ImportDialog
from app.ui.library_page import LibraryPage
from app.ui.menus import MenuBar
from app.ui.model_bar import ModelBar
from app.ui.model_settings import ModelSettingsController
from app.ui.operations import run_operation
from app.ui.recently_deleted import RecentlyDeleted
from app.ui.remotes import RemotesPanel
from app.ui.server_panel import ServerPanel
from app.ui.settings_page import LOAD_KEYS, SettingsPage
from app.ui.sidebar import Sidebar
from app.ui.state import UiState
from app.ui.theme import COMPACT_BELOW, SIDEBAR_DEFAULT, SPACE_M, SPACE_S, apply_theme
from app.ui.worker import WorkerThread

PAGES = ("chat", "documents", "library", "settings")
NAV_PAGES = ("chat", "library", "settings")  # Documents opens from the sidebar's button
NAV_KEYS = {"chat": "Ctrl+1", "library": "Ctrl+L", "settings": "Ctrl+,"}
PAGE_ICONS = {"chat": "message-square", "library": "library", "settings": "settings"}

PAGE_TITLES = {
    "chat": QT_TRANSLATE_NOOP("MainWindow", "Chat"),
    "documents": QT_TRANSLATE_NOOP("MainWindow", "Documents"),
    "library": QT_TRANSLATE_NOOP("MainWindow", "Library"),
    "settings": QT_TRANSLATE_NOOP("MainWindow", "Settings"),
}
"""Each page's name on its button (English here, translated when shown)."""

CLAUDE_OPT_IN = QT_TRANSLATE_NOOP(
    "MainWindow",
    "With Claude turned on, Hearth can send a conversation to Anthropic's Claude API "
    "(api.anthropic.com) — but only when you choose to, for a message or a conversation.\n\n"
    "What is sent: that conversation's messages and its system prompt, nothing else. "
    "Before each request you see exactly what will be sent, to which model, and what it "
    "costs. Your API key stays in the system keychain.\n\nTurn Claude on?",
)


log = logging.getLogger(__name__)

SETTINGS_RELOAD_MS = 150  # a burst of writes to the config folder is read once
CONFIRMATION_MS = 10_000


class SettingsBridge(QObject):
    """Carries the settings store's change events to the GUI thread."""

    changed = Signal(object)  # SettingsChange


class MainWindow(QMainWindow):
    def __init__(
        self,
        *,
        context: AppContext,
        store: HistoryStore,
        worker: WorkerThread,
        state: UiState,
        cloud: CloudThread | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(self.tr("Hearth"))
        self.context = context
        self.paths = context.paths
        self.keys = context.keys
        settings = context.current
        self.store = store
        self.worker_thread = worker
        self.worker = worker.worker
        self.state = state
        self.loaded: LoadedModel | None = None
        self._closed = False
        self._first_run_asked = False

        # -- views ------------------------------------------------------------------
        self.sidebar = Sidebar(store)
        self.model_bar = ModelBar()
        self.chat_page = ChatPage()
        self.documents = DocumentsService(context)
        self.documents_page = DocumentsPage(self.documents)
        self.first_run = FirstRun(context=context)  # shown while no model is there
        self.chat_page.set_first_run(self.first_run)
        self.library_page = LibraryPage(context=context)
        self.settings_page = SettingsPage(settings)
        self.server_panel = ServerPanel(context)
        self.settings_page.add_section(self.tr("Server"), self.server_panel)
        self.remotes_panel = RemotesPanel(context)
        self.settings_page.add_section(self.tr("Remote servers"), self.remotes_panel)
        self.pages = QStackedWidget()
        for page in (self.chat_page, self.documents_page, self.library_page, self.settings_page):
            self.pages.addWidget(page)

        self.notification = Banner()  # errors: closable, cleared once their cause is gone

        nav = QHBoxLayout()
        self.nav_buttons: dict[str, QToolButton] = {}
        for name in NAV_PAGES:
            button = QToolButton()
            button.setObjectName("nav")
            button.setText(self.tr(PAGE_TITLES[name]))
            set_icon(button, PAGE_ICONS[name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setMinimumWidth(36)  # its icon: the window may be narrower than the names
            title = self.tr(PAGE_TITLES[name])
            button.setToolTip(f"{title} ({NAV_KEYS[name]})")
            button.setAccessibleDescription(
                self.tr("Show the {name} page ({nav_keys})").format(
                    name=title, nav_keys=NAV_KEYS[name]
                )
            )
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.clicked.connect(lambda _=False, n=name: self.show_page(n))
            nav.addWidget(button)
            self.nav_buttons[name] = button
        # Hides the chat list and gives its width to the page (a small screen).
        self.sidebar_button = QToolButton()
        self.sidebar_button.setObjectName("nav")
        set_icon(self.sidebar_button, "panel-left")
        self.sidebar_button.setCheckable(True)
        self.sidebar_button.setChecked(True)
        self.sidebar_button.setToolTip(self.tr("Show or hide the chat list (Ctrl+Shift+S)"))
        self.sidebar_button.setAccessibleName(self.tr("Chat list"))
        self.sidebar_button.toggled.connect(self.show_sidebar)
        top = QHBoxLayout()
        top.addWidget(self.sidebar_button)
        top.addWidget(self.model_bar, 1)
        top.addLayout(nav)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(SPACE_M, SPACE_S, SPACE_M, 0)
        column.addLayout(top)
        column.addWidget(self.notification)
        column.addWidget(self.pages, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)  # a wider window widens the chat, not the list
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([SIDEBAR_DEFAULT, 1100 - SIDEBAR_DEFAULT])
        self.setCentralWidget(self.splitter)

        self.status_backend = QLabel(self.tr("Local"))
        self.status_speed = QLabel("")
        self.status_context = QLabel("")
        for label in (self.status_backend, self.status_speed, self.status_context):
            self.statusBar().addPermanentWidget(label)

        # -- behaviour ----------------------------------------------------------------
        self.chat = ChatController(
            store=store,
            worker=self.worker,
            page=self.chat_page,
            settings=lambda: self.settings,
            cloud=cloud.worker if cloud else None,
            keys=self.keys,
            model_settings=context.model_settings.get,
        )
        self.model_settings = ModelSettingsController(
            store=context.model_settings,
            settings=lambda: self.settings,
            loaded=lambda: self.loaded,
            parent=self,
        )
        self.chat.cloud_reply_done.connect(self._show_cloud_figures)
        # Each turn searches the collections the chat has attached (through the core session).
        self.chat.session.retriever = self.documents.retriever(
            self.chat.session.attached_collections
        )
        self.chat.opened.connect(self._show_attached)
        self.chat_page.collections.changed.connect(self._attach_collections)
        self.documents.changed.connect(self._show_collections)
        self.documents_page.failed.connect(self.notify)
        self.documents_button = QPushButton(self.tr("Documents"))
        self.documents_button.setToolTip(
            self.tr("Your local documents: collections a chat can answer from (Ctrl+Shift+D)")
        )
        self.documents_button.clicked.connect(lambda: self.show_page("documents"))
        self.sidebar.layout().insertWidget(1, self.documents_button)
        self._show_collections()
        self.chat_page.set_claude_available(settings.claude_enabled and not settings.offline)
        self.claude_key = ClaudeKeyController(
            keys=self.keys, page=self.settings_page, settings=lambda: self.settings
        )
        self._settings_bridge = SettingsBridge()
        self._settings_bridge.changed.connect(self._settings_changed)
        self._unsubscribe = context.settings.subscribe(self._settings_bridge.changed.emit)
        # `hearth config set` in a terminal writes the file: take it in. The folder is
        # watched, since the file is replaced (not written in place) on every save.
        self._settings_watcher = QFileSystemWatcher([str(self.paths.config)])
        self._settings_reload = QTimer(self)
        self._settings_reload.setSingleShot(True)
        self._settings_reload.setInterval(SETTINGS_RELOAD_MS)
        self._settings_reload.timeout.connect(self.reload_settings)
        self._settings_watcher.directoryChanged.connect(lambda _path: self._settings_reload.start())
        self.claude_key.failed.connect(self.notify)
        # The key was set, tested or forgotten: the chat reads it again, in the background.
        self.claude_key.status_shown.connect(lambda _text: self.chat.refresh_claude_key())
        self.chat.failed.connect(self.notify)
        self.chat.reply_done.connect(self._show_reply_figures)
        self.chat.conversation_changed.connect(self._conversation_changed)
        self.chat.busy_changed.connect(lambda busy: self.model_bar.selector.setDisabled(busy))
        self.sidebar.open_requested.connect(self.open_conversation)
        self.sidebar.deleted.connect(self._conversation_deleted)
        self.sidebar.failed.connect(self.notify)
        self.sidebar.import_requested.connect(self.import_chats)
        self.sidebar.confirmed.connect(self.confirm)
        self.library_page.confirmed.connect(self.confirm)
        self.model_bar.load_requested.connect(self.load_model)
        self.model_bar.open_file_requested.connect(self._open_model_file)
        self.model_bar.settings_requested.connect(self.model_settings.edit)
        self.library_page.model_settings_requested.connect(self.model_settings.edit)
        self.model_settings.failed.connect(self.notify)
        self.model_settings.reload_requested.connect(self.load_model)
        self.model_settings.saved.connect(self._model_settings_saved)
        self.model_bar.get_model_requested.connect(lambda: self.show_page("library"))
        self.first_run.model_ready.connect(self.load_model)
        self.first_run.import_requested.connect(self._open_model_file)
        self.first_run.library_requested.connect(lambda: self.show_page("library"))
        self.first_run.failed.connect(self.notify)
        self.library_page.load_requested.connect(self.load_model)
        self.library_page.failed.connect(self.notify)
        self.library_page.hub_answered.connect(lambda: self.notification.clear("hub"))
        self.library_page.models_listed.connect(self._show_models)
        self.settings_page.applied.connect(self.apply_settings)
        self.backups = BackupsSection(store)
        self.settings_page.add_section(self.tr("Backups"), self.backups)
        self.backups.failed.connect(self.notify)
        self.backups.restored.connect(self._history_restored)
        self.daily_backups = DailyBackups(store, parent=self)
        self.daily_backups.made.connect(lambda _info: self.backups.refresh())
        self.daily_backups.failed.connect(self.notify)
        self.server_panel.failed.connect(self.notify)
        self.remotes_panel.failed.connect(self.notify)
        self.remotes_panel.models_listed.connect(self.model_bar.set_remote_models)
        self.remotes_panel.changed.connect(self.chat.refresh_remote_tokens)  # after a token
        self.model_bar.remote_requested.connect(self.use_remote)
        self.worker.loading.connect(self.model_bar.show_loading)
        self.worker.loaded.connect(self._model_loaded)
        self.worker.load_failed.connect(self._model_failed)
        self.worker.notice.connect(self.chat_page.show_notice)

        self._add_shortcuts()
        self.refresh_models()
        self.remotes_panel.list_models()
        self.chat.refresh_remote_tokens()
        self.show_page("chat")
        self._restore_state()
        name_controls(self)

    # -- shortcuts ------------------------------------------------------------------------

    def _add_shortcuts(self) -> None:
        menus = self.menus = MenuBar(self)  # New chat, the pages, Quit (Ctrl+Q)...
        menus.new_chat.triggered.connect(self.chat.new_chat)
        menus.show_chat.triggered.connect(lambda: self.show_page("chat"))
        menus.show_documents.triggered.connect(lambda: self.show_page("documents"))
        menus.show_library.triggered.connect(lambda: self.show_page("library"))
        menus.show_settings.triggered.connect(lambda: self.show_page("settings"))
        menus.chat_list.toggled.connect(self.show_sidebar)
        menus.import_chats.triggered.connect(self.import_chats)
        menus.import_model.triggered.connect(self.library_page.import_model)
        menus.export_chat.triggered.connect(self._export_chat)
        menus.recently_deleted.triggered.connect(self._recently_deleted)
        for keys, slot, name in (
            (QKeySequence("Ctrl+F"), self._focus_search, self.tr("Search chats")),
            (QKeySequence("Esc"), self.chat.stop, self.tr("Stop the reply")),
            (QKeySequence("Ctrl+Return"), self.chat_page._submit, self.tr("Send")),
        ):
            action = QAction(name, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            self.addAction(action)

    def show_sidebar(self, shown: bool) -> None:
        """Show or hide the chat list (the View menu's Chat list, the top bar's button)."""
        self.sidebar.setVisible(shown)
        for control in (self.sidebar_button, self.menus.chat_list):
            if control.isChecked() != shown:
                control.setChecked(shown)
        self.state.sidebar_hidden = not shown

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_nav(self.width())

    def _fit_nav(self, width: int) -> None:
        # A narrow window keeps the page buttons' icons (their names are the tooltips).
        style = Qt.ToolButtonStyle
        compact = width < COMPACT_BELOW
        for button in self.nav_buttons.values():
            button.setToolButtonStyle(
                style.ToolButtonIconOnly if compact else style.ToolButtonTextBesideIcon
            )

    def _focus_search(self) -> None:
        self.show_sidebar(True)
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    # -- pages and conversations ----------------------------------------------------------

    def show_page(self, name: str) -> None:
        self.pages.setCurrentIndex(PAGES.index(name))
        if name in self.nav_buttons:
            self.nav_buttons[name].setChecked(True)
        else:  # a page without a button of its own: none is shown checked
            for button in self.nav_buttons.values():
                button.setAutoExclusive(False)
                button.setChecked(False)
                button.setAutoExclusive(True)
        if name == "library":
            self.library_page.refresh()
        if name == "documents":
            self.documents_page.refresh()

    def open_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            self.chat.new_chat()
        else:
            self.chat.open(conversation_id)
        self._conversation_changed()
        self.show_page("chat")

    def _conversation_changed(self) -> None:
        current = self.chat.conversation.id if self.chat.conversation else None
        self.sidebar.set_current(current)
        if current != self.state.conversation:
            self.state.conversation = current
            self._save_state_quietly()  # kept at once: the app may not get to close cleanly
            # Another chat: the last reply's figures were the other chat's.
            self.status_speed.setText("")
            self.status_context.setText(
                self.tr("context {context_length:,}").format(
                    context_length=self.loaded.context_length
                )
                if self.loaded
                else ""
            )

    def _export_chat(self) -> None:
        if self.chat.conversation is None:
            self.confirm(self.tr("Nothing to export yet: this chat has no messages."))
            return
        kind = Ask.choose(
            self,
            self.tr("Export this chat"),
            self.tr("Export as:"),
            [self.tr("Markdown"), self.tr("JSON")],
        )
        if kind is not None:
            self.sidebar.export(
                self.chat.conversation.id, "md" if kind == self.tr("Markdown") else "json"
            )

    def _recently_deleted(self) -> None:
        dialog = RecentlyDeleted(self.store, parent=self)
        dialog.failed.connect(self.notify)

        def restored(conversation_id: int, title: str) -> None:
            self.sidebar.refresh()
            self.confirm(self.tr("Restored “{title}”.").format(title=title))

        dialog.restored.connect(restored)
        dialog.show()
        self.recently_deleted_dialog = dialog  # tests reach it; one at a time is enough

    def _history_restored(self, _result: object) -> None:
        self.sidebar.refresh()
        self.chat.new_chat()  # the open chat may not be in the restored history

    def _show_collections(self) -> None:
        names = [c.name for c in self.documents.collections()]
        self.chat_page.collections.set_collections(names)
        self._show_attached()

    def _show_attached(self) -> None:
        attached = self.chat.session.attached_collections()
        self.chat_page.collections.set_checked(attached)
        if self.chat_page.collections.checked():
            self._load_embedder(quiet=True)  # so the first question does not wait for it

    def _load_embedder(self, *, quiet: bool = False) -> None:
        def failed(error: HearthError) -> None:
            if quiet:  # said again, with what to do, when a question needs it
                log.info("The embedding model was not loaded: %s", error)
            else:
                self.notify(error)

        run_operation(
            self.documents.embedder,
            on_success=lambda _embedder: None,
            on_failure=failed,
            doing="loading the embedding model",
        )

    def _attach_collections(self, names: list[str]) -> None:
        """The chat's picker changed: saved with the chat; the embedding model loads now."""
        self.chat.attach_collections(names)
        if names:
            self._load_embedder()

    def _conversation_deleted(self, conversation_id: int) -> None:
        if self.chat.conversation and self.chat.conversation.id == conversation_id:
            self.chat.new_chat()

    def import_chats(self) -> ImportDialog:
        """Open Import… (chats from other apps); the list shows them once imported."""
        dialog = ImportDialog(self.store.path, self)
        dialog.imported.connect(lambda _result: self.sidebar.refresh())
        dialog.open()
        return dialog

    # -- models -----------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """Scan the installed models once (off this thread) for the selector and the library."""
        self.library_page.refresh_installed()

    def _show_models(self, models: list[InstalledModel]) -> None:
        paths = [m.path for m in models if m.problem is None]
        current = str(self.loaded.path) if self.loaded else None
        self.model_bar.set_models(paths, current=current)
        self._show_first_run(not paths and self.loaded is None and self.chat.remote is None)

    def _show_first_run(self, shown: bool) -> None:
        if shown and self.first_run.pick is None and not self._first_run_asked:
            self._first_run_asked = True
            self.first_run.refresh()
        self.chat_page.show_first_run(shown)

    def _open_model_file(self) -> None:
        path = Ask.open_model_file(self)
        if path:
            self.load_model(path)
        else:
            self.refresh_models()

    def load_model(self, path: str) -> None:
        if self.chat.busy:
            self.notify(HearthError(self.tr("Stop the reply before changing the model.")))
            return
        try:
            options = self.context.load_options(path)  # the model's own settings over the app's
        except HearthError as error:
            self.notify(error)
            return
        self.worker.load_requested.emit(path, options)

    def _model_settings_saved(self, path: str, before: ModelSettings, _after: object) -> None:
        if self.loaded is not None and str(self.loaded.path) == path:
            self.chat.model_settings_changed(before)

    def use_remote(self, choice: RemoteModel) -> None:
        """Replies come from ``choice``, a remote server's model, from the next message."""
        if self.chat.busy:
            self.notify(HearthError(self.tr("Stop the reply before changing the model.")))
            return
        remote = self.settings.remote(choice.remote)
        if remote is None:
            return
        self.chat.remote = choice
        self._show_first_run(False)  # a model is there, on a server
        away = leaves_machine(remote.url)
        where = (
            self.tr("another computer: a preview before each message")
            if away
            else self.tr("this computer")
        )
        self.model_bar.show_remote(choice, where)
        self.status_backend.setText(f"{choice.remote} · {choice.model}")

    def _model_loaded(self, model: LoadedModel) -> None:
        self.loaded = model
        self.chat.model = model
        self.chat.remote = None  # a local model was chosen
        self._show_first_run(False)
        self.model_bar.show_loaded(model, gpu_offload=model.gpu_offload)
        if self.state.last_model != str(model.path):
            self.state.last_model = str(model.path)
            self._save_state_quietly()
        self.chat_page.show_model_note(
            self.tr("Note: {notice}").format(notice=model.notice) if model.notice else ""
        )
        self.status_context.setText(
            self.tr("context {context_length:,}").format(context_length=model.context_length)
        )
        library = self.context.library()

        def not_marked(error: HearthError) -> None:  # "last used" is a nicety
            log.warning("Could not record that %s was used: %s", model.path.name, error)
            self.refresh_models()

        run_operation(
            lambda: library.mark_used(model.path),
            on_success=lambda _: self.refresh_models(),
            on_failure=not_marked,
            doing="recording the model's use",
        )

    def _model_failed(self, error: HearthError) -> None:
        self.model_bar.show_failed(str(error))
        self.notify(error)

    # -- settings ---------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings now (the context's store). Setting it applies and saves them."""
        return self.context.current

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.context.settings.update(settings)

    def apply_settings(self, settings: Settings, changed: set[str]) -> None:
        """What the settings page's Apply asks for: confirm Claude, save, offer a reload."""
        if (
            "claude_enabled" in changed
            and settings.claude_enabled
            and not Ask.confirm(self, self.tr("Use Claude?"), self.tr(CLAUDE_OPT_IN))
        ):
            settings = settings.with_value("claude_enabled", False)
            self.settings_page.show_settings(settings)
            changed = changed - {"claude_enabled"}
        try:
            self.context.settings.update(settings)
        except SettingsError as error:  # a folder that went away since the page checked it
            self.notify(error)
            return
        except OSError as error:
            self.notify(
                HearthError(
                    self.tr("The settings could not be saved: {error}").format(error=error),
                    hint=self.tr("Check that the config folder is writable."),
                )
            )
            return
        if (
            changed & LOAD_KEYS
            and self.loaded is not None
            and Ask.confirm(
                self,
                self.tr("Reload the model?"),
                self.tr(
                    "These settings take effect when the model is loaded again. Reload it now?"
                ),
            )
        ):
            self.load_model(str(self.loaded.path))

    def reload_settings(self) -> None:
        """Take in what another process (``hearth config set``) wrote to the settings file."""
        try:
            self.context.settings.reload()
        except SettingsError as error:
            self.notify(error)

    def _settings_changed(self, change: SettingsChange) -> None:
        """Apply a change to the settings, wherever it came from, at once."""
        settings, keys = change.after, change.keys
        claude_usable = settings.claude_enabled and not settings.offline
        self.chat_page.set_claude_available(claude_usable)
        if not claude_usable:
            self.chat.stop_claude()  # turning Claude off (or going offline) stops its traffic
        if settings.offline:
            self.chat.stop_leaving()  # and a remote server's on another computer
        if "theme" in keys:
            apply_theme(settings.theme)
        if "models_dir" in keys:
            self.refresh_models()
        if "remotes" in keys:
            self.chat.refresh_remote_tokens()  # a server added or removed elsewhere
            self.remotes_panel.show_remotes()
            self.model_bar.keep_remotes({r.name for r in settings.remotes})
            chosen = self.chat.remote
            if chosen is not None and settings.remote(chosen.remote) is None:
                self.chat.remote = None  # its server was removed: back to the local model
                self.status_backend.setText(self.tr("Local"))
                self.model_bar.details.setText(
                    self.tr("{remote} was removed").format(remote=chosen.remote)
                )
        if "docs_collections" in keys:
            self._show_attached()  # a new chat's default
        self.settings_page.show_changed(settings, keys)
        self.library_page.settings_changed(change)

    # -- status and errors ------------------------------------------------------------------

    def _show_reply_figures(self, stats: ReplyStats) -> None:
        if stats.tokens_per_second:
            self.status_speed.setText(
                self.tr("{tokens_per_second:.1f} tok/s").format(
                    tokens_per_second=stats.tokens_per_second
                )
            )
        if self.loaded:
            used = stats.prompt_tokens + stats.completion_tokens
            self.status_context.setText(
                self.tr("context {used:,} / {context_length:,} tokens").format(
                    used=used, context_length=self.loaded.context_length
                )
            )
        self.status_backend.setText(
            self.tr("Local · {name}").format(name=self.loaded.name)
            if self.loaded
            else self.tr("Local")
        )

    def _show_cloud_figures(self, where: str, fields: dict[str, object]) -> None:
        self.status_backend.setText(where)
        rate = fields.get("tokens_per_second")
        self.status_speed.setText(
            self.tr("{rate:.1f} tok/s").format(rate=rate) if isinstance(rate, float) else ""
        )
        self.status_context.setText(
            self.tr("{value:,} tokens sent, {value2:,} received").format(
                value=fields.get("prompt_tokens") or 0, value2=fields.get("completion_tokens") or 0
            )
        )

    def confirm(self, text: str) -> None:
        """Say that something the user asked for was done (in the status line, for a while)."""
        self.statusBar().showMessage(text, CONFIRMATION_MS)

    def notify(self, error: HearthError) -> None:
        """The one place an error becomes a visible message (closable)."""
        text = error.describe() if isinstance(error, HearthError) else str(error)
        self.notification.show_message(text, cause="hub" if isinstance(error, HubError) else None)

    # -- window state -----------------------------------------------------------------------

    def _restore_state(self) -> None:
        # Measure the window again: it was measured while being built (the splitter
        # asks), before the Claude controls were hidden, and a layout keeps a widget's
        # size from then until the widget says it changed; a saved narrow size would
        # not fit. The page buttons start compact for the same reason.
        self._fit_nav(0)
        for layout in self.findChildren(QLayout):
            layout.invalidate()
        for widget in self.findChildren(QWidget):
            widget.updateGeometry()
        if self.state.geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.state.geometry.encode()))
        else:
            self.resize(1100, 720)
        if self.state.splitter:
            self.splitter.restoreState(QByteArray.fromBase64(self.state.splitter.encode()))
        self.show_sidebar(not self.state.sidebar_hidden)
        if self.state.conversation is not None:
            try:
                self.store.conversation(self.state.conversation)
                self.open_conversation(self.state.conversation)
            except HearthError:
                self.chat.new_chat()
        else:
            self.chat.new_chat()
        if self.state.last_model and Path(self.state.last_model).exists():
            self.load_model(self.state.last_model)

    def _save_state_quietly(self) -> None:
        try:
            self.state.save()
        except OSError as error:
            log.warning("Could not save the window's state: %s", error)

    def save_state(self) -> None:
        self.chat_page.save_draft()
        self.state.geometry = bytes(self.saveGeometry().toBase64()).decode()
        if not self.state.sidebar_hidden:  # a hidden list keeps the width it had
            self.state.splitter = bytes(self.splitter.saveState().toBase64()).decode()
        self.state.conversation = self.chat.conversation.id if self.chat.conversation else None
        self.state.save()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self._unsubscribe()  # the store outlives the window
            self._settings_watcher.removePaths(self._settings_watcher.directories())
            self._settings_reload.stop()
            self.chat.stop()
            self.server_panel.shutdown()
            self.documents.shutdown()
            self.save_state()
        super().closeEvent(event)
