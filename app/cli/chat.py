"""``hearth chat``: chat with a local model in the terminal.

With ``--prompt``, one reply is streamed to standard output and the command exits.
Without it, an interactive session: Ctrl-C stops a reply (not the program); Ctrl-C
at an empty prompt twice, or Ctrl-D, quits. Notices and figures go to standard error,
so standard output holds only the model's words.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterable
from types import FrameType
from typing import Any

from app.core.chat import build_preview
from app.core.cloud import ClaudeClient, CloudError, ensure_claude_allowed
from app.core.errors import HearthError
from app.core.generation import Message, Reply, SamplingOptions, StopReason
from app.core.inference import EngineProcess, LoadOptions
from app.core.library import Library
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import KV_CACHE_CHOICES, load_settings

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
    parser.add_argument("--model", help="path of a .gguf file (required unless --claude)")
    parser.add_argument("--prompt", help="send one message, print the reply and exit")
    parser.add_argument("--system", help="system prompt (default: from settings)")
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
    parser.set_defaults(func=run)


def _options(args: argparse.Namespace) -> tuple[LoadOptions, SamplingOptions, str]:
    settings = load_settings(app_paths().settings_file)
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
    ):
        if value is not None:
            settings = settings.with_value(key, value)  # the same validation as settings
    return (
        LoadOptions.from_settings(settings),
        SamplingOptions.from_settings(settings),
        settings.system_prompt,
    )


def run(args: argparse.Namespace) -> int:
    if args.claude:
        return run_claude(args)
    if not args.model:
        print("hearth chat: --model PATH is required (or --claude)", file=sys.stderr)
        return 2
    load_options, sampling, system_prompt = _options(args)
    engine = EngineProcess(on_notice=lambda words: print(f"hearth: {words}", file=sys.stderr))
    try:
        return _chat_with(engine, args, load_options, sampling, system_prompt)
    finally:
        engine.close()


def _chat_with(
    engine: EngineProcess,
    args: argparse.Namespace,
    load_options: LoadOptions,
    sampling: SamplingOptions,
    system_prompt: str,
) -> int:
    model = engine.load(args.model, load_options)
    with contextlib.suppress(OSError, HearthError):  # "last used" in `hearth models`
        Library(models_dir=load_settings(app_paths().settings_file).models_folder()).mark_used(
            model.path
        )
    say = _Notices(quiet=args.quiet)
    if model.notice:
        say(f"note: {model.notice}")
    history = [Message("system", system_prompt)] if system_prompt else []
    if args.prompt is not None:
        history.append(Message("user", args.prompt))
        reply = _stream(engine, history, sampling, say)
        return _exit_code(reply)
    return _interactive(engine, history, sampling, say, model.name)


def _exit_code(reply: Reply) -> int:
    stats = reply.stats
    if stats is not None and stats.stop_reason is StopReason.CRASHED:
        return 1
    return 0 if stats and stats.stop_reason is not StopReason.USER else 130


class _Notices:
    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


def _interactive(
    engine: EngineProcess,
    history: list[Message],
    sampling: SamplingOptions,
    say: _Notices,
    name: str,
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
        history.append(Message("user", text))
        reply = _stream(engine, history, sampling, say)
        if reply.text:
            history.append(Message("assistant", reply.text))
        if _QuitRequested.flag:
            return 130


def _print_stream(pieces: Iterable[str], on_interrupt: Any) -> None:
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


class _QuitRequested:
    flag = False


def _stream(
    engine: EngineProcess, history: list[Message], sampling: SamplingOptions, say: _Notices
) -> Reply:
    reply = engine.chat(history, sampling)
    if reply.dropped_messages:
        say(
            f"note: the conversation no longer fits the context; the oldest "
            f"{reply.dropped_messages} messages were left out of this reply."
        )
    presses = 0

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        engine.stop()
        if presses > 1:
            _QuitRequested.flag = True

    _print_stream(reply, on_interrupt)
    stats = reply.stats
    if stats is not None:
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
        if stats.stop_reason is StopReason.CRASHED and stats.notice:
            print(f"hearth: {stats.notice}", file=sys.stderr, flush=True)
    return reply


# -- Claude (issue 6): `hearth chat --claude`, preview and confirm before each send -------


def run_claude(args: argparse.Namespace) -> int:
    """Chat with Claude: refused unless Claude is on; each turn is previewed and confirmed."""
    _load, sampling, system_prompt = _options(args)
    settings = load_settings(app_paths().settings_file)
    ensure_claude_allowed(settings)  # off or offline: nothing is sent
    key = KeyStore().load()
    client = ClaudeClient.from_settings(settings, api_key=key, model=args.claude_model)
    say = _Notices(quiet=args.quiet)
    history: list[Message] = []
    with client:
        if args.prompt is not None:
            history.append(Message("user", args.prompt))
            return _claude_turn(client, history, system_prompt, sampling, args, say)
        say(f"Chatting with {client.model} at {client.host}. Ctrl-D quits.")
        while True:
            try:
                text = input("> ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return 0
            if not text.strip():
                continue
            history.append(Message("user", text))
            try:
                _claude_turn(client, history, system_prompt, sampling, args, say)
            except CloudError as error:  # shown; the conversation goes on
                say(f"hearth: {error.describe()}")


def _claude_turn(
    client: ClaudeClient,
    history: list[Message],
    system_prompt: str,
    sampling: SamplingOptions,
    args: argparse.Namespace,
    say: _Notices,
) -> int:
    preview = build_preview(
        history,
        model=client.model,
        system=system_prompt or None,
        temperature=sampling.temperature,
        max_tokens=sampling.max_tokens,
        base_url=client.base_url,
    )
    if not args.yes:
        print(f"About to send {preview.summary()}:", file=sys.stderr)
        if preview.system:
            print(f"  [system] {preview.system}", file=sys.stderr)
        for message in preview.messages:
            print(f"  [{message.role}] {message.content}", file=sys.stderr)
        print("Send this to Anthropic? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            say("Not sent.")
            return 1
    reply = client.chat(preview.request)
    try:
        _print_stream(reply, lambda _s, _f: client.stop())
    finally:
        if reply.text:
            history.append(Message("assistant", reply.text))
        stats = reply.stats
        if stats is not None:
            ended = STOP_WORDS[stats.stop_reason] if stats.stop_reason else "incomplete"
            say(
                f"[{stats.model}, {stats.input_tokens} tokens in, "
                f"{stats.output_tokens} out, {ended}]"
            )
    return 0 if stats is not None and stats.stop_reason is not StopReason.USER else 130
