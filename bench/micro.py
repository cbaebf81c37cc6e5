"""``make micro``: rank the idioms' cost on a machine whose speed drifts, by interleaved ratios.

Why interleaved: here a sequence of pytest-benchmark medians moves 2-3x between runs as the CPU
drifts, while the ratio of two subjects timed a few milliseconds apart barely moves. So:

1. Calibrate (in this process): each subject (``bench/subjects.py``) gets a block size of about
   ``block_us`` and its result is checked against the contract.
2. Worker processes, one after another (never two at once, so one core is busy): each builds the
   apps afresh, with its own ``PYTHONHASHSEED`` and memory layout, and runs its share of the rounds.
   Why several: a process's layout shifts some costs by 1-3% (and, rarely, the tiny floor by far
   more) for its whole life, so one process is one sample, however many rounds it runs.
3. Rounds: every round times every subject once, in a new shuffled order. A subject's time in a
   round is the fastest of ``k`` back-to-back blocks (min-of-k drops blocks hit by an interrupt),
   per call, garbage collection off (the young generation is collected between rounds). The
   round's sample is that time over the floor's (``werkzeug_response``, the same kind) in the same
   round, so drift cancels.
4. Estimates: per worker the median over its rounds, then the 20% trimmed mean over workers, with a
   95% CI from a bootstrap over workers (its standard error times Student's t, numpy/scipy). With
   one worker, the exact percentile bootstrap of the median over rounds. Pairwise, per scenario and
   over the mix: A/B from the per-round log-ratios the same way, a one-sample t-test over the
   workers' log-ratios (Wilcoxon over rounds with one worker), Holm-corrected, and the
   rank-biserial correlation of the pooled per-round log-ratios as effect size (+1: A faster in
   every round). Hyperfine-style verdicts: "A is 1.42 ± 0.03x faster than B", or "no significant
   difference"; a significant difference under ``RESOLUTION`` (3%) is flagged as such.
5. Calibration: ``planted`` (jsonify_tuple plus a 2000 ns busy-wait) minus ``planted_reference``
   (the same with a 0 ns wait), round by round; the suite must recover the 2000 ns.
6. The familiar method, in the same run: sequential pytest-benchmark-style medians (each subject's
   blocks back to back, one subject after another), construct only, in the first, middle and last
   worker, so the report can set the two methods side by side.

Environment (versions, CPU, governor, git commit, mode) and /proc/stat steal and busy time are
recorded for the run, each phase and each worker; a noisy run (steal, other load, wide CIs, planted
cost missed) is warned about on stderr and listed under ``warnings``.

Options, from the environment: ``QUICK=1`` (a fast pass), ``VARIANTS=a,b`` (some idioms; the
baselines and the planted pair are always timed), ``MICRO_SEED`` (seeds the shuffles, the workers'
hash seeds and the bootstrap). ``python -m bench.stability`` runs it three times back to back and
checks the issue's targets. The same subjects under pytest-benchmark itself:
``.venv/bin/python -m pytest bench --benchmark-enable --benchmark-json=reports/out/pytest_benchmark.json``.

Output
------
``reports/out/micro.json`` (written atomically), schema ``flask-json-idioms/micro/1``. Times are ns
per call; a "ci95" is ``[lo, hi]``; "per_worker" lists each worker's median::

    schema, mode, seed, started, wall_s, measured_s
    environment          harness.environment.environment() plus "cpu" (steal_fraction,
                         busy_fraction, seconds, over the whole run), "phases" ("calibrate",
                         "workers": the same), "workers": [{"index", "hash_seed", "process_cpu_s",
                         "phases": {"sequential", "construct", "dispatch"}}]
    config               Config fields (workers, construct_s, block_us, k, ...), floor, planted_ns,
                         variants, rounds: {"construct"|"dispatch": [rounds per worker]}
    subjects             {"construct"|"dispatch": [{"key", "name", "kind", "scenario", "role",
                          "calls_per_block", "divergence"}]}; key = "<kind>/<scenario>/<name>";
                          role is "variant", "baseline" or "calibration"
    rounds               the raw samples: {"construct"|"dispatch": {"t_s": [[round start, s since
                          the worker started] per worker], "per_call_ns": {key: [[ns per round]
                          per worker]}}}
    results
      construct, dispatch  {key: {"ns": {"estimate", "ci95", "ci_half_width_pct", "per_worker"},
                          "ratio_to_floor": {the same}}}, per subject and scenario
      variants           {name: {"construct_ns": {"median", "ci95"}, "dispatch_ns": {...},
                          "ratio_to_floor": {"estimate", "ci95"}, "dispatch_ratio_to_floor":
                          {...}, "scenarios": {scenario: {the same four}}, "rank"}}; the top-level
                          values are over the mix of one success, one created and one unauthorized
                          response (per round, the mean of the three); rank 1 = cheapest
      baselines          {"raw_wsgi"|"werkzeug_response": a variant's keys (no rank), success only}
      calibration        {"planted_ns", "measured_ns", "ci95", "error_pct", "within_pct", "per_worker"}
      pairwise           {"construct"|"dispatch": {"all"|scenario: [{"a", "b", "ratio", "ci95",
                          "p", "p_holm", "effect_size", "significant", "below_resolution",
                          "verdict", "per_worker"}]}}, a the faster, ratio = b's time over a's
                          (>= 1), sorted by ratio, largest first
      methods            the two methods side by side: {"sequential": {"what", "passes":
                          [{"phase", "ns": {key: median}, "ratio_to_floor": {name: over the mix}}],
                          "ratio_spread": {name: max/min across passes}, "ns_spread": {name:
                          max/min}, "floor_ns_spread"}, "interleaved": {"what", "ratio_to_floor":
                          {name: estimate}, "ci_half_width_pct": {name: ...},
                          "per_worker_spread": {name: max/min over workers}}}
      drift              the floor's per-call time over all rounds: floor_ns_min, floor_ns_max,
                          max_over_min, p95_over_p5 (the speed drift the ratios cancel)
    targets              the issue's targets for this mode; the ones one run can check ("wall_s",
                          "ci95_half_width_pct", "planted_within_pct") with "met"
    warnings             [str]

It also merges into ``reports/out/summary.json``: top-level ``environment``; ``variants.<name>.micro``
(as ``results.variants`` above); ``baselines.<name>``; ``calibration.micro`` (``planted_ns``,
``measured_ns``, ``ci95``, ``error_pct``); and ``micro`` (``mode``, ``date``, ``floor``,
``ratio_definition``, ``pairwise`` for the construct mix, ``methods``, ``drift``, ``targets``,
``warnings``, ``environment``, ``raw``: "micro.json"). A compact record of every run is appended to
``reports/out/micro_history.json`` (``{"runs": [{"started", "mode", "seed", "wall_s", "git_commit",
"cpu", "interleaved_ratio", "interleaved_ci_half_width_pct", "sequential", "construct_ns",
"planted_ns"}]}``, the last 50), so that the methods can be compared across runs.
"""
from __future__ import annotations

import gc
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from itertools import combinations, repeat
from pathlib import Path

import numpy as np

from bench.subjects import (BASELINES, FLOOR, KINDS, PLANTED, PLANTED_NS, PLANTED_REFERENCE, SCENARIOS,
                            Subject, subjects)
from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, environment, process_cpu_seconds
from harness.progress import Progress
from harness.results import OUT, ResultError, merge_summary, read_json, read_optional, write_json

SCHEMA = "flask-json-idioms/micro/1"
HISTORY_KEEP = 50
PILOT_ROUNDS = 5
# Differences smaller than this are below what back-to-back runs reproduce (the full-mode
# target is max/min <= 1.03 across runs), however small their CI within one run.
RESOLUTION = 0.03
BOOTSTRAP = 2000  # resamples of the workers
TRIM = 0.2  # cut from each end of the workers' estimates
RATIO_DEFINITION = ("construct time over the floor's (werkzeug_response: app.make_response of a prebuilt Response) "
                    "in the same round; per worker process the median over rounds, then the 20% trimmed mean over workers; "
                    "for a variant, over the mix of one success, one created and one unauthorized response")


@dataclass(frozen=True)
class Config:
    mode: str
    construct_s: float  # time budget of the interleaved construct rounds
    dispatch_s: float
    block_us: float  # one block of calls lasts about this long
    k: int  # blocks per subject per round; the fastest counts
    dispatch_k: int
    sequential_s: float  # per subject and pass, for the pytest-benchmark-style medians
    workers: int  # processes, one after another, each with its own share of the rounds
    min_rounds: int = 30
    # the targets
    target_wall_s: float = 0
    target_ci_pct: float = 0
    target_runs_spread: float = 0
    target_planted_pct: float = 0


QUICK = Config("quick", construct_s=6.5, dispatch_s=3.0, block_us=120, k=2, dispatch_k=1, sequential_s=0.02, workers=12,
               target_wall_s=30, target_ci_pct=3, target_runs_spread=1.05, target_planted_pct=20)
FULL = Config("full", construct_s=72.0, dispatch_s=28.0, block_us=200, k=3, dispatch_k=2, sequential_s=0.04, workers=30,
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
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
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


def across(values) -> float:
    """The estimate over worker processes: a 20% trimmed mean of their medians (the mean when fewer
    than five), robust to the odd process whose layout makes one subject much slower."""
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    return float(stats.trim_mean(np.asarray(values, dtype=float), TRIM))


def over_workers(values, rng, resamples: int = BOOTSTRAP) -> list:
    """95% CI of ``across(values)`` over workers: its bootstrap standard error (resampling the
    workers) times Student's t for n-1 degrees of freedom, since a percentile bootstrap over a
    handful of processes is too narrow."""
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return [float(values[0]), float(values[0])]
    resampled = np.sort(values[rng.integers(0, len(values), size=(resamples, len(values)))], axis=1)
    error = float(np.std(stats.trim_mean(resampled, TRIM, axis=1), ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * error
    estimate = across(values)
    return [estimate - half, estimate + half]


def combine(per_worker: list, rng, digits: int = 4) -> dict:
    """An estimate from per-round samples in several worker processes.

    Each worker's median over its rounds, then ``across`` the workers; the 95% CI comes from
    resampling the workers: a process's memory layout and hash seed shift some costs by a few
    percent for its whole life, so the process, not the round, is the unit that repeats. With a
    single worker, the exact bootstrap over its rounds.
    """
    medians = [float(np.median(x)) for x in per_worker]
    estimate = across(medians)
    lo, hi = over_workers(medians, rng) if len(per_worker) > 1 else bootstrap_median_ci(per_worker[0])
    half = (hi - lo) / 2
    return {"estimate": round(estimate, digits), "ci95": [round(lo, digits), round(hi, digits)],
            "ci_half_width_pct": round(100 * half / estimate, 3) if estimate else None,
            "per_worker": [round(m, digits) for m in medians]}


def compare(name_a: str, a: list, name_b: str, b: list, rng) -> dict:
    """Paired comparison of two subjects' per-round times (lists over workers); a is the faster."""
    from scipy import stats  # imported here: worker processes never need it, and it is slow to import
    log_ratio = [np.log(x) - np.log(y) for x, y in zip(a, b)]
    if across([np.median(d) for d in log_ratio]) > 0:
        name_a, name_b, log_ratio = name_b, name_a, [-d for d in log_ratio]
    per_worker = [float(-np.median(d)) for d in log_ratio]  # log of how many times b's time a's
    estimate = across(per_worker)
    if len(per_worker) > 1:
        lo, hi = over_workers(per_worker, rng)
        spread = np.std(per_worker, ddof=1)
        p = float(stats.ttest_1samp(per_worker, 0).pvalue) if spread > 0 else (0.0 if estimate else 1.0)
    else:
        lo, hi = order_statistic_ci(-log_ratio[0])
        nonzero = log_ratio[0][log_ratio[0] != 0]
        p = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) >= 10 else 1.0
    pooled = np.concatenate(log_ratio)
    nonzero = pooled[pooled != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    plus, minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    effect = float((minus - plus) / (plus + minus)) if len(nonzero) else 0.0  # rank-biserial, +1: a always faster
    return {"a": name_a, "b": name_b, "ratio": round(math.exp(estimate), 4),
            "ci95": [round(math.exp(lo), 4), round(math.exp(hi), 4)], "p": p, "effect_size": round(effect, 3),
            "per_worker": [round(math.exp(x), 4) for x in per_worker]}


def pairwise(table: dict, rng) -> list:
    """Every pair in ``table`` (name -> per-round times per worker), Holm-corrected, hyperfine-style verdicts."""
    rows = [compare(a, table[a], b, table[b], rng) for a, b in combinations(table, 2)]
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


# --- the run ---------------------------------------------------------------------------------

def analyse(kind: str, keys: list, per_worker: list, names: list, rng) -> dict:
    """Per subject, per name over the mix of scenarios, and pairwise, for one kind."""
    column = {key: [t[:, i] for t in per_worker] for i, key in enumerate(keys)}
    floor = column[f"{kind}/success/{FLOOR}"]

    def both(t):
        return {"ns": combine(t, rng, digits=1), "ratio_to_floor": combine([x / f for x, f in zip(t, floor)], rng)}

    per_subject = {key: both(column[key]) for key in keys}
    mix = {name: [np.mean(ws, axis=0) for ws in zip(*(column[f"{kind}/{sc}/{name}"] for sc in SCENARIOS))]
           for name in names}
    for name in BASELINES:
        mix[name] = column[f"{kind}/success/{name}"]
    per_name = {name: both(t) for name, t in mix.items()}
    pairs = {"all": pairwise({name: mix[name] for name in names}, rng)}
    for scenario in SCENARIOS:
        pairs[scenario] = pairwise({name: column[f"{kind}/{scenario}/{name}"] for name in names}, rng)
    return {"subjects": per_subject, "names": per_name, "pairwise": pairs, "column": column}


def run_phase(label: str, kind: str, items: list, cfg: Config, budget: float, rng, started: float,
              phases: dict) -> dict:
    k = cfg.k if kind == "construct" else cfg.dispatch_k
    # a few rounds to warm up and to learn how long a round takes, then as many as fit the budget
    pilot_start = time.monotonic()
    interleaved(items, k, PILOT_ROUNDS, rng, Progress("warm-up", PILOT_ROUNDS, stream=io.StringIO()), started)
    per_round_s = (time.monotonic() - pilot_start) / PILOT_ROUNDS
    rounds = max(cfg.min_rounds, int(budget / per_round_s))
    print(f"  {label}: {kind}, {len(items)} subjects, {rounds} rounds of ~{per_round_s * 1e3:.0f} ms", flush=True)
    before = CpuSnapshot.now()
    data = interleaved(items, k, rounds, rng, Progress(f"{label} {kind} rounds", rounds, every_s=5), started)
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


def measure(job: dict) -> dict:
    """One worker process's share: a sequential pass, then construct and dispatch rounds."""
    cfg = Config(**job["config"])
    rng = np.random.default_rng(job["seed"])
    started = time.monotonic()
    label = f"worker {job['index'] + 1}/{job['workers']}"
    items = {kind: [(s, job["blocks"][s.key]) for s in subjects(kind, job["names"])] for kind in KINDS}
    for kind in KINDS:  # every subject once, outside the clock: lazy set-up and the class checks
        for subject, _ in items[kind]:
            with subject.entered():
                subject.check(subject.call())
    phases, raw = {}, {}
    gc.collect()
    gc.disable()
    try:
        before = CpuSnapshot.now()
        seq = None
        if job["sequential"]:
            seq = sequential(items["construct"], cfg.sequential_s,
                             Progress(f"{label} sequential", len(items["construct"]), every_s=5))
            phases["sequential"] = CpuSnapshot.now().since(before)
        for kind in KINDS:
            budget = (cfg.construct_s if kind == "construct" else cfg.dispatch_s) / cfg.workers
            raw[kind] = run_phase(label, kind, items[kind], cfg, budget, rng, started, phases)
    finally:
        gc.enable()
    return {"index": job["index"], "hash_seed": os.environ.get("PYTHONHASHSEED"), "phases": phases,
            "sequential": seq, "process_cpu_s": process_cpu_seconds(os.getpid()),
            "keys": {kind: [s.key for s, _ in items[kind]] for kind in KINDS},
            "times": {kind: raw[kind]["times"].tolist() for kind in KINDS},
            "t_s": {kind: raw[kind]["t_s"].tolist() for kind in KINDS}}


def run_workers(cfg: Config, names: list, blocks: dict, rng, progress: Progress) -> list:
    """The worker processes, one after another (never two at once), each with its own hash seed."""
    results = []
    with tempfile.TemporaryDirectory(prefix="micro-") as tmp:
        for index in range(cfg.workers):
            job = {"config": asdict(cfg), "names": names, "blocks": blocks, "index": index, "workers": cfg.workers,
                   "seed": int(rng.integers(2**32)),
                   # the familiar method in the first, middle and last process: early, midway, late in the run
                   "sequential": index in (0, cfg.workers // 2, cfg.workers - 1)}
            job_path, result_path = Path(tmp, f"job-{index}.json"), Path(tmp, f"result-{index}.json")
            write_json(job_path, job)
            env = {**os.environ, "PYTHONHASHSEED": str(int(rng.integers(1, 2**32 - 1)))}
            done = subprocess.run([sys.executable, "-m", "bench.micro", "--worker", str(job_path), str(result_path)],
                                  env=env)
            if done.returncode != 0:
                raise ResultError(f"microbenchmark worker {index + 1}/{cfg.workers} failed (exit code {done.returncode})")
            results.append(read_json(result_path))
            progress.step()
    for result in results:
        for kind in KINDS:
            result["times"][kind] = np.asarray(result["times"][kind])
    return results


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
          f"+ {len(BASELINES)} baselines and the planted {PLANTED_NS} ns; {cfg.workers} worker processes; seed {seed}",
          flush=True)

    # 1. calibrate block sizes (and check every subject's result once)
    before = CpuSnapshot.now()
    print("stage 1/2: calibrate block sizes", flush=True)
    total = (len(names) * len(SCENARIOS) + len(BASELINES)) * 2 + 2
    progress = Progress("calibrate", total)
    items = {kind: prepare(kind, names, cfg, progress) for kind in KINDS}
    blocks = {s.key: n for kind in KINDS for s, n in items[kind]}
    phases["calibrate"] = CpuSnapshot.now().since(before)

    # 2. the workers: each a sequential pass, then interleaved rounds
    print(f"stage 2/2: {cfg.workers} worker processes, one after another, each: sequential medians, "
          f"construct rounds, dispatch rounds", flush=True)
    before = CpuSnapshot.now()
    workers = run_workers(cfg, names, blocks, rng, Progress("workers", cfg.workers, every_s=0))
    phases["workers"] = CpuSnapshot.now().since(before)
    cpu = CpuSnapshot.now().since(first)
    measured_s = time.monotonic() - started
    raw = {kind: {"per_worker": [w["times"][kind] for w in workers]} for kind in KINDS}
    seq = [(f"worker {w['index'] + 1}", w["sequential"]) for w in workers if w["sequential"]]

    analysis = {kind: analyse(kind, workers[0]["keys"][kind], raw[kind]["per_worker"], names, rng) for kind in KINDS}
    construct, dispatch = analysis["construct"], analysis["dispatch"]

    # calibration: planted minus its reference, round by round
    planted = [p - r for p, r in zip(construct["column"][f"construct/success/{PLANTED}"],
                                     construct["column"][f"construct/success/{PLANTED_REFERENCE}"])]
    p = combine(planted, rng, digits=1)
    calibration = {"planted_ns": PLANTED_NS, "measured_ns": p["estimate"], "ci95": p["ci95"],
                   "error_pct": round(100 * (p["estimate"] - PLANTED_NS) / PLANTED_NS, 2),
                   "within_pct": cfg.target_planted_pct, "per_worker": p["per_worker"]}

    def brief(x: dict, key: str = "estimate") -> dict:
        return {key: x["estimate"], "ci95": x["ci95"]}

    # per variant and baseline: the summary's shape
    def entry(name: str) -> dict:
        c, d = construct["names"][name], dispatch["names"][name]
        found = {"construct_ns": brief(c["ns"], "median"), "dispatch_ns": brief(d["ns"], "median"),
                 "ratio_to_floor": brief(c["ratio_to_floor"]), "dispatch_ratio_to_floor": brief(d["ratio_to_floor"]),
                 "scenarios": {}}
        for sc in (SCENARIOS if name in names else ("success",)):
            cs, ds = construct["subjects"][f"construct/{sc}/{name}"], dispatch["subjects"][f"dispatch/{sc}/{name}"]
            found["scenarios"][sc] = {"construct_ns": brief(cs["ns"], "median"), "dispatch_ns": brief(ds["ns"], "median"),
                                      "ratio_to_floor": brief(cs["ratio_to_floor"]),
                                      "dispatch_ratio_to_floor": brief(ds["ratio_to_floor"])}
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
    every = names + list(BASELINES)

    def mix_ns(p: dict, n: str) -> float:
        return float(np.mean([p["ns"][f"construct/{sc}/{n}"] for sc in SCENARIOS])) if n in names \
            else p["ns"][f"construct/success/{n}"]

    methods = {
        "sequential": {
            "what": "pytest-benchmark-style: each subject's blocks back to back, one subject after another; "
                    "median block; ratio to the floor's median taken at another moment; one pass per worker",
            "passes": passes,
            "ratio_spread": {n: spread([p["ratio_to_floor"][n] for p in passes]) for n in every},
            "ns_spread": {n: spread([mix_ns(p, n) for p in passes]) for n in every},
            "floor_ns_spread": spread([p["ns"][f"construct/success/{FLOOR}"] for p in passes]),
        },
        "interleaved": {
            "what": "every subject once per round in shuffled order; per worker the median of per-round "
                    "ratios to the floor; the 20% trimmed mean over workers",
            "ratio_to_floor": {n: construct["names"][n]["ratio_to_floor"]["estimate"] for n in every},
            "ci_half_width_pct": {n: construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] for n in every},
            "per_worker_spread": {n: spread(construct["names"][n]["ratio_to_floor"]["per_worker"]) for n in every},
        },
    }
    floor_t = np.concatenate(construct["column"][f"construct/success/{FLOOR}"])
    drift = {"floor_ns_min": round(float(floor_t.min()), 1), "floor_ns_max": round(float(floor_t.max()), 1),
             "max_over_min": round(float(floor_t.max() / floor_t.min()), 3),
             "p95_over_p5": round(float(np.percentile(floor_t, 95) / np.percentile(floor_t, 5)), 3)}

    env = environment(cfg.mode)
    env.update({"cpu": cpu, "phases": phases,
                "workers": [{"index": w["index"], "hash_seed": w["hash_seed"], "phases": w["phases"],
                             "process_cpu_s": w["process_cpu_s"]} for w in workers]})

    # targets and warnings
    worst_ci = max(construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] for n in names)
    planted_ok = abs(calibration["error_pct"]) <= cfg.target_planted_pct
    targets = {"mode": cfg.mode,
               "wall_s": {"target": cfg.target_wall_s, "measured_in_process": None},
               "ci95_half_width_pct": {"target": cfg.target_ci_pct, "worst": worst_ci, "met": worst_ci <= cfg.target_ci_pct},
               "planted_within_pct": {"target": cfg.target_planted_pct, "error_pct": calibration["error_pct"], "met": planted_ok},
               "runs_max_over_min": {"target": cfg.target_runs_spread,
                                     "how": "across back-to-back runs: python -m bench.stability (micro_stability.json)"}}
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
    rounds = {kind: [int(t.shape[0]) for t in raw[kind]["per_worker"]] for kind in KINDS}
    micro = {
        "schema": SCHEMA, "mode": cfg.mode, "seed": seed, "started": wall_start.isoformat(timespec="seconds"),
        "wall_s": wall_s, "measured_s": round(measured_s, 1), "environment": env,
        "config": {**asdict(cfg), "floor": FLOOR, "planted_ns": PLANTED_NS, "variants": names, "rounds": rounds},
        "subjects": {kind: [{"key": s.key, "name": s.name, "kind": s.kind, "scenario": s.scenario, "role": s.role,
                             "calls_per_block": n, "divergence": s.meta.get("divergence")} for s, n in items[kind]]
                     for kind in KINDS},
        "rounds": {kind: {"t_s": [np.round(w["t_s"][kind], 3).tolist() for w in workers],
                          "per_call_ns": {key: [np.round(x, 1).tolist() for x in analysis[kind]["column"][key]]
                                          for key in workers[0]["keys"][kind]}} for kind in KINDS},
        "results": {
            "construct": construct["subjects"], "dispatch": dispatch["subjects"],
            "variants": variant_results, "baselines": baseline_results, "calibration": calibration,
            "pairwise": {kind: analysis[kind]["pairwise"] for kind in KINDS},
            "methods": methods, "drift": drift,
        },
        "targets": targets, "warnings": warnings,
    }
    write_json(OUT / "micro.json", micro)
    merge_summary({
        "environment": env,
        "variants": {name: {"micro": variant_results[name]} for name in names},
        "baselines": baseline_results,
        "calibration": {"micro": {k: calibration[k] for k in ("planted_ns", "measured_ns", "ci95", "error_pct")}},
        "micro": {"mode": cfg.mode, "date": micro["started"], "floor": FLOOR, "ratio_definition": RATIO_DEFINITION,
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
          f"{sum(micro['config']['rounds']['construct'])} rounds in {len(micro['config']['rounds']['construct'])} processes):")
    print(f"  {'#':>2}  {'variant':<24} {'ratio':>7}  {'95% CI':<17} {'construct':>10} {'dispatch':>10}")
    rows = sorted([(v["rank"], n, v) for n, v in variants.items()]) + [(None, n, baselines[n]) for n in BASELINES]
    divergent = {s["name"] for s in micro["subjects"]["construct"] if s["divergence"]}
    for rank, name, v in rows:
        lo, hi = v["ratio_to_floor"]["ci95"]
        flag_ = "  (declared divergence)" if name in divergent else ""
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
    print(f"methods: sequential (pytest-benchmark-style) ratios moved up to {worst[1]:.2f}x across its "
          f"{len(seq['passes'])} passes ({worst[0]}), the floor's median {seq['floor_ns_spread']:.2f}x; interleaved CI half-width worst "
          f"{micro['targets']['ci95_half_width_pct']['worst']:.2f}%; the floor drifted {res['drift']['p95_over_p5']:.2f}x "
          f"(p95/p5) over the rounds")
    env = micro["environment"]
    print(f"environment: {env['cpu_model']}, {env['cores']} cores, steal {100 * env['cpu']['steal_fraction']:.1f}%, "
          f"busy {100 * env['cpu']['busy_fraction']:.0f}%, wall {micro['wall_s']:.0f} s")
    for warning in micro["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {OUT / 'micro.json'} and merged {OUT / 'summary.json'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:  # a worker process: python -m bench.micro --worker JOB RESULT
        try:
            write_json(sys.argv[3], measure(read_json(sys.argv[2])))
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
            sys.exit(130)
        sys.exit(0)
    sys.exit(main())
