"""The rules of a chat turn, once, for the window and the CLI.

A :class:`ChatSession` holds one conversation and decides what a turn is: where the
reply comes from (the local model, Claude or a remote server's model, and when to
ask), which past messages the model sees (:func:`model_messages`), what regenerate
and edit-and-resend do, and what is stored when. A front-end hands it the user's
intent (:meth:`ChatSession.send`, :meth:`~ChatSession.regenerate`,
:meth:`~ChatSession.edit`), gets a :class:`Turn` to run, and reports back what its
backend streamed: the window on worker threads (pieces are saved on the worker's
thread, never in a slot), the CLI in line with :meth:`Turn.run_local` and
:meth:`Turn.run_client` (Claude or a remote server). (The local server is stateless:
each request carries its whole conversation and goes to the engine as is.)

What is stored when: the user's message only once the request is certain (a declined
preview or a refused route stores nothing, and the text stays with the user); the
reply row at once, marked ``interrupted`` until it finishes, so a crash or a kill keeps
every streamed piece; the figures when it ends. An error reply keeps what streamed.

Questions for the user go through a :class:`TurnPrompts` the front-end supplies (a
dialog, a terminal prompt, or a server policy that never asks).

With a :class:`Retriever` (local documents), each turn searches for the user's last
message and adds the excerpts that fit the context to the system prompt (to Claude's
preview alike, so the user sees them before anything is sent); the turn keeps them in
``documents``, and every retrieved excerpt with its scores is saved with the reply
(:class:`~app.core.chat.sources.Source`), so a reopened chat still lists its sources.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.core.chat.conversation import Conversation, LiveReply
from app.core.chat.history import HistoryStore, MessageRecord
from app.core.chat.routing import (
    Destination,
    Preview,
    RemoteModel,
    Route,
    build_preview,
    decide_route,
    suggest_claude,
)
from app.core.chat.sources import Source, sources_of
from app.core.cloud import MissingKeyError
from app.core.errors import HearthError, NoModelLoadedError
from app.core.generation import Message, Reply, ReplyStats, SamplingOptions, StopReason
from app.core.settings import Settings

if TYPE_CHECKING:
    from app.core.cloud.claude import ClaudeClient
    from app.core.cloud.remote import RemoteClient
    from app.core.documents import DocumentContext
    from app.core.inference.process import EngineProcess
    from app.core.inference.types import LoadedModel
    from app.core.library import ModelSettings


def model_messages(
    records: Sequence[MessageRecord], *, system_prompt: str = "", until: int | None = None
) -> list[Message]:
    """What the model sees of a conversation: the system prompt, then its turns.

    Turns stop before message ``until`` (the reply being written or replaced). Error
    replies and empty messages are left out: they are not something either side said.
    The window, the CLI and the server all build their requests with this.
    """
    messages = [Message("system", system_prompt)] if system_prompt.strip() else []
    for record in records:
        if record.id == until:
            break
        if record.status == "error" or not record.text.strip():
            continue
        messages.append(Message(record.role, record.text))
    return messages


CHARS_PER_TOKEN = 3
"""A cautious guess of a chat model's characters per token, to budget excerpts before
the engine counts (English averages about four)."""
CLAUDE_DOCUMENT_CHARS = 40_000
"""Excerpts sent with a Claude message at most (its context is far larger)."""
REMOTE_DOCUMENT_CHARS = 12_000
"""Excerpts sent with a remote server's message at most (its context is not known)."""


class Retriever(Protocol):
    """Finds the excerpts of the user's documents that answer a question."""

    def context_for(self, question: str, *, budget_chars: int) -> DocumentContext:
        """The excerpts that fit ``budget_chars``, and those left out."""


def document_budget(messages: Sequence[Message], *, context_length: int, reply_tokens: int) -> int:
    """Characters of excerpts that fit beside ``messages`` and the reply, at most half."""
    used = sum(len(m.content) // CHARS_PER_TOKEN + 8 for m in messages)
    reserve = min(reply_tokens, context_length // 4)
    tokens = min(context_length // 2, context_length - used - reserve)
    return max(0, tokens * CHARS_PER_TOKEN)


def with_documents(messages: list[Message], documents: DocumentContext) -> list[Message]:
    """``messages`` with the excerpts appended to the system prompt (or as one)."""
    if not documents.text:
        return messages
    if messages and messages[0].role == "system":
        first = Message("system", f"{messages[0].content}\n\n{documents.text}")
        return [first, *messages[1:]]
    return [Message("system", documents.text), *messages]


COLLECTIONS_OPTION = "collections"
"""The conversation option naming the document collections a chat answers from."""


def parse_collections(text: str) -> list[str]:
    """Collection names from a comma-separated setting."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


class TurnPrompts(Protocol):
    """The questions a turn may need answered by the user."""

    def choose_route(self) -> Route | None:
        """Local or Claude for this message (``None``: do not send)."""

    def confirm_preview(self, preview: Preview) -> bool:
        """Whether to send exactly this to ``preview.recipient`` (Claude or a remote)."""


class NeverAsk:
    """Prompts for a front-end with nobody to ask: local, and Claude never unconfirmed."""

    def choose_route(self) -> Route | None:
        return Route.LOCAL

    def confirm_preview(self, preview: Preview) -> bool:
        return False


class TurnKind(enum.StrEnum):
    SEND = "send"
    REGENERATE = "regenerate"
    EDIT = "edit"


NO_MODEL_HINT = (
    "Choose one in the model selector (or get one in the Library); your message was kept."
)


class Turn:
    """One reply being written: what to ask the backend, and where its words are saved.

    ``append`` may be called from the thread that streams (the window's worker);
    ``started``, ``finish``, ``fail`` and ``finish_claude`` from any one thread after it.
    """

    def __init__(
        self,
        session: ChatSession,
        *,
        number: int,
        kind: TurnKind,
        route: Route,
        live: LiveReply,
        messages: list[Message],
        sampling: SamplingOptions,
        preview: Preview | None = None,
        key: str | None = None,
        settings: Settings,
        documents: DocumentContext | None = None,
    ) -> None:
        self.session = session
        self.number = number
        self.kind = kind
        self.route = route
        self.live = live
        self.messages = messages
        self.sampling = sampling
        self.preview = preview
        self.key = key
        self.settings = settings
        self.record: MessageRecord | None = None
        self.notice: str | None = None
        self.documents = documents
        """The excerpts this reply was given (None without a retriever): its sources."""
        self.sources: tuple[Source, ...] = sources_of(documents) if documents else ()
        """Every excerpt retrieved for this reply, with its scores (saved with the reply)."""

    @property
    def message_id(self) -> int:
        return self.live.message_id

    @property
    def done(self) -> bool:
        return self.record is not None

    def append(self, piece: str) -> None:
        """Save a streamed piece (throttled by the history) and announce it."""
        self.live.append(piece)

    def started(self, *, prompt_tokens: int, dropped_messages: int) -> str | None:
        """The backend began; returns a notice for the user when messages were left out."""
        if not dropped_messages:
            return None
        notice = (
            "This conversation no longer fits the model's context: the oldest "
            f"{dropped_messages} messages were left out of this reply (they are still saved "
            "here)."
        )
        model = self.session.model
        suggestion = suggest_claude(
            self.settings,
            prompt_tokens=prompt_tokens,
            dropped_messages=dropped_messages,
            context_length=model.context_length if model else None,
        )
        if suggestion is not None:
            notice += f" {suggestion.message}"
        self.notice = notice
        return notice

    def finish(self, stats: ReplyStats) -> MessageRecord:
        """Save a local reply's end and figures. A crash keeps the text, marked."""
        crashed = stats.stop_reason is StopReason.CRASHED
        return self._end(
            status="interrupted" if crashed else None,
            error=stats.notice if crashed else None,
            stop_reason=str(stats.stop_reason),
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            ttft=stats.time_to_first_token,
            tokens_per_second=stats.tokens_per_second,
        )

    def finish_claude(self, fields: dict[str, Any]) -> MessageRecord:
        """Save a Claude reply with the history fields its client reported."""
        return self._end(**fields)

    def fail(self, error: BaseException, fields: dict[str, Any] | None = None) -> MessageRecord:
        """Save what arrived, marked as an error that says why."""
        describe = error.describe() if isinstance(error, HearthError) else str(error)
        return self._end(**{"status": "error", **(fields or {}), "error": describe})

    def _end(self, **fields: Any) -> MessageRecord:
        if self.record is None:
            self.record = self.live.finish(**fields)
            self.session._turn_ended(self)
        return self.record

    # -- running in line (CLI, server) ------------------------------------------------

    def run_local(
        self, engine: EngineProcess, *, on_started: Callable[[Reply], None] | None = None
    ) -> Iterator[str]:
        """Stream the reply from ``engine`` in this thread, saving as it goes."""
        try:
            reply = engine.chat(self.messages, self.sampling)
        except Exception as error:
            self.fail(error)
            raise
        try:
            self.started(prompt_tokens=reply.prompt_tokens, dropped_messages=reply.dropped_messages)
            if on_started is not None:
                on_started(reply)
            for piece in reply:
                self.append(piece)
                yield piece
        except GeneratorExit:  # the caller stopped reading: the user stopped it
            reply.close()
            raise
        except Exception as error:
            self.fail(error)
            raise
        finally:
            if not self.done and reply.stats is not None:
                self.finish(reply.stats)
        if not self.done:
            self.fail(HearthError("The reply ended without its figures."))

    def run_client(
        self,
        client: ClaudeClient | RemoteClient,
        *,
        on_started: Callable[[Any], None] | None = None,
    ) -> Iterator[str]:
        """Stream the reply from Claude or a remote server in this thread, saving as it goes.

        ``client`` sends ``preview.request``: exactly what the preview showed.
        """
        assert self.preview is not None
        try:
            reply = client.chat(self.preview.request)  # type: ignore[arg-type]
        except Exception as error:
            self.fail(error)
            raise
        if on_started is not None:
            on_started(reply)
        try:
            for piece in reply:
                self.append(piece)
                yield piece
        except GeneratorExit:
            reply.close()
            self.finish_claude(reply.history_fields())
            raise
        except Exception as error:
            self.fail(error, reply.history_fields())
            raise
        self.finish_claude(reply.history_fields())


class ChatSession:
    """One conversation and the rules of its turns (see the module's docstring).

    ``settings`` is asked each time (never copied), so offline mode or turning Claude
    off applies to the very next turn. ``claude_key`` returns the Claude API key (or None),
    ``remote_token`` a remote server's token by its name (or None: it needs none).
    ``model_settings`` returns a model file's own settings (asked at each turn too): a
    local reply uses them over the app's (:meth:`local_settings`).
    """

    def __init__(
        self,
        store: HistoryStore,
        *,
        settings: Callable[[], Settings],
        prompts: TurnPrompts | None = None,
        claude_key: Callable[[], str | None] | None = None,
        on_created: Callable[[Conversation], None] | None = None,
        retriever: Retriever | None = None,
        remote_token: Callable[[str], str | None] | None = None,
        model_settings: Callable[[Path], ModelSettings] | None = None,
    ) -> None:
        self.store = store
        self._model_settings = model_settings
        self.retriever = retriever
        """Local documents to search at every turn (None: none)."""
        self._on_created = on_created
        self._settings = settings
        self.prompts: TurnPrompts = prompts or NeverAsk()
        self._claude_key = claude_key
        self._remote_token = remote_token
        self._model: LoadedModel | None = None
        self.remote: RemoteModel | None = None
        """A remote server's model the person picked: turns go there (None: the local one)."""
        self.conversation: Conversation | None = None
        self._turn: Turn | None = None
        self._numbers = 0
        self._lock = threading.Lock()
        self.new_system_prompt = ""
        """The system prompt a conversation gets when the first message creates it."""

    # -- the model ----------------------------------------------------------------------

    @property
    def model(self) -> LoadedModel | None:
        """The loaded local model (None: none)."""
        return self._model

    @model.setter
    def model(self, model: LoadedModel | None) -> None:
        # A new chat not stored yet takes the new model's system prompt, unless the
        # user already wrote one of their own.
        before = self._new_chat_system_prompt()
        self._model = model
        self.refresh_system_prompt(before)

    def refresh_system_prompt(self, previous: str) -> None:
        """Give a new chat not stored yet the system prompt a new chat gets now, if its
        own is still ``previous`` (the one it got before the model or its settings
        changed): a prompt the user wrote is kept."""
        if self.conversation is None and self.new_system_prompt == previous:
            self.new_system_prompt = self._new_chat_system_prompt()

    def local_settings(self) -> Settings:
        """The settings a local reply uses: the loaded model's own over the app's.

        Raises HearthError when the model's settings cannot be read.
        """
        settings = self._settings()
        if self._model is None or self._model_settings is None:
            return settings
        return self._model_settings(self._model.path).apply(settings)

    def _new_chat_system_prompt(self) -> str:
        try:
            return self.local_settings().system_prompt
        except HearthError:  # the model settings' error is shown when the model loads
            return self._settings().system_prompt

    # -- conversations ------------------------------------------------------------------

    @property
    def turn(self) -> Turn | None:
        """The reply being written, if any."""
        return self._turn

    @property
    def busy(self) -> bool:
        return self._turn is not None

    def open(self, conversation_id: int | None) -> Conversation | None:
        """Show a stored conversation (None: a new chat, stored at its first message)."""
        self.conversation = Conversation(self.store, conversation_id) if conversation_id else None
        self.new_system_prompt = "" if conversation_id else self._new_chat_system_prompt()
        return self.conversation

    def ensure_conversation(self) -> Conversation:
        """The open conversation, created (with the new-chat system prompt) if there is none."""
        if self.conversation is None:
            self.conversation = Conversation.create(
                self.store, system_prompt=self.new_system_prompt
            )
            if self._on_created is not None:  # a view shows it before its first message
                self._on_created(self.conversation)
        return self.conversation

    @property
    def system_prompt(self) -> str:
        if self.conversation is None:
            return self.new_system_prompt
        return self.conversation.record.system_prompt

    def set_system_prompt(self, text: str) -> None:
        """Change the system prompt of this chat (a new chat keeps it until it is stored)."""
        if self.conversation is None:
            self.new_system_prompt = text
        else:
            self.conversation.set_system_prompt(text)

    def set_option(self, key: str, value: object) -> None:
        """Set a conversation option (``backend``, ``preview_before_send``)."""
        self.ensure_conversation().set_option(key, value)

    def attached_collections(self) -> list[str]:
        """The document collections this chat answers from: its own choice, else the
        default in settings (``docs_collections``)."""
        options = self.conversation.record.options if self.conversation else {}
        chosen = options.get(COLLECTIONS_OPTION)
        if isinstance(chosen, list):
            return [name for name in chosen if isinstance(name, str)]
        return parse_collections(self._settings().docs_collections)

    def attach_collections(self, names: Sequence[str]) -> None:
        """Answer this chat from these collections (saved in the conversation's options)."""
        self.set_option(COLLECTIONS_OPTION, list(dict.fromkeys(names)))

    def model_messages(self, *, until: int | None = None) -> list[Message]:
        """What the model would see of the open conversation now (see :func:`model_messages`)."""
        records = self.conversation.messages if self.conversation else []
        return model_messages(records, system_prompt=self.system_prompt, until=until)

    # -- turns --------------------------------------------------------------------------

    def send(self, text: str, *, ask_claude: bool = False) -> Turn | None:
        """Send the user's ``text``; ``None`` when the user chose not to send.

        Raises HearthError when it cannot be sent (Claude off or offline, no model, the
        history cannot be written); nothing is stored then, so the text stays with the
        user.
        """
        self._check_idle()
        route, preview, destination = self._route(ask_claude=ask_claude, replaced_backend=None)
        if route is None:
            return None
        history = [*self._turns(until=None), Message("user", text)]
        prepared = self._prepare(route, history, preview=preview, destination=destination)
        if prepared is None:
            return None
        conversation = self.ensure_conversation()
        conversation.send(text)
        return self._begin(TurnKind.SEND, route, regenerate=False, prepared=prepared)

    def regenerate(self) -> Turn | None:
        """A new version of the last reply, from the backend that wrote it."""
        self._check_idle()
        messages = self.conversation.messages if self.conversation else []
        if not messages or messages[-1].role != "assistant":
            raise HearthError("There is no reply to regenerate.")
        last = messages[-1]
        route, preview, destination = self._route(ask_claude=False, replaced_backend=last.backend)
        if route is None:
            return None
        prepared = self._prepare(
            route, self._turns(until=last.id), preview=preview, destination=destination
        )
        if prepared is None:
            return None
        return self._begin(TurnKind.REGENERATE, route, regenerate=True, prepared=prepared)

    def edit(self, message_id: int, text: str) -> Turn | None:
        """Resend an edited message; the old version and its replies are kept."""
        self._check_idle()
        if self.conversation is None:
            raise HearthError("There is no conversation to edit.")
        old = self.store.message(message_id)
        if old.role != "user":
            raise HearthError("Only your own messages can be edited and resent.")
        if not text.strip() or text == old.text:
            return None
        # A conversation set to Claude answers there; an edit never silently asks.
        route, preview, destination = self._route(ask_claude=False, replaced_backend=None)
        if route is None:
            return None
        history = [*self._turns(until=message_id), Message("user", text)]
        prepared = self._prepare(route, history, preview=preview, destination=destination)
        if prepared is None:
            return None
        self.conversation.edit(message_id, text)
        return self._begin(TurnKind.EDIT, route, regenerate=False, prepared=prepared)

    def switch_version(self, message_id: int, step: int) -> None:
        """Show the previous (-1) or next (+1) version of a message."""
        self._check_idle()
        if self.conversation is None:
            return
        siblings = [m.id for m in self.store.siblings(message_id)]
        index = siblings.index(message_id) + step
        if 0 <= index < len(siblings):
            self.conversation.switch_branch(siblings[index])

    # -- the rules ----------------------------------------------------------------------

    def _check_idle(self) -> None:
        if self._turn is not None:
            raise HearthError("A reply is still being written.", hint="Wait for it, or press Stop.")

    def _turns(self, *, until: int | None) -> list[Message]:
        records = self.conversation.messages if self.conversation else []
        return model_messages(records, until=until)

    def _route(
        self, *, ask_claude: bool, replaced_backend: str | None
    ) -> tuple[Route | None, bool, Destination | None]:
        """Where the turn goes, whether the preview is shown first, and to whom."""
        options = self.conversation.record.options if self.conversation else {}
        decision = decide_route(
            self._settings(),
            conversation_options=options,
            ask_claude=ask_claude or replaced_backend == "claude",
            # A local reply is regenerated locally, whatever the model bar points at now.
            remote=self.remote.remote
            if self.remote is not None and replaced_backend != "local"
            else None,
        )
        route: Route | None = decision.route
        if route is Route.ASK:
            route = self.prompts.choose_route()
        if route is Route.LOCAL and self.model is None:
            raise NoModelLoadedError("No model is loaded yet.", hint=NO_MODEL_HINT)
        return route, decision.preview, decision.destination

    def _prepare(
        self,
        route: Route,
        history: list[Message],
        *,
        preview: bool,
        destination: Destination | None,
    ) -> tuple[list[Message], Preview | None, str | None, DocumentContext | None] | None:
        """The request for ``history`` (and the key or token), once the user accepted it."""
        if route is Route.LOCAL:
            # Read and searched before anything is stored: a failure leaves the text
            # with the user.
            local = self.local_settings()
            documents = None
            if self.retriever is not None and self.model is not None:
                seen = [Message("system", self.system_prompt), *history]
                budget = document_budget(
                    seen,
                    context_length=self.model.context_length,
                    reply_tokens=local.max_tokens,
                )
                documents = self._retrieve(history, budget_chars=budget)
            return [], None, None, documents  # the stored turns, once stored (see _begin)
        settings = self._settings()
        if route is Route.REMOTE:
            assert destination is not None and self.remote is not None
            key = self._remote_token(destination.name) if self._remote_token else None
            model, budget = self.remote.model, REMOTE_DOCUMENT_CHARS
        else:
            key = self._claude_key() if self._claude_key is not None else None
            if not key:
                raise MissingKeyError(
                    "There is no Claude API key yet.",
                    hint="Set one in Settings → Claude (it is kept in the system keychain).",
                )
            model, budget = settings.claude_model, CLAUDE_DOCUMENT_CHARS
            destination = None  # Claude's own, from build_preview
        sampling = SamplingOptions.from_settings(settings)
        system = self.system_prompt
        documents = self._retrieve(history, budget_chars=budget)
        if documents is not None and documents.text:
            system = f"{system}\n\n{documents.text}" if system.strip() else documents.text
        request = build_preview(
            history,
            model=model,
            system=system or None,
            temperature=sampling.temperature,
            top_p=sampling.top_p if route is Route.REMOTE else None,
            max_tokens=sampling.max_tokens,
            destination=destination,
        )
        if preview and not self.prompts.confirm_preview(request):
            return None
        return history, request, key, documents

    def _retrieve(
        self, messages: Sequence[Message], *, budget_chars: int
    ) -> DocumentContext | None:
        if self.retriever is None:
            return None
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        if not question.strip():
            return None
        return self.retriever.context_for(question, budget_chars=budget_chars)

    def _begin(
        self,
        kind: TurnKind,
        route: Route,
        *,
        regenerate: bool,
        prepared: tuple[list[Message], Preview | None, str | None, DocumentContext | None],
    ) -> Turn:
        messages, request, key, documents = prepared
        settings = self.local_settings() if route is Route.LOCAL else self._settings()
        conversation = self.ensure_conversation()
        if route is Route.CLAUDE or route is Route.REMOTE:
            assert request is not None
            live = conversation.start_reply(
                regenerate=regenerate, model=request.model, backend=str(route)
            )
        else:
            assert self.model is not None
            live = conversation.start_reply(
                regenerate=regenerate,
                model=self.model.name,
                quantization=self.model.header.quantization,
                backend="local",
            )
            messages = self.model_messages(until=live.message_id)
            if documents is not None:
                messages = with_documents(messages, documents)
        if documents is not None and (documents.used or documents.left_out):
            # Kept from the start, so an interrupted reply still lists what it was given.
            self.store.set_sources(live.message_id, sources_of(documents))
        with self._lock:
            self._numbers += 1
            turn = Turn(
                self,
                number=self._numbers,
                kind=kind,
                route=route,
                live=live,
                messages=messages,
                sampling=SamplingOptions.from_settings(settings),
                preview=request,
                key=key,
                settings=settings,
                documents=documents,
            )
            self._turn = turn
        return turn

    def _turn_ended(self, turn: Turn) -> None:
        with self._lock:
            if self._turn is turn:
                self._turn = None
