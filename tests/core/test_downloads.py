"""Downloads against a loopback Hub, with the real huggingface_hub client."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import NotAModelFileError
from app.core.library.downloads import (
    LOCKS_FOLDER,
    ChecksumMismatchError,
    DownloadCancelledError,
    DownloadInProgressError,
    DownloadManager,
    DownloadProgress,
    DownloadState,
    NotEnoughDiskSpaceError,
    find_partials,
)
from app.core.library.hub import (
    GatedRepoError,
    Hub,
    HubFile,
    HubUnavailableError,
    OfflineError,
    RemoteFileNotFoundError,
    RepoNotFoundError,
    UnsafeFileNameError,
)
from tests.support.gguf_factory import ModelShape, write_llama_gguf
from tests.support.hf_server import FakeHub

REPO = "bartowski/Tiny-Instruct-GGUF"
NAME = "Tiny-Instruct-Q4_K_M.gguf"
ROOT = Path(__file__).resolve().parents[2]


def gguf_bytes(tmp_path: Path, name: str, *, seed: int = 0, wide: bool = False) -> bytes:
    shape = ModelShape(n_embd=128, n_ff=256) if wide else None
    return write_llama_gguf(tmp_path / f"src-{name}", shape=shape, seed=seed).read_bytes()


@pytest.fixture
def fake() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture
def model(tmp_path: Path, fake: FakeHub) -> bytes:
    data = gguf_bytes(tmp_path, NAME)
    fake.add_repo(REPO, {NAME: data, "README.md": b"# Tiny\n"})
    return data


def manager_for(fake: FakeHub, models: Path, **options: object) -> DownloadManager:
    token = options.pop("token", None)
    defaults: dict[str, object] = {
        "retry_wait_s": 0.01,
        "progress_interval_s": 0.0,
        "read_timeout_s": 5.0,
    }
    defaults.update(options)
    hub = Hub(endpoint=fake.endpoint, token=token)  # type: ignore[arg-type]
    return DownloadManager(models_dir=models, hub=hub, **defaults)  # type: ignore[arg-type]


def variant(manager: DownloadManager, name: str = NAME, repo: str = REPO):  # type: ignore[no-untyped-def]
    return manager.hub.list_gguf(repo).find(filename=name)


def looks_like_models(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.lower().endswith(".gguf")]


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def settled(read, quiet: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    """True when ``read()`` gives the same value before and after ``quiet`` seconds."""
    before = read()
    time.sleep(quiet)
    return bool(read() == before)


# -- the happy path ------------------------------------------------------------------


def test_full_download_is_verified_and_put_in_place(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    models = tmp_path / "models"
    manager = manager_for(fake, models)
    seen: list[DownloadProgress] = []
    result = manager.download(REPO, variant(manager), listener=seen.append)

    target = models / "bartowski" / "Tiny-Instruct-GGUF" / NAME
    assert result.path == target
    assert target.read_bytes() == model
    assert result.sha256_verified
    assert result.fetched_bytes == len(model)
    assert fake.served(NAME) == len(model)
    assert not list(models.rglob("*.incomplete*"))
    assert seen[-1].state is DownloadState.DONE
    assert seen[-1].done_bytes == seen[-1].total_bytes == len(model)
    running = [s for s in seen if s.state is DownloadState.RUNNING]
    assert [s.done_bytes for s in running] == sorted(s.done_bytes for s in running)
    assert DownloadState.VERIFYING in {s.state for s in seen}


# -- interruptions ---------------------------------------------------------------------


def test_dropped_connection_resumes_without_refetching(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    cut = len(model) // 3
    fake.faults.cut_after[NAME] = cut
    manager = manager_for(fake, tmp_path / "models")
    result = manager.download(REPO, variant(manager))

    assert result.path.read_bytes() == model
    assert fake.served(NAME) == len(model), "some bytes were fetched twice"
    assert fake.ranges == [(NAME, 0), (NAME, cut)]


def test_failed_download_keeps_its_bytes_and_a_new_session_resumes(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    models = tmp_path / "models"
    cut = len(model) // 2
    fake.faults.cut_after[NAME] = cut
    first = manager_for(fake, models, max_retries=0)
    with pytest.raises(HubUnavailableError) as caught:
        first.download(REPO, variant(first))
    assert f"downloading {NAME} failed (the connection broke)" in str(caught.value)
    assert str(caught.value).startswith("The Hub did not answer")  # in plain words
    assert "continues from there" in caught.value.hint
    assert looks_like_models(models) == []
    [partial] = find_partials(models)
    assert partial.have_bytes == cut and partial.size == len(model)
    assert (partial.repo_id, partial.repo_path, partial.quant) == (REPO, NAME, "Q4_K_M")

    second = manager_for(fake, models)  # as after a restart of Hearth
    result = second.download(REPO, variant(second))
    assert result.path.read_bytes() == model
    assert fake.served(NAME) == len(model)
    assert find_partials(models) == []


def test_killed_process_restarts_where_it_stopped(tmp_path: Path, fake: FakeHub) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.throttle_bps = 1_000_000  # about a second for the whole file
    models = tmp_path / "models"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.core.library.downloads import DownloadManager
        from app.core.library.hub import Hub
        hub = Hub(endpoint={fake.endpoint!r})
        manager = DownloadManager(models_dir=Path({str(models)!r}), hub=hub)
        manager.download({REPO!r}, hub.list_gguf({REPO!r}).find(filename={NAME!r}))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    partial = models / "bartowski" / "Tiny-Instruct-GGUF" / (NAME + ".incomplete")
    try:
        wait_for(lambda: partial.exists() and partial.stat().st_size > len(data) // 4)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    kept = partial.stat().st_size
    assert 0 < kept < len(data)

    wait_for(lambda: fake.active == 0)  # the dead connection's last writes
    fake.faults.throttle_bps = 0
    fake.reset_counts()
    manager = manager_for(fake, models)
    result = manager.download(REPO, variant(manager))
    assert result.path.read_bytes() == data
    assert fake.ranges == [(NAME, kept)]
    assert fake.served(NAME) == len(data) - kept
    assert result.fetched_bytes == len(data) - kept


def test_stalled_connection_is_a_clear_error_and_keeps_bytes(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    fake.faults.stall.add(NAME)
    fake.faults.stall_after = 64 * 1024
    models = tmp_path / "models"
    manager = manager_for(fake, models, read_timeout_s=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(HubUnavailableError, match="stalled"):
        manager.download(REPO, variant(manager))
    assert time.monotonic() - started < 10
    assert [p.have_bytes for p in find_partials(models)] == [64 * 1024]


# -- verification ------------------------------------------------------------------------


def test_corrupted_byte_is_caught_and_nothing_is_installed(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    fake.faults.corrupt.add(NAME)
    models = tmp_path / "models"
    manager = manager_for(fake, models)
    with pytest.raises(ChecksumMismatchError, match="damaged") as caught:
        manager.download(REPO, variant(manager))
    assert "deleted" in caught.value.hint
    assert looks_like_models(models) == []
    assert find_partials(models) == []

    fake.faults.corrupt.clear()
    result = manager.download(REPO, variant(manager))  # the retry the message offers
    assert hashlib.sha256(result.path.read_bytes()).hexdigest() == hashlib.sha256(model).hexdigest()


def test_a_file_that_is_not_gguf_is_not_installed(tmp_path: Path, fake: FakeHub) -> None:
    fake.add_repo(REPO, {"Fake-Q4_K_M.gguf": b"<html>not a model</html>" * 100})
    models = tmp_path / "models"
    manager = manager_for(fake, models)
    with pytest.raises(NotAModelFileError, match="not a usable GGUF"):
        manager.download(REPO, variant(manager, "Fake-Q4_K_M.gguf"))
    assert looks_like_models(models) == []
    assert find_partials(models) == []


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_real_write_error_stops_cleanly_and_keeps_the_bytes(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    # The OS refuses writes past 200,000 bytes in the child, as a FAT32 disk refuses
    # files over 4 GB: a real EFBIG from write(), not a simulated one.
    models = tmp_path / "models"
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from app.core.library.downloads import DownloadManager, FileTooLargeError
        from app.core.library.hub import Hub
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        hub = Hub(endpoint={fake.endpoint!r})
        manager = DownloadManager(models_dir=Path({str(models)!r}), hub=hub)
        try:
            manager.download({REPO!r}, hub.list_gguf({REPO!r}).find(filename={NAME!r}))
        except FileTooLargeError as error:
            print(error.describe())
            sys.exit(3)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 3, child.stderr
    assert "cannot hold a file as large as" in child.stdout and "FAT32" in child.stdout
    [partial] = find_partials(models)
    assert partial.have_bytes == 200_000
    assert looks_like_models(models) == []

    wait_for(lambda: fake.active == 0)
    fake.reset_counts()
    manager = manager_for(fake, models)  # on a disk without the limit, it continues
    assert manager.download(REPO, variant(manager)).path.read_bytes() == model
    assert fake.ranges == [(NAME, 200_000)]


# -- split models ------------------------------------------------------------------------


def test_split_model_is_one_unit(tmp_path: Path, fake: FakeHub) -> None:
    shards = {
        f"Big-Q8_0/Big-Q8_0-{i:05d}-of-00003.gguf": gguf_bytes(tmp_path, f"s{i}", seed=i)
        for i in (1, 2, 3)
    }
    fake.add_repo(REPO, shards)
    names = list(shards)
    fake.faults.cut_after[names[1]] = 1000
    models = tmp_path / "models"
    first = manager_for(fake, models, max_retries=0)
    listing = first.hub.list_gguf(REPO)
    [big] = listing.variants
    assert big.is_split and big.quant == "Q8_0" and big.size == sum(map(len, shards.values()))
    with pytest.raises(HubUnavailableError):
        first.download(REPO, big)
    assert looks_like_models(models) == [], "a shard was installed without the others"

    second = manager_for(fake, models)
    result = second.download(REPO, big)
    assert [p.read_bytes() for p in result.paths] == list(shards.values())
    assert result.path.name == "Big-Q8_0-00001-of-00003.gguf"
    for name, data in shards.items():
        assert fake.served(name) == len(data), f"{name} was fetched twice"


# -- unfinished downloads after a restart --------------------------------------------------


def test_a_split_model_left_unfinished_is_one_item_to_resume_or_discard(
    tmp_path: Path, fake: FakeHub
) -> None:
    shards = {
        f"Big-Q8_0/Big-Q8_0-{i:05d}-of-00003.gguf": gguf_bytes(tmp_path, f"s{i}", seed=i)
        for i in (1, 2, 3)
    }
    fake.add_repo(REPO, shards)
    names = list(shards)
    fake.faults.cut_after[names[1]] = 1000
    models = tmp_path / "models"
    first = manager_for(fake, models, max_retries=0)
    [big] = first.hub.list_gguf(REPO).variants
    with pytest.raises(HubUnavailableError):
        first.download(REPO, big)

    later = manager_for(fake, models)  # as after a restart
    [item] = later.unfinished()
    assert (item.repo_id, item.name, item.quant) == (REPO, big.name, "Q8_0")
    assert [p.path.name for p in item.parts] == [Path(n).name for n in names[:2]]
    assert item.have_bytes == len(shards[names[0]]) + 1000
    assert item.size == len(shards[names[0]]) + len(shards[names[1]])
    assert item.resumable
    # What the library does with Resume: find the model in the listing, start it.
    found = later.hub.list_gguf(REPO).find(filename=item.repo_path)
    fake.reset_counts()
    result = later.download(REPO, found)
    assert [p.read_bytes() for p in result.paths] == list(shards.values())
    assert fake.served(names[0]) == 0  # the verified shard was not fetched again
    assert later.unfinished() == []


def test_discard_deletes_only_the_partial_files_and_refuses_while_fetching(
    tmp_path: Path, fake: FakeHub
) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.cut_after[NAME] = len(data) // 3
    models = tmp_path / "models"
    first = manager_for(fake, models, max_retries=0)
    with pytest.raises(HubUnavailableError):
        first.download(REPO, variant(first))
    neighbour = models / "bartowski" / "Tiny-Instruct-GGUF" / "Other-Q8_0.gguf"
    neighbour.write_bytes(b"an installed model")
    [item] = manager_for(fake, models).unfinished()

    # Another process fetching it holds the lock: nothing is deleted.
    fake.faults.throttle_bps = 1_000_000
    other = manager_for(fake, models)
    task = other.start(REPO, variant(other))
    wait_for(lambda: task.state is DownloadState.RUNNING)
    assert other.unfinished() == []  # what a manager fetches is not offered again
    with pytest.raises(DownloadInProgressError, match="being downloaded right now"):
        manager_for(fake, models).discard(item)
    task.pause()
    wait_for(lambda: task.state is DownloadState.PAUSED)
    assert [p.have_bytes > 0 for p in find_partials(models)] == [True]
    task.cancel()
    with pytest.raises(DownloadCancelledError):
        task.wait(timeout=30)

    fake.faults.throttle_bps = 0
    fake.faults.cut_after[NAME] = 5000  # leave it unfinished once more
    with pytest.raises(HubUnavailableError):
        first.download(REPO, variant(first))
    [item] = manager_for(fake, models).unfinished()
    manager_for(fake, models).discard(item)
    assert find_partials(models) == []
    assert not list(models.rglob("*.incomplete*"))
    assert neighbour.read_bytes() == b"an installed model"


def test_a_partial_file_without_its_record_can_only_be_discarded(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "someone" / "Repo-GGUF"
    folder.mkdir(parents=True)
    (folder / "Lost-Q4_K_M.gguf.incomplete").write_bytes(b"x" * 1234)
    manager = DownloadManager(models_dir=tmp_path / "models", hub=Hub(offline=True))
    [item] = manager.unfinished()
    assert not item.resumable and item.name == "Lost-Q4_K_M.gguf"
    assert (item.have_bytes, item.size) == (1234, None)
    manager.discard(item)
    assert list(folder.iterdir()) == []


# -- space -------------------------------------------------------------------------------


def test_not_enough_space_is_refused_before_any_byte(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    manager = manager_for(fake, tmp_path / "models", free_space=lambda folder: 10_000_000)
    chosen = variant(manager)
    fake.reset_counts()
    with pytest.raises(NotEnoughDiskSpaceError, match="free") as caught:
        manager.start(REPO, chosen)
    assert "500.0 MB" in str(caught.value)  # the margin is named
    assert fake.requests == []
    assert fake.served(NAME) == 0


def test_space_check_counts_bytes_already_on_disk(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    models = tmp_path / "models"
    fake.faults.cut_after[NAME] = len(model) - 1000
    with pytest.raises(HubUnavailableError):
        manager_for(fake, models, max_retries=0).download(REPO, variant(manager_for(fake, models)))
    # Only 1,000 bytes are left to fetch: 1,000 + a 100-byte margin fits in 1,200.
    tight = manager_for(fake, models, free_space=lambda f: 1_200, margin=lambda need: 100)
    assert tight.download(REPO, variant(tight)).path.read_bytes() == model


# -- control ----------------------------------------------------------------------------


def test_pause_stops_fetching_and_resume_continues(tmp_path: Path, fake: FakeHub) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.throttle_bps = 2_000_000
    manager = manager_for(fake, tmp_path / "models")
    task = manager.start(REPO, variant(manager))
    wait_for(lambda: task.progress().done_bytes > 100_000)
    task.pause()
    wait_for(lambda: task.state is DownloadState.PAUSED)
    wait_for(lambda: settled(lambda: fake.served(NAME)))  # anything in flight has landed
    served = fake.served(NAME)
    time.sleep(0.4)
    assert fake.served(NAME) == served, "bytes kept coming while paused"
    assert task.state is DownloadState.PAUSED
    paused_at = task.progress().done_bytes
    assert 0 < paused_at < len(data)

    task.resume()
    result = task.wait(timeout=30)
    assert result.path.read_bytes() == data
    assert fake.ranges[-1] == (NAME, paused_at)


def test_cancel_deletes_the_partial_file(tmp_path: Path, fake: FakeHub) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.throttle_bps = 2_000_000
    models = tmp_path / "models"
    manager = manager_for(fake, models)
    task = manager.start(REPO, variant(manager))
    wait_for(lambda: task.progress().done_bytes > 50_000)
    task.cancel()
    with pytest.raises(DownloadCancelledError):
        task.wait(timeout=10)
    assert task.state is DownloadState.CANCELLED
    assert list(models.rglob("*.gguf*")) == []
    assert manager.tasks() == []


def test_concurrent_downloads_respect_the_limit(tmp_path: Path, fake: FakeHub) -> None:
    fake.faults.throttle_bps = 3_000_000
    repos = [f"someone/Model{i}-GGUF" for i in range(3)]
    for i, repo in enumerate(repos):
        fake.add_repo(repo, {f"Model{i}-Q4_K_M.gguf": gguf_bytes(tmp_path, str(i), seed=i)})
    manager = manager_for(fake, tmp_path / "models", max_concurrent=2)
    chosen = [manager.hub.list_gguf(repo).variants[0] for repo in repos]
    states: list[list[DownloadState]] = []
    tasks = [manager.start(repo, v) for repo, v in zip(repos, chosen, strict=True)]
    sampler_done = threading.Event()

    def sample() -> None:
        while not sampler_done.is_set():
            states.append([t.state for t in tasks])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    results = [t.wait(timeout=30) for t in tasks]
    sampler_done.set()
    sampler.join()
    assert all(r.sha256_verified for r in results)
    assert fake.peak_active == 2
    assert max(s.count(DownloadState.RUNNING) for s in states) <= 2
    assert any(DownloadState.QUEUED in s and s.count(DownloadState.RUNNING) == 2 for s in states)


def test_starting_the_same_download_twice_gives_the_same_task(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    fake.faults.throttle_bps = 1_000_000
    manager = manager_for(fake, tmp_path / "models")
    chosen = variant(manager)
    first = manager.start(REPO, chosen)
    assert manager.start(REPO, chosen) is first
    first.wait(timeout=30)
    assert fake.served(NAME) == len(model)


# -- refusals -----------------------------------------------------------------------------


def test_gated_repo_needs_a_token(tmp_path: Path, fake: FakeHub, model: bytes) -> None:
    fake.add_repo("meta-llama/Gated-GGUF", {NAME: model}, gated=True, token="hf_secret")
    models = tmp_path / "models"
    anonymous = manager_for(fake, models)
    chosen = anonymous.hub.list_gguf("meta-llama/Gated-GGUF").variants[0]
    with pytest.raises(GatedRepoError, match="gated") as caught:
        anonymous.download("meta-llama/Gated-GGUF", chosen)
    assert "licence" in caught.value.hint and "token" in caught.value.hint
    assert looks_like_models(models) == []

    member = manager_for(fake, models, token="hf_secret")
    assert member.download("meta-llama/Gated-GGUF", chosen).path.read_bytes() == model
    assert "Bearer hf_secret" in fake.auth_seen


def test_missing_repo_file_and_server_error_are_clear(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    manager = manager_for(fake, tmp_path / "models")
    with pytest.raises(RepoNotFoundError, match="no repository"):
        manager.hub.list_gguf("nobody/Nothing-GGUF")
    with pytest.raises(RemoteFileNotFoundError):
        manager.hub.list_gguf(REPO).find(quant="Q2_K")
    ghost = variant(manager)
    fake.repos[REPO].files.pop(NAME)
    with pytest.raises(RemoteFileNotFoundError, match="does not exist"):
        manager.download(REPO, ghost)
    fake.repos[REPO].files[NAME] = model
    fake.faults.status[NAME] = 500
    with pytest.raises(HubUnavailableError, match="500"):
        manager.download(REPO, ghost)


def test_hostile_file_names_never_write_outside(tmp_path: Path, fake: FakeHub) -> None:
    data = gguf_bytes(tmp_path, "x")
    hostile = ["../../x.gguf", "/etc/x.gguf", "..\\x.gguf", "C:/x.gguf", "a/../../x.gguf"]
    fake.add_repo(REPO, {"Good-Q4_K_M.gguf": data}, extra_listing=dict.fromkeys(hostile, data))
    models = tmp_path / "deep" / "models"
    manager = manager_for(fake, models)
    listing = manager.hub.list_gguf(REPO)
    assert sorted(listing.rejected) == sorted(hostile)
    assert [v.name for v in listing.variants] == ["Good-Q4_K_M"]
    for name in hostile:
        with pytest.raises(UnsafeFileNameError):
            manager.destinations(REPO, [HubFile(name, len(data), None)])
    with pytest.raises(RepoNotFoundError):
        manager.folder_for("../../etc")
    manager.download(REPO, listing.variants[0])
    outside = [p for p in tmp_path.rglob("x.gguf")]
    assert outside == []


def test_offline_mode_opens_no_socket(
    tmp_path: Path, fake: FakeHub, model: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = manager_for(fake, tmp_path / "models")
    chosen = variant(online)  # listed while online
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError("offline mode opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    hub = Hub(endpoint=fake.endpoint, offline=True)
    manager = DownloadManager(models_dir=tmp_path / "models", hub=hub)
    with pytest.raises(OfflineError, match="Searching Hugging Face needs the network"):
        hub.search("llama")
    with pytest.raises(OfflineError, match="Listing the files"):
        hub.list_gguf(REPO)
    with pytest.raises(OfflineError, match="Downloading Tiny-Instruct-Q4_K_M needs the network"):
        manager.start(REPO, chosen)
    assert attempts == []
    assert fake.served(NAME) == 0


def test_partials_from_another_file_version_are_not_mixed(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    models = tmp_path / "models"
    fake.faults.cut_after[NAME] = 5000
    with pytest.raises(HubUnavailableError):
        manager_for(fake, models, max_retries=0).download(REPO, variant(manager_for(fake, models)))
    newer = gguf_bytes(tmp_path, "newer", seed=7)  # the repo's file changed meanwhile
    fake.repos[REPO].files[NAME] = newer
    fake.reset_counts()
    manager = manager_for(fake, models)
    result = manager.download(REPO, variant(manager))
    assert result.path.read_bytes() == newer
    assert fake.ranges == [(NAME, 0)]


def test_a_new_commit_with_the_same_file_keeps_the_partial(
    tmp_path: Path, fake: FakeHub, model: bytes
) -> None:
    models = tmp_path / "models"
    fake.faults.cut_after[NAME] = 5000
    with pytest.raises(HubUnavailableError):
        manager_for(fake, models, max_retries=0).download(REPO, variant(manager_for(fake, models)))
    fake.repos[REPO].commit = "f" * 40  # someone edited the README meanwhile
    fake.reset_counts()
    manager = manager_for(fake, models)
    assert manager.download(REPO, variant(manager)).path.read_bytes() == model
    assert fake.ranges == [(NAME, 5000)]


def test_two_processes_never_write_the_same_file(tmp_path: Path, fake: FakeHub) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.throttle_bps = 2_000_000
    models = tmp_path / "models"
    app = manager_for(fake, models)  # say, the desktop app
    task = app.start(REPO, variant(app))
    wait_for(lambda: task.progress().done_bytes > 0)
    terminal = manager_for(fake, models)  # and `hearth pull` at the same time
    with pytest.raises(DownloadInProgressError, match="another Hearth"):
        terminal.download(REPO, variant(terminal))
    assert task.wait(timeout=30).path.read_bytes() == data
    assert fake.served(NAME) == len(data)
    visible = [p for p in models.rglob("*") if p.is_file() and LOCKS_FOLDER not in p.parts]
    assert [p.name for p in visible] == [NAME]


@pytest.mark.skipif(sys.platform == "win32", reason="the waiter uses flock (POSIX)")
def test_a_released_lock_stays_with_the_process_waiting_for_it(
    tmp_path: Path, fake: FakeHub
) -> None:
    data = gguf_bytes(tmp_path, NAME, wide=True)
    fake.add_repo(REPO, {NAME: data})
    fake.faults.throttle_bps = 2_000_000
    models = tmp_path / "models"
    app = manager_for(fake, models)
    task = app.start(REPO, variant(app))
    wait_for(lambda: task.progress().done_bytes > 0)
    task.pause()  # the app holds the lock while paused
    lock = app.lock_path(app.destinations(REPO, variant(app).files)[0])
    assert lock.is_file() and lock.is_relative_to(models / LOCKS_FOLDER)
    # Another process (another Hearth) waits for that lock, as flock lets it.
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, sys
                handle = open({str(lock)!r}, "ab")
                print("waiting", flush=True)
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                print("holding", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stdout is not None and waiter.stdin is not None
        assert waiter.stdout.readline() == "waiting\n"
        time.sleep(0.3)  # inside flock(), blocked on the app's lock
        task.cancel()  # the app lets go of the lock...
        with pytest.raises(DownloadCancelledError):
            task.wait(timeout=30)
        assert waiter.stdout.readline() == "holding\n"  # ...and the waiter has it
        # Releasing did not delete the file the waiter holds: a third download is refused.
        terminal = manager_for(fake, models)
        with pytest.raises(DownloadInProgressError, match="another Hearth"):
            terminal.download(REPO, variant(terminal))
        assert looks_like_models(models) == []
        waiter.stdin.close()
        assert waiter.wait(timeout=30) == 0
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    fake.faults.throttle_bps = 0
    result = terminal.download(REPO, variant(terminal))  # once the waiter is gone
    assert result.path.read_bytes() == data
