"""The settings panel, generated from :class:`~app.core.settings.Settings`.

Each setting gets the widget its type calls for, its one-line explanation, and the
same validation as the settings file and ``hearth config``. Apply emits what changed;
the window saves it to the settings store, and every part that cares applies it (a
theme at once; a load parameter by reloading the model, after asking). A change made
elsewhere (``hearth config set``) is shown here through :meth:`SettingsPage.show_changed`.

What most people never change sits under a closed "Advanced" disclosure. A value that
is refused (a models folder Hearth cannot write in, a number out of range) is said under
its own field, and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.cloud import find_claude_model
from app.core.errors import HearthError
from app.core.settings import FOLDER_KEYS, Settings, check_writable_folder
from app.ui.widgets import set_tone

SECTIONS = {
    QT_TRANSLATE_NOOP("SettingsPage", "Models"): ("quantization", "models_dir", "offline"),
    QT_TRANSLATE_NOOP("SettingsPage", "Loading"): (
        "gpu_layers",
        "context_length",
        "threads",
        "batch_size",
        "flash_attention",
        "kv_cache_type",
    ),
    QT_TRANSLATE_NOOP("SettingsPage", "Replies"): (
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "repeat_penalty",
        "max_tokens",
        "seed",
        "system_prompt",
    ),
    QT_TRANSLATE_NOOP("SettingsPage", "Claude"): ("claude_enabled", "claude_model", "routing"),
    QT_TRANSLATE_NOOP("SettingsPage", "Appearance"): ("theme", "language"),
}
"""Sections by title (English here, translated when shown) and their settings."""
LOAD_KEYS = frozenset(SECTIONS["Loading"])
OWN_EDITORS = frozenset({"remotes"})  # edited in their own section (app/ui/remotes.py)
ADVANCED = ("threads", "batch_size", "flash_attention", "kv_cache_type", "min_p", "seed")
"""Shown under "Advanced" (closed at first), with every setting no section lists."""
LABELS = {
    "quantization": QT_TRANSLATE_NOOP("SettingsPage", "Quantization"),
    "gpu_layers": QT_TRANSLATE_NOOP("SettingsPage", "GPU layers"),
    "context_length": QT_TRANSLATE_NOOP("SettingsPage", "Context length"),
    "threads": QT_TRANSLATE_NOOP("SettingsPage", "Threads"),
    "batch_size": QT_TRANSLATE_NOOP("SettingsPage", "Batch size"),
    "flash_attention": QT_TRANSLATE_NOOP("SettingsPage", "Flash attention"),
    "kv_cache_type": QT_TRANSLATE_NOOP("SettingsPage", "KV-cache type"),
    "temperature": QT_TRANSLATE_NOOP("SettingsPage", "Temperature"),
    "top_p": QT_TRANSLATE_NOOP("SettingsPage", "Top-p"),
    "top_k": QT_TRANSLATE_NOOP("SettingsPage", "Top-k"),
    "min_p": QT_TRANSLATE_NOOP("SettingsPage", "Min-p"),
    "repeat_penalty": QT_TRANSLATE_NOOP("SettingsPage", "Repeat penalty"),
    "max_tokens": QT_TRANSLATE_NOOP("SettingsPage", "Max tokens"),
    "seed": QT_TRANSLATE_NOOP("SettingsPage", "Seed"),
    "system_prompt": QT_TRANSLATE_NOOP("SettingsPage", "System prompt"),
    "theme": QT_TRANSLATE_NOOP("SettingsPage", "Theme"),
    "language": QT_TRANSLATE_NOOP("SettingsPage", "Language"),
    "models_dir": QT_TRANSLATE_NOOP("SettingsPage", "Models folder"),
    "offline": QT_TRANSLATE_NOOP("SettingsPage", "Offline mode"),
    "claude_enabled": QT_TRANSLATE_NOOP("SettingsPage", "Use Claude"),
    "claude_model": QT_TRANSLATE_NOOP("SettingsPage", "Claude model"),
    "routing": QT_TRANSLATE_NOOP("SettingsPage", "Routing"),
    "docs_chunk_tokens": QT_TRANSLATE_NOOP("SettingsPage", "Document chunk size"),
    "docs_chunk_overlap": QT_TRANSLATE_NOOP("SettingsPage", "Document chunk overlap"),
    "docs_embedding_model": QT_TRANSLATE_NOOP("SettingsPage", "Embedding model"),
    "docs_collections": QT_TRANSLATE_NOOP("SettingsPage", "Collections for a new chat"),
    "docs_max_file_mb": QT_TRANSLATE_NOOP("SettingsPage", "Largest document (MB)"),
    "docs_max_text_chars": QT_TRANSLATE_NOOP("SettingsPage", "Most text per document"),
    "server_host": QT_TRANSLATE_NOOP("SettingsPage", "Server address"),
    "server_port": QT_TRANSLATE_NOOP("SettingsPage", "Server port"),
    "server_allowed_origins": QT_TRANSLATE_NOOP("SettingsPage", "Allowed web pages"),
    "server_log_bodies": QT_TRANSLATE_NOOP("SettingsPage", "Log prompts and replies"),
    "server_queue": QT_TRANSLATE_NOOP("SettingsPage", "Server queue"),
    "server_max_tokens": QT_TRANSLATE_NOOP("SettingsPage", "Server's longest reply"),
}
CHOICE_LABELS = {
    ("theme", "system"): QT_TRANSLATE_NOOP("SettingsPage", "Follow the system"),
    ("theme", "light"): QT_TRANSLATE_NOOP("SettingsPage", "Light"),
    ("theme", "dark"): QT_TRANSLATE_NOOP("SettingsPage", "Dark"),
    ("language", "system"): QT_TRANSLATE_NOOP("SettingsPage", "Follow the system"),
    ("routing", "local"): QT_TRANSLATE_NOOP("SettingsPage", "Local model only"),
    ("routing", "ask"): QT_TRANSLATE_NOOP("SettingsPage", "Ask each time (local or Claude)"),
    ("quantization", "auto"): QT_TRANSLATE_NOOP("SettingsPage", "Automatic"),
}
LANGUAGE_NAMES = {"en": "English", "vi": "Tiếng Việt"}
"""Each language by its own name, as a person looking for theirs reads it."""


class SettingsPage(QWidget):
    """Edit every setting; Apply validates, saves and reports what changed."""

    applied = Signal(object, object)  # new Settings, set of changed keys
    set_key_requested = Signal()
    test_key_requested = Signal()
    clear_key_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.editors: dict[str, QWidget] = {}
        self.field_errors: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        inner = QWidget()
        column = QVBoxLayout(inner)
        self._column = column
        known = set(Settings.keys())
        shown: set[str] = set()
        for section, keys in SECTIONS.items():
            keys = tuple(k for k in keys if k in known and k not in ADVANCED)
            column.addWidget(QLabel(f"<h3>{self.tr(section)}</h3>"))
            form = QFormLayout()
            for key in keys:
                self._add_row(form, key)
                shown.add(key)
            column.addLayout(form)
            if section == "Claude":
                column.addLayout(self._key_row())
        others = [k for k in Settings.keys() if k not in shown | OWN_EDITORS]  # noqa: SIM118
        self._advanced_holder = self._advanced(others)
        column.addWidget(self._advanced_holder)
        column.addStretch(1)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)
        self.error = QLabel()
        self.error.setObjectName("settings-error")
        self.error.setWordWrap(True)
        set_tone(self.error, "error")
        outer.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.revert_button = QPushButton(self.tr("Revert"))
        self.revert_button.clicked.connect(lambda: self.show_settings(self.settings))
        self.apply_button = QPushButton(self.tr("Apply"))
        self.apply_button.clicked.connect(self.apply)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        outer.addLayout(buttons)
        self.show_settings(settings)

    def add_section(self, title: str, widget: QWidget) -> None:
        """A section that is not a setting (Backups, Server, Remote servers...), after the
        settings (and before Advanced, which stays last)."""
        at = self._column.indexOf(self._advanced_holder)
        self._column.insertWidget(at, QLabel(f"<h3>{title}</h3>"))
        self._column.insertWidget(at + 1, widget)

    def _advanced(self, keys: list[str]) -> QWidget:
        """The "Advanced" disclosure: a toggle, and ``keys`` hidden until it is opened."""
        holder = QWidget()
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 8, 0, 0)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setObjectName("settings-advanced")
        self.advanced_toggle.setText(self.tr("Advanced"))
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAccessibleDescription(
            self.tr("Show the options most people never need to change.")
        )
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        for key in keys:
            self._add_row(form, key)
        self.advanced.hide()

        def toggled(opened: bool) -> None:
            self.advanced.setVisible(opened)
            arrow = Qt.ArrowType.DownArrow if opened else Qt.ArrowType.RightArrow
            self.advanced_toggle.setArrowType(arrow)

        self.advanced_toggle.toggled.connect(toggled)
        box.addWidget(self.advanced_toggle)
        box.addWidget(self.advanced)
        return holder

    def _key_row(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.key_status = QLabel()
        self.key_status.setObjectName("claude-key-status")
        self.key_status.setWordWrap(True)
        box.addWidget(self.key_status)
        row = QHBoxLayout()
        for text, signal in (
            (self.tr("Set API key…"), self.set_key_requested),
            (self.tr("Test key"), self.test_key_requested),
            (self.tr("Forget key"), self.clear_key_requested),
        ):
            button = QPushButton(text)
            button.clicked.connect(signal)
            row.addWidget(button)
        row.addStretch(1)
        box.addLayout(row)
        return box

    def _add_row(self, form: QFormLayout, key: str) -> None:
        editor = self._editor(key)
        editor.setObjectName(f"setting-{key}")
        editor.setToolTip(Settings.describe(key))
        self.editors[key] = editor
        help_label = QLabel(Settings.describe(key))
        help_label.setWordWrap(True)
        set_tone(help_label, "muted")
        error = QLabel()
        error.setObjectName(f"setting-{key}-error")
        error.setWordWrap(True)
        set_tone(error, "error")
        error.hide()
        self.field_errors[key] = error
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(editor)
        layout.addWidget(error)
        layout.addWidget(help_label)
        if key == "language":
            note = QLabel(self.tr("A new language shows the next time Hearth starts."))
            note.setObjectName("setting-language-note")
            note.setWordWrap(True)
            layout.addWidget(note)
        label = self.tr(LABELS[key]) if key in LABELS else key.replace("_", " ").capitalize()
        form.addRow(label, holder)

    def _editor(self, key: str) -> QWidget:
        field = next(f for f in fields(Settings) if f.name == key)
        default, meta = field.default, field.metadata
        if meta.get("choices"):
            box = QComboBox()
            # A long choice is cut, not a reason for the page to scroll sideways.
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(12)
            for choice in meta["choices"]:
                box.addItem(self._choice_label(key, choice), choice)
            return box
        if isinstance(default, bool):
            return QCheckBox()
        if isinstance(default, int):
            spin = QSpinBox()
            spin.setRange(
                int(meta["lo"] if meta.get("lo") is not None else -(2**31)),
                int(meta["hi"] if meta.get("hi") is not None else 2**31 - 1),
            )
            return spin
        if isinstance(default, float):
            dspin = QDoubleSpinBox()
            dspin.setDecimals(2)
            dspin.setSingleStep(0.05)
            dspin.setRange(float(meta.get("lo") or 0.0), float(meta.get("hi") or 1e6))
            return dspin
        return QLineEdit()

    def show_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._clear_errors()
        for key in self.editors:
            self._show_value(key, settings.get(key))

    def show_changed(self, settings: Settings, keys: Iterable[str]) -> None:
        """Show settings changed elsewhere (saved already): only ``keys`` are redrawn, so
        an edit not applied yet in another field stays as typed."""
        self.settings = settings
        for key in keys:
            if key in self.editors:
                self._show_value(key, settings.get(key))

    def _show_value(self, key: str, value: Any) -> None:
        editor = self.editors[key]
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findData(value))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox | QDoubleSpinBox):
            editor.setValue(value)
        elif isinstance(editor, QLineEdit):
            editor.setText(str(value))

    def value(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            return editor.value()
        assert isinstance(editor, QLineEdit)
        return editor.text()

    def apply(self) -> bool:
        """Validate every field; emit ``applied`` with what changed. False on a bad value.

        A changed folder must be one Hearth can write in; the field says why not.
        """
        self._clear_errors()
        updated = self.settings
        key = ""
        try:
            for key in self.editors:
                updated = updated.with_value(key, self.value(key))
            changed = {k for k in self.editors if updated.get(k) != self.settings.get(k)}
            for key in changed.intersection(FOLDER_KEYS):
                if updated.get(key):
                    check_writable_folder(updated.get(key))
        except HearthError as error:
            self.error.setText(str(error))
            self.field_errors[key].setText(error.describe())
            self.field_errors[key].show()
            if self.advanced.isAncestorOf(self.editors[key]):
                self.advanced_toggle.setChecked(True)  # the field at fault is in sight
            return False
        self.settings = updated
        if changed:
            self.applied.emit(updated, changed)
        return True

    def _choice_label(self, key: str, choice: Any) -> str:
        """What a menu shows for a choice: a Claude model's name and price, a language's
        own name, a translated word for a few, else the value."""
        listed = find_claude_model(choice) if key == "claude_model" else None
        if listed:
            return listed.describe()
        if key == "language" and choice in LANGUAGE_NAMES:
            return LANGUAGE_NAMES[choice]
        if (key, choice) in CHOICE_LABELS:
            return self.tr(CHOICE_LABELS[key, choice])
        return str(choice)

    def _clear_errors(self) -> None:
        self.error.clear()
        for label in self.field_errors.values():
            label.clear()
            label.hide()
