"""``hearth info PATH``: what a model file is, read from its header alone.

``--json`` prints one object with these fields: ``path``, ``file_name``,
``size_bytes``, ``gguf_version``, ``architecture``, ``name``, ``parameters``,
``quantization``, ``context_length``, ``layers``, ``embedding_length``,
``attention_heads``, ``kv_heads``, ``vocab_size``, ``tensor_count``,
``has_chat_template``. Unknown figures are ``null``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.core.context import AppContext
from app.core.gguf import GGUFHeader, read_header
from app.core.units import format_bytes


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "info", help="describe a GGUF model file", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("path", help="a .gguf file")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(func=run)


def describe(path: Path, header: GGUFHeader) -> dict[str, Any]:
    """The documented ``hearth info --json`` fields for a model file."""

    return {
        "path": str(path.resolve()),
        "file_name": path.name,
        "size_bytes": header.file_size,
        "gguf_version": header.version,
        "architecture": header.architecture,
        "name": header.name,
        "parameters": header.parameter_count,
        "quantization": header.quantization,
        "context_length": header.context_length,
        "layers": header.block_count,
        "embedding_length": header.embedding_length,
        "attention_heads": header.arch_count("attention.head_count"),
        "kv_heads": header.arch_count("attention.head_count_kv"),
        "vocab_size": header.vocab_size,
        "tensor_count": len(header.tensors),
        "has_chat_template": header.chat_template is not None,
    }


def _human(count: int | None) -> str:
    if count is None:
        return "unknown"
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _shown(text: str, limit: int = 120) -> str:
    """A header's text made safe for a terminal: no control characters, not too long."""
    safe = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def run(args: argparse.Namespace, context: AppContext) -> int:
    path = Path(args.path)
    info = describe(path, read_header(path))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    heads, kv_heads = info["attention_heads"], info["kv_heads"]
    rows = [
        ("File", _shown(info["file_name"])),
        ("Size", format_bytes(info["size_bytes"])),
        ("Architecture", _shown(info["architecture"])),
        ("Name", _shown(info["name"]) if info["name"] else "-"),
        ("Parameters", _human(info["parameters"])),
        ("Quantization", info["quantization"]),
        ("Trained context", f"{info['context_length']:,}" if info["context_length"] else "-"),
        ("Layers", info["layers"] or "-"),
        ("Width", info["embedding_length"] or "-"),
        ("Heads (KV)", f"{heads or '-'} ({kv_heads or '-'})"),
        ("Vocabulary", info["vocab_size"] or "-"),
        ("Chat template", "yes" if info["has_chat_template"] else "no (plain prompt format)"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0
