"""Downloads that never waste a byte: resumable, verified, honest about space.

A :class:`DownloadManager` runs :class:`DownloadTask`\\ s, at most ``max_concurrent``
at a time, each on its own thread. A task fetches one model: a single ``.gguf`` or
every shard of a split one, as one unit.

How a file travels (the same as ``huggingface_hub``'s own downloads, with more care):

1. Its bytes go to ``NAME.gguf.incomplete`` beside a ``NAME.gguf.incomplete.json``
   that records the SHA-256 and size the Hub announced. Nothing ending in
   ``.incomplete`` looks like a model to Hearth or to llama.cpp.
2. A dropped connection, a pause, or Hearth being closed or killed leaves the partial
   file; the next attempt asks the server only for the bytes after it (``Range``).
   The bytes already on disk are hashed from disk, not fetched again.
3. When every file of the model is complete, each is checked against the Hub's
   SHA-256 and read as a GGUF header. On a mismatch the damaged file is deleted and
   :class:`ChecksumMismatchError` says so. Only then are the files renamed into place.

Before a task starts, the free space on the models' disk must hold what is still to
fetch plus a margin, or :class:`NotEnoughDiskSpaceError` refuses it.

Listeners get :class:`DownloadProgress` snapshots (bytes, speed, time left, state)
from the worker thread, at most every ``progress_interval_s`` and on every change of
state; a UI forwards them to its own thread.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout

from app.core.errors import DamagedFileError, DiskFullError, HearthError, StorageError
from app.core.files import write_json_atomic
from app.core.gguf.header import read_header
from app.core.library.hub import (
    GGUFVariant,
    Hub,
    HubError,
    HubFile,
    HubUnavailableError,
    RangeNotSatisfiableError,
    check_repo_id,
    check_repo_path,
)
from app.core.units import format_bytes

PARTIAL_SUFFIX = ".incomplete"
SIDECAR_SUFFIX = ".incomplete.json"
MIN_SPACE_MARGIN = 500_000_000
HASH_BLOCK = 4 * 1024 * 1024
LOCKS_FOLDER = ".locks"

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------
# Errors


class DownloadError(HearthError):
    """A download could not finish."""

    hint = "Run the download again: Hearth continues where it stopped."


class NotEnoughDiskSpaceError(DownloadError, DiskFullError):
    hint = "Free some space, or choose another models folder in Settings, then try again."


class FileTooLargeError(DownloadError, StorageError):
    hint = (
        "The disk's file system limits file sizes (FAT32 stops at 4 GB). Choose a models "
        "folder on a disk formatted NTFS, exFAT, APFS or ext4 in Settings."
    )


class ChecksumMismatchError(DownloadError, DamagedFileError):
    hint = (
        "Hearth deleted the damaged file, so nothing broken was installed. "
        "Run the download again to retry; if it fails again, the file on the Hub may be bad."
    )


class DownloadInProgressError(DownloadError):
    hint = "Wait for it to finish, or stop it there first; both would write the same file."


class DownloadCancelledError(DownloadError):
    hint = "Start the download again to fetch the model."


# ------------------------------------------------------------------------------------
# Observable state


class DownloadState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (DownloadState.DONE, DownloadState.FAILED, DownloadState.CANCELLED)


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """A snapshot of one task, for any listener."""

    state: DownloadState
    done_bytes: int
    total_bytes: int
    speed_bps: float
    eta_s: float | None
    current_file: str | None = None
    error: HearthError | None = None

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """A finished download: where its files are and what was checked."""

    repo_id: str
    name: str
    paths: tuple[Path, ...]
    commit: str | None
    size: int
    fetched_bytes: int
    sha256_verified: bool

    @property
    def path(self) -> Path:
        """The file to load (the first shard of a split model)."""
        return self.paths[0]


Listener = Callable[[DownloadProgress], None]


def default_free_space(folder: Path) -> int:
    """Free bytes on the disk holding ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def space_margin(need: int) -> int:
    """Room to leave free beyond the download: 500 MB, or 2% of it if that is more."""
    return max(MIN_SPACE_MARGIN, need // 50)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


class _Stop(Exception):
    """Raised inside a worker when the user paused or cancelled."""


class _Digest:
    """A SHA-256 that can start over (hashlib objects cannot be reset)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


# ------------------------------------------------------------------------------------
# A task


class DownloadTask:
    """One model being downloaded. Create through :meth:`DownloadManager.start`."""

    def __init__(
        self,
        manager: DownloadManager,
        *,
        repo_id: str,
        variant: GGUFVariant,
        revision: str | None,
        destinations: tuple[Path, ...],
    ) -> None:
        self.repo_id = repo_id
        self.variant = variant
        self.revision = revision
        self.destinations = destinations
        self._manager = manager
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pause_requested = False
        self._cancel_requested = False
        self._done = threading.Event()
        self._state = DownloadState.QUEUED
        self._done_bytes = sum(_size_or_zero(_partial(p)) for p in destinations)
        self._fetched = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._last_emit = 0.0
        self._current: str | None = None
        self.result: DownloadResult | None = None
        self.error: HearthError | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"download {variant.name}", daemon=True
        )

    # -- control (any thread) -----------------------------------------------------------

    @property
    def state(self) -> DownloadState:
        return self._state

    @property
    def total_bytes(self) -> int:
        return self.variant.size

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with each progress snapshot; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def pause(self) -> None:
        """Stop fetching and keep the bytes so far; :meth:`resume` continues."""
        with self._lock:
            if not self._state.finished:
                self._pause_requested = True
                self._wake.notify_all()

    def resume(self) -> None:
        """Continue a paused task (it may wait for a free slot)."""
        with self._lock:
            self._pause_requested = False
            self._wake.notify_all()

    def cancel(self) -> None:
        """Stop and delete every partial file of this task."""
        with self._lock:
            if not self._state.finished:
                self._cancel_requested = True
                self._wake.notify_all()

    def wait(self, timeout: float | None = None) -> DownloadResult:
        """Block until the task ends; its result, or its error raised."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.variant.name} is still downloading.")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def progress(self) -> DownloadProgress:
        """The current snapshot."""
        speed = self._speed()
        remaining = max(self.total_bytes - self._done_bytes, 0)
        eta = remaining / speed if speed > 0 else None
        return DownloadProgress(
            state=self._state,
            done_bytes=self._done_bytes,
            total_bytes=self.total_bytes,
            speed_bps=speed,
            eta_s=eta,
            current_file=self._current,
            error=self.error,
        )

    # -- worker -------------------------------------------------------------------------

    def _set_state(self, state: DownloadState) -> None:
        self._state = state
        if state is not DownloadState.RUNNING:
            self._samples.clear()
        self._emit(force=True)

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < self._manager.progress_interval_s:
            return
        self._last_emit = now
        snapshot = self.progress()
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                # A broken view must not break the download; the log keeps the bug visible.
                log.exception("A download listener failed")

    def _speed(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def _advance(self, n: int) -> None:
        self._done_bytes += n
        self._fetched += n
        now = time.monotonic()
        self._samples.append((now, self._fetched))
        while len(self._samples) > 2 and now - self._samples[0][0] > 3.0:
            self._samples.popleft()
        self._emit()

    def _check_stop(self) -> None:
        if self._cancel_requested or self._pause_requested:
            raise _Stop

    def _run(self) -> None:
        manager = self._manager
        lock = FileLock(manager.lock_path(self.destinations[0]))
        locked = False
        try:
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise DownloadInProgressError(
                    f"{self.variant.name} is being downloaded by another Hearth window or command."
                ) from None
            locked = True
            while True:
                if not self._acquire_slot():
                    break
                try:
                    self._set_state(DownloadState.RUNNING)
                    self.result = self._fetch_all()
                    self._set_state(DownloadState.DONE)
                    return
                except _Stop:
                    pass
                finally:
                    manager._slots.release()
                if self._cancel_requested:
                    break
                self._set_state(DownloadState.PAUSED)
                with self._lock:
                    while self._pause_requested and not self._cancel_requested:
                        self._wake.wait()
                if self._cancel_requested:
                    break
                self._set_state(DownloadState.QUEUED)
            self._discard_partials()
            self.error = DownloadCancelledError(
                f"The download of {self.variant.name} was cancelled."
            )
            self._set_state(DownloadState.CANCELLED)
        except HearthError as error:
            self.error = error
            self._set_state(DownloadState.FAILED)
        except Exception as error:  # a worker must report, never die silently
            self.error = DownloadError(f"The download of {self.variant.name} failed: {error!r}.")
            self._set_state(DownloadState.FAILED)
        finally:
            if locked:
                lock.release()
            manager._forget(self)
            self._done.set()

    def _acquire_slot(self) -> bool:
        """Wait for a free slot; False when cancelled while waiting."""
        while not self._manager._slots.acquire(timeout=0.05):
            if self._cancel_requested:
                return False
        if self._cancel_requested:
            self._manager._slots.release()
            return False
        return True

    def _fetch_all(self) -> DownloadResult:
        revision = self.revision
        verified = True
        for item, dest in zip(self.variant.files, self.destinations, strict=True):
            self._current = item.path
            commit, sha_known = self._fetch_file(item, dest, revision)
            # Pin every later shard to the commit the first one came from.
            revision = revision or commit
            verified = verified and sha_known
        self._set_state(DownloadState.VERIFYING)
        for dest in self.destinations:
            try:
                read_header(_partial(dest))
            except HearthError as error:
                self._discard_partials()
                raise type(error)(
                    f"{dest.name} downloaded completely but is not a usable GGUF file: {error}",
                    hint="Hearth deleted it. The repository's file may be broken; try another.",
                ) from None
        for dest in self.destinations:
            os.replace(_partial(dest), dest)
            _sidecar(dest).unlink(missing_ok=True)
        return DownloadResult(
            repo_id=self.repo_id,
            name=self.variant.name,
            paths=self.destinations,
            commit=revision,
            size=self.variant.size,
            fetched_bytes=self._fetched,
            sha256_verified=verified,
        )

    def _fetch_file(
        self, item: HubFile, dest: Path, revision: str | None
    ) -> tuple[str | None, bool]:
        """Bring ``dest``'s partial file to full size and check its hash.

        Returns the commit the file came from and whether a SHA-256 was checked.
        """
        hub = self._manager.hub
        partial, sidecar = _partial(dest), _sidecar(dest)
        done = _read_json(sidecar)
        if (
            isinstance(done, dict)
            and done.get("verified")
            and done.get("size") == _size_or_zero(partial)
        ):
            # Checked before a pause or a restart: no need to ask the server again.
            return done.get("commit"), done.get("sha256") is not None
        hub.require_online(f"Downloading {self.variant.name}")
        meta = hub.file_metadata(
            self.repo_id,
            item.path,
            revision=revision,
            action=f"Downloading {item.path}",
            timeout=self._manager.connect_timeout_s,
        )
        announced = meta.etag if meta.etag and len(meta.etag) == 64 else None
        # The HEAD answer is fresher than a listing (or a cached catalog) and speaks
        # for the very bytes about to come.
        sha = announced or item.sha256
        size = int(meta.size) if meta.size is not None else item.size
        record: dict[str, Any] = {
            "sha256": sha,
            "size": size,
            "commit": meta.commit_hash,
            # What a restarted Hearth needs to offer resuming (see find_partials).
            "repo_id": self.repo_id,
            "repo_path": item.path,
            "variant": self.variant.name,
            "quant": self.variant.quant,
        }
        kept = _read_json(sidecar)
        same_file = (
            isinstance(kept, dict)
            and kept.get("size") == size
            and kept.get("sha256") == sha
            and sha is not None
        )
        if not same_file:
            # A different file (or none) was being fetched here: start it afresh.
            self._done_bytes -= _size_or_zero(partial)
            partial.unlink(missing_ok=True)
            write_json_atomic(sidecar, record)
        hasher = _Digest()
        before = _size_or_zero(partial)
        have = _hash_existing(partial, hasher, size)
        self._done_bytes -= before - have
        failures = 0
        while have < size:
            self._check_stop()
            try:
                self._stream(str(meta.location), partial, have, size, hasher)
                failures = 0
            except HubUnavailableError as error:
                # A streak of failures restarts whenever an attempt still brought bytes.
                failures = 1 if _size_or_zero(partial) > have else failures + 1
                if failures > self._manager.max_retries:
                    raise HubUnavailableError(
                        str(error),
                        hint="Hearth kept the bytes fetched so far: start the download again "
                        "and it continues from there.",
                    ) from None
                time.sleep(self._manager.retry_wait_s)
                self._check_stop()
            finally:
                # Every byte received was written and hashed, even when the stream broke.
                have = _size_or_zero(partial)
        if sha is not None and hasher.hexdigest() != sha:
            partial.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            self._done_bytes -= size
            raise ChecksumMismatchError(
                f"{item.path} arrived damaged: its SHA-256 is {hasher.hexdigest()[:12]}…, "
                f"the Hub says {sha[:12]}…."
            )
        write_json_atomic(sidecar, {**record, "verified": True})
        return meta.commit_hash, sha is not None

    def _stream(self, url: str, partial: Path, have: int, size: int, hasher: _Digest) -> int:
        """Fetch from byte ``have`` on, appending to ``partial``; returns bytes on disk.

        A dropped or stalled connection raises :class:`HubUnavailableError` after
        every byte received was written, so the next attempt starts after them.
        """
        import httpx2

        manager = self._manager
        shown = partial.name.removesuffix(PARTIAL_SUFFIX)
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        timeout = httpx2.Timeout(manager.read_timeout_s, connect=manager.connect_timeout_s)
        try:
            with manager.hub.stream(
                url,
                action=f"Downloading {shown}",
                repo_id=self.repo_id,
                headers=headers,
                timeout=timeout,
            ) as response:
                mode = "ab"
                if have and response.status_code == 200:
                    # The server ignored Range and sends everything: start the file again.
                    self._done_bytes -= have
                    have = 0
                    hasher.reset()
                    mode = "wb"
                with partial.open(mode) as out:
                    for chunk in response.iter_bytes():
                        if have + len(chunk) > size:
                            raise HubUnavailableError(
                                f"The server sent more than the {size:,} bytes of {shown}."
                            )
                        _write(out, chunk, partial)
                        hasher.update(chunk)
                        have += len(chunk)
                        self._advance(len(chunk))
                        self._check_stop()
        except RangeNotSatisfiableError:
            # The server says our partial file is not a prefix of its file.
            _truncate(partial, hasher)
            self._done_bytes -= have
            return 0
        if have < size:
            raise HubUnavailableError(f"The connection closed early while fetching {shown}.")
        return have

    def _discard_partials(self) -> None:
        for dest in self.destinations:
            _partial(dest).unlink(missing_ok=True)
            _sidecar(dest).unlink(missing_ok=True)
        self._done_bytes = 0


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _hash_existing(partial: Path, hasher: _Digest, size: int) -> int:
    """Hash the bytes already in ``partial`` (cut back to ``size``); returns their count."""
    if not partial.exists():
        return 0
    if partial.stat().st_size > size:
        with partial.open("r+b") as handle:
            handle.truncate(0)
        return 0
    count = 0
    with partial.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            hasher.update(block)
            count += len(block)
    return count


def _truncate(partial: Path, hasher: _Digest) -> None:
    with partial.open("wb"):
        pass
    hasher.reset()


def _write(out: IO[bytes], chunk: bytes, partial: Path) -> None:
    try:
        out.write(chunk)
        out.flush()  # so a full disk shows here, not when the file closes
    except OSError as error:
        shown = partial.name.removesuffix(PARTIAL_SUFFIX)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NotEnoughDiskSpaceError(
                f"The disk filled up while writing {shown}. The bytes fetched so far "
                "are kept: the download continues from there once there is room."
            ) from None
        if error.errno == errno.EFBIG:
            raise FileTooLargeError(
                f"The models folder's disk cannot hold a file as large as {shown} "
                f"(writing stopped at {partial.stat().st_size:,} bytes)."
            ) from None
        raise DownloadError(f"Writing {shown} failed: {error.strerror or error}.") from None


# ------------------------------------------------------------------------------------
# The manager


class DownloadManager:
    """Starts downloads into ``models_dir/OWNER/REPO/``, at most ``max_concurrent`` at once.

    ``free_space`` reports the free bytes for a folder (tests pass their own);
    ``margin`` maps the bytes still to fetch to the room to leave free beyond them.
    """

    def __init__(
        self,
        *,
        models_dir: Path,
        hub: Hub,
        max_concurrent: int = 2,
        free_space: Callable[[Path], int] = default_free_space,
        margin: Callable[[int], int] = space_margin,
        max_retries: int = 5,
        retry_wait_s: float = 1.0,
        connect_timeout_s: float = 20.0,
        read_timeout_s: float = 60.0,
        progress_interval_s: float = 0.1,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.models_dir = Path(models_dir)
        self.hub = hub
        self.max_concurrent = max_concurrent
        self.free_space = free_space
        self.margin = margin
        self.max_retries = max_retries
        self.retry_wait_s = retry_wait_s
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.progress_interval_s = progress_interval_s
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._tasks: list[DownloadTask] = []
        self._lock = threading.Lock()

    def lock_path(self, destination: Path) -> Path:
        """The lock file a download of ``destination`` holds, in ``MODELS/.locks/``.

        Every process fetching into this models folder takes the same lock (through
        ``filelock``: ``flock`` on POSIX, a Windows file lock there), which the OS lets
        go when its holder dies. On POSIX the file stays after a release: deleting it
        would let a waiter lock a file that no one else can find any more.
        """
        relative = destination.relative_to(self.models_dir)
        return self.models_dir / LOCKS_FOLDER / relative.with_suffix(".lock")

    def folder_for(self, repo_id: str) -> Path:
        """Where ``repo_id``'s models go."""
        owner, name = check_repo_id(repo_id).split("/")
        return self.models_dir / owner / name

    def destinations(self, repo_id: str, files: Iterable[HubFile]) -> tuple[Path, ...]:
        """The local path of each file, each checked to stay inside the models folder."""
        folder = self.folder_for(repo_id)
        root = self.models_dir.resolve()
        paths = []
        for item in files:
            path = folder.joinpath(*check_repo_path(item.path).parts)
            if not path.resolve().is_relative_to(root):
                raise HubError(f"Refusing to write {item.path!r} outside the models folder.")
            paths.append(path)
        return tuple(paths)

    def start(
        self, repo_id: str, variant: GGUFVariant, *, revision: str | None = None
    ) -> DownloadTask:
        """Check names and disk space, then start fetching ``variant`` in the background.

        Raises :class:`NotEnoughDiskSpaceError` before any byte is fetched if the
        files (less what is already on disk) plus the margin do not fit.
        """
        self.hub.require_online(f"Downloading {variant.name}")
        destinations = self.destinations(repo_id, variant.files)
        with self._lock:
            for task in self._tasks:
                if set(task.destinations) & set(destinations):
                    return task
        self.check_space(variant, destinations)
        task = DownloadTask(
            self, repo_id=repo_id, variant=variant, revision=revision, destinations=destinations
        )
        with self._lock:
            self._tasks.append(task)
        task._thread.start()
        return task

    def download(
        self,
        repo_id: str,
        variant: GGUFVariant,
        *,
        revision: str | None = None,
        listener: Listener | None = None,
    ) -> DownloadResult:
        """Start and wait: the blocking form of :meth:`start`."""
        task = self.start(repo_id, variant, revision=revision)
        if listener is not None:
            task.subscribe(listener)
        return task.wait()

    def installed_path(self, repo_id: str, variant: GGUFVariant) -> Path | None:
        """The file to load if ``variant`` is already downloaded (every shard in place)."""
        destinations = self.destinations(repo_id, variant.files)
        if all(d.is_file() for d in destinations):
            return destinations[0]
        return None

    def check_space(self, variant: GGUFVariant, destinations: tuple[Path, ...]) -> None:
        """Raise :class:`NotEnoughDiskSpaceError` unless what is left to fetch fits."""
        have = sum(
            min(_size_or_zero(_partial(d)), f.size)
            for f, d in zip(variant.files, destinations, strict=True)
        )
        need = variant.size - have
        free = self.free_space(destinations[0].parent)
        margin = self.margin(need)
        if need + margin > free:
            raise NotEnoughDiskSpaceError(
                f"{variant.name} needs {format_bytes(need)} more on disk plus "
                f"{format_bytes(margin)} to spare, but only {format_bytes(free)} is free in "
                f"{self.models_dir}."
            )

    def tasks(self) -> list[DownloadTask]:
        """Tasks started and not yet finished."""
        with self._lock:
            return list(self._tasks)

    def unfinished(self) -> list[UnfinishedDownload]:
        """Downloads a previous run left in the models folder, one per model.

        Those this manager is fetching now are left out. Resume one by listing its
        repository and starting ``listing.find(filename=item.repo_path)``: the task
        continues from the bytes on disk.
        """
        running = {path for task in self.tasks() for path in task.destinations}
        groups: dict[tuple[str, str] | Path, list[PartialDownload]] = {}
        for part in find_partials(self.models_dir):
            if part.path in running:
                continue
            key = (part.repo_id, part.variant) if part.repo_id and part.variant else part.path
            groups.setdefault(key, []).append(part)
        return [UnfinishedDownload(parts=tuple(parts)) for parts in groups.values()]

    def discard(self, item: UnfinishedDownload) -> None:
        """Delete the partial files (and their records) of an unfinished download.

        Raises :class:`DownloadInProgressError`, deleting nothing, while any of them is
        being fetched (by this process or another).
        """
        root = self.models_dir.resolve()
        locks = []
        try:
            for part in item.parts:
                if not part.path.resolve().is_relative_to(root):
                    raise DownloadError(
                        f"Refusing to delete {part.path}: it is outside the models folder."
                    )
                lock = FileLock(self.lock_path(part.path))
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    raise DownloadInProgressError(
                        f"{item.name} is being downloaded right now, so its files were kept."
                    ) from None
                locks.append(lock)
            for part in item.parts:
                _partial(part.path).unlink(missing_ok=True)
                _sidecar(part.path).unlink(missing_ok=True)
        finally:
            for lock in locks:
                lock.release()

    def _forget(self, task: DownloadTask) -> None:
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)


@dataclass(frozen=True, slots=True)
class PartialDownload:
    """A download left unfinished on disk (after a restart), to offer resuming.

    ``repo_id``, ``repo_path`` and ``quant`` say what to list and start again;
    :meth:`DownloadManager.start` then continues from ``have_bytes``.
    """

    path: Path
    have_bytes: int
    size: int | None
    repo_id: str | None
    repo_path: str | None
    variant: str | None
    quant: str | None


@dataclass(frozen=True, slots=True)
class UnfinishedDownload:
    """One model a previous run left unfinished: its partial files (every shard started)."""

    parts: tuple[PartialDownload, ...]

    @property
    def repo_id(self) -> str | None:
        return self.parts[0].repo_id

    @property
    def repo_path(self) -> str | None:
        """One of its files in the repository, to find the model in a listing."""
        return self.parts[0].repo_path

    @property
    def name(self) -> str:
        return self.parts[0].variant or self.parts[0].path.name

    @property
    def quant(self) -> str | None:
        return self.parts[0].quant

    @property
    def have_bytes(self) -> int:
        return sum(part.have_bytes for part in self.parts)

    @property
    def size(self) -> int | None:
        """The bytes of the files started, when each one's size is known."""
        sizes = [part.size for part in self.parts]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    @property
    def resumable(self) -> bool:
        """Whether the record says where it came from (a file without one can only go)."""
        return self.repo_id is not None and self.repo_path is not None


def find_partials(models_dir: Path) -> list[PartialDownload]:
    """Unfinished downloads in ``models_dir``: the files a restart can resume."""
    found = []
    for partial in sorted(Path(models_dir).rglob("*" + PARTIAL_SUFFIX)):
        final = partial.with_name(partial.name.removesuffix(PARTIAL_SUFFIX))
        record = _read_json(_sidecar(final))
        info: dict[str, Any] = record if isinstance(record, dict) else {}

        def text(key: str, info: dict[str, Any] = info) -> str | None:
            value = info.get(key)
            return value if isinstance(value, str) else None

        size = info.get("size")
        found.append(
            PartialDownload(
                path=final,
                have_bytes=_size_or_zero(partial),
                size=size if isinstance(size, int) else None,
                repo_id=text("repo_id"),
                repo_path=text("repo_path"),
                variant=text("variant"),
                quant=text("quant"),
            )
        )
    return found


__all__ = [
    "ChecksumMismatchError",
    "DownloadCancelledError",
    "DownloadError",
    "DownloadInProgressError",
    "DownloadManager",
    "DownloadProgress",
    "DownloadResult",
    "DownloadState",
    "DownloadTask",
    "FileTooLargeError",
    "NotEnoughDiskSpaceError",
    "PartialDownload",
    "UnfinishedDownload",
    "default_free_space",
    "find_partials",
    "space_margin",
]
