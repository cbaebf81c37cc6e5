"""The verdict: what the results say, in bullets a team can act on, with caveats and the decision table.

Every number, name and sentence is computed from the results: conformance first, then the
construction cost (``cost``), what it amounts to per request and over HTTP (``end_to_end``, ``http``),
what limits the conclusions (``caveats``) and the idioms side by side (``decision``).
"""
from __future__ import annotations

from reports.document import Bullets, Heading, Para
from reports.format import names_of
from reports.sections.verdict import caveats, cost, decision, end_to_end

TITLE = "Verdict"


def build(ctx) -> list:
    r = ctx.data
    points = conformance_points(r)
    cheapest = cost.points(r, points)
    gains = end_to_end.points(r, points, cheapest)
    recommendation = end_to_end.recommendation(r, cheapest, gains)
    if recommendation:
        points.insert(0, recommendation)
    notes = caveats.caveats(ctx)
    blocks = [Bullets(points)]
    if notes:
        blocks += [Para("**Caveats**"), Bullets(notes)]
    blocks += end_to_end.gains_table(cheapest, gains)
    blocks += [Heading(3, "Decision table for a house style")] + decision.table(r)
    return blocks


def conformance_points(r) -> list:
    if r.conformance is None:
        return ["**Correctness unknown.** " + r.stage_note("verify", "conformance", ("conformance.json",))]
    points = []
    correct = r.correct()
    divergent = [n for n in r.names if r.kind(n) == "divergent"]
    broken = [n for n in r.names if r.kind(n) == "broken"]
    text = (f"**{len(correct)} of {len(r.names)} idioms meet the contract** (status, JSON body, "
            f"Content-Type, WWW-Authenticate on the 401)")
    if divergent:
        text += (f"; {len(divergent)} are declared divergences, timed but not correct: {names_of(divergent)}"
                 + " (" + "; ".join(sorted({divergence_short(r, n) for n in divergent})) + ")")
    points.append(text + ".")
    if broken:
        verify = r.stages.get("verify") or {}
        points.append(f"**Conformance failed**: {names_of(broken)} "
                      f"{'does' if len(broken) == 1 else 'do'} not meet the contract and declare no divergence"
                      + ("; the run stopped before any timing." if verify.get("status") == "failed" else "."))
    return points


def divergence_short(r, name: str) -> str:
    text = r.meta(name).get("divergence") or ""
    return text.split(":")[0].strip() or "declared divergence"
