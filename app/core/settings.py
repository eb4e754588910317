"""Hearth's settings: one typed, documented, validated model in one JSON file.

Every setting is a field of :class:`Settings` with a default, a one-line explanation
and its allowed values. The file carries a ``version`` so later releases can migrate
it; unknown keys are kept out, bad values are refused with a message that says which
values are allowed. Writes go to a temporary file that is moved into place, so a crash
never leaves half a settings file.

:class:`SettingsStore` holds the current settings of a running Hearth: every change
goes through it (saved first, then announced to subscribers with the keys that
changed), so a part that reads ``store.current`` when it acts, or listens, never works
from a stale copy.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.core.claude_models import CLAUDE_MODEL_IDS, DEFAULT_CLAUDE_MODEL
from app.core.errors import HearthError
from app.core.files import write_json_atomic

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1

QUANT_CHOICES = ("auto", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K")
KV_CACHE_CHOICES = ("f16", "q8_0", "q4_0")
THEME_CHOICES = ("system", "light", "dark")
LANGUAGE_CHOICES = ("system", "en", "vi")
ROUTING_CHOICES = ("local", "ask")


class SettingsError(HearthError):
    hint = "Run `hearth config list` to see every setting and its allowed values."


def _setting(
    default: Any,
    help: str,
    *,
    choices: tuple[Any, ...] = (),
    lo: Any = None,
    hi: Any = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """A setting's field; ``check`` validates (and may normalize) a value, raising ValueError."""
    metadata = {"help": help, "choices": choices, "lo": lo, "hi": hi, "check": check}
    return field(default=default, metadata=metadata)


def check_bind_address(text: str) -> str:
    """An address to listen on: an IP address, or ``localhost`` (127.0.0.1 and ::1)."""
    value = text.strip()
    if value.lower() == "localhost":
        return "localhost"
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address (use 127.0.0.1, ::1, localhost, or one of this "
            "computer's addresses)"
        ) from None


FOLDER_KEYS = ("models_dir",)
"""Settings that name a folder Hearth writes in: checked on disk when they change."""


def check_writable_folder(text: str) -> Path:
    """The folder ``text`` names, once Hearth has found it can keep files there.

    The folder may not exist yet (it is made when first needed); then the nearest one
    above it must take files. Writability is tested by creating and removing a file,
    not by permission bits, so the answer is true for root (whom the bits do not stop),
    a read-only disk and an ordinary user alike. Raises :class:`SettingsError`.
    """
    hint = "Choose a folder you can write to, or leave the field empty for Hearth's own."
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        raise SettingsError(f"{text!r} is not a full path to a folder.", hint=hint)
    existing = path
    try:
        while not existing.exists():  # False under a file too: /etc/passwd/x
            existing = existing.parent
        is_folder = existing.is_dir()
    except OSError as error:  # a folder on the way this user may not enter
        reason = error.strerror or type(error).__name__
        raise SettingsError(f"Hearth cannot reach {path}: {reason}.", hint=hint) from None
    if not is_folder:
        if existing == path:
            raise SettingsError(f"{path} is a file, not a folder.", hint=hint)
        raise SettingsError(f"{path} cannot be a folder: {existing} is a file.", hint=hint)
    try:
        handle, probe = tempfile.mkstemp(prefix=".hearth-write-test.", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SettingsError(f"Hearth cannot write in {existing}: {reason}.", hint=hint) from None
    return path


def check_origins(text: str) -> str:
    """Origins a browser page may call the server from, comma-separated, normalized.

    Each is ``scheme://host[:port]`` exactly as a browser sends it (``http://localhost:3000``,
    an app's ``app://obsidian.md``); a wildcard, and ``null`` (every local file's), are refused.
    """
    origins = []
    for part in filter(None, (p.strip() for p in text.replace(" ", ",").split(","))):
        if "*" in part:
            raise ValueError(f"{part!r}: list each origin; a wildcard is never allowed")
        url = urllib.parse.urlsplit(part)
        if not url.scheme or not url.hostname or url.scheme == "file":
            raise ValueError(f"{part!r} is not an origin such as http://localhost:3000")
        if url.path not in ("", "/") or url.query or url.fragment or url.username:
            raise ValueError(f"{part!r}: an origin has no path, query or user name")
        origins.append(part.rstrip("/").lower())
    return ",".join(dict.fromkeys(origins))


@dataclass(frozen=True, slots=True)
class RemoteServer:
    """An OpenAI-compatible server on another computer (or this one) that Hearth may use.

    ``allowed`` is the person's opt-in to send conversations there; it matters only for a
    server that is not on loopback (see :func:`app.core.cloud.remote.leaves_machine`).
    Its token, if any, is in the keychain (``KeyStore.remote_token(name)``), never here.
    """

    name: str
    url: str
    allowed: bool = False


def check_remote_url(text: str) -> str:
    """A server's base URL: ``http(s)://host[:port][/path]``, without a trailing slash."""
    url = urllib.parse.urlsplit(text.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"{text!r} is not a server address such as http://192.168.1.20:8080/v1")
    if url.username or url.password or url.query or url.fragment:
        raise ValueError(f"{text!r}: give the address only (a token goes in the keychain)")
    return text.strip().rstrip("/")


def check_remote_name(text: str) -> str:
    """A remote's name: a short label without spaces at its ends or ``:``."""
    name = text.strip()
    if not name or len(name) > 64 or ":" in name or any(c.isspace() for c in name):
        raise ValueError(f"{text!r} is not a name (1-64 characters, no spaces or ':')")
    return name


def check_remotes(value: Any) -> tuple[RemoteServer, ...]:
    """The remote servers, from the file's list of objects (or its JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as error:
            raise ValueError(f"not a JSON list of servers ({error.msg})") from None
    if not isinstance(value, list | tuple):
        raise ValueError("a list of servers, each with a name and a url")
    remotes: list[RemoteServer] = []
    for item in value:
        if isinstance(item, RemoteServer):
            item = asdict(item)
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ValueError("each server needs a name and a url")
        name = check_remote_name(str(item.get("name", "")))
        if any(r.name == name for r in remotes):
            raise ValueError(f"two servers are called {name!r}")
        remotes.append(
            RemoteServer(name, check_remote_url(item["url"]), bool(item.get("allowed", False)))
        )
    return tuple(remotes)


@dataclass(frozen=True)
class Settings:
    """Every user setting, with its default."""

    quantization: str = _setting(
        "auto",
        "Which quantization to download: auto picks the best quality that fits.",
        choices=QUANT_CHOICES,
    )
    gpu_layers: int = _setting(
        -1,
        "Layers to offload to the GPU: -1 lets Hearth decide, 0 keeps the model on the CPU.",
        lo=-1,
        hi=1000,
    )
    context_length: int = _setting(
        4096,
        "Tokens the model can see at once; longer contexts need more memory.",
        lo=256,
        hi=1_048_576,
    )
    threads: int = _setting(
        0, "CPU threads for generation: 0 uses the physical cores.", lo=0, hi=512
    )
    batch_size: int = _setting(
        512, "Tokens evaluated per step while reading the prompt.", lo=1, hi=8192
    )
    flash_attention: bool = _setting(
        False, "Use flash attention (faster and smaller on most GPUs)."
    )
    kv_cache_type: str = _setting(
        "f16",
        "Precision of the context memory: q8_0 halves it at a small quality cost.",
        choices=KV_CACHE_CHOICES,
    )
    temperature: float = _setting(
        0.7, "Randomness of replies: 0 always picks the likeliest word.", lo=0.0, hi=5.0
    )
    top_p: float = _setting(
        0.95, "Sample only from the words making up this much probability.", lo=0.0, hi=1.0
    )
    top_k: int = _setting(
        40, "Sample only from this many likeliest words (0: all).", lo=0, hi=100_000
    )
    min_p: float = _setting(
        0.05, "Drop words less likely than this fraction of the likeliest one.", lo=0.0, hi=1.0
    )
    repeat_penalty: float = _setting(
        1.1, "Discourage repeating recent words (1.0: off).", lo=0.0, hi=5.0
    )
    max_tokens: int = _setting(2048, "Longest reply, in tokens.", lo=1, hi=1_048_576)
    seed: int = _setting(
        -1, "Random seed for sampling: -1 picks a new one each time.", lo=-1, hi=2**31 - 1
    )
    system_prompt: str = _setting(
        "You are a helpful assistant.", "The instruction every new conversation starts with."
    )
    theme: str = _setting("system", "Light, dark, or follow the system.", choices=THEME_CHOICES)
    language: str = _setting(
        "system",
        "The window's language: English (en), Vietnamese (vi), or the system's "
        "(English when Hearth has no translation for it); read when Hearth starts.",
        choices=LANGUAGE_CHOICES,
    )
    models_dir: str = _setting("", "Folder for downloaded models (empty: Hearth's data folder).")
    offline: bool = _setting(
        False, "Make no network call at all; downloads and Claude are then unavailable."
    )
    claude_enabled: bool = _setting(
        False,
        "Allow sending a conversation's messages and system prompt to Anthropic's Claude "
        "API, only when you ask and after a preview. Off: nothing is ever sent.",
    )
    claude_model: str = _setting(
        DEFAULT_CLAUDE_MODEL,
        "The Claude model used when you send to Claude.",
        choices=CLAUDE_MODEL_IDS,
    )
    routing: str = _setting(
        "local",
        "Where replies come from: local only, or ask each time whether to use Claude.",
        choices=ROUTING_CHOICES,
    )
    docs_chunk_tokens: int = _setting(
        200,
        "Local documents: tokens (words and punctuation marks) per indexed chunk.",
        lo=32,
        hi=400,
    )
    docs_chunk_overlap: int = _setting(
        40,
        "Local documents: tokens each chunk repeats from the one before (less than a chunk).",
        lo=0,
        hi=200,
    )
    docs_embedding_model: str = _setting(
        "",
        "Local documents: the GGUF embedding model (a path or an installed model's name; "
        "empty: an installed all-MiniLM-L6-v2 or nomic-embed-text).",
    )
    docs_collections: str = _setting(
        "",
        "Local documents: the collections a new chat answers from (comma-separated names; "
        "each chat can change its own).",
    )
    docs_max_file_mb: int = _setting(
        64, "Local documents: larger files are skipped (the reason is listed).", lo=1, hi=4096
    )
    docs_max_text_chars: int = _setting(
        2_000_000,
        "Local documents: text read from one file at most (a PDF that expands is cut there).",
        lo=10_000,
        hi=100_000_000,
    )
    server_host: str = _setting(
        "127.0.0.1",
        "Address `hearth serve` listens on: 127.0.0.1 (with ::1) is this computer only; any "
        "other address needs the server token.",
        check=check_bind_address,
    )
    server_port: int = _setting(
        8642, "Port of the local server (0: any free port).", lo=0, hi=65535
    )
    server_allowed_origins: str = _setting(
        "",
        "Web pages (origins such as http://localhost:3000, comma-separated) allowed to call "
        "the local server from a browser; empty: none.",
        check=check_origins,
    )
    server_log_bodies: bool = _setting(
        False, "Write prompts and replies to the local server's log (off: only the request line)."
    )
    server_queue: int = _setting(
        16,
        "Requests the local server keeps waiting for the model before answering busy.",
        lo=0,
        hi=1024,
    )
    server_max_tokens: int = _setting(
        4096, "The longest reply a client of the local server may ask for.", lo=1, hi=1_048_576
    )
    remotes: tuple[RemoteServer, ...] = _setting(
        (),
        "OpenAI-compatible servers on your other computers (name, url, and whether you allow "
        "sending conversations there); edit them in Settings → Remote servers or with "
        "`hearth remote`.",
        check=check_remotes,
    )
    version: int = field(default=SETTINGS_VERSION, metadata={"help": "Settings file format."})

    # -- access by name (the settings panel and `hearth config` use these) ------------

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "version"]

    @classmethod
    def describe(cls, key: str) -> str:
        return str(_field(key).metadata["help"])

    @classmethod
    def choices(cls, key: str) -> tuple[Any, ...]:
        return tuple(_field(key).metadata["choices"])

    def get(self, key: str) -> Any:
        _field(key)
        return getattr(self, key)

    def with_value(self, key: str, value: Any) -> Settings:
        """A copy with ``key`` set to ``value`` (text is parsed), validated."""
        return replace(self, **{key: _coerce(_field(key), value)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def remote(self, name: str) -> RemoteServer | None:
        """The remote server called ``name``, or None."""
        return next((r for r in self.remotes if r.name == name), None)

    def models_folder(self) -> Path:
        """Where models are kept: ``models_dir`` if set, else Hearth's data folder."""
        if self.models_dir:
            return Path(self.models_dir).expanduser()
        from app.core.paths import app_paths

        return app_paths().models


def _field(key: str) -> Any:
    for f in fields(Settings):
        if f.name == key and key != "version":
            return f
    raise SettingsError(f"There is no setting called {key!r}.")


def _coerce(f: Any, value: Any) -> Any:
    kind = type(f.default)
    name = f.name
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
                    raise ValueError(value)
                value = lowered in ("true", "on", "yes", "1")
            elif not isinstance(value, bool):
                raise ValueError(value)
        elif kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            value = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            value = float(value)
            if not math.isfinite(value):  # nan would slip past every bound below
                raise ValueError(value)
        elif kind is str and not isinstance(value, str):
            raise ValueError(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be {kind.__name__}, not {value!r}.") from None
    meta = f.metadata
    if meta["check"] is not None:
        try:
            value = meta["check"](value)
        except ValueError as error:
            raise SettingsError(f"{name}: {error}.") from None
    if meta["choices"] and value not in meta["choices"]:
        allowed = ", ".join(str(c) for c in meta["choices"])
        raise SettingsError(f"{name} must be one of {allowed}; {value!r} is not.")
    if meta["lo"] is not None and value < meta["lo"]:
        raise SettingsError(f"{name} must be at least {meta['lo']}; {value!r} is too small.")
    if meta["hi"] is not None and value > meta["hi"]:
        raise SettingsError(f"{name} must be at most {meta['hi']}; {value!r} is too large.")
    return value


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older file's keys up to SETTINGS_VERSION (version 1 is the first)."""
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SettingsError(
            f"The settings file does not say which format it is in (version {version!r}).",
            hint="Fix the version line, or move the settings file away to start from defaults.",
        )
    if version > SETTINGS_VERSION:
        raise SettingsError(
            f"The settings file is from a newer Hearth (format {version!r}).",
            hint="Update Hearth, or move the settings file away to start from defaults.",
        )
    data["version"] = SETTINGS_VERSION
    return data


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Settings from ``path``; defaults when the file does not exist yet.

    A damaged file or a bad value raises SettingsError naming it; the file is left
    as it is so nothing the user set is lost.
    """
    file = Path(path)
    if not file.exists():
        return Settings()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(
            f"The settings file {file} cannot be read: {error}.",
            hint="Fix or delete the file; Hearth then starts from its defaults.",
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(f"The settings file {file} does not hold settings.")
    data = _migrate(data)
    settings = Settings()
    known = Settings.keys()
    for key, value in data.items():
        if key == "version" or key not in known:
            continue
        try:
            settings = settings.with_value(key, value)
        except SettingsError as error:
            raise SettingsError(
                f"The settings file {file} has a bad value: {error}",
                hint="Correct that value in the file, or delete the file to start from defaults.",
            ) from None
    return settings


def save_settings(settings: Settings, path: str | os.PathLike[str]) -> None:
    """Write ``settings`` to ``path`` atomically."""
    write_json_atomic(path, settings.to_dict(), sort_keys=True)


# ------------------------------------------------------------------------------------
# The live settings of a running Hearth


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What one change did: the settings before and after, and the keys that differ."""

    before: Settings
    after: Settings
    keys: frozenset[str]


SettingsListener = Callable[[SettingsChange], None]


class SettingsStore:
    """The current :class:`Settings`, kept in one file, announcing every change.

    :meth:`update` and :meth:`set` validate, save atomically, then call each
    subscriber (on the caller's thread) with a :class:`SettingsChange`; a save that
    fails raises and changes nothing. :meth:`reload` takes in what another process
    (``hearth config set``) wrote to the file.
    """

    def __init__(self, path: str | os.PathLike[str], *, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self._current = settings if settings is not None else Settings()
        self._listeners: list[SettingsListener] = []
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SettingsStore:
        """The store of the file at ``path`` (defaults when it does not exist yet).

        A damaged file raises :class:`SettingsError` and is left as it is.
        """
        return cls(path, settings=load_settings(path))

    @property
    def current(self) -> Settings:
        """The settings now; read it when acting, do not keep it."""
        return self._current

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call ``listener`` after every change; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def update(self, settings: Settings) -> frozenset[str]:
        """Save ``settings`` and make them current; returns the keys that changed.

        A folder setting that changed must name a folder Hearth can write in
        (:func:`check_writable_folder`), else :class:`SettingsError`. Raises
        :class:`OSError` when the file cannot be written. Nothing changes on either.
        """
        with self._lock:
            before = self._current
            keys = _changed_keys(before, settings)
            if not keys:
                return keys
            for key in keys.intersection(FOLDER_KEYS):
                if settings.get(key):
                    try:
                        check_writable_folder(settings.get(key))
                    except SettingsError as error:
                        raise SettingsError(f"{key}: {error}", hint=error.hint) from None
            save_settings(settings, self.path)
            self._current = settings
        self._announce(SettingsChange(before, settings, keys))
        return keys

    def set(self, key: str, value: Any) -> frozenset[str]:
        """Validate ``value`` for ``key`` (text is parsed), save, announce."""
        return self.update(self._current.with_value(key, value))

    def reload(self) -> frozenset[str]:
        """Read the file again and announce what another process changed in it.

        A damaged file raises :class:`SettingsError`; the current settings stay.
        """
        with self._lock:
            settings = load_settings(self.path)
            before = self._current
            keys = _changed_keys(before, settings)
            if not keys:
                return keys
            self._current = settings
        self._announce(SettingsChange(before, settings, keys))
        return keys

    def _announce(self, change: SettingsChange) -> None:
        # Every listener hears of the change even if one fails (the change is made and
        # saved); the first failure is raised afterwards, so a bug is not hidden.
        with self._lock:
            listeners = list(self._listeners)
        failure: BaseException | None = None
        for listener in listeners:
            try:
                listener(change)
            except Exception as error:
                log.exception("A settings listener failed on %s", sorted(change.keys))
                failure = failure or error
        if failure is not None:
            raise failure


def _changed_keys(before: Settings, after: Settings) -> frozenset[str]:
    return frozenset(k for k in Settings.keys() if before.get(k) != after.get(k))  # noqa: SIM118 (a class)
