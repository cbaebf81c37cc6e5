"""``make request``: what each idiom costs a whole request, per status class, against ``jsonify_tuple``.

The quantity a team decides on is the request, not the construction of its response: an idiom that
raises pays most of its price after the view returns (``handle_user_exception``, ``force_type``, a
second WSGI round trip). So this stage times every variant's WSGI callable end to end, in process,
per status class of ``variants.contract.SCENARIOS`` and of its error paths (``ERROR_SCENARIOS``: a malformed
JSON body's 400, an unknown path's 404, a wrong method's 405, an exception's 500, whose log output the
workers discard; ``bench.request_worker.CLASSES``), interleaved with the reference in shuffled
rounds (the error classes in every third), garbage collection on as in production (``bench/request_worker.py``), in worker processes
(the first alone, then two at a time, each pinned to a core of its own: ``Config.parallel``), each with its own hash seed
and app creation order: the process is the unit that repeats and the intervals are over processes
(``bench/request_analysis.py``).

Each run carries its own checks: an A/A pair (a second ``jsonify_tuple`` app) whose interval is the
stage's resolution, a planted busy-wait of ``PLANTED_NS`` and a planted cost that allocates cyclic
garbage, both to be recovered within the mode's target.

Options, from the environment: ``QUICK=1``, ``REQUEST_WORKERS=N`` and ``REQUEST_SECONDS=S`` (worker processes and
timed seconds per worker, in place of the mode's), ``REQUEST_PARALLEL=N`` (workers at a time; 1: one after another), ``VARIANTS=a,b`` (``jsonify_tuple`` is always timed: it is
the reference), ``REQUEST_GC=off`` (collector disabled in the timed rounds: a labelled variant of the
method, not the default), ``REQUEST_SEED``. Writes ``request.json``, the headline in ``summary.json``
and a record in ``request_history.json`` (run-to-run spread of the headline differences).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

import numpy as np

from bench import request_analysis as analysis, young
from bench.request_worker import (AA, BASE_WAIT_NS, CALIBRATION_CLASS, CALLS_PER_BLOCK, CLASS_BLOCKS, CLASSES,
                                  PLANTED, PLANTED_ALLOC, PLANTED_REFERENCE, REFERENCE)
from harness import processes
from harness.cli import UsageError, entry_point, flag, number, selected_variants
from harness.environment import CpuSnapshot, environment, other_work_warnings
from harness.progress import Progress
from harness.results import OUT, append_history, record_stage

SCHEMA = "flask-json-idioms/request/1"
PLANTED_NS = 1000  # sized like the differences claimed: one microsecond of CPU-bound work


@dataclass(frozen=True)
class Config:
    mode: str
    workers: int  # processes
    parallel: int  # processes at a time after the first, each pinned to a CPU of its own (harness.processes.run_workers)
    seconds: float  # timed rounds per worker
    k: int  # blocks per subject and round, back to back; the fastest counts
    min_rounds: int
    error_every: int  # the error classes join every n-th round (the headline classes every round)
    # targets this stage checks and reports (never asserted by make test)
    target_ci_us: tuple  # CI half-width of a difference: (success, created, admin), the 4xx and 5xx classes
    target_planted_pct: float
    target_wall_s: float
    calls_per_block: int | None = None  # one number for every class (tests); None: request_worker.CALLS_PER_BLOCK


# Many short workers: a worker's own estimate narrows with its timed seconds, but each process also moves every
# app's cost for its whole life (hash seed, memory layout: two instances of one app differ by ~0.7 µs SD over
# workers), which only more workers average out. Measured here (a 90 µs request; worker set-up ~1.6 s): 14 x 6.5 s
# gave half-widths (median over idioms) of 0.63-0.80 µs on success and 0.97-1.72 on created, 32 x 2.5 s 0.39-0.42 and
# 0.76-0.83 in runs interleaved with them, and with one block length per class (``same_per_class``) 30 x 2.5 s gave
# 0.28-0.34 and 0.55-0.56. Over 10 full runs of 30 x 2.5 s the widest created interval was 0.58-0.93 µs and
# abort_response's 401 0.96-1.97 (targets 0.5 and 1): 40 workers (the time make payloads-http left when it became a
# target of its own) should narrow every interval by sqrt(30/40), ~13%; they gave 0.56-0.57 on created and 1.23-1.83
# on abort_response's 401 in two runs (164 s). A worker took 4.1 s, 1.1 s of them counting the young generation, which
# only the first one does now (``bench.young``): the later ones take 0.6 s + their timed seconds, so the same stage
# holds 56 workers x 2.3 s (129 s timed, was 100).
# Two at a time, each on a core of its own, twice the workers in the same wall time (2026-11-28, two alternating pairs
# of full stages, 170 s each): 110 workers two at a time gave widest half-widths of success ±0.20, 0.21, created
# ±0.38, 0.41, the 401 ±0.54, 0.62 (abort_response), admin ±0.31, 0.33 µs, against ±0.30, 0.36, ±0.69, 0.78,
# ±0.70, 0.98 and ±0.46, 0.48 from 56 one after another; planted 1 µs 986 [824, 1,148] and 1,078 [869, 1,288] ns
# against 886 [612, 1,160] and 1,190 [927, 1,453]. What the other core's worker moves: over 70 idiom-and-class cells
# the mean shift was -0.27 of a combined SE (SD 1.21); the raise paths came out lower, abort_response's 401 by 2.4 µs
# (66.0, 68.2 against 69.0, 70.0 µs; -3.4%) and abort_errorhandler's by 0.8 (-2.8%): within their run-to-run range
# (+55.5..+65.0 µs over 26 full runs), and a server's workers share the machine so too.
FULL = Config("full", workers=110, parallel=2, seconds=2.3, k=1, min_rounds=20, error_every=3,
              target_ci_us=(0.5, 1.0), target_planted_pct=20, target_wall_s=200)
QUICK = Config("quick", workers=13, parallel=2, seconds=1.5, k=1, min_rounds=10, error_every=3,
               target_ci_us=(1.5, 3.0), target_planted_pct=30, target_wall_s=35)


def run_workers(cfg: Config, names: list, gc_mode: str, rng, progress: Progress) -> list:
    """The worker processes, ``cfg.parallel`` at a time after the first, each with its own hash seed."""
    jobs = [{"names": names, "index": index, "seed": int(rng.integers(2**32)), "gc": gc_mode, "seconds": cfg.seconds,
             "calls_per_block": cfg.calls_per_block, "k": cfg.k, "min_rounds": cfg.min_rounds, "error_every": cfg.error_every,
             "planted_ns": PLANTED_NS}
            for index in range(cfg.workers)]
    return processes.run_workers("bench.request_worker", jobs, rng, progress, "whole-request", prepare=young.shared_young,
                                 parallel=cfg.parallel)


def half_width(x: dict) -> float:
    return (x["ci95"][1] - x["ci95"][0]) / 2


def timed_seconds_needed(timed_s: float, half_width: float, target: float) -> float:
    """The timed seconds a run would need for a CI half-width of ``target`` where ``timed_s`` gave
    ``half_width``: an interval over workers narrows with the square root of their number, and each worker's
    own estimate with the square root of its rounds, so with the square root of the timed time."""
    return round(timed_s * (half_width / target) ** 2, 0) if target > 0 else float("inf")


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def checks(cfg: Config, results: dict, cpu: dict, own_cpu_s: float = 0.0) -> tuple[dict, list]:
    """The targets one run can check, on the figures it reports, and what it could not resolve."""
    widest = {}
    for name, by_class in results["variants"].items():
        for cls, cell in by_class.items():
            if cell["delta_us"]["verdict"] != "reference":
                widest[cls] = max(widest.get(cls, 0.0), half_width(cell["delta_us"]))
    target = {cls: cfg.target_ci_us[1] if CLASSES[cls].reply.status >= 400 else cfg.target_ci_us[0] for cls in CLASSES}
    cal = results["calibration"]
    aa_covers = {cls: a["ci95"][0] <= 0 <= a["ci95"][1] for cls, a in cal["aa"]["by_class"].items()}
    timed_s = cfg.workers * cfg.seconds
    targets = {
        "mode": cfg.mode,
        "ci95_half_width_us": {cls: {"target": target[cls], "worst": round(widest.get(cls, 0.0), 3),
                                     "met": widest.get(cls, 0.0) <= target[cls],
                                     "timed_s_needed": timed_seconds_needed(timed_s, widest.get(cls, 0.0), target[cls])}
                               for cls in widest},
        "planted_within_pct": {"target": cfg.target_planted_pct, "error_pct": cal["error_pct"],
                               "met": abs(cal["error_pct"]) <= cfg.target_planted_pct},
        "aa_interval_covers_0": {"by_class": aa_covers, "met": all(aa_covers.values())},
        "wall_s": {"target": cfg.target_wall_s, "value": None, "met": None},
    }
    warnings = []
    for cls, t in targets["ci95_half_width_us"].items():
        if not t["met"]:
            warnings.append(f"{cls}: differences under ±{t['worst']:.2f} µs are not resolved by this run "
                            f"(target ±{t['target']:g} µs: ~{duration(t['timed_s_needed'])} of timed rounds would "
                            f"reach it here, against {duration(timed_s)} in this run)")
    if not targets["planted_within_pct"]["met"]:
        warnings.append(f"planted {cal['planted_ns']} ns measured as {cal['measured_ns']:.0f} ns "
                        f"({cal['error_pct']:+.1f}%, target ±{cfg.target_planted_pct:g}%)")
    if not targets["aa_interval_covers_0"]["met"]:
        off = [cls for cls, ok in aa_covers.items() if not ok]
        warnings.append(f"A/A: two instances of jsonify_tuple differ on {', '.join(off)}: the interval is too narrow "
                        f"or the instances differ (a memory-layout effect); read small differences with care")
    warnings += other_work_warnings(cpu, own_cpu_s)
    return targets, warnings


@entry_point
def main() -> int:
    cfg = QUICK if flag("QUICK") else FULL
    cfg = replace(cfg, workers=number("REQUEST_WORKERS", int, 2, 250) or cfg.workers,
                  seconds=number("REQUEST_SECONDS", float, 0.5, 600) or cfg.seconds,
                  parallel=number("REQUEST_PARALLEL", int, 1, 64) or cfg.parallel)
    names = [v.name for v in selected_variants()]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    gc_mode = os.environ.get("REQUEST_GC", "on").strip().lower() or "on"
    if gc_mode not in ("on", "off"):
        raise UsageError(f"REQUEST_GC={gc_mode!r}: expected on or off")
    try:
        seed = int(os.environ.get("REQUEST_SEED") or time.time_ns() % 2**32)
    except ValueError:
        raise UsageError(f"REQUEST_SEED={os.environ['REQUEST_SEED']!r}: expected an integer") from None
    rng = np.random.default_rng(seed)
    classes = list(CLASSES)
    started, wall_start, first = time.monotonic(), datetime.now(timezone.utc), CpuSnapshot.now()
    print(f"make request: {cfg.mode} run, the whole request of {len(names)} variants x {len(classes)} status classes "
          f"against {REFERENCE}, with an A/A pair and planted costs; GC {gc_mode}; {cfg.workers} worker processes "
          f"x {cfg.seconds:g} s, {cfg.parallel} at a time after the first; seed {seed}", flush=True)
    workers = run_workers(cfg, names, gc_mode, rng, Progress("request: workers", cfg.workers))
    cpu = CpuSnapshot.now().since(first)
    results = analysis.analyse(workers, names, classes, REFERENCE, AA, {
        "class": CALIBRATION_CLASS, "planted": PLANTED, "planted_reference": PLANTED_REFERENCE,
        "planted_alloc": PLANTED_ALLOC, "planted_ns": PLANTED_NS, "base_wait_ns": BASE_WAIT_NS,
        "within_pct": cfg.target_planted_pct})
    targets, warnings = checks(cfg, results, cpu, sum(w.get("process_cpu_s") or 0.0 for w in workers))
    counts = young.young_check(workers)
    warnings += young.young_warning(counts)
    wall_s = round(time.monotonic() - started, 1)
    targets["wall_s"].update(value=wall_s, met=wall_s <= cfg.target_wall_s)
    env = environment(cfg.mode)
    env.update({"cpu": cpu, "workers": [{"index": w["index"], "hash_seed": w["hash_seed"], "rounds": w["rounds"],
                                         "process_cpu_s": w["process_cpu_s"]} for w in workers]})
    found = {
        "schema": SCHEMA, "mode": cfg.mode, "seed": seed, "started": wall_start.isoformat(timespec="seconds"),
        "wall_s": wall_s, "environment": env, "reference": REFERENCE, "classes": classes, "gc": gc_mode,
        "what": "the whole request in process: each app's WSGI callable (a prepared environ, the body read, the "
                "iterable closed), interleaved in shuffled rounds; worker processes "
                + (f"{cfg.parallel} at a time after the first, each pinned to a core of its own" if cfg.parallel > 1
                   else "one after another") + "; per worker process the median over rounds of the "
                "ratio to jsonify_tuple in the same round, garbage collections added as their mean per request, "
                "over the worker's speed level (at the run's typical speed)",
        "config": {**asdict(cfg), "calls_per_block": cfg.calls_per_block or CALLS_PER_BLOCK,
                   "class_blocks": CLASS_BLOCKS, "planted_ns": PLANTED_NS,
                   "variants": names},
        "results": results, "targets": targets, "warnings": warnings, "young_counts": counts,
        "raw": {"workers": [{k: w[k] for k in ("index", "keys", "calls_per_block", "rounds", "per_call_ns",
                                                "young_count_per_call", "young_count_passes", "gc_ns_total",
                                                "young_rechecked", "collections", "requests", "alloc_expected_ns",
                                                "t_s") if k in w}
                            for w in workers]},
    }
    record_stage("request", "request.json", found, headline(found), out=OUT)
    append_history(OUT / "request_history.json", history_record(found))
    print_summary(found)
    return 0


def headline(found: dict) -> dict:
    """summary.json's share: per variant and class the difference and the request's time; the calibration."""
    res = found["results"]
    variants = {name: {"request": {cls: {"delta_us": {k: cell["delta_us"][k] for k in ("estimate", "ci95", "verdict")},
                                         "us": cell["us"]} for cls, cell in by_class.items()}}
                for name, by_class in res["variants"].items()}
    cal = res["calibration"]
    return {"variants": variants,
            "calibration": {"request": {"planted_ns": cal["planted_ns"], "measured_ns": cal["measured_ns"],
                                        "ci95": cal["ci95"], "error_pct": cal["error_pct"],
                                        "aa": {"delta_us": cal["aa"]["delta_us"], "ci95": cal["aa"]["ci95"]}}}}


def history_record(found: dict) -> dict:
    """A compact record of the run: the headline differences, so runs can be compared."""
    env = found["environment"]
    cfg = found["config"]
    return {"started": found["started"], "mode": found["mode"], "gc": found["gc"], "git_commit": env.get("git_commit"),
            # how the rounds were timed: runs of another method are not the next run (full_runs in the report keeps
            # the newest's); "blocks-per-class" since the block length stopped varying within a class (same_per_class);
            # kept when it stopped varying between workers too (CALLS_PER_BLOCK: the lengths most workers had chosen)
            "method": f"k{cfg['k']}-errors-every-{cfg.get('error_every', 1)}-blocks-per-class",
            # not part of the method: what a round measures is the same, and two at a time moved the differences by
            # -0.27 combined SEs on average (the raise paths ~3% lower, inside their run-to-run range; FULL's note)
            "workers_at_once": cfg.get("parallel", 1),
            "cpu_model": env.get("cpu_model"), "python": env.get("python"),
            "delta_us": {name: {cls: cell["delta_us"]["estimate"] for cls, cell in by_class.items()}
                         for name, by_class in found["results"]["variants"].items()},
            "reference_us": {cls: r["estimate"] for cls, r in found["results"]["reference_us"].items()},
            "aa_ci95": {cls: a["ci95"] for cls, a in found["results"]["calibration"]["aa"]["by_class"].items()},
            # the planted cost as this run measured it: over runs, the instrument's own record (``spread.planted_record``)
            "planted": {k: found["results"]["calibration"][k]
                        for k in ("planted_ns", "base_wait_ns", "measured_ns", "ci95", "within_pct")}}


def said(delta: dict) -> str:
    lo, hi = delta["ci95"]
    return f"{delta['estimate']:+.2f} µs [{lo:+.2f}, {hi:+.2f}]"


def print_summary(found: dict) -> None:
    """A few lines: time, calibration, resolution, and each idiom that is not equivalent."""
    res, cal = found["results"], found["results"]["calibration"]
    print(f"request: {found['mode']} run in {found['wall_s']:.0f} s; jsonify_tuple's request: "
          + ", ".join(f"{cls} {r['estimate']:.1f} µs" for cls, r in res["reference_us"].items()))
    print(f"  calibration: planted {cal['planted_ns']} ns measured {cal['measured_ns']:.0f} ns "
          f"[{cal['ci95'][0]:.0f}, {cal['ci95'][1]:.0f}] ({cal['error_pct']:+.1f}%, target ±{cal['within_pct']:g}%); "
          f"allocating {cal['alloc']['expected_ns']:.0f} ns expected, {cal['alloc']['measured_ns']:.0f} ns measured")
    print("  resolution (A/A interval) / margin: " + ", ".join(
        f"{cls} ±{res['resolution_us'][cls]:.2f} / ±{res['margin_us'][cls]:.2f} µs" for cls in found["classes"]))
    for name, by_class in res["variants"].items():
        told = [f"{cls} {cell['delta_us']['verdict']} {said(cell['delta_us'])}" for cls, cell in by_class.items()
                if cell["delta_us"]["verdict"] in ("cheaper", "dearer")]
        if told:
            print(f"  {name}: " + "; ".join(told))
    equivalent = [name for name, by_class in res["variants"].items()
                  if all(c["delta_us"]["verdict"] == "equivalent" for c in by_class.values())]
    if equivalent:
        print(f"  equivalent to jsonify_tuple on every class (within the margin): {', '.join(equivalent)}")
    for warning in found["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"  wrote {OUT / 'request.json'} and the headline in {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
