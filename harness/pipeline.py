"""``make bench``: every stage in order, with progress; a failed stage keeps the others' results.

Stages run as child processes (``python -m <module>``), each in its own session (process group), so
one that crashes, hangs or is interrupted cannot take the finished ones with it:

- progress: ``stage i/N: name``, the elapsed time and an estimate of the time left (from each stage's
  expected duration in this mode) when a stage starts, and one summary line when it ends; between
  them, when the output is not a terminal, a line every ``HEARTBEAT_S`` (on a terminal the stage's
  own live progress lines show how it goes, and a line from here would break them);
- a stage that outlives ``TIMEOUT_FACTOR`` times its expected duration is killed (its whole group)
  and marked ``failed`` ("timed out");
- Ctrl-C or SIGTERM: the running stage's group gets SIGINT, then SIGTERM, then SIGKILL after
  ``STOP_GRACE_S`` in all; the stage is marked ``incomplete``, the ones not started too, and the run
  exits 130;
- the report stage always runs, even after a failed stage (the report says what is missing); when
  the gate (verify) fails, micro and load are ``skipped`` and the report says conformance failed.

Each outcome is merged into ``reports/out/summary.json`` as ``stages.<name>``:
``{"status": "ok" | "failed" | "missing" | "incomplete" | "skipped", "seconds", "detail"}``
(``missing``: the stage's module is not built yet; ``skipped`` also when a stage exits 0 having recorded
itself as skipped, as count does without valgrind, with its reason as the detail). A run starts a new summary
(the previous one is kept as ``summary.previous.json``), so the report never mixes in a stage from an earlier run.
``STAGES=a,b`` runs only those stages (and the report), the others are ``skipped`` ("not selected").
Exit 0 when every stage that ran succeeded, 1 if one failed, 130 if interrupted.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.processes import stop_group
from harness.progress import clock, is_terminal
from harness.results import OUT, PUBLISHED, SUMMARY, merge_summary, read_optional, seed_histories, write_json

HEARTBEAT_S = 30.0
TIMEOUT_FACTOR = 3.0
MIN_TIMEOUT_S = 60.0
LENGTHENED_TIMEOUT_S = 6 * 3600.0
STOP_GRACE_S = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # SIGINT first, as Ctrl-C would; SIGKILL what is left at STOP_GRACE_S


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    what: str
    expected_s: tuple  # (quick, full) wall time on the 2-core reference machine
    gate: bool = False  # a failure stops the timing stages (conformance must hold before anything is timed)
    always: bool = False  # runs whatever happened before (the report says what is missing)
    lengthened_by: tuple = ()  # settings that make the stage run longer than expected_s (LOAD_SECONDS, ...)
    least_limit_s: float = 0  # a limit at least this long (a stage whose time moves more than others' with the machine)

    def expected(self, quick: bool) -> float:
        return self.expected_s[0 if quick else 1]

    def lengthened(self) -> list:
        """The settings given that lengthen this stage by an amount the pipeline does not know."""
        return [k for k in self.lengthened_by if os.environ.get(k, "").strip()]

    def timeout(self, quick: bool) -> float:
        """Three times the expected duration (at least ``least_limit_s``); ``LENGTHENED_TIMEOUT_S`` when a setting
        lengthens it (a stage still stops by itself: this limit is for one that hangs)."""
        if self.lengthened():
            return LENGTHENED_TIMEOUT_S
        return max(MIN_TIMEOUT_S, self.least_limit_s, TIMEOUT_FACTOR * self.expected(quick))


STAGES = (
    Stage("verify", "harness.conformance", "conformance of every variant to the contract", (5, 5), gate=True),
    Stage("micro", "bench.micro", "microbenchmarks: interleaved ratios to the floor", (10, 55)),
    Stage("request", "bench.request", "the whole request in process, per status class, against jsonify_tuple",
          (25, 170), lengthened_by=("REQUEST_SECONDS", "REQUEST_WORKERS", "REQUEST_PARALLEL")),
    Stage("payloads", "bench.payload_cost", "payloads: what each idiom makes of the corpus, and its cost from 100 B to 1 MB",
          (12, 165), lengthened_by=("PAYLOADS",)),
    Stage("pytest-benchmark", "bench.pytest_benchmark_run", "plain pytest-benchmark, one after another, for comparison",
          (5, 20)),
    Stage("load", "loadtests.run", "HTTP load: locust against gunicorn", (40, 225),
          lengthened_by=("LOAD_SECONDS", "LOAD_PROCESSES")),
    # payloads over HTTP (``make payloads-http``, ~3 min) is a target of its own, as deploy and matrix are: the size
    # sweep adds at most 3 min to make bench (#14); the payloads stage copies an earlier HTTP run's Δ into payloads.json
    Stage("count", "bench.counts", "instructions and allocations per request under valgrind (skipped without it)",
          (25, 105), least_limit_s=600),  # valgrind: 98-101 s here in fast phases; the limit leaves room for a slow one
    Stage("report", "reports.render", "report: REPORT.md, report.html, charts", (5, 25), always=True),
)


class Interrupted(Exception):
    """Ctrl-C or SIGTERM while a stage ran; carries that stage's outcome."""

    def __init__(self, outcome: dict):
        super().__init__(outcome.get("detail", "interrupted"))
        self.outcome = outcome


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is not there either
        return False


def skipped_itself(stage: Stage, since: str):
    """The reason, if the stage recorded itself as skipped in summary.json (``stages.<name>.status``, written by
    ``harness.results.record_stage`` at or after ``since``; e.g. count without valgrind) and exited 0; else None."""
    entry = ((read_optional(OUT / SUMMARY) or {}).get("stages") or {}).get(stage.name) or {}
    if entry.get("status") == "skipped" and str(entry.get("started") or "") >= since:
        return entry.get("detail") or "the stage skipped itself"
    return None


def run_stage(stage: Stage, quick: bool = False, timeout_s: float | None = None, heartbeat=None) -> dict:
    """Run one stage as ``python -m module`` in its own process group; its outcome.

    Raises Interrupted (after stopping the stage's group) on Ctrl-C or SIGTERM.
    """
    if not _exists(stage.module):
        return {"status": "missing", "detail": f"{stage.module} is not built yet"}
    timeout_s = stage.timeout(quick) if timeout_s is None else timeout_s
    started, since = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    process = subprocess.Popen([sys.executable, "-m", stage.module], start_new_session=True)
    try:
        while True:
            left = timeout_s - (time.monotonic() - started)
            if left <= 0:
                stop_group(process, STOP_GRACE_S, signals=STOP_SIGNALS)
                return {"status": "failed", "seconds": round(time.monotonic() - started, 1),
                        "detail": f"timed out after {timeout_s:.0f} s ({TIMEOUT_FACTOR:g}x its expected duration); killed"}
            try:
                code = process.wait(timeout=min(left, HEARTBEAT_S))
                break
            except subprocess.TimeoutExpired:
                if heartbeat:
                    heartbeat(time.monotonic() - started)
    except KeyboardInterrupt:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        try:
            stop_group(process, STOP_GRACE_S, signals=STOP_SIGNALS)
        finally:
            signal.signal(signal.SIGINT, previous)
        raise Interrupted({"status": "incomplete", "seconds": round(time.monotonic() - started, 1),
                           "detail": "interrupted (Ctrl-C or SIGTERM); its process group was stopped"}) from None
    seconds = round(time.monotonic() - started, 1)
    if code == 0:
        reason = skipped_itself(stage, since)
        if reason:
            return {"status": "skipped", "seconds": seconds, "detail": reason}
        return {"status": "ok", "seconds": seconds}
    return {"status": "failed", "seconds": seconds, "detail": f"exit code {code}"}


def new_summary(run: dict) -> None:
    """Start this run's summary; the previous one is kept beside it."""
    path = OUT / SUMMARY
    if path.exists():
        os.replace(path, OUT / "summary.previous.json")
    write_json(path, {"run": run})


def closing_verdict() -> list:
    """The report's verdict lines as plain text (``reports.sections.verdict.lines``, the function that writes
    them into the report), under a heading; a line saying why where they cannot be read."""
    try:
        from reports.sections.verdict.lines import terminal

        return ["\nverdict:"] + [f"  {line}" for line in terminal(OUT)]
    except Exception as e:  # noqa: BLE001  (the results are written and the report stands: say so, do not fail)
        return [f"\nverdict: not available here ({type(e).__name__}: {e}); see the report"]


def selected_stages() -> set:
    """The stages named by STAGES=a,b (default: all); the report runs whatever is named. Unknown names are
    a UsageError."""
    raw = os.environ.get("STAGES", "").strip()
    if not raw:
        return {s.name for s in STAGES}
    names = {n.strip() for n in raw.split(",") if n.strip()}
    unknown = sorted(names - {s.name for s in STAGES})
    if unknown:
        raise UsageError(f"STAGES={raw!r}: unknown stage(s) {', '.join(unknown)}; expected some of "
                         f"{', '.join(s.name for s in STAGES)}")
    return names | {s.name for s in STAGES if s.always}


@entry_point
def main() -> int:
    quick = flag("QUICK")
    variants = selected_variants()
    chosen = selected_stages()
    if os.environ.get("PAYLOADS", "").strip() and "payloads" in chosen:  # bad files: exit 2 before any stage runs
        from payloads import corpus

        corpus(os.environ["PAYLOADS"].strip(), sizes=[])
    started = time.monotonic()
    total = len(STAGES)
    expected_total = sum(s.expected(quick) for s in STAGES if s.name in chosen)
    print(f"make bench: {'quick' if quick else 'full'} run, {len(variants)} variants, {total} stages, "
          f"expected ~{clock(expected_total)} (m:ss)", flush=True)
    new_summary({"mode": "quick" if quick else "full", "variants": [v.name for v in variants],
                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "stages": [s.name for s in STAGES]})
    seeded = seed_histories()
    if seeded:
        print(f"run histories: {OUT} had none; started from {PUBLISHED}'s ("
              + ", ".join(f"{name} {runs} runs" for name, runs in seeded.items())
              + "): this run's report gives the spread over them and this run", flush=True)
    outcomes = {}
    gate_failed = None
    interrupted = False

    def left_after(i: int) -> float:
        return sum(s.expected(quick) for s in STAGES[i:] if s.name in chosen)

    quiet_between = is_terminal(sys.stdout)  # the stages draw live lines there; see the module docstring

    for i, stage in enumerate(STAGES, 1):
        elapsed = time.monotonic() - started
        if stage.name not in chosen:
            outcome = {"status": "skipped", "detail": f"not selected (STAGES={os.environ.get('STAGES', '').strip()})"}
        elif gate_failed and not stage.always:
            outcome = {"status": "skipped", "detail": f"not run: the {gate_failed} stage (the gate) failed"}
        elif interrupted:
            outcome = {"status": "incomplete", "detail": "not started: the run was interrupted"}
        else:
            print(f"\n== stage {i}/{total}: {stage.name}: {stage.what} [{clock(elapsed)} elapsed, ~{clock(left_after(i - 1))} left; "
                  f"limit {clock(stage.timeout(quick))}"
                  + (f" ({', '.join(stage.lengthened())} given)" if stage.lengthened() else "") + "]", flush=True)

            def heartbeat(seconds: float, stage=stage, i=i) -> None:
                left = max(stage.expected(quick) - seconds, 0) + left_after(i)
                print(f"== stage {i}/{total}: {stage.name}: {clock(seconds)} in this stage, "
                      f"{clock(time.monotonic() - started)} elapsed, ~{clock(left)} left", flush=True)

            try:
                outcome = run_stage(stage, quick, heartbeat=None if quiet_between else heartbeat)
            except Interrupted as e:
                outcome = e.outcome
                interrupted = True
        outcomes[stage.name] = outcome
        merge_summary({"stages": {stage.name: outcome}})
        print(f"== stage {i}/{total}: {stage.name}: {outcome['status']}"
              + (f" in {outcome['seconds']:.0f} s" if "seconds" in outcome else "")
              + (f" ({outcome['detail']})" if "detail" in outcome else "")
              + (f"; {clock(time.monotonic() - started)} elapsed, ~{clock(left_after(i))} left" if i < total else ""),
              flush=True)
        if stage.gate and outcome["status"] == "failed" and not gate_failed:
            gate_failed = stage.name
            print(f"error: stage {stage.name} failed: a variant does not meet the contract and declares no divergence; "
                  f"nothing will be timed. Fix the variant or declare its divergence in variants/__init__.py. "
                  f"The report will say so.", file=sys.stderr)

    print(f"\nmake bench: {'interrupted' if interrupted else 'done'} in {clock(time.monotonic() - started)} (m:ss); "
          f"results in {OUT}")
    for name, outcome in outcomes.items():
        print(f"  {name:<8} {outcome['status']}" + (f": {outcome['detail']}" if "detail" in outcome else ""))
    if outcomes.get("report", {}).get("status") == "ok":
        for line in closing_verdict():
            print(line)
        print(f"report: {OUT / 'REPORT.md'}\n        {OUT / 'report.html'}")
    if interrupted:
        return 130
    return 1 if any(o["status"] == "failed" for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
