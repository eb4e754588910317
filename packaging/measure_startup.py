"""Time from process start to the main window, for the bundle and for the source tree.

    .venv/bin/python packaging/measure_startup.py [--runs 5]

Each run starts the app with no command in a fresh HEARTH_HOME (offscreen when there
is no display), waits for the "window shown" line that app.ui.application logs, and
stops the app. The time is taken from the log line's own timestamp, so it does not
include the wait for the file to be polled. Prints the median of each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "bundle": [str(ROOT / "dist" / "Hearth" / "hearth")],
    "source": [sys.executable, "-m", "app"],
}


def time_to_window(command: list[str]) -> float:
    """Seconds from starting ``command`` to its "window shown" log line."""
    with tempfile.TemporaryDirectory(prefix="hearth-startup-") as home:
        log = Path(home) / "logs" / "hearth.log"
        env = {**os.environ, "HEARTH_HOME": home}
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            env["QT_QPA_PLATFORM"] = "offscreen"
        started = time.time()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = started + 60
            while time.time() < deadline:
                shown = _window_shown_at(log)
                if shown is not None:
                    return shown - started
                time.sleep(0.02)
            raise SystemExit(f"{command[0]}: no 'window shown' in {log} after 60 s")
        finally:
            process.terminate()
            process.wait(timeout=30)


def _window_shown_at(log: Path) -> float | None:
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if "window shown" in line:
            stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            return stamp.timestamp()  # local time, as logging writes it
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name, command in COMMANDS.items():
        time_to_window(command)  # a first run warms the disk cache; not counted
        times = [time_to_window(command) for _ in range(args.runs)]
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name}: median {statistics.median(times):.2f} s to the window ({runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
