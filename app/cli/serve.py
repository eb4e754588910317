"""``hearth serve``: the local model for other programs, over OpenAI's and Anthropic's APIs.

Headless (no Qt). Listens on 127.0.0.1 and ::1 unless ``--host`` (or the
``server_host`` setting) says otherwise; any other address requires the token Hearth
keeps in the OS keychain, which ``--show-token`` prints. Each request is logged to
standard error as one line (method, path, status, time), never with its text unless
``--log-bodies``. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.context import AppContext
from app.core.errors import HearthError
from app.core.inference import EngineProcess, LoadOptions
from app.core.secrets import SecretsError
from app.core.settings import Settings

if TYPE_CHECKING:
    from app.core.server import LocalServer

# The server (uvicorn, Starlette) is imported when `hearth serve` runs, not for every
# `hearth` command.


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a local model to other programs (OpenAI and Anthropic APIs)",
        description="Serve a local model over OpenAI's and Anthropic's HTTP APIs, on this "
        "computer only unless --host says otherwise. Options default to your settings.",
    )
    parser.add_argument(
        "--model", help="a .gguf file or an installed model's name (default: the last used)"
    )
    parser.add_argument(
        "--embedding-model", help="a .gguf embedding model, served at /v1/embeddings"
    )
    parser.add_argument(
        "--host",
        help="address to listen on (default 127.0.0.1, with ::1); any other needs the token",
    )
    parser.add_argument("--port", type=int, help="port to listen on (0: any free port)")
    parser.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="a web page origin allowed to call the server from a browser (repeatable)",
    )
    parser.add_argument(
        "--log-bodies", action="store_true", help="also log prompts and replies (off by default)"
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--show-token", action="store_true", help="print the server's token and exit"
    )
    token.add_argument(
        "--new-token",
        action="store_true",
        help="replace the server's token (clients with the old one are refused) and exit",
    )
    load = parser.add_argument_group("loading")
    load.add_argument("--context", type=int, help="context length in tokens")
    load.add_argument("--gpu-layers", type=int, help="layers to offload to the GPU (-1: all)")
    load.add_argument("--threads", type=int, help="CPU threads (0: physical cores)")
    parser.set_defaults(func=run)


def _settings(args: argparse.Namespace, context: AppContext, model: Path | None = None) -> Settings:
    """The settings now, ``model``'s own over them, and this command's options on top
    (validated alike)."""
    settings = context.settings_for(model)
    origins = ",".join(args.allow_origin) if args.allow_origin else None
    for key, value in (
        ("server_host", args.host),
        ("server_port", args.port),
        ("server_allowed_origins", origins),
        ("server_log_bodies", True if args.log_bodies else None),
        ("context_length", args.context),
        ("gpu_layers", args.gpu_layers),
        ("threads", args.threads),
    ):
        if value is not None:
            settings = settings.with_value(key, value)  # the same validation as settings
    return settings


def _model_path(name: str | None, context: AppContext) -> Path:
    """A file named on the command line, an installed model by name, or the last used one."""
    if name is not None and Path(name).expanduser().is_file():
        return Path(name).expanduser()
    library = context.library()
    if name is not None:
        return library.find(name).path
    used = [m for m in library.installed() if m.last_used and not m.problem]
    if not used:
        raise HearthError(
            "No model to serve: none has been used yet.",
            hint="Name one with --model PATH (a .gguf file) or an installed model's name.",
        )
    return max(used, key=lambda m: m.last_used or 0).path


def _token(settings: Settings, context: AppContext) -> str | None:
    """The token a non-loopback server requires; None on loopback."""
    from app.core.server import ServerSetupError, ServerToken, is_loopback

    if is_loopback(settings.server_host):
        return None
    try:
        return ServerToken(context.keys).get()
    except SecretsError as error:
        raise ServerSetupError(
            f"Hearth will not listen on {settings.server_host} without a token, and it "
            f"cannot keep one: {error}",
            hint="Start your keychain (on Linux: GNOME Keyring or KWallet), or serve on "
            "127.0.0.1 (this computer only).",
        ) from None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, context: AppContext) -> int:
    from app.core.server import LocalServer, ServerConfig, ServerToken

    if args.show_token or args.new_token:
        tokens = ServerToken(context.keys)
        print(tokens.renew() if args.new_token else tokens.get())
        return 0
    settings = _settings(args, context)  # a bad option is said before anything else
    path = _model_path(args.model, context)
    settings = _settings(args, context, path)
    config = ServerConfig.from_settings(settings, token=_token(settings, context))
    stop_logging = _log_requests()
    engine = EngineProcess(on_notice=lambda words: _say(f"hearth: {words}"))
    context.engine = engine
    embedder = EngineProcess() if args.embedding_model else None
    try:
        # Read at each request: a change to the settings store or the model's own reaches
        # the server (the command's options stay on top).
        server = LocalServer(
            engine,
            config=config,
            settings=lambda: _settings(args, context, path),
            embedder=embedder,
        )
        urls = server.listen()  # a port in use is said before a model loads
        template = context.model_settings.get(path).chat_template
        options = replace(LoadOptions.from_settings(settings), chat_template=template)
        model = engine.load(path, options)
        if model.notice:
            _say(f"note: {model.notice}")
        with contextlib.suppress(OSError, HearthError):  # "last used" in `hearth models`
            context.library().mark_used(model.path)
        if embedder is not None:
            embedder.load(
                args.embedding_model,
                LoadOptions(context_length=512, threads=settings.threads or None, embedding=True),
            )
        _announce(server, urls, settings, model.path.stem)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn stopped serving first, then passes Ctrl-C on
            _say("Stopped.")
    finally:
        engine.close()
        if embedder is not None:
            embedder.close()
        stop_logging()
    return 0


def _announce(server: LocalServer, urls: list[str], settings: Settings, name: str) -> None:
    _say(f"Hearth serves {name} at {urls[0]}/v1 (OpenAI) and {urls[0]} (Anthropic).")
    if len(urls) > 1:
        _say(f"Also at {', '.join(urls[1:])}.")
    if server.config.loopback:
        _say("Only programs on this computer can reach it.")
    else:
        _say(
            f"Listening on {settings.server_host}: other computers can reach it; every request "
            "needs the token (`hearth serve --show-token` prints it)."
        )
    if settings.server_allowed_origins:
        _say(f"Web pages allowed to call it: {settings.server_allowed_origins}.")
    if settings.server_log_bodies:
        _say("Prompts and replies are written to the log (--log-bodies).")
    _say("Ctrl-C stops it.")


def _log_requests() -> Callable[[], None]:
    """One line per request on standard error (the log file has them too); returns undo."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("app.core.server")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return undo
