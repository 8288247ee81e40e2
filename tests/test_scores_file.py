"""The scores file: every format read alike, and every bad value named by file, row, pair id, column and value."""

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from social_rm.results.scores import Scores, ScoresFileError, align, read_scores, write_scores

ROWS = [
    {"id": "bbq/Age/ambig/0:unknown>stereotyped", "chosen_score": 1.5, "rejected_score": -2},
    {"id": "xstest/1:compliance>refusal", "chosen_score": 0.25, "rejected_score": 0.25},
]


def write(path, rows):
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".csv":
        header = ",".join(rows[0])
        path.write_text(header + "\n" + "".join(",".join(str(v) for v in r.values()) + "\n" for r in rows))
    elif path.name.endswith(".array.json"):
        path.write_text(json.dumps(rows))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("name", ["s.parquet", "s.jsonl", "s.array.json", "s.csv"])
def test_every_format_reads_alike(tmp_path, name):
    scores = read_scores(write(tmp_path / name, ROWS))
    assert scores.ids == [r["id"] for r in ROWS]
    assert scores.chosen.tolist() == [1.5, 0.25] and scores.rejected.tolist() == [-2.0, 0.25]
    assert scores.chosen.dtype == np.float64


def test_written_scores_keep_their_metadata(tmp_path):
    scores = Scores(["a", "b"], np.array([1.0, 2.0]), np.array([0.5, 3.0]), {"model": {"name": "m"}})
    write_scores(scores, tmp_path / "s.parquet")
    again = read_scores(tmp_path / "s.parquet")
    assert again.ids == ["a", "b"] and again.metadata == {"model": {"name": "m"}}


@pytest.mark.parametrize(
    "value, message",
    [
        (float("nan"), "'chosen_score' must be finite (got nan)"),
        (float("inf"), "'chosen_score' must be finite (got inf)"),
        (True, "'chosen_score' must be a number (got True)"),
        ("0.5", "'chosen_score' must be a number (got '0.5')"),
        (None, "'chosen_score' must be a number (got None)"),
    ],
)
def test_a_bad_score_is_named_with_file_row_id_and_column(tmp_path, value, message):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], "chosen_score": value}) + "\n")
    expected = f"scores file {path} row 1 (id='xstest/1:compliance>refusal'): {message}"
    with pytest.raises(ScoresFileError, match=re.escape(expected)):
        read_scores(path)


def test_a_text_score_in_a_csv_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,chosen_score,rejected_score\na,1.0,2.0\nb,high,0.5\n")
    with pytest.raises(
        ScoresFileError, match=re.escape("row 1 (id='b'): 'chosen_score' must be a number (got 'high')")
    ):
        read_scores(path)


def test_broken_json_lines_give_their_line_number(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n" + '{"id": "b", "chosen_score": 1,\n')
    with pytest.raises(ScoresFileError, match=re.escape(f"scores file {path} line 3: broken JSON Lines")):
        read_scores(path)


@pytest.mark.parametrize("name", ["s.jsonl", "s.csv", "s.json"])
def test_an_empty_file_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text("\n")
    with pytest.raises(ScoresFileError, match=re.escape(f"scores file {path} is empty")):
        read_scores(path)


def test_a_missing_column_and_an_unknown_format_are_named(tmp_path):
    path = write(tmp_path / "s.jsonl", [{"id": "a", "chosen_score": 1.0}])
    with pytest.raises(ScoresFileError, match=re.escape("row 0: missing columns ['rejected_score']")):
        read_scores(path)
    (tmp_path / "s.txt").write_text("x")
    with pytest.raises(ScoresFileError, match="expected one of .parquet, .jsonl, .json, .csv"):
        read_scores(tmp_path / "s.txt")


def test_align_orders_by_the_dataset_and_names_a_scores_file_row_scored_twice():
    scores = Scores(["b", "a"], np.array([2.0, 1.0]), np.array([0.0, 0.5]))
    chosen, rejected = align(["a", "b"], scores)
    assert chosen.tolist() == [1.0, 2.0] and rejected.tolist() == [0.5, 0.0]
    twice = Scores(["a", "b", "a"], np.zeros(3), np.zeros(3))
    with pytest.raises(
        ScoresFileError, match=re.escape("scores file row 2: pair id 'a' is scored more than once")
    ):
        align(["a", "b"], twice)


PAIR = dict(
    domain=["safety"],
    source=["xstest"],
    category=["homonyms"],
    subset=["safe"],
    group_id=["g"],
    chosen_role=["compliance"],
    rejected_role=["refusal"],
    label_type=["gold"],
    error_type=["over_cautious"],
    bias_direction=["none"],
)


@pytest.mark.parametrize(
    "inputs, message",
    [
        (
            {"chosen_scores": [], "rejected_scores": [], **{k: [] for k in PAIR}},
            "no pairs: every column is empty",
        ),
        (
            {
                "chosen_scores": [1.0],
                "rejected_scores": [0.0],
                **{k: v for k, v in PAIR.items() if k != "subset"},
            },
            "missing columns ['subset']",
        ),
        (
            {"chosen_scores": ["high"], "rejected_scores": [0.0], **PAIR},
            "'chosen_scores' row 0: expected a float score (got 'high')",
        ),
        (
            {"chosen_scores": [1.0], "rejected_scores": [None], **PAIR},
            "'rejected_scores' row 0: expected a float score (got None",
        ),
    ],
)
def test_the_metric_through_evaluate_names_bad_input_itself(metric, inputs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        metric.compute(n_bootstrap=0, **inputs)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '"chosen_score": 1e308',
            "'chosen_score' is 1e+308, beyond the largest score the metric takes (1e+150)",
        ),
        ('"chosen_score": -1e308', "'chosen_score' is -1e+308, beyond the largest score"),
        (
            '"chosen_score": 1' + "0" * 400,
            "'chosen_score' is an integer of 401 digits, beyond the largest score",
        ),
    ],
)
def test_scores_too_large_for_the_metric_are_named(tmp_path, text, message):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "rejected_score": 0, ' + text + "}\n")
    with pytest.raises(ScoresFileError, match=re.escape(f"scores file {path} row 0 (id='a'): {message}")):
        read_scores(path)


def test_an_integer_over_pythons_digit_limit_is_broken_json(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "a", "rejected_score": 0, "chosen_score": 1' + "0" * 5000 + "}\n")
    with pytest.raises(ScoresFileError, match=re.escape(f"scores file {path} line 1: broken JSON Lines")):
        read_scores(path)


def test_a_column_given_twice_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,chosen_score,rejected_score,chosen_score\na,1,0,5\n")
    with pytest.raises(
        ScoresFileError, match=re.escape(f"{path}: column 'chosen_score' appears more than once")
    ):
        read_scores(path)
    columns = [pa.array(["a"]), pa.array([1.0]), pa.array([0.0]), pa.array([5.0])]
    table = pa.table(columns, names=["id", "chosen_score", "rejected_score", "chosen_score"])
    pq.write_table(table, tmp_path / "s.parquet")
    with pytest.raises(ScoresFileError, match="column 'chosen_score' appears more than once"):
        read_scores(tmp_path / "s.parquet")


@pytest.mark.parametrize("metadata", [b"[1, 2]", b"not json"])
def test_parquet_metadata_that_is_not_a_json_object_is_named(tmp_path, metadata):
    table = pa.Table.from_pylist(ROWS).replace_schema_metadata({b"social_rm": metadata})
    pq.write_table(table, tmp_path / "s.parquet")
    with pytest.raises(
        ScoresFileError, match=re.escape(f"scores file {tmp_path / 's.parquet'}: its social_rm")
    ):
        read_scores(tmp_path / "s.parquet")


def test_a_folder_given_as_the_scores_file_is_named_as_one(tmp_path):
    (tmp_path / "s.parquet").mkdir()
    with pytest.raises(ScoresFileError, match=re.escape(f"scores file {tmp_path / 's.parquet'} is a folder")):
        read_scores(tmp_path / "s.parquet")


def test_a_judges_unparsed_counts_survive_the_file_and_a_bad_count_is_named(tmp_path):
    scores = Scores(["a", "b"], np.array([1.0, 0.5]), np.array([0.0, 0.5]), {}, np.array([0, 2]))
    write_scores(scores, tmp_path / "judge.parquet")
    assert read_scores(tmp_path / "judge.parquet").unparsed.tolist() == [0, 2]
    assert read_scores(tmp_path / "judge.parquet").ids == ["a", "b"]
    rows = [{"id": "a", "chosen_score": 1, "rejected_score": 0, "n_unparsed": 0}]
    rows.append({"id": "b", "chosen_score": 1, "rejected_score": 0, "n_unparsed": -1})
    path = tmp_path / "judge.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(
        ScoresFileError, match=r"judge.jsonl row 1 \(id='b'\): 'n_unparsed' must be a count .* \(got -1\)"
    ):
        read_scores(path)
