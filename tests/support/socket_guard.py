"""A socket guard: records every IP connection and name lookup this process attempts.

Tests check what leaves the machine by watching the sockets, not by reading the code.
:func:`socket_guard` patches ``socket.socket.connect`` / ``connect_ex`` and
``socket.getaddrinfo`` (which ``socket.create_connection`` and every HTTP client here
go through): each attempt is recorded, loopback stand-ins included, and refused unless
its address is in :attr:`SocketGuard.allowed` (a lookup, unless of a loopback name).
Unix sockets (D-Bus, the keychain) are local and not recorded. Child processes (the
engine process) are not watched.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import pytest

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


@dataclass
class SocketGuard:
    """Every IP connection and name lookup attempted; refuses those not allowed."""

    allowed: set[tuple[str, int]] = field(default_factory=set)
    events: list[tuple[str, Any]] = field(default_factory=list)

    def mark(self, what: str) -> None:
        """Note a moment in the log (e.g. when the person answered)."""
        self.events.append(("mark", what))

    @property
    def network(self) -> list[tuple[str, Any]]:
        """The connection attempts and lookups, without the marks."""
        return [e for e in self.events if e[0] != "mark"]


def install(monkeypatch: pytest.MonkeyPatch) -> SocketGuard:
    """Patch the socket module for the rest of the test; returns the guard's record."""
    state = SocketGuard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            target = (str(address[0]), int(address[1]))
            state.events.append(("connect", target))
            if target not in state.allowed:
                raise ConnectionRefusedError(f"socket guard: connection to {target} refused")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        state.events.append(("lookup", host))
        if host not in LOOPBACK_NAMES:
            raise socket.gaierror(f"socket guard: lookup of {host!r} refused")
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


@pytest.fixture
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> SocketGuard:
    """A :class:`SocketGuard` for one test (nothing allowed until the test says so)."""
    return install(monkeypatch)
