"""What limits the verdict: the run's mode, each stage's calibration and warnings, bottlenecks, the machine."""
from __future__ import annotations

from reports.format import f_ci, f_delta, f_num, f_pct, f_share, names_of, young_counts_note
from reports.sections import load as load_section


def aa_pct(r):
    """|A/A difference| in % over HTTP (two app instances of one idiom), or None where not measured."""
    aa = ((r.load or {}).get("calibration") or {}).get("aa")
    return abs(aa["pct"]) if isinstance(aa, dict) and isinstance(aa.get("pct"), (int, float)) else None


def caveats(ctx) -> list:
    r = ctx.data
    notes = []
    if r.mode == "quick":
        notes.append("A quick run: fewer rounds and shorter load tests; see a full run before deciding on small gaps.")
    if r.request:
        notes += request_caveats(r)
    elif r.names:
        notes.append("The whole request was not measured: " + r.stage_note("request", "whole-request", ("request.json",)))
    if r.micro:
        notes += micro_caveats(ctx)
    elif r.names:
        notes.append("**Construction cost unknown.** " + r.stage_note("micro", "microbenchmark", ("micro.json",)))
    if r.load:
        notes += load_caveats(r)
    divergent = [n for n in r.names if r.kind(n) == "divergent"]
    if divergent:
        notes.append(f"Declared divergences ({names_of(divergent)}) are timed for comparison "
                     f"but do not serve JSON; they are never the recommendation.")
    env = r.environment()
    if env.get("cores"):
        notes.append(f"One machine: {env.get('cpu_model', 'unknown CPU')}, {env['cores']} cores. Times in µs move "
                     f"with the machine; what travels is each idiom against jsonify_tuple in the same run, and its "
                     f"share of that machine's request.")
    return notes


def request_caveats(r) -> list:
    """The whole-request stage's controls: margin, resolution, planted costs, A/A, targets, warnings."""
    q = r.request
    notes = []
    classes = r.classes()
    margin, resolution = q.get("margin_us") or {}, q.get("resolution_us") or {}
    detectable = q.get("minimum_detectable_us") or {}
    if margin:
        notes.append(f"Whole request: margin {q.get('margin_definition') or '±1% of jsonify_tuple’s request'} ("
                     + ", ".join(f"{c} ±{f_num(margin.get(c))} µs" for c in classes if c in margin) + ")"
                     + ("; resolution, the A/A pair's 95% interval: "
                        + ", ".join(f"{c} ±{f_num(resolution.get(c))} µs" for c in classes if c in resolution)
                        if resolution else "")
                     + ("; minimum detectable difference: "
                        + ", ".join(f"{c} {f_num(detectable.get(c))} µs" for c in classes if detectable.get(c) is not None)
                        if any(v is not None for v in detectable.values()) else "") + ".")
    cal = q.get("calibration") or {}
    if cal.get("planted_ns"):
        base = (f" (a wait after a {cal['base_wait_ns']:,} ns wait the reference makes too: a spin's first few hundred "
                "ns cost a request less than their wall time)" if cal.get("base_wait_ns") else "")
        text = (f"Whole-request calibration: a planted {cal['planted_ns']:,} ns{base} was measured as "
                f"{f_num(cal.get('measured_ns'), 0)} ns {f_ci(cal.get('ci95'), 0)} ({cal.get('error_pct', 0):+.1f}%)")
        alloc = cal.get("alloc") or {}
        if alloc.get("expected_ns") is not None:
            text += (f"; a planted cost that allocates, {f_num(alloc['expected_ns'], 0)} ns expected, as "
                     f"{f_num(alloc.get('measured_ns'), 0)} ns {f_ci(alloc.get('ci95'), 0)}")
        aa = cal.get("aa") or {}
        if aa.get("ci95"):
            text += (f"; A/A (a second {q.get('reference', 'jsonify_tuple')} app){' on ' + aa['class'] if aa.get('class') else ''}: "
                     f"{f_delta({'estimate': aa.get('delta_us'), 'ci95': aa.get('ci95')})}")
        notes.append(text + ".")
    if q.get("round_noise_pct") is not None:
        notes.append(f"Whole request: one round's sample of an idiom against jsonify_tuple varies by about "
                     f"±{q['round_noise_pct']:g}% (a robust standard deviation of the per-round ratio, over subjects and "
                     f"workers) on this machine; intervals narrow only with the square root of the timed time.")
    if young_counts_note(q.get("young_counts")):
        notes.append(f"Whole request: {young_counts_note(q.get('young_counts'))}")
    notes += [f"Whole request: {w}" for w in q.get("warnings") or []]
    return notes


def micro_caveats(ctx) -> list:
    micro = ctx.data.micro
    notes = []
    cal = micro.get("calibration") or {}
    if cal.get("planted_ns"):
        notes.append(f"Microbenchmark calibration: a planted {cal['planted_ns']:,} ns was measured as "
                     f"{f_num(cal.get('measured_ns'), 0)} ns {f_ci(cal.get('ci95'), 0)} "
                     f"({cal.get('error_pct', 0):+.1f}%).")
    notes += [f"Microbenchmarks: {w}" for w in micro["warnings"]]
    notes.append("Construction cost is only the line that builds the response; routing, auth, the server "
                 f"and the network are the rest of a request ({ctx.ref(load_section)}).")
    return notes


def load_caveats(r) -> list:
    notes = []
    run = r.load["run"]
    for shape, facts in (run.get("shapes") or {}).items():
        bottleneck = facts.get("bottleneck") or {}
        if bottleneck.get("verdict") in ("load generator", "both"):
            notes.append(f"**The load generator was a bottleneck** ({shape}: {bottleneck.get('detail', '')}): "
                         f"that shape's throughput measures locust as much as the server; the times inside "
                         f"the server are still the server's.")
    shape, facts = r.primary_shape()
    bottleneck = facts.get("bottleneck") or {}
    if bottleneck.get("verdict") not in (None, "load generator", "both"):
        notes.append(f"Load bottleneck ({shape} shape, the primary one): {bottleneck['verdict']}"
                     + (f"; {bottleneck['detail']}" if bottleneck.get("detail") else "") + ".")
    if (facts.get("steal_fraction") or 0) >= 0.01:
        notes.append(f"Steal time during the {shape} load: {f_share(facts['steal_fraction'])} of CPU time.")
    cal = r.load.get("calibration") or {}
    if cal.get("planted_us") is not None:
        notes.append(f"Load calibration: a planted {cal['planted_us']} µs per request was measured as "
                     f"{f_num(cal.get('measured_us'), 1)} µs {f_ci(cal.get('ci95'), 1)} ({cal.get('error_pct', 0):+.1f}%).")
    aa = aa_pct(r)
    if aa is not None:
        notes.append(f"Load resolution: the same idiom served twice, by two app instances in one server, "
                     f"differed by {f_pct(aa, 2)} (A/A check); over HTTP, idioms closer than that "
                     f"are not told apart here, whatever their intervals say.")
    notes += [f"Load: {w}" for w in run.get("warnings") or []]
    if run.get("status") not in (None, "ok") or run.get("incomplete"):
        notes.append(f"The load run is {run.get('status')}; shapes not finished: {', '.join(run.get('incomplete') or []) or 'none'}.")
    return notes
