"""Settings → Remote servers: models on your other computers (OpenAI-compatible servers).

Add one by name, URL and token (the token goes to the OS keychain, never to a file),
test its connection (it lists the server's models, which the model bar then offers),
allow or stop sending conversations there, and remove it. A server on loopback is this
computer: nothing leaves it, and the list says so. Any other counts as leaving the
machine: it needs the person's yes (asked here, in plain words) and shows the preview
before each message, like Claude. Keychain and network calls run off the GUI thread;
failures go to ``failed``, the window's one place for errors.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.cloud import (
    RemoteClient,
    add_remote,
    allow_remote,
    leaves_machine,
    remove_remote,
)
from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.settings import RemoteServer
from app.ui.dialogs import Ask
from app.ui.operations import run_operation

ALLOW_TEXT = QT_TRANSLATE_NOOP(
    "RemotesPanel",
    "{name} is on another computer ({url}). When you pick one of its models, each "
    "message and your conversation's earlier messages and system prompt are sent there, "
    "after a preview. Allow that?",
)


def describe(remote: RemoteServer) -> str:
    """One line of the list: name, URL, and where it is."""
    if not leaves_machine(remote.url):
        where = QCoreApplication.translate("RemotesPanel", "this computer: nothing leaves it")
    elif remote.allowed:
        where = QCoreApplication.translate(
            "RemotesPanel", "another computer: allowed, with a preview"
        )
    else:
        where = QCoreApplication.translate("RemotesPanel", "another computer: not allowed yet")
    return f"{remote.name} · {remote.url} · {where}"


class RemotesPanel(QWidget):
    """The list of remote servers, and the form to add one."""

    failed = Signal(object)  # HearthError
    models_listed = Signal(str, object)  # remote name, list of model ids
    changed = Signal()  # a remote was added, allowed or removed (saved)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("remotes-list")
        self.list.setAccessibleName(self.tr("Remote servers"))
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(lambda _row: self._show_selected())
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(lambda: self.test(self.selected()))
        self.allow_box = QCheckBox(self.tr("Allow sending conversations there"))
        self.allow_box.clicked.connect(self._allow_clicked)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self.remove)
        row.addWidget(self.test_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        layout.addWidget(self.allow_box)  # its own line: beside the buttons it passed 800 px
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("den")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(
            self.tr("if the server needs one (kept in the keychain)")
        )
        form.addRow(self.tr("Name"), self.name_edit)
        form.addRow(self.tr("URL"), self.url_edit)
        form.addRow(self.tr("Token"), self.token_edit)
        layout.addLayout(form)
        add_row = QHBoxLayout()
        add_row.addStretch(1)
        self.add_button = QPushButton(self.tr("Add server"))
        self.add_button.clicked.connect(self.add)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)
        self.status = QLabel(
            self.tr(
                "A server on 127.0.0.1 or localhost is this computer; any other address is "
                "another computer, and offline mode blocks it."
            )
        )
        self.status.setObjectName("remotes-status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.show_remotes()

    # -- the list -------------------------------------------------------------------------

    def show_remotes(self) -> None:
        """Show the remotes of the settings now (after any change, from anywhere)."""
        chosen = self.selected()
        self.list.clear()
        for remote in self.context.current.remotes:
            item = QListWidgetItem(describe(remote))
            item.setData(Qt.ItemDataRole.UserRole, remote.name)
            self.list.addItem(item)
            if chosen is not None and remote.name == chosen.name:
                self.list.setCurrentItem(item)
        if not self.context.current.remotes:  # an empty box would say nothing
            empty = QListWidgetItem(self.tr("No servers yet: add one below."))
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
        elif self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        self._show_selected()

    def selected(self) -> RemoteServer | None:
        item = self.list.currentItem()
        if item is None or item.data(Qt.ItemDataRole.UserRole) is None:
            return None
        return self.context.current.remote(str(item.data(Qt.ItemDataRole.UserRole)))

    def _show_selected(self) -> None:
        remote = self.selected()
        for widget in (self.test_button, self.remove_button):
            widget.setEnabled(remote is not None)
        away = remote is not None and leaves_machine(remote.url)
        self.allow_box.setEnabled(away)
        self.allow_box.setChecked(bool(remote and remote.allowed))

    # -- actions --------------------------------------------------------------------------

    def add(self) -> None:
        """Add the server in the form (its token to the keychain, in the background)."""
        name, url, token = (
            self.name_edit.text().strip(),
            self.url_edit.text().strip(),
            self.token_edit.text(),
        )
        allowed = False
        if url and leaves_machine(url):
            allowed = Ask.confirm(
                self,
                self.tr("Allow this server?"),
                self.tr(ALLOW_TEXT).format(name=name or self.tr("It"), url=url),
            )
        context = self.context

        def save() -> RemoteServer:
            return add_remote(
                context.settings, context.keys, name=name, url=url, token=token, allowed=allowed
            )

        def added(result: object) -> None:
            assert isinstance(result, RemoteServer)
            self.name_edit.clear()
            self.url_edit.clear()
            self.token_edit.clear()  # kept in the keychain now, not in this field
            self.status.setText(self.tr("Added {server}.").format(server=describe(result)))
            self.show_remotes()
            self.changed.emit()
            self.test(result)

        run_operation(save, on_success=added, on_failure=self._failed, doing="adding the server")

    def list_models(self) -> None:
        """Ask every server that may be asked now for its models (the app's start)."""
        settings = self.context.current
        for remote in settings.remotes:
            if not (settings.offline and leaves_machine(remote.url)):
                self.test(remote, quiet=True)

    def test(self, remote: RemoteServer | None, *, quiet: bool = False) -> None:
        """Ask ``remote`` for its models (in the background); ``models_listed`` follows.

        ``quiet``: a failure is shown here only, not as the window's notification.
        """
        if remote is None:
            return
        settings, keys = self.context.current, self.context.keys
        self.status.setText(self.tr("Asking {name} for its models…").format(name=remote.name))

        def ask() -> list[str]:
            token = keys.remote_token(remote.name).load()
            with RemoteClient.for_remote(settings, remote, token=token, chat=False) as client:
                return client.models()

        def listed(models: object) -> None:
            assert isinstance(models, list)
            names = ", ".join(models[:5]) + ("…" if len(models) > 5 else "")
            count = len(models)
            if count == 1:
                answer = self.tr("{name} answered: %n model ({names}).", "", count)
            elif count:
                answer = self.tr("{name} answered: %n models ({names}).", "", count)
            else:
                answer = self.tr("{name} answered: no models.")
            self.status.setText(answer.format(name=remote.name, names=names))
            self.models_listed.emit(remote.name, models)

        def failed(error: HearthError) -> None:
            if quiet:
                self.status.setText(str(error))
            else:
                self._failed(error)

        run_operation(ask, on_success=listed, on_failure=failed, doing="asking the server")

    def _allow_clicked(self, allowed: bool) -> None:
        remote = self.selected()
        if remote is None:
            return
        if allowed and not Ask.confirm(
            self,
            self.tr("Allow this server?"),
            self.tr(ALLOW_TEXT).format(name=remote.name, url=remote.url),
        ):
            self.allow_box.setChecked(False)
            return
        try:
            allow_remote(self.context.settings, remote.name, allowed)
        except (HearthError, OSError) as error:
            self._failed(error if isinstance(error, HearthError) else HearthError(str(error)))
            return
        self.show_remotes()
        self.changed.emit()

    def remove(self) -> None:
        remote = self.selected()
        if remote is None:
            return
        context = self.context

        def forget() -> RemoteServer:
            return remove_remote(context.settings, context.keys, remote.name)

        def removed(_result: object) -> None:
            self.status.setText(self.tr("Removed {name} and its token.").format(name=remote.name))
            self.show_remotes()
            self.changed.emit()

        run_operation(forget, on_success=removed, on_failure=self._failed, doing="removing it")

    def _failed(self, error: HearthError) -> None:
        self.status.setText(str(error))
        self.failed.emit(error)
