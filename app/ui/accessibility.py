"""What screen readers hear: names for the controls, and a finished reply announced.

Qt gives a screen reader a control's accessible name from its text, or from the label
that is its buddy. Controls without either (a settings field inside a form row, a
field known only by its placeholder) get their name here from what the user sees
beside them; :func:`unnamed_controls` lists what is still nameless, and a test walks
the whole window with it.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QTextDocumentFragment
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)

INTERACTIVE = (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
)

ANNOUNCED_CHARACTERS = 400  # a screen reader reads the start; the message itself has the rest


def is_interactive(widget: QWidget) -> bool:
    """Whether the user can act on ``widget`` (type into it, press it, pick from it)."""
    if isinstance(widget, QScrollBar) or not isinstance(widget, INTERACTIVE):
        return False
    if isinstance(widget, (QTextEdit, QPlainTextEdit)) and widget.isReadOnly():
        return False  # text to read, not a control (a message)
    if _inside(widget, (QAbstractSpinBox, QComboBox, QLineEdit)):
        return False  # part of a field (a spin box's text, a pop-up list, a clear button)
    return widget.focusPolicy() != Qt.FocusPolicy.NoFocus or isinstance(widget, QAbstractButton)


def _inside(widget: QWidget, kinds: tuple[type, ...]) -> bool:
    parent = widget.parent()
    while parent is not None:
        if isinstance(parent, kinds):
            return True
        parent = parent.parent()
    return False


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader says for ``widget``."""
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name).strip() if interface is not None else ""


def interactive_widgets(root: QWidget) -> Iterator[QWidget]:
    """Every control under ``root`` (hidden ones too: a page not shown yet)."""
    for widget in root.findChildren(QWidget):
        if is_interactive(widget):
            yield widget


def unnamed_controls(root: QWidget) -> list[QWidget]:
    """The controls under ``root`` that a screen reader could not name."""
    return [w for w in interactive_widgets(root) if not accessible_name(w)]


def name_controls(root: QWidget) -> None:
    """Name each control under ``root`` that has no accessible name yet.

    From, in this order: the label of its form row, its placeholder text, its tooltip.
    A tooltip, where there is one, also becomes the description.
    """
    for widget in interactive_widgets(root):
        tip = widget.toolTip().strip()
        if tip and not widget.accessibleDescription():
            widget.setAccessibleDescription(_plain(tip))
        if accessible_name(widget):
            continue
        name = _form_label(widget, root) or _placeholder(widget) or _plain(tip)
        if name:
            widget.setAccessibleName(name.rstrip(":"))


def announce(widget: QWidget, text: str) -> None:
    """Have screen readers say ``text`` when they are free (a polite live announcement)."""
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)


def _form_label(widget: QWidget, root: QWidget) -> str:
    child: QWidget | None = widget
    while child is not None and child is not root:
        parent = child.parentWidget()
        if parent is None:
            break
        for form in parent.findChildren(QFormLayout):
            label = form.labelForField(child)
            if isinstance(label, QLabel) and label.text():
                return _plain(label.text())
        child = parent
    return ""


def _placeholder(widget: QWidget) -> str:
    if isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
        return widget.placeholderText().strip()
    return ""


def _plain(text: str) -> str:
    if QtGui.Qt.mightBeRichText(text):
        text = QTextDocumentFragment.fromHtml(text).toPlainText()
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()
