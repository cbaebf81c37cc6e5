"""Methods side by side.

First the same difference, each idiom against ``jsonify_tuple`` per status class, by three methods:
building the response (micro), the whole request in process, and over HTTP, with their verdicts; where
two disagree, the report names the pair and says why in one line (``reports.sections.verdict.deltas``).
Then the construction estimators: the same ratios measured sequentially, interleaved and by
pytest-benchmark itself, across every run in the histories, to show which repeats and which measures
something else."""
from __future__ import annotations

import statistics

from harness.stats import spread
from reports import charts
from reports.data import REFERENCE
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
from reports.format import f_delta, f_num, f_share, name_of, plural
from reports.sections.verdict import deltas

TITLE = "Methods side by side"
VERDICT = {"dearer": "dearer", "cheaper": "cheaper", "equivalent": "equivalent", "unresolved": "not resolved",
           "reference": "reference", None: "no interval"}
STAGES = (("construct", "micro", "microbenchmark", "micro.json"), ("request", "request", "whole-request", "request.json"),
          ("http", "load", "load", "load.json"))


def cell(d) -> str:
    if not d:
        return "not measured"
    if d.get("verdict") == "reference":
        return "0 (reference)"
    return f"{f_delta(d, ' µs')} {VERDICT.get(d.get('verdict'), d.get('verdict'))}"


def disagreement(x: dict) -> str:
    """One idiom and class on which the methods disagree: what each that disagrees says, and why."""
    return (f"{name_of(x['name'])} on {x['cls']}: "
            + ", ".join(f"{deltas.LABEL[m]} {cell(x['cells'][m])}" for m in deltas.METHODS
                        if x["cells"][m] and any(m in p for p in x["pairs"]))
            + ". Why: " + "; ".join(x["reasons"]) + ".")


def three_methods(ctx) -> list:
    """Per idiom and class: construct, whole-request and HTTP Δ with their verdicts; the disagreements named."""
    r = ctx.data
    classes = r.classes()
    present = {"construct": bool(r.micro), "request": bool(r.request),
               "http": any(r.http_delta(n, c) for n in r.names for c in classes)}
    if not any(present.values()):
        return []
    found = deltas.disagreements(r)
    machines = {"construct": r.machine("micro"), "request": r.machine("request"), "http": r.machine("load")}
    blocks = [Heading(3, f"One difference, three clocks: each idiom against {REFERENCE}"),
              Bullets([f"**{deltas.TITLE[m]}**: {deltas.WHAT[m]}; "
                       + (f"measured on {machines[m]}." if present[m] else "not measured in this run.")
                       for m in deltas.METHODS])]
    missing = [r.stage_note(stage, what, (file,)) for m, stage, what, file in STAGES if not present[m]]
    if missing:
        blocks.append(Note("Not measured", " ".join(missing)))
    if found:
        clock = [x for x in found if x["kind"] == "clock"]
        margin_only = [x for x in found if x["kind"] == "margin"]
        blocks.append(Para(f"**Where the methods disagree**, {plural(len(found), 'idiom and class', 'idioms and classes')} "
                           f"(one says dearer and another cheaper, or one resolves a difference another calls equivalent)"
                           + (f"; {len(margin_only)} of them only because a resolved difference lies inside another "
                              f"method's wider margin" if margin_only else "") + (":" if clock else ".")))
        if clock:
            blocks.append(Bullets([disagreement(x) for x in clock]))
        if margin_only:
            blocks.append(Details(f"The {plural(len(margin_only), 'case')} that only a wider margin explains",
                                  [Bullets([disagreement(x) for x in margin_only])]))
    else:
        blocks.append(Para("**The methods do not contradict each other**: on no idiom and class does one say dearer "
                           "and another cheaper, or one resolve a difference another calls equivalent."))
    rows = []
    flagged = {(x["name"], x["cls"]) for x in found}
    for name in r.names:
        if name == REFERENCE:
            continue
        for cls in classes:
            by = deltas.cells(r, name, cls)
            if any(by.values()):
                rows.append([name_of(name), cls] + [cell(by[m]) for m in deltas.METHODS]
                            + ["**disagree**" if (name, cls) in flagged else ""])
    if rows:
        blocks.append(Details(f"Every idiom and class by the three methods ({plural(len(rows), 'row')})",
                              [Table(["idiom", "class"] + [f"{deltas.LABEL[m]}: Δ µs [95% CI]" for m in deltas.METHODS]
                                     + [""], rows, "llrrrl"),
                               Para("Construction's interval is over the microbenchmark's worker processes (each "
                                    "worker's median less jsonify_tuple's), judged against the whole request's margin; "
                                    "it covers the classes the microbenchmark times.")]))
    return blocks + [Heading(3, "Construction: the estimators side by side")]


def span(values) -> str:
    """min–max of the values (and max/min), ignoring missing ones."""
    values = [x for x in values if x]
    if not values:
        return "n/a"
    s = spread(values)
    return f"{min(values):.1f}–{max(values):.1f}" + (f" ({s:.3f}×)" if s else "")


def build(ctx) -> list:
    r = ctx.data
    first = three_methods(ctx)
    if not r.micro or not r.micro.get("methods"):
        return first + [Note("Missing", r.stage_note("micro", "microbenchmark", ("micro.json",)))]
    methods = r.micro["methods"]
    seq, inter = methods.get("sequential") or {}, methods.get("interleaved") or {}
    names = r.micro_rank()
    runs = [h for h in r.history if isinstance(h.get("interleaved_ratio"), dict)]
    same_mode = [h for h in runs if h.get("mode") == r.micro.get("mode")]
    if len(same_mode) >= 2:  # quick runs have fewer rounds: compare like with like when there are enough
        runs = same_mode
    seq_all = {n: [p["ratio_to_floor"][n] for h in runs for p in h.get("sequential") or [] if n in p.get("ratio_to_floor", {})]
               for n in names}
    inter_all = {n: [h["interleaved_ratio"][n] for h in runs if n in h["interleaved_ratio"]] for n in names}
    this_seq = {n: [p["ratio_to_floor"][n] for p in seq.get("passes") or [] if n in p["ratio_to_floor"]] for n in names}
    if not runs:  # no history: this run only
        seq_all = this_seq
        inter_all = {n: [inter["ratio_to_floor"][n]] for n in names if n in inter.get("ratio_to_floor", {})}

    modes = sorted({h.get("mode", "?") for h in runs})
    passes = sum(len(h.get("sequential") or []) for h in runs) if runs else len(seq.get("passes") or [])
    reference = {n: statistics.median(inter_all[n]) for n in names if inter_all.get(n)}

    def off(data):
        return {n: [100 * (x / reference[n] - 1) for x in data.get(n, []) if x] for n in reference}

    plain_runs = [h for h in r.plain_history if h.get("mode") == r.micro.get("mode")] or r.plain_history
    plain_all = {n: [h["variants"][n]["ratio_to_floor"] for h in plain_runs if n in h["variants"]] for n in names}
    if not plain_runs and r.plain:
        plain_all = {n: [r.plain["variants"][n]["ratio_to_floor"]] for n in names if n in r.plain["variants"]}
    series = {"sequential": off(seq_all), "interleaved": off(inter_all)}
    with_plain = any(plain_all.values())
    if with_plain:
        series["pytest-benchmark"] = off(plain_all)
    ctx.chart(charts.method_strips, "methods", names, series,
              title=f"Ratio to the floor by {len(series)} methods: {plural(len(runs) or 1, 'interleaved run')}, "
                    f"{plural(passes, 'sequential pass', 'sequential passes')}"
                    + (f", {plural(len(plain_runs) or 1, 'pytest-benchmark run')}" if with_plain else ""),
              xlabel="% off the idiom's median interleaved ratio across runs (0 = that median)")
    plain_now = (r.plain or {}).get("variants") or {}
    rows = []
    for n in names:
        row = [name_of(n), f"{f_num(inter.get('ratio_to_floor', {}).get(n), 2)} (± {f_num(inter.get('ci_half_width_pct', {}).get(n), 2)}%)",
               span(inter_all.get(n, [])), span(this_seq.get(n, [])), span(seq_all.get(n, []))]
        if with_plain:
            p = plain_now.get(n) or {}
            row += [f"{f_num(p.get('ratio_to_floor'), 1)} (min: {f_num(p.get('min_ratio_to_floor'), 1)})" if p else "n/a",
                    span(plain_all.get(n, []))]
        if r.counts and r.counts["variants"]:
            row.append(counted_ratio(r.counts, n))
        rows.append(row)
    worst_seq = max(((spread(seq_all[n]) or 1, n) for n in names), default=(None, None))
    worst_int = max(((spread(inter_all.get(n, [])) or 1, n) for n in names), default=(None, None))
    what = [f"**Sequential**, pytest-benchmark's way inside the micro stage's workers (`bench.timing`): {seq.get('what', '')}.",
            f"**Interleaved** (`make micro`): {inter.get('what', '')}."]
    if with_plain:
        what.append(f"**pytest-benchmark itself** (`bench.pytest_benchmark_run`, `{(r.plain or {}).get('raw', 'pytest_benchmark.json')}`): "
                    f"`pytest bench --benchmark-enable`, one benchmark after another "
                    f"({f_num((r.plain or {}).get('max_time_s'), 2)} s each); each idiom's median construct time over "
                    f"the three scenarios, over the floor's median (and the same from the minimums).")
    if r.counts and r.counts["variants"]:
        what.append(f"**Instruction counts** (`make count`, {r.counts.get('mode')} run): the instructions of a whole "
                    f"request (one WSGI call), counted by valgrind, as a ratio to {r.counts['reference']}'s on the same "
                    f"status class, averaged over the classes. A different quantity (the whole request, not the "
                    f"response's construction), but one that does not move between runs.")
    blocks = first + [Bullets(what)]
    if not with_plain:
        blocks.append(Note("Missing", "pytest-benchmark itself: " + r.stage_note("pytest-benchmark", "pytest-benchmark",
                                                                                 ("pytest_benchmark_history.json",))))
    if worst_seq[0] and worst_int[0]:
        floor_ns = ((r.micro["baselines"].get("werkzeug_response") or {}).get("construct_ns") or {}).get("median")
        blocks.append(Para(f"Across {plural(len(runs) or 1, 'run')} ({', '.join(modes) or r.micro.get('mode')} mode), one idiom's "
                           f"ratio to the floor moved up to **{worst_seq[0]:.3f}×** between sequential passes "
                           f"({name_of(worst_seq[1])}) and up to **{worst_int[0]:.3f}×** between interleaved runs "
                           f"({name_of(worst_int[1])}). In this run the floor's own sequential median moved "
                           f"{f_num(seq.get('floor_ns_spread'), 3)}× between passes."
                           + plain_summary(names, plain_all, reference, len(plain_runs) or 1, r.plain, floor_ns)))
    head = ["idiom", "interleaved, this run", f"interleaved, {plural(len(runs), 'run')}: min–max (max/min)",
            "sequential, this run's passes", f"sequential, all {passes} passes"]
    if with_plain:
        head += ["pytest-benchmark, last run", f"pytest-benchmark, {plural(len(plain_runs) or 1, 'run')}"]
    if r.counts and r.counts["variants"]:
        head.append(f"instructions, whole request (× {r.counts['reference']})")
    blocks += [Figure("methods", "The methods side by side",
                      f"{ctx.measured_on('micro')} Per idiom, every sequential pass, every run's interleaved "
                      "estimate and every pytest-benchmark run, as % off the idiom's median interleaved ratio; the line "
                      "spans min to max. A tighter row is a more repeatable method; an offset row measures something else."),
               Table(head, rows, "l" + "r" * (len(head) - 1))]
    if runs:
        blocks.append(Details(f"The {plural(len(runs), 'run')} in micro_history.json",
                              [Table(["started", "mode", "commit", "wall", "steal", "planted ns"],
                                     [[h.get("started", ""), h.get("mode", ""), code_span(h.get("git_commit") or "?"),
                                       f"{f_num(h.get('wall_s'), 0)} s", f_share((h.get('cpu') or {}).get("steal_fraction")),
                                       f_num(h.get("planted_ns"), 0)] for h in runs], "llllrr")]))
    return blocks


def counted_ratio(counts: dict, name: str) -> str:
    """An idiom's instructions per request over the reference's, averaged over the status classes both were counted on."""
    mine, ref = counts["variants"].get(name) or {}, counts["variants"].get(counts["reference"]) or {}
    ratios = [mine[c]["instructions"] / ref[c]["instructions"] for c in mine if c in ref and ref[c].get("instructions")]
    return f"{statistics.mean(ratios):.3f}" if ratios else "n/a"


def plain_summary(names, plain_all, reference, runs, plain=None, floor_ns=None) -> str:
    """How pytest-benchmark's own ratios compare with the interleaved ones, and why they differ."""
    spreads = [(s, n) for n, v in plain_all.items() if (s := spread(v))]
    offsets = [100 * (statistics.median(plain_all[n]) / reference[n] - 1) for n in names if plain_all.get(n) and n in reference]
    if not offsets:
        return ""
    text = f" pytest-benchmark's own ratios sit a median {statistics.median(offsets):+.0f}% off the interleaved ones"
    if spreads:
        worst = max(spreads)
        text += f" and moved up to {worst[0]:.3f}× across its {runs} runs ({name_of(worst[1])})"
    text += "."
    if plain and plain.get("floor_ns") and floor_ns:
        iterations = plain.get("floor_iterations_per_round") or "?"
        text += (f" It timed the floor at {plain['floor_ns']:,.0f} ns per call, {iterations} "
                 f"call(s) per timed round, where the interleaved estimator's blocks of many calls give "
                 f"{floor_ns:,.0f} ns: the clock reads and the call around the subject are inside each of its "
                 f"figures, a large part of the floor's, which is why its ratios to the floor come out smaller.")
    return text
