"""The vocabulary of text generation, shared by the local engine and the cloud client.

Messages, sampling options, streamed replies and their figures: plain data that
:mod:`app.core.inference` and :mod:`app.core.cloud` both speak, so neither needs the
other (and the cloud client never pulls llama.cpp in).
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.core.settings import Settings


class StopReason(enum.StrEnum):
    """Why a reply ended."""

    END_OF_TEXT = "eos"  # the model said it was done
    LENGTH = "length"  # max_tokens reached
    USER = "user"  # stopped by the user
    CONTEXT = "context"  # the context window is full
    CRASHED = "crashed"  # the engine process died (a signal, the OOM killer) or hung


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    """How to pick tokens. ``temperature=0`` is greedy; ``seed=-1`` is random."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 2048
    seed: int = -1

    @classmethod
    def from_settings(cls, settings: Settings) -> SamplingOptions:
        return cls(
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            min_p=settings.min_p,
            repeat_penalty=settings.repeat_penalty,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
        )


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ReplyStats:
    """The figures of one finished reply."""

    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    time_to_first_token: float | None
    tokens_per_second: float | None
    stop_reason: StopReason
    dropped_messages: int = 0
    elapsed: float = 0.0
    notice: str | None = None
    """What went wrong or what Hearth changed (a crash, the safer settings it now uses)."""
    stop_sequence: str | None = None
    """The caller's stop sequence that ended the reply (``stop_reason`` is then end of text)."""


class Reply:
    """A streaming reply: iterate for text pieces, then read ``stats``."""

    def __init__(self, *, prompt_tokens: int, dropped: int) -> None:
        self._pieces: Iterator[str] = iter(())
        self.prompt_tokens = prompt_tokens
        self.dropped_messages = dropped
        self.stats: ReplyStats | None = None
        self._parts: list[str] = []
        self._abandon: Callable[[], None] | None = None
        """Ends a reply closed before it was read (set by its engine)."""

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self._pieces:
                self._parts.append(piece)
                yield piece
        finally:
            self.close()

    @property
    def text(self) -> str:
        """What has streamed so far."""
        return "".join(self._parts)

    def close(self) -> None:
        """Stop early; ``stats`` then says the user stopped it."""
        pieces = self._pieces
        abandon, self._abandon = self._abandon, None
        if (
            abandon is not None
            and inspect.isgenerator(pieces)
            and inspect.getgeneratorstate(pieces) == inspect.GEN_CREATED
        ):
            # Never read: closing the generator would not run its cleanup.
            pieces.close()
            abandon()
            return
        close = getattr(pieces, "close", None)
        if close is not None:
            close()

    def read(self) -> str:
        """Consume the whole reply and return its text."""
        for _ in self:
            pass
        return self.text
