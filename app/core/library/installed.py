"""The models installed on this computer: list, delete, reveal, import.

Installed models are the ``.gguf`` files under the models folder (downloads land in
``OWNER/REPO/``, copies of imported files in ``imported/``) plus files the user chose
to *reference* where they already are. Shards of a split model count as one model.
``library.json`` in the models folder keeps the references and when each model was
last used; everything else is read from the files themselves (sizes from the disk,
quantization and architecture from the GGUF header), so the list never goes stale.

Nothing here deletes a file the user referenced: deleting such a model only forgets it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.core.errors import (
    DamagedFileError,
    HearthError,
    ModelFileError,
    NotFoundError,
    StorageError,
    shown_path,
    storage_error,
)
from app.core.files import write_json_atomic
from app.core.gguf.header import read_header
from app.core.library.downloads import PARTIAL_SUFFIX, NotEnoughDiskSpaceError, default_free_space
from app.core.library.hub import parse_quant, split_part

INDEX_NAME = "library.json"
IMPORT_FOLDER = "imported"


EMBEDDING_ARCHITECTURES = frozenset({"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2"})
"""GGUF architectures that make embeddings, not text (``general.architecture``)."""


class LibraryError(HearthError):
    hint = "Run `hearth models` to see the installed models and their names."


class ModelNotInstalledError(LibraryError, NotFoundError):
    pass


class LibraryIndexDamagedError(LibraryError, DamagedFileError):
    hint = (
        "Delete it: Hearth then lists the models folder again and forgets only "
        "referenced files and last-used times."
    )


class AmbiguousModelNameError(LibraryError):
    hint = "Use more of the name, or the full path shown by `hearth models`."


class ModelAlreadyInstalledError(LibraryError):
    hint = "It is in the library already; delete it first to import it again."


class ImportMode(StrEnum):
    COPY = "copy"
    """Copy the file into Hearth's models folder; the original can then go."""
    REFERENCE = "reference"
    """Use the file where it is; it must stay there."""


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """One model on disk."""

    name: str
    path: Path
    files: tuple[Path, ...]
    size: int
    quant: str | None
    architecture: str | None
    repo_id: str | None
    last_used: float | None
    referenced: bool
    problem: str | None = None
    """Why the model cannot be used as it is (a missing shard, a damaged header)."""

    @property
    def is_embedding(self) -> bool:
        """A sentence-embedding model (for local documents), never offered for chat."""
        return (self.architecture or "").lower() in EMBEDDING_ARCHITECTURES

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "files": [str(f) for f in self.files],
            "size": self.size,
            "quant": self.quant,
            "architecture": self.architecture,
            "repo_id": self.repo_id,
            "last_used": self.last_used,
            "referenced": self.referenced,
            "problem": self.problem,
        }


class Library:
    """The installed models under ``models_dir``, and referenced ones elsewhere."""

    def __init__(
        self,
        *,
        models_dir: str | os.PathLike[str],
        free_space: Callable[[Path], int] = default_free_space,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.free_space = free_space

    @property
    def index_path(self) -> Path:
        return self.models_dir / INDEX_NAME

    # -- the index ----------------------------------------------------------------------

    def _check_folder(self) -> None:
        """A models folder that is a file (``/etc/passwd``) is named as that, not as an index."""
        if self.models_dir.exists() and not self.models_dir.is_dir():
            raise StorageError(
                f"The models folder {self.models_dir} is a file, not a folder.",
                path=self.models_dir,
                hint="Choose another models folder in Settings (or `hearth config set "
                "models_dir PATH`); leave it empty for Hearth's own.",
            )

    def _read_index(self) -> dict[str, Any]:
        self._check_folder()
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except OSError as error:
            raise storage_error(error, doing=f"read the library index {self.index_path}") from None
        except ValueError as error:
            raise LibraryIndexDamagedError(
                f"The library index {self.index_path} is damaged: {error}.", path=self.index_path
            ) from None
        refs = data.get("references") if isinstance(data, dict) else None
        used = data.get("last_used") if isinstance(data, dict) else None
        return {
            "version": 1,
            "references": [str(r) for r in refs] if isinstance(refs, list) else [],
            "last_used": dict(used) if isinstance(used, dict) else {},
        }

    def _write_index(self, data: dict[str, Any]) -> None:
        self._check_folder()
        try:
            write_json_atomic(self.index_path, data, indent=1)
        except OSError as error:
            raise storage_error(error, doing=f"save the library index {self.index_path}") from None

    # -- listing ------------------------------------------------------------------------

    def installed(self) -> list[InstalledModel]:
        """Every installed model, most recently used first, then by name."""
        index = self._read_index()
        used: dict[str, float] = index["last_used"]
        found: list[InstalledModel] = []
        if self.models_dir.is_dir():
            files = [
                p
                for p in self.models_dir.rglob("*")
                if p.is_file() and p.name.lower().endswith(".gguf")
            ]
            found += self._group(files, used, referenced=False)
        for ref in index["references"]:
            path = Path(ref)
            shards = _shards_of(path) if os.path.exists(path) else [path]
            found += self._group(shards, used, referenced=True)
        found.sort(key=lambda m: (-(m.last_used or 0.0), m.name.lower()))
        return found

    def _group(
        self, files: list[Path], used: dict[str, float], *, referenced: bool
    ) -> list[InstalledModel]:
        singles: list[list[Path]] = []
        splits: dict[tuple[Path, str, int], dict[int, Path]] = {}
        for path in files:
            part = split_part(path.name)
            if part is None:
                singles.append([path])
            else:
                base, index, total = part
                splits.setdefault((path.parent, base, total), {})[index] = path
        models = [self._describe(group, used, referenced=referenced) for group in singles]
        for (_, _, total), parts in splits.items():
            ordered = [parts[i] for i in sorted(parts)]
            missing = [i for i in range(1, total + 1) if i not in parts]
            problem = (
                f"Shard {', '.join(map(str, missing))} of {total} is missing." if missing else None
            )
            models.append(self._describe(ordered, used, referenced=referenced, problem=problem))
        return models

    def _describe(
        self,
        files: list[Path],
        used: dict[str, float],
        *,
        referenced: bool,
        problem: str | None = None,
    ) -> InstalledModel:
        first = files[0]
        part = split_part(first.name)
        name = part[0] if part else first.name[: -len(".gguf")]
        quant: str | None = parse_quant(first.name)
        architecture = None
        size = 0
        for path in files:
            try:
                size += path.stat().st_size
            except OSError:
                problem = problem or f"{path} is gone."
        if problem is None:
            try:
                header = read_header(first)
                quant = header.quantization
                architecture = header.architecture
            except HearthError as error:
                problem = str(error)
        return InstalledModel(
            name=name,
            path=first,
            files=tuple(files),
            size=size,
            quant=quant,
            architecture=architecture,
            repo_id=self._repo_of(first),
            last_used=used.get(str(first)),
            referenced=referenced,
            problem=problem,
        )

    def _repo_of(self, path: Path) -> str | None:
        try:
            parts = path.relative_to(self.models_dir).parts
        except ValueError:
            return None
        if len(parts) >= 3 and parts[0] != IMPORT_FOLDER:
            return f"{parts[0]}/{parts[1]}"
        return None

    def find(self, key: str) -> InstalledModel:
        """The model called ``key`` (its name, any case) or stored at path ``key``."""
        models = self.installed()
        wanted = key.strip()
        for model in models:
            if wanted in (str(model.path), *map(str, model.files)):
                return model
        exact = [m for m in models if m.name.lower() == wanted.lower()]
        if len(exact) == 1:
            return exact[0]
        partial = exact or [m for m in models if wanted.lower() in m.name.lower()]
        if len(partial) == 1:
            return partial[0]
        if not partial:
            raise ModelNotInstalledError(f"No installed model is called {key!r}.")
        names = ", ".join(str(m.path) for m in partial)
        raise AmbiguousModelNameError(f"{key!r} could mean any of: {names}.")

    # -- changes ------------------------------------------------------------------------

    def delete(self, key: str) -> InstalledModel:
        """Delete a model's files, or forget a referenced one (its file stays).

        Returns the model as it was, so a caller can say which of the two happened.
        """
        model = self.find(key)
        index = self._read_index()
        if model.referenced:
            index["references"] = [r for r in index["references"] if Path(r) != model.path]
        else:
            root = _real(self.models_dir)
            for path in model.files:
                if not _real(path).is_relative_to(root):
                    raise LibraryError(
                        f"Refusing to delete {path}: it is outside the models folder."
                    )
            for path in model.files:
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    raise storage_error(error, doing=f"delete {path}") from None
            self._prune(model.path.parent)
        for path in model.files:
            index["last_used"].pop(str(path), None)
        self._write_index(index)
        return model

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty by a delete, up to the models folder."""
        root = _real(self.models_dir)
        current = _real(folder)
        while current != root and current.is_relative_to(root):
            try:
                current.rmdir()
            except OSError:
                return
            current = current.parent

    def mark_used(self, path: str | os.PathLike[str], *, when: float | None = None) -> None:
        """Record that the model at ``path`` was just loaded (the engine calls this)."""
        index = self._read_index()
        index["last_used"][str(Path(path))] = time.time() if when is None else when
        self._write_index(index)

    def import_file(
        self, source: str | os.PathLike[str], *, mode: ImportMode = ImportMode.COPY
    ) -> InstalledModel:
        """Add a ``.gguf`` the user already has, checked to be a valid GGUF first.

        For a split model give its first shard; every shard comes along. ``COPY``
        puts the files in ``imported/`` (checking the disk space first); ``REFERENCE``
        records where they are.
        """
        first = Path(source).expanduser().absolute()
        shards = _shards_of(first) if os.path.exists(first) else [first]
        part = split_part(first.name)
        if part is not None and part[1] != 1:
            raise LibraryError(
                f"{first.name} is shard {part[1]} of a split model.",
                hint="Import its first shard (…-00001-of-…); the others come along.",
            )
        if part is not None and len(shards) != part[2]:
            raise LibraryError(
                f"{first.name} is split into {part[2]} files, but only {len(shards)} are "
                f"in {first.parent}.",
                hint="Put every shard in the same folder, then import again.",
            )
        for shard in shards:
            try:
                read_header(shard)
            except ModelFileError as error:
                raise type(error)(
                    f"{shown_path(shard.name)} cannot be imported: {error}",
                    hint=error.hint,
                    path=error.path,
                ) from None
        if not first.name.lower().endswith(".gguf"):
            raise LibraryError(
                f"{first.name} is a GGUF model but its name does not end in .gguf.",
                hint="Rename it to end in .gguf, then import it again.",
            )
        for model in self.installed():
            if _real(model.path) == _real(first):
                raise ModelAlreadyInstalledError(f"{first.name} is already in the library.")
        if mode is ImportMode.REFERENCE:
            index = self._read_index()
            index["references"].append(str(first))
            self._write_index(index)
            return self.find(str(first))
        target_dir = self.models_dir / IMPORT_FOLDER
        targets = [target_dir / s.name for s in shards]
        clash = [t for t in targets if t.exists()]
        if clash:
            raise ModelAlreadyInstalledError(
                f"A model file called {clash[0].name} is already in {target_dir}."
            )
        try:
            need = sum(s.stat().st_size for s in shards)
            free = self.free_space(target_dir)
        except OSError as error:
            raise storage_error(error, doing=f"check the free space in {target_dir}") from None
        if need > free:
            raise NotEnoughDiskSpaceError(
                f"Copying {first.name} needs {need:,} bytes but only {free:,} are free "
                f"in {target_dir}.",
                hint="Import it by reference instead (it stays where it is), or free space.",
            )
        for shard, target in zip(shards, targets, strict=True):
            partial = target.with_name(target.name + PARTIAL_SUFFIX)
            try:
                target_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shard, partial)
                os.replace(partial, target)
            except OSError as error:
                partial.unlink(missing_ok=True)
                raise storage_error(
                    error, doing=f"copy {shown_path(shard.name)} into {target_dir}"
                ) from None
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        return self.find(str(targets[0]))


def _shards_of(first: Path) -> list[Path]:
    """``first`` and, for the first shard of a split model, its siblings that exist."""
    part = split_part(first.name)
    if part is None:
        return [first]
    base, _, total = part
    names = [f"{base}-{i:05d}-of-{total:05d}.gguf" for i in range(1, total + 1)]
    return [first.parent / n for n in names if os.path.exists(first.parent / n)] or [first]


def _real(path: Path) -> Path:
    """``path`` with links resolved; a loop of links or a name too long stays as it is."""
    return Path(os.path.realpath(path))


def reveal_command(path: str | os.PathLike[str]) -> list[str]:
    """The command that shows ``path`` in the system's file manager."""
    target = Path(path)
    if sys.platform == "darwin":
        return ["open", "-R", str(target)]
    if sys.platform == "win32":
        return ["explorer", f"/select,{target}"]
    return ["xdg-open", str(target.parent)]
