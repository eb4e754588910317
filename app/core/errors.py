"""Typed errors. Each says what went wrong (``str(error)``) and what to do (``hint``).

Callers branch on the type and read the fields (``path``, ``url``, ``status``), never
the message. Every error Hearth reports is a :class:`HearthError`; the roots below say
what kind of trouble it is, whichever part of Hearth raised it, so a front-end can treat
"the network failed" or "the disk is full" alike for the Hub, Claude and the library:

- :class:`NetworkError`: a server could not be reached, timed out or answered an error.
- :class:`OfflineModeError`: refused because the user turned offline mode on.
- :class:`NotFoundError`: a file, model, repository or conversation that is not there.
- :class:`AuthError`: a key or token that is missing, refused or not allowed.
- :class:`DamagedFileError`: a file that is there but whose contents are damaged.
- :class:`StorageError`: the disk said no (:class:`DiskFullError`,
  :class:`FileAccessError`, a name the file system cannot hold).

Specific errors (the Hub's ``RepoNotFoundError``, Claude's ``InvalidKeyError``...) live
next to the code that raises them and subclass the right root.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


class HearthError(Exception):
    """Base of every error Hearth reports to a person.

    ``path`` and ``url`` name what the error is about, ``status`` the HTTP status a
    server answered, when there is one.
    """

    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        self.path = Path(path) if path is not None else None
        self.url = url
        self.status = status

    def describe(self) -> str:
        """The message and, when there is one, the way forward."""
        text = str(self)
        return f"{text}\n{self.hint}" if self.hint else text


# -- roots: what kind of trouble ----------------------------------------------------------


class NetworkError(HearthError):
    """A server could not be reached, did not answer in time, or answered with an error."""

    hint = "Check your internet connection and try again."


class OfflineModeError(HearthError):
    """Refused because offline mode is on: nothing was sent."""

    hint = "Turn offline mode off (in Settings, or `hearth config set offline false`) to use it."


class NotFoundError(HearthError):
    """A file, model, repository or conversation that is not there."""

    hint = "Check the name or the path, then try again."


class AuthError(HearthError):
    """A key or token that is missing, was refused, or may not do this."""


class DamagedFileError(HearthError):
    """A file that exists but whose contents are damaged or not what they claim."""


class StorageError(HearthError):
    """The disk or file system refused: no space, no permission, a name it cannot hold."""

    hint = "Check the disk and the folder's permissions, then try again."


class DiskFullError(StorageError):
    hint = "Free some space on the disk, then try again."


class FileAccessError(StorageError):
    hint = "Check the file's permissions (or choose another folder), then try again."


# -- model files --------------------------------------------------------------------------


class ModelFileError(HearthError):
    """A model file cannot be used."""


class ModelNotFoundError(ModelFileError, NotFoundError):
    hint = "Check the path, or pick the model again from the library."


class NotAModelFileError(ModelFileError):
    hint = "Hearth runs GGUF model files (ending in .gguf). Choose a GGUF file."


class TruncatedModelError(ModelFileError, DamagedFileError):
    hint = "The file is incomplete or damaged. Download it again."


class CorruptModelError(ModelFileError, DamagedFileError):
    hint = "The file is damaged or was crafted to look like a model. Download it again."


class UnsupportedArchitectureError(ModelFileError):
    hint = "This version of llama.cpp cannot run it. Update Hearth, or choose another model."


# -- running a model ----------------------------------------------------------------------


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


# -- translating what Python raised -------------------------------------------------------


def storage_error(
    error: OSError, *, doing: str, path: str | os.PathLike[str] | None = None
) -> StorageError | NotFoundError:
    """The typed error for an :class:`OSError` raised while ``doing`` something to a file.

    ``doing`` completes "Hearth could not ..." (``"read /x/y.gguf"``). A missing file is
    a :class:`NotFoundError`; no space a :class:`DiskFullError`; no permission (or a
    read-only disk) a :class:`FileAccessError`; anything else a :class:`StorageError`.
    """
    reason = error.strerror or type(error).__name__
    return _storage_error(error, f"Hearth could not {doing}: {reason}.", path=path)


def _storage_error(
    error: OSError, message: str, *, path: str | os.PathLike[str] | None = None
) -> StorageError | NotFoundError:
    where = path if path is not None else error.filename
    if not isinstance(where, str | os.PathLike):
        where = None
    code = error.errno
    if code in (errno.ENOENT, errno.ENOTDIR):
        return NotFoundError(message, path=where)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(message, path=where)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return FileAccessError(message, path=where)
    if code == errno.ENAMETOOLONG:
        return StorageError(
            message, path=where, hint="Use a shorter file name, or a folder nearer the top."
        )
    return StorageError(message, path=where)
