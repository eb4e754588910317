"""A private, real OS keychain for tests: Secret Service from ``gnome-keyring-daemon``.

The ``keychain`` fixture starts its own D-Bus session bus (``dbus-daemon --session``)
and a ``gnome-keyring-daemon --unlock --components=secrets`` on it, unlocked with a
known password given on standard input, with every XDG folder in a temporary
directory: a test never sees the user's real keyring, and plain ``pytest`` needs no
wrapper. The test process then talks to it through ``DBUS_SESSION_BUS_ADDRESS``.

The fixture skips (saying why) only when the programs are not installed; CI installs
``dbus`` and ``gnome-keyring``. The ``no_keychain`` fixture gives the opposite: no
session bus at all, so keyring finds no usable backend.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

KEYRING_PASSWORD = "hearth-test-keyring"


@dataclass(frozen=True)
class Keychain:
    """A running private Secret Service."""

    bus_address: str
    data_dir: Path  # where gnome-keyring keeps its keyring files

    def files(self) -> list[Path]:
        return [p for p in self.data_dir.rglob("*") if p.is_file()]


def _wait_for_secret_service(address: str, deadline: float) -> None:
    import secretstorage

    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            connection = secretstorage.dbus_init()
            try:
                if secretstorage.check_service_availability(connection):
                    return
            finally:
                connection.close()
        except Exception as error:  # the bus or the daemon is still starting
            last = error
        time.sleep(0.05)
    raise RuntimeError(f"gnome-keyring-daemon did not appear on {address}: {last}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def keychain(monkeypatch: pytest.MonkeyPatch) -> Iterator[Keychain]:
    """A private unlocked gnome-keyring on a private session bus, for one test."""
    missing = [p for p in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(p) is None]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not installed (apt-get install dbus gnome-keyring); "
            "CI installs them"
        )
    # Short path: gnome-keyring puts unix sockets under XDG_RUNTIME_DIR (108-byte limit).
    root = Path(tempfile.mkdtemp(prefix="hk-", dir="/tmp"))
    env = dict(os.environ)
    for name in ("data", "config", "cache", "run", "home"):
        (root / name).mkdir(mode=0o700)
    env.update(
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_RUNTIME_DIR=str(root / "run"),
    )
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("GNOME_KEYRING_CONTROL", None)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        processes.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        processes.append(daemon)
        assert daemon.stdin is not None
        daemon.stdin.write(KEYRING_PASSWORD.encode())
        daemon.stdin.close()
        for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            monkeypatch.setenv(name, env[name])
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        _wait_for_secret_service(address, time.monotonic() + 15)
        yield Keychain(bus_address=address, data_dir=root / "data")
    finally:
        for process in reversed(processes):
            _stop(process)
        with contextlib.suppress(OSError):
            shutil.rmtree(root)


@pytest.fixture
def no_keychain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No session bus and no keyring configuration: keyring has no usable backend."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no-runtime"))
