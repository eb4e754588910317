"""Hearth's icons: Lucide's SVGs (ISC licence), bundled in resources/icons/lucide, tinted.

Lucide draws with ``stroke="currentColor"``; Qt's SVG renderer has no current colour,
so each icon is rendered with the theme's text colour put in its place. A widget given
an icon by :func:`set_icon` remembers the icon's name, and :func:`retint` (called when
the theme changes) draws it again in the new colour.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QAbstractButton, QApplication

LUCIDE = Path(__file__).resolve().parents[2] / "resources" / "icons" / "lucide"
SIZES = (16, 20, 24, 32, 48)
NAME_PROPERTY = "hearthIcon"

_color = QColor("#1f2328")


def names() -> list[str]:
    """The bundled icons' names."""
    return sorted(p.stem for p in LUCIDE.glob("*.svg"))


@cache
def _source(name: str) -> str:
    path = LUCIDE / f"{name}.svg"
    if not path.is_file():
        raise KeyError(f"no bundled icon {name!r} in {LUCIDE}")
    return path.read_text(encoding="utf-8")


def svg(name: str, color: str) -> bytes:
    """The icon's SVG, drawn in ``color`` (any CSS colour)."""
    return _source(name).replace("currentColor", color).encode()


def _pixmap(data: bytes, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(QByteArray(data))
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


def icon(name: str, color: QColor | None = None) -> QIcon:
    """The icon ``name`` in ``color`` (the theme's text colour by default)."""
    normal = svg(name, (color or _color).name())
    faded = normal.replace(b"<svg", b'<svg stroke-opacity="0.4"', 1)  # a disabled button
    result = QIcon()
    for size in SIZES:
        result.addPixmap(_pixmap(normal, size), QIcon.Mode.Normal)
        result.addPixmap(_pixmap(faded, size), QIcon.Mode.Disabled)
    return result


def set_icon(widget: QAbstractButton, name: str) -> None:
    """Give ``widget`` the icon ``name``; it is re-tinted whenever the theme changes."""
    widget.setProperty(NAME_PROPERTY, name)
    widget.setIcon(icon(name))


def retint(color: QColor) -> None:
    """Draw every icon given by :func:`set_icon` again, in ``color``."""
    global _color
    _color = QColor(color)
    for widget in QApplication.allWidgets():
        name = widget.property(NAME_PROPERTY)
        if isinstance(name, str) and isinstance(widget, QAbstractButton):
            widget.setIcon(icon(name))


_files: Path | None = None


def file_url(name: str, color: str) -> str:
    """A file holding the icon in ``color``, for a style sheet's ``url()``."""
    global _files
    if _files is None:
        _files = Path(tempfile.mkdtemp(prefix="hearth-icons-"))
        atexit.register(shutil.rmtree, _files, True)
    path = _files / f"{name}-{color.lstrip('#')}.svg"
    if not path.exists():
        path.write_bytes(svg(name, color))
    return path.as_posix()
