"""The API key in a real OS keychain (a private gnome-keyring), and without one."""

from __future__ import annotations

from pathlib import Path

import pytest
import secretstorage

from app.core.secrets import (
    ACCOUNT,
    SERVICE,
    InvalidKeyFormatError,
    KeychainUnavailableError,
    KeyLocation,
    KeyStore,
)
from tests.support.claude_server import TEST_KEY
from tests.support.keychain import Keychain, keychain, no_keychain

__all__ = ["keychain", "no_keychain"]


def files_containing(root: Path, text: str) -> list[Path]:
    needle = text.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_key_round_trip_in_the_real_keychain(keychain: Keychain, hearth_home: Path) -> None:
    store = KeyStore()
    assert store.status.available, store.status.reason
    assert "SecretService" in store.status.backend or "Secret" in store.status.backend
    assert store.location() is None
    assert store.save(f"  {TEST_KEY}\n") is KeyLocation.KEYCHAIN
    # Another process (a new store) finds it, under service "Hearth".
    assert KeyStore().load() == TEST_KEY
    connection = secretstorage.dbus_init()
    try:
        items = list(secretstorage.search_items(connection, {"service": SERVICE}))
        assert [i.get_attributes()["username"] for i in items] == [ACCOUNT]
    finally:
        connection.close()
    assert TEST_KEY not in repr(store)
    # The keychain's own files are encrypted; Hearth's folders hold nothing.
    assert files_containing(keychain.data_dir, TEST_KEY) == []
    assert not hearth_home.exists() or files_containing(hearth_home, TEST_KEY) == []
    assert KeyStore().clear() is True
    assert KeyStore().load() is None
    assert KeyStore().clear() is False


def test_replacing_the_key_keeps_one_entry(keychain: Keychain) -> None:
    store = KeyStore()
    store.save(TEST_KEY)
    store.save(TEST_KEY.replace("TESTKEY", "NEWKEY1"))
    assert KeyStore().load() == TEST_KEY.replace("TESTKEY", "NEWKEY1")


def test_without_a_keychain_it_says_so_and_offers_session_only(
    no_keychain: None, hearth_home: Path
) -> None:
    store = KeyStore()
    assert not store.status.available
    assert "Secret Service" in store.status.reason
    with pytest.raises(KeychainUnavailableError) as caught:
        store.save(TEST_KEY)
    assert "this session only" in caught.value.hint
    assert TEST_KEY not in caught.value.describe()
    assert store.load() is None
    assert store.save(TEST_KEY, session_only=True) is KeyLocation.SESSION
    assert store.load() == TEST_KEY
    assert store.location() is KeyLocation.SESSION
    assert KeyStore().load() is None  # gone with the session: nothing was written
    assert not hearth_home.exists() or files_containing(hearth_home, TEST_KEY) == []
    assert store.clear() is True and store.load() is None


def test_file_keyrings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    store = KeyStore()
    assert not store.status.available
    with pytest.raises(KeychainUnavailableError):
        store.save(TEST_KEY)


@pytest.mark.parametrize("text", ["", "   ", "sk-ant-short", "sk-ant-api03 with spaces in it here"])
def test_text_that_is_not_a_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidKeyFormatError) as caught:
        KeyStore().save(text, session_only=True)
    if text.strip():
        assert text.strip() not in caught.value.describe()
