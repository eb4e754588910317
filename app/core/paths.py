"""Where Hearth keeps its files.

Every folder comes from platformdirs, unless ``HEARTH_HOME`` is set: then all of
them live under that one folder (tests use it so they never touch a user's real
files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The folders Hearth reads and writes."""

    models: Path
    conversations: Path
    config: Path
    logs: Path
    cache: Path
    documents: Path
    """The local documents' index (one SQLite file); deleting a collection deletes its rows."""

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> AppPaths:
        """Create every folder that does not exist yet, and return self."""
        for folder in (
            self.models,
            self.conversations,
            self.config,
            self.logs,
            self.cache,
            self.documents,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(*, home: str | os.PathLike[str] | None = None) -> AppPaths:
    """Hearth's folders: under ``home`` or ``$HEARTH_HOME`` if given, else the platform's."""
    root = home if home is not None else os.environ.get("HEARTH_HOME")
    if root:
        base = Path(root).expanduser()
        return AppPaths(
            models=base / "models",
            conversations=base / "conversations",
            config=base / "config",
            logs=base / "logs",
            cache=base / "cache",
            documents=base / "documents",
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    data = Path(dirs.user_data_dir)
    return AppPaths(
        models=data / "models",
        conversations=data / "conversations",
        config=Path(dirs.user_config_dir),
        logs=Path(dirs.user_log_dir),
        cache=Path(dirs.user_cache_dir),
        documents=data / "documents",
    )
