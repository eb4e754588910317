"""A pytest plugin that hides PySide6, as on a machine without Qt (``make test``'s core run).

napari runs its core tests with Qt uninstalled; this is the same proof without a
second virtual environment: any import of PySide6 (or shiboken6) from the code under
test fails as if the package were missing, so a core module that reaches Qt, even
lazily inside a function, fails its tests.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

HIDDEN = ("PySide6", "shiboken6")


class QtHidden(importlib.abc.MetaPathFinder):
    """Refuses to find the Qt packages."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r} (Qt is hidden)", name=fullname)
        return None


def hide_qt() -> None:
    """Hide PySide6 from every later import; refuses when it is already imported."""
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in HIDDEN)
    if loaded:
        raise RuntimeError(f"Qt was imported before it could be hidden: {', '.join(loaded)}")
    if not any(isinstance(finder, QtHidden) for finder in sys.meta_path):
        sys.meta_path.insert(0, QtHidden())


def qt_hidden() -> bool:
    """Whether this process runs with Qt hidden."""
    return any(isinstance(finder, QtHidden) for finder in sys.meta_path)


hide_qt()  # at plugin load: before conftest files and test modules are imported
