"""Load llama.cpp's backend libraries, and say which CPU variant was picked.

The bundles ship a portable llama.cpp (packaging/llama_wheel.py): GGML_BACKEND_DL puts
each backend in its own loadable library and GGML_CPU_ALL_VARIANTS builds the CPU
backend once per CPU generation (``libggml-cpu-sse42.so``, ``-haswell``, ``-skylakex``,
``-sapphirerapids``..., ``ggml-cpu-*.dll`` on Windows). Nothing loads them by itself:
llama-cpp-python never calls ``ggml_backend_load_all``, and without it llama.cpp fails
with "no backends are loaded". :func:`load_backends` does, once, through the libggml
that libllama already loaded (a second copy of libggml has its own, empty, registry).

ggml picks the variant: each variant library exports ``ggml_backend_score()``, 0 when
this CPU lacks an instruction the variant was compiled for, else higher the more
features it uses; the highest wins. The report asks the same scores to name the winner.

``HEARTH_CPU_VARIANT=<name>`` (``haswell``, ``sse42``, ...) loads only that variant
with ``ggml_backend_load`` instead: the engine's crash-recovery ladder uses it on CPUs
where the best variant crashes (AMX CPUs with ``sapphirerapids``). A name that is not
shipped, or that this CPU cannot run, raises :class:`CpuVariantError`.

A native build (the dev venv, ``make run``) has its CPU backend linked into libggml and
no variant libraries: then this is a no-op that reports the CPU backend as built in.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import HearthError

log = logging.getLogger("hearth.llama")

VARIANT_ENV = "HEARTH_CPU_VARIANT"
BUILT_IN = "built in"


class CpuVariantError(HearthError):
    """``HEARTH_CPU_VARIANT`` names a CPU variant that cannot be loaded."""

    hint = f"Unset {VARIANT_ENV}, or set it to one of the variants this build ships."


@dataclass(frozen=True, slots=True)
class BackendReport:
    """What :func:`load_backends` found and loaded."""

    library_dir: Path
    cpu_variant: str  # "haswell", "sse42", ... or BUILT_IN
    chosen_by: str  # "score" (ggml's pick), VARIANT_ENV, or BUILT_IN
    variants: tuple[str, ...]  # every CPU variant shipped, in ggml's score order
    scores: dict[str, int]  # variant -> ggml_backend_score() on this CPU (0: cannot run)
    backends: tuple[str, ...]  # registered backends ("CPU", "CUDA", ...)
    devices: tuple[str, ...]  # "CPU (Intel Xeon ...)"

    @property
    def portable(self) -> bool:
        """True for a build with loadable CPU variants (the bundles)."""
        return bool(self.variants)

    def describe(self) -> str:
        """One phrase for the self-test: ``CPU variant haswell (of 14)`` or ``CPU built in``."""
        if not self.portable:
            return f"CPU backend {BUILT_IN}"
        how = f", forced by {VARIANT_ENV}" if self.chosen_by == VARIANT_ENV else ""
        return f"CPU variant {self.cpu_variant} (of {len(self.variants)}{how})"


_report: BackendReport | None = None


def library_dir() -> Path:
    """The folder libllama was loaded from (``LLAMA_CPP_LIB_PATH`` when set)."""
    import llama_cpp.llama_cpp as bindings

    return Path(bindings._base_path)


def _libggml_candidates(folder: Path) -> list[str]:
    # The bare soname first: dlopen then returns the copy libllama's DT_NEEDED already
    # loaded, wherever the loader found it (a bundle's LD_LIBRARY_PATH may point it
    # at another folder than llama_cpp/lib).
    if sys.platform == "win32":
        return [str(folder / "ggml.dll"), "ggml.dll"]
    if sys.platform == "darwin":
        return [str(folder / "libggml.0.dylib"), str(folder / "libggml.dylib")]
    return ["libggml.so.0", str(folder / "libggml.so.0"), str(folder / "libggml.so")]


def libggml(folder: Path | None = None) -> ctypes.CDLL:
    """The libggml that libllama uses (import llama_cpp first)."""
    folder = folder or library_dir()
    errors = []
    for name in _libggml_candidates(folder):
        try:
            lib = ctypes.CDLL(name)
        except OSError as error:
            errors.append(str(error))
            continue
        _declare(lib)
        return lib
    raise OSError(f"libggml not found for {folder}: {'; '.join(errors)}")


def _declare(lib: ctypes.CDLL) -> None:
    lib.ggml_backend_load.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_load_all_from_path.restype = None
    lib.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    for kind in ("reg", "dev"):
        count = getattr(lib, f"ggml_backend_{kind}_count")
        count.restype, count.argtypes = ctypes.c_size_t, []
        get = getattr(lib, f"ggml_backend_{kind}_get")
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
        name = getattr(lib, f"ggml_backend_{kind}_name")
        name.restype, name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    lib.ggml_backend_dev_description.restype = ctypes.c_char_p
    lib.ggml_backend_dev_description.argtypes = [ctypes.c_void_p]


def variant_libraries(folder: Path) -> dict[str, Path]:
    """The CPU variant libraries in ``folder``, by variant name (empty for a native build)."""
    prefix, suffix = ("ggml-cpu-", ".dll") if sys.platform == "win32" else ("libggml-cpu-", ".so")
    return {
        path.name[len(prefix) : -len(suffix)]: path
        for path in sorted(folder.glob(f"{prefix}*{suffix}"))
        if path.is_file()
    }


def variant_score(path: Path) -> int:
    """``ggml_backend_score()`` of one variant library: 0 when this CPU cannot run it."""
    lib = ctypes.CDLL(str(path))
    try:
        score = lib.ggml_backend_score
        score.restype, score.argtypes = ctypes.c_int, []
        return int(score())
    except AttributeError:
        return 0
    finally:
        _close(lib)


def _close(lib: ctypes.CDLL) -> None:
    # ctypes never unloads; without this every variant would stay mapped. A library
    # ggml loaded too stays loaded (the loader counts references).
    import _ctypes

    if sys.platform == "win32":
        _ctypes.FreeLibrary(lib._handle)  # type: ignore[attr-defined]
    else:
        _ctypes.dlclose(lib._handle)


def load_backends() -> BackendReport:
    """Load the backend libraries once (see the module docstring); later calls report."""
    global _report
    if _report is None:
        _report = _load(library_dir())
    return _report


def _load(folder: Path) -> BackendReport:
    variants = variant_libraries(folder)
    if not variants:
        lib = libggml(folder)
        return _report_of(lib, folder, BUILT_IN, BUILT_IN, {})
    lib = libggml(folder)
    scores = {name: variant_score(path) for name, path in variants.items()}
    forced = os.environ.get(VARIANT_ENV, "").strip()
    if forced:
        path = variants.get(forced)
        if path is None:
            raise CpuVariantError(
                f"{VARIANT_ENV}={forced}: no such CPU variant in {folder} "
                f"(there are {', '.join(sorted(variants))})"
            )
        if not lib.ggml_backend_load(os.fsencode(path)):
            raise CpuVariantError(f"{VARIANT_ENV}={forced}: this CPU cannot run {path.name}")
        _load_other_backends(lib, folder)
        picked, chosen_by = forced, VARIANT_ENV
    else:
        lib.ggml_backend_load_all_from_path(os.fsencode(folder))
        picked = max(scores, key=lambda name: scores[name])
        chosen_by = "score"
        if scores[picked] == 0:
            picked = "none"  # ggml loaded no CPU backend either
    report = _report_of(lib, folder, picked, chosen_by, scores)
    log.info("llama.cpp backends from %s: %s; devices %s", folder, report.describe(),
             ", ".join(report.devices) or "none")  # fmt: skip
    if "CPU" not in report.backends:
        log.error("llama.cpp has no CPU backend (variant scores %s)", scores)
    return report


def _load_other_backends(lib: ctypes.CDLL, folder: Path) -> None:
    """With one CPU variant forced, still load the GPU backend libraries shipped."""
    prefix, suffix = ("ggml-", ".dll") if sys.platform == "win32" else ("libggml-", ".so")
    for path in sorted(folder.glob(f"{prefix}*{suffix}")):
        name = path.name[len(prefix) : -len(suffix)]
        if name not in ("base", "cpu") and not name.startswith("cpu-"):
            lib.ggml_backend_load(os.fsencode(path))


def _report_of(
    lib: ctypes.CDLL, folder: Path, picked: str, chosen_by: str, scores: dict[str, int]
) -> BackendReport:
    backends = tuple(
        _text(lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)))
        for i in range(lib.ggml_backend_reg_count())
    )
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        device = lib.ggml_backend_dev_get(i)
        name = _text(lib.ggml_backend_dev_name(device))
        devices.append(f"{name} ({_text(lib.ggml_backend_dev_description(device))})")
    return BackendReport(
        library_dir=folder,
        cpu_variant=picked,
        chosen_by=chosen_by,
        variants=tuple(sorted(scores, key=lambda name: (scores[name], name))),
        scores=scores,
        backends=backends,
        devices=tuple(devices),
    )


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")
