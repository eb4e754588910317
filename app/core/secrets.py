"""The Anthropic API key, kept in the OS keychain and nowhere else.

:class:`KeyStore` stores the key with keyring (service ``"Hearth"``): macOS Keychain,
Windows Credential Locker, or the Secret Service (GNOME Keyring, KWallet) on Linux.
Backends that write plain or home-made encrypted files (``keyrings.alt``) are refused.
When no usable keychain exists, saving says so (:class:`KeychainUnavailableError`)
and the caller may offer ``session_only=True``: the key then lives in this object's
memory until the app quits. It is never written to a file, logged, or shown in a
``repr`` or an error message.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

import keyring
import keyring.backend
import keyring.core
import keyring.errors
from keyring.backends.chainer import ChainerBackend

from app.core.errors import HearthError

log = logging.getLogger(__name__)

SERVICE = "Hearth"
ACCOUNT = "anthropic-api-key"
_FILE_BACKENDS = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")


class SecretsError(HearthError):
    """The key could not be stored, read or removed."""


class KeychainUnavailableError(SecretsError):
    hint = (
        "Hearth can keep the key in memory for this session only (forgotten when Hearth "
        "quits); it never writes the key to a file. On Linux, install and unlock GNOME "
        "Keyring or KWallet to keep it."
    )


class KeychainError(SecretsError):
    hint = "Unlock your keychain (or allow Hearth to use it) and try again."


class InvalidKeyFormatError(SecretsError):
    hint = "Paste the whole key from your Anthropic console (it starts with sk-ant-)."


class KeyLocation(enum.StrEnum):
    """Where the key is kept."""

    KEYCHAIN = "keychain"
    SESSION = "session"  # in memory, until the app quits


@dataclass(frozen=True, slots=True)
class KeychainStatus:
    """Whether a usable keychain exists, which one, and if not, why."""

    available: bool
    backend: str
    reason: str = ""


def _describe(backend: Any) -> str:
    name = getattr(backend, "name", None)
    return str(name) if name else f"{type(backend).__module__}.{type(backend).__name__}"


def _is_file_backend(backend: Any) -> bool:
    module = type(backend).__module__
    if module.startswith(_FILE_BACKENDS):
        return True
    if isinstance(backend, ChainerBackend):
        try:
            inner = list(backend.backends)
        except Exception:  # a member backend that cannot run here
            return True
        return not inner or all(_is_file_backend(b) for b in inner)
    return False


def _priority(backend: Any) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend that cannot run here says so by raising
        return 0.0


def find_keychain() -> tuple[Any | None, KeychainStatus]:
    """The OS keychain keyring would use now (not cached), or None and the reason."""
    try:
        configured = keyring.core.load_env() or keyring.core.load_config()
    except Exception as error:
        return None, KeychainStatus(False, "", f"keyring's configuration is broken ({error})")
    if configured is not None:
        if _is_file_backend(configured):
            return None, KeychainStatus(
                False,
                _describe(configured),
                f"the configured keyring ({_describe(configured)}) keeps keys in plain files "
                "or not at all",
            )
        return configured, KeychainStatus(True, _describe(configured))
    candidates = [
        b
        for b in keyring.backend.get_all_keyring()
        if not isinstance(b, ChainerBackend) and not _is_file_backend(b) and _priority(b) > 0
    ]
    if not candidates:
        return None, KeychainStatus(
            False,
            "",
            "no OS keychain is available (on Linux: no Secret Service such as GNOME Keyring "
            "or KWallet is running on the session bus)",
        )
    best = max(candidates, key=_priority)
    return best, KeychainStatus(True, _describe(best))


def normalize_key(text: str) -> str:
    """The key without surrounding whitespace; refuses text that cannot be a key."""
    key = text.strip()
    if not key:
        raise InvalidKeyFormatError("The API key is empty.")
    if any(c.isspace() or not c.isprintable() for c in key) or not key.isascii():
        raise InvalidKeyFormatError("That does not look like an API key (it contains spaces).")
    if len(key) < 20:
        raise InvalidKeyFormatError("That does not look like an API key (it is too short).")
    return key


class KeyStore:
    """Saves, reads and clears the Anthropic API key. See the module docstring.

    ``backend`` overrides the keychain (tests); by default the OS keychain is found
    when the store is made (:meth:`refresh` looks again).
    """

    def __init__(
        self, *, backend: Any | None = None, service: str = SERVICE, account: str = ACCOUNT
    ) -> None:
        self.service = service
        self.account = account
        self._session: str | None = None
        if backend is not None:
            self._backend: Any | None = backend
            self._status = KeychainStatus(True, _describe(backend))
        else:
            self._backend, self._status = find_keychain()

    def __repr__(self) -> str:
        where = self.location()
        return f"KeyStore(keychain={self._status.backend or None!r}, key={where or 'none'})"

    def refresh(self) -> KeychainStatus:
        """Look for the OS keychain again (after the user unlocked or installed one)."""
        self._backend, self._status = find_keychain()
        return self._status

    @property
    def status(self) -> KeychainStatus:
        return self._status

    def save(self, key: str, *, session_only: bool = False) -> KeyLocation:
        """Store ``key``: in the keychain, or in memory for this session if asked.

        Raises KeychainUnavailableError when there is no keychain (offer
        ``session_only``), KeychainError when the keychain refused.
        """
        key = normalize_key(key)
        if session_only:
            self._session = key
            log.info("API key kept in memory for this session only")
            return KeyLocation.SESSION
        backend = self._require()
        try:
            backend.set_password(self.service, self.account, key)
        except Exception as error:
            raise KeychainError(
                f"The keychain ({self._status.backend}) did not store the key: {_safe(error, key)}."
            ) from None
        self._session = None
        log.info("API key stored in the keychain (%s)", self._status.backend)
        return KeyLocation.KEYCHAIN

    def load(self) -> str | None:
        """The key (session copy first, then the keychain), or None when none is set."""
        if self._session is not None:
            return self._session
        if self._backend is None:
            return None
        try:
            value = self._backend.get_password(self.service, self.account)
        except Exception as error:
            raise KeychainError(
                f"The keychain ({self._status.backend}) could not be read: {_safe(error)}."
            ) from None
        return value or None

    def location(self) -> KeyLocation | None:
        """Where the key is, or None; never raises (a locked keychain counts as none)."""
        if self._session is not None:
            return KeyLocation.SESSION
        try:
            return KeyLocation.KEYCHAIN if self.load() else None
        except SecretsError:
            return None

    def clear(self) -> bool:
        """Forget the key everywhere; True when there was one."""
        removed = self._session is not None
        self._session = None
        if self._backend is not None:
            try:
                if self._backend.get_password(self.service, self.account) is not None:
                    self._backend.delete_password(self.service, self.account)
                    removed = True
            except keyring.errors.PasswordDeleteError:
                pass
            except Exception as error:
                raise KeychainError(
                    f"The keychain ({self._status.backend}) could not remove the key: "
                    f"{_safe(error)}."
                ) from None
        if removed:
            log.info("API key removed")
        return removed

    def _require(self) -> Any:
        if self._backend is None:
            raise KeychainUnavailableError(f"Hearth cannot keep the key: {self._status.reason}.")
        return self._backend


def _safe(error: BaseException, key: str | None = None) -> str:
    text = str(error) or type(error).__name__
    if key:
        text = text.replace(key, "[API key]")
    return text
