"""``make payloads``: what each idiom makes of real payloads, and what it costs from 100 bytes to 1 MB.

Two parts, one result file (``reports/out/payloads.json``, schema ``harness.schemas.payloads``):

1. **Semantics** (``bench/payload_semantics.py``): every variant serves every corpus entry (``payloads``:
   the size sweep, the type set, and the files ``PAYLOADS=path`` names) through its own app; per cell the
   status (ok, differs, error), the exact bytes or the exception, Content-Type and Content-Length.
2. **Cost against size**: the whole request (``GET /api/payload/<entry>``, the WSGI callable end to end,
   ``bench/payload_worker.py``) of every variant on every size entry (and user entry) it serves, against
   ``jsonify_tuple`` on the same entry, by ``make request``'s method: shuffled interleaved rounds inside
   worker processes (the first alone, then two at a time, each on a core of its own), each with its own hash seed and app creation order, every
   subject timed once a round (k = 1); per worker the median over rounds of the ratio of each subject's
   block to the reference's block on the same entry in the same round, times the reference's time,
   collections added as ``bench.request_analysis`` adds them. (Pairing each block with a reference block
   beside it, ``pairing="beside"``, calls the reference N times as often as any idiom, so its objects stay
   hot in the CPU caches: an A/A subject measured +0.4..+0.6% and dict_return +0.7..+1.1% that way against
   -0.4..+0.1% and -0.5..-0.2% in shuffled rounds, 2026-11-26, 10 workers x 4 s, two sizes; the
   intervals were narrower in shuffled rounds on 3 of those 6 comparisons, wider on the other 3.) Each
   entry's subjects are timed together in a round, so an idiom and the reference are milliseconds apart
   (``bench.payload_worker``). On an entry whose body is 128 KiB or more, each timed request follows at least 10 ms
   of untimed ones of the same subject (at least one), the allocator state of a process that serves it
   (``payload_worker.warm_before`` says why), and each cell keeps its minor page faults per timed request (``page_faults_per_request``).
   ``jsonify_tuple~aa``, a second app of the reference timed
   as any idiom is, is the A/A check on each entry (``aa_pct``);
   intervals and equivalence verdicts over workers (``harness.stats``). Per idiom, a line fitted to its
   cost against size gives a fixed cost (µs) and a cost per KB, each with a 95% interval over the
   workers' own fits; the ranking of the idioms at each size, and where it changes.

Over HTTP (``loadtests.run``'s payload mode, ``make payloads-http``, a target of its own): every
idiom's payload app behind gunicorn at ``size_1kb`` and ``size_100kb``, locust interleaving request by request, the
Δ of server time against ``jsonify_tuple`` with a 95% CI over server processes; ``merge_http`` copies it here as
``cost.<variant>.<entry>.http`` = {"estimate", "ci95", "verdict"} (µs) with an ``http`` block saying how it was
measured. A failed HTTP run leaves the in-process figures as they are (``http.status`` says it failed). This stage
copies the last HTTP run's Δ (``load_payloads.json``, when there is one) into the payloads.json it writes, with its
start time in the ``http`` block.

Options, from the environment: ``QUICK=1`` (4 sizes, 1 KB among them as the HTTP stage times it; a few workers: a smoke pass within ``QUICK.target_wall_s``),
``VARIANTS=a,b`` (``jsonify_tuple`` is always measured: it is the reference), ``PAYLOADS=path`` (a JSON
file or a folder of them: ``payloads.user``; a bad one exits 2 before anything runs), ``PAYLOADS_SEED``.
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np

import payloads
from bench import payload_semantics as semantics
from bench import request_analysis, young
from bench.payload_worker import AA_SUFFIX, WARM_BODY_BYTES, WARM_MS
from harness import stats
from harness import processes
from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, environment
from harness.progress import Progress
from harness.results import OUT, read_optional, record_stage, write_json
from payloads.types import NEEDS, RULES

SCHEMA = "flask-json-idioms/payloads/1"
REFERENCE = semantics.REFERENCE
MARGIN_DEFINITION = (f"±{request_analysis.MARGIN_PCT:g}% of jsonify_tuple's whole request on the same entry, in "
                     "process (make request's margin)")
# The payload classes the report gives a verdict on: the size entries in each.
PAYLOAD_CLASSES = {"tiny": ("size_100b",), "typical": ("size_1kb", "size_10kb"), "large": ("size_100kb", "size_1mb")}


@dataclass(frozen=True)
class Config:
    mode: str
    sizes: tuple  # the size entries timed
    workers: int  # processes
    parallel: int  # processes at a time after the first, each pinned to a CPU of its own (harness.processes.run_workers)
    seconds: float  # timed rounds per worker
    block_ms: float  # one block of calls lasts about this long (at least one call)
    k: int  # blocks per subject and round, back to back; the fastest counts
    min_rounds: int
    pairing: str  # "shuffled": each subject once a round, the ratio to the reference's block in the same round;
    # "beside": each subject's block beside a block of the reference (biased: see the module's docstring)
    target_ci_pct: float  # a Δ's CI half-width as % of the idiom's own request, at every size (reported, not asserted)
    target_wall_s: float


# min_rounds binds the strided entries (100 KB, 1 MB): 8 rounds of them a worker (orjson_provider on 1 MB: ±1.18% of
# its cost in one full sweep, 151 s; with 6 rounds ±1.9-3.1% in three, 120 s; README "Large bodies"). 17 workers since
# only the first one counts the young generation (``bench.young``: 0.7 s of every worker's set-up); 16 before.
# Two at a time since 2026-11-28, each on a core of its own (``bench.request`` measured what that moves): in two
# alternating pairs of full sweeps, 34 workers gave the widest interval at 1 MB ±1.17, 1.34% of the idiom's cost (at
# 100 KB ±1.26, 1.21) in 163-164 s against ±1.58, 2.24 (±1.46, 1.63) from 17 one after another in 153-155 s; over the
# 70 idiom-and-size cells the two methods differed by +0.13 combined SEs on average (SD 0.99): no shift.
FULL = Config("full", tuple(payloads.SIZE_KB), workers=34, parallel=2, seconds=5.0, block_ms=1.0, k=1, min_rounds=8,
              pairing="shuffled", target_ci_pct=2.0, target_wall_s=180)
QUICK = Config("quick", ("size_100b", "size_1kb", "size_10kb", "size_100kb"), workers=5, parallel=2, seconds=2.5, block_ms=0.5, k=1, min_rounds=5,
               pairing="shuffled", target_ci_pct=5.0, target_wall_s=25)
AA = REFERENCE + AA_SUFFIX  # a second, separate app of the reference, timed as any idiom is: the A/A check


# --- the fit --------------------------------------------------------------------------------------

def fit_line(x, y, weights=None) -> tuple:
    """(intercept, slope) of the least-squares line y = a + b x (numpy), each point weighted by ``weights``
    (default 1/|y|: relative errors, so a 1 MB point does not drown the 100 B one)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = 1 / np.abs(y) if weights is None else np.asarray(weights, dtype=float)
    design = np.column_stack([np.ones_like(x), x]) * w[:, None]
    (a, b), *_ = np.linalg.lstsq(design, y * w, rcond=None)
    return float(a), float(b)


def fit_over_workers(x, per_worker_y: list, per_worker_weights: list | None = None) -> dict:
    """The line fitted in each worker, then the intercept and slope over workers with 95% intervals."""
    fits = [fit_line(x, y, None if per_worker_weights is None else per_worker_weights[i])
            for i, y in enumerate(per_worker_y)]
    a = stats.over_units([f[0] for f in fits], trim=stats.TRIM).as_dict(3)
    b = stats.over_units([f[1] for f in fits], trim=stats.TRIM).as_dict(4)
    return {"fixed_us": a, "per_kb_us": b}


# --- the analysis ---------------------------------------------------------------------------------

def paired_ratio(worker: dict, subject: tuple) -> float:
    """One worker's median over rounds of the subject's time over the reference's block beside it."""
    i = [tuple(k) for k in worker["keys"]].index(tuple(subject))
    own = np.asarray(worker["per_call_ns"], dtype=float)[:, i]  # null (NaN): a round that did not time the entry
    beside = np.asarray(worker["paired_reference_ns"], dtype=float)[:, i]
    return float(np.nanmedian(own / beside))


def faults_per_request(workers: list, subject: tuple):
    """The subject's minor page faults per timed request (the kernel mapping fresh memory), median over the workers
    that recorded them; None when none did."""
    values = []
    for w in workers:
        if "page_faults" in w:
            i = [tuple(k) for k in w["keys"]].index(tuple(subject))
            if w["requests"][i] > 0:
                values.append(w["page_faults"][i] / w["requests"][i])
    return round(float(np.median(values)), 1) if values else None


def paired_delta_ns(worker: dict, figures: dict, subject: tuple) -> float:
    """One worker's difference subject minus reference on the subject's entry, ns per request: (the paired ratio - 1)
    times the reference's own median, plus the difference of their collections (``bench.request_analysis``)."""
    reference = (worker.get("reference") or REFERENCE, subject[1])
    own, collected, _ = figures[tuple(subject)]
    ref_own, ref_collected, _ = figures[reference]
    return (paired_ratio(worker, subject) - 1) * ref_own + collected - ref_collected


def analyse(workers: list, subjects: list, sizes_kb: dict, cfg: Config) -> dict:
    """The cost figures: per variant and entry, Δ against the reference and the request's time; per variant the
    fits against size; the ranking per size and the changes in it. ``sizes_kb``: size entry -> its KB."""
    figures = [request_analysis.worker_figures(w) for w in workers]
    cost, per_worker_delta, per_worker_us = {}, {}, {}
    aa_subjects = [(n, e) for n, e in subjects if n == AA]
    subjects = [(n, e) for n, e in subjects if n != AA]
    for name, entry in subjects:
        us_values = [request_analysis.request_ns(f, (name, entry)) / 1e3 for f in figures]
        us = request_analysis.interval(us_values)
        per_worker_us[(name, entry)] = us_values
        if name == REFERENCE:
            # the reference against its own block beside it ("beside" pairing; replaced by the A/A subject's where timed)
            aa = stats.over_units([paired_ratio(w, (name, entry)) for w in workers], trim=stats.TRIM)
            cost.setdefault(name, {})[entry] = {"us": us, "delta_us": {"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"},
                                                "delta_pct": {"estimate": 0.0, "ci95": [0.0, 0.0]}, "per_worker_delta_us": [],
                                                "aa_pct": {"estimate": round(100 * (aa.estimate - 1), 2),
                                                           "ci95": [round(100 * (aa.lo - 1), 2), round(100 * (aa.hi - 1), 2)]}}
            cost[name][entry]["page_faults_per_request"] = faults_per_request(workers, (name, entry))
            per_worker_delta[(name, entry)] = [0.0] * len(figures)
            continue
        values = [paired_delta_ns(w, f, (name, entry)) / 1e3 for w, f in zip(workers, figures)]
        ref_us = stats.over_units([request_analysis.request_ns(f, (REFERENCE, entry)) / 1e3 for f in figures],
                                  trim=stats.TRIM).estimate
        margin = request_analysis.MARGIN_PCT / 100 * ref_us
        delta = request_analysis.judged(values, margin, None)
        per_worker_delta[(name, entry)] = values
        # the same difference as a ratio (each worker's median over rounds of idiom / reference in the round): free of
        # how fast each worker's machine ran, so its interval is the resolution the run has on this idiom's cost
        ratio = stats.over_units([paired_ratio(w, (name, entry)) for w in workers], trim=stats.TRIM)
        cost.setdefault(name, {})[entry] = {
            "us": us, "delta_us": delta,
            "delta_pct": {"estimate": round(100 * (ratio.estimate - 1), 2),
                          "ci95": [round(100 * (ratio.lo - 1), 2), round(100 * (ratio.hi - 1), 2)]},
            "ci_pct_of_cost": round(100 * ratio.half_width / max(ratio.estimate, 1e-9), 2),
            "per_worker_delta_us": [round(x, 3) for x in values],
            "page_faults_per_request": faults_per_request(workers, (name, entry))}

    for _, entry in aa_subjects:  # the A/A check: a second app of the reference against the reference, in %
        if entry in cost.get(REFERENCE, {}):
            aa = stats.over_units([paired_ratio(w, (AA, entry)) for w in workers], trim=stats.TRIM)
            cost[REFERENCE][entry]["aa_pct"] = {"estimate": round(100 * (aa.estimate - 1), 2),
                                                "ci95": [round(100 * (aa.lo - 1), 2), round(100 * (aa.hi - 1), 2)]}
    names = list(dict.fromkeys(n for n, _ in subjects))
    sizes = sorted((e for e in sizes_kb if all((n, e) in per_worker_us for n in (REFERENCE,))), key=sizes_kb.get)
    fits = {}
    for name in names:
        measured = [e for e in sizes if (name, e) in per_worker_us]
        if len(measured) < 2:
            continue
        x = [sizes_kb[e] for e in measured]
        own = fit_over_workers(x, [[per_worker_us[(name, e)][w] for e in measured] for w in range(len(figures))])
        ref_w = [[per_worker_us[(REFERENCE, e)][w] for e in measured] for w in range(len(figures))]
        fits[name] = {**own, "sizes": measured}
        if name != REFERENCE:
            d = fit_over_workers(x, [[per_worker_delta[(name, e)][w] for e in measured] for w in range(len(figures))],
                                 [1 / np.abs(r) for r in ref_w])
            fits[name].update(delta_fixed_us=d["fixed_us"], delta_per_kb_us=d["per_kb_us"])
    ranking = {e: sorted((n for n in names if (n, e) in per_worker_us), key=lambda n: cost[n][e]["us"]["estimate"])
               for e in sizes}
    return {"cost": cost, "fits": fits, "ranking": ranking,
            "ranking_changes": ranking_changes(names, sizes, sizes_kb, per_worker_delta, fits,
                                               {e: per_worker_us[(REFERENCE, e)] for e in sizes}),
            "margin_definition": MARGIN_DEFINITION}


def difference_fit(x: list, a_units: list, b_units: list, weights: list) -> dict:
    """The line fitted to a - b against size in each worker (weighted as the Δ fits are: 1/the reference's cost),
    then its intercept and slope over workers with 95% intervals (``fit_over_workers``)."""
    per_worker = [[a_units[i][w] - b_units[i][w] for i in range(len(x))] for w in range(len(weights))]
    return fit_over_workers(x, per_worker, weights)


def ranking_changes(names: list, sizes: list, sizes_kb: dict, per_worker_delta: dict, fits: dict,
                    per_worker_ref: dict | None = None, level: float = stats.LEVEL) -> list:
    """The pairs of idioms whose order changes with size, with the many comparisons under control.

    A pair is *tested* when the line fitted to their difference (a - b against size, per worker, then over
    workers) crosses 0 between two sizes measured for both. Its order is then tested at the nearest size on
    either side of the crossing (the per-worker differences, ``stats.location_p``, the test that goes with
    ``over_units``), and the p-values of every tested pair's two ends are adjusted together (Holm over the
    family). A change is reported only when both ends are resolved after the adjustment, the other way round
    from each other and as the fitted line says: the chance that pure noise reports any change in a run stays
    under 1 - ``level``. ``per_worker_ref``: entry -> the reference's per-worker µs, for the weights (default 1).
    ``fits`` is unused by the rule (kept for the signature the analysis calls it with)."""
    alpha = 1 - level
    tested = []
    for a, b in itertools.combinations(names, 2):
        both = [e for e in sizes if (a, e) in per_worker_delta and (b, e) in per_worker_delta]
        if len(both) < 2:
            continue
        x = [sizes_kb[e] for e in both]
        units = len(per_worker_delta[(a, both[0])])
        weights = [[1 / abs(per_worker_ref[e][w]) if per_worker_ref else 1.0 for e in both] for w in range(units)]
        line = difference_fit(x, [per_worker_delta[(a, e)] for e in both], [per_worker_delta[(b, e)] for e in both],
                              weights)
        c, s = line["fixed_us"]["estimate"], line["per_kb_us"]["estimate"]
        if s == 0:
            continue
        cross = -c / s
        below = [e for e in both if sizes_kb[e] < cross]
        above = [e for e in both if sizes_kb[e] > cross]
        if not below or not above:
            continue  # the lines do not cross between two sizes measured for both
        e1, e2 = below[-1], above[0]
        diffs = {e: [p - q for p, q in zip(per_worker_delta[(a, e)], per_worker_delta[(b, e)])] for e in (e1, e2)}
        tested.append({"a": a, "b": b, "from": e1, "to": e2, "cross": cross, "line": line,
                       "signs": {e: float(np.sign(stats.location(diffs[e], stats.TRIM)[0])) for e in (e1, e2)},
                       "p": [stats.location_p(diffs[e], stats.TRIM) for e in (e1, e2)]})
    adjusted = stats.holm([p for t in tested for p in t["p"]])
    found = []
    for i, t in enumerate(tested):
        p1, p2 = adjusted[2 * i], adjusted[2 * i + 1]
        s1, s2 = t["signs"][t["from"]], t["signs"][t["to"]]
        expected = np.sign(t["line"]["fixed_us"]["estimate"] + t["line"]["per_kb_us"]["estimate"] * sizes_kb[t["from"]])
        if p1 < alpha and p2 < alpha and s1 == -s2 == expected and s1 != 0:
            cheaper, dearer = (t["a"], t["b"]) if s1 < 0 else (t["b"], t["a"])
            sign = 1 if cheaper == t["a"] else -1  # the fitted line given as cheaper minus dearer (at the smaller size)
            found.append({"cheaper": cheaper, "dearer": dearer, "from": t["from"], "to": t["to"],
                          "from_kb": sizes_kb[t["from"]], "to_kb": sizes_kb[t["to"]],
                          "crossover_kb": round(t["cross"], 3),
                          "difference_fixed_us": _signed(t["line"]["fixed_us"], sign),
                          "difference_per_kb_us": _signed(t["line"]["per_kb_us"], sign),
                          "p_holm": [round(p1, 6), round(p2, 6)], "family": 2 * len(tested)})
    return found


def _signed(estimate: dict, sign: int) -> dict:
    """An estimate with its interval, of -x when ``sign`` is -1."""
    lo, hi = estimate["ci95"]
    if sign > 0:
        return dict(estimate)
    return {"estimate": -estimate["estimate"], "ci95": [-hi, -lo]}


# --- the run --------------------------------------------------------------------------------------

def run_workers(cfg: Config, subjects: list, user_path, rng, progress: Progress) -> list:
    """The worker processes, ``cfg.parallel`` at a time after the first, each with its own hash seed."""
    jobs = [{"subjects": [list(s) for s in subjects], "index": index, "seed": int(rng.integers(2**32)),
             "seconds": cfg.seconds, "block_ms": cfg.block_ms, "k": cfg.k, "min_rounds": cfg.min_rounds,
             "pairing": cfg.pairing,
             "reference": REFERENCE, "user_path": str(user_path) if user_path else None}
            for index in range(cfg.workers)]
    return processes.run_workers("bench.payload_worker", jobs, rng, progress, "payload", prepare=young.shared_young,
                                 parallel=cfg.parallel)


def timed_subjects(cells: dict, entries: dict, cfg: Config) -> tuple:
    """(subjects, left out): every (variant, entry) of the mode's sizes and the user entries that the variant
    serves with a 200 (an error has no cost to compare), the reference's always first."""
    wanted = [e for e in entries if e in cfg.sizes or entries[e].source == "user"]
    subjects, left_out = [], []
    for name in cells:
        for e in wanted:
            cell = cells[name][e]
            if cell["status"] == "error" or cell["http_status"] != 200:
                left_out.append({"variant": name, "entry": e, "why": f"{cell['status']}: {cell['detail'][:120]}"})
            elif cells[REFERENCE][e]["status"] == "error":
                left_out.append({"variant": name, "entry": e, "why": f"{REFERENCE} raises on it: no reference to compare"})
            else:
                subjects.append((name, e))
    return subjects, left_out


def checks(cfg: Config, found: dict) -> tuple:
    worst, where = 0.0, None
    for name, by_entry in found["cost"].items():
        for e, c in by_entry.items():
            if c.get("ci_pct_of_cost") is not None and c["ci_pct_of_cost"] > worst:
                worst, where = c["ci_pct_of_cost"], f"{name} on {e}"
    targets = {"mode": cfg.mode,
               "ci95_half_width_pct_of_cost": {"target": cfg.target_ci_pct, "worst": round(worst, 2), "where": where,
                                               "met": worst <= cfg.target_ci_pct},
               "sizes": {"target": 3 if cfg.mode == "quick" else 5, "value": len(cfg.sizes),
                         "met": len(cfg.sizes) >= (3 if cfg.mode == "quick" else 5)},
               "wall_s": {"target": cfg.target_wall_s, "value": None, "met": None}}
    warnings = []
    if not targets["ci95_half_width_pct_of_cost"]["met"]:
        warnings.append(f"the widest Δ interval is ±{worst:.1f}% of the idiom's own request ({where}); target "
                        f"±{cfg.target_ci_pct:g}%: smaller differences are not resolved by this run")
    return targets, warnings


@entry_point
def main() -> int:
    cfg = QUICK if flag("QUICK") else FULL
    user_path = os.environ.get("PAYLOADS", "").strip() or None
    names = [v.name for v in selected_variants()]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    try:
        seed = int(os.environ.get("PAYLOADS_SEED") or time.time_ns() % 2**32)
    except ValueError:
        raise UsageError(f"PAYLOADS_SEED={os.environ['PAYLOADS_SEED']!r}: expected an integer") from None
    entries = payloads.corpus(user_path)  # a bad PAYLOADS file stops here: one line, exit 2, nothing run
    rng = np.random.default_rng(seed)
    started, wall_start, first = time.monotonic(), datetime.now(timezone.utc), CpuSnapshot.now()
    users = [e for e in entries.values() if e.source == "user"]
    print(f"make payloads: {cfg.mode} run, {len(names)} variants x {len(entries)} entries"
          + (f" ({len(users)} from {user_path})" if users else "")
          + f"; cost over {len(cfg.sizes)} sizes{' and the user entries' if users else ''} in {cfg.workers} worker "
            f"processes x {cfg.seconds:g} s; seed {seed}", flush=True)
    cells = semantics.table(names, entries, Progress("payloads: semantics", len(names)))
    subjects, left_out = timed_subjects(cells, entries, cfg)
    subjects += [(AA, e) for n, e in subjects if n == REFERENCE]
    sizes_kb = {e: entries[e].size_bytes / 1000 for e in cfg.sizes}
    workers = run_workers(cfg, subjects, user_path, rng, Progress("payloads: cost", cfg.workers))
    found = analyse(workers, subjects, sizes_kb, cfg)
    targets, warnings = checks(cfg, found)
    counts = young.young_check(workers)
    warnings += young.young_warning(counts)
    wall_s = round(time.monotonic() - started, 1)
    targets["wall_s"].update(value=wall_s, met=wall_s <= cfg.target_wall_s)
    if not targets["wall_s"]["met"]:
        warnings.append(f"the stage took {wall_s:.0f} s, over its target of {cfg.target_wall_s:g} s")
    env = environment(cfg.mode)
    env.update({"cpu": CpuSnapshot.now().since(first),
                "workers": [{"index": w["index"], "hash_seed": w["hash_seed"], "rounds": w["rounds"],
                             "process_cpu_s": w["process_cpu_s"]} for w in workers]})
    result = {
        "schema": SCHEMA, "mode": cfg.mode, "seed": seed, "started": wall_start.isoformat(timespec="seconds"),
        "wall_s": wall_s, "environment": env, "reference": REFERENCE, "user_path": user_path,
        "what": "semantics: one GET /api/payload/<entry> per variant and entry through the test client, the "
                "variant's own app with one route added; cost: the whole request (the WSGI callable, a prepared "
                "environ, the body read, the iterable closed), interleaved in shuffled rounds"
                + (", each subject once a round" if cfg.pairing == "shuffled" else ", the fastest of k blocks")
                + ", garbage collections added as their mean per request (make request's method); per worker "
                "process the median over rounds of the ratio of each block to the jsonify_tuple block on the same "
                + ("entry in the same round" if cfg.pairing == "shuffled" else "entry beside it"),
        "rules": {k: text for k, (text, _) in RULES.items()}, "needs": NEEDS,
        "classes": {k: list(v) for k, v in PAYLOAD_CLASSES.items()},
        "corpus": {e.name: {"size_bytes": e.size_bytes, "source": e.source, "kind": e.kind, "rule": e.rule,
                            "need": e.need, "what": e.what} for e in entries.values()},
        "cells": {name: {e: {k: c[k] for k in ("status", "detail", "http_status", "content_type", "content_length",
                                                "body_bytes", "same_bytes", "parses_as_reference", "strict_json",
                                                "client_got_500", "exception", "body_sha256")}
                         for e, c in by_entry.items()} for name, by_entry in cells.items()},
        "cost": found["cost"], "fits": found["fits"], "ranking": found["ranking"],
        "ranking_changes": found["ranking_changes"], "margin_definition": found["margin_definition"],
        "not_timed": left_out,
        "config": {**asdict(cfg), "variants": names, "sizes_kb": sizes_kb, "warm_body_bytes": WARM_BODY_BYTES,
                   "warm_ms": WARM_MS},
        "targets": targets, "warnings": warnings, "young_counts": counts,
        "raw": {"workers": [{k: w[k] for k in ("index", "keys", "calls_per_block", "repeats", "rounds", "per_call_ns",
                                                "paired_reference_ns", "young_count_per_call", "young_rechecked",
                                                "gc_ns_total", "collections", "requests",
                                                "page_faults", "warm_before", "t_s") if k in w}
                            for w in workers]},
    }
    record_stage("payloads", "payloads.json", result, headline(result), out=OUT)
    when = carry_http()
    if when:
        print(f"  copied the HTTP Δ of the last make payloads-http (started {when}) into payloads.json", flush=True)
    print_summary(result)
    return 0


def carry_http(out=None):
    """Copy the last ``make payloads-http`` run's Δ (``load_payloads.json`` beside payloads.json) into the payloads.json
    just written (``merge_http``); its start time, or None when there is no such run."""
    from pathlib import Path

    earlier = read_optional(Path(out or OUT) / "load_payloads.json", warn=False)
    if not isinstance(earlier, dict) or not merge_http(earlier, out=out):
        return None
    return earlier.get("date") or "at an unknown time"


HTTP_KEYS = ("estimate", "ci95", "verdict")  # what a cost cell's ``http`` carries (µs)


def merge_http(http: dict, out=None) -> bool:
    """Copy the HTTP payload run's Δ (``loadtests.run``'s payload mode: ``load_payloads.json``'s content) into
    payloads.json: ``cost.<variant>.<entry>.http`` = {"estimate", "ci95", "verdict"} (µs, against jsonify_tuple
    on the same entry, 95% CI over server processes) and the ``http`` block (how, when, the A/A pair, the
    margins). An earlier HTTP run's cells go first; a run that did not finish writes only the block, with its
    status and error, so the in-process figures stay as they are. False (nothing written) without payloads.json."""
    from pathlib import Path

    path = Path(out or OUT) / "payloads.json"
    found = read_optional(path, warn=False)
    if not isinstance(found, dict) or not isinstance(found.get("cost"), dict):
        return False
    for cells in found["cost"].values():
        for cell in cells.values():
            cell.pop("http", None)
    ok = http.get("status") == "ok" and bool(http.get("delta"))
    if ok:
        for variant, per_entry in http["delta"].items():
            for entry, d in per_entry.items():
                found["cost"].setdefault(variant, {}).setdefault(entry, {})["http"] = {k: d[k] for k in HTTP_KEYS}
    cfg = http.get("config") or {}
    found["http"] = {
        "status": http.get("status") if ok or http.get("status") != "ok" else "failed",
        "error": http.get("error") or (None if ok else "no Δ was measured"),
        "file": "load_payloads.json", "schema": http.get("schema"), "started": http.get("date"),
        "mode": http.get("mode"), "wall_s": http.get("wall_s"), "entries": http.get("entries"),
        "reference": http.get("reference"), "what": http.get("what"),
        "method": (f"{http.get('server')} (one sync worker, pinned to a core) serving every idiom's payload app, "
                   f"locust FastHttpUser ({cfg.get('users')} users, the other core) interleaving the idioms request by "
                   f"request, the entries taking turns by the clock ("
                   + ", ".join(f"{e} {x:g} s" for e, x in (http.get("phase_s") or {}).items())
                   + "), each body read to the end and "
                   f"checked against the test client's; {(cfg.get('servers') or {}).get('closed')} fresh server "
                   f"processes x {(cfg.get('seconds') or {}).get('closed')} s, as fast as it goes; the app's CPU time "
                   f"(Server-Timing), Δ per time window of the medians, the mean over each process's windows, "
                   f"Student's t over the processes"),
        "config": {k: cfg.get(k) for k in ("seconds", "servers", "warmup_s", "users", "workers", "server",
                                            "target_ci_pct")},
        "request_us": http.get("request_us"), "margin_us": http.get("margin_us"),
        "aa": {e: {k: x[k] for k in HTTP_KEYS} for e, x in (http.get("aa") or {}).items()} if ok else None,
        "targets": http.get("targets"), "warnings": http.get("warnings") or []}
    write_json(path, found)
    return True


def headline(found: dict) -> dict:
    """summary.json's share: per variant the type entries it serves and its Δ at 10 KB, where measured."""
    variants = {}
    for name, by_entry in found["cells"].items():
        types = [e for e, meta in found["corpus"].items() if meta["kind"] == "type"]
        h = {"types_served": sum(by_entry[e]["status"] != "error" for e in types), "types": len(types)}
        d = ((found["cost"].get(name) or {}).get("size_10kb") or {}).get("delta_us")
        if d:
            h["delta_us_10kb"] = {k: d[k] for k in ("estimate", "ci95", "verdict")}
        variants[name] = {"payloads": h}
    return {"variants": variants}


def print_summary(found: dict) -> None:
    print(f"payloads: {found['mode']} run in {found['wall_s']:.0f} s")
    for e, order in found["ranking"].items():
        cost = found["cost"]
        print(f"  {e}: jsonify_tuple {cost[REFERENCE][e]['us']['estimate']:.1f} µs; cheapest "
              + ", ".join(f"{n} {cost[n][e]['us']['estimate']:.1f}" for n in order[:3]))
    for name, fit in found["fits"].items():
        a, b = fit["fixed_us"], fit["per_kb_us"]
        print(f"  {name}: {a['estimate']:.1f} µs [{a['ci95'][0]:.1f}, {a['ci95'][1]:.1f}] + "
              f"{b['estimate']:.2f} µs/KB [{b['ci95'][0]:.2f}, {b['ci95'][1]:.2f}]")
    for warning in found["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"  wrote {OUT / 'payloads.json'}")


if __name__ == "__main__":
    sys.exit(main())
