"""The system libraries Qt's xcb platform (X11, XWayland) needs, and which are missing.

Qt loads its xcb platform plugin at start-up; when one of the libraries it links
against is missing (on a fresh Debian 12 / Ubuntu 24.04 desktop: libxcb-cursor0,
libxcb-icccm4, libxcb-keysyms1), Qt prints a cryptic line and aborts with a core dump.
Hearth checks first and names the packages to install.

The list is ``ldd`` of PySide6's ``plugins/platforms/libqxcb.so`` and
``lib/libQt6XcbQpa.so.6`` (Qt 6.8+), with each library's Debian / Ubuntu package.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# soname -> Debian / Ubuntu package
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


@dataclass(frozen=True, slots=True)
class MissingLibraries:
    """Libraries the xcb platform needs that this system lacks."""

    libraries: tuple[str, ...]
    packages: tuple[str, ...]

    def describe(self) -> str:
        """What to tell the person: the libraries, then the command that installs them."""
        return (
            "Hearth cannot open its window: Qt's X11 (xcb) platform needs "
            f"{', '.join(self.libraries)}, which this system lacks.\n"
            f"Install them with:  sudo apt install {' '.join(self.packages)}\n"
            "(Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms)"
        )


def uses_xcb(environ: Mapping[str, str] | None = None, *, platform: str | None = None) -> bool:
    """True when Qt will try the xcb platform first on this system."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0] == "xcb"
    # Qt 6.5+ prefers Wayland in a Wayland session; otherwise it starts with xcb.
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" and bool(env.get("WAYLAND_DISPLAY"))
    return not wayland


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` (as Qt's plugin loading would)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_libraries(
    *,
    libraries: Mapping[str, str] = XCB_LIBRARIES,
    loadable: Callable[[str], bool] = can_load,
) -> MissingLibraries | None:
    """The xcb platform's libraries this system lacks, or None when all are there."""
    missing = [soname for soname in libraries if not loadable(soname)]
    if not missing:
        return None
    packages = tuple(dict.fromkeys(libraries[soname] for soname in missing))
    return MissingLibraries(libraries=tuple(missing), packages=packages)


def check_before_qt(environ: Mapping[str, str] | None = None) -> MissingLibraries | None:
    """Missing libraries when Qt is about to use xcb, else None (also off Linux)."""
    if not uses_xcb(environ):
        return None
    return missing_xcb_libraries()
