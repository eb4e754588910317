"""Typed errors. Each says what went wrong (``str(error)``) and what to do (``hint``).

Callers branch on the type, never on the message.
"""

from __future__ import annotations


class HearthError(Exception):
    """Base of every error Hearth reports to a person."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def describe(self) -> str:
        """The message and, when there is one, the way forward."""
        text = str(self)
        return f"{text}\n{self.hint}" if self.hint else text


class ModelFileError(HearthError):
    """A model file cannot be used."""


class ModelNotFoundError(ModelFileError):
    hint = "Check the path, or pick the model again from the library."


class NotAModelFileError(ModelFileError):
    hint = "Hearth runs GGUF model files (ending in .gguf). Choose a GGUF file."


class TruncatedModelError(ModelFileError):
    hint = "The file is incomplete or damaged. Download it again."


class CorruptModelError(ModelFileError):
    hint = "The file is damaged or was crafted to look like a model. Download it again."


class UnsupportedArchitectureError(ModelFileError):
    hint = "This version of llama.cpp cannot run it. Update Hearth, or choose another model."


class NotEnoughMemoryError(HearthError):
    hint = "Try a smaller context length, fewer GPU layers, or a smaller quantization."


class ModelLoadError(HearthError):
    hint = "See Hearth's log for llama.cpp's own words."


class ContextOverflowError(HearthError):
    hint = "Shorten the message, or load the model with a longer context."


class ChatTemplateError(HearthError):
    hint = "The model's chat template is broken; Hearth can use its plain prompt format instead."


class EngineUnavailableError(HearthError):
    """llama.cpp's native libraries cannot be loaded on this machine."""


class NoModelLoadedError(HearthError):
    hint = "Load a model first."
