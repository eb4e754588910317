"""One error path: typed roots with fields, and the command line's last resort."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
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
    UnexpectedError,
    storage_error,
    unexpected,
)
from app.core.library.downloads import ChecksumMismatchError, NotEnoughDiskSpaceError
from app.core.library.hub import (
    GatedRepoError,
    HubAuthError,
    HubUnavailableError,
    RemoteFileNotFoundError,
    RepoNotFoundError,
)
from app.core.library.hub import OfflineError as HubOfflineError
from app.core.library.installed import LibraryIndexDamagedError, ModelNotInstalledError
from tests.support.gguf_factory import test_model_path as stories_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("error", "root"),
    [
        (HubOfflineError, OfflineModeError),
        (ClaudeOfflineError, OfflineModeError),
        (HubUnavailableError, NetworkError),
        (RemoteFileNotFoundError, NotFoundError),
        (NoNetworkError, NetworkError),
        (RepoNotFoundError, NotFoundError),
        (ModelNotFoundError, NotFoundError),
        (ModelNotInstalledError, NotFoundError),
        (ConversationNotFoundError, NotFoundError),
        (GatedRepoError, AuthError),
        (HubAuthError, AuthError),
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
    error = HubUnavailableError("The server answered 503.", url="https://hf.co/x.gguf", status=503)
    limited = RateLimitedError("Slow down.", retry_after=3.0, status=429)
    for sent in (error, limited, UnexpectedError("Bug.", log_file=Path("/l/hearth.log"))):
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


def test_an_error_nobody_translated_is_logged_and_named_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        {}["gpu_layers"]
    except KeyError as error:
        shown = unexpected(error, doing="loading the model")
    assert isinstance(shown, UnexpectedError) and shown.cause_type == "KeyError"
    assert str(shown) == "Something went wrong while loading the model (KeyError: 'gpu_layers')."
    assert "bug" in shown.hint
    (record,) = [r for r in caplog.records if r.name == "hearth.errors"]
    assert record.exc_info is not None  # the traceback goes to the log
    already = HearthError("Known.")
    assert unexpected(already) is already


# -- the command line's last resort ---------------------------------------------------------


def test_a_bug_in_a_command_is_one_line_naming_the_log_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hearth_home: Path
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("the header reader tripped\non two lines")

    monkeypatch.setattr("app.cli.info.describe", broken)
    assert main(["info", str(stories_path())]) == 1
    captured = capsys.readouterr()
    log = hearth_home / "logs" / "hearth.log"
    assert captured.err == (
        "hearth: Something went wrong while running `hearth info` (RuntimeError: the header "
        f"reader tripped). The details are in {log}.\n"
    )
    assert captured.out == ""
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged and "def broken" not in logged
    assert "RuntimeError: the header reader tripped" in logged


def test_an_os_error_nobody_translated_is_a_storage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/models/big.gguf")

    monkeypatch.setattr("app.cli.info.describe", full)
    assert main(["info", str(stories_path())]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "hearth: Hearth failed while running `hearth info`: No space left on device "
        "(/models/big.gguf). The details are in "
    )
    assert err.count("\n") == 1


def test_hearth_errors_keep_their_message_and_hint_and_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["info", str(tmp_path / "missing.gguf")]) == 1
    assert capsys.readouterr().err == (
        f"hearth: No model file at {tmp_path / 'missing.gguf'}.\n{ModelNotFoundError.hint}\n"
    )
    with pytest.raises(SystemExit) as usage:
        main(["info"])
    assert usage.value.code == 2


def test_ctrl_c_ends_quietly_with_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("app.cli.info.describe", interrupted)
    assert main(["info", str(stories_path())]) == 130
    assert capsys.readouterr().err == "hearth: stopped.\n"


def test_in_a_terminal_a_bug_prints_no_traceback(hearth_home: Path) -> None:
    script = (
        "import sys, app.cli.info as info\n"
        "info.describe = lambda *a: 1 / 0\n"
        "from app.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "info", str(stories_path())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "hearth: Something went wrong while running `hearth info` (ZeroDivisionError: "
        f"division by zero). The details are in {hearth_home / 'logs' / 'hearth.log'}."
    ]
    assert "ZeroDivisionError" in (hearth_home / "logs" / "hearth.log").read_text()
