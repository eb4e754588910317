"""One open conversation as a plain observable model: the chat view subscribes to it.

:class:`Conversation` keeps the active branch in memory, writes every change through
to a :class:`~app.core.chat.history.HistoryStore`, and tells subscribers what changed with
small :class:`ConversationEvent` values, so a view can append a streamed piece
instead of re-rendering the whole message.

Events are delivered synchronously on the thread that made the change. A Qt view
whose worker streams a reply must forward them to the GUI thread (a queued signal).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.core.chat.history import (
    ConversationRecord,
    HistoryError,
    HistoryStore,
    MessageRecord,
    ReplyWriter,
    Status,
)

EventKind = Literal[
    "reset", "appended", "streamed", "updated", "renamed", "draft", "system_prompt", "options"
]


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """What changed.

    ``reset``: the shown messages changed wholesale (branch switch, edit): re-read
    :attr:`Conversation.messages`. ``appended``: ``message_id`` was added at the end.
    ``streamed``: ``text`` was appended to ``message_id``. ``updated``: that message's
    status or figures changed. ``renamed``, ``draft``, ``system_prompt`` and
    ``options``: the title, draft, system prompt or options (the reply backend, the
    Claude preview) changed; the messages did not.
    """

    kind: EventKind
    message_id: int | None = None
    text: str = ""


Listener = Callable[[ConversationEvent], None]
_MISSING = object()


class Conversation:
    """The conversation the chat shows: its active branch, title, draft and a live reply."""

    def __init__(self, store: HistoryStore, conversation_id: int) -> None:
        self._store = store
        self._record = store.conversation(conversation_id)
        self._messages = store.active_path(conversation_id)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        store: HistoryStore,
        *,
        title: str = "",
        system_prompt: str = "",
        options: dict[str, Any] | None = None,
    ) -> Conversation:
        """A new conversation, stored at once so its draft has a home."""
        record = store.create_conversation(
            title=title, system_prompt=system_prompt, options=options
        )
        return cls(store, record.id)

    # -- observing --------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, kind: EventKind, message_id: int | None = None, text: str = "") -> None:
        with self._lock:
            listeners = list(self._listeners)
        event = ConversationEvent(kind, message_id, text)
        for listener in listeners:
            listener(event)

    # -- state ------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def record(self) -> ConversationRecord:
        """Title, system prompt and options as last read or written."""
        return self._record

    @property
    def messages(self) -> list[MessageRecord]:
        """The active branch, first message first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def draft(self) -> str:
        return self._store.draft(self.id)

    def versions(self, message_id: int) -> tuple[int, int]:
        """(1-based position, count) of this message among its versions, for "< 2/3 >"."""
        siblings = [m.id for m in self._store.siblings(message_id)]
        return siblings.index(message_id) + 1, len(siblings)

    # -- changes ----------------------------------------------------------------------

    def set_draft(self, text: str) -> None:
        """Save what is being typed."""
        self._store.save_draft(self.id, text)
        self._emit("draft", text=text)

    def rename(self, title: str) -> None:
        self._store.rename(self.id, title)
        self._reload_record()
        self._emit("renamed", text=title)

    def set_system_prompt(self, text: str) -> None:
        """Change how the assistant should behave in this conversation."""
        if text == self._record.system_prompt:
            return
        self._store.set_system_prompt(self.id, text)
        self._reload_record()
        self._emit("system_prompt", text=text)

    @property
    def options(self) -> dict[str, Any]:
        """This conversation's options (a copy): ``backend``, ``preview_before_send``."""
        return dict(self._record.options)

    def set_option(self, key: str, value: Any) -> None:
        """Set one option; subscribers get an ``options`` event naming it."""
        options = self.options
        if options.get(key, _MISSING) == value:
            return
        options[key] = value
        self._store.set_options(self.id, options)
        self._reload_record()
        self._emit("options", text=key)

    def send(self, text: str) -> MessageRecord:
        """Store the user's message at the end of the active branch; then clear the draft.

        If storing fails the draft is left as it was, so the text is not lost.
        """
        message = self._store.add_message(self.id, role="user", text=text)
        self._store.clear_draft(self.id)
        with self._lock:
            self._messages.append(message)
        self._reload_record()
        self._emit("appended", message.id)
        self._emit("draft")
        return message

    def edit(self, message_id: int, text: str) -> MessageRecord:
        """Resend an edited message: later turns leave the view, the old branch is kept."""
        message = self._store.edit_message(message_id, text=text)
        self._reload_path()
        return message

    def switch_branch(self, message_id: int) -> None:
        """Show the branch through ``message_id``."""
        self._store.switch_branch(message_id)
        self._reload_path()

    def start_reply(
        self,
        *,
        regenerate: bool = False,
        model: str | None = None,
        quantization: str | None = None,
        backend: str | None = None,
    ) -> LiveReply:
        """Begin an assistant reply after the last message (or, ``regenerate``, beside it)."""
        if regenerate:
            current = self.messages
            if not current or current[-1].role != "assistant":
                raise HistoryError("There is no reply to regenerate.")
            writer = self._store.begin_reply(
                self.id,
                parent=current[-1].parent_id,
                model=model,
                quantization=quantization,
                backend=backend,
            )
        else:
            writer = self._store.begin_reply(
                self.id, model=model, quantization=quantization, backend=backend
            )
        if regenerate:
            self._reload_path()
        else:
            with self._lock:
                self._messages.append(self._store.message(writer.message_id))
            self._emit("appended", writer.message_id)
        return LiveReply(self, writer)

    def _reload_path(self) -> None:
        path = self._store.active_path(self.id)
        with self._lock:
            self._messages = path
        self._reload_record()
        self._emit("reset")

    def _reload_record(self) -> None:
        self._record = self._store.conversation(self.id)

    def _replace(self, message: MessageRecord) -> None:
        with self._lock:
            for i, old in enumerate(self._messages):
                if old.id == message.id:
                    self._messages[i] = message


class LiveReply:
    """A reply being streamed: each piece is saved (throttled) and announced."""

    def __init__(self, conversation: Conversation, writer: ReplyWriter) -> None:
        self._conversation = conversation
        self._writer = writer

    @property
    def message_id(self) -> int:
        return self._writer.message_id

    @property
    def text(self) -> str:
        return self._writer.text

    def append(self, piece: str) -> None:
        """Add a streamed piece; subscribers get it as a ``streamed`` event."""
        self._writer.append(piece)
        self._conversation._emit("streamed", self.message_id, piece)

    def finish(
        self,
        *,
        status: Status | None = None,
        stop_reason: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft: float | None = None,
        tokens_per_second: float | None = None,
        error: str | None = None,
    ) -> MessageRecord:
        """Save the reply with the engine's figures (see :meth:`ReplyWriter.finish`)."""
        message = self._writer.finish(
            status=status,
            stop_reason=stop_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            ttft=ttft,
            tokens_per_second=tokens_per_second,
            error=error,
        )
        self._conversation._replace(message)
        self._conversation._emit("updated", message.id)
        return message
