"""The chat's Documents button: which collections a conversation answers from.

A tool button with a menu of the collections, each checkable; ``changed`` carries the
names checked. The chat session saves them in the conversation's options; a new chat
starts with the default from settings (``docs_collections``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget


class CollectionPicker(QToolButton):
    """Attach one or more document collections to the open chat."""

    changed = Signal(list)  # the names checked, in the menu's order

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("collection-picker")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip(self.tr("Answer from your local documents: choose the collections"))
        self.setAccessibleName(self.tr("Documents this chat answers from"))
        self.setMinimumWidth(60)  # a narrow window cuts its text rather than widening
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self._names: list[str] = []
        self._checked: list[str] = []
        self._show()

    def set_collections(self, names: Sequence[str]) -> None:
        """The collections there are (the checked ones stay checked)."""
        self._names = list(names)
        self._show()

    def set_checked(self, names: Sequence[str]) -> None:
        """The collections the open chat answers from (no ``changed`` signal)."""
        self._checked = list(names)
        self._show()

    def checked(self) -> list[str]:
        return [name for name in self._checked if name in self._names]

    def actions_by_name(self) -> dict[str, QAction]:
        return {a.text(): a for a in self.menu_.actions() if a.isCheckable()}

    def _show(self) -> None:
        self.menu_.clear()
        for name in self._names:
            action = self.menu_.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in self._checked)
            action.toggled.connect(lambda on, n=name: self._toggle(n, on))
        if not self._names:
            empty = self.menu_.addAction(
                self.tr("No collections yet: add some on the Documents page")
            )
            empty.setEnabled(False)
        chosen = self.checked()
        self.setText(
            self.tr("Documents: {chosen}").format(chosen=", ".join(chosen))
            if chosen
            else self.tr("Documents: none")
        )

    def _toggle(self, name: str, on: bool) -> None:
        checked = [
            n for n in self._names if (n in self._checked and n != name) or (n == name and on)
        ]
        self._checked = checked
        self.setText(
            self.tr("Documents: {checked}").format(checked=", ".join(checked))
            if checked
            else self.tr("Documents: none")
        )
        self.changed.emit(checked)
