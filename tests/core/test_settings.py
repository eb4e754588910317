"""Settings: defaults, validation a person can act on, and a file that is never half-written."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from app.core.settings import (
    KV_CACHE_CHOICES,
    QUANT_CHOICES,
    SETTINGS_VERSION,
    THEME_CHOICES,
    Settings,
    SettingsChange,
    SettingsError,
    SettingsStore,
    load_settings,
    save_settings,
)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


# -- defaults and descriptions ------------------------------------------------------------


def test_a_missing_file_gives_the_defaults(settings_file: Path) -> None:
    settings = load_settings(settings_file)
    assert settings == Settings()
    assert not settings_file.exists()  # reading never creates the file


def test_defaults_are_sensible() -> None:
    settings = Settings()
    assert settings.quantization == "auto"
    assert settings.gpu_layers == -1
    assert settings.context_length == 4096
    assert settings.theme == "system"
    assert settings.language == "system"
    assert settings.offline is False
    assert settings.version == SETTINGS_VERSION


def test_every_setting_explains_itself_in_one_line() -> None:
    keys = Settings.keys()
    assert "version" not in keys
    for key in keys:
        help_text = Settings.describe(key)
        assert help_text.strip(), key
        assert "\n" not in help_text, key
        # Every default passes its own validation.
        default = Settings().get(key)
        assert Settings().with_value(key, default).get(key) == default


def test_choices_are_listed_for_settings_that_have_them() -> None:
    assert Settings.choices("quantization") == QUANT_CHOICES
    assert Settings.choices("kv_cache_type") == KV_CACHE_CHOICES
    assert Settings.choices("theme") == THEME_CHOICES
    assert Settings.choices("language") == ("system", "en", "vi")
    assert Settings.choices("temperature") == ()


@pytest.mark.parametrize("method", ["describe", "choices", "get"])
def test_an_unknown_key_is_a_typed_error(method: str) -> None:
    target = Settings() if method == "get" else Settings
    with pytest.raises(SettingsError, match="no setting called 'colour'"):
        getattr(target, method)("colour")


def test_version_is_not_a_setting_a_person_can_change() -> None:
    with pytest.raises(SettingsError):
        Settings().with_value("version", 99)


# -- parsing and validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("temperature", "0.2", 0.2),
        ("temperature", " 1 ", 1.0),
        ("context_length", "8192", 8192),
        ("gpu_layers", "-1", -1),
        ("flash_attention", "on", True),
        ("flash_attention", "TRUE", True),
        ("flash_attention", "no", False),
        ("flash_attention", "0", False),
        ("quantization", "Q5_K_M", "Q5_K_M"),
        ("system_prompt", "Answer in French.", "Answer in French."),
        ("models_dir", "", ""),
    ],
)
def test_text_from_a_terminal_or_a_field_is_parsed(key: str, text: str, expected: object) -> None:
    assert Settings().with_value(key, text).get(key) == expected


def test_with_value_returns_a_copy_and_leaves_the_original() -> None:
    original = Settings()
    changed = original.with_value("theme", "dark")
    assert changed.theme == "dark"
    assert original.theme == "system"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("theme", "blue", "theme must be one of system, light, dark; 'blue' is not."),
        ("language", "fr", "language must be one of system, en, vi; 'fr' is not."),
        ("quantization", "q4_k_m", "must be one of auto, Q8_0,"),
        ("temperature", "9", "temperature must be at most 5.0; 9.0 is too large."),
        ("context_length", "16", "context_length must be at least 256; 16 is too small."),
        ("context_length", "4k", "context_length must be int, not '4k'."),
        ("top_k", "1.5", "top_k must be int"),
        ("top_k", True, "top_k must be int"),
        ("flash_attention", "maybe", "flash_attention must be bool, not 'maybe'."),
        ("system_prompt", 3, "system_prompt must be str, not 3."),
        ("temperature", "nan", "temperature must be float"),
        ("temperature", float("nan"), "temperature must be float"),
        ("top_p", "inf", "top_p must be float"),
    ],
)
def test_bad_values_say_what_is_allowed(key: str, value: object, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings().with_value(key, value)
    assert message in str(caught.value)
    assert "hearth config list" in caught.value.hint


# -- the file -----------------------------------------------------------------------------


def test_saved_settings_round_trip(settings_file: Path) -> None:
    settings = (
        Settings()
        .with_value("theme", "dark")
        .with_value("temperature", "0.3")
        .with_value("flash_attention", "yes")
        .with_value("system_prompt", 'Quotes " and \\ and unicode 🔥\nand a newline')
        .with_value("seed", "42")
    )
    save_settings(settings, settings_file)
    assert load_settings(settings_file) == settings
    data = json.loads(settings_file.read_text(encoding="utf-8"))
    assert data["version"] == SETTINGS_VERSION
    assert data["theme"] == "dark"


def test_save_leaves_no_temporary_files(settings_file: Path) -> None:
    save_settings(Settings(), settings_file)
    save_settings(Settings().with_value("theme", "light"), settings_file)
    assert [p.name for p in settings_file.parent.iterdir()] == ["settings.json"]


def test_a_failed_write_leaves_the_old_file_intact(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(Settings().with_value("theme", "dark"), settings_file)
    before = settings_file.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_settings(Settings().with_value("theme", "light"), settings_file)
    assert settings_file.read_bytes() == before
    assert [p.name for p in settings_file.parent.iterdir()] == ["settings.json"]
    monkeypatch.undo()
    assert load_settings(settings_file).theme == "dark"


@pytest.mark.parametrize(
    "content",
    [
        b'{"theme": "dark",',  # cut short
        b"\xff\xfe garbage",  # not text
        b"[1, 2, 3]",  # JSON, but not settings
        b"",
    ],
)
def test_a_damaged_file_is_an_error_and_is_left_untouched(
    settings_file: Path, content: bytes
) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file)
    assert str(settings_file) in str(caught.value)
    assert settings_file.read_bytes() == content


def test_a_bad_value_in_the_file_names_the_file_and_the_value(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    content = json.dumps({"version": 1, "theme": "dark", "temperature": 99})
    settings_file.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file)
    assert str(settings_file) in str(caught.value)
    assert "temperature must be at most 5.0" in str(caught.value)
    assert settings_file.read_text(encoding="utf-8") == content


def test_a_nan_in_the_file_is_refused(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"version": 1, "temperature": NaN}', encoding="utf-8")
    with pytest.raises(SettingsError, match="temperature"):
        load_settings(settings_file)


def test_a_file_from_a_newer_hearth_is_a_clear_error(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    content = json.dumps({"version": SETTINGS_VERSION + 1, "theme": "dark", "new_thing": 1})
    settings_file.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file)
    assert "newer Hearth" in str(caught.value)
    assert "Update Hearth" in caught.value.hint
    assert settings_file.read_text(encoding="utf-8") == content


@pytest.mark.parametrize("version", ["2", None, True, 0, 1.5])
def test_a_file_with_an_odd_version_is_not_called_newer(
    settings_file: Path, version: object
) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(json.dumps({"version": version}), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file)
    assert "newer" not in str(caught.value)


def test_a_file_without_a_version_is_read_as_the_first_format(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(json.dumps({"theme": "light"}), encoding="utf-8")
    assert load_settings(settings_file).theme == "light"


def test_unknown_keys_in_the_file_are_ignored(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(
        json.dumps({"version": 1, "theme": "light", "retired_setting": 1}), encoding="utf-8"
    )
    settings = load_settings(settings_file)
    assert settings.theme == "light"
    assert "retired_setting" not in settings.to_dict()


def test_integral_floats_in_the_file_are_accepted_for_int_settings(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(json.dumps({"context_length": 8192.0}), encoding="utf-8")
    loaded = load_settings(settings_file)
    assert loaded.context_length == 8192
    assert isinstance(loaded.context_length, int)
    assert not math.isnan(loaded.temperature)


# -- the live store -----------------------------------------------------------------------


def test_the_store_saves_then_tells_every_subscriber_which_keys_changed(
    settings_file: Path,
) -> None:
    store = SettingsStore.open(settings_file)
    heard: list[SettingsChange] = []
    also: list[frozenset[str]] = []
    store.subscribe(heard.append)
    store.subscribe(lambda change: also.append(change.keys))
    before = store.current
    changed = store.update(before.with_value("offline", True).with_value("theme", "dark"))
    assert changed == {"offline", "theme"}
    assert store.current.offline and store.current.theme == "dark"
    # Saved before anyone heard of it: a listener that reads the file sees the change.
    assert load_settings(settings_file).offline
    [change] = heard
    assert change.keys == {"offline", "theme"} and also == [change.keys]
    assert change.before == before and change.after == store.current
    assert store.set("offline", "false") == {"offline"}
    assert not load_settings(settings_file).offline
    assert [c.keys for c in heard] == [{"offline", "theme"}, {"offline"}]


def test_an_update_that_changes_nothing_is_not_announced_nor_written(
    settings_file: Path,
) -> None:
    store = SettingsStore.open(settings_file)
    heard: list[SettingsChange] = []
    store.subscribe(heard.append)
    assert store.update(Settings()) == frozenset()
    assert heard == [] and not settings_file.exists()


def test_a_bad_value_is_refused_and_nothing_changes(settings_file: Path) -> None:
    store = SettingsStore.open(settings_file)
    store.set("theme", "dark")
    heard: list[SettingsChange] = []
    store.subscribe(heard.append)
    with pytest.raises(SettingsError, match=r"temperature must be at most 5\.0"):
        store.set("temperature", "99")
    with pytest.raises(SettingsError, match="no setting called 'ofline'"):
        store.set("ofline", "true")
    assert heard == [] and store.current.temperature == Settings().temperature
    assert load_settings(settings_file).theme == "dark"


def test_a_failed_save_changes_nothing_and_announces_nothing(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SettingsStore.open(settings_file)
    store.set("theme", "dark")
    heard: list[SettingsChange] = []
    store.subscribe(heard.append)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.set("offline", True)
    monkeypatch.undo()
    assert heard == [] and not store.current.offline
    assert load_settings(settings_file) == store.current


def test_unsubscribed_listeners_hear_nothing_more(settings_file: Path) -> None:
    store = SettingsStore.open(settings_file)
    heard: list[frozenset[str]] = []
    unsubscribe = store.subscribe(lambda change: heard.append(change.keys))
    store.set("offline", True)
    unsubscribe()
    store.set("offline", False)
    assert heard == [{"offline"}]


def test_a_failing_listener_does_not_keep_the_others_from_hearing(settings_file: Path) -> None:
    store = SettingsStore.open(settings_file)
    heard: list[frozenset[str]] = []

    def broken(change: SettingsChange) -> None:
        raise RuntimeError("a bug in one listener")

    store.subscribe(broken)
    store.subscribe(lambda change: heard.append(change.keys))
    with pytest.raises(RuntimeError, match="a bug in one listener"):
        store.set("offline", True)
    assert heard == [{"offline"}]
    assert store.current.offline and load_settings(settings_file).offline


def test_reload_takes_in_what_another_process_wrote(settings_file: Path) -> None:
    store = SettingsStore.open(settings_file)
    heard: list[frozenset[str]] = []
    store.subscribe(lambda change: heard.append(change.keys))
    # `hearth config set offline true` in a terminal, while the app runs:
    save_settings(Settings().with_value("offline", True), settings_file)
    assert store.reload() == {"offline"}
    assert store.current.offline and heard == [{"offline"}]
    assert store.reload() == frozenset() and heard == [{"offline"}]


def test_reload_of_a_damaged_file_keeps_the_current_settings(settings_file: Path) -> None:
    store = SettingsStore.open(settings_file)
    store.set("offline", True)
    settings_file.write_text('{"offline": fals', encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot be read"):
        store.reload()
    assert store.current.offline
    assert settings_file.read_text(encoding="utf-8") == '{"offline": fals'  # left to be fixed


def test_opening_a_damaged_file_is_an_error_and_leaves_it(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_bytes(b"[1, 2]")
    with pytest.raises(SettingsError, match="does not hold settings"):
        SettingsStore.open(settings_file)
    assert settings_file.read_bytes() == b"[1, 2]"


# -- the local server's settings ------------------------------------------------------------


def test_the_server_listens_on_this_computer_only_by_default() -> None:
    settings = Settings()
    assert settings.server_host == "127.0.0.1"
    assert settings.server_allowed_origins == ""
    assert settings.server_log_bodies is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost", "localhost"),
        (" LOCALHOST ", "localhost"),
        ("[::1]", "::1"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_server_host_is_an_address(text: str, expected: str) -> None:
    assert Settings().with_value("server_host", text).server_host == expected


def test_a_host_name_is_not_a_bind_address() -> None:
    with pytest.raises(SettingsError, match=r"server_host: 'my-laptop\.example' is not an IP"):
        Settings().with_value("server_host", "my-laptop.example")


def test_allowed_origins_are_normalized() -> None:
    settings = Settings().with_value(
        "server_allowed_origins",
        "http://localhost:3000, HTTPS://Notes.Example/ http://localhost:3000",
    )
    assert settings.server_allowed_origins == "http://localhost:3000,https://notes.example"
    # Desktop apps that are web pages inside send their own scheme (Obsidian: app://).
    app = Settings().with_value("server_allowed_origins", "app://obsidian.md")
    assert app.server_allowed_origins == "app://obsidian.md"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*", "a wildcard is never allowed"),
        ("https://*.example", "a wildcard is never allowed"),
        ("http://localhost:3000/app", "no path"),
        ("localhost:3000", "not an origin"),
        ("file:///tmp/x.html", "not an origin"),
        ("null", "not an origin"),  # every local file and sandboxed frame sends it
    ],
)
def test_bad_origins_are_refused_and_the_file_keeps_its_value(
    settings_file: Path, text: str, message: str
) -> None:
    save_settings(
        Settings().with_value("server_allowed_origins", "http://ok.example"), settings_file
    )
    with pytest.raises(SettingsError, match=message):
        load_settings(settings_file).with_value("server_allowed_origins", text)
    assert load_settings(settings_file).server_allowed_origins == "http://ok.example"
    data = json.loads(settings_file.read_text())
    data["server_allowed_origins"] = text
    settings_file.write_text(json.dumps(data))
    with pytest.raises(SettingsError, match=message):
        load_settings(settings_file)
    assert json.loads(settings_file.read_text())["server_allowed_origins"] == text  # left as it was
