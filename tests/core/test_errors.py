"""One error path: typed roots with fields."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest

from app.core.chat.history import ConversationNotFoundError, HistoryCorruptError
from app.core.cloud.claude import (
    InvalidKeyError,
    MissingKeyError,
    NoNetworkError,
    RateLimitedError,
)
from app.core.cloud.claude import OfflineError as ClaudeOfflineError
from app.core.errors import (
    AuthError,
    DamagedFileError,
    DiskFullError,
    FileAccessError,
    HearthError,
    ModelNotFoundError,
    NetworkError,
    NotFoundError,
    OfflineModeError,
    StorageError,
    TruncatedModelError,
    storage_error,
)
from app.core.library.downloads import ChecksumMismatchError, NotEnoughDiskSpaceError
from app.core.library.hub import GatedRepoError, HubUnavailableError, RepoNotFoundError
from app.core.library.hub import OfflineError as HubOfflineError
from app.core.library.installed import LibraryIndexDamagedError, ModelNotInstalledError
from app.core.library.remote import RemoteReadError


@pytest.mark.parametrize(
    ("error", "root"),
    [
        (HubOfflineError, OfflineModeError),
        (ClaudeOfflineError, OfflineModeError),
        (HubUnavailableError, NetworkError),
        (RemoteReadError, NetworkError),
        (NoNetworkError, NetworkError),
        (RepoNotFoundError, NotFoundError),
        (ModelNotFoundError, NotFoundError),
        (ModelNotInstalledError, NotFoundError),
        (ConversationNotFoundError, NotFoundError),
        (GatedRepoError, AuthError),
        (MissingKeyError, AuthError),
        (InvalidKeyError, AuthError),
        (TruncatedModelError, DamagedFileError),
        (ChecksumMismatchError, DamagedFileError),
        (HistoryCorruptError, DamagedFileError),
        (LibraryIndexDamagedError, DamagedFileError),
        (NotEnoughDiskSpaceError, DiskFullError),
    ],
)
def test_each_specific_error_is_one_kind_of_trouble(error: type, root: type) -> None:
    """A front-end can treat 'offline' or 'disk full' alike, whoever raised it."""
    assert issubclass(error, root) and issubclass(error, HearthError)


def test_fields_say_what_the_error_is_about_and_survive_the_engine_process() -> None:
    error = RemoteReadError("The server answered 503.", url="https://hf.co/x.gguf", status=503)
    limited = RateLimitedError("Slow down.", retry_after=3.0, status=429)
    for sent in (error, limited):
        back = pickle.loads(pickle.dumps(sent))  # errors cross the engine process's pipe
        assert type(back) is type(sent) and str(back) == str(sent)
        assert vars(back) == vars(sent)
    assert (error.url, error.status, error.path) == ("https://hf.co/x.gguf", 503, None)
    assert limited.status == 429 and limited.retry_after == 3.0


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.ENOSPC, DiskFullError),
        (errno.EACCES, FileAccessError),
        (errno.EROFS, FileAccessError),
        (errno.ENOENT, NotFoundError),
        (errno.ENAMETOOLONG, StorageError),
        (errno.EIO, StorageError),
    ],
)
def test_an_os_error_becomes_a_typed_error_with_its_path(code: int, kind: type) -> None:
    raised = OSError(code, os.strerror(code), "/models/x.gguf")
    error = storage_error(raised, doing="copy x.gguf")
    assert type(error) is kind
    assert error.path == Path("/models/x.gguf")
    assert str(error) == f"Hearth could not copy x.gguf: {os.strerror(code)}."
    assert error.hint
