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
    """Handles the key buttons of the settings page and shows where the key is.

    Every keychain call (which may wait on a locked keychain or D-Bus) runs in the
    background; the status line says what is happening meanwhile.
    """

    failed = Signal(object)  # HearthError
    status_shown = Signal(str)  # the status line, once a keychain call finished

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

    def _status_text(self) -> str:
        """Where the key is (reads the keychain: call it off the GUI thread)."""
        status = self.keys.status
        location = self.keys.claude.location()
        if location is not None and str(location) != "none":
            return self.tr("A key is stored ({location}).").format(location=location)
        if status.available:
            return self.tr("No key yet. It will be kept in {keychain}.").format(
                keychain=status.backend
            )
        return self.tr("No keychain: {reason}. A key can be kept for this session only.").format(
            reason=status.reason
        )

    def _show(self, text: str) -> None:
        self.page.key_status.setText(text)
        self.status_shown.emit(text)

    def _run(
        self,
        work: Callable[[], object],
        *,
        doing: str,
        busy: str,
        on_failure: Callable[[HearthError], None] | None = None,
    ) -> None:
        """Run a keychain call in the background, then show where the key is."""

        def then_status() -> str:
            work()
            return self._status_text()

        def failed(error: HearthError) -> None:
            self._show_key_status()
            self.failed.emit(error)

        self.page.key_status.setText(busy)
        run_operation(
            then_status, on_success=self._show, on_failure=on_failure or failed, doing=doing
        )

    def _show_key_status(self) -> None:
        self._run(lambda: None, doing="reading the keychain", busy=self.tr("Looking for the key…"))

    def set_claude_key(self) -> None:
        key = Ask.secret(
            self.page, self.tr("Claude API key"), self.tr("Paste your Anthropic API key:")
        )
        if not key:
            return

        def no_keychain(error: HearthError) -> None:
            if not isinstance(error, KeychainUnavailableError):
                self._show_key_status()
                self.failed.emit(error)
            elif Ask.confirm(
                self.page,
                self.tr("No keychain"),
                self.tr(
                    "{reason}\n\nKeep the key in memory for this session only "
                    "(it is never written to a file)?"
                ).format(reason=error.describe()),
            ):
                self._run(
                    lambda: self.keys.claude.save(key, session_only=True),
                    doing="keeping the key for this session",
                    busy=self.tr("Keeping the key for this session…"),
                )
            else:
                self._show_key_status()

        self._run(
            lambda: self.keys.claude.save(key),
            doing="storing the key",
            busy=self.tr("Storing the key in the keychain…"),
            on_failure=no_keychain,
        )

    def clear_claude_key(self) -> None:
        self._run(
            self.keys.claude.clear, doing="forgetting the key", busy=self.tr("Forgetting the key…")
        )

    def test_claude_key(self) -> None:
        settings = self._settings()
        keys = self.keys

        no_key = self.tr("There is no key to test."), self.tr("Set one first.")

        def work() -> object:
            key = keys.claude.load()
            if not key:
                raise HearthError(no_key[0], hint=no_key[1])
            ensure_claude_allowed(settings)
            with ClaudeClient.from_settings(settings, api_key=key, max_retries=0) as client:
                return client.test_key()

        def done(check: object) -> None:
            self._show(self.tr("The key works ({model}).").format(model=check.model))  # type: ignore[attr-defined]

        def failed(error: HearthError) -> None:
            self._show_key_status()
            self.failed.emit(error)

        self.page.key_status.setText(self.tr("Testing the key with one minimal request…"))
        run_operation(work, on_success=done, on_failure=failed, doing="testing the key")
