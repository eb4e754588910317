"""What the installed llama.cpp build can do: its system info and GPU devices.

Through ggml's backend-device functions in the already loaded library.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.core.errors import EngineUnavailableError
from app.core.machine.hardware import GPUInfo, HardwareProfile, LlamaDevices, detect_hardware

# -- llama.cpp -----------------------------------------------------------------------

# ggml_backend_dev_type: CPU, GPU, IGPU (integrated), ACCEL.
_DEV_TYPE_GPU = 1
_DEV_TYPE_IGPU = 2

# llama.cpp backend names -> the build a user would name. The first GPU one found wins.
GPU_BACKENDS = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL", "CANN", "MUSA")


@dataclass(frozen=True, slots=True)
class LlamaBuild:
    """Which llama.cpp this is: the label (``CPU``, ``CUDA``...), its backends and devices."""

    package_version: str
    label: str
    backends: tuple[str, ...]
    devices: tuple[str, ...]
    gpu_offload: bool
    system_info: str
    cpu: str  # "CPU variant haswell (of 14)" or "CPU backend built in"


def _ggml_libraries() -> Iterator[ctypes.CDLL]:
    """The ggml libraries llama_cpp loaded (dlopen of a loaded file returns its handle)."""
    from app.core.inference.backends import library_dir

    lib_dir = library_dir()  # LLAMA_CPP_LIB_PATH when set: the copy libllama came from
    names = ("libggml", "ggml", "libggml-base", "ggml-base", "libllama", "llama")
    for path in sorted(lib_dir.glob("*")):
        stem = path.name.split(".")[0]
        if stem in names:
            try:
                yield ctypes.CDLL(str(path))
            except OSError:
                continue


def _bind_device_functions() -> dict[str, Callable[..., Any]] | None:
    wanted = {
        "ggml_backend_dev_count": (ctypes.c_size_t, []),
        "ggml_backend_dev_get": (ctypes.c_void_p, [ctypes.c_size_t]),
        "ggml_backend_dev_name": (ctypes.c_char_p, [ctypes.c_void_p]),
        "ggml_backend_dev_description": (ctypes.c_char_p, [ctypes.c_void_p]),
        "ggml_backend_dev_type": (ctypes.c_int, [ctypes.c_void_p]),
        "ggml_backend_dev_memory": (
            None,
            [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)],
        ),
        "ggml_backend_dev_backend_reg": (ctypes.c_void_p, [ctypes.c_void_p]),
        "ggml_backend_reg_name": (ctypes.c_char_p, [ctypes.c_void_p]),
    }
    bound: dict[str, Callable[..., Any]] = {}
    for lib in _ggml_libraries():
        for name, (restype, argtypes) in wanted.items():
            if name in bound:
                continue
            try:
                function = getattr(lib, name)
            except AttributeError:
                continue
            function.restype = restype
            function.argtypes = argtypes
            bound[name] = function
    return bound if len(bound) == len(wanted) else None


def probe_llama(notes: list[str]) -> LlamaDevices:
    """Ask the installed llama.cpp for its build and GPU devices; problems become notes."""
    build = LlamaDevices()
    try:
        import llama_cpp
    except Exception as error:  # not installed, or its native library failed to load
        notes.append(f"llama.cpp (llama-cpp-python) could not be loaded: {error}.")
        return build
    build.available = True
    try:
        raw = llama_cpp.llama_print_system_info()
        build.system_info = (raw.decode() if isinstance(raw, bytes) else str(raw)).strip()
    except Exception as error:
        notes.append(f"llama.cpp did not report its build ({error}).")
    try:
        build.offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as error:
        notes.append(f"llama.cpp did not say whether it can use a GPU ({error}).")
    try:
        functions = _bind_device_functions()
    except Exception as error:
        functions = None
        notes.append(f"llama.cpp's device list could not be read ({error}).")
    if functions is None:
        return build
    for index in range(int(functions["ggml_backend_dev_count"]())):
        device = functions["ggml_backend_dev_get"](index)
        if not device:
            continue
        kind = int(functions["ggml_backend_dev_type"](device))
        if kind not in (_DEV_TYPE_GPU, _DEV_TYPE_IGPU):
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        functions["ggml_backend_dev_memory"](device, ctypes.byref(free), ctypes.byref(total))
        reg = functions["ggml_backend_dev_backend_reg"](device)
        backend = (functions["ggml_backend_reg_name"](reg) or b"GPU").decode()
        description = (functions["ggml_backend_dev_description"](device) or b"").decode()
        name = description or (functions["ggml_backend_dev_name"](device) or b"GPU").decode()
        unified = backend.lower() == "metal" or kind == _DEV_TYPE_IGPU
        build.devices.append(
            GPUInfo(
                name=name,
                backend=backend,
                total_bytes=int(total.value),
                free_bytes=int(free.value),
                unified=unified,
                usable=True,
                source="llama.cpp",
            )
        )
    return build


def probe_command() -> list[str]:
    """How to run the probe in a child process: the bundle's executable, or this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--probe-llama"]
    return [sys.executable, "-m", "app.core.inference.devices"]


def probe_llama_isolated(notes: list[str], *, timeout: float = 60.0) -> LlamaDevices:
    """:func:`probe_llama` in a child process: loading a GPU backend may crash, and the
    app's own process then lives on (and never loads llama.cpp at all)."""
    environment = dict(os.environ)
    if not getattr(sys, "frozen", False):
        root = str(Path(__file__).resolve().parents[3])  # app/core/inference/devices.py
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [root, environment.get("PYTHONPATH")])
        )
    try:
        done = subprocess.run(
            probe_command(),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        notes.append(f"llama.cpp could not be asked about its build and GPUs ({error}).")
        return LlamaDevices()
    if done.returncode != 0:
        how = (
            f"it crashed ({signal.Signals(-done.returncode).name})"
            if done.returncode < 0 and -done.returncode in signal.valid_signals()
            else f"it exited with status {done.returncode}"
        )
        notes.append(f"llama.cpp could not be asked about its build and GPUs: {how}.")
        return LlamaDevices()
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
        devices = LlamaDevices(
            available=bool(data["available"]),
            system_info=str(data["system_info"]),
            offload=bool(data["offload"]),
            devices=[GPUInfo(**device) for device in data["devices"]],
        )
    except (ValueError, KeyError, TypeError, IndexError) as error:
        notes.append(f"llama.cpp's report on its build could not be read ({error}).")
        return LlamaDevices()
    notes.extend(str(note) for note in data.get("notes", []))
    return devices


def detect_machine(
    *, models_dir: str | os.PathLike[str] | None = None, isolated: bool = True
) -> HardwareProfile:
    """This computer's profile, GPUs as the installed llama.cpp sees them.

    ``isolated`` (the default, for the app and the CLI) asks llama.cpp in a short-lived
    child process; the engine process, which has llama.cpp loaded anyway, asks in place.
    """
    probe = probe_llama_isolated if isolated else probe_llama
    return detect_hardware(models_dir=models_dir, llama=probe)


def main() -> int:
    """Print what :func:`probe_llama` found as one JSON line (for :func:`probe_llama_isolated`)."""
    notes: list[str] = []
    found = probe_llama(notes)
    print(
        json.dumps(
            {
                "available": found.available,
                "system_info": found.system_info,
                "offload": found.offload,
                "devices": [asdict(device) for device in found.devices],
                "notes": notes,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def llama_build() -> LlamaBuild:
    """Ask the loaded llama.cpp what it was built with.

    Raises :class:`~app.core.errors.EngineUnavailableError` if it cannot load.
    """
    try:
        import llama_cpp

        from app.core.inference import backends as ggml_backends
        from app.core.inference import runtime  # noqa: F401 (installs the backends)

        report = ggml_backends.load_backends()
        libggml = ggml_backends.libggml()  # not llama_cpp._ggml's: LLAMA_CPP_LIB_PATH
    except (ImportError, OSError) as error:  # OSError: a native library is missing
        raise EngineUnavailableError(
            f"llama-cpp-python cannot load its native libraries ({error})",
            hint="Reinstall Hearth; `hearth doctor` lists what this machine has.",
        ) from error
    llama_cpp.llama_backend_init()
    backends = tuple(_names(libggml, "ggml_backend_reg_count", "ggml_backend_reg_get", "reg"))
    devices = tuple(_names(libggml, "ggml_backend_dev_count", "ggml_backend_dev_get", "dev"))
    gpu = [name for name in GPU_BACKENDS if any(b.lower() == name.lower() for b in backends)]
    return LlamaBuild(
        package_version=llama_cpp.__version__,
        label=gpu[0] if gpu else "CPU",
        backends=backends,
        devices=devices,
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
        system_info=llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(" |"),
        cpu=report.describe(),
    )


def _names(lib: ctypes.CDLL, count_fn: str, get_fn: str, kind: str) -> list[str]:
    count = getattr(lib, count_fn)
    count.restype = ctypes.c_size_t
    get = getattr(lib, get_fn)
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    name = getattr(lib, f"ggml_backend_{kind}_name")
    name.restype, name.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
    names = []
    for index in range(count()):
        handle = get(index)
        text = name(handle).decode("utf-8", "replace")
        if kind == "dev":
            describe = lib.ggml_backend_dev_description
            describe.restype, describe.argtypes = ctypes.c_char_p, [ctypes.c_void_p]
            text = f"{text} ({describe(handle).decode('utf-8', 'replace')})"
        names.append(text)
    return names
