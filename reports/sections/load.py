"""Load over HTTP: every idiom served by one gunicorn and driven by locust, the time in the app per request
as a ratio to the floor's, the Δ µs per status class against jsonify_tuple with its verdict, the load
shapes and their bottleneck, and how the load test was run."""
from __future__ import annotations

from reports import charts
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
from reports.format import f_ci, f_num, f_pct, f_share, name_of

TITLE = "Load over HTTP"
PERCENTILES = ("p50", "p95", "p99")


def build(ctx) -> list:
    r = ctx.data
    if r.load is None:
        return [Note("Missing", r.stage_note("load", "load", ("load.json",)))]
    load = r.load
    lv, run = load["variants"], load["run"]
    primary, facts = r.primary_shape()
    names = sorted((n for n in r.names if n in lv), key=lambda n: lv[n].get("rank") or 999)
    server = (run.get("server") or "gunicorn_sync").replace("_", " ")
    copies = run.get("apps_per_target")
    blocks = [Para(f"One {server} worker serves every idiom (and the floor, a prebuilt werkzeug Response) "
                   + (f"by {copies} apps each, taking turns a request each (an app's cost moves with its place in "
                      f"memory for the process's life), " if copies and copies > 1 else "")
                   + f"and locust drives them, the idioms interleaved request by request. Layout "
                   f"{run.get('layout', 'n/a')}, {run.get('mode', 'n/a')} mode, {f_num(run.get('duration_s'), 0)} s"
                   + (f", measured {run['date']}" if run.get("date") else "")
                   + (f"; figures from the **{primary}** shape (the primary one)" if primary else "")
                   + f". Source: `{load['source']}`.")]
    if run.get("status") not in (None, "ok") or run.get("incomplete"):
        blocks.append(Note("Incomplete", f"the load run's status is {run.get('status')}; shapes not finished: "
                                         f"{', '.join(run.get('incomplete') or []) or 'none'}."))
    blocks += idiom_table(ctx, names, primary, facts)
    blocks += delta_table(ctx, names, primary, facts)
    series = {p: {n: (lv[n].get("latency_ms") or {}).get(p) for n in names} for p in PERCENTILES}
    if any(x for sr in series.values() for x in sr.values()):
        ctx.chart(charts.grouped_bars, "load_latency", names, series,
                  title=f"Response time seen by the client ({primary or 'each run'}, locust)", xlabel="latency (ms)")
        blocks.append(Figure("load_latency", "Latency percentiles per idiom",
                             "Response-time percentiles per idiom as locust saw them: network, queueing and server together."))
    blocks += shapes_table(run, primary)
    blocks += other_shapes(lv, names, run, primary)
    blocks += how_it_ran(load)
    files = run.get("files") or {}
    links = [ctx.link(p) for group in files.values() for p in (group if isinstance(group, list) else [group])]
    if links:
        blocks.append(Para("Locust's own output and the raw load data: " + ", ".join(links) + "."))
    return blocks


def idiom_table(ctx, names: list, primary, facts: dict) -> list:
    """Per idiom (and the floor): requests, app time and its ratio to the floor's, latency, share of a request."""
    r = ctx.data
    lv, floor, run = r.load["variants"], r.load.get("floor"), r.load["run"]
    reference = next(((lv[n].get("ratio_to_reference") or {}).get("reference") for n in names
                      if lv[n].get("ratio_to_reference")), None)
    rows, chart_rows, blocks = [], [], []
    for name in names + (["(floor)"] if floor else []):
        e = lv.get(name) or floor
        su, cpu, ratio = e.get("server_us") or {}, e.get("server_cpu_us") or {}, e.get("ratio_to_floor") or {}
        lat, share = e.get("latency_ms") or {}, e.get("share_of_request") or {}
        rel = e.get("ratio_to_reference") or {}
        rows.append([str(e.get("rank") or "-"), name_of(name) if name in lv else "floor (baseline)",
                     f"{e.get('requests', 0):,}", f"{e.get('failures', 0):,}" if not e.get("failures") else f"**{e['failures']:,}**",
                     f_num(e.get("rps"), 1), f"{f_num(su.get('p50'), 1)} {f_ci(su.get('ci95'), 1)}",
                     f_num(su.get("p90"), 1), f_num(su.get("p99"), 1),
                     f_num(cpu.get("p50"), 1) + (f" {f_ci(cpu['ci95'], 1)}" if cpu.get("ci95") else ""),
                     f"{f_num(ratio.get('estimate'), 3)} {f_ci(ratio.get('ci95'), 3)}"]
                    + ([f"{f_num(rel.get('estimate'), 3)} {f_ci(rel.get('ci95'), 3)}" if rel else "n/a"]
                       if reference else [])
                    + [" / ".join(f_num(lat.get(p), 2) for p in PERCENTILES),
                       f_pct(share.get("app_pct")), f_pct(share.get("idiom_delta_pct"), 2) if name in lv else ""])
        if ratio.get("estimate") is not None:
            chart_rows.append({"label": name if name in lv else "floor", "estimate": ratio["estimate"], "ci95": ratio.get("ci95"),
                               "kind": r.kind(name) if name in lv else "baseline",
                               "note": f"{ratio['estimate']:.2f}× · {f_num(su.get('mix', su.get('p50')), 0)} µs"})
    if chart_rows:
        ctx.chart(charts.ratio_bars, "load_ratio", chart_rows,
                  title=f"Time in the app per request over HTTP, ratio to the floor ({primary or 'each run'}), 95% CI",
                  xlabel="app time per request / the floor's in the same time window (×; 1 = prebuilt Response)",
                  reference_label="floor = 1")
        blocks.append(Figure("load_ratio", "Time in the app per request over HTTP, ratio to the floor with 95% CI",
                             "Time inside the app per request (Server-Timing, measured in the server) as a ratio to the "
                             "floor's in the same time window; labels: ratio and app µs per request (mean over the endpoints of the median)."))
    head = (["HTTP rank", "idiom", "requests", "failures", "req/s", "app µs p50 [95% CI]", "p90", "p99",
             "app CPU µs p50", "ratio to floor [95% CI]"] + ([f"ratio to {reference} [95% CI]"] if reference else [])
            + ["latency ms p50 / p95 / p99", "app % of request CPU", "idiom Δ % of request CPU"])
    blocks.append(Table(head, rows, "rl" + "r" * (len(head) - 2)))
    per_request = facts.get("server_request_cpu_us") or run.get("server_request_cpu_us")
    blocks.append(Para("App µs: time inside the Flask app per request, measured in the server (Server-Timing). Ratio "
                       "to floor: per time window, the mean over endpoints of the median app time over the floor's in "
                       "the same window; the mean over windows, and over server processes with a Student's t 95% CI "
                       "over their means (one process: a block bootstrap over its windows)"
                       + (f" (the same against {reference}, the mean of its apps' in the window: idioms move together "
                          f"when the machine drifts, the floor less so)" if reference else "") + ". Latency: response times seen by "
                       "locust (network and queueing included). App % of request CPU: the app's CPU over the server's "
                       "whole CPU per request"
                       + (f" ({f_num(per_request, 1)} µs, the server included)" if per_request else "")
                       + "; idiom Δ: the idiom's extra app CPU over the cheapest correct idiom's, as a share of that "
                         "(`share_of_request`, computed by the load stage)."))
    return blocks


def delta_cell(d: dict | None) -> str:
    if not d or d.get("estimate") is None:
        return "n/a"
    if d.get("verdict") == "reference":
        return "(reference)"
    verdict = d.get("verdict", "n/a")
    shown = f"**{verdict}**" if verdict in ("cheaper", "dearer") else verdict
    if verdict == "equivalent" and d.get("margin") is not None:
        shown += f" (±{f_num(d['margin'], 1)})"
    return f"{d['estimate']:+.1f} {f_ci(d.get('ci95'), 1)} {shown}"


def delta_table(ctx, names: list, primary, facts: dict) -> list:
    """Per idiom and status class: Δ µs of app time against jsonify_tuple with its 95% CI and verdict, the
    A/A pair's, and what the stage resolves."""
    lv = ctx.data.load["variants"]
    delta = facts.get("delta") or {}
    classes = delta.get("classes") or []
    cells = {n: lv[n]["delta_us"] for n in names if isinstance(lv[n].get("delta_us"), dict)}
    if not delta or not classes or not cells:
        return []
    reference = delta.get("reference", "jsonify_tuple")
    rows = [[name_of(n)] + [delta_cell(cells[n].get(c)) for c in classes] for n in names if n in cells]
    aa = delta.get("aa") or {}
    if aa:
        apps = ", ".join(delta.get("reference_apps") or []) or "jsonify_tuple"
        rows.append([f"A/A: jsonify_tuple served once more against the reference (the mean of {apps})"]
                     + [delta_cell({**aa[c], "margin": aa[c].get("margin")}) if c in aa else "n/a" for c in classes])
    margins = delta.get("margin_us") or {}
    detectable = delta.get("minimum_detectable_us") or {}
    typical = delta.get("minimum_detectable_median_us") or {}
    per_request = delta.get("server_request_cpu_us")
    blocks = [Heading(3, f"Δ per status class against {reference}"),
              Para(f"Δ, µs per request: {delta.get('what', 'the app time per request')} (a drift shared by a "
                   f"window cancels; with one server process, a block bootstrap over its windows). Verdict (`harness.stats.verdict`, TOST): "
                   f"**equivalent** when the 90% CI lies inside ± the margin, else **dearer** or **cheaper** when the "
                   f"95% CI excludes 0, else unresolved. Margin: {f_num(delta.get('margin_share_pct'), 0)}% of the "
                   f"request's server CPU over HTTP"
                   + (f" ({f_num(per_request, 0)} µs)" if per_request else "")
                   + ", or the A/A interval's half-width on the class where that is wider: "
                   + ", ".join(f"{c} ±{f_num(margins.get(c), 1)} µs ({(delta.get('margin_from') or {}).get(c, 'n/a')})"
                               for c in classes) + "."),
              Table(["idiom"] + [f"{c}: Δ µs [95% CI], verdict" for c in classes], rows, "l" + "r" * len(classes))]
    if detectable:
        blocks.append(Para("Resolution: this stage detects, at 95% with 80% power, differences of at least "
                           + ", ".join(f"{c} {f_num(detectable.get(c), 1)} µs" for c in classes)
                           + " for every idiom (the largest over them; the median idiom's: "
                           + ", ".join(f"{c} {f_num(typical.get(c), 1)} µs" for c in classes) + "). "
                           + ("Δ as % of the request: Δ over its server CPU, "
                              + (f"{f_num(per_request, 0)} µs" if per_request else "n/a") + " (`delta_pct` in the raw data)."
                              if per_request else "")))
    ctx.chart(charts.delta_dots_by_class, "load_delta", [n for n in names if n in cells], classes, cells, margins,
              title=f"Δ app time per request against {reference} over HTTP ({primary or 'each run'}), 95% CI",
              xlabel=f"µs per request, idiom less {reference} (same class, same window); dashed: ± equivalence margin")
    blocks.append(Figure("load_delta", f"Δ µs per status class against {reference} over HTTP, with 95% CI",
                         "One dot per status class with its 95% interval; dashed lines: each class's equivalence "
                         "margin (the narrowest shaded)."))
    return blocks


def shapes_table(run: dict, primary) -> list:
    shapes = run.get("shapes") or {}
    if not shapes:
        return []
    rows = []
    for shape, sh in shapes.items():
        b = sh.get("bottleneck") or {}
        rss = sh.get("rss") or {}
        rows.append([f"**{shape}**" if shape == primary else shape, f_num(sh.get("duration_s"), 0),
                     str(sh.get("servers", 1)), str(sh.get("users", "n/a")),
                     f_num(sh.get("rps"), 1), f"{sh.get('failures', 0):,}", f_share(sh.get("generator_cpu")),
                     f_share(sh.get("server_cpu")), f_share(sh.get("steal_fraction")),
                     f_num(sh.get("server_request_cpu_us"), 1),
                     f_pct(rss.get("growth_pct")) if rss.get("growth_pct") is not None else "n/a",
                     f"**{b.get('verdict', 'n/a')}**" + (f": {b['detail']}" if b.get("detail") else "")])
    return [Heading(3, "Load shapes and the bottleneck"),
            Para("CPU: each process's share of its own core (server and load generator are pinned to one core "
                 "each). A process near 90% of its core or more is the bottleneck; when that is the load "
                 "generator, throughput measures locust rather than the server. Server processes: the shape "
                 "ran once per fresh server process, each with its own memory layout; estimates are means over them."),
            Table(["shape", "seconds", "server processes", "users", "req/s", "failures", "load generator CPU",
                   "server CPU", "steal", "server CPU µs per request", "server memory growth", "bottleneck"],
                  rows, "lrrrrrrrrrrl")]


def other_shapes(lv: dict, names: list, run: dict, primary) -> list:
    """The idiom table of every shape but the primary one, collapsed."""
    blocks = []
    shapes = run.get("shapes") or {}
    for shape in [sh for sh in shapes if sh != primary and any(sh in (lv[n].get("by_shape") or {}) for n in names)]:
        rows = []
        for n in names:
            e = (lv[n].get("by_shape") or {}).get(shape) or {}
            su, ratio = e.get("server_us") or {}, e.get("ratio_to_floor") or {}
            rows.append([str(e.get("rank") or "-"), name_of(n), f_num(e.get("rps"), 1),
                         f"{f_num(su.get('p50'), 1)} {f_ci(su.get('ci95'), 1)}",
                         f"{f_num(ratio.get('estimate'), 3)} {f_ci(ratio.get('ci95'), 3)}",
                         " / ".join(f_num((e.get("latency_ms") or {}).get(p), 2) for p in PERCENTILES),
                         f"{e.get('failures', 0):,}"])
        blocks.append(Details(f"The {shape} shape, per idiom",
                              [Table(["HTTP rank", "idiom", "req/s", "app µs p50 [95% CI]", "ratio to floor [95% CI]",
                                      "latency ms p50 / p95 / p99", "failures"], rows, "rlrrrrr")]))
    return blocks


def how_it_ran(load: dict) -> list:
    """The load test's calibration, A/A check, server and generator settings, targets and warnings."""
    run = load["run"]
    notes = []
    cal = load.get("calibration") or {}
    if cal:
        notes.append(f"Calibration: a planted {cal.get('planted_us')} µs per request measured as {f_num(cal.get('measured_us'), 1)} µs "
                     f"{f_ci(cal.get('ci95'), 1)} ({cal.get('error_pct', 0):+.1f}%).")
        aa = cal.get("aa")
        if isinstance(aa, dict):
            notes.append(f"A/A check: {aa.get('what', 'the same idiom twice')} differs by {f_num(aa.get('diff_us'), 2)} µs "
                         f"{f_ci(aa.get('ci95'), 2)} ({aa.get('pct', 0):+.2f}%"
                         + (f"; {aa['verdict']} within ±{f_num(aa.get('margin_us'), 1)} µs" if aa.get("verdict") else "")
                         + "): differences between idioms smaller than its interval are not resolved.")
    speeds = {shape: sh["speed"] for shape, sh in (run.get("shapes") or {}).items() if isinstance(sh.get("speed"), dict)}
    if speeds:
        per_bin = next(iter(speeds.values())).get("requests_per_bin")
        notes.append(f"Speed: every request's app time is divided by how much slower than usual its server process ran "
                     f"at the time (the median ratio to their target and class's usual time in the run of the {per_bin} "
                     f"requests around it; `loadtests.analysis.relative_speed`), so the ratios, every Δ and the planted pair "
                     f"are at the run's usual speed (app µs percentiles, CPU and latency: as measured). The factors, p5 to p95: "
                     + "; ".join(f"{shape} {f_num(v.get('p5'), 2)} to {f_num(v.get('p95'), 2)}" for shape, v in speeds.items())
                     + " (how far the machine's speed moved within the runs).")
    if run.get("gunicorn"):
        notes.append("gunicorn: " + ", ".join(f"{k}={v}" for k, v in run["gunicorn"].items()) + ".")
    if run.get("locust"):
        notes.append("locust: " + ", ".join(f"{k} {v}" for k, v in run["locust"].items()) + ".")
    for key, t in (run.get("targets") or {}).items():
        if isinstance(t, dict) and "met" in t:
            notes.append(f"Target {code_span(key)}: {'met' if t['met'] else '**not met**'} "
                         f"({', '.join(f'{k} {x}' for k, x in t.items() if k != 'met')}).")
    notes += [f"Warning: {w}" for w in run.get("warnings") or []]
    return [Heading(3, "How it was run"), Bullets(notes)] if notes else []
