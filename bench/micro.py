"""``make micro``: rank the idioms' construction cost on a machine whose speed drifts, by interleaved ratios.

Here a sequence of pytest-benchmark medians moves 2-3x between runs as the CPU drifts, while the ratio
of two subjects timed a few milliseconds apart barely moves. So every subject (``bench/subjects.py``)
runs one calibrated block per round, in a new shuffled order each round, and its sample is its time
over the floor's in the same round (``bench/timing.py``). Worker processes run two at a time after the
first, each pinned to a core of its own (``Config.parallel``; README, "Microbenchmarks", says what that moved),
each with its own hash seed and a random app creation order, because a process's memory layout
shifts some costs for its whole life: the process is the unit that repeats, and the intervals are
over processes (``bench/analysis.py``, ``harness.stats``). A planted 2000 ns busy-wait must be
recovered, and three workers also time the subjects pytest-benchmark's way, so the two methods sit
side by side.

Options, from the environment: ``QUICK=1`` (a fast pass), ``VARIANTS=a,b`` (some idioms; the baselines
and the planted pair are always timed), ``MICRO_SEED`` (seeds the shuffles and the workers' hash seeds
and app orders). Writes ``micro.json`` (schema: ``harness.schemas.micro.MicroResult``), headline figures in
``summary.json``, and a record in ``micro_history.json`` (``harness.schemas.micro.MicroHistory``).
``python -m bench.stability`` runs it several times back to back and compares the runs.
"""
from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone

import numpy as np

from bench import analysis
from bench.config import FULL, QUICK, Config
from bench.subjects import BASELINES, FLOOR, KINDS, PLANTED_NS, SCENARIOS, create_apps
from bench.timing import block_sizes
from harness import processes
from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, environment, other_work_warnings
from harness.progress import Progress
from harness.results import OUT, append_history, record_stage

SCHEMA = "flask-json-idioms/micro/1"


def run_workers(cfg: Config, names: list, blocks: dict, rng, progress: Progress) -> list:
    """The worker processes, ``cfg.parallel`` at a time after the first, each with its own hash seed."""
    jobs = [{"config": asdict(cfg), "names": names, "blocks": blocks, "index": index, "workers": cfg.workers,
             "seed": int(rng.integers(2**32)),
             # the familiar method in the first, middle and last process: early, midway, late in the run
             "sequential": index in (0, cfg.workers // 2, cfg.workers - 1)} for index in range(cfg.workers)]
    results = processes.run_workers("bench.timing", jobs, rng, progress, "microbenchmark", parallel=cfg.parallel)
    for result in results:
        result["times"] = {kind: np.asarray(result["times"][kind]) for kind in KINDS}
    return results


def checks(cfg: Config, cpu: dict, construct: dict, calibration: dict, names: list,
           own_cpu_s: float = 0.0) -> tuple[dict, list]:
    """The targets one run can check, and warnings about a noisy run."""
    ci = {n: construct["names"][n]["ratio_to_floor"]["ci_half_width_pct"] or 0.0 for n in names}
    worst_ci = max(ci.values())
    planted_ok = abs(calibration["error_pct"]) <= cfg.target_planted_pct
    targets = {"mode": cfg.mode,
               "wall_s": {"target": cfg.target_wall_s, "measured_in_process": None},
               "ci95_half_width_pct": {"target": cfg.target_ci_pct, "worst": worst_ci, "met": worst_ci <= cfg.target_ci_pct},
               "planted_within_pct": {"target": cfg.target_planted_pct, "error_pct": calibration["error_pct"], "met": planted_ok},
               "runs_max_over_min": {"target": cfg.target_runs_spread,
                                     "how": "across back-to-back runs: python -m bench.stability (micro_stability.json)"}}
    warnings = other_work_warnings(cpu, own_cpu_s)
    if worst_ci > cfg.target_ci_pct:
        wide = [n for n in names if ci[n] > cfg.target_ci_pct]
        warnings.append(f"CI95 half-width above {cfg.target_ci_pct}% for {', '.join(wide)} (worst {worst_ci:.2f}%)")
    if not planted_ok:
        warnings.append(f"planted {PLANTED_NS} ns measured as {calibration['measured_ns']:.0f} ns "
                        f"({calibration['error_pct']:+.1f}%, target ±{cfg.target_planted_pct}%)")
    return targets, warnings


@entry_point
def main() -> int:
    cfg = QUICK if flag("QUICK") else FULL
    names = [v.name for v in selected_variants()]
    try:
        seed = int(os.environ.get("MICRO_SEED") or time.time_ns() % 2**32)
    except ValueError:
        raise UsageError(f"MICRO_SEED={os.environ['MICRO_SEED']!r}: expected an integer") from None
    rng = np.random.default_rng(seed)
    started, wall_start = time.monotonic(), datetime.now(timezone.utc)
    first = CpuSnapshot.now()
    print(f"make micro: {cfg.mode} run, {len(names)} variants x {len(SCENARIOS)} scenarios x {len(KINDS)} kinds, "
          f"+ {len(BASELINES)} baselines and the planted {PLANTED_NS} ns; {cfg.workers} worker processes; seed {seed}",
          flush=True)

    # block sizes, in this process (every subject's result is checked once on the way)
    phases = {}
    create_apps(names, random.Random(seed))
    items, blocks = block_sizes(names, cfg)
    phases["calibrate"] = CpuSnapshot.now().since(first)

    before = CpuSnapshot.now()
    workers = run_workers(cfg, names, blocks, rng, Progress("micro: workers", cfg.workers))
    phases["workers"] = CpuSnapshot.now().since(before)
    cpu = CpuSnapshot.now().since(first)
    measured_s = time.monotonic() - started

    per_worker = {kind: [w["times"][kind] for w in workers] for kind in KINDS}
    found = {kind: analysis.analyse(kind, workers[0]["keys"][kind], per_worker[kind], names) for kind in KINDS}
    construct, dispatch = found["construct"], found["dispatch"]
    calibration = analysis.calibration(construct, cfg.target_planted_pct)
    variant_results, baseline_results = analysis.by_name(construct, dispatch, names)
    sequential = [(f"worker {w['index'] + 1}", w["sequential"]) for w in workers if w["sequential"]]
    targets, warnings = checks(cfg, cpu, construct, calibration, names, sum(w.get("process_cpu_s") or 0.0 for w in workers))

    env = environment(cfg.mode)
    env.update({"cpu": cpu, "phases": phases,
                "workers": [{"index": w["index"], "hash_seed": w["hash_seed"], "phases": w["phases"],
                             "process_cpu_s": w["process_cpu_s"]} for w in workers]})
    wall_s = round(time.monotonic() - started, 1)
    targets["wall_s"]["measured_in_process"] = wall_s
    micro = {
        "schema": SCHEMA, "mode": cfg.mode, "seed": seed, "started": wall_start.isoformat(timespec="seconds"),
        "wall_s": wall_s, "measured_s": round(measured_s, 1), "environment": env,
        "config": {**asdict(cfg), "floor": FLOOR, "planted_ns": PLANTED_NS, "variants": names,
                   "rounds": {kind: [int(t.shape[0]) for t in per_worker[kind]] for kind in KINDS}},
        "ratio_definition": analysis.RATIO_DEFINITION,
        "subjects": {kind: [{"key": s.key, "name": s.name, "kind": s.kind, "scenario": s.scenario, "role": s.role,
                             "calls_per_block": n, "divergence": s.meta.get("divergence")} for s, n in items[kind]]
                     for kind in KINDS},
        "rounds": {kind: {"t_s": [np.round(w["t_s"][kind], 3).tolist() for w in workers],
                          "per_call_ns": {key: [np.round(x, 1).tolist() for x in found[kind]["column"][key]]
                                          for key in workers[0]["keys"][kind]}} for kind in KINDS},
        "results": {
            "construct": construct["subjects"], "dispatch": dispatch["subjects"],
            "variants": variant_results, "baselines": baseline_results, "calibration": calibration,
            "pairwise": {kind: found[kind]["pairwise"] for kind in KINDS},
            "methods": analysis.methods(sequential, construct, names), "drift": analysis.drift(construct),
        },
        "targets": targets, "warnings": warnings,
    }
    record(micro)
    print_summary(micro)
    return 0


def headline(micro: dict) -> dict:
    """What summary.json carries of this stage: each variant's ratio to the floor and rank, the planted cost."""
    res = micro["results"]
    return {"variants": {name: {"micro": {"ratio_to_floor": v["ratio_to_floor"], "rank": v["rank"]}}
                         for name, v in res["variants"].items()},
            "calibration": {"micro": {k: res["calibration"][k] for k in ("planted_ns", "measured_ns", "ci95", "error_pct", "aa")}}}


def history_record(micro: dict) -> dict:
    """A compact record of the run, so the two methods can be compared across runs."""
    res = micro["results"]
    named = {**res["variants"], **res["baselines"]}
    return {"started": micro["started"], "mode": micro["mode"], "seed": micro["seed"], "wall_s": micro["wall_s"],
            "git_commit": micro["environment"]["git_commit"], "cpu": micro["environment"]["cpu"],
            "interleaved_ratio": {n: v["ratio_to_floor"]["estimate"] for n, v in named.items()},
            "interleaved_ci_half_width_pct": res["methods"]["interleaved"]["ci_half_width_pct"],
            "sequential": [{"phase": p["phase"], "ratio_to_floor": p["ratio_to_floor"],
                            "floor_ns": p["ns"][f"construct/success/{FLOOR}"]} for p in res["methods"]["sequential"]["passes"]],
            "construct_ns": {n: v["construct_ns"]["median"] for n, v in res["variants"].items()},
            "planted_ns": res["calibration"]["measured_ns"]}


def record(micro: dict) -> None:
    record_stage("micro", "micro.json", micro, headline(micro), out=OUT)
    append_history(OUT / "micro_history.json", history_record(micro))


def print_summary(micro: dict) -> None:
    """Five lines: the time taken, the planted cost recovered, the widest interval, the cheapest and
    dearest idiom; warnings on stderr."""
    res, targets = micro["results"], micro["targets"]
    rounds = micro["config"]["rounds"]["construct"]
    print(f"micro: {micro['mode']} run in {micro['wall_s']:.0f} s ({len(rounds)} worker processes, "
          f"{sum(rounds)} construct rounds)")
    cal = res["calibration"]
    print(f"  calibration: planted {cal['planted_ns']} ns, measured {cal['measured_ns']:.0f} ns "
          f"[{cal['ci95'][0]:.0f}, {cal['ci95'][1]:.0f}] ({cal['error_pct']:+.1f}%, target ±{cal['within_pct']:g}%)"
          + (f"; A/A {cal['aa']['pct']:+.2f}% [{cal['aa']['ci95_pct'][0]:+.2f}, {cal['aa']['ci95_pct'][1]:+.2f}]"
             if cal.get("aa") else ""))
    ci = res["methods"]["interleaved"]["ci_half_width_pct"]
    widest = max((n for n in res["variants"]), key=lambda n: ci[n] or 0.0)
    print(f"  widest CI95: ±{ci[widest] or 0:.2f}% ({widest}; target ±{targets['ci95_half_width_pct']['target']:g}%)")
    ranked = sorted(res["variants"].items(), key=lambda kv: kv[1]["rank"])

    def said(name: str, v: dict) -> str:
        lo, hi = v["ratio_to_floor"]["ci95"]
        return (f"{name}, {v['ratio_to_floor']['estimate']:.3f}x the floor [{lo:.3f}, {hi:.3f}], "
                f"{v['construct_ns']['median'] / 1e3:.2f} us")

    print(f"  cheapest: {said(*ranked[0])}" + (f"; dearest: {said(*ranked[-1])}" if len(ranked) > 1 else ""))
    for warning in micro["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"  wrote {OUT / 'micro.json'}, {OUT / 'micro_history.json'} and the headline in {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
