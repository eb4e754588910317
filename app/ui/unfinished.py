"""Downloads a previous run left unfinished, offered at the top of the library.

Each is listed with the bytes already on disk, *Resume* (it continues from those
bytes) and *Discard* (its partial files are deleted, after asking). The list is read
off the GUI thread when the library starts and each time it is shown; the download
manager and the Hub client are made there too (they read the token).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.library import DownloadManager, GGUFVariant, Hub, UnfinishedDownload
from app.core.units import format_bytes
from app.ui.dialogs import Ask
from app.ui.operations import run_operation
from app.ui.widgets import fit_columns

ACTIVE = Qt.ItemDataRole.UserRole + 1  # a row whose download was resumed
FIRST_FILE = Qt.ItemDataRole.UserRole + 2  # the row's first partial file, as text


class UnfinishedDownloads(QWidget):
    """The unfinished downloads, each with Resume and Discard; hidden when there are none."""

    def __init__(
        self,
        *,
        manager: Callable[[], DownloadManager],
        hub: Callable[[], Hub],
        download: Callable[..., None],
        failed: Callable[[HearthError], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._manager = manager
        self._hub = hub
        self._download = download
        self._failed = failed
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            QLabel(self.tr("<b>Unfinished downloads</b> — resume from what is on disk"))
        )
        self.tree = QTreeWidget()
        self.tree.setAccessibleName(self.tr("Unfinished downloads"))
        self.tree.setHeaderLabels([self.tr("Model / file"), self.tr("On disk"), ""])
        fit_columns(self.tree)
        self.tree.setRootIsDecorated(False)
        self.tree.setMaximumHeight(140)
        layout.addWidget(self.tree)
        self.hide()

    def refresh(self) -> None:
        """List what is unfinished (in the background)."""
        run_operation(
            lambda: self._manager().unfinished(),
            on_success=self._show,
            on_failure=self._failed,
            doing="listing unfinished downloads",
        )

    def rows(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _show(self, items: list[UnfinishedDownload]) -> None:
        active = set()
        for row in self.rows():  # rows being resumed stay; the rest are listed anew
            if row.data(0, ACTIVE):
                active.add(row.data(0, FIRST_FILE))
            else:
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row))
        for item in items:
            if str(item.parts[0].path) not in active:
                self._add(item)
        self.setVisible(self.tree.topLevelItemCount() > 0)

    def _add(self, item: UnfinishedDownload) -> None:
        name = f"{item.name} ({item.quant})" if item.quant else item.name
        if item.repo_id:
            name += f" — {item.repo_id}"
        size = item.size
        have = format_bytes(item.have_bytes)
        if size:
            have = self.tr("{have} of {size}").format(have=have, size=format_bytes(size))
        row = QTreeWidgetItem([name, have, ""])
        row.setData(0, FIRST_FILE, str(item.parts[0].path))
        self.tree.addTopLevelItem(row)
        buttons = QWidget()
        layout = QHBoxLayout(buttons)
        layout.setContentsMargins(0, 0, 0, 0)
        resume = QPushButton(self.tr("Resume"))
        resume.setEnabled(item.resumable)
        if not item.resumable:
            resume.setToolTip(self.tr("Hearth no longer knows where this file came from."))
            row.setToolTip(0, self.tr("Its download record is missing: it can only be discarded."))
        resume.clicked.connect(lambda _=False: self._resume(item, row))
        discard = QPushButton(self.tr("Discard…"))
        discard.clicked.connect(lambda _=False: self._discard(item))
        layout.addWidget(resume)
        layout.addWidget(discard)
        self.tree.setItemWidget(row, 2, buttons)

    def _resume(self, item: UnfinishedDownload, row: QTreeWidgetItem) -> None:
        assert item.repo_id is not None and item.repo_path is not None
        repo, path = item.repo_id, item.repo_path
        row.setData(0, ACTIVE, True)

        def start(variant: GGUFVariant) -> None:
            self._download(repo, variant, row, refused=lambda: row.setData(0, ACTIVE, False))

        def fail(error: HearthError) -> None:
            row.setData(0, ACTIVE, False)
            self._failed(error)

        run_operation(
            lambda: self._hub().list_gguf(repo).find(filename=path),
            on_success=start,
            on_failure=fail,
            doing=f"listing {repo}",
        )

    def _discard(self, item: UnfinishedDownload) -> None:
        kept = format_bytes(item.have_bytes)
        if not Ask.confirm(
            self,
            self.tr("Discard download?"),
            self.tr("Delete the {size} of {name} downloaded so far?").format(
                size=kept, name=item.name
            ),
        ):
            return
        run_operation(
            lambda: self._manager().discard(item),
            on_success=lambda _: self.refresh(),
            on_failure=self._failed,
            doing=f"discarding the download of {item.name}",
        )

    def settle(self, row: QTreeWidgetItem, *, done: bool) -> None:
        """A resumed download ended: drop its row when done, else list again what is left."""
        if self.tree.indexOfTopLevelItem(row) < 0:
            return
        if done:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row))
            self.setVisible(self.tree.topLevelItemCount() > 0)
        else:
            row.setData(0, ACTIVE, False)
            self.refresh()
