"""Options as dataclasses whose fields carry their own help: the command line's arguments are generated from them
(`add_arguments`), as TRL's configs are, so a flag's default and help live in one place.

    settings = ModelSettings("Skywork/Skywork-Reward-V2-Qwen3-0.6B", LoadOptions(dtype="bfloat16"), max_length=2048)

`LoadOptions` and `ModelSettings` are shared by every model kind; each kind declares its own options class beside
its scorer, and `kinds.get_scorer` refuses an option the kind does not take.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, dataclass, field, fields

from social_rm.errors import SocialRMError


def option(default, help: str, **argument):
    """A dataclass field that is also a command-line option: `help` (the default is appended), and what
    argparse takes (`type`, `choices` (a callable is called when the parser is built), `metavar`); `flag`
    renames it; `flags` maps each of several mutually exclusive flags to the value it sets."""
    return field(default=default, metadata={"help": help, **argument})


def positive_int(value: str) -> int:
    if not value.lstrip("-").isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (got {value!r})")
    return int(value)


def _budget(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        return positive_int(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of tokens or auto (got {value!r})"
        ) from None


def parse_max_memory(value: str) -> dict:
    """`--max-memory 0=20GiB,1=20GiB,cpu=60GiB` as accelerate takes it (GPU indices as integers)."""
    limits = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        device, _, size = part.partition("=")
        if not size:
            raise SocialRMError(
                f"--max-memory takes DEVICE=SIZE pairs such as 0=20GiB,cpu=60GiB (got {part!r})"
            )
        limits[int(device) if device.isdigit() else device] = size
    return limits


def _max_memory(value: str) -> dict:
    try:
        return parse_max_memory(value)
    except SocialRMError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


@dataclass(frozen=True)
class LoadOptions:
    """How a model's weights are loaded."""

    device: str = option("auto", "auto (cuda, then mps, then cpu), or a torch device")
    dtype: str = option(
        "auto",
        "auto: bfloat16 on an accelerator, float32 on cpu",
        choices=("auto", "bfloat16", "float16", "float32"),
    )
    revision: str | None = option(None, "model revision (Hub branch, tag or commit)")
    trust_remote_code: bool = option(False, "run the model repository's own code")
    # weights from a pickle checkpoint (.bin) run code when loaded: an explicit opt-in
    allow_pickle: bool = option(False, "load pickle (.bin) weights when there are no safetensors")
    device_map: str | None = option(
        None,
        "auto: spread a model larger than one GPU over the GPUs, the CPU and --offload-folder",
        choices=("auto",),
    )
    max_memory: dict | None = option(
        None, "with --device-map: memory per device, e.g. 0=70GiB,1=70GiB,cpu=200GiB", type=_max_memory
    )
    offload_folder: str | None = option(
        None, "with --device-map: where weights that fit nowhere else go (default: a temporary folder)"
    )
    quantization: str | None = option(
        None, "bitsandbytes weights", flags={"--load-in-8bit": "8bit", "--load-in-4bit": "4bit"}
    )


@dataclass(frozen=True)
class ModelSettings:
    """What every model kind shares: the model, how it loads, and how sequences are cut and batched."""

    model: str
    options: LoadOptions = field(default_factory=LoadOptions)
    name: str | None = option(
        None,
        "the model's published name (ORG/MODEL), recorded for a local checkpoint in place of its path, which stays "
        "out of everything published; the registry entry of that name applies",
    )
    max_length: int | None = option(
        4096,
        "tokens per sequence: a longer prompt is cut from the left, a response too long alone at its end",
        type=positive_int,
    )
    max_tokens_per_batch: int | None = option(
        None,
        "token budget of a batch, padding included (default auto: from the device's free memory)",
        type=_budget,
        metavar="N|auto",
    )
    prefix_sharing: bool = option(
        True,
        "score each completion whole (its prompt not shared with the item's other responses)",
        flag="--no-prefix-sharing",
    )
    chat_template: str | None = None  # replaces the tokenizer's (a registry fix, known_models); not an option

    def __post_init__(self):
        for name in ("max_length", "max_tokens_per_batch"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise SocialRMError(f"{flag(name, ModelSettings)} must be a positive integer (got {value!r})")


def cli_fields(cls) -> list:
    """The fields of an options class that are command-line options."""
    return [f for f in fields(cls) if "help" in f.metadata]


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One argument per option of `cls`, its default left None so that `given` tells what the user set; the
    help shows the field's own default. A flag already in `parser` (another class's option) is not added twice."""
    taken = {name for action in parser._actions for name in action.option_strings}
    for f in cli_fields(cls):
        meta = dict(f.metadata)
        default = f.default if f.default is not MISSING else None
        shown = default is not None and not isinstance(default, bool)
        help_text = meta.pop("help") + (f" (default: {default})" if shown else "")
        if "flags" in meta:
            group = parser.add_mutually_exclusive_group()
            for name, value in meta.pop("flags").items():
                if name not in taken:
                    group.add_argument(
                        name, action="store_const", const=value, dest=f.name, help=f"{help_text}: {value}"
                    )
            continue
        name = flag(f.name, cls)
        meta.pop("flag", None)
        if name in taken:
            continue
        if isinstance(default, bool):
            parser.add_argument(name, action="store_const", const=not default, dest=f.name, help=help_text)
            continue
        if callable(meta.get("choices")):
            meta["choices"] = list(meta["choices"]())
        meta.setdefault("type", type(default) if default is not None else str)
        parser.add_argument(name, dest=f.name, default=None, help=help_text, **meta)


def given(args: argparse.Namespace, cls) -> dict:
    """The options of `cls` the user set on the command line."""
    return {f.name: getattr(args, f.name) for f in cli_fields(cls) if getattr(args, f.name, None) is not None}


def flag(name: str, cls=None) -> str:
    """The command-line flag of option `name` (of `cls`, where it may be renamed)."""
    renamed = {f.name: f.metadata.get("flag") for f in cli_fields(cls)} if cls is not None else {}
    return renamed.get(name) or "--" + name.replace("_", "-")
