"""How the local server listens and what it allows: addresses, the token, the limits."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from app.core.errors import HearthError
from app.core.settings import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class ServerSetupError(HearthError):
    """The server cannot start as asked (an address in use, no token to require...)."""


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one client may ask of the server, and how long it may take to ask."""

    max_body_bytes: int = 4 * 2**20
    """A larger request body is refused with 413 before it is read."""
    max_messages: int = 1000
    max_inputs: int = 256
    """Texts per embeddings request."""
    max_connections: int = 64
    """Open connections and requests together; more are answered 503 (uvicorn's limit)."""
    header_seconds: float = 10.0
    """A connection that has not sent a whole request line and headers by then is closed."""
    body_seconds: float = 30.0
    """A request body that has not arrived whole by then is refused (408)."""
    send_seconds: float = 60.0
    """A client that reads none of a streamed reply for this long is cut off."""
    keep_alive_seconds: int = 5


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the server listens, the token it requires there, and its limits.

    ``host`` ``127.0.0.1`` or ``localhost`` listens on 127.0.0.1 and ::1. Any address
    that is not loopback needs ``token``: every request must then carry it
    (``Authorization: Bearer``, or ``x-api-key`` as Anthropic's SDK sends it).
    """

    host: str = "127.0.0.1"
    port: int = 8642
    token: str | None = field(default=None, repr=False)
    limits: ServerLimits = field(default_factory=ServerLimits)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, token: str | None = None, limits: ServerLimits | None = None
    ) -> ServerConfig:
        return cls(
            host=settings.server_host,
            port=settings.server_port,
            token=token,
            limits=limits or ServerLimits(),
        )

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse a configuration that would be open to the network without a token."""
        if not self.loopback and not self.token:
            raise ServerSetupError(
                f"Hearth will not listen on {self.host} without a token: any computer that "
                "can reach it could use the model.",
                hint="Listen on 127.0.0.1 (this computer only), or let Hearth keep a token "
                "in the keychain.",
            )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, or ``localhost``) is reachable from this computer only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_names(host: str) -> frozenset[str]:
    """The names a ``Host`` header may give for a server bound to ``host``.

    Always the loopback names; the bound address itself; for a wildcard bind
    (``0.0.0.0``, ``::``) every address of this computer and its host names. Anything
    else is a page that reached the server through a name it does not own (DNS
    rebinding) and is refused.
    """
    names = set(LOOPBACK_NAMES)
    bound = host.strip().strip("[]").lower()
    names.add(bound)
    try:
        wildcard = ipaddress.ip_address(bound).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        names.update(_own_addresses())
        for name in (socket.gethostname(), socket.getfqdn()):
            if name:
                names.update({name.lower(), f"{name.lower()}.local"})
    return frozenset(names)


def _own_addresses() -> set[str]:
    import psutil

    found: set[str] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                found.add(address.address.split("%")[0].lower())
    return found


def host_of(header: str) -> str:
    """The name in a ``Host`` header, without the port, IPv6 brackets kept off."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
