"""One model's own settings: a dialog, and the few steps around it.

Each row is one setting a model may override (context, GPU layers, sampling, system
prompt), with an "Own value" box: unticked, the row shows the app's value and the model
follows it. The chat template row picks Automatic (the file's own, else one chosen from
its architecture), a family (Llama 3, Gemma, ChatML, Phi, Mistral) or Hearth's plain
format. :class:`ModelSettingsController` opens it for a model file, saves what was
chosen, and asks to reload when the loaded model's load settings changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HearthError
from app.core.gguf import CHAT_TEMPLATES
from app.core.inference import LoadedModel, PromptFormat
from app.core.library import (
    CHAT_TEMPLATE_CHOICES,
    MODEL_LOAD_KEYS,
    MODEL_SETTING_KEYS,
    TEMPLATE_AUTO,
    TEMPLATE_PLAIN,
    ModelSettings,
    ModelSettingsStore,
)
from app.core.settings import Settings
from app.ui.dialogs import Ask
from app.ui.widgets import set_tone

LABELS = {
    "context_length": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Context length"),
    "gpu_layers": QT_TRANSLATE_NOOP("ModelSettingsDialog", "GPU layers"),
    "temperature": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Temperature"),
    "top_p": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Top-p"),
    "top_k": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Top-k"),
    "min_p": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Min-p"),
    "repeat_penalty": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Repeat penalty"),
    "max_tokens": QT_TRANSLATE_NOOP("ModelSettingsDialog", "Max tokens"),
    "system_prompt": QT_TRANSLATE_NOOP("ModelSettingsDialog", "System prompt"),
}
"""Each row's label (English here, translated when shown)."""


def _template_labels() -> dict[str, str]:
    translate = QCoreApplication.translate
    own = translate("ModelSettingsDialog", "{template} (in place of the file's own)")
    return {
        TEMPLATE_AUTO: translate(
            "ModelSettingsDialog", "Automatic: the file's own, else chosen from its architecture"
        ),
        **{key: own.format(template=t.label) for key, t in CHAT_TEMPLATES.items()},
        TEMPLATE_PLAIN: translate("ModelSettingsDialog", "Hearth's plain User:/Assistant: format"),
    }


def _editor(key: str) -> QWidget:
    """The field for the app setting ``key``, with its allowed range."""
    field = next(f for f in fields(Settings) if f.name == key)
    default, meta = field.default, field.metadata
    if isinstance(default, int):
        spin = QSpinBox()
        spin.setRange(int(meta["lo"]), int(meta["hi"]))
        return spin
    if isinstance(default, float):
        dspin = QDoubleSpinBox()
        dspin.setDecimals(2)
        dspin.setSingleStep(0.05)
        dspin.setRange(float(meta["lo"]), float(meta["hi"]))
        return dspin
    return QLineEdit()


def _show(editor: QWidget, value: Any) -> None:
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        editor.setValue(value)
    elif isinstance(editor, QLineEdit):
        editor.setText(str(value))


def _value(editor: QWidget) -> Any:
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    assert isinstance(editor, QLineEdit)
    return editor.text()


class ModelSettingsDialog(QDialog):
    """Edit one model's own settings (see the module docstring)."""

    def __init__(
        self,
        name: str,
        own: ModelSettings,
        app: Settings,
        parent: QWidget | None = None,
        *,
        template_note: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings for {name}").format(name=name))
        self.setObjectName("model-settings-dialog")
        self.app = app
        self.own_boxes: dict[str, QCheckBox] = {}
        self.editors: dict[str, QWidget] = {}
        column = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "What {name} uses instead of the app's settings. Untick a row to follow the "
                "app's value."
            ).format(name=name)
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        grid = QGridLayout()
        for row, key in enumerate(MODEL_SETTING_KEYS):
            label = QLabel(self.tr(LABELS[key]))
            editor = _editor(key)
            editor.setObjectName(f"model-setting-{key}")
            editor.setToolTip(Settings.describe(key))
            label.setBuddy(editor)
            own_box = QCheckBox(self.tr("Own value"))
            own_box.setObjectName(f"model-setting-{key}-own")
            own_box.setAccessibleName(
                self.tr("Own {setting} for this model").format(setting=label.text().lower())
            )
            own_box.toggled.connect(lambda on, k=key: self._set_own(k, on))
            self.own_boxes[key], self.editors[key] = own_box, editor
            grid.addWidget(label, row, 0)
            grid.addWidget(editor, row, 1)
            grid.addWidget(own_box, row, 2)
        row = len(MODEL_SETTING_KEYS)
        self.template = QComboBox()
        self.template.setObjectName("model-setting-chat_template")
        template_labels = _template_labels()
        for choice in CHAT_TEMPLATE_CHOICES:
            self.template.addItem(template_labels[choice], choice)
        template_label = QLabel(self.tr("Chat template"))
        template_label.setBuddy(self.template)
        grid.addWidget(template_label, row, 0)
        grid.addWidget(self.template, row, 1, 1, 2)
        self.template_note = QLabel(template_note)
        self.template_note.setObjectName("model-setting-chat_template-note")
        self.template_note.setWordWrap(True)
        self.template_note.setVisible(bool(template_note))
        grid.addWidget(self.template_note, row + 1, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)
        self.error = QLabel()
        self.error.setObjectName("model-settings-error")
        self.error.setWordWrap(True)
        set_tone(self.error, "error")
        column.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.setText(self.tr("Follow the app's settings"))
        restore.clicked.connect(lambda: self.show_settings(ModelSettings()))
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)
        self.result_settings: ModelSettings | None = None
        self.show_settings(own)

    def show_settings(self, own: ModelSettings) -> None:
        for key in MODEL_SETTING_KEYS:
            _show(self.editors[key], own.values.get(key, self.app.get(key)))
            self.own_boxes[key].setChecked(key in own.values)
            self._set_own(key, key in own.values)
        self.template.setCurrentIndex(self.template.findData(own.chat_template))

    def _set_own(self, key: str, own: bool) -> None:
        editor = self.editors[key]
        editor.setEnabled(own)
        if not own:
            _show(editor, self.app.get(key))

    def chosen(self) -> ModelSettings:
        """What the dialog shows now (ModelSettingsError for a value the model refuses)."""
        values = {
            k: _value(self.editors[k]) for k, box in self.own_boxes.items() if box.isChecked()
        }
        return ModelSettings(values=values, chat_template=self.template.currentData())

    def _save(self) -> None:
        try:
            self.result_settings = self.chosen()
        except HearthError as error:
            self.error.setText(str(error))
            return
        self.accept()

    @classmethod
    def ask(
        cls,
        parent: QWidget | None,
        name: str,
        own: ModelSettings,
        app: Settings,
        *,
        template_note: str = "",
    ) -> ModelSettings | None:
        """The settings chosen for the model, or None when cancelled."""
        dialog = cls(name, own, app, parent, template_note=template_note)
        return dialog.result_settings if dialog.exec() == QDialog.DialogCode.Accepted else None


class ModelSettingsController(QObject):
    """Opens a model's settings, saves them, and offers to reload the loaded model."""

    failed = Signal(object)  # HearthError
    reload_requested = Signal(str)  # path
    saved = Signal(str, object, object)  # path, before, after (ModelSettings)

    def __init__(
        self,
        *,
        store: ModelSettingsStore,
        settings: Callable[[], Settings],
        loaded: Callable[[], LoadedModel | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self._settings = settings
        self._loaded = loaded
        self._parent = parent

    def edit(self, path: str) -> None:
        """Show the settings of the model file at ``path``; save what the user chose."""
        try:
            before = self.store.get(path)
        except HearthError as error:
            self.failed.emit(error)
            return
        loaded = self._loaded()
        is_loaded = loaded is not None and loaded.path == Path(path)
        note = _template_note(loaded) if is_loaded and loaded is not None else ""
        after = ModelSettingsDialog.ask(
            self._parent, Path(path).name, before, self._settings(), template_note=note
        )
        if after is None or after == before:
            return
        try:
            self.store.set(path, after)
        except HearthError as error:
            self.failed.emit(error)
            return
        self.saved.emit(path, before, after)
        if (
            is_loaded
            and _load_keys_changed(before, after)
            and Ask.confirm(
                self._parent,
                self.tr("Reload the model?"),
                self.tr(
                    "The context, GPU layers and chat template take effect when the model is "
                    "loaded again. Reload it now?"
                ),
            )
        ):
            self.reload_requested.emit(path)


def _template_note(model: LoadedModel) -> str:
    """What the loaded model's file has, and what is used now."""
    template = model.prompt_format == PromptFormat.TEMPLATE
    if model.header.chat_template:
        if template:
            text = QT_TRANSLATE_NOOP(
                "ModelSettingsDialog",
                "This file has its own chat template; the model is using its template now.",
            )
        else:
            text = QT_TRANSLATE_NOOP(
                "ModelSettingsDialog",
                "This file has its own chat template; the model is using the plain format now.",
            )
    elif template:
        text = QT_TRANSLATE_NOOP(
            "ModelSettingsDialog",
            "This file has no chat template; the model is using its template now.",
        )
    else:
        text = QT_TRANSLATE_NOOP(
            "ModelSettingsDialog",
            "This file has no chat template; the model is using the plain format now.",
        )
    return QCoreApplication.translate("ModelSettingsDialog", text)


def _load_keys_changed(before: ModelSettings, after: ModelSettings) -> bool:
    old, new = before.to_dict(), after.to_dict()
    return any(old.get(k) != new.get(k) for k in MODEL_LOAD_KEYS)
