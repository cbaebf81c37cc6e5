"""``make micro``: rank the idioms' cost on a machine whose speed drifts, by interleaved ratios.

Why interleaved: here a sequence of pytest-benchmark medians moves 2-3x between runs as the CPU
drifts, while the ratio of two subjects timed a few milliseconds apart barely moves. So:

1. Calibrate: each subject (``bench/subjects.py``) gets a block size of about ``block_us``.
2. Rounds: every round times every subject once, in a new shuffled order. A subject's time in a
   round is the fastest of ``k`` back-to-back blocks (min-of-k drops blocks hit by an interrupt),
   per call, garbage collection off. The round's sample is that time over the floor's
   (``werkzeug_response``, the same kind) in the same round, so drift cancels.
3. Estimates: the median over rounds, with a bootstrap 95% CI (percentile, numpy). Pairwise, per
   scenario and overall: A/B is the median of the per-round ratios, its 95% CI from order
   statistics, a Wilcoxon signed-rank test on the paired log-ratios (scipy), Holm-corrected, and
   the matched-pairs rank-biserial correlation as effect size.
4. Calibration: ``planted`` (jsonify_tuple plus a 2000 ns busy-wait) minus ``planted_reference``,
   per round; the suite must recover the 2000 ns.
5. The familiar method, in the same run: sequential pytest-benchmark-style medians (each subject's
   blocks back to back, one subject after another), construct only, in a pass before the rounds
   and a pass after them, so the report can set the two methods side by side.

Environment (versions, CPU, governor, git commit, mode) and /proc/stat steal and busy time are
recorded for the run and for each phase; a noisy run (steal, other load, wide CIs, planted cost
missed) is warned about on stderr and listed under ``warnings``.

Options, from the environment: ``QUICK=1`` (a fast pass), ``VARIANTS=a,b`` (some idioms; the
baselines and the planted pair are always timed), ``MICRO_SEED`` (the shuffle's seed).

Output
------
``reports/out/micro.json`` (written atomically), schema ``flask-json-idioms/micro/1``. Times are ns
per call; a "ci95" is ``[lo, hi]``; an "estimate"/"median" the median over rounds::

    schema, mode, seed, started, wall_s
    environment          harness.environment.environment() plus "cpu" (steal_fraction,
                         busy_fraction, seconds over the whole run), "phases" (the same per phase:
                         "calibrate", "sequential_1", "construct", "dispatch", "sequential_2")
                         and "process_cpu_s"
    config               rounds, block_us, k, bootstrap, floor ("werkzeug_response"), ...
    subjects             {"construct"|"dispatch": [{"key", "name", "kind", "scenario", "role",
                          "calls_per_block", "divergence"}]}; key = "<kind>/<scenario>/<name>"
    rounds               {"construct"|"dispatch": {"t_s": [round start, s since run start],
                          "per_call_ns": {key: [one value per round]}}}   (the raw samples)
    results
      construct, dispatch  {key: {"ns": {"median", "ci95"}, "ratio_to_floor": {"estimate", "ci95"},
                          "ci_half_width_pct"}}, one per subject and scenario
      variants           {name: {"construct_ns", "dispatch_ns", "ratio_to_floor",
                          "dispatch_ratio_to_floor", "scenarios": {scenario: {"construct_ns",
                          "dispatch_ns", "ratio_to_floor", "dispatch_ratio_to_floor"}},
                          "rank"}}; the top-level values are over the mix of one success, one
                          created and one unauthorized response (per round, the mean of the three)
      baselines          {"raw_wsgi"|"werkzeug_response": same keys as a variant, success scenario}
      calibration        {"planted_ns", "measured_ns", "ci95", "error_pct", "within_pct"}
      pairwise           {"construct"|"dispatch": {"all"|scenario: [{"a", "b", "ratio", "ci95",
                          "p", "p_holm", "effect_size", "significant", "verdict"}]}}, a faster
                          than b; verdict like "orjson_response is 2.41 ± 0.03x faster than ..."
                          or "no significant difference"
      methods            the two methods side by side: {"sequential": {"passes": [{"phase",
                          "ns": {key: median}, "ratio_to_floor": {name: ratio over the mix}}],
                          "ratio_spread": {name: max/min across passes}, "floor_ns_spread",
                          "ns_spread": {name: max/min}}, "interleaved": {"ratio_to_floor":
                          {name: estimate}, "ci_half_width_pct": {name: ...}}}
      drift              the floor's per-call time over the run: min, max, max/min (the speed drift
                          the ratios cancel)
    targets              the issue's targets for this mode and whether this run met the ones a
                          single run can check (CI half-width, planted cost, wall time)
    warnings             [str]

It also merges into ``reports/out/summary.json``: top-level ``environment``; ``variants.<name>.micro``
(``construct_ns``, ``dispatch_ns``, ``ratio_to_floor`` on construct, ``dispatch_ratio_to_floor``,
``scenarios``, ``rank``); ``baselines.<name>`` (the same keys); ``calibration.micro``; and
``micro`` (``mode``, ``date``, ``floor``, ``ratio_definition``, ``pairwise`` for the construct mix,
``methods``, ``targets``, ``warnings``, ``environment``). A compact record of every run is appended
to ``reports/out/micro_history.json`` (``{"runs": [...]}``, the last 50) so that runs can be
compared across time, the way the issue's targets are checked.
"""
from __future__ import annotations

import gc
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from itertools import combinations, repeat

import numpy as np
from scipy import stats

from bench.subjects import (BASELINES, FLOOR, KINDS, PLANTED, PLANTED_NS, PLANTED_REFERENCE, SCENARIOS,
                            Subject, subjects)
from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, environment, process_cpu_seconds
from harness.progress import Progress
from harness.results import OUT, merge_summary, read_optional, write_json

SCHEMA = "flask-json-idioms/micro/1"
HISTORY_KEEP = 50
PILOT_ROUNDS = 5
# Differences smaller than this are below what back-to-back runs reproduce (the full-mode
# target is max/min <= 1.03 across runs), however small their CI within one run.
RESOLUTION = 0.03


@dataclass(frozen=True)
class Config:
    mode: str
    construct_s: float  # time budget of the interleaved construct rounds
    dispatch_s: float
    block_us: float  # one block of calls lasts about this long
    k: int  # blocks per subject per round; the fastest counts
    dispatch_k: int
    sequential_s: float  # per subject and pass, for the pytest-benchmark-style medians
    min_rounds: int = 30
    # the targets
    target_wall_s: float = 0
    target_ci_pct: float = 0
    target_runs_spread: float = 0
    target_planted_pct: float = 0


QUICK = Config("quick", construct_s=7.0, dispatch_s=4.5, block_us=120, k=2, dispatch_k=1, sequential_s=0.03,
               target_wall_s=30, target_ci_pct=3, target_runs_spread=1.05, target_planted_pct=20)
FULL = Config("full", construct_s=75.0, dispatch_s=45.0, block_us=200, k=3, dispatch_k=2, sequential_s=0.15,
              target_wall_s=180, target_ci_pct=1, target_runs_spread=1.03, target_planted_pct=10)


# --- timing ----------------------------------------------------------------------------------

def time_block(subject: Subject, n: int, k: int, clock=time.perf_counter_ns) -> float:
    """ns per call: the fastest of ``k`` back-to-back blocks of ``n`` calls."""
    call = subject.call
    best = math.inf
    with subject.entered():
        for _ in range(k):
            start = clock()
            for _ in repeat(None, n):
                call()
            best = min(best, clock() - start)
    return best / n


def calibrate(subject: Subject, block_ns: float) -> int:
    """Calls per block so that a block lasts about ``block_ns`` (at least one call); checks the result."""
    with subject.entered():
        subject.check(subject.call())
    n, elapsed = 1, 0.0
    while True:
        elapsed = time_block(subject, n, 1) * n
        if elapsed >= 2e6 or n >= 1 << 20:  # 2 ms of calls gives a steady per-call estimate
            break
        n *= 4
    per_call = min(elapsed / n, time_block(subject, n, 1))
    return max(1, round(block_ns / per_call))


def interleaved(items: list, k: int, rounds: int, rng, progress: Progress, started: float) -> dict:
    """Every subject one block per round, shuffled; per-call ns as an array (rounds, subjects)."""
    times = np.empty((rounds, len(items)))
    t_s = np.empty(rounds)
    order = np.arange(len(items))
    for r in range(rounds):
        t_s[r] = time.monotonic() - started
        rng.shuffle(order)
        for i in order:
            subject, n = items[i]
            times[r, i] = time_block(subject, n, k)
        gc.collect(0)  # between rounds, never inside a block: the young garbage only, it is quick
        if r % 50 == 49:
            gc.collect()
        progress.step()
    return {"times": times, "t_s": t_s}


def sequential(items: list, seconds: float, progress: Progress) -> dict:
    """pytest-benchmark's way: one subject after another, blocks back to back, the median block."""
    medians = {}
    for subject, n in items:
        samples = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(samples) < 5:
            samples.append(time_block(subject, n, 1))
        medians[subject.key] = float(np.median(samples))
        progress.step()
    return medians


# --- statistics ------------------------------------------------------------------------------

def bootstrap_median_ci(x, level: float = 0.95) -> list:
    """Percentile bootstrap CI of the median of ``x``, computed exactly rather than by resampling.

    A resample's median is at most the j-th smallest value exactly when at least half of its n
    draws are, and that count is Binomial(n, j/n) (Efron, 1979); so the bootstrap distribution of
    the median is known in closed form and its percentiles carry no Monte Carlo noise.
    ``bootstrap_median_ci_resampled`` is the same by numpy resampling (the tests compare the two).
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    if n == 1:
        return [float(x[0]), float(x[0])]
    at_most = stats.binom.sf(n // 2, n, np.arange(1, n + 1) / n)  # P(resample median <= x[j-1])
    tail = (1 - level) / 2
    lo = int(np.searchsorted(at_most, tail))
    hi = int(np.searchsorted(at_most, 1 - tail))
    return [float(x[min(lo, n - 1)]), float(x[min(hi, n - 1)])]


def bootstrap_median_ci_resampled(x, rng, resamples: int = 2000, level: float = 0.95) -> list:
    """The same CI by plain resampling with numpy (slower; kept as the reference)."""
    x = np.asarray(x, dtype=float)
    medians = np.median(x[rng.integers(0, len(x), size=(resamples, len(x)))], axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(medians, [tail, 100 - tail])
    return [float(lo), float(hi)]


def order_statistic_ci(x) -> tuple:
    """Distribution-free 95% CI of the median: the order statistics around n/2 (binomial)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    half = 1.959964 * math.sqrt(n) / 2
    lo = max(0, int(math.floor(n / 2 - half)))
    hi = min(n - 1, int(math.ceil(n / 2 + half)))
    return float(x[lo]), float(x[hi])


def holm(pvalues: list) -> list:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare(name_a: str, a, name_b: str, b) -> dict:
    """Paired comparison of two subjects' per-round times; a is reported as the faster."""
    log_ratio = np.log(np.asarray(a)) - np.log(np.asarray(b))
    if np.median(log_ratio) > 0:
        name_a, name_b, log_ratio = name_b, name_a, -log_ratio
    ratio = float(np.exp(np.median(-log_ratio)))  # how many times b's time a's: >= 1
    lo, hi = order_statistic_ci(-log_ratio)
    nonzero = log_ratio[log_ratio != 0]
    if len(nonzero) >= 10:
        p = float(stats.wilcoxon(nonzero).pvalue)
        ranks = stats.rankdata(np.abs(nonzero))
        plus, minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
        effect = float((minus - plus) / (plus + minus))  # rank-biserial: +1 when a is faster every round
    else:
        p, effect = 1.0, 0.0
    return {"a": name_a, "b": name_b, "ratio": round(ratio, 4), "ci95": [round(math.exp(lo), 4), round(math.exp(hi), 4)],
            "p": p, "effect_size": round(effect, 3)}


def pairwise(table: dict) -> list:
    """Every pair in ``table`` (name -> per-round times), Holm-corrected, with hyperfine-style verdicts."""
    rows = [compare(a, table[a], b, table[b]) for a, b in combinations(table, 2)]
    for row, p_holm in zip(rows, holm([row["p"] for row in rows])):
        row["p_holm"] = p_holm
        row["significant"] = bool(p_holm < 0.05 and row["ci95"][0] > 1.0)
        row["below_resolution"] = bool(row["ratio"] < 1 + RESOLUTION)
        plus_minus = (row["ci95"][1] - row["ci95"][0]) / 2
        if not row["significant"]:
            row["verdict"] = f"{row['a']} vs {row['b']}: no significant difference"
        else:
            row["verdict"] = (f"{row['a']} is {row['ratio']:.3f} ± {plus_minus:.3f}x faster than {row['b']}"
                              + (f" (under the {RESOLUTION:.0%} run-to-run resolution)" if row["below_resolution"] else ""))
    rows.sort(key=lambda row: -row["ratio"])
    return rows


def summarize(x, digits: int = 1) -> dict:
    lo, hi = bootstrap_median_ci(x)
    return {"median": round(float(np.median(x)), digits), "ci95": [round(float(lo), digits), round(float(hi), digits)]}


def ratio_summary(x) -> dict:
    s = summarize(x, digits=4)
    estimate = s["median"]
    half = (s["ci95"][1] - s["ci95"][0]) / 2
    return {"estimate": estimate, "ci95": s["ci95"], "ci_half_width_pct": round(100 * half / estimate, 3)}


# --- the run ---------------------------------------------------------------------------------

def analyse(kind: str, items: list, data: dict) -> dict:
    """Per subject, per variant over the mix of scenarios, and pairwise, for one kind."""
    keys = [s.key for s, _ in items]
    times = data["times"]
    column = {key: times[:, i] for i, key in enumerate(keys)}
    floor = column[f"{kind}/success/{FLOOR}"]
    per_subject = {}
    for subject, _ in items:
        t = column[subject.key]
        per_subject[subject.key] = {"ns": summarize(t),
                                    "ratio_to_floor": ratio_summary(t / floor)}
    names = list(dict.fromkeys(s.name for s, _ in items if s.role == "variant"))
    mix = {name: np.mean([column[f"{kind}/{sc}/{name}"] for sc in SCENARIOS], axis=0) for name in names}
    for name in BASELINES:
        mix[name] = column[f"{kind}/success/{name}"]
    per_name = {name: {"ns": summarize(t), "ratio_to_floor": ratio_summary(t / floor)}
                for name, t in mix.items()}
    pairs = {"all": pairwise({name: mix[name] for name in names})}
    for scenario in SCENARIOS:
        pairs[scenario] = pairwise({name: column[f"{kind}/{scenario}/{name}"] for name in names})
    return {"subjects": per_subject, "names": per_name, "pairwise": pairs, "floor": floor}


def run_phase(label: str, kind: str, items: list, cfg: Config, rng, started: float, phases: dict) -> dict:
    budget = cfg.construct_s if kind == "construct" else cfg.dispatch_s
    k = cfg.k if kind == "construct" else cfg.dispatch_k
    # a few rounds to warm up and to learn how long a round takes, then as many as fit the budget
    pilot_start = time.monotonic()
    interleaved(items, k, PILOT_ROUNDS, rng, Progress("warm-up", PILOT_ROUNDS, stream=open(os.devnull, "w")), started)
    per_round_s = (time.monotonic() - pilot_start) / PILOT_ROUNDS
    rounds = max(cfg.min_rounds, int(budget / per_round_s))
    print(f"{label}: {kind}, {len(items)} subjects, {rounds} rounds of ~{per_round_s * 1e3:.0f} ms", flush=True)
    before = CpuSnapshot.now()
    data = interleaved(items, k, rounds, rng, Progress(f"{kind} rounds", rounds), started)
    phases[kind] = CpuSnapshot.now().since(before)
    return data


def prepare(kind: str, names: list, cfg: Config, progress: Progress) -> list:
    items = []
    for subject in subjects(kind, names):
        items.append((subject, calibrate(subject, cfg.block_us * 1e3)))
        progress.step()
    return items


def mix_ratios(ns: dict, names: list) -> dict:
    floor = ns[f"construct/success/{FLOOR}"]
    found = {name: float(np.mean([ns[f"construct/{sc}/{name}"] for sc in SCENARIOS]) / floor) for name in names}
    found.update({name: ns[f"construct/success/{name}"] / floor for name in BASELINES})
    return {name: round(value, 4) for name, value in found.items()}


def spread(values) -> float:
    values = [v for v in values if v]
    return round(max(values) / min(values), 4) if values else None


def record(name_result: dict) -> dict:
    return {"median": name_result["ns"]["median"], "ci95": name_result["ns"]["ci95"]}


@entry_point
def main() -> int:
    quick = flag("QUICK")
    cfg = QUICK if quick else FULL
    variants = selected_variants()
    names = [v.name for v in variants]
    try:
        seed = int(os.environ.get("MICRO_SEED") or time.time_ns() % 2**32)
    except ValueError:
        raise UsageError(f"MICRO_SEED={os.environ['MICRO_SEED']!r}: expected an integer") from None
    rng = np.random.default_rng(seed)
    started, wall_start = time.monotonic(), datetime.now(timezone.utc)
    first = CpuSnapshot.now()
    phases = {}
    print(f"make micro: {cfg.mode} run, {len(names)} variants x {len(SCENARIOS)} scenarios x {len(KINDS)} kinds, "
          f"+ {len(BASELINES)} baselines and the planted {PLANTED_NS} ns; seed {seed}", flush=True)

    # 1. calibrate block sizes (and check every subject's result once)
    before = CpuSnapshot.now()
    print("stage 1/5: calibrate block sizes", flush=True)
    total = (len(names) * len(SCENARIOS) + len(BASELINES)) * 2 + 2
    progress = Progress("calibrate", total)
    items = {kind: prepare(kind, names, cfg, progress) for kind in KINDS}
    phases["calibrate"] = CpuSnapshot.now().since(before)

    gc.collect()
    gc.disable()
    try:
        # 2. the familiar method, before the rounds
        construct_items = items["construct"]
        print(f"stage 2/5: sequential pytest-benchmark-style medians, pass 1 ({len(construct_items)} subjects)", flush=True)
        before = CpuSnapshot.now()
        seq = [("before", sequential(construct_items, cfg.sequential_s, Progress("sequential 1", len(construct_items))))]
        phases["sequential_1"] = CpuSnapshot.now().since(before)
        # 3, 4. the interleaved rounds
        raw = {}
        raw["construct"] = run_phase("stage 3/5", "construct", construct_items, cfg, rng, started, phases)
        raw["dispatch"] = run_phase("stage 4/5", "dispatch", items["dispatch"], cfg, rng, started, phases)
        # 5. the familiar method again
        print("stage 5/5: sequential medians, pass 2, then the statistics", flush=True)
        before = CpuSnapshot.now()
        seq.append(("after", sequential(construct_items, cfg.sequential_s, Progress("sequential 2", len(construct_items)))))
        phases["sequential_2"] = CpuSnapshot.now().since(before)
    finally:
        gc.enable()
    cpu = CpuSnapshot.now().since(first)
    measured_s = time.monotonic() - started

    analysis = {kind: analyse(kind, items[kind], raw[kind]) for kind in KINDS}
    construct, dispatch = analysis["construct"], analysis["dispatch"]

    # calibration: planted minus its reference, round by round
    keys = [s.key for s, _ in construct_items]
    times = raw["construct"]["times"]
    planted = times[:, keys.index(f"construct/success/{PLANTED}")] - times[:, keys.index(f"construct/success/{PLANTED_REFERENCE}")]
    p = summarize(planted)
    calibration = {"planted_ns": PLANTED_NS, "measured_ns": p["median"], "ci95": p["ci95"],
                   "error_pct": round(100 * (p["median"] - PLANTED_NS) / PLANTED_NS, 2),
                   "within_pct": cfg.target_planted_pct}

    # per variant and baseline: the summary's shape
    def entry(name: str) -> dict:
        c, d = construct["names"][name], dispatch["names"][name]
        found = {"construct_ns": record(c), "dispatch_ns": record(d),
                 "ratio_to_floor": {k: c["ratio_to_floor"][k] for k in ("estimate", "ci95")},
                 "dispatch_ratio_to_floor": {k: d["ratio_to_floor"][k] for k in ("estimate", "ci95")}}
        scenarios = (SCENARIOS if name in names else ("success",))
        found["scenarios"] = {}
        for sc in scenarios:
            cs, ds = construct["subjects"][f"construct/{sc}/{name}"], dispatch["subjects"][f"dispatch/{sc}/{name}"]
            found["scenarios"][sc] = {"construct_ns": cs["ns"], "dispatch_ns": ds["ns"],
                                      "ratio_to_floor": {k: cs["ratio_to_floor"][k] for k in ("estimate", "ci95")},
                                      "dispatch_ratio_to_floor": {k: ds["ratio_to_floor"][k] for k in ("estimate", "ci95")}}
        return found

    ranked = sorted(names, key=lambda n: construct["names"][n]["ratio_to_floor"]["estimate"])
    variant_results = {}
    for rank, name in enumerate(ranked, 1):
        variant_results[name] = entry(name)
        variant_results[name]["rank"] = rank
    baseline_results = {name: entry(name) for name in BASELINES}

    # the two methods side by side
    passes = [{"phase": phase, "ns": {k: round(v, 1) for k, v in ns.items()}, "ratio_to_floor": mix_ratios(ns, names)}
              for phase, ns in seq]
    sequential_names = names + list(BASELINES)
    methods = {
        "sequential": {
            "what": "pytest-benchmark-style: each subject's blocks back to back, one subject after another; "
                    "median block; ratio to the floor's median taken at another moment",
            "passes": passes,
            "ratio_spread": {n: spread([p["ratio_to_floor"][n] for p in passes]) for n in sequential_names},
            "ns_spread": {n: spread([np.mean([p["ns"][f"construct/{sc}/{n}"] for sc in SCENARIOS]) if n in names
                                     else p["ns"][f"construct/success/{n}"] for p in passes]) for n in sequential_names},
            "floor_ns_spread": spread([p["ns"][f"construct/success/{FLOOR}"] for p in passes]),
        },
        "interleaved": {
            "what": "every subject once per round in shuffled order; median of per-round ratios to the floor",
            "ratio_to_floor": {n: construct["names"][n]["ratio_to_floor"]["estimate"] for n in sequential_names},
            "ci_half_width_pct": {n: construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] for n in sequential_names},
        },
    }
    floor_t = construct["floor"]
    drift = {"floor_ns_min": round(float(floor_t.min()), 1), "floor_ns_max": round(float(floor_t.max()), 1),
             "max_over_min": round(float(floor_t.max() / floor_t.min()), 3),
             "p95_over_p5": round(float(np.percentile(floor_t, 95) / np.percentile(floor_t, 5)), 3)}

    env = environment(cfg.mode)
    env.update({"cpu": cpu, "phases": phases, "process_cpu_s": process_cpu_seconds(os.getpid())})

    # targets and warnings
    worst_ci = max(construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] for n in names)
    planted_ok = abs(calibration["error_pct"]) <= cfg.target_planted_pct
    targets = {"mode": cfg.mode,
               "wall_s": {"target": cfg.target_wall_s, "measured_in_process": None},
               "ci95_half_width_pct": {"target": cfg.target_ci_pct, "worst": worst_ci, "met": worst_ci <= cfg.target_ci_pct},
               "planted_within_pct": {"target": cfg.target_planted_pct, "error_pct": calibration["error_pct"], "met": planted_ok},
               "runs_max_over_min": {"target": cfg.target_runs_spread,
                                     "how": "across back-to-back runs: see micro_history.json (python -m bench.stability)"}}
    warnings = []
    if cpu["steal_fraction"] > 0.02:
        warnings.append(f"steal time was {100 * cpu['steal_fraction']:.1f}% of CPU time: the hypervisor took the CPU")
    if cpu["busy_fraction"] > 1.15 / (os.cpu_count() or 1):
        warnings.append(f"the machine was {100 * cpu['busy_fraction']:.0f}% busy while this run used one core: "
                        f"other work ran alongside")
    if worst_ci > cfg.target_ci_pct:
        wide = [n for n in names if construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] > cfg.target_ci_pct]
        warnings.append(f"CI95 half-width above {cfg.target_ci_pct}% for {', '.join(wide)} (worst {worst_ci:.2f}%)")
    if not planted_ok:
        warnings.append(f"planted {PLANTED_NS} ns measured as {calibration['measured_ns']:.0f} ns "
                        f"({calibration['error_pct']:+.1f}%, target ±{cfg.target_planted_pct}%)")

    wall_s = round(time.monotonic() - started, 1)
    targets["wall_s"]["measured_in_process"] = wall_s
    micro = {
        "schema": SCHEMA, "mode": cfg.mode, "seed": seed, "started": wall_start.isoformat(timespec="seconds"),
        "wall_s": wall_s, "measured_s": round(measured_s, 1), "environment": env,
        "config": {**asdict(cfg), "floor": FLOOR, "planted_ns": PLANTED_NS, "variants": names,
                   "rounds": {kind: int(raw[kind]["times"].shape[0]) for kind in KINDS}},
        "subjects": {kind: [{"key": s.key, "name": s.name, "kind": s.kind, "scenario": s.scenario, "role": s.role,
                             "calls_per_block": n, "divergence": s.meta.get("divergence")} for s, n in items[kind]]
                     for kind in KINDS},
        "rounds": {kind: {"t_s": np.round(raw[kind]["t_s"], 3).tolist(),
                          "per_call_ns": {s.key: np.round(raw[kind]["times"][:, i], 1).tolist()
                                          for i, (s, _) in enumerate(items[kind])}} for kind in KINDS},
        "results": {
            "construct": {k: {**v, "ci_half_width_pct": v["ratio_to_floor"]["ci_half_width_pct"]}
                          for k, v in construct["subjects"].items()},
            "dispatch": {k: {**v, "ci_half_width_pct": v["ratio_to_floor"]["ci_half_width_pct"]}
                         for k, v in dispatch["subjects"].items()},
            "variants": variant_results, "baselines": baseline_results, "calibration": calibration,
            "pairwise": {kind: analysis[kind]["pairwise"] for kind in KINDS},
            "methods": methods, "drift": drift,
        },
        "targets": targets, "warnings": warnings,
    }
    write_json(OUT / "micro.json", micro)
    ratio_definition = ("construct time over the floor's (werkzeug_response: app.make_response of a prebuilt "
                        "Response) in the same round, median over rounds; for a variant, over the mix of one "
                        "success, one created and one unauthorized response")
    merge_summary({
        "environment": env,
        "variants": {name: {"micro": variant_results[name]} for name in names},
        "baselines": baseline_results,
        "calibration": {"micro": {k: calibration[k] for k in ("planted_ns", "measured_ns", "ci95", "error_pct")}},
        "micro": {"mode": cfg.mode, "date": micro["started"], "floor": FLOOR, "ratio_definition": ratio_definition,
                  "pairwise": analysis["construct"]["pairwise"]["all"], "methods": methods, "drift": drift,
                  "targets": targets, "warnings": warnings, "environment": env, "raw": "micro.json"},
    }, out=OUT)
    append_history(micro)
    print_summary(micro, names)
    return 0


def append_history(micro: dict) -> None:
    path = OUT / "micro_history.json"
    history = read_optional(path) or {}
    runs = history.get("runs", []) if isinstance(history, dict) else []
    res = micro["results"]
    runs.append({"started": micro["started"], "mode": micro["mode"], "seed": micro["seed"], "wall_s": micro["wall_s"],
                 "git_commit": micro["environment"]["git_commit"], "cpu": micro["environment"]["cpu"],
                 "interleaved_ratio": {n: v["ratio_to_floor"]["estimate"] for n, v in {**res["variants"], **res["baselines"]}.items()},
                 "interleaved_ci_half_width_pct": res["methods"]["interleaved"]["ci_half_width_pct"],
                 "sequential": [{"phase": p["phase"], "ratio_to_floor": p["ratio_to_floor"],
                                 "floor_ns": p["ns"][f"construct/success/{FLOOR}"]} for p in res["methods"]["sequential"]["passes"]],
                 "construct_ns": {n: v["construct_ns"]["median"] for n, v in res["variants"].items()},
                 "planted_ns": res["calibration"]["measured_ns"]})
    write_json(path, {"runs": runs[-HISTORY_KEEP:]})


def print_summary(micro: dict, names: list) -> None:
    res = micro["results"]
    variants, baselines = res["variants"], res["baselines"]
    print(f"\nconstruct cost, ranked (ratio to the floor = {FLOOR}, over success+created+unauthorized; "
          f"{micro['config']['rounds']['construct']} rounds):")
    print(f"  {'#':>2}  {'variant':<24} {'ratio':>7}  {'95% CI':<17} {'construct':>10} {'dispatch':>10}")
    rows = sorted([(v["rank"], n, v) for n, v in variants.items()]) + [(None, n, baselines[n]) for n in BASELINES]
    for rank, name, v in rows:
        lo, hi = v["ratio_to_floor"]["ci95"]
        flag_ = "  (declared divergence)" if name in names and micro["subjects"]["construct"] and any(
            s["name"] == name and s["divergence"] for s in micro["subjects"]["construct"]) else ""
        print(f"  {rank or '-':>2}  {name:<24} {v['ratio_to_floor']['estimate']:>7.2f}  [{lo:.2f}, {hi:.2f}]"
              f"{'':<{max(0, 16 - len(f'[{lo:.2f}, {hi:.2f}]'))}} {v['construct_ns']['median'] / 1e3:>8.2f} us"
              f" {v['dispatch_ns']['median'] / 1e3:>7.1f} us{flag_}")
    pairs = res["pairwise"]["construct"]["all"]
    if len(names) > 1:
        by_rank = sorted(names, key=lambda n: variants[n]["rank"])
        print("\nneighbours in the ranking (construct, the mix):")
        for a, b in zip(by_rank, by_rank[1:]):
            row = next(r for r in pairs if {r["a"], r["b"]} == {a, b})
            print(f"  {row['verdict']} (p={row['p_holm']:.2g}, effect {row['effect_size']:+.2f})")
    cal = res["calibration"]
    print(f"\ncalibration: planted {cal['planted_ns']} ns, measured {cal['measured_ns']:.0f} ns "
          f"[{cal['ci95'][0]:.0f}, {cal['ci95'][1]:.0f}] ({cal['error_pct']:+.1f}%)")
    seq = res["methods"]["sequential"]
    worst = max(seq["ratio_spread"].items(), key=lambda kv: kv[1] or 0)
    print(f"methods: sequential (pytest-benchmark-style) ratios moved up to {worst[1]:.2f}x between its two passes "
          f"({worst[0]}), the floor's median {seq['floor_ns_spread']:.2f}x; interleaved CI half-width worst "
          f"{micro['targets']['ci95_half_width_pct']['worst']:.2f}%; the floor drifted {res['drift']['p95_over_p5']:.2f}x "
          f"(p95/p5) over the rounds")
    env = micro["environment"]
    print(f"environment: {env['cpu_model']}, {env['cores']} cores, steal {100 * env['cpu']['steal_fraction']:.1f}%, "
          f"busy {100 * env['cpu']['busy_fraction']:.0f}%, wall {micro['wall_s']:.0f} s")
    for warning in micro["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {OUT / 'micro.json'} and merged {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
