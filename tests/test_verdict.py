"""The report's first screen and the end of ``make bench``, on synthetic result files shaped like the stages'.

Planted: ``abort_response`` dearer on the 401 (+45.6 µs), ``orjson_response`` cheaper on success,
``response_class`` dearer on success in the whole request but cheaper to build (a disagreement between
methods), ``json_provider`` not resolved on created, ``api_exception`` absent from request.json; every
other idiom equivalent within the margin.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.results import ROOT, read_json, write_json
from reports.data import Results
from reports.format import plain
from reports.render import render
from reports.sections.verdict import deltas, lines
from variants import REGISTRY
from variants.contract import SCENARIOS

CPU = "Test CPU 9000"
STARTED = "2026-11-26T10:00:00+00:00"
CLASSES = list(SCENARIOS)
MICRO_CLASSES = ["success", "created", "unauthorized"]  # the microbenchmark times no admin 200
MARGIN = {c: 1.2 for c in CLASSES}
SERVER_CPU_US = 500.0
MISSING = "api_exception"
DEARER = {("abort_response", "unauthorized"): (45.6, [43.1, 48.0]), ("response_class", "success"): (3.0, [2.2, 3.8])}
CHEAPER = {("orjson_response", "success"): (-2.1, [-2.6, -1.6])}
UNRESOLVED = {("json_provider", "created"): (0.9, [-0.8, 2.6])}
CONSTRUCT_US = {("response_class", "success"): -2.0}  # cheaper to build: the disagreement with the whole request


def environment(mode="full"):
    return {"date": STARTED, "mode": mode, "python": "3.11.7", "implementation": "cpython",
            "packages": {"flask": "3.1.3"}, "cpu_model": CPU, "cores": 2, "kernel": "6.1-test",
            "git_commit": "abc1234", "cpu": {"seconds": 10.0, "steal_fraction": 0.0, "busy_fraction": 0.5}}


def delta(name, cls, margin):
    """The planted difference of one idiom on one class, as a stage records it."""
    for planted, verdict in ((DEARER, "dearer"), (CHEAPER, "cheaper"), (UNRESOLVED, "unresolved")):
        if (name, cls) in planted:
            est, ci = planted[(name, cls)]
            return {"estimate": est, "ci95": ci, "ci90": ci, "verdict": verdict, "margin": margin}
    return {"estimate": 0.1, "ci95": [-0.3, 0.5], "ci90": [-0.2, 0.4], "verdict": "equivalent", "margin": margin}


def request_json(mode="full"):
    names = [n for n in REGISTRY if n != MISSING]
    variants = {}
    for n in names:
        variants[n] = {}
        for c in CLASSES:
            d = ({"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"} if n == "jsonify_tuple"
                 else delta(n, c, MARGIN[c]))
            variants[n][c] = {"us": {"estimate": 120.0 + d["estimate"], "ci95": [119.0, 121.0]}, "delta_us": d,
                              "delta_pct": {"estimate": d["estimate"] / 1.2, "ci95": [x / 1.2 for x in d["ci95"]]},
                              "per_worker_delta_us": [d["estimate"]] * 4}
    gc = {n: {c: {"gen0": 79.0 if (n, c) == ("abort_response", "unauthorized") else 10.0, "gen1": 0.0, "gen2": 0.0}
              for c in CLASSES} for n in names}
    return {"schema": "flask-json-idioms/request/1", "mode": mode, "started": STARTED, "wall_s": 140.0, "seed": 1,
            "environment": environment(mode), "reference": "jsonify_tuple", "classes": CLASSES, "gc": "on",
            "config": {}, "what": "WHOLE-REQUEST-WHAT",
            "results": {"variants": variants, "reference_us": {c: {"estimate": 120.0, "ci95": [119.0, 121.0]} for c in CLASSES},
                        "calibration": {"planted_ns": 1000, "base_wait_ns": 1000, "measured_ns": 1012.0,
                                        "ci95": [950.0, 1070.0], "error_pct": 1.2, "within_pct": 20,
                                        "aa": {"class": "success", "delta_us": 0.05, "ci95": [-0.4, 0.5], "verdict": "equivalent"},
                                        "alloc": {"expected_ns": 3000.0, "measured_ns": 3100.0, "ci95": [2900.0, 3300.0],
                                                  "error_pct": 3.3}},
                        "margin_us": MARGIN, "margin_definition": "MARGIN-DEFINITION",
                        "resolution_us": {c: 0.5 for c in CLASSES}, "minimum_detectable_us": {c: 0.7 for c in CLASSES},
                        "gc_per_1000": gc},
            "targets": {}, "warnings": [],
            "young_counts": {"counted_by": "the first worker", "rechecked": 440, "differ": [], "differ_count": 0}}


def micro_json():
    """micro.json's pieces the report reads: per variant and class its construct time, and each worker's."""
    floor_ns = 125.0
    ref_ns = [20000.0, 20400.0, 19800.0, 20100.0, 20300.0, 19900.0]

    def per_worker(name, cls):
        shift = 1000 * CONSTRUCT_US.get((name, cls), 0.0)
        return [x + shift + (7.0 * (i % 3 - 1) if name != "jsonify_tuple" else 0.0) for i, x in enumerate(ref_ns)]

    def entry(ns):
        est = {"median": ns, "ci95": [ns * 0.99, ns * 1.01]}
        ratio = {"estimate": round(ns / floor_ns, 3), "ci95": [round(ns / floor_ns * 0.99, 3), round(ns / floor_ns * 1.01, 3)]}
        return {"construct_ns": est, "dispatch_ns": {"median": 120000.0, "ci95": [119000.0, 121000.0]},
                "ratio_to_floor": ratio, "dispatch_ratio_to_floor": ratio}

    construct, variants = {}, {}
    for rank, name in enumerate(REGISTRY, 1):
        scenarios = {}
        for cls in MICRO_CLASSES:
            values = per_worker(name, cls)
            median = sorted(values)[len(values) // 2]
            construct[f"construct/{cls}/{name}"] = {"ns": {"estimate": median, "ci95": [median - 50, median + 50],
                                                           "per_worker": values}}
            scenarios[cls] = entry(median)
        variants[name] = {**entry(scenarios["success"]["construct_ns"]["median"]), "scenarios": scenarios, "rank": rank}
    return {"schema": "flask-json-idioms/micro/1", "mode": "full", "started": STARTED, "wall_s": 130.0,
            "environment": environment(), "ratio_definition": "RATIO-DEFINITION", "config": {"floor": "werkzeug_response"},
            "results": {"construct": construct, "variants": variants,
                        "baselines": {"werkzeug_response": {**entry(floor_ns), "scenarios": {"success": entry(floor_ns)}}},
                        "calibration": {"planted_ns": 2000, "measured_ns": 2010.0, "ci95": [1990.0, 2030.0], "error_pct": 0.5},
                        "pairwise": {"construct": {"all": []}}, "methods": {}, "drift": {}},
            "targets": {}, "warnings": []}


def load_json():
    """load.json with its primary shape's per-variant Δ per status class (the load stage's own keys)."""
    def target(i, name):
        server = 300.0 + i
        found = {"requests": 5000, "failures": 0, "rps": 1000.0,
                 "server_us": {"p50": server, "p90": server, "p99": server, "ci95": [server - 2, server + 2], "mix": server},
                 "server_cpu_us": {"p50": server, "mix": server}, "ratio_to_floor": {"estimate": 1.5, "ci95": [1.4, 1.6]},
                 "latency_ms": {"p50": 2.0, "p95": 5.0, "p99": 9.0}, "share_of_request": {"app_pct": 60.0, "idiom_delta_pct": 0.5},
                 "rank": i + 1}
        if name not in ("floor",):
            found["delta_us"] = {c: ({"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"} if name == "jsonify_tuple"
                                     else {"estimate": 60.0, "ci95": [40.0, 80.0], "verdict": "dearer", "margin": 5.0}
                                     if (name, c) == ("abort_response", "unauthorized")
                                     else {"estimate": 0.4, "ci95": [-2.0, 2.8], "verdict": "equivalent", "margin": 5.0})
                                 for c in CLASSES}
        return found

    targets = {n: target(i, n) for i, n in enumerate(REGISTRY)} | {"floor": target(-100, "floor")}
    shape = {"status": "ok", "duration_s": 60.0, "servers": 6, "users": 8, "rps": 1000.0, "requests": 70000, "failures": 0,
             "generator_cpu": 0.5, "server_cpu": 0.8, "steal_fraction": 0.0, "bottleneck": {"verdict": "server"},
             "server_request_cpu_us": SERVER_CPU_US, "rss": {}, "files": [], "targets": targets, "calibration": None,
             "delta": {"reference": "jsonify_tuple", "margin_us": {c: 5.0 for c in CLASSES}, "classes": CLASSES},
             "window_mix_us": {}}
    return {"schema": "flask-json-idioms/load/1", "status": "ok", "mode": "full", "layout": "interleaved", "date": STARTED,
            "wall_s": 180.0, "config": {}, "environment": environment(), "shapes": {"paced": shape},
            "primary_shape": "paced", "server_request_cpu_us": SERVER_CPU_US, "warnings": [], "targets": {}}


def history(full_runs: int) -> dict:
    """request_history.json with ``full_runs`` full records (abort_response's 401 at 44.0, 45.5, 47.0, ...) and a quick one."""
    runs = [{"started": STARTED, "mode": "quick", "git_commit": "abc1234", "cpu_model": CPU,
             "delta_us": {"abort_response": {"unauthorized": 80.0}}}]
    for k in range(full_runs):
        runs.append({"started": f"2026-11-2{k}T09:00:00+00:00", "mode": "full", "git_commit": "abc1234", "cpu_model": CPU,
                     "delta_us": {n: {c: (44.0 + 1.5 * k if (n, c) == ("abort_response", "unauthorized") else 0.1)
                                      for c in CLASSES} for n in REGISTRY if n != MISSING}})
    return {"runs": runs}


def write_results(folder: Path, conformance: dict, *, request=True, load=True, full_runs=1) -> Path:
    """A results folder: summary.json as the index, each stage's own file."""
    folder.mkdir(parents=True, exist_ok=True)
    stages = {"verify": {"status": "ok"}, "micro": {"status": "ok"}}
    if request:
        stages["request"] = {"status": "ok"}
    if load:
        stages["load"] = {"status": "ok"}
    write_json(folder / "summary.json", {"run": {"mode": "full", "variants": list(REGISTRY), "started": STARTED},
                                         "stages": stages})
    write_json(folder / "conformance.json", conformance)
    write_json(folder / "micro.json", micro_json())
    if request:
        write_json(folder / "request.json", request_json())
        write_json(folder / "request_history.json", history(full_runs))
    if load:
        write_json(folder / "load.json", load_json())
    return folder


def section(markdown: str, number: int) -> str:
    start = re.search(rf"^## {number}\. ", markdown, re.M).start()
    following = markdown.find("\n## ", start + 1)
    return markdown[start:following if following > 0 else None]


def first_screen(markdown: str) -> list:
    """The verdict's lines: the bullets before the section's first chart."""
    verdict = section(markdown, 1)
    end = verdict.index("![") if "![" in verdict else verdict.index("### ")  # the chart, or (text only) the detail
    return [line[2:] for line in verdict[:end].splitlines() if line.startswith("- ")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, conformance_json):
    """The synthetic results, rendered once: (folder, REPORT.md)."""
    folder = write_results(tmp_path_factory.mktemp("verdict"), conformance_json)
    return folder, render(folder)["markdown"].read_text()


def line_of(found: list, start: str) -> str:
    (line,) = [x for x in found if x.startswith(start)]
    return line


def test_the_first_screen_is_at_most_five_lines_and_one_chart_without_ratios_to_a_floor(rendered):
    folder, md = rendered
    found = first_screen(md)
    assert 1 < len(found) <= 5
    verdict = section(md, 1)
    assert verdict.index("![") < verdict.index("### ")  # the chart comes before any detail
    assert "(charts/verdict.png)" in verdict and (folder / "charts" / "verdict.png").exists()
    assert (folder / "charts" / "verdict.svg").exists()
    assert not any("×" in x or "floor" in x or re.search(r"\bp ?[=<]", x) for x in found)
    caption = verdict[verdict.index("![") :].split("\n\n")[1]
    assert f"Measured on {CPU}, 2 cores" in caption


def test_the_lines_name_the_planted_dearer_idiom_with_its_us_ci_class_share_payload_and_cpu(rendered):
    _, md = rendered
    dearer = line_of(first_screen(md), "**Dearer than `jsonify_tuple`**")
    assert "`abort_response` +45.6 µs [+43.1, +48.0] on unauthorized (9.1% of a request)" in dearer
    # a difference whose whole interval is under 1% of a request's server CPU (3.8 of 500 µs): named, not detailed
    assert dearer.endswith("; by under 1% of a request (µs): `response_class` +3.00 on success.")
    assert CPU in dearer and "tiny contract bodies of 17–37 bytes" in dearer and "whole request in process" in dearer
    cheaper = line_of(first_screen(md), "**Cheaper**")
    assert cheaper == "**Cheaper**: by under 1% of a request (µs): `orjson_response` -2.10 on success."
    assert "% of a request: of the server's CPU per request over HTTP, 500 µs" in line_of(first_screen(md), "Caveats:")


def test_equivalent_idioms_are_said_to_be_equivalent(rendered):
    _, md = rendered
    equivalent = line_of(first_screen(md), "**Equivalent**")
    assert "within the margin (±1.20 µs, 1% of jsonify_tuple's request)" in equivalent
    every = equivalent.split("on every class: ")[1].split(";")[0]
    for name in ("dict_return", "make_response", "jsonify_status_code", "orjson_provider"):
        assert f"`{name}`" in every
    for name in ("abort_response", "orjson_response", "json_provider", "jsonify_tuple", MISSING):
        assert f"`{name}`" not in every
    assert "`abort_response` (3 of 4)" in equivalent.split("on some: ")[1]
    unresolved = equivalent.split("**Not resolved**")[1]  # a count per class; the table has each cell
    assert "1 of 52 idiom-and-class cells (created 1; each in the decision table)" in unresolved
    (row,) = [x for x in section(md, 1).splitlines() if x.startswith("| `json_provider` |")]
    assert "unresolved" in row


def test_an_idiom_missing_from_request_json_is_not_measured_not_invented(rendered):
    _, md = rendered
    found = first_screen(md)
    assert f"**Not measured**: `{MISSING}` (not in request.json)" in line_of(found, "**Equivalent**")
    assert sum(f"`{MISSING}`" in x for x in found) == 1
    (row,) = [x for x in section(md, 1).splitlines() if x.startswith(f"| `{MISSING}` |")]
    assert row.count("not measured") == len(CLASSES)


def test_the_decision_table_shows_the_delta_per_status_class_beside_the_pitfalls(rendered):
    _, md = rendered
    verdict = section(md, 1)
    assert "| idiom | correct | Δ µs success ± 95% CI | Δ µs created ± 95% CI | Δ µs unauthorized ± 95% CI | Δ µs admin ± 95% CI |" in verdict
    (row,) = [x for x in verdict.splitlines() if x.startswith("| `abort_response` |")]
    assert "+45.6 [+43.1, +48.0] **dearer**" in row and "+0.10 ± 0.40 equivalent" in row and REGISTRY["abort_response"].pitfall in row
    (row,) = [x for x in verdict.splitlines() if x.startswith("| `plain_string` |")]
    assert "no: declared divergence" in row and REGISTRY["plain_string"].pitfall in row


def test_a_disagreement_between_methods_is_named_with_its_reason(rendered):
    _, md = rendered
    methods = section(md, 4)
    (bullet,) = [x for x in methods.splitlines() if x.startswith("- `response_class` on success:")]
    assert "construction -2.00 µs [-2.01, -1.99] cheaper" in bullet
    assert "whole request +3.00 µs [+2.20, +3.80] dearer" in bullet
    assert "construction clock stops before Flask's make_response/force_type" in bullet
    assert "HTTP" in bullet  # HTTP calls it equivalent within its ±5 µs: inside its wider margin, said so
    assert "construction's -2.00 µs and whole request's +3.00 µs lie inside HTTP's margin (±5.00 µs), which is wider: " \
           "no contradiction" in bullet
    assert "disagree on 3 idioms and classes" in line_of(first_screen(md), "Caveats:")


def test_construction_that_misses_what_flask_does_after_the_view_is_named_with_the_collections(rendered):
    """abort_response's 401: as cheap as jsonify_tuple to build, +45.6 µs for the whole request, +60 over HTTP."""
    folder, md = rendered
    (bullet,) = [x for x in section(md, 4).splitlines() if x.startswith("- `abort_response` on unauthorized:")]
    assert "equivalent" in bullet.split("whole request")[0] and "whole request +45.6 µs [+43.1, +48.0] dearer" in bullet
    assert "HTTP +60.0 µs [+40.0, +80.0] dearer" in bullet
    assert "79 generation-0 collections per 1,000 requests, jsonify_tuple 10" in bullet
    (found,) = [x for x in deltas.disagreements(Results(folder)) if x["name"] == "abort_response"]
    assert found["kind"] == "clock" and found["pairs"] == [("construct", "request"), ("construct", "http")]


def test_the_whole_request_calibration_says_what_the_planted_wait_follows(rendered):
    _, md = rendered
    (note,) = [x for x in md.splitlines() if "Whole-request calibration: a planted 1,000 ns" in x]
    assert "after a 1,000 ns wait the reference makes too" in note and "measured as 1,012 ns [950, 1,070]" in note


def test_the_caveats_say_how_the_young_counts_were_checked(rendered, tmp_path, conformance_json):
    _, md = rendered
    (note,) = [x for x in md.splitlines() if "counted by the first worker" in x]
    assert "recounted 440 subjects of their choosing: all agreed" in note
    folder = write_results(tmp_path, conformance_json)
    request = read_json(folder / "request.json")
    request["young_counts"] = {"counted_by": "the first worker", "rechecked": 440, "differ_count": 2,
                               "differ": [{"worker": 3, "subject": ["a", "success"], "first_worker": 7.0, "own": 8.0}] * 2}
    write_json(folder / "request.json", request)
    md = render(folder, charts=False)["markdown"].read_text()
    assert "recounted 440 subjects of their choosing: 2 differed" in md
    del request["young_counts"]  # a run from before the counts were shared: nothing said
    write_json(folder / "request.json", request)
    assert "counted by the first worker" not in render(folder, charts=False)["markdown"].read_text()


def test_one_full_run_says_the_spread_is_not_yet_measured(rendered):
    _, md = rendered
    assert "one run: run-to-run spread not yet measured" in line_of(first_screen(md), "Caveats:")
    assert "One run: run-to-run spread not yet measured: `request_history.json` holds 1 full run (1 quick run, not counted)" \
        in section(md, 1)


def test_with_several_full_runs_each_headline_shows_its_spread_beside_its_ci(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, full_runs=3)
    md = render(folder, charts=False)["markdown"].read_text()  # text is what this reads
    dearer = line_of(first_screen(md), "**Dearer than `jsonify_tuple`**")
    assert "+45.6 µs [+43.1, +48.0] on unauthorized (9.1% of a request; 3 full runs +44.0..+47.0 µs)" in dearer
    (row,) = [x for x in section(md, 1).splitlines() if x.startswith("| `abort_response` | unauthorized |")]
    assert "+44.0..+47.0" in row and "1.50" in row and CPU in row
    assert "not yet measured" not in md


def test_without_the_whole_request_stage_the_lines_say_so_and_read_http(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, request=False)
    found = lines.lines(Results(folder))
    assert len(found) <= 5
    assert "app time over HTTP, as the whole-request stage did not run" in found[0]
    assert "`abort_response` +60.0 µs [+40.0, +80.0] on unauthorized" in found[0]
    assert "(not in the load stage's differences)" not in " ".join(found)


def test_with_no_differences_at_all_the_lines_say_what_is_missing(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, request=False, load=False)
    found = lines.lines(Results(folder))
    assert len(found) == 2
    assert found[0].startswith("**Not measured against `jsonify_tuple`**: No whole-request results, and no record of a request stage")
    md = render(folder)["markdown"].read_text()
    assert "Could not render" not in section(md, 1) and "Could not render" not in section(md, 4)


def test_a_planted_cost_that_did_not_come_back_is_said_on_the_first_screen(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json)
    found = json.loads((folder / "request.json").read_text())
    found["results"]["calibration"].update(measured_ns=-58.0, error_pct=-105.8, ci95=[-400.0, 284.0])
    found["targets"] = {"planted_within_pct": {"target": 30, "error_pct": -105.8, "met": False}}
    found["warnings"] = ["planted 1000 ns measured as -58 ns (-105.8%, target ±30%)"]
    write_json(folder / "request.json", found)
    caveats = line_of(lines.lines(Results(folder)), "Caveats:")
    assert "**the planted 1.00 µs came back as -0.06 µs**: differences that small are not to be trusted" in caveats
    assert "1 warning from the whole-request stage" in caveats
    # a miss whose own interval still covers the planted cost is said as that, not as untrustworthy
    found["results"]["calibration"].update(measured_ns=760.0, error_pct=-24.0, ci95=[380.0, 1140.0])
    write_json(folder / "request.json", found)
    caveats = line_of(lines.lines(Results(folder)), "Caveats:")
    assert "came back as 0.76 µs** [0.38, 1.14]: its interval covers the planted cost" in caveats
    assert "not to be trusted" not in caveats


STAND_IN = "import sys; sys.exit(0)"
DRIVER = """
import sys
from harness import pipeline
S = pipeline.Stage
pipeline.STAGES = (S("verify", "standins_verdict.ok_stage", "gate", (1, 1), gate=True),
                   S("report", "reports.render", "report", (30, 30), always=True))
sys.exit(pipeline.main())
"""


def test_make_bench_ends_with_the_reports_verdict_lines_and_its_path(tmp_path, conformance_json):
    folder = write_results(tmp_path / "out", conformance_json)
    package = tmp_path / "standins_verdict"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ok_stage.py").write_text(textwrap.dedent(STAND_IN))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "FLASK_IDIOMS_OUT": str(folder),
           "REPORT_CHARTS": "0"}  # the lines and the path are what this checks; the charts are tested elsewhere
    env.pop("QUICK", None)
    done = subprocess.run([sys.executable, "-c", DRIVER], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    at = out.index("verdict:")
    wrapped = [x[2:] for x in out[at + 1:out.index(f"report: {folder / 'REPORT.md'}")] if x.startswith("  ")]
    assert all(len(x) <= lines.WIDTH for x in wrapped)  # each line an item ("- ") wrapped to the width
    printed = []
    for x in wrapped:
        if x.startswith("- "):
            printed.append(x[2:])
        else:
            assert x.startswith("  ") and printed
            printed[-1] += " " + x[2:]
    report = (folder / "REPORT.md").read_text()
    assert printed == [plain(x) for x in first_screen(report)]
    assert "abort_response +45.6 µs [+43.1, +48.0] on unauthorized" in printed[0]
    assert out[-2:] == [f"report: {folder / 'REPORT.md'}", f"        {folder / 'report.html'}"]
    shutil.rmtree(package)


def test_the_aa_rate_counts_intervals_that_leave_out_zero():
    from reports.sections.verdict import spread
    history = [{"aa_ci95": {"success": [-1.0, 1.0], "created": [0.2, 1.5]}},
               {"aa_ci95": {"success": [-0.5, 0.4], "created": [-2.0, -0.1]}},
               {"aa_ci95": {"success": [-0.5, 0.4], "created": [-0.3, 0.3]}}, {"mode": "full"}]
    assert spread.aa_rate(history) == {"runs": 3, "cells": 6, "different": 2, "runs_different": 2}
    assert "called different in 2 of 6 status-class intervals over 3 recorded runs" in spread.aa_sentence(history)
    assert spread.aa_rate([{"mode": "quick"}]) is None and spread.aa_sentence([]) == ""
    # over the full runs timed as the newest, and over everything when that is more
    both = spread.aa_sentence(history, history[1:3])
    assert "called different in 1 of 4 status-class intervals over the 2 full runs timed as this one (25.0%" in both
    assert "and in 2 of 6 over all 3 recorded runs" in both and "(33.3%)" in both
    assert spread.aa_sentence(history, history[:3]) == spread.aa_sentence(history)


def test_the_planted_record_follows_the_full_runs_that_measured_it():
    from reports.sections.verdict import spread

    def run(measured, lo, hi, mode="full", planted=1000):
        return {"mode": mode, "planted": {"planted_ns": planted, "measured_ns": measured, "ci95": [lo, hi],
                                          "within_pct": 20}}

    history = [{"mode": "full"}, run(663, 349, 976), run(870, 612, 1128), run(1300, 1010, 1590), run(100, -900, 1100, "quick")]
    found = spread.planted_record(history)
    assert found == {"runs": 3, "planted_ns": 1000, "base_wait_ns": 0, "mean_ns": (663 + 870 + 1300) / 3, "min_ns": 663, "max_ns": 1300,
                     "within_pct": 20, "within": 1, "covered": 1}  # 870 is within 20%; only [612, 1128] holds 1,000
    text = spread.planted_sentence(history)
    assert "over 3 full runs as 944 ns on average (663..1,300)" in text and "target in 1 of 3" in text
    assert spread.planted_record(history[:2]) is None and spread.planted_sentence([]) == ""  # one run: no record yet
    assert spread.planted_record(history + [run(2000, 1500, 2500, planted=2000)]) is None  # the newest alone in its design
    # a base wait under the planted cost (the reference waiting too) is another design: only the newest's runs count
    based = [{**h, "planted": {**h["planted"], "base_wait_ns": 1000}} for h in history[2:4]]  # the 870 and 1,300 runs
    found = spread.planted_record(history + based)
    assert (found["runs"], found["base_wait_ns"], found["min_ns"]) == (2, 1000, 870)
    assert "against the same app without it, both after a 1.00 µs wait" in spread.planted_sentence(history + based)
    assert "both after" not in spread.planted_sentence(history)
    assert spread.planted_record(history + based[:1]) is None


def test_an_idiom_leads_with_the_difference_its_interval_is_surest_of(tmp_path, conformance_json, monkeypatch):
    """A wide interval with the larger estimate (a class timed on few requests) does not lead: the bound nearest zero
    orders the classes of an idiom, and the idioms."""
    cheaper = {("orjson_provider", CLASSES[-1]): (-17.3, [-28.0, -6.5]), ("orjson_provider", CLASSES[1]): (-12.2, [-12.6, -11.7]),
               ("response_class", CLASSES[-1]): (-16.5, [-24.8, -8.1]), ("response_class", CLASSES[0]): (-4.2, [-4.5, -3.9])}
    monkeypatch.setattr(sys.modules[__name__], "CHEAPER", cheaper)
    line = lines.lines(Results(write_results(tmp_path / "out", conformance_json)))[1].replace("−", "-")
    assert f"`orjson_provider` -12.2 µs [-12.6, -11.7] on {CLASSES[1]}" in line
    assert f"also on {CLASSES[-1]} (-17.3 µs)" in line
    assert line.index("`orjson_provider`") < line.index("`response_class`")  # sure of 11.7 against 8.1
    assert f"`response_class` -16.5 µs [-24.8, -8.1] on {CLASSES[-1]}" in line  # 8.1 against 3.9: the wide one leads


def test_the_contracts_scenarios_lead_before_the_error_paths_classes(tmp_path, conformance_json, monkeypatch):
    """An error path's class (timed in every third round, heavier tails) leads neither an idiom's line nor the order
    of the idioms while a scenario of the contract is resolved: jsonify_status_code's +8.6 µs [+3.8, +13.4] on
    server_error led its line in one full run (-4.0 to +8.6 over 13 runs) before success's +1.0 [+0.7, +1.3]."""
    assert lines.leading({"server_error": {"ci95": [3.8, 13.4]}, "not_found": {"ci95": [0.9, 1.3]},
                          "success": {"ci95": [0.7, 1.3]}}, 1) == ["success", "server_error", "not_found"]
    monkeypatch.setattr(sys.modules[__name__], "CLASSES", [*CLASSES, "server_error"])
    monkeypatch.setattr(sys.modules[__name__], "MARGIN", {**MARGIN, "server_error": 1.2})
    dearer = {("jsonify_status_code", "server_error"): (8.6, [3.8, 13.4]), ("jsonify_status_code", "success"): (1.0, [0.7, 1.3]),
              ("make_response", "admin"): (1.8, [1.5, 2.1]), ("dict_return", "server_error"): (9.9, [6.0, 13.8])}
    monkeypatch.setattr(sys.modules[__name__], "DEARER", dearer)
    monkeypatch.setattr(lines, "SMALL_PCT", 0.0)  # every one detailed: the order is what this checks
    line = lines.lines(Results(write_results(tmp_path / "out", conformance_json)))[0].replace("−", "-")
    assert "`jsonify_status_code` +1.00 µs [+0.70, +1.30] on success" in line
    assert "also on server_error (+8.6 µs)" in line
    # the idioms: those with a scenario resolved first (by its assured bound), then those with error classes only
    assert line.index("`make_response`") < line.index("`jsonify_status_code`") < line.index("`dict_return`")


def test_an_idiom_cheaper_on_many_classes_gets_one_range_not_a_list(tmp_path, conformance_json, monkeypatch):
    """On the first screen an idiom resolved on more than three classes reads as its largest difference and the
    range of the others (the table below has each class); with two or three, each is listed."""
    many = {("orjson_response", c): (-2.1 - i, [-2.6 - i, -1.6 - i]) for i, c in enumerate(CLASSES[:4])}
    monkeypatch.setattr(sys.modules[__name__], "CHEAPER", many)
    monkeypatch.setattr(lines, "SMALL_PCT", 0.0)  # detailed, as a difference of over 1% of a request is
    r = Results(write_results(tmp_path / "out", conformance_json))
    cheaper = lines.lines(r)[1]
    assert f"`orjson_response` -5.10 µs [-5.60, -4.60] on {CLASSES[3]}" in cheaper
    assert "also on 3 other classes (-4.1 to -2.1 µs)" in cheaper and f"on {CLASSES[0]}" not in cheaper
    monkeypatch.setattr(sys.modules[__name__], "CHEAPER", dict(list(many.items())[:2]))
    r = Results(write_results(tmp_path / "two", conformance_json))
    assert f"also on {CLASSES[0]} (-2.1 µs)" in lines.lines(r)[1].replace("−", "-")


def test_the_spread_keeps_to_the_newest_runs_python_once_there_are_two_and_says_when_pythons_mix(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, full_runs=3)
    data = read_json(folder / "request_history.json")
    full = [h for h in data["runs"] if h["mode"] == "full"]
    for h, python in zip(full, ("3.11.7", "3.13.0", "3.13.0")):
        h["python"] = python
    write_json(folder / "request_history.json", data)
    spread = lines.run_spread(Results(folder), "abort_response", "unauthorized")
    assert (spread["n"], spread["min"], spread["pythons"]) == (2, 45.5, ["3.13.0"])  # 3.11.7's 44.0 left out
    full[1]["python"] = "3.12.1"  # the newest alone on its Python: both Pythons count, and the line says so
    write_json(folder / "request_history.json", data)
    spread = lines.run_spread(Results(folder), "abort_response", "unauthorized")
    assert spread["n"] == 3 and "on Pythons 3.11.7 and 3.12.1 and 3.13.0" in lines.f_spread(spread)
    md = render(folder, charts=False)["markdown"].read_text()
    assert "Python 3.11.7, 3.12.1, 3.13.0: different environments" in section(md, 1)


def test_the_spread_compares_runs_timed_the_same_way_once_there_are_two(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, full_runs=3)
    data = read_json(folder / "request_history.json")
    for h, method in zip([h for h in data["runs"] if h["mode"] == "full"], ("k3-errors-every-1", "k1-errors-every-3", "k1-errors-every-3")):
        h["method"] = method
    write_json(folder / "request_history.json", data)
    spread = lines.run_spread(Results(folder), "abort_response", "unauthorized")
    assert (spread["n"], spread["min"], spread["max"]) == (2, 45.5, 47.0)  # the older method's 44.0 left out
    data["runs"][-1]["method"] = "k1-errors-every-4"  # the newest alone in its method: every full run counts
    write_json(folder / "request_history.json", data)
    assert lines.run_spread(Results(folder), "abort_response", "unauthorized")["n"] == 3


def test_the_spread_is_also_a_share_of_each_runs_own_reference_request(tmp_path, conformance_json):
    """The µs move with the machine's speed from run to run; the share of that run's jsonify_tuple request travels."""
    folder = write_results(tmp_path, conformance_json, full_runs=3)
    data = read_json(folder / "request_history.json")
    full = [h for h in data["runs"] if h["mode"] == "full"]  # abort_response's 401: 44.0, 45.5, 47.0 µs
    for h, ref in zip(full, (110.0, 100.0, 120.0)):
        h["reference_us"] = {"unauthorized": ref}
    write_json(folder / "request_history.json", data)
    spread = lines.run_spread(Results(folder), "abort_response", "unauthorized")
    assert spread["pct_min"] == pytest.approx(100 * 47.0 / 120) and spread["pct_max"] == pytest.approx(45.5)
    assert "3 full runs +44.0..+47.0 µs, +39.2..+45.5% of jsonify_tuple's request" in lines.f_spread(spread)
    md = render(folder, charts=False)["markdown"].read_text()
    (row,) = [x for x in section(md, 1).splitlines() if x.startswith("| `abort_response` | unauthorized |")]
    assert "+39.2..+45.5%" in row
    del full[0]["reference_us"]  # a run without it: no share rather than a share of some runs
    write_json(folder / "request_history.json", data)
    assert lines.run_spread(Results(folder), "abort_response", "unauthorized")["pct_min"] is None


def test_a_difference_is_small_only_when_its_whole_interval_is_under_one_percent_of_a_request():
    assert lines.small({"ci95": [2.0, 4.9]}, 500.0) and lines.small({"ci95": [-4.9, -2.0]}, 500.0)
    assert not lines.small({"ci95": [2.0, 5.1]}, 500.0)  # the estimate (3.55) is under 5 µs, the interval is not
    assert not lines.small({"ci95": [0.1, 0.2]}, None)  # without a request's server CPU every difference is detailed


def payloads_json(sizes_kb: dict, ref_us: dict, pct: dict) -> dict:
    """payloads.json's cost block for the verdict's larger-bodies line: ``pct`` = {variant: {entry: (Δ %, half-width,
    verdict)}}, the reference's request ``ref_us`` per entry."""
    cost = {"jsonify_tuple": {e: {"us": {"estimate": us, "ci95": [us, us]},
                                  "delta_us": {"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"},
                                  "delta_pct": {"estimate": 0.0, "ci95": [0.0, 0.0]}} for e, us in ref_us.items()}}
    for name, by in pct.items():
        cost[name] = {e: {"us": {"estimate": ref_us[e] * (1 + p / 100), "ci95": [0, 0]},
                          "delta_us": {"estimate": ref_us[e] * p / 100, "ci95": [0, 0], "verdict": v},
                          "delta_pct": {"estimate": p, "ci95": [p - h, p + h]}} for e, (p, h, v) in by.items()}
    return {"schema": "flask-json-idioms/payloads/1", "mode": "full", "started": STARTED, "corpus": {}, "cells": {},
            "config": {"sizes_kb": sizes_kb}, "cost": cost}


def test_larger_bodies_get_a_line_of_their_own_from_the_payload_sweep(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json)
    assert not any(x.startswith("**Larger bodies**") for x in lines.lines(Results(folder)))  # no sweep, no line
    kb = {"size_100b": 0.1, "size_1kb": 0.9, "size_10kb": 9.9, "size_100kb": 99.9, "size_1mb": 1000.0}
    ref_us = {"size_100b": 95.0, "size_1kb": 110.0, "size_10kb": 250.0, "size_100kb": 1600.0, "size_1mb": 15000.0}
    every = {e: (0.2, 0.5, "equivalent") for e in kb}
    pct = {"orjson_response": {**every, "size_10kb": (-58.4, 0.5, "cheaper"), "size_1mb": (-92.6, 0.3, "cheaper")},
           "dumps_headers": {**every, "size_10kb": (-17.0, 0.4, "cheaper"), "size_1mb": (-28.6, 0.9, "cheaper")},
           "make_response": {**every, "size_10kb": (1.2, 0.4, "dearer"), "size_1mb": (0.3, 1.6, "equivalent")},
           "dict_return": every}
    write_json(folder / "payloads.json", payloads_json(kb, ref_us, pct))
    found = lines.lines(Results(folder))
    assert len(found) == 5 and found[3].startswith("**Larger bodies**") and found[4].startswith("Caveats:")
    line = found[3]
    # the size timed nearest 10 KB and the largest; resolved at the largest: named, cheapest first, with the widest CI
    assert "`jsonify_tuple`'s request takes 250 µs at 9.9 KB and 15.0 ms at 1,000 KB" in line
    assert "against it `orjson_response` -58% and -93%, `dumps_headers` -17% and -29% (95% CIs ±0.9 points at most)" in line
    # the rest by the widest bound of their intervals at both sizes (make_response's +0.3 ± 1.6 at 1 MB)
    assert "the other 2 within ±1.9% at both (95% CI)" in line
    quick = {e: kb[e] for e in ("size_100b", "size_1kb", "size_10kb", "size_100kb")}  # quick mode: 100 KB is the largest
    write_json(folder / "payloads.json", payloads_json(quick, {e: ref_us[e] for e in quick},
                                                       {"dict_return": {e: every[e] for e in quick}}))
    line = lines.lines(Results(folder))[3]
    assert "takes 250 µs at 9.9 KB and 1.6 ms at 100 KB; every idiom within ±0.7% of it at both (95% CI)" in line


def test_the_terminal_wraps_each_line_as_an_item_without_losing_a_word(rendered):
    folder, md = rendered
    printed = lines.terminal(folder, width=60)
    assert all(len(x) <= 60 or " " not in x.strip() for x in printed)
    assert sum(x.startswith("- ") for x in printed) == len(first_screen(md))
    assert " ".join(x[2:] for x in printed).split() == " ".join(plain(x) for x in first_screen(md)).split()
