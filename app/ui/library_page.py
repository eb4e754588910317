"""The model library: what runs here (catalog with the advisor's verdicts), downloads,
Hub search (each file of a repository with its verdict, from headers read by range
requests), and the models already installed.

Everything comes from the application context: its Hub (which asks the settings for
offline mode and the key store for the token at every request, so the keychain is read
where the request is made: off the GUI thread), its download manager, its catalog (with
the saved refresh) and the models folder of the settings now. Advice, Hub calls,
disk-space checks, header scans, imports and deletes run in the background
(:func:`run_operation`); download progress arrives from the download threads through a
queued signal. One scan of the installed models feeds this page and, through
``models_listed``, the window's model selector.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.advisor import (
    MIN_USABLE_SPEED,
    Advice,
    ModelFile,
    Recommendation,
    Verdict,
    advise,
)
from app.core.chat import suggest_claude
from app.core.context import AppContext
from app.core.documents import embedding_memory_in_use
from app.core.errors import HearthError
from app.core.inference import detect_machine
from app.core.library import (
    Catalog,
    CatalogModel,
    DownloadManager,
    DownloadProgress,
    DownloadState,
    DownloadTask,
    GGUFVariant,
    Hub,
    ImportMode,
    InstalledModel,
    Library,
    RemoteModels,
    RepoListing,
    first_model,
    read_listed_models,
    reveal_command,
)
from app.core.machine import CalibrationStore, HardwareProfile, calibration_key
from app.core.settings import SettingsChange
from app.core.units import format_bytes
from app.ui.dialogs import Ask
from app.ui.operations import run_operation
from app.ui.unfinished import UnfinishedDownloads
from app.ui.widgets import fit_columns

BADGES = {
    Verdict.FULL_GPU: ("GPU", "#1e8e3e"),
    Verdict.PARTIAL: ("GPU + CPU", "#b06000"),
    Verdict.CPU_ONLY: ("CPU", "#1a73e8"),
}


STAR = " ★"  # the file recommended for this computer (the name column's header says so)
SLOW_COLOR = "#b06000"  # a speed under the usable floor (amber: it runs, slowly)


def recommended_tip() -> str:
    return QCoreApplication.translate("LibraryPage", "★ Recommended for this computer.")


def badge_text(advice: Advice) -> str:
    """The short verdict shown on a file's row."""
    if advice.verdict is Verdict.PARTIAL:
        return QCoreApplication.translate(
            "LibraryPage", "{gpu_layers}/{total_layers} layers on GPU"
        ).format(gpu_layers=advice.gpu_layers, total_layers=advice.total_layers)
    if advice.verdict in BADGES:
        return BADGES[advice.verdict][0]
    return QCoreApplication.translate("LibraryPage", "does not fit")


def badge_tooltip(advice: Advice) -> str:
    """The numbers behind a verdict."""
    estimate = advice.estimate
    lines = [
        advice.sentence,
        QCoreApplication.translate("LibraryPage", "GPU layers: {layers} of {total}").format(
            layers=advice.gpu_layers, total=advice.total_layers
        ),
        QCoreApplication.translate(
            "LibraryPage",
            "Memory: {gpu} on the GPU, {ram} in RAM (weights {weights}, context cache {kv})",
        ).format(
            gpu=format_bytes(estimate.gpu_bytes),
            ram=format_bytes(estimate.ram_bytes),
            weights=format_bytes(estimate.weights_bytes),
            kv=format_bytes(estimate.kv_bytes),
        ),
        QCoreApplication.translate(
            "LibraryPage", "Largest context that fits: {context:,} tokens"
        ).format(context=advice.max_context),
    ]
    if advice.quality:
        lines.append(
            QCoreApplication.translate("LibraryPage", "Quality loss: {label}").format(
                label=advice.quality.label
            )
        )
    if advice.approximate:
        lines.append(
            QCoreApplication.translate(
                "LibraryPage", "Approximate: this architecture's figures are estimated."
            )
        )
    return "\n".join(lines)


HUB_ACTIONS = 3  # the Hub tab's column for the Download button and the progress
ADVICE_ROLE = Qt.ItemDataRole.UserRole + 1  # a file row's Advice, read before a download


def download_warning(advice: Advice) -> str | None:
    """Why this file is a poor download here, with the numbers; None when it is fine."""
    size = format_bytes(advice.file.size_bytes)
    speed = advice.tokens_per_second
    if advice.verdict is Verdict.NO_FIT:
        return QCoreApplication.translate(
            "LibraryPage",
            "{name} ({size}) does not fit on this computer: {sentence}\n\nIt will "
            "most likely fail to load. Download it anyway?",
        ).format(name=advice.file.name, size=size, sentence=advice.sentence)
    if speed is not None and speed < MIN_USABLE_SPEED:
        return QCoreApplication.translate(
            "LibraryPage",
            "{name} ({size}) would be very slow here: about {speed:.1f} tokens/s, "
            "below {min_usable_speed:.0f} tokens/s, so a short answer takes "
            "minutes.\n\n{sentence}\n\nDownload it anyway?",
        ).format(
            name=advice.file.name,
            size=size,
            speed=speed,
            min_usable_speed=MIN_USABLE_SPEED,
            sentence=advice.sentence,
        )
    return None


class _ProgressBridge(QObject):
    """Carries download progress from download threads to the GUI thread."""

    progressed = Signal(object, object)  # DownloadTask, DownloadProgress


class LibraryPage(QWidget):
    load_requested = Signal(str)
    model_settings_requested = Signal(str)  # path
    failed = Signal(object)  # HearthError
    models_listed = Signal(object)  # list[InstalledModel], after each scan of the library
    confirmed = Signal(str)  # something the user asked for was done ("Imported …")
    hub_answered = Signal()  # a Hub request succeeded: a Hub error shown before is stale

    def __init__(self, *, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.profile: HardwareProfile | None = None
        self.catalog: Catalog | None = None
        self.advice: dict[str, Recommendation] = {}
        # Each download followed here, with its row while that row exists (a tree that
        # is filled again deletes its rows; the download goes on).
        self._rows: dict[DownloadTask, QTreeWidgetItem | None] = {}
        self._fills: dict[QTreeWidget, int] = {}  # how often each tree was filled again
        self._bridge = _ProgressBridge()
        self._bridge.progressed.connect(self._show_progress)
        self.installed_count = 0

        layout = QVBoxLayout(self)
        self.machine = QLabel(self.tr("Looking at this computer…"))
        self.machine.setObjectName("machine-summary")
        self.machine.setWordWrap(True)
        layout.addWidget(self.machine)
        self.unfinished = UnfinishedDownloads(
            manager=self.manager, hub=self.hub, download=self.download, failed=self.failed.emit
        )
        layout.addWidget(self.unfinished)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)

        # Catalog -----------------------------------------------------------------
        self.catalog_tree = QTreeWidget()
        self.catalog_tree.setAccessibleName(self.tr("Recommended models"))
        self.catalog_tree.setHeaderLabels(
            [
                self.tr("Model / file"),
                self.tr("Size"),
                self.tr("Here"),
                self.tr("Speed"),
                self.tr("Quality"),
                "",
            ]
        )
        recommended = self.tr("★ marks the file Hearth recommends for this computer.")
        self.catalog_tree.headerItem().setToolTip(0, recommended)
        self.catalog_tree.headerItem().setToolTip(
            3,
            self.tr(
                "A rough estimate of the reply speed on this computer, made before the "
                "download; once a file has run here, its measured speed. Hover a file for "
                "the numbers behind it."
            ),
        )
        fit_columns(self.catalog_tree)
        self.tabs.addTab(self.catalog_tree, self.tr("Recommended models"))

        # Hub search ----------------------------------------------------------------
        hub_page = QWidget()
        hub_layout = QVBoxLayout(hub_page)
        search_row = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText(self.tr("Search Hugging Face for GGUF models"))
        self.search_box.returnPressed.connect(self.search_hub)
        self.search_button = QPushButton(self.tr("Search"))
        self.search_button.clicked.connect(self.search_hub)
        search_row.addWidget(self.search_box, 1)
        search_row.addWidget(self.search_button)
        hub_layout.addLayout(search_row)
        self.hub_tree = QTreeWidget()
        self.hub_tree.setAccessibleName(self.tr("Hub search results"))
        self.hub_tree.setHeaderLabels(
            [self.tr("Repository / file"), self.tr("Size"), self.tr("Here"), ""]
        )
        self.hub_tree.headerItem().setToolTip(0, recommended)
        fit_columns(self.hub_tree)
        self.hub_tree.itemExpanded.connect(self._list_repo)
        hub_layout.addWidget(self.hub_tree, 1)
        self.tabs.addTab(hub_page, self.tr("Search the Hub"))

        # Installed -----------------------------------------------------------------
        installed_page = QWidget()
        installed_layout = QVBoxLayout(installed_page)
        self.installed = QListWidget()
        self.installed.setAccessibleName(self.tr("Installed models"))
        self.installed.itemDoubleClicked.connect(lambda _item: self._load())
        self.installed.itemSelectionChanged.connect(self._installed_selection)
        installed_layout.addWidget(self.installed, 1)
        buttons = QHBoxLayout()
        self.load_button = QPushButton(self.tr("Load"))
        self.load_button.clicked.connect(self._load)
        self.reveal_button = QPushButton(self.tr("Show on disk"))
        self.reveal_button.clicked.connect(self._reveal)
        self.delete_button = QPushButton(self.tr("Delete…"))
        self.delete_button.clicked.connect(self._delete)
        self.model_settings_button = QPushButton(self.tr("Settings…"))
        self.model_settings_button.setToolTip(
            self.tr("This model's own settings and chat template")
        )
        self.model_settings_button.clicked.connect(self._model_settings)
        self.import_button = QPushButton(self.tr("Import a .gguf file…"))
        self.import_button.clicked.connect(self.import_model)
        for button in (
            self.load_button,
            self.model_settings_button,
            self.reveal_button,
            self.delete_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        installed_layout.addLayout(buttons)
        # Import on a line of its own: five buttons in one row do not fit at 800×600.
        imports = QHBoxLayout()
        imports.addStretch(1)
        imports.addWidget(self.import_button)
        installed_layout.addLayout(imports)
        self._installed_selection()
        self.tabs.addTab(installed_page, self.tr("Installed"))
        self.unfinished.refresh()  # what a previous run left unfinished, offered at once

    # -- data ---------------------------------------------------------------------------

    def library(self) -> Library:
        return self.context.library()

    def hub(self) -> Hub:
        return self.context.hub

    def manager(self) -> DownloadManager:
        return self.context.downloads()

    def settings_changed(self, change: SettingsChange) -> None:
        """Apply a settings change at once (the window forwards every one; it also
        rescans the library when the models folder changed)."""
        if change.after.offline and "offline" in change.keys:
            # Offline means no network at all: running downloads stop, bytes kept.
            for task in list(self._rows):
                if not task.state.finished and task.state is not DownloadState.PAUSED:
                    task.pause()

    def refresh(self) -> None:
        """Re-read installed models; advise on the catalog in the background."""
        self.refresh_installed()
        self.unfinished.refresh()
        context = self.context

        def work() -> tuple[HardwareProfile, Catalog, dict[str, Recommendation]]:
            profile = detect_machine(models_dir=context.current.models_folder())
            # Speeds measured here, the documents' embedding model beside the chat's.
            catalog, advice = context.catalog_advice(profile)
            return profile, catalog, advice

        run_operation(work, on_success=self._show_catalog, on_failure=self.failed.emit)

    def _show_catalog(
        self, result: tuple[HardwareProfile, Catalog, dict[str, Recommendation]]
    ) -> None:
        self.profile, self.catalog, self.advice = result
        self.machine.setText(self._machine_summary())
        self._release_rows(self.catalog_tree)
        self.catalog_tree.clear()
        for model in self.catalog:
            self._add_catalog_model(model, self.advice[model.id])
        self.catalog_tree.expandToDepth(0)

    def _machine_summary(self) -> str:
        assert self.profile is not None
        profile = self.profile
        gpu = profile.gpu
        where = (
            f"{gpu.name} ({format_bytes(gpu.budget_bytes)})" if gpu else self.tr("no usable GPU")
        )
        text = self.tr(
            "<b>This computer:</b> {cpu_model}, {ram_total} RAM ({ram_available} free), {where}."
        ).format(
            cpu_model=profile.cpu_model,
            ram_total=format_bytes(profile.ram_total),
            ram_available=format_bytes(profile.ram_available),
            where=where,
        )
        best = self._best_overall()
        if best is None:
            text += self.tr("<br><b>No catalog model runs well on this computer.</b>")
            suggestion = suggest_claude(self.context.current, fits_any_model=False)
            if suggestion is not None:
                text += f" {suggestion.message}"
        else:
            model, advice = best
            text += self.tr("<br><b>Recommended to start:</b> {name} {quant} — {why}").format(
                name=model.name, quant=advice.file.quant, why=advice.sentence
            )
        kept = next(iter(self.advice.values())).headroom.embedding if self.advice else 0
        if kept:
            text += self.tr(
                "<br>{ram} of RAM is kept for the embedding model of your local documents."
            ).format(ram=format_bytes(kept))
        if not self.installed_count:
            text = (
                self.tr("<h3>Welcome to Hearth</h3>")
                + text
                + self.tr(
                    "<br>Download the recommended model below, or import a .gguf you already have."
                )
            )
        return text

    def _best_overall(self) -> tuple[CatalogModel, Advice] | None:
        """The catalog model to start with here (the same pick as the chat's first run)."""
        assert self.catalog is not None
        pick = first_model(self.catalog, self.advice)
        return (pick.model, pick.advice) if pick is not None else None

    def _add_catalog_model(self, model: CatalogModel, recommendation: Recommendation) -> None:
        top = QTreeWidgetItem(
            [f"{model.name} — {model.parameters / 1e9:.1f}B, {model.license}", "", "", "", "", ""]
        )
        tip = f"{model.description}\n{model.repo}"
        if recommendation.note:  # "Very slow here…", "No file of this model fits…"
            top.setText(0, f"{top.text(0)} · {recommendation.note}")
            tip = f"{recommendation.note}\n\n{tip}"
        top.setToolTip(0, tip)
        self.catalog_tree.addTopLevelItem(top)
        top.setFirstColumnSpanned(True)  # the model's line runs across the file columns
        for advice in recommendation.advice:
            quant = advice.file.quant
            star = STAR if advice.recommended else ""
            slow = download_warning(advice)
            row = QTreeWidgetItem(
                [
                    quant + star,
                    format_bytes(advice.file.size_bytes),
                    badge_text(advice),
                    _speed(advice),
                    advice.quality.label if advice.quality else "",
                    "",
                ]
            )
            row.setToolTip(2, badge_tooltip(advice))
            row.setToolTip(0, (recommended_tip() + "\n" if star else "") + advice.sentence)
            row.setData(0, ADVICE_ROLE, advice)
            color = BADGES.get(advice.verdict, ("", "#c5221f"))[1]
            if slow is not None:  # the speed in the warning's colour, the reason on hover
                row.setToolTip(3, slow)
                row.setData(3, Qt.ItemDataRole.ForegroundRole, _brush(SLOW_COLOR))
            row.setForeground(2, Qt.GlobalColor.black)
            row.setData(2, Qt.ItemDataRole.ForegroundRole, _brush(color))
            top.addChild(row)
            button = QPushButton(self.tr("Download"))
            button.clicked.connect(
                lambda _=False, m=model, q=quant, r=row: self.download(m.repo, m.variant(q), r)
            )
            self.catalog_tree.setItemWidget(row, 5, button)

    # -- downloads ----------------------------------------------------------------------

    def download(
        self,
        repo: str,
        variant: GGUFVariant,
        row: QTreeWidgetItem,
        *,
        refused: Callable[[], None] | None = None,
    ) -> None:
        """Check the disk space and start the download, in the background.

        A file that does not fit or would be very slow here is downloaded only once the
        user said yes to the numbers. ``refused`` is called (after the reason is shown)
        when it does not start.
        """
        advice = row.data(0, ADVICE_ROLE)
        warning = download_warning(advice) if isinstance(advice, Advice) else None
        if warning is not None and not Ask.confirm(self, self.tr("Download anyway?"), warning):
            if refused is not None:
                refused()
            return
        tree = row.treeWidget()
        fill = self._fills.get(tree, 0)

        def started(task: DownloadTask) -> None:
            if self._rows.get(task) is not None:  # clicked twice: the manager gave the same task
                return
            known = task in self._rows
            if self._fills.get(tree, 0) != fill:  # the tree was filled again meanwhile
                self._rows[task] = None
            else:
                self._rows[task] = row
                tree.setItemWidget(row, tree.columnCount() - 1, DownloadControls(task))
            if not known:
                task.subscribe(lambda progress, t=task: self._bridge.progressed.emit(t, progress))

        def failed(error: HearthError) -> None:
            self.failed.emit(error)
            if refused is not None:
                refused()

        run_operation(
            lambda: self.manager().start(repo, variant),
            on_success=started,
            on_failure=failed,
            doing=f"starting the download of {variant.name}",
        )

    @Slot(object, object)
    def _show_progress(self, task: DownloadTask, progress: DownloadProgress) -> None:
        if task not in self._rows:
            return
        row = self._rows[task]
        if row is not None:
            tree = row.treeWidget()
            controls = tree.itemWidget(row, tree.columnCount() - 1)
            if isinstance(controls, DownloadControls):
                controls.show_progress(progress)
        if progress.state is DownloadState.DONE:
            self._rows.pop(task, None)
            self.refresh_installed()
        elif progress.state is DownloadState.FAILED and progress.error is not None:
            self._rows.pop(task, None)
            self.failed.emit(progress.error)
        if progress.state.finished and row is not None:
            self.unfinished.settle(row, done=progress.state is DownloadState.DONE)

    @property
    def _hub_results(self) -> int:
        """How many times the Hub search's results were shown (rows made before are gone)."""
        return self._fills.get(self.hub_tree, 0)

    def _release_rows(self, tree: QTreeWidget) -> None:
        """Before ``tree`` is cleared: keep following its downloads, without their rows
        (a deleted row must never be touched again)."""
        self._fills[tree] = self._fills.get(tree, 0) + 1
        for task, row in self._rows.items():
            if row is not None and row.treeWidget() is tree:
                self._rows[task] = None

    # -- Hub ----------------------------------------------------------------------------

    def search_hub(self) -> None:
        text = self.search_box.text().strip()
        if not text:
            return
        self.search_button.setEnabled(False)

        def done(results: Any) -> None:
            self.search_button.setEnabled(True)
            self.hub_answered.emit()
            self._release_rows(self.hub_tree)  # what is on its way for the old rows is dropped
            self.hub_tree.clear()
            for summary in results:
                item = QTreeWidgetItem([summary.repo_id, "", "", ""])
                item.setData(0, Qt.ItemDataRole.UserRole, summary.repo_id)
                item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
                self.hub_tree.addTopLevelItem(item)
            if not results:
                self.hub_tree.addTopLevelItem(
                    QTreeWidgetItem([self.tr("No GGUF models for “{text}”.").format(text=text)])
                )

        def failed(error: HearthError) -> None:
            self.search_button.setEnabled(True)
            self.failed.emit(error)
            self._show_catalog_hits(text, error)

        run_operation(
            lambda: self.hub().search(text),
            on_success=done,
            on_failure=failed,
            doing="searching Hugging Face",
        )

    def _show_catalog_hits(self, text: str, error: HearthError) -> None:
        """The Hub could not be searched: what Hearth's catalog has for ``text``."""
        catalog = self.catalog or self.context.catalog()
        self._release_rows(self.hub_tree)
        self.hub_tree.clear()
        hits = catalog.search(text)
        why = str(error)
        head = QTreeWidgetItem(
            [
                self.tr("{why} From Hearth's catalog:").format(why=why)
                if hits
                else self.tr("{why} Nothing in Hearth's catalog matches “{text}”.").format(
                    why=why, text=text
                )
            ]
        )
        head.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.hub_tree.addTopLevelItem(head)
        for model in hits:
            item = QTreeWidgetItem([f"{model.name} ({model.repo})", "", "", ""])
            item.setToolTip(0, model.description)
            self.hub_tree.addTopLevelItem(item)
            advice = self.advice.get(model.id)
            chosen = advice.recommended if advice is not None else None
            for quant in model.quants:
                mark = STAR if chosen and chosen.file.quant == quant else ""
                row = QTreeWidgetItem(
                    [f"{model.file(quant).filename}{mark}", format_bytes(model.file(quant).size)]
                )
                if advice is not None:
                    found = next((a for a in advice.advice if a.file.quant == quant), None)
                    if found is not None:
                        row.setText(2, badge_text(found))
                        row.setToolTip(2, badge_tooltip(found))
                        row.setData(0, ADVICE_ROLE, found)
                item.addChild(row)
                button = QPushButton(self.tr("Download"))
                button.clicked.connect(
                    lambda _=False, m=model, q=quant, r=row: self.download(m.repo, m.variant(q), r)
                )
                self.hub_tree.setItemWidget(row, HUB_ACTIONS, button)
        self.hub_tree.expandAll()

    def _list_repo(self, item: QTreeWidgetItem) -> None:
        repo = item.data(0, Qt.ItemDataRole.UserRole)
        if not repo or item.childCount():
            return
        results = self._hub_results

        def done(listing: RepoListing) -> None:
            self.hub_answered.emit()
            if results != self._hub_results:
                return  # a newer search replaced the rows
            rows: dict[str, QTreeWidgetItem] = {}
            for variant in listing.variants:
                row = QTreeWidgetItem(
                    [
                        f"{variant.name} ({variant.quant or '?'})",
                        format_bytes(variant.size),
                        "…",
                        "",
                    ]
                )
                row.setToolTip(2, self.tr("Reading this file's header to see how it runs here…"))
                item.addChild(row)
                rows[variant.name] = row
                button = QPushButton(self.tr("Download"))
                button.clicked.connect(lambda _=False, v=variant, r=row: self.download(repo, v, r))
                self.hub_tree.setItemWidget(row, HUB_ACTIONS, button)
            if not listing.variants:
                item.addChild(QTreeWidgetItem([self.tr("No GGUF files in this repository.")]))
                return
            self._advise_repo(listing, item, rows)

        run_operation(
            lambda: self.hub().list_gguf(repo),
            on_success=done,
            on_failure=self.failed.emit,
            doing=f"listing {repo}",
        )

    def _advise_repo(
        self, listing: RepoListing, item: QTreeWidgetItem, rows: dict[str, QTreeWidgetItem]
    ) -> None:
        """Read each listed file's header (range requests through the Hub) and show its
        verdict on this computer."""
        hub = self.hub()
        settings = self.context.current
        profile = self.profile
        results = self._hub_results

        def work() -> tuple[RemoteModels, Recommendation | None]:
            found = read_listed_models(hub, listing)
            machine = profile or detect_machine(models_dir=settings.models_folder())
            files = [
                ModelFile(
                    name=m.variant.name,
                    quant=m.header.quantization,
                    size_bytes=m.size,
                    header=m.header,
                )
                for m in found.models
            ]
            speed = CalibrationStore().speed_calibration(calibration_key(machine))
            advice = (
                advise(
                    files,
                    machine,
                    context_length=settings.context_length,
                    preference=settings.quantization,
                    speed=speed,
                    embedding_bytes=embedding_memory_in_use(settings),
                )
                if files
                else None
            )
            return found, advice

        def done(result: tuple[RemoteModels, Recommendation | None]) -> None:
            if results != self._hub_results:
                return  # a newer search replaced the rows
            found, recommendation = result
            for advice in recommendation.advice if recommendation else []:
                row = rows.pop(advice.file.name, None)
                if row is None:
                    continue
                if advice.recommended:
                    row.setText(0, row.text(0) + STAR)
                row.setText(2, badge_text(advice))
                row.setToolTip(2, badge_tooltip(advice))
                row.setData(0, ADVICE_ROLE, advice)
                row.setData(
                    2,
                    Qt.ItemDataRole.ForegroundRole,
                    _brush(BADGES.get(advice.verdict, ("", "#c5221f"))[1]),
                )
            for row in rows.values():  # left out: not a usable GGUF header
                row.setText(2, "unknown")
                row.setToolTip(2, self.tr("Hearth could not read this file's header."))
            for note in found.notes:
                item.addChild(QTreeWidgetItem([note]))

        def failed(error: HearthError) -> None:
            if results == self._hub_results:
                for row in rows.values():
                    row.setText(2, "")
                    row.setToolTip(2, str(error))
            self.failed.emit(error)

        run_operation(
            work,
            on_success=done,
            on_failure=failed,
            doing=f"reading the headers of {listing.repo_id}",
        )

    # -- installed ----------------------------------------------------------------------

    def refresh_installed(self) -> None:
        """Re-read installed models (every header, off the GUI thread); emits models_listed."""
        run_operation(
            self.library().installed,
            on_success=self._show_installed,
            on_failure=self.failed.emit,
            doing="reading the installed models",
        )

    def _show_installed(self, models: list[InstalledModel]) -> None:
        self.installed.clear()
        for model in models:
            item = QListWidgetItem(_describe(model))
            item.setData(Qt.ItemDataRole.UserRole, model)
            if model.problem:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.installed.addItem(item)
        if not models:
            empty = QListWidgetItem(self.tr("No models yet: download one, or import a .gguf file."))
            empty.setFlags(Qt.ItemFlag.NoItemFlags)  # a message, not a model to load
            self.installed.addItem(empty)
        self._installed_selection()
        self.installed_count = len(models)
        if self.profile is not None and self.catalog is not None:
            self.machine.setText(self._machine_summary())
        self.models_listed.emit(models)

    def _installed_selection(self) -> None:
        """Load, Settings, Show on disk and Delete act on a selected model only."""
        chosen = self._selected() is not None
        for button in (
            self.load_button,
            self.model_settings_button,
            self.reveal_button,
            self.delete_button,
        ):
            button.setEnabled(chosen)

    def _selected(self) -> InstalledModel | None:
        item = self.installed.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item and item.isSelected() else None
        return value if isinstance(value, InstalledModel) else None

    def _load(self) -> None:
        model = self._selected()
        if model is not None:
            self.load_requested.emit(str(model.path))

    def _model_settings(self) -> None:
        model = self._selected()
        if model is not None:
            self.model_settings_requested.emit(str(model.path))

    def _reveal(self) -> None:
        model = self._selected()
        if model is not None:
            subprocess.Popen(reveal_command(model.path))

    def _delete(self) -> None:
        model = self._selected()
        if model is None:
            return
        if model.referenced:
            title, question = self.tr("Forget model?"), self.tr("Forget {name} ({size})?")
        else:
            title, question = self.tr("Delete model?"), self.tr("Delete {name} ({size})?")
        if not Ask.confirm(
            self, title, question.format(name=model.name, size=format_bytes(model.size))
        ):
            return
        library = self.library()

        def failed(error: HearthError) -> None:
            self.failed.emit(error)
            self.refresh_installed()

        run_operation(
            lambda: library.delete(str(model.path)),
            on_success=lambda _model: self.refresh_installed(),
            on_failure=failed,
            doing=f"deleting {model.name}",
        )

    def import_model(self) -> None:
        """Ask for a .gguf file, copy or reference it, and confirm when it is in."""
        path = Ask.open_model_file(self)
        if not path:
            return
        copy = Ask.confirm(
            self,
            self.tr("Import model"),
            self.tr(
                "Copy the file into Hearth's models folder?\n\n"
                "Yes: copy it (uses disk space). No: use it where it is."
            ),
        )
        library = self.library()
        mode = ImportMode.COPY if copy else ImportMode.REFERENCE

        def imported(model: InstalledModel) -> None:
            how = self.tr("copied into the models folder") if copy else self.tr("used where it is")
            self.confirmed.emit(
                self.tr("Imported {name} ({how}).").format(name=model.name, how=how)
            )
            self.refresh_installed()

        run_operation(
            lambda: library.import_file(path, mode=mode),
            on_success=imported,
            on_failure=self.failed.emit,
            doing="importing the model",
        )


class DownloadControls(QWidget):
    """Progress, speed, time left, and pause / resume / cancel for one download."""

    def __init__(self, task: DownloadTask, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task = task
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.label = QLabel(self.tr("starting…"))
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.clicked.connect(self._toggle)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(task.cancel)
        for widget in (self.bar, self.label, self.pause_button, self.cancel_button):
            layout.addWidget(widget)

    def _toggle(self) -> None:
        if self.task.state is DownloadState.PAUSED:
            self.task.resume()
        else:
            self.task.pause()

    def show_progress(self, progress: DownloadProgress) -> None:
        self.bar.setValue(int(progress.fraction * 1000))
        state = progress.state
        if state is DownloadState.RUNNING:
            eta = ""
            if progress.eta_s is not None:
                eta = self.tr(", {seconds:,.0f} s left").format(seconds=progress.eta_s)
            self.label.setText(f"{format_bytes(progress.speed_bps)}/s{eta}")
        else:
            self.label.setText(str(state))
        self.pause_button.setText(
            self.tr("Resume") if state is DownloadState.PAUSED else self.tr("Pause")
        )
        finished = state.finished
        self.pause_button.setEnabled(not finished)
        self.cancel_button.setEnabled(not finished)


def _speed(advice: Advice) -> str:
    rate = advice.tokens_per_second
    if advice.verdict is Verdict.NO_FIT or rate is None:
        return ""
    return "<1 tok/s" if rate < 1 else f"~{rate:.0f} tok/s"


def _brush(color: str) -> Any:
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(color))


def _describe(model: InstalledModel) -> str:
    parts = [model.name, model.quant or "?", format_bytes(model.size)]
    if model.referenced:
        parts.append(QCoreApplication.translate("LibraryPage", "used where it is"))
    text = " · ".join(parts) + f"\n{model.path}"
    if model.problem:
        text += f"\n⚠ {model.problem}"
    return text
