"""Languages: the window in Vietnamese or English by the setting, and a translation with no gaps."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from app.core.paths import app_paths
from app.core.settings import Settings, save_settings
from app.ui import i18n
from app.ui.application import Session
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.usefixtures("qapp")

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "resources" / "i18n" / "hearth_vi.ts"


def start(language: str) -> Session:
    """A session of the app whose settings file says ``language``."""
    save_settings(Settings(language=language), app_paths().ensure().settings_file)
    return Session()


@pytest.fixture
def window_in(qtbot) -> Iterator:  # type: ignore[no-untyped-def]
    opened: list[tuple[Session, MainWindow]] = []

    def open_window(language: str) -> MainWindow:
        session = start(language)
        window = session.build_window()
        opened.append((session, window))
        window.show()
        qtbot.waitExposed(window)
        return window

    yield open_window
    for session, window in opened:
        window.close()
        session.close()


def texts(widget: QWidget) -> set[str]:
    """Every label's and button's text in ``widget``, headings without their markup."""
    labels = {label.text() for label in widget.findChildren(QLabel)}
    buttons = {button.text() for button in widget.findChildren(QAbstractButton)}
    return {text.removeprefix("<h3>").removesuffix("</h3>") for text in labels | buttons}


def test_in_vietnamese_the_window_speaks_vietnamese(window_in) -> None:  # type: ignore[no-untyped-def]
    window = window_in("vi")
    nav = [window.nav_buttons[name].text() for name in ("chat", "library", "settings")]
    assert nav == ["Trò chuyện", "Thư viện", "Cài đặt"]
    assert window.chat_page.send_button.text() == "Gửi"
    assert window.chat_page.stop_button.text() == "Dừng"
    assert "Trò chuyện mới" in texts(window)


def test_in_english_the_window_speaks_english(window_in) -> None:  # type: ignore[no-untyped-def]
    window = window_in("en")
    nav = [window.nav_buttons[name].text() for name in ("chat", "library", "settings")]
    assert nav == ["Chat", "Library", "Settings"]
    assert window.chat_page.send_button.text() == "Send"
    assert "Trò chuyện mới" not in texts(window)


def test_in_vietnamese_the_settings_page_speaks_vietnamese(window_in) -> None:  # type: ignore[no-untyped-def]
    page = window_in("vi").settings_page
    shown = texts(page)
    assert {"Mô hình", "Câu trả lời", "Giao diện", "Ngôn ngữ", "Nâng cao"} <= shown
    assert page.apply_button.text() == "Áp dụng"
    assert page.revert_button.text() == "Hoàn tác"
    assert not {"Replies", "Appearance", "Apply", "Revert"} & shown


def test_in_english_the_settings_page_speaks_english(window_in) -> None:  # type: ignore[no-untyped-def]
    page = window_in("en").settings_page
    shown = texts(page)
    assert {"Models", "Replies", "Appearance", "Language", "Advanced"} <= shown
    assert page.apply_button.text() == "Apply"
    assert not {"Câu trả lời", "Giao diện", "Áp dụng"} & shown


def test_the_language_list_names_each_language_in_its_own_words(window_in) -> None:  # type: ignore[no-untyped-def]
    window = window_in("en")
    languages = window.settings_page.editors["language"]
    names = [languages.itemText(i) for i in range(languages.count())]
    assert names == ["Follow the system", "English", "Tiếng Việt"]
    assert window.settings_page.findChild(QLabel, "setting-language-note").text() == (
        "A new language shows the next time Hearth starts."
    )


def test_closing_the_session_takes_its_translation_out(window_in, qtbot) -> None:  # type: ignore[no-untyped-def]
    session = start("vi")
    assert QCoreApplication.translate("SettingsPage", "Apply") == "Áp dụng"
    session.close()
    assert QCoreApplication.translate("SettingsPage", "Apply") == "Apply"


@pytest.mark.parametrize(
    ("setting", "system", "shown"),
    [
        ("system", "vi_VN", "vi"),
        ("system", "fr_FR", "en"),
        ("system", "C", "en"),
        ("en", "vi_VN", "en"),
        ("vi", "en_US", "vi"),
    ],
)
def test_the_system_language_is_followed_when_hearth_has_it(
    setting: str, system: str, shown: str
) -> None:
    assert i18n.resolve_language(setting, system=system) == shown


def test_a_missing_translation_leaves_english_and_says_so(
    window_in, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(i18n, "I18N", tmp_path / "nothing-here")
    window = window_in("vi")
    assert window.settings_page.apply_button.text() == "Apply"
    assert "cannot show its text in the language chosen (vi)" in window.notification.text()
    assert app_paths().settings_file.read_text(encoding="utf-8").count('"language": "vi"') == 1


def test_a_damaged_translation_file_leaves_english_and_says_so(
    window_in, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "i18n"
    folder.mkdir()
    (folder / "hearth_vi.qm").write_bytes(b"not a translation")
    monkeypatch.setattr(i18n, "I18N", folder)
    window = window_in("vi")
    assert window.settings_page.apply_button.text() == "Apply"
    assert "not a translation file Qt can read" in window.notification.text()


def test_the_translation_source_is_compiled_into_the_cache_when_no_qm_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "i18n"
    folder.mkdir()
    shutil.copy(SOURCE, folder)
    monkeypatch.setattr(i18n, "I18N", folder)
    qm = i18n.compiled_translation("vi", cache=tmp_path / "cache")
    assert qm == tmp_path / "cache" / "i18n" / "hearth_vi.qm"
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("SettingsPage", "Apply") == "Áp dụng"


def test_every_wrapped_text_has_a_vietnamese_translation(tmp_path: Path) -> None:
    """lupdate over app/ui, into a copy of the source: a text wrapped in tr() that the
    .ts lacks, or one left unfinished, fails here."""
    copy = tmp_path / "hearth_vi.ts"
    shutil.copy(SOURCE, copy)
    lrelease = i18n.lrelease_program()
    assert lrelease is not None, "PySide6's lrelease and lupdate are not installed"
    lupdate = lrelease.with_name(lrelease.name.replace("lrelease", "lupdate"))
    done = subprocess.run(
        [
            str(lupdate),
            "-silent",
            "-locations",
            "none",
            "-no-obsolete",
            "-extensions",
            "py",
            str(ROOT / "app" / "ui"),
            "-ts",
            str(copy),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    untranslated = []
    count = 0
    for context in ET.parse(copy).getroot().iter("context"):
        for message in context.iter("message"):
            count += 1
            translation = message.find("translation")
            assert translation is not None
            forms = [form.text or "" for form in translation]  # a plural has its forms
            words = "".join(forms) if forms else translation.text or ""
            if (
                translation.get("type") in ("unfinished", "vanished", "obsolete")
                or not words.strip()
            ):
                untranslated.append(f"[{context.findtext('name')}] {message.findtext('source')}")
    assert count > 40, "lupdate found almost nothing to translate"
    assert not untranslated, "Not translated into Vietnamese:\n" + "\n".join(untranslated)
    assert copy.read_text(encoding="utf-8") == SOURCE.read_text(encoding="utf-8"), (
        "resources/i18n/hearth_vi.ts is not what `make lupdate` gives: run it and commit"
    )


def test_the_qm_builds_from_the_source(tmp_path: Path) -> None:
    qm = tmp_path / "hearth_vi.qm"
    i18n.build_qm(SOURCE, qm)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("SettingsPage", "Replies") == "Câu trả lời"


def test_a_broken_source_does_not_build(tmp_path: Path) -> None:
    broken = tmp_path / "hearth_vi.ts"
    broken.write_text("<TS><context>", encoding="utf-8")
    with pytest.raises(OSError, match=r"lrelease failed on hearth_vi\.ts"):
        i18n.build_qm(broken, tmp_path / "hearth_vi.qm")
    assert not (tmp_path / "hearth_vi.qm").exists()
