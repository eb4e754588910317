"""The models behind the server: the shared engine, an optional embedding engine, queues.

Both APIs' handlers come here to name the model, read sampling options the same way,
and start a reply. The chat engine is the one :class:`EngineProcess` the rest of
Hearth uses (the desktop app's chats wait in the same queue); which model it has
loaded is asked each time, never copied.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from app.core.errors import HearthError
from app.core.generation import Message, Reply, ReplyStats, SamplingOptions
from app.core.inference import EngineProcess, Grammar, LoadedModel
from app.core.server.config import ServerLimits
from app.core.server.errors import ApiError, Problem
from app.core.server.requests import Fields
from app.core.server.streams import Activity, ReplyStream, RequestQueue
from app.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelCard:
    """A model as /v1/models lists it."""

    id: str
    created: int
    kind: str  # "chat" or "embedding"


@dataclass(frozen=True, slots=True)
class TextJob:
    """One reply to write: a chat (``messages``) or a raw continuation (``prompt``)."""

    sampling: SamplingOptions
    messages: list[Message] | None = None
    prompt: str | None = None
    stop: tuple[str, ...] = ()
    grammar: Grammar | None = None


def model_id(model: LoadedModel) -> str:
    """The name clients use for a loaded model: its file name without ``.gguf``."""
    return model.path.stem


def _names(model: LoadedModel) -> set[str]:
    names = {model.path.stem, model.path.name}
    if model.header.name:
        names.add(model.header.name)
    return {n.lower() for n in names}


def _created(path: Path) -> int:
    try:
        return int(os.stat(path).st_mtime)
    except OSError:
        return 0


class Backend:
    """What the handlers ask for a reply; see the module docstring."""

    def __init__(
        self,
        engine: EngineProcess,
        *,
        settings: Callable[[], Settings],
        limits: ServerLimits,
        embedder: EngineProcess | None = None,
        on_activity: Callable[[Activity], None] | None = None,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.settings = settings
        self.limits = limits
        self.queue = RequestQueue(lambda: self.settings().server_queue, on_change=on_activity)
        self.embed_queue = RequestQueue(lambda: self.settings().server_queue)
        self._streams: weakref.WeakSet[ReplyStream] = weakref.WeakSet()
        self._streams_lock = threading.Lock()
        self.finished: deque[ReplyStats] = deque(maxlen=32)
        """The figures of the latest replies, newest last (how each one ended)."""

    # -- models -----------------------------------------------------------------------------

    def models(self) -> list[ModelCard]:
        cards = []
        for engine, kind in ((self.engine, "chat"), (self.embedder, "embedding")):
            model = engine.model if engine is not None else None
            if model is not None:
                cards.append(ModelCard(model_id(model), _created(model.path), kind))
        return cards

    def chat_model(self, name: str | None) -> str:
        """The id of the loaded chat model, if ``name`` names it; else 404 (503: none)."""
        return self._match(self.engine.model, name, "chat")

    def embedding_model(self, name: str | None) -> str:
        model = self.embedder.model if self.embedder is not None else None
        if model is None:
            raise ApiError(
                Problem.NOT_FOUND,
                "This Hearth server has no embedding model; start it with "
                "`hearth serve --embedding-model PATH`.",
                param="model",
                code="model_not_found",
            )
        return self._match(model, name, "embedding")

    def _match(self, model: LoadedModel | None, name: str | None, kind: str) -> str:
        if model is None:
            raise ApiError.from_hearth(HearthError("No model is loaded."))
        if name is not None and name.strip().lower() not in _names(model):
            served = ", ".join(card.id for card in self.models())
            raise ApiError(
                Problem.NOT_FOUND,
                f"The model {name!r} is not loaded in Hearth; it serves {served} "
                f"(the {kind} model is {model_id(model)!r}).",
                param="model",
                code="model_not_found",
            )
        return model_id(model)

    # -- options ----------------------------------------------------------------------------

    def sampling(
        self,
        fields: Fields,
        *,
        max_tokens: int | None,
        temperature_hi: float = 2.0,
    ) -> SamplingOptions:
        """The user's sampling settings, with what the request sets (and may set) applied."""
        settings = self.settings()
        base = SamplingOptions.from_settings(settings)
        limit = settings.server_max_tokens
        if max_tokens is not None and max_tokens > limit:
            raise ApiError(
                Problem.INVALID,
                f"max_tokens: this server writes at most {limit:,} tokens per reply; "
                f"{max_tokens:,} were asked for.",
                param="max_tokens",
            )
        temperature = fields.number("temperature", lo=0.0, hi=temperature_hi)
        top_p = fields.number("top_p", lo=0.0, hi=1.0)
        top_k = fields.integer("top_k", lo=0, hi=100_000)
        min_p = fields.number("min_p", lo=0.0, hi=1.0)
        repeat = fields.number("repeat_penalty", lo=0.0, hi=5.0)
        seed = fields.integer("seed", lo=-(2**63), hi=2**63 - 1)
        return replace(
            base,
            temperature=base.temperature if temperature is None else temperature,
            top_p=base.top_p if top_p is None else top_p,
            top_k=base.top_k if top_k is None else top_k,
            min_p=base.min_p if min_p is None else min_p,
            repeat_penalty=base.repeat_penalty if repeat is None else repeat,
            max_tokens=min(base.max_tokens, limit) if max_tokens is None else max_tokens,
            # llama.cpp takes 31 bits; a negative seed asks for a random one, as in settings.
            seed=base.seed if seed is None else (seed % 2**31 if seed >= 0 else -1),
        )

    def max_tokens_limit(self) -> int:
        return self.settings().server_max_tokens

    # -- work ---------------------------------------------------------------------------------

    def stream(self, job: TextJob) -> ReplyStream:
        """A reply for ``job``, admitted to the queue (ApiError BUSY when it is full)."""
        ticket = self.queue.admit()
        engine = self.engine

        def start() -> Reply:
            if job.messages is not None:
                return engine.chat(job.messages, job.sampling, stop=job.stop, grammar=job.grammar)
            return engine.complete(
                job.prompt or "", job.sampling, stop=job.stop, grammar=job.grammar
            )

        stream = ReplyStream(start, stop=engine.stop, ticket=ticket, on_end=self.finished.append)
        with self._streams_lock:
            self._streams.add(stream)
        return stream

    def cancel_all(self) -> None:
        """Stop every reply the server has in progress (never the desktop app's own)."""
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream.cancel()

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Unit vectors for ``texts`` and the tokens read, from the embedding engine."""
        embedder = self.embedder
        assert embedder is not None
        ticket = self.embed_queue.admit()
        ticket.running()

        def work() -> tuple[list[list[float]], int]:
            vectors = embedder.embed(texts, normalize=True)  # refuses a text too long
            return vectors, sum(embedder.count_tokens(texts))

        try:
            return await anyio.to_thread.run_sync(work)
        finally:
            ticket.done()

    @property
    def activity(self) -> Activity:
        return self.queue.activity

    def log_text(self, what: str, text: str) -> None:
        """Prompts and replies go to the log only when the user turned that on."""
        if self.settings().server_log_bodies:
            log.info("%s: %s", what, text)
