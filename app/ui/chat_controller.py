"""Turns the chat page's intents into history changes and worker requests.

Sending stores the user's message, starts a reply row in the history, and asks the
inference worker for a reply; each streamed piece is appended to the live reply (the
history saves it, the page paints it). Errors from any step go to one place, the
``failed`` signal, which the window shows as a notification.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.core.chat import (
    Conversation,
    HistoryStore,
    LiveReply,
    Preview,
    Route,
    RouteDecision,
    build_preview,
    decide_route,
    suggest_claude,
)
from app.core.cloud import MissingKeyError
from app.core.errors import HearthError
from app.core.generation import Message, ReplyStats, SamplingOptions, StopReason
from app.core.inference import LoadedModel
from app.core.secrets import KeyStore
from app.core.settings import Settings
from app.ui.chat_page import ChatPage
from app.ui.cloud_worker import CloudWorker
from app.ui.dialogs import Ask
from app.ui.worker import InferenceWorker


def live_model(live: LiveReply) -> str:
    return live._conversation._store.message(live.message_id).model or "Claude"


LOCAL_CHOICE = "Answer locally"
CLAUDE_CHOICE = "Ask Claude"


class ChatController(QObject):
    """Drives one chat page with the inference worker."""

    failed = Signal(object)  # HearthError, for the window's notification bar
    busy_changed = Signal(bool)
    reply_done = Signal(object)  # ReplyStats
    cloud_reply_done = Signal(str, object)  # Claude model, history fields
    conversation_changed = Signal()  # created, titled or updated: the sidebar refreshes

    def __init__(
        self,
        *,
        store: HistoryStore,
        worker: InferenceWorker,
        page: ChatPage,
        settings: Callable[[], Settings],
        cloud: CloudWorker | None = None,
        keys: KeyStore | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.worker = worker
        self.cloud = cloud
        self.keys = keys
        self.page = page
        self._settings = settings
        self.model: LoadedModel | None = None
        self.conversation: Conversation | None = None
        self._live: LiveReply | None = None
        self._request = 0

        page.send_requested.connect(self.send)
        page.ask_claude_requested.connect(lambda text: self.send(text, ask_claude=True))
        page.backend_changed.connect(self.set_backend)
        page.preview_changed.connect(self.set_preview)
        page.stop_requested.connect(self.stop)
        page.regenerate_requested.connect(self.regenerate)
        page.edit_requested.connect(self.edit)
        page.version_requested.connect(self.switch_version)
        page.system_prompt_changed.connect(self.set_system_prompt)
        worker.piece.connect(self._on_piece)
        worker.reply_started.connect(self._on_started)
        worker.reply_finished.connect(self._on_finished)
        worker.reply_failed.connect(self._on_failed)
        if cloud is not None:
            cloud.piece.connect(self._on_piece)
            cloud.reply_finished.connect(self._on_cloud_finished)
            cloud.reply_failed.connect(self._on_cloud_failed)

    @property
    def busy(self) -> bool:
        return self._live is not None

    # -- conversations --------------------------------------------------------------------

    def open(self, conversation_id: int | None) -> None:
        """Show a stored conversation (None: a new, empty chat)."""
        if self.busy:
            self.stop()
        self.conversation = Conversation(self.store, conversation_id) if conversation_id else None
        self.page.show_conversation(self.conversation)

    def new_chat(self) -> None:
        self.open(None)
        self.page.system_prompt.setText(self._settings().system_prompt)
        self.page.composer.setFocus()

    def _ensure_conversation(self) -> Conversation:
        if self.conversation is None:
            self.conversation = Conversation.create(
                self.store, system_prompt=self.page.system_prompt.text()
            )
            draft = self.page.composer.toPlainText()
            self.page.show_conversation(self.conversation)
            self.page.composer.setPlainText(draft)
            self.conversation_changed.emit()
        return self.conversation

    def set_system_prompt(self, text: str) -> None:
        if self.conversation is not None and text != self.conversation.record.system_prompt:
            self.store.set_system_prompt(self.conversation.id, text)
            self.conversation = Conversation(self.store, self.conversation.id)
            self.page.show_conversation(self.conversation)

    # -- replies --------------------------------------------------------------------------

    def send(self, text: str, *, ask_claude: bool = False) -> None:
        """Send the composer's text; where the reply comes from follows the routing."""
        if self.busy:
            return
        settings = self._settings()
        options = self.conversation.record.options if self.conversation else {}
        try:
            decision = decide_route(settings, conversation_options=options, ask_claude=ask_claude)
        except HearthError as error:  # Claude off, or offline: nothing is sent
            self.failed.emit(error)
            return
        route = decision.route
        if route is Route.ASK:
            choice = Ask.choose(
                self.page,
                "Where should the reply come from?",
                "Answer on this computer, or send this conversation to Claude?",
                [LOCAL_CHOICE, CLAUDE_CHOICE],
            )
            if choice is None:
                return
            route = Route.CLAUDE if choice == CLAUDE_CHOICE else Route.LOCAL
        if route is Route.CLAUDE:
            self._send_to_claude(text, settings, preview=decision.preview)
            return
        if self.model is None:
            self.page.show_notice(
                "No model is loaded yet. Choose one in the model selector above (or get one "
                "in the Library); your message stays in the box."
            )
            return
        if not self._store_user_message(text):
            return
        self._start(regenerate=False)
        self.conversation_changed.emit()

    def _store_user_message(self, text: str) -> bool:
        try:
            conversation = self._ensure_conversation()
            conversation.send(text)
        except HearthError as error:
            self.failed.emit(error)  # the text stays in the composer
            return False
        self.page.clear_composer()
        return True

    def _send_to_claude(self, text: str, settings: Settings, *, preview: bool) -> None:
        """Preview (unless turned off), then store the message and ask Claude."""
        prepared = self._claude_request(
            [*self._history_messages(until=None), Message("user", text)], settings, preview=preview
        )
        if prepared is None:
            return  # not sent; the text stays in the composer
        if self._store_user_message(text):
            self._ask_claude(*prepared, settings, regenerate=False)

    def _claude_request(
        self, history: list[Message], settings: Settings, *, preview: bool
    ) -> tuple[Preview, str] | None:
        """The request for ``history`` and the key, once the user saw and accepted it."""
        if self.cloud is None or self.keys is None:
            self.failed.emit(HearthError("Claude is not available in this window."))
            return None
        key = self.keys.load()
        if not key:
            self.failed.emit(
                MissingKeyError(
                    "There is no Claude API key yet.",
                    hint="Set one in Settings → Claude (it is kept in the system keychain).",
                )
            )
            return None
        system = (
            self.conversation.record.system_prompt
            if self.conversation
            else self.page.system_prompt.text()
        )
        sampling = SamplingOptions.from_settings(settings)
        request = build_preview(
            history,
            model=settings.claude_model,
            system=system or None,
            temperature=sampling.temperature,
            max_tokens=sampling.max_tokens,
        )
        if preview and not Ask.preview(self.page, request):
            return None
        return request, key

    def _ask_claude(
        self, request: Preview, key: str, settings: Settings, *, regenerate: bool
    ) -> None:
        assert self.conversation is not None and self.cloud is not None
        try:
            live = self.conversation.start_reply(
                regenerate=regenerate, model=request.model, backend="claude"
            )
        except HearthError as error:
            self.failed.emit(error)
            return
        self._begin(live)
        self.cloud.reply_requested.emit(self._request, request, settings, key)
        self.conversation_changed.emit()

    def _route_for(self, reply_backend: str | None) -> RouteDecision:
        """Where a regenerated or re-sent turn goes: Claude when the conversation is set
        to Claude or the reply being replaced came from Claude; raises HearthError
        (shown, nothing sent) when Claude is wanted but off or offline."""
        options = self.conversation.record.options if self.conversation else {}
        return decide_route(
            self._settings(), conversation_options=options, ask_claude=reply_backend == "claude"
        )

    def set_backend(self, backend: str) -> None:
        """Set where this conversation's replies come from ("local" or "claude")."""
        self._set_option("backend", backend)

    def set_preview(self, preview: bool) -> None:
        """Whether this conversation shows the Claude preview before each request."""
        self._set_option("preview_before_send", preview)

    def _set_option(self, key: str, value: object) -> None:
        conversation = self._ensure_conversation()
        options = dict(conversation.record.options)
        options[key] = value
        self.store.set_options(conversation.id, options)
        self.conversation = Conversation(self.store, conversation.id)
        self.page.show_conversation(self.conversation)

    def regenerate(self) -> None:
        """A new version of the last reply, from the backend that wrote it."""
        if self.busy or self.conversation is None:
            return
        messages = self.conversation.messages
        if not messages or messages[-1].role != "assistant":
            return
        try:
            route = self._route_for(messages[-1].backend)
        except HearthError as error:
            self.failed.emit(error)
            return
        if route.route is Route.CLAUDE:
            history = self._history_messages(until=messages[-1].id)
            prepared = self._claude_request(history, self._settings(), preview=route.preview)
            if prepared is not None:
                self._ask_claude(*prepared, self._settings(), regenerate=True)
            return
        if self.model is not None:
            self._start(regenerate=True)

    def edit(self, message_id: int) -> None:
        if self.busy or self.conversation is None:
            return
        old = self.store.message(message_id)
        text = Ask.multiline(
            self.page, "Edit message", "Edit and resend (the old version is kept):", old.text
        )
        if text is None or not text.strip() or text == old.text:
            return
        try:
            route = self._route_for(None)  # a conversation set to Claude answers there
        except HearthError as error:
            self.failed.emit(error)
            return
        prepared = None
        if route.route is Route.CLAUDE:
            history = [*self._history_messages(until=message_id), Message("user", text)]
            prepared = self._claude_request(history, self._settings(), preview=route.preview)
            if prepared is None:
                return  # not sent, and nothing changed
        elif self.model is None:
            self.page.show_notice("No model is loaded yet, so the edit was not sent.")
            return
        try:
            self.conversation.edit(message_id, text)
        except HearthError as error:
            self.failed.emit(error)
            return
        if prepared is not None:
            self._ask_claude(*prepared, self._settings(), regenerate=False)
        else:
            self._start(regenerate=False)

    def switch_version(self, message_id: int, step: int) -> None:
        if self.busy or self.conversation is None:
            return
        siblings = [m.id for m in self.store.siblings(message_id)]
        index = siblings.index(message_id) + step
        if 0 <= index < len(siblings):
            self.conversation.switch_branch(siblings[index])

    def stop(self) -> None:
        self.worker.stop()
        self.stop_claude()

    def stop_claude(self) -> None:
        if self.cloud is not None:
            self.cloud.stop()

    def _start(self, *, regenerate: bool) -> None:
        assert self.conversation is not None and self.model is not None
        try:
            live = self.conversation.start_reply(
                regenerate=regenerate,
                model=self.model.name,
                quantization=self.model.header.quantization,
                backend="local",
            )
        except HearthError as error:
            self.failed.emit(error)
            return
        self._begin(live)
        messages = self._messages_for_reply(live.message_id)
        self.worker.reply_requested.emit(
            self._request, messages, SamplingOptions.from_settings(self._settings())
        )

    def _begin(self, live: LiveReply) -> None:
        self._live = live
        self._request += 1
        self.page.set_busy(True)
        self.page.show_notice("")
        self.busy_changed.emit(True)

    def _messages_for_reply(self, reply_id: int) -> list[Message]:
        assert self.conversation is not None
        messages = []
        system = self.conversation.record.system_prompt
        if system.strip():
            messages.append(Message("system", system))
        return messages + self._history_messages(until=reply_id)

    def _history_messages(self, *, until: int | None) -> list[Message]:
        """The conversation's turns (not the system prompt), up to message ``until``."""
        messages = []
        for record in self.conversation.messages if self.conversation else []:
            if record.id == until:
                break
            if record.status == "error" or not record.text.strip():
                continue
            messages.append(Message(record.role, record.text))
        return messages

    def _on_started(self, request: int, prompt_tokens: int, dropped: int) -> None:
        if request == self._request and dropped:
            notice = (
                f"This conversation no longer fits the model's context: the oldest {dropped} "
                "messages were left out of this reply (they are still saved here)."
            )
            suggestion = suggest_claude(
                self._settings(),
                prompt_tokens=prompt_tokens,
                dropped_messages=dropped,
                context_length=self.model.context_length if self.model else None,
            )
            if suggestion is not None:
                notice += f" {suggestion.message}"
            self.page.show_notice(notice)

    def _on_piece(self, request: int, text: str) -> None:
        if request == self._request and self._live is not None:
            self._live.append(text)

    def _on_finished(self, request: int, stats: ReplyStats) -> None:
        if request != self._request or self._live is None:
            return
        live, self._live = self._live, None
        crashed = stats.stop_reason is StopReason.CRASHED
        live.finish(
            # A crash keeps what was streamed, marked, with the crash in plain words.
            status="interrupted" if crashed else None,
            error=stats.notice if crashed else None,
            stop_reason=str(stats.stop_reason),
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            ttft=stats.time_to_first_token,
            tokens_per_second=stats.tokens_per_second,
        )
        if stats.notice:
            self.page.show_notice(stats.notice)
        self._done()
        self.reply_done.emit(stats)

    def _on_failed(self, request: int, error: HearthError) -> None:
        if request != self._request or self._live is None:
            return
        live, self._live = self._live, None
        live.finish(status="error", error=str(error))
        self._done()
        self.failed.emit(error)

    def _on_cloud_finished(self, request: int, fields: dict[str, object]) -> None:
        if request != self._request or self._live is None:
            return
        live, self._live = self._live, None
        live.finish(**fields)  # type: ignore[arg-type]
        self._done()
        self.cloud_reply_done.emit(live_model(live), fields)

    def _on_cloud_failed(self, request: int, error: HearthError, fields: dict[str, object]) -> None:
        if request != self._request or self._live is None:
            return
        live, self._live = self._live, None
        # What arrived is kept; the reply is marked, and the message says why.
        live.finish(**{**fields, "error": str(error)})  # type: ignore[arg-type]
        self._done()
        self.failed.emit(error)

    def _done(self) -> None:
        self.page.set_busy(False)
        self.busy_changed.emit(False)
        self.conversation_changed.emit()
