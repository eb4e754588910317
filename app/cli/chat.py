"""``hearth chat``: chat with a local model in the terminal.

With ``--prompt``, one reply is streamed to standard output and the command exits.
Without it, an interactive session: Ctrl-C stops a reply (not the program); Ctrl-C
at an empty prompt twice, or Ctrl-D, quits. Notices and figures go to standard error,
so standard output holds only the model's words.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from app.core.engine import Engine, LoadOptions, Message, Reply, SamplingOptions, StopReason
from app.core.paths import app_paths
from app.core.settings import KV_CACHE_CHOICES, load_settings

STOP_WORDS = {
    StopReason.END_OF_TEXT: "end of text",
    StopReason.LENGTH: "length limit",
    StopReason.USER: "stopped",
    StopReason.CONTEXT: "context full",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with a local GGUF model",
        description="Chat with a local GGUF model. Options default to your settings "
        "(`hearth config list`).",
    )
    parser.add_argument("--model", required=True, help="path of a .gguf file")
    parser.add_argument("--prompt", help="send one message, print the reply and exit")
    parser.add_argument("--system", help="system prompt (default: from settings)")
    load = parser.add_argument_group("loading")
    load.add_argument("--context", type=int, help="context length in tokens")
    load.add_argument("--gpu-layers", type=int, help="layers to offload to the GPU (-1: all)")
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
    load_options, sampling, system_prompt = _options(args)
    engine = Engine()
    model = engine.load(args.model, load_options)
    say = _Notices(quiet=args.quiet)
    if model.notice:
        say(f"note: {model.notice}")
    history = [Message("system", system_prompt)] if system_prompt else []
    try:
        if args.prompt is not None:
            history.append(Message("user", args.prompt))
            reply = _stream(engine, history, sampling, say)
            return 0 if reply.stats and reply.stats.stop_reason is not StopReason.USER else 130
        return _interactive(engine, history, sampling, say, model.name)
    finally:
        engine.close()


class _Notices:
    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


def _interactive(
    engine: Engine, history: list[Message], sampling: SamplingOptions, say: _Notices, name: str
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


class _QuitRequested:
    flag = False


def _stream(
    engine: Engine, history: list[Message], sampling: SamplingOptions, say: _Notices
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

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        for piece in reply:
            sys.stdout.write(piece)
            sys.stdout.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
    sys.stdout.write("\n")
    sys.stdout.flush()
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
    return reply
