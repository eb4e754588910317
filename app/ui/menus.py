"""The window's menu bar: File, Edit, View, Help, with the platforms' standard shortcuts.

The menus only hold actions; the window connects each to the view or controller that
does the work, so a menu item and a button always do the same thing. Edit's actions
act on whichever text field has the focus.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QMainWindow,
    QMenuBar,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QToolButton,
    QWidget,
)

from app import __version__

ABOUT = QT_TRANSLATE_NOOP(
    "MenuBar",
    "<h3>Hearth {version}</h3>"
    "<p>A private AI assistant on your own computer: models run here, with llama.cpp; "
    "nothing leaves the machine unless you send it to Claude yourself.</p>",
)


class MenuBar:
    """The actions of the menu bar, by what they do."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        bar: QMenuBar = window.menuBar()

        file = bar.addMenu(QCoreApplication.translate("MenuBar", "&File"))
        self.new_chat = self._add(
            file, QCoreApplication.translate("MenuBar", "&New chat"), QKeySequence.StandardKey.New
        )
        file.addSeparator()
        self.import_chats = self._add(
            file, QCoreApplication.translate("MenuBar", "&Import…")
        )  # chats from other apps, archives
        self.import_model = self._add(
            file, QCoreApplication.translate("MenuBar", "Import a &model (.gguf)…")
        )
        self.export_chat = self._add(
            file, QCoreApplication.translate("MenuBar", "&Export this chat…")
        )
        file.addSeparator()
        self.quit = self._add(
            file, QCoreApplication.translate("MenuBar", "&Quit"), QKeySequence.StandardKey.Quit
        )
        if self.quit.shortcut().isEmpty() or self.quit.shortcut() != QKeySequence("Ctrl+Q"):
            # Not every platform theme maps Quit (Windows has none): Ctrl+Q everywhere.
            self.quit.setShortcuts([QKeySequence("Ctrl+Q")])
        self.quit.triggered.connect(window.close)

        edit = bar.addMenu(QCoreApplication.translate("MenuBar", "&Edit"))
        for name, key, slot in (
            (QT_TRANSLATE_NOOP("MenuBar", "&Undo"), QKeySequence.StandardKey.Undo, "undo"),
            (QT_TRANSLATE_NOOP("MenuBar", "&Redo"), QKeySequence.StandardKey.Redo, "redo"),
            (QT_TRANSLATE_NOOP("MenuBar", "Cu&t"), QKeySequence.StandardKey.Cut, "cut"),
            (QT_TRANSLATE_NOOP("MenuBar", "&Copy"), QKeySequence.StandardKey.Copy, "copy"),
            (QT_TRANSLATE_NOOP("MenuBar", "&Paste"), QKeySequence.StandardKey.Paste, "paste"),
            (
                QT_TRANSLATE_NOOP("MenuBar", "Select &all"),
                QKeySequence.StandardKey.SelectAll,
                "selectAll",
            ),
        ):
            # The shortcut is the text field's own; the menu shows it, without a second
            # (ambiguous) shortcut on the window.
            shown = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
            name = QCoreApplication.translate("MenuBar", name)
            name = QCoreApplication.translate("MenuBar", name)
            action = self._add(edit, f"{name}\t{shown}" if shown else name)
            action.triggered.connect(lambda _=False, s=slot: _on_focused_text(s))

        view = bar.addMenu(QCoreApplication.translate("MenuBar", "&View"))
        self.show_chat = self._add(
            view, QCoreApplication.translate("MenuBar", "&Chat"), QKeySequence("Ctrl+1")
        )
        self.show_documents = self._add(
            view, QCoreApplication.translate("MenuBar", "&Documents"), QKeySequence("Ctrl+Shift+D")
        )
        self.show_library = self._add(
            view, QCoreApplication.translate("MenuBar", "&Library"), QKeySequence("Ctrl+L")
        )
        self.show_settings = self._add(
            view, QCoreApplication.translate("MenuBar", "&Settings"), QKeySequence("Ctrl+,")
        )
        view.addSeparator()
        self.chat_list = self._add(
            view, QCoreApplication.translate("MenuBar", "Chat l&ist"), QKeySequence("Ctrl+Shift+S")
        )
        self.chat_list.setCheckable(True)
        self.chat_list.setChecked(True)
        self.recently_deleted = self._add(
            view, QCoreApplication.translate("MenuBar", "Recently &deleted chats…")
        )

        help_menu = bar.addMenu(QCoreApplication.translate("MenuBar", "&Help"))
        self.about = self._add(help_menu, QCoreApplication.translate("MenuBar", "&About Hearth"))
        self.about.triggered.connect(self.show_about)
        # The »» button Qt shows when the menus do not fit the width: named for screen readers.
        for button in bar.findChildren(QToolButton, "qt_menubar_ext_button"):
            button.setAccessibleName(QCoreApplication.translate("MenuBar", "More menus"))

    def _add(
        self,
        menu: QWidget,
        text: str,
        key: QKeySequence | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self.window)
        if key is not None:
            action.setShortcut(key)
        menu.addAction(action)
        return action

    def show_about(self) -> None:
        QMessageBox.about(
            self.window,
            QCoreApplication.translate("MenuBar", "About Hearth"),
            QCoreApplication.translate("MenuBar", ABOUT).format(version=__version__),
        )


def _on_focused_text(slot: str) -> None:
    widget = QApplication.focusWidget()
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit):
        getattr(widget, slot)()
