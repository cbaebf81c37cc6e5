"""The figures of ``make request`` from the workers' samples; every interval and verdict from ``harness.stats``.

Per worker process and subject: the median over rounds of the request's own time (collections taken
out), plus its share of the collections: what the request adds to the young generation's count times
the worker's collection time per unit of count (``bench/request_worker.py`` says why). A variant's
difference from ``jsonify_tuple`` on a class, in one worker, is the median over rounds of the
per-round ratio of the two (the machine's speed drift cancels), less one, times the reference's
median time, plus the difference of their collection times; all of it over the worker's speed level
(``speed_levels``: a worker that ran slower for its whole life gives every difference in its slower µs). The
worker is the unit that repeats (its hash seed, memory layout and app creation order move costs for its whole
life), so the estimate and its interval are over workers (``harness.stats.verdict``, trimmed mean with
Tukey-McLaughlin's interval).

Verdicts are by equivalence: the margin is ``MARGIN_PCT`` of the reference's whole request on that
class, and no difference is claimed that is smaller than the A/A pair's interval (the resolution):
a "cheaper" or "dearer" whose estimate lies inside it is reported as "unresolved".
"""
from __future__ import annotations

import numpy as np

from harness import stats

ALLOC_WHAT = ("self-referencing lists made before the idiom runs; expected: their own cost timed alone plus "
              "the count they add times the run's collection time per unit of count")
MARGIN_PCT = 1.0  # the equivalence margin: this percentage of the reference idiom's whole request
MARGIN_DEFINITION = (f"±{MARGIN_PCT:g}% of jsonify_tuple's whole request on the same status class, in process; "
                     "a difference inside the A/A pair's 95% interval is never claimed")


def collection_ns_per_count(worker: dict) -> float:
    """The worker's time in collections per unit of young-generation count its requests added."""
    count = float(np.dot(worker["young_count_per_call"], worker["requests"]))
    return float(np.sum(worker["gc_ns_total"])) / count if count > 0 else 0.0


def worker_figures(worker: dict) -> dict:
    """{(name, class): (median own ns per request, collection ns per request, rounds of own ns)}."""
    times = np.asarray(worker["per_call_ns"], dtype=float)  # null (NaN): a round that did not time the subject
    per_count = collection_ns_per_count(worker)
    return {tuple(key): (float(np.nanmedian(times[:, i])), max(worker["young_count_per_call"][i], 0.0) * per_count,
                         times[:, i]) for i, key in enumerate(worker["keys"])}


def delta_ns(figures: dict, subject: tuple, reference: tuple) -> float:
    """One worker's difference subject minus reference, ns per request (see the module's docstring)."""
    own, collected, rounds = figures[subject]
    ref_own, ref_collected, ref_rounds = figures[reference]
    ratio = float(np.nanmedian(rounds / ref_rounds))
    return (ratio - 1) * ref_own + collected - ref_collected


def speed_levels(figures: list) -> np.ndarray:
    """How much slower than the run's typical each worker ran, for all of its life: the median over every subject
    of its time in the worker over its median over the workers (1 with one worker). A difference taken as a ratio
    within each round is free of the drift inside a worker, but (ratio - 1) times the reference's time is in that
    worker's µs, and a worker meets a speed of its own for its ~3 s: on a full run's raw workers (2026-11-27,
    levels p5-p95 0.975-1.036) abort_response's 401, +61 µs, had its interval go from ±1.42 to ±1.16 µs divided by
    them, the other classes' widest within ±0.01 (another run: ±0.77 -> 0.67). The same idea as the HTTP stage's
    ``loadtests.analysis.relative_speed``, whose processes are the units there."""
    keys = [k for k in figures[0] if all(k in f for f in figures)]
    own = np.array([[f[k][0] for k in keys] for f in figures], dtype=float)  # workers x subjects
    typical = np.nanmedian(own, axis=0)
    usable = np.isfinite(typical) & (typical > 0)
    if len(figures) < 2 or not usable.any():
        return np.ones(len(figures))
    return np.nanmedian(own[:, usable] / typical[usable], axis=1)


def _index(worker: dict, name: str, cls: str) -> int:
    return [tuple(k) for k in worker["keys"]].index((name, cls))


def request_ns(figures: dict, subject: tuple) -> float:
    own, collected, _ = figures[subject]
    return own + collected


def judged(per_worker_us: list, margin_us: float, resolution_us: float | None) -> dict:
    """The verdict on per-worker differences (µs) with the stage's margin and resolution."""
    found = stats.verdict(per_worker_us, margin_us, trim=stats.TRIM)
    if (resolution_us is not None and found["verdict"] in ("cheaper", "dearer")
            and abs(found["estimate"]) < resolution_us):
        found["verdict"] = "unresolved"
    return {"estimate": round(found["estimate"], 3), "ci95": [round(x, 3) for x in found["ci95"]],
            "ci90": [round(x, 3) for x in found["ci90"]], "verdict": found["verdict"], "margin": round(margin_us, 3)}


def interval(values: list, digits: int = 3) -> dict:
    return stats.over_units(values, trim=stats.TRIM).as_dict(digits)


def analyse(workers: list, names: list, classes: list, reference: str, aa: str, calibration: dict) -> dict:
    """Every figure of the stage. ``calibration``: the names of the planted subjects and the planted ns,
    {"class", "planted", "planted_reference", "planted_alloc", "planted_ns", "within_pct"}."""
    figures = [worker_figures(w) for w in workers]
    levels = speed_levels(figures)

    def per_worker_delta_us(name: str, cls: str, against: str = reference) -> list:
        return [delta_ns(f, (name, cls), (against, cls)) / level / 1e3 for f, level in zip(figures, levels)]

    reference_us = {cls: interval([request_ns(f, (reference, cls)) / 1e3 for f in figures]) for cls in classes}
    margin = {cls: MARGIN_PCT / 100 * reference_us[cls]["estimate"] for cls in classes}
    aa_found, resolution, detectable = {}, {}, {}
    for cls in classes:
        values = per_worker_delta_us(aa, cls)
        aa_found[cls] = judged(values, margin[cls], None)
        resolution[cls] = round(max(abs(x) for x in aa_found[cls]["ci95"]), 3)
        _, se, df = stats.location(values, stats.TRIM)
        detectable[cls] = round(stats.minimum_detectable(se, df), 3) if df > 0 else None

    variants = {}
    for name in names:
        variants[name] = {}
        for cls in classes:
            us = interval([request_ns(f, (name, cls)) / 1e3 for f in figures])
            if name == reference:
                variants[name][cls] = {"us": us, "delta_us": {"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"},
                                       "delta_pct": {"estimate": 0.0, "ci95": [0.0, 0.0]}, "per_worker_delta_us": []}
                continue
            values = per_worker_delta_us(name, cls)
            delta = judged(values, margin[cls], resolution[cls])
            ref = reference_us[cls]["estimate"]
            variants[name][cls] = {
                "us": us, "delta_us": delta,
                "delta_pct": {"estimate": round(100 * delta["estimate"] / ref, 2),
                              "ci95": [round(100 * x / ref, 2) for x in delta["ci95"]]},
                "per_worker_delta_us": [round(x, 3) for x in values]}

    cls = calibration["class"]
    planted = [delta_ns(f, (calibration["planted"], cls), (calibration["planted_reference"], cls)) / level
               for f, level in zip(figures, levels)]
    found_planted = interval(planted, 1)
    alloc = [delta_ns(f, (calibration["planted_alloc"], cls), (calibration["planted_reference"], cls)) / level
             for f, level in zip(figures, levels)]
    found_alloc = interval(alloc, 1)
    # the allocation's own cost (timed alone) plus its collections' share, as the analysis attributes them
    extra_count = [w["young_count_per_call"][_index(w, calibration["planted_alloc"], cls)]
                   - w["young_count_per_call"][_index(w, calibration["planted_reference"], cls)] for w in workers]
    expected_alloc = float(np.mean([(w["alloc_expected_ns"] + extra * collection_ns_per_count(w)) / level
                                    for w, extra, level in zip(workers, extra_count, levels)]))
    aa_headline = aa_found[cls]
    return {
        "variants": variants,
        "reference_us": reference_us,
        "calibration": {
            "planted_ns": calibration["planted_ns"], "base_wait_ns": calibration.get("base_wait_ns", 0),
            "measured_ns": found_planted["estimate"],
            "ci95": found_planted["ci95"], "within_pct": calibration["within_pct"],
            "error_pct": round(100 * (found_planted["estimate"] - calibration["planted_ns"]) / calibration["planted_ns"], 1),
            "per_worker_ns": [round(x, 1) for x in planted],
            "aa": {"class": cls, "delta_us": aa_headline["estimate"], "ci95": aa_headline["ci95"],
                   "verdict": aa_headline["verdict"], "by_class": aa_found},
            "alloc": {"what": f"{ALLOC_WHAT}", "young_count_added": round(float(np.median(extra_count)), 2),
                      "expected_ns": round(expected_alloc, 1), "measured_ns": found_alloc["estimate"],
                      "ci95": found_alloc["ci95"],
                      "error_pct": round(100 * (found_alloc["estimate"] - expected_alloc) / expected_alloc, 1)
                      if expected_alloc > 0 else None},
        },
        "margin_us": {c: round(m, 3) for c, m in margin.items()},
        "margin_definition": MARGIN_DEFINITION,
        "resolution_us": resolution,
        "minimum_detectable_us": detectable,
        "gc_per_1000": gc_per_1000(workers, names + [aa], classes),
        "round_noise_pct": round_noise_pct(workers, names + [aa], classes, reference),
        "speed_levels": {f"p{q}": round(float(np.percentile(levels, q)), 3) for q in (5, 50, 95)},
    }


def round_noise_pct(workers: list, names: list, classes: list, reference: str) -> float | None:
    """How much one round's sample says: the spread (IQR / 1.349, a robust standard deviation, in %) of the
    log of a subject's per-round ratio to the reference, the median over subjects and workers. It sets how
    much timed time a given interval costs: the interval narrows with the square root of the rounds."""
    spreads = []
    for w in workers:
        times = np.asarray(w["per_call_ns"], dtype=float)
        for name in names:
            if name == reference:
                continue
            for cls in classes:
                ratio = np.log(times[:, _index(w, name, cls)] / times[:, _index(w, reference, cls)])
                ratio = ratio[~np.isnan(ratio)]
                if len(ratio) >= 8:
                    q1, q3 = np.percentile(ratio, [25, 75])
                    spreads.append((q3 - q1) / 1.349)
    return round(100 * float(np.median(spreads)), 1) if spreads else None


def gc_per_1000(workers: list, names: list, classes: list) -> dict:
    """Per subject, over the workers: collections per generation per 1,000 requests (those that landed in
    its blocks), the young-generation count a request adds, and the collection time per request both as
    charged where the collections landed and as the analysis attributes it (count x time per count)."""
    found = {}
    for name in names:
        found[name] = {}
        for cls in classes:
            counts, requests, charged, attributed, young = np.zeros(3), 0, 0.0, 0.0, []
            for w in workers:
                i = _index(w, name, cls)
                counts += w["collections"][i]
                requests += w["requests"][i]
                charged += w["gc_ns_total"][i]
                attributed += max(w["young_count_per_call"][i], 0.0) * collection_ns_per_count(w) * w["requests"][i]
                young.append(w["young_count_per_call"][i])
            per = 1000 * counts / max(requests, 1)
            found[name][cls] = {"gen0": round(float(per[0]), 2), "gen1": round(float(per[1]), 2),
                                "gen2": round(float(per[2]), 3), "young_count": round(float(np.median(young)), 2),
                                "charged_ns": round(charged / max(requests, 1), 1),
                                "attributed_ns": round(attributed / max(requests, 1), 1)}
    return found
