"""``make bench``: every stage in order, with progress; a failed stage keeps the others' results.

Stages run as child processes (``python -m <module>``) so one that crashes or is interrupted cannot
take the finished ones with it; each stage's outcome is merged into ``reports/out/summary.json``.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from harness.cli import entry_point, flag, selected_variants
from harness.results import OUT, merge_summary


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    what: str
    gate: bool = False  # a failure stops the run (conformance must hold before anything is timed)


STAGES = (
    Stage("verify", "harness.conformance", "conformance of every variant to the contract", gate=True),
    Stage("micro", "bench.micro", "microbenchmarks: interleaved ratios to the floor"),
    Stage("load", "loadtests.run", "HTTP load: locust against gunicorn"),
    Stage("report", "reports.render", "report: REPORT.md, report.html, charts"),
)


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is not there either
        return False


def run_stage(stage: Stage) -> dict:
    if not _exists(stage.module):
        return {"status": "missing", "detail": f"{stage.module} is not built yet"}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", stage.module])
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)
        raise
    seconds = round(time.monotonic() - started, 1)
    if code == 0:
        return {"status": "ok", "seconds": seconds}
    return {"status": "failed", "seconds": seconds, "detail": f"exit code {code}"}


@entry_point
def main() -> int:
    quick = flag("QUICK")
    variants = selected_variants()
    started = time.monotonic()
    print(f"make bench: {'quick' if quick else 'full'} run, {len(variants)} variants, {len(STAGES)} stages")
    merge_summary({"run": {"mode": "quick" if quick else "full", "variants": [v.name for v in variants],
                           "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}})
    outcomes = {}
    for i, stage in enumerate(STAGES, 1):
        print(f"\n== stage {i}/{len(STAGES)}: {stage.name}: {stage.what}", flush=True)
        outcome = run_stage(stage)
        outcomes[stage.name] = outcome
        merge_summary({"stages": {stage.name: outcome}})
        print(f"== {stage.name}: {outcome['status']}" + (f" ({outcome['detail']})" if "detail" in outcome else ""))
        if stage.gate and outcome["status"] == "failed":
            print(f"error: stage {stage.name} failed; nothing was timed. Fix the variant or declare its "
                  f"divergence in variants/__init__.py.", file=sys.stderr)
            break
    print(f"\nmake bench: done in {time.monotonic() - started:.0f} s; results in {OUT}")
    for name, outcome in outcomes.items():
        print(f"  {name:<8} {outcome['status']}" + (f": {outcome['detail']}" if "detail" in outcome else ""))
    return 1 if any(o["status"] == "failed" for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
