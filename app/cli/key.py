"""``hearth key``: the Anthropic API key, kept in the OS keychain.

``hearth key set`` reads the key from a hidden prompt, or from standard input when
that is not a terminal (``pass anthropic | hearth key set``); never from the command
line, where it would land in the shell history and the process list. ``hearth key
test`` makes one minimal request (a one-token reply) and says whether the key works;
``hearth key clear`` removes it; ``hearth key status`` says where it is kept.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from app.core.cloud import ClaudeClient, MissingKeyError, ensure_claude_allowed
from app.core.context import AppContext
from app.core.secrets import KeychainUnavailableError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "key",
        help="store, test or remove your Anthropic API key (for Claude)",
        description="Your Anthropic API key, kept in the OS keychain and nowhere else.",
    )
    actions = parser.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    store = actions.add_parser(
        "set",
        help="store the key (asked for with a hidden prompt, or read from standard input)",
        description="Store the key in the OS keychain. It is never taken from the command "
        "line: type it at the hidden prompt, or pipe it in.",
    )
    store.set_defaults(func=run_set)
    test = actions.add_parser("test", help="make one minimal request to check the key")
    test.add_argument("--model", help="Claude model to ask (default: from settings)")
    test.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    test.set_defaults(func=run_test)
    clear = actions.add_parser("clear", help="remove the key from the keychain")
    clear.set_defaults(func=run_clear)
    status = actions.add_parser("status", help="say whether a key is stored, and where")
    status.set_defaults(func=run_status)


def _read_key() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Anthropic API key (typing is hidden): ")
    return sys.stdin.readline()


def run_set(args: argparse.Namespace, context: AppContext) -> int:
    store = context.keys
    if not store.status.available:  # say so before the key is typed
        raise KeychainUnavailableError(
            f"Hearth cannot keep the key: {store.status.reason}.",
            hint="Hearth never writes the key to a file. Start your keychain (on Linux: "
            "GNOME Keyring or KWallet), or use the desktop app, which can keep the key "
            "for one session in memory.",
        )
    location = store.claude.save(_read_key())
    print(
        f"The key is stored in the {location} ({store.status.backend}). "
        "Check it with `hearth key test`.",
        file=sys.stderr,
    )
    return 0


def run_test(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.current
    ensure_claude_allowed(settings)
    key = context.keys.claude.load()
    if not key:
        raise MissingKeyError("There is no Anthropic API key in the keychain.")
    with ClaudeClient.from_settings(
        settings, api_key=key, model=args.model, timeout=args.timeout, max_retries=0
    ) as client:
        print(
            f"Sending one minimal request (the word 'Hi', a one-token reply) to "
            f"{client.model} at {client.host}...",
            file=sys.stderr,
        )
        check = client.test_key()
    print(f"The key works: {check.model} answered at {check.host}.")
    return 0


def run_clear(args: argparse.Namespace, context: AppContext) -> int:
    removed = context.keys.claude.clear()
    print("The key was removed." if removed else "No key was stored.", file=sys.stderr)
    return 0


def run_status(args: argparse.Namespace, context: AppContext) -> int:
    store = context.keys
    status = store.status
    if not status.available:
        print(f"No keychain: {status.reason}.")
        return 1
    where = store.claude.location()
    if where is None:
        print(f"No key is stored (keychain: {status.backend}).")
        return 1
    print(f"A key is stored in the {where} ({status.backend}).")
    return 0
