"""``hearth doctor [--json]``: what this computer is, and what it means for models."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.core.advisor import Verdict, advise, headroom_for, reference_files
from app.core.context import AppContext
from app.core.inference import RecipeStore, detect_machine
from app.core.machine import CalibrationStore, HardwareProfile, SpeedCalibration, calibration_key
from app.core.units import format_bytes


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="show this computer's hardware and which models run well on it"
    )
    parser.add_argument("--json", action="store_true", help="print the profile as JSON")
    parser.add_argument(
        "--forget-crashes",
        action="store_true",
        help="forget the safer settings Hearth chose for models that crashed llama.cpp here",
    )
    parser.set_defaults(func=run)


def implications(
    profile: HardwareProfile,
    *,
    context_length: int = 8192,
    speed: SpeedCalibration | None = None,
) -> list[str]:
    """Plain sentences: how typical model sizes run here at Q4_K_M.

    ``speed``: what this machine measured (its memory bandwidth, the correction learnt
    from replies), so the speeds are the library's and ``hearth recommend``'s.
    """
    lines = []
    for label, files in reference_files():
        q4 = [f for f in files if f.quant == "Q4_K_M"]
        advice = advise(q4, profile, context_length=context_length, speed=speed).advice[0]
        where = {
            Verdict.FULL_GPU: "run fully on your GPU",
            Verdict.PARTIAL: f"run partly on your GPU ({advice.gpu_layers} of "
            f"{advice.total_layers} layers)",
            Verdict.CPU_ONLY: "run on your CPU",
            Verdict.NO_FIT: "do not fit",
        }[advice.verdict]
        rate = advice.tokens_per_second
        unit = "token/s" if rate is not None and round(rate) == 1 else "tokens/s"
        speed_text = f", roughly {rate:.0f} {unit}" if rate and rate >= 1 else ""
        extra = ""
        if advice.verdict is Verdict.NO_FIT and advice.max_context >= 512:
            extra = f" (they fit with up to {advice.max_context:,} tokens of context)"
        lines.append(
            f"{label} models at Q4_K_M with {context_length // 1024}k context {where}"
            f"{speed_text}{extra}."
        )
    return lines


def run(args: argparse.Namespace, context: AppContext) -> int:
    recipes = RecipeStore()
    if args.forget_crashes:
        count = recipes.forget()
        print(f"Forgot the safer settings of {count} model(s); the next load uses yours.")
        return 0
    profile = detect_machine(models_dir=context.models_folder)
    # The speeds below use this machine's memory bandwidth, measured once (0.2 s) and kept.
    speed = CalibrationStore().speed_calibration(calibration_key(profile))
    if args.json:
        data = profile.to_dict()
        data["crash_workarounds"] = [
            {"model": key, "runs_with": name, "crash": crash}
            for key, name, crash in recipes.entries()
        ]
        data["headroom"] = {"ram": headroom_for(profile).ram, "gpu": headroom_for(profile).gpu}
        data["memory_bandwidth_measured"] = speed.bandwidth
        data["implications"] = implications(profile, speed=speed)
        print(json.dumps(data, indent=2))
        return 0
    cores = f"{profile.physical_cores or '?'} cores / {profile.logical_cores or '?'} threads"
    print(f"System     {profile.os} ({profile.arch})")
    features = ", ".join(sorted(profile.cpu_features)) or "no AVX2/NEON"
    print(f"CPU        {profile.cpu_model}, {cores}, {features}")
    print(
        f"RAM        {format_bytes(profile.ram_total)} ({format_bytes(profile.ram_available)} free)"
    )
    if profile.disk_free is not None:
        print(f"Disk       {format_bytes(profile.disk_free)} free at {profile.models_dir}")
    if not profile.gpus:
        print("GPU        none found")
    for gpu in profile.gpus:
        memory = "shared with RAM, up to " if gpu.unified else ""
        usable = (
            "" if gpu.usable and profile.gpu_offload_supported else " (not usable by this build)"
        )
        print(
            f"GPU        {gpu.name}, {gpu.backend}, {memory}{format_bytes(gpu.total_bytes)}{usable}"
        )
    print(f"llama.cpp  {'can' if profile.gpu_offload_supported else 'cannot'} offload to a GPU")
    if profile.llama_system_info:
        print(f"           {profile.llama_system_info}")
    if speed.bandwidth:
        print(f"Memory     {speed.bandwidth / 1e9:.1f} GB/s measured (the speeds below use it)")
    print(f"Headroom   {headroom_for(profile).describe()}.")
    for note in profile.notes:
        print(f"Note       {note}")
    for key, name, crash in recipes.entries():
        model = key.split(" | ")[-2] if key.count(" | ") >= 2 else key
        print(f"Crashed    {model} runs with '{name}' here (llama.cpp crashed {crash})")
    print()
    for line in implications(profile, speed=speed):
        print(line)
    return 0
