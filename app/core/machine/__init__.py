"""The machine: hardware detection, the memory and speed estimates, their calibration."""

from __future__ import annotations

from app.core.machine.calibration import CalibrationStore, calibration_key
from app.core.machine.display_libraries import check_before_qt
from app.core.machine.hardware import HardwareProfile, detect_hardware
from app.core.machine.speed import SpeedCalibration
from app.core.units import format_bytes  # its old home; new code imports app.core.units

__all__ = [
    "CalibrationStore",
    "HardwareProfile",
    "SpeedCalibration",
    "calibration_key",
    "check_before_qt",
    "detect_hardware",
    "format_bytes",
]
