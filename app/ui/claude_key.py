"""The Claude API key in Settings: set (hidden input), test with one request, forget.

The key goes to the OS keychain through :class:`~app.core.secrets.KeyStore`; where
there is none, the user may keep it in memory for this session only. Never a file.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.core.cloud import ClaudeClient, ensure_claude_allowed
from app.core.errors import HearthError
from app.core.secrets import KeychainUnavailableError, KeyStore
from app.core.settings import Settings
from app.ui.dialogs import Ask
from app.ui.operations import run_operation
from app.ui.settings_page import SettingsPage


class ClaudeKeyController(QObject):
    """Handles the key buttons of the settings page and shows where the key is."""

    failed = Signal(object)  # HearthError

    def __init__(
        self, *, keys: KeyStore, page: SettingsPage, settings: Callable[[], Settings]
    ) -> None:
        super().__init__()
        self.keys = keys
        self.page = page
        self._settings = settings
        page.set_key_requested.connect(self.set_claude_key)
        page.test_key_requested.connect(self.test_claude_key)
        page.clear_key_requested.connect(self.clear_claude_key)
        self._show_key_status()

    def _show_key_status(self) -> None:
        status = self.keys.status
        location = self.keys.location()
        if location is not None and str(location) != "none":
            text = f"A key is stored ({location})."
        elif status.available:
            text = f"No key yet. It will be kept in {status.backend}."
        else:
            text = f"No keychain: {status.reason}. A key can be kept for this session only."
        self.page.key_status.setText(text)

    def set_claude_key(self) -> None:
        key = Ask.secret(self.page, "Claude API key", "Paste your Anthropic API key:")
        if not key:
            return
        try:
            self.keys.save(key)
        except KeychainUnavailableError as error:
            if not Ask.confirm(
                self.page,
                "No keychain",
                f"{error.describe()}\n\nKeep the key in "
                "memory for this session only (it is never written to a file)?",
            ):
                return
            try:
                self.keys.save(key, session_only=True)
            except HearthError as again:
                self.failed.emit(again)
        except HearthError as error:
            self.failed.emit(error)
        self._show_key_status()

    def clear_claude_key(self) -> None:
        try:
            self.keys.clear()
        except HearthError as error:
            self.failed.emit(error)
        self._show_key_status()

    def test_claude_key(self) -> None:
        key = self.keys.load()
        settings = self._settings()
        if not key:
            self.failed.emit(HearthError("There is no key to test.", hint="Set one first."))
            return
        self.page.key_status.setText("Testing the key with one minimal request…")

        def work() -> object:
            ensure_claude_allowed(settings)
            with ClaudeClient.from_settings(settings, api_key=key, max_retries=0) as client:
                return client.test_key()

        def done(check: object) -> None:
            self.page.key_status.setText(f"The key works ({check.model}).")  # type: ignore[attr-defined]

        def failed(error: HearthError) -> None:
            self._show_key_status()
            self.failed.emit(error)

        run_operation(work, on_success=done, on_failure=failed)
