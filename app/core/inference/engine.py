"""Local inference: load a GGUF model with llama.cpp and stream replies.

One :class:`Engine` owns one llama.cpp context. It is not thread-safe: one thread
(the CLI's main thread, or the desktop app's inference worker) calls ``load``,
``chat``, ``complete`` and ``close``. Only :meth:`Engine.stop` may be called from any
thread; it ends the reply in progress between two tokens or, while a long prompt is
being read, through llama.cpp's abort callback.

A reply is an iterator of text pieces. When it ends, ``reply.stats`` holds its
figures: prompt and completion tokens, tokens reused from the cache, time to the
first token, tokens per second and why it stopped.

Prompt formats: the model's own chat template (``tokenizer.chat_template`` in the
GGUF metadata, rendered by llama-cpp-python's sandboxed Jinja formatter) when it has
one; when it has none, a known family's (Llama 3, Gemma, ChatML, Phi, Mistral) chosen
from its architecture and vocabulary (:mod:`app.core.gguf.templates`); a model's own
settings may name a family or the plain format instead (``LoadOptions.chat_template``).
Otherwise, and when that template is broken, Hearth's plain format::

    {system prompt}

    User: {message}
    Assistant: {reply}
    User: {message}
    Assistant:

and the caller is told (``engine.model.prompt_format`` and its ``notice``).
"""

from __future__ import annotations

import codecs
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from app.core.advisor.advice import plan_backoff
from app.core.errors import (
    ChatTemplateError,
    ContextOverflowError,
    HearthError,
    ModelLoadError,
    NoModelLoadedError,
    NotEnoughMemoryError,
    TruncatedModelError,
    UnsupportedArchitectureError,
)
from app.core.generation import Message, Reply, ReplyStats, SamplingOptions, StopReason
from app.core.gguf.header import GGUFHeader, read_header
from app.core.gguf.templates import CHAT_TEMPLATES, choose_template
from app.core.inference import runtime as llama_runtime
from app.core.inference.devices import detect_machine
from app.core.inference.types import (
    Grammar,
    GrammarError,
    LoadedModel,
    LoadOptions,
    PromptFormat,
)
from app.core.library.model_settings import TEMPLATE_AUTO, TEMPLATE_PLAIN
from app.core.machine.calibration import CalibrationStore, calibration_key, parse_llama_log
from app.core.machine.hardware import HardwareProfile
from app.core.machine.memory import MemoryEstimate, estimate_memory, extra_buffers_for
from app.core.machine.speed import record_reply_speed
from app.core.units import format_bytes

__all__ = [
    "Engine",
    "LoadOptions",
    "LoadedModel",
    "Message",
    "PromptFormat",
    "Reply",
    "ReplyStats",
    "SamplingOptions",
    "StopReason",
    "plain_prompt",
]

log = logging.getLogger(__name__)

PLAIN_STOP = "\nUser:"


def _system_memory() -> tuple[int, int]:
    memory = psutil.virtual_memory()
    return memory.total + psutil.swap_memory().total, memory.available


def _physical_cores() -> int:
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


_OOM = re.compile(
    r"failed to allocate|unable to allocate|out of memory|cudaMalloc failed|"
    r"failed to create .*buffer|mmap failed",
    re.IGNORECASE,
)
_ARCH = re.compile(r"unknown model architecture: '([^']*)'")
_BOUNDS = re.compile(
    r"not within the file bounds|data is not within|file is truncated", re.IGNORECASE
)


class Engine:
    """One local model at a time, streaming replies. See the module docstring."""

    def __init__(
        self,
        *,
        memory: Callable[[], tuple[int, int]] | None = None,
        calibration: CalibrationStore | None = None,
        progress: Callable[[], None] | None = None,
    ) -> None:
        """``memory`` returns (bytes in all, bytes free now); tests pass a small machine.

        ``progress`` is called while llama.cpp reads a prompt (from its abort callback,
        between graph nodes), so a supervisor can tell a long prompt from a hang.
        """
        self._memory = memory or _system_memory
        self._progress = progress
        self._calibration = calibration or CalibrationStore()
        self._hardware: HardwareProfile | None = None
        self._llm: Any = None
        self._model: LoadedModel | None = None
        self._formatter: Any = None
        self._template_stops: list[str] = []  # a family template's markers, written as text
        self._stop = threading.Event()
        self._aborted = False  # the abort callback told llama.cpp to stop reading a prompt
        self._abort_cb = llama_runtime.AbortCallback(self._should_abort)
        self._vocab: Any = None
        self._detok: llama_runtime.Detokenizer | None = None

    # -- loading ------------------------------------------------------------------------

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    def load(
        self,
        path: str | os.PathLike[str],
        options: LoadOptions | None = None,
        *,
        back_off: bool = True,
    ) -> LoadedModel:
        """Load ``path``, replacing any loaded model. Raises a typed HearthError.

        When the estimate says the settings do not fit, or llama.cpp runs out of
        memory, Hearth backs off (fewer GPU layers, then a smaller context) unless
        ``back_off`` is False, and says what it changed in ``model.notice``.
        """
        options = options or LoadOptions()
        file = Path(path)
        header = read_header(file)  # missing / not GGUF / truncated / corrupt
        notices: list[str] = []
        trained = header.context_length
        if trained and options.context_length > trained:
            notices.append(
                f"The model was trained for {trained:,} tokens of context; Hearth uses "
                f"{trained:,} instead of the {options.context_length:,} asked for."
            )
            options = replace(options, context_length=trained)
        self._check_options(options)
        self.close()
        try:
            return self._load_fitted(file, header, options, notices)
        except NotEnoughMemoryError as error:
            if not back_off:
                raise
            first = error
        tried: list[str] = []
        for attempt in plan_backoff(
            header,
            self.hardware(),
            gpu_layers=options.gpu_layers,
            context_length=options.context_length,
            kv_type=options.kv_cache_type,
        ):
            smaller = replace(
                options, gpu_layers=attempt.gpu_layers, context_length=attempt.context_length
            )
            if options.gpu_layers < 0:  # "auto": fitting is Hearth's job, not a failure
                change = f"Hearth fitted the model to this computer: {attempt.change}"
            else:
                change = f"Not enough memory for the settings asked for ({first}). {attempt.change}"
            try:
                return self._load_fitted(file, header, smaller, [*notices, change])
            except NotEnoughMemoryError:
                tried.append(attempt.change)
        raise NotEnoughMemoryError(
            f"{first} Hearth also tried: {'; '.join(tried)}." if tried else str(first)
        )

    def _load_fitted(
        self, file: Path, header: GGUFHeader, options: LoadOptions, notices: list[str]
    ) -> LoadedModel:
        estimate = self._check_memory(header, options)
        mark = llama_runtime.log_mark()
        started = time.perf_counter()
        threads = options.threads or _physical_cores()
        try:
            llm = llama_runtime.HearthLlama(
                model_path=str(file),
                n_ctx=options.context_length,
                n_gpu_layers=options.gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,
                # An embedding model reads each text in one non-causal batch.
                n_batch=options.context_length if options.embedding else options.batch_size,
                n_ubatch=options.context_length
                if options.embedding
                else min(options.batch_size, 512),
                embedding=options.embedding,
                flash_attn=options.flash_attention,
                type_k=llama_runtime.KV_TYPES[options.kv_cache_type],
                type_v=llama_runtime.KV_TYPES[options.kv_cache_type],
                swa_full=options.swa_full,
                extra_buffers=options.extra_buffers,
                verbose=True,  # False would redirect the process's stdout/stderr
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise self._explain_load_failure(
                file, header, llama_runtime.recent_log(mark), error
            ) from None
        llm.verbose = False
        self._llm = llm
        self._vocab = llama_runtime.vocab_of(llm)
        self._detok = llama_runtime.Detokenizer(self._vocab)
        prompt_format, template_notice = (
            (PromptFormat.PLAIN, None)
            if options.embedding
            else self._prepare_template(header, options.chat_template)
        )
        notice = " ".join([*notices, template_notice] if template_notice else notices) or None
        self._model = LoadedModel(
            path=file,
            header=header,
            options=options,
            context_length=llm.n_ctx(),
            prompt_format=prompt_format,
            notice=notice,
            load_seconds=time.perf_counter() - started,
            log_lines=llama_runtime.recent_log(mark),
            estimate=estimate,
            gpu_offload=llama_runtime.supports_gpu_offload(),
        )
        self._calibrate(header, options, self._model.log_lines)
        if notice:
            log.info("%s", notice)
        return self._model

    # -- memory -------------------------------------------------------------------------

    def hardware(self) -> HardwareProfile:
        """This machine's profile (detected once per engine)."""
        if self._hardware is None:
            self._hardware = detect_machine(isolated=False)
        return self._hardware

    def _estimate(
        self, header: GGUFHeader, options: LoadOptions, *, calibrated: bool
    ) -> MemoryEstimate:
        profile = self.hardware()
        gpu = profile.gpu if profile.gpu_offload_supported else None
        factors = self._calibration.factors(calibration_key(profile)) if calibrated else (1.0, 1.0)
        return estimate_memory(
            header,
            context_length=options.context_length,
            gpu_layers=options.gpu_layers,
            kv_type=options.kv_cache_type,
            flash_attention=options.flash_attention,
            n_ubatch=min(options.batch_size, 512),
            gpu_backend=gpu.backend if gpu else None,
            extra_buffers=extra_buffers_for(
                cpu_features=profile.cpu_features,
                llama_system_info=profile.llama_system_info,
                enabled=options.extra_buffers,
            ),
            swa_full=options.swa_full,
            gpu_factor=factors[0],
            ram_factor=factors[1],
        )

    def _check_memory(self, header: GGUFHeader, options: LoadOptions) -> MemoryEstimate:
        """The estimate for these settings; NotEnoughMemoryError when it cannot fit.

        Mapped weights may be paged from the file, so only they may use memory that
        other programs hold now; the context cache and work buffers must fit in the
        memory available now.
        """
        estimate = self._estimate(header, options, calibrated=True)
        limit, available = self._memory()
        working = estimate.ram_required_bytes - int(estimate.weights_ram * estimate.ram_factor)
        figures = (
            f"{format_bytes(estimate.ram_required_bytes)} in memory: weights "
            f"{format_bytes(estimate.weights_ram)}, context cache "
            f"{format_bytes(estimate.kv_ram)} for {options.context_length:,} tokens, work "
            f"buffers {format_bytes(estimate.compute_ram + estimate.overhead_ram)}"
        )
        if estimate.ram_required_bytes > limit:
            raise NotEnoughMemoryError(
                f"These settings need {figures}; this computer has {format_bytes(limit)} "
                "of memory in all."
            )
        if working > available:
            raise NotEnoughMemoryError(
                f"These settings need {figures}; only {format_bytes(available)} is free now."
            )
        gpu = self.hardware().gpu
        if gpu is not None and estimate.gpu_bytes > gpu.budget_bytes:
            raise NotEnoughMemoryError(
                f"These settings need {format_bytes(estimate.gpu_bytes)} on the GPU "
                f"({estimate.gpu_layers} layers); {gpu.name} has {format_bytes(gpu.budget_bytes)}."
            )
        return estimate

    def _calibrate(self, header: GGUFHeader, options: LoadOptions, lines: list[str]) -> None:
        """Record what llama.cpp really allocated, to correct later estimates here."""
        reported = parse_llama_log("\n".join(lines))
        if reported.ram <= 0 and reported.gpu <= 0:
            return
        try:
            self._calibration.record(
                key=calibration_key(self.hardware()),
                estimate=self._estimate(header, options, calibrated=False),
                reported=reported,
            )
        except OSError as error:
            log.warning("Could not save the memory calibration: %s", error)

    def close(self) -> None:
        """Unload the model and free its memory."""
        if self._llm is not None:
            self._llm.close()
        self._llm = None
        self._model = None
        self._formatter = None
        self._vocab = None
        self._detok = None

    @staticmethod
    def _check_options(options: LoadOptions) -> None:
        if options.kv_cache_type not in llama_runtime.KV_TYPES:
            raise HearthError(
                f"Unknown KV-cache type {options.kv_cache_type!r}.", hint="Use f16, q8_0 or q4_0."
            )
        if options.kv_cache_type != "f16" and not options.flash_attention:
            raise HearthError(
                f"A {options.kv_cache_type} KV cache needs flash attention in llama.cpp.",
                hint="Turn flash attention on, or use an f16 KV cache.",
            )
        if options.context_length < 16:
            raise HearthError(
                f"A context of {options.context_length} tokens is too small.",
                hint="Use at least 256 tokens.",
            )

    @staticmethod
    def _explain_load_failure(
        file: Path, header: GGUFHeader, lines: list[str], error: Exception
    ) -> HearthError:
        text = "\n".join(lines)
        arch = _ARCH.search(text)
        if arch:
            return UnsupportedArchitectureError(
                f"{file.name} is a {arch.group(1)!r} model, an architecture this build of "
                "llama.cpp does not know."
            )
        if _OOM.search(text):
            return NotEnoughMemoryError(
                f"There is not enough memory to load {file.name} with these settings."
            )
        if _BOUNDS.search(text):
            return TruncatedModelError(f"{file.name} is cut short or damaged.")
        errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
        detail = errors[-1] if errors else str(error)
        return ModelLoadError(f"llama.cpp could not load {file.name}: {detail}")

    def _prepare_template(
        self, header: GGUFHeader, choice: str = TEMPLATE_AUTO
    ) -> tuple[PromptFormat, str | None]:
        """Set up the prompt format ``choice`` asks for (see ``LoadOptions.chat_template``);
        returns it and the notice that says what was used, when it is not the file's own."""
        self._formatter = None
        self._template_stops = []
        own = header.chat_template
        if choice == TEMPLATE_PLAIN:
            where = " instead of the file's chat template" if own else ""
            return PromptFormat.PLAIN, (
                f"This model's settings use Hearth's plain 'User:/Assistant:' prompt format{where}."
            )
        if choice != TEMPLATE_AUTO:
            family = CHAT_TEMPLATES[choice]
            missing = [m for m in family.markers if not self._has_token(m)]
            notice = f"Using the {family.label} chat template set in this model's settings" + (
                " in place of the file's own." if own else "."
            )
            if missing:
                notice += (
                    f" Its vocabulary lacks {family.label}'s markers ({', '.join(missing)}), "
                    "so it may follow this format poorly."
                )
            return self._use_template(family.jinja, notice, stops=family.stops)
        if own is not None:
            return self._use_template(own, None)
        chosen = choose_template(header, self._has_token)
        if chosen is None:
            return PromptFormat.PLAIN, (
                "This model has no chat template; Hearth uses its plain "
                "'User:/Assistant:' prompt format, which it may follow less well."
            )
        label = chosen.template.label
        source = (
            f"its architecture ({header.architecture})"
            if chosen.by_architecture
            else "the markers in its vocabulary"
        )
        return self._use_template(
            chosen.template.jinja,
            f"This file has no chat template; using {label}'s, chosen from {source}. "
            "Another can be set in the model's settings.",
            stops=chosen.template.stops,
        )

    def _use_template(
        self, template: str, notice: str | None, *, stops: Sequence[str] = ()
    ) -> tuple[PromptFormat, str | None]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        token = self._llm._model.token_get_text
        try:
            eos = token(self._llm.token_eos())
            bos = token(self._llm.token_bos())
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True
            )
        except Exception as error:  # jinja2's TemplateSyntaxError and friends
            self._formatter = None
            return PromptFormat.PLAIN, (
                f"This model's chat template is broken ({type(error).__name__}: {error}); "
                "Hearth uses its plain 'User:/Assistant:' prompt format instead."
            )
        self._template_stops = list(stops)
        return PromptFormat.TEMPLATE, notice

    def _has_token(self, text: str) -> bool:
        """Whether the loaded vocabulary holds ``text`` as one (special) token."""
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return len(tokens) == 1

    # -- prompts ------------------------------------------------------------------------

    def render_prompt(self, messages: Sequence[Message]) -> tuple[list[int], str]:
        """The tokens and text the model sees for ``messages``."""
        llm = self._require()
        if self._formatter is not None:
            try:
                result = self._formatter(
                    messages=[{"role": m.role, "content": m.content} for m in messages]
                )
            except Exception as error:
                raise ChatTemplateError(
                    f"The model's chat template refused this conversation: {error}"
                ) from None
            text = result.prompt
            tokens = llm.tokenize(
                text.encode("utf-8"), add_bos=not result.added_special, special=True
            )
            return tokens, text
        text = plain_prompt(messages)
        return llm.tokenize(text.encode("utf-8"), add_bos=True, special=False), text

    def _fit(self, messages: Sequence[Message], reserve: int) -> tuple[list[int], int]:
        """Tokens of the newest turns that fit with ``reserve`` tokens left to reply."""
        n_ctx = self._require().n_ctx()
        system = [m for m in messages[:1] if m.role == "system"]
        rest = list(messages[len(system) :])
        budget = n_ctx - reserve
        dropped = 0
        while True:
            tokens, _ = self.render_prompt(system + rest)
            if len(tokens) <= budget:
                return tokens, dropped
            turn_starts = [i for i, m in enumerate(rest) if m.role == "user"]
            if len(turn_starts) <= 1:
                last = rest[-1].content if rest else ""
                raise ContextOverflowError(
                    f"The message is too long for the context: it needs {len(tokens):,} "
                    f"tokens with the system prompt, and the model's context holds "
                    f"{n_ctx:,} with {reserve:,} kept free for the reply "
                    f"(the message is {len(last):,} characters)."
                )
            cut = turn_starts[1]
            dropped += cut
            rest = rest[cut:]

    # -- generation ---------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Message],
        sampling: SamplingOptions | None = None,
        *,
        ignore_eos: bool = False,
        stop: Sequence[str] = (),
        grammar: Grammar | None = None,
    ) -> Reply:
        """Start a reply to ``messages``.

        Older turns are dropped (the system prompt stays) when the conversation does
        not fit the context; ``reply.dropped_messages`` says how many. Raises
        ContextOverflowError when even the last message alone does not fit. The reply
        ends before the first of the ``stop`` strings (not shown), and follows
        ``grammar`` when one is given (GrammarError when llama.cpp cannot compile it).
        """
        sampling = sampling or SamplingOptions()
        llm = self._require()
        if not messages or messages[-1].role != "user":
            raise HearthError("A chat needs a user message to reply to.")
        reserve = min(sampling.max_tokens, llm.n_ctx() // 4)
        tokens, dropped = self._fit(messages, reserve)
        plain = self._formatter is None
        compiled = _compile(self._vocab, grammar)
        reply = Reply(prompt_tokens=len(tokens), dropped=dropped)
        self._stop.clear()
        reply._pieces = self._stream(
            reply,
            tokens,
            sampling,
            stops=[PLAIN_STOP] if plain else list(self._template_stops),
            user_stops=[s for s in stop if s],
            grammar=compiled,
            ignore_eos=ignore_eos,
            strip_leading_space=plain,
        )
        return reply

    def complete(
        self,
        prompt: str,
        sampling: SamplingOptions | None = None,
        *,
        ignore_eos: bool = False,
        stop: Sequence[str] = (),
        grammar: Grammar | None = None,
    ) -> Reply:
        """Continue raw ``prompt`` text, with no chat format (``stop``, ``grammar``: as chat)."""
        sampling = sampling or SamplingOptions()
        llm = self._require()
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        if len(tokens) >= llm.n_ctx():
            raise ContextOverflowError(
                f"The prompt needs {len(tokens):,} tokens; the context holds {llm.n_ctx():,}."
            )
        compiled = _compile(self._vocab, grammar)
        reply = Reply(prompt_tokens=len(tokens), dropped=0)
        self._stop.clear()
        reply._pieces = self._stream(
            reply,
            tokens,
            sampling,
            stops=[],
            user_stops=[s for s in stop if s],
            grammar=compiled,
            ignore_eos=ignore_eos,
        )
        return reply

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """How many tokens the loaded model reads for each text (as ``complete`` and
        ``embed`` tokenize it)."""
        llm = self._require()
        return [len(llm.tokenize(t.encode("utf-8"), add_bos=True, special=False)) for t in texts]

    def embed(self, texts: Sequence[str], *, normalize: bool = True) -> list[list[float]]:
        """One vector per text (L2-normalised unless ``normalize`` is False).

        Needs a model loaded with ``LoadOptions(embedding=True)``. A text longer than the
        context is refused with the numbers, never cut silently.
        """
        llm = self._require()
        if self._model is None or not self._model.options.embedding:
            raise ModelLoadError(
                "This model was not loaded for embeddings.",
                hint="Load an embedding model (all-MiniLM-L6-v2, nomic-embed-text) for that.",
            )
        limit = llm.n_ctx()
        for index, text in enumerate(texts):
            count = len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))
            if count > limit:
                raise ContextOverflowError(
                    f"Text {index + 1} has {count:,} tokens; the embedding model reads at most "
                    f"{limit:,}.",
                    hint="Split it into smaller pieces.",
                )
        vectors = llm.embed(list(texts), normalize=normalize, truncate=False)
        return [list(map(float, vector)) for vector in vectors]

    def stop(self) -> None:
        """End the reply in progress (safe from any thread)."""
        self._stop.set()

    def _should_abort(self, _data: Any) -> bool:
        if self._progress is not None:
            self._progress()
        if self._stop.is_set():
            self._aborted = True
        return self._aborted

    def _stream(
        self,
        reply: Reply,
        tokens: list[int],
        sampling: SamplingOptions,
        *,
        stops: list[str],
        ignore_eos: bool,
        user_stops: Sequence[str] = (),
        grammar: Any = None,
        strip_leading_space: bool = False,
    ) -> Iterator[str]:
        llm = self._require()
        stops = [*stops, *user_stops]
        matched: str | None = None
        assert self._detok is not None
        detok = self._detok
        bos = llm.token_bos()
        cached = _common_prefix(llama_runtime.cached_tokens(llm), tokens)
        cached = min(cached, len(tokens) - 1)
        seed = sampling.seed if sampling.seed >= 0 else random.getrandbits(31)
        llm.set_seed(seed)
        n_ctx = llm.n_ctx()
        room = n_ctx - len(tokens)
        limit = min(sampling.max_tokens, room)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        held = ""  # text that may be the start of a stop string
        lstrip = strip_leading_space
        produced = 0
        reason = StopReason.LENGTH if limit == sampling.max_tokens else StopReason.CONTEXT
        started = time.perf_counter()
        first: float | None = None
        generator = llm.generate(
            tokens,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            repeat_penalty=sampling.repeat_penalty,
            grammar=grammar,
            # Under a grammar, BOS would pass for text ("<s>" inside a JSON string) and
            # then end the reply mid-value (a generated BOS ends it, below): never pick it.
            logits_processor=[_without(bos)] if grammar is not None else None,
        )
        self._aborted = False
        llama_runtime.set_abort_callback(llm, self._abort_cb)  # the prompt phase
        try:
            for token in generator:
                if first is None:
                    first = time.perf_counter()
                    llama_runtime.set_abort_callback(llm, llama_runtime.NO_ABORT)
                if self._stop.is_set():
                    reason = StopReason.USER
                    break
                # A generated BOS starts a new document (stories260K ends stories so).
                if not ignore_eos and (token == bos or detok.ends_generation(token)):
                    reason = StopReason.END_OF_TEXT
                    break
                produced += 1
                text = decoder.decode(detok.piece(token))
                if lstrip:
                    # The plain format's "Assistant: " already holds the space the
                    # model writes first; history renders the reply after it again.
                    text = text.lstrip()
                    lstrip = not text
                if stops:
                    held += text
                    found = _find_stop(held, stops)
                    if found is not None:
                        cut, which = found
                        if cut:
                            yield held[:cut]
                        reason = StopReason.END_OF_TEXT
                        matched = which if which in user_stops else None
                        held = ""
                        break
                    safe = _safe_prefix(held, stops)
                    if safe:
                        yield held[:safe]
                        held = held[safe:]
                elif text:
                    yield text
                if produced >= limit:
                    break
        except GeneratorExit:
            reason = StopReason.USER
            raise
        except RuntimeError as error:
            # llama-cpp-python raises a bare RuntimeError when decoding fails; whether
            # it was our abort is known here, not from its message.
            if self._aborted or self._stop.is_set():
                reason = StopReason.USER  # aborted while reading the prompt
            else:
                raise HearthError(f"llama.cpp failed while generating: {error}") from None
        finally:
            generator.close()
            llama_runtime.set_abort_callback(llm, llama_runtime.NO_ABORT)
            ended = time.perf_counter()
            rate = None
            if first is not None and produced > 1 and ended > first:
                rate = (produced - 1) / (ended - first)
            reply.stats = ReplyStats(
                prompt_tokens=len(tokens),
                cached_tokens=cached,
                completion_tokens=produced,
                time_to_first_token=(first - started) if first is not None else None,
                tokens_per_second=rate,
                stop_reason=reason,
                dropped_messages=reply.dropped_messages,
                elapsed=ended - started,
                stop_sequence=matched,
            )
            record_reply_speed(self._calibration, self.hardware(), self._model, reply.stats)
        tail = held + decoder.decode(b"", final=True)
        if tail:
            yield tail

    def _require(self) -> Any:
        if self._llm is None:
            raise NoModelLoadedError("No model is loaded.")
        return self._llm


def plain_prompt(messages: Sequence[Message]) -> str:
    """Hearth's plain prompt format, for models without a (working) chat template."""
    parts: list[str] = []
    for message in messages:
        if message.role == "system":
            parts.append(f"{message.content}\n\n")
        elif message.role == "user":
            parts.append(f"User: {message.content}\n")
        else:
            parts.append(f"Assistant: {message.content}\n")
    parts.append("Assistant:")
    return "".join(parts)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _find_stop(text: str, stops: list[str]) -> tuple[int, str] | None:
    """Where the first stop string in ``text`` begins, and which one it is."""
    found = [(i, s) for i, s in ((text.find(s), s) for s in stops) if i >= 0]
    return min(found, key=lambda hit: hit[0]) if found else None


def _without(token: int) -> Callable[[Any, Any], Any]:
    """A logits processor that makes ``token`` impossible."""

    def ban(_input_ids: Any, scores: Any) -> Any:
        scores[token] = -float("inf")
        return scores

    return ban


def _compile(vocab: Any, grammar: Grammar | None) -> Any:
    """llama.cpp's grammar object for ``grammar`` (None for none); GrammarError if it fails."""
    if grammar is None or not (grammar.gbnf or grammar.json_schema):
        return None
    try:
        return llama_runtime.grammar(vocab, gbnf=grammar.gbnf, json_schema=grammar.json_schema)
    except Exception as error:  # the converter's ValueError, llama.cpp's parser
        what = "JSON schema" if grammar.json_schema else "grammar"
        raise GrammarError(f"llama.cpp cannot follow this {what}: {error}") from None


def _safe_prefix(text: str, stops: list[str]) -> int:
    """How much of ``text`` cannot be the start of a stop string."""
    keep = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                keep = max(keep, n)
                break
    return len(text) - keep
