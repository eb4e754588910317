"""Colours for fenced code in a message, from Pygments' lexers and the theme.

Qt's Markdown reader gives each line of a fenced block its own text block, marked
``BlockCodeFence`` and carrying the fence's language. The highlighter lexes a whole
block of code at once (a string or comment may span lines), with the lexer Pygments
has for that language, and colours each line from the result; a language Pygments
does not know, or none, stays plain text. Light and dark themes use a Pygments style
made for that background.
"""

from __future__ import annotations

from functools import cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from PySide6.QtGui import (
    QColor,
    QFont,
    QPalette,
    QSyntaxHighlighter,
    QTextBlock,
    QTextCharFormat,
    QTextDocument,
    QTextFormat,
)

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

Span = tuple[int, int, _TokenType]  # start column, length, token type
NOT_CODE = -1


def is_dark(palette: QPalette) -> bool:
    """Whether ``palette`` draws text on a dark background.

    Read from the text's colour: a style sheet may make the background transparent.
    """
    return palette.color(QPalette.ColorRole.Text).lightness() >= 128


@cache
def lexer_for(language: str) -> Lexer | None:
    """Pygments' lexer for a fence's language (``python``, ``rs``, ``c++``...), or None."""
    name = language.strip().lower()
    if not name:
        return None
    try:
        # Offsets must match the text exactly: no stripping or added final newline.
        return get_lexer_by_name(name, stripnl=False, stripall=False, ensurenl=False)
    except ClassNotFound:
        return None


class CodeHighlighter(QSyntaxHighlighter):
    """Colours the fenced code blocks of one document."""

    def __init__(self, document: QTextDocument, *, dark: bool = False) -> None:
        super().__init__(document)
        self._dark = dark
        self._formats: dict[_TokenType, QTextCharFormat | None] = {}
        # First block number of a fenced block -> each line's text and coloured spans.
        self._regions: dict[int, list[tuple[str, list[Span]]]] = {}

    @property
    def dark(self) -> bool:
        return self._dark

    def set_dark(self, dark: bool) -> None:
        """Switch to the light or dark style and colour the document again."""
        if dark != self._dark:
            self._dark = dark
            self._formats.clear()
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        block = self.currentBlock()
        language = _fence_language(block)
        if language is None:
            self.setCurrentBlockState(NOT_CODE)
            return
        previous = block.previous()
        start = self.previousBlockState()
        if start == NOT_CODE or _fence_language(previous) != language:
            start = block.blockNumber()
        self.setCurrentBlockState(start)
        index = block.blockNumber() - start
        lines = self._regions.get(start)
        if index == 0 or lines is None or index >= len(lines) or lines[index][0] != text:
            # A fenced block's first line, or a document changed since: lex it whole.
            first = self.document().findBlockByNumber(start)
            lines = self._regions[start] = _lex_region(first, language)
        for column, length, token in lines[index][1]:
            fmt = self._format(token)
            if fmt is not None:
                self.setFormat(column, length, fmt)

    def _format(self, token: _TokenType) -> QTextCharFormat | None:
        if token not in self._formats:
            style = get_style_by_name(DARK_STYLE if self._dark else LIGHT_STYLE)
            look = style.style_for_token(token)
            fmt: QTextCharFormat | None = None
            if look["color"] or look["bold"] or look["italic"]:
                fmt = QTextCharFormat()
                if look["color"]:
                    fmt.setForeground(QColor(f"#{look['color']}"))
                if look["bold"]:
                    fmt.setFontWeight(QFont.Weight.Bold)
                if look["italic"]:
                    fmt.setFontItalic(True)
            self._formats[token] = fmt
        return self._formats[token]


def _fence_language(block: QTextBlock) -> str | None:
    """The fence's language of a code block ('' when it names none); None for prose."""
    if not block.isValid():
        return None
    fmt = block.blockFormat()
    if not fmt.hasProperty(QTextFormat.Property.BlockCodeFence):
        return None
    return fmt.stringProperty(QTextFormat.Property.BlockCodeLanguage)


def _lex_region(first: QTextBlock, language: str) -> list[tuple[str, list[Span]]]:
    """Each line of the fenced block starting at ``first``, with its coloured spans."""
    lines: list[str] = []
    block = first
    while _fence_language(block) == language:
        lines.append(block.text())
        block = block.next()
    spans: list[list[Span]] = [[] for _ in lines]
    lexer = lexer_for(language)
    if lexer is not None:
        row, column = 0, 0
        # Tokens cover the text end to end; one may run over several lines.
        for _position, token, value in lexer.get_tokens_unprocessed("\n".join(lines)):
            for i, piece in enumerate(value.split("\n")):
                if i:
                    row, column = row + 1, 0
                if piece and row < len(spans):
                    spans[row].append((column, len(piece), token))
                column += len(piece)
    return list(zip(lines, spans, strict=True))


__all__ = ["DARK_STYLE", "LIGHT_STYLE", "CodeHighlighter", "is_dark", "lexer_for"]
