"""The engine's own vocabulary: how a model is loaded and what was loaded.

Plain data, shared by the in-process :class:`app.core.inference.engine.Engine` (which runs in the
engine process) and its supervisor :class:`app.core.inference.process.EngineProcess`
(which the app, the CLI and the server use). Nothing here imports llama.cpp, so the
app's own process never loads it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import HearthError
from app.core.gguf.header import GGUFHeader
from app.core.library.model_settings import TEMPLATE_AUTO, ModelSettings
from app.core.machine.memory import MemoryEstimate
from app.core.settings import Settings


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
    embedding: bool = False
    """Load for embeddings (a sentence-embedding model such as all-MiniLM-L6-v2)."""
    extra_buffers: bool = True
    """llama.cpp's extra weight buffers (AMX, CPU repack); off is a recovery rung."""
    swa_full: bool = True
    """A full-size cache for sliding-window layers (llama-cpp-python's default).

    Kept on although off saves memory (Gemma 3 270M shape: 45 MiB of 72 at 4k context,
    465 of 576 at 32k): off, llama.cpp drops cache cells that slid out of the window,
    and llama-cpp-python still reuses a cached prefix whose window is gone, so
    regenerating or editing a reply further back than the window gives wrong text."""
    chat_template: str = TEMPLATE_AUTO
    """``auto``: the file's own template, else one chosen from its architecture; a family
    key (``chatml``...) in place of the file's own; ``plain``: Hearth's plain format."""

    @classmethod
    def from_settings(cls, settings: Settings, model: ModelSettings | None = None) -> LoadOptions:
        """The load options a user chose in settings (GPU layers ``-1``: all), with
        ``model``'s own settings (context, GPU layers, chat template) over them."""
        if model is not None:
            settings = model.apply(settings)
        return cls(
            context_length=settings.context_length,
            gpu_layers=settings.gpu_layers,
            threads=settings.threads or None,
            batch_size=settings.batch_size,
            flash_attention=settings.flash_attention,
            kv_cache_type=settings.kv_cache_type,
            chat_template=model.chat_template if model is not None else TEMPLATE_AUTO,
        )


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


class GrammarError(HearthError):
    """A grammar (or the JSON schema it came from) that llama.cpp cannot follow."""

    hint = "Simplify the JSON schema: llama.cpp's converter supports most, not all, of it."


@dataclass(frozen=True, slots=True)
class Grammar:
    """A grammar every reply token must follow, compiled by llama.cpp in the engine.

    Either GBNF text, or a JSON schema (as JSON text) that llama.cpp's converter turns
    into GBNF; build the latter with :meth:`json`.
    """

    gbnf: str | None = None
    json_schema: str | None = None

    @classmethod
    def json(cls, schema: Mapping[str, Any] | None = None) -> Grammar:
        """A reply that is one JSON value matching ``schema`` (None: any JSON object)."""
        return cls(
            json_schema=json.dumps(dict(schema) if schema is not None else {"type": "object"})
        )
