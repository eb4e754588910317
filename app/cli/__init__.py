"""``hearth``: the same core as the desktop app, driven from a terminal.

Each command lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func``: called with the parsed arguments and the one
:class:`~app.core.context.AppContext` of this run (settings, key store, Hub, catalog),
it returns the exit status. Commands that print a table take ``--json``.

Exit status: 0 done, 1 failed (a HearthError's message and hint, or for anything else
one line naming the log file that holds the traceback), 2 a usage error, 130 Ctrl+C.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import logging.handlers
import sys
from collections.abc import Sequence

from app import __version__
from app.core.context import AppContext
from app.core.errors import HearthError, unexpected
from app.core.paths import app_paths

# Command modules, in the order `hearth --help` lists them.
COMMAND_MODULES = (
    "app.cli.chat",
    "app.cli.info",
    "app.cli.config",
    "app.cli.history",
    "app.cli.docs",
    "app.cli.doctor",
    "app.cli.recommend",
    "app.cli.models",
    "app.cli.key",
    "app.cli.remote",
    "app.cli.serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: a private AI assistant that runs on your own computer.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log llama.cpp's messages")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation and exit (see `hearth --self-test --help`)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hearth`` command line; returns the exit status."""
    # `hearth --self-test` runs before logging is set up: it uses its own HEARTH_HOME.
    from app.cli import selftest

    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["--probe-llama"]:  # the bundle's llama.cpp probe (devices.py)
        from app.core.inference import probe_llama_main

        return probe_llama_main()
    if arguments[:1] == ["--engine-host"]:  # the bundle's engine process (engine_process.py)
        from app.core.inference import run_engine_host

        return run_engine_host()
    if selftest.requested(arguments):
        return selftest.main(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
    configure_logging(verbose=args.verbose)
    doing = f"running `hearth {args.command}`" if args.command else "starting the desktop app"
    try:
        if args.command is None:
            return start_desktop()
        return int(args.func(args, AppContext()))
    except HearthError as error:
        print(f"hearth: {error.describe()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hearth: stopped.", file=sys.stderr)
        return 130
    except Exception as error:  # the last resort: one clear line, the traceback in the log
        print(f"hearth: {unexpected(error, doing=doing)}", file=sys.stderr)
        return 1


def configure_logging(*, verbose: bool) -> None:
    """Everything to Hearth's log file; to the terminal, warnings (all with -v).

    llama.cpp's own messages reach the terminal only with ``--verbose``.
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in [h for h in root.handlers if getattr(h, "hearth", False)]:
        root.removeHandler(handler)  # main() may run more than once in one process
        handler.close()
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if verbose:
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        # Tracebacks go to the log file only; main() prints unexpected errors itself.
        console.setFormatter(_WithoutTraceback("%(levelname)s %(name)s: %(message)s"))
        console.addFilter(
            lambda record: not record.name.startswith(("hearth.llama", "hearth.errors"))
        )
    console.hearth = True  # type: ignore[attr-defined]
    root.addHandler(console)
    try:
        logs = app_paths().logs
        logs.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            logs / "hearth.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as error:
        print(
            f"hearth: cannot write the log file ({error}); logging to the terminal only",
            file=sys.stderr,
        )
        return
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    file.hearth = True  # type: ignore[attr-defined]
    root.addHandler(file)


class _WithoutTraceback(logging.Formatter):
    """A record's message without the traceback attached to it."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = logging.makeLogRecord(
                {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
            )
        return super().format(record)


def start_desktop() -> int:
    """Start the desktop app, or say why it cannot start."""
    try:
        from app.ui.application import run
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("PySide6", "shiboken6"):
            raise
        print(
            f"hearth: the desktop app needs PySide6 (Qt), which cannot be imported: {error}.\n"
            "Reinstall Hearth to get it back; meanwhile `hearth chat --model PATH` chats "
            "from the terminal (`hearth --help` lists every command).",
            file=sys.stderr,
        )
        return 2
    return int(run())
