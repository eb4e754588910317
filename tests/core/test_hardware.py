"""Hardware probes: what a person sees when a driver or library is missing."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from app.core.inference.devices import detect_machine
from app.core.machine import hardware
from app.core.machine.hardware import GIB, GPUInfo, detect_hardware, metal_working_set


def test_detect_hardware_describes_this_machine(tmp_path: Path) -> None:
    profile = detect_machine(models_dir=tmp_path / "models")
    assert profile.ram_total > 0 and 0 < profile.ram_available <= profile.ram_total
    assert profile.logical_cores and profile.logical_cores >= 1
    assert profile.disk_free is not None and profile.disk_free > 0  # nearest existing parent
    assert "CPU" in profile.llama_system_info  # llama.cpp's own build report
    assert profile.to_dict()["ram_total"] == profile.ram_total


def test_missing_llama_cpp_is_a_note_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("llama_cpp", "pynvml"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(hardware, "_nvidia_smi_gpus", lambda: [])
    from app.core.inference.devices import probe_llama

    profile = detect_hardware(llama=probe_llama)  # the probe itself, as its child runs it
    assert not profile.gpu_offload_supported
    assert any("llama.cpp" in note and "could not be loaded" in note for note in profile.notes)


def test_cuda_card_with_cpu_only_build_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    card = GPUInfo("NVIDIA GeForce RTX 3060", "CUDA", 12 * GIB, 11 * GIB, source="nvml")
    monkeypatch.setattr(hardware, "_nvidia_gpus", lambda notes: [card])
    profile = detect_machine()  # this machine's llama.cpp build is CPU-only
    assert profile.gpus and not profile.gpus[0].usable
    assert profile.gpu is None and not profile.gpu_offload_supported
    assert any("RTX 3060 found, but this llama.cpp build cannot use it" in n for n in profile.notes)


def test_without_asking_llama_cpp_the_profile_says_so() -> None:
    profile = detect_hardware()  # the machine layer alone: no llama.cpp probe
    assert not profile.llama_system_info and not profile.gpu_offload_supported
    assert "llama.cpp was not asked about its build and GPUs." in profile.notes


def test_amd_cards_are_read_from_sysfs(tmp_path: Path) -> None:
    device = tmp_path / "card0" / "device"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "mem_info_vram_total").write_text(str(16 * GIB))
    (device / "mem_info_vram_used").write_text(str(1 * GIB))
    (device / "product_name").write_text("AMD Radeon RX 7800 XT\n")
    other = tmp_path / "card1" / "device"
    other.mkdir(parents=True)
    (other / "vendor").write_text("0x8086\n")  # Intel: not an AMD card
    cards = hardware._amd_gpus(tmp_path)
    assert cards == [GPUInfo("AMD Radeon RX 7800 XT", "ROCm", 16 * GIB, 15 * GIB, source="sysfs")]


def test_metal_working_set_is_two_thirds_then_three_quarters() -> None:
    assert metal_working_set(16 * GIB) == int(16 * GIB * 2 / 3)
    assert metal_working_set(64 * GIB) == int(64 * GIB * 3 / 4)


def test_unified_gpu_budget_is_the_whole_working_set() -> None:
    apple = GPUInfo("Apple M2", "Metal", metal_working_set(16 * GIB), free_bytes=1, unified=True)
    nvidia = GPUInfo("RTX", "CUDA", 12 * GIB, free_bytes=10 * GIB)
    assert apple.budget_bytes == apple.total_bytes
    assert nvidia.budget_bytes == 10 * GIB  # what is free now, not the card's total


def test_the_llama_probe_runs_in_a_child_and_its_crash_is_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys

    from app.core.inference import devices

    code = "import sys\nfrom app.core.inference import detect_machine\nimport app.core.inference\n"
    code += "detect_machine()\nprint('llama_cpp' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr  # the app never loads llama.cpp
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"  # a real crash
    monkeypatch.setattr(devices, "probe_command", lambda: [sys.executable, "-c", crash])
    profile = detect_machine()
    assert profile.ram_total > 0 and not profile.llama_system_info
    assert any("it crashed (SIGSEGV)" in note for note in profile.notes), profile.notes
