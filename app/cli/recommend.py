"""``hearth recommend REPO_OR_PATH [--context N] [--json]``: which file to use here.

A local GGUF file or a folder of them works offline; a Hub repository id is read with
range requests (headers only, nothing downloaded) through the context's Hub client:
offline mode refuses it, the Hugging Face token is sent, ``HF_ENDPOINT`` is honoured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from app.core.advisor import ModelFile, Recommendation, advise
from app.core.context import AppContext
from app.core.documents import embedding_memory_in_use
from app.core.errors import ModelNotFoundError
from app.core.gguf import read_header
from app.core.inference import detect_machine
from app.core.library import Hub, group_gguf_names, merge_split_headers, read_hub_models
from app.core.machine import CalibrationStore, calibration_key
from app.core.units import format_bytes


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recommend", help="say which quantization of a model to use on this computer"
    )
    parser.add_argument(
        "source", metavar="REPO_OR_PATH", help="a Hub repo id, a .gguf file or a folder"
    )
    parser.add_argument("--context", type=int, default=4096, help="wanted context length (tokens)")
    parser.add_argument("--quant", default="auto", help="preferred quantization (default: auto)")
    parser.add_argument("--revision", help="Hub revision: a branch, tag or commit (default: main)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.set_defaults(func=run)


def local_files(source: Path) -> tuple[list[ModelFile], tuple[str, ...]]:
    """Model files at a local path (one file, or every GGUF model in a folder); and
    notes on files left out."""
    if os.path.isdir(source):
        found = sorted(str(p) for p in source.glob("*.gguf"))
        models, incomplete = group_gguf_names(found)
    else:
        # Anything but a folder goes to the header reader, which says what is wrong with
        # it (a pipe, a name too long, a loop of links).
        models, incomplete = [(source.stem, (str(source),))], []
    notes = tuple(f"{name} is missing parts in {source}; left out." for name in incomplete)
    files: list[ModelFile] = []
    for name, parts in models:
        header = merge_split_headers([read_header(part) for part in parts])
        files.append(
            ModelFile(
                name=Path(parts[0]).name if len(parts) == 1 else f"{name}.gguf",
                quant=header.quantization,
                size_bytes=header.file_size or 0,
                header=header,
            )
        )
    return files, notes


def remote_files(
    hub: Hub, repo_id: str, *, revision: str | None
) -> tuple[list[ModelFile], tuple[str, ...]]:
    """Model files of a Hub repository, headers read by range requests; and notes on
    files left out."""
    found = read_hub_models(hub, repo_id, revision=revision)
    files = [
        ModelFile(name=m.name, quant=m.header.quantization, size_bytes=m.size, header=m.header)
        for m in found.models
    ]
    return files, found.notes


def to_dict(result: Recommendation) -> dict[str, Any]:
    """The recommendation as JSON-ready data."""
    return {
        "context_length": result.context_length,
        "preference": result.preference,
        "headroom": {
            "ram": result.headroom.ram,
            "gpu": result.headroom.gpu,
            "embedding": result.headroom.embedding,
        },
        "note": result.note,
        "files": [
            {
                "name": a.file.name,
                "quant": a.file.quant,
                "size": a.file.size_bytes,
                "verdict": a.verdict.value,
                "gpu_layers": a.gpu_layers,
                "total_layers": a.total_layers,
                "max_context": a.max_context,
                "gpu_bytes": a.estimate.gpu_bytes,
                "ram_bytes": a.estimate.ram_required_bytes,
                "quality_loss_ppl": a.quality.ppl_increase if a.quality else None,
                "quality_loss_label": a.quality.label if a.quality else None,
                "tokens_per_second": a.tokens_per_second,
                "recommended": a.recommended,
                "approximate": a.approximate,
                "sentence": a.sentence,
            }
            for a in result.advice
        ],
    }


def run(args: argparse.Namespace, context: AppContext) -> int:
    profile = detect_machine(models_dir=context.models_folder)
    # Files already run here show their measured speed; others are corrected by this
    # machine's measured / estimated ratio. (First: the first call probes the memory
    # bandwidth for 0.2 s, which must not hold a Hub connection open.)
    speed = CalibrationStore().speed_calibration(calibration_key(profile))
    source = Path(args.source).expanduser()
    if os.path.lexists(source) or args.source.startswith((".", "/", "~")):
        files, notes = local_files(source)
    elif "/" in args.source and not args.source.startswith((".", "/", "~")):
        files, notes = remote_files(context.hub, args.source, revision=args.revision)
    else:
        raise ModelNotFoundError(f"{args.source} is neither a file, a folder nor a Hub repo id.")
    for note in notes:
        print(f"hearth: {note}", file=sys.stderr)
    if not files:
        raise ModelNotFoundError(f"No GGUF model files at {args.source}.")
    result = advise(
        files,
        profile,
        context_length=args.context,
        preference=args.quant,
        speed=speed,
        embedding_bytes=embedding_memory_in_use(context.current),  # local documents' model
    )
    if args.json:
        print(json.dumps(to_dict(result), indent=2))
        return 0
    print(
        f"{'':2}{'file':<44}{'size':>9}  {'runs':<18}{'max ctx':>9}  "
        f"{'quality loss':<13}{'speed':>9}"
    )
    for a in result.advice:
        mark = "* " if a.recommended else "  "
        runs = {
            "full_gpu": "fully on GPU",
            "partial": f"GPU {a.gpu_layers}/{a.total_layers} layers",
            "cpu_only": "CPU only",
            "no_fit": "does not fit",
        }[a.verdict.value]
        quality = a.quality.label if a.quality else "unknown"
        rate = f"~{a.tokens_per_second:.0f} tok/s" if a.tokens_per_second else ""
        print(
            f"{mark}{a.file.name[:43]:<44}{format_bytes(a.file.size_bytes):>9}  {runs:<18}"
            f"{a.max_context:>9,}  {quality:<13}{rate:>9}"
        )
    print()
    for a in result.advice:
        print(f"{'* ' if a.recommended else '  '}{a.file.name}: {a.sentence}")
    if result.note:
        print(result.note)
    print(f"Speeds are rough. {result.headroom.describe()}.")
    return 0
