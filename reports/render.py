"""``make report``: the raw results in ``reports/out/`` become REPORT.md, report.html and charts.

``python -m reports.render [--results DIR] [--out DIR]`` (both default to ``reports/out``, or
``FLASK_IDIOMS_OUT``) reads ``summary.json`` and the raw files beside it, and writes:

- ``REPORT.md``: GitHub-flavoured Markdown, charts linked from ``charts/``;
- ``report.html``: the same blocks as one self-contained page (styles inline, charts as data URIs);
- ``charts/<name>.png`` and ``.svg`` (matplotlib, Agg).

What comes from where (the schemas are in ``bench/micro.py``, ``harness/matrix.py`` and ``loadtests/``):

- conformance: ``conformance.json`` (``harness.conformance``);
- construction cost and the methods: ``micro.json`` (``results``), else the parts of it merged into
  ``summary.json``; across runs: ``micro_history.json``;
- load: ``summary.json`` (``variants.<name>.load``, ``baselines.floor.load``, ``load_run``,
  ``calibration.load``), else the same keys in ``load.json``;
- Flask versions: ``compat.json`` (``make matrix``, not part of ``make bench``);
- the run: ``summary.json`` ``run`` and ``stages`` (``harness.bench``).

Nothing in the report is typed in by hand: every number, name and sentence of the verdict is computed
from those files (and the registry's metadata where conformance.json is missing). A missing file or
stage makes its section say so (with the stage's status from ``summary.stages``); a corrupt file is
reported on stderr and in the report and treated as missing; results older than the current
``make bench`` run from a stage that did not succeed in it are not mixed in. A section whose data has
an unexpected shape says it could not be rendered, and the others are still written.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from harness.cli import entry_point
from harness.results import OUT, ResultError, read_json
from variants.contract import IDIOM_REPLIES
from reports.document import (Bullets, Details, Figure, Heading, Note, Para, Table, code_span, slug, to_html,
                              to_markdown)

TITLE = "Flask JSON idioms: conformance and cost"
IDIOM_SCENARIOS = tuple(IDIOM_REPLIES)  # success, created, unauthorized: the construct mix
FILES = ("summary.json", "conformance.json", "micro.json", "micro_history.json", "pytest_benchmark.json",
         "pytest_benchmark_history.json", "load.json", "compat.json")
MAKE_TARGET = {"verify": "verify", "micro": "micro", "pytest-benchmark": "micro", "load": "load"}
SHARE_THRESHOLD_PCT = 5.0  # under this share of a request's server time, cost is not a deciding factor
HEADER_SHOWN = ("Content-Type", "WWW-Authenticate", "ContentType")


# --- formatting ----------------------------------------------------------------------------------

def f_num(x, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def f_ci(ci, digits: int = 2) -> str:
    if not ci or len(ci) != 2 or ci[0] is None:
        return "n/a"
    return f"[{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]"


def f_us(ns, digits: int = 2) -> str:
    return "n/a" if ns is None else f"{ns / 1000:,.{digits}f} µs"


def f_pct(x, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}%"


def f_share(x) -> str:
    """A fraction (of CPU time, or of one core: it may exceed 1) as a percentage."""
    if x is None:
        return "n/a"
    if not isinstance(x, (int, float)):
        return str(x)
    return f"{100 * x:.1f}%" if 0 < abs(x) < 0.01 else f"{100 * x:.0f}%"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def name_of(name: str) -> str:
    return code_span(name)


def plus_minus(ci) -> float:
    return (ci[1] - ci[0]) / 2


def show_bytes(body) -> str:
    if body is None:
        return "(not JSON)"
    return code_span(body.replace("\\", "\\\\").replace("\n", "\\n"))


def parse_time(text):
    try:
        moment = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- the inputs ----------------------------------------------------------------------------------

class Results:
    """Every result file in one folder, read once, with what is missing, corrupt or stale noted."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.problems = {}  # file -> why it was ignored
        self.summary = self.read("summary.json") or {}
        self.run = self.summary.get("run") or {}
        self.stages = self.summary.get("stages") or {}
        self.conformance = self.read("conformance.json")
        self.micro = self._micro()
        history = self.read("micro_history.json") or {}
        self.history = [r for r in history.get("runs", []) if isinstance(r, dict)]
        self.plain = (self.summary.get("micro") or {}).get("pytest_benchmark")
        if not (isinstance(self.plain, dict) and isinstance(self.plain.get("variants"), dict)):
            self.plain = None
        plain_history = self.read("pytest_benchmark_history.json") or {}
        self.plain_history = [r for r in plain_history.get("runs", []) if isinstance(r, dict) and isinstance(r.get("variants"), dict)]
        self.load = self._load()
        self.compat = self.read("compat.json")
        self.names = self._names()

    def read(self, name: str):
        path = self.folder / name
        if not path.exists():
            return None
        try:
            data = read_json(path)
        except ResultError as e:
            print(f"warning: ignoring {e}", file=sys.stderr)
            self.problems[name] = str(e).split(": ", 1)[-1]
            return None
        if not isinstance(data, dict):
            print(f"warning: ignoring {path}: not a JSON object", file=sys.stderr)
            self.problems[name] = "not a JSON object"
            return None
        return data

    def _stale(self, stage: str, started) -> bool:
        """Results from before this ``make bench`` run, whose own stage did not succeed in it."""
        status = (self.stages.get(stage) or {}).get("status")
        run_started, data_started = parse_time(self.run.get("started")), parse_time(started)
        return status not in (None, "ok") and run_started and data_started and data_started < run_started

    def _micro(self):
        raw = self.read("micro.json")
        if raw and isinstance(raw.get("results"), dict):
            res = raw["results"]
            micro = {"source": "micro.json", "mode": raw.get("mode"), "started": raw.get("started"),
                     "variants": res.get("variants") or {}, "baselines": res.get("baselines") or {},
                     "calibration": res.get("calibration"), "pairwise": (res.get("pairwise") or {}).get("construct", {}).get("all", []),
                     "methods": res.get("methods") or {}, "drift": res.get("drift"), "targets": raw.get("targets"),
                     "warnings": raw.get("warnings") or [], "environment": raw.get("environment") or {},
                     "config": raw.get("config") or {}, "wall_s": raw.get("wall_s"), "rounds_omitted": raw.get("omitted")}
        elif isinstance(self.summary.get("micro"), dict):
            s = self.summary
            part = s["micro"]
            micro = {"source": "summary.json", "mode": part.get("mode"), "started": part.get("date"),
                     "variants": {n: v["micro"] for n, v in (s.get("variants") or {}).items() if "micro" in v},
                     "baselines": {n: b for n, b in (s.get("baselines") or {}).items() if "ratio_to_floor" in b},
                     "calibration": (s.get("calibration") or {}).get("micro"), "pairwise": part.get("pairwise") or [],
                     "methods": part.get("methods") or {}, "drift": part.get("drift"), "targets": part.get("targets"),
                     "warnings": part.get("warnings") or [], "environment": part.get("environment") or {},
                     "config": {"floor": part.get("floor")}, "wall_s": None, "rounds_omitted": None}
        else:
            return None
        micro["ratio_definition"] = (self.summary.get("micro") or {}).get("ratio_definition")
        if not micro["variants"]:
            return None
        if self._stale("micro", micro["started"]):
            self.problems["micro.json"] = (f"from an earlier run (started {micro['started']}), not used: the micro stage "
                                           f"of this run did not succeed")
            return None
        return micro

    def _load(self):
        found = self._load_from_summary()
        raw = self.read("load.json")
        if found is None and raw:
            found = self._load_from_raw(raw)
            if found and self._stale("load", raw.get("date")):
                self.problems["load.json"] = (f"from an earlier run ({raw.get('date')}), not used: the load stage of "
                                              f"this run did not succeed")
                return None
        return found

    def _load_from_summary(self):
        s = self.summary
        variants = {n: v["load"] for n, v in (s.get("variants") or {}).items()
                    if isinstance(v, dict) and isinstance(v.get("load"), dict) and v["load"]}
        if not variants:
            return None
        return {"source": "summary.json", "variants": variants,
                "floor": ((s.get("baselines") or {}).get("floor") or {}).get("load"),
                "run": s.get("load_run") or {}, "calibration": (s.get("calibration") or {}).get("load")}

    def _load_from_raw(self, raw: dict):
        """The same view from load.json itself (interleaved layout): ``shapes.<shape>.targets``."""
        shapes = {k: v for k, v in (raw.get("shapes") or {}).items() if isinstance(v, dict) and v.get("targets")}
        primary = "paced" if "paced" in shapes else next(iter(shapes), None)
        if primary is None:
            return None
        targets = shapes[primary]["targets"]
        variants = {n: {**t, "by_shape": {s: v["targets"][n] for s, v in shapes.items() if n in v["targets"]}}
                    for n, t in targets.items() if n not in ("floor", "planted", "planted_reference", "reference")}
        run = {k: v for k, v in raw.items() if k != "shapes"}
        run.update(primary_shape=primary, shapes={s: {k: x for k, x in v.items() if k not in ("targets", "window_mix_us")}
                                                  for s, v in shapes.items()},
                   server_request_cpu_us=shapes[primary].get("server_request_cpu_us"))
        return {"source": "load.json", "variants": variants, "floor": targets.get("floor"), "run": run,
                "calibration": shapes[primary].get("calibration")}

    def _names(self) -> list:
        from variants import REGISTRY

        found = set(self.run.get("variants") or [])
        for source in (self.conformance, self.micro and self.micro["variants"], self.load and self.load["variants"]):
            found.update(source or {})
        if not found:
            found.update(n for n, v in (self.summary.get("variants") or {}).items())
        return [n for n in REGISTRY if n in found] + sorted(found - set(REGISTRY))

    # what each variant is
    def verdict(self, name: str):
        if self.conformance and name in self.conformance:
            return self.conformance[name].get("verdict")
        return ((self.summary.get("variants") or {}).get(name, {}).get("conformance") or {}).get("verdict")

    def kind(self, name: str) -> str:
        return {"conforms": "correct", "declared divergence": "divergent", "BROKEN": "broken"}.get(self.verdict(name), "unknown")

    def meta(self, name: str) -> dict:
        """Registry facts about a variant, as conformance.json recorded them (else from the registry)."""
        if self.conformance and name in self.conformance:
            return self.conformance[name]
        from variants import REGISTRY

        v = REGISTRY.get(name)
        if v is None:
            return {}
        return {"summary": v.summary, "min_flask": v.min_flask, "divergence": v.divergence, "headers_via": v.headers,
                "pitfall": v.pitfall, "idiom_lines": v.idiom_lines}

    def correct(self, names=None) -> list:
        return [n for n in (names or self.names) if self.kind(n) == "correct"]

    def micro_rank(self) -> list:
        """Variants with micro results, cheapest first."""
        if not self.micro:
            return []
        v = self.micro["variants"]
        return sorted((n for n in self.names if n in v), key=lambda n: v[n]["ratio_to_floor"]["estimate"])

    def pair(self, a: str, b: str):
        for row in (self.micro or {}).get("pairwise", []):
            if {row["a"], row["b"]} == {a, b}:
                return row
        return None

    def stage_note(self, stage: str, what: str, files: tuple) -> str:
        """Why a section has no data: the stage's status in this run, and any file problems."""
        outcome = self.stages.get(stage)
        if outcome:
            status = outcome.get("status", "?")
            detail = f" ({outcome['detail']})" if outcome.get("detail") else ""
            if status == "ok":
                text = f"the {stage} stage reported ok but left no {what} results"
            else:
                verb = {"failed": "failed", "incomplete": "was interrupted", "missing": "did not run",
                        "skipped": "did not run"}.get(status, "did not complete")
                text = f"the {stage} stage {verb} in this run: {status}{detail}"
        else:
            text = (f"no {what} results, and no record of a {stage} stage in this run "
                    f"(run `make {MAKE_TARGET.get(stage, stage)}` or `make bench`)")
        for name in files:
            if name in self.problems:
                text += f"; `{name}` ignored: {self.problems[name]}"
        return text[0].upper() + text[1:] + "."


# --- sections ------------------------------------------------------------------------------------

class Report:
    def __init__(self, results: Results, out: Path):
        self.r = results
        self.out = Path(out)
        self.charts = self.out / "charts"
        self.chart_files = []

    # guarded: a section whose data has an unexpected shape says so; the rest of the report is written
    def section(self, title: str, build) -> list:
        head = [Heading(2, title)]
        try:
            return head + build()
        except Exception as e:  # noqa: BLE001  (any malformed input must not stop the report)
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"warning: section {title!r} could not be rendered: {type(e).__name__}: {e} "
                  f"(reports/render.py:{where.lineno})", file=sys.stderr)
            return head + [Note("Could not render", f"the data for this section has an unexpected shape "
                                                    f"({type(e).__name__}: {e}); the raw files are listed under Environment.")]

    def chart(self, draw, *args, **kwargs):
        from reports import charts

        self.chart_files += getattr(charts, draw)(self.charts, *args, **kwargs)

    def blocks(self) -> list:
        r = self.r
        env = self.environment()
        mode = r.run.get("mode") or (r.micro or {}).get("mode") or "unknown"
        titles = ["1. Verdict", "2. Conformance matrix", "3. Construction cost", "4. Methods side by side",
                  "5. Load over HTTP", "6. Flask version compatibility", "7. Environment and raw data"]
        blocks = [Heading(1, TITLE),
                  Para(f"A **{mode}** run of `make bench`"
                       + (f", started {r.run['started']}" if r.run.get("started") else "")
                       + (f", at commit `{env['git_commit']}`" if env.get("git_commit") else "")
                       + f"; rendered {datetime.now(timezone.utc).isoformat(timespec='seconds')} by "
                         f"`python -m reports.render` from the raw results beside this file "
                         f"({', '.join(f'[{n}]({n})' for n in FILES if (r.folder / n).exists()) or 'none found'})."),
                  Para(" · ".join(f"[{t}](#{slug(t)})" for t in titles))]
        if mode == "quick":
            blocks.append(Note("Quick run", "fewer rounds and shorter load tests than a full run; the figures are "
                                            "indicative. `make bench` (without QUICK=1) is the run to publish."))
        builders = (self.verdict, self.conformance, self.construction, self.methods, self.load, self.compat,
                    self.environment_section)
        for title, build in zip(titles, builders):
            blocks += self.section(title, build)
        return blocks

    # 1. -------------------------------------------------------------------------------------------
    def verdict(self) -> list:
        r = self.r
        points, caveats = [], []
        correct = r.correct()
        verify = r.stages.get("verify") or {}
        if r.conformance is None:
            points.append("**Correctness unknown.** " + r.stage_note("verify", "conformance", ("conformance.json",)))
        else:
            divergent = [n for n in r.names if r.kind(n) == "divergent"]
            broken = [n for n in r.names if r.kind(n) == "broken"]
            text = (f"**{len(correct)} of {len(r.names)} idioms meet the contract** (status, JSON body, "
                    f"Content-Type, WWW-Authenticate on the 401)")
            if divergent:
                text += (f"; {len(divergent)} are declared divergences, timed but not correct: "
                         + ", ".join(name_of(n) for n in divergent)
                         + " (" + "; ".join(sorted({self._divergence_short(n) for n in divergent})) + ")")
            points.append(text + ".")
            if broken:
                points.append(f"**Conformance failed**: {', '.join(name_of(n) for n in broken)} "
                              f"{'does' if len(broken) == 1 else 'do'} not meet the contract and declare no divergence"
                              + ("; the run stopped before any timing." if verify.get("status") == "failed" else "."))
        cheapest = self._cost_points(points, caveats)
        self._end_to_end_points(points, caveats, cheapest)
        recommendation = self._recommendation(cheapest)
        if recommendation:
            points.insert(0, recommendation)
        self._caveats(caveats)
        blocks = [Bullets(points)]
        if caveats:
            blocks += [Para("**Caveats**"), Bullets(caveats)]
        blocks += self.gains_table(cheapest)
        blocks += [Heading(3, "Decision table for a house style")] + self.decision_table()
        return blocks

    def _divergence_short(self, name: str) -> str:
        text = self.r.meta(name).get("divergence") or ""
        return text.split(":")[0].strip() or "declared divergence"

    def _cost_points(self, points: list, caveats: list):
        r = self.r
        if not r.micro:
            points.append("**Construction cost unknown.** " + r.stage_note("micro", "microbenchmark", ("micro.json",)))
            return None
        v = r.micro["variants"]
        ranked = [n for n in r.micro_rank() if r.kind(n) in ("correct", "unknown")]
        if not ranked:
            points.append("No correct idiom has microbenchmark results.")
            return None
        cheapest = ranked[0]
        c = v[cheapest]
        points.append(f"**Cheapest correct idiom to build: {name_of(cheapest)}**, "
                      f"{f_num(c['ratio_to_floor']['estimate'])}× the floor {f_ci(c['ratio_to_floor']['ci95'])} "
                      f"({f_us(c['construct_ns']['median'])} per response over {'/'.join(IDIOM_SCENARIOS)}).")
        close, apart = [], []
        for other in ranked[1:]:
            row = r.pair(cheapest, other)
            (close if row and (not row["significant"] or row["below_resolution"]) else apart).append(other)
        if close:
            points.append(f"Within noise of {name_of(cheapest)} (no significant difference, or under the run-to-run "
                          f"resolution): {', '.join(name_of(n) for n in close)}.")
        elif apart:
            row = r.pair(cheapest, apart[0])
            points.append(f"No other correct idiom is within noise of it: the next, {name_of(apart[0])}, takes "
                          f"{f_num(row['ratio'], 3)} ± {f_num(plus_minus(row['ci95']), 3)}× as long (Holm p = {row['p_holm']:.2g}).")
        groups = self._noise_groups(ranked)
        if groups:
            points.append("Within noise of each other, among the correct idioms: "
                          + "; ".join("{" + ", ".join(name_of(n) for n in g) + "}" for g in groups)
                          + ". Every other neighbouring pair in the ranking differs significantly.")
        elif len(ranked) > 2:
            points.append("Every neighbouring pair of correct idioms in the ranking differs significantly.")
        if len(ranked) > 1:
            last = ranked[-1]
            row = r.pair(cheapest, last)
            if row:
                points.append(f"The dearest correct idiom, {name_of(last)}, takes {f_num(row['ratio'])} ± "
                              f"{f_num(plus_minus(row['ci95']))}× as long as {name_of(cheapest)} "
                              f"({f_us(v[last]['construct_ns']['median'])} vs {f_us(c['construct_ns']['median'])}).")
        return cheapest

    def _noise_groups(self, ranked: list) -> list:
        groups, current = [], [ranked[0]] if ranked else []
        for a, b in zip(ranked, ranked[1:]):
            row = self.r.pair(a, b)
            if row and (not row["significant"] or row["below_resolution"]):
                current.append(b)
            else:
                if len(current) > 1:
                    groups.append(current)
                current = [b]
        if len(current) > 1:
            groups.append(current)
        return groups

    def primary_shape(self) -> tuple:
        """The load stage's primary shape: (its name, its facts), or (None, {})."""
        run = (self.r.load or {}).get("run") or {}
        name = run.get("primary_shape")
        shapes = run.get("shapes") or {}
        return (name, shapes.get(name) or {}) if name in shapes else (name, {})

    def request_time_us(self, name: str):
        """A request's server time: the load stage's server CPU per request (gunicorn and Flask, the whole
        request), else one in-process WSGI call from the microbenchmarks; (µs, what it is)."""
        if self.r.load:
            shape, facts = self.primary_shape()
            per_request = facts.get("server_request_cpu_us") or self.r.load["run"].get("server_request_cpu_us")
            if per_request:
                return per_request, f"the server's CPU time per request over HTTP, gunicorn and Flask, {shape} shape"
        if self.r.micro and name in self.r.micro["variants"]:
            return self.r.micro["variants"][name]["dispatch_ns"]["median"] / 1000, \
                "one in-process WSGI call of the app from the microbenchmarks, without server or network, as there are no load results"
        return None, None

    def savings(self, cheapest: str) -> list:
        """Per correct idiom: what switching to ``cheapest`` saves per response, in µs and % of a request."""
        v = self.r.micro["variants"]
        rows = []
        for name in self.r.micro_rank():
            if name == cheapest or self.r.kind(name) not in ("correct", "unknown"):
                continue
            saved_us = (v[name]["construct_ns"]["median"] - v[cheapest]["construct_ns"]["median"]) / 1000
            request_us, basis = self.request_time_us(name)
            rows.append({"name": name, "saved_us": saved_us, "request_us": request_us, "basis": basis,
                         "share_pct": 100 * saved_us / request_us if request_us else None})
        return rows

    def _end_to_end_points(self, points: list, caveats: list, cheapest):
        r = self.r
        if r.load is None:
            points.append("**Over HTTP: no load results.** " + r.stage_note("load", "load", ("load.json",)))
        self.gains = []
        if not cheapest:
            if r.load:
                points += self._http_only_points()
            return
        rows = [row for row in self.savings(cheapest) if row["share_pct"] is not None]
        if not rows:
            return
        lv = r.load["variants"] if r.load else {}
        for row in rows:
            row["http_pct"] = (lv.get(row["name"], {}).get("share_of_request") or {}).get("idiom_delta_pct")
        self.gains = rows
        near, far = rows[0], max(rows, key=lambda x: x["saved_us"])
        text = (f"**End to end**, a request costs the server {f_num(far['request_us'], 0)} µs ({far['basis']}). "
                f"Choosing {name_of(cheapest)} saves {f_num(far['saved_us'])} µs per response over the dearest correct "
                f"idiom, {name_of(far['name'])}: **{f_pct(far['share_pct'])} of a request** by the microbenchmarks")
        if far["http_pct"] is not None:
            text += (f"; measured over HTTP, {name_of(far['name'])}'s app CPU is **{f_pct(far['http_pct'], 1)} of a "
                     f"request** above the cheapest correct idiom's")
        text += (f". Over the nearest, {name_of(near['name'])}, it saves {f_num(near['saved_us'])} µs "
                 f"({f_pct(near['share_pct'])}).")
        points.append(text)
        shares = [x["share_pct"] for x in rows] + [x["http_pct"] for x in rows if x["http_pct"] is not None]
        worst = max(shares)
        if worst < SHARE_THRESHOLD_PCT:
            points.append(f"So construction cost does not decide a house style here: at most {f_pct(worst)} of a "
                          f"request's server time between correct idioms (under {SHARE_THRESHOLD_PCT:.0f}%). Choose on the "
                          f"decision table's other columns: lines, minimum Flask, how extra headers are set, pitfalls.")
        else:
            points.append(f"Construction cost is visible end to end: up to {f_pct(worst)} of a request's server time "
                          f"between correct idioms (over {SHARE_THRESHOLD_PCT:.0f}%), for the idioms at the dear end of the "
                          f"ranking; among the idioms near the cheap end it is a fraction of that (table below).")
        if r.load:
            points += self._http_points(cheapest, far["name"])

    def _recommendation(self, cheapest):
        """One sentence a team can act on, from the gains table: the cheap end, the dear end, the rest."""
        if not cheapest or not self.gains:
            return None
        r = self.r
        lv = r.load["variants"] if r.load else {}
        http_best = None
        correct_http = [n for n in r.correct() if (lv.get(n, {}).get("ratio_to_floor") or {}).get("estimate") is not None]
        if correct_http:
            http_best = min(correct_http, key=lambda n: lv[n]["ratio_to_floor"]["estimate"])
        cost = {x["name"]: max(x["share_pct"], x["http_pct"] if x["http_pct"] is not None else 0) for x in self.gains}
        dear = [n for n, c in cost.items() if c >= SHARE_THRESHOLD_PCT]
        rest = [n for n in cost if n not in dear and n not in (cheapest, http_best)]
        text = (f"**Recommendation.** Among the correct idioms, {name_of(cheapest)} is the cheapest to build"
                + (f" and {name_of(http_best)} the cheapest over HTTP" if http_best and http_best != cheapest else
                   " and over HTTP" if http_best else ""))
        if dear:
            text += (f"; {', '.join(name_of(n) for n in dear)} cost {SHARE_THRESHOLD_PCT:.0f}% or more of a request's "
                     f"server time over the cheapest, so keep {'it' if len(dear) == 1 else 'them'} off hot paths")
        if rest:
            text += (f"; the other {len(rest)} are within {f_pct(max(cost[n] for n in rest))} of a request of the "
                     f"cheapest, so choose among them on the decision table below (lines, minimum Flask, headers, pitfalls)")
        return text + "."

    def _http_only_points(self) -> list:
        """Without microbenchmarks: what the load stage alone says about the correct idioms."""
        lv = self.r.load["variants"]
        correct = [n for n in self.r.correct() if n in lv and (lv[n].get("ratio_to_floor") or {}).get("estimate") is not None]
        if not correct:
            return []
        best = min(correct, key=lambda n: lv[n]["ratio_to_floor"]["estimate"])
        deltas = [(lv[n].get("share_of_request") or {}).get("idiom_delta_pct") for n in correct]
        deltas = [d for d in deltas if d is not None]
        return [f"Over HTTP the cheapest correct idiom is {name_of(best)} ({f_num(lv[best]['ratio_to_floor']['estimate'], 3)}× "
                f"the floor's app time)" + (f"; the correct idioms' app CPU differs by up to {f_pct(max(deltas), 2)} of a "
                                            f"request's server CPU." if deltas else ".")]

    def _http_points(self, cheapest: str, dearest: str) -> list:
        """What the load stage measured directly, beside the estimate from the microbenchmarks."""
        lv = self.r.load["variants"]
        correct = [n for n in self.r.correct() if n in lv and (lv[n].get("ratio_to_floor") or {}).get("estimate") is not None]
        if not correct or cheapest not in lv:
            return []
        best = min(correct, key=lambda n: lv[n]["ratio_to_floor"]["estimate"])
        if best == cheapest:
            text = f"Over HTTP too, {name_of(cheapest)} is the cheapest correct idiom (ratio of app time to the floor's)"
        else:
            apart = self._http_apart(lv[best]["ratio_to_floor"], lv[cheapest]["ratio_to_floor"])
            text = (f"Over HTTP the cheapest correct idiom is {name_of(best)} "
                    f"({f_num(lv[best]['ratio_to_floor']['estimate'], 3)}× the floor {f_ci(lv[best]['ratio_to_floor'].get('ci95'), 3)}, "
                    f"vs {f_num(lv[cheapest]['ratio_to_floor']['estimate'], 3)}× {f_ci(lv[cheapest]['ratio_to_floor'].get('ci95'), 3)} "
                    f"for {name_of(cheapest)}): "
                    + ("a real difference at this resolution" if apart else
                       "within noise over HTTP (overlapping intervals, or closer than the A/A check)"))
        measured = self._http_difference(cheapest, dearest)
        return [text + "." + (f" {measured}" if measured else "")]

    @staticmethod
    def _apart(a, b) -> bool:
        return bool(a and b and (a[1] < b[0] or b[1] < a[0]))

    def _aa_pct(self):
        """|A/A difference| in % over HTTP (two app instances of one idiom), or None where not measured."""
        aa = ((self.r.load or {}).get("calibration") or {}).get("aa")
        return abs(aa["pct"]) if isinstance(aa, dict) and isinstance(aa.get("pct"), (int, float)) else None

    def _http_apart(self, ra: dict, rb: dict) -> bool:
        """Intervals apart, and further apart than the A/A check's difference."""
        if not self._apart(ra.get("ci95"), rb.get("ci95")):
            return False
        aa = self._aa_pct()
        gap = 100 * abs(ra["estimate"] / rb["estimate"] - 1)
        return aa is None or gap > aa

    def _http_difference(self, a: str, b: str):
        lv = self.r.load["variants"]
        if b not in lv or a == b:
            return None
        ra, rb = lv[a].get("ratio_to_floor") or {}, lv[b].get("ratio_to_floor") or {}
        if ra.get("estimate") is None or rb.get("estimate") is None:
            return None
        return (f"{name_of(a)} against {name_of(b)} over HTTP: {f_num(ra['estimate'], 3)}× vs {f_num(rb['estimate'], 3)}× "
                f"the floor's app time, "
                + ("a difference that shows through the server's noise." if self._http_apart(ra, rb) else
                   "within noise (overlapping intervals, or closer than the A/A check): the difference does not show "
                   "over HTTP in this run."))

    def gains_table(self, cheapest) -> list:
        if not self.gains:
            return []
        rows = [[name_of(x["name"]), f"{f_num(x['saved_us'])} µs", f_pct(x["share_pct"], 2),
                 f_pct(x["http_pct"], 2) if x["http_pct"] is not None else "n/a"] for x in self.gains]
        return [Heading(3, f"What {name_of(cheapest)} saves, idiom by idiom"),
                Table(["instead of", "construction µs saved (microbenchmarks)", "as % of a request's server time",
                       "app CPU above the cheapest correct idiom, % of a request (over HTTP)"], rows, "lrrr"),
                Para(f"Request's server time: {self.gains[0]['basis']}, {f_num(self.gains[0]['request_us'], 1)} µs. The last "
                     f"column is the load stage's own measurement (`share_of_request.idiom_delta_pct`), against the "
                     f"cheapest correct idiom over HTTP.")]

    def _caveats(self, caveats: list):
        r = self.r
        mode = r.run.get("mode") or (r.micro or {}).get("mode")
        if mode == "quick":
            caveats.append("A quick run: fewer rounds and shorter load tests; see a full run before deciding on small gaps.")
        if r.micro:
            cal = r.micro.get("calibration") or {}
            if cal.get("planted_ns"):
                caveats.append(f"Microbenchmark calibration: a planted {cal['planted_ns']:,} ns was measured as "
                               f"{f_num(cal.get('measured_ns'), 0)} ns {f_ci(cal.get('ci95'), 0)} "
                               f"({cal.get('error_pct', 0):+.1f}%).")
            caveats += [f"Microbenchmarks: {w}" for w in r.micro["warnings"]]
            caveats.append("Construction cost is only the line that builds the response; routing, auth, the server "
                           "and the network are the rest of a request (section 5).")
        if r.load:
            run = r.load["run"]
            for shape, facts in (run.get("shapes") or {}).items():
                bottleneck = facts.get("bottleneck") or {}
                if bottleneck.get("verdict") in ("load generator", "both"):
                    caveats.append(f"**The load generator was a bottleneck** ({shape}: {bottleneck.get('detail', '')}): "
                                   f"that shape's throughput measures locust as much as the server; the times inside "
                                   f"the server are still the server's.")
            shape, facts = self.primary_shape()
            bottleneck = facts.get("bottleneck") or {}
            if bottleneck.get("verdict") not in (None, "load generator", "both"):
                caveats.append(f"Load bottleneck ({shape} shape, the primary one): {bottleneck['verdict']}"
                               + (f"; {bottleneck['detail']}" if bottleneck.get("detail") else "") + ".")
            if (facts.get("steal_fraction") or 0) >= 0.01:
                caveats.append(f"Steal time during the {shape} load: {f_share(facts['steal_fraction'])} of CPU time.")
            cal = r.load.get("calibration") or {}
            if cal.get("planted_us") is not None:
                caveats.append(f"Load calibration: a planted {cal['planted_us']} µs per request was measured as "
                               f"{f_num(cal.get('measured_us'), 1)} µs {f_ci(cal.get('ci95'), 1)} ({cal.get('error_pct', 0):+.1f}%).")
            if self._aa_pct() is not None:
                caveats.append(f"Load resolution: the same idiom served twice, by two app instances in one server, "
                               f"differed by {f_pct(self._aa_pct(), 2)} (A/A check); over HTTP, idioms closer than that "
                               f"are not told apart here, whatever their intervals say.")
            caveats += [f"Load: {w}" for w in run.get("warnings") or []]
            if run.get("status") not in (None, "ok") or run.get("incomplete"):
                caveats.append(f"The load run is {run.get('status')}; shapes not finished: {', '.join(run.get('incomplete') or []) or 'none'}.")
        divergent = [n for n in r.names if r.kind(n) == "divergent"]
        if divergent:
            caveats.append(f"Declared divergences ({', '.join(name_of(n) for n in divergent)}) are timed for comparison "
                           f"but do not serve JSON; they are never the recommendation.")
        env = self.environment()
        if env.get("cores"):
            caveats.append(f"One machine: {env.get('cpu_model', 'unknown CPU')}, {env['cores']} cores; ratios travel "
                           f"between machines better than absolute times.")

    def decision_table(self) -> list:
        r = self.r
        micro = r.micro["variants"] if r.micro else {}
        load = r.load["variants"] if r.load else {}
        compat = ((r.compat or {}).get("min_flask_check") or {}).get("variants") or {}
        kind_order = {"correct": 0, "unknown": 1, "divergent": 2, "broken": 3}
        order = sorted(r.names, key=lambda n: (kind_order[r.kind(n)], micro.get(n, {}).get("rank", 999)))
        rows = []
        for name in order:
            meta = r.meta(name)
            m, l = micro.get(name), load.get(name)
            works = compat.get(name, {}).get("works_from")
            rows.append([
                name_of(name),
                {"correct": "yes", "divergent": "no: declared divergence", "broken": "**NO**", "unknown": "not checked"}[r.kind(name)],
                f"{m['rank']} ({f_num(m['ratio_to_floor']['estimate'], 1)}×)" if m and "rank" in m else "n/a",
                f"{l['rank']} ({f_num((l.get('ratio_to_floor') or {}).get('estimate'), 2)}×)" if l and l.get("rank") else "n/a",
                meta.get("idiom_lines", "n/a"),
                meta.get("min_flask", "n/a") + (f" (tested ok from {works})" if works else ""),
                meta.get("headers_via", "n/a"),
                meta.get("pitfall", ""),
            ])
        return [Table(["idiom", "correct", "cost rank (× floor)", "HTTP rank (× floor)", "idiom lines",
                       "min Flask", "extra headers via", "pitfalls"], rows, "llrrrlll"),
                Para("Cost rank: construction cost in the microbenchmark, 1 = cheapest; HTTP rank: the load stage's "
                     "ranking by app time over HTTP, as a ratio to the floor's. Idiom lines: the variant module less its docstring, imports and "
                     "app boilerplate (`variants.Variant.idiom_lines`). Min Flask: the registry's claim; in brackets "
                     "the oldest release `make matrix` found it working on, where that ran.")]

    # 2. -------------------------------------------------------------------------------------------
    def conformance(self) -> list:
        r = self.r
        conf = r.conformance
        if conf is None:
            return [Note("Missing", r.stage_note("verify", "conformance", ("conformance.json",)))]
        from variants.contract import CASES_BY_NAME

        names = [n for n in r.names if n in conf]
        cases = list(next(iter(conf.values()))["cases"]) if conf else []
        blocks = [Para("Every contract case sent to every idiom through Flask's test client "
                       "(`harness.conformance`); the first row is what the contract requires.")]
        head = ["idiom", "verdict"] + [code_span(c) for c in cases]
        expected = ["**contract**", ""] + [str(CASES_BY_NAME[c].status) if c in CASES_BY_NAME else "?" for c in cases]
        rows = [expected]
        for name in names:
            got = conf[name]["cases"]
            row = [name_of(name), conf[name]["verdict"]]
            for c in cases:
                cell = got.get(c, {})
                status = cell.get("status", "?")
                expected_status = CASES_BY_NAME[c].status if c in CASES_BY_NAME else status
                shown = str(status) if status == expected_status else f"**{status}**"
                row.append(f"{shown} ✗" if cell.get("deviations") else shown)
            rows.append(row)
        blocks += [Heading(3, "Status codes per case"), Table(head, rows, "ll" + "c" * len(cases)),
                   Para("✗: the response departs from the contract in some way (status in bold if it is the status; "
                        "the rest under Divergences explained). Requests: "
                        + "; ".join(f"{code_span(c)} = {conf[names[0]]['cases'][c]['request']}" for c in cases) + ".")]

        json_cases = [c for c in cases if CASES_BY_NAME.get(c) is not None and CASES_BY_NAME[c].idiom]
        one = {sc: next((c for c in json_cases if c.startswith({"success": "status", "created": "created",
                                                                 "unauthorized": "api_admin_anonymous"}[sc])), None)
               for sc in IDIOM_SCENARIOS}
        rows = []
        for name in names:
            got = conf[name]["cases"]
            types = sorted({got[c]["headers"].get("Content-Type", "(none)") for c in json_cases if c in got})
            auth = sorted({got[c]["headers"].get("WWW-Authenticate", "**missing**") for c in json_cases
                           if c in got and got[c]["status"] == 401})
            extra = sorted({h for c in json_cases if c in got for h in got[c]["headers"] if h == "ContentType"})
            rows.append([name_of(name), ", ".join(code_span(t) for t in types),
                         ", ".join(code_span(a) if not a.startswith("**") else a for a in auth) or "n/a",
                         " / ".join(str(got[c]["body_length"]) if c in got else "n/a" for c in one.values() if c),
                         ", ".join(f"{code_span(h)}: {code_span(got[json_cases[0]]['headers'][h])}" for h in extra) or ""])
        blocks += [Heading(3, "Headers and body length of the JSON responses"),
                   Table(["idiom", "Content-Type", "WWW-Authenticate on 401", "body bytes (" + " / ".join(
                       code_span(c) for c in one.values() if c) + ")", "other headers"], rows, "lllrl")]

        forms = {}
        for name in names:
            key = tuple(conf[name]["cases"].get(c, {}).get("body") for c in one.values() if c)
            forms.setdefault(key, []).append(name)
        rows = [[", ".join(name_of(n) for n in group)] + [show_bytes(b) for b in key] for key, group in forms.items()]
        blocks += [Heading(3, "Exact body bytes"),
                   Para(f"{len(forms)} distinct byte forms across {len(names)} idioms (`\\n` is a newline)."),
                   Table(["idioms"] + [code_span(c) for c in one.values() if c], rows)]

        notes = []
        for name in names:
            entry = conf[name]
            if entry["verdict"] == "conforms":
                continue
            seen = {}
            for case in entry["cases"].values():
                for d in case["deviations"]:
                    seen[d] = seen.get(d, 0) + 1
            found = "; ".join(f"{d} ({k} of {len(entry['cases'])} cases)" for d, k in seen.items())
            label = "declared divergence" if entry["verdict"] == "declared divergence" else "**BROKEN: no divergence declared**"
            notes.append(f"{name_of(name)} ({label}): {entry.get('divergence') or ''} Observed: {found or 'nothing'}.")
        blocks += [Heading(3, "Divergences explained")]
        blocks += [Bullets(notes)] if notes else [Para("No idiom departs from the contract.")]
        return blocks

    # 3. -------------------------------------------------------------------------------------------
    def construction(self) -> list:
        r = self.r
        if not r.micro:
            return [Note("Missing", r.stage_note("micro", "microbenchmark", ("micro.json",)))]
        m = r.micro
        v, base = m["variants"], m["baselines"]
        floor = m["config"].get("floor") or "werkzeug_response"
        ranked = r.micro_rank()
        rows = []
        for name in ranked + [b for b in base if b != floor] + ([floor] if floor in base else []):
            e = v.get(name) or base[name]
            kind = r.kind(name) if name in v else "baseline"
            rows.append({"label": name, "estimate": e["ratio_to_floor"]["estimate"], "ci95": e["ratio_to_floor"]["ci95"],
                         "kind": kind, "note": f"{e['ratio_to_floor']['estimate']:.{1 if e['ratio_to_floor']['estimate'] >= 10 else 2}f}× · "
                                 f"{f_us(e['construct_ns']['median'], 2 if e['construct_ns']['median'] >= 100 else 3)}"})
        self.chart("ratio_bars", "construction_cost", rows,
                   title=f"Construction cost per response, ratio to the floor ({floor}), 95% CI",
                   xlabel=f"time to build the response / the floor's time in the same round (×; 1 = {floor})",
                   reference_label=f"floor ({floor}) = 1")
        blocks = [Para(f"**What is measured:** {m.get('ratio_definition') or 'construct time over the floor in the same round'}. "
                       f"Error bars and brackets: 95% CI over worker processes. Source: `{m['source']}`, {m.get('mode')} run "
                       f"started {m.get('started')}."),
                  Figure("construction_cost", "Construction cost, ratio to the floor with 95% CI",
                         "Construction cost per response (mean of success, created and unauthorized), as a ratio to "
                         "the floor; bar labels: ratio and absolute time per call.")]
        table = []
        for name in ranked:
            e = v[name]
            sc = e.get("scenarios") or {}
            table.append([str(e.get("rank", "")), name_of(name), r.verdict(name) or "n/a",
                          f"{f_num(e['ratio_to_floor']['estimate'])} {f_ci(e['ratio_to_floor']['ci95'])}",
                          f"{f_us(e['construct_ns']['median'])} {f_ci([x / 1000 for x in e['construct_ns']['ci95']])}",
                          " / ".join(f_num(sc[s]["construct_ns"]["median"] / 1000) if s in sc else "n/a" for s in IDIOM_SCENARIOS),
                          f_us(e["dispatch_ns"]["median"], 1)])
        for name, e in base.items():
            table.append(["-", f"{name_of(name)} (baseline)", "", f"{f_num(e['ratio_to_floor']['estimate'])} {f_ci(e['ratio_to_floor']['ci95'])}",
                          f"{f_us(e['construct_ns']['median'], 3)}", "", f_us(e["dispatch_ns"]["median"], 1)])
        blocks += [Table(["rank", "idiom", "conformance", "ratio to floor [95% CI]", "construct per call [95% CI]",
                          "µs: success / created / unauthorized", "full dispatch"], table, "rlllrrr"),
                   Para("Full dispatch: one in-process WSGI call of the app, as a server makes it (routing, session, "
                        "auth and the idiom; no server, no network), for scale.")]
        cal, drift = m.get("calibration") or {}, m.get("drift") or {}
        facts = []
        if cal:
            facts.append(f"Calibration: a planted {cal.get('planted_ns'):,} ns busy-wait was measured as "
                         f"{f_num(cal.get('measured_ns'), 0)} ns {f_ci(cal.get('ci95'), 0)} ({cal.get('error_pct', 0):+.2f}%).")
        if drift:
            facts.append(f"Speed drift the ratios cancel: the floor's per-call time ranged {f_num(drift.get('floor_ns_min'), 1)}–"
                         f"{f_num(drift.get('floor_ns_max'), 1)} ns over the rounds (p95/p5 {f_num(drift.get('p95_over_p5'), 3)}×).")
        targets = m.get("targets") or {}
        for key, t in targets.items():
            if isinstance(t, dict) and "met" in t:
                facts.append(f"Target {code_span(key)}: {t.get('target')} → {'met' if t['met'] else '**not met**'} "
                             f"({', '.join(f'{k} {x}' for k, x in t.items() if k not in ('target', 'met'))}).")
        if facts:
            blocks.append(Bullets(facts))
        blocks += self.pairwise_tables(ranked)
        return blocks

    def pairwise_tables(self, ranked: list) -> list:
        r = self.r
        pairs = r.micro["pairwise"]
        if not pairs:
            return [Note("Missing", "no pairwise comparisons in the microbenchmark results.")]

        def row(p):
            state = ("not significant" if not p["significant"] else
                     "significant, under the resolution" if p["below_resolution"] else "**significant**")
            return [f"{name_of(p['b'])} takes {f_num(p['ratio'], 3)} ± {f_num(plus_minus(p['ci95']), 3)}× as long as {name_of(p['a'])}",
                    f_ci(p["ci95"], 3), f"{p['p_holm']:.2g}", f"{p['effect_size']:+.2f}", state]

        head = ["B takes x ± y times as long as A", "95% CI of x", "p (Holm)", "effect size", "verdict"]
        neighbours = [r.pair(a, b) for a, b in zip(ranked, ranked[1:])]
        neighbours = [p for p in neighbours if p]
        return [Heading(3, "Pairwise: neighbours in the ranking"),
                Para("Paired per round, so machine drift cancels. Significant: Holm-corrected p < 0.05 and the CI "
                     "above 1; under the resolution: a significant difference smaller than what back-to-back runs "
                     "reproduce (3%). Effect size: rank-biserial over rounds, +1 = A faster in every round."),
                Table(head, [row(p) for p in neighbours], "lrrrl"),
                Details(f"All {len(pairs)} pairs", [Table(head, [row(p) for p in pairs], "lrrrl")])]

    # 4. -------------------------------------------------------------------------------------------
    def methods(self) -> list:
        r = self.r
        if not r.micro or not r.micro.get("methods"):
            return [Note("Missing", r.stage_note("micro", "microbenchmark", ("micro.json",)))]
        methods = r.micro["methods"]
        seq, inter = methods.get("sequential") or {}, methods.get("interleaved") or {}
        names = r.micro_rank()
        runs = [h for h in r.history if isinstance(h.get("interleaved_ratio"), dict)]
        same_mode = [h for h in runs if h.get("mode") == r.micro.get("mode")]
        if len(same_mode) >= 2:  # quick runs have fewer rounds: compare like with like when there are enough
            runs = same_mode
        seq_all = {n: [p["ratio_to_floor"][n] for h in runs for p in h.get("sequential") or [] if n in p.get("ratio_to_floor", {})]
                   for n in names}
        inter_all = {n: [h["interleaved_ratio"][n] for h in runs if n in h["interleaved_ratio"]] for n in names}
        this_seq = {n: [p["ratio_to_floor"][n] for p in seq.get("passes") or [] if n in p["ratio_to_floor"]] for n in names}
        if not runs:  # no history: this run only
            seq_all = this_seq
            inter_all = {n: [inter["ratio_to_floor"][n]] for n in names if n in inter.get("ratio_to_floor", {})}

        def spread(values):
            values = [x for x in values if x]
            return max(values) / min(values) if len(values) > 1 else None

        def span(values):
            values = [x for x in values if x]
            if not values:
                return "n/a"
            s = spread(values)
            return f"{min(values):.1f}–{max(values):.1f}" + (f" ({s:.3f}×)" if s else "")

        modes = sorted({h.get("mode", "?") for h in runs})
        passes = sum(len(h.get("sequential") or []) for h in runs) if runs else len(seq.get("passes") or [])
        reference = {n: statistics.median(inter_all[n]) for n in names if inter_all.get(n)}

        def off(data):
            return {n: [100 * (x / reference[n] - 1) for x in data.get(n, []) if x] for n in reference}

        plain_runs = [h for h in r.plain_history if h.get("mode") == r.micro.get("mode")] or r.plain_history
        plain_all = {n: [h["variants"][n]["ratio_to_floor"] for h in plain_runs if n in h["variants"]] for n in names}
        if not plain_runs and r.plain:
            plain_all = {n: [r.plain["variants"][n]["ratio_to_floor"]] for n in names if n in r.plain["variants"]}
        series = {"sequential": off(seq_all), "interleaved": off(inter_all)}
        if any(plain_all.values()):
            series["pytest-benchmark"] = off(plain_all)
        self.chart("method_strips", "methods", names, series,
                   title=f"Ratio to the floor by {len(series)} methods: {plural(len(runs) or 1, 'interleaved run')}, "
                         f"{plural(passes, 'sequential pass', 'sequential passes')}"
                         + (f", {plural(len(plain_runs) or 1, 'pytest-benchmark run')}" if "pytest-benchmark" in series else ""),
                   xlabel="% off the idiom's median interleaved ratio across runs (0 = that median)")
        plain_now = (r.plain or {}).get("variants") or {}
        rows = []
        for n in names:
            row = [name_of(n), f"{f_num(inter.get('ratio_to_floor', {}).get(n), 2)} (± {f_num(inter.get('ci_half_width_pct', {}).get(n), 2)}%)",
                   span(inter_all.get(n, [])), span(this_seq.get(n, [])), span(seq_all.get(n, []))]
            if "pytest-benchmark" in series:
                p = plain_now.get(n) or {}
                row += [f"{f_num(p.get('ratio_to_floor'), 1)} (min: {f_num(p.get('min_ratio_to_floor'), 1)})" if p else "n/a",
                        span(plain_all.get(n, []))]
            rows.append(row)
        worst_seq = max(((spread(seq_all[n]) or 1, n) for n in names), default=(None, None))
        worst_int = max(((spread(inter_all.get(n, [])) or 1, n) for n in names), default=(None, None))
        what = [f"**Sequential**, pytest-benchmark's way inside `bench.micro`: {seq.get('what', '')}.",
                f"**Interleaved** (`make micro`): {inter.get('what', '')}."]
        if "pytest-benchmark" in series:
            what.append(f"**pytest-benchmark itself** (`bench.plain`, `{(r.plain or {}).get('raw', 'pytest_benchmark.json')}`): "
                        f"`pytest bench --benchmark-enable`, one benchmark after another "
                        f"({f_num((r.plain or {}).get('max_time_s'), 2)} s each); each idiom's median construct time over "
                        f"the three scenarios, over the floor's median (and the same from the minimums).")
        blocks = [Bullets(what)]
        if "pytest-benchmark" not in series:
            blocks.append(Note("Missing", "pytest-benchmark itself: " + r.stage_note("pytest-benchmark", "pytest-benchmark",
                                                                                     ("pytest_benchmark_history.json",))))
        if worst_seq[0] and worst_int[0]:
            blocks.append(Para(f"Across {plural(len(runs) or 1, 'run')} ({', '.join(modes) or r.micro.get('mode')} mode), one idiom's "
                               f"ratio to the floor moved up to **{worst_seq[0]:.3f}×** between sequential passes "
                               f"({name_of(worst_seq[1])}) and up to **{worst_int[0]:.3f}×** between interleaved runs "
                               f"({name_of(worst_int[1])}). In this run the floor's own sequential median moved "
                               f"{f_num(seq.get('floor_ns_spread'), 3)}× between passes."
                               + self._plain_summary(names, plain_all, reference, len(plain_runs) or 1, r.plain,
                                                     (((r.micro or {}).get("baselines") or {}).get("werkzeug_response") or {})
                                                     .get("construct_ns", {}).get("median"))))
        head = ["idiom", "interleaved, this run", f"interleaved, {plural(len(runs), 'run')}: min–max (max/min)",
                "sequential, this run's passes", f"sequential, all {passes} passes"]
        if "pytest-benchmark" in series:
            head += ["pytest-benchmark, last run", f"pytest-benchmark, {plural(len(plain_runs) or 1, 'run')}"]
        blocks += [Figure("methods", "The methods side by side",
                          "Per idiom, every sequential pass, every run's interleaved estimate and every pytest-benchmark "
                          "run, as % off the idiom's median interleaved ratio; the line spans min to max. A tighter row "
                          "is a more repeatable method; an offset row measures something else."),
                   Table(head, rows, "l" + "r" * (len(head) - 1))]
        if runs:
            blocks.append(Details(f"The {plural(len(runs), 'run')} in micro_history.json",
                                  [Table(["started", "mode", "commit", "wall", "steal", "planted ns"],
                                         [[h.get("started", ""), h.get("mode", ""), code_span(h.get("git_commit") or "?"),
                                           f"{f_num(h.get('wall_s'), 0)} s", f_share((h.get('cpu') or {}).get("steal_fraction")),
                                           f_num(h.get("planted_ns"), 0)] for h in runs], "llllrr")]))
        return blocks

    @staticmethod
    def _plain_summary(names, plain_all, reference, runs, plain=None, floor_ns=None) -> str:
        spreads = [(max(v) / min(v), n) for n, v in plain_all.items() if len(v) > 1]
        offsets = [100 * (statistics.median(plain_all[n]) / reference[n] - 1) for n in names if plain_all.get(n) and n in reference]
        if not offsets:
            return ""
        text = f" pytest-benchmark's own ratios sit a median {statistics.median(offsets):+.0f}% off the interleaved ones"
        if spreads:
            worst = max(spreads)
            text += f" and moved up to {worst[0]:.3f}× across its {runs} runs ({name_of(worst[1])})"
        text += "."
        if plain and plain.get("floor_ns") and floor_ns:
            iterations = plain.get("floor_iterations_per_round") or "?"
            text += (f" It timed the floor at {plain['floor_ns']:,.0f} ns per call, {iterations} "
                     f"call(s) per timed round, where the interleaved estimator's blocks of many calls give "
                     f"{floor_ns:,.0f} ns: the clock reads and the call around the subject are inside each of its "
                     f"figures, a large part of the floor's, which is why its ratios to the floor come out smaller.")
        return text

    # 5. -------------------------------------------------------------------------------------------
    def load(self) -> list:
        r = self.r
        if r.load is None:
            return [Note("Missing", r.stage_note("load", "load", ("load.json",)))]
        load = r.load
        lv, floor, run = load["variants"], load.get("floor"), load["run"]
        primary, facts = self.primary_shape()
        names = sorted((n for n in r.names if n in lv), key=lambda n: lv[n].get("rank") or 999)
        blocks = [Para(f"One gunicorn sync worker serves every idiom (and the floor, a prebuilt werkzeug Response) "
                       f"and locust drives them, the idioms interleaved request by request. Layout "
                       f"{run.get('layout', 'n/a')}, {run.get('mode', 'n/a')} mode, {f_num(run.get('duration_s'), 0)} s"
                       + (f", measured {run['date']}" if run.get("date") else "")
                       + (f"; figures from the **{primary}** shape (the primary one)" if primary else "")
                       + f". Source: `{load['source']}`.")]
        if run.get("status") not in (None, "ok") or run.get("incomplete"):
            blocks.append(Note("Incomplete", f"the load run's status is {run.get('status')}; shapes not finished: "
                                             f"{', '.join(run.get('incomplete') or []) or 'none'}."))
        reference = next(((lv[n].get("ratio_to_reference") or {}).get("reference") for n in names
                          if lv[n].get("ratio_to_reference")), None)
        rows, chart_rows = [], []
        for name in names + (["(floor)"] if floor else []):
            e = lv.get(name) or floor
            su, cpu, ratio = e.get("server_us") or {}, e.get("server_cpu_us") or {}, e.get("ratio_to_floor") or {}
            lat, share = e.get("latency_ms") or {}, e.get("share_of_request") or {}
            rel = e.get("ratio_to_reference") or {}
            rows.append([str(e.get("rank") or "-"), name_of(name) if name in lv else "floor (baseline)",
                         f"{e.get('requests', 0):,}", f"{e.get('failures', 0):,}" if not e.get("failures") else f"**{e['failures']:,}**",
                         f_num(e.get("rps"), 1), f"{f_num(su.get('p50'), 1)} {f_ci(su.get('ci95'), 1)}",
                         f_num(su.get("p90"), 1), f_num(su.get("p99"), 1),
                         f_num(cpu.get("p50"), 1) + (f" {f_ci(cpu['ci95'], 1)}" if cpu.get("ci95") else ""),
                         f"{f_num(ratio.get('estimate'), 3)} {f_ci(ratio.get('ci95'), 3)}"]
                        + ([f"{f_num(rel.get('estimate'), 3)} {f_ci(rel.get('ci95'), 3)}" if rel else "n/a"]
                           if reference else [])
                        + [" / ".join(f_num(lat.get(p), 2) for p in ("p50", "p95", "p99")),
                           f_pct(share.get("app_pct")), f_pct(share.get("idiom_delta_pct"), 2) if name in lv else ""])
            if ratio.get("estimate") is not None:
                chart_rows.append({"label": name if name in lv else "floor", "estimate": ratio["estimate"], "ci95": ratio.get("ci95"),
                                   "kind": r.kind(name) if name in lv else "baseline",
                                   "note": f"{ratio['estimate']:.2f}× · {f_num(su.get('mix', su.get('p50')), 0)} µs"})
        if chart_rows:
            self.chart("ratio_bars", "load_ratio", chart_rows,
                       title=f"Time in the app per request over HTTP, ratio to the floor ({primary or 'each run'}), 95% CI",
                       xlabel="app time per request / the floor's in the same time window (×; 1 = prebuilt Response)",
                       reference_label="floor = 1")
            blocks.append(Figure("load_ratio", "Time in the app per request over HTTP, ratio to the floor with 95% CI",
                                 "Time inside the app per request (Server-Timing, measured in the server) as a ratio to the "
                                 "floor's in the same time window; labels: ratio and app µs per request (mean over the endpoints of the median)."))
        head = (["HTTP rank", "idiom", "requests", "failures", "req/s", "app µs p50 [95% CI]", "p90", "p99",
                 "app CPU µs p50", "ratio to floor [95% CI]"] + ([f"ratio to {reference} [95% CI]"] if reference else [])
                + ["latency ms p50 / p95 / p99", "app % of request CPU", "idiom Δ % of request CPU"])
        blocks.append(Table(head, rows, "rl" + "r" * (len(head) - 2)))
        per_request = facts.get("server_request_cpu_us") or run.get("server_request_cpu_us")
        blocks.append(Para("App µs: time inside the Flask app per request, measured in the server (Server-Timing). Ratio "
                           "to floor: per time window, the mean over endpoints of the median app time over the floor's in "
                           "the same window; the mean over windows, bootstrap 95% CI"
                           + (f" (the same against {reference}, served once more as a reference: idioms move together "
                              f"when the machine drifts, the floor less so)" if reference else "") + ". Latency: response times seen by "
                           "locust (network and queueing included). App % of request CPU: the app's CPU over the server's "
                           "whole CPU per request"
                           + (f" ({f_num(per_request, 1)} µs, gunicorn included)" if per_request else "")
                           + "; idiom Δ: the idiom's extra app CPU over the cheapest correct idiom's, as a share of that "
                             "(`share_of_request`, computed by the load stage)."))
        series = {p: {n: (lv[n].get("latency_ms") or {}).get(p) for n in names} for p in ("p50", "p95", "p99")}
        if any(x for sr in series.values() for x in sr.values()):
            self.chart("percentile_bars", "load_latency", names, series,
                       title=f"Response time seen by the client ({primary or 'each run'}, locust)", xlabel="latency (ms)")
            blocks.append(Figure("load_latency", "Latency percentiles per idiom",
                                 "Response-time percentiles per idiom as locust saw them: network, queueing and server together."))
        shapes = run.get("shapes") or {}
        if shapes:
            srows = []
            for shape, sh in shapes.items():
                b = sh.get("bottleneck") or {}
                rss = sh.get("rss") or {}
                srows.append([f"**{shape}**" if shape == primary else shape, f_num(sh.get("duration_s"), 0),
                              str(sh.get("servers", 1)), str(sh.get("users", "n/a")),
                              f_num(sh.get("rps"), 1), f"{sh.get('failures', 0):,}", f_share(sh.get("generator_cpu")),
                              f_share(sh.get("server_cpu")), f_share(sh.get("steal_fraction")),
                              f_num(sh.get("server_request_cpu_us"), 1),
                              f_pct(rss.get("growth_pct")) if rss.get("growth_pct") is not None else "n/a",
                              f"**{b.get('verdict', 'n/a')}**" + (f": {b['detail']}" if b.get("detail") else "")])
            blocks += [Heading(3, "Load shapes and the bottleneck"),
                       Para("CPU: each process's share of its own core (server and load generator are pinned to one core "
                            "each). A process near 90% of its core or more is the bottleneck; when that is the load "
                            "generator, throughput measures locust rather than the server. Server processes: the shape "
                            "ran once per fresh gunicorn, each with its own memory layout; estimates are means over them."),
                       Table(["shape", "seconds", "server processes", "users", "req/s", "failures", "load generator CPU",
                              "server CPU", "steal", "server CPU µs per request", "server memory growth", "bottleneck"],
                             srows, "lrrrrrrrrrrl")]
        for shape in [sh for sh in shapes if sh != primary and any(sh in (lv[n].get("by_shape") or {}) for n in names)]:
            rows = []
            for n in names:
                e = (lv[n].get("by_shape") or {}).get(shape) or {}
                su, ratio = e.get("server_us") or {}, e.get("ratio_to_floor") or {}
                rows.append([str(e.get("rank") or "-"), name_of(n), f_num(e.get("rps"), 1),
                             f"{f_num(su.get('p50'), 1)} {f_ci(su.get('ci95'), 1)}",
                             f"{f_num(ratio.get('estimate'), 3)} {f_ci(ratio.get('ci95'), 3)}",
                             " / ".join(f_num((e.get("latency_ms") or {}).get(p), 2) for p in ("p50", "p95", "p99")),
                             f"{e.get('failures', 0):,}"])
            blocks.append(Details(f"The {shape} shape, per idiom",
                                  [Table(["HTTP rank", "idiom", "req/s", "app µs p50 [95% CI]", "ratio to floor [95% CI]",
                                          "latency ms p50 / p95 / p99", "failures"], rows, "rlrrrrr")]))
        notes = []
        cal = load.get("calibration") or {}
        if cal:
            notes.append(f"Calibration: a planted {cal.get('planted_us')} µs per request measured as {f_num(cal.get('measured_us'), 1)} µs "
                         f"{f_ci(cal.get('ci95'), 1)} ({cal.get('error_pct', 0):+.1f}%).")
            aa = cal.get("aa")
            if isinstance(aa, dict):
                notes.append(f"A/A check: {aa.get('what', 'the same idiom twice')} differs by {f_num(aa.get('diff_us'), 2)} µs "
                             f"{f_ci(aa.get('ci95'), 2)} ({aa.get('pct', 0):+.2f}%): differences between idioms smaller "
                             f"than this are not resolved.")
        if run.get("gunicorn"):
            notes.append("gunicorn: " + ", ".join(f"{k}={v}" for k, v in run["gunicorn"].items()) + ".")
        if run.get("locust"):
            notes.append("locust: " + ", ".join(f"{k} {v}" for k, v in run["locust"].items()) + ".")
        for key, t in (run.get("targets") or {}).items():
            if isinstance(t, dict) and "met" in t:
                notes.append(f"Target {code_span(key)}: {'met' if t['met'] else '**not met**'} "
                             f"({', '.join(f'{k} {x}' for k, x in t.items() if k != 'met')}).")
        notes += [f"Warning: {w}" for w in run.get("warnings") or []]
        if notes:
            blocks += [Heading(3, "How it was run"), Bullets(notes)]
        files = run.get("files") or {}
        links = [self.link(p) for group in files.values() for p in (group if isinstance(group, list) else [group])]
        if links:
            blocks.append(Para("Locust's own output and the raw load data: " + ", ".join(links) + "."))
        return blocks

    # 6. -------------------------------------------------------------------------------------------
    def compat(self) -> list:
        r = self.r
        compat = r.compat
        if compat is None:
            why = (f"`compat.json` ignored: {r.problems['compat.json']}" if "compat.json" in r.problems
                   else "no `compat.json`: `make matrix` has not run here (it is not part of `make bench`: it builds one "
                        "environment per Flask release)")
            return [Note("Missing", why + ".")]
        versions = compat["flask_versions"]
        cells = compat["cells"]
        names = [n for n in r.names if n in cells] + [n for n in cells if n not in r.names]
        statuses = {n: {v: cells[n][v]["status"] for v in versions if v in cells[n]} for n in names}
        self.chart("status_heatmap", "compat", names, versions, statuses,
                   title="Does the idiom meet the contract on each Flask release?")
        mark = {"ok": "ok", "differs": "**differs**", "fails": "**fails**"}
        rows = []
        for n in names:
            row = [name_of(n)]
            for v in versions:
                cell = cells[n].get(v)
                row.append("not built" if cell is None else mark.get(cell["status"], cell["status"])
                           + ("*" if cell.get("cause") == "environment" else ""))
            check = (compat.get("min_flask_check") or {}).get("variants", {}).get(n, {})
            row.append(f"{check.get('min_flask', 'n/a')}: " + ("consistent" if check.get("consistent") else "**inconsistent**")
                       if check else "n/a")
            rows.append(row)
        check = compat.get("min_flask_check") or {}
        ref = compat.get("reference") or {}
        blocks = [Para(f"Conformance on {len(versions)} Flask releases, each in its own environment (`make matrix`); "
                       f"ok = meets the contract, or departs from it exactly as its declared divergence does on Flask "
                       f"{ref.get('flask', 'the pinned one')}. * = outside the idiom (shared code or environment)."),
                  Figure("compat", "Conformance per Flask release", "Each cell: the idiom's status on that Flask release."),
                  Table(["idiom"] + versions + ["registry min Flask vs matrix"], rows, "l" + "c" * len(versions) + "l"),
                  Para("The registry's `min_flask` checks: " + ("all agree with the matrix." if check.get("ok") else
                       "**mismatches**: " + "; ".join(check.get("mismatches") or []) + "."))]
        details = []
        for n in names:
            for v in versions:
                cell = cells[n].get(v)
                if cell and cell["status"] != "ok":
                    details.append(f"{name_of(n)} on Flask {v}: {cell['status']}: {cell.get('detail', '')}")
        if details:
            blocks.append(Details(f"Why {len(details)} cells are not ok", [Bullets(details)]))
        changes = [f"{name_of(n)}: {c['summary']}" for n, c in (compat.get("byte_changes") or {}).items() if c.get("changed")]
        if changes:
            blocks.append(Details(f"Bytes that change between releases ({len(changes)} idioms)", [Bullets(changes)]))
        vrows = [[v, "yes" if info.get("built") else f"**no**: {info.get('error')}", f_num(info.get("seconds"), 1),
                  ", ".join(f"{k} {x}" for k, x in (info.get("packages") or {}).items()), info.get("control", "")]
                 for v, info in (compat.get("versions") or {}).items()]
        if vrows:
            blocks.append(Details("Environments", [Table(["Flask", "built", "seconds", "packages", "control app"], vrows, "llrll")]))
        return blocks

    # 7. -------------------------------------------------------------------------------------------
    def environment(self) -> dict:
        r = self.r
        return ((r.micro or {}).get("environment") or r.summary.get("environment")
                or (r.compat or {}).get("environment") or {})

    def link(self, path) -> str:
        path = Path(path)
        try:
            rel = path.resolve().relative_to(self.r.folder.resolve()) if path.is_absolute() else path
        except ValueError:
            return code_span(str(path))
        return f"[{rel}]({rel})" if (self.r.folder / rel).exists() else f"{code_span(str(rel))} (not present)"

    def environment_section(self) -> list:
        r = self.r
        env = self.environment()
        blocks = []
        if env:
            packages = env.get("packages") or {}
            cpu = env.get("cpu") or {}
            rows = [["mode", r.run.get("mode") or env.get("mode") or "n/a"],
                    ["run started", r.run.get("started", "n/a")],
                    ["microbenchmarks measured", (r.micro or {}).get("started") or env.get("date", "n/a")],
                    ["load measured", ((r.load or {}).get("run") or {}).get("date", "n/a")],
                    ["Flask matrix measured", ((r.compat or {}).get("environment") or {}).get("date", "n/a")],
                    ["git commit", code_span(env.get("git_commit") or "unknown")],
                    ["Python", f"{env.get('python', '?')} ({env.get('implementation', '?')})"],
                    ["CPU", f"{env.get('cpu_model', '?')}, {env.get('cores', '?')} cores, governor {env.get('governor') or 'n/a'}"],
                    ["kernel", env.get("kernel", "n/a")],
                    ["steal / busy (microbenchmarks)", f"{f_share(cpu.get('steal_fraction'))} / {f_share(cpu.get('busy_fraction'))}"],
                    ["packages", ", ".join(f"{k} {v}" for k, v in packages.items() if v)]]
            if r.run.get("variants"):
                rows.append(["variants selected", ", ".join(name_of(n) for n in r.run["variants"])])
            blocks.append(Table(["what", "value"], rows))
        else:
            blocks.append(Note("Missing", "no environment recorded (it comes with the microbenchmark results)."))
        if r.stages:
            blocks += [Heading(3, "Stages of this run"),
                       Table(["stage", "status", "seconds", "detail"],
                             [[s, o.get("status", "?"), f_num(o.get("seconds"), 1), o.get("detail", "")] for s, o in r.stages.items()],
                             "llrl")]
        else:
            blocks.append(Para("No `make bench` stages recorded in summary.json (the results come from separate targets)."))
        rows = []
        omitted = (r.summary.get("published") or {}).get("omitted") or {}
        for name in FILES:
            path = r.folder / name
            if name in omitted and not path.exists():
                state = omitted[name]
            elif name in r.problems:
                state = f"ignored: {r.problems[name]}"
            elif path.exists():
                state = "used"
            else:
                state = "missing"
            size = f"{path.stat().st_size / 1024:,.0f} KiB" if path.exists() else ""
            rows.append([f"[{name}]({name})" if path.exists() else code_span(name), size, state])
        if (r.folder / "compat").is_dir():
            rows.append(["[compat/](compat/)", "", "raw captures per Flask release"])
        if r.micro and r.micro.get("rounds_omitted"):
            rows.append(["", "", f"micro.json: {r.micro['rounds_omitted']}"])
        blocks += [Heading(3, "Raw data beside this report"), Table(["file", "size", "state"], rows, "lrl"),
                   Para("Charts: `charts/*.png` and `charts/*.svg`. Every figure above can be re-plotted from these files; "
                        "their schemas are in `bench/micro.py`, `harness/matrix.py`, `harness/conformance.py` and `loadtests/`.")]
        return blocks


def render(results_dir: Path = OUT, out_dir: Path | None = None) -> dict:
    """Write REPORT.md, report.html and charts; the paths written."""
    results_dir = Path(results_dir)
    out_dir = Path(out_dir or results_dir)
    charts = out_dir / "charts"
    if charts.is_dir():  # charts from an earlier render whose data is gone must not linger
        for old in list(charts.glob("*.png")) + list(charts.glob("*.svg")):
            old.unlink()
    report = Report(Results(results_dir), out_dir)
    blocks = report.blocks()
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "REPORT.md"
    html = out_dir / "report.html"
    _write_text(markdown, to_markdown(blocks))
    _write_text(html, to_html(blocks, TITLE, out_dir))
    return {"markdown": markdown, "html": html, "charts": report.chart_files}


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@entry_point
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(OUT), help="folder with summary.json and the raw files (default: %(default)s)")
    parser.add_argument("--out", default=None, help="where to write the report (default: the results folder)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    written = render(Path(args.results), Path(args.out) if args.out else None)
    print(f"wrote {written['markdown']}, {written['html']} and {len(written['charts'])} chart files "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
