"""The verdict in at most five lines: the report's first screen, and the end of ``make bench`` in the terminal.

Each line is computed from the results: which idioms are dearer or cheaper than ``jsonify_tuple``, by
how many µs [95% CI] on which status class, and what that is as a share of the request's server CPU
over HTTP (those surely under ``SMALL_PCT`` of it named with their estimate only); which are equivalent
within the margin, and what is not resolved or not measured; what larger bodies change (``bodies``, from
the payload sweep, when it ran); and, in one line, what limits all of it. The verdicts are the whole-request stage's (``request.json``), by
equivalence against a stated margin; without that stage, the load stage's own differences over HTTP,
said to be so. No p-values, no groups "within noise", no ratios to a floor. ``harness.pipeline`` prints
the same lines (``terminal``) at the end of ``make bench``.
"""
from __future__ import annotations

import math
import statistics
import textwrap

from reports.data import REFERENCE, Results
from reports.format import f_delta, f_num, f_signed, name_of, plain, plural
from variants.contract import SCENARIOS

MAX_LINES = 5
WIDTH = 100  # the terminal's columns for the closing verdict
SMALL_PCT = 1.0  # of a request's server CPU over HTTP: differences surely under it are named, not detailed


def label(r, name: str) -> str:
    """An idiom's name, marked when it is not a correct JSON idiom."""
    kind = r.kind(name)
    return name_of(name) + {"divergent": " (declared divergence)", "broken": " (fails the contract)"}.get(kind, "")


def basis(r):
    """("request" | "http" | None, {name: {class: Δ}}, {class: margin µs}): the figures the verdict is read from."""
    if r.request:
        found = {n: {c: d for c in r.classes() if (d := r.request_delta(n, c))} for n in r.request["variants"]}
        return "request", found, r.request.get("margin_us") or {}
    found = {n: {c: d for c in r.classes() if (d := r.http_delta(n, c))} for n in r.names}
    found = {n: by for n, by in found.items() if by}
    if found:
        return "http", found, r.http_delta_facts().get("margin_us") or {}
    return None, {}, {}


def full_runs(r) -> list:
    """The whole-request history's full-mode records (this run's included, when it was a full run): those timed
    the way the newest was (``method``), once there are two; until then all of them, methods mixed. Among those, the
    ones on the newest run's Python, once there are two (another Python is another environment, not the next run);
    until then the Pythons stay mixed and ``run_spread`` says so."""
    runs = [h for h in r.request_history if h.get("mode") == "full"]
    for key in ("method", "python"):
        same = [h for h in runs if h.get(key) == runs[-1].get(key)] if runs else []
        runs = same if len(same) >= 2 else runs
    return runs


def run_spread(r, name: str, cls: str):
    """A headline Δ across the full runs in request_history.json: {"n", "min", "max", "sd", "cpus", "pythons"}, or None
    under two."""
    values, pct, cpus, pythons = [], [], set(), set()
    for h in full_runs(r):
        x = ((h.get("delta_us") or {}).get(name) or {}).get(cls)
        if isinstance(x, (int, float)):
            values.append(float(x))
            cpus.add(h.get("cpu_model") or "unrecorded CPU")
            pythons.add(h.get("python") or "unrecorded Python")
            ref = (h.get("reference_us") or {}).get(cls)
            pct.append(100 * x / ref if isinstance(ref, (int, float)) and ref > 0 else None)
    if len(values) < 2:
        return None
    # the Δ as a share of that run's jsonify_tuple request: the unit that travels when the machine's speed moves
    # between runs (jsonify_tuple's request took 282 µs in one full run here and 92 µs in another)
    relative = pct if None not in pct else None
    return {"n": len(values), "min": min(values), "max": max(values), "sd": statistics.stdev(values),
            "pct_min": min(relative) if relative else None, "pct_max": max(relative) if relative else None,
            "cpus": sorted(cpus), "pythons": sorted(pythons)}


def f_spread(s: dict) -> str:
    # the share of each run's reference where the history has it (the SD stays in the spread table), else the SD
    return (f"{s['n']} full runs {f_signed(s['min'])}..{f_signed(s['max'])} µs"
            + (f", {f_signed(s['pct_min'], 1)}..{f_signed(s['pct_max'], 1)}% of jsonify_tuple's request"
               if s.get("pct_min") is not None else f", SD {f_num(s['sd'])}")
            + (f", on {len(s['cpus'])} CPUs" if len(s["cpus"]) > 1 else "")
            + (f", on Pythons {' and '.join(s['pythons'])}" if len(s.get("pythons") or ()) > 1 else ""))


def f_spread_short(s: dict) -> str:
    """The spread as the first screen gives it: the range over the full runs (the table below has the SD and the
    share of each run's reference); a mix of CPUs or Pythons is said."""
    return (f"{s['n']} full runs {f_signed(s['min'])}..{f_signed(s['max'])} µs"
            + (f" on {len(s['cpus'])} CPUs" if len(s["cpus"]) > 1 else "")
            + (f", Pythons {' and '.join(s['pythons'])}" if len(s.get("pythons") or ()) > 1 else ""))


def figure(r, name: str, cls: str, d: dict, server_us) -> str:
    """One difference as the lines state it: Δ [CI] on the class, % of a request (of its server CPU over HTTP, as the
    caveats line says), run-to-run range."""
    text = f"{f_delta(d)} on {cls}"
    extras = []
    if server_us:
        extras.append(f"{100 * d['estimate'] / server_us:.1f}% of a request")
    spread = run_spread(r, name, cls)
    if spread:
        extras.append(f_spread_short(spread))
    return text + (f" ({'; '.join(extras)})" if extras else "")


def by_verdict(found: dict, verdict: str) -> dict:
    return {n: {c: d for c, d in by.items() if d.get("verdict") == verdict} for n, by in found.items()
            if n != REFERENCE and any(d.get("verdict") == verdict for d in by.values())}


def assured(d: dict, sign: int) -> float:
    """How large a difference of this sign the run is sure of: its 95% interval's bound nearest zero."""
    lo, hi = d["ci95"]
    return lo if sign > 0 else -hi


def leading(by_class: dict, sign: int) -> tuple:
    """How an idiom's resolved classes rank for the first screen (smallest first): the contract's scenarios
    (success, created, unauthorized, admin: timed in every round) before the error paths' classes (timed in
    every third, so fewer requests and heavier tails), then by ``assured``."""
    return sorted(by_class, key=lambda c: (c not in SCENARIOS, -assured(by_class[c], sign)))


def also(by_class: dict, classes: list) -> str:
    """The other classes an idiom shows the same difference on: named with the range of their estimates (two at
    most), else counted; the decision table below has each one with its interval."""
    if not classes:
        return ""
    values = sorted(by_class[c]["estimate"] for c in classes)
    span = f"{values[0]:+.1f} µs" if len(values) == 1 else f"{values[0]:+.1f} to {values[-1]:+.1f} µs"
    where = ", ".join(classes) if len(classes) <= 2 else f"{len(classes)} other classes"
    return f", also on {where} ({span})"


def small(d: dict, server_us) -> bool:
    """A difference the run is sure is under ``SMALL_PCT`` of a request's server CPU over HTTP: its whole 95% interval
    is. Such idioms are named with their estimate only, after the ones that matter."""
    return bool(server_us) and 100 * max(abs(x) for x in d["ci95"]) / server_us < SMALL_PCT


def differences(r, found: dict, verdict: str, server_us) -> str:
    """The idioms with a difference of one sign, the largest first by the bound of its interval nearest zero (what
    the run is sure of), the contract's scenarios before the error paths' classes (``leading``): a class timed on
    few requests, with a wide interval (server_error), does not lead an idiom's line for an estimate the next run
    will not repeat (jsonify_status_code's +8.6 µs [+3.8, +13.4] on server_error did in one full run, -4.0 to +8.6
    over 13). An idiom whose leading difference is surely under ``SMALL_PCT`` of a request over HTTP is named with
    its estimate only, at the end: a first screen is read for what matters, the decision table has the rest."""
    chosen = by_verdict(found, verdict)
    sign = 1 if verdict == "dearer" else -1

    def first(n):
        c = leading(chosen[n], sign)[0]
        return (c not in SCENARIOS, -assured(chosen[n][c], sign))

    parts, minor = [], []
    for n in sorted(chosen, key=first):
        classes = leading(chosen[n], sign)
        d = chosen[n][classes[0]]
        if small(d, server_us):
            more = len(classes) - 1
            minor.append(f"{label(r, n)} {f_signed(d['estimate'])} on {classes[0]}"
                         + (f" and {plural(more, 'other class', 'other classes')}" if more else ""))
        else:
            parts.append(f"{label(r, n)} {figure(r, n, classes[0], d, server_us)}{also(chosen[n], classes[1:])}")
    if minor:
        parts.append(f"by under {SMALL_PCT:g}% of a request (µs): " + ", ".join(minor))
    return "; ".join(parts) if parts else "none resolved"


def setting(r, source: str) -> str:
    """Where and on what the figures were measured: the method, the CPU, the payload."""
    sizes = sorted(set(r.payload_bytes().values()))
    payload = (f"tiny contract bodies of {sizes[0]}–{sizes[-1]} bytes" if len(sizes) > 1 else
               f"tiny contract bodies of {sizes[0]} bytes" if sizes else "the contract's bodies")
    if source == "request":
        how = f"whole request in process, GC {r.request.get('gc') or 'on'}"
        machine = r.machine("request")
    else:
        how = "app time over HTTP, as the whole-request stage did not run"
        machine = r.machine("load")
    return f"{how}, {machine}, {payload}"


def margins_text(margins: dict, classes: list) -> str:
    values = [margins[c] for c in classes if margins.get(c)]
    if not values:
        return "the margin"
    low, high = min(values), max(values)
    return f"±{f_num(low)} µs" if round(low, 2) == round(high, 2) else f"±{f_num(low)}–{f_num(high)} µs"


def equivalence(r, found: dict, margins: dict, source: str) -> str:
    """The idioms equivalent on every class by name; those equivalent on some, with how many (most first)."""
    classes = r.classes()
    every, some = [], []
    for n, by in found.items():
        if n == REFERENCE:
            continue
        eq = [c for c in classes if (by.get(c) or {}).get("verdict") == "equivalent"]
        if eq and len(eq) == len(by) == len(classes):
            every.append(n)
        elif eq:
            some.append((len(eq), len(by), n))
    what = ("1% of jsonify_tuple's request" if source == "request" else
            "1% of a request's server CPU, or the A/A interval where wider")
    text = f"**Equivalent** to {name_of(REFERENCE)} within the margin ({margins_text(margins, classes)}, {what})"
    if not every and not some:
        return text + ": none shown to be."
    parts = []
    if every:
        parts.append("on every class: " + ", ".join(label(r, n) for n in every))
    if some:
        some.sort(key=lambda x: -x[0])  # most classes first; stable: the report's order among equals
        parts.append("on some: " + ", ".join(f"{name_of(n)} ({k} of {of})" for k, of, n in some))
    return text + " " + "; ".join(parts) + "."


def bodies(r) -> str | None:
    """Larger bodies in one line, from the payload sweep (``payloads.json``; None without it): the reference's
    request at a typical size (the one timed nearest 10 KB) and at the largest, and against it, in % of its request,
    each idiom resolved at the largest size, with the widest half-width of their 95% intervals; the others as the
    widest bound of their intervals at both sizes."""
    from reports.sections.payloads import payloads_data

    p = payloads_data(r)
    cost = (p or {}).get("cost") or {}
    kb = ((p or {}).get("config") or {}).get("sizes_kb") or {}
    sizes = sorted((e for e in kb if e in (cost.get(REFERENCE) or {})), key=kb.get)
    if len(sizes) < 2:
        return None
    large = sizes[-1]
    typical = min(sizes[:-1], key=lambda e: abs(math.log(max(kb[e], 1e-3) / 10.0)))
    at = (typical, large)

    def pct(name, e):
        return ((cost.get(name) or {}).get(e) or {}).get("delta_pct") or {}

    def verdict(name, e):
        return (((cost.get(name) or {}).get(e) or {}).get("delta_us") or {}).get("verdict")

    names = [n for n in r.names if n in cost and n != REFERENCE] + [n for n in cost if n not in r.names and n != REFERENCE]
    names = [n for n in names if all(pct(n, e).get("estimate") is not None for e in at)]
    resolved = sorted((n for n in names if verdict(n, large) in ("cheaper", "dearer")),
                      key=lambda n: (round(pct(n, large)["estimate"]), pct(n, typical)["estimate"]))
    rest = [n for n in names if n not in resolved]
    ref = [cost[REFERENCE][e]["us"]["estimate"] for e in at]

    def f_time(us):
        return f"{f_num(us / 1000, 1)} ms" if us >= 1000 else f"{f_num(us, 0)} µs"

    def f_size(e):
        return f"{f_num(kb[e], 0 if kb[e] >= 10 else 1)} KB"

    text = (f"**Larger bodies** (the same whole request, payload sweep): {name_of(REFERENCE)}'s request takes "
            f"{f_time(ref[0])} at {f_size(typical)} and {f_time(ref[1])} at {f_size(large)}")
    if resolved:
        widest = max((pct(n, e)["ci95"][1] - pct(n, e)["ci95"][0]) / 2 for n in resolved for e in at)
        text += ("; against it " + ", ".join(f"{label(r, n)} {f_signed(pct(n, typical)['estimate'], 0)}% and "
                                              f"{f_signed(pct(n, large)['estimate'], 0)}%" for n in resolved)
                 + f" (95% CIs ±{widest:.1f} points at most)")
    if rest:
        bound = max(abs(x) for n in rest for e in at for x in (pct(n, e).get("ci95") or [0.0]))
        text += (f"; the other {len(rest)} within ±{bound:.1f}% at both (95% CI)" if resolved else
                 f"; every idiom within ±{bound:.1f}% of it at both (95% CI)")
    return text + " (which types each one serialises: the decision table)."


def unresolved(r, found: dict, source: str) -> str:
    """A count per status class, not a list: the decision table below has every cell; idioms resolved on no
    class are named."""
    chosen = by_verdict(found, "unresolved")
    classes = r.classes()
    cells = sum(len(by) for n, by in found.items() if n != REFERENCE)
    count = {c: sum(c in by for by in chosen.values()) for c in classes}
    every = [n for n, by in chosen.items() if len(by) == len(classes)]
    total = sum(count.values())
    text = "**Not resolved** (the interval neither excludes 0 nor fits inside the margin): "
    if not total:
        text += "none"
    else:
        text += (f"{total} of {cells} idiom-and-class cells ("
                 + ", ".join(f"{c} {count[c]}" for c in classes if count[c]) + "; each in the decision table)")
        if every:
            text += f"; on every class: {', '.join(label(r, n) for n in every)}"
    missing = [n for n in r.names if n != REFERENCE and n not in found]
    if missing:
        where = "request.json" if source == "request" else "the load stage's differences"
        text += f". **Not measured**: {', '.join(label(r, n) for n in missing)} (not in {where})"
    return text + "."


def served_instead(r, name) -> str:
    """What a divergent idiom was seen to serve where the contract wants application/json, from its facts."""
    media = {f["fact"]: f for f in ((r.conformance or {}).get(name) or {}).get("facts", [])}
    seen = media.get("html_for_json") or media.get("other_media_type")
    if seen is None:
        return f"{name_of(name)} departs from the contract"
    where = "" if seen["fact"] == "html_for_json" else f" on {len(seen['cases'])} cases"
    return f"{name_of(name)} serves {seen['detail'].split(';')[0]}{where}"


def caveat_line(r, source, server_us) -> str:
    """What limits the lines above, in one line."""
    parts = []
    if r.conformance is not None:
        correct = r.correct()
        divergent = [n for n in r.names if r.kind(n) == "divergent"]
        broken = [n for n in r.names if r.kind(n) == "broken"]
        text = f"**{len(correct)} of {len(r.names)} idioms meet the contract**"
        if divergent:
            text += f" ({'; '.join(served_instead(r, n) for n in divergent)}: declared divergences, never the recommendation)"
        if broken:
            text += f"; **{', '.join(name_of(n) for n in broken)} fail{'s' if len(broken) == 1 else ''} it**"
        parts.append(text)
    else:
        parts.append("**Correctness unknown** (no conformance results)")
    if r.mode == "quick":
        parts.append("a quick run: indicative")
    if source == "request":
        parts.append(f"run-to-run: {plural(len(full_runs(r)), 'full run')} in request_history.json, spread beside each figure"
                     if len(full_runs(r)) >= 2 else "one run: run-to-run spread not yet measured")
    if server_us:
        parts.append(f"% of a request: of the server's CPU per request over HTTP, {f_num(server_us, 0)} µs")
    elif source:
        parts.append("no load stage: no % of a request over HTTP")
    if source:
        from reports.sections.verdict import deltas

        found = deltas.disagreements(r)
        clock = sum(x["kind"] == "clock" for x in found)
        if found:
            parts.append(f"construction, whole request and HTTP disagree on {plural(len(found), 'idiom and class', 'idioms and classes')}"
                         + (f" ({len(found) - clock} only by another method's wider margin)" if clock < len(found) else "")
                         + ", each explained under Methods side by side")
        else:
            parts.append("construction, whole request and HTTP do not contradict each other")
    if source == "request":
        cal = r.request.get("calibration") or {}
        planted = ((r.request.get("targets") or {}).get("planted_within_pct") or {})
        if planted.get("met") is False and cal.get("planted_ns"):
            said = (f"**the planted {f_num(cal['planted_ns'] / 1000)} µs came back as "
                    f"{f_num((cal.get('measured_ns') or 0) / 1000)} µs**")
            lo, hi = (cal.get("ci95") or [None, None])[:2]
            if lo is not None and hi is not None and lo <= cal["planted_ns"] <= hi:
                # a miss inside its own interval: the run's resolution, and a spin's cost in place is itself known
                # to about ±10% (README, "The whole request, in process")
                parts.append(f"{said} [{f_num(lo / 1000)}, {f_num(hi / 1000)}]: its interval covers the planted cost, "
                             f"but a difference that small is resolved only roughly here")
            else:
                parts.append(f"{said}: differences that small are not to be trusted here")
        warnings = r.request.get("warnings") or []
        if warnings:
            parts.append(f"{plural(len(warnings), 'warning')} from the whole-request stage (see Caveats)")
    return "Caveats: " + "; ".join(parts) + "."


def lines(r: Results) -> list:
    """The verdict, at most five lines of Markdown."""
    source, found, margins = basis(r)
    server_us = r.server_request_cpu_us()
    if source is None:
        out = [f"**Not measured against {name_of(REFERENCE)}**: "
               + r.stage_note("request", "whole-request", ("request.json",))
               + (" **Over HTTP: no load results.** " + r.stage_note("load", "load", ("load.json",)) if not r.load else
                  " Over HTTP: the load stage recorded no differences per status class.")]
        return out + [caveat_line(r, None, server_us)]
    out = [f"**Dearer than {name_of(REFERENCE)}** ({setting(r, source)}): {differences(r, found, 'dearer', server_us)}.",
           f"**Cheaper**: {differences(r, found, 'cheaper', server_us)}.",
           equivalence(r, found, margins, source) + " " + unresolved(r, found, source),
           bodies(r),
           caveat_line(r, source, server_us)]
    out = [x for x in out if x]
    return out[:MAX_LINES]


def terminal(folder, width: int = WIDTH) -> list:
    """The same lines as plain text, for the end of ``make bench``: each a "- " item wrapped to ``width`` columns,
    its continuation indented by two."""
    out = []
    for line in lines(Results(folder)):
        out += textwrap.wrap(plain(line), width=width, initial_indent="- ", subsequent_indent="  ",
                             break_long_words=False, break_on_hyphens=False)
    return out
