"""Files nobody vouched for, through ``hearth info``, ``hearth recommend`` and the import.

Every input gets a clear answer: exit status 0 (the figures it could read) or 1 with a
typed error's message, never a traceback, never the last-resort "something went
wrong" (that would be an exception nobody translated), never a hang and never
gigabytes of memory. An import that fails leaves the source file as it was and nothing
in the models folder.

Inputs are built two ways: with the ``gguf`` package's writer (a real llama file from
tests/support/gguf_factory.py, then cut short or with bytes flipped) and by packing
the header's bytes by hand (counts, lengths and types no writer would produce).
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import (
    CorruptModelError,
    HearthError,
    ModelNotFoundError,
    NotAModelFileError,
    TruncatedModelError,
    UnreadableModelError,
)
from app.core.gguf.header import read_header
from app.core.inference import detect_machine
from app.core.library import ImportMode, Library
from app.core.machine import HardwareProfile
from tests.support.gguf_factory import ModelShape, write_llama_gguf

ROOT = Path(__file__).resolve().parents[2]

# -- packing a header by hand ---------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
)  # fmt: skip
Value = tuple[int, bytes]  # (GGUF value type, encoded value)


def string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def u32(value: int) -> Value:
    return U32, struct.pack("<I", value)


def text(value: str) -> Value:
    return STR, string(value)


def array(item_type: int, items: list[bytes], *, count: int | None = None) -> Value:
    """An array value; ``items`` already encoded (for ARR items: type + count + items)."""
    n = len(items) if count is None else count
    return ARR, struct.pack("<IQ", item_type, n) + b"".join(items)


def inner(value: Value) -> bytes:
    """An array's encoding as an item of an array of arrays."""
    assert value[0] == ARR
    return value[1]


FOUR = inner(array(U32, [struct.pack("<I", 4)]))
WORDS = inner(array(STR, [string("four")]))  # [4] and ["four"] do not compare: max() fails

WRONG_TYPES: dict[str, Value] = {
    "a string": text("12"),
    "a float": (F32, struct.pack("<f", 1.5)),
    "a bool": (BOOL, b"\x01"),
    "a negative number": (I32, struct.pack("<i", -7)),
    "2^64-1": (U64, struct.pack("<Q", 2**64 - 1)),
    "zero": u32(0),
    "an array of strings": array(STR, [string("a"), string("b")]),
    "an array of arrays": array(
        ARR, [inner(array(U32, [struct.pack("<I", 4)])), inner(array(STR, []))]
    ),
    "an empty array": array(U32, []),
}

# Every key `hearth info` and the advisor's estimate read from a header.
READ_KEYS = (
    "general.architecture",
    "general.name",
    "general.file_type",
    "general.alignment",
    "llama.context_length",
    "llama.block_count",
    "llama.embedding_length",
    "llama.feed_forward_length",
    "llama.attention.head_count",
    "llama.attention.head_count_kv",
    "llama.attention.key_length",
    "llama.attention.value_length",
    "llama.attention.sliding_window",
    "llama.attention.sliding_window_pattern",
    "tokenizer.ggml.tokens",
    "tokenizer.chat_template",
)


def base_metadata() -> dict[str, Value]:
    return {
        "general.architecture": text("llama"),
        "general.name": text("hostile"),
        "general.file_type": u32(0),
        "llama.context_length": u32(2048),
        "llama.block_count": u32(1),
        "llama.embedding_length": u32(32),
        "llama.feed_forward_length": u32(64),
        "llama.attention.head_count": u32(4),
        "llama.attention.head_count_kv": u32(2),
        "tokenizer.ggml.tokens": array(STR, [string(t) for t in ("<unk>", "a", "b")]),
    }


TENSORS = (("token_embd.weight", (32, 3)), ("blk.0.attn_q.weight", (32, 32)))


def gguf(
    metadata: dict[str, Value] | None = None,
    *,
    tensors: tuple[tuple[str, tuple[int, ...]], ...] = TENSORS,
    n_kv: int | None = None,
    n_tensors: int | None = None,
    version: int = 3,
) -> bytes:
    """A whole F32 GGUF file: header, padding, tensor data."""
    kv = base_metadata() if metadata is None else metadata
    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                       len(kv) if n_kv is None else n_kv)  # fmt: skip
    for key, (kind, value) in kv.items():
        out += string(key) + struct.pack("<I", kind) + value
    offset = 0
    for name, shape in tensors:
        out += string(name) + struct.pack("<I", len(shape))
        out += b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", 0, offset)  # F32
        n = 4
        for d in shape:
            n *= d
        offset += -(-n // 32) * 32
    out += bytes(-len(out) % 32) + bytes(offset if offset <= 1 << 20 else 0)
    return bytes(out)


def with_value(key: str, value: Value) -> bytes:
    metadata = base_metadata()
    metadata[key] = value
    return gguf(metadata)


# -- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], Path]
    """Builds the input under the given folder and returns the path to hand over."""
    raises: type[HearthError] | tuple[type[HearthError], ...] | None = None
    """What read_header must raise; None: it must read the header."""
    message: str | None = None
    """Words ``hearth info`` must say (on stderr, when it fails)."""
    either: bool = False
    """Random damage: reading it may work, or fail with ``raises``."""


def file_of(data: bytes | Callable[[], bytes], name: str = "model.gguf") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return make


_REAL: dict[str, bytes] = {}


def real_model() -> bytes:
    """A real llama file written by the gguf package (a 512-token vocabulary)."""
    if not _REAL:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            shape = ModelShape(n_layer=1, n_embd=32, n_head=4, n_head_kv=2, n_ff=64)
            path = write_llama_gguf(Path(folder) / "real.gguf", shape=shape)
            _REAL["data"] = path.read_bytes()
            _REAL["header"] = str(read_header(path).data_offset)
    return _REAL["data"]


def header_size() -> int:
    real_model()
    return int(_REAL["header"])


def cut(at: float | int) -> Callable[[], bytes]:
    """The real file cut at a byte offset (an int) or a fraction of its header (a float)."""

    def data() -> bytes:
        whole = real_model()
        end = at if isinstance(at, int) else int(header_size() * at)
        return whole[:end]

    return data


def flipped(seed: int) -> Callable[[], bytes]:
    """The real file with eight header bytes replaced at seeded random places."""

    def data() -> bytes:
        whole = bytearray(real_model())
        rng = random.Random(seed)
        for _ in range(8):
            whole[rng.randrange(header_size())] = rng.randrange(256)
        return bytes(whole)

    return data


def fifo(folder: Path) -> Path:
    path = folder / "pipe.gguf"
    os.mkfifo(path)  # nobody ever writes to it: opening it for reading would block
    return path


def loop(folder: Path) -> Path:
    (folder / "a.gguf").symlink_to(folder / "b.gguf")
    (folder / "b.gguf").symlink_to(folder / "a.gguf")
    return folder / "a.gguf"


def dangling(folder: Path) -> Path:
    (folder / "gone.gguf").symlink_to(folder / "nowhere.gguf")
    return folder / "gone.gguf"


def directory(folder: Path) -> Path:
    path = folder / "folder.gguf"
    path.mkdir()
    return path


def long_name(folder: Path) -> Path:
    return folder / ("m" * 295 + ".gguf")  # 300 bytes: no file system takes it


def long_path(folder: Path) -> Path:
    return folder.joinpath(*["d" * 200] * 25, "model.gguf")  # over PATH_MAX (4096)


def odd_name(folder: Path) -> Path:
    name = os.fsdecode(b"bad\x1b[31m\nname\xff.gguf")  # a terminal escape, a newline, not UTF-8
    path = folder / name
    path.write_bytes(gguf())
    return path


TRUNCATIONS = [0, 1, 3, 4, 6, 8, 12, 16, 23, 24, 30, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]

CASES: list[Case] = [
    *(
        Case(
            f"cut at {at}",
            file_of(cut(at)),
            NotAModelFileError if isinstance(at, int) and at < 4 else TruncatedModelError,
        )
        for at in TRUNCATIONS
    ),
    Case(
        "cut in the tensor data",
        file_of(lambda: real_model()[:-100]),
        TruncatedModelError,
        "cut short",
    ),
    *(
        Case(f"bytes flipped, seed {seed}", file_of(flipped(seed)), HearthError, either=True)
        for seed in range(12)
    ),
    Case("2^60 tensors", file_of(gguf(n_tensors=2**60)), CorruptModelError, "tensors"),
    Case("2^60 metadata entries", file_of(gguf(n_kv=2**60)), CorruptModelError, "metadata"),
    Case("2^40 tensors, no metadata", file_of(gguf({}, n_tensors=2**40)), CorruptModelError),
    Case(
        "a key 2^62 bytes long",
        file_of(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 2**62) + bytes(64)),
        CorruptModelError,
    ),
    Case(
        "a string value 2^62 bytes long",
        file_of(gguf({"general.name": (STR, struct.pack("<Q", 2**62) + b"x" * 64)}, tensors=())),
        CorruptModelError,
    ),
    Case(
        "an array of 2^62 numbers",
        file_of(gguf({"llama.block_count": array(U32, [], count=2**62)})),
        CorruptModelError,
    ),
    Case(
        "an array of 2^40 strings",
        file_of(gguf({"tokenizer.ggml.tokens": array(STR, [], count=2**40)})),
        CorruptModelError,
    ),
    Case(
        "an array of 2^40 arrays",
        file_of(gguf({"llama.attention.head_count": array(ARR, [], count=2**40)})),
        CorruptModelError,
    ),
    Case(
        "a tensor with 5 dimensions",
        file_of(gguf(tensors=(("blk.0.x", (32,) * 5),))),
        CorruptModelError,
        "dimensions",
    ),
    Case("a dimension of 2^63", file_of(gguf(tensors=(("blk.0.x", (2**63,)),))), CorruptModelError),
    Case("a zero dimension", file_of(gguf(tensors=(("blk.0.x", (32, 0)),))), CorruptModelError),
    Case("an unknown value type", file_of(gguf({"k": (99, b"")})), CorruptModelError, "type 99"),
    Case("GGUF version 7", file_of(gguf(version=7)), CorruptModelError, "version 7"),
    Case(
        "head counts as an array of arrays (issue #11)",
        file_of(
            with_value(
                "llama.attention.head_count",
                array(
                    ARR, [inner(array(U32, [struct.pack("<I", 4)]))] * 2 + [inner(array(STR, []))]
                ),
            )
        ),
    ),
    Case(
        "arrays nested three deep",
        file_of(
            with_value(
                "llama.block_count", array(ARR, [inner(array(ARR, [inner(array(U32, []))]))])
            )
        ),
        CorruptModelError,
        "too deeply",
    ),
    Case(
        "arrays nested a thousand deep",
        file_of(with_value("llama.block_count", (ARR, struct.pack("<IQ", ARR, 1) * 1000))),
        CorruptModelError,
    ),
    Case("a block named blk.²", file_of(gguf(tensors=(("blk.².attn_q.weight", (32, 32)),)))),
    Case(
        "a 5,000-digit block number",
        file_of(gguf(tensors=(("blk." + "9" * 5000 + ".attn_q.weight", (32, 32)),))),
        CorruptModelError,
    ),
    Case(
        "a terminal escape in the model's name",
        file_of(with_value("general.name", text("\x1b]0;owned\x07\x1b[2J"))),
    ),
    Case("an empty file", file_of(b""), NotAModelFileError, "too short"),
    Case("not GGUF", file_of(b"PK\x03\x04" + bytes(100)), NotAModelFileError, "GGUF"),
    *(
        Case(f"{key} is {kind}", file_of(with_value(key, value)), CorruptModelError)
        if key == "general.alignment" and kind != "a bool"
        else Case(f"{key} is {kind}", file_of(with_value(key, value)))
        for key in READ_KEYS
        for kind, value in WRONG_TYPES.items()
    ),
    Case("a file name of 300 bytes", long_name, UnreadableModelError, "longer than this system"),
    Case("a path longer than PATH_MAX", long_path, UnreadableModelError, "longer than this system"),
    Case("a pipe nobody writes to", fifo, NotAModelFileError, "not a regular file"),
    Case("a loop of links", loop, UnreadableModelError, "loop"),
    Case("a dangling link", dangling, ModelNotFoundError, "No model file"),
    Case("a directory", directory, NotAModelFileError, "is a folder"),
    Case("a character device", lambda _folder: Path(os.devnull), NotAModelFileError, "regular"),
    Case("a name with control bytes", odd_name),
]
assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
BY_ID = {case.id: case for case in CASES}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    return folder


@pytest.fixture
def unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Records of exceptions nobody translated (the last resort logs each one)."""
    caplog.set_level(logging.ERROR, logger="hearth.errors")
    yield [r for r in caplog.records if r.name == "hearth.errors"]


def check_read_header(case: Case, path: Path) -> bool:
    """Read the header as the case says it reads; whether it did."""
    if case.raises is None:
        read_header(path)
        return True
    try:
        read_header(path)
    except case.raises:
        return False
    assert case.either, f"read_header accepted {case.id}"
    return True


def assert_clear(case: Case, status: int, out: str, err: str, *, readable: bool) -> None:
    assert "Traceback" not in out + err
    assert "Something went wrong" not in err
    if readable:
        assert status == 0, err
        assert err == ""
    else:
        assert status == 1
        first = err.splitlines()[0]
        assert first.startswith("hearth: ") and len(first) < 400, err
        assert "\x1b" not in err and "\x07" not in err


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hearth_info_gives_a_clear_answer(
    case: Case,
    inputs: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = case.make(inputs)
    readable = check_read_header(case, path)
    for json_flag in ([], ["--json"]):
        status = main(["info", str(path), *json_flag])
        out, err = capsys.readouterr()
        assert_clear(case, status, out, err, readable=readable)
        if case.message and not readable:
            assert case.message in err
        if status == 0 and json_flag:
            info = json.loads(out)
            assert info["file_name"] == path.name
            for key in ("attention_heads", "kv_heads", "layers", "context_length"):
                assert info[key] is None or (isinstance(info[key], int) and info[key] > 0)
        elif status == 0:
            assert "\x1b" not in out and "\x07" not in out  # nothing reaches the terminal raw
    assert not [r for r in caplog.records if r.name == "hearth.errors"]


def test_head_counts_that_are_arrays_of_arrays_read_as_unknown(
    inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BY_ID["head counts as an array of arrays (issue #11)"].make(inputs)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Heads (KV)       - (2)" in out
    assert "Layers           1" in out


@pytest.fixture(scope="module")
def this_machine() -> HardwareProfile:
    return detect_machine()


@pytest.fixture(scope="module")
def calibrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Hearth folder for the module: the memory bandwidth is probed once, not 200 times."""
    return tmp_path_factory.mktemp("hearth-home")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hearth_recommend_gives_a_clear_answer(
    case: Case,
    inputs: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    this_machine: HardwareProfile,
    calibrated_home: Path,
) -> None:
    # The machine is probed once for the module; the advisor reads each header anew.
    monkeypatch.setattr("app.cli.recommend.detect_machine", lambda **_: this_machine)
    monkeypatch.setenv("HEARTH_HOME", str(calibrated_home))
    path = case.make(inputs)
    readable = check_read_header(case, path) and not path.is_dir()
    status = main(["recommend", str(path), "--json"])
    out, err = capsys.readouterr()
    assert_clear(case, status, out, err, readable=readable)
    if status == 0:
        (advice,) = json.loads(out)["files"]
        assert advice["verdict"] in ("full_gpu", "partial", "cpu_only", "no_fit")
    assert not [r for r in caplog.records if r.name == "hearth.errors"]


def _tree(folder: Path) -> dict[str, bytes | None]:
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.timeout(20)
@pytest.mark.parametrize("mode", [ImportMode.COPY, ImportMode.REFERENCE])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_import_refuses_with_a_clear_error_and_loses_nothing(
    case: Case, mode: ImportMode, inputs: Path, tmp_path: Path
) -> None:
    path = case.make(inputs)
    readable = check_read_header(case, path)
    before = _tree(inputs)
    library = Library(models_dir=tmp_path / "models")
    if readable:
        model = library.import_file(path, mode=mode)
        assert model.problem is None and [m.path for m in library.installed()] == [model.path]
    else:
        with pytest.raises(case.raises or HearthError) as raised:
            library.import_file(path, mode=mode)
        assert raised.value.describe().strip()
        assert _tree(tmp_path / "models") == {}  # no partial copy, no index entry
    assert _tree(inputs) == before  # the user's files are as they were


@contextmanager
def unprivileged() -> Iterator[None]:
    """Root reads any file: act as nobody meanwhile (effective ids, this process only)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_an_unreadable_file_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hearth-unreadable-"))  # one nobody may enter
    folder.chmod(0o755)
    path = folder / "secret.gguf"
    try:
        path.write_bytes(gguf())
        path.chmod(0)
        with unprivileged():
            with pytest.raises(UnreadableModelError, match="may not read it"):
                read_header(path)
            status = main(["info", str(path)])
            with pytest.raises(UnreadableModelError):
                Library(models_dir=tmp_path / "models").import_file(path)
        err = capsys.readouterr().err
        assert status == 1 and "may not read it" in err and "Traceback" not in err
    finally:
        path.chmod(0o600)
        shutil.rmtree(folder)


def test_a_library_that_holds_hostile_files_lists_each_with_its_problem(tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = models / "owner" / "repo"
    folder.mkdir(parents=True)
    for name, case_id in (
        ("counts", "2^60 tensors"),
        ("half", "cut at 0.5"),
        ("heads", "head counts as an array of arrays (issue #11)"),
    ):
        BY_ID[case_id].make(tmp_path).rename(folder / f"{name}.gguf")
    fifo(folder)  # not a regular file: not a model, skipped without blocking
    loop(folder)
    listed = {m.name: m.problem for m in Library(models_dir=models).installed()}
    assert set(listed) == {"counts", "half", "heads"}
    assert listed["heads"] is None  # odd head counts still make a usable model
    assert "claims 1,152,921,504,606,846,976 tensors" in (listed["counts"] or "")
    assert "ends inside its header" in (listed["half"] or "")


# -- in a child process: what a user's terminal shows, and the memory it takes --------------


def hearth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "case_id",
    [
        "a file name of 300 bytes",
        "a path longer than PATH_MAX",
        "a pipe nobody writes to",
        "head counts as an array of arrays (issue #11)",
        "2^60 tensors",
    ],
)
def test_in_a_terminal_there_is_no_traceback(case_id: str, inputs: Path) -> None:
    case = BY_ID[case_id]
    result = hearth("info", str(case.make(inputs)))
    assert_clear(case, result.returncode, result.stdout, result.stderr, readable=not case.raises)
    if case.message:
        assert case.message in result.stderr


MEMORY_PROBE = """
import sys, tracemalloc
from app.core.errors import HearthError
from app.core.gguf.header import read_header
tracemalloc.start()
try:
    read_header(sys.argv[1])
    print("read")
except HearthError as error:
    print(type(error).__name__)
print(tracemalloc.get_traced_memory()[1])
"""


def many_kept_arrays() -> bytes:
    """2,000 keys of 4,096 numbers each: 32 MB on disk, ~300 MB as Python lists."""
    row = array(U32, [struct.pack("<4096I", *range(1000, 5096))], count=4096)
    return gguf({f"k.{i}": row for i in range(2000)}, tensors=())


def many_nested_arrays() -> bytes:
    """60,000 arrays of 128 numbers inside one array: 31 MB on disk, ~280 MB as lists."""
    item = inner(array(U32, [struct.pack("<128I", *range(1000, 1128))], count=128))
    return gguf({"llama.attention.head_count": array(ARR, [item] * 60_000)}, tensors=())


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        (lambda: gguf(n_kv=2**40), "CorruptModelError"),
        (lambda: gguf({"k": array(F64, [], count=2**40)}), "CorruptModelError"),
        (lambda: gguf({}, n_tensors=2**40), "CorruptModelError"),
        (many_kept_arrays, "CorruptModelError"),
        (many_nested_arrays, "CorruptModelError"),
    ],
    ids=["2^40 entries", "2^40 numbers", "2^40 tensors", "many kept arrays", "nested arrays"],
)
def test_memory_stays_bounded_whatever_the_header_claims(
    data: Callable[[], bytes], outcome: str, tmp_path: Path
) -> None:
    path = tmp_path / "claims.gguf"
    path.write_bytes(data())
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    said, peak = result.stdout.split()
    assert said == outcome
    assert int(peak) < 200 * 2**20, f"peak {int(peak) / 2**20:.0f} MiB"
