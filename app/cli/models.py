"""The model library from a terminal.

- ``hearth models [--json] [--catalog]``: installed models (or the curated catalog);
- ``hearth search TEXT [--json] [--limit N]``: the catalog, then GGUF repositories on
  Hugging Face;
- ``hearth pull MODEL [--quant Q | --file NAME] [--list]``: download a catalog model
  (by id or name) or any ``owner/repo``, with a progress bar. Without ``--quant`` or
  ``--file``, a catalog model gets the hardware advisor's choice for this computer;
  another repository gets the ``quantization`` setting, else Q4_K_M. Ctrl-C pauses:
  the bytes so far are kept and the same command continues;
- ``hearth rm NAME``: delete an installed model (a referenced one is only forgotten);
- ``hearth import PATH [--reference]``: add a ``.gguf`` you already have;
- ``hearth token set|clear|status``: the Hugging Face token for gated models, kept
  only in the system keychain;
- ``hearth models --catalog --refresh``: exact sizes and hashes from the Hub, cached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from app.core.context import AppContext
from app.core.inference import detect_machine
from app.core.library import (
    DownloadProgress,
    DownloadState,
    HubUnavailableError,
    ImportMode,
    OfflineError,
    check_repo_id,
    choose_quant,
)
from app.core.secrets import KeychainUnavailableError
from app.core.units import format_bytes

EXIT_PAUSED = 130


def register(subparsers: Any) -> None:
    """Add ``models``, ``search``, ``pull``, ``rm`` and ``import``."""
    models = subparsers.add_parser("models", help="list installed models")
    models.add_argument("--json", action="store_true", help="print JSON for scripts")
    models.add_argument(
        "--catalog", action="store_true", help="list Hearth's curated catalog instead"
    )
    models.add_argument(
        "--refresh",
        action="store_true",
        help="with --catalog: first take exact sizes and hashes from Hugging Face",
    )
    models.set_defaults(func=run_models)

    search = subparsers.add_parser("search", help="find GGUF models (catalog and Hugging Face)")
    search.add_argument("text", metavar="TEXT")
    search.add_argument("--limit", type=int, default=20, help="most Hub results to show")
    search.add_argument("--json", action="store_true", help="print JSON for scripts")
    search.set_defaults(func=run_search)

    pull = subparsers.add_parser("pull", help="download a model (resumable, verified)")
    pull.add_argument("model", metavar="MODEL", help="a catalog id or name, or owner/repo")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--quant", help="quantization to download, e.g. Q4_K_M")
    which.add_argument("--file", help="exact file name in the repository")
    which.add_argument("--list", action="store_true", help="list the GGUF files and stop")
    pull.set_defaults(func=run_pull)

    remove = subparsers.add_parser("rm", help="delete an installed model")
    remove.add_argument("name", metavar="NAME", help="its name or path from `hearth models`")
    remove.set_defaults(func=run_rm)

    add = subparsers.add_parser("import", help="add a .gguf file you already have")
    add.add_argument("path", metavar="PATH")
    add.add_argument(
        "--reference",
        action="store_true",
        help="use the file where it is instead of copying it into Hearth's models folder",
    )
    add.set_defaults(func=run_import)

    token = subparsers.add_parser(
        "token", help="the Hugging Face token for gated models (kept in the system keychain)"
    )
    token.add_argument("action", choices=("set", "clear", "status"))
    token.set_defaults(func=run_token)


# -- shared ----------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# -- hearth models ---------------------------------------------------------------------


def run_models(args: argparse.Namespace, context: AppContext) -> int:
    if args.catalog:
        catalog = context.catalog()
        if args.refresh:
            report = context.refresh_catalog()
            catalog = report.catalog
            for repo, why in report.failed.items():
                print(f"hearth: kept the catalog's sizes for {repo}: {why}", file=sys.stderr)
        rows = [
            {
                "id": m.id,
                "name": m.name,
                "repo": m.repo,
                "parameters": m.parameters,
                "license": m.license,
                "quants": {q: m.files[q].size for q in m.quants},
                "sizes_exact": all(f.exact for f in m.files.values()),
                "description": m.description,
            }
            for m in catalog
        ]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for m in catalog:
            q4 = m.files.get("Q4_K_M")
            size = f"{format_bytes(q4.size)} at Q4_K_M" if q4 else ""
            print(f"{m.id:30} {m.parameters / 1e9:5.1f}B  {size:20} {m.description}")
        return 0
    models = context.library().installed()
    if args.json:
        print(json.dumps([item.to_dict() for item in models], indent=2))
        return 0
    if not models:
        print("No models installed. `hearth models --catalog` lists good ones to `hearth pull`.")
        return 0
    print(f"{'NAME':40} {'QUANT':8} {'SIZE':>9}  {'LAST USED':16} WHERE")
    for item in models:
        used = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(item.last_used))
            if item.last_used
            else "never"
        )
        where = str(item.path) + ("  (referenced)" if item.referenced else "")
        print(
            f"{item.name:40} {item.quant or '?':8} {format_bytes(item.size):>9}  {used:16} {where}"
        )
        if item.problem:
            print(f"    ! {item.problem}")
    return 0


# -- hearth search ---------------------------------------------------------------------


def run_search(args: argparse.Namespace, context: AppContext) -> int:
    curated = context.catalog().search(args.text)
    hub = context.hub
    error: OfflineError | HubUnavailableError | None = None
    try:
        found = hub.search(args.text, limit=args.limit)
    except (OfflineError, HubUnavailableError) as unreachable:
        if not curated:  # the catalog's hits are shown whatever the network does
            raise
        found, error = [], unreachable
    if args.json:
        print(
            json.dumps(
                {
                    "catalog": [{"id": m.id, "repo": m.repo, "name": m.name} for m in curated],
                    "hub": [
                        {
                            "repo": r.repo_id,
                            "downloads": r.downloads,
                            "likes": r.likes,
                            "gated": r.gated,
                        }
                        for r in found
                    ],
                },
                indent=2,
            )
        )
    else:
        if curated:
            print("In Hearth's catalog:")
            for m in curated:
                print(f"  {m.id:30} {m.repo}")
        if error is not None:
            print(f"\n{error.describe()}", file=sys.stderr)
        elif found:
            print("On Hugging Face:")
            for r in found:
                gated = "  (gated: needs a token)" if r.gated else ""
                print(f"  {r.repo_id:60} {r.downloads:>10,} downloads{gated}")
        elif not curated:
            print(f"No GGUF repositories match {args.text!r}.")
    return 0


# -- hearth pull -----------------------------------------------------------------------


class ProgressBar:
    """Draws a download's progress on one terminal line (or a few lines when piped)."""

    def __init__(self, out: TextIO, *, width: int = 28) -> None:
        self.out = out
        self.width = width
        self.tty = out.isatty()
        self._last_tenth = -1

    def __call__(self, p: DownloadProgress) -> None:
        if p.state is DownloadState.RUNNING:
            tenth = int(p.fraction * 10)
            if self.tty or tenth != self._last_tenth:
                self._last_tenth = tenth
                self._draw(p)
        elif p.state is DownloadState.VERIFYING:
            self._draw(p)  # the bar at 100%, however fast the last bytes came
            self.out.write(
                ("\n" if self.tty else "") + "Checking the SHA-256 and the GGUF header…\n"
            )
        self.out.flush()

    def _draw(self, p: DownloadProgress) -> None:
        filled = int(p.fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        speed = f"{format_bytes(p.speed_bps)}/s" if p.speed_bps else "…"
        line = (
            f"{p.fraction:4.0%} [{bar}] {format_bytes(p.done_bytes)} / "
            f"{format_bytes(p.total_bytes)}  {speed}  {_duration(p.eta_s)} left"
        )
        self.out.write(("\r" + line + "  ") if self.tty else line + "\n")


def run_pull(args: argparse.Namespace, context: AppContext) -> int:
    settings = context.current
    hub = context.hub
    model = context.catalog().find(args.model)
    repo = model.repo if model is not None else check_repo_id(args.model)
    hub.require_online(f"Downloading {args.model}")
    listing = hub.list_gguf(repo)
    for name in listing.rejected:
        print(f"hearth: ignoring the unsafe file name {name!r} in {repo}.", file=sys.stderr)
    for name in listing.incomplete:
        print(
            f"hearth: {name} is missing shards in {repo}; it cannot be downloaded.", file=sys.stderr
        )
    if args.list:
        for v in listing.variants:
            parts = f"  ({len(v.files)} parts)" if v.is_split else ""
            print(f"{v.quant or '?':8} {format_bytes(v.size):>9}  {v.files[0].path}{parts}")
        return 0
    if args.file:
        variant = listing.find(filename=args.file)
    elif args.quant:
        variant = listing.find(quant=args.quant)
    else:
        offered = [v.quant for v in listing.variants if v.quant]
        hardware = detect_machine(models_dir=context.models_folder) if model is not None else None
        choice = choose_quant(
            offered,
            model=model,
            preference=settings.quantization,
            context_length=settings.context_length,
            hardware=hardware,
        )
        print(f"Choosing {choice.quant}: {choice.reason}")
        variant = listing.find(quant=choice.quant)
    manager = context.downloads()
    existing = manager.installed_path(repo, variant)
    if existing is not None:
        print(f"{variant.name} is already installed: {existing}")
        return 0
    print(f"Downloading {variant.name} ({format_bytes(variant.size)}) from {repo}")
    task = manager.start(repo, variant, revision=listing.commit)
    task.subscribe(ProgressBar(sys.stderr))
    try:
        result = task.wait()
    except KeyboardInterrupt:
        task.pause()
        while task.state not in (DownloadState.PAUSED, *_FINISHED):
            time.sleep(0.05)
        print(
            f"\nPaused. {format_bytes(task.progress().done_bytes)} are kept; run the same "
            "command to continue.",
            file=sys.stderr,
        )
        return EXIT_PAUSED
    check = (
        "SHA-256 verified"
        if result.sha256_verified
        else "size checked; the Hub gave no SHA-256 to verify it against"
    )
    print(f"Installed {result.path} ({check}).")
    return 0


_FINISHED = (DownloadState.DONE, DownloadState.FAILED, DownloadState.CANCELLED)


# -- hearth rm, hearth import ----------------------------------------------------------


def run_rm(args: argparse.Namespace, context: AppContext) -> int:
    library = context.library()
    model = library.delete(args.name)
    if model.referenced:
        print(f"Forgot {model.name}; its file stays at {model.path}.")
    else:
        print(f"Deleted {model.name} ({format_bytes(model.size)}) from {model.path.parent}.")
    return 0


def run_import(args: argparse.Namespace, context: AppContext) -> int:
    library = context.library()
    mode = ImportMode.REFERENCE if args.reference else ImportMode.COPY
    model = library.import_file(args.path, mode=mode)
    how = "will be used where it is" if model.referenced else f"was copied to {model.path}"
    print(f"Imported {model.name} ({model.quant}, {format_bytes(model.size)}); it {how}.")
    return 0


# -- hearth token ----------------------------------------------------------------------


def run_token(args: argparse.Namespace, context: AppContext) -> int:
    keys = context.keys
    token = keys.hub_token
    if args.action == "set":
        import getpass

        if not keys.status.available:  # say so before the token is typed
            raise KeychainUnavailableError(
                f"Hearth cannot keep the Hugging Face token: {keys.status.reason}.",
                hint="Hearth keeps the token only in the system keychain, never in a file. "
                "Install or unlock one (GNOME Keyring, KWallet, macOS Keychain, Windows "
                "Credential Manager).",
            )
        value = (
            getpass.getpass("Hugging Face token (hidden): ")
            if sys.stdin.isatty()
            else sys.stdin.readline()
        )
        token.save(value)
        print(f"Stored the token in the system keychain ({keys.status.backend}).")
    elif args.action == "clear":
        removed = token.clear()
        print("Removed the token." if removed else "No token was stored.")
    else:
        print("A token is stored." if token.location() else "No token is stored.")
    return 0
