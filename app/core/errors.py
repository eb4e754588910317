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
- :class:`UnexpectedError`: anything else, a bug; its traceback is in the log file.

Specific errors (the Hub's ``RepoNotFoundError``, Claude's ``InvalidKeyError``...) live
next to the code that raises them and subclass the right root.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger("hearth.errors")
"""Unexpected errors are logged here with their traceback (front-ends show the message)."""

_SHOWN_PATH_CHARS = 160


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


class UnexpectedError(HearthError):
    """Something Hearth did not foresee (a bug). ``log_file`` holds its traceback."""

    def __init__(
        self,
        message: str,
        *,
        log_file: Path | None = None,
        cause_type: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.log_file = log_file
        self.cause_type = cause_type


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


class UnreadableModelError(ModelFileError, FileAccessError):
    """The system would not let Hearth read the file (permissions, a bad name, a loop)."""

    hint = "Check that the file exists and that you may read it, or choose another file."


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


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` fit for a one-line message: printable, the middle of a long one elided."""
    text = "".join(c if c.isprintable() else "?" for c in os.fsdecode(path))
    if len(text) <= _SHOWN_PATH_CHARS:
        return text
    half = _SHOWN_PATH_CHARS // 2 - 1
    return f"{text[:half]}…{text[-half:]}"


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


def log_file() -> Path | None:
    """The file the root logger writes to (``hearth.log``), if it writes to one.

    Hearth's own handler (marked ``hearth``) wins over any other a host attached.
    """
    files = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler) and h.baseFilename != os.path.abspath(os.devnull)
    ]
    files.sort(key=lambda h: not getattr(h, "hearth", False))
    return Path(files[0].baseFilename) if files else None


def unexpected(error: BaseException, *, doing: str | None = None) -> HearthError:
    """What to show for an exception nobody translated, raised while ``doing`` something.

    A :class:`HearthError` is returned as it is; anything else is logged with its
    traceback (to :data:`log`), then an :class:`OSError` becomes its
    :func:`storage_error` and the rest an :class:`UnexpectedError` whose one-line message
    names the log file. ``doing`` is a gerund phrase: ``"reading the library"``.
    """
    if isinstance(error, HearthError):
        return error
    while_doing = f" while {doing}" if doing else ""
    log.error("Unexpected error%s", while_doing, exc_info=error)
    file = log_file()
    where = f" The details are in {file}." if file else ""
    if isinstance(error, OSError):
        target = error.filename
        about = f" ({shown_path(target)})" if isinstance(target, str | os.PathLike) else ""
        reason = error.strerror or type(error).__name__
        return _storage_error(error, f"Hearth failed{while_doing}: {reason}{about}.{where}")
    if isinstance(error, MemoryError):
        return UnexpectedError(
            f"Hearth ran out of memory{while_doing}.",
            hint="Close other programs, or choose a smaller model, then try again.",
            log_file=file,
            cause_type="MemoryError",
        )
    lines = str(error).strip().splitlines()
    said = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
    return UnexpectedError(
        f"Something went wrong{while_doing} ({said}).{where}",
        hint="This is a bug in Hearth: please report it"
        + (", with that log file." if file else "."),
        log_file=file,
        cause_type=type(error).__name__,
    )
