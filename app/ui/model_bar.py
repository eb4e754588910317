"""The model selector, always visible: what is loaded, its quantization, where it runs.

Loading happens on the inference worker; the bar shows a busy indicator meanwhile and
the figures once loaded (file size, context, GPU layers or CPU).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QWidget

from app.core.inference import LoadedModel
from app.core.units import format_bytes

OPEN_FILE = "Open a GGUF file…"


class ModelBar(QWidget):
    """Pick a model to load; shows the loaded one's figures."""

    load_requested = Signal(str)  # path
    open_file_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Model:"))
        self.selector = QComboBox()
        self.selector.setMinimumWidth(260)
        self.selector.activated.connect(self._chosen)
        layout.addWidget(self.selector)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: llama.cpp reports no fraction we can trust
        self.progress.setMaximumWidth(120)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.details = QLabel("No model loaded")
        self.details.setObjectName("model-details")
        layout.addWidget(self.details, 1)
        self._paths: list[str] = []

    def set_models(self, paths: list[Path], *, current: str | None = None) -> None:
        self.selector.blockSignals(True)
        self.selector.clear()
        self._paths = [str(p) for p in paths]
        if current and current not in self._paths:
            self._paths.insert(0, current)
        self.selector.addItem("Choose a model…")
        for path in self._paths:
            self.selector.addItem(Path(path).name, path)
        self.selector.addItem(OPEN_FILE)
        if current:
            self.selector.setCurrentIndex(self._paths.index(current) + 1)
        self.selector.blockSignals(False)

    def _chosen(self, index: int) -> None:
        text = self.selector.itemText(index)
        if text == OPEN_FILE:
            self.open_file_requested.emit()
        elif 1 <= index <= len(self._paths):
            self.load_requested.emit(self._paths[index - 1])

    def show_loading(self, path: str) -> None:
        self.progress.show()
        self.selector.setEnabled(False)
        self.details.setText(f"Loading {Path(path).name}…")

    def show_loaded(self, model: LoadedModel, *, gpu_offload: bool) -> None:
        self.progress.hide()
        self.selector.setEnabled(True)
        layers = model.header.block_count or 0
        if not gpu_offload or model.options.gpu_layers == 0:
            where = "CPU"
        elif model.options.gpu_layers < 0 or model.options.gpu_layers >= layers:
            where = f"GPU ({layers}/{layers} layers)"
        else:
            where = f"GPU {model.options.gpu_layers}/{layers} layers, rest on CPU"
        estimate = model.estimate
        if estimate is not None:
            memory = f"uses ~{format_bytes(estimate.ram_bytes)} of RAM"
            if estimate.gpu_bytes:
                memory += f" and ~{format_bytes(estimate.gpu_bytes)} on the GPU"
        else:
            memory = f"{format_bytes(model.path.stat().st_size)} of weights"
        self.details.setText(
            f"{model.name} · {model.header.quantization} · {where} · {memory} · "
            f"context {model.context_length:,}"
        )
        tip = [model.notice] if model.notice else []
        if estimate is not None:
            tip.append(
                f"Estimated: weights {format_bytes(estimate.weights_bytes)}, context cache "
                f"{format_bytes(estimate.kv_bytes)}, work buffers "
                f"{format_bytes(estimate.compute_bytes)}."
            )
        self.details.setToolTip("\n".join(tip))

    def show_failed(self, message: str) -> None:
        self.progress.hide()
        self.selector.setEnabled(True)
        self.selector.setCurrentIndex(0)
        self.details.setText(f"Not loaded: {message}")
