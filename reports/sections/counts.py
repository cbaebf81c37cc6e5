"""Instructions and allocations per request: deterministic costs (make count), where the extra instructions
go, what an instruction costs in time here, and where counts and timings order two idioms differently."""
from __future__ import annotations

import statistics

from reports import charts
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
from reports.format import f_num, name_of, plural

TITLE = "Instructions and allocations per request"
DISAGREE_PCT = 3.0  # pairs further apart than this in instructions must be ordered alike by the timings


def f_delta(x, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:+,.{digits}f}"


def build(ctx) -> list:
    r = ctx.data
    c = r.counts
    if not c:
        return [Note("Missing", r.stage_note("count", "instruction count", ("counts.json",)))]
    if c["skipped"]:
        return [Note("Skipped", f"The count stage did not run: {c['skipped']}. Then `make count`.")]
    ref, classes, v = c["reference"], c["classes"], c["variants"]
    names = [n for n in r.names if n in v]
    order = sorted(names, key=lambda n: mean_delta(v[n]))
    spread = c["seed_spread"]
    cfg = c["config"]
    blocks = [Para(f"**What is counted:** {c.get('what') or 'instructions per request'}. {c.get('mode')} run started "
                   f"{c.get('started')}, {cfg.get('n')} requests per count; hash seed {cfg.get('headline_seed')} in a fixed "
                   f"environment ({code_span(env_line(c['environment'].get('process_environment')))}), so that the "
                   f"same commit gives the same count to the instruction (a test checks it). Source: {ctx.link(c['source'])}."),
              Para(seed_text(spread))]
    ctx.chart(charts.grouped_bars, "counts_delta", order, {cls: {n: v[n].get(cls, {}).get("delta_pct") for n in order}
                                                          for cls in classes},
              title=f"Instructions per request against {ref}, by status class",
              xlabel=f"instructions per request, % more than {ref} on the same class", zero_line=True)
    blocks += [Figure("counts_delta", "Instructions per request against the reference idiom",
                      f"Each idiom's instructions per whole request as % more (or fewer) than {ref}'s on the same status "
                      f"class; counted, not timed, so the bars do not move between runs."),
               Table(["idiom", *[f"{cls}: Δ instructions (Δ%)" for cls in classes], "seed spread"],
                     [[name_of(n) + (" (reference)" if n == ref else ""),
                       *[cell_text(v[n].get(cls), (v.get(ref) or {}).get(cls)) for cls in classes],
                       f_spread(v[n])] for n in order], "l" + "r" * (len(classes) + 1)),
               Para(f"The reference row gives {ref}'s own count; the others, the difference from it. Seed spread: the "
                    f"largest over the classes measured on every seed, (max − min) / min.")]
    if cfg.get("left_out"):  # what a quick run measures less of (bench.count_plan.left_out)
        blocks.append(Para(f"**Less in a {c.get('mode')} run:** " + "; ".join(cfg["left_out"]) + "."))
    blocks += allocations(c, order, classes)
    blocks += attribution(c)
    blocks += per_instruction(r, c, names)
    blocks += published(c)
    for problem in c.get("problems") or []:
        blocks.append(Note("Warning", problem))
    return blocks


def mean_delta(cells: dict) -> float:
    found = [x["delta_pct"] for x in cells.values() if x.get("delta_pct") is not None]
    return statistics.mean(found) if found else 0.0


def env_line(env) -> str:
    return " ".join(f"{k}={x}" for k, x in (env or {}).items()) or "not recorded"


def seed_text(spread: dict) -> str:
    if spread.get("max_pct") is None:
        return "No seed spread was measured in this run."
    ranges = spread.get("delta_pct_range") or {}
    return (f"**Uncertainty:** over hash seeds {', '.join(map(str, spread.get('seeds') or []))} the count moved at most "
            f"**{spread['max_pct']:.2f}%** ({plural(len(spread.get('cells') or []), 'cell')} measured on every seed: "
            f"{', '.join(spread.get('cells') or [])}; the others were counted with the headline seed only). A hash seed "
            f"changes how dicts and sets lay out their keys, so it changes the work itself; it moves the idioms alike, so "
            f"their differences move less" + (": " + "; ".join(f"{cell} {lo:+.2f}% to {hi:+.2f}%" for cell, (lo, hi)
                                                                 in ranges.items()) if ranges else "") + ".")


def cell_text(cell, reference) -> str:
    """The reference's own count; any other idiom's difference from it, and in %."""
    if not cell:
        return "n/a"
    if not reference or cell is reference:
        return f"{cell['instructions']:,.0f}"
    delta = cell["instructions"] - reference["instructions"]
    return f"{f_delta(delta)} ({100 * delta / reference['instructions']:+.1f}%)"


def f_spread(cells: dict) -> str:
    found = [x["seed_spread_pct"] for x in cells.values() if x.get("seed_spread_pct") is not None]
    return f"{max(found):.2f}%" if found else "—"


def allocations(c: dict, order: list, classes: list) -> list:
    v, ref = c["variants"], c["reference"]

    def per_class(n, key, fmt) -> str:
        return " / ".join(fmt(v[n].get(cls, {}).get(key)) for cls in classes)

    def kib(x) -> str:
        return f_num(x / 1024 if x is not None else None, 1)

    def blocks_delta(n) -> str:
        if n == ref:
            return "reference"
        found = []
        for cls in classes:
            mine, theirs = v[n].get(cls, {}).get("alloc_blocks"), (v.get(ref) or {}).get(cls, {}).get("alloc_blocks")
            found.append(f_delta(mine - theirs) if mine is not None and theirs is not None else "n/a")
        return " / ".join(found)

    def gc(n) -> str:
        found = [v[n][cls].get("gc_collections_per_1000") for cls in classes if v[n].get(cls, {}).get("gc_collections_per_1000")]
        return " / ".join(f_num(x[0], 0) for x in found) if found else "n/a"

    if not any(v[n].get(cls, {}).get("alloc_blocks") is not None or v[n].get(cls, {}).get("peak_bytes") is not None
               for n in order for cls in classes):
        return [Note("Missing", "no allocation figures in counts.json.")]
    rows = [[name_of(n), per_class(n, "alloc_blocks", lambda x: f_num(x, 0)), blocks_delta(n),
             per_class(n, "alloc_bytes", kib), per_class(n, "peak_bytes", kib), gc(n),
             per_class(n, "gc_collected_per_1000", lambda x: f_num(x, 0))] for n in order]
    head = "/".join(classes)
    return [Heading(3, "Allocations and garbage collection"),
            Para(f"**What is measured:** {c.get('allocations_what') or 'allocations per request'}."),
            Table(["idiom", f"blocks allocated ({head})", f"Δ blocks against {ref}", f"KiB allocated ({head})",
                   f"peak KiB ({head})", f"gen-0 collections per 1,000 ({head})",
                   f"objects collected per 1,000 ({head})"], rows, "lrrrrrr"),
            Para("Blocks allocated count every allocation a request makes, so they follow the work it does; the peak "
                 "is the most it holds at once. Objects collected are the requests' reference cycles, which only the "
                 "collector frees (an exception with its traceback is one): an idiom that leaves more of them makes "
                 "collections come sooner.")]


def attribution(c: dict) -> list:
    found = c.get("attribution") or []
    if not found:
        why = ("a quick run does not run callgrind" if c.get("mode") == "quick"
               else "no idiom differed from the reference by more than the threshold")
        return [Heading(3, "Where the differences go"), Para(f"No attribution in this run: {why}.")]
    ref = c["reference"]
    blocks = [Heading(3, "Where the differences go"),
              Para(f"For each idiom's largest difference from {name_of(ref)} (more than "
                   f"{c['config'].get('attribute_pct', 2)}%, the largest {len(found)}), callgrind's profile of both, per "
                   f"request. **By source file** (the code's own instructions, so the shares add up to 100%): which part "
                   f"of CPython does the extra work. **Functions** (inclusive, leaving out the interpreter's re-entrant "
                   f"call machinery, whose inclusive counts nest): the C functions below which the difference falls. "
                   f"**Python calls** (cProfile's call counts): the Flask and Werkzeug functions that run more, or less, "
                   f"often.")]
    bullets = []
    details = []
    for a in found:
        head = f"{name_of(a['variant'])} on {a['class']}: {f_delta(a['difference'])} instructions ({f_delta(a.get('delta_pct'), 1)}%)"
        files = ", ".join(f"{f['role'] or code_span(f['file'])} {f_num(f['share_pct'], 0)}%" for f in a["files"][:3])
        python = ", ".join(f"{code_span(p['function'])} {p['calls']:+g}" for p in a.get("python_calls", [])[:3])
        bullets.append(f"{head}: {files}" + (f"; calls {python}" if python else ""))
        details.append(Details(head, [
            Table(["source file", "what it does", "Δ instructions", "share"],
                  [[code_span(f["file"]), f["role"], f_delta(f["instructions"]), f"{f_num(f['share_pct'], 1)}%"]
                   for f in a["files"]], "llrr"),
            Table(["C function (inclusive)", "Δ instructions", "share", "Δ calls"],
                  [[code_span(f["function"]), f_delta(f["instructions"]), f"{f_num(f['share_pct'], 1)}%", f"{f['calls']:+g}"]
                   for f in a["functions"]], "lrrr"),
            Table(["Python function", "Δ calls per request"],
                  [[code_span(p["function"]), f"{p['calls']:+g}"] for p in a.get("python_calls", [])], "lr"),
            Para(f"The bytecode evaluator's own instructions: {f_delta(a['bytecode']['instructions'])} "
                 f"({f_num(a['bytecode']['share_pct'], 1)}% of the difference).")]))
    return blocks + [Bullets(bullets)] + details


def whole_request_times(r, names: list, classes: list):
    """{class: {name: (ns, ci95 in ns)}} of the whole request, and where it comes from: the whole-request
    stage (GC on, its collections included) where it ran, else the microbenchmarks' WSGI call (GC off)."""
    if r.request:
        v = r.request["variants"]
        found = {cls: {n: (1e3 * v[n][cls]["us"]["estimate"], [1e3 * x for x in v[n][cls]["us"]["ci95"]])
                       for n in names if ((v.get(n) or {}).get(cls) or {}).get("us")} for cls in classes}
        return found, (f"the whole-request stage's time (GC on, collections included; {r.request.get('mode')} run "
                       f"started {r.request.get('started')})")
    if r.micro:
        micro = r.micro["variants"]
        found = {}
        for cls in classes:
            found[cls] = {}
            for n in names:
                d = ((((micro.get(n) or {}).get("scenarios") or {}).get(cls) or {}).get("dispatch_ns") or {})
                if d.get("median"):
                    found[cls][n] = (d["median"], d.get("ci95"))
        return found, (f"the microbenchmarks' whole-request time (one in-process WSGI call, GC off, median; "
                       f"{r.micro.get('mode')} run started {r.micro.get('started')})")
    return None, None


def per_instruction(r, c: dict, names: list) -> list:
    """ns per instruction from the whole-request time, and the pairs counts and timings order differently."""
    times, source = whole_request_times(r, names, c["classes"])
    if times is None:
        return [Heading(3, "Time per instruction"),
                Para("No whole-request timings in this run, so no time per instruction: " + r.stage_note(
                    "request", "whole-request", ("request.json",)))]
    v = c["variants"]
    rows, disagree = [], []
    for cls in c["classes"]:
        timed = {n: (ns, ci, v[n][cls]["instructions"]) for n, (ns, ci) in (times.get(cls) or {}).items() if v[n].get(cls)}
        if not timed:
            continue
        ratios = [ns / ins for ns, _, ins in timed.values()]
        lo, hi = min(timed, key=lambda n: timed[n][0] / timed[n][2]), max(timed, key=lambda n: timed[n][0] / timed[n][2])
        rows.append([cls, f"{statistics.median(ratios):.3f}", f"{min(ratios):.3f} ({name_of(lo)})",
                     f"{max(ratios):.3f} ({name_of(hi)})", str(len(timed))])
        for i, a in enumerate(timed):
            for b in list(timed)[i + 1:]:
                (ta, ca, ia), (tb, cb, ib) = timed[a], timed[b]
                if abs(ib / ia - 1) * 100 <= DISAGREE_PCT or (ib > ia) == (tb > ta):
                    continue
                overlap = ca and cb and ca[0] <= cb[1] and cb[0] <= ca[1]
                reason = ("the timings' 95% intervals overlap: within their noise" if overlap else
                          f"an instruction costs {ta / ia:.3f} ns in {a} and {tb / ib:.3f} ns in {b} "
                          f"(cache misses, branch mispredictions and C extension code are not equally dear)")
                more, fewer = (a, b) if ia > ib else (b, a)
                disagree.append(f"{cls}: {name_of(more)} executes {100 * (max(ia, ib) / min(ia, ib) - 1):.1f}% more "
                                f"instructions than {name_of(fewer)} but was timed "
                                f"{'faster' if timed[more][0] < timed[fewer][0] else 'slower'}: {reason}.")
    if not rows:
        return [Heading(3, "Time per instruction"), Para("The timing stages timed none of the counted classes.")]
    blocks = [Heading(3, "Time per instruction"),
              Para(f"{source[0].upper() + source[1:]} over the instructions counted for the same request: what an "
                   f"instruction costs on this machine, ns per instruction."),
              Table(["class", "median over idioms", "lowest", "highest", "idioms"], rows, "lrrrr")]
    if disagree:
        blocks += [Para(f"**Counts and timings disagree** on {plural(len(disagree), 'pair')} more than "
                        f"{DISAGREE_PCT:g}% apart in instructions:"), Bullets(disagree)]
    else:
        blocks.append(Para(f"Counts and timings order every pair more than {DISAGREE_PCT:g}% apart in instructions alike."))
    return blocks


def published(c: dict) -> list:
    p = c.get("published") or {}
    if not p.get("file"):
        return [Para("No published counts to compare with (`reports/published/counts.json`).")]
    flagged = p.get("flagged") or []
    text = (f"Against the published counts ({code_span(p['file'])}, commit {code_span(p.get('published_commit') or '?')}, "
            f"{p.get('published_mode') or '?'} run"
            + (f"; this run differs from it in {', '.join(p['differs'])}, which moves counts" if p.get("differs") else "")
            + f"): {plural(p.get('compared', 0), 'cell')} compared")
    if not flagged:
        return [Para(text + f", none moved more than {c['config'].get('change_pct', 0.5)}%.")]
    return [Note("Changed", text + f"; {plural(len(flagged), 'cell')} moved more than "
                 f"{c['config'].get('change_pct', 0.5)}%: " + "; ".join(
                     f"{f['variant']} on {f['class']} {f['published']:,.0f} → {f['now']:,.0f} ({f['change_pct']:+.2f}%)"
                     for f in flagged) + ".")]
