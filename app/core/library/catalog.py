"""The curated catalog: a dozen good instruct models, usable without the network.

``models/catalog.json`` (described in ``models/README.md``) lists for each model its
Hugging Face repository, the GGUF file of each quantization offered, its licence and
size, and the header figures the advisor needs (layers, width, heads, KV heads,
trained context, sliding window), so recommendations work offline.

The sizes in the file are the published ones, rounded. :func:`refresh_catalog`
replaces them with the Hub's exact sizes and SHA-256 and keeps the result in Hearth's
cache folder; :func:`load_catalog` applies that cache when it exists.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import HearthError, NotFoundError
from app.core.files import write_json_atomic
from app.core.library.hub import (
    GGUFVariant,
    Hub,
    HubError,
    HubFile,
    check_repo_id,
    check_repo_path,
    parse_quant,
    split_part,
)

if TYPE_CHECKING:  # the advisor is imported only when advice is asked for
    from app.core.advisor.advice import Advice, Recommendation
    from app.core.machine.hardware import HardwareProfile
    from app.core.machine.speed import SpeedCalibration

CATALOG_FILE = Path(__file__).resolve().parents[3] / "models" / "catalog.json"
REFRESH_FILE_NAME = "catalog-refresh.json"
CATALOG_VERSION = 1


class CatalogError(HearthError):
    hint = "Reinstall Hearth, or delete the catalog cache in Hearth's cache folder."


class UnknownModelError(CatalogError, NotFoundError):
    hint = "Run `hearth search TEXT` to find it on Hugging Face, or use its owner/name."


@dataclass(frozen=True, slots=True)
class ArchFigures:
    """The header figures memory estimates need, from the model's published config."""

    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    n_ctx_train: int
    n_ff: int | None = None
    n_vocab: int | None = None
    head_dim: int | None = None
    sliding_window: int | None = None

    @property
    def key_length(self) -> int:
        """Width of one attention head (``head_dim``, else ``n_embd / n_head``)."""
        return self.head_dim or self.n_embd // self.n_head


@dataclass(frozen=True, slots=True)
class CatalogFile:
    """The file (or the shards) of one quantization, with its size in bytes.

    ``exact`` is False for the catalog's rounded published sizes, True once refreshed
    from the Hub (which also gives ``sha256``).
    """

    quant: str
    files: tuple[str, ...]
    size: int
    exact: bool = False
    sha256: tuple[str | None, ...] = ()
    sizes: tuple[int, ...] = ()

    @property
    def filename(self) -> str:
        return self.files[0]


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One curated model."""

    id: str
    name: str
    repo: str
    license: str
    parameters: int
    architecture: str
    description: str
    arch: ArchFigures
    files: dict[str, CatalogFile] = field(default_factory=dict)
    kind: str = "chat"
    """``chat``, or ``embedding`` (for local documents: never offered as a chat model)."""

    @property
    def quants(self) -> list[str]:
        """Quantizations offered, smallest file first."""
        return sorted(self.files, key=lambda q: self.files[q].size)

    def file(self, quant: str) -> CatalogFile:
        """The file of ``quant``; :class:`UnknownModelError` naming those offered."""
        for key, value in self.files.items():
            if key.upper() == quant.upper():
                return value
        raise UnknownModelError(
            f"The catalog offers {self.name} as {', '.join(self.quants)}, not {quant}.",
            hint="Pick one of those, or `--file NAME` for another file of the repository.",
        )

    def variant(self, quant: str) -> GGUFVariant:
        """The download for ``quant``: what ``DownloadManager`` takes.

        SHA-256 values come from the refreshed cache when known; otherwise the download
        takes them from the Hub's headers.
        """
        entry = self.file(quant)
        count = len(entry.files)
        hashes = entry.sha256 or (None,) * count
        # Until a refresh gives each shard's size, the total is shared out evenly.
        sizes = entry.sizes or tuple(_split_evenly(entry.size, count))
        files = tuple(
            HubFile(path=name, size=sizes[i], sha256=hashes[i])
            for i, name in enumerate(entry.files)
        )
        split = split_part(Path(entry.files[0]).name)
        stem = split[0] if split else Path(entry.files[0]).name.removesuffix(".gguf")
        return GGUFVariant(name=stem, quant=entry.quant, files=files)


def _split_evenly(total: int, parts: int) -> list[int]:
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every curated chat model, in the file's order (smallest first), and the embedding models.

    Iterating gives the chat models only; ``find`` and ``get`` know both kinds, so
    ``hearth pull all-minilm-l6-v2`` downloads an embedding model like any other.
    """

    models: tuple[CatalogModel, ...]
    refreshed_at: float | None = None
    embedding: tuple[CatalogModel, ...] = ()

    def __iter__(self) -> Iterator[CatalogModel]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def find(self, key: str) -> CatalogModel | None:
        """The model whose id, name or repository is ``key`` (any case), or None."""
        wanted = key.strip().lower()
        for model in (*self.models, *self.embedding):
            if wanted in (model.id.lower(), model.name.lower(), model.repo.lower()):
                return model
        return None

    def search(self, text: str) -> list[CatalogModel]:
        """Chat models whose id, name or repository contains ``text`` (any case): what a
        search finds without the network."""
        wanted = text.strip().lower()
        if not wanted:
            return []
        return [
            m
            for m in self.models
            if wanted in m.id.lower() or wanted in m.name.lower() or wanted in m.repo.lower()
        ]

    def get(self, key: str) -> CatalogModel:
        """Like :meth:`find`, but :class:`UnknownModelError` when there is none."""
        model = self.find(key)
        if model is None:
            raise UnknownModelError(f"The catalog has no model called {key!r}.")
        return model


# ------------------------------------------------------------------------------------
# Loading


def load_catalog(
    *, path: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> Catalog:
    """The catalog from ``path`` (default: the bundled one), with refreshed sizes applied
    from ``cache_dir`` when a refresh is cached there."""
    source = Path(path) if path is not None else CATALOG_FILE
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogError(f"The model catalog {source} cannot be read: {error}.") from None
    catalog = parse_catalog(data, source=str(source))
    if cache_dir is not None:
        catalog = _apply_refresh(catalog, Path(cache_dir) / REFRESH_FILE_NAME)
    return catalog


def parse_catalog(data: Any, *, source: str = "catalog") -> Catalog:
    """Check and convert the catalog's JSON; :class:`CatalogError` names what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise CatalogError(f"{source} does not hold a model catalog.")
    if data.get("version") != CATALOG_VERSION:
        raise CatalogError(f"{source} has format {data.get('version')!r}, not {CATALOG_VERSION}.")
    models = []
    for index, item in enumerate(data["models"]):
        where = f"{source}, model {index + 1}"
        try:
            models.append(_parse_model(item))
        except (KeyError, TypeError, ValueError, HubError) as error:
            raise CatalogError(f"{where} is malformed: {error!r}.") from None
    ids = [m.id for m in models]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{source} lists a model id twice.")
    return Catalog(
        models=tuple(m for m in models if m.kind == "chat"),
        embedding=tuple(m for m in models if m.kind == "embedding"),
    )


def _parse_model(item: dict[str, Any]) -> CatalogModel:
    header = item["header"]
    arch = ArchFigures(
        n_layer=_positive(header["n_layer"]),
        n_embd=_positive(header["n_embd"]),
        n_head=_positive(header["n_head"]),
        n_head_kv=_positive(header["n_head_kv"]),
        n_ctx_train=_positive(header["n_ctx_train"]),
        n_ff=_optional(header.get("n_ff")),
        n_vocab=_optional(header.get("n_vocab")),
        head_dim=_optional(header.get("head_dim")),
        sliding_window=_optional(header.get("sliding_window")),
    )
    if arch.n_head % arch.n_head_kv:
        raise ValueError("n_head must be a multiple of n_head_kv")
    files: dict[str, CatalogFile] = {}
    for quant, entry in item["files"].items():
        names = tuple(entry["files"]) if "files" in entry else (entry["file"],)
        for name in names:
            check_repo_path(name)
            if parse_quant(name) != quant:
                raise ValueError(f"file {name} does not look like {quant}")
        files[quant] = CatalogFile(quant=quant, files=names, size=_positive(entry["size"]))
    if not files:
        raise ValueError("no files")
    kind = str(item.get("kind", "chat"))
    if kind not in ("chat", "embedding"):
        raise ValueError(f"kind must be chat or embedding, not {kind!r}")
    return CatalogModel(
        id=str(item["id"]),
        name=str(item["name"]),
        repo=check_repo_id(str(item["repo"])),
        license=str(item["license"]),
        parameters=_positive(item["parameters"]),
        architecture=str(item["architecture"]),
        description=str(item["description"]),
        arch=arch,
        files=files,
        kind=kind,
    )


def _positive(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{value!r} is not a positive whole number")
    return value


def _optional(value: Any) -> int | None:
    return None if value is None else _positive(value)


# ------------------------------------------------------------------------------------
# Refreshing from the Hub


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh did: the catalog it produced and the repositories it could not read."""

    catalog: Catalog
    updated: tuple[str, ...]
    failed: dict[str, str]


def refresh_catalog(
    catalog: Catalog, *, hub: Hub, cache_dir: str | os.PathLike[str]
) -> RefreshReport:
    """Exact sizes and SHA-256 of every catalog file from the Hub, cached in ``cache_dir``.

    A repository that cannot be read keeps its catalog figures and is named in
    ``failed``; in offline mode this raises :class:`~app.core.library.hub.OfflineError`.
    """
    hub.require_online("Refreshing the model catalog")
    cache = Path(cache_dir) / REFRESH_FILE_NAME
    record: dict[str, Any] = {"version": CATALOG_VERSION, "fetched_at": time.time(), "repos": {}}
    updated: list[str] = []
    failed: dict[str, str] = {}
    for model in (*catalog.models, *catalog.embedding):
        try:
            listing = hub.list_gguf(model.repo)
        except HubError as error:
            failed[model.repo] = str(error)
            continue
        by_path = {f.path: f for v in listing.variants for f in v.files}
        entries = {}
        for quant, entry in model.files.items():
            found = [by_path.get(name) for name in entry.files]
            if all(found):
                entries[quant] = {
                    "files": [f.path for f in found if f],
                    "sizes": [f.size for f in found if f],
                    "sha256": [f.sha256 for f in found if f],
                }
        record["repos"][model.repo] = entries
        updated.append(model.repo)
    write_json_atomic(cache, record, indent=1)
    return RefreshReport(
        catalog=_apply_refresh(catalog, cache), updated=tuple(updated), failed=failed
    )


def _apply_refresh(catalog: Catalog, cache: Path) -> Catalog:
    try:
        record = json.loads(cache.read_text(encoding="utf-8"))
        repos = record["repos"]
        fetched_at = float(record["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return catalog  # no refresh yet, or a damaged one: the bundled figures stand
    return Catalog(
        models=tuple(_refreshed(model, repos) for model in catalog.models),
        refreshed_at=fetched_at,
        embedding=tuple(_refreshed(model, repos) for model in catalog.embedding),
    )


def _refreshed(model: CatalogModel, repos: Any) -> CatalogModel:
    entries = repos.get(model.repo) if isinstance(repos, dict) else None
    files = dict(model.files)
    for quant, entry in (entries or {}).items():
        current = files.get(quant)
        try:
            sizes = [int(s) for s in entry["sizes"]]
            hashes = tuple(str(h) if h else None for h in entry["sha256"])
        except (KeyError, TypeError, ValueError):
            continue
        if current is None or tuple(entry["files"]) != current.files:
            continue
        files[quant] = replace(
            current, size=sum(sizes), exact=True, sha256=hashes, sizes=tuple(sizes)
        )
    return replace(model, files=files)


# ------------------------------------------------------------------------------------
# Which quantization to download


DEFAULT_QUANT = "Q4_K_M"
# Without advice: the usual best trade-off first, then bigger, then smaller files.
FALLBACK_ORDER = ("Q4_K_M", "Q5_K_M", "IQ4_XS", "Q6_K", "Q8_0", "Q3_K_M", "Q4_0", "Q2_K")


class NothingFitsError(CatalogError):
    hint = (
        "Pick a smaller model, or name a file with --quant to download it anyway "
        "(it will not run well here)."
    )


@dataclass(frozen=True, slots=True)
class QuantChoice:
    """The quantization to download and why, in a sentence for the user."""

    quant: str
    reason: str
    advised: bool


def choose_quant(
    offered: list[str],
    *,
    model: CatalogModel | None = None,
    preference: str = "auto",
    context_length: int = 4096,
    hardware: HardwareProfile | None = None,
    advise_fn: Callable[[CatalogModel, list[str], str, int], tuple[str | None, str]] | None = None,
) -> QuantChoice:
    """Pick one of ``offered`` for this computer.

    For a catalog ``model`` the hardware advisor decides for ``hardware`` (this
    computer's profile; :func:`advise_catalog_model`, or ``advise_fn`` in tests). Otherwise the
    ``preference`` setting decides if it is offered, else Q4_K_M (Hearth's default:
    the usual best balance of size and quality), else the next of ``FALLBACK_ORDER``.
    The reason always says which of these happened.
    """
    upper = {q.upper(): q for q in offered}
    if not upper:
        raise UnknownModelError("The repository offers no GGUF file.")
    note = ""
    if model is not None and model.kind == "embedding":
        # Small enough for any computer; the first file listed is the one Hearth tests.
        wanted = preference.upper()
        if wanted != "AUTO" and wanted in upper:
            return QuantChoice(upper[wanted], "your quantization setting", False)
        first = next((q for q in model.files if q.upper() in upper), sorted(upper)[0])
        return QuantChoice(
            upper[first.upper()], "the catalog's file for this embedding model", False
        )
    if model is not None:
        if advise_fn is None:
            from app.core.machine.hardware import detect_hardware

            profile = hardware if hardware is not None else detect_hardware()
            quant, sentence = advise_catalog_model(
                model, offered, preference, context_length, hardware=profile
            )
        else:
            quant, sentence = advise_fn(model, offered, preference, context_length)
        if quant is None:
            raise NothingFitsError(sentence or f"No file of {model.name} fits here.")
        if quant.upper() in upper:
            return QuantChoice(upper[quant.upper()], f"advised for this computer: {sentence}", True)
        note = f" (the advisor chose {quant}, which the repository does not offer)"
    wanted = preference.upper()
    if wanted != "AUTO" and wanted in upper:
        return QuantChoice(upper[wanted], f"your quantization setting{note}", False)
    for quant in FALLBACK_ORDER:
        if quant in upper:
            why = (
                "Hearth's default" if quant == DEFAULT_QUANT else f"{DEFAULT_QUANT} is not offered"
            )
            return QuantChoice(upper[quant], f"{why}{note}", False)
    first = sorted(upper)[0]
    return QuantChoice(upper[first], f"the only kind of file offered{note}", False)


def advise_catalog_model(
    model: CatalogModel,
    offered: list[str],
    preference: str,
    context_length: int,
    *,
    hardware: HardwareProfile,
) -> tuple[str | None, str]:
    """The advisor's quantization for ``model`` on this computer, and its sentence.

    Built from the catalog's header figures and file sizes alone (no download, no
    network).
    """
    result = catalog_recommendation(
        model,
        hardware,
        preference=preference,
        context_length=context_length,
        quants=offered,
    )
    chosen = result.recommended
    if chosen is None:
        return None, result.note
    return chosen.file.quant, chosen.sentence


def catalog_recommendation(
    model: CatalogModel,
    profile: HardwareProfile,
    *,
    preference: str = "auto",
    context_length: int = 4096,
    quants: list[str] | None = None,
    speed: SpeedCalibration | None = None,
    embedding_bytes: int = 0,
) -> Recommendation:
    """The advisor's verdict on every file of ``model`` (or of ``quants``) on ``profile``.

    ``embedding_bytes`` is kept for the documents' embedding model (see :func:`advise`).

    From the catalog's header figures and file sizes alone: no download, no network.
    ``speed`` corrects the speed estimate by what replies measured on this machine.
    """
    offered = quants if quants is not None else model.quants
    from app.core.advisor.advice import ModelFile, ReferenceModel, advise, synthetic_header

    arch = model.arch
    usable = [q for q in offered if q in model.files]
    reference = ReferenceModel(
        model.name,
        model.architecture,
        arch.n_layer,
        arch.n_embd,
        arch.n_head,
        arch.n_head_kv,
        arch.n_ff or 4 * arch.n_embd,
        arch.n_vocab or 32000,
        False,  # untied output: counts the output matrix, the cautious choice
        arch.n_ctx_train,
        {q: model.files[q].size for q in usable},
    )
    files = []
    for quant in usable:
        header = synthetic_header(reference, quant)
        prefix = model.architecture
        if arch.head_dim is not None:
            header.metadata[f"{prefix}.attention.key_length"] = arch.head_dim
            header.metadata[f"{prefix}.attention.value_length"] = arch.head_dim
        if arch.sliding_window is not None:
            header.metadata[f"{prefix}.attention.sliding_window"] = arch.sliding_window
        files.append(ModelFile(f"{model.name} {quant}", quant, model.files[quant].size, header))
    return advise(
        files,
        profile,
        context_length=context_length,
        preference=preference,
        parameter_count=float(model.parameters),
        speed=speed,
        embedding_bytes=embedding_bytes,
    )


@dataclass(frozen=True, slots=True)
class FirstModel:
    """The catalog model to start with on this computer, and how its file runs here."""

    model: CatalogModel
    advice: Advice
    comfortable: bool
    """True when it answers at least at a comfortable reading speed."""


def first_model(
    catalog: Catalog, recommendations: Mapping[str, Recommendation]
) -> FirstModel | None:
    """The model a first run offers: the largest chat model whose recommended file answers
    at :data:`~app.core.advisor.advice.COMFORTABLE_SPEED` or faster here, else the
    fastest one that reaches :data:`~app.core.advisor.advice.MIN_USABLE_SPEED`, else None
    (nothing in the catalog runs usably on this computer).

    ``recommendations``: :func:`catalog_recommendation` for each model, by model id.
    """
    from app.core.advisor.advice import COMFORTABLE_SPEED, MIN_USABLE_SPEED, Verdict

    picks: list[tuple[CatalogModel, Advice]] = []
    for model in catalog:
        recommendation = recommendations.get(model.id)
        advice = recommendation.recommended if recommendation is not None else None
        if model.kind != "chat" or advice is None or advice.verdict is Verdict.NO_FIT:
            continue
        picks.append((model, advice))

    def speed(pick: tuple[CatalogModel, Advice]) -> float:
        rate = pick[1].tokens_per_second
        return float("inf") if rate is None else rate

    comfortable = [p for p in picks if speed(p) >= COMFORTABLE_SPEED]
    if comfortable:
        model, advice = max(comfortable, key=lambda p: p[0].parameters)
        return FirstModel(model, advice, comfortable=True)
    usable = [p for p in picks if speed(p) >= MIN_USABLE_SPEED]
    if usable:
        model, advice = max(usable, key=speed)
        return FirstModel(model, advice, comfortable=False)
    return None
