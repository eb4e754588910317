"""Hearth's secrets (the Anthropic API key, the Hugging Face token, the local server's
token), in the OS keychain only.

One :class:`KeyStore` keeps them all, with keyring (service ``"Hearth"``): macOS Keychain,
Windows Credential Locker, or the Secret Service (GNOME Keyring, KWallet) on Linux.
Backends that write plain or home-made encrypted files (``keyrings.alt``) are refused,
for every secret. Each secret is a :class:`Secret` of the store (``keys.claude``,
``keys.hub_token``, ``keys.server_token``). When no usable keychain exists, saving says so
(:class:`KeychainUnavailableError`) and the caller may offer ``session_only=True``: the
secret then lives in this object's memory until the app quits. A secret is never
written to a file, logged, or shown in a ``repr`` or an error message.
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
CLAUDE_ACCOUNT = "anthropic-api-key"
HUB_TOKEN_ACCOUNT = "huggingface-token"
SERVER_TOKEN_ACCOUNT = "local-server-token"
REMOTE_TOKEN_ACCOUNT = "remote-server-token:{name}"
_FILE_BACKENDS = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")


class SecretsError(HearthError):
    """A secret could not be stored, read or removed."""


class KeychainUnavailableError(SecretsError):
    hint = (
        "Hearth can keep it in memory for this session only (forgotten when Hearth "
        "quits); it never writes it to a file. On Linux, install and unlock GNOME "
        "Keyring or KWallet to keep it."
    )


class KeychainError(SecretsError):
    hint = "Unlock your keychain (or allow Hearth to use it) and try again."


class InvalidKeyFormatError(SecretsError):
    hint = "Paste the whole key from your Anthropic console (it starts with sk-ant-)."


class KeyLocation(enum.StrEnum):
    """Where a secret is kept."""

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


def normalize_key(
    text: str, *, what: str = "API key", paste_hint: str | None = None, min_length: int = 20
) -> str:
    """The secret without surrounding whitespace; refuses text that cannot be one."""
    key = text.strip()
    if not key:
        raise InvalidKeyFormatError(f"The {what} is empty.", hint=paste_hint)
    if any(c.isspace() or not c.isprintable() for c in key) or not key.isascii():
        raise InvalidKeyFormatError(
            f"That does not look like a valid {what} (it contains spaces).", hint=paste_hint
        )
    if len(key) < min_length:
        raise InvalidKeyFormatError(
            f"That does not look like a valid {what} (it is too short).", hint=paste_hint
        )
    return key


class Secret:
    """One secret of a :class:`KeyStore`: save, load, find and clear it.

    Made by the store (``keys.claude``, ``keys.hub_token``); it shares the store's
    keychain, so a keychain found again by :meth:`KeyStore.refresh` serves both.
    """

    def __init__(
        self, store: KeyStore, *, account: str, label: str, paste_hint: str, min_length: int = 20
    ) -> None:
        self._store = store
        self.account = account
        self.min_length = min_length
        self.label = label  # "Anthropic API key", in messages
        self.paste_hint = paste_hint
        self._session: str | None = None

    def __repr__(self) -> str:
        return f"Secret({self.account!r}, {self.location() or 'none'})"

    def save(self, text: str, *, session_only: bool = False) -> KeyLocation:
        """Store ``text``: in the keychain, or in memory for this session if asked.

        Raises KeychainUnavailableError when there is no keychain (offer
        ``session_only``), KeychainError when the keychain refused,
        InvalidKeyFormatError for text that cannot be this secret.
        """
        value = normalize_key(
            text, what=self.label, paste_hint=self.paste_hint, min_length=self.min_length
        )
        if session_only:
            self._session = value
            log.info("%s kept in memory for this session only", self.label)
            return KeyLocation.SESSION
        store = self._store
        backend = store._require(self.label)
        try:
            backend.set_password(store.service, self.account, value)
        except Exception as error:
            raise KeychainError(
                f"The keychain ({store.status.backend}) did not store the {self.label}: "
                f"{_safe(error, value)}."
            ) from None
        self._session = None
        log.info("%s stored in the keychain (%s)", self.label, store.status.backend)
        return KeyLocation.KEYCHAIN

    def load(self) -> str | None:
        """The secret (session copy first, then the keychain), or None when none is set."""
        if self._session is not None:
            return self._session
        store = self._store
        if store._backend is None:
            return None
        try:
            value = store._backend.get_password(store.service, self.account)
        except Exception as error:
            raise KeychainError(
                f"The keychain ({store.status.backend}) could not be read: {_safe(error)}."
            ) from None
        return value or None

    def location(self) -> KeyLocation | None:
        """Where the secret is, or None; never raises (a locked keychain counts as none)."""
        if self._session is not None:
            return KeyLocation.SESSION
        try:
            return KeyLocation.KEYCHAIN if self.load() else None
        except SecretsError:
            return None

    def clear(self) -> bool:
        """Forget the secret everywhere; True when there was one."""
        removed = self._session is not None
        self._session = None
        store = self._store
        if store._backend is not None:
            try:
                if store._backend.get_password(store.service, self.account) is not None:
                    store._backend.delete_password(store.service, self.account)
                    removed = True
            except keyring.errors.PasswordDeleteError:
                pass
            except Exception as error:
                raise KeychainError(
                    f"The keychain ({store.status.backend}) could not remove the {self.label}: "
                    f"{_safe(error)}."
                ) from None
        if removed:
            log.info("%s removed", self.label)
        return removed


class KeyStore:
    """Hearth's secrets in the OS keychain. See the module docstring.

    ``claude`` is the Anthropic API key, ``hub_token`` the Hugging Face token,
    ``server_token`` the bearer token of ``hearth serve`` beyond this computer;
    :meth:`remote_token` is the token of one remote server (``settings.remotes``).
    ``backend`` overrides the keychain (tests); by default the OS keychain is found
    when the store is made (:meth:`refresh` looks again).
    """

    def __init__(self, *, backend: Any | None = None, service: str = SERVICE) -> None:
        self.service = service
        if backend is not None:
            self._backend: Any | None = backend
            self._status = KeychainStatus(True, _describe(backend))
        else:
            self._backend, self._status = find_keychain()
        self.claude = Secret(
            self,
            account=CLAUDE_ACCOUNT,
            label="API key",
            paste_hint=InvalidKeyFormatError.hint,
        )
        self.hub_token = Secret(
            self,
            account=HUB_TOKEN_ACCOUNT,
            label="Hugging Face token",
            paste_hint="Paste the whole token from huggingface.co/settings/tokens "
            "(it starts with hf_).",
        )
        self.server_token = Secret(
            self,
            account=SERVER_TOKEN_ACCOUNT,
            label="local server token",
            paste_hint="Hearth makes this token itself: `hearth serve --new-token`.",
        )
        self._remotes: dict[str, Secret] = {}

    def remote_token(self, name: str) -> Secret:
        """The bearer token of the remote server called ``name`` (kept per server)."""
        if name not in self._remotes:  # one object per name, so a session-only copy stays
            self._remotes[name] = Secret(
                self,
                account=REMOTE_TOKEN_ACCOUNT.format(name=name),
                label=f"token of {name}",
                paste_hint="Paste the token (API key) that server was started with.",
                min_length=1,
            )
        return self._remotes[name]

    def __repr__(self) -> str:
        return (
            f"KeyStore(keychain={self._status.backend or None!r}, "
            f"claude={self.claude.location() or 'none'}, "
            f"hub_token={self.hub_token.location() or 'none'})"
        )

    def refresh(self) -> KeychainStatus:
        """Look for the OS keychain again (after the user unlocked or installed one)."""
        self._backend, self._status = find_keychain()
        return self._status

    @property
    def status(self) -> KeychainStatus:
        return self._status

    def _require(self, what: str) -> Any:
        if self._backend is None:
            raise KeychainUnavailableError(f"Hearth cannot keep the {what}: {self._status.reason}.")
        return self._backend


def _safe(error: BaseException, secret: str | None = None) -> str:
    text = str(error) or type(error).__name__
    if secret:
        text = text.replace(secret, "[secret]")
    return text
