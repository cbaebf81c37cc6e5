"""``make count``: what one request costs in instructions, to the instruction, and in allocations; also a stage
of ``make bench``.

Timings here drift 2-3x; instruction counts do not. For every variant and status class (``CLASSES``: the
contract's scenarios), valgrind (cachegrind, no cache simulation) counts the instructions of ``n`` whole WSGI
requests, differentially: ``bench/count_worker.py`` forks, from one warmed-up process per variant, a process
that sends ``n`` requests between two that send none, so start-up, imports, app creation and warm-up cancel
exactly. Everything runs with one hash seed (``HEADLINE_SEED``) in a fixed, minimal environment
(``fixed_environment``: the process starts with nothing else), both recorded; the count is the same to the
instruction from run to run when the processes get the same pids, and otherwise within tens of instructions per
process (valgrind's layout of a process, and so where its objects land, moves with its pid; per request, in a full
run's n requests, a few hundredths of an instruction). The spread over ``Mode.spread_seeds`` is its uncertainty: a hash seed changes
dict layouts and so the work (``seed_spread_pct`` is null for a cell not measured so).

Allocations are counted the same way, deterministically: valgrind's memcheck (its heap summary; every check
it need not make is off), with ``PYTHONMALLOC=malloc`` so that every allocation is a heap block it sees, gives
the blocks and bytes a request allocates in all (freed during the request or not). Outside valgrind, the
worker measures tracemalloc's peak during a request, garbage collections per 1,000 requests, and the Python
functions each request calls (cProfile's call counts). In full mode, the cells whose count is more than
``ATTRIBUTE_PCT`` from ``REFERENCE`` (the largest ``Mode.attribution_cells`` of them) are run again under
callgrind to say where the difference goes (``bench.callgrind``). A quick run measures less
(``bench.count_plan.left_out``, recorded in the result).

Valgrind runs are processes in parallel over the cores, each bounded by a timeout. Without valgrind the stage
prints one line saying how to get it, records itself as skipped and exits 0. The counts are compared with
``reports/published/counts.json`` (``bench.count_published``): any cell that moved more than ``CHANGE_PCT``
is printed, naming idiom and class; without that file, one line says so.

The parts: ``bench.count_plan`` (modes, environment, jobs and their commands), ``bench.count_runner``
(running them), ``bench.count_worker`` (the process valgrind runs), ``bench.count_analysis`` (per request,
deltas, spreads, counts.json), ``bench.count_published`` (the comparison), ``bench.callgrind`` (attribution);
this module is the command line.

Options: ``QUICK=1``, ``VARIANTS=a,b`` (the reference is always counted), ``COUNT_SIZES=0`` (no payload sizes).
Writes ``counts.json`` (``harness.schemas.counts.CountsResult``), the headline ``variants.<name>.counts.<class>`` in
``summary.json`` and a record in ``counts_history.json``.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from bench.count_analysis import assemble, attribution_cells, counted_cells, headline, history_record, skipped
from bench.count_plan import FULL, HEADLINE_SEED, INSTALL_HINT, QUICK, REFERENCE, plan_attribution, plan_jobs
from bench.count_published import PUBLISHED, published_lines
from bench.count_runner import Runner
from bench.count_worker import CLASSES
from harness.cli import entry_point, flag, selected_variants
from harness.progress import Progress
from harness.results import OUT, append_history, merge_summary, read_optional, record_stage

STAGE = "count"


def skip(reason: str) -> int:
    """The stage cannot run here: one line, a result that says why, and the stage marked skipped in summary.json
    (``harness.pipeline`` reports it as skipped, with this reason)."""
    print(f"{STAGE}: skipped: {reason}", flush=True)
    record_stage(STAGE, "counts.json", skipped(reason), out=OUT)
    merge_summary({"stages": {STAGE: {"detail": reason}}}, out=OUT)
    return 0


def run(mode, names: list, classes: list, runner: Runner, workers: int) -> list:
    """Every job's outcome: the headline counts first, then the rest, and callgrind on the cells they single out."""
    headline_jobs, other_jobs = plan_jobs(mode, names, classes)
    progress = Progress(STAGE, sum(j.cells for j in headline_jobs + other_jobs))
    # not ``with ThreadPoolExecutor``: its exit waits for every job, queued ones too, before an interrupt's handler
    # runs, and the jobs' processes (sessions of their own) are out of reach of the signal that stops the stage
    pool = ThreadPoolExecutor(workers)
    try:
        first = [pool.submit(runner.run, job, i, progress) for i, job in enumerate(headline_jobs)]
        later = [pool.submit(runner.run, job, i, progress) for i, job in enumerate(other_jobs)]
        done = [f.result() for f in first]
        instructions = {}
        for o in done:
            instructions.update({k: c["instructions"] for k, c in counted_cells(o).items()})
        attribution = plan_attribution(mode, attribution_cells(instructions, mode.attribution_cells), classes)
        if attribution:
            profiling = Progress(f"{STAGE}: callgrind", sum(j.cells for j in attribution))
            later += [pool.submit(runner.run, job, i, profiling) for i, job in enumerate(attribution)]
        return done + [f.result() for f in later]
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)  # the queued jobs never start
        runner.stop_all()  # the running ones stop, and a job between two processes starts no other
        raise
    finally:
        pool.shutdown(wait=True)
        progress.close()


@entry_point
def main() -> int:
    mode = QUICK if flag("QUICK") else FULL
    if not flag("COUNT_SIZES", default=True):  # COUNT_SIZES=0: no payload sizes (make deploy's counts per Python)
        mode = dataclasses.replace(mode, sizes=())
    names = [v.name for v in selected_variants()]
    names = ([REFERENCE] if REFERENCE not in names else []) + names
    classes = list(CLASSES)
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return skip(f"valgrind is not installed ({INSTALL_HINT})")
    started, clock = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.monotonic()
    workers = max(1, min(os.cpu_count() or 1, 4))
    print(f"make count: {mode.name} run, {len(names)} variants x {len(classes)} classes, {mode.n} requests per count "
          f"({mode.alloc_n} under memcheck), seed {HEADLINE_SEED} (spread: seeds {', '.join(map(str, mode.spread_seeds))}), "
          f"{workers} processes at a time", flush=True)
    with tempfile.TemporaryDirectory(prefix="counts-") as tmp:  # valgrind's logs, read by assemble
        outcomes = run(mode, names, classes, Runner(valgrind, Path(tmp)), workers)
        counts = assemble(mode, names, classes, outcomes, started, round(time.monotonic() - clock, 1),
                          published=read_optional(PUBLISHED))
    record_stage(STAGE, "counts.json", counts, headline(counts), out=OUT)
    append_history(OUT / "counts_history.json", history_record(counts))
    print_summary(counts)
    return 0 if counts["status"] == "ok" else 1


def print_summary(counts: dict) -> None:
    v, ref = counts["variants"], counts["reference"]
    spread = counts["seed_spread"]
    print(f"{STAGE}: {counts['mode']} run in {counts['wall_s']:.0f} s; "
          + (f"seed spread at most {spread['max_pct']}% over {len(spread['cells'])} cells (seeds "
             f"{', '.join(map(str, spread['seeds']))})" if spread["max_pct"] is not None else "no seed spread measured"))
    for cls in counts["classes"]:
        row = sorted((cells[cls]["instructions"], name) for name, cells in v.items() if cls in cells)
        if not row:
            continue
        mine = (v.get(ref) or {}).get(cls) or {}
        allocated = (f"; {mine['alloc_blocks']:,.0f} blocks, {mine['alloc_bytes'] / 1024:,.1f} KiB allocated"
                     if mine.get("alloc_blocks") is not None else "")
        print(f"  {cls:<12} {ref} {mine.get('instructions', 0):,.0f} instructions{allocated}; "
              f"fewest {row[0][1]} ({(v[row[0][1]][cls]['delta_pct'] or 0):+.1f}%), "
              f"most {row[-1][1]} ({(v[row[-1][1]][cls]['delta_pct'] or 0):+.1f}%)")
    for line in published_lines(counts["published"]):
        print(f"  {line}")
    if counts.get("left_out"):
        print(f"  less in a {counts['mode']} run: {'; '.join(counts['left_out'])}")
    for problem in counts["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"  wrote {OUT / 'counts.json'}, {OUT / 'counts_history.json'} and the headline in {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
