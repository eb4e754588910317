"""Hearth's secrets in a real OS keychain (a private gnome-keyring), and without one.

Both secrets, the Anthropic API key and the Hugging Face token, go through the one
KeyStore: the same keychain, the same refusal of plain-text backends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import secretstorage

from app.core.secrets import (
    CLAUDE_ACCOUNT,
    HUB_TOKEN_ACCOUNT,
    SERVICE,
    InvalidKeyFormatError,
    KeychainUnavailableError,
    KeyLocation,
    KeyStore,
)
from tests.support.claude_server import TEST_KEY
from tests.support.keychain import Keychain, keychain, no_keychain

__all__ = ["keychain", "no_keychain"]

HUB_TOKEN = "hf_" + "T0ken" * 7


def files_containing(root: Path, text: str) -> list[Path]:
    needle = text.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_key_round_trip_in_the_real_keychain(keychain: Keychain, hearth_home: Path) -> None:
    store = KeyStore()
    assert store.status.available, store.status.reason
    assert "SecretService" in store.status.backend or "Secret" in store.status.backend
    assert store.claude.location() is None
    assert store.claude.save(f"  {TEST_KEY}\n") is KeyLocation.KEYCHAIN
    # Another process (a new store) finds it, under service "Hearth".
    assert KeyStore().claude.load() == TEST_KEY
    connection = secretstorage.dbus_init()
    try:
        items = list(secretstorage.search_items(connection, {"service": SERVICE}))
        assert [i.get_attributes()["username"] for i in items] == [CLAUDE_ACCOUNT]
    finally:
        connection.close()
    assert TEST_KEY not in repr(store) and TEST_KEY not in repr(store.claude)
    # The keychain's own files are encrypted; Hearth's folders hold nothing.
    assert files_containing(keychain.data_dir, TEST_KEY) == []
    assert not hearth_home.exists() or files_containing(hearth_home, TEST_KEY) == []
    assert KeyStore().claude.clear() is True
    assert KeyStore().claude.load() is None
    assert KeyStore().claude.clear() is False


def test_the_hub_token_is_a_second_entry_beside_the_key(keychain: Keychain) -> None:
    store = KeyStore()
    store.claude.save(TEST_KEY)
    assert store.hub_token.location() is None  # the two never mix
    assert store.hub_token.save(f" {HUB_TOKEN}\n") is KeyLocation.KEYCHAIN
    again = KeyStore()
    assert again.hub_token.load() == HUB_TOKEN and again.claude.load() == TEST_KEY
    connection = secretstorage.dbus_init()
    try:
        items = list(secretstorage.search_items(connection, {"service": SERVICE}))
        names = sorted(i.get_attributes()["username"] for i in items)
        assert names == sorted([CLAUDE_ACCOUNT, HUB_TOKEN_ACCOUNT])
    finally:
        connection.close()
    assert HUB_TOKEN not in repr(again)
    assert again.hub_token.clear() is True
    assert KeyStore().hub_token.load() is None
    assert KeyStore().claude.load() == TEST_KEY  # clearing one leaves the other


def test_replacing_the_key_keeps_one_entry(keychain: Keychain) -> None:
    store = KeyStore()
    store.claude.save(TEST_KEY)
    store.claude.save(TEST_KEY.replace("TESTKEY", "NEWKEY1"))
    assert KeyStore().claude.load() == TEST_KEY.replace("TESTKEY", "NEWKEY1")


def test_without_a_keychain_it_says_so_and_offers_session_only(
    no_keychain: None, hearth_home: Path
) -> None:
    store = KeyStore()
    assert not store.status.available
    assert "Secret Service" in store.status.reason
    with pytest.raises(KeychainUnavailableError) as caught:
        store.claude.save(TEST_KEY)
    assert "this session only" in caught.value.hint
    assert TEST_KEY not in caught.value.describe()
    assert store.claude.load() is None
    assert store.claude.save(TEST_KEY, session_only=True) is KeyLocation.SESSION
    assert store.claude.load() == TEST_KEY
    assert store.claude.location() is KeyLocation.SESSION
    assert store.hub_token.load() is None  # a session copy is one secret's, not both
    assert KeyStore().claude.load() is None  # gone with the session: nothing was written
    assert not hearth_home.exists() or files_containing(hearth_home, TEST_KEY) == []
    assert store.claude.clear() is True and store.claude.load() is None


@pytest.mark.parametrize(
    "backend", ["keyring.backends.null.Keyring", "keyring.backends.fail.Keyring"]
)
def test_file_and_null_keyrings_are_refused_for_both_secrets(
    monkeypatch: pytest.MonkeyPatch, backend: str, hearth_home: Path
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    store = KeyStore()
    assert not store.status.available
    with pytest.raises(KeychainUnavailableError, match="Hearth cannot keep the API key"):
        store.claude.save(TEST_KEY)
    with pytest.raises(KeychainUnavailableError, match="cannot keep the Hugging Face token"):
        store.hub_token.save(HUB_TOKEN)
    assert store.claude.load() is None and store.hub_token.load() is None
    assert not hearth_home.exists() or files_containing(hearth_home, HUB_TOKEN) == []


@pytest.mark.parametrize("text", ["", "   ", "sk-ant-short", "sk-ant-api03 with spaces in it here"])
def test_text_that_is_not_a_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(InvalidKeyFormatError) as caught:
        KeyStore().claude.save(text, session_only=True)
    if text.strip():
        assert text.strip() not in caught.value.describe()
    assert "Anthropic console" in caught.value.hint


@pytest.mark.parametrize("text", ["", "hf_short", "hf_ with a space in the middle of it"])
def test_text_that_is_not_a_token_is_refused_with_the_token_hint(text: str) -> None:
    store = KeyStore()
    with pytest.raises(InvalidKeyFormatError) as caught:
        store.hub_token.save(text, session_only=True)
    assert "Hugging Face token" in str(caught.value)
    assert "huggingface.co" in caught.value.hint
    assert store.hub_token.load() is None
