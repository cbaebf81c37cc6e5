"""Statistics for every stage: one confidence level, the interval over the repeating unit, bootstraps
where they fit, Holm, pairwise comparison, spread and equivalence (TOST).

The unit that repeats is the process (a worker process in the micro-benchmarks, a server process in
the load test): its memory layout and hash seed move some costs by a few percent for its whole life,
so the rounds or requests inside one process are not independent draws and an interval over them is
too narrow. ``over_units`` is therefore the interval of record: Student's t over the units, or
Tukey-McLaughlin's over their trimmed mean. A percentile bootstrap over a handful of processes is
too narrow, so bootstraps are kept for what happens inside one unit: the median over a worker's
rounds, blocks of time within one server process.

scipy is imported inside the functions: worker processes import this module and must start fast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

LEVEL = 0.95  # the one confidence level; equivalence uses the 1 - 2 * (1 - LEVEL) interval (TOST)
BOOTSTRAP = 2000  # resamples, wherever a bootstrap is used
TRIM = 0.2  # cut from each end of the units' estimates when comparing subjects
RESOLUTION = 0.03  # a difference under this is flagged as below the run-to-run resolution


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval (at ``LEVEL`` unless the producer says otherwise)."""
    estimate: float
    lo: float
    hi: float

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    @property
    def half_width_pct(self) -> float | None:
        """The half width in percent of |estimate|; None when the estimate is 0."""
        return 100 * self.half_width / abs(self.estimate) if self.estimate else None

    def covers(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def map(self, fn) -> Interval:
        """The interval through an increasing function (e.g. ``math.exp`` from log ratios to ratios)."""
        return Interval(fn(self.estimate), fn(self.lo), fn(self.hi))

    def as_dict(self, digits: int = 4) -> dict:
        return {"estimate": round(self.estimate, digits), "ci95": [round(self.lo, digits), round(self.hi, digits)]}


# --- the interval over units -----------------------------------------------------------------

def location(values, trim: float = 0.0) -> tuple[float, float, int]:
    """(estimate, standard error, degrees of freedom) of the mean of ``values``, or of their trimmed mean.

    With ``trim`` > 0, g = floor(trim * n) values are cut from each end (as ``scipy.stats.trim_mean``
    does) and the standard error is Tukey-McLaughlin's: the winsorized standard deviation (ddof=1)
    over (1 - 2 * trim) * sqrt(n), which is ``scipy.stats.mstats.trimmed_stde`` given
    ``limits=(trim, trim)`` (its default is 0.1) and ``inclusive=(True, True)`` (its name for cutting
    int(trim * n)); h - 1 degrees of freedom, h = n - 2g the values left. Both are computed here with
    numpy, since scipy's take a millisecond a call (the tests hold them equal). When g is 0 nothing is
    cut, the estimate is the mean and so is its standard error (the nominal 1 - 2 * trim would widen
    the interval for a trimming that did not happen).
    """
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim={trim}: expected a proportion in [0, 0.5)")
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n == 0:
        raise ValueError("no values")
    if n == 1:
        return float(x[0]), 0.0, 0
    cut = int(trim * n)
    if cut == 0:
        return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)), n - 1
    left = n - 2 * cut
    if left < 2:
        raise ValueError(f"trim={trim} of {n} values leaves {left}: too few for an interval")
    x = np.sort(x)
    winsorized = np.clip(x, x[cut], x[n - cut - 1])
    error = winsorized.std(ddof=1) / ((1 - 2 * trim) * math.sqrt(n))
    return float(x[cut:n - cut].mean()), float(error), left - 1


def over_units(values, trim: float = 0.0, level: float = LEVEL) -> Interval:
    """THE interval over the repeating unit (worker or server process), one value per unit.

    ``trim`` == 0: the mean with Student's t interval (``scipy.stats.t.interval`` over the standard
    error); ``trim`` > 0: the trimmed mean with the Tukey-McLaughlin interval (see ``location``).
    One unit, or units that all agree: a zero-width interval at the estimate.
    """
    estimate, error, df = location(values, trim)
    if df == 0 or error == 0:
        return Interval(estimate, estimate, estimate)
    from scipy.special import stdtrit  # Student's t quantile: what scipy.stats.t.interval computes, without its overhead
    lo = stdtrit(df, (1 - level) / 2) * error + estimate
    hi = stdtrit(df, (1 + level) / 2) * error + estimate
    return Interval(estimate, float(lo), float(hi))


def location_p(values, trim: float = 0.0, null: float = 0.0) -> float:
    """Two-sided p-value that the units' (trimmed) mean is ``null``: the test that goes with
    ``over_units`` (``scipy.stats.ttest_1samp`` when ``trim`` is 0, Tukey-McLaughlin's trimmed t
    otherwise), so p < 1 - LEVEL exactly when the LEVEL interval leaves out ``null``. One unit: 1.0;
    units that all agree: 0.0 unless they agree on ``null``."""
    estimate, error, df = location(values, trim)
    if df == 0:
        return 1.0
    if error == 0:
        return 1.0 if estimate == null else 0.0
    from scipy.special import stdtr  # Student's t distribution function
    return float(2 * stdtr(df, -abs(estimate - null) / error))


def median_over_units(per_unit: list, trim: float = TRIM, level: float = LEVEL) -> Interval:
    """An estimate from per-round samples in several units: each unit's median over its rounds, then
    ``over_units`` of those medians. With a single unit, its median and the exact bootstrap interval
    over its rounds (the best that one process can say)."""
    if len(per_unit) == 1:
        x = np.asarray(per_unit[0], dtype=float)
        lo, hi = median_ci_exact(x, level)
        return Interval(float(np.median(x)), lo, hi)
    return over_units([float(np.median(x)) for x in per_unit], trim, level)


def minimum_detectable(se: float, df: int, level: float = LEVEL, power: float = 0.8) -> float:
    """The smallest true difference a two-sided t test at ``level`` finds with probability ``power``
    (about: the central t approximation), given its standard error and degrees of freedom."""
    from scipy.special import stdtrit  # Student's t quantile
    return float((stdtrit(df, 1 - (1 - level) / 2) + stdtrit(df, power)) * se)


# --- equivalence -----------------------------------------------------------------------------

def classify(ci, ci_tost, margin: float) -> str:
    """The verdict on a difference (candidate minus reference) from its two intervals, each (lo, hi)
    or an ``Interval``: "equivalent" when the 1 - 2 alpha interval ``ci_tost`` lies inside
    [-margin, margin] (two one-sided tests at alpha); otherwise "dearer" when the 1 - alpha interval
    ``ci`` is above 0, "cheaper" when below, else "unresolved"."""
    lo, hi = (ci.lo, ci.hi) if isinstance(ci, Interval) else ci
    tost_lo, tost_hi = (ci_tost.lo, ci_tost.hi) if isinstance(ci_tost, Interval) else ci_tost
    if -margin <= tost_lo and tost_hi <= margin:
        return "equivalent"
    if lo > 0:
        return "dearer"
    if hi < 0:
        return "cheaper"
    return "unresolved"


def verdict(diff_units, margin: float, level: float = LEVEL, trim: float = 0.0) -> dict:
    """Equivalence verdict on per-unit differences (candidate minus reference), see ``classify``.
    ``ci90`` is the 1 - 2 * (1 - level) interval (90% at the 95% level). Fewer than two units give
    no spread to judge by: "unresolved"."""
    alpha = 1 - level
    wide = over_units(diff_units, trim, level)
    narrow = over_units(diff_units, trim, 1 - 2 * alpha)
    enough = np.size(diff_units) >= 2
    return {"estimate": wide.estimate, "ci95": [wide.lo, wide.hi], "ci90": [narrow.lo, narrow.hi],
            "verdict": classify(wide, narrow, margin) if enough else "unresolved", "margin": margin}


def tost_p(diff_units, margin: float, trim: float = 0.0) -> float:
    """The p-value of the two one-sided tests that the difference lies inside (-margin, margin):
    below alpha exactly when the 1 - 2 alpha interval of ``over_units`` lies inside the margins."""
    estimate, error, df = location(diff_units, trim)
    if df == 0 or error == 0:
        return 0.0 if abs(estimate) < margin else 1.0
    from scipy.special import stdtr  # Student's t distribution function
    above = stdtr(df, -(estimate + margin) / error)  # H0: difference <= -margin
    below = stdtr(df, (estimate - margin) / error)  # H0: difference >= +margin
    return float(max(above, below))


# --- inside one unit: medians and bootstraps -------------------------------------------------

def median_ci_exact(x, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap CI of the median of ``x``, computed exactly rather than by resampling.

    A resample's median is at most the j-th smallest value exactly when at least half of its n
    draws are, and that count is Binomial(n, j/n) (Efron, 1979); so the bootstrap distribution of
    the median is known in closed form and its percentiles carry no Monte Carlo noise.
    ``median_ci_resampled`` is the same by numpy resampling (the tests compare the two).
    """
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    if n == 1:
        return float(x[0]), float(x[0])
    at_most = stats.binom.sf(n // 2, n, np.arange(1, n + 1) / n)  # P(resample median <= x[j-1])
    tail = (1 - level) / 2
    lo = int(np.searchsorted(at_most, tail))
    hi = int(np.searchsorted(at_most, 1 - tail))
    return float(x[min(lo, n - 1)]), float(x[min(hi, n - 1)])


def median_ci_resampled(x, rng, resamples: int = BOOTSTRAP, level: float = LEVEL) -> tuple[float, float]:
    """The same CI by plain resampling with numpy (slower; kept as the reference)."""
    x = np.asarray(x, dtype=float)
    medians = np.median(x[rng.integers(0, len(x), size=(resamples, len(x)))], axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(medians, [tail, 100 - tail])
    return float(lo), float(hi)


def order_statistic_ci(x, level: float = LEVEL) -> tuple[float, float]:
    """Distribution-free CI of the median: the order statistics around n/2 (normal approximation
    to the binomial count of values below the median)."""
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    half = float(stats.norm.ppf(1 - (1 - level) / 2)) * math.sqrt(n) / 2
    lo = max(0, int(math.floor(n / 2 - half)))
    hi = min(n - 1, int(math.ceil(n / 2 + half)))
    return float(x[lo]), float(x[hi])


def block_median_ci(values, block_of, rng, level: float = LEVEL, resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """CI of the median of ``values`` by resampling whole blocks (``block_of``: each value's block,
    e.g. its time window in one server process). A block bootstrap keeps the drift within a block
    together, where resampling single requests would hide it."""
    values, block_of = np.asarray(values, dtype=float), np.asarray(block_of)
    groups = [values[block_of == b] for b in np.unique(block_of)]
    picks = rng.integers(0, len(groups), size=(resamples, len(groups)))
    medians = np.array([np.median(np.concatenate([groups[i] for i in row])) for row in picks])
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(medians, [tail, 100 - tail])
    return float(lo), float(hi)


def hierarchical_mean_ci(groups: list, rng, level: float = LEVEL, resamples: int = BOOTSTRAP) -> tuple:
    """CI of the mean over groups (server processes) of each group's mean (over its windows):
    resample the groups, then the windows within each, so both the drift within a server and the
    differences between server processes are in the interval. (None, None) without data."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        return None, None
    inner = np.array([g[rng.integers(0, len(g), size=(resamples, len(g)))].mean(axis=1) for g in groups])
    outer = rng.integers(0, len(groups), size=(resamples, len(groups)))
    means = inner[outer, np.arange(resamples)[:, None]].mean(axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


# --- many comparisons ------------------------------------------------------------------------

def holm(pvalues) -> list:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def paired_log_ratio(a_units: list, b_units: list, trim: float = TRIM, rng=None, *,
                     names: tuple = ("a", "b"), level: float = LEVEL) -> dict:
    """Paired comparison of two subjects' per-round times, one array per unit, round i of a unit
    paired with round i of the same unit; the row is turned so that "a" is the faster.

    Per unit the median of log(b / a) over its rounds; the ratio and its interval are
    ``median_over_units`` of those, back through exp; p is ``location_p`` over the units (with one
    unit, Wilcoxon's signed-rank test over its rounds). The effect size is the rank-biserial
    correlation of all rounds' log ratios (+1: a faster in every round). ``rng`` is not used (every
    interval here is deterministic) and is accepted for callers that pass one.
    """
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    name_a, name_b = names
    slower = [np.log(np.asarray(b, dtype=float)) - np.log(np.asarray(a, dtype=float)) for a, b in zip(a_units, b_units)]
    per_unit = np.array([np.median(d) for d in slower])

    def interval() -> Interval:
        """``median_over_units`` of ``slower``, from the medians already taken."""
        if len(slower) > 1:
            return over_units(per_unit, trim, level)
        lo, hi = median_ci_exact(slower[0], level)
        return Interval(float(per_unit[0]), lo, hi)

    found = interval()
    if found.estimate < 0:  # b is the faster: turn the row round
        name_a, name_b, slower, per_unit = name_b, name_a, [-d for d in slower], -per_unit
        found = interval()
    if len(slower) > 1:
        p = location_p(per_unit, trim)
    else:
        nonzero = slower[0][slower[0] != 0]
        p = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 10 else 1.0
    pooled = np.concatenate(slower)
    nonzero = pooled[pooled != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    plus, minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    effect = float((plus - minus) / (plus + minus)) if len(nonzero) else 0.0
    ratio = found.map(math.exp)
    return {"a": name_a, "b": name_b, "ratio": round(ratio.estimate, 4),
            "ci95": [round(ratio.lo, 4), round(ratio.hi, 4)], "p": p, "effect_size": round(effect, 3),
            "per_worker": [round(math.exp(x), 4) for x in per_unit]}


def pairwise(table: dict, trim: float = TRIM, resolution: float = RESOLUTION, level: float = LEVEL) -> list:
    """Every pair in ``table`` (name -> per-round times, one array per unit), Holm-corrected, with
    hyperfine-style verdicts; the largest ratio first."""
    rows = [paired_log_ratio(table[a], table[b], trim, names=(a, b), level=level) for a, b in combinations(table, 2)]
    for row, p_holm in zip(rows, holm([row["p"] for row in rows])):
        row["p_holm"] = p_holm
        row["significant"] = bool(p_holm < 1 - level and row["ci95"][0] > 1.0)
        row["below_resolution"] = bool(row["ratio"] < 1 + resolution)
        plus_minus = (row["ci95"][1] - row["ci95"][0]) / 2
        if not row["significant"]:
            row["verdict"] = f"{row['a']} vs {row['b']}: no significant difference"
        else:
            row["verdict"] = (f"{row['a']} is {row['ratio']:.3f} ± {plus_minus:.3f}x faster than {row['b']}"
                              + (f" (under the {resolution:.0%} run-to-run resolution)" if row["below_resolution"] else ""))
    rows.sort(key=lambda row: -row["ratio"])
    return rows


def spread(values) -> float | None:
    """max / min of the values that are set (not None, not 0), to 4 places; None when there are none."""
    values = [v for v in values if v]
    return round(max(values) / min(values), 4) if values else None
