"""The one reader of result files: the report and the tests read a results folder through ``Results``.

Each stage's data comes from the stage's own file, never from a copy elsewhere:

- the run and its stages (status, seconds, detail): ``summary.json`` ``run`` and ``stages``;
- conformance: ``conformance.json`` (``harness.conformance``);
- construction cost and the methods: ``micro.json`` (``bench.micro``); across runs ``micro_history.json``;
- the whole request in process, per status class against ``jsonify_tuple``: ``request.json`` (``bench.request``);
  across runs ``request_history.json``;
- pytest-benchmark: ``pytest_benchmark_history.json`` (``bench.pytest_benchmark_run``): every run's
  figures, the last one this run's;
- load: ``load.json`` (``loadtests.run``);
- Flask versions: ``compat.json`` (``make matrix``, not part of ``make bench``);
- instructions and allocations per request: ``counts.json`` (``bench.counts``, ``make count``).

The files' shapes are in ``harness.schemas``. A missing file is noted (a section then says which
stage did not leave it, and why); a corrupt file, or one whose shape cannot be read, is reported on
stderr, noted in ``problems`` and treated as missing; results older than the current ``make bench``
run, from a stage that did not succeed in it, are not mixed in.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from harness.results import ResultError, read_json

# The result files beside a report, in the order the report lists them.
FILES = ("summary.json", "conformance.json", "request.json", "request_history.json", "micro.json", "micro_history.json",
         "pytest_benchmark.json", "pytest_benchmark_history.json", "load.json", "compat.json", "counts.json",
         "payloads.json", "load_payloads.json", "deploy.json")
MAKE_TARGET = {"verify": "verify", "micro": "micro", "pytest-benchmark": "micro", "request": "request", "load": "load",
               "count": "count", "payloads": "payloads", "payloads-http": "payloads-http"}
REFERENCE = "jsonify_tuple"  # the idiom every difference is taken against
# Targets of the load test that are controls, not idioms.
LOAD_CONTROLS = ("floor", "planted", "planted_reference", "reference", "reference_2", "reference_3")
KINDS = {"conforms": "correct", "declared divergence": "divergent", "BROKEN": "broken"}


def parse_time(text):
    try:
        moment = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Results:
    """Every result file in one folder, read once, with what is missing, corrupt or stale noted."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.problems = {}  # file -> why it was ignored
        self.summary = self.read("summary.json") or {}
        self.run = self.summary.get("run") or {}
        self.stages = self.summary.get("stages") or {}
        self.conformance = self._view("conformance.json", self._conformance)
        self.micro = self._view("micro.json", self._micro)
        self.request = self._view("request.json", self._request)
        self.request_history = self._request_history()
        self.history = [r for r in (self.read("micro_history.json") or {}).get("runs", []) if isinstance(r, dict)]
        self.plain_history = [r for r in (self.read("pytest_benchmark_history.json") or {}).get("runs", [])
                              if isinstance(r, dict) and isinstance(r.get("variants"), dict)]
        self.plain = self._plain()
        self.load = self._view("load.json", self._load)
        self.compat = self.read("compat.json")
        self.counts = self._view("counts.json", self._counts)
        self.names = self._names()

    def read(self, name: str):
        """A result file's JSON object; None (and a note in ``problems``) if missing, corrupt or not an object."""
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

    def _view(self, name: str, build):
        """The report's view of one stage file; a file whose shape cannot be read is ignored, with a note."""
        raw = self.read(name)
        if raw is None:
            return None
        try:
            return build(name, raw)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as e:
            print(f"warning: ignoring {self.folder / name}: unexpected shape ({type(e).__name__}: {e})", file=sys.stderr)
            self.problems[name] = f"unexpected shape ({type(e).__name__}: {e})"
            return None

    def _stale(self, stage: str, started) -> bool:
        """Results from before this ``make bench`` run, whose own stage did not succeed in it."""
        status = (self.stages.get(stage) or {}).get("status")
        run_started, data_started = parse_time(self.run.get("started")), parse_time(started)
        return bool(status not in (None, "ok") and run_started and data_started and data_started < run_started)

    def _stale_file(self, name: str, stage: str, started) -> bool:
        """True (with a note on ``name``) when the file is from an earlier run whose stage failed in this one."""
        if not self._stale(stage, started):
            return False
        self.problems[name] = (f"from an earlier run (started {started}), not used: the {stage} stage of this run "
                               f"did not succeed")
        return True

    @staticmethod
    def _conformance(name: str, raw: dict):
        """Per variant its verdict and every case's capture (``variants``; a file from before the schema was
        recorded holds the variants at its top level)."""
        variants = raw["variants"] if "schema" in raw else raw
        return {n: e for n, e in variants.items() if isinstance(e, dict) and isinstance(e.get("cases"), dict)} or None

    def _micro(self, name: str, raw: dict):
        res = raw.get("results")
        if not isinstance(res, dict) or not res.get("variants"):
            return None
        if self._stale_file(name, "micro", raw.get("started")):
            return None
        return {"source": name, "mode": raw.get("mode"), "started": raw.get("started"),
                "ratio_definition": raw.get("ratio_definition"),
                "variants": res["variants"], "baselines": res.get("baselines") or {},
                "calibration": res.get("calibration"),
                "pairwise": (res.get("pairwise") or {}).get("construct", {}).get("all", []),
                "methods": res.get("methods") or {}, "drift": res.get("drift"), "targets": raw.get("targets"),
                "warnings": raw.get("warnings") or [], "environment": raw.get("environment") or {},
                "config": raw.get("config") or {}, "wall_s": raw.get("wall_s"), "rounds_omitted": raw.get("omitted"),
                "construct_by_class": self._construct_by_class(res)}

    @staticmethod
    def _construct_by_class(res: dict) -> dict:
        """Per variant and status class its construct time, ns: the median over workers and, where the file
        keeps them, each worker's median (``results.construct``, subjects ``construct/<class>/<name>``)."""
        subjects = res.get("construct") or {}
        found = {}
        for name, entry in res["variants"].items():
            for cls, sc in (entry.get("scenarios") or {}).items():
                ns = ((subjects.get(f"construct/{cls}/{name}") or {}).get("ns")) or {}
                per_worker = ns.get("per_worker")
                found.setdefault(name, {})[cls] = {
                    "median": (sc.get("construct_ns") or {}).get("median"),
                    "per_worker": per_worker if isinstance(per_worker, list) and per_worker else None}
        return found

    def _request(self, name: str, raw: dict):
        """request.json as the report reads it: per variant and class the whole request's time and its
        difference from the reference (``variants``), the margins, the resolution and the calibration."""
        res = raw.get("results")
        if not isinstance(res, dict) or not isinstance(res.get("variants"), dict) or not res["variants"]:
            return None
        if self._stale_file(name, "request", raw.get("started")):
            return None
        variants = {n: {c: cell for c, cell in by_class.items() if isinstance(cell, dict) and isinstance(cell.get("delta_us"), dict)}
                    for n, by_class in res["variants"].items() if isinstance(by_class, dict)}
        classes = list(raw.get("classes") or []) or list(dict.fromkeys(c for by in variants.values() for c in by))
        return {"source": name, "mode": raw.get("mode"), "started": raw.get("started"), "wall_s": raw.get("wall_s"),
                "reference": raw.get("reference") or REFERENCE, "classes": classes, "gc": raw.get("gc"),
                "what": raw.get("what"), "variants": variants, "reference_us": res.get("reference_us") or {},
                "calibration": res.get("calibration") or {}, "margin_us": res.get("margin_us") or {},
                "margin_definition": res.get("margin_definition"), "resolution_us": res.get("resolution_us") or {},
                "minimum_detectable_us": res.get("minimum_detectable_us") or {},
                "gc_per_1000": res.get("gc_per_1000") or {}, "round_noise_pct": res.get("round_noise_pct"),
                "young_counts": raw.get("young_counts") or {}, "targets": raw.get("targets") or {},
                "warnings": raw.get("warnings") or [], "environment": raw.get("environment") or {},
                "config": raw.get("config") or {}}

    def _request_history(self) -> list:
        """The whole-request stage's records, one per run (``{"runs": [...]}``, or a bare list), oldest first."""
        path = self.folder / "request_history.json"
        if not path.exists():
            return []
        try:
            raw = read_json(path)
        except ResultError as e:
            print(f"warning: ignoring {e}", file=sys.stderr)
            self.problems["request_history.json"] = str(e).split(": ", 1)[-1]
            return []
        runs = raw.get("runs") if isinstance(raw, dict) else raw
        return [h for h in runs if isinstance(h, dict) and isinstance(h.get("delta_us"), dict)] if isinstance(runs, list) else []

    def _plain(self):
        """pytest-benchmark's figures from this run: the history's record from the stage's start (a published history
        holds other machines' runs too, newer ones among them), else its last record, unless that is stale."""
        if not self.plain_history:
            return None
        started = (self.stages.get("pytest-benchmark") or {}).get("started")
        mine = [r for r in self.plain_history if started and r.get("date") == started]
        last = (mine or self.plain_history)[-1]
        return None if self._stale("pytest-benchmark", last.get("date")) else last

    def _load(self, name: str, raw: dict):
        """load.json as the report reads it: per variant the primary shape's figures (``by_shape``: every
        shape's), the floor, the calibration, and the run (the file less its per-request targets)."""
        every = raw.get("shapes") or {}
        shapes = {k: v for k, v in every.items() if isinstance(v, dict) and v.get("targets")}
        if not shapes:
            return None
        if self._stale_file(name, "load", raw.get("date")):
            return None
        if raw.get("layout") == "per-variant":  # one server per variant: each shape is named after its variant
            primary, floor, calibration = None, None, None
            variants = {n: s["targets"][n] for n, s in shapes.items() if n in s["targets"]}
        else:
            primary = raw.get("primary_shape")
            if primary not in shapes:
                primary = "paced" if "paced" in shapes else next(iter(shapes))
            targets = shapes[primary]["targets"]
            variants = {n: {**t, "by_shape": {s: v["targets"][n] for s, v in shapes.items() if n in v["targets"]}}
                        for n, t in targets.items() if n not in LOAD_CONTROLS}
            floor, calibration = targets.get("floor"), shapes[primary].get("calibration")
        # the run's facts; files from before the load stage recorded the last five are completed from the shapes
        files = [f for s in shapes.values() for f in s.get("files") or []]
        run = {"duration_s": raw.get("wall_s"),
               "incomplete": [s for s, v in every.items() if not isinstance(v, dict) or v.get("status") != "ok"],
               "server_request_cpu_us": shapes[primary].get("server_request_cpu_us") if primary else None,
               "files": {"locust_csv": [f for f in files if f.endswith(".csv")],
                         "locust_html": [f for f in files if f.endswith(".html")], "raw": name}}
        run.update((k, v) for k, v in raw.items() if k != "shapes")
        run.update(primary_shape=primary, shapes={s: {k: x for k, x in v.items() if k not in ("targets", "window_mix_us")}
                                                  for s, v in shapes.items()})
        return {"source": name, "variants": variants, "floor": floor, "run": run, "calibration": calibration}

    def _counts(self, name: str, raw: dict):
        """counts.json as the report reads it: per variant and class the figures (``variants``), the
        attribution, the seed spread, the comparison with the published counts; a run skipped for want of
        valgrind as ``{"skipped": reason}``."""
        if raw.get("status") == "skipped":
            return {"source": name, "skipped": raw.get("reason") or "skipped", "variants": {}}
        variants = {n: c for n, c in (raw.get("variants") or {}).items() if isinstance(c, dict) and c}
        if not variants:
            return None
        if self._stale_file(name, "count", raw.get("started")):
            return None
        return {"source": name, "skipped": None, "variants": variants, "reference": raw.get("reference", "jsonify_tuple"),
                "classes": list(raw.get("classes") or {}), "mode": raw.get("mode"), "started": raw.get("started"),
                "what": raw.get("what"), "allocations_what": raw.get("allocations_what"),
                "seed_spread": raw.get("seed_spread") or {}, "attribution": raw.get("attribution") or [],
                "published": raw.get("published") or {}, "config": raw.get("config") or {},
                "environment": raw.get("environment") or {}, "problems": raw.get("problems") or [],
                "wall_s": raw.get("wall_s")}

    def _names(self) -> list:
        """The variants of this run, in the registry's order (then any the registry does not know)."""
        from variants import REGISTRY

        found = set(self.run.get("variants") or [])
        for source in (self.conformance, self.micro and self.micro["variants"], self.request and self.request["variants"],
                       self.load and self.load["variants"], self.counts and self.counts["variants"]):
            found.update(source or {})
        return [n for n in REGISTRY if n in found] + sorted(found - set(REGISTRY))

    @property
    def mode(self):
        """quick or full: the run's, else the microbenchmarks'; None if neither says."""
        return self.run.get("mode") or (self.micro or {}).get("mode")

    # --- what each variant is ------------------------------------------------------------------------
    def verdict(self, name: str):
        return ((self.conformance or {}).get(name) or {}).get("verdict")

    def kind(self, name: str) -> str:
        """correct, divergent, broken or unknown (no conformance results)."""
        return KINDS.get(self.verdict(name), "unknown")

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
        """The microbenchmarks' pairwise comparison of two variants, in either order; None if not compared."""
        for row in (self.micro or {}).get("pairwise", []):
            if {row["a"], row["b"]} == {a, b}:
                return row
        return None

    def primary_shape(self) -> tuple:
        """The load stage's primary shape: (its name, its facts), or (None, {})."""
        run = (self.load or {}).get("run") or {}
        name = run.get("primary_shape")
        shapes = run.get("shapes") or {}
        return (name, shapes.get(name) or {}) if name in shapes else (name, {})

    # --- differences against the reference idiom, per status class --------------------------------
    def classes(self) -> list:
        """The status classes, in the contract's order: the whole-request stage's, else the contract's."""
        from variants.contract import SCENARIOS

        found = (self.request or {}).get("classes") or []
        return [c for c in SCENARIOS if c in found] + [c for c in found if c not in SCENARIOS] or list(SCENARIOS)

    def request_delta(self, name: str, cls: str):
        """The whole request's Δ µs against the reference on ``cls`` ({"estimate", "ci95", "verdict", ...}), or None."""
        cell = ((self.request or {}).get("variants") or {}).get(name, {}).get(cls)
        return cell.get("delta_us") if cell else None

    def http_delta(self, name: str, cls: str):
        """The load stage's Δ µs of app time against the reference on ``cls``, or None where not measured."""
        found = (((self.load or {}).get("variants") or {}).get(name) or {}).get("delta_us")
        cell = found.get(cls) if isinstance(found, dict) else None
        return cell if isinstance(cell, dict) and cell.get("estimate") is not None else None

    def http_delta_facts(self) -> dict:
        """The load stage's facts on its differences (reference, margins, resolution), or {}."""
        return self.primary_shape()[1].get("delta") or {}

    def server_request_cpu_us(self):
        """The server's CPU per request over HTTP (the load stage's primary shape), µs, or None."""
        if not self.load:
            return None
        return self.primary_shape()[1].get("server_request_cpu_us") or self.load["run"].get("server_request_cpu_us")

    def payload_bytes(self) -> dict:
        """Per status class, the body the reference idiom sends, in bytes (as conformance captured it, else
        the contract's body as compact JSON)."""
        import json

        from variants.contract import SCENARIOS

        cases = ((self.conformance or {}).get(REFERENCE) or {}).get("cases") or {}
        found = {}
        for cls in self.classes():
            scenario = SCENARIOS.get(cls)
            if scenario is None:
                continue
            length = (cases.get(scenario.case.name) or {}).get("body_length")
            found[cls] = length if isinstance(length, int) else len(json.dumps(scenario.reply.body, separators=(",", ":"))) + 1
        return found

    def machine(self, stage: str | None = None) -> str:
        """The CPU a stage's figures were measured on (its own file's environment, else the run's): "AMD EPYC, 2 cores"."""
        env = {"request": (self.request or {}).get("environment"), "micro": (self.micro or {}).get("environment"),
               "load": ((self.load or {}).get("run") or {}).get("environment"),
               "count": (self.counts or {}).get("environment")}.get(stage) or self.environment()
        if not env.get("cpu_model"):
            return "an unrecorded CPU"
        return env["cpu_model"] + (f", {env['cores']} cores" if env.get("cores") else "")

    def environment(self) -> dict:
        """The machine and packages: recorded by the microbenchmarks, else by the load test or the Flask matrix."""
        return ((self.micro or {}).get("environment") or (self.request or {}).get("environment")
                or ((self.load or {}).get("run") or {}).get("environment") or (self.compat or {}).get("environment") or {})

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
