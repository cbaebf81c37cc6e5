"""What ``make deploy`` makes of its items' results (``bench/deploy.py`` runs them): an entry per item read
from the stage's own files, its verdicts compared with the dimension's reference item, the CI-width
targets, and which earlier entries a re-run may take over instead of measuring again."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.results import read_optional

DIMENSIONS = ("servers", "pythons", "flask")
REFERENCE_PYTHON = "3.11"
REFERENCE_SERVER = "gunicorn_sync"
DEFINITE = ("cheaper", "dearer", "equivalent")
SETTINGS_LEFT_OUT = ("app", "server", "bind", "cpu", "socket")  # of a server's recorded settings, in its detail line


# ------------------------------------------------------------------------------------ reading results
def _cell(delta: dict, request_us) -> dict:
    cell = {"delta_us": {"estimate": delta.get("estimate"), "ci95": delta.get("ci95"), "verdict": delta.get("verdict")}}
    if request_us and delta.get("estimate") is not None:
        cell["share_pct"] = round(100 * delta["estimate"] / request_us, 2)
    return cell


def from_request(folder: Path) -> dict:
    """An entry from a whole-request run's ``request.json`` (bench.request)."""
    found = read_optional(folder / "request.json")
    if not isinstance(found, dict) or "results" not in found:
        raise ValueError(f"no request.json in {folder}")
    res = found["results"]
    request_us = {cls: r["estimate"] for cls, r in res["reference_us"].items()}
    variants = {name: {cls: _cell(cell["delta_us"], request_us.get(cls)) for cls, cell in by_class.items()}
                for name, by_class in res["variants"].items()}
    env = found.get("environment") or {}
    packages = env.get("packages") or {}
    return {"status": "ok", "request_cpu_us": round(sum(request_us.values()) / len(request_us), 2),
            "request_us": request_us, "variants": variants,
            "detail": f"Python {env.get('python', '?').split()[0]}, Flask {packages.get('flask', '?')}, "
                      f"Werkzeug {packages.get('werkzeug', '?')}; bench.request {found.get('mode')} mode"}


def from_load(folder: Path, server: str) -> dict:
    """An entry from a load run's ``load.json`` and its headline in ``summary.json`` (loadtests.run)."""
    load = read_optional(folder / "load.json")
    summary = read_optional(folder / "summary.json") or {}
    if not isinstance(load, dict):
        raise ValueError(f"no load.json in {folder}")
    if load.get("status") != "ok":
        raise ValueError(load.get("error") or f"load run {load.get('status')}")
    request_cpu = load.get("server_request_cpu_us")
    variants = {}
    for name, stages in (summary.get("variants") or {}).items():
        deltas = ((stages or {}).get("load") or {}).get("delta_us")
        if deltas:
            variants[name] = {cls: _cell(d, request_cpu) for cls, d in deltas.items()}
    settings = load.get("gunicorn") or {}
    return {"status": "ok", "request_cpu_us": request_cpu, "variants": variants,
            "detail": f"{server} ({', '.join(f'{k} {v}' for k, v in settings.items() if k not in SETTINGS_LEFT_OUT)}); "
                      f"{load.get('mode')} load, {load.get('primary_shape')} shape"}


def failed(detail: str, **extra) -> dict:
    return {"status": "failed", "detail": detail, "request_cpu_us": None, "variants": {}, **extra}


def skipped(detail: str, **extra) -> dict:
    return {"status": "skipped", "detail": detail, "request_cpu_us": None, "variants": {}, **extra}


# ------------------------------------------------------------------------------------------ comparing
def half_width(entry: dict):
    widths = [(c["delta_us"]["ci95"][1] - c["delta_us"]["ci95"][0]) / 2 for by_class in entry["variants"].values()
              for c in by_class.values() if c["delta_us"].get("ci95") and c["delta_us"]["verdict"] != "reference"]
    return round(max(widths), 3) if widths else None


def agreement(entry: dict, reference: dict, reference_name: str) -> dict:
    """Do the verdicts agree with the reference item's? Compared where both are definite."""
    differences, compared, unresolved = [], 0, 0
    for name, by_class in entry["variants"].items():
        for cls, cell in by_class.items():
            theirs = ((reference["variants"].get(name) or {}).get(cls) or {}).get("delta_us", {}).get("verdict")
            mine = cell["delta_us"]["verdict"]
            if mine == "reference" or theirs is None:
                continue
            if mine in DEFINITE and theirs in DEFINITE:
                compared += 1
                if mine != theirs:
                    differences.append(f"{name} on {cls}: {mine} here, {theirs} on {reference_name}")
            else:
                unresolved += 1
    return {"reference": reference_name, "agree": not differences, "compared": compared, "unresolved": unresolved,
            "differences": differences}


def compare_dimension(entries: dict, reference_name: str | None) -> None:
    """Add each ok entry's agreement with the reference and its CI half-widths against 2x the reference's."""
    reference = entries.get(reference_name) if reference_name else None
    for entry in entries.values():
        for key in ("agreement", "ci_target"):  # from an earlier comparison (an entry taken over)
            entry.pop(key, None)
        if entry["status"] == "ok":
            entry["ci95_half_width_us"] = half_width(entry)
    if not reference or reference["status"] != "ok":
        return
    for name, entry in entries.items():
        if entry["status"] != "ok":
            continue
        target = ci_target(entry, reference, reference_name)
        if target:
            entry["ci_target"] = target
        if name != reference_name:
            entry["agreement"] = agreement(entry, reference, reference_name)


def references(result: dict) -> dict:
    flask = [v for v, e in result["flask"].items() if e["status"] == "ok"]
    return {"servers": REFERENCE_SERVER, "pythons": REFERENCE_PYTHON,
            "flask": max(flask, key=lambda v: tuple(map(int, v.split(".")))) if flask else None}


# ------------------------------------------------------------------------------ what earlier runs finished
def stamp(env: dict, mode: str) -> dict:
    """What an entry was measured with: an entry is taken over by a later run only with the same commit (as
    ``git describe`` names it; a ``-dirty`` tree's entries are never taken over), the same lock and the same mode."""
    return {"git_commit": env.get("git_commit"), "lock_sha256": env.get("lock_sha256"), "mode": mode}


def same_stamp(entry, current: dict) -> bool:
    """An entry measured at this commit, lock (and mode); never one from a tree with changes (``-dirty``): its
    code is not known from the commit's name, so what the tree has now may not be what was measured."""
    measured = (entry or {}).get("measured") or {}
    return (entry or {}).get("status") == "ok" and all(measured.get(k) == v for k, v in current.items()) \
        and None not in current.values() and not str(current.get("git_commit")).endswith("-dirty")


def take_over(items: list, result: dict, earlier: dict, current: dict) -> list:
    """Each item that an earlier run (``earlier``: the deploy.json found) finished, measured with the same
    commit, lock and mode and on the same idioms, is replaced by one that takes that entry over instead of
    measuring it again; the labels of the items taken over. For a dimension this run measures, the earlier
    entries measured so that it does not plan are kept too (e.g. a server DEPLOY_SERVERS leaves out)."""
    taken = []
    for dimension in {i.dimension for i in items}:
        for key, entry in (earlier.get(dimension) or {}).items():
            if key not in result[dimension] and key not in {i.key for i in items if i.dimension == dimension} \
                    and same_stamp(entry, current):
                result[dimension][key] = entry
    for item in items:
        entry = (earlier.get(item.dimension) or {}).get(item.key)
        if item.part:
            entry = (entry or {}).get(item.part)
        # counts run in bench.counts' quick mode whatever the deploy's mode, and are deterministic: any mode's will do
        wanted = {k: v for k, v in current.items() if not (item.part == "counts" and k == "mode")}
        measured = (entry or {}).get("measured") or {}
        if not same_stamp(entry, wanted) or sorted(measured.get("variants") or []) != sorted(item.variants) \
                or (measured.get("settings") or {}) != item.settings:
            continue
        item.run, item.expected_s, item.taken_over = (lambda entry=entry: entry), 0.0, True
        taken.append(item.label)
    return taken


# ------------------------------------------------------------------------------------------ the targets
def class_widths(entry: dict, names) -> dict:
    """The widest Δ CI half-width per status class over the idioms ``names`` (the reference's own cells left out)."""
    widths = {}
    for name in names:
        for cls, cell in (entry["variants"].get(name) or {}).items():
            d = cell["delta_us"]
            if d.get("ci95") and d.get("verdict") != "reference":
                widths[cls] = max(widths.get(cls, 0.0), (d["ci95"][1] - d["ci95"][0]) / 2)
    return widths


def cell_widths(entry: dict, cells: set) -> list:
    """The Δ CI half-widths of ``cells`` ((idiom, class) pairs) in the entry."""
    return [(c["delta_us"]["ci95"][1] - c["delta_us"]["ci95"][0]) / 2 for name, by_class in entry["variants"].items()
            for cls, c in by_class.items() if (name, cls) in cells]


def measured_cells(entry: dict) -> set:
    return {(name, cls) for name, by_class in entry["variants"].items() for cls, c in by_class.items()
            if c["delta_us"].get("ci95") and c["delta_us"].get("verdict") != "reference"}


def ci_target(entry: dict, reference: dict, reference_name: str):
    """Is the item as precise as its dimension's reference, within 2x? The target is checked on the typical
    Δ CI half-width, the median over the idiom x class cells both measured: the widest cell of a class is
    set by one idiom (abort_response's 401 varies between processes 2-3x more than its rounds do), and with 8
    workers two estimates of the same width differ by 2x by chance alone. Each class's widest is recorded
    beside it (``by_class``, ``wide_classes``: those over 2x the reference's). None when nothing compares."""
    common = [n for n in entry["variants"] if n in reference["variants"]]
    mine, theirs = class_widths(entry, common), class_widths(reference, common)
    by_class = {cls: {"half_width_us": round(w, 3), "reference_us": round(theirs[cls], 3),
                      "limit_us": round(2 * theirs[cls], 3), "met": w <= 2 * theirs[cls]}
                for cls, w in mine.items() if cls in theirs}
    cells = measured_cells(entry) & measured_cells(reference)
    if not by_class or not cells:
        return None
    typical, reference_typical = float(np.median(cell_widths(entry, cells))), float(np.median(cell_widths(reference, cells)))
    return {"reference": reference_name, "statistic": "median Δ CI half-width over the idiom x class cells both measured",
            "half_width_us": round(typical, 3), "reference_us": round(reference_typical, 3),
            "limit_us": round(2 * reference_typical, 3), "met": typical <= 2 * reference_typical,
            "wide_classes": [cls for cls, c in by_class.items() if not c["met"]], "by_class": by_class}


def targets(result: dict, budget_s: float) -> dict:
    """The issue's targets, checked on this run: its wall time within the mode's budget; per server and per
    Python (and per Flask release) the typical Δ CI half-width within 2x its dimension's reference's
    (``ci_target``); the classes whose widest cell is over 2x are listed beside (``wide``), not as misses."""
    widths, missed, wide = {}, [], []
    for dimension in DIMENSIONS:
        for key, entry in result[dimension].items():
            target = entry.get("ci_target")
            if not target:
                continue
            widths.setdefault(dimension, {})[key] = target["met"]
            if not target["met"]:
                missed.append(f"{dimension} {key}: typical ±{target['half_width_us']:.2f} µs > 2 × "
                              f"±{target['reference_us']:.2f} µs ({target['reference']})")
            wide += [f"{dimension} {key}: {cls} ±{c['half_width_us']:.2f} µs > 2 × ±{c['reference_us']:.2f} µs "
                     f"({target['reference']})" for cls, c in target["by_class"].items() if not c["met"]]
    wall = result.get("wall_s") or 0.0
    return {"wall_s": {"target": budget_s, "value": wall, "met": wall <= budget_s},
            "ci95_half_width": widths, "missed": missed, "wide": wide}
