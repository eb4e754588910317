"""Safer settings: the wheel, the models folder, the Advanced options, per-model settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from app.core.inference import PromptFormat
from app.core.library import ModelSettings
from app.core.settings import Settings, load_settings
from app.ui.application import Session
from app.ui.dialogs import Ask
from app.ui.model_bar import MODEL_SETTINGS
from app.ui.model_settings import ModelSettingsDialog
from app.ui.settings_page import SettingsPage
from app.ui.wheel_guard import install_wheel_guard

pytestmark = pytest.mark.usefixtures("qapp")


def wheel(widget: QWidget, steps: int) -> None:
    """Turn the wheel ``steps`` notches over the middle of ``widget`` (positive: up)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(QPoint(int(centre.x()), int(centre.y())))),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


@pytest.fixture
def page(qtbot) -> SettingsPage:  # type: ignore[no-untyped-def]
    install_wheel_guard(QApplication.instance())  # as the app does at start
    page = SettingsPage(Settings())
    qtbot.addWidget(page)
    page.resize(700, 400)  # shorter than the page: it scrolls
    page.show()
    qtbot.waitExposed(page)
    return page


def test_the_wheel_scrolls_the_page_over_an_unfocused_list_and_spin_box(
    page: SettingsPage, qtbot
) -> None:  # type: ignore[no-untyped-def]
    page.show_settings(Settings(kv_cache_type="q8_0", flash_attention=True))
    page.advanced_toggle.setChecked(True)  # the KV-cache list is an advanced option
    kv = page.editors["kv_cache_type"]
    batch = page.editors["batch_size"]
    assert isinstance(kv, QComboBox) and isinstance(batch, QSpinBox)
    scroll = page.findChild(QScrollArea)
    page.apply_button.setFocus()
    for editor in (kv, batch):
        scroll.ensureWidgetVisible(editor)
        before = scroll.verticalScrollBar().value()
        wheel(editor, 3)
        assert scroll.verticalScrollBar().value() < before, "the page did not scroll"
    assert kv.currentData() == "q8_0"
    assert batch.value() == 512
    assert kv.focusPolicy() == Qt.FocusPolicy.StrongFocus

    # Once the user clicks into it (or tabs to it), the wheel is the list's again.
    kv.setFocus()
    qtbot.waitUntil(kv.hasFocus)
    wheel(kv, 1)
    assert kv.currentData() == "f16"


def test_advanced_options_stay_hidden_until_opened(page: SettingsPage) -> None:
    advanced = ("threads", "batch_size", "flash_attention", "kv_cache_type", "server_port")
    assert not any(page.editors[key].isVisible() for key in advanced)
    assert page.editors["context_length"].isVisible()
    assert page.editors["models_dir"].isVisible()
    page.advanced_toggle.click()
    assert all(page.editors[key].isVisible() for key in advanced)
    page.advanced_toggle.click()
    assert not page.editors["kv_cache_type"].isVisible()


@pytest.mark.parametrize("bad", ["/etc/passwd", "/etc/passwd/models", "models"])
def test_a_models_folder_that_is_not_a_writable_folder_is_refused_and_not_saved(
    page: SettingsPage, qtbot, bad: str
) -> None:  # type: ignore[no-untyped-def]
    applied: list[object] = []
    page.applied.connect(lambda settings, keys: applied.append(keys))
    page.editors["models_dir"].setText(bad)
    page.editors["temperature"].setValue(0.3)
    assert not page.apply()
    error = page.field_errors["models_dir"]
    assert error.isVisible()
    assert "folder" in error.text() or "full path" in error.text()
    assert "index" not in error.text()
    assert applied == []
    assert page.settings == Settings()  # nothing taken in, nothing saved
    assert page.editors["models_dir"].text() == bad  # the text stays to be corrected


def test_a_good_models_folder_clears_the_error_and_is_applied(page: SettingsPage, tmp_path) -> None:  # type: ignore[no-untyped-def]
    applied: list[set[str]] = []
    page.applied.connect(lambda settings, keys: applied.append(keys))
    page.editors["models_dir"].setText("/etc/passwd")
    assert not page.apply()
    page.editors["models_dir"].setText(str(tmp_path / "models"))
    assert page.apply()
    assert not page.field_errors["models_dir"].isVisible()
    assert applied == [{"models_dir"}]
    assert page.settings.models_dir == str(tmp_path / "models")


def test_a_bad_advanced_value_opens_advanced_to_show_it(page: SettingsPage) -> None:
    page.editors["server_allowed_origins"].setText("*")
    assert not page.apply()
    assert page.advanced_toggle.isChecked()
    assert page.field_errors["server_allowed_origins"].isVisible()


def test_the_window_keeps_no_bad_models_folder(qtbot) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    try:
        window.show_page("settings")
        page = window.settings_page
        page.editors["models_dir"].setText("/etc/passwd")
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        assert "/etc/passwd is a file, not a folder" in page.field_errors["models_dir"].text()
        assert window.context.current.models_dir == ""
        file = session.paths.settings_file
        assert not file.exists() or load_settings(file).models_dir == ""
    finally:
        window.close()
        session.close()


# -- per-model settings ---------------------------------------------------------------------


def test_the_model_dialog_shows_the_app_s_values_until_a_row_is_its_own(qtbot) -> None:  # type: ignore[no-untyped-def]
    app = Settings(context_length=4096, temperature=0.7)
    own = ModelSettings(values={"temperature": 0.2})
    note = "This file has no chat template; the model is using the plain format now."
    dialog = ModelSettingsDialog("tiny.gguf", own, app, template_note=note)
    qtbot.addWidget(dialog)
    assert dialog.template_note.text() == note and not dialog.template_note.isHidden()
    context = dialog.editors["context_length"]
    assert isinstance(context, QSpinBox)
    assert context.value() == 4096 and not context.isEnabled()
    assert dialog.own_boxes["temperature"].isChecked()
    dialog.own_boxes["context_length"].setChecked(True)
    assert context.isEnabled()
    context.setValue(512)
    dialog.own_boxes["temperature"].setChecked(False)  # back to the app's 0.7
    dialog.template.setCurrentIndex(dialog.template.findData("gemma"))
    assert "Gemma" in dialog.template.currentText()
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_settings == ModelSettings(
        values={"context_length": 512}, chat_template="gemma"
    )


def test_follow_the_app_clears_every_own_value(qtbot) -> None:  # type: ignore[no-untyped-def]
    own = ModelSettings(values={"top_k": 3, "system_prompt": "Arr."}, chat_template="phi")
    dialog = ModelSettingsDialog("tiny.gguf", own, Settings())
    qtbot.addWidget(dialog)
    buttons = dialog.findChild(QDialogButtonBox)
    buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).click()
    assert dialog.chosen() == ModelSettings()
    assert dialog.editors["top_k"].value() == Settings().top_k


def test_model_settings_are_saved_and_the_next_load_uses_them(
    qtbot, stories_model, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    window = session.build_window()
    window.show()
    try:
        selector = window.model_bar.selector
        assert selector.findText(MODEL_SETTINGS) == -1  # nothing loaded yet
        with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
            window.load_model(str(stories_model))
        qtbot.waitUntil(lambda: window.loaded is not None)
        assert window.loaded.prompt_format is PromptFormat.PLAIN  # no template of its own
        qtbot.waitUntil(lambda: selector.findText(MODEL_SETTINGS) > 0)  # in the model list

        chosen = ModelSettings(
            values={"context_length": 512, "temperature": 0.0, "system_prompt": "Arr."},
            chat_template="chatml",
        )
        shown: list[ModelSettings] = []

        notes: list[str] = []

        def answer(cls, parent, name, own, app, *, template_note=""):  # type: ignore[no-untyped-def]
            shown.append(own)
            notes.append(template_note)
            return chosen

        monkeypatch.setattr(ModelSettingsDialog, "ask", classmethod(answer))
        asked: list[str] = []
        monkeypatch.setattr(
            Ask, "confirm", classmethod(lambda cls, p, title, t: asked.append(title) or True)
        )
        with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
            selector.activated.emit(selector.findText(MODEL_SETTINGS))
        qtbot.waitUntil(lambda: window.loaded is not None and window.loaded.context_length == 512)
        assert shown == [ModelSettings()] and asked == ["Reload the model?"]
        assert notes == ["This file has no chat template; the model is using the plain format now."]
        assert selector.currentText() == stories_model.name  # the list shows the model again
        assert window.context.model_settings.get(stories_model) == chosen
        assert window.loaded.options.chat_template == "chatml"
        assert window.loaded.prompt_format is PromptFormat.TEMPLATE
        assert "ChatML chat template set in this model's settings" in (
            window.chat_page.model_note.text()
        )
        assert window.chat_page.system_prompt.text() == "Arr."  # the new chat takes it
        assert window.context.current.context_length == Settings().context_length  # app's kept
    finally:
        window.close()
        session.close()


def test_a_system_prompt_being_typed_is_not_replaced_by_the_model_s(qtbot, stories_model) -> None:  # type: ignore[no-untyped-def]
    session = Session()
    session.context.model_settings.set(
        stories_model, ModelSettings(values={"system_prompt": "Arr."})
    )
    window = session.build_window()
    window.show()
    try:
        window.chat_page.system_prompt.setText("Answer in French.")  # not committed yet
        with qtbot.waitSignal(window.worker.loaded, timeout=60_000):
            window.load_model(str(stories_model))
        qtbot.waitUntil(lambda: window.loaded is not None)
        assert window.chat_page.system_prompt.text() == "Answer in French."
        window.chat.new_chat()  # a fresh new chat takes the model's own prompt
        assert window.chat_page.system_prompt.text() == "Arr."
    finally:
        window.close()
        session.close()


def test_a_section_added_later_comes_before_advanced(page: SettingsPage) -> None:
    section = QWidget()
    page.add_section("Backups", section)
    column = page._column
    assert column.indexOf(section) < column.indexOf(page._advanced_holder)
    assert column.indexOf(page._advanced_holder) == column.count() - 2  # then the stretch
