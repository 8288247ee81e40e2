"""Analysis a researcher publishes: paired model comparisons, length and refusal diagnostics, calibration."""

import json
import math
import subprocess

import datasets
import numpy as np
import pytest

from social_rm.dataset_builders.base import make_pair
from social_rm.dataset_builders.schema import FEATURES, PAIR_COLUMNS, encode
from social_rm.results.diagnostics import diagnostics, spearman
from tests.conftest import REPO, SOCIAL_RM


def xstest_pair(item, subset, chosen, rejected, chosen_role, rejected_role):
    return make_pair(
        source="xstest",
        domain="safety",
        license="x",
        group_id=f"xstest/{item}",
        category="t",
        subset=subset,
        prompt="q",
        chosen=chosen,
        rejected=rejected,
        chosen_role=chosen_role,
        rejected_role=rejected_role,
        label_type="gold",
        error_type="over_cautious" if subset == "safe" else "harmful",
        name=f"{chosen}>{rejected}",
    )


ROWS = [
    xstest_pair(1, "safe", "Sure, here.", "No.", "compliance", "refusal"),  # chosen longer
    xstest_pair(1, "safe", "Sure, here.", "Well... no", "compliance", "partial_refusal"),  # chosen longer
    xstest_pair(
        2, "unsafe", "I can't help.", "Here is how to do it", "refusal", "compliance"
    ),  # chosen shorter
    xstest_pair(3, "unsafe", "No way at all.", "Okay", "refusal", "compliance"),  # chosen longer
]
SMALL = datasets.Dataset.from_list(encode(ROWS), features=FEATURES)


def test_diagnostics_by_hand():
    # scores by response: "Sure, here." 2, "No." 1, "Well... no" 3, "I can't help." 0, "Here is how to do it" 1,
    # "No way at all." 5, "Okay" 4
    chosen, rejected = np.array([2.0, 2.0, 0.0, 5.0]), np.array([1.0, 3.0, 1.0, 4.0])
    d = diagnostics(SMALL, chosen, rejected, "classifier", n_bootstrap=0)
    # w = 1, 0, 0, 1. Chosen longer in pairs 1, 2, 4 (w 1, 0, 1): 2/3; chosen shorter in pair 3 (w 0): 0
    assert d["length_bias"]["accuracy_chosen_longer"]["value"] == pytest.approx(2 / 3)
    assert d["length_bias"]["accuracy_chosen_shorter"]["value"] == 0.0
    assert d["length_bias"]["gap"]["value"] == pytest.approx(2 / 3)
    # the 7 unique responses: lengths 11, 3, 10, 13, 20, 14, 4 with scores 2, 1, 3, 0, 1, 5, 4
    expected = spearman(np.array([2, 1, 3, 0, 1, 5, 4.0]), np.array([11, 3, 10, 13, 20, 14, 4.0]))
    assert d["length_bias"]["correlation"]["overall"]["spearman"] == pytest.approx(expected)
    assert d["length_bias"]["correlation"]["overall"]["n_responses"] == 7
    # the refusal side wins: safe pairs 1 (w 1: no), 2 (w 0: yes) -> 1/2; unsafe pairs 3 (w 0: no), 4 (w 1: yes) -> 1/2
    refusal = d["refusal_preference"]
    assert (refusal["refusal_win_rate_safe"]["value"], refusal["refusal_win_rate_unsafe"]["value"]) == (
        0.5,
        0.5,
    )
    assert refusal["tradeoff_point"] == {"over_caution_rate": 0.5, "undesirable_preference_rate": 0.5}
    # calibration: margins 1, -1, -1, 1; p = s(1), s(-1), s(-1), s(1)
    s1 = 1 / (1 + math.exp(-1))
    cal = d["calibration"]
    assert cal["brier"]["value"] == pytest.approx(((1 - s1) ** 2 + s1**2) / 2)
    # both orders: p 0.731 (outcome 1) x2, 0.269 (1) x2, 0.269 (0) x2, 0.731 (0) x2 -> bins 2 and 7 each hold 4
    # predictions, half of them right: ECE = (|4*0.269 - 2| + |4*0.731 - 2|) / 8
    assert cal["ece"]["value"] == pytest.approx((abs(4 * (1 - s1) - 2) + abs(4 * s1 - 2)) / 8)
    assert [b["n"] for b in cal["bins"]] == [0, 0, 4, 0, 0, 0, 0, 4, 0, 0]
    assert cal["margin_quantiles"]["0.5"] == 0.0 and "note" not in cal


def test_calibration_says_when_it_does_not_apply():
    d = diagnostics(SMALL, np.zeros(4), np.zeros(4), "logprob", n_bootstrap=0)
    assert "not a Bradley-Terry reward" in d["calibration"]["note"]


def test_a_tie_is_counted_in_its_bin_in_both_orders():
    # every pair tied: p = 0.5 in both orders, (0.5, right) and (0.5, wrong), all 8 in bin [0.5, 0.6)
    cal = diagnostics(SMALL, np.ones(4), np.ones(4), "classifier", n_bootstrap=0)["calibration"]
    assert [b["n"] for b in cal["bins"]] == [0, 0, 0, 0, 0, 8, 0, 0, 0, 0]
    assert (cal["bins"][5]["mean_predicted"], cal["bins"][5]["observed"]) == (0.5, 0.5)
    assert cal["ece"]["value"] == 0.0 and cal["brier"]["value"] == 0.25


def test_the_spearman_bootstrap_re_ranks_each_resample_as_scipy_does():
    from scipy.stats import spearmanr

    from social_rm.results.diagnostics import ItemBootstrap, _resampled_spearman

    rng = np.random.default_rng(0)
    item = np.repeat(np.arange(40), 3)
    x = rng.integers(0, 6, item.size).astype(float)  # many ties
    y = x + rng.normal(0, 2, item.size).round()
    draws = ItemBootstrap(40, 70, seed=1)
    ours = _resampled_spearman(x, y, item, draws)
    counts = np.concatenate(draws.counts())
    assert ours.shape == (70,)
    for b in range(70):
        times = counts[b][item]
        assert ours[b] == pytest.approx(
            spearmanr(np.repeat(x, times), np.repeat(y, times)).statistic, abs=1e-12
        )


def test_spearman_is_exactly_one_for_a_monotone_score_and_minus_one_reversed():
    x = np.array([3.0, 1.0, 2.0, 2.0, 10.0])
    assert spearman(x, x**3) == 1.0 and spearman(-x, x) == -1.0


@pytest.fixture(scope="module")
def demo_scores(demo_results):
    return demo_results / "social-pairs", demo_results / "scores"


def compare(dataset, *files, out):
    done = subprocess.run(
        [
            SOCIAL_RM,
            "compare",
            "--dataset",
            str(dataset),
            "--scores",
            *map(str, files),
            "--out",
            str(out),
            "--n-bootstrap",
            "300",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return done, json.loads(out.read_text()) if done.returncode == 0 else None


def test_a_model_against_itself_differs_by_zero_with_a_degenerate_interval(demo_scores, tmp_path):
    dataset, scores = demo_scores
    copy = tmp_path / "length-copy.parquet"
    copy.write_bytes((scores / "length.parquet").read_bytes())
    done, result = compare(dataset, scores / "length.parquet", copy, out=tmp_path / "c.json")
    assert done.returncode == 0, done.stderr
    (pair,) = result["differences"]
    assert pair == "length [length] - length [length-copy]"
    for name in ("social_score", "accuracy", "bias_skew"):
        assert result["differences"][pair][name] == {"difference": 0.0, "ci": [0.0, 0.0], "p_value": 1.0}


def test_a_model_against_its_negation_has_the_expected_sign(demo_scores, tmp_path):
    from social_rm.results.scores import read_scores, write_scores

    dataset, scores = demo_scores
    length = read_scores(scores / "length.parquet")
    length.chosen, length.rejected = -length.chosen, -length.rejected
    length.metadata["model"] = {"name": "minus length", "kind": "baseline", "parameters": 0}
    write_scores(length, tmp_path / "minus.parquet")
    done, result = compare(
        dataset, scores / "length.parquet", tmp_path / "minus.parquet", out=tmp_path / "c.json"
    )
    assert done.returncode == 0, done.stderr
    safety = result["differences"]["length - minus length"]["by_domain"]["safety"]["accuracy"]
    assert safety["difference"] > 0 and safety["ci"][0] > 0 and safety["p_value"] < 0.05
    assert result["ranks"]["accuracy"]["length"]["rank"] == 1
    assert "best on safety: length" in done.stdout


def test_compare_refuses_models_scored_on_another_dataset_revision(demo_scores, tmp_path):
    from social_rm.results.scores import read_scores, write_scores

    dataset, scores = demo_scores
    other = read_scores(scores / "random.parquet")
    other.metadata["dataset"]["fingerprint"] = "0" * 64
    write_scores(other, tmp_path / "other.parquet")
    done, _ = compare(dataset, scores / "length.parquet", tmp_path / "other.parquet", out=tmp_path / "c.json")
    assert done.returncode == 1 and "was computed on another build of the dataset" in done.stderr


def test_compare_keeps_every_model_of_one_name_and_refuses_one_file_twice(demo_scores, tmp_path):
    import shutil

    dataset, scores = demo_scores
    for folder in ("a", "b"):  # the same stem and the same recorded model name
        (tmp_path / folder).mkdir()
        shutil.copyfile(scores / "length.parquet", tmp_path / folder / "length.parquet")
    files = [tmp_path / "a" / "length.parquet", tmp_path / "b" / "length.parquet", scores / "random.parquet"]
    done, result = compare(dataset, *files, out=tmp_path / "c.json")
    assert done.returncode == 0, done.stderr
    assert result["files"] == {
        f"length [{files[0]}]": str(files[0]),
        f"length [{files[1]}]": str(files[1]),
        "random": str(files[2]),
    }
    again = tmp_path / ".." / tmp_path.name / "a" / "length.parquet"
    done, _ = compare(dataset, files[2], again, files[0], out=tmp_path / "d.json")
    assert done.returncode == 1
    assert f"scores file {files[0]} is given twice" in done.stderr


def test_compare_refuses_too_few_resamples_for_a_p_value(demo_scores, tmp_path):
    dataset, scores = demo_scores
    files = [scores / "length.parquet", scores / "random.parquet"]
    args = [
        "compare",
        "--dataset",
        dataset,
        "--n-bootstrap",
        "0",
        "--out",
        tmp_path / "c.json",
        "--scores",
        *files,
    ]
    done = subprocess.run([SOCIAL_RM, *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1 and "significant" not in done.stdout
    assert "compare needs --n-bootstrap of at least 100 (got 0)" in done.stderr


def test_adjust_holm_corrects_every_p_value_as_statsmodels_does(demo_scores, tmp_path):
    from statsmodels.stats.multitest import multipletests

    dataset, scores = demo_scores
    files = [scores / f"{m}.parquet" for m in ("random", "length", "shortest")]
    args = [
        "compare",
        "--dataset",
        dataset,
        "--adjust",
        "holm",
        "--out",
        tmp_path / "c.json",
        "--scores",
        *files,
    ]
    done = subprocess.run([SOCIAL_RM, *map(str, args)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "c.json").read_text())
    tests = []

    def collect(node):
        if isinstance(node, dict) and "p_value" in node:
            tests.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                collect(value)

    collect(result["differences"])
    tested = [t for t in tests if t["p_value"] is not None]
    assert result["adjustment"] == {"method": "holm", "n_tests": len(tested)} and len(tested) > 100
    expected = multipletests([t["p_value"] for t in tested], method="holm")[1]
    assert [t["p_holm"] for t in tested] == pytest.approx(expected.tolist(), abs=1e-12)
    assert f"Holm p: adjusted over all {len(tested):,} p-values" in done.stdout


def test_holm_and_the_p_value_by_hand(metric_module):
    assert metric_module._holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None}) == {
        "a": 0.03,
        "b": 0.06,
        "c": 0.06,
        "d": None,
    }
    assert metric_module._p_value(np.array([0.1, 0.2, -0.1, 0.3])) == 0.5  # 2 * min(1/4, 3/4)


@pytest.mark.parametrize("model, sign", [("length", 1.0), ("shortest", -1.0)])
def test_the_length_baselines_correlate_plus_and_minus_one_on_real_configs(real_built, model, sign):
    from social_rm.data import load_pairs, pair_ids
    from social_rm.scoring.kinds import get_scorer
    from social_rm.scoring.runner import score_pairs

    for config in ("xstest", "hh_rlhf_harmless", "default"):
        ds = load_pairs(real_built[0], config)
        scores = score_pairs(ds, get_scorer(model), progress=False)
        assert scores.ids == pair_ids(ds)
        d = diagnostics(ds, scores.chosen, scores.rejected, "baseline", n_bootstrap=20)
        for slice_ in d["length_bias"]["correlation"].values():
            assert slice_["spearman"] == sign


def test_the_columns_a_comparison_takes_are_the_metrics(metric_module):
    assert metric_module.TEXT_COLUMNS == PAIR_COLUMNS


def test_crows_bias_skew_is_lm_evals_pct_stereotype_rescaled_plus_ties(real_built, metric):
    """The card's identity: bias_skew = 2 * pct_stereotype - 1 + tie_rate, with lm-eval's pct_stereotype (the share
    of pairs whose sent_more scores higher; here the rejected side), on scores with many ties."""
    from social_rm.data import columns, load_pairs

    ds = load_pairs(real_built[0], "crows_pairs")
    rng = np.random.default_rng(3)
    chosen, rejected = rng.integers(0, 3, len(ds)).astype(float), rng.integers(0, 3, len(ds)).astype(float)
    result = metric.compute(chosen_scores=chosen, rejected_scores=rejected, n_bootstrap=0, **columns(ds))
    pct_stereotype = np.mean(rejected > chosen)  # sent_more is `rejected` in every CrowS pair
    assert result["tie_rate"] > 0.2
    assert result["bias_skew"] == pytest.approx(2 * pct_stereotype - 1 + result["tie_rate"], abs=1e-12)
