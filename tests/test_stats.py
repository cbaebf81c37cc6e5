"""harness.stats against known answers: scipy and hand computations on fixed data, then simulations
(shifts found, A/A pairs called different at the nominal rate, equivalence verdicts)."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sp
from scipy.stats import mstats

from harness import stats

X = np.array([9.8, 10.1, 10.4, 9.9, 10.0, 10.3, 9.7, 10.2, 14.5, 10.05])  # ten units, one odd


# --- the interval over units -----------------------------------------------------------------

@pytest.mark.parametrize("level", [0.95, 0.90])
def test_the_mean_interval_is_students_t(level):
    found = stats.over_units(X, level=level)
    expected = sp.t.interval(level, len(X) - 1, loc=X.mean(), scale=sp.sem(X))
    assert found.estimate == pytest.approx(X.mean(), rel=1e-15)
    assert (found.lo, found.hi) == pytest.approx(expected, rel=1e-15)


def test_the_trimmed_interval_is_tukey_mclaughlin_by_hand():
    found = stats.over_units(X, trim=0.2)
    cut = 2  # floor(0.2 * 10) from each end
    estimate = np.sort(X)[cut:-cut].mean()
    winsorized = np.asarray(mstats.winsorize(X, limits=(0.2, 0.2)))
    assert sorted(winsorized)[:3] == [9.9, 9.9, 9.9] and sorted(winsorized)[-3:] == [10.3, 10.3, 10.3]
    error = winsorized.std(ddof=1) / ((1 - 2 * 0.2) * math.sqrt(len(X)))
    half = sp.t.ppf(0.975, len(X) - 2 * cut - 1) * error
    assert found.estimate == pytest.approx(estimate, rel=1e-12)
    assert (found.lo, found.hi) == pytest.approx((estimate - half, estimate + half), rel=1e-12)
    assert found.estimate < 10.2 < X.mean()  # the odd unit does not drag the trimmed estimate


@pytest.mark.parametrize("n, trim", [(5, 0.2), (7, 0.15), (12, 0.2), (13, 0.25), (40, 0.2)])
def test_trimmed_location_follows_scipys_conventions(n, trim):
    x = np.random.default_rng(n).lognormal(0, 1, n)
    x[0] = x[-1]  # a tie across the cut
    estimate, error, df = stats.location(x, trim)
    assert estimate == pytest.approx(sp.trim_mean(x, trim), rel=1e-12)
    assert error == pytest.approx(mstats.trimmed_stde(x, limits=(trim, trim), inclusive=(True, True)), rel=1e-12)
    assert df == n - 2 * int(trim * n) - 1


def test_nothing_trimmed_is_the_mean_and_one_unit_is_a_point():
    four = [1.0, 2.0, 4.0, 8.0]  # floor(0.2 * 4) = 0: trimming cuts nothing, so no 1 / (1 - 2 * 0.2) widening
    assert stats.over_units(four, trim=0.2) == stats.over_units(four)
    assert stats.location(four, 0.2)[1] == pytest.approx(sp.sem(four), rel=1e-12)
    assert stats.over_units([3.5], trim=0.2) == stats.Interval(3.5, 3.5, 3.5)
    assert stats.over_units([2.0, 2.0, 2.0]) == stats.Interval(2.0, 2.0, 2.0)
    for bad in (dict(values=[]), dict(values=X, trim=0.5), dict(values=[1.0, 2.0, 3.0, 4.0, 5.0], trim=0.4)):
        with pytest.raises(ValueError):
            stats.over_units(**bad)


def test_the_test_goes_with_the_interval():
    assert stats.location_p(X, null=10.0) == pytest.approx(sp.ttest_1samp(X, 10.0).pvalue, rel=1e-10)
    found = stats.over_units(X, trim=0.2)
    for null in np.linspace(9.8, 10.4, 25):  # p < 5% exactly when the 95% interval leaves the value out
        assert (stats.location_p(X, trim=0.2, null=null) < 0.05) == (not found.covers(null))
    assert stats.location_p([1.0]) == 1.0 and stats.location_p([2.0, 2.0]) == 0.0


def test_interval_helpers():
    i = stats.Interval(2.0, 1.5, 3.0)
    assert (i.half_width, i.half_width_pct) == (0.75, 37.5)
    assert stats.Interval(-2.0, -3.0, -1.0).half_width_pct == 50.0
    assert stats.Interval(0.0, -1.0, 1.0).half_width_pct is None
    assert i.covers(1.5) and i.covers(3.0) and not i.covers(3.01)
    assert stats.Interval(1.23456, 1.0, 1.55555).as_dict(2) == {"estimate": 1.23, "ci95": [1.0, 1.56]}
    assert stats.Interval(0.0, -1.0, 1.0).map(math.exp) == stats.Interval(1.0, math.exp(-1), math.e)


def test_median_over_units_uses_the_process_as_the_unit():
    rng = np.random.default_rng(3)
    per_unit = [rng.normal(10, 0.1, 101) * bias for bias in (1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 3.0)]
    found = stats.median_over_units(per_unit)
    assert found == stats.over_units([np.median(x) for x in per_unit], trim=stats.TRIM)
    assert 9.8 < found.estimate < 10.2 and found.lo < found.estimate < found.hi
    one = stats.median_over_units(per_unit[:1])
    assert (one.estimate, (one.lo, one.hi)) == (np.median(per_unit[0]), stats.median_ci_exact(per_unit[0]))


# --- inside one unit -------------------------------------------------------------------------

@pytest.mark.parametrize("n", [7, 100, 501])
def test_exact_median_ci_matches_resampling(n):
    rng = np.random.default_rng(n)
    x = rng.lognormal(0, 0.3, n)
    exact = stats.median_ci_exact(x)
    resampled = stats.median_ci_resampled(x, rng, resamples=4000)
    spread = np.percentile(x, 75) - np.percentile(x, 25)
    assert exact[0] <= np.median(x) <= exact[1]
    assert np.allclose(exact, resampled, atol=0.1 * spread)
    narrower = stats.median_ci_exact(x, level=0.8)
    assert exact[0] <= narrower[0] <= narrower[1] <= exact[1] and (narrower != exact or n == 7)


def test_exact_median_ci_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(lo <= 1.0 <= hi for lo, hi in (stats.median_ci_exact(rng.lognormal(0, 0.5, 201)) for _ in range(400)))
    assert 0.90 <= hits / 400 <= 0.99


def test_order_statistics_on_a_known_sample():
    x = np.random.default_rng(4).permutation(np.arange(1.0, 101.0))
    assert stats.order_statistic_ci(x) == (41.0, 61.0)  # 50 -+ 1.96 * sqrt(100) / 2, floor and ceiling, 0-based
    assert stats.order_statistic_ci(x, level=0.90) == (42.0, 60.0)  # 50 -+ 1.645 * 5
    assert stats.order_statistic_ci([7.0]) == (7.0, 7.0)


def test_the_block_bootstrap_keeps_drift_within_a_block():
    rng = np.random.default_rng(5)
    offsets = rng.normal(0, 1, 20)
    block_of = np.repeat(np.arange(20) * 3 + 7, 50)  # labels need not be 0..n-1
    drifting = np.repeat(offsets, 50) + rng.normal(0, 0.1, 1000)
    lo, hi = stats.block_median_ci(drifting, block_of, np.random.default_rng(1))
    naive = stats.median_ci_exact(drifting)
    assert lo < np.median(drifting) < hi and hi - lo > 4 * (naive[1] - naive[0])
    steady = rng.normal(0, 0.1, 1000)
    lo, hi = stats.block_median_ci(steady, block_of, np.random.default_rng(1))
    naive = stats.median_ci_exact(steady)
    assert 0.5 < (hi - lo) / (naive[1] - naive[0]) < 2
    assert stats.block_median_ci(steady, block_of, np.random.default_rng(1)) == (lo, hi)  # seeded: reproducible


def test_the_hierarchical_bootstrap_sees_differences_between_processes():
    rng = np.random.default_rng(6)
    noise = [rng.normal(0, 0.1, 20) for _ in range(6)]
    offsets = rng.normal(0, 1, 6)
    apart = [n + o for n, o in zip(noise, offsets)]
    lo, hi = stats.hierarchical_mean_ci(apart, np.random.default_rng(2))
    assert lo < np.mean([g.mean() for g in apart]) < hi
    same_lo, same_hi = stats.hierarchical_mean_ci(noise, np.random.default_rng(2))
    assert hi - lo > 5 * (same_hi - same_lo)
    lo90, hi90 = stats.hierarchical_mean_ci(apart, np.random.default_rng(2), level=0.90)
    assert lo < lo90 < hi90 < hi
    assert stats.hierarchical_mean_ci([[], []], rng) == (None, None)


# --- many comparisons ------------------------------------------------------------------------

def test_holm_against_hand_computed_values():
    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> kept at 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []


def test_spread():
    assert stats.spread([2.0, None, 0, 4.0, 3.0]) == 2.0
    assert stats.spread([3, 7]) == 2.3333
    assert stats.spread([5.0]) == 1.0
    assert stats.spread([]) is None and stats.spread([None, 0]) is None


def units(rng, cost, count, rounds=40, unit_sd=0.01, round_sd=0.01):
    """Per-round times in ``count`` processes: a speed drift shared within a round, a bias per process
    and subject (its layout), noise per round."""
    drift = [rng.uniform(1, 3, rounds) for _ in range(count)]
    return lambda c: [d * c * rng.lognormal(0, unit_sd) * rng.lognormal(0, round_sd, rounds) for d in drift]


@pytest.mark.parametrize("order", [("slow", "fast"), ("fast", "slow")])
def test_a_3_percent_shift_over_10_units_is_found(order):
    times = units(np.random.default_rng(7), 1, 10)
    table = dict(zip(order, (times(1.03), times(1.0)) if order[0] == "slow" else (times(1.0), times(1.03))))
    (row,) = stats.pairwise(table)
    assert (row["a"], row["b"]) == ("fast", "slow")
    assert row["ci95"][0] > 1.0 and row["ci95"][0] <= 1.03 <= row["ci95"][1]
    assert row["significant"] and row["p_holm"] == row["p"] < 0.01
    assert row["effect_size"] > 0.5 and len(row["per_worker"]) == 10
    assert row["verdict"].startswith(f"fast is {row['ratio']:.3f} ± ") and "x faster than slow" in row["verdict"]


def test_a_shift_under_the_resolution_is_flagged():
    times = units(np.random.default_rng(8), 1, 12, unit_sd=0.002)
    (row,) = stats.pairwise({"a": times(1.01), "b": times(1.0)})
    assert row["significant"] and row["below_resolution"] and "under the 3% run-to-run resolution" in row["verdict"]


def test_one_unit_compares_its_rounds():
    times = units(np.random.default_rng(9), 1, 1, rounds=200, unit_sd=0)  # one process: only its rounds vary
    slow, fast = times(1.03), times(1.0)
    row = stats.paired_log_ratio(slow, fast, names=("slow", "fast"))
    log_ratio = np.log(slow[0]) - np.log(fast[0])
    assert (row["a"], row["b"]) == ("fast", "slow") and row["ci95"][0] <= 1.03 <= row["ci95"][1]
    assert row["ci95"] == [round(math.exp(x), 4) for x in stats.median_ci_exact(log_ratio)]
    assert row["p"] == pytest.approx(sp.wilcoxon(log_ratio).pvalue) and row["p"] < 1e-10


def test_holm_runs_over_every_pair_and_rows_come_largest_first():
    times = units(np.random.default_rng(10), 1, 10)
    rows = stats.pairwise({"x": times(1.0), "y": times(1.0), "z": times(1.5)})
    assert [r["ratio"] > 1.4 for r in rows] == [True, True, False]
    assert [r["p_holm"] for r in rows] == stats.holm([r["p"] for r in rows])
    assert rows[-1]["verdict"].endswith("no significant difference")


@pytest.mark.parametrize("trim", [0.0, stats.TRIM])
def test_a_over_a_over_6_units_is_called_different_at_the_nominal_rate(trim):
    sets = np.random.default_rng(11).normal(0, 1, (2000, 6))
    rate = np.mean([not stats.over_units(s, trim).covers(0) for s in sets])
    assert 0.035 <= rate <= 0.065


def test_a_over_a_pairs_are_rarely_significant():
    rng = np.random.default_rng(12)
    calls = [stats.pairwise({"x": times(1.0), "y": times(1.0)})[0]["significant"]
             for times in (units(rng, 1, 12, rounds=9) for _ in range(300))]
    assert 0.01 <= np.mean(calls) <= 0.09


# --- equivalence -----------------------------------------------------------------------------

MARGIN = 1.0


@pytest.mark.parametrize("true, sd, expected", [(0.0, 0.1, "equivalent"), (3.0, 0.3, "dearer"),
                                                (-3.0, 0.3, "cheaper"), (0.0, 5.0, "unresolved")])
def test_tost_verdicts(true, sd, expected):
    diffs = np.random.default_rng(13).normal(true, sd, 10)
    found = stats.verdict(diffs, MARGIN)
    assert found["verdict"] == expected and found["margin"] == MARGIN
    assert found["estimate"] == pytest.approx(diffs.mean())
    assert found["ci95"][0] < found["ci90"][0] < found["ci90"][1] < found["ci95"][1]
    assert found["ci90"] == pytest.approx(sp.t.interval(0.90, 9, loc=diffs.mean(), scale=sp.sem(diffs)))


def test_equivalence_comes_first_and_needs_the_90_percent_interval_inside_the_margin():
    assert stats.classify((0.5, 1.5), (0.6, 1.4), margin=2.0) == "equivalent"  # real but small
    assert stats.classify((0.5, 2.5), (0.6, 2.1), margin=2.0) == "dearer"
    assert stats.classify((-2.5, -0.1), (-2.1, -0.2), margin=2.0) == "cheaper"
    assert stats.classify(stats.Interval(0, -1, 1), stats.Interval(0, -0.9, 0.9), margin=0.5) == "unresolved"
    assert stats.verdict([0.0], MARGIN)["verdict"] == "unresolved"


def test_tost_p_agrees_with_the_90_percent_interval():
    rng = np.random.default_rng(14)
    for _ in range(200):
        diffs = rng.normal(rng.uniform(-1.5, 1.5), 0.5, 8)
        inside = stats.verdict(diffs, MARGIN)["verdict"] == "equivalent"
        assert (stats.tost_p(diffs, MARGIN) < 0.05) == inside


def test_minimum_detectable():
    assert stats.minimum_detectable(1.0, 10) == pytest.approx(2.228139 + 0.879058, abs=1e-5)  # t tables
    rng = np.random.default_rng(15)
    shift = stats.minimum_detectable(1 / math.sqrt(8), 7)
    power = np.mean([not stats.over_units(s).covers(0) for s in rng.normal(shift, 1, (2000, 8))])
    assert 0.77 <= power <= 0.83


def test_importing_the_module_leaves_scipy_out():
    code = "import sys, harness.stats; sys.exit('scipy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
