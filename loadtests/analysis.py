"""From locust's samples to the load test's figures: time windows, estimates and their intervals, the
calibration, shares of a request, and what each shape's processes used.

Every run (one server process) is cut into time windows. In each window a target's cost is the mean
over the scenarios of its median app time (its "mix"); its ratio to the floor's mix in the same
window is one sample, so a drift of the machine's speed cancels in the ratio. An estimate is the mean
over server processes of the mean over their windows. The interval is over the unit that repeats:
with several server processes, ``harness.stats.over_units`` of the per-process values (the memory
layout a process gets moves an app's time for its whole life, so windows of one process are not
independent draws); with one process, a block bootstrap over its windows.

Before any of that, each request's app time is divided by the server's relative speed at the time it was
served (``relative_speed``: the median, over the ``SPEED_BIN_REQUESTS`` requests of the process around
it, of each one's time over its target and class's median in the whole run): this machine's speed moves by
tens of percent within a window, and every target's medians in a window otherwise carry the part of that
movement their own requests happened to meet; a process measured for a few seconds also meets a speed of its
own, which scales every Δ it gives. Times are then at the run's typical speed.

The differences a team decides on are in µs against the default idiom, ``jsonify_tuple``, per status
class: in each window, a variant's median app time on that class less ``jsonify_tuple``'s on the same
class in the same window (so a drift shared by the window cancels), averaged over each process's
windows; the per-process values are the units of ``harness.stats.verdict`` (a TOST-style verdict against
a stated margin: 1% of the request's server CPU over HTTP, or the A/A interval's half-width where that
is wider) and of ``harness.stats.minimum_detectable``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.stats import (LEVEL, Interval, block_median_ci, classify, hierarchical_mean_ci, location,
                           minimum_detectable, over_units, verdict)
from loadtests.mount import (FLOOR, PAYLOAD_SUFFIX, PLANTED, PLANTED_IDIOM, PLANTED_REFERENCE, PLANTED_US, REFERENCE,
                             REFERENCE_POOL)
from loadtests.server import ServerError

# The controls by the names the results use; every other target is a variant.
NAMES = {FLOOR: "floor", PLANTED: "planted", PLANTED_REFERENCE: "planted_reference", REFERENCE: "reference",
         **{name: name.lstrip("_") for name in REFERENCE_POOL}}
SATURATED = 0.9  # a process using this share of its core or more is the bottleneck
DELTA_REFERENCE = PLANTED_IDIOM  # the default idiom: every Δ is against it (issue 12)
MARGIN_SHARE = 0.01  # the equivalence margin: 1% of the request's server CPU
SPEED_BIN_REQUESTS = 64  # consecutive requests of one server process that share a speed estimate
PAYLOAD_DELTA_WHAT = ("app thread CPU time per request in the server (Server-Timing cpu: from the WSGI call until the "
                      "app starts its response), the variant's median on the entry less jsonify_tuple's in the same "
                      "0.1 s window (where both were answered), the mean over each server process's windows; its 95% "
                      "CI Student's t over the server processes")
DELTA_WHAT = ("app wall time per request in the server (Server-Timing: from the WSGI call until the app starts "
              "its response), divided by the server's relative speed at the time (the median ratio of time to the "
              f"run's typical for the same target and class over the process's {SPEED_BIN_REQUESTS} requests around "
              "it), the variant's median on the class less "
              "jsonify_tuple's in the same time window "
              "(the mean of the medians of its apps: the variant's own and two more), the mean over each server "
              "process's windows; its 95% CI Student's t over the server processes")


def reference_apps(targets: list) -> list:
    """The apps whose mean is the reference of every Δ and ratio_to_reference: the jsonify_tuple variant and
    ``REFERENCE_POOL``, those served; the A/A twin (``REFERENCE``) alone where none of them was. Every idiom
    is compared with the reference, so more of the traffic on it narrows every interval (a many-to-one design
    gives the control about the square root of the number compared): an app's cost moves with the memory
    layout of its process, and the mean of three moves less. The A/A twin stays out, judged as a variant."""
    pool = [n for n in (DELTA_REFERENCE, *REFERENCE_POOL) if n in targets]
    return pool or ([REFERENCE] if REFERENCE in targets else [])


def reference_rows(targets: list, rows: np.ndarray) -> np.ndarray:
    """The reference's row of ``rows`` (indexed by target first): the mean over ``reference_apps``."""
    return np.mean([rows[targets.index(n)] for n in reference_apps(targets)], axis=0)


def medians_by_group(groups, values) -> tuple:
    """(the distinct ``groups`` (ints), the median of ``values`` in each, each element's index into them)."""
    keys, inverse = np.unique(np.asarray(groups).astype(int), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(len(keys)))
    return keys, np.array([np.median(g) for g in np.split(np.asarray(values)[order], starts[1:])]), inverse


def group_medians(groups, values) -> np.ndarray:
    """For each element, the median of ``values`` over the elements of its group."""
    _, medians, inverse = medians_by_group(groups, values)
    return medians[inverse]


def relative_speed(t, cell, app, process, per_bin: int = SPEED_BIN_REQUESTS) -> np.ndarray:
    """Each request's slowdown factor: how much slower than the run's usual its server process ran while serving it.

    Each process's requests in time order are cut into bins of ``per_bin``; a request's factor is the median,
    over its bin, of each request's app time over the median of its cell (target and class: ``cell``) in the
    whole run, every process's requests together. The cell medians are then taken again of the times divided by
    the factors, and the factors once more from them (the first pass's cell medians still carry the drift of
    the windows their requests fell in). All targets share a bin, so its factor comes from ~``per_bin``
    requests whatever the mix, and a target's own difference moves its factor by 1/``per_bin`` at most; a
    process's layout moves a target's time for its whole life, but only that target's, so it stays in the Δs.
    The model is that of a CPU running slower or faster: every request's time scales (a window-shared
    offset in µs would not); a process with fewer than ``per_bin`` requests is one bin.

    The usual is the run's, not each process's own, since 2026-11-27: the processes are measured for ~5 s each,
    and one that met a slow spell for all of them was slow for every target (on 6 full runs of 24 processes the
    reference's 401 time had a CV of 4-12% over processes, and abort_response's Δ on it a correlation of +0.2 to
    +0.7 with it). Taken against the run's usual, the widest Δ half-width on those runs' samples went from ±3.07,
    2.08, 1.45, 2.12, 1.77, 2.12 to ±2.24, 1.93, 1.31, 1.78, 1.49, 1.46 µs (every median over cells narrower too;
    the estimates moved by -1.5 to +0.1 µs, the planted 20 µs by -0.45 to +0.2; A/A intervals covered 0 in 22 of
    24 class intervals, 24 before), and on 10 runs of 15 x 10 s narrower in 8, the medians in all 10."""
    t, app = np.asarray(t, dtype=float), np.asarray(app, dtype=float)
    cell, process = np.asarray(cell).astype(int), np.asarray(process).astype(int)
    bins = np.zeros(len(app), dtype=int)  # numbered across processes: a bin never spans two
    for k in np.unique(process):
        mine = np.flatnonzero(process == k)
        mine = mine[np.argsort(t[mine], kind="stable")]
        bins[mine] = bins.max() + 1 + np.minimum(np.arange(len(mine)) // per_bin, max(len(mine) // per_bin, 1) - 1)
    factor = np.ones(len(app))
    for _ in range(2):
        factor = group_medians(bins, app / group_medians(cell, app / factor))
    return factor


MIN_PER_CELL = 10  # requests expected per target and status class in one window (Poisson: a cell left empty ~1 in 20,000)


def windows_for(seconds: float) -> int:
    """Time windows per run: about 2.5 s each, at least 5 (fewer where the requests cannot fill them:
    ``fitted_windows``)."""
    return max(5, int(seconds // 2.5))


def fitted_windows(runs: list, windows: int, cells: int) -> int:
    """``windows`` per run, or fewer where the run with the fewest measured requests would expect less than
    ``MIN_PER_CELL`` of them per target and status class in a window (a slow or busy machine, where the
    load generator gets little CPU). The intervals are over server processes, so fewer windows cost only
    some of the drift cancellation within a process, while an empty cell would lose the whole window."""
    def measured(run) -> int:
        t = np.array(run["samples"]["samples"], dtype=float).reshape(-1, 6)[:, 0]
        return int(np.count_nonzero((t >= run["from"]) & (t <= run["to"])))

    fewest = min(measured(run) for run in runs)
    least = 1 if len(runs) > 1 else min(3, windows)  # one process: its windows are the units of its interval
    return int(max(least, min(windows, fewest // (cells * MIN_PER_CELL))))


@dataclass
class Units:
    """Which server process each value came from, and how values become an estimate with its interval."""

    of: np.ndarray  # the server process of each value
    count: int
    rng: np.random.Generator

    def split(self, values) -> list:
        return [g for g in (values[self.of == k] for k in range(self.count)) if len(g)]

    def mean(self, per_window) -> Interval:
        """The mean over processes of the mean over their windows."""
        groups = self.split(np.asarray(per_window, dtype=float))
        if len(groups) > 1:
            return over_units([g.mean() for g in groups])
        lo, hi = hierarchical_mean_ci(groups, self.rng)  # one process: the bootstrap over its windows
        return Interval(float(groups[0].mean()), lo, hi)

    def difference(self, per_window, margin: float) -> dict:
        """A difference (candidate minus reference, one value per window) as the mean over each process's
        windows, with ``harness.stats.verdict`` over the processes against ``margin``; one process: the
        block bootstrap over its windows at both levels (95% and the TOST's 90%), judged by
        ``harness.stats.classify``. Also the per-process values and the minimum detectable difference
        (one process: its windows taken as the units, an approximation)."""
        groups = self.split(np.asarray(per_window, dtype=float))
        per_process = [float(g.mean()) for g in groups]
        if len(groups) > 1:
            found = verdict(per_process, margin)
            _, error, df = location(per_process)
        else:
            wide = Interval(per_process[0], *hierarchical_mean_ci(groups, self.rng))
            narrow = Interval(per_process[0], *hierarchical_mean_ci(groups, self.rng, level=1 - 2 * (1 - LEVEL)))
            found = {"estimate": wide.estimate, "ci95": [wide.lo, wide.hi], "ci90": [narrow.lo, narrow.hi],
                     "verdict": classify(wide, narrow, margin), "margin": margin}
            _, error, df = location(groups[0])
        return {"estimate": round(found["estimate"], 3), "ci95": [round(x, 3) for x in found["ci95"]],
                "ci90": [round(x, 3) for x in found["ci90"]], "verdict": found["verdict"],
                "margin": round(margin, 3), "per_process": [round(x, 3) for x in per_process],
                "minimum_detectable_us": round(minimum_detectable(error, df), 3) if df else None}

    def median(self, values, window) -> Interval:
        """The mean over processes of each one's median; one process: its median, block bootstrap over windows."""
        groups = self.split(values)
        if len(groups) > 1:
            return over_units([np.median(g) for g in groups])
        lo, hi = block_median_ci(values, window, self.rng)
        return Interval(float(np.median(values)), lo, hi)


def measured_samples(runs: list, windows: int) -> np.ndarray:
    """Every run's samples inside its measured span, as rows (t, target, scenario, app us, cpu us,
    response ms, window, server process); windows are numbered across runs."""
    parts = []
    for k, run in enumerate(runs):
        data = np.array(run["samples"]["samples"], dtype=float).reshape(-1, 6)
        data = data[(data[:, 0] >= run["from"]) & (data[:, 0] <= run["to"])]
        local = np.minimum(((data[:, 0] - run["from"]) / (run["to"] - run["from"]) * windows).astype(int), windows - 1)
        parts.append(np.column_stack([data, local + k * windows, np.full(len(data), k)]))
    data = np.concatenate(parts)
    if not len(data):
        raise ServerError("no request was answered inside the measured window")
    return data


def cell_medians(target, scenario, window, app, shape: tuple) -> np.ndarray:
    """cells[target, scenario, window]: the median app time of the requests of each (NaN: none)."""
    cells = np.full(shape, np.nan)
    target, scenario, window = (np.asarray(x).astype(int) for x in (target, scenario, window))
    keys, medians, _ = medians_by_group((target * shape[1] + scenario) * shape[2] + window, app)
    cells.flat[keys] = medians
    return cells


def locust_counts(runs: list) -> dict:
    """locust's counts per request name, summed over the runs (latency percentiles: the worst run's)."""
    stats = {}
    for run in runs:
        for key, v in run["stats"].items():
            into = stats.setdefault(key, {"requests": 0, "failures": 0, "rps": 0.0, "p50_ms": 0, "p95_ms": 0, "p99_ms": 0})
            into["requests"] += v["requests"]
            into["failures"] += v["failures"]
            into["rps"] += v["rps"] / len(runs)
            for q in ("p50_ms", "p95_ms", "p99_ms"):
                into[q] = max(into[q], v[q])
    return stats


def analyse(runs: list, windows: int, rng, conforming: set) -> dict:
    """Per target: server-side time, ratio to the floor, latency, Δ µs per status class against
    jsonify_tuple; calibration; shares of request time. ``runs``: one locust run per server process,
    ``windows`` time windows each."""
    targets, scenarios = runs[0]["samples"]["targets"], runs[0]["samples"]["scenarios"]
    planned, windows = windows, fitted_windows(runs, windows, len(targets) * len(scenarios))
    data = measured_samples(runs, windows)
    _, target, scenario, app, cpu, response, window, _ = data.T
    window = window.astype(int)
    windows *= len(runs)
    # cells[target, scenario, window]: the median app time at the run's usual speed; a target's mix is
    # the mean over the scenarios (window_mix_us: of the times as measured, which show the drift)
    process = data[:, 7].astype(int)
    cell = target.astype(int) * len(scenarios) + scenario.astype(int)
    factor = relative_speed(data[:, 0], cell, app, process, SPEED_BIN_REQUESTS)
    cells = cell_medians(target, scenario, window, app / factor, (len(targets), len(scenarios), windows))
    measured_mix = cell_medians(target, scenario, window, app, cells.shape).mean(axis=1)
    cpu_mix = np.full(len(targets), np.nan)
    for i in range(len(targets)):
        mine = target == i
        cpu_mix[i] = np.mean([np.median(cpu[mine & (scenario == k)]) for k in range(len(scenarios))])
    mix = cells.mean(axis=1)
    complete = ~np.any(np.isnan(mix), axis=0)
    # the units of the intervals: server processes (each needs a window that saw everything), or with one
    # process its windows (three at least)
    processes_seen = len({w // (windows // len(runs)) for w in np.flatnonzero(complete)})
    if (processes_seen < 2) if len(runs) > 1 else (complete.sum() < 3):
        raise ServerError(f"too few requests: only {complete.sum()} of {windows} windows ({processes_seen} of "
                          f"{len(runs)} server processes) saw every target and status class ({len(data)} requests "
                          f"measured for {len(targets)} targets x {len(scenarios)} classes); a longer run "
                          f"(LOAD_SECONDS) or a less busy machine gives more")
    mix, cells, measured_mix = mix[:, complete], cells[:, :, complete], measured_mix[:, complete]
    by_window = Units(np.arange(windows)[complete] // (windows // len(runs)), len(runs), rng)
    floor = targets.index(FLOOR)
    served_reference = bool(reference_apps(targets))
    reference_mix = reference_rows(targets, mix) if served_reference else mix[floor]
    request_cpu_us = sum(r["server_cpu_s"] for r in runs) * 1e6 / len(data)
    stats = locust_counts(runs)
    best = min((cpu_mix[i] for i, n in enumerate(targets) if n in conforming), default=np.nan)
    delta, per_target = deltas(targets, scenarios, cells, by_window, request_cpu_us)
    found = {}
    for i, name in enumerate(targets):
        mine = target == i
        server_us = Units(process[mine], len(runs), rng).median(app[mine], window[mine])
        stat = [v for k, v in stats.items() if k.rsplit(" ", 1)[0] == name]
        found[NAMES.get(name, name)] = {
            "requests": sum(v["requests"] for v in stat), "failures": sum(v["failures"] for v in stat),
            "rps": round(sum(v["rps"] for v in stat), 1),
            "server_us": {"p50": round(server_us.estimate, 2), "p90": round(float(np.percentile(app[mine], 90)), 2),
                          "p99": round(float(np.percentile(app[mine], 99)), 2),
                          "ci95": server_us.as_dict(2)["ci95"], "ci_half_width_pct": round(server_us.half_width_pct, 2),
                          "mix": round(float(mix[i].mean()), 2)},
            "server_cpu_us": {"p50": round(float(np.median(cpu[mine])), 2), "mix": round(float(cpu_mix[i]), 2)},
            "ratio_to_floor": by_window.mean(mix[i] / mix[floor]).as_dict(4),
            "ratio_to_reference": {"reference": PLANTED_IDIOM if served_reference else "floor",
                                   **by_window.mean(mix[i] / reference_mix).as_dict(4)},
            "latency_ms": {q: round(float(np.percentile(response[mine], p)), 3)
                           for q, p in (("p50", 50), ("p95", 95), ("p99", 99))},
            "locust_latency_ms": {q: max((v[f"{q}_ms"] for v in stat), default=None) for q in ("p50", "p95", "p99")},
            "share_of_request": {"app_pct": round(100 * float(cpu_mix[i]) / request_cpu_us, 2),
                                 "idiom_delta_pct": round(100 * float(cpu_mix[i] - best) / request_cpu_us, 2)},
        }
        if name in per_target:
            found[name]["delta_us"] = per_target[name]
    ranked = sorted((n for n in found if n not in NAMES.values()), key=lambda n: found[n]["ratio_to_floor"]["estimate"])
    for rank, name in enumerate(ranked, 1):
        found[name]["rank"] = rank
    return {"targets": found, "calibration": calibration(targets, mix, by_window, request_cpu_us),
            "delta": delta, "windows_used": int(complete.sum()), "windows_planned": planned * len(runs),
            "servers": len(runs), "requests_measured": len(data), "server_request_cpu_us": round(request_cpu_us, 1),
            "rss": max((rss_growth(r["rss_bytes"]) for r in runs), key=lambda g: g["growth_pct"] or 0),
            "speed": {"requests_per_bin": SPEED_BIN_REQUESTS,
                      **{f"p{q}": round(float(np.percentile(factor, q)), 3) for q in (5, 50, 95)}},
            "window_mix_us": {NAMES.get(n, n): [round(float(x), 2) for x in measured_mix[i]] for i, n in enumerate(targets)}}


PAIR_WINDOW_S = 0.1  # the payload mode's time windows: about one 100 KB request of each target in each


def entry_runs(runs: list, k: int) -> list:
    """``runs`` with only the samples of scenario (payload entry) ``k``."""
    def only(rows):
        return [[*row[:2], 0, *row[3:]] for row in rows if row[2] == k]

    return [{**run, "samples": {**run["samples"], "scenarios": [run["samples"]["scenarios"][k]],
                                "samples": only(run["samples"]["samples"])}} for run in runs]


def paired_difference(cells: np.ndarray, of: np.ndarray, a: int, b: int, count: int, rng, margin: float) -> dict | None:
    """Target ``a`` less target ``b`` in the windows where both were answered (``cells``: target x window medians,
    ``of``: each window's server process), as ``Units.difference`` makes it: the mean over each process's windows,
    judged over the processes. None where fewer than two processes (one: three windows) have such a window."""
    both = ~np.isnan(cells[a]) & ~np.isnan(cells[b])
    units = Units(of[both], count, rng)
    seen = len(units.split(np.flatnonzero(both)))
    if (seen < 2) if count > 1 else (both.sum() < 3):
        return None
    found = units.difference(cells[a][both] - cells[b][both], margin)
    found["windows"] = int(both.sum())
    return found


def analyse_payloads(runs: list, windows: int, rng, window_s: float = PAIR_WINDOW_S) -> dict:
    """The payload mode's figures (``loadtests.run``, LOAD_PAYLOADS): the targets are payload apps
    (``<variant>~payload``, the reference's ``_reference~payload``) and the "scenarios" corpus entries. Per
    variant and entry: its app's CPU time, and its Δ against jsonify_tuple on the same entry, with the A/A pair
    (the second app of jsonify_tuple), judged as the load stage judges a status class (``Units.difference``:
    ``harness.stats.verdict`` over server processes against ``MARGIN_SHARE`` of jsonify_tuple's app CPU on the
    entry; a "cheaper" or "dearer" inside the A/A interval is "unresolved").

    Each entry is analysed on its own samples, in time windows of ``window_s``, much shorter than the load
    stage's: on a shared machine the server's speed on a 100 KB body jumps between two levels (about 3 and
    5.5 ms for jsonify_tuple, 2026-11-27) for a fraction of a second at a time, and a window that short holds
    about one request of each target, so the jump cancels in a difference taken within it (the spread of the
    per-process Δ fell from ~200 to ~40-100 µs going from 1 s to 0.1 s windows). A Δ uses every window where
    the variant and jsonify_tuple were both answered (not only windows that saw every target).
    ``windows``: unused (the load stage's count, kept for ``run_shapes``' call).

    The time compared is the app's thread CPU time (Server-Timing ``cpu``), not its wall time as the load
    stage's: a 100 KB body keeps the app busy for milliseconds, long enough for the scheduler to hand the
    server's core to another process now and then, which wall time counts and CPU time does not."""
    mounted, entries = runs[0]["samples"]["targets"], runs[0]["samples"]["scenarios"]
    names = [m.removesuffix(PAYLOAD_SUFFIX) for m in mounted]
    if DELTA_REFERENCE not in names:
        raise ServerError(f"the payload run served no {DELTA_REFERENCE}: nothing to compare against")
    ref = names.index(DELTA_REFERENCE)
    aa_index = names.index(REFERENCE) if REFERENCE in names else None
    stats = locust_counts(runs)
    per_windows = max(3, int(min(r["to"] - r["from"] for r in runs) / window_s))
    measured_total = 0
    per_entry, per_target = {n: {} for n in names}, {n: {} for n in names}
    facts = {"reference": DELTA_REFERENCE, "what": PAYLOAD_DELTA_WHAT, "classes": list(entries), "window_s": window_s,
             "margin_share_pct": 100 * MARGIN_SHARE, "margin_us": {}, "request_us": {}, "margin_from": {},
             "resolution_us": {}, "minimum_detectable_us": {}, "minimum_detectable_median_us": {}, "aa": {}}
    for k, entry in enumerate(entries):
        mine_runs = entry_runs(runs, k)
        if min(len(r["samples"]["samples"]) for r in mine_runs) == 0:
            raise ServerError(f"no request for {entry} was answered in a server process")
        data = measured_samples(mine_runs, per_windows)
        measured_total += len(data)
        _, target, _, app, cpu, response, window, process = data.T
        target, window, process = (x.astype(int) for x in (target, window, process))
        total = per_windows * len(runs)
        cells = cell_medians(target, np.zeros_like(target), window, cpu, (len(names), 1, total))[:, 0, :]
        of = np.arange(total) // per_windows
        ref_cpu = float(np.median(cpu[target == ref]))
        margin = MARGIN_SHARE * ref_cpu
        facts["request_us"][entry], facts["margin_us"][entry] = round(ref_cpu, 2), round(margin, 3)
        facts["margin_from"][entry] = f"{100 * MARGIN_SHARE:g}% of {DELTA_REFERENCE}'s app CPU on the entry"
        aa = paired_difference(cells, of, ref, aa_index, len(runs), rng, margin) if aa_index is not None else None
        if aa:
            facts["aa"][entry] = aa
        resolution = max(abs(x) for x in aa["ci95"]) if aa else 0.0
        facts["resolution_us"][entry] = round(resolution, 3) if aa else None
        detectable = []
        for i, name in enumerate(names):
            if name in NAMES:
                pass
            elif i == ref:
                per_target[name][entry] = {"estimate": 0.0, "ci95": [0.0, 0.0], "ci90": [0.0, 0.0],
                                           "verdict": "reference", "margin": round(margin, 3), "per_process": [],
                                           "minimum_detectable_us": None}
            else:
                found = paired_difference(cells, of, i, ref, len(runs), rng, margin)
                if found is None:
                    raise ServerError(f"too few requests for {entry}: {name} and {DELTA_REFERENCE} were answered in "
                                      f"the same {window_s:g} s window in fewer than two server processes; a longer "
                                      f"run (LOAD_SECONDS) or a less busy machine gives more")
                if found["verdict"] in ("cheaper", "dearer") and abs(found["estimate"]) < resolution:
                    found["verdict"] = "unresolved"  # inside what two apps of the same code differ by
                found["delta_pct"] = {"estimate": round(100 * found["estimate"] / ref_cpu, 3),
                                      "ci95": [round(100 * x / ref_cpu, 3) for x in found["ci95"]]}
                per_target[name][entry] = found
                if found["minimum_detectable_us"] is not None:
                    detectable.append(found["minimum_detectable_us"])
            mine = target == i
            us = Units(process[mine], len(runs), rng).median(cpu[mine], window[mine])
            stat = stats.get(f"{mounted[i]} {entry}") or {"requests": 0, "failures": 0, "rps": 0.0}
            per_entry[name][entry] = {
                "requests": stat["requests"], "failures": stat["failures"], "rps": round(stat["rps"], 1),
                "server_cpu_us": {"p50": round(us.estimate, 2), "ci95": us.as_dict(2)["ci95"],
                                  "ci_half_width_pct": round(us.half_width_pct, 2)},
                "server_us": {"p50": round(float(np.median(app[mine])), 2)},
                "latency_ms": {q: round(float(np.percentile(response[mine], p)), 3)
                               for q, p in (("p50", 50), ("p95", 95), ("p99", 99))}}
        facts["minimum_detectable_us"][entry] = round(max(detectable), 2) if detectable else None
        facts["minimum_detectable_median_us"][entry] = round(float(np.median(detectable)), 2) if detectable else None
    facts["aa"] = facts["aa"] or None
    found = {NAMES.get(n, n): {"mounted": mounted[i], "requests": sum(x["requests"] for x in per_entry[n].values()),
                               "failures": sum(x["failures"] for x in per_entry[n].values()),
                               "rps": round(sum(x["rps"] for x in per_entry[n].values()), 1), "entries": per_entry[n],
                               **({"delta_us": per_target[n]} if per_target[n] else {})}
             for i, n in enumerate(names)}
    request_cpu_us = sum(r["server_cpu_s"] for r in runs) * 1e6 / max(measured_total, 1)
    return {"targets": found, "calibration": None, "delta": facts, "entries": list(entries),
            "windows_used": per_windows * len(runs), "windows_planned": per_windows * len(runs),
            "servers": len(runs), "requests_measured": measured_total,
            "server_request_cpu_us": round(request_cpu_us, 1),
            "rss": max((rss_growth(r["rss_bytes"]) for r in runs), key=lambda g: g["growth_pct"] or 0),
            "window_mix_us": {}}


def deltas(targets: list, scenarios: list, cells: np.ndarray, by_window: Units, request_cpu_us: float) -> tuple:
    """(the stage's facts, {variant: {class: Δ}}): each variant's app time less jsonify_tuple's, per
    status class, window by window (``cells``: target x class x used window, medians in µs).

    jsonify_tuple's time in a window is the mean of its apps' (``reference_apps``: the variant's own and
    ``REFERENCE_POOL``'s, those served); the A/A pair is one more app of it (``REFERENCE``) against that
    mean, exactly as a variant is. The margin of each class is ``MARGIN_SHARE`` of the request's server
    CPU; the A/A pair's interval is the resolution: a "cheaper" or "dearer" whose estimate lies inside it
    is reported as "unresolved" (a noisy run says less, it never says "equivalent" more easily).
    (None, {}) where no app of the reference was served (the per-variant layout)."""
    controls = set(NAMES)
    variants = [n for n in targets if n not in controls]
    apps = reference_apps(targets)
    if not apps:
        return None, {}
    ref_name = DELTA_REFERENCE if DELTA_REFERENCE in targets else None
    at = {n: cells[targets.index(n)] for n in targets}
    reference = reference_rows(targets, cells)
    share_margin = MARGIN_SHARE * request_cpu_us
    aa = {}
    if REFERENCE in targets and REFERENCE not in apps:  # the A/A pair, judged at the stated 1%
        aa = {c: by_window.difference(at[REFERENCE][k] - reference[k], share_margin) for k, c in enumerate(scenarios)}
    margin = {c: share_margin for c in scenarios}
    resolution = {c: max(abs(x) for x in aa[c]["ci95"]) for c in aa}
    per_target = {}
    for name in variants:
        per_class = {}
        for k, c in enumerate(scenarios):
            if name == ref_name:
                found = {"estimate": 0.0, "ci95": [0.0, 0.0], "ci90": [0.0, 0.0], "verdict": "reference",
                         "margin": round(margin[c], 3), "per_process": [], "minimum_detectable_us": None}
            else:
                found = by_window.difference(at[name][k] - reference[k], margin[c])
                if found["verdict"] in ("cheaper", "dearer") and abs(found["estimate"]) < resolution.get(c, 0.0):
                    found["verdict"] = "unresolved"  # inside what two instances of the same code differ by
            found["delta_pct"] = {"estimate": round(100 * found["estimate"] / request_cpu_us, 3),
                                  "ci95": [round(100 * x / request_cpu_us, 3) for x in found["ci95"]]}
            per_class[c] = found
        per_target[name] = per_class
    compared = [n for n in variants if n != ref_name]
    detectable, typical = {}, {}
    for c in scenarios:  # the largest over the idioms compared (so it holds for each), else the A/A pair's
        values = [per_target[n][c]["minimum_detectable_us"] for n in compared] or [aa.get(c, {}).get("minimum_detectable_us")]
        values = [v for v in values if v is not None]
        detectable[c] = round(max(values), 2) if values else None
        typical[c] = round(float(np.median(values)), 2) if values else None
    facts = {"reference": DELTA_REFERENCE if ref_name else f"{DELTA_REFERENCE} (its other instances)",
             "reference_apps": [NAMES.get(n, n) for n in apps], "what": DELTA_WHAT, "classes": list(scenarios),
             "server_request_cpu_us": round(request_cpu_us, 1),
             "margin_share_pct": 100 * MARGIN_SHARE, "margin_us": {c: round(m, 3) for c, m in margin.items()},
             "margin_from": {c: f"{100 * MARGIN_SHARE:g}% of the request" for c in scenarios},
             "resolution_us": {c: round(r, 3) for c, r in resolution.items()} or None,
             "minimum_detectable_us": detectable, "minimum_detectable_median_us": typical, "aa": aa or None}
    return facts, per_target


def calibration(targets: list, mix: np.ndarray, by_window: Units, request_cpu_us: float) -> dict | None:
    """The planted wait as measured (planted minus its reference), and the A/A check: one more app of the
    planted idiom against the reference's (``reference_apps``) over the status classes' mix, judged against
    ``MARGIN_SHARE`` of the request (per class: ``deltas``' ``aa``). None when the run served no planted pair."""
    if PLANTED not in targets or PLANTED_REFERENCE not in targets:
        return None
    at = {name: mix[targets.index(name)] for name in targets}
    apps = reference_apps(targets)
    measured = by_window.mean(at[PLANTED] - at[PLANTED_REFERENCE])
    found = {"planted_us": PLANTED_US, "measured_us": round(measured.estimate, 2),
             "ci95": measured.as_dict(2)["ci95"],
             "error_pct": round(100 * (measured.estimate - PLANTED_US) / PLANTED_US, 1),
             "planted_ns": PLANTED_US * 1000, "measured_ns": round(measured.estimate * 1000),
             "ci95_ns": [round(measured.lo * 1000), round(measured.hi * 1000)]}
    if REFERENCE in targets and apps and REFERENCE not in apps:
        reference = reference_rows(targets, mix)
        diff = at[REFERENCE] - reference
        aa = by_window.difference(diff, MARGIN_SHARE * request_cpu_us)
        found["aa"] = {"what": f"{PLANTED_IDIOM} served once more ({NAMES[REFERENCE]}) against the reference (the mean "
                               f"of {', '.join(NAMES.get(n, n) for n in apps)})",
                       "delta_us": round(aa["estimate"], 2), "ci95": [round(x, 2) for x in aa["ci95"]],
                       "verdict": aa["verdict"], "margin_us": round(aa["margin"], 2),
                       "diff_us": round(aa["estimate"], 2),
                       "pct": round(100 * aa["estimate"] / float(reference.mean()), 2),
                       "per_server_pct": [round(100 * float(d.mean() / r.mean()), 2)
                                          for d, r in zip(by_window.split(diff), by_window.split(reference))]}
    return found


def rss_growth(rss: list) -> dict:
    """Server memory in the first and last quarter of one run (one server process)."""
    q = max(len(rss) // 4, 1)
    return {"first_quarter_mb": round(float(np.mean(rss[:q])) / 2**20, 2) if rss else None,
            "last_quarter_mb": round(float(np.mean(rss[-q:])) / 2**20, 2) if rss else None,
            "growth_pct": round(100 * (np.mean(rss[-q:]) / np.mean(rss[:q]) - 1), 2) if rss else None}


def bottleneck(generator: float, server: float, workers: int) -> dict:
    gen_busy, srv_busy = generator >= SATURATED, server >= SATURATED
    verdict = ("both" if gen_busy and srv_busy else "load generator" if gen_busy else "server" if srv_busy
               else "neither")
    detail = (f"load generator used {generator:.0%} of its core{f' ({workers} workers)' if workers else ''}, "
              f"the server {server:.0%} of its core")
    if verdict == "load generator":
        detail += ": locust, not the server, set the throughput; server-side times are unaffected"
    return {"verdict": verdict, "detail": detail}


def shape_result(runs: list, analysis: dict, users: int, workers: int, rate: float) -> dict:
    """One finished shape: what its runs did (throughput, CPU, memory, the bottleneck) and its figures."""
    requests = sum(t["requests"] for t in analysis["targets"].values())
    measured = sum(r["to"] - r["from"] for r in runs)

    def mean(key):  # over the runs, weighted by their measured time
        return round(sum(r[key] * (r["to"] - r["from"]) for r in runs) / measured, 4)

    generator, server = mean("generator_cpu"), mean("server_cpu")
    return {"status": "ok", "duration_s": sum(r["seconds"] for r in runs), "measured_s": round(measured, 1),
            "servers": len(runs), "users": users, "rate_per_user": round(rate, 3) if rate else None,
            "rps": round(analysis["requests_measured"] / measured, 1), "requests": requests,
            "failures": sum(t["failures"] for t in analysis["targets"].values()),
            "generator_cpu": generator, "server_cpu": server, "steal_fraction": mean("steal_fraction"),
            "bottleneck": bottleneck(generator, server, workers),
            "server_request_cpu_us": analysis["server_request_cpu_us"], "rss": analysis["rss"],
            "windows_used": analysis["windows_used"], "windows_planned": analysis["windows_planned"], "files": [f for r in runs for f in r["files"]],
            "targets": analysis["targets"], "calibration": analysis["calibration"], "delta": analysis["delta"],
            "window_mix_us": analysis["window_mix_us"], **({"speed": analysis["speed"]} if "speed" in analysis else {})}
