"""The chat page's first run: no model yet, so say so and lead to one.

One line about this computer (RAM, GPU or none, cores), one primary action — download
the model the advisor picks for it (:func:`~app.core.library.first_model`: name, file
size, expected speed) — and two others: import a .gguf file, browse the library. The
download's progress stays here, and once the file is in, :attr:`FirstRun.model_ready`
asks the window to load it.

The pick is worked out in the background (hardware probe, catalog, advice); the
download runs on the context's download manager like any other.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.advisor import COMFORTABLE_SPEED
from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.inference import detect_machine
from app.core.library import (
    DownloadProgress,
    DownloadState,
    DownloadTask,
    FirstModel,
    first_model,
)
from app.core.machine import HardwareProfile
from app.core.units import format_bytes
from app.ui.operations import run_operation


def machine_line(profile: HardwareProfile) -> str:
    """This computer in one line: RAM, GPU (or none), cores."""
    gpu = profile.gpu
    where = (
        f"{gpu.name} ({format_bytes(gpu.total_bytes)})"
        if gpu
        else QCoreApplication.translate("FirstRun", "no usable GPU")
    )
    cores = profile.physical_cores or profile.logical_cores or 1
    if cores == 1:
        text = QCoreApplication.translate(
            "FirstRun", "This computer: {ram_total} RAM · {where} · %n CPU core", "", cores
        )
    else:
        text = QCoreApplication.translate(
            "FirstRun", "This computer: {ram_total} RAM · {where} · %n CPU cores", "", cores
        )
    return text.format(ram_total=format_bytes(profile.ram_total), where=where)


def pick_text(pick: FirstModel) -> str:
    """The primary action's words: the model, its file size, the speed to expect."""
    advice = pick.advice
    speed = advice.tokens_per_second
    size = format_bytes(advice.file.size_bytes)
    if speed:
        text = QCoreApplication.translate(
            "FirstRun", "Download {name} ({quant}, {size}, about {speed:.0f} tokens/s here)"
        )
    else:
        text = QCoreApplication.translate("FirstRun", "Download {name} ({quant}, {size})")
    return text.format(name=pick.model.name, quant=advice.file.quant, size=size, speed=speed)


class _ProgressBridge(QObject):
    progressed = Signal(object)  # DownloadProgress, from the download's thread


class FirstRun(QFrame):
    """What the chat shows while no model is installed."""

    model_ready = Signal(str)  # the downloaded model's path: load it
    import_requested = Signal()
    library_requested = Signal()
    failed = Signal(object)  # HearthError

    def __init__(self, *, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("first-run")
        self.pick: FirstModel | None = None
        self.task: DownloadTask | None = None
        self._bridge = _ProgressBridge()
        self._bridge.progressed.connect(self._show_progress)
        # The hardware probe and a dozen models' advice take seconds: on a pool of their
        # own, so the window's quick background work (a library scan) never waits on them.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        title = QLabel(self.tr("<h2>Hearth needs a model to answer</h2>"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.machine = QLabel(self.tr("Looking at this computer…"))
        self.machine.setObjectName("first-run-machine")
        self.machine.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.machine.setWordWrap(True)
        layout.addWidget(self.machine)
        self.why = QLabel()
        self.why.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.why.setWordWrap(True)
        self.why.setObjectName("muted")  # the theme's muted colour, light and dark
        layout.addWidget(self.why)

        self.download_button = QPushButton(self.tr("Finding the model that suits this computer…"))
        self.download_button.setObjectName("primary")  # the one thing to do first
        self.download_button.setDefault(True)
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self.download)
        layout.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignCenter)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self._cancel)
        progress_row.addStretch(1)
        for widget in (self.progress, self.progress_label, self.cancel_button):
            progress_row.addWidget(widget)
        progress_row.addStretch(1)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        layout.addWidget(self.progress_box)

        others = QHBoxLayout()
        others.addStretch(1)
        self.import_button = QPushButton(self.tr("Import a .gguf file…"))
        self.import_button.clicked.connect(self.import_requested)
        self.library_button = QPushButton(self.tr("Browse the library"))
        self.library_button.clicked.connect(self.library_requested)
        others.addWidget(self.import_button)
        others.addWidget(self.library_button)
        others.addStretch(1)
        layout.addLayout(others)
        layout.addStretch(2)

    # -- the pick ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Work out this computer and the model to start with, in the background."""
        context = self.context

        def work() -> tuple[HardwareProfile, FirstModel | None]:
            profile = detect_machine(models_dir=context.current.models_folder())
            catalog, advice = context.catalog_advice(profile)  # the library's advice
            return profile, first_model(catalog, advice)

        run_operation(
            work,
            on_success=self._show_pick,
            on_failure=self.failed.emit,
            doing="choosing the model to start with",
            pool=self._pool,
        )

    def _show_pick(self, result: tuple[HardwareProfile, FirstModel | None]) -> None:
        profile, self.pick = result
        self.machine.setText(machine_line(profile))
        if self.task is not None and not self.task.state.finished:
            return  # a download is under way: keep its button as it is
        pick = self.pick
        if pick is None:
            self.download_button.setText(self.tr("No catalog model runs well on this computer"))
            self.download_button.setEnabled(False)
            self.why.setText(
                self.tr(
                    "Import a small .gguf file you trust, or look in the library for the "
                    "smallest models."
                )
            )
            return
        self.download_button.setText(pick_text(pick))
        self.download_button.setEnabled(True)
        self.download_button.setToolTip(pick.advice.sentence)
        if pick.comfortable:
            self.why.setText(
                self.tr(
                    "The best model that answers at reading speed (at least "
                    "{comfortable_speed:.0f} tokens/s) on this computer. {description}"
                ).format(comfortable_speed=COMFORTABLE_SPEED, description=pick.model.description)
            )
        else:
            self.why.setText(
                self.tr(
                    "Nothing in the catalog reaches reading speed ({comfortable_speed:.0f} "
                    "tokens/s) here; this is the fastest. Replies will come slowly."
                ).format(comfortable_speed=COMFORTABLE_SPEED)
            )

    # -- the download -----------------------------------------------------------------

    def download(self) -> None:
        pick = self.pick
        if pick is None or (self.task is not None and not self.task.state.finished):
            return
        variant = pick.model.variant(pick.advice.file.quant)
        self.download_button.setEnabled(False)
        manager = self.context.downloads()

        def started(task: DownloadTask) -> None:
            self.task = task
            self.progress_box.show()
            self.progress_label.setText(self.tr("starting…"))
            task.subscribe(self._bridge.progressed.emit)
            self._show_progress(task.progress())

        def refused(error: HearthError) -> None:
            self.download_button.setEnabled(True)
            self.failed.emit(error)

        run_operation(
            lambda: manager.start(pick.model.repo, variant),
            on_success=started,
            on_failure=refused,
            doing=f"starting the download of {variant.name}",
        )

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    @Slot(object)
    def _show_progress(self, progress: DownloadProgress) -> None:
        task = self.task
        if task is None:
            return
        self.progress.setValue(int(progress.fraction * 1000))
        state = progress.state
        if state is DownloadState.RUNNING:
            eta = ""
            if progress.eta_s is not None:
                eta = self.tr(", {seconds:,.0f} s left").format(seconds=progress.eta_s)
            self.progress_label.setText(
                self.tr("{done_bytes} of {total_bytes} · {speed_bps}/s{eta}").format(
                    done_bytes=format_bytes(progress.done_bytes),
                    total_bytes=format_bytes(progress.total_bytes),
                    speed_bps=format_bytes(progress.speed_bps),
                    eta=eta,
                )
            )
        else:
            self.progress_label.setText(str(state))
        if not state.finished:
            return
        self.cancel_button.setEnabled(False)
        if state is DownloadState.DONE:
            self.progress_label.setText(self.tr("Downloaded: loading the model…"))
            self.model_ready.emit(str(_first_part(task.destinations)))
        else:
            self.task = None
            self.download_button.setEnabled(self.pick is not None)
            self.cancel_button.setEnabled(True)
            self.progress_box.hide()
            if state is DownloadState.FAILED and progress.error is not None:
                self.failed.emit(progress.error)


def _first_part(paths: tuple[Path, ...]) -> Path:
    """A split model loads from its first part."""
    return sorted(paths)[0]
