"""``make compare``: what changed between a run and a base run, per idiom and status class, with a verdict each.

``python -m reports.compare --base DIR [--results DIR]`` (``make compare BASE=DIR``; the base defaults to
``reports/published``, the run to ``reports/out``) reads both folders through ``reports.data.Results``:

- construction (``micro.json``): per idiom, the mix and each status class, the interleaved ratio to the floor;
- HTTP (``load.json``): per idiom, the server's app time as a ratio to the floor (the primary shape);
- instructions (``counts.json``, where both runs have it): instructions per request, compared exactly.

On the same machine (CPU model and core count) and Python, ratios to the floor are compared as they are:
change = new / base. Otherwise the comparison says so and compares each idiom relative to ``jsonify_tuple``
in its own run instead, change = (new idiom / new jsonify_tuple) / (base idiom / base jsonify_tuple): the
floor's cost moves with the machine and the interpreter more than the difference between two idioms does.

A change is "slower" or "faster" when it is beyond the threshold and its 95% interval (from the two runs'
intervals) excludes no change; "same" otherwise. The thresholds come from measured spread:

- construction: ``K`` × √2 × s, where s is the pooled standard deviation of the log ratios of each idiom
  across the earlier runs of the same mode in ``micro_history.json`` (both folders', each run once, the
  compared run left out): the spread of the difference of two runs; at least ``MIN_PCT``. With fewer than
  ``MIN_RUNS`` such runs, the stated ``DEFAULT_PCT``. Status classes use the mix's threshold (their own
  intervals are wider, and the interval rule accounts for that);
- HTTP: the larger of ``DEFAULT_LOAD_PCT`` (two server processes of the same code differ by up to ~3%)
  and either run's A/A check;
- instructions: none (any difference is one; the counts do not drift).

Prints the tables in the style of pyperf's ``compare_to --table`` and a verdict per idiom ("no change",
"slower: ...", "faster: ..."); writes ``compare.json`` (``harness.schemas.compare``) beside the run's results,
which the report's comparison section reads. Exit 1 if an idiom is slower beyond a threshold (a
regression), 0 otherwise, 2 on bad input.
"""
from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

from harness.cli import UsageError, entry_point
from harness.results import OUT, ROOT, record_stage
from reports.data import Results

SCHEMA = "flask-json-idioms/compare/1"
REFERENCE = "jsonify_tuple"
K = 3.0
MIN_RUNS = 3
MIN_PCT = 0.5
DEFAULT_PCT = 3.0
DEFAULT_LOAD_PCT = 3.0
MEASURES = {"construction": "micro.json", "http": "load.json", "instructions": "counts.json"}
ALL = "all"


def status_label(status: str) -> str:
    """"unauthorized (401)"; "all" is the mix of the status classes."""
    if status == ALL:
        return "all (mix)"
    from variants.contract import SCENARIOS

    reply = SCENARIOS[status].reply if status in SCENARIOS else None
    return f"{status} ({reply.status})" if reply else status


def statuses_in_order(statuses) -> list:
    """The mix first, then the contract's status classes in its order, then any other."""
    from variants.contract import SCENARIOS

    statuses = set(statuses)
    known = [ALL] + list(SCENARIOS)
    return [s for s in known if s in statuses] + sorted(statuses - set(known))


def idioms_in_order(names) -> list:
    from variants import REGISTRY

    names = set(names)
    return [n for n in REGISTRY if n in names] + sorted(names - set(REGISTRY))


def log_half_width(ci) -> float:
    """Half the width of a 95% interval on the log scale (0 where there is none)."""
    try:
        lo, hi = float(ci[0]), float(ci[1])
    except (TypeError, ValueError, IndexError):
        return 0.0
    return (math.log(hi) - math.log(lo)) / 2 if lo > 0 and hi >= lo else 0.0


# --- the two runs ------------------------------------------------------------------------------------
def side(r: Results) -> dict:
    env = r.environment()
    return {"folder": str(r.folder), "mode": r.mode, "started": r.run.get("started") or (r.micro or {}).get("started"),
            "commit": env.get("git_commit"), "published_commit": (r.summary.get("published") or {}).get("commit"),
            "python": env.get("python"), "cpu_model": env.get("cpu_model"), "cores": env.get("cores"),
            "lock_sha256": env.get("lock_sha256")}


def differences(base: Results, new: Results) -> list:
    """What differs between the two runs' environments, one phrase each."""
    b, n = base.environment(), new.environment()
    out = []
    for key, what in (("cpu_model", "CPU"), ("cores", "cores"), ("python", "Python"), ("implementation", "implementation"),
                      ("kernel", "kernel")):
        if b.get(key) != n.get(key):
            out.append(f"{what}: {b.get(key, 'not recorded')} -> {n.get(key, 'not recorded')}")
    bp, np_ = b.get("packages") or {}, n.get("packages") or {}
    changed = [f"{k} {bp[k]} -> {np_[k]}" for k in sorted(set(bp) & set(np_)) if bp[k] != np_[k]]
    if changed:
        out.append(f"packages: {len(changed)} at another version ({', '.join(changed[:6])}"
                   f"{', ...' if len(changed) > 6 else ''})")
    if bp and np_ and set(bp) ^ set(np_):
        out.append(f"packages: {len(set(bp) ^ set(np_))} recorded in one run only")
    if b.get("lock_sha256") != n.get("lock_sha256"):
        out.append("uv.lock: " + ("differs" if b.get("lock_sha256") and n.get("lock_sha256") else "not recorded in both"))
    if base.mode != new.mode:
        out.append(f"mode: {base.mode} -> {new.mode}")
    return out


def same_machine(base: Results, new: Results) -> bool:
    b, n = base.environment(), new.environment()
    return all(b.get(k) is not None and b.get(k) == n.get(k) for k in ("cpu_model", "cores", "python"))


# --- thresholds ----------------------------------------------------------------------------------------
def history(base: Results, new: Results) -> list:
    """Both folders' micro_history.json runs, each once, without the run being compared."""
    seen, runs = set(), []
    skip = (new.micro or {}).get("started")
    for run in base.history + new.history:
        key = (run.get("started"), run.get("seed"))
        if key in seen or (skip and run.get("started") == skip) or not isinstance(run.get("interleaved_ratio"), dict):
            continue
        seen.add(key)
        runs.append(run)
    return runs


def micro_threshold(runs: list, modes: set, relative: bool) -> dict:
    """The construction threshold from the spread of earlier runs of the compared runs' mode(s)."""
    found = []
    for mode in sorted(m for m in modes if m) or [None]:
        same = [r for r in runs if r.get("mode") == mode]
        ss, dof = 0.0, 0
        names = {n for r in same for n in r["interleaved_ratio"]} - {"werkzeug_response", "raw_wsgi"}
        for name in names - ({REFERENCE} if relative else set()):
            xs = []
            for r in same:
                ratio = r["interleaved_ratio"]
                value, ref = ratio.get(name), ratio.get(REFERENCE) if relative else 1.0
                if isinstance(value, (int, float)) and isinstance(ref, (int, float)) and value > 0 and ref > 0:
                    xs.append(math.log(value / ref))
            if len(xs) >= 2:
                mean = sum(xs) / len(xs)
                ss += sum((x - mean) ** 2 for x in xs)
                dof += len(xs) - 1
        what = "costs relative to jsonify_tuple" if relative else "ratios to the floor"
        if len(same) < MIN_RUNS or dof == 0:
            found.append({"pct": DEFAULT_PCT, "runs": 0,
                          "how": f"the default ±{DEFAULT_PCT:g}%: fewer than {MIN_RUNS} earlier {mode or 'unknown-mode'} runs "
                                 f"in micro_history.json ({len(same)}) to measure the run-to-run spread from"})
            continue
        s = math.sqrt(ss / dof)
        pct = max(MIN_PCT, 100 * (math.exp(K * math.sqrt(2) * s) - 1))
        found.append({"pct": round(pct, 3), "runs": len(same),
                      "how": f"{K:g} × √2 × the run-to-run standard deviation of the idioms' {what} across "
                             f"{len(same)} earlier {mode} runs in micro_history.json ({100 * s:.2f}%)"
                             + (f", raised to the minimum ±{MIN_PCT:g}%" if pct == MIN_PCT else "")})
    widest = max(found, key=lambda t: t["pct"])
    if len(found) > 1:
        widest = {**widest, "how": widest["how"] + " (the wider of the two runs' modes)"}
    return widest


def load_threshold(base: Results, new: Results) -> dict:
    aa = []
    for r in (base, new):
        check = ((r.load or {}).get("calibration") or {}).get("aa") or {}
        if isinstance(check.get("pct"), (int, float)):
            aa.append(abs(check["pct"]))
    if aa and max(aa) > DEFAULT_LOAD_PCT:
        return {"pct": round(max(aa), 3), "runs": 0, "how": f"the larger A/A check of the two runs ({max(aa):.2f}%): "
                                                            f"a difference the server's noise already shows"}
    return {"pct": DEFAULT_LOAD_PCT, "runs": 0,
            "how": "two server processes of the same code differ by up to ~3% (memory layout)"
                   + (f"; the A/A checks were {', '.join(f'{x:.2f}%' for x in aa)}" if aa else "")}


# --- figures -------------------------------------------------------------------------------------------
def micro_figures(r: Results, relative: bool) -> dict:
    """{idiom: {status: (value, log half-width)}}: the construction ratio to the floor, or relative to jsonify_tuple."""
    variants = (r.micro or {}).get("variants") or {}
    out = {}

    def figure(entry: dict):
        est = (entry or {}).get("ratio_to_floor") or {}
        value = est.get("estimate")
        return (value, log_half_width(est.get("ci95"))) if isinstance(value, (int, float)) and value > 0 else None

    for name, entry in variants.items():
        cells = {ALL: figure(entry)}
        cells.update((s, figure(e)) for s, e in (entry.get("scenarios") or {}).items())
        out[name] = {s: c for s, c in cells.items() if c}
    if relative:
        ref = out.get(REFERENCE)
        if not ref:
            return {}
        out = {name: {s: (v / ref[s][0], math.hypot(h, ref[s][1])) for s, (v, h) in cells.items() if s in ref}
               for name, cells in out.items()}
    return out


def load_figures(r: Results, relative: bool) -> dict:
    """{idiom: {"all": (value, log half-width)}}: the app time's ratio to the floor, or to jsonify_tuple
    (the mean of its apps in the load test)."""
    out = {}
    for name, entry in ((r.load or {}).get("variants") or {}).items():
        est = entry.get("ratio_to_reference" if relative else "ratio_to_floor") or {}
        if relative and est.get("reference") not in (None, REFERENCE):
            continue
        value = est.get("estimate")
        if isinstance(value, (int, float)) and value > 0:
            out[name] = {ALL: (value, log_half_width(est.get("ci95")))}
    return out


def count_figures(r: Results) -> dict:
    """{idiom: {status class: (instructions per request, 0)}} from counts.json (``variants.<name>.<class>.instructions``,
    ``harness.schemas.counts``; a skipped count stage has none)."""
    out = {}
    variants = (r.counts or {}).get("variants")
    for name, classes in (variants or {}).items():
        cells = {status: (float(cell["instructions"]), 0.0) for status, cell in (classes or {}).items()
                 if isinstance(cell, dict) and isinstance(cell.get("instructions"), (int, float))
                 and cell["instructions"] > 0}
        if cells:
            out[name] = cells
    return out


# --- the comparison --------------------------------------------------------------------------------------
def verdict(base: tuple, new: tuple, threshold_pct: float) -> tuple:
    """(change %, its 95% interval in %, "slower" | "faster" | "same")."""
    d = math.log(new[0] / base[0])
    h = math.hypot(base[1], new[1])
    t = math.log1p(threshold_pct / 100)
    word = "slower" if d > t and d - h > 0 else "faster" if d < -t and d + h < 0 else "same"
    if threshold_pct == 0 and base[1] == new[1] == 0:  # exact counts: any difference is one
        word = "slower" if new[0] > base[0] else "faster" if new[0] < base[0] else "same"
    pct = lambda x: round(100 * math.expm1(x), 3)  # noqa: E731
    return pct(d), ([pct(d - h), pct(d + h)] if h else None), word


def rows_for(measure: str, base: dict, new: dict, threshold_pct: float, relative: bool) -> list:
    rows = []
    for name in idioms_in_order(set(base) | set(new)):
        b, n = base.get(name) or {}, new.get(name) or {}
        for status in statuses_in_order(set(b) | set(n)):
            row = {"measure": measure, "idiom": name, "status": status, "base": b.get(status, (None,))[0],
                   "new": n.get(status, (None,))[0], "change_pct": None, "ci95_pct": None,
                   "threshold_pct": threshold_pct}
            if status not in b and status not in n:
                continue
            if status not in b or status not in n:
                row["verdict"] = "only in new" if status in n else "only in base"
            elif relative and name == REFERENCE:
                row["verdict"] = "reference"
            else:
                row["change_pct"], row["ci95_pct"], row["verdict"] = verdict(b[status], n[status], threshold_pct)
            rows.append(row)
    return rows


def describe(row: dict) -> str:
    where = {"construction": "construction", "http": "HTTP", "instructions": "instructions"}[row["measure"]]
    ci = f", 95% CI [{row['ci95_pct'][0]:+.1f}%, {row['ci95_pct'][1]:+.1f}%]" if row.get("ci95_pct") else ""
    return (f"{where}, {status_label(row['status'])}: {row['change_pct']:+.1f}% "
            f"(threshold ±{row['threshold_pct']:.2f}%{ci})")


def per_idiom(rows: list) -> dict:
    out = {}
    for name in idioms_in_order({r["idiom"] for r in rows}):
        mine = [r for r in rows if r["idiom"] == name]
        slower = [describe(r) for r in mine if r["verdict"] == "slower"]
        faster = [describe(r) for r in mine if r["verdict"] == "faster"]
        compared = any(r["verdict"] in ("same", "slower", "faster", "reference") for r in mine)
        word = ("slower and faster" if slower and faster else "slower" if slower else "faster" if faster
                else "no change" if compared else "not compared (" + ", ".join(sorted({r["verdict"] for r in mine})) + ")")
        out[name] = {"verdict": word, "slower": slower, "faster": faster}
    return out


def compare(base_dir: Path, new_dir: Path) -> dict:
    """Compare the run in ``new_dir`` with the one in ``base_dir``: compare.json's content."""
    for folder in (base_dir, new_dir):
        if not folder.is_dir():
            raise UsageError(f"{folder}: no such folder (BASE= and --results take a folder with summary.json and the "
                             f"raw results of a run)")
    base, new = Results(base_dir), Results(new_dir)
    direct = same_machine(base, new)
    relative = not direct
    basis, thresholds, rows, notes = {}, {}, [], []
    for r, which in ((base, "base"), (new, "new")):
        for name, why in r.problems.items():
            notes.append(f"{which}: {name} ignored: {why}")

    b_micro, n_micro = micro_figures(base, relative), micro_figures(new, relative)
    if b_micro and n_micro:
        basis["construction"] = ("the interleaved ratio to the floor" if direct else
                                 "the interleaved ratio to the floor, relative to jsonify_tuple's in the same run")
        thresholds["construction"] = micro_threshold(history(base, new), {base.mode, new.mode}, relative)
        rows += rows_for("construction", b_micro, n_micro, thresholds["construction"]["pct"], relative)
    elif base.micro or new.micro:
        notes.append("construction: not compared: " + ("micro.json is missing from one of the runs" if not (base.micro and new.micro)
                                                       else "jsonify_tuple, the reference across machines, is not in both runs"))
    b_load, n_load = load_figures(base, relative), load_figures(new, relative)
    if b_load and n_load:
        basis["http"] = ("the server's app time as a ratio to the floor" if direct else
                         "the server's app time relative to a second jsonify_tuple instance in the same server")
        thresholds["http"] = load_threshold(base, new)
        rows += rows_for("http", b_load, n_load, thresholds["http"]["pct"], relative)
    elif base.load or new.load:
        notes.append("HTTP: not compared: load.json is missing from one of the runs, or has no figures to compare")
    b_counts, n_counts = count_figures(base), count_figures(new)
    if b_counts and n_counts:
        basis["instructions"] = "instructions per request under valgrind, exactly"
        thresholds["instructions"] = {"pct": 0.0, "runs": 0, "how": "none: instruction counts do not drift, any "
                                                                    "difference is one"}
        rows += rows_for("instructions", b_counts, n_counts, 0.0, False)
        if not direct:
            notes.append("instructions: compared as counted; another Python or package version changes them too")
    if not rows:
        raise UsageError(f"nothing to compare: {new_dir} and {base_dir} have no microbenchmark, load or count "
                         f"results in common (run `make bench` first)")
    idioms = per_idiom(rows)
    return {"schema": SCHEMA, "status": "ok", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "base": side(base), "new": side(new), "same_machine": direct, "basis": basis,
            "differences": differences(base, new), "thresholds": thresholds, "rows": rows, "idioms": idioms,
            "regressions": [n for n, v in idioms.items() if v["slower"]], "notes": notes}


# --- the printed tables ---------------------------------------------------------------------------------
def draw(head: list, rows: list) -> str:
    """A table as pyperf's compare_to --table draws it."""
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def fmt(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line, fmt(head), line.replace("-", "=")] + [fmt(row) for row in rows] + [line])


def figure_text(value, relative: bool, measure: str) -> str:
    if value is None:
        return "-"
    if measure == "instructions":
        return f"{value:,.0f}"
    return f"{100 * (value - 1):+.1f}%" if relative else f"{value:,.2f}"


def cell(row: dict) -> str:
    if row["verdict"] in ("only in base", "only in new", "reference"):
        return row["verdict"]
    if row["verdict"] == "same":
        return f"same ({row['change_pct']:+.1f}%)"
    factor = (1 + row["change_pct"] / 100) if row["verdict"] == "slower" else 1 / (1 + row["change_pct"] / 100)
    return f"{factor:.2f}x {row['verdict']} ({row['change_pct']:+.1f}%)"


def table(result: dict, measure: str) -> tuple:
    """(head, rows) for one measure: per idiom base and new over the mix, then each status class's change."""
    rows = [r for r in result["rows"] if r["measure"] == measure]
    relative = not result["same_machine"] and measure != "instructions"
    statuses = statuses_in_order({r["status"] for r in rows} | {ALL})
    head = ["idiom", "base", "new"] + [status_label(s) for s in statuses]
    body = []
    for name in idioms_in_order({r["idiom"] for r in rows}):
        mine = {r["status"]: r for r in rows if r["idiom"] == name}
        first = mine.get(ALL) or next(iter(mine.values()))
        body.append([name, figure_text(first["base"], relative, measure), figure_text(first["new"], relative, measure)]
                    + [cell(mine[s]) if s in mine else "-" for s in statuses])
    return head, body


def run_line(s: dict) -> str:
    commit = s.get("published_commit", "")[:7] if s.get("published_commit") else s.get("commit") or "unknown commit"
    return f"{s['folder']} ({s.get('mode') or 'unknown'} run, started {s.get('started') or '?'}, {commit})"


def text(result: dict) -> str:
    b, n = result["base"], result["new"]
    out = [f"make compare: {run_line(n)}", f"     against: {run_line(b)}"]
    if result["same_machine"]:
        out.append(f"same machine ({n.get('cpu_model')}, {n.get('cores')} cores) and Python {n.get('python')}: "
                   f"ratios to the floor compared directly")
    else:
        out.append("a CROSS-MACHINE comparison (another CPU, core count or Python): each idiom is compared relative to "
                   "jsonify_tuple in its own run, not by its ratio to the floor")
    if result["differences"]:
        out.append("differences: " + "; ".join(result["differences"]))
    titles = {"construction": "Construction (micro.json)", "http": "HTTP (load.json, primary shape)",
              "instructions": "Instructions (counts.json)"}
    for measure, basis in result["basis"].items():
        threshold = result["thresholds"][measure]
        out += ["", f"{titles[measure]}: {basis}; change = new / base", f"threshold ±{threshold['pct']:.2f}%: {threshold['how']}"]
        out.append(draw(*table(result, measure)))
    out += [""] + [f"note: {x}" for x in result["notes"]]
    out.append("Per idiom:")
    for name, v in result["idioms"].items():
        detail = "; ".join(v["slower"] + v["faster"])
        out.append(f"  {name}: {v['verdict']}" + (f": {detail}" if detail else ""))
    regressions = result["regressions"]
    out.append(f"\n{len(regressions)} idiom(s) slower beyond the threshold: {', '.join(regressions)}" if regressions
               else "\nno idiom is slower beyond the threshold")
    return "\n".join(x for x in out if x is not None)


@entry_point
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=str(ROOT / "reports" / "published"),
                        help="the base run's results folder (default: %(default)s)")
    parser.add_argument("--results", default=str(OUT), help="the run to compare (default: %(default)s)")
    parser.add_argument("--out", default=None, help="where compare.json goes (default: the --results folder)")
    args = parser.parse_args(argv)
    result = compare(Path(args.base), Path(args.results))
    print(text(result))
    path = record_stage("compare", "compare.json", result, out=Path(args.out or args.results))
    print(f"wrote {path}; `make report` shows it as a section of the report")
    return 1 if result["regressions"] else 0


if __name__ == "__main__":
    sys.exit(main())
