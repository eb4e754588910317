"""Local inference: the only package that imports llama.cpp, and only in the engine process.

The app's process drives :class:`EngineProcess`; ``engine`` and ``runtime`` (which load
llama.cpp) run in the child it starts."""

from __future__ import annotations

from app.core.inference.devices import detect_machine, llama_build
from app.core.inference.process import EngineProcess, RecipeStore
from app.core.inference.types import (
    Grammar,
    GrammarError,
    LoadedModel,
    LoadOptions,
    PromptFormat,
)

__all__ = [
    "EngineProcess",
    "Grammar",
    "GrammarError",
    "LoadOptions",
    "LoadedModel",
    "PromptFormat",
    "RecipeStore",
    "detect_machine",
    "llama_build",
    "probe_llama_main",
    "run_engine_host",
]


def probe_llama_main() -> int:
    """Print llama.cpp's build and GPUs as JSON (``hearth --probe-llama``, frozen builds)."""
    from app.core.inference import devices

    return devices.main()


def run_engine_host() -> int:
    """Serve one engine over stdin and stdout (``hearth --engine-host``, frozen builds)."""
    from app.core.inference import host

    return host.main()
