"""A private, real OS keychain for tests: Secret Service from ``gnome-keyring-daemon``.

The ``keychain`` fixture starts its own D-Bus session bus (``dbus-daemon --session``)
and a ``gnome-keyring-daemon --components=secrets`` on it, then creates its default
collection, unlocked, with a known password, with every XDG folder in a temporary
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


def _create_unlocked_default_collection(password: str) -> None:
    """Create the "login" collection with a known password, unlocked, as the default.

    ``gnome-keyring-daemon --unlock`` (password on standard input) races with the
    first client: now and then the login keyring it creates stays locked for good,
    and storing a key fails with "Failed to unlock the collection". gnome-keyring's
    own ``CreateWithMasterPassword`` (what its password tools use) does the same
    thing in one call with no race.
    """
    import secretstorage
    from jeepney import DBusAddress, new_method_call
    from jeepney.wrappers import unwrap_msg

    connection = secretstorage.dbus_init()
    try:
        service = DBusAddress(
            "/org/freedesktop/secrets",
            bus_name="org.freedesktop.secrets",
            interface="org.freedesktop.Secret.Service",
        )

        def call(address: DBusAddress, method: str, signature: str, body: tuple) -> tuple:
            message = new_method_call(address, method, signature, body)
            return unwrap_msg(connection.send_and_get_reply(message, timeout=10))  # raises on error

        _output, session = call(service, "OpenSession", "sv", ("plain", ("s", "")))
        internal = DBusAddress(
            "/org/freedesktop/secrets",
            bus_name="org.freedesktop.secrets",
            interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
        )
        label = {"org.freedesktop.Secret.Collection.Label": ("s", "login")}
        secret = (session, b"", password.encode(), "text/plain")
        (path,) = call(internal, "CreateWithMasterPassword", "a{sv}(oayays)", (label, secret))
        call(service, "SetAlias", "so", ("default", path))
        collection = secretstorage.collection.get_collection_by_alias(connection, "default")
        if collection.is_locked():
            raise RuntimeError("gnome-keyring created the default collection locked")
    finally:
        connection.close()


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
            ["gnome-keyring-daemon", "--foreground", "--components=secrets"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        processes.append(daemon)
        for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            monkeypatch.setenv(name, env[name])
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        _wait_for_secret_service(address, time.monotonic() + 15)
        _create_unlocked_default_collection(KEYRING_PASSWORD)
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


class MemoryKeychain:
    """A keyring backend in memory (for tests about something else)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, account: str, value: str) -> None:
        self.items[service, account] = value

    def get_password(self, service: str, account: str) -> str | None:
        return self.items.get((service, account))

    def delete_password(self, service: str, account: str) -> None:
        del self.items[service, account]
