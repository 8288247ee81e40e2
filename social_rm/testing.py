"""Tiny real models for tests and benchmarks, built from a config (no download): a byte-level BPE tokenizer
trained with `tokenizers` on the given texts, with a chat template, and randomly initialised Llama models saved
with `save_pretrained`, so they load through the real `from_pretrained` path.

    folder = save_tiny_model(tmp / "rm", "classifier", texts)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 600,
    pad: bool | str = True,
    chat_template: bool | str = True,
    special: list[str] | None = None,
    bos: str | None = "<s>",
    eos: str = "</s>",
    add_bos: bool = False,
    **tokens: str,
):
    """A byte-level BPE tokenizer trained on `texts`. By default it has our own special tokens and chat template;
    a model family's are arguments: its `special` tokens, `bos`, `eos`, `pad` (True: "<pad>", a string: that
    token, False: none), other named tokens (`unk_token`, `cls_token`), its `chat_template` text, and `add_bos`:
    whether `tokenizer(text)` puts BOS in front, as the Llama, Gemma and Mistral tokenizers do."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    pad_token = "<pad>" if pad is True else pad or None
    names = [t for t in (bos, eos, pad_token, *tokens.values()) if t]
    special = list(dict.fromkeys(names + list(SPECIAL if special is None else special)))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer)
    if add_bos:
        bos_id = tokenizer.token_to_id(bos)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, pad_token=pad_token, **tokens
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE if chat_template is True else chat_template
    return fast


ARCHITECTURES = ("Llama", "Mistral", "Qwen2", "Qwen3", "Gemma2")  # transformers' class name prefixes


def tiny_config(
    tokenizer,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int | None = None,
    intermediate: int | None = None,
    architecture: str = "Llama",
    **extra,
):
    """A config of `architecture` (Llama, Mistral, Qwen2, Qwen3, Gemma2) for `tokenizer`; the defaults make a tiny model,
    real sizes are arguments (Llama-3-8B: hidden 4096, layers 32, heads 32, kv_heads 8, intermediate 14336,
    rope_theta 500000). Sliding windows and Gemma-2's soft-capping go in `extra`."""
    import transformers

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES} (got {architecture!r})")
    if architecture == "Gemma2":
        extra.setdefault("head_dim", hidden // heads)
    return getattr(transformers, f"{architecture}Config")(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate or 2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or max(1, heads // 2),
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def save_tiny_model(
    folder: Path,
    kind: str,
    texts: Iterable[str],
    seed: int = 0,
    pad: bool = True,
    architecture: str = "Llama",
    **config,
) -> Path:
    """A randomly initialised `kind` ("classifier" or "causal") of `architecture` with its tokenizer, saved to
    `folder`."""
    import torch
    import transformers

    tokenizer = train_tokenizer(texts, pad=pad)
    torch.manual_seed(seed)
    if kind == "classifier":
        config.setdefault("num_labels", 1)
    head = "ForSequenceClassification" if kind == "classifier" else "ForCausalLM"
    model = getattr(transformers, f"{architecture}{head}")(
        tiny_config(tokenizer, architecture=architecture, **config)
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def save_tiny_encoder(folder: Path, texts: Iterable[str], seed: int = 0, **config) -> Path:
    """A randomly initialised BERT sequence classifier (one logit) with its tokenizer, saved to `folder`: an
    architecture the packed engine does not serve, read through the model's own forward pass."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = train_tokenizer(texts)
    torch.manual_seed(seed)
    shape = dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_labels=1
    )
    BertForSequenceClassification(
        BertConfig(vocab_size=len(tokenizer), **{**shape, **config})
    ).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)
