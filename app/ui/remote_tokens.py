"""Remote servers' tokens for the chat, read from the keychain in the background.

A send runs on the GUI thread and asks for the chosen server's token; reading the
keychain there may wait on a locked keychain or D-Bus. So the tokens are read in the
background when the app starts and whenever the servers or a token change (and after a
server refused one), and a send takes the token read then. Only while no read is back
yet does a send read it itself, as the Claude key does (``ChatController``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core.errors import HearthError
from app.core.secrets import KeyStore
from app.ui.operations import run_operation


class RemoteTokens:
    """Each remote server's token by name, as last read in the background."""

    def __init__(self, keys: KeyStore, names: Callable[[], Iterable[str]]) -> None:
        self.keys = keys
        self._names = names
        self._tokens: dict[str, str | None] | None = None  # None: no read back yet
        self.pending = 0  # background reads not back yet

    def refresh(self) -> None:
        """Read every server's token again, in the background."""
        keys, names = self.keys, list(self._names())
        self._tokens = None  # until the read is back, a send reads its token itself
        self.pending += 1

        def read_all() -> dict[str, str | None]:
            return {name: keys.remote_token(name).load() for name in names}

        def read(tokens: object) -> None:
            self.pending -= 1
            if self.pending == 0 and isinstance(tokens, dict):
                self._tokens = tokens

        def failed(_error: HearthError) -> None:  # a send reads it then and says what failed
            self.pending -= 1

        run_operation(read_all, on_success=read, on_failure=failed, doing="reading the tokens")

    def get(self, name: str) -> str | None:
        """The token of the server ``name`` (None: it needs none)."""
        if self._tokens is not None and name in self._tokens:
            return self._tokens[name]
        return self.keys.remote_token(name).load()  # not read yet: this once, here
