"""Chat templates for GGUF files without one: chosen by architecture, rendered as each family's."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from app.core.gguf import CHAT_TEMPLATES, read_header
from app.core.gguf.templates import choose_template
from tests.support.gguf_factory import write_llama_gguf

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Bye"},
]


def vocabulary(*families: str) -> set[str]:
    """The special tokens a vocabulary with these families' markers holds."""
    return {marker for f in families for marker in CHAT_TEMPLATES[f].markers}


@pytest.mark.parametrize(
    ("architecture", "markers", "family", "by_architecture"),
    [
        ("llama", vocabulary("llama3"), "llama3", True),
        ("llama", vocabulary("mistral"), "mistral", True),
        ("llama", vocabulary("chatml"), "chatml", True),
        ("llama", vocabulary("chatml", "llama3"), "llama3", True),  # likeliest first
        ("mistral3", vocabulary("mistral"), "mistral", True),
        ("gemma", vocabulary("gemma"), "gemma", True),
        ("gemma3", vocabulary("gemma"), "gemma", True),
        ("qwen2", vocabulary("chatml"), "chatml", True),
        ("qwen3", vocabulary("chatml"), "chatml", True),
        ("phi3", vocabulary("phi"), "phi", True),
        ("starcoder2", vocabulary("chatml"), "chatml", False),  # only its tokens say so
        ("gemma3", vocabulary("chatml"), "chatml", False),
    ],
)
def test_the_family_is_chosen_from_the_architecture_when_its_markers_are_there(
    tmp_path: Path, architecture: str, markers: set[str], family: str, by_architecture: bool
) -> None:
    path = write_llama_gguf(tmp_path / f"{architecture}.gguf", architecture=architecture)
    header = read_header(path)
    assert header.architecture == architecture and header.chat_template is None
    chosen = choose_template(header, markers.__contains__)
    assert chosen is not None
    assert chosen.template.key == family
    assert chosen.by_architecture is by_architecture


@pytest.mark.parametrize("architecture", ["llama", "gemma3", "qwen2", "phi3", "starcoder2"])
def test_a_vocabulary_without_any_family_s_markers_gets_none(
    tmp_path: Path, architecture: str
) -> None:
    """A base model (stories260K) keeps Hearth's plain format rather than foreign markers."""
    header = read_header(write_llama_gguf(tmp_path / "m.gguf", architecture=architecture))
    assert choose_template(header, lambda _text: False) is None


EXPECTED = {
    "llama3": (
        "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    "gemma": (
        "<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    ),
    "chatml": (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    "phi": (
        "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n"
        "<|user|>\nBye<|end|>\n<|assistant|>\n"
    ),
    "mistral": "<s>[INST] Be brief.\n\nHi [/INST] Hello.</s>[INST] Bye [/INST]",
}


@pytest.mark.parametrize("family", sorted(CHAT_TEMPLATES))
def test_each_family_renders_its_own_format_in_the_sandboxed_formatter(family: str) -> None:
    formatter = Jinja2ChatFormatter(
        template=CHAT_TEMPLATES[family].jinja,
        eos_token="</s>",
        bos_token="<s>",
        add_generation_prompt=True,
    )
    assert formatter(messages=MESSAGES).prompt == EXPECTED[family]


def test_every_family_is_listed() -> None:
    assert sorted(CHAT_TEMPLATES) == ["chatml", "gemma", "llama3", "mistral", "phi"]
    assert {t.label for t in CHAT_TEMPLATES.values()} == {
        "Llama 3",
        "Gemma",
        "ChatML",
        "Phi",
        "Mistral",
    }
