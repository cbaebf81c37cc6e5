"""The report: every section filled from the stages' own files, self-contained HTML, charts, missing, corrupt
and stale inputs, publish."""
import json
import os
import re
import subprocess
import sys
from functools import partial
from itertools import combinations
from pathlib import Path

import pytest

from harness.cli import UsageError
from harness.results import ROOT, merge_summary, write_json
from reports import publish as publish_module
from reports.data import Results
from reports.render import render
from reports.sections import SECTIONS as SECTION_MODULES
from variants import REGISTRY

FLOOR_NS = 124.8
# Cheapest first; json_provider and jsonify_tuple within noise of each other (not significant).
ORDER = ["orjson_response", "response_class", "orjson_provider", "dumps_headers", "plain_string", "dict_return",
         "dumps_headers_as_posted", "json_provider", "jsonify_tuple", "jsonify_status_code", "make_response",
         "api_exception", "abort_errorhandler", "abort_response"]
RATIO = {n: round(24.85 + 6.5 * i, 4) for i, n in enumerate(ORDER)}
RATIO["jsonify_tuple"] = round(RATIO["json_provider"] * 1.004, 4)
SCENARIOS = ("success", "created", "unauthorized")
STARTED = "2026-11-25T10:00:00+00:00"
SECTIONS = ["1. Verdict", "2. Conformance matrix", "3. Construction cost", "4. Methods side by side",
            "5. Load over HTTP", "6. Instructions and allocations per request",
            "7. Payloads by type and size", "8. Flask version compatibility",
            "9. Does it hold where you deploy?", "10. Environment and raw data", "11. Comparison with a base run"]


def est(x, spread=0.005):
    return {"estimate": x, "ci95": [round(x * (1 - spread), 4), round(x * (1 + spread), 4)]}


def ns(x, spread=0.005):
    return {"median": x, "ci95": [round(x * (1 - spread), 1), round(x * (1 + spread), 1)]}


def micro_entry(ratio, rank=None):
    construct = round(ratio * FLOOR_NS, 1)
    entry = {"construct_ns": ns(construct), "dispatch_ns": ns(80000 + construct), "ratio_to_floor": est(ratio),
             "dispatch_ratio_to_floor": est(round((80000 + construct) / 5300, 4))}
    entry["scenarios"] = {sc: {k: entry[k] for k in ("construct_ns", "dispatch_ns", "ratio_to_floor", "dispatch_ratio_to_floor")}
                          for sc in SCENARIOS}
    if rank is not None:
        entry["rank"] = rank
    return entry


def pairwise():
    rows = []
    for a, b in combinations(ORDER, 2):
        if RATIO[a] > RATIO[b]:
            a, b = b, a
        r = round(RATIO[b] / RATIO[a], 4)
        significant = r > 1.02
        rows.append({"a": a, "b": b, "ratio": r, "ci95": [round(r * 0.995, 4), round(r * 1.005, 4)], "p": 1e-7,
                     "p_holm": 1e-6 if significant else 0.41, "effect_size": 1.0 if significant else 0.05,
                     "significant": significant, "below_resolution": r < 1.03, "verdict": f"{a} vs {b}",
                     "per_worker": [r, r]})
    return sorted(rows, key=lambda row: -row["ratio"])


def environment():
    return {"date": STARTED, "mode": "full", "python": "3.11.7", "implementation": "cpython",
            "packages": {"flask": "3.1.3", "locust": "2.47.0"}, "cpu_model": "Test CPU 9000", "cores": 2,
            "governor": None, "kernel": "6.1-test", "git_commit": "abc1234",
            "cpu": {"seconds": 100.0, "steal_fraction": 0.001, "busy_fraction": 0.52}}


def micro_json():
    names = ORDER
    passes = [{"phase": f"worker {k}", "ns": {f"construct/{sc}/{n}": RATIO[n] * FLOOR_NS for n in names for sc in SCENARIOS}
               | {"construct/success/werkzeug_response": FLOOR_NS * (1 + 0.02 * k)},
               "ratio_to_floor": {n: round(RATIO[n] * (1.03 + 0.01 * k), 4) for n in names}} for k in range(3)]
    methods = {"sequential": {"what": "SEQUENTIAL-WHAT", "passes": passes,
                              "ratio_spread": {n: 1.02 for n in names}, "ns_spread": {n: 1.03 for n in names},
                              "floor_ns_spread": 1.04},
               "interleaved": {"what": "INTERLEAVED-WHAT", "ratio_to_floor": dict(RATIO),
                               "ci_half_width_pct": {n: 0.61 for n in names}, "per_worker_spread": {n: 1.01 for n in names}}}
    return {
        "schema": "flask-json-idioms/micro/1", "mode": "full", "seed": 1, "started": STARTED, "wall_s": 131.0,
        "measured_s": 130.0, "environment": environment(), "ratio_definition": "RATIO-DEFINITION",
        "config": {"floor": "werkzeug_response", "planted_ns": 2000, "variants": names, "rounds": {"construct": [40, 40]}},
        "subjects": {}, "rounds": {"construct": {"t_s": [[0.0, 0.1]], "per_call_ns": {}}},
        "results": {
            "construct": {}, "dispatch": {},
            "variants": {n: micro_entry(RATIO[n], rank) for rank, n in enumerate(sorted(names, key=RATIO.get), 1)},
            "baselines": {"raw_wsgi": micro_entry(0.1706), "werkzeug_response": micro_entry(1.0)},
            "calibration": {"planted_ns": 2000, "measured_ns": 2013.4, "ci95": [1990.0, 2036.0], "error_pct": 0.67,
                            "within_pct": 10, "per_worker": [2013.4]},
            "pairwise": {"construct": {"all": pairwise()}},
            "methods": methods,
            "drift": {"floor_ns_min": 119.9, "floor_ns_max": 161.3, "max_over_min": 1.345, "p95_over_p5": 1.073},
        },
        "targets": {"mode": "full", "ci95_half_width_pct": {"target": 1, "worst": 0.61, "met": True}},
        "warnings": ["MICRO-WARNING-TEXT"],
    }


def history():
    runs = []
    for k in range(2):
        runs.append({"started": f"2026-11-2{k}T09:00:00+00:00", "mode": "full", "seed": k, "wall_s": 130.0 + k,
                     "git_commit": "abc1234", "cpu": {"steal_fraction": 0.0, "busy_fraction": 0.5},
                     "interleaved_ratio": {n: round(r * (1 + 0.004 * k), 4) for n, r in RATIO.items()},
                     "interleaved_ci_half_width_pct": {n: 0.6 for n in RATIO},
                     "sequential": [{"phase": "worker 1", "ratio_to_floor": {n: round(r * (1.05 + 0.03 * k), 4) for n, r in RATIO.items()},
                                     "floor_ns": FLOOR_NS}],
                     "construct_ns": {n: r * FLOOR_NS for n, r in RATIO.items()}, "planted_ns": 2010.0})
    return {"runs": runs}


def load_entry(i, name=None):
    """One target's figures in one load shape."""
    server = 300.0 + 3.25 * i
    return {"requests": 5000 + i, "failures": 3 if name == "abort_response" else 0, "rps": 1234.5 - i,
            "server_us": {"p50": server, "p90": server * 1.4, "p99": server * 2.5, "ci95": [server - 2, server + 2],
                          "ci_half_width_pct": 0.6, "mix": server + 1},
            "server_cpu_us": {"p50": server * 0.9, "mix": server * 0.9},
            "ratio_to_floor": est(round(server / 210.0, 4), 0.01),
            "ratio_to_reference": {"reference": "jsonify_tuple", **est(round(server / 326.0, 4), 0.01)},
            "latency_ms": {"p50": 2.5 + 0.01 * i, "p95": 6.75, "p99": 11.0},
            "locust_latency_ms": {"p50": 3.0, "p95": 7.0, "p99": 11.0},
            "share_of_request": {"app_pct": 71.5, "idiom_delta_pct": round(1.1 * i, 2)}, "rank": i + 1}


def load_json():
    """load.json as the load stage writes it: per shape its facts and every target's figures."""
    targets = {n: load_entry(i, n) for i, n in enumerate(ORDER)} | {"floor": load_entry(-30) | {"rank": None}}
    shape = {"status": "ok", "duration_s": 60.0, "measured_s": 57.0, "users": 8, "rate_per_user": None, "rps": 1200.0,
             "requests": 70000, "failures": 3, "generator_cpu": 0.97, "server_cpu": 0.81, "steal_fraction": 0.002,
             "bottleneck": {"verdict": "load generator", "detail": "LOCUST-AT-97-PERCENT"}, "server_request_cpu_us": 287.5,
             "rss": {"first_quarter_mb": 31.8, "last_quarter_mb": 31.9, "growth_pct": 0.3},
             "files": ["load/paced_stats.csv", "load/paced.html"], "targets": targets,
             "calibration": {"planted_us": 20, "measured_us": 19.4, "ci95": [17.9, 21.0], "error_pct": -3.0,
                             "aa": {"what": "jsonify_tuple against a second instance of itself", "diff_us": 0.37,
                                    "ci95": [-0.2, 0.9], "pct": 0.29}},
             "window_mix_us": {}}
    closed = shape | {"bottleneck": {"verdict": "server", "detail": "server busy"}, "files": [],
                      "targets": {n: t | {"rps": 2222.0} for n, t in targets.items()}}
    return {"schema": "flask-json-idioms/load/1", "status": "ok", "mode": "full", "layout": "interleaved",
            "apps_per_target": 3, "date": "2026-11-25T10:05:00+00:00", "wall_s": 180.0, "config": {}, "environment": environment(),
            "shapes": {"closed": closed, "paced": shape},
            "gunicorn": {"workers": 1, "worker_class": "sync"},
            "locust": {"version": "2.47.0", "user_class": "FastHttpUser", "workers": 1},
            "warnings": ["LOAD-WARNING-TEXT"], "targets": {"duration": {"target": 240, "met": True}},
            "primary_shape": "paced", "duration_s": 180.0, "incomplete": [], "server_request_cpu_us": 287.5,
            "files": {"locust_csv": ["load/paced_stats.csv"], "locust_html": ["load/paced.html"], "raw": "load.json"}}


def compat_json():
    versions = ["2.2.5", "3.1.3"]
    cells = {n: {v: {"status": "ok", "detail": "conforms to the contract"} for v in versions} for n in REGISTRY}
    cells["orjson_provider"]["2.2.5"] = {"status": "fails", "cause": "idiom", "detail": "KeyError: 1 (on GET /)"}
    return {"flask_versions": versions, "cells": cells,
            "byte_changes": {n: {"changed": n == "jsonify_tuple", "summary": "BYTES-CHANGE-SUMMARY", "forms": []} for n in REGISTRY},
            "min_flask_check": {"ok": True, "mismatches": [], "variants": {
                n: {"min_flask": v.min_flask, "consistent": True, "works_from": "3.1.3" if n == "orjson_provider" else "2.2.5",
                    "detail": "ok"} for n, v in REGISTRY.items()}},
            "versions": {v: {"built": True, "error": None, "seconds": 4.5, "packages": {"flask": v}, "control": "ok",
                             "raw": f"compat/{v}.json"} for v in versions},
            "reference": {"flask": "3.1.3", "why": "pinned"}, "environment": environment()}


def plain_record(k=0):
    """One pytest-benchmark run, as its history records it (the last record is this run's)."""
    variants = {n: {"construct_ns": {sc: RATIO[n] * 60 for sc in SCENARIOS}, "mix_ns": RATIO[n] * 60,
                    "ratio_to_floor": round(RATIO[n] * (0.52 + 0.01 * k), 4),
                    "min_ratio_to_floor": round(RATIO[n] * 0.55, 4)} for n in ORDER}
    variants["werkzeug_response"] = {"construct_ns": {"success": 120.0}, "mix_ns": 120.0, "ratio_to_floor": 1.0,
                                     "min_ratio_to_floor": 1.0}
    return {"date": STARTED, "mode": "full", "wall_s": 20.0, "git_commit": "abc1234", "cpu": {}, "max_time_s": 0.3,
            "floor_iterations_per_round": 1, "floor_ns": 120.0, "variants": variants}


def summary(micro=True, load=True, hist=True):
    """summary.json: the run, the stages that left their files, and headline figures (the report reads no figures here)."""
    stages = {"verify": {"status": "ok", "seconds": 1.0, "file": "conformance.json"}}
    if micro:
        stages["micro"] = {"status": "ok", "seconds": 131.0, "file": "micro.json"}
    if hist:
        stages["pytest-benchmark"] = {"status": "ok", "seconds": 20.0, "file": "pytest_benchmark_history.json"}
    if load:
        stages["load"] = {"status": "ok", "seconds": 200.0, "file": "load.json"}
    return {"run": {"mode": "full", "variants": list(REGISTRY), "started": STARTED}, "stages": stages,
            "variants": {n: {"micro": {"ratio_to_floor": est(RATIO[n])}} for n in ORDER}}


def write_results(folder: Path, conformance: dict, *, micro=True, load=True, compat=True, hist=True, counts=True,
                  payloads=True) -> Path:
    """A results folder as make bench leaves it: each stage's own file, and the summary as its index."""
    folder.mkdir(parents=True, exist_ok=True)
    merge_summary(summary(micro, load, hist), out=folder)
    write_json(folder / "conformance.json", conformance)
    if micro:
        write_json(folder / "micro.json", micro_json())
    if hist:
        write_json(folder / "micro_history.json", history())
        write_json(folder / "pytest_benchmark_history.json", {"runs": [plain_record(0), plain_record(1)]})
    if load:
        write_json(folder / "load.json", load_json())
        (folder / "load").mkdir(exist_ok=True)
        (folder / "load" / "paced_stats.csv").write_text("Type,Name,Request Count\n")
    if compat:
        write_json(folder / "compat.json", compat_json())
    if counts:
        from tests.test_counts import fake_counts  # make count's results, as tests/test_counts.py fakes them
        write_json(folder / "counts.json", fake_counts())
    if payloads:
        from tests.test_payloads import fake_payloads  # make payloads' results, as tests/test_payloads.py fakes them
        write_json(folder / "payloads.json", fake_payloads())
    return folder


def edit_json(path: Path, change) -> None:
    """Rewrite a result file with ``change(data)`` applied."""
    data = json.loads(path.read_text())
    change(data)
    write_json(path, data)


@pytest.fixture(scope="module")
def full(tmp_path_factory, conformance_json):
    """A complete results folder, rendered once."""
    folder = write_results(tmp_path_factory.mktemp("full"), conformance_json)
    written = render(folder)
    return folder, written["markdown"].read_text(), written["html"].read_text()


def report_text(folder: Path) -> str:
    """REPORT.md rendered without its charts, for the tests that read only the text (``full`` and the publish
    tests draw them; a render's time is mostly matplotlib's)."""
    return render(folder, charts=False)["markdown"].read_text()


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}")
    following = markdown.find("\n## ", start + 1)
    return markdown[start:following if following > 0 else None]


def test_every_section_is_present_and_filled_from_the_data(full):
    folder, md, _ = full
    for title in SECTIONS:
        assert f"## {title}" in md
    assert "Could not render" not in md and "**Missing:**" not in md
    verdict = section(md, "1. Verdict")
    assert "12 of 15 idioms meet the contract" in verdict
    first_screen = verdict.split("### Decision table")[0]
    # no whole-request stage and no HTTP differences in these results: the verdict says so, and invents nothing
    assert "Not measured against `jsonify_tuple`" in first_screen and "run `make request` or `make bench`" in first_screen
    assert "288 µs" in first_screen  # load_run's server CPU per request: the denominator of "% of a request"
    assert "Recommendation" not in first_screen and "×" not in first_screen  # no ranking by ratios to a floor
    assert "The load generator was a bottleneck" in verdict and "LOCUST-AT-97-PERCENT" in verdict
    assert "MICRO-WARNING-TEXT" in verdict and "LOAD-WARNING-TEXT" in verdict
    assert "| `orjson_response` | yes | not measured | not measured | not measured | not measured | 2 |" in verdict
    conformance = section(md, "2. Conformance matrix")
    assert r"`{\"success\":true}\n`".replace("\\\"", '"') in conformance  # jsonify's exact bytes, newline shown
    assert "'ContentType' (no hyphen)" in conformance and "`ContentType`: `application/json`" in conformance
    assert '`Bearer realm="flask-json-idioms"`' in conformance
    cost = section(md, "3. Construction cost")
    assert "RATIO-DEFINITION" in cost and "2,013 ns" in cost
    assert f"takes {RATIO['response_class'] / RATIO['orjson_response']:.3f} ± " in cost
    assert "All 91 pairs" in cost
    methods = section(md, "4. Methods side by side")
    assert "SEQUENTIAL-WHAT" in methods and "INTERLEAVED-WHAT" in methods and "2 runs" in methods
    plain = RATIO["orjson_response"] * 0.53
    assert f"| {plain:.1f} (min: {RATIO['orjson_response'] * 0.55:.1f}) |" in methods  # pytest-benchmark, last run
    assert "pytest-benchmark's own ratios sit a median -48% off the interleaved ones and moved up to 1.019× across its 2 runs" in methods
    load = section(md, "5. Load over HTTP")
    assert "1,234.5" in load and "LOCUST-AT-97-PERCENT" in load and "287.5" in load and "2,222.0" in load
    assert "ratio to jsonify_tuple [95% CI]" in load
    assert "by 3 apps each, taking turns a request each" in load
    assert "[load/paced_stats.csv](load/paced_stats.csv)" in load and "`load/paced.html` (not present)" in load
    assert "19.4 µs" in load  # load calibration
    assert "A/A check: jsonify_tuple against a second instance of itself differs by 0.37 µs" in load
    compat = section(md, "8. Flask version compatibility")
    assert "KeyError: 1 (on GET /)" in compat and "BYTES-CHANGE-SUMMARY" in compat
    env = section(md, "10. Environment and raw data")
    assert "Test CPU 9000" in env and "`abc1234`" in env and "[micro.json](micro.json)" in env


def test_the_headings_and_the_contents_come_from_the_one_list_of_sections(full):
    _, md, _ = full
    assert [f"{i}. {m.TITLE}" for i, m in enumerate(SECTION_MODULES, 1)] == SECTIONS
    assert " · ".join(f"[{t}](#{t.lower().replace('.', '').replace('?', '').replace(' ', '-')})" for t in SECTIONS) in md
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == SECTIONS
    assert "the network are the rest of a request (section 5)" in section(md, "1. Verdict")


def test_relative_links_point_at_files_beside_the_report(full):
    folder, md, _ = full
    links = re.findall(r"\]\(([^)#][^)]*)\)", md)
    assert links
    for link in links:
        assert (folder / link).exists(), link


def test_html_is_self_contained_and_shows_what_the_markdown_shows(full):
    folder, md, html = full
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == md.count("![") >= 4
    assert all(src.startswith("data:image/png;base64,") for src in images)
    for title in SECTIONS:
        assert f">{title}</h2>" in html
    for text in ("LOCUST-AT-97-PERCENT", "1,234.5", "KeyError: 1 (on GET /)", "Test CPU 9000", "All 91 pairs"):
        assert text in html
    assert md.count("\n| ") == html.count("<tr>")  # every table row (head included), in both


def test_charts_exist_as_png_and_svg(full):
    folder, md, _ = full
    stems = re.findall(r"\(charts/([\w-]+)\.png\)", md)
    assert set(stems) == {"construction_cost", "methods", "load_ratio", "load_latency", "compat", "counts_delta",
                          "payloads_cost"}
    for stem in stems:
        assert (folder / "charts" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (folder / "charts" / f"{stem}.svg").read_text()


def test_construction_alone_does_not_make_the_verdict(tmp_path, conformance_json):
    """Make response_class by far the cheapest to build: the construct clock stops before Flask finishes the
    response, so without the whole-request stage the first screen still calls nothing cheaper or dearer."""
    folder = write_results(tmp_path, conformance_json, load=False)
    micro = json.loads((folder / "micro.json").read_text())
    micro["results"]["variants"]["response_class"]["ratio_to_floor"]["estimate"] = 2.0
    write_json(folder / "micro.json", micro)
    first_screen = section(report_text(folder), "1. Verdict").split("### Decision table")[0]
    assert "Not measured against `jsonify_tuple`" in first_screen
    assert "**Cheaper**" not in first_screen and "**Dearer" not in first_screen


def test_missing_stages_and_files_are_reported_not_crashed_on(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, micro=False, load=False, compat=False, hist=False)
    merge_summary({"stages": {"micro": {"status": "failed", "seconds": 3.0, "detail": "exit code 1"},
                              "load": {"status": "missing", "detail": "loadtests.run is not built yet"}}}, out=folder)
    md = render(folder)["markdown"].read_text()
    for title in SECTIONS:
        assert f"## {title}" in md
    assert "Could not render" not in md
    assert "The micro stage failed in this run: failed (exit code 1)" in section(md, "3. Construction cost")
    assert "The load stage did not run in this run: missing (loadtests.run is not built yet)" in section(md, "5. Load over HTTP")
    assert "`make matrix` has not run" in section(md, "8. Flask version compatibility")
    assert "Construction cost unknown" in section(md, "1. Verdict")
    assert not list((folder / "charts").glob("construction_cost.*"))


def test_an_empty_folder_still_renders_every_section(tmp_path):
    md = report_text(tmp_path)
    for title in SECTIONS:
        assert f"## {title}" in md
    assert "Correctness unknown" in md and "Could not render" not in md


@pytest.mark.parametrize("name", ["micro.json", "compat.json", "conformance.json", "load.json"])
def test_a_corrupt_file_is_warned_about_and_ignored(tmp_path, conformance_json, capsys, name):
    folder = write_results(tmp_path, conformance_json, load=name == "load.json", compat=name == "compat.json")
    (folder / name).write_text('{"truncated": ')
    md = report_text(folder)
    assert f"warning: ignoring {folder / name}: not valid JSON" in capsys.readouterr().err
    assert f"`{name}` ignored: not valid JSON" in md
    assert "Could not render" not in md


def test_a_file_whose_shape_cannot_be_read_is_ignored_with_a_note(tmp_path, conformance_json, capsys):
    folder = write_results(tmp_path, conformance_json, compat=False)
    edit_json(folder / "load.json", lambda d: d.update(shapes=["not", "a", "dict"]))
    md = report_text(folder)
    assert "warning: ignoring" in capsys.readouterr().err
    assert "`load.json` ignored: unexpected shape (AttributeError" in section(md, "5. Load over HTTP")
    assert "Could not render" not in md


def test_the_summary_copies_of_stage_results_are_not_read(tmp_path, conformance_json):
    """Stage figures come from the stage's own file only: copies in summary.json (the old layout) are ignored."""
    folder = write_results(tmp_path, conformance_json, micro=False, load=False, hist=False, compat=False)
    res = micro_json()["results"]
    merge_summary({"variants": {n: {"micro": v} for n, v in res["variants"].items()}, "baselines": res["baselines"],
                   "micro": {"pairwise": res["pairwise"]["construct"]["all"], "methods": res["methods"],
                             "pytest_benchmark": plain_record(1)},
                   "load_run": {"status": "ok", "primary_shape": "paced", "shapes": {}}}, out=folder)
    md = report_text(folder)
    assert "**Missing:**" in section(md, "3. Construction cost") and "24.85" not in md
    assert "**Missing:**" in section(md, "5. Load over HTTP")


@pytest.mark.parametrize("stage, name", [("micro", "micro.json"), ("load", "load.json")])
def test_results_from_an_earlier_run_are_not_mixed_in(tmp_path, conformance_json, stage, name):
    folder = write_results(tmp_path, conformance_json)
    merge_summary({"run": {"started": "2026-11-26T00:00:00+00:00"},
                   "stages": {stage: {"status": "failed", "detail": "exit code 1"}}}, out=folder)
    md = report_text(folder)
    assert f"`{name}` ignored: from an earlier run" in md
    if stage == "micro":
        assert "from an earlier run (started 2026-11-25T10:00:00+00:00), not used" in md
        assert "24.85" not in md
    else:
        assert "from an earlier run (started 2026-11-25T10:05:00+00:00), not used" in md
        assert "1,234.5" not in md and "Over HTTP: no load results" in section(md, "1. Verdict")


def test_a_section_with_malformed_data_says_so_and_the_rest_renders(tmp_path, conformance_json, capsys):
    folder = write_results(tmp_path, conformance_json, compat=False)
    edit_json(folder / "load.json", lambda d: d.update(gunicorn="not a dict"))
    md = report_text(folder)
    assert "**Could not render:**" in section(md, "5. Load over HTTP")
    err = capsys.readouterr().err
    assert "could not be rendered" in err and "reports/sections/load.py:" in err
    assert "Could not render" not in section(md, "3. Construction cost")


def test_without_pytest_benchmark_the_methods_section_says_so(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, load=False, compat=False, hist=False)
    merge_summary({"stages": {"pytest-benchmark": {"status": "failed", "seconds": 2.0, "detail": "exit code 1"}}},
                  out=folder)
    methods = section(report_text(folder), "4. Methods side by side")
    assert "pytest-benchmark itself: The pytest-benchmark stage failed in this run: failed (exit code 1)." in methods
    assert "SEQUENTIAL-WHAT" in methods and "pytest-benchmark, last run" not in methods


def test_pytest_benchmark_from_an_earlier_run_is_history_not_this_run(tmp_path, conformance_json):
    """The history's last record is this run's figures only if the stage did not fail after it was written."""
    folder = write_results(tmp_path, conformance_json, load=False, compat=False)
    assert Results(folder).plain["variants"] == plain_record(1)["variants"]
    merge_summary({"run": {"started": "2026-11-26T00:00:00+00:00"},
                   "stages": {"pytest-benchmark": {"status": "failed", "detail": "exit code 1"}}}, out=folder)
    results = Results(folder)
    assert results.plain is None and len(results.plain_history) == 2
    methods = section(report_text(folder), "4. Methods side by side")
    assert "pytest-benchmark, 2 runs" in methods  # the history still shows how far its figures move
    assert f"{RATIO['orjson_response'] * 0.53:.1f} (min:" not in methods


def test_the_command_honours_FLASK_IDIOMS_OUT_and_REPORT_CHARTS(tmp_path, conformance_json):
    folder = write_results(tmp_path / "out", conformance_json, micro=False, load=False, compat=False)
    done = subprocess.run([sys.executable, "-m", "reports.render"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "FLASK_IDIOMS_OUT": str(folder), "REPORT_CHARTS": "0"})
    assert done.returncode == 0, done.stderr
    assert (folder / "REPORT.md").exists() and (folder / "report.html").exists()
    assert str(folder / "REPORT.md") in done.stdout
    assert "and 0 chart files" in done.stdout and not (folder / "charts").exists()  # REPORT_CHARTS=0: text only


def test_publish_refuses_a_quick_run_or_no_run(tmp_path, conformance_json):
    folder = write_results(tmp_path / "out", conformance_json, load=False, compat=False)
    merge_summary({"run": {"mode": "quick"}}, out=folder)
    done = subprocess.run([sys.executable, "-m", "reports.publish", "--results", str(folder), "--to", str(tmp_path / "pub")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "from a quick run, not a full one" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "pub").exists()
    with pytest.raises(UsageError, match="summary.json not found"):
        publish_module.publish(tmp_path / "nothing", tmp_path / "pub")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def clean_repo(tmp_path, monkeypatch):
    """A git work tree with one commit and nothing changed, as the tree make publish records."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    (repo / "tracked.txt").write_text("one\n")
    git(repo, "add", "tracked.txt")
    git(repo, "commit", "--quiet", "-m", "one")
    monkeypatch.setattr(publish_module, "REPO", repo)
    return repo


def test_publish_refuses_a_dirty_tree_and_records_the_clean_commit(tmp_path, conformance_json, clean_repo, capsys,
                                                                    monkeypatch):
    folder = write_results(tmp_path / "out", conformance_json, load=False, compat=False)
    target = tmp_path / "published"
    (clean_repo / "tracked.txt").write_text("two\n")
    with pytest.raises(SystemExit) as stopped:
        publish_module.main(["--results", str(folder), "--to", str(target)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: the work tree has uncommitted changes to 1 tracked file(s) (tracked.txt): commit")
    assert not target.exists()
    git(clean_repo, "commit", "--quiet", "-am", "two")
    (clean_repo / "untracked.txt").write_text("not part of the tree's state\n")
    monkeypatch.setattr(publish_module, "render", partial(render, charts=False))  # only its text is read here
    assert publish_module.main(["--results", str(folder), "--to", str(target)]) == 0
    head, short = git(clean_repo, "rev-parse", "HEAD"), git(clean_repo, "rev-parse", "--short", "HEAD")
    published = json.loads((target / "summary.json").read_text())["published"]
    assert published["commit"] == head and published["commit_short"] == short and published["measured_at"] == "abc1234"
    assert f"from commit {short};" in capsys.readouterr().out
    md = (target / "REPORT.md").read_text()
    assert f"Published from commit `{short}` (a clean work tree)" in md
    assert "the results were measured at `abc1234`, which is not that commit" in md
    assert f"| published from commit | `{head}` (a clean work tree)" in section(md, "10. Environment and raw data")
    with pytest.raises(UsageError, match="not a git work tree"):
        publish_module.clean_commit(tmp_path / "out")


def test_publish_copies_a_full_run_and_trims_a_large_micro_json(tmp_path, conformance_json, monkeypatch, clean_repo):
    folder = write_results(tmp_path / "out", conformance_json)
    target = tmp_path / "published"
    monkeypatch.setattr(publish_module, "MAX_BYTES", 100_000)  # micro.json (~106 kB) is over it, load.json not
    notes = publish_module.publish(folder, target)
    assert any("micro.json: published without its per-round samples" in n for n in notes)
    for name in ("REPORT.md", "report.html", "summary.json", "conformance.json", "micro.json", "load.json",
                 "compat.json", "micro_history.json", "pytest_benchmark_history.json", "charts/construction_cost.png",
                 "charts/construction_cost.svg"):
        assert (target / name).exists(), name
    assert (target / "load" / "paced_stats.csv").exists() and not (target / "load" / "paced.html").exists()
    assert not (target / "summary.json.lock").exists()
    micro = json.loads((target / "micro.json").read_text())
    assert "rounds" not in micro and "per-round samples" in micro["omitted"]
    md = (target / "REPORT.md").read_text()
    assert "per-round samples" in md and "24.85" in md
    for link in re.findall(r"\]\(([^)#][^)]*)\)", md):
        assert (target / link).exists(), link
    monkeypatch.setattr(publish_module, "render", partial(render, charts=False))  # the charts were checked above
    (folder / "pytest_benchmark.json").write_text(json.dumps({"benchmarks": [0] * 60_000}))
    publish_module.publish(folder, target)
    assert not (target / "pytest_benchmark.json").exists()
    assert "| `pytest_benchmark.json` |  | not published: 0.2 MB, over 0.1 MB |" in (target / "REPORT.md").read_text()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="not a published report"):
        publish_module.publish(folder, tmp_path / "other")


def test_publishing_from_a_fresh_clone_keeps_the_runs_already_published(tmp_path, conformance_json, monkeypatch,
                                                                         clean_repo):
    """A fresh clone's reports/out holds only its own runs: the published histories become the union, each run
    once, in the order the runs started, and the report still reads this run's pytest-benchmark record."""
    monkeypatch.setattr(publish_module, "render", partial(render, charts=False))
    folder = write_results(tmp_path / "out", conformance_json, load=False, compat=False)
    target = tmp_path / "published"
    publish_module.publish(folder, target)
    before = {name: json.loads((target / name).read_text())["runs"] for name in ("micro_history.json",
                                                                               "pytest_benchmark_history.json")}
    assert [len(r) for r in before.values()] == [2, 2]
    newer = {**history()["runs"][1], "started": "2026-11-29T09:00:00+00:00", "seed": 7}
    mine = {**plain_record(3), "date": "2026-11-29T09:01:00+00:00"}
    other = {**plain_record(4), "date": "2026-11-30T09:01:00+00:00"}  # published later, from another machine
    write_json(target / "pytest_benchmark_history.json", {"runs": before["pytest_benchmark_history.json"] + [other]})
    write_json(folder / "micro_history.json", {"runs": [newer]})  # a fresh clone: its own run only
    write_json(folder / "pytest_benchmark_history.json", {"runs": [mine]})
    merge_summary({"stages": {"pytest-benchmark": {"started": mine["date"]}}}, out=folder)
    notes = publish_module.publish(folder, target)
    micro = json.loads((target / "micro_history.json").read_text())["runs"]
    assert micro == before["micro_history.json"] + [newer]
    plain = json.loads((target / "pytest_benchmark_history.json").read_text())["runs"]
    assert plain == before["pytest_benchmark_history.json"] + [mine, other]
    assert "micro_history.json: 3 runs, those already published with this run's" in notes
    assert Results(target).plain == mine  # this run's record, not the newest one
    write_json(folder / "micro_history.json", {"runs": micro})  # a clone whose history already holds them
    publish_module.publish(folder, target)
    assert json.loads((target / "micro_history.json").read_text())["runs"] == micro


def test_publishing_a_run_without_a_published_result_says_it_is_dropped_and_how_to_make_it(
        tmp_path, conformance_json, monkeypatch, clean_repo, capsys):
    monkeypatch.setattr(publish_module, "render", partial(render, charts=False))
    folder = write_results(tmp_path / "out", conformance_json, load=False)
    target = tmp_path / "published"
    publish_module.publish(folder, target)
    assert (target / "compat.json").exists()
    (folder / "compat.json").unlink()  # a fresh clone: make matrix not run
    assert publish_module.main(["--results", str(folder), "--to", str(target)]) == 0
    captured = capsys.readouterr()
    assert (f"warning: compat.json: published before, not in {folder}: no longer published; `make matrix` before "
            f"`make publish` makes it") in captured.err
    assert "compat.json" not in captured.out and not (target / "compat.json").exists()
    assert f"  note: load.json: not in {folder}" in captured.out  # never published: a note, not a warning


def test_load_json_with_one_shape_and_without_the_run_facts(tmp_path, conformance_json):
    """A load run that finished only its paced shape, in a load.json from before the stage recorded its
    primary shape, unfinished shapes and files: the reader completes them from the shapes."""
    folder = write_results(tmp_path, conformance_json, compat=False)

    def older(data):
        data["shapes"]["closed"] = {"status": "incomplete"}
        for key in ("primary_shape", "duration_s", "incomplete", "server_request_cpu_us", "files"):
            del data[key]

    edit_json(folder / "load.json", older)
    load = Results(folder).load
    assert load["source"] == "load.json" and load["run"]["primary_shape"] == "paced"
    assert load["run"]["incomplete"] == ["closed"] and list(load["variants"]["orjson_response"]["by_shape"]) == ["paced"]
    assert load["run"]["files"]["locust_csv"] == ["load/paced_stats.csv"] and load["run"]["duration_s"] == 180.0
    text = section(report_text(folder), "5. Load over HTTP")
    assert "Source: `load.json`" in text and "1,234.5" in text and "**Missing:**" not in text and "180 s" in text
    assert "shapes not finished: closed" in text and "The closed shape, per idiom" not in text
    assert "[load/paced_stats.csv](load/paced_stats.csv)" in text


def test_load_json_of_the_per_variant_layout(tmp_path, conformance_json):
    """One server per variant, one after another: each shape is named after its variant and holds it and the floor."""
    folder = write_results(tmp_path, conformance_json, compat=False)
    paced = load_json()["shapes"]["paced"]
    shapes = {n: {**paced, "targets": {n: paced["targets"][n], "floor": paced["targets"]["floor"]}, "calibration": None}
              for n in ORDER[:3]}
    edit_json(folder / "load.json", lambda d: d.update(layout="per-variant", shapes=shapes))
    load = Results(folder).load
    assert list(load["variants"]) == ORDER[:3] and load["floor"] is None and load["run"]["primary_shape"] is None
    text = section(report_text(folder), "5. Load over HTTP")
    assert "Layout per-variant" in text and "Could not render" not in text and "floor (baseline)" not in text


@pytest.mark.parametrize("aa_pct", [0.29, 20.0])
def test_the_http_aa_check_is_a_caveat_with_its_size(tmp_path, conformance_json, aa_pct):
    folder = write_results(tmp_path, conformance_json)
    edit_json(folder / "load.json", lambda d: d["shapes"]["paced"]["calibration"]["aa"].update(pct=aa_pct))
    verdict = section(report_text(folder), "1. Verdict")
    assert f"differed by {aa_pct:.2f}% (A/A check)" in verdict


def _draw_one(folder: Path, stem: str, fail: bool = False) -> list:
    """A stand-in chart: a file, or an error as a bad chart function would raise."""
    if fail:
        raise ValueError("no data to draw")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.svg").write_text("<svg/>")
    return [folder / f"{stem}.svg"]


def pool_scenario(folder: str) -> None:
    """Five stand-in charts, the third failing, drawn in the pool; what came back, on standard output."""
    from reports.context import Context
    from reports.render import chart_pool
    with chart_pool(True) as pool:
        if pool is None:
            print("no pool")
            return
        ctx = Context(None, Path(folder), pool=pool)
        for k in range(5):
            ctx.chart(_draw_one, f"c{k}", fail=(k == 2))
        print(json.dumps({"failed": ctx.finish_charts(), "files": sorted(str(p) for p in ctx.chart_files)}))


def test_charts_drawn_in_the_pool_are_all_collected_and_a_failing_one_is_a_warning(tmp_path):
    # in a process of its own: this one may run other threads (a pytest-xdist worker), where the pool is not used
    done = subprocess.run([sys.executable, "-c", f"from tests.test_report import pool_scenario; "
                           f"pool_scenario({str(tmp_path)!r})"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "no pool":
        pytest.skip("one core or no fork here: charts are drawn in the render's own process")
    found = json.loads(done.stdout)
    assert found["failed"] == ["c2"]
    assert [Path(p).name for p in found["files"]] == ["c0.svg", "c1.svg", "c3.svg", "c4.svg"]
    assert all(Path(p).exists() for p in found["files"])
    assert "chart 'c2' could not be drawn: ValueError: no data to draw" in done.stderr


def test_no_chart_processes_are_forked_while_another_thread_runs_python():
    """A fork copies only the forking thread: a lock another thread holds would never be released in the child."""
    import threading
    from reports.render import chart_pool
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        with chart_pool(True) as pool:
            assert pool is None
    finally:
        release.set()
        other.join()


def test_a_large_request_json_is_published_without_its_per_round_times(tmp_path):
    request = {"schema": "flask-json-idioms/request/1", "results": {"variants": {"dict_return": {"success": {"x": 1}}}},
               "raw": {"workers": [{"index": i, "per_call_ns": [[250_000.0] * 40] * 200, "t_s": [0.1] * 200,
                                    "rounds": 200} for i in range(2)]}}
    write_json(tmp_path / "request.json", request)
    published = publish_module.TRIMMED["request.json"](tmp_path / "request.json")
    assert published["raw"]["workers"] == [{"index": 0, "rounds": 200}, {"index": 1, "rounds": 200}]
    assert published["results"] == request["results"] and "per-round times" in published["omitted"]


def test_a_large_payloads_json_is_published_without_its_per_round_times(tmp_path):
    payloads = {"schema": "flask-json-idioms/payloads/1", "cost": {"dict_return": {"size_1kb": {"delta_us": {"x": 1}}}},
                "raw": {"workers": [{"index": i, "per_call_ns": [[250_000.0] * 40] * 200,
                                     "paired_reference_ns": [[240_000.0] * 40] * 200, "t_s": [0.1] * 200,
                                     "young_count_per_call": [7.0] * 40} for i in range(2)]}}
    write_json(tmp_path / "payloads.json", payloads)
    published = publish_module.TRIMMED["payloads.json"](tmp_path / "payloads.json")
    assert published["raw"]["workers"] == [{"index": i, "young_count_per_call": [7.0] * 40} for i in range(2)]
    assert published["cost"] == payloads["cost"] and "per-round times" in published["omitted"]


def test_a_stage_re_run_on_its_own_names_its_commit_in_the_environment_table():
    from reports.sections.environment import measured_at
    run = {"git_commit": "aaaaaaa"}
    same = {"started": "2026-01-01T00:00:00+00:00", "environment": {"git_commit": "aaaaaaa"}}
    assert measured_at(same, run, "make request") == "2026-01-01T00:00:00+00:00"
    later = {"started": "2026-01-01T01:00:00+00:00", "environment": {"git_commit": "bbbbbbb"}}
    assert "`bbbbbbb`, not the run's" in measured_at(later, run, "make request") and "make request" in measured_at(later, run, "make request")
    assert measured_at(None, run, "make request") == "n/a"
