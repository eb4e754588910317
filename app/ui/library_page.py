"""The model library: installed models (load, delete, reveal, import a .gguf)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.library import ImportMode, InstalledModel, Library, reveal_command
from app.core.settings import Settings
from app.ui.dialogs import Ask


class LibraryPage(QWidget):
    load_requested = Signal(str)
    failed = Signal(object)  # HearthError
    changed = Signal()

    def __init__(self, *, settings: Callable[[], Settings], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>Installed models</h2>"))
        self.installed = QListWidget()
        self.installed.itemDoubleClicked.connect(lambda _item: self._load())
        layout.addWidget(self.installed, 1)
        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(self._load)
        self.reveal_button = QPushButton("Show on disk")
        self.reveal_button.clicked.connect(self._reveal)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self._delete)
        self.import_button = QPushButton("Import a .gguf file…")
        self.import_button.clicked.connect(self._import)
        for button in (self.load_button, self.reveal_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        layout.addLayout(buttons)

    def library(self) -> Library:
        return Library(models_dir=self._settings().models_folder())

    def refresh(self) -> None:
        self.installed.clear()
        try:
            models = self.library().installed()
        except (OSError, HearthError) as error:
            self.failed.emit(error if isinstance(error, HearthError) else HearthError(str(error)))
            return
        for model in models:
            item = QListWidgetItem(_describe(model))
            item.setData(Qt.ItemDataRole.UserRole, model)
            if model.problem:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.installed.addItem(item)
        if not models:
            self.installed.addItem("No models yet: import a .gguf file you already have.")

    def _selected(self) -> InstalledModel | None:
        item = self.installed.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item else None
        return value if isinstance(value, InstalledModel) else None

    def _load(self) -> None:
        model = self._selected()
        if model is not None:
            self.load_requested.emit(str(model.path))

    def _reveal(self) -> None:
        model = self._selected()
        if model is not None:
            subprocess.Popen(reveal_command(model.path))

    def _delete(self) -> None:
        model = self._selected()
        if model is None:
            return
        if not Ask.confirm(
            self, "Delete model?", f"Delete {model.name} ({model.size / 2**30:,.2f} GiB) from disk?"
        ):
            return
        try:
            self.library().delete(str(model.path))
        except HearthError as error:
            self.failed.emit(error)
        self.refresh()
        self.changed.emit()

    def _import(self) -> None:
        path = Ask.open_model_file(self)
        if not path:
            return
        copy = Ask.confirm(
            self,
            "Import model",
            "Copy the file into Hearth's models folder?\n\n"
            "Yes: copy it (uses disk space). No: use it where it is.",
        )
        try:
            self.library().import_file(path, mode=ImportMode.COPY if copy else ImportMode.REFERENCE)
        except HearthError as error:
            self.failed.emit(error)
            return
        self.refresh()
        self.changed.emit()


def _describe(model: InstalledModel) -> str:
    parts = [model.name, model.quant or "?", f"{model.size / 2**30:,.2f} GiB"]
    if model.referenced:
        parts.append("referenced")
    text = " · ".join(parts) + f"\n{model.path}"
    if model.problem:
        text += f"\n⚠ {model.problem}"
    return text
