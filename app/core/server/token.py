"""The local server's bearer token: made by Hearth, kept in the OS keychain only.

A server that listens beyond this computer requires it from every client. It is shown
only when asked (``hearth serve --show-token``), never logged, and never written to a
file: with no keychain to keep it, such a server does not start.
"""

from __future__ import annotations

import secrets

from app.core.secrets import KeyStore

PREFIX = "hearth-"


class ServerToken:
    """The token in the keychain (``store`` overrides the OS keychain, for tests)."""

    def __init__(self, store: KeyStore | None = None) -> None:
        self._store = (store or KeyStore()).server_token

    def __repr__(self) -> str:
        return f"ServerToken({self._store.location() or 'none'})"

    def get(self) -> str:
        """The token, made and stored first if there is none.

        Raises KeychainUnavailableError when no keychain can keep it, KeychainError
        when the keychain refused.
        """
        return self._store.load() or self.renew()

    def peek(self) -> str | None:
        """The stored token, or None; never makes one."""
        return self._store.load()

    def renew(self) -> str:
        """Make a new token and store it; clients with the old one are refused from now."""
        token = PREFIX + secrets.token_urlsafe(32)
        self._store.save(token)
        return token

    def clear(self) -> bool:
        """Remove the token from the keychain; True when there was one."""
        return self._store.clear()
