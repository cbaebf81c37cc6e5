"""Plain pytest-benchmark over the same subjects, the way most teams measure: one benchmark after another.

``python -m bench.pytest_benchmark_run`` (run by ``make micro`` after the interleaved estimator) runs
``pytest bench --benchmark-enable`` and keeps its JSON as ``reports/out/pytest_benchmark.json``. From
it, per variant: the construct median of each scenario, their mean (the same mix as the estimator's),
and that mix over the floor's (``werkzeug_response``) median, and the same from the minimums. It
appends them to ``reports/out/pytest_benchmark_history.json`` (the last record is this run's; schema
``harness.schemas.pytest_benchmark``), so the report can show how far these numbers move between runs
taken minutes apart, beside the interleaved ratios of the same runs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import numpy as np

from bench.subjects import FLOOR, SCENARIOS
from harness.cli import entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, git_commit
from harness.results import OUT, ROOT, ResultError, append_history, merge_summary, read_json

MAX_TIME_S = {"quick": 0.05, "full": 0.3}  # per benchmark: pytest-benchmark's --benchmark-max-time
TIMEOUT_S = 600


def run_pytest_benchmark(mode: str, json_path: str) -> None:
    command = [sys.executable, "-m", "pytest", str(ROOT / "bench"), "-q", "-p", "no:cacheprovider",
               "--benchmark-enable", f"--benchmark-json={json_path}", f"--benchmark-max-time={MAX_TIME_S[mode]}",
               "--benchmark-min-rounds=5", "--benchmark-columns=min,median,max,rounds", "--benchmark-sort=name"]
    # not a pytest-xdist worker's variables (make test runs its tests in xdist workers): pytest-benchmark reads
    # PYTEST_XDIST_WORKER and, taking itself for a worker, writes no JSON
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise ResultError(f"pytest-benchmark failed (exit {done.returncode}): {tail}")


def summarise(raw: dict, names: list) -> dict:
    """Per variant and baseline: construct medians per scenario (ns), the mix, ratios to the floor."""
    median, minimum = {}, {}
    for b in raw["benchmarks"]:
        params = b.get("params") or {}
        if not b["name"].startswith("test_construct"):
            continue
        name = params.get("variant") or params.get("name") or (b["name"].split("[", 1)[1].rstrip("]")
                                                             if "calibration" in b["name"] else None)
        scenario = params.get("scenario", "success")
        median.setdefault(name, {})[scenario] = b["stats"]["median"] * 1e9
        minimum.setdefault(name, {})[scenario] = b["stats"]["min"] * 1e9
    floor_median, floor_min = median[FLOOR]["success"], minimum[FLOOR]["success"]
    result = {}
    for name in [*names, FLOOR]:
        if name not in median:
            continue
        scenarios = SCENARIOS if name in names else ("success",)
        mix = float(np.mean([median[name][s] for s in scenarios]))
        mix_min = float(np.mean([minimum[name][s] for s in scenarios]))
        result[name] = {"construct_ns": {s: round(median[name][s], 1) for s in scenarios}, "mix_ns": round(mix, 1),
                        "ratio_to_floor": round(mix / floor_median, 4),
                        "min_ratio_to_floor": round(mix_min / floor_min, 4)}
    return result


@entry_point
def main() -> int:
    mode = "quick" if flag("QUICK") else "full"
    names = [v.name for v in selected_variants()]
    started, date, before = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds"), CpuSnapshot.now()
    print(f"pytest-benchmark, {mode}: {len(names)} variants x {len(SCENARIOS)} scenarios x construct/dispatch, "
          f"one after another ({MAX_TIME_S[mode]} s each)", flush=True)
    path = OUT / "pytest_benchmark.json"
    OUT.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pytest_benchmark.", suffix=".json", dir=OUT)
    os.close(fd)
    try:
        run_pytest_benchmark(mode, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # the finished file only, never a half-written one
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    raw = read_json(path)
    found = summarise(raw, names)
    # pytest-benchmark times `iterations` calls per round, one when the clock is fine enough: the clock
    # reads and the call around the subject are then inside every figure, the floor's most of all
    iterations = next((b["stats"].get("iterations", 1) for b in raw["benchmarks"]
                       if b["name"] == f"test_construct_baseline[{FLOOR}]"), None)
    record = {"date": date, "mode": mode, "wall_s": round(time.monotonic() - started, 1), "git_commit": git_commit(),
              "cpu": CpuSnapshot.now().since(before), "max_time_s": MAX_TIME_S[mode],
              "floor_iterations_per_round": iterations, "floor_ns": found[FLOOR]["mix_ns"], "variants": found}
    history_path = OUT / "pytest_benchmark_history.json"
    runs = len(read_json(append_history(history_path, record))["runs"])
    merge_summary({"stages": {"pytest-benchmark": {"file": path.name, "history": history_path.name,
                                                   "started": date}}})
    ranked = sorted((n for n in found if n != FLOOR), key=lambda n: found[n]["ratio_to_floor"])
    print(f"  {'variant':<26} {'median mix':>11} {'x floor':>8} {'x floor (min)':>14}")
    for name in ranked:
        v = found[name]
        print(f"  {name:<26} {v['mix_ns'] / 1e3:>8.2f} us {v['ratio_to_floor']:>8.2f} {v['min_ratio_to_floor']:>14.2f}")
    print(f"wrote {path} in {record['wall_s']:.0f} s; runs so far in {history_path.name}: {runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
