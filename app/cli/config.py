"""``hearth config``: read and change the settings file the desktop app uses.

``list [--json]`` shows every setting with its value, default and one-line help;
``get KEY`` prints one value (plain, for scripts); ``set KEY VALUE`` validates and
saves; ``reset KEY`` puts a setting back to its default; ``path`` prints the file.
An unknown key or a bad value exits with status 2 and says what is allowed.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from typing import Any

from app.core.context import AppContext
from app.core.settings import Settings, SettingsError

EXIT_USAGE = 2
_VALUE_WIDTH = 32


def register(subparsers: Any) -> None:
    """Add ``config`` and its actions to the ``hearth`` parser."""
    parser = subparsers.add_parser(
        "config",
        help="read or change settings",
        description="Read or change Hearth's settings (the same file the desktop app uses).",
    )
    actions = parser.add_subparsers(dest="config_action", required=True)
    listing = actions.add_parser("list", help="every setting, its value, default and help")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    get = actions.add_parser("get", help="print one setting's value")
    get.add_argument("key", metavar="KEY")
    change = actions.add_parser("set", help="change a setting (validated)")
    change.add_argument("key", metavar="KEY")
    change.add_argument("value", metavar="VALUE")
    reset = actions.add_parser("reset", help="put a setting back to its default")
    reset.add_argument("key", metavar="KEY")
    actions.add_parser("path", help="print where the settings file is")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: AppContext) -> int:
    """Carry out one ``hearth config`` action; returns the exit status."""
    file = context.paths.settings_file
    action: str = args.config_action
    if action == "path":
        print(file)
        return 0
    keys = Settings.keys()
    if action in ("get", "set", "reset") and args.key not in keys:
        return _unknown_key(args.key)
    store = context.settings  # a damaged file raises SettingsError: exit 1, file kept
    settings = store.current
    if action == "list":
        _print_list(settings, as_json=args.json)
        return 0
    if action == "get":
        print(_plain(settings.get(args.key)))
        return 0
    old = settings.get(args.key)
    new_value = Settings().get(args.key) if action == "reset" else args.value
    try:
        store.set(args.key, new_value)
    except SettingsError as error:
        print(f"hearth: {error}\n{_allowed(args.key)}", file=sys.stderr)
        return EXIT_USAGE
    value = store.current.get(args.key)
    was = "" if value == old else f" (was {_shown(old)})"
    print(f"{args.key} = {_shown(value)}{was}")
    return 0


def _unknown_key(key: str) -> int:
    keys = Settings.keys()
    close = difflib.get_close_matches(key, keys, n=1)
    suggestion = f" Did you mean {close[0]}?" if close else ""
    print(
        f"hearth: there is no setting called {key!r}.{suggestion}\nSettings: {', '.join(keys)}.",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _allowed(key: str) -> str:
    """What ``key`` accepts, in words."""
    choices = Settings.choices(key)
    if choices:
        return "Allowed values: " + ", ".join(str(c) for c in choices) + "."
    default = Settings().get(key)
    if isinstance(default, bool):
        return "Allowed values: true, false (also on/off, yes/no, 1/0)."
    if isinstance(default, int | float):
        kind = "a whole number" if isinstance(default, int) else "a number"
        meta = next(f.metadata for f in dataclasses.fields(Settings) if f.name == key)
        return f"Allowed values: {kind} from {meta['lo']} to {meta['hi']}."
    return "Allowed values: any text."


def _print_list(settings: Settings, *, as_json: bool) -> None:
    defaults = Settings()
    keys = Settings.keys()
    rows = [
        {
            "key": key,
            "value": _jsonable(settings.get(key)),
            "default": _jsonable(defaults.get(key)),
            "help": Settings.describe(key),
            "choices": list(Settings.choices(key)),
        }
        for key in keys
    ]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(key) for key in keys) + 2
    print(f"  {'KEY':<{width}}{'VALUE':<{_VALUE_WIDTH + 2}}DEFAULT")
    for row in rows:
        changed = "*" if row["value"] != row["default"] else " "
        value = _clip(_shown(row["value"]))
        print(f"{changed} {row['key']:<{width}}{value:<{_VALUE_WIDTH + 2}}{_shown(row['default'])}")
        print(f"    {row['help']}")
    print("\n* changed from the default. Change one with `hearth config set KEY VALUE`.")


def _jsonable(value: Any) -> Any:
    """A setting's value as JSON holds it (the remote servers: a list of objects)."""
    if isinstance(value, tuple):
        return [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
    return value


def _plain(value: Any) -> str:
    """A value as a script wants it: text as is, booleans as true/false, lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def _shown(value: Any) -> str:
    """A value as a person reads it in a table: text quoted, so empty text is visible."""
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _clip(text: str) -> str:
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"
