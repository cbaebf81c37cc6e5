"""Construction cost: each idiom's time to build its response, as a ratio to the floor's, and the pairwise tests."""
from __future__ import annotations

from reports import charts
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
from reports.format import f_ci, f_num, f_us, name_of, plus_minus
from variants.contract import SCENARIOS

TITLE = "Construction cost"


def build(ctx) -> list:
    r = ctx.data
    if not r.micro:
        return [Note("Missing", r.stage_note("micro", "microbenchmark", ("micro.json",)))]
    m = r.micro
    v, base = m["variants"], m["baselines"]
    floor = m["config"].get("floor") or "werkzeug_response"
    ranked = r.micro_rank()
    rows = []
    for name in ranked + [b for b in base if b != floor] + ([floor] if floor in base else []):
        e = v.get(name) or base[name]
        ratio, construct = e["ratio_to_floor"]["estimate"], e["construct_ns"]["median"]
        rows.append({"label": name, "estimate": ratio, "ci95": e["ratio_to_floor"]["ci95"],
                     "kind": r.kind(name) if name in v else "baseline",
                     "note": f"{ratio:.{1 if ratio >= 10 else 2}f}× · {f_us(construct, 2 if construct >= 100 else 3)}"})
    ctx.chart(charts.ratio_bars, "construction_cost", rows,
              title=f"Construction cost per response, ratio to the floor ({floor}), 95% CI",
              xlabel=f"time to build the response / the floor's time in the same round (×; 1 = {floor})",
              reference_label=f"floor ({floor}) = 1")
    blocks = [Para(f"**What is measured:** {m.get('ratio_definition') or 'construct time over the floor in the same round'}. "
                   f"Error bars and brackets: 95% CI over worker processes. Source: `{m['source']}`, {m.get('mode')} run "
                   f"started {m.get('started')}."),
              Figure("construction_cost", "Construction cost, ratio to the floor with 95% CI",
                     "Construction cost per response (mean over the status classes), as a ratio to "
                     "the floor; bar labels: ratio and absolute time per call.")]
    table = []
    for name in ranked:
        e = v[name]
        sc = e.get("scenarios") or {}
        table.append([str(e.get("rank", "")), name_of(name), r.verdict(name) or "n/a",
                      f"{f_num(e['ratio_to_floor']['estimate'])} {f_ci(e['ratio_to_floor']['ci95'])}",
                      f"{f_us(e['construct_ns']['median'])} {f_ci([x / 1000 for x in e['construct_ns']['ci95']])}",
                      " / ".join(f_num(sc[s]["construct_ns"]["median"] / 1000) if s in sc else "n/a" for s in SCENARIOS),
                      f_us(e["dispatch_ns"]["median"], 1)])
    for name, e in base.items():
        table.append(["-", f"{name_of(name)} (baseline)", "", f"{f_num(e['ratio_to_floor']['estimate'])} {f_ci(e['ratio_to_floor']['ci95'])}",
                      f"{f_us(e['construct_ns']['median'], 3)}", "", f_us(e["dispatch_ns"]["median"], 1)])
    blocks += [Table(["rank", "idiom", "conformance", "ratio to floor [95% CI]", "construct per call [95% CI]",
                      "µs: " + " / ".join(SCENARIOS), "full dispatch"], table, "rlllrrr"),
               Para("Full dispatch: one in-process WSGI call of the app, as a server makes it (routing, session, "
                    "auth and the idiom; no server, no network), for scale.")]
    facts = controls(m)
    if facts:
        blocks.append(Bullets(facts))
    return blocks + pairwise_tables(r, ranked)


def controls(m: dict) -> list:
    """The microbenchmarks' calibration, the drift the ratios cancel, and their targets."""
    cal, drift = m.get("calibration") or {}, m.get("drift") or {}
    facts = []
    if cal:
        facts.append(f"Calibration: a planted {cal.get('planted_ns'):,} ns busy-wait was measured as "
                     f"{f_num(cal.get('measured_ns'), 0)} ns {f_ci(cal.get('ci95'), 0)} ({cal.get('error_pct', 0):+.2f}%).")
    if drift:
        facts.append(f"Speed drift the ratios cancel: the floor's per-call time ranged {f_num(drift.get('floor_ns_min'), 1)}–"
                     f"{f_num(drift.get('floor_ns_max'), 1)} ns over the rounds (p95/p5 {f_num(drift.get('p95_over_p5'), 3)}×).")
    for key, t in (m.get("targets") or {}).items():
        if isinstance(t, dict) and "met" in t:
            facts.append(f"Target {code_span(key)}: {t.get('target')} → {'met' if t['met'] else '**not met**'} "
                         f"({', '.join(f'{k} {x}' for k, x in t.items() if k not in ('target', 'met'))}).")
    return facts


def pairwise_tables(r, ranked: list) -> list:
    pairs = r.micro["pairwise"]
    if not pairs:
        return [Note("Missing", "no pairwise comparisons in the microbenchmark results.")]

    def row(p):
        state = ("not significant" if not p["significant"] else
                 "significant, under the resolution" if p["below_resolution"] else "**significant**")
        return [f"{name_of(p['b'])} takes {f_num(p['ratio'], 3)} ± {f_num(plus_minus(p['ci95']), 3)}× as long as {name_of(p['a'])}",
                f_ci(p["ci95"], 3), f"{p['p_holm']:.2g}", f"{p['effect_size']:+.2f}", state]

    head = ["B takes x ± y times as long as A", "95% CI of x", "p (Holm)", "effect size", "verdict"]
    neighbours = [p for p in (r.pair(a, b) for a, b in zip(ranked, ranked[1:])) if p]
    return [Heading(3, "Pairwise: neighbours in the ranking"),
            Para("Paired per round, so machine drift cancels. Significant: Holm-corrected p < 0.05 and the CI "
                 "above 1; under the resolution: a significant difference smaller than what back-to-back runs "
                 "reproduce (3%). Effect size: rank-biserial over rounds, +1 = A faster in every round."),
            Table(head, [row(p) for p in neighbours], "lrrrl"),
            Details(f"All {len(pairs)} pairs", [Table(head, [row(p) for p in pairs], "lrrrl")])]
