"""The error banner above the pages: closable, and cleared once its cause is gone.

Every error the window shows arrives here (:meth:`MainWindow.notify`). An error may
name its cause (``"hub"``: the Hugging Face Hub could not be used); when that cause is
known to be gone (the Hub answered again), :meth:`Banner.clear` hides the banner, so a
stale message never stays on screen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class Banner(QFrame):
    """One message, with a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notification-bar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("notification")  # the theme draws it (light and dark)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip(self.tr("Close this message"))
        self.close_button.setAccessibleName(self.tr("Close the message"))
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.cause: str | None = None
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_message(self, text: str, *, cause: str | None = None) -> None:
        self.label.setText(text)
        self.cause = cause
        self.show()

    def dismiss(self) -> None:
        self.cause = None
        self.hide()

    def clear(self, cause: str) -> None:
        """``cause`` is gone: hide the message if it was about that."""
        if self.cause == cause:
            self.dismiss()
