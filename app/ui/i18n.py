"""The window's language: Qt translators for Hearth's own text and for Qt's.

Hearth's text is translated from ``resources/i18n/hearth_<code>.ts`` (made by
``pyside6-lupdate`` over ``app/ui``, then translated). The compiled ``.qm`` that Qt
reads is build output: ``make i18n`` writes it next to the source, and ``make test``
and ``make bundle`` depend on that. A source checkout that has no (or an older) ``.qm``
gets one compiled at start into the cache folder with the ``lrelease`` that PySide6
ships, so ``python -m app`` shows the language chosen without a build step.

The language is chosen at start (the setting ``language``): widgets take their text
when they are made, so a change applies at the next start.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import PySide6
from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

I18N = Path(__file__).resolve().parents[2] / "resources" / "i18n"
TRANSLATED = ("vi",)
"""Languages with a translation of Hearth's text (English is the source)."""


def resolve_language(setting: str, *, system: str | None = None) -> str:
    """The language to show for the setting: ``en``, or one of :data:`TRANSLATED`.

    ``system`` follows the system's locale (``vi_VN`` gives ``vi``), and is English
    when Hearth has no translation for it.
    """
    if setting != "system":
        return setting
    code = (system or QLocale.system().name()).split("_")[0].lower()
    return code if code in TRANSLATED else "en"


def lrelease_program() -> Path | None:
    """PySide6's own ``lrelease``, or None (a bundle has its ``.qm`` files built in)."""
    name = "lrelease.exe" if sys.platform == "win32" else "lrelease"
    program = Path(PySide6.__file__).resolve().parent / name
    return program if program.is_file() else None


def build_qm(ts: Path, qm: Path) -> None:
    """Compile the translation source ``ts`` into ``qm``; raises OSError on failure."""
    program = lrelease_program()
    if program is None:
        raise OSError(f"PySide6's lrelease is not installed, so {ts.name} cannot be compiled")
    qm.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(program), "-silent", str(ts), "-qm", str(qm)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not qm.is_file():
        raise OSError(f"lrelease failed on {ts.name}: {(done.stderr or done.stdout).strip()}")


def _fresh(qm: Path, ts: Path) -> bool:
    return qm.is_file() and (not ts.is_file() or qm.stat().st_mtime >= ts.stat().st_mtime)


def compiled_translation(code: str, *, cache: Path) -> Path:
    """The ``.qm`` file for language ``code``: the built one when it is as new as its
    source, else one compiled from the source into ``cache``. A bundle (no ``lrelease``)
    uses the one built in. Raises OSError when there is none."""
    ts, qm = I18N / f"hearth_{code}.ts", I18N / f"hearth_{code}.qm"
    if _fresh(qm, ts) or (qm.is_file() and lrelease_program() is None):
        return qm
    if not ts.is_file():
        raise OSError(f"this installation has no {qm.name}")
    built = cache / "i18n" / qm.name
    if not _fresh(built, ts):
        build_qm(ts, built)
    return built


@dataclass
class Translation:
    """The translators installed for one language; :meth:`remove` takes them out again."""

    language: str
    translators: list[QTranslator] = field(default_factory=list)
    notice: str | None = None
    """Why the language chosen is not shown (in English, as nothing else is at hand)."""

    def remove(self) -> None:
        for translator in self.translators:
            QCoreApplication.removeTranslator(translator)
        self.translators.clear()


def install_translation(setting: str, *, cache: Path) -> Translation:
    """Install the translators for the ``language`` setting on the running application.

    Qt's own text (standard buttons, context menus) comes from its ``qtbase_<code>``
    file when PySide6 ships one (it has none for Vietnamese yet); Hearth's from
    :func:`compiled_translation`. When Hearth's cannot be loaded the window stays in
    English and :attr:`Translation.notice` says why.
    """
    code = resolve_language(setting)
    translation = Translation(code)
    if code == "en":
        return translation
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qt_own = QTranslator()
    if qt_own.load(f"qtbase_{code}", qt_folder):
        QCoreApplication.installTranslator(qt_own)
        translation.translators.append(qt_own)
    try:
        qm = compiled_translation(code, cache=cache)
        ours = QTranslator()
        if not ours.load(str(qm)):
            raise OSError(f"{qm} is not a translation file Qt can read")
    except OSError as error:
        log.warning("No translation for %s: %s", code, error)
        translation.language = "en"
        translation.notice = (
            f"Hearth cannot show its text in the language chosen ({code}): {error}. "
            "It is shown in English."
        )
        return translation
    QCoreApplication.installTranslator(ours)
    translation.translators.append(ours)
    log.info("Hearth's text in %s from %s", code, qm)
    return translation
