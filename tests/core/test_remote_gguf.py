"""Reading GGUF headers over HTTP: ranges, redirects, servers that ignore Range, not-GGUF."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from app.core.errors import CorruptModelError, ModelNotFoundError, NotAModelFileError
from app.core.gguf.header import read_header
from app.core.library.remote import (
    HTTPRangeSource,
    group_split_files,
    read_hub_models,
    read_remote_header,
)
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.hf_server import FakeHub
from tests.support.range_server import RangeServer

PADDING = 48 * 1024 * 1024  # weights the reader must never fetch


@pytest.fixture(scope="module")
def big_model() -> bytes:
    # stories260K followed by 48 MiB that stand in for the weights of a big model.
    return stories_path().read_bytes() + bytes(PADDING)


def test_reads_the_header_with_small_ranges(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}) as server:
        source = HTTPRangeSource(server.url("m.gguf"))
        from app.core.gguf.header import parse_header

        header = parse_header(source)
        assert source.bytes_received < 4 * 1024 * 1024
        assert header.metadata == read_header(stories_path()).metadata
        assert len(header.tensors) == len(read_header(stories_path()).tensors)
        assert header.file_size == len(big_model)
        assert server.ranges and all(r.startswith("bytes=") for r in server.ranges)
        assert server.sent.get("m.gguf", 0) < 4 * 1024 * 1024


def test_follows_redirects(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}) as server:
        header = read_remote_header(server.url("m.gguf", redirect=True))
        assert header.architecture == "llama"
        assert server.sent.get("m.gguf", 0) < 4 * 1024 * 1024


def test_server_that_ignores_range_is_not_downloaded_whole(big_model: bytes) -> None:
    with RangeServer({"m.gguf": big_model}, ignore_ranges=True) as server:
        source = HTTPRangeSource(server.url("m.gguf"))
        with source:
            from app.core.gguf.header import parse_header

            header = parse_header(source)
        assert source.ignores_ranges
        assert header.block_count == 5
        # The client stopped reading after the header; only socket buffers' worth more
        # left the server, far from the 48 MiB of "weights".
        assert source.bytes_received < 4 * 1024 * 1024
        assert server.sent.get("m.gguf", 0) < 24 * 1024 * 1024


def test_file_that_is_not_gguf() -> None:
    files = {"readme.gguf": b"# Just a README\n" * 100}
    with RangeServer(files) as server, pytest.raises(NotAModelFileError):
        read_remote_header(server.url("readme.gguf"))


def test_missing_file() -> None:
    with RangeServer({}) as server, pytest.raises(ModelNotFoundError):
        read_remote_header(server.url("nothing.gguf"))


def test_crafted_remote_header_claiming_huge_counts_is_refused() -> None:
    crafted = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 40) + bytes(64)
    with RangeServer({"bad.gguf": crafted}) as server:
        with pytest.raises(CorruptModelError):
            read_remote_header(server.url("bad.gguf"))
        assert server.sent.get("bad.gguf", 0) <= len(crafted)


def test_split_file_names_group_into_one_model() -> None:
    names = [
        "Llama-70B-Q4_K_M-00002-of-00002.gguf",
        "Llama-70B-Q4_K_M-00001-of-00002.gguf",
        "Llama-70B-Q8_0.gguf",
        "README.md",
        "sub/Big-00001-of-00003.gguf",
    ]
    groups = {g.name: g for g in group_split_files(names)}
    assert set(groups) == {"Llama-70B-Q4_K_M.gguf", "Llama-70B-Q8_0.gguf", "sub/Big.gguf"}
    split = groups["Llama-70B-Q4_K_M.gguf"]
    assert split.parts == (
        "Llama-70B-Q4_K_M-00001-of-00002.gguf",
        "Llama-70B-Q4_K_M-00002-of-00002.gguf",
    )
    assert split.complete
    assert not groups["sub/Big.gguf"].complete


def test_hub_repository_with_a_split_model_counts_it_once(tmp_path: Path) -> None:
    stories = stories_path().read_bytes()
    files = {
        "stories-F32.gguf": stories,
        "stories-F32-x-00001-of-00002.gguf": stories,
        "stories-F32-x-00002-of-00002.gguf": stories,
        "README.md": b"hello",
    }
    with FakeHub() as hub:
        hub.add_repo("test/stories-GGUF", files)
        models = read_hub_models("test/stories-GGUF", endpoint=hub.endpoint)
    by_name = {m.name: m for m in models}
    assert set(by_name) == {"stories-F32.gguf", "stories-F32-x.gguf"}
    single, split = by_name["stories-F32.gguf"], by_name["stories-F32-x.gguf"]
    assert split.size == 2 * len(stories)
    assert len(split.header.tensors) == 2 * len(single.header.tensors)
    assert split.header.file_size == 2 * len(stories)
