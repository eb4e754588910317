"""``hearth remote``: OpenAI-compatible servers on your other computers.

``add NAME URL [--token-stdin] [--allow]`` adds one (the token is read from standard
input, never from the command line, and kept in the OS keychain); ``list`` shows them,
where they are and whether you allowed sending conversations there; ``models NAME``
asks the server for its models (a connection test); ``allow NAME`` / ``deny NAME``
record your opt-in; ``remove NAME`` forgets the server and its token. Chat with one:
``hearth chat --remote NAME --model M``.

A server on 127.0.0.1, ::1 or localhost is this computer: nothing leaves it. Any other
address counts as leaving the machine: offline mode blocks it, and a conversation goes
there only once allowed, after the same preview as Claude's.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.core.cloud import (
    RemoteClient,
    add_remote,
    allow_remote,
    find_remote,
    leaves_machine,
    remove_remote,
)
from app.core.context import AppContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "remote",
        help="use models on your other computers (OpenAI-compatible servers)",
        description="OpenAI-compatible servers on your other computers: another Hearth, "
        "llama.cpp's server, vLLM, Ollama, LM Studio.",
    )
    actions = parser.add_subparsers(dest="remote_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a server by its URL")
    add.add_argument("name", metavar="NAME")
    add.add_argument("url", metavar="URL", help="e.g. http://192.168.1.20:8080/v1")
    add.add_argument(
        "--token-stdin",
        action="store_true",
        help="read the server's token from standard input (kept in the keychain)",
    )
    add.add_argument(
        "--allow",
        action="store_true",
        help="allow sending conversations there (for a server on another computer)",
    )
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="the servers, and where they are")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(func=run_list)
    models = actions.add_parser("models", help="ask a server for its models")
    models.add_argument("name", metavar="NAME")
    models.add_argument("--timeout", type=float, default=15.0, help="seconds to wait")
    models.set_defaults(func=run_models)
    for action, allowed, text in (
        ("allow", True, "allow sending conversations to a server"),
        ("deny", False, "no longer send conversations to a server"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(func=run_allow, allowed=allowed)
    remove = actions.add_parser("remove", help="forget a server and its token")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=run_remove)


def _where(url: str) -> str:
    return "another computer" if leaves_machine(url) else "this computer"


def run_add(args: argparse.Namespace, context: AppContext) -> int:
    token = sys.stdin.readline().strip() if args.token_stdin else None
    if args.token_stdin and not token:
        print("hearth remote add: --token-stdin read no token", file=sys.stderr)
        return 2
    remote = add_remote(
        context.settings,
        context.keys,
        name=args.name,
        url=args.url,
        token=token,
        allowed=args.allow,
    )
    print(f"Added {remote.name} at {remote.url} ({_where(remote.url)}).", file=sys.stderr)
    if not leaves_machine(remote.url):
        print("It is on this computer: nothing you send there leaves it.", file=sys.stderr)
    elif not remote.allowed:
        print(
            f"It is on another computer: conversations go there only after "
            f"`hearth remote allow {remote.name}`, and after a preview.",
            file=sys.stderr,
        )
    return 0


def run_list(args: argparse.Namespace, context: AppContext) -> int:
    remotes = context.current.remotes
    rows = [
        {
            "name": r.name,
            "url": r.url,
            "leaves_machine": leaves_machine(r.url),
            "allowed": r.allowed,
            "token": context.keys.remote_token(r.name).location() is not None,
        }
        for r in remotes
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No remote servers yet: `hearth remote add NAME URL`.", file=sys.stderr)
        return 0
    for row in rows:
        if not row["leaves_machine"]:
            state = "this computer (nothing leaves it)"
        else:
            state = "another computer, " + ("allowed" if row["allowed"] else "not allowed yet")
        token = "token in keychain" if row["token"] else "no token"
        print(f"{row['name']}\t{row['url']}\t{state}\t{token}")
    return 0


def run_models(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.current
    remote = find_remote(settings, args.name)
    token = context.keys.remote_token(remote.name).load()
    with RemoteClient.for_remote(
        settings, remote, token=token, chat=False, timeout=args.timeout
    ) as client:
        models = client.models()
    if not models:
        print(f"{remote.name} answered, but offers no models.", file=sys.stderr)
        return 1
    for model in models:
        print(model)
    return 0


def run_allow(args: argparse.Namespace, context: AppContext) -> int:
    remote = allow_remote(context.settings, args.name, args.allowed)
    if args.allowed:
        print(f"Conversations may go to {remote.name}, after a preview.", file=sys.stderr)
    else:
        print(f"Nothing more is sent to {remote.name}.", file=sys.stderr)
    return 0


def run_remove(args: argparse.Namespace, context: AppContext) -> int:
    remote = remove_remote(context.settings, context.keys, args.name)
    print(f"Removed {remote.name} and its token.", file=sys.stderr)
    return 0
