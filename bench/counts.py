"""``make count``: what one request costs in instructions, to the instruction, and in allocations; also a stage
of ``make bench``.

Timings here drift 2-3x; instruction counts do not. For every variant and status class (``CLASSES``:
the contract's scenarios and the admin 200), valgrind (cachegrind, no cache simulation) counts the
instructions of ``n`` whole WSGI requests, differentially: ``bench/count_worker.py`` forks, from one
warmed-up process per variant, a process that sends ``n`` requests between two that send none, so
start-up, imports, app creation and warm-up cancel exactly. Everything runs with one hash seed
(``HEADLINE_SEED``) in a fixed, minimal environment (``fixed_environment``: the process starts with
nothing else), both recorded; the count is the same to the instruction from run to run. The spread over
``SPREAD_SEEDS`` is its uncertainty: a hash seed changes dict layouts and so the work (in full mode on
the idioms of ``Mode.spread_variants``, every class; in quick mode on one cell; ``seed_spread_pct`` is
null for a cell not measured so).

Outside valgrind, the same worker measures per request the blocks and bytes that tracemalloc sees held
when the response starts, the peak bytes, and garbage collections per 1,000 requests; and counts the
Python functions each request calls (cProfile's call counts). In full mode, the cells whose count is more
than ``ATTRIBUTE_PCT`` from ``REFERENCE`` (the largest ``Mode.attribution_cells`` of them) are run again
under callgrind to say where the difference goes (``bench.callgrind``).

Valgrind runs are processes in parallel over the cores, each bounded by a timeout. Without valgrind the
stage prints one line saying how to get it and exits 0. With ``reports/published/counts.json`` present,
any cell whose count moved more than ``CHANGE_PCT`` is printed, naming idiom and class.

Options: ``QUICK=1``, ``VARIANTS=a,b`` (the reference is always counted). Writes ``counts.json``
(``harness.schemas.counts.CountsResult``), the headline ``variants.<name>.counts.<class>`` in
``summary.json`` and a record in ``counts_history.json``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench import callgrind
from bench.count_worker import CLASSES
from harness.cli import entry_point, flag, selected_variants
from harness.environment import environment
from harness.processes import stop_group
from harness.progress import Progress
from harness.results import OUT, ROOT, append_history, read_optional, record_stage
from harness.stats import spread

SCHEMA = "flask-json-idioms/counts/1"
REFERENCE = "jsonify_tuple"  # every delta is taken against it, on the same class
HEADLINE_SEED = 0  # PYTHONHASHSEED of the headline counts
SPREAD_SEEDS = (1, 2, 3)
ATTRIBUTE_PCT = 2.0  # attribute differences larger than this
CHANGE_PCT = 0.5  # flag a count that moved more than this against the published one
PUBLISHED = ROOT / "reports" / "published" / "counts.json"
STOP_GRACE_S = 5.0
INSTALL_HINT = "Debian/Ubuntu: apt-get install valgrind"


@dataclass(frozen=True)
class Mode:
    name: str
    n: int  # requests in each counting process
    warmup: int  # rounds of every class's request before counting
    spread_variants: tuple  # the idioms counted on the other seeds too
    spread_classes: tuple  # and their classes (empty: all)
    attribution_cells: int  # cells run under callgrind (0: none)
    attribution_n: int
    requests: dict = field(default_factory=dict)  # the allocation measurement's requests per class
    chunks: int = 2  # valgrind processes the headline counts are split into


QUICK = Mode("quick", n=80, warmup=5, spread_variants=(REFERENCE,), spread_classes=("unauthorized",),
             attribution_cells=0, attribution_n=0,
             requests={"gc_requests": 300, "trace_requests": 10, "profile_requests": 3})
FULL = Mode("full", n=200, warmup=20, spread_variants=(REFERENCE, "abort_response", "orjson_response"),
            spread_classes=(), attribution_cells=6, attribution_n=100,
            requests={"gc_requests": 2000, "trace_requests": 20, "profile_requests": 10})


def fixed_environment(seed: int) -> dict:
    """The whole environment a counted process starts with (its variables move counts by ~0.5%)."""
    return {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": str(seed), "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Job:
    """One root process of the worker: ``tool`` cachegrind, callgrind or None (natively)."""
    kind: str  # "headline", "spread", "attribution" or "alloc"
    tool: str | None
    seed: int
    plan: list  # [{"variant", "classes"}]
    n: int = 0
    warmup: int = 20
    requests: dict = field(default_factory=dict)

    @property
    def cells(self) -> int:
        return sum(len(p["classes"]) for p in self.plan)

    def timeout_s(self) -> float:
        """Generous: a slow machine must not lose a run; a hung one must not hold the stage."""
        per_request = {"cachegrind": 0.012, "callgrind": 0.03, None: 0.002}[self.tool]
        return 60 + 8 * len(self.plan) + self.cells * max(self.n, 1) * per_request * 3

    def worker_input(self) -> bytes:
        """One line per variant: the worker forks a child for each."""
        return "".join(json.dumps({"mode": "alloc" if self.tool is None else "count", **item, "n": self.n,
                                   "warmup": self.warmup, "requests": self.requests}) + "\n"
                       for item in self.plan).encode()


def command(valgrind: str | None, job: Job, folder: Path) -> list:
    python = [sys.executable, "-m", "bench.count_worker"]
    if job.tool is None:
        return python
    out = (["--cache-sim=no", "--cachegrind-out-file=/dev/null"] if job.tool == "cachegrind"
           else ["--separate-recs=1", f"--callgrind-out-file={folder}/cg.%p"])
    return [valgrind, f"--tool={job.tool}", *out, f"--log-file={folder}/vg.%p", *python]


class Runner:
    """Runs jobs in parallel, each as a process group with a timeout; stops them all on interrupt."""

    def __init__(self, valgrind: str | None, folder: Path):
        self.valgrind, self.folder = valgrind, folder
        self.running: set = set()
        self.lock = threading.Lock()

    def run(self, job: Job, index: int, progress: Progress | None = None) -> dict:
        folder = self.folder / f"{job.kind}-{index}"
        folder.mkdir()
        events, started = [], time.monotonic()
        with open(folder / "stderr", "w") as errors:
            process = subprocess.Popen(command(self.valgrind, job, folder), cwd=ROOT, env=fixed_environment(job.seed),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                       start_new_session=True)
            with self.lock:
                self.running.add(process)
            timed_out = threading.Event()

            def expire():
                timed_out.set()
                stop_group(process, STOP_GRACE_S)

            timer = threading.Timer(job.timeout_s(), expire)
            timer.start()
            try:
                process.stdin.write(job.worker_input())
                process.stdin.close()
                for line in process.stdout:
                    try:
                        event = json.loads(line)
                    except ValueError:  # not the worker's (a library printing): ignored
                        continue
                    events.append(event)
                    if progress and (event["event"] == "alloc" or (event["event"] == "fork" and event["class"])):
                        with self.lock:
                            progress.step(note=f"{job.kind}: {event['variant']} {event['class']}")
                code = process.wait()
            finally:
                timer.cancel()
                with self.lock:
                    self.running.discard(process)
        problem = None
        if timed_out.is_set():
            problem = f"timed out after {job.timeout_s():.0f} s; stopped"
        elif code != 0 or any(e["event"] in ("error", "failed") for e in events):
            detail = [e.get("error") or f"{e.get('variant')} exited {e.get('exit')}" for e in events
                      if e["event"] in ("error", "failed")]
            tail = (folder / "stderr").read_text().strip().splitlines()[-1:]
            problem = "; ".join(detail + tail) or f"exit code {code}"
        return {"job": job, "events": events, "folder": folder, "problem": problem,
                "seconds": round(time.monotonic() - started, 1)}

    def stop_all(self) -> None:
        with self.lock:
            running = list(self.running)
        for process in running:
            stop_group(process, STOP_GRACE_S)


# --- reading what valgrind counted ---------------------------------------------------------------

_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions_of(folder: Path, pid: int) -> int | None:
    """A process's instruction count from valgrind's log (cachegrind) or profile (callgrind)."""
    log = folder / f"vg.{pid}"
    if log.exists():
        found = _IREFS.search(log.read_text())
        if found:
            return int(found.group(1).replace(",", ""))
    profile = folder / f"cg.{pid}"
    if profile.exists():
        with open(profile) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    return None


def brackets(events: list) -> list:
    """Each counting process with the empty ones forked just before and after it, per variant:
    [(variant, class, n, counting pid, [empty pids])]."""
    found = []
    by_variant: dict = {}
    for e in events:
        if e["event"] == "fork":
            by_variant.setdefault(e["variant"], []).append(e)
    for variant, forks in by_variant.items():
        forks.sort(key=lambda e: e["index"])
        for i, e in enumerate(forks):
            if e["class"] and 0 < i < len(forks) - 1:
                found.append((variant, e["class"], e["n"], e["pid"], [forks[i - 1]["pid"], forks[i + 1]["pid"]]))
    return found


def counted_cells(outcome: dict) -> dict:
    """{(variant, class): {"instructions" per request, "raw": [count, empty before, empty after], "n"}}."""
    cells = {}
    for variant, cls, n, pid, empty in brackets(outcome["events"]):
        raw = [instructions_of(outcome["folder"], p) for p in (pid, *empty)]
        if None in raw:
            continue
        cells[(variant, cls)] = {"instructions": differential(raw[0], raw[1:], n), "raw": raw, "n": n}
    return cells


def differential(counted: int, empty: list, n: int) -> float:
    """Instructions per request: the counting process less the mean of the empty ones, over ``n``."""
    return round((counted - sum(empty) / len(empty)) / n, 1)


def profiled_cells(outcome: dict) -> dict:
    """{(variant, class): bench.callgrind.per_request(...)} from a callgrind job."""
    folder, cells = outcome["folder"], {}
    for variant, cls, n, pid, empty in brackets(outcome["events"]):
        paths = [folder / f"cg.{p}" for p in (pid, *empty)]
        if all(p.exists() for p in paths):
            profiles = [callgrind.parse(p) for p in paths]
            cells[(variant, cls)] = callgrind.per_request(profiles[0], profiles[1:], n)
    return cells


# --- the plan ------------------------------------------------------------------------------------

def chunked(names: list, chunks: int) -> list:
    """The variants dealt round-robin into ``chunks`` lists (each a separate valgrind process)."""
    return [names[i::chunks] for i in range(chunks) if names[i::chunks]]


def plan_jobs(mode: Mode, names: list, classes: list) -> tuple[list, list]:
    """(headline jobs, the other jobs that do not depend on the headline)."""
    headline = [Job("headline", "cachegrind", HEADLINE_SEED, [{"variant": v, "classes": classes} for v in chunk],
                    mode.n, mode.warmup) for chunk in chunked(names, mode.chunks)]
    spread_names = [v for v in mode.spread_variants if v in names] or names[:1]
    spread_classes = [c for c in classes if not mode.spread_classes or c in mode.spread_classes] or classes[:1]
    others = [Job("alloc", None, HEADLINE_SEED, [{"variant": v, "classes": classes} for v in names],
                  warmup=mode.warmup, requests=mode.requests)]
    others += [Job("spread", "cachegrind", seed, [{"variant": v, "classes": spread_classes} for v in spread_names],
                   mode.n, mode.warmup) for seed in SPREAD_SEEDS]
    return headline, others


def deltas(instructions: dict) -> dict:
    """{(variant, class): % against the reference on the same class}."""
    return {(v, c): round(100 * (x / instructions[(REFERENCE, c)] - 1), 3)
            for (v, c), x in instructions.items() if (REFERENCE, c) in instructions}


def attribution_cells(instructions: dict, limit: int) -> list:
    """The cells more than ATTRIBUTE_PCT from the reference: each idiom's largest, largest first, at most
    ``limit`` (one per idiom, so that more idioms are explained)."""
    found = sorted(((abs(d), v, c) for (v, c), d in deltas(instructions).items()
                    if v != REFERENCE and abs(d) > ATTRIBUTE_PCT), reverse=True)
    chosen: dict = {}
    for _, v, c in found:
        chosen.setdefault(v, c)
    return list(chosen.items())[:limit]


def plan_attribution(mode: Mode, cells: list, classes: list) -> list:
    if not cells:
        return []
    wanted: dict = {REFERENCE: sorted({c for _, c in cells}, key=classes.index)}
    for v, c in cells:
        wanted.setdefault(v, []).append(c)
    plan = [{"variant": v, "classes": cs} for v, cs in wanted.items()]
    return [Job("attribution", "callgrind", HEADLINE_SEED, chunk, mode.attribution_n, mode.warmup)
            for chunk in chunked(plan, mode.chunks)]


# --- the results ---------------------------------------------------------------------------------

def seed_spreads(headline: dict, spreads: dict) -> dict:
    """{(variant, class): (max - min) / min over the headline seed and the others, in %}."""
    found = {}
    for key, x in headline.items():
        others = [s[key] for s in spreads.values() if key in s]
        if len(others) == len(spreads) and others:
            found[key] = round(100 * (spread([x, *others]) - 1), 3)
    return found


def delta_ranges(headline: dict, spreads: dict) -> dict:
    """{"<variant>/<class>": [lowest, highest] delta_pct over the seeds} where the cell and the reference's were
    counted on every seed: a seed moves idioms alike, so their differences move less than their counts."""
    found = {}
    for (name, cls), x in headline.items():
        key, ref = (name, cls), (REFERENCE, cls)
        if name == REFERENCE or ref not in headline or not all(key in s and ref in s for s in spreads.values()):
            continue
        if not spreads:
            continue
        pcts = [100 * (x / headline[ref] - 1)] + [100 * (s[key] / s[ref] - 1) for s in spreads.values()]
        found[f"{name}/{cls}"] = [round(min(pcts), 3), round(max(pcts), 3)]
    return found


def python_calls(cell: dict, reference: dict, top: int = 5) -> list:
    """The Python functions whose calls per request differ most from the reference's."""
    names = set(cell) | set(reference)
    found = [(k, cell.get(k, 0) - reference.get(k, 0)) for k in names]
    found = sorted((x for x in found if abs(x[1]) >= 0.01), key=lambda x: (-abs(x[1]), x[0]))
    return [{"function": k, "calls": round(d, 2)} for k, d in found[:top]]


def compare_published(variants: dict, published: dict | None) -> dict:
    """Every cell whose count moved more than CHANGE_PCT against the published counts.json."""
    if not published:
        return {"file": None, "compared": 0, "flagged": []}
    flagged, compared = [], 0
    for name, classes in (published.get("variants") or {}).items():
        for cls, then in (classes or {}).items():
            now = (variants.get(name) or {}).get(cls)
            if not now or not isinstance(then, dict) or not then.get("instructions"):
                continue
            compared += 1
            change = 100 * (now["instructions"] / then["instructions"] - 1)
            if abs(change) > CHANGE_PCT:
                flagged.append({"variant": name, "class": cls, "published": then["instructions"],
                                "now": now["instructions"], "change_pct": round(change, 3)})
    return {"file": str(PUBLISHED.relative_to(ROOT)), "compared": compared, "flagged": flagged,
            "published_commit": ((published.get("environment") or {}).get("git_commit")),
            "published_mode": published.get("mode")}


def assemble(mode: Mode, names: list, classes: list, outcomes: list, started: str, wall_s: float) -> dict:
    """counts.json from every job's outcome."""
    by_kind: dict = {}
    for o in outcomes:
        by_kind.setdefault(o["job"].kind, []).append(o)
    headline = {}
    for o in by_kind.get("headline", []):
        headline.update(counted_cells(o))
    spreads = {o["job"].seed: {k: c["instructions"] for k, c in counted_cells(o).items()}
               for o in by_kind.get("spread", [])}
    instructions = {k: c["instructions"] for k, c in headline.items()}
    delta = deltas(instructions)
    seeds = seed_spreads(instructions, spreads)
    allocs = {(e["variant"], e["class"]): e for o in by_kind.get("alloc", []) for e in o["events"]
              if e["event"] == "alloc"}
    profiled = {}
    for o in by_kind.get("attribution", []):
        profiled.update(profiled_cells(o))

    variants = {}
    for name in names:
        for cls in classes:
            key = (name, cls)
            if key not in headline:
                continue
            a = allocs.get(key) or {}
            variants.setdefault(name, {})[cls] = {
                "instructions": instructions[key], "delta_pct": delta.get(key),
                "seed_spread_pct": seeds.get(key),
                "alloc_blocks": a.get("alloc_blocks"), "alloc_bytes": a.get("alloc_bytes"),
                "gc_collections_per_1000": a.get("gc_collections_per_1000"),
                "gc_collected_per_1000": a.get("gc_collected_per_1000"),
                "peak_bytes": a.get("peak_bytes"), "raw": headline[key]["raw"], "n": headline[key]["n"]}
    attribution = []
    for (name, cls) in sorted(profiled, key=lambda k: (names.index(k[0]), classes.index(k[1]))):
        if name == REFERENCE or (REFERENCE, cls) not in profiled:
            continue
        found = callgrind.attribute(profiled[(name, cls)], profiled[(REFERENCE, cls)])
        found.update(variant=name, **{"class": cls}, delta_pct=delta.get((name, cls)),
                     python_calls=python_calls((allocs.get((name, cls)) or {}).get("python_calls") or {},
                                               (allocs.get((REFERENCE, cls)) or {}).get("python_calls") or {}))
        attribution.append(found)
    problems = [f"{o['job'].kind} (seed {o['job'].seed}): {o['problem']}" for o in outcomes if o["problem"]]
    missing = [f"{n}/{c}" for n in names for c in classes if (n, c) not in headline]
    measured_spread = list(seeds.values())
    return {
        "schema": SCHEMA, "mode": mode.name, "started": started, "wall_s": wall_s,
        "status": "ok" if not problems and not missing else "incomplete",
        "what": ("instructions executed per request on the whole WSGI path (bench.subjects.dispatch_call: "
                 "app(environ, start_response), body read, iterable closed), counted by valgrind "
                 "(cachegrind, no cache simulation) as a process sending n requests less the mean of two "
                 "that send none, forked from the same warmed-up process (gc.freeze after warm-up)"),
        "reference": REFERENCE,
        "classes": {c: {"method": CLASSES[c].method, "path": CLASSES[c].path, "who": CLASSES[c].case.who,
                        "status": CLASSES[c].reply.status} for c in classes},
        "config": {**asdict(mode), "headline_seed": HEADLINE_SEED, "spread_seeds": list(SPREAD_SEEDS),
                   "attribute_pct": ATTRIBUTE_PCT, "change_pct": CHANGE_PCT, "variants": names},
        "environment": {**environment(mode.name), "valgrind": valgrind_version(),
                        "process_environment": fixed_environment(HEADLINE_SEED),
                        "commands": {kind: " ".join(command("valgrind", Job(kind, tool, 0, []), Path("<tmp>")))
                                     for kind, tool in (("count", "cachegrind"), ("attribution", "callgrind"),
                                                        ("alloc", None))}},
        "variants": variants,
        "seed_spread": {"seeds": [HEADLINE_SEED, *SPREAD_SEEDS],
                        "cells": sorted(f"{n}/{c}" for n, c in seeds),
                        "max_pct": max(measured_spread) if measured_spread else None,
                        "per_seed": {str(seed): {f"{n}/{c}": x for (n, c), x in s.items()} for seed, s in spreads.items()},
                        "delta_pct_range": delta_ranges(instructions, spreads),
                        "how": "(max - min) / min of the cell's count over the headline seed and the others; "
                               "measured on these cells only (the others' seed_spread_pct is null)"},
        "allocations_what": ("tracemalloc, started after warm-up, over trace_requests requests with collection "
                             "off: alloc_blocks and alloc_bytes are the blocks and bytes allocated during the "
                             "request and still held when it calls start_response (median), peak_bytes the "
                             "request's peak above its start; gc figures over gc_requests requests with "
                             "collection on, from gc.get_stats deltas"),
        "attribution": attribution,
        "published": compare_published(variants, read_optional(PUBLISHED)),
        "jobs": [{"kind": o["job"].kind, "seed": o["job"].seed, "tool": o["job"].tool, "cells": o["job"].cells,
                  "seconds": o["seconds"], "problem": o["problem"]} for o in outcomes],
        "problems": problems + ([f"not counted: {', '.join(missing)}"] if missing else []),
    }


def valgrind_version() -> str | None:
    path = shutil.which("valgrind")
    if not path:
        return None
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def headline(counts: dict) -> dict:
    """summary.json's ``variants.<name>.counts.<class>``."""
    keys = ("instructions", "delta_pct", "seed_spread_pct", "alloc_blocks", "alloc_bytes", "gc_collections_per_1000",
            "gc_collected_per_1000")
    return {"variants": {name: {"counts": {cls: {k: cell[k] for k in keys} for cls, cell in classes.items()}}
                         for name, classes in counts["variants"].items()}}


def history_record(counts: dict) -> dict:
    return {"started": counts["started"], "mode": counts["mode"], "git_commit": counts["environment"].get("git_commit"),
            "wall_s": counts["wall_s"], "seed_spread_max_pct": counts["seed_spread"]["max_pct"],
            "instructions": {f"{n}/{c}": cell["instructions"] for n, cs in counts["variants"].items()
                             for c, cell in cs.items()}}


def skipped(reason: str) -> dict:
    return {"schema": SCHEMA, "status": "skipped", "reason": reason,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "variants": {}}


@entry_point
def main() -> int:
    mode = QUICK if flag("QUICK") else FULL
    names = [v.name for v in selected_variants()]
    names = ([REFERENCE] if REFERENCE not in names else []) + names
    classes = list(CLASSES)
    valgrind = shutil.which("valgrind")
    if not valgrind:
        reason = f"valgrind is not installed ({INSTALL_HINT})"
        print(f"count: skipped: {reason}", flush=True)
        record_stage("count", "counts.json", skipped(reason), out=OUT)
        return 0
    started, clock = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.monotonic()
    workers = max(1, min(os.cpu_count() or 1, 4))
    headline_jobs, other_jobs = plan_jobs(mode, names, classes)
    print(f"make count: {mode.name} run, {len(names)} variants x {len(classes)} classes, {mode.n} requests per count, "
          f"seed {HEADLINE_SEED} (spread: seeds {', '.join(map(str, SPREAD_SEEDS))}), {workers} processes at a time",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="counts-") as tmp:
        runner = Runner(valgrind, Path(tmp))
        progress = Progress("count", sum(j.cells for j in headline_jobs + other_jobs))
        try:
            with ThreadPoolExecutor(workers) as pool:
                first = [pool.submit(runner.run, job, i, progress) for i, job in enumerate(headline_jobs)]
                later = [pool.submit(runner.run, job, i, progress) for i, job in enumerate(other_jobs)]
                done = [f.result() for f in first]
                instructions = {}
                for o in done:
                    instructions.update({k: c["instructions"] for k, c in counted_cells(o).items()})
                attribution = plan_attribution(mode, attribution_cells(instructions, mode.attribution_cells), classes)
                if attribution:
                    profiling = Progress("count: callgrind", sum(j.cells for j in attribution))
                    later += [pool.submit(runner.run, job, i, profiling) for i, job in enumerate(attribution)]
                outcomes = done + [f.result() for f in later]
        except KeyboardInterrupt:
            runner.stop_all()
            raise
        finally:
            progress.close()
        counts = assemble(mode, names, classes, outcomes, started, round(time.monotonic() - clock, 1))
    record_stage("count", "counts.json", counts, headline(counts), out=OUT)
    append_history(OUT / "counts_history.json", history_record(counts))
    print_summary(counts)
    return 0 if counts["status"] == "ok" else 1


def print_summary(counts: dict) -> None:
    v = counts["variants"]
    print(f"count: {counts['mode']} run in {counts['wall_s']:.0f} s; "
          f"seed spread at most {counts['seed_spread']['max_pct']}% over {len(counts['seed_spread']['cells'])} cells")
    for cls in counts["classes"]:
        row = sorted((cells[cls]["instructions"], name) for name, cells in v.items() if cls in cells)
        if row:
            ref = (v.get(REFERENCE) or {}).get(cls, {}).get("instructions")
            print(f"  {cls:<12} {REFERENCE} {ref:,.0f}; fewest {row[0][1]} ({(v[row[0][1]][cls]['delta_pct'] or 0):+.1f}%), "
                  f"most {row[-1][1]} ({(v[row[-1][1]][cls]['delta_pct'] or 0):+.1f}%)")
    published = counts["published"]
    if published["file"]:
        print(f"  against {published['file']}: {published['compared']} cells compared, "
              f"{len(published['flagged'])} moved more than {CHANGE_PCT}%")
        for f in published["flagged"]:
            print(f"  changed: {f['variant']} on {f['class']}: {f['published']:,.0f} -> {f['now']:,.0f} "
                  f"instructions ({f['change_pct']:+.2f}%)")
    for problem in counts["problems"]:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"  wrote {OUT / 'counts.json'}, {OUT / 'counts_history.json'} and the headline in {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
