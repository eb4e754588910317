"""Fenced code in a message is coloured by Pygments, in the theme's colours."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QTextBlock, QTextDocument

from app.ui.message_view import StreamingText
from app.ui.theme import apply_theme

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def view(qtbot) -> Iterator[StreamingText]:  # type: ignore[no-untyped-def]
    apply_theme("light")
    view = StreamingText()
    qtbot.addWidget(view)
    yield view
    apply_theme("light")


def line(document: QTextDocument, text: str) -> QTextBlock:
    block = document.begin()
    while block.isValid():
        if block.text() == text:
            return block
        block = block.next()
    raise AssertionError(f"no line {text!r}")


def colour_at(block: QTextBlock, word: str) -> str | None:
    """The colour the highlighter gave ``word`` on that line; None for plain text."""
    column = block.text().index(word)
    for fmt in block.layout().formats():
        if fmt.start <= column < fmt.start + fmt.length and fmt.format.hasProperty(
            fmt.format.Property.ForegroundBrush
        ):
            return str(fmt.format.foreground().color().name())
    return None


def coloured(document: QTextDocument) -> int:
    count, block = 0, document.begin()
    while block.isValid():
        count += len(block.layout().formats())
        block = block.next()
    return count


PYTHON = '```python\ndef greet(name):\n    """Say\n    hello."""\n    return name + 1\n```'
RUST = "```rust\nfn main() {\n    let total = 40 + 2;\n}\n```"


def test_python_keywords_strings_and_numbers_get_their_own_colours(
    view: StreamingText,
) -> None:
    view.set_markdown("Here:\n\n" + PYTHON)
    document = view.document()
    keyword = colour_at(line(document, "def greet(name):"), "def")
    plain = colour_at(line(document, "    return name + 1"), "name")
    assert keyword is not None and keyword != plain
    assert colour_at(line(document, "    return name + 1"), "return") == keyword
    number = colour_at(line(document, "    return name + 1"), "1")
    assert number is not None and number not in (keyword, plain)
    # The docstring's second line is a string too: the block is lexed whole, not by line.
    string = colour_at(line(document, '    """Say'), "Say")
    assert string is not None and colour_at(line(document, '    hello."""'), "hello") == string
    assert colour_at(line(document, "Here:"), "Here") is None  # prose stays as it is


def test_rust_is_coloured_by_its_own_lexer(view: StreamingText) -> None:
    view.set_markdown(RUST)
    document = view.document()
    keyword = colour_at(line(document, "    let total = 40 + 2;"), "let")
    assert keyword is not None
    assert colour_at(line(document, "fn main() {"), "fn") == keyword
    assert colour_at(line(document, "    let total = 40 + 2;"), "total") != keyword


@pytest.mark.parametrize("fence", ["```klingon", "```"])
def test_an_unknown_or_missing_language_stays_plain_text(view: StreamingText, fence: str) -> None:
    view.set_markdown(f"{fence}\ndef greet(name):\n    return 'hi'\n```")
    assert view.document().toPlainText() == "def greet(name):\n    return 'hi'"
    assert coloured(view.document()) == 0


def test_the_dark_theme_switches_to_colours_made_for_a_dark_background(
    view: StreamingText,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    view.set_markdown(PYTHON)
    document = view.document()
    light = colour_at(line(document, "def greet(name):"), "def")
    apply_theme("dark")
    qtbot.waitUntil(lambda: view.first.highlighter.dark)  # Qt posts the palette change
    dark = colour_at(line(document, "def greet(name):"), "def")
    assert light is not None and dark is not None and dark != light
    apply_theme("light")
    qtbot.waitUntil(lambda: not view.first.highlighter.dark)
    assert colour_at(line(document, "def greet(name):"), "def") == light
