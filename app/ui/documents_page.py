"""The Documents page: collections, their files (and why any was skipped), indexing progress.

A view over :class:`~app.ui.documents_service.DocumentsService`: the list of collections,
the files of the one selected with their state and reason, buttons to add files or
folders, rescan and remove, and a progress bar (files, chunks, time left) with Pause and
Stop while a collection is indexed in the background. With no embedding model installed,
the page says so and offers to download all-MiniLM-L6-v2 or to use a GGUF file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.documents import Collection, NoEmbeddingModelError, Progress, Report
from app.core.errors import HearthError
from app.core.library import DownloadProgress, DownloadState, DownloadTask
from app.core.units import format_bytes
from app.ui.dialogs import Ask
from app.ui.documents_service import DocumentsService
from app.ui.operations import run_operation
from app.ui.widgets import fit_columns

DEFAULT_EMBEDDING_MODEL = "all-minilm-l6-v2"
DEFAULT_COLLECTION = "Documents"
STATE_WORDS = {
    "indexed": QT_TRANSLATE_NOOP("DocumentsPage", "indexed"),
    "limited": QT_TRANSLATE_NOOP("DocumentsPage", "indexed in part"),
    "skipped": QT_TRANSLATE_NOOP("DocumentsPage", "skipped"),
}


class DocumentDialogs:
    """The page's file questions, behind classmethods tests can answer."""

    @classmethod
    def files(cls, parent: QWidget | None) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(
            parent, QCoreApplication.translate("DocumentDialogs", "Add files to the collection")
        )
        return list(paths)

    @classmethod
    def folder(cls, parent: QWidget | None) -> str | None:
        path = QFileDialog.getExistingDirectory(
            parent, QCoreApplication.translate("DocumentDialogs", "Add a folder to the collection")
        )
        return path or None

    @classmethod
    def embedding_model(cls, parent: QWidget | None) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            parent,
            QCoreApplication.translate("DocumentDialogs", "Use a GGUF embedding model"),
            "",
            QCoreApplication.translate("DocumentDialogs", "GGUF models (*.gguf);;All files (*)"),
        )
        return path or None


def describe_progress(progress: Progress) -> str:
    """``12 of 40 files · 310 chunks · about 2 min left`` (or paused)."""
    parts = [f"{progress.files_done:,} of {progress.files_total:,} files"]
    parts.append(
        QCoreApplication.translate("DocumentsPage", "{chunks_done:,} chunks").format(
            chunks_done=progress.chunks_done
        )
    )
    left = progress.seconds_left
    if progress.paused:
        parts.append("paused")
    elif left is not None:
        parts.append(
            QCoreApplication.translate("DocumentsPage", "about {left} left").format(
                left=_duration(left)
            )
        )
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class DocumentsPage(QWidget):
    """Collections and their files; indexing runs in the service, off this thread."""

    failed = Signal(object)  # HearthError, for the window's notification bar
    _download_progress = Signal(object)  # DownloadProgress, from the download's thread

    def __init__(self, service: DocumentsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._download: DownloadTask | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel(
            self.tr(
                "Collections of your own files, indexed on this computer. Attach one to a chat "
                "(the Documents button under Send) and replies answer from it, with their "
                "sources."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.model_banner = QWidget()
        banner_column = QVBoxLayout(self.model_banner)
        banner_column.setContentsMargins(0, 0, 0, 0)
        banner = QHBoxLayout()  # the buttons, under the explanation (whole width for it)
        self.model_label = QLabel()
        self.model_label.setObjectName("documents-model")
        self.model_label.setWordWrap(True)
        self.download_button = QPushButton(self.tr("Download all-MiniLM-L6-v2"))
        self.download_button.setToolTip(
            self.tr("A small embedding model from the catalog (about 46 MB)")
        )
        self.download_button.clicked.connect(self.download_model)
        self.open_model_button = QPushButton(self.tr("Use a GGUF file…"))
        self.open_model_button.clicked.connect(self.choose_model)
        banner_column.addWidget(self.model_label)
        banner.addWidget(self.download_button)
        banner.addWidget(self.open_model_button)
        banner.addStretch(1)
        banner_column.addLayout(banner)
        self.model_banner.hide()
        layout.addWidget(self.model_banner)

        buttons = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New collection…"))
        self.add_files_button = QPushButton(self.tr("Add files…"))
        self.add_folder_button = QPushButton(self.tr("Add folder…"))
        self.rescan_button = QPushButton(self.tr("Rescan"))
        self.rescan_button.setToolTip(
            self.tr("Read new and changed files again (only what changed)")
        )
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.remove_button.setToolTip(
            self.tr("Delete the collection and its index (your files stay)")
        )
        self.new_button.clicked.connect(self.new_collection)
        self.add_files_button.clicked.connect(self.add_files)
        self.add_folder_button.clicked.connect(self.add_folder)
        self.rescan_button.clicked.connect(self.rescan)
        self.remove_button.clicked.connect(self.remove)
        for button in (
            self.new_button,
            self.add_files_button,
            self.add_folder_button,
            self.rescan_button,
            self.remove_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.collections = QListWidget()
        self.collections.currentItemChanged.connect(lambda *_: self._show_files())
        self.files = QTreeWidget()
        self.files.setHeaderLabels(
            [self.tr("File"), self.tr("State"), self.tr("Chunks"), self.tr("Reason")]
        )
        self.files.setRootIsDecorated(False)
        fit_columns(self.files)  # the name takes the room; State and Chunks fit their text
        # A failed file's reason can be long: a column of its own width, whole on hover.
        self.files.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        self.files.setColumnWidth(3, 160)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.collections)
        splitter.addWidget(self.files)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([140, 660])
        layout.addWidget(splitter, 1)

        progress_row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_label = QLabel()
        self.progress_label.setObjectName("documents-progress")
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setToolTip(
            self.tr("Stop indexing; what is done is kept, a rescan goes on")
        )
        self.stop_button.clicked.connect(service.cancel)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.progress_label, 1)
        progress_row.addWidget(self.pause_button)
        progress_row.addWidget(self.stop_button)
        layout.addLayout(progress_row)
        self._show_running(False)

        for widget, name in (
            (self.collections, self.tr("Collections")),
            (self.files, self.tr("Files of the collection")),
            (self.progress_bar, self.tr("Indexing progress")),
        ):
            widget.setAccessibleName(name)
        service.progressed.connect(self._show_progress)
        service.indexed.connect(self._indexed)
        service.failed.connect(self.failed)
        service.model_missing.connect(self._model_missing)
        service.changed.connect(self.refresh)
        self._download_progress.connect(self._show_download)

    # -- what is shown ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the collections (keeping the selection) and check for an embedding model."""
        current = self.selected()
        self.collections.blockSignals(True)
        self.collections.clear()
        for collection in self.service.collections():
            item = QListWidgetItem(_collection_text(collection))
            item.setData(Qt.ItemDataRole.UserRole, collection.name)
            item.setToolTip("\n".join([item.text(), *collection.sources]))
            self.collections.addItem(item)
            if collection.name == current:
                self.collections.setCurrentItem(item)
        if self.collections.currentItem() is None and self.collections.count():
            self.collections.setCurrentRow(0)
        self.collections.blockSignals(False)
        self._show_files()
        self._check_model()

    def selected(self) -> str | None:
        item = self.collections.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _show_files(self) -> None:
        self.files.clear()
        name = self.selected()
        for button in (self.rescan_button, self.remove_button):
            button.setEnabled(name is not None)
        if name is None:
            return
        sources = [Path(p) for p in self.service.index.collection(name).sources]
        for entry in self.service.files(name):
            row = QTreeWidgetItem(
                [
                    _shown_path(Path(entry.path), sources),
                    self.tr(STATE_WORDS[entry.status])
                    if entry.status in STATE_WORDS
                    else entry.status,
                    str(entry.chunks) if entry.status != "skipped" else "",
                    entry.reason,
                ]
            )
            row.setToolTip(0, f"{entry.path} ({format_bytes(entry.size)})")
            row.setToolTip(3, entry.reason)
            self.files.addTopLevelItem(row)

    def _check_model(self) -> None:
        def found(_path: object) -> None:
            self.model_banner.hide()

        def missing(error: HearthError) -> None:
            if isinstance(error, NoEmbeddingModelError):
                self._model_missing(error)
            else:
                self.failed.emit(error)

        run_operation(
            self.service.embedding_model,
            on_success=found,
            on_failure=missing,
            doing="looking for an embedding model",
        )

    def _model_missing(self, error: HearthError) -> None:
        self.model_label.setText(
            self.tr(
                "<b>{error}</b> Documents are indexed with an embedding model, on this "
                "computer. Download the small default from the catalog, or use a GGUF "
                "embedding model you have."
            ).format(error=error)
        )
        self.model_banner.show()

    # -- collections -------------------------------------------------------------------------

    def new_collection(self) -> str | None:
        name = Ask.text(
            self, self.tr("New collection"), self.tr("Name of the collection:"), DEFAULT_COLLECTION
        )
        if not name or not name.strip():
            return None
        name = name.strip()
        paths = DocumentDialogs.files(self)
        if paths:
            self._add(name, paths)
        return name

    def _target(self) -> str | None:
        return self.selected() or Ask.text(
            self, self.tr("New collection"), self.tr("Name of the collection:"), DEFAULT_COLLECTION
        )

    def add_files(self) -> None:
        name = self._target()
        paths = DocumentDialogs.files(self) if name else []
        if name and paths:
            self._add(name.strip(), paths)

    def add_folder(self) -> None:
        name = self._target()
        folder = DocumentDialogs.folder(self) if name else None
        if name and folder:
            self._add(name.strip(), [folder])

    def _add(self, name: str, paths: list[str]) -> None:
        try:
            self.service.add(name, paths)
        except HearthError as error:
            self.failed.emit(error)
            return
        self.refresh()
        for row in range(self.collections.count()):
            item = self.collections.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.collections.setCurrentItem(item)

    def rescan(self) -> None:
        name = self.selected()
        if name is not None:
            self.service.rescan(name)

    def remove(self) -> None:
        name = self.selected()
        if name is None or not Ask.confirm(
            self,
            self.tr("Remove the collection?"),
            self.tr(
                "Remove “{name}” and delete its index? Your files are not touched; "
                "chats that use it no longer answer from it."
            ).format(name=name),
        ):
            return
        self.service.remove(name)  # the list is shown again once it is gone

    # -- indexing ------------------------------------------------------------------------------

    def toggle_pause(self) -> None:
        if self.service.paused:
            self.service.resume()
            self.pause_button.setText(self.tr("Pause"))
        else:
            self.service.pause()
            self.pause_button.setText(self.tr("Resume"))
            self.progress_label.setText(self.progress_label.text() + " · pausing")

    def _show_running(self, running: bool) -> None:
        for widget in (self.progress_bar, self.pause_button, self.stop_button):
            widget.setVisible(running)

    def _show_progress(self, progress: Progress) -> None:
        self._show_running(True)
        self.progress_bar.setMaximum(max(1, progress.files_total))
        self.progress_bar.setValue(progress.files_done)
        self.progress_label.setText(
            self.tr("Indexing {value}: {progress}").format(
                value=self.service.running or "", progress=describe_progress(progress)
            )
        )
        self.pause_button.setText(self.tr("Resume") if self.service.paused else self.tr("Pause"))

    def _indexed(self, name: str, report: Report) -> None:
        self._show_running(self.service.running not in (None, name))
        words = self.tr("stopped") if report.cancelled else self.tr("up to date")
        parts = [
            self.tr("{indexed} read").format(indexed=report.indexed),
            self.tr("{chunks} chunks embedded").format(chunks=report.chunks_embedded),
        ]
        if report.relinked:
            parts.append(
                self.tr("{relinked} moved files re-linked").format(relinked=report.relinked)
            )
        if report.skipped:
            parts.append(
                self.tr("{skipped} skipped (see why in the list)").format(skipped=report.skipped)
            )
        self.progress_label.setText(
            self.tr("“{name}” {state}: {parts}.").format(
                name=name, state=words, parts=", ".join(parts)
            )
        )
        self.refresh()

    # -- the embedding model -------------------------------------------------------------------

    def choose_model(self) -> None:
        path = DocumentDialogs.embedding_model(self)
        if not path:
            return
        store = self.service.context.settings
        try:
            store.update(store.current.with_value("docs_embedding_model", str(Path(path))))
        except (HearthError, OSError) as error:
            self.failed.emit(error if isinstance(error, HearthError) else HearthError(str(error)))
            return
        self._check_model()

    def download_model(self) -> None:
        """Download all-MiniLM-L6-v2 as the Library does (the same download manager)."""
        context = self.service.context

        def start() -> DownloadTask:
            model = next(m for m in context.catalog().embedding if m.id == DEFAULT_EMBEDDING_MODEL)
            return context.downloads().start(model.repo, model.variant(next(iter(model.files))))

        def started(task: DownloadTask) -> None:
            self._download = task
            task.subscribe(self._download_progress.emit)
            self.download_button.setEnabled(False)

        run_operation(
            start,
            on_success=started,
            on_failure=self.failed.emit,
            doing="starting the embedding model's download",
        )

    def _show_download(self, progress: DownloadProgress) -> None:
        if progress.state is DownloadState.DONE:
            self.download_button.setText(self.tr("Download all-MiniLM-L6-v2"))
            self.download_button.setEnabled(True)
            self._check_model()
        elif progress.state is DownloadState.FAILED:
            self.download_button.setEnabled(True)
            if progress.error is not None:
                self.failed.emit(progress.error)
        else:
            total = progress.total_bytes or 1
            self.download_button.setText(
                self.tr("Downloading… {value}%").format(value=100 * progress.done_bytes // total)
            )


def _collection_text(collection: Collection) -> str:
    text = f"{collection.name}  ({_count(collection.files, 'file')}"
    text += f", {_count(collection.chunks, 'chunk')}"
    if collection.skipped:
        text += f", {collection.skipped:,} skipped"
    return text + ")"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _shown_path(path: Path, sources: list[Path]) -> str:
    """A file as listed: its path inside the folder it was found in (the tooltip has all)."""
    for source in sources:
        if path != source and path.is_relative_to(source):
            return str(path.relative_to(source))
    return path.name
