"""Import… : bring chats from another app, after a preview of what comes in.

Pick a file or folder (and, if detection should not decide, the app); the dialog reads
it on a worker thread and shows what an import would add. Import runs on a worker
thread too, through its own connection to the history file, so the window stays
responsive; it ends with "Imported N chats (M messages)". Every failure is shown in
the dialog with what to do; nothing is imported then.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import (
    HEARTH,
    IMPORT_SOURCES,
    HistoryStore,
    ImportPreview,
    ImportResult,
    import_chats,
    preview_import,
)
from app.core.errors import HearthError
from app.ui.operations import run_operation

LABELS = {
    "gpt4all": "GPT4All",
    "lmstudio": "LM Studio",
    "jan": "Jan",
    "ollama": "Ollama",
    "openwebui": "Open WebUI",
    "chatgpt": "ChatGPT",
}


def _chats(count: int, *, new: bool = False) -> str:
    """``count`` chats ("1 chat", "3 new chats"), in the window's language."""
    if new:
        if count == 1:
            return QCoreApplication.translate("ImportDialog", "%n new chat", "", count)
        return QCoreApplication.translate("ImportDialog", "%n new chats", "", count)
    if count == 1:
        return QCoreApplication.translate("ImportDialog", "%n chat", "", count)
    return QCoreApplication.translate("ImportDialog", "%n chats", "", count)


def _messages(count: int) -> str:
    if count == 1:
        return QCoreApplication.translate("ImportDialog", "%n message", "", count)
    return QCoreApplication.translate("ImportDialog", "%n messages", "", count)


def describe_preview(preview: ImportPreview) -> str:
    """The preview as the dialog shows it."""
    messages = _messages(preview.messages)
    if preview.source == HEARTH:  # an archive's own counts; the import skips what is here
        return QCoreApplication.translate(
            "ImportDialog",
            "{label}: {chats}, {messages}. Those already in the history are skipped.",
        ).format(label=preview.label, chats=_chats(preview.conversations), messages=messages)
    lines = [
        QCoreApplication.translate("ImportDialog", "{label}: {chats}, {messages}.").format(
            label=preview.label, chats=_chats(preview.conversations, new=True), messages=messages
        )
    ]
    if preview.already_there:
        lines.append(
            QCoreApplication.translate(
                "ImportDialog", "{chats} imported before will be skipped."
            ).format(chats=_chats(preview.already_there))
        )
    untitled = QCoreApplication.translate("ImportDialog", "(untitled)")
    lines += [f"  • {title or untitled}" for title in preview.titles]
    if preview.conversations > len(preview.titles):
        lines.append(
            QCoreApplication.translate("ImportDialog", "  … and {count} more").format(
                count=preview.conversations - len(preview.titles)
            )
        )
    return "\n".join(lines)


def describe_result(result: ImportResult) -> str:
    """The confirmation the dialog shows when the import is done."""
    return QCoreApplication.translate("ImportDialog", "Imported {chats} ({messages}).").format(
        chats=_chats(result.conversations), messages=_messages(result.messages)
    )


class ImportDialog(QDialog):
    """Choose a source, preview it, import it; ``imported`` is emitted with the result."""

    imported = Signal(object)  # ImportResult

    def __init__(self, history_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Import chats"))
        self.setMinimumWidth(520)
        self._history_path = history_path
        self._busy = False
        self._asked = 0  # the latest preview asked for; older answers are ignored
        self._ready: tuple[Path, str | None] | None = None  # what the shown preview is of

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(
            self.tr("A file or folder another app keeps its chats in")
        )
        self.path_edit.editingFinished.connect(self._preview)
        self.path_edit.textEdited.connect(lambda _text: self._not_ready())
        choose_file = QPushButton(self.tr("File…"))
        choose_file.clicked.connect(self._choose_file)
        choose_folder = QPushButton(self.tr("Folder…"))
        choose_folder.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(choose_file)
        row.addWidget(choose_folder)

        self.source = QComboBox()
        self.source.addItem(self.tr("Detect automatically"), None)
        for name in IMPORT_SOURCES:
            self.source.addItem(LABELS.get(name, name), name)
        self.source.currentIndexChanged.connect(lambda _index: self._preview())

        form = QFormLayout()
        form.addRow(self.tr("From:"), row)
        form.addRow(self.tr("App:"), self.source)

        self.status = QLabel(
            self.tr(
                "GPT4All, LM Studio, Jan, Ollama, Open WebUI and ChatGPT exports can be imported."
            )
        )
        self.status.setWordWrap(True)
        self.status.setObjectName("importStatus")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = self.buttons.addButton(
            self.tr("Import"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self._import)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.buttons)

    # -- what a test (or a person) does -------------------------------------------------

    def set_path(self, path: str | Path) -> None:
        """Take ``path`` as the source and preview it."""
        self.path_edit.setText(str(path))
        self._preview()

    def set_source(self, name: str | None) -> None:
        """Read the source as this app's (None: detect it)."""
        self.source.setCurrentIndex(max(0, self.source.findData(name)))

    # -- slots ----------------------------------------------------------------------------

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import chats from a file"))
        if path:
            self.set_path(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Import chats from a folder"))
        if path:
            self.set_path(path)

    def _not_ready(self) -> None:
        self._ready = None
        self.import_button.setEnabled(False)

    def _preview(self) -> None:
        text = self.path_edit.text().strip()
        self._not_ready()
        if not text or self._busy:
            return
        self._asked += 1
        asked, path, source = self._asked, Path(text), self.source.currentData()
        self.status.setText(self.tr("Reading…"))
        self._run(
            lambda store: preview_import(store, path, source=source),
            lambda preview: self._previewed(asked, (path, source), preview),
            lambda error: self._failed(asked, error),
        )

    def _previewed(
        self, asked: int, ready: tuple[Path, str | None], preview: ImportPreview
    ) -> None:
        if asked != self._asked:
            return
        self.status.setText(describe_preview(preview))
        if preview.conversations > 0:
            self._ready = ready
            self.import_button.setEnabled(True)

    def _import(self) -> None:
        if self._ready is None:  # what is typed now was not previewed
            return
        (path, source), self._ready = self._ready, None
        self._set_busy(True)
        self.status.setText(self.tr("Importing…"))
        self._asked += 1
        asked = self._asked
        self._run(
            lambda store: import_chats(store, path, source=source),
            self._done,
            lambda error: self._failed(asked, error),
        )

    def _done(self, result: ImportResult) -> None:
        self._set_busy(False)
        self.status.setText(describe_result(result))
        self.import_button.setEnabled(False)
        self.imported.emit(result)

    def _failed(self, asked: int, error: HearthError) -> None:
        if asked != self._asked:
            return  # a preview since replaced by another
        self._set_busy(False)
        self.status.setText(error.describe())
        self._not_ready()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.path_edit, self.source, self.import_button):
            widget.setDisabled(busy)

    def _run(
        self,
        work: Callable[[HistoryStore], object],
        on_success: Callable[..., None],
        on_failure: Callable[[HearthError], None],
    ) -> None:
        history_path = self._history_path

        def in_background() -> object:
            # Its own connection: the window's store is not held while a big source is read.
            with HistoryStore.open(history_path) as store:
                return work(store)

        run_operation(
            in_background, on_success=on_success, on_failure=on_failure, doing="importing chats"
        )
