"""``make count``'s analysis: what valgrind counted in each process, per request (the differential), the deltas
against the reference, the spread over seeds, the cells worth attributing, and counts.json, its headline in
summary.json and its history record, assembled from the jobs' outcomes (``bench.count_runner``)."""
from __future__ import annotations

import re
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from bench import callgrind
from bench.count_plan import (ATTRIBUTE_PCT, HEADLINE_SEED, REFERENCE, SCHEMA, Job, Mode, command,
                              fixed_environment, left_out)
from bench.count_published import CHANGE_PCT, compare_published
from bench.count_runner import valgrind_version
from bench.count_worker import CLASSES
from harness.environment import environment
from harness.stats import spread

WHAT = ("instructions executed per request on the whole WSGI path (bench.subjects.dispatch_call: "
        "app(environ, start_response), body read, iterable closed), counted by valgrind "
        "(cachegrind, no cache simulation) as a process sending n requests less the mean of two "
        "that send none, forked from the same warmed-up process (gc.freeze after warm-up)")
ALLOCATIONS_WHAT = ("alloc_blocks and alloc_bytes are every heap block a request allocates (malloc, calloc, realloc), "
                    "freed before it ends or not, counted like the instructions (n = alloc_n) by valgrind's memcheck "
                    "(its heap summary) with PYTHONMALLOC=malloc, so that Python's own allocations are heap blocks "
                    "too (an object reused from one of CPython's free lists is no allocation); peak_bytes is "
                    "tracemalloc's high-water mark during a request above what was held when it started, and the gc "
                    "figures gc.get_stats deltas over gc_requests requests, both outside valgrind")
SIZES_WHAT = ("instructions per request of GET /api/payload/<entry> (bench.payload_semantics: the variant's own app with "
              "the payload route added) on the payload size entries, counted as the classes are (cachegrind, a process "
              "sending n requests less the mean of two sending none), seed HEADLINE_SEED")
HEADLINE_KEYS = ("instructions", "delta_pct", "seed_spread_pct", "alloc_blocks", "alloc_bytes",
                 "gc_collections_per_1000", "gc_collected_per_1000")

# --- what valgrind counted ------------------------------------------------------------------------

_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")
_HEAP = re.compile(r"total heap usage:\s+([\d,]+) allocs,\s+[\d,]+ frees,\s+([\d,]+) bytes allocated")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def counted_in(folder: Path, pid: int) -> dict | None:
    """What valgrind counted in one process from the root process's start: ``{"instructions"}`` from its log
    (cachegrind) or profile (callgrind), ``{"blocks", "bytes"}`` allocated from its log (memcheck's heap summary);
    None if it left none."""
    log = folder / f"vg.{pid}"
    if log.exists():
        text = log.read_text()
        found = _HEAP.search(text)
        if found:
            return {"blocks": _number(found.group(1)), "bytes": _number(found.group(2))}
        found = _IREFS.search(text)
        if found:
            return {"instructions": _number(found.group(1))}
    profile = folder / f"cg.{pid}"
    if profile.exists():
        with open(profile) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return {"instructions": int(line.split()[1])}
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


def differential(counted: int, empty: list, n: int) -> float:
    """Per request: the counting process less the mean of the empty ones, over ``n``."""
    return round((counted - sum(empty) / len(empty)) / n, 1)


def counted_cells(outcome: dict) -> dict:
    """{(variant, class): {<measure> per request, "raw": {<measure>: [count, empty before, empty after]}, "n"}},
    the measures being ``instructions`` (cachegrind) or ``blocks`` and ``bytes`` (memcheck)."""
    cells = {}
    for variant, cls, n, pid, empty in brackets(outcome["events"]):
        found = [counted_in(outcome["folder"], p) for p in (pid, *empty)]
        if None in found or any(set(f) != set(found[0]) for f in found):
            continue  # a process whose count is missing leaves its cell out, never a wrong figure
        cell = {m: differential(found[0][m], [f[m] for f in found[1:]], n) for m in found[0]}
        cells[(variant, cls)] = {**cell, "raw": {m: [f[m] for f in found] for m in found[0]}, "n": n}
    return cells


def profiled_cells(outcome: dict) -> dict:
    """{(variant, class): bench.callgrind.per_request(...)} from a callgrind job."""
    folder, cells = outcome["folder"], {}
    for variant, cls, n, pid, empty in brackets(outcome["events"]):
        paths = [folder / f"cg.{p}" for p in (pid, *empty)]
        if all(p.exists() for p in paths):
            profiles = [callgrind.parse(p) for p in paths]
            cells[(variant, cls)] = callgrind.per_request(profiles[0], profiles[1:], n)
    return cells


# --- what the counts say ---------------------------------------------------------------------------

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
    if not spreads:
        return found
    for (name, cls), x in headline.items():
        key, ref = (name, cls), (REFERENCE, cls)
        if name == REFERENCE or ref not in headline or not all(key in s and ref in s for s in spreads.values()):
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


def size_counts(cells: dict, mode: Mode) -> dict:
    """counts.json's ``sizes.<variant>.<entry>``: instructions per request on each payload size entry, its Δ against
    the reference on the same entry, and the raw counts."""
    found = {}
    for (name, entry), cell in cells.items():
        ref = cells.get((REFERENCE, entry))
        found.setdefault(name, {})[entry] = {
            "instructions": cell["instructions"],
            "delta_pct": round(100 * (cell["instructions"] / ref["instructions"] - 1), 3) if ref else None,
            "raw": cell["raw"]["instructions"], "n": cell["n"]}
    return {name: {e: by_entry[e] for e in mode.sizes if e in by_entry} for name, by_entry in found.items()}


# --- counts.json ---------------------------------------------------------------------------------------

def commands() -> dict:
    """The command line of each kind of job, as recorded in the result (beside the fixed environment)."""
    found = {}
    for kind, tool in (("count", "cachegrind"), ("allocations", "memcheck"), ("attribution", "callgrind"), ("native", None)):
        job = Job(kind, tool, HEADLINE_SEED, [])
        allocator = job.environment().get("PYTHONMALLOC")
        found[kind] = (f"PYTHONMALLOC={allocator} " if allocator else "") + " ".join(command("valgrind", job, Path("<tmp>")))
    return found


def assemble(mode: Mode, names: list, classes: list, outcomes: list, started: str, wall_s: float,
             published: dict | None = None) -> dict:
    """counts.json from every job's outcome; ``published``: the published counts.json, if any."""
    by_kind: dict = {}
    for o in outcomes:
        by_kind.setdefault(o["job"].kind, []).append(o)

    def cells_of(kind: str) -> dict:
        found = {}
        for o in by_kind.get(kind, []):
            found.update(counted_cells(o))
        return found

    headline, allocated = cells_of("headline"), cells_of("allocations")
    spreads = {o["job"].seed: {k: c["instructions"] for k, c in counted_cells(o).items()}
               for o in by_kind.get("spread", [])}
    instructions = {k: c["instructions"] for k, c in headline.items()}
    delta = deltas(instructions)
    seeds = seed_spreads(instructions, spreads)
    native = {(e["variant"], e["class"]): e for o in by_kind.get("native", []) for e in o["events"]
              if e["event"] == "native"}
    profiled = {}
    for o in by_kind.get("attribution", []):
        profiled.update(profiled_cells(o))

    variants = {}
    for name in names:
        for cls in classes:
            key = (name, cls)
            if key not in headline:
                continue
            a, g = allocated.get(key) or {}, native.get(key) or {}
            variants.setdefault(name, {})[cls] = {
                "instructions": instructions[key], "delta_pct": delta.get(key), "seed_spread_pct": seeds.get(key),
                "alloc_blocks": a.get("blocks"), "alloc_bytes": a.get("bytes"),
                "gc_collections_per_1000": g.get("gc_collections_per_1000"),
                "gc_collected_per_1000": g.get("gc_collected_per_1000"), "peak_bytes": g.get("peak_bytes"),
                "raw": headline[key]["raw"]["instructions"], "n": headline[key]["n"],
                "alloc_raw": a.get("raw"), "alloc_n": a.get("n")}
    attribution = []
    for (name, cls) in sorted(profiled, key=lambda k: (names.index(k[0]), classes.index(k[1]))):
        if name == REFERENCE or (REFERENCE, cls) not in profiled:
            continue
        found = callgrind.attribute(profiled[(name, cls)], profiled[(REFERENCE, cls)])
        found.update(variant=name, **{"class": cls}, delta_pct=delta.get((name, cls)),
                     python_calls=python_calls((native.get((name, cls)) or {}).get("python_calls") or {},
                                               (native.get((REFERENCE, cls)) or {}).get("python_calls") or {}))
        attribution.append(found)
    sizes = size_counts(cells_of("sizes"), mode)
    problems = [f"{o['job'].kind} (seed {o['job'].seed}): {o['problem']}" for o in outcomes if o["problem"]]
    missing = [f"{n}/{c}" for n in names for c in classes if (n, c) not in headline]
    unallocated = [f"{n}/{c}" for n in names for c in classes if (n, c) in headline and (n, c) not in allocated]
    measured_spread = list(seeds.values())
    size_names = [n for n in names if not mode.size_variants or n in mode.size_variants]
    sizes_missing = [f"{n}/{e}" for n in size_names for e in mode.sizes if e not in (sizes.get(n) or {})]
    env = {**environment(mode.name), "valgrind": valgrind_version(),
           "process_environment": fixed_environment(HEADLINE_SEED), "commands": commands()}
    return {
        "schema": SCHEMA, "mode": mode.name, "started": started, "wall_s": wall_s,
        "status": "ok" if not problems and not missing else "incomplete",
        "what": WHAT,
        "reference": REFERENCE,
        "classes": {c: {"method": CLASSES[c].method, "path": CLASSES[c].path, "who": CLASSES[c].case.who,
                        "status": CLASSES[c].reply.status} for c in classes},
        "config": {**asdict(mode), "headline_seed": HEADLINE_SEED, "spread_seeds": list(mode.spread_seeds),
                   "attribute_pct": ATTRIBUTE_PCT, "change_pct": CHANGE_PCT, "variants": names,
                   "left_out": left_out(mode)},
        "left_out": left_out(mode),
        "environment": env,
        "variants": variants,
        "seed_spread": {"seeds": [HEADLINE_SEED, *mode.spread_seeds],
                        "cells": sorted(f"{n}/{c}" for n, c in seeds),
                        "max_pct": max(measured_spread) if measured_spread else None,
                        "per_seed": {str(seed): {f"{n}/{c}": x for (n, c), x in s.items()} for seed, s in spreads.items()},
                        "delta_pct_range": delta_ranges(instructions, spreads),
                        "how": "(max - min) / min of the cell's count over the headline seed and the others; "
                               "measured on these cells only (the others' seed_spread_pct is null)"},
        "sizes": sizes,
        "sizes_what": SIZES_WHAT,
        "allocations_what": ALLOCATIONS_WHAT,
        "attribution": attribution,
        "published": compare_published(variants, published, mode.name, env),
        "jobs": [{"kind": o["job"].kind, "seed": o["job"].seed, "tool": o["job"].tool, "cells": o["job"].cells,
                  "seconds": o["seconds"], "problem": o["problem"]} for o in outcomes],
        "problems": problems + ([f"payload sizes not counted: {', '.join(sizes_missing)}"] if sizes_missing else [])
                    + ([f"not counted: {', '.join(missing)}"] if missing else [])
                    + ([f"allocations not counted: {', '.join(unallocated)}"] if unallocated else []),
    }


def headline(counts: dict) -> dict:
    """summary.json's ``variants.<name>.counts.<class>``."""
    return {"variants": {name: {"counts": {cls: {k: cell[k] for k in HEADLINE_KEYS} for cls, cell in classes.items()}}
                         for name, classes in counts["variants"].items()}}


def history_record(counts: dict) -> dict:
    return {"started": counts["started"], "mode": counts["mode"], "git_commit": counts["environment"].get("git_commit"),
            "wall_s": counts["wall_s"], "seed_spread_max_pct": counts["seed_spread"]["max_pct"],
            "instructions": {f"{n}/{c}": cell["instructions"] for n, cs in counts["variants"].items()
                             for c, cell in cs.items()},
            "alloc_blocks": {f"{n}/{c}": cell["alloc_blocks"] for n, cs in counts["variants"].items()
                             for c, cell in cs.items()}}


def skipped(reason: str) -> dict:
    return {"schema": SCHEMA, "status": "skipped", "reason": reason,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "variants": {}}
