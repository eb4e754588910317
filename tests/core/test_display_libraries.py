"""Before Qt starts on xcb, Hearth names the system libraries it lacks instead of a core dump."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.machine import display_libraries
from app.core.machine.display_libraries import XCB_LIBRARIES, missing_xcb_libraries, uses_xcb

ROOT = Path(__file__).resolve().parents[2]


def test_the_list_names_the_libraries_a_fresh_desktop_lacks() -> None:
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert package in XCB_LIBRARIES.values()


def test_missing_libraries_are_named_with_their_packages() -> None:
    libraries = {"libc.so.6": "libc6", "libhearth-missing.so.9": "libhearth-missing9"}

    missing = missing_xcb_libraries(libraries=libraries)

    assert missing is not None
    assert missing.libraries == ("libhearth-missing.so.9",)
    assert "sudo apt install libhearth-missing9" in missing.describe()
    assert missing_xcb_libraries(libraries={"libc.so.6": "libc6"}) is None


def test_only_an_xcb_start_on_linux_is_checked() -> None:
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, platform="linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb;wayland"}, platform="linux")
    assert uses_xcb({"DISPLAY": ":0"}, platform="linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, platform="linux")
    assert not uses_xcb({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w0"}, platform="linux")
    assert not uses_xcb({}, platform="darwin")
    assert display_libraries.check_before_qt({"QT_QPA_PLATFORM": "offscreen"}) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_the_app_exits_1_naming_the_package_instead_of_dumping_core() -> None:
    script = (
        "from app.core.machine import display_libraries as d\n"
        "d.XCB_LIBRARIES['libhearth-missing.so.9'] = 'libhearth-missing9'\n"
        "from app.ui.application import run\n"
        "raise SystemExit(run(['hearth']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "sudo apt install" in result.stderr and "libhearth-missing9" in result.stderr
    assert "core dumped" not in result.stderr
