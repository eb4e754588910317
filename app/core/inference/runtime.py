"""The one place that touches llama-cpp-python's import-time behaviour and internals.

- llama.cpp's own log goes to Python logging (``hearth.llama``) through
  ``llama_log_set``, not to the terminal. A ring of recent lines is kept so a failed
  load can be explained (``unknown model architecture``, ``failed to allocate``...).
- llama-cpp-python's ``verbose=False`` redirects the whole process's stdout/stderr
  while a model loads, so Hearth always passes ``verbose=True`` and instead sends the
  library's own ``print`` calls to the same logger.
- Small helpers over the library's private handles (vocab, context) live here, so
  the engine does not reach into them directly. The version is pinned in
  pyproject.toml for this reason.
"""

from __future__ import annotations

import collections
import ctypes
import json
import logging
import threading
from typing import Any

import llama_cpp
import llama_cpp.llama as _llama_module

from app.core.inference import backends as ggml_backends

log = logging.getLogger("hearth.llama")

# ggml_log_level (ggml.h): NONE=0, DEBUG=1, INFO=2, WARN=3, ERROR=4, CONT=5
_LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_CONT = 5

# Room for a large model's whole load log (one line per tensor), so the buffer sizes
# at its end are still there for calibration; debug lines (one per graph input per
# layer) are logged but not kept.
_recent: collections.deque[str] = collections.deque(maxlen=4000)
_emitted = 0  # lines ever emitted; positions in the log count from here
_lock = threading.Lock()
_pending: list[str] = []
_pending_level = logging.INFO


def _emit(level: int, line: str) -> None:
    global _emitted
    if level > logging.DEBUG:
        _recent.append(line)
        _emitted += 1
    log.log(level, "%s", line)


@llama_cpp.llama_log_callback
def _on_llama_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    global _pending_level
    message = text.decode("utf-8", errors="replace")
    with _lock:
        if level != _CONT:
            _pending_level = _LEVELS.get(level, logging.INFO)
        _pending.append(message)
        joined = "".join(_pending)
        if "\n" not in joined:
            return
        *lines, rest = joined.split("\n")
        _pending[:] = [rest] if rest else []
        for line in lines:
            if line.strip():
                _emit(_pending_level, line.rstrip())


def _print_to_log(*args: Any, sep: str = " ", end: str = "\n", **_kwargs: Any) -> None:
    log.debug("%s", sep.join(str(a) for a in args).rstrip())


def install() -> None:
    """Route llama.cpp's and llama-cpp-python's output to logging (idempotent)."""
    llama_cpp.llama_log_set(_on_llama_log, ctypes.c_void_p(0))
    _llama_module.print = _print_to_log  # type: ignore[attr-defined]
    ggml_backends.load_backends()


def recent_log(since: int = 0) -> list[str]:
    """llama.cpp log lines kept so far, from index ``since`` (see :func:`log_mark`)."""
    with _lock:
        first_kept = _emitted - len(_recent)
        return list(_recent)[max(since - first_kept, 0) :]


def log_mark() -> int:
    """A position in the recent log, to read only what came after it."""
    with _lock:
        return _emitted


install()


# -- helpers over the library's handles ------------------------------------------------


def vocab_of(llm: Any) -> Any:
    return llm._model.vocab


def is_end_of_generation(vocab: Any, token: int) -> bool:
    return bool(llama_cpp.llama_vocab_is_eog(vocab, token))


class Detokenizer:
    """Token pieces as bytes, and whether a token ends generation, cached per token.

    The per-token loop then costs a dictionary lookup instead of two foreign calls.
    """

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._size = 64
        self._buffer = (ctypes.c_char * self._size)()
        self._pieces: dict[int, bytes] = {}
        self._ends: dict[int, bool] = {}

    def piece(self, token: int) -> bytes:
        cached = self._pieces.get(token)
        if cached is None:
            cached = self._pieces[token] = self._to_piece(token)
        return cached

    def ends_generation(self, token: int) -> bool:
        cached = self._ends.get(token)
        if cached is None:
            cached = self._ends[token] = is_end_of_generation(self._vocab, token)
        return cached

    def _to_piece(self, token: int) -> bytes:
        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._buffer, self._size, 0, False)
        if n < 0:
            self._size = -n
            self._buffer = (ctypes.c_char * self._size)()
            n = llama_cpp.llama_token_to_piece(
                self._vocab, token, self._buffer, self._size, 0, False
            )
        return self._buffer.raw[:n]


class HearthLlama(llama_cpp.Llama):
    """``Llama`` without llama-cpp-python's own chat-template handling, with model params
    its constructor does not expose.

    Its constructor compiles every ``tokenizer.chat_template*`` in the metadata, so a
    broken template would fail the whole load. Hearth renders templates itself from
    the GGUF header, so the templates are kept out of the library's copy of the
    metadata.

    ``extra_buffers=False`` turns llama.cpp's ``use_extra_bufts`` off: quantized weights
    then stay in the mapped file instead of being copied into the AMX or repack buffer
    types, whose kernels crash on some CPUs (the engine's recovery ladder uses it).
    """

    def __init__(self, *args: Any, extra_buffers: bool = True, **kwargs: Any) -> None:
        self._hearth_extra_buffers = extra_buffers
        super().__init__(*args, **kwargs)

    @property
    def model_params(self) -> Any:
        return self._hearth_model_params

    @model_params.setter
    def model_params(self, value: Any) -> None:
        # The constructor assigns the default params once, then fills in fields.
        value.use_extra_bufts = self._hearth_extra_buffers
        self._hearth_model_params = value

    @property
    def metadata(self) -> dict[str, str]:
        return self._hearth_metadata

    @metadata.setter
    def metadata(self, value: dict[str, str]) -> None:
        self._hearth_metadata = {
            key: text
            for key, text in value.items()
            if not key.startswith("tokenizer.chat_template")
        }


AbortCallback = llama_cpp.ggml_abort_callback
NO_ABORT = llama_cpp.ggml_abort_callback()


def set_abort_callback(llm: Any, callback: Any) -> None:
    """Install (or with NO_ABORT, remove) llama.cpp's abort callback on ``llm``'s context."""
    llama_cpp.llama_set_abort_callback(llm._ctx.ctx, callback, None)


def supports_gpu_offload() -> bool:
    """Whether this build of llama.cpp can put layers on a GPU."""
    return bool(llama_cpp.llama_supports_gpu_offload())


def cached_tokens(llm: Any) -> list[int]:
    """The tokens whose keys and values are in the context's cache right now."""
    return list(llm._input_ids)


def grammar(vocab: Any, *, gbnf: str | None = None, json_schema: str | None = None) -> Any:
    """llama-cpp-python's grammar for GBNF text or a JSON schema, checked by llama.cpp.

    The library hands the text to llama.cpp only when sampling starts, where a grammar
    llama.cpp refuses would be a null sampler; here it is parsed once first (ValueError,
    with llama.cpp's reason in its log, when refused).
    """
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    if json_schema is not None:
        unenforced = sorted(_unenforced(json.loads(json_schema)))
        if unenforced:
            raise ValueError(
                f"its grammar cannot enforce {', '.join(unenforced)}; a reply could break "
                "them, so take them out of the schema (or check them after the reply)"
            )
    text = gbnf or ""
    if json_schema is not None:
        # The converter's string characters take control characters too (llama.cpp's
        # own converter does not): a raw newline inside a string is not JSON.
        text = json_schema_to_gbnf(json_schema).replace(_LOOSE_CHAR, _JSON_CHAR)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
    if not sampler:
        errors = [line for line in recent_log()[-20:] if "parse" in line or "error" in line]
        raise ValueError(errors[-1] if errors else "llama.cpp's grammar parser refused it")
    llama_cpp.llama_sampler_free(sampler)
    return LlamaGrammar.from_string(text, verbose=False)


_LOOSE_CHAR = r'char ::= [^"\\] |'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'

# JSON-schema keywords llama-cpp-python's converter (json_schema_to_gbnf) passes over
# without a rule: a grammar made from a schema using them would not keep to it.
_UNENFORCED_KEYWORDS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "not",
        "if",
        "then",
        "else",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "patternProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
    }
)


def _unenforced(schema: Any) -> set[str]:
    """The keywords in ``schema`` (and the schemas inside it) the converter ignores."""
    if not isinstance(schema, dict):
        return set()
    found = {key for key in schema if key in _UNENFORCED_KEYWORDS}
    inner: list[Any] = []
    for key in ("properties", "$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            inner.extend(schema[key].values())
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(schema.get(key), list):
            inner.extend(schema[key])
    for key in ("items", "additionalProperties"):
        value = schema.get(key)
        inner.extend(value if isinstance(value, list) else [value])
    for child in inner:
        found |= _unenforced(child)
    return found


KV_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}
