"""Safer settings: the wheel, the models folder, the Advanced options, per-model settings."""

from __future__ import annotations

import pytest

from app.core.settings import Settings
from app.ui.settings_page import SettingsPage

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def page(qtbot) -> SettingsPage:  # type: ignore[no-untyped-def]
    page = SettingsPage(Settings())
    qtbot.addWidget(page)
    page.resize(700, 400)  # shorter than the page: it scrolls
    page.show()
    qtbot.waitExposed(page)
    return page


def test_advanced_options_stay_hidden_until_opened(page: SettingsPage) -> None:
    advanced = ("threads", "batch_size", "flash_attention", "kv_cache_type", "server_port")
    assert not any(page.editors[key].isVisible() for key in advanced)
    assert page.editors["context_length"].isVisible()
    assert page.editors["models_dir"].isVisible()
    page.advanced_toggle.click()
    assert all(page.editors[key].isVisible() for key in advanced)
    page.advanced_toggle.click()
    assert not page.editors["kv_cache_type"].isVisible()
