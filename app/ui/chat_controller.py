"""Hands the chat page's intents to the core chat session and runs its turns.

The rules of a turn (route, what the model sees, regenerate, edit, what is stored
when) live in :class:`~app.core.chat.ChatSession`, shared with the CLI and the server.
A slot here only passes the user's intent on and dispatches the resulting turn to the
inference or Claude worker; streamed pieces are saved on the worker's thread (the
page repaints from the conversation's events). Errors from any step go to one place,
the ``failed`` signal, which the window shows as a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QObject, Signal

from app.core.chat import (
    ChatSession,
    Conversation,
    HistoryStore,
    Preview,
    RemoteModel,
    Route,
    Turn,
)
from app.core.cloud import RemoteTokenRefusedError
from app.core.errors import HearthError, NoModelLoadedError
from app.core.generation import ReplyStats
from app.core.inference import LoadedModel
from app.core.library import ModelSettings
from app.core.secrets import KeyStore
from app.core.settings import Settings
from app.ui.chat_page import ChatPage
from app.ui.cloud_worker import CloudWorker
from app.ui.dialogs import Ask
from app.ui.operations import run_operation
from app.ui.remote_tokens import RemoteTokens
from app.ui.worker import InferenceWorker

T = TypeVar("T")


def waiting_text(ahead: int) -> str:
    """The chat's line while the local server's requests hold the model ("" once its turn)."""
    if ahead <= 0:
        return ""
    if ahead == 1:
        return QCoreApplication.translate(
            "ChatController", "Waiting for the model (%n request ahead)…", "", ahead
        )
    return QCoreApplication.translate(
        "ChatController", "Waiting for the model (%n requests ahead)…", "", ahead
    )


LOCAL_CHOICE = QT_TRANSLATE_NOOP("DialogPrompts", "Answer locally")
CLAUDE_CHOICE = QT_TRANSLATE_NOOP("DialogPrompts", "Ask Claude")


def _tr(text: str) -> str:
    return QCoreApplication.translate("DialogPrompts", text)


def _tr(text: str) -> str:
    return QCoreApplication.translate("DialogPrompts", text)


class DialogPrompts:
    """The session's questions, asked with the window's dialogs."""

    def __init__(self, page: ChatPage) -> None:
        self.page = page

    def choose_route(self) -> Route | None:
        choice = Ask.choose(
            self.page,
            QCoreApplication.translate("DialogPrompts", "Where should the reply come from?"),
            QCoreApplication.translate(
                "DialogPrompts", "Answer on this computer, or send this conversation to Claude?"
            ),
            [_tr(LOCAL_CHOICE), _tr(CLAUDE_CHOICE)],
        )
        if choice is None:
            return None
        return Route.CLAUDE if choice == _tr(CLAUDE_CHOICE) else Route.LOCAL

    def confirm_preview(self, preview: Preview) -> bool:
        return Ask.preview(self.page, preview)


class ChatController(QObject):
    """Drives one chat page with the chat session and the workers."""

    failed = Signal(object)  # HearthError, for the window's notification bar
    busy_changed = Signal(bool)
    reply_done = Signal(object)  # ReplyStats
    cloud_reply_done = Signal(str, object)  # "Claude · model" or "den · model", history fields
    conversation_changed = Signal()  # created, titled or updated: the sidebar refreshes
    opened = Signal()  # another conversation (or a new chat) is shown

    def __init__(
        self,
        *,
        store: HistoryStore,
        worker: InferenceWorker,
        page: ChatPage,
        settings: Callable[[], Settings],
        cloud: CloudWorker | None = None,
        keys: KeyStore | None = None,
        model_settings: Callable[[Path], ModelSettings] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.worker = worker
        self.cloud = cloud
        self.page = page
        self._settings = settings
        self.keys = keys
        self._key: str | None = None
        self._key_read = False
        self.key_reads_pending = 0  # background reads of the Claude key not back yet
        self._preparing = False  # a turn being prepared (see _prepare)
        self.remote_tokens = (
            RemoteTokens(keys, lambda: [r.name for r in settings().remotes]) if keys else None
        )
        self.session = ChatSession(
            store,
            settings=settings,
            prompts=DialogPrompts(page),
            claude_key=self._claude_key if keys is not None and cloud is not None else None,
            on_created=self._created,
            remote_token=self.remote_tokens.get if self.remote_tokens is not None else None,
            model_settings=model_settings,
        )

        page.send_requested.connect(self.send)
        page.ask_claude_requested.connect(lambda text: self.send(text, ask_claude=True))
        page.backend_changed.connect(lambda backend: self._set_option("backend", backend))
        page.preview_changed.connect(
            lambda preview: self._set_option("preview_before_send", preview)
        )
        page.stop_requested.connect(self.stop)
        page.regenerate_requested.connect(self.regenerate)
        page.edit_requested.connect(self.edit)
        page.version_requested.connect(self.switch_version)
        page.system_prompt_changed.connect(self.set_system_prompt)
        worker.waiting.connect(self._on_waiting)
        worker.reply_started.connect(self._on_started)
        worker.reply_finished.connect(self._on_finished)
        worker.reply_failed.connect(self._on_failed)
        if cloud is not None:
            cloud.reply_finished.connect(self._on_cloud_finished)
            cloud.reply_failed.connect(self._on_cloud_failed)

    def refresh_claude_key(self) -> None:
        """Read the Claude key in the background (after it was set, tested or forgotten),
        so sending to Claude never waits on the keychain in a slot."""
        if self.keys is None:
            return
        self._key_read = False  # until the read is back, a send reads it itself
        self.key_reads_pending += 1

        def read(key: object) -> None:
            self.key_reads_pending -= 1
            if self.key_reads_pending == 0:
                self._key, self._key_read = key if isinstance(key, str) else None, True

        def failed(_error: HearthError) -> None:  # the key controller shows keychain trouble
            self.key_reads_pending -= 1

        run_operation(
            self.keys.claude.load,
            on_success=read,
            on_failure=failed,
            doing="reading the Claude key",
        )

    def _claude_key(self) -> str | None:
        if not self._key_read and self.keys is not None:  # not read yet: this once, here
            self._key, self._key_read = self.keys.claude.load(), True
        return self._key

    def refresh_remote_tokens(self) -> None:
        """Read the remote servers' tokens in the background (at the start, and after the
        servers or a token changed), so a send never waits on the keychain in a slot."""
        if self.remote_tokens is not None:
            self.remote_tokens.refresh()

    @property
    def remote(self) -> RemoteModel | None:
        """The remote server's model replies come from (None: the local model)."""
        return self.session.remote

    @remote.setter
    def remote(self, choice: RemoteModel | None) -> None:
        self.session.remote = choice

    @property
    def model(self) -> LoadedModel | None:
        return self.session.model

    @model.setter
    def model(self, model: LoadedModel | None) -> None:
        shown = self.session.new_system_prompt
        self.session.model = model
        self._show_new_chat_prompt(shown)

    def model_settings_changed(self, before: ModelSettings) -> None:
        """The loaded model's own settings changed: a new chat takes its system prompt."""
        shown = self.session.new_system_prompt
        self.session.refresh_system_prompt(before.apply(self._settings()).system_prompt)
        self._show_new_chat_prompt(shown)

    def _show_new_chat_prompt(self, shown: str) -> None:
        """Show a new chat's new system prompt, unless the user is typing another one."""
        field = self.page.system_prompt
        if self.session.conversation is None and field.text() == shown:
            field.setText(self.session.new_system_prompt)

    @property
    def conversation(self) -> Conversation | None:
        return self.session.conversation

    @property
    def busy(self) -> bool:
        """A reply is coming, or a turn is being prepared (its documents searched while the
        window goes on working): nothing may switch the chat under it."""
        return self.session.busy or self._preparing

    # -- conversations --------------------------------------------------------------------

    def open(self, conversation_id: int | None) -> None:
        """Show a stored conversation (None: a new, empty chat)."""
        if self._preparing:  # a moment: the turn's documents are being searched
            self.page.show_notice(self.tr("Searching your documents for the message you sent…"))
            return
        if self.busy:
            self.stop()
        self.page.show_conversation(self.session.open(conversation_id))
        if conversation_id is None:
            self.page.system_prompt.setText(self.session.new_system_prompt)
        self.opened.emit()
        self.conversation_changed.emit()  # however it was asked for (Ctrl+N, a delete...)

    def new_chat(self) -> None:
        self.open(None)
        self.page.composer.setFocus()

    def _created(self, conversation: Conversation) -> None:
        draft = self.page.composer.toPlainText()
        self.page.show_conversation(conversation)
        self.page.composer.setPlainText(draft)  # cleared once the message is stored
        self.conversation_changed.emit()

    def set_system_prompt(self, text: str) -> None:
        self._guard(lambda: self.session.set_system_prompt(text))

    def attach_collections(self, names: list[str]) -> None:
        """Answer this chat from these document collections (saved with the chat)."""
        self._guard(lambda: self.session.attach_collections(names))

    def _set_option(self, key: str, value: object) -> None:
        self._guard(lambda: self.session.set_option(key, value))

    # -- turns ----------------------------------------------------------------------------

    def send(self, text: str, *, ask_claude: bool = False) -> None:
        """Send the composer's text; where the reply comes from follows the routing."""
        if self.busy:
            return
        self.set_system_prompt(self.page.system_prompt.text())  # what the user sees is used
        turn = self._prepare(lambda: self.session.send(text, ask_claude=ask_claude))
        if turn is not None:
            self.page.clear_composer()  # stored: a refused or failed send keeps the text
            self._dispatch(turn)

    def regenerate(self) -> None:
        """A new version of the last reply, from the backend that wrote it."""
        if not self.busy and self.conversation is not None:
            self._dispatch(self._prepare(self.session.regenerate))

    def edit(self, message_id: int) -> None:
        if self.busy or self.conversation is None:
            return
        old = self.store.message(message_id)
        text = Ask.multiline(
            self.page,
            self.tr("Edit message"),
            self.tr("Edit and resend (the old version is kept):"),
            old.text,
        )
        if text is not None:
            self._dispatch(self._prepare(lambda: self.session.edit(message_id, text)))

    def switch_version(self, message_id: int, step: int) -> None:
        if not self.busy:
            self._guard(lambda: self.session.switch_version(message_id, step))

    def stop(self) -> None:
        self.worker.stop()
        if self.cloud is not None:
            self.cloud.stop()

    def stop_claude(self) -> None:
        if self.cloud is not None:
            self.cloud.stop(only="claude")

    def stop_leaving(self) -> None:
        """Stop a reply from beyond this computer (offline mode was turned on)."""
        if self.cloud is not None:
            self.cloud.stop(only="leaves")

    def _guard(self, action: Callable[[], T]) -> T | None:
        """Run a session call; its refusal or failure is shown, and nothing is sent."""
        try:
            return action()
        except NoModelLoadedError as error:
            self.page.show_notice(error.describe())  # the text stays in the composer
        except HearthError as error:
            self.failed.emit(error)
        return None

    def _prepare(self, action: Callable[[], Turn | None]) -> Turn | None:
        """Start a turn (``action`` may wait for a document search with the window working),
        counting as busy until it has started or failed."""
        self._preparing = True
        for button in (self.page.send_button, self.page.ask_claude_button):
            button.setEnabled(False)  # set_busy comes once the turn's reply exists
        try:
            return self._guard(action)
        finally:
            self._preparing = False
            self.page.set_busy(self.session.busy)

    def _dispatch(self, turn: Turn | None) -> None:
        if turn is None:
            return
        self.page.set_busy(True)
        self.page.show_notice("")
        self.busy_changed.emit(True)
        if turn.route is Route.CLAUDE or turn.route is Route.REMOTE:
            assert self.cloud is not None and turn.preview is not None
            self.cloud.reply_requested.emit(turn, turn.preview, turn.settings, turn.key or "")
        else:
            self.worker.reply_requested.emit(turn, turn.messages, turn.sampling)
        self.conversation_changed.emit()

    # -- what the workers report (queued, on this thread) ----------------------------------

    def _current(self, turn: object) -> Turn | None:
        return turn if isinstance(turn, Turn) and turn is self.session.turn else None

    def _on_waiting(self, turn: object, ahead: int) -> None:
        if self._current(turn) is not None:
            self.page.show_notice(waiting_text(ahead))

    def _on_started(self, turn: object, prompt_tokens: int, dropped: int) -> None:
        current = self._current(turn)
        if current is not None:
            notice = current.started(prompt_tokens=prompt_tokens, dropped_messages=dropped)
            if notice:
                self.page.show_notice(notice)

    def _on_finished(self, turn: object, stats: ReplyStats) -> None:
        current = self._current(turn)
        if current is None:
            return
        current.finish(stats)
        if stats.notice:
            self.page.show_notice(stats.notice)
        self._done()
        self.reply_done.emit(stats)

    def _on_failed(self, turn: object, error: HearthError) -> None:
        current = self._current(turn)
        if current is None:
            return
        current.fail(error)
        self._done()
        self.failed.emit(error)

    def _on_cloud_finished(self, turn: object, fields: dict[str, object]) -> None:
        current = self._current(turn)
        if current is None:
            return
        record = current.finish_claude(dict(fields))
        self._done()
        assert current.preview is not None
        where = current.preview.destination.name
        self.cloud_reply_done.emit(f"{where} · {record.model or where}", fields)

    def _on_cloud_failed(self, turn: object, error: HearthError, fields: dict[str, object]) -> None:
        current = self._current(turn)
        if current is None:
            return
        current.fail(error, dict(fields))  # what arrived is kept, marked, with why
        if isinstance(error, RemoteTokenRefusedError):
            self.refresh_remote_tokens()  # changed elsewhere (`hearth remote add`)?
        self._done()
        self.failed.emit(error)

    def _done(self) -> None:
        self.page.set_busy(False)
        self.busy_changed.emit(False)
        self.conversation_changed.emit()
