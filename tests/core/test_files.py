"""Atomic writes: a crash never leaves half a file, and writers never collide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.core.files import TEMP_SUFFIX, write_json_atomic, write_text_atomic

ROOT = Path(__file__).resolve().parents[2]


def payload(tag: str) -> dict[str, object]:
    """About 2 MB of JSON: big enough that a kill lands in the middle of writing it."""
    return {"tag": tag, "rows": [f"{tag}-{i:07d}" for i in range(150_000)]}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_process_killed_while_writing_leaves_the_old_file_or_the_new_one(
    tmp_path: Path,
) -> None:
    target = tmp_path / "state.json"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.core.files import write_json_atomic
        from tests.core.test_files import payload
        a, b = payload("a"), payload("b")
        write_json_atomic(Path({str(target)!r}), a)
        print("ready", flush=True)
        while True:
            write_json_atomic(Path({str(target)!r}), b)
            write_json_atomic(Path({str(target)!r}), a)
        """
    )
    expected = (payload("a"), payload("b"))
    for round_ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.05 + 0.037 * round_)  # a different moment of a write each round
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        assert json.loads(target.read_text(encoding="utf-8")) in expected
    # What a kill can leave is a hidden temporary file, never something named like the target.
    for leftover in set(tmp_path.iterdir()) - {target}:
        assert leftover.name.startswith(".state.json.") and leftover.name.endswith(TEMP_SUFFIX)


def test_concurrent_writers_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for i in range(60):
                write_json_atomic(target, {"tag": tag, "i": i, "pad": tag * 5000})
        except BaseException as error:  # reported below, with the writer's name
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = json.loads(target.read_text(encoding="utf-8"))
    assert final["i"] == 59 and final["pad"] == final["tag"] * 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    write_text_atomic(target, "old\n")

    def refuse(_src: object, _dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_text_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OSError):
        write_json_atomic(blocker / "settings.json", {"a": 1})
    assert blocker.read_text() == "a file where the folder should be"


def test_json_is_written_whole_with_a_final_newline(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / "data.json"
    write_json_atomic(target, {"b": 1, "a": "é"}, sort_keys=True)
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": "é", "b": 1}
