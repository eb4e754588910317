"""``hearth chat``: chat with a local model in the terminal.

With ``--prompt``, one reply is streamed to standard output and the command exits.
Without it, an interactive session: Ctrl-C stops a reply (not the program); Ctrl-C
at an empty prompt twice, or Ctrl-D, quits. Notices and figures go to standard error,
so standard output holds only the model's words.

The turns follow the same rules as the desktop app's (:class:`app.core.chat.ChatSession`):
``--continue ID`` goes on with a stored conversation (the model sees exactly what the
app would show it), ``--save`` keeps a new one in the history; otherwise the chat is
kept only until the command ends.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from app.core.chat import ChatSession, HistoryStore, Preview, RemoteModel, Route, Turn
from app.core.cloud import (
    ClaudeClient,
    CloudError,
    RemoteClient,
    ensure_claude_allowed,
    ensure_remote_allowed,
    find_remote,
)
from app.core.context import AppContext
from app.core.documents import (
    DocumentIndex,
    DocumentRetriever,
    EngineEmbedder,
    find_embedding_model,
)
from app.core.errors import HearthError
from app.core.generation import Reply, StopReason
from app.core.inference import EngineProcess, LoadOptions
from app.core.library import ModelSettings
from app.core.settings import KV_CACHE_CHOICES, Settings

STOP_WORDS = {
    StopReason.END_OF_TEXT: "end of text",
    StopReason.LENGTH: "length limit",
    StopReason.USER: "stopped",
    StopReason.CONTEXT: "context full",
    StopReason.CRASHED: "the model stopped unexpectedly",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with a local GGUF model",
        description="Chat with a local GGUF model. Options default to your settings "
        "(`hearth config list`).",
    )
    parser.add_argument(
        "--model",
        help="path of a .gguf file (required unless --claude); with --remote, the server's model",
    )
    parser.add_argument("--prompt", help="send one message, print the reply and exit")
    parser.add_argument("--system", help="system prompt (default: from settings)")
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument(
        "--continue",
        dest="conversation",
        type=int,
        metavar="ID",
        help="go on with stored conversation ID (`hearth history list`); new turns are saved",
    )
    keep.add_argument("--save", action="store_true", help="keep this chat in the history")
    load = parser.add_argument_group("loading")
    load.add_argument("--context", type=int, help="context length in tokens")
    load.add_argument(
        "--gpu-layers", type=int, help="layers to offload to the GPU (-1: as many as fit)"
    )
    load.add_argument("--threads", type=int, help="CPU threads (0: physical cores)")
    load.add_argument("--batch-size", type=int, help="prompt batch size")
    load.add_argument("--flash-attention", action=argparse.BooleanOptionalAction, default=None)
    load.add_argument("--kv-cache-type", choices=KV_CACHE_CHOICES)
    sample = parser.add_argument_group("sampling")
    sample.add_argument("--temperature", type=float)
    sample.add_argument("--top-p", type=float)
    sample.add_argument("--top-k", type=int)
    sample.add_argument("--min-p", type=float)
    sample.add_argument("--repeat-penalty", type=float)
    sample.add_argument("--max-tokens", type=int)
    sample.add_argument("--seed", type=int)
    docs = parser.add_argument_group("local documents (`hearth docs`)")
    docs.add_argument(
        "--docs",
        action="append",
        metavar="NAME",
        help="answer from this collection (repeatable); the reply lists its sources",
    )
    docs.add_argument("--embedding-model", metavar="PATH", help="default: settings")
    parser.add_argument("--quiet", action="store_true", help="no notices or figures on stderr")
    claude = parser.add_argument_group("Claude (sends the conversation to Anthropic)")
    claude.add_argument(
        "--claude",
        action="store_true",
        help="reply with Claude instead of a local model (needs claude_enabled and a key)",
    )
    claude.add_argument("--claude-model", help="Claude model (default: from settings)")
    claude.add_argument(
        "--yes", action="store_true", help="send without showing the preview and asking first"
    )
    parser.add_argument(
        "--remote",
        metavar="NAME",
        help="reply with --model of this server (`hearth remote list`); one on another "
        "computer shows the preview first, as Claude does",
    )
    parser.set_defaults(func=run)


def _own_settings(args: argparse.Namespace, context: AppContext) -> ModelSettings:
    """The model file's own settings (none for a path that is no file: the load says why)."""
    if args.claude or not args.model or not Path(args.model).is_file():
        return ModelSettings()
    return context.model_settings.get(args.model)


def _settings(args: argparse.Namespace, context: AppContext) -> Settings:
    """The user's settings, the model's own over them, and this command's options on top
    (validated alike)."""
    settings = _own_settings(args, context).apply(context.current)
    for key, value in (
        ("context_length", args.context),
        ("gpu_layers", args.gpu_layers),
        ("threads", args.threads),
        ("batch_size", args.batch_size),
        ("flash_attention", args.flash_attention),
        ("kv_cache_type", args.kv_cache_type),
        ("temperature", args.temperature),
        ("top_p", args.top_p),
        ("top_k", args.top_k),
        ("min_p", args.min_p),
        ("repeat_penalty", args.repeat_penalty),
        ("max_tokens", args.max_tokens),
        ("seed", args.seed),
        ("system_prompt", args.system),
        ("claude_model", args.claude_model),
    ):
        if value is not None:
            settings = settings.with_value(key, value)  # the same validation as settings
    return settings


class TerminalPrompts:
    """The session's questions, asked on the terminal (standard error and input)."""

    def __init__(self, *, claude: bool, yes: bool, say: _Notices) -> None:
        self.claude = claude
        self.yes = yes
        self.say = say

    def choose_route(self) -> Route | None:
        return Route.CLAUDE if self.claude else Route.LOCAL  # the command says which

    def confirm_preview(self, preview: Preview) -> bool:
        if self.yes:
            return True
        print(f"About to send {preview.summary()}:", file=sys.stderr)
        if preview.system:
            print(f"  [system] {preview.system}", file=sys.stderr)
        for message in preview.messages:
            print(f"  [{message.role}] {message.content}", file=sys.stderr)
        print(f"Send this to {preview.recipient}? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return True
        self.say("Not sent.")
        return False


class _Notices:
    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _history(args: argparse.Namespace) -> Iterator[HistoryStore]:
    """The user's history (``--continue``, ``--save``), else one that lasts this command."""
    if args.conversation is not None or args.save:
        with HistoryStore.open() as store:  # the app's history file
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="hearth-chat-") as folder:
        store = HistoryStore.open(Path(folder) / "chat.db")
        try:
            yield store
        finally:
            store.close()


def run(args: argparse.Namespace, context: AppContext) -> int:
    if not args.claude and not args.model:
        print("hearth chat: --model PATH is required (or --claude)", file=sys.stderr)
        return 2
    if args.claude and args.remote:
        print("hearth chat: choose --claude or --remote, not both", file=sys.stderr)
        return 2
    settings = _settings(args, context)
    say = _Notices(quiet=args.quiet)
    with _history(args) as store, _documents(args, settings) as retriever:
        session = ChatSession(
            store,
            settings=lambda: settings,
            prompts=TerminalPrompts(claude=args.claude, yes=args.yes, say=say),
            claude_key=context.keys.claude.load,
            retriever=retriever,
            remote_token=lambda name: context.keys.remote_token(name).load(),
        )
        session.open(args.conversation)
        if args.conversation is None:
            session.set_system_prompt(settings.system_prompt)
        elif args.system is not None:
            session.set_system_prompt(args.system)
        if args.claude:
            ensure_claude_allowed(settings)  # off or offline: nothing is sent
            return _chat(session, None, context, settings, args, say)
        if args.remote:
            ensure_remote_allowed(settings, find_remote(settings, args.remote))
            session.remote = RemoteModel(args.remote, args.model)
            return _chat(session, None, context, settings, args, say)
        engine = EngineProcess(on_notice=lambda words: say(f"hearth: {words}"))
        context.engine = engine
        try:
            return _chat(session, engine, context, settings, args, say)
        finally:
            engine.close()


@contextlib.contextmanager
def _documents(args: argparse.Namespace, settings: Settings) -> Iterator[DocumentRetriever | None]:
    """The collections named by ``--docs``, searched with the embedding model in its engine."""
    if not args.docs:
        yield None
        return
    with DocumentIndex.open() as index:
        for name in args.docs:
            index.collection(name)  # an unknown name fails before any model loads
        model = find_embedding_model(settings, args.embedding_model)
        with EngineEmbedder(model) as embedder:
            yield DocumentRetriever(index, embedder, collections=args.docs)


def _sources(turn: Turn, say: _Notices) -> None:
    """After the reply: the excerpts it was given, and those that did not fit."""
    documents = turn.documents
    if documents is None:
        return
    if not documents.used and not documents.left_out:
        say("Sources: nothing in your documents matched.")
        return
    say("Sources:" if documents.used else "Sources: none fitted the context.")
    for line in documents.sources():
        say(f"  {line}")
    if documents.left_out:
        say(f"  ({len(documents.left_out)} more matched but did not fit the context:)")
        for hit in documents.left_out:
            say(f"    {hit.path}, {hit.where}")


def _chat(
    session: ChatSession,
    engine: EngineProcess | None,
    context: AppContext,
    settings: Settings,
    args: argparse.Namespace,
    say: _Notices,
) -> int:
    client: ClaudeClient | RemoteClient | None = None
    if session.remote is not None:
        remote = find_remote(settings, session.remote.remote)
        token = context.keys.remote_token(remote.name).load()
        client = RemoteClient.for_remote(settings, remote, token=token)
        name = f"{session.remote.model} on {client.where}"
    elif engine is not None:
        template = _own_settings(args, context).chat_template
        options = replace(LoadOptions.from_settings(settings), chat_template=template)
        session.model = model = engine.load(args.model, options)
        with contextlib.suppress(OSError, HearthError):  # "last used" in `hearth models`
            context.library().mark_used(model.path)
        if model.notice:
            say(f"note: {model.notice}")
        name = model.name
    else:
        client = ClaudeClient.from_settings(settings, api_key=context.keys.claude.load())
        name = f"{client.model} at {client.host}"
    try:
        if args.prompt is not None:
            return _turn(session, engine, client, args.prompt, say, claude=args.claude)
        return _interactive(session, engine, client, say, name, claude=args.claude)
    finally:
        if client is not None:
            client.close()


def _interactive(
    session: ChatSession,
    engine: EngineProcess | None,
    client: ClaudeClient | RemoteClient | None,
    say: _Notices,
    name: str,
    *,
    claude: bool,
) -> int:
    say(f"Chatting with {name}. Ctrl-C stops a reply; Ctrl-D (or Ctrl-C twice) quits.")
    interrupted_prompt = False
    while True:
        try:
            text = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        except KeyboardInterrupt:
            if interrupted_prompt:
                print(file=sys.stderr)
                return 0
            interrupted_prompt = True
            say("\n(Ctrl-C again or Ctrl-D to quit)")
            continue
        interrupted_prompt = False
        if not text.strip():
            continue
        try:
            _turn(session, engine, client, text, say, claude=claude)
        except CloudError as error:  # shown; the conversation goes on
            say(f"hearth: {error.describe()}")
        if _QuitRequested.flag:
            return 130


class _QuitRequested:
    flag = False


def _turn(
    session: ChatSession,
    engine: EngineProcess | None,
    client: ClaudeClient | RemoteClient | None,
    text: str,
    say: _Notices,
    *,
    claude: bool,
) -> int:
    """One message and its streamed reply; returns the exit status it stands for."""
    turn = session.send(text, ask_claude=claude)
    if turn is None:
        return 1  # not sent
    replies: list[Any] = []
    presses = 0

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if turn.route is not Route.LOCAL:
            if client is not None:
                client.stop()
        elif engine is not None:
            engine.stop()
        if presses > 1:
            _QuitRequested.flag = True

    if turn.route is Route.CLAUDE and not isinstance(client, ClaudeClient):
        # a stored conversation set to Claude, chatting locally
        client = ClaudeClient.from_settings(turn.settings, api_key=turn.key)
    if turn.route is not Route.LOCAL:
        assert client is not None
        pieces = turn.run_client(client, on_started=replies.append)
    else:
        assert engine is not None

        def started(reply: Reply) -> None:
            replies.append(reply)
            if reply.dropped_messages:
                say(
                    "note: the conversation no longer fits the context; the oldest "
                    f"{reply.dropped_messages} messages were left out of this reply."
                )

        pieces = turn.run_local(engine, on_started=started)
    _print_stream(pieces, on_interrupt)
    _sources(turn, say)
    if not replies:
        return 1
    if turn.route is not Route.LOCAL:
        return _claude_figures(replies[0], say)
    return _local_figures(replies[0], say)


def _print_stream(pieces: Iterator[str], on_interrupt: Any) -> None:
    """Write a streamed reply to stdout; Ctrl-C runs ``on_interrupt`` instead of quitting."""
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.stdout.write("\n")
        sys.stdout.flush()


def _local_figures(reply: Reply, say: _Notices) -> int:
    stats = reply.stats
    if stats is None:
        return 1
    rate = f"{stats.tokens_per_second:.1f} tok/s" if stats.tokens_per_second else "- tok/s"
    first = (
        f"first token {stats.time_to_first_token:.2f} s"
        if stats.time_to_first_token is not None
        else "no token"
    )
    say(
        f"[{stats.completion_tokens} tokens, {rate}, {first}, "
        f"prompt {stats.prompt_tokens} ({stats.cached_tokens} cached), "
        f"{STOP_WORDS[stats.stop_reason]}]"
    )
    if stats.stop_reason is StopReason.CRASHED:
        if stats.notice:
            print(f"hearth: {stats.notice}", file=sys.stderr, flush=True)
        return 1
    return 0 if stats.stop_reason is not StopReason.USER else 130


def _claude_figures(reply: Any, say: _Notices) -> int:
    stats = reply.stats
    if stats is None:
        return 1
    ended = STOP_WORDS[stats.stop_reason] if stats.stop_reason else "incomplete"
    say(f"[{stats.model}, {stats.input_tokens} tokens in, {stats.output_tokens} out, {ended}]")
    return 0 if stats.stop_reason is not StopReason.USER else 130
