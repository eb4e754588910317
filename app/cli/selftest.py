"""``hearth --self-test [--model PATH]``: prove that this installation works.

Each step prints one line, ``ok`` or ``FAILED`` with what is broken:

1. the version of Hearth and of llama-cpp-python;
2. the llama.cpp build (CPU, CUDA, Metal, ...), the CPU variant a portable build
   picked for this CPU (``haswell``, ``sse42``...; see app/core/inference/backends.py) and
   the backends it registered;
   the curated model catalog that ships with the app;
3. loading a model (``--model``, else ``$HEARTH_TEST_MODEL``) and generating a few
   tokens;
4. opening the main window (offscreen when there is no display) and closing it.

The exit status is 0 when every step passed, 1 otherwise. The self-test never
touches the user's data: it runs in a temporary ``HEARTH_HOME``, removed afterwards
unless a step failed (then its log file is kept and named).

It runs before the normal command line configures logging (see :func:`requested`),
so not even the log file lands in the user's folders.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from app import __version__

PROMPT = "Once upon a time"
TOKENS = 8


class StepFailed(Exception):
    """A self-test step found something broken; the message says what."""


def requested(argv: Sequence[str]) -> bool:
    """True when ``--self-test`` comes among the leading options (before any command)."""
    args = iter(argv)
    for arg in args:
        if arg == "--self-test":
            return True
        if arg == "--model":
            next(args, None)  # its value
        elif not arg.startswith("-"):
            return False  # a command: `hearth chat --self-test` is not a self-test
    return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth --self-test",
        description="Check this installation: llama.cpp, a model, the window. "
        "Exits 0 when all is well, 1 naming what is broken.",
    )
    parser.add_argument("--self-test", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=os.environ.get("HEARTH_TEST_MODEL"),
        help="GGUF model to load (default: $HEARTH_TEST_MODEL)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log llama.cpp's messages")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run every step in a temporary HEARTH_HOME; returns the exit status."""
    args = build_parser().parse_args(list(argv))
    home = Path(tempfile.mkdtemp(prefix="hearth-self-test-"))
    previous_home = os.environ.get("HEARTH_HOME")
    os.environ["HEARTH_HOME"] = str(home)
    try:
        failed = _run_steps(args)
    finally:
        _restore_env("HEARTH_HOME", previous_home)
    if failed:
        print(f"self-test FAILED: {', '.join(failed)} (log kept at {home / 'logs'})")
        return 1
    shutil.rmtree(home, ignore_errors=True)
    print("self-test passed")
    return 0


def _run_steps(args: argparse.Namespace) -> list[str]:
    from app.cli import configure_logging

    configure_logging(verbose=args.verbose)
    print(f"hearth {__version__} (Python {sys.version.split()[0]}, {_how_installed()})")
    failed: list[str] = []
    steps: list[tuple[str, Callable[[], str]]] = [
        ("llama.cpp", _check_llama),
        ("catalog", _check_catalog),
        ("model", lambda: _check_model(args.model)),
        ("window", _check_window),
    ]
    for name, step in steps:
        try:
            detail = step()
        except StepFailed as error:
            failed.append(name)
            print(f"{name:<10} FAILED: {error}")
        except Exception as error:  # a self-test reports every failure, expected or not
            failed.append(name)
            print(f"{name:<10} FAILED: {type(error).__name__}: {error}")
            traceback.print_exc(file=sys.stderr)
        else:
            print(f"{name:<10} ok: {detail}")
    return failed


def _how_installed() -> str:
    if getattr(sys, "frozen", False):
        return f"bundle at {Path(sys.executable).resolve().parent}"
    return f"from source at {Path(__file__).resolve().parents[2]}"


# -- llama.cpp ---------------------------------------------------------------------------


def _check_llama() -> str:
    from app.core.errors import HearthError
    from app.core.inference import llama_build

    try:
        build = llama_build()
    except HearthError as error:
        raise StepFailed(error.describe()) from error
    if not build.backends:
        raise StepFailed("llama.cpp registered no backend at all (its ggml libraries are missing)")
    offload = "GPU offload available" if build.gpu_offload else "no GPU offload"
    return (
        f"llama-cpp-python {build.package_version}, {build.label} build, {build.cpu}, "
        f"backends {', '.join(build.backends)}; devices {', '.join(build.devices)}; "
        f"{offload}; {build.system_info}"
    )


def _check_catalog() -> str:
    from app.core.errors import HearthError
    from app.core.library import CATALOG_FILE, load_catalog

    try:
        catalog = load_catalog()
    except HearthError as error:
        raise StepFailed(error.describe()) from error
    if not catalog.models:
        raise StepFailed(f"the model catalog {CATALOG_FILE} lists no models")
    return f"{len(catalog.models)} curated models in {CATALOG_FILE}"


# -- model -------------------------------------------------------------------------------


def _check_model(model: str | None) -> str:
    from app.core.errors import HearthError
    from app.core.generation import SamplingOptions, StopReason
    from app.core.inference import EngineProcess, LoadOptions

    if not model:
        raise StepFailed("no model to load: pass --model PATH or set HEARTH_TEST_MODEL")
    engine = EngineProcess()
    try:
        started = time.perf_counter()
        loaded = engine.load(model, LoadOptions(context_length=256, batch_size=64))
        sampling = SamplingOptions(temperature=0.0, max_tokens=TOKENS, seed=1)
        reply = engine.complete(PROMPT, sampling, ignore_eos=True)
        text = reply.read()
        seconds = time.perf_counter() - started
    except HearthError as error:
        raise StepFailed(f"model {model}: {error.describe()}") from error
    finally:
        engine.close()
    stats = reply.stats
    if engine.restarts or (stats is not None and stats.stop_reason is StopReason.CRASHED):
        # Recovered or not, a crash of llama.cpp here is what the self-test exists to catch.
        said = (stats.notice if stats else None) or loaded.notice or ""
        raise StepFailed(
            f"model {loaded.name}: llama.cpp crashed {engine.restarts} time(s) in the engine "
            f"process. {said}".strip()
        )
    if not text.strip():
        raise StepFailed(f"model {loaded.name} loaded but generated no text")
    return f"{loaded.name} loaded and wrote {text.strip()!r} in {seconds:.2f} s"


# -- window ------------------------------------------------------------------------------


def _check_window() -> str:
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import QThreadPool
        from PySide6.QtWidgets import QApplication

        from app.ui.application import Session
    except ImportError as error:
        raise StepFailed(f"the desktop app cannot load Qt ({error})") from error
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    session = Session()
    try:
        window = session.build_window()
        window.show()
        app.processEvents()
        if not window.isVisible():
            raise StepFailed("the main window did not become visible")
        shown = _seconds_since_process_start()
        window.close()
        app.processEvents()
        # Work the window started in the background (the first run's advice probes the
        # memory bandwidth and saves it) ends here, inside the temporary home.
        for pool in (QThreadPool.globalInstance(), *window.findChildren(QThreadPool)):
            pool.waitForDone(30_000)
    finally:
        session.close()
    platform = app.platformName()
    return f"main window shown on the {platform!r} platform {shown:.2f} s after start, closed"


def _seconds_since_process_start() -> float:
    import psutil

    return time.time() - psutil.Process().create_time()


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
