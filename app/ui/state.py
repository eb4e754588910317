"""What the window remembers between runs: size, layout, last chat and model.

Not user settings (those live in settings.json): this is the window's own memory,
kept in ``ui_state.json`` beside the settings and written atomically.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from app.core.files import write_json_atomic


@dataclass
class UiState:
    path: Path
    geometry: str = ""
    splitter: str = ""
    conversation: int | None = None
    last_model: str = ""
    sidebar_hidden: bool = False
    """The chat list was hidden (View → Chat list), to give a small screen to the page."""
    running: bool = False
    """True while the app runs; still True at the next start means it did not close cleanly."""

    @classmethod
    def load(cls, path: Path) -> UiState:
        """The saved state, or a fresh one when the file is missing or unreadable."""
        state = cls(path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return state
        if isinstance(data, dict):
            for f in fields(cls):
                if f.name != "path" and f.name in data:
                    setattr(state, f.name, data[f.name])
        return state

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        write_json_atomic(self.path, data)
