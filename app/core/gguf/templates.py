"""Chat templates for GGUF files that carry none: Llama 3, Gemma, ChatML, Phi, Mistral.

A GGUF file usually holds its chat template (``tokenizer.chat_template``). When it does
not, :func:`choose_template` picks one of these families from the file's architecture
(``general.architecture``), but only if the model's vocabulary has that family's
marker tokens (``<|im_start|>`` for ChatML...): a Llama 3 template given to a model
that never learnt its markers would be worse than Hearth's plain format. Architectures
with no family of their own (a fine-tune on an unusual base) get the first family whose
markers the vocabulary has, and the caller says it was chosen from the vocabulary.

The templates are Jinja, rendered like a file's own by llama-cpp-python's sandboxed
formatter, with ``bos_token``, ``eos_token`` and ``add_generation_prompt``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.gguf.header import GGUFHeader


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    """One family's prompt format."""

    key: str
    """Its name in per-model settings: ``llama3``, ``gemma``, ``chatml``, ``phi``, ``mistral``."""
    label: str
    """The name people know it by: "Llama 3"."""
    jinja: str
    markers: tuple[str, ...]
    """Tokens the vocabulary must have, each as one token, for the family to be chosen."""
    stops: tuple[str, ...]
    """Text that ends a reply should the model write a marker out as text."""


LLAMA3 = ChatTemplate(
    key="llama3",
    label="Llama 3",
    jinja=(
        "{{ bos_token }}{% for message in messages %}"
        "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
        " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
        "{% if add_generation_prompt %}"
        "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
    ),
    markers=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    stops=("<|eot_id|>", "<|start_header_id|>"),
)
# Gemma has no system role: the system prompt opens the first user turn, as Google's does.
GEMMA = ChatTemplate(
    key="gemma",
    label="Gemma",
    jinja=(
        "{{ bos_token }}{% set ns = namespace(system='') %}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\n\n' %}"
        "{% else %}{% set role = 'model' if message['role'] == 'assistant' else 'user' %}"
        "{{ '<start_of_turn>' + role + '\n' + (ns.system if role == 'user' else '')"
        " + message['content'] | trim + '<end_of_turn>\n' }}"
        "{% if role == 'user' %}{% set ns.system = '' %}{% endif %}"
        "{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
    ),
    markers=("<start_of_turn>", "<end_of_turn>"),
    stops=("<end_of_turn>", "<start_of_turn>"),
)
CHATML = ChatTemplate(
    key="chatml",
    label="ChatML",
    jinja=(
        "{% for message in messages %}"
        "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    markers=("<|im_start|>", "<|im_end|>"),
    stops=("<|im_end|>", "<|im_start|>"),
)
PHI = ChatTemplate(
    key="phi",
    label="Phi",
    jinja=(
        "{% for message in messages %}"
        "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
    ),
    markers=("<|user|>", "<|assistant|>", "<|end|>"),
    stops=("<|end|>", "<|user|>"),
)
# Mistral's instruct format: the system prompt opens the first instruction.
MISTRAL = ChatTemplate(
    key="mistral",
    label="Mistral",
    jinja=(
        "{{ bos_token }}{% set ns = namespace(system='') %}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\n\n' %}"
        "{% elif message['role'] == 'user' %}"
        "{{ '[INST] ' + ns.system + message['content'] | trim + ' [/INST]' }}"
        "{% set ns.system = '' %}"
        "{% else %}{{ ' ' + message['content'] | trim + eos_token }}{% endif %}"
        "{% endfor %}"
    ),
    markers=("[INST]", "[/INST]"),
    stops=("[INST]",),
)

CHAT_TEMPLATES: dict[str, ChatTemplate] = {t.key: t for t in (LLAMA3, GEMMA, CHATML, PHI, MISTRAL)}
"""Every family, by its key."""

FAMILIES_BY_ARCHITECTURE: dict[str, tuple[ChatTemplate, ...]] = {
    # llama.cpp's "llama" covers Llama 2 and 3, Mistral and many fine-tunes: the
    # vocabulary's markers tell them apart.
    "llama": (LLAMA3, MISTRAL, CHATML),
    "mistral3": (MISTRAL,),
    "gemma": (GEMMA,),
    "gemma2": (GEMMA,),
    "gemma3": (GEMMA,),
    "gemma3n": (GEMMA,),
    "phi3": (PHI,),
    "phimoe": (PHI,),
    "qwen": (CHATML,),
    "qwen2": (CHATML,),
    "qwen2moe": (CHATML,),
    "qwen3": (CHATML,),
    "qwen3moe": (CHATML,),
    "internlm2": (CHATML,),
}
"""The families a file of each architecture may speak, likeliest first."""


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """The family chosen for a file without a template, and what it was chosen from."""

    template: ChatTemplate
    by_architecture: bool
    """True: from the file's architecture; False: only from its vocabulary's markers."""


def choose_template(header: GGUFHeader, has_token: Callable[[str], bool]) -> TemplateChoice | None:
    """The family to use for ``header``'s model, or None when none fits.

    ``has_token(text)`` says whether the loaded vocabulary holds ``text`` as one token.
    """
    own = FAMILIES_BY_ARCHITECTURE.get(header.architecture, ())
    for template in own:
        if all(has_token(marker) for marker in template.markers):
            return TemplateChoice(template, by_architecture=True)
    for template in CHAT_TEMPLATES.values():
        if template not in own and all(has_token(marker) for marker in template.markers):
            return TemplateChoice(template, by_architecture=False)
    return None


__all__ = [
    "CHAT_TEMPLATES",
    "FAMILIES_BY_ARCHITECTURE",
    "ChatTemplate",
    "TemplateChoice",
    "choose_template",
]
