"""Settings → Server: the app's switch for the local server (what ``hearth serve`` runs).

On, it starts :class:`~app.core.server.LocalServer` on the app's one engine
(``AppContext.engine``), so other programs and the app's own chats queue for the same
loaded model; off, it stops it. It shows the address with a copy button for the base
URL, the token (shown only when asked; a copy button puts it on the clipboard), and a
live line "serving N requests" from the server's activity. Starting and stopping run
off the GUI thread; a failure (a port in use, no keychain for a token) goes to
``failed``, the window's one place for errors.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.server import (
    Activity,
    LocalServer,
    ServerConfig,
    ServerSetupError,
    ServerToken,
    is_loopback,
)
from app.ui.operations import run_operation


class _ActivityBridge(QObject):
    """Carries the server threads' activity to the GUI thread."""

    changed = Signal(object)  # Activity


def activity_text(activity: Activity) -> str:
    """The live line: what the server is doing now, and what it served."""
    translate = QCoreApplication.translate
    busy, waits, done = activity.running + activity.waiting, activity.waiting, activity.served
    served = translate("ServerPanel", "%n served so far", "", done)
    if not busy:
        return translate("ServerPanel", "Idle · {served}").format(served=served)
    waiting = translate("ServerPanel", ", %n waiting", "", waits)
    if busy == 1:
        serving = translate("ServerPanel", "Serving %n request", "", busy)
    else:
        serving = translate("ServerPanel", "Serving %n requests", "", busy)
    waiting = waiting if waits else ""
    return f"{serving}{waiting} · {served}"


class ServerPanel(QWidget):
    """The Server switch, its address, the copy buttons and the live line."""

    failed = Signal(object)  # HearthError
    state_changed = Signal(bool)  # serving or not, once a start or stop finished

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.server: LocalServer | None = None
        self._bridge = _ActivityBridge()
        self._bridge.changed.connect(self._show_activity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.switch = QCheckBox(self.tr("Serve the loaded model to other programs"))
        self.switch.setObjectName("server-switch")
        self.switch.setToolTip(
            self.tr(
                "OpenAI- and Anthropic-compatible API, as `hearth serve`; the app's chats and "
                "the server's requests take turns on the one model."
            )
        )
        self.switch.toggled.connect(self._toggled)
        layout.addWidget(self.switch)
        self.address = QLabel(self.tr("Off"))
        self.address.setObjectName("server-address")
        self.address.setWordWrap(True)
        layout.addWidget(self.address)
        self.activity = QLabel("")
        self.activity.setObjectName("server-activity")
        layout.addWidget(self.activity)
        row = QHBoxLayout()
        self.copy_url_button = QPushButton(self.tr("Copy base URL"))
        self.copy_url_button.clicked.connect(self.copy_url)
        self.show_token_button = QPushButton(self.tr("Show token"))
        self.show_token_button.setCheckable(True)
        self.show_token_button.toggled.connect(self._show_token)
        self.copy_token_button = QPushButton(self.tr("Copy token"))
        self.copy_token_button.clicked.connect(self.copy_token)
        for button in (self.copy_url_button, self.show_token_button, self.copy_token_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.token = QLabel("")
        self.token.setObjectName("server-token")
        self.token.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.token.hide()
        layout.addWidget(self.token)
        self._show_state()

    # -- what it shows ------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        return self.server is not None

    @property
    def base_url(self) -> str | None:
        """The OpenAI base URL clients use (``http://127.0.0.1:8642/v1``), while serving."""
        if self.server is None or not self.server.urls:
            return None
        return f"{self.server.urls[0]}/v1"

    def _show_state(self) -> None:
        self.copy_url_button.setEnabled(self.serving)
        self.switch.blockSignals(True)
        self.switch.setChecked(self.serving)
        self.switch.blockSignals(False)
        if self.server is None:
            self.address.setText(self.tr("Off: no other program can reach the model."))
            self.activity.clear()
            return
        where = (
            self.tr("only programs on this computer can reach it")
            if self.server.config.loopback
            else self.tr("other computers can reach it; every request needs the token")
        )
        self.address.setText(
            self.tr("Serving at {openai} (OpenAI) and {anthropic} (Anthropic): {where}.").format(
                openai=self.base_url, anthropic=self.server.urls[0], where=where
            )
        )
        self._show_activity(self.server.activity)

    def _show_activity(self, activity: Activity) -> None:
        if self.server is not None:
            self.activity.setText(activity_text(activity))

    # -- the switch -----------------------------------------------------------------------

    def _toggled(self, on: bool) -> None:
        self.switch.setEnabled(False)  # until this start or stop is done
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        """Start serving the app's engine (in the background); ``state_changed`` follows."""
        if self.server is not None:
            return
        engine = self.context.engine
        if engine is None:
            self._failed(ServerSetupError(self.tr("There is no engine to serve yet.")))
            return
        settings = self.context.current
        keys = self.context.keys
        bridge = self._bridge

        def begin() -> LocalServer:
            token = None if is_loopback(settings.server_host) else ServerToken(keys).get()
            server = LocalServer(
                engine,
                config=ServerConfig.from_settings(settings, token=token),
                settings=self.context.loaded_settings,  # the loaded model's, at each request
                on_activity=bridge.changed.emit,
            )
            server.start()
            return server

        run_operation(
            begin, on_success=self._started, on_failure=self._failed, doing="starting the server"
        )

    def _started(self, server: object) -> None:
        assert isinstance(server, LocalServer)
        self.server = server
        self.switch.setEnabled(True)
        self._show_state()
        self.state_changed.emit(True)

    def stop(self) -> None:
        """Stop serving (replies in progress are stopped); ``state_changed`` follows."""
        server = self.server
        if server is None:
            self.switch.setEnabled(True)
            return
        run_operation(
            server.stop, on_success=self._stopped, on_failure=self._failed, doing="stopping it"
        )

    def _stopped(self, _result: object = None) -> None:
        self.server = None
        self.switch.setEnabled(True)
        self._show_state()
        self.state_changed.emit(False)

    def _failed(self, error: HearthError) -> None:
        self.switch.setEnabled(True)
        self._show_state()
        self.failed.emit(error)

    def shutdown(self) -> None:
        """Stop serving now, on this thread (the window is closing)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    # -- copying ---------------------------------------------------------------------------

    def copy_url(self) -> None:
        if self.base_url:
            QGuiApplication.clipboard().setText(self.base_url)

    def _token(self) -> str | None:
        try:
            return ServerToken(self.context.keys).get()
        except HearthError as error:
            self.failed.emit(error)
            return None

    def _show_token(self, shown: bool) -> None:
        token = self._token() if shown else None
        self.token.setText(token or "")
        self.token.setVisible(bool(token))
        self.show_token_button.setText(self.tr("Hide token") if token else self.tr("Show token"))

    def copy_token(self) -> None:
        token = self._token()
        if token:
            QGuiApplication.clipboard().setText(token)
