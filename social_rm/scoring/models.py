"""Loading models from `transformers`: safetensors only and no remote code unless asked, the device and dtype, the
Auto class, quantisation, big-model device maps, the model's fingerprint for the score cache, and the token
budget of a batch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from social_rm.errors import SocialRMError
from social_rm.scoring.options import LoadOptions

# The documented fallback for tokenizers without a chat template: a plain transcript.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)


# Architectures whose attention transformers' SDPA path does not compute as the model was trained.
EAGER_MODEL_TYPES = ("gemma2",)


def pick_device(device: str = "auto") -> str:
    """`auto`: cuda (each process of an `accelerate launch` its own GPU, `LOCAL_RANK`), then mps, then cpu."""
    import os

    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str):
    """`auto`: bfloat16 on an accelerator, float32 on the CPU."""
    import torch

    if dtype == "auto":
        return torch.float32 if device == "cpu" else torch.bfloat16
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def model_fingerprint(name: str, options: LoadOptions, settings: dict, commit: str | None = None) -> str:
    """A hash of what decides the scores: the model's files (a local folder: the sha256 of every file's full bytes;
    a Hub id: the commit sha its revision resolved to, `commit`), the dtype and the scoring settings."""
    digest = hashlib.sha256(
        json.dumps({"settings": settings, "dtype": options.dtype}, sort_keys=True).encode()
    )
    folder = Path(name)
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(folder)}\0{file_sha256(path)}\0".encode())
    else:
        digest.update(f"{name}@{commit or options.revision or 'main'}".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, remembered by its path, inode, size, modification and change time, so that a
    rerun does not read 140 GB of weights again while any change to the file is hashed anew: in place with its
    time restored (`touch -r`), or unpacked with a fixed time (`tar --mtime`), the change time (which no tool can
    set) differs."""
    import sqlite3

    from huggingface_hub import constants

    from social_rm.scoring.cache import readable

    stat = path.stat()
    key = f"{path.resolve()}\0{stat.st_ino}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}"
    memo_path = Path(constants.HF_HOME) / "social-rm" / "file-hashes.sqlite"
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    with readable(memo_path, "the file-hash memo"), sqlite3.connect(memo_path, timeout=60) as memo:
        memo.execute("CREATE TABLE IF NOT EXISTS hashes (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL)")
        known = memo.execute("SELECT sha256 FROM hashes WHERE key = ?", (key,)).fetchone()
        if known:
            return known[0]
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                digest.update(block)
        memo.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?)", (key, digest.hexdigest()))
    return digest.hexdigest()


class ModelError(SocialRMError, OSError):
    """A model that cannot be found or loaded as asked."""


def check_model_name(name: str) -> None:
    if not Path(name).exists() and not looks_like_hub_id(name):
        raise ModelError(f"model {name!r} is neither a local folder nor a Hub id (owner/name)")


def load_tokenizer(name: str, options: LoadOptions, chat_template: str | None = None):
    """The model's tokenizer; `chat_template` replaces its own (a registry fix), and a tokenizer without one gets
    `FALLBACK_CHAT_TEMPLATE`."""
    from transformers import AutoTokenizer

    check_model_name(name)
    tokenizer = AutoTokenizer.from_pretrained(
        name, revision=options.revision, trust_remote_code=options.trust_remote_code
    )
    if chat_template or not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = chat_template or FALLBACK_CHAT_TEMPLATE
    return tokenizer


def load(
    name: str,
    options: LoadOptions,
    chat_template: str | None = None,
    auto_class: str = "AutoModelForCausalLM",
    model_class: str | None = None,
    check_config=None,
):
    """(tokenizer, model): the config read first and a model with its own code refused unless trusted (before any
    of the repository's code runs, its tokenizer's included), `check_config(config)` where the caller refuses
    what it cannot read, then the tokenizer and the weights."""
    config = raw_config(name, options)
    check_remote_code(name, config, options)
    if check_config is not None:
        check_config(config)
    tokenizer = load_tokenizer(name, options, chat_template)
    return tokenizer, load_model(auto_class, name, options, model_class, config)


def raw_config(name: str, options: LoadOptions) -> dict:
    """The model's config.json as written, read without running any of its code."""
    from transformers import PretrainedConfig

    check_model_name(name)
    try:
        return PretrainedConfig.get_config_dict(name, revision=options.revision)[0]
    except OSError as error:
        raise ModelError(f"cannot read the config of model {name}: {error}") from error


def check_remote_code(name: str, config: dict, options: LoadOptions) -> None:
    """Refuse a model that brings its own code (`auto_map`) unless --trust-remote-code: transformers would load
    its own class for a known model type instead, without the repository's head, and score it wrongly."""
    auto_map = config.get("auto_map")
    if auto_map and not options.trust_remote_code:
        classes = ", ".join(sorted(str(v) for v in auto_map.values()))
        raise ModelError(
            f"{name} defines its own model code ({classes}); reading it runs that code, so pass --trust-remote-code "
            "if you trust the repository"
        )


def auto_class_for(config: dict, preferred: str) -> str:
    """The transformers Auto class to load with: `preferred`, unless the model's own code (`auto_map`) registers
    another Auto class and not that one."""
    auto_map = config.get("auto_map") or {}
    if not auto_map or preferred in auto_map:
        return preferred
    order = ("AutoModelForSequenceClassification", "AutoModel", "AutoModelForCausalLM")
    return next((c for c in order if c in auto_map), preferred)


def _quantization_config(options: LoadOptions, dtype):
    import importlib.util

    if options.quantization is None:
        return None
    if options.quantization not in ("8bit", "4bit"):
        raise SocialRMError(f"quantization must be 8bit or 4bit (got {options.quantization!r})")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise SocialRMError(
            f"--load-in-{options.quantization} loads the weights with bitsandbytes, which is not installed: "
            "pip install bitsandbytes"
        )
    from transformers import BitsAndBytesConfig

    if options.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype)


def load_model(
    auto_class: str,
    name: str,
    options: LoadOptions,
    model_class: str | None = None,
    config: dict | None = None,
):
    """`AutoModelFor...from_pretrained` (or `model_class`, "module:Class", for a model whose class an installed
    package defines) in inference mode, with the attention transformers chooses, except Gemma-2, which gets eager
    attention: transformers before 5 chose SDPA for it, which drops its attention soft-capping. A checkpoint
    that lacks weights of the class it is loaded as (a head transformers would initialise at random: a model
    loaded without its own class) is refused (`check_loading_info`). On one device, or with
    `device_map` spread over the GPUs, the CPU and an offload folder; quantised with bitsandbytes if asked. A model
    with its own code (`config`, its raw config.json, read here if not given) needs --trust-remote-code and is
    loaded with the Auto class it registers (`auto_class_for`)."""
    import importlib

    import transformers

    config = raw_config(name, options) if config is None else config
    check_remote_code(name, config, options)
    auto_class = auto_class_for(config, auto_class)
    device = pick_device(options.device)
    if model_class:
        module, _, attribute = model_class.partition(":")
        try:
            load = getattr(importlib.import_module(module), attribute).from_pretrained
        except ImportError as error:
            raise ModelError(
                f"{name} is loaded with {model_class}, which is not installed ({error})"
            ) from error
    else:
        load = getattr(transformers, auto_class).from_pretrained
    dtype = pick_dtype(options.dtype, device)
    kwargs = dict(
        revision=options.revision,
        trust_remote_code=options.trust_remote_code,
        use_safetensors=None if options.allow_pickle else True,
        dtype=dtype,
    )
    if config.get("model_type") in EAGER_MODEL_TYPES:
        kwargs["attn_implementation"] = "eager"
    quantization = _quantization_config(options, dtype)
    device_map = options.device_map or ({"": device} if quantization else None)
    if quantization:
        kwargs["quantization_config"] = quantization
    if device_map:
        kwargs.update(
            device_map=device_map,
            max_memory=options.max_memory,
            offload_folder=options.offload_folder or _temporary_folder("social-rm-offload-"),
        )
    try:
        model, info = load(name, output_loading_info=True, **kwargs)
    except OSError as error:
        if not options.allow_pickle and "safetensors" in str(error).lower():
            raise ModelError(
                f"{name} has no safetensors weights; a pickle checkpoint can run code when loaded, so loading it "
                "needs --allow-pickle"
            ) from error
        raise
    check_loading_info(name, model, info)
    return model.eval() if device_map else model.to(device).eval()


def check_loading_info(name: str, model, info: dict) -> None:
    """Refuse a model some of whose weights are not in its checkpoint: transformers initialises them at random
    with a warning, and a reward read through them would be noise (a score head under another name, a checkpoint
    of another class)."""
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise ModelError(
            f"{name}: {len(missing)} weights of {type(model).__name__} are not in the checkpoint ({shown}); "
            "transformers would initialise them at random. The model needs its own class: see `social-rm models` "
            "for known models, or pass --trust-remote-code, --reward-from or --kind to read it as it was trained"
        )


def _temporary_folder(prefix: str) -> str:
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def input_device(model):
    """Where a model's inputs go: the device of its first parameters (the embeddings, also with a device map); where
    those are offloaded (on "meta"), the device accelerate's hook runs the model on."""
    import torch

    parameter = next(model.parameters())
    if parameter.device.type != "meta":
        return parameter.device
    return torch.device(getattr(getattr(model, "_hf_hook", None), "execution_device", None) or "cpu")


CPU_TOKEN_BUDGET = 16_384


def token_budget_for(config, dtype_bytes: int, free_bytes: int, row_length: int) -> int:
    """Tokens a batch may hold when `free_bytes` of device memory are left after the weights: 80% of it over one
    token's peak activations (a layer's hidden states, attention and MLP: 4 x hidden + 3 x intermediate values, and
    a row of logits of the vocabulary) plus its row of the attention mask; at least one row."""
    hidden = config.hidden_size
    intermediate = getattr(config, "intermediate_size", None) or 4 * hidden
    per_token = dtype_bytes * (4 * hidden + 3 * intermediate + config.vocab_size) + row_length
    return max(row_length, int(0.8 * free_bytes / per_token))


def auto_token_budget(model, row_length: int) -> int:
    """`--max-tokens-per-batch auto`: on a CUDA device, sized from its free memory and the model's shape
    (`token_budget_for`); elsewhere `CPU_TOKEN_BUDGET`. The out-of-memory back-off still halves it if needed."""
    import torch

    device = input_device(model)
    if device.type != "cuda":
        return CPU_TOKEN_BUDGET
    free, _ = torch.cuda.mem_get_info(device)
    return token_budget_for(model.config, next(model.parameters()).element_size(), free, row_length)


def looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def is_library_class(model) -> bool:
    """A class transformers itself defines (not a repository's own code)."""
    return type(model).__module__.startswith("transformers.")
