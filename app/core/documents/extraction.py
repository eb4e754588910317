"""Text out of a file: plain text, Markdown, source code, PDF, Word .docx and HTML.

:func:`extract` reads a file once, into memory, and takes its text and content hash from
those same bytes, so a file changed while it is read is indexed as it was (never half old,
half new). A file that cannot be used raises :class:`Skipped` with the reason a person
reads in the collection's list; a file cut at a limit comes back with ``limited`` set.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import HearthError
from app.core.units import format_bytes

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
"""A NUL byte in this much of a file's start makes it binary."""

PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
# Formats that are never text, so they are skipped without reading a byte.
BINARY_SUFFIXES = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".ico", ".tif", ".tiff", ".heic",
        ".mp3", ".wav", ".flac", ".ogg", ".m4a", ".mp4", ".mov", ".avi", ".mkv", ".webm",
        ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".zst",
        ".exe", ".dll", ".so", ".dylib", ".o", ".a", ".class", ".pyc", ".wasm",
        ".gguf", ".bin", ".safetensors", ".pt", ".onnx", ".npy", ".npz", ".sqlite", ".db",
        ".doc", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".epub", ".dmg",
        ".iso", ".woff", ".woff2", ".ttf", ".otf",
    }
)  # fmt: skip


class Skipped(HearthError):
    """A file that is not indexed; ``str(error)`` is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text with where it starts: a page (PDF), a line or a paragraph."""

    text: str
    page: int | None = None
    first_line: int = 1
    unit: str = "lines"
    """What ``first_line`` counts: ``lines`` or ``paragraphs`` (Word, where text is paragraphs)."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file's text, the hash of the bytes it came from, and the stat read before."""

    sections: list[Section]
    content_hash: str
    size: int
    mtime_ns: int
    limited: str = ""
    """Why only part of the file was read (empty when all of it was)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of one file is read: its size, and the text taken from it."""

    max_file_bytes: int = 64_000_000
    max_text_chars: int = 2_000_000


def read_file(path: Path, limits: Limits) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file within the size limit, or Skipped with the reason."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise Skipped("gone: it was deleted or moved before it could be read") from None
    except PermissionError:
        raise Skipped("no permission to read it") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Skipped("a symbolic link that loops back on itself") from None
        raise Skipped(f"cannot be read: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise Skipped("not a regular file (a pipe, device or socket)")
    if info.st_size > limits.max_file_bytes:
        raise Skipped(
            f"too large: {format_bytes(info.st_size)}, over the limit of "
            f"{format_bytes(limits.max_file_bytes)} (setting docs_max_file_mb)"
        )
    if path.suffix.lower() in BINARY_SUFFIXES:
        raise Skipped(f"not a document format Hearth reads ({path.suffix.lower()})")
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except FileNotFoundError:
        raise Skipped("gone: it was deleted or moved before it could be read") from None
    except PermissionError:
        raise Skipped("no permission to read it") from None
    except OSError as error:
        raise Skipped(f"cannot be read: {error.strerror or error}") from None
    if len(data) > limits.max_file_bytes:
        raise Skipped(
            f"grew past the limit of {format_bytes(limits.max_file_bytes)} while being read"
        )
    return data, info


def extract(path: Path, limits: Limits | None = None) -> Extracted:
    """The text of the file at ``path``; Skipped with the reason when it has none to give."""
    limits = limits or Limits()
    data, info = read_file(path, limits)
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        sections, limited = _pdf(data, limits)
    elif suffix in DOCX_SUFFIXES:
        sections, limited = _docx(data, limits)
    elif suffix in HTML_SUFFIXES:
        sections, limited = _html(data, limits)
    else:
        sections, limited = _text(data, limits)
    if not any(section.text.strip() for section in sections):
        raise Skipped("no text in it")
    return Extracted(
        sections=sections,
        content_hash=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mtime_ns=info.st_mtime_ns,
        limited=limited,
    )


def _limited(limits: Limits) -> str:
    return (
        f"only the first {limits.max_text_chars:,} characters were read "
        "(setting docs_max_text_chars)"
    )


def _text(data: bytes, limits: Limits) -> tuple[list[Section], str]:
    if b"\0" in data[:SNIFF_BYTES]:
        raise Skipped("not text: binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Skipped("not UTF-8 text (binary content or another encoding)") from None
    limited = ""
    if len(text) > limits.max_text_chars:
        text, limited = text[: limits.max_text_chars], _limited(limits)
    return [Section(text)], limited


def _pdf(data: bytes, limits: Limits) -> tuple[list[Section], str]:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Skipped("an encrypted PDF: it needs a password")
        sections: list[Section] = []
        total = 0
        for number, page in enumerate(reader.pages, start=1):
            # A page whose streams expand hugely is cut at the file's budget, not read whole.
            left = limits.max_text_chars - total
            text = page.extract_text() or ""
            if len(text) >= left:
                sections.append(Section(text[:left], page=number))
                return sections, f"{_limited(limits)}; stopped on page {number}"
            sections.append(Section(text, page=number))
            total += len(text)
        return sections, ""
    except Skipped:
        raise
    except FileNotDecryptedError:  # pypdf's own type, never its message, decides
        raise Skipped("an encrypted PDF: it needs a password") from None
    except DependencyError:
        raise Skipped(
            "an encrypted PDF whose cipher needs the cryptography package to read"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise Skipped(f"a damaged PDF: {error}") from None
    except Exception as error:  # pypdf raises many kinds for crafted files
        log.info("pypdf failed on a file: %r", error)
        raise Skipped(f"a PDF Hearth cannot read: {type(error).__name__}: {error}") from None


def _docx(data: bytes, limits: Limits) -> tuple[list[Section], str]:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # zipfile, lxml and docx errors alike
        raise Skipped(f"a damaged Word file: {type(error).__name__}") from None
    paragraphs: list[str] = []
    total = 0
    limited = ""
    for paragraph in document.paragraphs:
        text = paragraph.text
        if total + len(text) > limits.max_text_chars:
            limited = _limited(limits)
            break
        paragraphs.append(text)
        total += len(text) + 1
    return [Section("\n".join(paragraphs), unit="paragraphs")], limited


def _html(data: bytes, limits: Limits) -> tuple[list[Section], str]:
    from bs4 import BeautifulSoup

    if b"\0" in data[:SNIFF_BYTES]:
        raise Skipped("not text: binary content")
    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    text = "\n".join(line for line in lines if line)
    limited = ""
    if len(text) > limits.max_text_chars:
        text, limited = text[: limits.max_text_chars], _limited(limits)
    return [Section(text)], limited
