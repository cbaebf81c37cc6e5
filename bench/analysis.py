"""The figures of ``make micro`` from the workers' per-round times; every interval from ``harness.stats``.

A round's sample is a subject's per-call time, and its ratio to the floor's (``werkzeug_response``,
the same kind) in the same round, so the machine's speed drift cancels. Per worker process the
median over its rounds; over the workers, the trimmed mean (``harness.stats.TRIM``) with the
Tukey-McLaughlin interval (``harness.stats.over_units``): a process's memory layout and hash seed move
some costs by a few percent for its whole life, so the process, not the round, is the unit that
repeats. A variant's figure "over the mix" is, per round, the mean of its success, created and
unauthorized samples.
"""
from __future__ import annotations

import numpy as np

from bench.subjects import AA, BASELINES, FLOOR, PLANTED, PLANTED_NS, PLANTED_REFERENCE, SCENARIOS
from harness.measure import PLANTED_IDIOM
from harness import stats

RATIO_DEFINITION = ("construct time over the floor's (werkzeug_response: app.make_response of a prebuilt Response) "
                    f"in the same round; per worker process the median over rounds, then the {stats.TRIM:.0%} trimmed mean "
                    "over workers; "
                    "for a variant, over the mix of one success, one created and one unauthorized response")


def summarise(per_worker: list, digits: int = 4) -> dict:
    """The estimate from per-round samples in several workers: each worker's median, then the trimmed
    mean over workers with its interval (one worker: the exact bootstrap interval over its rounds)."""
    found = stats.median_over_units(per_worker, trim=stats.TRIM)
    pct = found.half_width_pct
    return {**found.as_dict(digits), "ci_half_width_pct": None if pct is None else round(pct, 3),
            "per_worker": [round(float(np.median(x)), digits) for x in per_worker]}


def analyse(kind: str, keys: list, per_worker: list, names: list) -> dict:
    """One kind's figures: per subject, per name over the mix, and pairwise (per scenario and over the
    mix). ``per_worker``: one array (rounds, subjects) per worker, its columns in the order of ``keys``."""
    column = {key: [t[:, i] for t in per_worker] for i, key in enumerate(keys)}
    floor = column[f"{kind}/success/{FLOOR}"]

    def both(t):
        return {"ns": summarise(t, digits=1), "ratio_to_floor": summarise([x / f for x, f in zip(t, floor)])}

    mix = {name: [np.mean(ws, axis=0) for ws in zip(*(column[f"{kind}/{sc}/{name}"] for sc in SCENARIOS))]
           for name in names}
    for name in BASELINES:
        mix[name] = column[f"{kind}/success/{name}"]
    pairs = {"all": stats.pairwise({name: mix[name] for name in names})}
    for scenario in SCENARIOS:
        pairs[scenario] = stats.pairwise({name: column[f"{kind}/{scenario}/{name}"] for name in names})
    return {"subjects": {key: both(column[key]) for key in keys}, "names": {name: both(t) for name, t in mix.items()},
            "pairwise": pairs, "column": column}


def calibration(construct: dict, within_pct: float) -> dict:
    """The planted cost as measured: planted minus its reference, round by round; and the A/A pair:
    jsonify_tuple's construct in a second app minus the jsonify_tuple variant's (None if not timed)."""
    column = construct["column"]
    found = summarise([p - r for p, r in zip(column[f"construct/success/{PLANTED}"],
                                             column[f"construct/success/{PLANTED_REFERENCE}"])], digits=1)
    aa = None
    reference = column.get(f"construct/success/{PLANTED_IDIOM}")
    if reference is not None and f"construct/success/{AA}" in column:
        diff = summarise([a - r for a, r in zip(column[f"construct/success/{AA}"], reference)], digits=1)
        level = float(np.mean([np.median(r) for r in reference]))
        aa = {"what": f"{PLANTED_IDIOM}'s success construct in a second app minus the variant's", "delta_ns": diff["estimate"],
              "ci95": diff["ci95"], "pct": round(100 * diff["estimate"] / level, 2),
              "ci95_pct": [round(100 * x / level, 2) for x in diff["ci95"]]}
    return {"planted_ns": PLANTED_NS, "measured_ns": found["estimate"], "ci95": found["ci95"],
            "error_pct": round(100 * (found["estimate"] - PLANTED_NS) / PLANTED_NS, 2),
            "within_pct": within_pct, "per_worker": found["per_worker"], "aa": aa}


def _brief(x: dict, key: str = "estimate") -> dict:
    return {key: x["estimate"], "ci95": x["ci95"]}


def by_name(construct: dict, dispatch: dict, names: list) -> tuple[dict, dict]:
    """(variants, baselines): per name its construct and dispatch figures over the mix and per
    scenario; the variants ranked by construct ratio to the floor (rank 1 = cheapest)."""

    def entry(name: str) -> dict:
        c, d = construct["names"][name], dispatch["names"][name]
        found = {"construct_ns": _brief(c["ns"], "median"), "dispatch_ns": _brief(d["ns"], "median"),
                 "ratio_to_floor": _brief(c["ratio_to_floor"]), "dispatch_ratio_to_floor": _brief(d["ratio_to_floor"]),
                 "scenarios": {}}
        for sc in (SCENARIOS if name in names else ("success",)):
            cs, ds = construct["subjects"][f"construct/{sc}/{name}"], dispatch["subjects"][f"dispatch/{sc}/{name}"]
            found["scenarios"][sc] = {"construct_ns": _brief(cs["ns"], "median"), "dispatch_ns": _brief(ds["ns"], "median"),
                                      "ratio_to_floor": _brief(cs["ratio_to_floor"]),
                                      "dispatch_ratio_to_floor": _brief(ds["ratio_to_floor"])}
        return found

    ranked = sorted(names, key=lambda n: construct["names"][n]["ratio_to_floor"]["estimate"])
    variants = {name: {**entry(name), "rank": rank} for rank, name in enumerate(ranked, 1)}
    return variants, {name: entry(name) for name in BASELINES}


def mix_ratios(ns: dict, names: list) -> dict:
    """A sequential pass's construct medians as ratios to the floor's, variants over the mix."""
    floor = ns[f"construct/success/{FLOOR}"]
    found = {name: float(np.mean([ns[f"construct/{sc}/{name}"] for sc in SCENARIOS]) / floor) for name in names}
    found.update({name: ns[f"construct/success/{name}"] / floor for name in BASELINES})
    return {name: round(value, 4) for name, value in found.items()}


def methods(sequential: list, construct: dict, names: list) -> dict:
    """The two methods side by side: the sequential passes (``[(phase, {key: median ns})]``, one per
    worker that ran one) and the interleaved estimates."""
    passes = [{"phase": phase, "ns": {k: round(v, 1) for k, v in ns.items()}, "ratio_to_floor": mix_ratios(ns, names)}
              for phase, ns in sequential]
    every = names + list(BASELINES)
    ratio = {n: construct["names"][n]["ratio_to_floor"] for n in every}

    def mix_ns(p: dict, n: str) -> float:
        return float(np.mean([p["ns"][f"construct/{sc}/{n}"] for sc in SCENARIOS])) if n in names \
            else p["ns"][f"construct/success/{n}"]

    return {
        "sequential": {
            "what": "pytest-benchmark-style: each subject's blocks back to back, one subject after another; "
                    "median block; ratio to the floor's median taken at another moment; one pass per worker",
            "passes": passes,
            "ratio_spread": {n: stats.spread([p["ratio_to_floor"][n] for p in passes]) for n in every},
            "ns_spread": {n: stats.spread([mix_ns(p, n) for p in passes]) for n in every},
            "floor_ns_spread": stats.spread([p["ns"][f"construct/success/{FLOOR}"] for p in passes]),
        },
        "interleaved": {
            "what": "every subject once per round in shuffled order; per worker the median of per-round "
                    f"ratios to the floor; the {stats.TRIM:.0%} trimmed mean over workers",
            "ratio_to_floor": {n: r["estimate"] for n, r in ratio.items()},
            "ci_half_width_pct": {n: r["ci_half_width_pct"] for n, r in ratio.items()},
            "per_worker_spread": {n: stats.spread(r["per_worker"]) for n, r in ratio.items()},
        },
    }


def drift(construct: dict) -> dict:
    """The floor's per-call time over all rounds: the speed drift that the ratios cancel."""
    floor = np.concatenate(construct["column"][f"construct/success/{FLOOR}"])
    return {"floor_ns_min": round(float(floor.min()), 1), "floor_ns_max": round(float(floor.max()), 1),
            "max_over_min": round(float(floor.max() / floor.min()), 3),
            "p95_over_p5": round(float(np.percentile(floor, 95) / np.percentile(floor, 5)), 3)}
