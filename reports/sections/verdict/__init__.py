"""The verdict: the report's first screen, then the detail.

First, at most five lines (``lines``: dearer, cheaper, equivalent and not resolved, larger bodies, caveats) and one chart:
each idiom's Δ µs against ``jsonify_tuple`` per status class with its 95% interval, the equivalence
margin drawn as a band. Then the decision table (``decision``: Δ per class beside each idiom's
divergences and pitfalls), the run-to-run spread of the headline differences (``spread``), and the
caveats (``caveats``). Every number, name and sentence is computed from the results.
"""
from __future__ import annotations

from reports import charts
from reports.data import REFERENCE
from reports.document import Bullets, Figure, Heading
from reports.format import f_num, name_of
from reports.sections.verdict import caveats, decision, lines, spread

TITLE = "Verdict"


def build(ctx) -> list:
    r = ctx.data
    blocks = [Bullets(lines.lines(r))]
    blocks += chart(ctx)
    blocks += [Heading(3, "Decision table for a house style")] + decision.table(r)
    blocks += spread.blocks(r)
    notes = caveats.caveats(ctx)
    if notes:
        blocks += [Heading(3, "Caveats"), Bullets(notes)]
    return blocks


def sort_key(found: dict):
    """Idioms ordered by their largest difference, dearest on top; the reference where it falls (0)."""
    def key(name):
        values = [d["estimate"] for d in found[name].values() if d and d.get("estimate") is not None]
        return -max(values, key=abs) if values else 0.0
    return key


def chart(ctx) -> list:
    """The first screen's chart: Δ per status class against the reference, CIs, the margin as a band."""
    r = ctx.data
    source, found, margins = lines.basis(r)
    if source is None:
        return []
    classes = r.classes()
    names = sorted((n for n in r.names if n in found), key=sort_key(found))
    sizes = r.payload_bytes()
    rows = [{"label": n + {"divergent": " (declared divergence)", "broken": " (fails)"}.get(r.kind(n), ""),
             "cells": {c: found[n].get(c) for c in classes}} for n in names]
    machine = r.machine(source if source == "request" else "load")
    if source == "request":
        what = f"whole request in process, GC {r.request.get('gc') or 'on'}, {r.request.get('mode') or r.mode} run"
        margin_label = "equivalence margin: ±1% of jsonify_tuple's request"
    else:
        what = "app time over HTTP (one gunicorn worker, Server-Timing)"
        margin_label = "equivalence margin: ±1% of a request's server CPU (or the A/A interval)"
    ctx.chart(charts.delta_panels, "verdict", classes, rows, margins,
              title=f"Δ µs per response against {REFERENCE}, 95% CI, per status class ({what}; {machine})",
              xlabel=f"Δ µs against {REFERENCE} on the same status class (> 0: dearer)",
              panel_titles={c: f"{c} ({sizes[c]} B body, ±{f_num(margins.get(c))} µs)" if c in sizes else c for c in classes},
              margin_label=margin_label)
    caption = (f"{ctx.measured_on(source if source == 'request' else 'load')} Each dot: an idiom's difference from {name_of(REFERENCE)} on one status class "
               f"({'the whole request in process: each app’s WSGI callable, interleaved in rounds, over worker processes' if source == 'request' else 'the app’s time per request over HTTP, over server processes'}); "
               f"whiskers: 95% CI; shaded: the equivalence margin. Colour and marker give the verdict: dearer ▶, "
               f"cheaper ◀, equivalent ●, not resolved ◆. Sorted by the largest difference.")
    return [Figure("verdict", f"Δ µs against {REFERENCE} per status class, 95% CI, equivalence margin shaded", caption)]
