"""The window's layout, look and accessibility, as a user sees them at 800×600 and beyond."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QEnterEvent, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QScrollArea,
    QStyle,
    QStyleOptionButton,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessibility import interactive_widgets, unnamed_controls
from app.ui.application import Session
from app.ui.main_window import PAGES, MainWindow
from app.ui.state import UiState
from app.ui.theme import DARK, LIGHT, MESSAGE_COLUMN, SIDEBAR_MIN, Colors, apply_theme
from app.ui.widgets import set_tone

pytestmark = pytest.mark.usefixtures("qapp")

CODE_REPLY = (
    "Here:\n\n```python\ndef greet(name):\n    return f'hi {name}'\n```\n\n"
    "and a stopped one:\n\n```bash\nfor f in *.gguf; do\n  echo $f"
)


@pytest.fixture
def session() -> Iterator[Session]:
    apply_theme("light")
    session = Session()
    yield session
    session.close()
    apply_theme("light")


@pytest.fixture
def window(session: Session, qtbot) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def resize(window: MainWindow, qtbot, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size() == QSize(width, height), timeout=3000)


def load(window: MainWindow, qtbot, path: Path) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
        window.load_model(str(path))
    qtbot.waitUntil(lambda: window.loaded is not None)


def in_window(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.wait(50)  # layouts are redone on the next turn of the event loop


# -- a layout that holds --------------------------------------------------------------


def test_deleting_a_chat_with_a_long_title_leaves_the_window_its_width(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    title = "A very long title about " + "mountains and packing lists " * 12
    record = session.store.create_conversation(title=title)
    session.store.add_message(record.id, role="user", text="Hello")
    window.sidebar.refresh()
    resize(window, qtbot, 1100, 720)

    window.sidebar.delete(record.id)
    settle(qtbot)

    assert window.sidebar.undo_bar.isVisible()
    assert window.size() == QSize(1100, 720)
    assert window.minimumSizeHint().width() <= 1100
    assert window.sidebar.undo_label.is_elided()  # cut with "…", whole in the tooltip
    assert title.strip() in window.sidebar.undo_label.toolTip()
    window.sidebar.undo_button.click()
    assert any(r.id == record.id for r in session.store.list_conversations())  # nothing lost


def test_the_sidebar_keeps_its_width_when_a_model_loads(
    window: MainWindow, session: Session, stories_model: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    session.store.create_conversation(title="Packing list for three days in the mountains")
    window.sidebar.refresh()
    resize(window, qtbot, 1100, 720)
    before = window.sidebar.width()
    assert before >= SIDEBAR_MIN

    load(window, qtbot, stories_model)
    settle(qtbot)

    assert window.sidebar.width() == before
    assert not window.sidebar.list.horizontalScrollBar().isVisible()
    assert window.size() == QSize(1100, 720)
    # Short text on the bar, the whole story in its tooltip.
    assert "context cache" in window.model_bar.details.toolTip()
    assert len(window.model_bar.details.text()) < 40


def test_the_sidebar_is_resizable_and_never_collapses(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    resize(window, qtbot, 1100, 720)
    window.splitter.setSizes([400, 700])
    settle(qtbot)
    assert window.sidebar.width() == 400
    window.splitter.setSizes([0, 1100])
    settle(qtbot)
    assert window.sidebar.width() >= SIDEBAR_MIN


def test_at_800_by_600_nothing_on_the_model_bar_overlaps(
    window: MainWindow, stories_model: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    resize(window, qtbot, 800, 600)
    load(window, qtbot, stories_model)
    settle(qtbot)
    assert window.size() == QSize(800, 600)
    direct = Qt.FindChildOption.FindDirectChildrenOnly
    parts = [w for w in window.model_bar.findChildren(QWidget, options=direct) if w.isVisible()]
    parts += [b for b in window.nav_buttons.values() if b.isVisible()]
    rects = [(w, in_window(w, window)) for w in parts]
    assert len(rects) >= 5  # label, selector, details, three page buttons
    for index, (widget, rect) in enumerate(rects):
        assert window.rect().contains(rect), f"{widget} is outside the window: {rect}"
        for other, other_rect in rects[index + 1 :]:
            assert not rect.intersects(other_rect), f"{widget} overlaps {other}"


def test_the_message_column_is_capped_and_centred_on_a_wide_window(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    record = session.store.create_conversation(title="Long")
    session.store.add_message(record.id, role="user", text="Tell me about quantization. " * 20)
    session.store.add_message(
        record.id, role="assistant", text="Quantization stores weights. " * 80, model="m"
    )
    resize(window, qtbot, 2560, 1440)
    window.open_conversation(record.id)
    settle(qtbot)
    views = list(window.chat_page.views.values())
    qtbot.waitUntil(lambda: all(v.isVisible() for v in views))
    viewport = window.chat_page.scroll.viewport()
    assert viewport.width() > 1800
    for view in views:
        rect = QRect(view.mapTo(viewport, QPoint(0, 0)), view.size())
        assert rect.width() <= MESSAGE_COLUMN
    column = window.chat_page.message_column
    left = column.mapTo(viewport, QPoint(0, 0)).x()
    right = viewport.width() - (left + column.width())
    assert column.width() == MESSAGE_COLUMN and abs(left - right) <= 2
    user, reply = views
    assert user.mapTo(column, QPoint(0, 0)).x() > 0  # the user's bubble sits on the right
    assert reply.mapTo(column, QPoint(0, 0)).x() == 0


# -- messages -----------------------------------------------------------------------------


def test_every_code_block_has_its_language_and_a_copy_button_that_says_copied(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    record = session.store.create_conversation(title="Code")
    session.store.add_message(record.id, role="user", text="Code, please")
    reply = session.store.add_message(
        record.id, role="assistant", text=CODE_REPLY, model="m", status="interrupted"
    )
    window.open_conversation(record.id)
    view = window.chat_page.views[reply.id]
    qtbot.waitUntil(view.isVisible)
    headers = view.code_headers()
    assert [h.label.text() for h in headers] == ["python", "bash"]  # the unclosed one too
    for header in headers:  # on its block: inside the message's text, not below it
        assert view.body.first.viewport().isAncestorOf(header) and header.isVisible()
    headers[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == "def greet(name):\n    return f'hi {name}'"
    assert headers[0].copy_button.text() == "Copied"
    qtbot.waitUntil(lambda: headers[0].copy_button.text() == "Copy", timeout=3000)
    headers[1].copy_button.click()
    assert QGuiApplication.clipboard().text() == "for f in *.gguf; do\n  echo $f"


def test_message_actions_show_on_hover_and_on_keyboard_focus(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    record = session.store.create_conversation(title="Hover")
    session.store.add_message(record.id, role="user", text="Hi")
    reply = session.store.add_message(record.id, role="assistant", text="Hello!", model="m")
    window.open_conversation(record.id)
    view = window.chat_page.views[reply.id]
    qtbot.waitUntil(view.isVisible)
    assert view._fade.opacity() == 0.0
    assert view.regenerate_button.isVisibleTo(view)  # the last reply can be written again
    assert not window.chat_page.views[reply.id - 1].regenerate_button.isVisibleTo(window)
    QApplication.sendEvent(view, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))
    assert view._fade.opacity() == 1.0
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))
    assert view._fade.opacity() == 0.0
    window.activateWindow()
    view.copy_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: view._fade.opacity() == 1.0)
    with qtbot.waitSignal(window.chat_page.regenerate_requested):
        view.regenerate_button.click()


# -- accessibility ------------------------------------------------------------------------


def test_every_control_of_every_page_has_an_accessible_name(
    window: MainWindow, session: Session, qtbot
) -> None:  # type: ignore[no-untyped-def]
    record = session.store.create_conversation(title="Code")
    session.store.add_message(record.id, role="user", text="Code, please")
    session.store.add_message(record.id, role="assistant", text=CODE_REPLY, model="m")
    window.open_conversation(record.id)
    for page in PAGES:
        window.show_page(page)
        settle(qtbot)
        controls = list(interactive_widgets(window))
        assert len(controls) > 20
        unnamed = unnamed_controls(window)
        assert not unnamed, [f"{type(w).__name__} {w.objectName()!r}" for w in unnamed]
    icon_only = [window.chat_page.views[m].copy_button for m in window.chat_page.views]
    for button in icon_only:
        assert button.text() == "" and button.accessibleName()


def test_a_finished_reply_is_announced_and_the_keys_reach_the_chat_list(
    window: MainWindow, session: Session, stories_model: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    load(window, qtbot, stories_model)
    window.settings = window.settings.with_value("max_tokens", 12)
    window.chat_page.composer.setPlainText("Once upon a time")
    with qtbot.waitSignal(window.chat_page.announced, timeout=120_000) as said:
        window.chat_page.send_button.click()
    assert said.args[0].startswith(("Reply finished", "The reply stopped"))
    assert len(said.args[0]) > len("Reply finished: ")

    chat = window.chat.conversation
    assert chat is not None
    window.sidebar.refresh()
    items = [window.sidebar.list.item(i) for i in range(window.sidebar.list.count())]
    window.sidebar.list.setCurrentItem(
        next(i for i in items if i.data(Qt.ItemDataRole.UserRole) == chat.id)
    )
    window.sidebar.list.setFocus()
    qtbot.keyClick(window.sidebar.list, Qt.Key.Key_Delete)
    assert window.sidebar.undo_bar.isVisibleTo(window)  # deleted, with Undo
    window.sidebar.undo_button.click()
    assert any(r.id == chat.id for r in session.store.list_conversations())


# -- the dark theme ---------------------------------------------------------------------


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def _contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_an_unchecked_checkbox_stands_out_from_the_page(theme: str, qtbot) -> None:  # type: ignore[no-untyped-def]
    apply_theme(theme)
    try:
        page = QWidget()
        page.setAutoFillBackground(True)
        QVBoxLayout(page).addWidget(box := QCheckBox("Offline mode"))
        qtbot.addWidget(page)
        page.show()
        qtbot.waitExposed(page)
        option = QStyleOptionButton()
        box.initStyleOption(option)
        indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
        image = box.grab(indicator).toImage()
        background = page.palette().window().color()
        best = max(
            _contrast(image.pixelColor(x, y), background)
            for x in range(image.width())
            for y in range(image.height())
        )
        # WCAG 2.1's non-text contrast: a control's boundary at least 3:1 against its page.
        assert best >= 3.0, f"the check box's edge contrasts only {best:.2f}:1"
    finally:
        apply_theme("light")


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_each_theme_keeps_its_text_and_controls_readable(colors: Colors) -> None:
    def ratio(a: str, b: str) -> float:
        return _contrast(QColor(a), QColor(b))

    for page in (colors.window, colors.surface, colors.sidebar, colors.user_bubble):
        assert ratio(colors.text, page) >= 7.0  # body text: WCAG AAA
        assert ratio(colors.muted, page) >= 4.5  # figures and help: AA
    for page in (colors.window, colors.surface):
        assert ratio(colors.indicator, page) >= 3.0  # a control's edge
        assert ratio(colors.accent, page) >= 3.0  # the focus ring
    assert ratio(colors.on_accent, colors.accent) >= 4.5  # the Send button's label
    for page in (colors.window, colors.surface):
        assert ratio(colors.error_text, page) >= 4.5  # a field's or a restore's error


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_help_and_error_text_take_the_themes_colours(theme: str, qtbot) -> None:  # type: ignore[no-untyped-def]
    """No fixed grey or red: on the dark page a fixed #c0392b read at 3.3:1."""
    apply_theme(theme)
    colors = DARK if theme == "dark" else LIGHT
    try:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(help_text := QLabel("Layers to offload to the GPU"))
        layout.addWidget(error := QLabel("Must be a whole number"))
        set_tone(help_text, "muted")
        set_tone(error, "error")
        qtbot.addWidget(page)
        page.show()
        qtbot.waitExposed(page)

        def colour(label: QLabel) -> str:
            return label.palette().color(label.foregroundRole()).name()

        assert (colour(help_text), colour(error)) == (colors.muted, colors.error_text)
        set_tone(error, None)  # back to plain text
        assert colour(error) == colors.text
    finally:
        apply_theme("light")


def test_tab_leaves_the_composer_for_send_and_a_focused_control_shows_a_ring(
    window: MainWindow, qtbot
) -> None:  # type: ignore[no-untyped-def]
    page = window.chat_page
    window.activateWindow()
    page.composer.setPlainText("draft")
    page.composer.setFocus()
    qtbot.waitUntil(page.composer.hasFocus)
    qtbot.keyClick(page.composer, Qt.Key.Key_Tab)
    assert page.composer.toPlainText() == "draft"  # no tab character typed
    assert not page.composer.hasFocus()

    button = window.sidebar.new_button
    window.sidebar.search.setFocus()
    qtbot.waitUntil(window.sidebar.search.hasFocus)
    plain = button.grab().toImage()
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(button.hasFocus)
    ring = button.grab().toImage()
    accent = QColor(LIGHT.accent)
    edge = [ring.pixelColor(x, ring.height() // 2) for x in range(3)]
    assert plain != ring
    assert any(_contrast(c, accent) < 1.3 for c in edge)  # the ring is the accent colour


def test_at_800_by_600_no_page_scrolls_sideways(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    resize(window, qtbot, 800, 600)
    for page in PAGES:
        window.show_page(page)
        settle(qtbot)
        assert window.size() == QSize(800, 600)
        for area in window.pages.currentWidget().findChildren(QScrollArea):
            if area.isVisible():
                assert not area.horizontalScrollBar().isVisible(), f"{page} scrolls sideways"
        for tree in window.pages.currentWidget().findChildren(QTreeWidget):
            if tree.isVisible() and tree.columnCount() > 1:  # no column heading cut
                header = tree.header()
                assert not tree.horizontalScrollBar().isVisible(), f"{page}: a table scrolls"
                metrics = QFontMetrics(header.font())
                for column in range(tree.columnCount()):
                    label = tree.headerItem().text(column)
                    room = header.sectionSize(column)
                    assert metrics.horizontalAdvance(label) < room, f"{page}: {label!r} is cut"


def _cut_columns(tree: QTreeWidget) -> list[str]:
    """The cells of ``tree``'s file rows whose text does not fit its column (drawn cut)."""
    metrics = tree.fontMetrics()
    # The text's margins inside a cell, as QCommonStyle draws an item view's text.
    margin = tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
    cut = []
    for i in range(tree.topLevelItemCount()):
        model = tree.topLevelItem(i)
        for j in range(model.childCount()):
            row = model.child(j)
            for column in range(tree.columnCount() - 1):  # the last holds the button
                room = tree.visualRect(tree.indexFromItem(row, column)).width() - 2 * margin
                if metrics.horizontalAdvance(row.text(column)) > room:
                    cut.append(f"{row.text(column)!r} in column {column} ({room} px)")
    return cut


@pytest.mark.parametrize("sidebar", [True, False], ids=["with-chat-list", "without"])
def test_at_800_by_600_the_library_shows_every_column_and_file_whole(
    window: MainWindow, qtbot, sidebar: bool
) -> None:  # type: ignore[no-untyped-def]
    resize(window, qtbot, 800, 600)
    window.show_sidebar(sidebar)
    window.show_page("library")
    tree = window.library_page.catalog_tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() > 0, timeout=30_000)
    settle(qtbot)
    assert window.size() == QSize(800, 600)
    assert not tree.horizontalScrollBar().isVisible()
    header = tree.header()
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in range(6))
    assert right <= tree.viewport().width()  # Speed, Quality and Download all show
    shown = QFontMetrics(header.font())
    for column in range(1, 5):  # no header cut ("Speed (roug")
        label = tree.headerItem().text(column)
        assert shown.horizontalAdvance(label) < header.sectionSize(column), label
    assert _cut_columns(tree) == []  # every quantization and its ★ whole
    assert any(
        tree.topLevelItem(i).child(j).text(0).endswith("★")
        for i in range(tree.topLevelItemCount())
        for j in range(tree.topLevelItem(i).childCount())
    )
    assert "★" in tree.headerItem().toolTip(0)  # what the star means


def test_the_chat_list_hides_and_comes_back_as_it_was_left(session: Session, qtbot) -> None:  # type: ignore[no-untyped-def]
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    resize(window, qtbot, 800, 600)
    settle(qtbot)
    page_width = window.pages.width()
    assert window.sidebar.isVisible() and window.menus.chat_list.isChecked()

    window.sidebar_button.click()  # the top bar's button
    settle(qtbot)
    assert not window.sidebar.isVisible()
    assert not window.menus.chat_list.isChecked()  # the View menu agrees
    assert window.pages.width() > page_width + SIDEBAR_MIN - 20  # the page took its width
    assert window.size() == QSize(800, 600)
    window.close()
    assert UiState.load(session.state.path).sidebar_hidden  # kept on disk

    again = session.build_window()  # the next start
    again.show()
    qtbot.waitExposed(again)
    settle(qtbot)
    assert not again.sidebar.isVisible() and not again.sidebar_button.isChecked()
    # Searching the chats (Ctrl+F) brings the list back.
    qtbot.keyClick(again, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    assert again.sidebar.isVisible() and again.sidebar.search.hasFocus()
    assert again.menus.chat_list.isChecked() and again.sidebar_button.isChecked()
    again.menus.chat_list.trigger()  # the View menu's item (Ctrl+Shift+S)
    assert not again.sidebar.isVisible()
    again.close()
