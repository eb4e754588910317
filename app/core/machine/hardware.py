"""What this computer can run: CPU, memory, disk and GPUs, as one plain profile.

:func:`detect_hardware` asks the operating system, psutil, the installed llama.cpp
build (through ggml's backend-device functions in the already loaded library), NVML
when ``nvidia-ml-py`` is installed, ``nvidia-smi``, and Linux sysfs for AMD cards.
Every probe degrades to a line in :attr:`HardwareProfile.notes`: a missing driver or
library never raises.

A :class:`HardwareProfile` is a plain frozen dataclass, so tests and the advisor can
build one by hand for machines they do not have.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class GPUInfo:
    """One graphics device and the memory a model may use on it."""

    name: str
    backend: str
    """``CUDA``, ``Metal``, ``ROCm``, ``Vulkan``... (what llama.cpp or the driver calls it)."""
    total_bytes: int
    free_bytes: int | None = None
    unified: bool = False
    """Shares system RAM (Apple Silicon): GPU bytes and RAM bytes are one pool."""
    usable: bool = True
    """This llama.cpp build can offload to it."""
    source: str = ""
    """Which probe found it: ``llama.cpp``, ``nvml``, ``nvidia-smi``, ``sysfs``, ``apple``."""
    bandwidth: float | None = None
    """Memory bandwidth in bytes/s when known (speed estimates fall back to a table)."""

    @property
    def budget_bytes(self) -> int:
        """Bytes a model may plan to use: free memory when known, else the total."""
        if self.free_bytes is not None and not self.unified:
            return min(self.free_bytes, self.total_bytes)
        return self.total_bytes


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    """A computer as far as running a local model is concerned."""

    os: str
    arch: str
    cpu_model: str
    physical_cores: int | None
    logical_cores: int | None
    ram_total: int
    ram_available: int
    cpu_features: frozenset[str] = frozenset()
    """Of ``AVX2``, ``AVX512``, ``AMX``, ``NEON``: what the CPU has."""
    gpus: tuple[GPUInfo, ...] = ()
    gpu_offload_supported: bool = False
    """Whether the installed llama.cpp build can offload layers to a GPU at all."""
    llama_system_info: str = ""
    disk_free: int | None = None
    models_dir: str | None = None
    notes: tuple[str, ...] = ()
    memory_bandwidth: float | None = None
    """System RAM bandwidth in bytes/s when known; else estimated (see below)."""

    @property
    def gpu(self) -> GPUInfo | None:
        """The GPU a model would use: the usable one with the most memory, if any."""
        usable = [g for g in self.gpus if g.usable] if self.gpu_offload_supported else []
        return max(usable, key=lambda g: g.budget_bytes, default=None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (sets become sorted lists)."""
        data = asdict(self)
        data["cpu_features"] = sorted(self.cpu_features)
        data["notes"] = list(self.notes)
        data["gpus"] = [asdict(g) for g in self.gpus]
        return data


def metal_working_set(ram_total: int) -> int:
    """Bytes Metal lets one process keep on the GPU on Apple Silicon.

    macOS reports ``recommendedMaxWorkingSetSize``: about 2/3 of RAM on machines
    with up to 32 GiB (actually ≤ 36 GB), about 3/4 above. Used when the Metal device
    itself cannot be asked.
    """
    fraction = 2 / 3 if ram_total <= 36 * 10**9 else 3 / 4
    return int(ram_total * fraction)


# ------------------------------------------------------------------------------------
# Probes. Each returns what it found and appends to ``notes`` what it could not.


def _read_text(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _cpu_model_and_features(notes: list[str]) -> tuple[str, set[str]]:
    system = platform.system()
    machine = platform.machine().lower()
    model = ""
    features: set[str] = set()
    if system == "Linux":
        info = _read_text("/proc/cpuinfo") or ""
        for key in ("model name", "Hardware", "Model", "cpu model"):
            match = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
            if match:
                model = match.group(1).strip()
                break
        flags_match = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", info, re.MULTILINE)
        flags = set(flags_match.group(1).split()) if flags_match else set()
        if "avx2" in flags:
            features.add("AVX2")
        if "avx512f" in flags:
            features.add("AVX512")
        if "amx_int8" in flags:
            features.add("AMX")
        if "asimd" in flags or "neon" in flags:
            features.add("NEON")
    elif system == "Darwin":
        model = _run_quiet(["sysctl", "-n", "machdep.cpu.brand_string"]) or ""
        if machine in ("arm64", "aarch64"):
            features.add("NEON")
        else:
            cpu_flags = (_run_quiet(["sysctl", "-n", "machdep.cpu.leaf7_features"]) or "").upper()
            if "AVX2" in cpu_flags:
                features.add("AVX2")
            if "AVX512F" in cpu_flags:
                features.add("AVX512")
    if machine in ("arm64", "aarch64"):
        features.add("NEON")
    if not model:
        model = platform.processor() or ""
    if not model:
        notes.append("The CPU model could not be read.")
        model = "unknown CPU"
    return model, features


def _run_quiet(command: list[str], *, timeout: float = 3.0) -> str | None:
    """A command's stdout, or None if it is missing, fails or hangs."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _memory(notes: list[str]) -> tuple[int, int, int | None, int | None]:
    try:
        import psutil

        vm = psutil.virtual_memory()
        return (
            int(vm.total),
            int(vm.available),
            psutil.cpu_count(logical=False),
            psutil.cpu_count(logical=True),
        )
    except Exception as error:  # psutil missing or unsupported platform
        notes.append(f"RAM could not be measured ({error}); assuming what os.sysconf says.")
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 0
    return int(total), int(total), None, os.cpu_count()


def _disk_free(folder: Path, notes: list[str]) -> int | None:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError as error:
        notes.append(f"Free disk space at {folder} could not be read ({error.strerror}).")
        return None


# -- llama.cpp ---------------------------------------------------------------------


@dataclass(slots=True)
class LlamaDevices:
    """What the installed llama.cpp build reports (probed by :mod:`app.core.inference`)."""

    available: bool = False
    system_info: str = ""
    offload: bool = False
    devices: list[GPUInfo] = field(default_factory=list)


LlamaProbe = Callable[[list[str]], LlamaDevices]
"""Asks llama.cpp for its build and devices, adding what went wrong to the notes."""


# -- drivers -------------------------------------------------------------------------


def _nvidia_gpus(notes: list[str]) -> list[GPUInfo]:
    try:
        import pynvml
    except ImportError:
        return _nvidia_smi_gpus()
    try:
        pynvml.nvmlInit()
    except Exception as error:
        notes.append(f"NVIDIA's driver library did not answer ({error}).")
        return []
    found: list[GPUInfo] = []
    try:
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            found.append(
                GPUInfo(
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    backend="CUDA",
                    total_bytes=int(memory.total),
                    free_bytes=int(memory.free),
                    source="nvml",
                )
            )
    except Exception as error:
        notes.append(f"NVIDIA GPUs could not be listed ({error}).")
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)
    return found


def _nvidia_smi_gpus() -> list[GPUInfo]:
    out = _run_quiet(
        [
            "nvidia-smi",
            "--query-gpu=name,memory.total,memory.free",
            "--format=csv,noheader,nounits",
        ]
    )
    found: list[GPUInfo] = []
    for line in (out or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            found.append(
                GPUInfo(
                    name=parts[0],
                    backend="CUDA",
                    total_bytes=int(parts[1]) * MIB,
                    free_bytes=int(parts[2]) * MIB,
                    source="nvidia-smi",
                )
            )
    return found


def _amd_gpus(drm: Path = Path("/sys/class/drm")) -> list[GPUInfo]:
    """AMD cards on Linux, from amdgpu's sysfs files."""
    found: list[GPUInfo] = []
    if not drm.is_dir():
        return found
    for card in sorted(drm.glob("card[0-9]*")):
        device = card / "device"
        if (_read_text(device / "vendor") or "").strip() != "0x1002":
            continue
        total_text = (_read_text(device / "mem_info_vram_total") or "").strip()
        used_text = (_read_text(device / "mem_info_vram_used") or "").strip()
        if not total_text.isdigit():
            continue
        total = int(total_text)
        name = (_read_text(device / "product_name") or "").strip() or "AMD Radeon GPU"
        free = total - int(used_text) if used_text.isdigit() else None
        found.append(
            GPUInfo(name=name, backend="ROCm", total_bytes=total, free_bytes=free, source="sysfs")
        )
    return found


def _apple_gpu(ram_total: int, cpu_model: str) -> GPUInfo:
    return GPUInfo(
        name=f"{cpu_model} GPU" if cpu_model else "Apple GPU",
        backend="Metal",
        total_bytes=metal_working_set(ram_total),
        unified=True,
        source="apple",
    )


# ------------------------------------------------------------------------------------


def detect_hardware(
    *, models_dir: str | os.PathLike[str] | None = None, llama: LlamaProbe | None = None
) -> HardwareProfile:
    """Probe this computer. Never raises: what cannot be probed becomes a note.

    ``llama`` asks llama.cpp about its build and GPUs
    (:func:`app.core.inference.detect_machine` passes it); without it the GPUs are
    the drivers' and the profile says llama.cpp was not asked.
    """
    notes: list[str] = []
    system = platform.system()
    arch = platform.machine()
    cpu_model, features = _cpu_model_and_features(notes)
    ram_total, ram_available, physical, logical = _memory(notes)

    folder: Path | None = None
    try:
        if models_dir is None:
            from app.core.paths import app_paths

            folder = app_paths().models
        else:
            folder = Path(models_dir)
    except Exception as error:
        notes.append(f"The models folder could not be found ({error}).")
    disk_free = _disk_free(folder, notes) if folder is not None else None

    if llama is None:
        build = LlamaDevices()
        notes.append("llama.cpp was not asked about its build and GPUs.")
    else:
        build = llama(notes)
    gpus: list[GPUInfo] = list(build.devices)
    if not gpus:
        detected = _nvidia_gpus(notes) + _amd_gpus()
        if system == "Darwin" and arch == "arm64":
            detected.append(_apple_gpu(ram_total, cpu_model))
        # Found by the driver but not by llama.cpp: this build cannot use them.
        gpus = [replace(g, usable=False) for g in detected]
        for gpu in gpus:
            notes.append(
                f"{gpu.name} found, but this llama.cpp build cannot use it "
                f"({'it is CPU-only' if not build.offload else 'no ' + gpu.backend + ' backend'}"
                f"): models will run on the CPU. Reinstall llama-cpp-python with "
                f"{gpu.backend} support to use the GPU."
            )
    elif not build.offload:
        notes.append("llama.cpp lists a GPU but says it cannot offload layers to it.")
    if system == "Darwin" and arch == "arm64":
        gpus = [
            replace(g, unified=True, total_bytes=g.total_bytes or metal_working_set(ram_total))
            for g in gpus
        ]
    if build.available and not build.system_info:
        notes.append("llama.cpp's build information is missing.")
    if build.system_info:
        for flag, name in (("AVX2 = 1", "AVX2"), ("AVX512 = 1", "AVX512"), ("NEON = 1", "NEON")):
            if name in features and flag not in build.system_info:
                notes.append(
                    f"Your CPU has {name} but this llama.cpp build does not use it: "
                    "models run slower than they could."
                )

    return HardwareProfile(
        os=f"{system} {platform.release()}".strip(),
        arch=arch,
        cpu_model=cpu_model,
        physical_cores=physical,
        logical_cores=logical,
        ram_total=ram_total,
        ram_available=ram_available,
        cpu_features=frozenset(features),
        gpus=tuple(gpus),
        gpu_offload_supported=build.offload and any(g.usable for g in gpus),
        llama_system_info=build.system_info,
        disk_free=disk_free,
        models_dir=str(folder) if folder is not None else None,
        notes=tuple(notes),
    )
