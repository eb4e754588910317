"""The model selector, always visible: what is loaded, its quantization, where it runs.

Loading happens on the inference worker; the bar shows a busy indicator meanwhile and
the figures once loaded (file size, context, GPU layers or CPU). The models of the
remote servers (Settings → Remote servers) are listed under each server's name; picking
one emits ``remote_requested`` (nothing loads: the server has it).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from app.core.chat import RemoteModel
from app.core.inference import LoadedModel
from app.core.units import format_bytes
from app.ui.widgets import ElidedLabel

OPEN_FILE = QT_TRANSLATE_NOOP("ModelBar", "Open a GGUF file…")
MODEL_SETTINGS = QT_TRANSLATE_NOOP("ModelBar", "Settings for this model…")
MODEL_SETTINGS_TIP = QT_TRANSLATE_NOOP(
    "ModelBar",
    "The loaded model's own context, GPU layers, sampling, system prompt and chat template",
)
GET_MODEL = QT_TRANSLATE_NOOP("ModelBar", "Get a model…")
"""The list's actions (English here; the list shows them translated)."""


class ModelBar(QWidget):
    """Pick a model to load; shows the loaded one's figures."""

    load_requested = Signal(str)  # path
    open_file_requested = Signal()
    remote_requested = Signal(object)  # RemoteModel
    settings_requested = Signal(str)  # the loaded model's path
    get_model_requested = Signal()  # to the library, where models are downloaded

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(self.tr("Model:"))
        layout.addWidget(label)
        self.selector = QComboBox()
        label.setBuddy(self.selector)
        self.selector.setAccessibleDescription(
            self.tr("Choose the model that answers: on this computer, or on a server you added")
        )
        # As wide as a model's name, down to 12 characters where the window is narrow.
        self.selector.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.selector.setMinimumContentsLength(12)
        self.selector.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.selector.setMaximumWidth(340)
        self.selector.activated.connect(self._chosen)
        layout.addWidget(self.selector)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: llama.cpp reports no fraction we can trust
        self.progress.setMaximumWidth(120)
        self.progress.hide()
        layout.addWidget(self.progress)
        # A short line; the whole story (memory, layers, notices) is its tooltip.
        self.details = ElidedLabel(self.tr("No model loaded"))
        self.details.setObjectName("model-details")
        layout.addWidget(self.details, 1)
        self._paths: list[str] = []
        self._current: str | RemoteModel | None = None
        self._remotes: dict[str, list[str]] = {}
        self._fill()  # "Get a model…" is there from the start

    def set_models(self, paths: list[Path], *, current: str | None = None) -> None:
        self._paths = [str(p) for p in paths]
        if current and current not in self._paths:
            self._paths.insert(0, current)
        if current or not isinstance(self._current, RemoteModel):
            self._current = current
        self._fill()

    def set_remote_models(self, remote: str, models: list[str]) -> None:
        """List ``remote``'s models under its name (an empty list removes the server)."""
        if models:
            self._remotes[remote] = list(models)
        else:
            self._remotes.pop(remote, None)
        self._fill()

    def keep_remotes(self, names: set[str]) -> None:
        """Forget the models of servers no longer in the settings."""
        for name in set(self._remotes) - names:
            self.set_remote_models(name, [])

    def _fill(self) -> None:
        self.selector.blockSignals(True)
        self.selector.clear()
        self.selector.addItem(self.tr("Choose a model…"))
        for path in self._paths:
            self.selector.addItem(Path(path).name, path)
        for remote, models in self._remotes.items():
            self.selector.addItem(
                self.tr("On {remote}:").format(remote=remote)
            )  # a heading, not a choice
            items = self.selector.model()
            if isinstance(items, QStandardItemModel):
                items.item(self.selector.count() - 1).setEnabled(False)
            for model in models:
                self.selector.addItem(f"    {model}", RemoteModel(remote, model))
        self.selector.addItem(self.tr(GET_MODEL))
        self.selector.addItem(self.tr(OPEN_FILE))
        if isinstance(self._current, str):
            # In the list, so the bar needs no more width for it.
            self.selector.addItem(self.tr(MODEL_SETTINGS))
            self.selector.setItemData(
                self.selector.count() - 1, self.tr(MODEL_SETTINGS_TIP), Qt.ItemDataRole.ToolTipRole
            )
        at = next(
            (i for i in range(self.selector.count()) if self.selector.itemData(i) == self._current),
            0,
        )
        self.selector.setCurrentIndex(at if self._current is not None else 0)
        self.selector.blockSignals(False)

    def _chosen(self, index: int) -> None:
        data = self.selector.itemData(index)
        text = self.selector.itemText(index)
        if text == self.tr(MODEL_SETTINGS) and isinstance(self._current, str):
            self.selector.setCurrentIndex(self.selector.findData(self._current))
            self.settings_requested.emit(self._current)
        elif text == self.tr(OPEN_FILE):
            self.open_file_requested.emit()
        elif text == self.tr(GET_MODEL):
            self._fill()  # the list shows what is in use, not the action
            self.get_model_requested.emit()
        elif isinstance(data, RemoteModel):
            self.remote_requested.emit(data)
        elif isinstance(data, str):
            self.load_requested.emit(data)

    def show_remote(self, choice: RemoteModel, where: str) -> None:
        """Show that replies come from ``choice`` (``where``: this or another computer)."""
        self._current = choice
        self._fill()
        self.details.setText(f"{choice.label} · {where}")
        self.details.setToolTip("")

    def show_loading(self, path: str) -> None:
        self.progress.show()
        self.selector.setEnabled(False)
        self.details.setToolTip("")  # the previous model's figures no longer apply
        self.details.setText(self.tr("Loading {name}…").format(name=Path(path).name))

    def show_loaded(self, model: LoadedModel, *, gpu_offload: bool) -> None:
        self._current = str(model.path)
        self.progress.hide()
        self.selector.setEnabled(True)
        layers = model.header.block_count or 0
        if not gpu_offload or model.options.gpu_layers == 0:
            where = "CPU"
        elif model.options.gpu_layers < 0 or model.options.gpu_layers >= layers:
            where = self.tr("GPU ({layers}/{layers} layers)").format(layers=layers)
        else:
            where = self.tr("GPU {gpu_layers}/{layers} layers, rest on CPU").format(
                gpu_layers=model.options.gpu_layers, layers=layers
            )
        estimate = model.estimate
        if estimate is not None:
            ram = format_bytes(estimate.ram_bytes)
            if estimate.gpu_bytes:
                memory = self.tr("uses ~{ram} of RAM and ~{gpu} on the GPU").format(
                    ram=ram, gpu=format_bytes(estimate.gpu_bytes)
                )
            else:
                memory = self.tr("uses ~{ram} of RAM").format(ram=ram)
        else:
            memory = self.tr("{st_size} of weights").format(
                st_size=format_bytes(model.path.stat().st_size)
            )
        ram = f"~{format_bytes(estimate.ram_bytes)} RAM" if estimate is not None else ""
        short = "CPU" if where == "CPU" else "GPU"
        self.details.setText(" · ".join(p for p in (model.header.quantization, short, ram) if p))
        tip = [
            f"{model.name} · {model.header.quantization} · {where} · {memory} · "
            f"context {model.context_length:,}"
        ]
        tip += [model.notice] if model.notice else []
        if estimate is not None:
            tip.append(
                self.tr(
                    "Estimated: weights {weights_bytes}, context cache {kv_bytes}, work "
                    "buffers {compute_bytes}."
                ).format(
                    weights_bytes=format_bytes(estimate.weights_bytes),
                    kv_bytes=format_bytes(estimate.kv_bytes),
                    compute_bytes=format_bytes(estimate.compute_bytes),
                )
            )
        self.details.setToolTip("\n".join(tip))

    def show_failed(self, message: str) -> None:
        self.progress.hide()
        self.selector.setEnabled(True)
        self.selector.setCurrentIndex(0)
        self.details.setText(self.tr("Not loaded: {message}").format(message=message))
        self.details.setToolTip(message)
