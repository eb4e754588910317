"""Hearth's design system: spacing, type scale and colours, applied through one style sheet.

Light, dark or the system's colours, applied to the running app at once. Qt is asked
for the colour scheme (``QStyleHints.setColorScheme``), and the palette is set as well,
because not every platform plugin honours the request. The style is Fusion on every
platform, so the style sheet below draws the same window everywhere; docs/design.md
records why each choice was made.

Widgets take part by object name (``primary`` buttons, ``message-user`` bubbles,
``muted`` labels...), never by colours of their own, so a theme switch reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.ui import icons

SCHEMES = {
    "light": Qt.ColorScheme.Light,
    "dark": Qt.ColorScheme.Dark,
    "system": Qt.ColorScheme.Unknown,  # follow the system
}

# -- spacing (px): a 4-px grid --------------------------------------------------------
SPACE_XS = 4
SPACE_S = 8
SPACE_M = 12
SPACE_L = 16
SPACE_XL = 24
RADIUS = 6
BUBBLE_RADIUS = 12

# -- type scale (px) ----------------------------------------------------------------
FONT_SMALL = 12
FONT_BODY = 14
FONT_TITLE = 16
FONT_HEADING = 20

# -- layout ---------------------------------------------------------------------------
MESSAGE_COLUMN = 760  # the chat's readable width: about 90 characters at body size
SIDEBAR_MIN = 200
SIDEBAR_DEFAULT = 250
COMPACT_BELOW = 1000  # window width under which the page buttons show only their icons


@dataclass(frozen=True, slots=True)
class Colors:
    """One theme's colours, by what they are for."""

    window: str  # the page
    surface: str  # inputs, lists, cards
    sidebar: str
    text: str
    muted: str  # secondary text: figures, help, footers
    border: str
    hover: str
    accent: str  # primary actions, selection, the focus ring
    on_accent: str  # text on the accent colour
    selection: str  # a selected row: the accent, tinted
    user_bubble: str
    code: str  # fenced code's background
    indicator: str  # check box and radio borders: >= 3:1 against surface and window
    error_bg: str
    error_text: str

    @property
    def dark(self) -> bool:
        return QColor(self.window).lightness() < 128


LIGHT = Colors(
    window="#f6f7f9",
    surface="#ffffff",
    sidebar="#eceef2",
    text="#1f2328",
    muted="#5f6873",
    border="#d0d5dc",
    hover="#e3e7ed",
    accent="#2f66d0",
    on_accent="#ffffff",
    selection="#d6e2f8",
    user_bubble="#e3ecfb",
    code="#eef0f3",
    indicator="#6b7480",
    error_bg="#fdecea",
    error_text="#611a15",
)

DARK = Colors(
    window="#1d1e21",
    surface="#27292d",
    sidebar="#17181a",
    text="#e7e8eb",
    muted="#a0a6ae",
    border="#3c3f45",
    hover="#32353a",
    accent="#7aa7ff",
    on_accent="#0c1424",
    selection="#2b3a57",
    user_bubble="#26354f",
    code="#141518",
    indicator="#aab1bb",
    error_bg="#43201d",
    error_text="#ffb4ab",
)


def colors_for(theme: str) -> Colors:
    """The colours of ``theme`` ('light', 'dark' or 'system': what the platform prefers)."""
    if theme == "dark":
        return DARK
    if theme == "light":
        return LIGHT
    scheme = QGuiApplication.styleHints().colorScheme()
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def palette_for(colors: Colors) -> QPalette:
    """A full palette from the theme's colours (for what the style sheet does not draw)."""
    palette = QPalette()
    role = QPalette.ColorRole
    for name, color in (
        (role.Window, colors.window),
        (role.WindowText, colors.text),
        (role.Base, colors.surface),
        (role.AlternateBase, colors.hover),
        (role.Text, colors.text),
        (role.Button, colors.surface),
        (role.ButtonText, colors.text),
        (role.BrightText, colors.error_text),
        (role.Highlight, colors.accent),
        (role.HighlightedText, colors.on_accent),
        (role.ToolTipBase, colors.surface),
        (role.ToolTipText, colors.text),
        (role.PlaceholderText, colors.muted),
        (role.Link, colors.accent),
        (role.Light, colors.surface),
        (role.Midlight, colors.hover),
        (role.Mid, colors.border),
        (role.Dark, colors.indicator),
        (role.Shadow, colors.sidebar),
    ):
        palette.setColor(name, QColor(color))
    for name in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, name, QColor(colors.muted))
    return palette


def dark_palette() -> QPalette:
    return palette_for(DARK)


def style_sheet(c: Colors) -> str:
    """The application's one style sheet for the colours ``c``."""
    check = icons.file_url("check", c.on_accent)
    down = icons.file_url("chevron-down", c.muted)
    up = icons.file_url("chevron-up", c.muted)
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QWidget#sidebar {{ background: {c.sidebar}; }}
QSplitter::handle {{ background: {c.border}; }}
QSplitter::handle:horizontal {{ width: 1px; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    padding: {SPACE_XS}px; }}

QPushButton {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    border-radius: {RADIUS}px; padding: 5px {SPACE_M}px; }}
QPushButton:hover {{ background: {c.hover}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: {c.on_accent}; border-color: {c.accent}; }}
QPushButton#primary:disabled {{ background: {c.border}; color: {c.muted};
    border-color: {c.border}; }}
QToolButton {{ color: {c.text}; background: transparent; border: 1px solid transparent;
    border-radius: {RADIUS}px; padding: 3px {SPACE_XS}px; }}
QToolButton:hover {{ background: {c.hover}; }}
QToolButton:checked {{ background: {c.selection}; }}
QToolButton:disabled {{ color: {c.muted}; }}
QToolButton#nav {{ padding: 4px {SPACE_S}px; }}
QPushButton:focus, QToolButton:focus {{ border: 2px solid {c.accent}; }}

QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QSpinBox, QDoubleSpinBox {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border};
    border-radius: {RADIUS}px; padding: 4px 6px;
    selection-background-color: {c.accent}; selection-color: {c.on_accent}; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QComboBox:focus, QSpinBox:focus,
QDoubleSpinBox:focus {{ border: 2px solid {c.accent}; padding: 3px 5px; }}
QComboBox::drop-down {{ border: none; width: 22px; }}
QComboBox::down-arrow {{ image: url({down}); width: 14px; height: 14px; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 20px; }}
QSpinBox:focus, QDoubleSpinBox:focus {{ padding-right: 19px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button,
QDoubleSpinBox::down-button {{ border: none; width: 18px; background: transparent; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({up}); width: 12px; height: 12px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({down}); width: 12px;
    height: 12px; }}
QComboBox QAbstractItemView {{ background: {c.surface}; color: {c.text};
    selection-background-color: {c.selection}; selection-color: {c.text}; }}
QTextBrowser {{ background: transparent; border: none; padding: 0; }}
QTextBrowser:focus {{ border: none; padding: 0; }}

QCheckBox, QRadioButton {{ spacing: {SPACE_S}px; }}
QCheckBox::indicator {{ width: 16px; height: 16px; border: 2px solid {c.indicator};
    border-radius: 4px; background: {c.surface}; }}
QCheckBox::indicator:hover {{ border-color: {c.accent}; }}
QCheckBox::indicator:checked {{ background: {c.accent}; border-color: {c.accent};
    image: url({check}); }}
QCheckBox::indicator:disabled {{ border-color: {c.border}; }}
QCheckBox:focus {{ color: {c.accent}; }}
QCheckBox::indicator:focus {{ border: 2px solid {c.accent}; }}

QListView, QTreeView, QTableView {{ background: {c.surface}; color: {c.text};
    border: 1px solid {c.border}; border-radius: {RADIUS}px; outline: none;
    alternate-background-color: {c.window}; }}
QListView:focus, QTreeView:focus, QTableView:focus {{ border: 2px solid {c.accent}; }}
QListView::item {{ padding: 6px {SPACE_S}px; border-radius: {RADIUS}px; }}
QListView::item:hover, QTreeView::item:hover {{ background: {c.hover}; }}
QListView::item:selected, QTreeView::item:selected {{ background: {c.selection}; color: {c.text}; }}
QListView#chat-list {{ background: transparent; border: none; }}
QListView#chat-list:focus {{ border: 2px solid {c.accent}; border-radius: {RADIUS}px; }}
QTreeView QPushButton {{ max-width: 120px; padding: 2px {SPACE_S}px; }}
QHeaderView::section {{ background: {c.window}; color: {c.muted}; border: none;
    border-bottom: 1px solid {c.border}; padding: 4px {SPACE_S}px; }}
QTabBar::tab {{ padding: 6px {SPACE_M}px; border: none; color: {c.muted}; }}
QTabBar::tab:selected {{ color: {c.text}; border-bottom: 2px solid {c.accent}; }}
QTabBar::tab:focus {{ color: {c.accent}; }}
QTabWidget::pane {{ border: none; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollArea > QWidget > QWidget#message-holder {{ background: transparent; }}
QProgressBar {{ border: 1px solid {c.border}; border-radius: {RADIUS}px; background: {c.surface};
    text-align: center; color: {c.text}; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: {RADIUS - 1}px; }}
QStatusBar {{ color: {c.muted}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 0 {SPACE_S}px; }}

QLabel#muted, QLabel#model-details, QLabel#message-footer, QLabel#message-title,
QLabel#code-language, QLabel[tone="muted"] {{ color: {c.muted}; }}
QLabel[tone="error"] {{ color: {c.error_text}; }}
QLabel#message-footer, QLabel#code-language {{ font-size: {FONT_SMALL}px; }}
QLabel#empty-chat {{ color: {c.muted}; font-size: {FONT_TITLE}px; }}
QLabel#notification {{ background: {c.error_bg}; color: {c.error_text}; padding: {SPACE_S}px;
    border-radius: {RADIUS}px; }}
QFrame#message-user {{ background: {c.user_bubble}; border: none;
    border-radius: {BUBBLE_RADIUS}px; }}
QFrame#message-assistant {{ background: transparent; border: none; }}
QFrame#code-header {{ background: {c.code}; border-top-left-radius: {RADIUS}px;
    border-top-right-radius: {RADIUS}px; }}
QWidget#undo-bar {{ background: {c.surface}; border: 1px solid {c.border};
    border-radius: {RADIUS}px; }}
"""


_chosen = {"theme": "system", "following": False}


def _system_scheme_changed(_scheme: Qt.ColorScheme) -> None:
    if _chosen["theme"] == "system":  # the user switched the system's theme: follow it
        apply_theme("system")


def apply_theme(theme: str) -> None:
    """Switch the whole app to ``theme`` ('system', 'light' or 'dark')."""
    hints = QGuiApplication.styleHints()
    _chosen["theme"] = theme
    if theme == "system" and not _chosen["following"]:
        hints.colorSchemeChanged.connect(_system_scheme_changed)
        _chosen["following"] = True
    hints.setColorScheme(SCHEMES.get(theme, Qt.ColorScheme.Unknown))
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    colors = colors_for(theme)
    if app.style().name().lower() != "fusion":
        style = QStyleFactory.create("Fusion")
        if style is not None:
            app.setStyle(style)
    font = QFont(app.font())
    font.setPixelSize(FONT_BODY)
    app.setFont(font)
    app.setPalette(palette_for(colors))
    app.setStyleSheet(style_sheet(colors))
    icons.retint(QColor(colors.text))
