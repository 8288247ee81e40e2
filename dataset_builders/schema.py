"""The social-pairs row schema (../shared/SPEC.md, "One row = one pair"): one `datasets.Features` constant, its
vocabularies, and `validate`.

Rows are built as plain dicts whose ClassLabel columns hold names (``"bias"``, ``"gold"``); `encode` turns them
into the integer codes the parquet files store.
"""

from __future__ import annotations

from collections.abc import Iterable

import datasets

from social_rm.errors import SocialRMError

DOMAINS = ("bias", "safety", "morality", "ethical_reasoning")
LABEL_TYPES = ("gold", "directional")
ERROR_TYPES = ("none", "harmful", "over_cautious", "incorrect")
BIAS_DIRECTIONS = ("none", "pro_stereotype", "anti_stereotype")
# What a response is within its item. `group_a`/`group_b`: the two group answers of a BBQ item whose metadata
# gives no stereotyped answer (target_loc = NA), in answer order.
ROLES = (
    "unknown",
    "stereotyped",
    "anti_stereotyped",
    "unrelated",
    "group_a",
    "group_b",
    "refusal",
    "compliance",
    "partial_refusal",
    "preferred",
    "dispreferred",
    "correct_judgement",
    "incorrect_judgement",
    "reasonable",
    "unreasonable",
    "fitting_trait",
    "unfitting_trait",
    "rule_following",
    "rule_violating",
    "moral_action",
    "immoral_action",
)
CLASS_LABELS = {
    "domain": DOMAINS,
    "label_type": LABEL_TYPES,
    "error_type": ERROR_TYPES,
    "bias_direction": BIAS_DIRECTIONS,
}

_MESSAGE = {"role": datasets.Value("string"), "content": datasets.Value("string")}
FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "group_id": datasets.Value("string"),
        "domain": datasets.ClassLabel(names=list(DOMAINS)),
        "source": datasets.Value("string"),
        "category": datasets.Value("string"),
        "subset": datasets.Value("string"),
        "prompt": datasets.List(_MESSAGE),
        "chosen": datasets.List(_MESSAGE),
        "rejected": datasets.List(_MESSAGE),
        "chosen_role": datasets.Value("string"),
        "rejected_role": datasets.Value("string"),
        "label_type": datasets.ClassLabel(names=list(LABEL_TYPES)),
        "error_type": datasets.ClassLabel(names=list(ERROR_TYPES)),
        "bias_direction": datasets.ClassLabel(names=list(BIAS_DIRECTIONS)),
        "license": datasets.Value("string"),
    }
)
COLUMNS = tuple(FEATURES)
# The columns the metric takes besides the scores, in its argument order.
PAIR_COLUMNS = (
    "domain",
    "source",
    "category",
    "subset",
    "group_id",
    "chosen_role",
    "rejected_role",
    "label_type",
    "error_type",
    "bias_direction",
)
_STRING_COLUMNS = ("id", "group_id", "source", "category", "subset", "license")


class SchemaError(SocialRMError, ValueError):
    """A row that does not follow the schema."""


def message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _check_messages(value, column: str, fail) -> None:
    if not isinstance(value, list) or not value:
        fail(column, value, "a non-empty list of {role, content} messages")
    for turn in value:
        if not isinstance(turn, dict) or set(turn) != {"role", "content"}:
            fail(column, turn, "a {role, content} message")
        if turn["role"] not in ("system", "user", "assistant"):
            fail(column, turn["role"], "a role of system, user or assistant")
        if not isinstance(turn["content"], str) or not turn["content"].strip():
            fail(column, turn["content"], "non-empty message content")
    if column == "prompt" and value[-1]["role"] != "user":
        fail(column, value[-1]["role"], "a conversation that ends with a user turn")
    if column != "prompt" and (len(value) != 1 or value[0]["role"] != "assistant"):
        fail(column, value, "exactly one assistant message")


def validate(rows: Iterable[dict], source: str) -> list[dict]:
    """Check every row against the schema and return them as a list.

    Raises `SchemaError` naming the source, row, id, column and value, e.g.
    ``bbq row 12 (id='bbq/Age/ambig/0:unknown>stereotyped'): 'chosen' must be exactly one assistant message (got [])``.
    """
    rows = list(rows)
    seen: set[str] = set()
    for i, row in enumerate(rows):

        def fail(column, value, expected, i=i, row=row):
            raise SchemaError(
                f"{source} row {i} (id={row.get('id')!r}): {column!r} must be {expected} (got {value!r})"
            )

        if set(row) != set(COLUMNS):
            fail("columns", sorted(row), f"the columns {sorted(COLUMNS)}")
        for column in _STRING_COLUMNS:
            if not isinstance(row[column], str) or not row[column]:
                fail(column, row[column], "a non-empty string")
        for column, names in CLASS_LABELS.items():
            if row[column] not in names:
                fail(column, row[column], f"one of {names}")
        for column in ("chosen_role", "rejected_role"):
            if row[column] not in ROLES:
                fail(column, row[column], f"one of {ROLES}")
        for column in ("prompt", "chosen", "rejected"):
            _check_messages(row[column], column, fail)
        if row["chosen"][0]["content"] == row["rejected"][0]["content"]:
            fail("rejected", row["rejected"][0]["content"], "a response different from 'chosen'")
        if row["label_type"] == "directional":
            if row["error_type"] != "none" or row["bias_direction"] == "none":
                fail("error_type", row["error_type"], "'none' with a bias_direction in a directional pair")
        elif row["error_type"] == "none":
            fail("error_type", row["error_type"], "harmful, over_cautious or incorrect in a gold pair")
        if row["id"] in seen:
            fail("id", row["id"], "unique")
        seen.add(row["id"])
    return rows


def encode(rows: list[dict]) -> list[dict]:
    """Replace ClassLabel names by their integer codes (the stored form)."""
    index = {column: {name: i for i, name in enumerate(names)} for column, names in CLASS_LABELS.items()}
    return [{**row, **{column: index[column][row[column]] for column in CLASS_LABELS}} for row in rows]


def decode(rows: list[dict]) -> list[dict]:
    """Replace ClassLabel integer codes by their names (the form `validate` and the card take)."""
    return [{**row, **{column: CLASS_LABELS[column][row[column]] for column in CLASS_LABELS}} for row in rows]
