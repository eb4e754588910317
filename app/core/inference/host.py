"""The engine process: the one process that runs llama.cpp.

:class:`app.core.inference.process.EngineProcess` starts it (``python -m app.core.inference.host``,
or ``hearth --engine-host`` in a bundle) and talks to it over the child's standard input
and output with length-prefixed pickled tuples; the child's file descriptor 1 is moved to
its standard error first, so nothing llama.cpp prints can corrupt the protocol. A crash
here (a signal, the out-of-memory killer, an abort) ends this process only: the app sees
the pipe close and recovers (see :mod:`app.core.inference.process`).

Requests, ``(kind, request_id, *arguments)``::

    ("load", id, path, LoadOptions, back_off)        -> ("loaded", id, LoadedModel)
    ("chat", id, messages, SamplingOptions, ignore_eos, stop, Grammar | None)
    ("complete", id, prompt, SamplingOptions, ignore_eos, stop, Grammar | None)
        -> ("started", id, (prompt_tokens, dropped_messages)), ("pieces", id, [text, ...])...,
           ("done", id, ReplyStats)
    ("embed", id, [text, ...], normalize)            -> ("embedded", id, [vector, ...])
    ("count", id, [text, ...])                       -> ("counted", id, [tokens, ...])
    ("stop", id)         ends reply ``id`` (read by a second thread, so it works mid-reply)
    ("exit", id)         unload and end the process

Any request may instead get ``("error", id, HearthError)``. While a prompt is being read
the host sends ``("progress", id, None)`` at most every :data:`PING_SECONDS`, so the
supervisor can tell a long prompt from a hang. The first message is
``("hello", 0, {...})`` with the pid, the machine's calibration key and the CPU variant.

Pieces are sent in batches: at once when :data:`FLUSH_SECONDS` (100 ms) have passed
since the last send (always for the first piece), else with the next one. A fast model
then pays for one send, and the app for one wake-up, per several tokens; a slow one
still streams token by token. On a machine whose cores llama.cpp's threads fill, every
wake-up of the app can stall a token at llama.cpp's thread barrier: measured on 2
cores, a 114 MB Q4_K_M decoded at 0.96 of the raw library with 30 ms batches and 0.98
with 100 ms; stories260K at 0.79 with 4 ms batches. Stop is never batched.

Test-only fault hook: ``HEARTH_TEST_ENGINE_FAULT`` makes this process die by a real
signal (or stop, for a hang) at a chosen point, to test recovery on machines whose
llama.cpp does not crash. Faults are separated by ``;``, each ``PHASE:ACTION[:OPTION...]``:

- PHASE: ``start`` (before the hello), ``load`` (on a load request), ``prompt`` (while
  llama.cpp reads a prompt batch of more than one token, where the AMX kernels crash),
  ``reply`` (after ``after=N`` pieces, default 1);
- ACTION: a signal name (``SIGSEGV``, ``SIGKILL``, ``SIGABRT``...), ``HANG`` (SIGSTOP) or
  ``SLOW`` (``reply`` only: every piece from ``after=N`` on waits ``ms=M`` milliseconds, a
  slow model on a fast machine, to test streaming without racing the clock);
- OPTION: ``when=extra_buffers`` (only while llama.cpp's extra buffers are on, as the
  AMX crash), ``when=best_cpu_variant`` (only while ggml picks the CPU variant itself,
  as the sapphirerapids variant on an AMX CPU), ``when=batch>N`` (only with a batch
  larger than N), ``once=PATH`` (only while PATH does not exist; it is created first).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

FAULT_ENV = "HEARTH_TEST_ENGINE_FAULT"
FLUSH_SECONDS = 0.1
PING_SECONDS = 0.5
_HEADER = struct.Struct("<I")

log = logging.getLogger("hearth.engine_host")


# -- framing (shared with the supervisor) -----------------------------------------------


def write_frame(stream: BinaryIO, message: Any) -> None:
    """Send one message: a 4-byte length, then the pickled tuple."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    """Receive one message; EOFError when the other side has gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# -- the test-only fault hook -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    phase: str
    action: str
    after: int = 1
    when: str | None = None
    once: str | None = None
    ms: int = 0

    @classmethod
    def parse_all(cls, text: str) -> list[Fault]:
        faults = []
        for spec in filter(None, (part.strip() for part in text.split(";"))):
            phase, action, *options = spec.split(":")
            values = dict(option.split("=", 1) for option in options)
            faults.append(
                cls(
                    phase=phase,
                    action=action.upper(),
                    after=int(values.get("after", 1)),
                    when=values.get("when"),
                    once=values.get("once"),
                    ms=int(values.get("ms", 0)),
                )
            )
        return faults

    def applies(self, options: Any) -> bool:
        if self.when == "extra_buffers" and not (options and options.extra_buffers):
            return False
        if self.when == "best_cpu_variant" and os.environ.get("HEARTH_CPU_VARIANT"):
            return False
        if (
            self.when
            and self.when.startswith("batch>")
            and not (options and options.batch_size > int(self.when[6:]))
        ):
            return False
        if self.once:
            marker = Path(self.once)
            if marker.exists():
                return False
            marker.touch()
        return True

    def fire(self) -> None:
        log.warning("test fault: %s at %s", self.action, self.phase)
        for handler in logging.getLogger().handlers:
            handler.flush()
        if self.action == "HANG":
            os.kill(os.getpid(), signal.SIGSTOP)
            return
        os.kill(os.getpid(), getattr(signal, self.action))
        time.sleep(10)  # the signal arrives; never go on as if nothing happened


class _Faults:
    def __init__(self, text: str) -> None:
        self._faults = Fault.parse_all(text)

    def check(self, phase: str, options: Any, *, count: int = 0) -> None:
        for fault in self._faults:
            if fault.action == "SLOW":
                if fault.phase == phase and count >= fault.after:
                    time.sleep(fault.ms / 1000)
                continue
            if fault.phase != phase or (phase == "reply" and count != fault.after):
                continue
            if fault.applies(options):
                fault.fire()


# -- the host -----------------------------------------------------------------------------


class _Host:
    def __init__(self, inbox: BinaryIO, outbox: BinaryIO) -> None:
        from app.core.inference.engine import Engine

        self._inbox = inbox
        self._outbox = outbox
        self._faults = _Faults(os.environ.get(FAULT_ENV, ""))
        self._requests: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._current: int | None = None
        self._cancelled: set[int] = set()
        self._options: Any = None
        self._last_ping = 0.0
        self.engine = Engine(progress=self._on_prompt_progress)

    def send(self, message: tuple[Any, ...]) -> None:
        write_frame(self._outbox, message)

    def _read(self) -> None:
        """The second thread: requests to the queue, stops straight to the engine."""
        while True:
            try:
                message = read_frame(self._inbox)
            except (EOFError, OSError, pickle.UnpicklingError):
                self.engine.stop()  # the app has gone: end any reply, then exit
                self._requests.put(None)
                return
            if message[0] == "stop":
                with self._lock:
                    self._cancelled.add(message[1])
                    if self._current == message[1]:
                        self.engine.stop()
            else:
                self._requests.put(message)

    def run(self) -> None:
        self._faults.check("start", None)
        self.send(("hello", 0, _hello()))
        threading.Thread(target=self._read, name="engine-host-reader", daemon=True).start()
        while (message := self._requests.get()) is not None:
            kind, request, *arguments = message
            try:
                if kind == "exit":
                    break
                self._handle(kind, request, arguments)
            except Exception as error:
                from app.core.errors import unexpected

                # Logged with its traceback to engine.log, which the message names.
                reported = unexpected(error, doing=f"handling the engine request {kind!r}")
                self.send(("error", request, reported))
        self.engine.close()

    def _handle(self, kind: str, request: int, arguments: list[Any]) -> None:
        if kind == "load":
            path, options, back_off = arguments
            self._options = options
            self._faults.check("load", options)
            model = self.engine.load(path, options, back_off=back_off)
            self._options = model.options
            self.send(("loaded", request, model))
        elif kind in ("chat", "complete"):
            payload, sampling, ignore_eos, stop, grammar = arguments
            method = self.engine.chat if kind == "chat" else self.engine.complete
            self._reply(
                request,
                lambda: method(
                    payload, sampling, ignore_eos=ignore_eos, stop=stop, grammar=grammar
                ),
            )
        elif kind == "count":
            (texts,) = arguments
            self.send(("counted", request, self.engine.count_tokens(texts)))
        elif kind == "embed":
            texts, normalize = arguments
            self._faults.check("reply", self._options, count=1)
            self.send(("embedded", request, self.engine.embed(texts, normalize=normalize)))
        else:
            from app.core.errors import HearthError

            raise HearthError(f"Unknown engine request {kind!r}.")

    def _reply(self, request: int, start: Callable[[], Any]) -> None:
        with self._lock:
            self._current = request
        try:
            reply = start()  # clears the engine's stop flag
            with self._lock:
                if request in self._cancelled:
                    self.engine.stop()
            self.send(("started", request, (reply.prompt_tokens, reply.dropped_messages)))
            batch: list[str] = []
            sent = 0.0
            for count, piece in enumerate(reply, start=1):
                self._faults.check("reply", self._options, count=count)
                batch.append(piece)
                now = time.perf_counter()
                if now - sent >= FLUSH_SECONDS:
                    self.send(("pieces", request, batch))
                    batch = []
                    sent = now
            if batch:
                self.send(("pieces", request, batch))
            self.send(("done", request, reply.stats))
        finally:
            with self._lock:
                self._current = None
                self._cancelled.discard(request)

    def _on_prompt_progress(self) -> None:
        """Called between llama.cpp's graph nodes while a prompt is read."""
        self._faults.check("prompt", self._options)
        now = time.monotonic()
        if now - self._last_ping >= PING_SECONDS:
            self._last_ping = now
            self.send(("progress", self._current or 0, None))


def _hello() -> dict[str, Any]:
    from app.core.inference import backends as ggml_backends
    from app.core.inference.devices import detect_machine
    from app.core.machine.calibration import calibration_key

    report = ggml_backends.load_backends()  # loaded already, with llama_runtime
    runnable = sorted(
        (name for name, score in report.scores.items() if score > 0),
        key=lambda name: -report.scores[name],
    )
    return {
        "pid": os.getpid(),
        "machine": calibration_key(detect_machine(isolated=False)),
        "cpu_variant": report.cpu_variant if report.portable else None,
        "cpu_variants": runnable,  # best first: the ladder's last rung steps down these
    }


def _configure_logging() -> None:
    """The engine's log goes to ``engine.log`` beside Hearth's own; errors also to stderr."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if os.environ.get("HEARTH_ENGINE_VERBOSE") else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.ERROR)
    console.addFilter(lambda record: not record.name.startswith("hearth.llama"))
    root.addHandler(console)
    try:
        from app.core.paths import app_paths

        logs = app_paths().logs
        logs.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            logs / "engine.log", maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        return
    file.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(file)


def main() -> int:
    """Serve one supervisor over stdin/stdout until it says exit or goes away."""
    # Ctrl-C in a terminal is for the app (it stops a reply through the protocol).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox = os.fdopen(os.dup(0), "rb")
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (llama.cpp's, a library's) go to stderr, not the protocol
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = sys.stderr
    _configure_logging()
    try:
        _Host(inbox, outbox).run()
    except (BrokenPipeError, EOFError):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
