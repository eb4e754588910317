"""Per-model settings: a model file's own context, GPU layers, sampling, system prompt
and chat template, over the app's settings.

A :class:`ModelSettings` holds only what the user set for that model; everything else
comes from the app's :class:`~app.core.settings.Settings` (:meth:`ModelSettings.apply`).
Each value is validated exactly as the app's setting of the same name. The chat
template is ``auto`` (the file's own, else one chosen from its architecture), a family
(``llama3``, ``gemma``, ``chatml``, ``phi``, ``mistral``) that replaces the file's own,
or ``plain`` (Hearth's ``User:/Assistant:`` format).

:class:`ModelSettingsStore` keeps them in one JSON file in the config folder, keyed by
the model file's name and size, so a model moved to another folder keeps its settings
and a different file under the same name does not inherit them. The file is read at
every :meth:`~ModelSettingsStore.get` (another process may have written it) and
written atomically.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.core.errors import storage_error
from app.core.files import write_json_atomic
from app.core.gguf.templates import CHAT_TEMPLATES
from app.core.settings import Settings, SettingsError

MODEL_SETTINGS_FILE = "model-settings.json"
MODEL_SETTINGS_VERSION = 1
MODEL_SETTING_KEYS = (
    "context_length",
    "gpu_layers",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "max_tokens",
    "system_prompt",
)
"""App settings a model may override."""
MODEL_LOAD_KEYS = frozenset({"context_length", "gpu_layers", "chat_template"})
"""Per-model settings that take effect only when the model is loaded again."""
TEMPLATE_AUTO = "auto"
TEMPLATE_PLAIN = "plain"
CHAT_TEMPLATE_CHOICES = (TEMPLATE_AUTO, *CHAT_TEMPLATES, TEMPLATE_PLAIN)


class ModelSettingsError(SettingsError):
    hint = "Correct the value, or delete the model-settings file to forget every model's settings."


def _frozen(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class ModelSettings:
    """What the user set for one model file; see the module docstring."""

    values: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    """Overridden app settings (keys of :data:`MODEL_SETTING_KEYS`), validated."""
    chat_template: str = TEMPLATE_AUTO

    def __post_init__(self) -> None:
        checked = {}
        for key, value in self.values.items():
            if key not in MODEL_SETTING_KEYS:
                raise ModelSettingsError(f"A model has no setting called {key!r}.")
            try:
                checked[key] = Settings().with_value(key, value).get(key)
            except SettingsError as error:
                raise ModelSettingsError(str(error)) from None
        object.__setattr__(self, "values", _frozen(checked))
        if self.chat_template not in CHAT_TEMPLATE_CHOICES:
            allowed = ", ".join(CHAT_TEMPLATE_CHOICES)
            raise ModelSettingsError(
                f"chat_template must be one of {allowed}; {self.chat_template!r} is not."
            )

    @property
    def is_default(self) -> bool:
        """True when nothing is set: the model follows the app's settings."""
        return not self.values and self.chat_template == TEMPLATE_AUTO

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with this model's values in place of the app's."""
        for key, value in self.values.items():
            settings = settings.with_value(key, value)
        return settings

    def to_dict(self) -> dict[str, Any]:
        return {**self.values, "chat_template": self.chat_template}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSettings:
        """Validated settings from :meth:`to_dict`'s shape (ModelSettingsError if bad)."""
        values = {k: v for k, v in data.items() if k != "chat_template"}
        template = data.get("chat_template", TEMPLATE_AUTO)
        return cls(values=values, chat_template=template)


def model_key(path: str | os.PathLike[str]) -> str:
    """The key a model file's settings are kept under: its name and size in bytes."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as error:
        raise storage_error(error, doing=f"read {file}") from None
    return f"{file.name}:{size}"


class ModelSettingsStore:
    """Every model's own settings, in one JSON file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def get(self, model: str | os.PathLike[str]) -> ModelSettings:
        """The settings of the model file at ``model`` (defaults when none were set).

        A damaged file raises :class:`ModelSettingsError` and is left as it is.
        """
        entry = self._read().get(model_key(model))
        if entry is None:
            return ModelSettings()
        try:
            return ModelSettings.from_dict(entry)
        except ModelSettingsError as error:
            raise ModelSettingsError(
                f"The model settings of {Path(model).name} in {self.path} are bad: {error}"
            ) from None

    def set(self, model: str | os.PathLike[str], settings: ModelSettings) -> None:
        """Keep ``settings`` for the model file at ``model`` (defaults: forget it)."""
        key = model_key(model)
        with self._lock:
            models = self._read()
            if settings.is_default:
                models.pop(key, None)
            else:
                models[key] = settings.to_dict()
            data = {"version": MODEL_SETTINGS_VERSION, "models": models}
            try:
                write_json_atomic(self.path, data, sort_keys=True)
            except OSError as error:
                raise storage_error(error, doing=f"save the model settings {self.path}") from None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise storage_error(error, doing=f"read the model settings {self.path}") from None
        except ValueError as error:
            raise ModelSettingsError(
                f"The model settings file {self.path} is damaged: {error}."
            ) from None
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, dict) or data.get("version") != MODEL_SETTINGS_VERSION:
            raise ModelSettingsError(
                f"The model settings file {self.path} is not one Hearth knows."
            )
        return {str(k): v for k, v in models.items() if isinstance(v, dict)}


__all__ = [
    "CHAT_TEMPLATE_CHOICES",
    "MODEL_LOAD_KEYS",
    "MODEL_SETTINGS_FILE",
    "MODEL_SETTING_KEYS",
    "TEMPLATE_AUTO",
    "TEMPLATE_PLAIN",
    "ModelSettings",
    "ModelSettingsError",
    "ModelSettingsStore",
    "model_key",
]
