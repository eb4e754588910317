"""Reading GGUF headers over HTTP through the Hub client: ranges, redirects, servers that
ignore Range, not-GGUF, the token, and errors that say which kind of failure it was."""

from __future__ import annotations

import struct

import pytest

from app.core.errors import CorruptModelError, NotAModelFileError
from app.core.gguf.header import parse_header, read_header
from app.core.library.hub import (
    GatedRepoError,
    Hub,
    HubAuthError,
    HubUnavailableError,
    OfflineError,
    RemoteFileNotFoundError,
    RepoNotFoundError,
    group_gguf_names,
)
from app.core.library.remote import (
    HubRangeSource,
    read_hub_header,
    read_hub_models,
    read_listed_models,
)
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.hf_server import FakeHub
from tests.support.range_server import RangeServer

PADDING = 48 * 1024 * 1024  # weights the reader must never fetch
TOKEN = "hf_" + "RangeReads" * 4


@pytest.fixture(scope="module")
def big_model() -> bytes:
    # stories260K followed by 48 MiB that stand in for the weights of a big model.
    return stories_path().read_bytes() + bytes(PADDING)


def test_reads_the_header_with_small_ranges(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}) as server:
        source = HubRangeSource(Hub(), server.url("m.gguf"))
        header = parse_header(source)
        assert source.bytes_received < 4 * 1024 * 1024
        assert header.metadata == read_header(stories_path()).metadata
        assert len(header.tensors) == len(read_header(stories_path()).tensors)
        assert header.file_size == len(big_model)
        assert server.ranges and all(r.startswith("bytes=") for r in server.ranges)
        assert server.sent.get("m.gguf", 0) < 4 * 1024 * 1024


def test_follows_redirects(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}) as server:
        header = parse_header(HubRangeSource(Hub(), server.url("m.gguf", redirect=True)))
        assert header.architecture == "llama"
        assert server.sent.get("m.gguf", 0) < 4 * 1024 * 1024


def test_server_that_ignores_range_is_not_downloaded_whole(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}, ignore_ranges=True) as server:
        with HubRangeSource(Hub(), server.url("m.gguf")) as source:
            header = parse_header(source)
        assert source.ignores_ranges
        assert header.block_count == 5
        assert header.metadata == read_header(stories_path()).metadata
        # The client stopped reading after the header; only socket buffers' worth more
        # left the server, far from the 48 MiB of "weights".
        assert source.bytes_received < 4 * 1024 * 1024
        assert server.sent.get("m.gguf", 0) < 24 * 1024 * 1024


def test_a_missing_file_on_a_plain_server_is_not_found() -> None:
    with RangeServer({}) as server, pytest.raises(RemoteFileNotFoundError):
        parse_header(HubRangeSource(Hub(), server.url("nothing.gguf")))


def test_crafted_remote_header_claiming_huge_counts_is_refused() -> None:
    crafted = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 40) + bytes(64)
    with RangeServer({"bad.gguf": crafted}) as server:
        with pytest.raises(CorruptModelError):
            parse_header(HubRangeSource(Hub(), server.url("bad.gguf")))
        assert server.sent.get("bad.gguf", 0) <= len(crafted)


def test_split_file_names_group_into_one_model() -> None:
    names = [
        "Llama-70B-Q4_K_M-00002-of-00002.gguf",
        "Llama-70B-Q4_K_M-00001-of-00002.gguf",
        "Llama-70B-Q8_0.gguf",
        "README.md",
        "sub/Big-00001-of-00003.gguf",
    ]
    models, incomplete = group_gguf_names(names)
    assert dict(models) == {
        "Llama-70B-Q4_K_M": (
            "Llama-70B-Q4_K_M-00001-of-00002.gguf",
            "Llama-70B-Q4_K_M-00002-of-00002.gguf",
        ),
        "Llama-70B-Q8_0": ("Llama-70B-Q8_0.gguf",),
    }
    assert incomplete == ["Big"]


def test_hub_repository_with_a_split_model_counts_it_once() -> None:
    stories = stories_path().read_bytes()
    files = {
        "stories-F32.gguf": stories,
        "stories-F32-x-00001-of-00002.gguf": stories,
        "stories-F32-x-00002-of-00002.gguf": stories,
        "stories-Q8_0-00001-of-00003.gguf": stories,  # a shard is missing
        "README.md": b"hello",
    }
    with FakeHub() as fake:
        fake.add_repo("test/stories-GGUF", files)
        found = read_hub_models(Hub(endpoint=fake.endpoint), "test/stories-GGUF")
    by_name = {m.name: m for m in found.models}
    assert set(by_name) == {"stories-F32.gguf", "stories-F32-x.gguf"}
    single, split = by_name["stories-F32.gguf"], by_name["stories-F32-x.gguf"]
    assert split.size == 2 * len(stories)
    assert len(split.header.tensors) == 2 * len(single.header.tensors)
    assert split.header.file_size == 2 * len(stories)
    assert split.variant.is_split and found.commit == fake.repos["test/stories-GGUF"].commit
    assert found.notes == ("stories-Q8_0 is missing shards in the repository; left out.",)
    # Headers only: far less than the files themselves left the server.
    assert fake.served("stories-F32.gguf") <= len(stories)


def test_a_file_that_is_not_gguf_is_left_out_with_a_note() -> None:
    stories = stories_path().read_bytes()
    with FakeHub() as fake:
        fake.add_repo("o/Mixed-GGUF", {"good-F32.gguf": stories, "readme.gguf": b"# hi\n" * 50})
        hub = Hub(endpoint=fake.endpoint)
        found = read_hub_models(hub, "o/Mixed-GGUF")
        with pytest.raises(NotAModelFileError, match=r"readme\.gguf is not a GGUF model file"):
            read_hub_header(hub, "o/Mixed-GGUF", "readme.gguf")
    assert [m.name for m in found.models] == ["good-F32.gguf"]
    assert len(found.notes) == 1 and found.notes[0].startswith("readme.gguf: ")


def test_the_token_reaches_the_hub_with_every_range_request() -> None:
    stories = stories_path().read_bytes()
    with FakeHub() as fake:
        fake.add_repo("meta/Gated-GGUF", {"g-F32.gguf": stories}, gated=True, token=TOKEN)
        found = read_hub_models(Hub(endpoint=fake.endpoint, token=TOKEN), "meta/Gated-GGUF")
        resolves = [
            auth
            for (method, path), auth in zip(fake.requests, fake.auth_seen, strict=True)
            if "/resolve/" in path
        ]
    assert [m.name for m in found.models] == ["g-F32.gguf"]
    assert resolves and all(auth == f"Bearer {TOKEN}" for auth in resolves)


def test_refused_credentials_are_an_auth_error_not_not_found() -> None:
    stories = stories_path().read_bytes()
    with FakeHub() as fake:
        fake.add_repo("meta/Gated-GGUF", {"g-F32.gguf": stories}, gated=True, token=TOKEN)
        fake.add_repo("o/Open-GGUF", {"o-F32.gguf": stories})
        anonymous = Hub(endpoint=fake.endpoint)
        with pytest.raises(GatedRepoError) as gated:
            read_hub_models(anonymous, "meta/Gated-GGUF")
        assert isinstance(gated.value, HubAuthError)
        assert not isinstance(gated.value, RepoNotFoundError | RemoteFileNotFoundError)
        fake.faults.status["o-F32.gguf"] = 401  # the Hub refused the token sent
        with pytest.raises(HubAuthError, match="HTTP 401") as refused:
            read_hub_models(Hub(endpoint=fake.endpoint, token=TOKEN), "o/Open-GGUF")
        assert not isinstance(refused.value, RepoNotFoundError | RemoteFileNotFoundError)
        with pytest.raises(RepoNotFoundError):
            read_hub_models(anonymous, "o/No-Such-GGUF")


def test_offline_reads_nothing_and_says_so() -> None:
    with FakeHub() as fake:
        fake.add_repo("o/Open-GGUF", {"o-F32.gguf": stories_path().read_bytes()})
        hub = Hub(endpoint=fake.endpoint, offline=True)
        with pytest.raises(OfflineError, match="Reading the models of o/Open-GGUF"):
            read_hub_models(hub, "o/Open-GGUF")
        with pytest.raises(OfflineError, match=r"Reading the header of o-F32\.gguf"):
            read_hub_header(hub, "o/Open-GGUF", "o-F32.gguf")
        assert fake.requests == []


def test_an_unreachable_hub_is_a_network_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(HubUnavailableError):
        read_hub_models(Hub(endpoint=f"http://127.0.0.1:{port}"), "o/Open-GGUF")


def test_the_headers_of_a_listing_already_made_need_no_second_listing() -> None:
    with FakeHub() as fake:
        fake.add_repo("o/Open-GGUF", {"o-F32.gguf": stories_path().read_bytes()})
        hub = Hub(endpoint=fake.endpoint)
        listing = hub.list_gguf("o/Open-GGUF")
        fake.reset_counts()
        found = read_listed_models(hub, listing)
        assert [m.name for m in found.models] == ["o-F32.gguf"]
        assert not [path for _, path in fake.requests if path.startswith("/api/")]
