"""Between runs: each headline difference's spread over the full runs in ``request_history.json``, beside
this run's own interval (issue 12, point 6). A within-run interval says nothing about the next run."""
from __future__ import annotations

from reports.document import Heading, Para, Table
from reports.format import f_delta, f_num, f_signed, name_of, plural
from reports.sections.verdict import lines

NOT_YET = "one run: run-to-run spread not yet measured"


def aa_rate(history: list):
    """How often the A/A pair (two jsonify_tuple apps) was called different: runs whose 95% interval on a
    class left out 0, over every recorded run (quick and full). None without a recorded A/A interval."""
    per_run = [h["aa_ci95"] for h in history if isinstance(h.get("aa_ci95"), dict) and h["aa_ci95"]]
    if not per_run:
        return None
    cells = [(lo, hi) for run in per_run for lo, hi in run.values()]
    return {"runs": len(per_run), "cells": len(cells), "different": sum(not lo <= 0 <= hi for lo, hi in cells),
            "runs_different": sum(any(not lo <= 0 <= hi for lo, hi in run.values()) for run in per_run)}


def aa_sentence(history: list, runs: list | None = None) -> str:
    """The A/A rate over ``runs`` (the full runs timed as the newest, ``lines.full_runs``), and over every recorded run
    when those are more (quick runs and earlier designs). Without ``runs``: over every recorded run."""
    everything = aa_rate(history)
    if not everything:
        return ""
    found = aa_rate(runs) if runs else None
    rate = lambda f: f"{100 * f['different'] / f['cells']:.1f}%"
    alone = not found or found["runs"] == everything["runs"]
    found = everything if alone else found
    over = (plural(found["runs"], "recorded run") if alone
            else f"the {plural(found['runs'], 'full run')} timed as this one")
    rest = ("" if alone else f", and in {everything['different']} of {everything['cells']} over all "
            f"{plural(everything['runs'], 'recorded run')}, quick runs and earlier designs included ({rate(everything)})")
    return (f" The A/A pair (a second `jsonify_tuple` app) was called different in {found['different']} of "
            f"{found['cells']} status-class intervals over {over} ({rate(found)}; about 5% is what 95% intervals "
            f"allow; {found['runs_different']} of those runs had at least one){rest}.")


def planted_record(history: list):
    """The planted cost as each full run with a record measured it, over the runs that planted it as the newest did
    (the same cost after the same base wait): {"runs", "planted_ns", "base_wait_ns", "mean_ns", "min_ns", "max_ns",
    "within", "within_pct", "covered"} (runs within the target, and whose 95% interval held the planted cost). None
    without two such runs."""
    def design(p: dict) -> tuple:  # what was planted, after what wait
        return p["planted_ns"], p.get("base_wait_ns", 0)

    found = [h["planted"] for h in history if h.get("mode") == "full" and isinstance(h.get("planted"), dict)]
    found = [p for p in found if design(p) == design(found[-1])] if found else []  # the newest run's design only
    if len(found) < 2:
        return None
    planted, measured = found[0]["planted_ns"], [p["measured_ns"] for p in found]
    pct = found[-1]["within_pct"]
    return {"runs": len(found), "planted_ns": planted, "base_wait_ns": found[-1].get("base_wait_ns", 0),
            "mean_ns": sum(measured) / len(measured),
            "min_ns": min(measured), "max_ns": max(measured), "within_pct": pct,
            "within": sum(abs(m - planted) <= pct / 100 * planted for m in measured),
            "covered": sum(p["ci95"][0] <= planted <= p["ci95"][1] for p in found)}


def planted_sentence(history: list) -> str:
    found = planted_record(history)
    if not found:
        return ""
    after = (f"a wait in the view of one app, against the same app without it, both after a "
             f"{f_num(found['base_wait_ns'] / 1e3, 2)} µs wait" if found["base_wait_ns"]
             else "a wait in the view of one app, against the same app without it")
    return (f" The planted {f_num(found['planted_ns'] / 1e3, 2)} µs ({after}) came back over {plural(found['runs'], 'full run')} as {f_num(found['mean_ns'], 0)} ns on "
            f"average ({f_num(found['min_ns'], 0)}..{f_num(found['max_ns'], 0)}), within its ±{f_num(found['within_pct'], 0)}% "
            f"target in {found['within']} of {found['runs']}, its 95% interval holding the planted cost in "
            f"{found['covered']} of {found['runs']}.")


def blocks(r) -> list:
    if not r.request:
        return []
    runs = lines.full_runs(r)
    head = [Heading(3, "Run to run")]
    aa = aa_sentence(r.request_history, runs) + planted_sentence(r.request_history)
    quick = len(r.request_history) - len(runs)
    if len(runs) < 2:
        return head + [Para(f"{NOT_YET[0].upper() + NOT_YET[1:]}: `request_history.json` holds "
                            f"{plural(len(runs), 'full run')}" + (f" ({plural(quick, 'quick run')}, not counted)" if quick else "")
                            + ", and the spread needs two. The intervals above are within this run: over the worker "
                              "processes of one run, on one machine." + aa)]
    _, found, _ = lines.basis(r)
    rows = []
    for name, by in found.items():
        for cls, d in by.items():
            if d.get("verdict") not in ("dearer", "cheaper"):
                continue
            s = lines.run_spread(r, name, cls)
            rows.append([name_of(name), cls, f"{f_delta(d)} {d['verdict']}",
                         f"{f_signed(s['min'])}..{f_signed(s['max'])}" if s else "n/a",
                         f_num(s["sd"]) if s else "n/a",
                         f"{f_signed(s['pct_min'], 1)}..{f_signed(s['pct_max'], 1)}%" if s and s["pct_min"] is not None
                         else "n/a", str(s["n"]) if s else "0",
                         ", ".join(s["cpus"]) if s else ""])
    cpus = sorted({h.get("cpu_model") or "unrecorded CPU" for h in runs})
    pythons = sorted({h.get("python") or "unrecorded Python" for h in runs})
    text = (f"{plural(len(runs), 'full run')} in `request_history.json` ({', '.join(cpus)}; Python "
            f"{', '.join(pythons)}{': different environments, so this spread is not run to run alone' if len(pythons) > 1 else ''}; commits "
            f"{', '.join(sorted({str(h.get('git_commit') or '?') for h in runs}))}). Per headline difference, its "
            f"estimate in each run: min..max and the standard deviation, beside this run's 95% CI." + aa)
    if not rows:
        return head + [Para(text + " No difference is resolved in this run, so there is no headline to follow.")]
    return head + [Para(text + " The same spread as a share of each run's own `jsonify_tuple` request travels better "
                              "when the machine's speed moves between runs."),
                   Table(["idiom", "class", "this run: Δ µs [95% CI]", "full runs: min..max µs", "SD µs",
                          "full runs: % of jsonify_tuple's request", "runs", "CPUs"], rows, "llrrrrrl")]
