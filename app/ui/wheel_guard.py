"""Lists, number fields and sliders that the mouse wheel changes only once focused.

Scrolling the Settings page with the wheel passed the pointer over the KV-cache list
and silently changed f16 to q4_0. :class:`WheelGuard`, installed once on the
application, gives every combo box, spin box and slider a click-or-Tab focus policy
(the wheel no longer focuses them) and hands a wheel event over an unfocused one to
the scroll area it sits in, so the page scrolls instead of the value changing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


class WheelGuard(QObject):
    """The application-wide event filter; see the module docstring."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, GUARDED) or isinstance(watched, QScrollBar):
            return False  # a scroll bar is what the wheel is for
        kind = event.type()
        if kind == QEvent.Type.Polish:
            assert isinstance(watched, QWidget)
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel and not watched.hasFocus():
            assert isinstance(watched, QWidget) and isinstance(event, QWheelEvent)
            area = _scroll_area_of(watched)
            if area is None:  # not accepted: Qt offers it to the parent instead
                event.ignore()
            else:  # handed over explicitly (Qt passes a synthesized wheel event on to nobody)
                viewport = area.viewport()
                position = QPointF(viewport.mapFrom(watched, event.position().toPoint()))
                QApplication.sendEvent(viewport, _moved(event, position))
                event.accept()
            return True  # the widget itself never sees it
        return False


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def _moved(event: QWheelEvent, position: QPointF) -> QWheelEvent:
    return QWheelEvent(
        position,
        event.globalPosition(),
        event.pixelDelta(),
        event.angleDelta(),
        event.buttons(),
        event.modifiers(),
        event.phase(),
        event.inverted(),
    )


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Guard every list, number field and slider of ``app`` (once; returns the guard)."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard
