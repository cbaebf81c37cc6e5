"""``python -m bench.stability``: run ``bench.micro`` several times back to back and check the targets
that only a comparison of runs can (ratios max/min across runs), with the single-run ones at their worst.

Each run is a child process with its own output folder (``reports/out/stability/run-<i>/``), so the
main ``micro.json`` is left alone; its wall time is measured from outside, start-up included.
Writes ``reports/out/micro_stability.json`` (schema: ``harness.schemas.micro.MicroStability``).

Same options as ``make micro`` (``QUICK``, ``VARIANTS``) plus ``RUNS`` (default 3). Hold the shared
lock while it runs: ``flock /tmp/flask-idioms-heavy.lock .venv/bin/python -m bench.stability``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.config import FULL, QUICK
from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.results import OUT, read_json, write_json
from harness.stats import spread

SCHEMA = "flask-json-idioms/micro_stability/1"


@entry_point
def main() -> int:
    cfg = QUICK if flag("QUICK") else FULL
    selected_variants()  # a bad VARIANTS fails here, once, not in every run
    try:
        count = int(os.environ.get("RUNS", "3"))
    except ValueError:
        raise UsageError(f"RUNS={os.environ['RUNS']!r}: expected a whole number") from None
    if count < 2:
        raise UsageError(f"RUNS={count}: at least 2 runs are needed to compare them")
    runs = []
    for i in range(1, count + 1):
        out = OUT / "stability" / f"run-{i}"
        print(f"== run {i}/{count} ({cfg.mode}) -> {out}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bench.micro"], env={**os.environ, "FLASK_IDIOMS_OUT": str(out)})
        wall = round(time.monotonic() - started, 1)
        if done.returncode != 0:
            raise UsageError(f"run {i} failed with exit code {done.returncode}")
        micro = read_json(out / "micro.json")
        res = micro["results"]
        named = {**res["variants"], **res["baselines"]}
        runs.append({
            "wall_s": wall,
            "worst_ci_half_width_pct": micro["targets"]["ci95_half_width_pct"]["worst"],
            "planted_ns": res["calibration"]["measured_ns"], "planted_error_pct": res["calibration"]["error_pct"],
            "steal_fraction": micro["environment"]["cpu"]["steal_fraction"],
            "busy_fraction": micro["environment"]["cpu"]["busy_fraction"],
            "ratio_to_floor": {n: v["ratio_to_floor"]["estimate"] for n, v in named.items()},
            "sequential_ratio_to_floor": {n: [p["ratio_to_floor"][n] for p in res["methods"]["sequential"]["passes"]]
                                          for n in named},
            "construct_ns": {n: v["construct_ns"]["median"] for n, v in named.items()},
        })
    names = list(runs[0]["ratio_to_floor"])
    spreads = {
        "interleaved": {n: spread([r["ratio_to_floor"][n] for r in runs]) for n in names},
        "sequential": {n: spread([x for r in runs for x in r["sequential_ratio_to_floor"][n]]) for n in names},
        "construct_ns": {n: spread([r["construct_ns"][n] for r in runs]) for n in names},
    }
    worst_spread = max(spreads["interleaved"].values())
    worst_ci = max(r["worst_ci_half_width_pct"] for r in runs)
    worst_planted = max(abs(r["planted_error_pct"]) for r in runs)
    worst_wall = max(r["wall_s"] for r in runs)
    targets = {
        "wall_s": {"target": cfg.target_wall_s, "measured": worst_wall, "met": worst_wall <= cfg.target_wall_s},
        "ci95_half_width_pct": {"target": cfg.target_ci_pct, "measured": worst_ci, "met": worst_ci <= cfg.target_ci_pct},
        "runs_max_over_min": {"target": cfg.target_runs_spread, "measured": worst_spread,
                              "met": worst_spread <= cfg.target_runs_spread},
        "planted_error_pct": {"target": cfg.target_planted_pct, "measured": worst_planted,
                              "met": worst_planted <= cfg.target_planted_pct},
    }
    write_json(OUT / "micro_stability.json",
               {"schema": SCHEMA, "mode": cfg.mode, "runs": runs, "spread": spreads, "targets": targets})
    print(f"\n{count} back-to-back {cfg.mode} runs: ratio_to_floor max/min per variant "
          f"(interleaved vs sequential pytest-benchmark-style), construct ns max/min")
    for n in names:
        print(f"  {n:<24} {spreads['interleaved'][n]:>6.3f}   {spreads['sequential'][n]:>6.3f}   {spreads['construct_ns'][n]:>6.3f}")
    print("\ntargets (worst over the runs):")
    for name, t in targets.items():
        print(f"  {name:<22} {t['measured']:>8} (target {t['target']}): {'met' if t['met'] else 'NOT MET'}")
    print(f"wrote {OUT / 'micro_stability.json'}")
    return 0 if all(t["met"] for t in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
