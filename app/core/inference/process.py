"""llama.cpp in its own supervised process: a crash is an event, not the end of the app.

:class:`EngineProcess` has the same calls as the in-process
:class:`app.core.inference.engine.Engine` (``load``, ``chat``, ``complete``, ``stop``, ``close``)
and runs that engine in a child process (:mod:`app.core.inference.host`). The app, the CLI
and the self-test use it; any number of threads may share one (a second client's request
waits its turn in order, or with ``wait=False`` is told the engine is busy), so the app
and a local server can share one loaded model without interleaving inside one context.

When the child dies — a signal such as SIGSEGV in a CPU kernel, the out-of-memory killer,
an abort — or makes no progress for ``hang_seconds`` while generating (then Hearth kills
it), the supervisor:

1. keeps everything already streamed: the reply ends with ``StopReason.CRASHED`` and a
   notice that says what happened in plain words;
2. starts a new engine process and loads the model again one rung further down the
   :data:`LADDER` of safer configurations, saying what it changed; a reply that had not
   streamed anything yet is retried there at once, so the user only sees the notice;
3. remembers the rung that works for this model file on this machine
   (``engine-recipes.json`` in Hearth's cache folder, beside the memory calibration), so
   the next load goes straight to it;
4. gives up with :class:`EngineCrashedError` when the ladder is exhausted: no restart loop.

The ladder, each rung keeping the changes of those above it (rungs that would change
nothing for the settings asked for are skipped):

1. the settings asked for;
2. llama.cpp's extra weight buffers off (``use_extra_bufts``: the AMX and repacked CPU
   kernels, which crash on some Xeons);
3. a batch of 64 tokens;
4. half the GPU layers; 5. no GPU layers;
6. (portable builds only) the next lower CPU variant of llama.cpp.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, cast

from app.core.errors import HearthError, NoModelLoadedError
from app.core.files import write_json_atomic
from app.core.generation import Message, Reply, ReplyStats, SamplingOptions, StopReason
from app.core.inference.host import read_frame, write_frame
from app.core.inference.types import Grammar, LoadedModel, LoadOptions

log = logging.getLogger(__name__)

HANG_SECONDS = 120.0
"""No token and no prompt progress for this long while generating: the engine is hung."""
START_SECONDS = 120.0
"""How long a new engine process may take to say hello (importing llama.cpp)."""
RECIPES_FILE = "engine-recipes.json"
CPU_VARIANT_ENV = "HEARTH_CPU_VARIANT"


class EngineCrashedError(HearthError):
    """The engine process died and could not be brought back for this model."""

    hint = (
        "Try another quantization of the model, or a smaller model. Hearth's log "
        "(engine.log) has llama.cpp's last words."
    )


class EngineBusyError(HearthError):
    """Another client's reply is in progress and the caller asked not to wait."""

    hint = "Wait for the reply in progress to finish, or stop it."


# -- the ladder ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Configuration:
    """What one rung loads with: the options and the engine process's environment."""

    options: LoadOptions
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rung:
    name: str
    says: str
    """What Hearth changed, in the user's words."""
    change: Callable[[Configuration, EngineInfo], Configuration]


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """What a new engine process said about itself."""

    pid: int
    machine: str
    cpu_variant: str | None = None
    cpu_variants: tuple[str, ...] = ()

    def lower_variant(self, current: str | None) -> str | None:
        """The CPU variant one step below ``current`` (variants are listed best first)."""
        names = list(self.cpu_variants)
        if not names:
            return None
        if current not in names:
            current = self.cpu_variant
        if current not in names:
            return None
        index = names.index(current)
        return names[index + 1] if index + 1 < len(names) else None


def _half_gpu(config: Configuration, _info: EngineInfo) -> Configuration:
    layers = config.options.gpu_layers
    if layers == 0:
        return config
    half = max(layers // 2, 0) if layers > 0 else 16
    return replace(config, options=replace(config.options, gpu_layers=half))


def _lower_cpu(config: Configuration, info: EngineInfo) -> Configuration:
    lower = info.lower_variant(config.env.get(CPU_VARIANT_ENV))
    if lower is None:
        return config
    return replace(config, env={**config.env, CPU_VARIANT_ENV: lower})


LADDER: tuple[Rung, ...] = (
    Rung("as-asked", "the settings asked for", lambda config, _info: config),
    Rung(
        "no-extra-buffers",
        "llama.cpp's extra weight buffers (AMX and repacked CPU kernels) turned off",
        lambda config, _info: replace(config, options=replace(config.options, extra_buffers=False)),
    ),
    Rung(
        "small-batch",
        "a smaller batch (64 tokens)",
        lambda config, _info: replace(
            config, options=replace(config.options, batch_size=min(config.options.batch_size, 64))
        ),
    ),
    Rung("half-gpu", "half as many layers on the GPU", _half_gpu),
    Rung(
        "cpu-only",
        "no layers on the GPU",
        lambda config, _info: replace(config, options=replace(config.options, gpu_layers=0)),
    ),
    Rung("lower-cpu", "llama.cpp's next simpler CPU kernels", _lower_cpu),
)


def configure(options: LoadOptions, rung: int, info: EngineInfo) -> Configuration:
    """The configuration of ``rung``: every change from the top of the ladder down to it."""
    config = Configuration(options=options)
    for step in LADDER[1 : rung + 1]:
        config = step.change(config, info)
    return config


def next_rung(options: LoadOptions, rung: int, info: EngineInfo) -> int | None:
    """The first rung below ``rung`` that changes something, or None at the bottom."""
    current = configure(options, rung, info)
    for candidate in range(rung + 1, len(LADDER)):
        if configure(options, candidate, info) != current:
            return candidate
    return None


def describe_rung(options: LoadOptions, rung: int, info: EngineInfo) -> str:
    """What rung ``rung`` changed from the settings asked for, for a notice."""
    changes = []
    config = Configuration(options=options)
    for step in LADDER[1 : rung + 1]:
        changed = step.change(config, info)
        if changed != config:
            changes.append(step.says)
        config = changed
    return "; ".join(changes) or LADDER[0].says


# -- what worked, per model file and machine -----------------------------------------------


class RecipeStore:
    """The ladder rung that works for a model file on a machine (``engine-recipes.json``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            from app.core.paths import app_paths

            path = app_paths().cache / RECIPES_FILE
        self.path = Path(path)

    @staticmethod
    def key(machine: str, model: Path) -> str:
        try:
            size = model.stat().st_size
        except OSError:
            size = -1
        return f"{machine} | {model.name} | {size}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def rung(self, key: str) -> int:
        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return 0
        rung = entry.get("rung", 0)
        return rung if isinstance(rung, int) and 0 <= rung < len(LADDER) else 0

    def entries(self) -> list[tuple[str, str, str]]:
        """Every remembered model: (key, rung name, the crash that led there)."""
        return [
            (key, str(entry.get("name", "")), str(entry.get("crash", "")))
            for key, entry in sorted(self._read().items())
            if isinstance(entry, dict)
        ]

    def forget(self) -> int:
        """Forget every remembered rung (after an update, say); how many there were."""
        count = len(self.entries())
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return count

    def remember(self, key: str, rung: int, *, crash: str) -> None:
        data = self._read()
        data[key] = {"rung": rung, "name": LADDER[rung].name, "crash": crash, "when": time.time()}
        try:
            write_json_atomic(self.path, data, sort_keys=True)
        except OSError as error:
            log.warning("Could not save what works for this model: %s", error)


# -- a dead engine, in plain words ---------------------------------------------------------

_SIGNAL_WORDS = {
    "SIGSEGV": "a memory access fault (segmentation fault)",
    "SIGBUS": "a memory access fault (bus error)",
    "SIGILL": "an instruction this processor does not have (illegal instruction)",
    "SIGFPE": "an arithmetic fault",
    "SIGABRT": "llama.cpp aborted",
    "SIGKILL": "it was killed, usually by the system when memory runs out",
    "SIGTERM": "it was asked to end",
}


def describe_exit(returncode: int | None) -> str:
    """How a process ended, in plain words with the signal's name and number."""
    if returncode is None:
        return "it stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
        words = _SIGNAL_WORDS.get(name, name)
        return f"{words} ({name}, signal {-returncode})"
    if sys.platform == "win32" and returncode >= 0xC0000000:
        return f"a Windows exception (0x{returncode:08X})"
    return f"it exited with code {returncode}"


class _Died(Exception):
    """The engine process is gone; ``words`` say how."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


# -- one engine process -----------------------------------------------------------------


def host_command() -> list[str]:
    """How to start an engine process: the bundle's own executable, or this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine-host"]
    return [sys.executable, "-m", "app.core.inference.host"]


class _Child:
    """One running engine process, its pipes, and a thread reading its messages."""

    def __init__(self, env: Mapping[str, str]) -> None:
        environment = {**os.environ, **env}
        if not getattr(sys, "frozen", False):
            # The child runs the same code as this process, wherever it was imported from.
            root = str(Path(__file__).resolve().parents[3])  # app/core/inference/process.py
            environment["PYTHONPATH"] = os.pathsep.join(
                filter(None, [root, environment.get("PYTHONPATH")])
            )
        self.env = dict(env)
        self.process = subprocess.Popen(
            host_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            # Its own process group: a terminal's Ctrl-C reaches the app, not the engine.
            start_new_session=sys.platform != "win32",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self._inbox = cast(BinaryIO, self.process.stdout)
        self._outbox = cast(BinaryIO, self.process.stdin)
        self._send_lock = threading.Lock()
        self.events: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        self.last_words: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read, name="engine-events", daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        while True:
            try:
                message = read_frame(self._inbox)
            except Exception:  # EOF, a cut frame: the process is gone or going
                self.events.put(("died", 0, None))
                return
            self.events.put(message)

    def _read_stderr(self, stream: BinaryIO) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self.last_words.append(line)
                log.info("engine: %s", line)

    def send(self, message: tuple[Any, ...]) -> None:
        # When it died, the reader thread reports that.
        with self._send_lock, contextlib.suppress(BrokenPipeError, OSError, ValueError):
            write_frame(self._outbox, message)

    def death(self, *, hung: float | None = None) -> _Died:
        """End the process if needed and say how it ended."""
        if hung is not None:
            self.kill()
            return _Died(f"llama.cpp made no progress for {hung:.0f} s (it hung)")
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.returncode
        words = describe_exit(code)
        detail = [w for w in self.last_words if any(k in w for k in ("error", "ASSERT", "fail"))]
        if detail:
            words += f"; its last words: {detail[-1][:300]}"
        return _Died(words)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def close(self, timeout: float = 10.0) -> None:
        """Ask the process to end; kill it if it does not."""
        self.send(("exit", 0))
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        for stream in (self._outbox, self._inbox):
            with contextlib.suppress(OSError):
                stream.close()


class _Turns:
    """First come, first served: one request at a time, in the order they asked."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._serving = 0

    def acquire(
        self,
        *,
        wait: bool,
        timeout: float | None = None,
        on_wait: Callable[[int], None] | None = None,
    ) -> Callable[[], None]:
        """Wait for this caller's turn; returns its release, which works once.

        With a ``timeout`` that passes, the turn is taken anyway (for closing only).
        ``on_wait`` hears how many turns are ahead each time that changes while this one
        waits, then 0 when its turn comes (called with the queue held: it must not block).
        """
        with self._cond:
            if not wait and self._next != self._serving:
                raise EngineBusyError("The model is busy with another reply.")
            ticket = self._next
            self._next += 1
            deadline = None if timeout is None else time.monotonic() + timeout
            told: int | None = None
            while self._serving < ticket:
                if on_wait is not None and ticket - self._serving != told:
                    told = ticket - self._serving
                    on_wait(told)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            self._serving = max(self._serving, ticket)
            if told is not None and on_wait is not None:
                on_wait(0)
        done = threading.Event()

        def release() -> None:
            if not done.is_set():
                done.set()
                self.release()

        return release

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def held(self, *, wait: bool = True) -> Iterator[None]:
        self.acquire(wait=wait)
        try:
            yield
        finally:
            self.release()


@dataclass(slots=True)
class _Loaded:
    path: Path
    options: LoadOptions  # as asked; the rung's changes are applied on top
    back_off: bool
    rung: int


class EngineProcess:
    """The local model, run in a supervised child process. See the module docstring."""

    def __init__(
        self,
        *,
        hang_seconds: float = HANG_SECONDS,
        recipes: RecipeStore | None = None,
        on_notice: Callable[[str], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``on_notice`` hears what Hearth changed after a crash, as it happens."""
        self.hang_seconds = hang_seconds
        self._recipes = recipes or RecipeStore()
        self._on_notice = on_notice
        self._env = dict(env or {})
        self._turns = _Turns()
        self._child: _Child | None = None
        self._info: EngineInfo | None = None
        self._model: LoadedModel | None = None
        self._loaded: _Loaded | None = None
        self._ids = 0
        self._active: int | None = None
        self._active_reply: weakref.ref[Reply] | None = None
        self._lock = threading.Lock()
        self._reply_lock = threading.Lock()  # _active and _active_reply change together
        self._closed = False
        self.restarts = 0
        """How many times an engine process was started again after a crash."""

    # -- state ------------------------------------------------------------------------------

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def pid(self) -> int | None:
        """The engine process's id (tests send it real signals)."""
        return self._child.pid if self._child is not None else None

    @property
    def info(self) -> EngineInfo | None:
        return self._info

    @property
    def rung(self) -> int:
        """The ladder rung the loaded model runs on (0: as asked)."""
        return self._loaded.rung if self._loaded else 0

    # -- the process ------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _ensure_child(self, env: Mapping[str, str]) -> _Child:
        wanted = {**self._env, **env}
        if self._child is not None and self._child.process.poll() is None:
            if self._child.env == wanted:
                return self._child
            self._child.close()
        child = _Child(wanted)
        self._child = child
        try:
            kind, _id, payload = child.events.get(timeout=START_SECONDS)
        except queue.Empty:
            raise child.death(hung=START_SECONDS) from None
        if kind != "hello":
            raise child.death()
        self._info = EngineInfo(
            pid=int(payload["pid"]),
            machine=str(payload["machine"]),
            cpu_variant=payload.get("cpu_variant"),
            cpu_variants=tuple(payload.get("cpu_variants") or ()),
        )
        return child

    def _drop_child(self) -> None:
        if self._child is not None:
            self._child.kill()
        self._child = None

    def _events(self, request: int, *, hang: float | None) -> Iterator[tuple[str, Any]]:
        """The child's messages about ``request``; raises _Died when it dies or hangs."""
        child = self._child
        assert child is not None
        while True:
            try:
                kind, about, payload = child.events.get(timeout=hang)
            except queue.Empty:
                assert hang is not None
                raise child.death(hung=hang) from None
            if kind == "died":
                raise child.death()
            if about == request or kind == "progress":
                yield kind, payload

    def _ask(self, message: tuple[Any, ...], *, until: str) -> Any:
        """Send a request and wait for its answer; raise what the engine raised."""
        assert self._child is not None
        request = message[1]
        self._child.send(message)
        for kind, payload in self._events(request, hang=None):
            if kind == until:
                return payload
            if kind == "error":
                raise payload

    # -- loading ------------------------------------------------------------------------------

    def load(
        self,
        path: str | os.PathLike[str],
        options: LoadOptions | None = None,
        *,
        back_off: bool = True,
    ) -> LoadedModel:
        """Load ``path`` in the engine process, down the ladder if it crashes there."""
        with self._turns.held():
            self._closed = False
            self._model = None
            self._loaded = None
            return self._load_from(Path(path), options or LoadOptions(), back_off, None, [])

    def _load_from(
        self,
        file: Path,
        options: LoadOptions,
        back_off: bool,
        rung: int | None,
        crashes: list[str],
    ) -> LoadedModel:
        """Load from ``rung`` down (None: the rung remembered for this file here, or 0)."""
        remembered = False
        info = self._info or EngineInfo(pid=0, machine="")
        while True:
            at = rung or 0
            try:
                self._ensure_child(configure(options, at, info).env)
                info = self._info or info
                if rung is None:
                    rung = at = self._recipes.rung(RecipeStore.key(info.machine, file))
                    remembered = rung > 0
                config = configure(options, at, info)
                self._ensure_child(config.env)
                model: LoadedModel = self._ask(
                    ("load", self._new_id(), str(file), config.options, back_off), until="loaded"
                )
            except _Died as death:
                self._drop_child()
                crashes.append(f"with {describe_rung(options, at, info)}: {death.words}")
                lower = next_rung(options, at, info)
                if lower is None:
                    raise EngineCrashedError(
                        f"llama.cpp crashed loading {file.name} every way Hearth knows ("
                        + "; ".join(crashes)
                        + ")."
                    ) from None
                rung = lower
                self.restarts += 1
                continue
            break
        self._loaded = _Loaded(path=file, options=options, back_off=back_off, rung=at)
        key = RecipeStore.key(info.machine, file)
        if crashes:
            self._recipes.remember(key, at, crash="; ".join(crashes))
        if at:
            how = describe_rung(options, at, info)
            if crashes:
                said = (
                    f"llama.cpp crashed ({crashes[-1]}); Hearth restarted it and now runs "
                    f"{file.name} with {how}."
                )
            elif remembered:
                said = (
                    f"{file.name} crashed llama.cpp on this computer before; Hearth runs it "
                    f"with {how}."
                )
            else:
                said = f"Hearth runs {file.name} with {how}."
            model.notice = f"{model.notice} {said}" if model.notice else said
        self._model = model
        return model

    def _recover(self, death: _Died) -> tuple[bool, str]:
        """After a death mid-request: reload one rung down. (worked, what to tell the user)."""
        self._drop_child()
        self._model = None
        loaded = self._loaded
        words = f"The model stopped unexpectedly: {death.words}."
        if loaded is None or self._closed:
            return False, words
        info = self._info or EngineInfo(pid=0, machine="")
        lower = next_rung(loaded.options, loaded.rung, info)
        if lower is None:
            self._loaded = None
            return False, (
                f"{words} Hearth had already tried every safer configuration "
                f"({describe_rung(loaded.options, loaded.rung, info)}) and gave up; "
                "load the model again, or choose another."
            )
        self.restarts += 1
        crash = f"with {describe_rung(loaded.options, loaded.rung, info)}: {death.words}"
        try:
            self._load_from(loaded.path, loaded.options, loaded.back_off, lower, [crash])
        except HearthError as error:
            self._loaded = None
            return False, f"{words} Reloading it failed: {error}"
        how = describe_rung(loaded.options, self.rung, info)
        return True, f"{words} Hearth restarted it with {how}."

    # -- replies --------------------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        sampling: SamplingOptions | None = None,
        *,
        ignore_eos: bool = False,
        stop: Sequence[str] = (),
        grammar: Grammar | None = None,
        wait: bool = True,
        on_wait: Callable[[int], None] | None = None,
    ) -> Reply:
        """Start a reply to ``messages`` (see :meth:`app.core.inference.engine.Engine.chat`).

        The returned reply holds the engine until it is read to the end or closed. While
        other clients' requests (the local server's) hold the engine, ``on_wait`` hears
        how many are ahead, then 0 when this one's turn comes (see ``_Turns.acquire``).
        """
        request = (
            "chat",
            list(messages),
            sampling or SamplingOptions(),
            ignore_eos,
            list(stop),
            grammar,
        )
        return self._start(request, wait=wait, on_wait=on_wait)

    def complete(
        self,
        prompt: str,
        sampling: SamplingOptions | None = None,
        *,
        ignore_eos: bool = False,
        stop: Sequence[str] = (),
        grammar: Grammar | None = None,
        wait: bool = True,
    ) -> Reply:
        """Continue raw ``prompt`` text, with no chat format (``stop``, ``grammar``: as chat)."""
        request = (
            "complete",
            prompt,
            sampling or SamplingOptions(),
            ignore_eos,
            list(stop),
            grammar,
        )
        return self._start(request, wait=wait)

    def count_tokens(self, texts: Sequence[str], *, wait: bool = True) -> list[int]:
        """How many tokens the loaded model reads for each text (usage figures)."""
        with self._turns.held(wait=wait):
            if self._model is None or self._child is None:
                raise NoModelLoadedError("No model is loaded.")
            try:
                counts: list[int] = self._ask(
                    ("count", self._new_id(), list(texts)), until="counted"
                )
            except _Died as death:
                worked, words = self._recover(death)
                raise EngineCrashedError(
                    words if not worked else f"{words} Send it again."
                ) from None
            return counts

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, wait: bool = True
    ) -> list[list[float]]:
        """One vector per text from the loaded embedding model (in the engine process).

        A crash restarts the engine down the ladder and asks once more; a second
        crash raises EngineCrashedError.
        """
        with self._turns.held(wait=wait):
            for attempt in (1, 2):
                if self._model is None or self._child is None:
                    raise NoModelLoadedError("No embedding model is loaded.")
                try:
                    vectors: list[list[float]] = self._ask(
                        ("embed", self._new_id(), list(texts), normalize), until="embedded"
                    )
                    return vectors
                except _Died as death:
                    worked, words = self._recover(death)
                    self._notify(words)
                    if not worked or attempt == 2:
                        raise EngineCrashedError(words) from None
        raise AssertionError("unreachable")

    def _start(
        self,
        request: tuple[Any, ...],
        *,
        wait: bool,
        on_wait: Callable[[int], None] | None = None,
    ) -> Reply:
        release = self._turns.acquire(wait=wait, on_wait=on_wait)
        try:
            if self._model is None or self._child is None:
                raise NoModelLoadedError("No model is loaded.")
            rid = self._new_id()
            with self._reply_lock:
                self._active = rid
            self._child.send((request[0], rid, *request[1:]))
            started = self._started(rid)
        except _Died as death:
            worked, words = self._recover(death)
            self._set_active(None, None)
            release()
            raise EngineCrashedError(words if not worked else f"{words} Send it again.") from None
        except BaseException:
            self._set_active(None, None)
            release()
            raise
        reply = Reply(prompt_tokens=started[0], dropped=started[1])
        reply._pieces = self._stream(reply, request, rid, release)

        def abandon() -> None:  # closed before it was read: stop it, free the engine
            try:
                final = self._cancel(rid)
                if final is not None:
                    reply.stats = replace(final, stop_reason=StopReason.USER, completion_tokens=0)
            finally:
                self._active = None
                release()

        reply._abandon = abandon
        self._set_active(rid, reply)
        # A reply dropped unread must not hold the engine for ever.
        weakref.finalize(reply, release)
        return reply

    def _started(self, rid: int) -> tuple[int, int]:
        for kind, payload in self._events(rid, hang=self.hang_seconds):
            if kind == "started":
                return int(payload[0]), int(payload[1])
            if kind == "error":
                raise payload
        raise AssertionError("unreachable")

    def _stream(
        self, reply: Reply, request: tuple[Any, ...], rid: int, release: Callable[[], None]
    ) -> Iterator[str]:
        streamed = False
        resend = False
        said: list[str] = []
        try:
            while True:
                try:
                    if resend:
                        assert self._child is not None
                        rid = self._new_id()
                        self._set_active(rid, reply)
                        self._child.send((request[0], rid, *request[1:]))
                        self._started(rid)
                        resend = False
                    for kind, payload in self._events(rid, hang=self.hang_seconds):
                        if kind == "pieces":
                            streamed = True
                            yield from payload
                        elif kind == "done":
                            stats: ReplyStats = payload
                            if said:
                                stats = replace(stats, notice=_summary(said))
                            reply.stats = stats
                            return
                        elif kind == "error":
                            raise payload
                except _Died as death:
                    worked, words = self._recover(death)
                    self._notify(words)
                    if streamed:
                        reply.stats = _crashed_stats(reply, words)
                        return
                    if not worked:
                        raise EngineCrashedError(words) from None
                    said.append(words)
                    resend = True  # nothing was shown yet: ask the restarted engine again
        except GeneratorExit:
            final = self._cancel(rid)
            if final is not None:  # the reader stopped early, whatever the engine had done
                reply.stats = replace(
                    final,
                    stop_reason=StopReason.USER,
                    completion_tokens=len(reply._parts),
                    notice=_summary(said) if said else None,
                )
            raise
        finally:
            self._set_active(None, None)
            release()

    def _set_active(self, rid: int | None, reply: Reply | None) -> None:
        with self._reply_lock:
            self._active = rid
            self._active_reply = weakref.ref(reply) if reply is not None else None

    def _cancel(self, rid: int) -> ReplyStats | None:
        """Stop reply ``rid``, wait until the engine has finished with it; its figures."""
        child = self._child
        if child is None:
            return None
        child.send(("stop", rid))
        try:
            for kind, payload in self._events(rid, hang=self.hang_seconds):
                if kind == "done":
                    return payload
                if kind == "error":
                    return None
        except _Died as death:
            self._recover(death)
        return None

    def _notify(self, words: str) -> None:
        log.info("%s", words)
        if self._on_notice is not None:
            self._on_notice(words)

    def stop(self, reply: Reply | None = None) -> None:
        """End the reply in progress (safe from any thread).

        With ``reply``, only that one: a reply that has already finished is left alone,
        and so is the next client's reply that may be running by then.
        """
        with self._reply_lock:
            child, active, current = self._child, self._active, self._active_reply
        if reply is not None and (current is None or current() is not reply):
            return
        if child is not None and active is not None:
            child.send(("stop", active))

    def close(self) -> None:
        """Unload the model and end the engine process.

        A reply in progress is stopped first; one its reader abandoned (an exception in
        the reader, say) cannot keep the process alive: after 10 s it is ended anyway.
        """
        self._closed = True
        self.stop()
        release = self._turns.acquire(wait=True, timeout=10)
        try:
            self._model = None
            self._loaded = None
            if self._child is not None:
                self._child.close()
            self._child = None
        finally:
            release()


def _summary(said: list[str]) -> str:
    """One notice for the crashes before a reply worked: the last says what runs now."""
    if len(said) == 1:
        return said[0]
    return f"{said[-1]} (llama.cpp crashed {len(said)} times before this reply came through.)"


def _crashed_stats(reply: Reply, words: str) -> ReplyStats:
    return ReplyStats(
        prompt_tokens=reply.prompt_tokens,
        cached_tokens=0,
        completion_tokens=len(reply._parts),
        time_to_first_token=None,
        tokens_per_second=None,
        stop_reason=StopReason.CRASHED,
        dropped_messages=reply.dropped_messages,
        notice=words,
    )
