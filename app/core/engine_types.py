"""The engine's vocabulary: load and sampling options, messages, replies and their figures.

Plain data, shared by the in-process :class:`app.core.engine.Engine` (which runs in the
engine process) and its supervisor :class:`app.core.engine_process.EngineProcess`
(which the app, the CLI and the server use). Nothing here imports llama.cpp, so the
app's own process never loads it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.core.gguf import GGUFHeader
from app.core.memory import MemoryEstimate
from app.core.settings import Settings


class StopReason(enum.StrEnum):
    """Why a reply ended."""

    END_OF_TEXT = "eos"  # the model said it was done
    LENGTH = "length"  # max_tokens reached
    USER = "user"  # stopped by the user
    CONTEXT = "context"  # the context window is full
    CRASHED = "crashed"  # the engine process died (a signal, the OOM killer) or hung


class PromptFormat(enum.StrEnum):
    TEMPLATE = "model template"
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How to load a model. ``gpu_layers=-1`` offloads every layer."""

    context_length: int = 4096
    gpu_layers: int = 0
    threads: int | None = None
    batch_size: int = 512
    flash_attention: bool = False
    kv_cache_type: str = "f16"
    extra_buffers: bool = True
    """llama.cpp's extra weight buffers (AMX, CPU repack); off is a recovery rung."""
    swa_full: bool = True
    """A full-size cache for sliding-window layers (llama-cpp-python's default).

    Kept on although off saves memory (Gemma 3 270M shape: 45 MiB of 72 at 4k context,
    465 of 576 at 32k): off, llama.cpp drops cache cells that slid out of the window,
    and llama-cpp-python still reuses a cached prefix whose window is gone, so
    regenerating or editing a reply further back than the window gives wrong text."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadOptions:
        """The load options a user chose in settings (GPU layers ``-1``: all)."""
        return cls(
            context_length=settings.context_length,
            gpu_layers=settings.gpu_layers,
            threads=settings.threads or None,
            batch_size=settings.batch_size,
            flash_attention=settings.flash_attention,
            kv_cache_type=settings.kv_cache_type,
        )


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


@dataclass(slots=True)
class LoadedModel:
    """What is loaded, and how."""

    path: Path
    header: GGUFHeader
    options: LoadOptions
    context_length: int
    prompt_format: PromptFormat
    notice: str | None
    load_seconds: float
    log_lines: list[str] = field(default_factory=list)
    estimate: MemoryEstimate | None = None
    gpu_offload: bool = False
    """Whether this llama.cpp build can offload layers to a GPU."""

    @property
    def name(self) -> str:
        return self.header.name or self.path.stem


class Reply:
    """A streaming reply: iterate for text pieces, then read ``stats``."""

    def __init__(self, *, prompt_tokens: int, dropped: int) -> None:
        self._pieces: Iterator[str] = iter(())
        self.prompt_tokens = prompt_tokens
        self.dropped_messages = dropped
        self.stats: ReplyStats | None = None
        self._parts: list[str] = []

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
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def read(self) -> str:
        """Consume the whole reply and return its text."""
        for _ in self:
            pass
        return self.text
