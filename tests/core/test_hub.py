"""Hub search and listing with the real huggingface_hub client, and file names."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.library.hub import (
    GatedRepoError,
    Hub,
    HubAuthError,
    HubFile,
    HubUnavailableError,
    OfflineError,
    RangeNotSatisfiableError,
    RemoteFileNotFoundError,
    RepoNotFoundError,
    UnsafeFileNameError,
    check_repo_path,
    group_gguf_files,
    parse_quant,
    split_part,
)
from tests.support.hf_server import FakeHub
from tests.support.socket_guard import install


@pytest.fixture
def fake() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-7b-instruct-q5_k_m-00001-of-00002.gguf", "Q5_K_M"),
        ("gemma-2-9b-it-IQ4_XS.gguf", "IQ4_XS"),
        ("Phi-3.5-mini-instruct-Q8_0.gguf", "Q8_0"),
        ("model.f16.gguf", "F16"),
        ("Llama-3.3-70B-Instruct-Q6_K/Llama-3.3-70B-Instruct-Q6_K-00002-of-00002.gguf", "Q6_K"),
        ("mistral-7b-instruct-v0.2.Q3_K_L.gguf", "Q3_K_L"),
        ("tinyllama-1.1b-chat-v1.0.Q2_K.gguf", "Q2_K"),
        ("something-unquantized.gguf", None),
        ("Q4_K_M-notes.txt", "Q4_K_M"),
    ],
)
def test_quant_from_file_name(name: str, quant: str | None) -> None:
    assert parse_quant(name) == quant


def test_split_names_and_grouping() -> None:
    assert split_part("a/Big-Q8_0-00002-of-00003.gguf") == ("a/Big-Q8_0", 2, 3)
    assert split_part("Big-Q8_0.gguf") is None
    files = [
        HubFile("Big-Q8_0/Big-Q8_0-00002-of-00002.gguf", 20, None),
        HubFile("Big-Q8_0/Big-Q8_0-00001-of-00002.gguf", 30, None),
        HubFile("Big-Q4_K_M.gguf", 25, None),
        HubFile("Gap-Q6_K-00001-of-00003.gguf", 5, None),
        HubFile("README.md", 1, None),
    ]
    variants, incomplete = group_gguf_files(files)
    assert [(v.name, v.quant, v.size) for v in variants] == [
        ("Big-Q4_K_M", "Q4_K_M", 25),
        ("Big-Q8_0", "Q8_0", 50),
    ]
    assert [f.path[-19:] for f in variants[1].files] == [
        "Q8_0-00001-of-00002.gguf"[-19:],
        "Q8_0-00002-of-00002.gguf"[-19:],
    ]
    assert incomplete == ["Gap-Q6_K"]


@pytest.mark.parametrize(
    "name",
    [
        "../x.gguf",
        "a/../../x.gguf",
        "/etc/passwd",
        "\\\\server\\x.gguf",
        "C:x.gguf",
        "a//b.gguf",
        "./x.gguf",
        "x\x00.gguf",
        "",
        "a\\..\\x.gguf",
    ],
)
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeFileNameError):
        check_repo_path(name)


def test_ordinary_names_pass() -> None:
    assert str(check_repo_path("Dir/Model-Q4_K_M.gguf")) == "Dir/Model-Q4_K_M.gguf"


def test_search_lists_gguf_repos_most_downloaded_first(fake: FakeHub) -> None:
    fake.add_repo("bartowski/Qwen2.5-7B-Instruct-GGUF", {"a.gguf": b"x"}, downloads=900)
    fake.add_repo("Qwen/Qwen2.5-7B-Instruct-GGUF", {"b.gguf": b"x"}, downloads=5000, gated=True)
    fake.add_repo("Qwen/Qwen2.5-7B-Instruct", {"model.safetensors": b"x"}, tags=("safetensors",))
    fake.add_repo("other/Llama-GGUF", {"c.gguf": b"x"})
    results = Hub(endpoint=fake.endpoint).search("qwen2.5-7b")
    assert [r.repo_id for r in results] == [
        "Qwen/Qwen2.5-7B-Instruct-GGUF",
        "bartowski/Qwen2.5-7B-Instruct-GGUF",
    ]
    assert results[0].gated and results[0].downloads == 5000
    assert ("GET", "/api/models") in fake.requests


def test_listing_has_sizes_hashes_and_commit(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"a" * 100, "R-Q8_0.gguf": b"b" * 200})
    listing = Hub(endpoint=fake.endpoint).list_gguf("o/R-GGUF")
    assert listing.commit == fake.repos["o/R-GGUF"].commit
    q8 = listing.find(quant="q8_0")
    assert q8.size == 200 and q8.files[0].sha256 is not None and len(q8.files[0].sha256) == 64
    assert listing.find(filename="R-Q4_K_M.gguf").quant == "Q4_K_M"


def test_private_repo_needs_its_token(fake: FakeHub) -> None:
    fake.add_repo("me/Private-GGUF", {"P-Q4_K_M.gguf": b"p"}, private=True, token="hf_me")
    with pytest.raises(RepoNotFoundError, match="or it is private"):
        Hub(endpoint=fake.endpoint).list_gguf("me/Private-GGUF")
    listing = Hub(endpoint=fake.endpoint, token="hf_me").list_gguf("me/Private-GGUF")
    assert listing.variants[0].quant == "Q4_K_M"


def test_gated_repo_listing_shows_it_is_gated(fake: FakeHub) -> None:
    fake.add_repo("meta-llama/G-GGUF", {"G-Q4_K_M.gguf": b"g"}, gated=True, token="t")
    assert Hub(endpoint=fake.endpoint).list_gguf("meta-llama/G-GGUF").gated


def test_server_error_and_unreachable_server_are_clear(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r"})
    fake.faults.listing_status = 503
    with pytest.raises(HubUnavailableError, match="answered 503"):
        Hub(endpoint=fake.endpoint).list_gguf("o/R-GGUF")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HubUnavailableError, match="You're offline: searching Hugging Face failed"):
        Hub(endpoint=f"http://127.0.0.1:{port}").search("x")


def test_no_network_is_said_in_plain_words(fake: FakeHub) -> None:
    # A name that never resolves (RFC 6761), as without a network: no "[Errno -2]".
    with pytest.raises(HubUnavailableError) as raised:
        Hub(endpoint="http://hearth-test.invalid").search("llama")
    message = raised.value.describe()
    assert message.startswith("You're offline: searching Hugging Face failed")
    assert "Errno" not in message and "Name or service" not in message
    fake.faults.listing_status = 502
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r"})
    with pytest.raises(HubUnavailableError, match="The Hub did not answer properly"):
        Hub(endpoint=fake.endpoint).list_gguf("o/R-GGUF")


def test_gated_error_type_is_distinct() -> None:
    assert issubclass(GatedRepoError, Exception) and not issubclass(
        GatedRepoError, RepoNotFoundError
    )


def test_gated_is_an_auth_error() -> None:
    assert issubclass(GatedRepoError, HubAuthError)
    assert not issubclass(HubAuthError, RepoNotFoundError | HubUnavailableError)


def test_a_live_hub_asks_for_the_offline_flag_at_every_request(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r"})
    offline = [False]
    hub = Hub(endpoint=fake.endpoint, offline=lambda: offline[0])
    assert [r.repo_id for r in hub.search("r-gguf")] == ["o/R-GGUF"]
    fake.reset_counts()
    offline[0] = True  # the user turned offline mode on after the first request
    with pytest.raises(OfflineError, match="Searching Hugging Face needs the network"):
        hub.search("r-gguf")
    with pytest.raises(OfflineError, match="Listing the files of o/R-GGUF"):
        hub.list_gguf("o/R-GGUF")
    url = hub.file_url("o/R-GGUF", "R-Q4_K_M.gguf")  # building a URL needs no network
    with pytest.raises(OfflineError), hub.stream(url, action="Downloading R"):
        pass
    assert fake.requests == []


def test_a_live_hub_sends_the_token_stored_last(fake: FakeHub) -> None:
    fake.add_repo("me/Private-GGUF", {"P-Q4_K_M.gguf": b"p"}, private=True, token="hf_me")
    token: list[str | None] = [None]
    hub = Hub(endpoint=fake.endpoint, token=lambda: token[0])
    with pytest.raises(RepoNotFoundError):
        hub.list_gguf("me/Private-GGUF")
    token[0] = "hf_me"
    assert hub.list_gguf("me/Private-GGUF").variants[0].quant == "Q4_K_M"
    assert fake.auth_seen[-1] == "Bearer hf_me"


def test_file_reads_tell_not_found_from_refused_from_unreachable(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r" * 64, "R-Q8_0.gguf": b"q" * 64})
    fake.add_repo("meta/G-GGUF", {"G-Q4_K_M.gguf": b"g"}, gated=True, token="hf_ok")
    hub = Hub(endpoint=fake.endpoint)

    def read(repo: str, name: str, on: Hub = hub) -> bytes:
        with on.stream(
            on.file_url(repo, name), action=f"Reading {name}", repo_id=repo, filename=name
        ) as response:
            return bytes(response.read())

    assert read("o/R-GGUF", "R-Q4_K_M.gguf") == b"r" * 64
    with pytest.raises(RemoteFileNotFoundError, match="does not exist on Hugging Face"):
        read("o/R-GGUF", "nope.gguf")
    with pytest.raises(RepoNotFoundError):
        read("o/Missing-GGUF", "x.gguf")
    with pytest.raises(GatedRepoError, match="is gated"):
        read("meta/G-GGUF", "G-Q4_K_M.gguf")
    assert read("meta/G-GGUF", "G-Q4_K_M.gguf", Hub(endpoint=fake.endpoint, token="hf_ok")) == b"g"
    fake.faults.status["R-Q8_0.gguf"] = 401  # a token the Hub does not accept
    with pytest.raises(HubAuthError, match=r"refused access to o/R-GGUF/R-Q8_0.gguf \(HTTP 401\)"):
        read("o/R-GGUF", "R-Q8_0.gguf")
    fake.faults.status["R-Q8_0.gguf"] = 403
    with pytest.raises(HubAuthError, match="HTTP 403") as refused:
        read("o/R-GGUF", "R-Q8_0.gguf")
    assert not isinstance(refused.value, RepoNotFoundError | RemoteFileNotFoundError)
    assert "hearth token set" in refused.value.hint
    fake.faults.status["R-Q8_0.gguf"] = 500
    with pytest.raises(HubUnavailableError, match="answered 500"):
        read("o/R-GGUF", "R-Q8_0.gguf")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nobody = Hub(endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(HubUnavailableError, match=r"You.re offline: reading R-Q4_K_M\.gguf failed"):
        read("o/R-GGUF", "R-Q4_K_M.gguf", nobody)


def test_a_range_past_the_end_is_its_own_error(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r" * 64})
    hub = Hub(endpoint=fake.endpoint)
    url = hub.file_url("o/R-GGUF", "R-Q4_K_M.gguf")
    with (
        pytest.raises(RangeNotSatisfiableError),
        hub.stream(url, action="Reading R", headers={"Range": "bytes=64-"}),
    ):
        pass
    with hub.stream(url, action="Reading R", headers={"Range": "bytes=60-"}) as response:
        assert response.status_code == 206 and response.read() == b"rrrr"


def test_a_request_reaches_the_hub_and_nothing_else(
    fake: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """huggingface_hub's user-agent builder fetches an "agent harness" registry once a
    day, from the endpoint it read at import; Hearth keeps that telemetry off."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r" * 64})
    monkeypatch.setattr(_detect_agent, "_registry", None)  # as in a fresh process
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "registry.json"))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # not the Hub's
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", False)
    guard = install(monkeypatch)
    guard.allowed.add(fake.address)
    hub = Hub(endpoint=fake.endpoint)
    assert hub.search("r-gguf")
    assert hub.list_gguf("o/R-GGUF").variants
    meta = hub.file_metadata("o/R-GGUF", "R-Q4_K_M.gguf", action="Checking R")
    assert meta.size == 64
    with hub.stream(hub.file_url("o/R-GGUF", "R-Q4_K_M.gguf"), action="Reading R") as response:
        assert response.read() == b"r" * 64
    assert {e[1] for e in guard.network if e[0] == "connect"} == {fake.address}
    assert not (tmp_path / "registry.json").exists()


def test_refused_and_missing_files_carry_the_status(fake: FakeHub) -> None:
    fake.add_repo("o/R-GGUF", {"R-Q4_K_M.gguf": b"r"})
    hub = Hub(endpoint=fake.endpoint)
    fake.faults.status["R-Q4_K_M.gguf"] = 403
    with (
        pytest.raises(HubAuthError) as refused,
        hub.stream(hub.file_url("o/R-GGUF", "R-Q4_K_M.gguf"), action="Reading R"),
    ):
        pass
    assert refused.value.status == 403
    with pytest.raises(HubUnavailableError) as down:
        fake.faults.status["R-Q4_K_M.gguf"] = 503
        with hub.stream(hub.file_url("o/R-GGUF", "R-Q4_K_M.gguf"), action="Reading R"):
            pass
    assert down.value.status == 503
