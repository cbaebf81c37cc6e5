"""Each idiom's difference from ``jsonify_tuple`` per status class, by the three methods, and where they disagree.

- ``construct``: building the response (``micro.json``): per worker process, the idiom's median construct
  time on the class less ``jsonify_tuple``'s in the same worker; over the workers the trimmed mean, its
  95% interval and the equivalence verdict (``harness.stats.verdict``) against the whole request's margin;
- ``request``: the whole request in process (``request.json``): its own figures and verdict;
- ``http``: the app's time over HTTP (``load.json``, the primary shape): its own figures and verdict.

Verdicts are ``cheaper``, ``dearer``, ``equivalent`` (within the margin) or ``unresolved``; two methods
disagree when one says dearer and another cheaper, or one resolves a difference that another calls
equivalent. Each disagreement gets its reason in one line, from what each clock holds.
"""
from __future__ import annotations

from itertools import combinations

from harness import stats
from reports.data import REFERENCE

METHODS = ("construct", "request", "http")
LABEL = {"construct": "construction", "request": "whole request", "http": "HTTP"}
TITLE = {"construct": "Construction", "request": "Whole request", "http": "Over HTTP"}
WHAT = {"construct": "building the response in the microbenchmark's worker processes (`micro.json`; GC off in "
                     "the timed loops), the idiom's median less jsonify_tuple's in the same worker",
        "request": "the whole request in process, each app's WSGI callable (`request.json`; GC on)",
        "http": "the app's time per request inside one gunicorn worker under load (`load.json`, Server-Timing)"}
RESOLVED = ("cheaper", "dearer")
VERDICTS = ("cheaper", "dearer", "equivalent", "unresolved")


def margin_us(r, cls: str):
    """The equivalence margin on ``cls`` for the in-process methods: the whole-request stage's (1% of
    jsonify_tuple's request), else 1% of jsonify_tuple's in-process dispatch from the microbenchmarks."""
    found = ((r.request or {}).get("margin_us") or {}).get(cls)
    if found:
        return found
    sc = (((r.micro or {}).get("variants") or {}).get(REFERENCE) or {}).get("scenarios") or {}
    dispatch = (sc.get(cls) or {}).get("dispatch_ns", {}).get("median")
    return dispatch / 1000 * 0.01 if dispatch else None


def construct_delta(r, name: str, cls: str):
    """The construct Δ µs on ``cls`` against the reference with its interval and verdict; None where not measured."""
    by = (r.micro or {}).get("construct_by_class") or {}
    mine, ref = (by.get(name) or {}).get(cls), (by.get(REFERENCE) or {}).get(cls)
    if not mine or not ref or mine.get("median") is None or ref.get("median") is None:
        return None
    if name == REFERENCE:
        return {"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"}
    margin = margin_us(r, cls) or 0.0
    a, b = mine.get("per_worker"), ref.get("per_worker")
    if a and b and len(a) == len(b) >= 2:
        found = stats.verdict([(x - y) / 1000 for x, y in zip(a, b)], margin, trim=stats.TRIM)
        return {"estimate": found["estimate"], "ci95": found["ci95"], "verdict": found["verdict"], "margin": margin}
    return {"estimate": (mine["median"] - ref["median"]) / 1000, "ci95": None, "verdict": None, "margin": margin}


def cells(r, name: str, cls: str) -> dict:
    """{method: Δ or None} for one idiom and class."""
    return {"construct": construct_delta(r, name, cls) if r.micro else None,
            "request": r.request_delta(name, cls), "http": r.http_delta(name, cls)}


def conflict(a, b) -> bool:
    va, vb = (a or {}).get("verdict"), (b or {}).get("verdict")
    if {va, vb} == {"dearer", "cheaper"}:
        return True
    return (va in RESOLVED and vb == "equivalent") or (vb in RESOLVED and va == "equivalent")


def gc_note(r, name: str, cls: str) -> str:
    """Where the whole-request stage saw the idiom trigger more collections than the reference: how many."""
    gc = (r.request or {}).get("gc_per_1000") or {}
    mine, ref = (gc.get(name) or {}).get(cls), (gc.get(REFERENCE) or {}).get(cls)
    if not mine or not ref or mine.get("gen0") is None or ref.get("gen0") is None:
        return ""
    if mine["gen0"] <= 1.5 * ref["gen0"] + 1:
        return ""
    return (f" (with GC on it triggers {mine['gen0']:g} generation-0 collections per 1,000 requests, "
            f"jsonify_tuple {ref['gen0']:g})")


def wider_margin(one: str, other: str, d_one: dict, d_other: dict) -> bool:
    """``one`` resolves a difference that lies inside ``other``'s margin, and ``other`` calls it equivalent."""
    return bool(d_one["verdict"] in RESOLVED and d_other["verdict"] == "equivalent" and d_other.get("margin")
                and abs(d_one["estimate"]) <= d_other["margin"])


def inside(other: str, d_other: dict, resolved: list) -> str:
    """The line for resolved differences that lie inside another method's wider margin."""
    said = " and ".join(f"{LABEL[m]}'s {d['estimate']:+.2f} µs" for m, d in resolved)
    return (f"{said} {'lies' if len(resolved) == 1 else 'lie'} inside {LABEL[other]}'s margin "
            f"(±{d_other['margin']:.2f} µs), which is wider: no contradiction")


def reasons(r, name: str, cls: str, by: dict, pairs: list) -> tuple:
    """Why the methods disagree on one idiom and class: (kind, [one line per reason]); kind is "margin" when
    every disagreement is a resolved difference inside another method's wider margin, else "clock"."""
    inside_of, clock = {}, []
    for a, b in pairs:
        for one, other in ((a, b), (b, a)):
            if wider_margin(one, other, by[one], by[other]):
                inside_of.setdefault(other, []).append(one)
                break
        else:
            clock.append({a, b})
    lines = []
    gc = gc_note(r, name, cls)
    with_construct = [p for p in clock if "construct" in p]
    if with_construct:
        holders = " and ".join(LABEL[m] for m in ("request", "http") if any(m in p for p in with_construct))
        holders = holders.replace("HTTP", "request over HTTP") if holders == "HTTP" else holders
        lines.append("the construction clock stops before Flask's make_response/force_type and the WSGI round trip, "
                     f"and runs with GC off; the {holders} {'includes' if ' and ' not in holders else 'include'} them, "
                     f"with GC on" + gc)
    if {"request", "http"} in clock:
        lines.append("over HTTP the app runs inside the server under load (another process and memory layout, the "
                     "server's work around it, Server-Timing's clock); in process it is the WSGI call alone")
    for other, resolved in inside_of.items():
        lines.append(inside(other, by[other], [(m, by[m]) for m in dict.fromkeys(resolved)]))
    return ("clock" if clock else "margin"), lines


def disagreements(r, names=None) -> list:
    """Every idiom and class on which two methods' verdicts disagree: dicts with ``name``, ``cls``, ``cells``
    (method -> Δ), ``pairs`` [(a, b)], ``reasons`` (one line each) and ``kind`` ("margin": only resolved
    differences inside another method's wider margin; "clock": the clocks hold different work)."""
    found = []
    for name in names or r.names:
        if name == REFERENCE:
            continue
        for cls in r.classes():
            by = cells(r, name, cls)
            pairs = [(a, b) for a, b in combinations(METHODS, 2) if conflict(by[a], by[b])]
            if pairs:
                kind, why = reasons(r, name, cls, by, pairs)
                found.append({"name": name, "cls": cls, "cells": by, "pairs": pairs, "reasons": why, "kind": kind})
    return found
