"""The core and the CLI import and run without Qt (``make test`` runs this folder so)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import app.cli
import app.core
from tests.support.without_qt import qt_hidden

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: object) -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")  # type: ignore[attr-defined]
        if not info.name.endswith("__main__")
    ]


def test_this_run_hides_qt_when_make_test_asks() -> None:
    if not qt_hidden():
        pytest.skip("run with -p tests.support.without_qt (make test does) to hide Qt")
    with pytest.raises(ModuleNotFoundError, match="Qt is hidden"):
        importlib.import_module("PySide6.QtCore")


def test_every_core_and_cli_module_imports_with_qt_hidden() -> None:
    modules = _modules(app.core) + _modules(app.cli)
    assert "app.core.inference.process" in modules and "app.cli.chat" in modules
    code = (
        "import importlib, sys\n"
        "from tests.support.without_qt import hide_qt\n"
        "hide_qt()\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_desktop_command_says_qt_is_missing_instead_of_a_traceback() -> None:
    code = (
        "import sys\n"
        "from tests.support.without_qt import hide_qt\n"
        "hide_qt()\n"
        "from app.cli import main\n"
        "sys.exit(main([]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode != 0
    assert "PySide6" in result.stderr
