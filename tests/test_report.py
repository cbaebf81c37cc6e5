"""The report: every section filled from the results, self-contained HTML, charts, missing and corrupt inputs, publish."""
import json
import os
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from harness.cli import UsageError
from harness.results import ROOT, merge_summary, write_json
from reports import publish as publish_module
from reports.render import render
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
            "5. Load over HTTP", "6. Flask version compatibility", "7. Environment and raw data"]


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
        "measured_s": 130.0, "environment": environment(),
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
    server = 300.0 + 3.25 * i
    entry = {"requests": 5000 + i, "failures": 3 if name == "abort_response" else 0, "rps": 1234.5 - i,
             "server_us": {"p50": server, "p90": server * 1.4, "p99": server * 2.5, "ci95": [server - 2, server + 2],
                           "ci_half_width_pct": 0.6, "mix": server + 1},
             "server_cpu_us": {"p50": server * 0.9, "mix": server * 0.9},
             "ratio_to_floor": est(round(server / 210.0, 4), 0.01),
             "ratio_to_reference": {"reference": "jsonify_tuple", **est(round(server / 326.0, 4), 0.01)},
             "latency_ms": {"p50": 2.5 + 0.01 * i, "p95": 6.75, "p99": 11.0},
             "locust_latency_ms": {"p50": 3.0, "p95": 7.0, "p99": 11.0},
             "share_of_request": {"app_pct": 71.5, "idiom_delta_pct": round(1.1 * i, 2)}, "rank": i + 1}
    entry["by_shape"] = {"closed": {k: v for k, v in entry.items() if k != "by_shape"} | {"rps": 2222.0},
                         "paced": {k: v for k, v in entry.items() if k != "by_shape"}}
    return entry


def load_summary():
    shape = {"duration_s": 60.0, "measured_s": 57.0, "users": 8, "rate_per_user": None, "rps": 1200.0, "requests": 70000,
             "failures": 3, "generator_cpu": 0.97, "server_cpu": 0.81, "steal_fraction": 0.002,
             "bottleneck": {"verdict": "load generator", "detail": "LOCUST-AT-97-PERCENT"}, "server_request_cpu_us": 287.5,
             "rss": {"first_quarter_mb": 31.8, "last_quarter_mb": 31.9, "growth_pct": 0.3}}
    return {
        "variants": {n: {"load": load_entry(i, n)} for i, n in enumerate(ORDER)},
        "baselines": {"floor": {"load": load_entry(-30) | {"rank": None}}},
        "load_run": {"status": "ok", "mode": "full", "layout": "interleaved", "primary_shape": "paced",
                     "date": "2026-11-25T10:05:00+00:00", "duration_s": 180.0, "incomplete": [],
                     "shapes": {"closed": shape | {"bottleneck": {"verdict": "server", "detail": "server busy"}},
                                "paced": shape},
                     "gunicorn": {"workers": 1, "worker_class": "sync"},
                     "locust": {"version": "2.47.0", "user_class": "FastHttpUser", "workers": 1},
                     "server_request_cpu_us": 287.5, "files": {"locust_csv": ["load/paced_stats.csv"], "locust_html": ["load/paced.html"],
                               "raw": "load.json"},
                     "warnings": ["LOAD-WARNING-TEXT"], "targets": {"duration": {"target": 240, "met": True}}},
        "calibration": {"load": {"planted_us": 20, "measured_us": 19.4, "ci95": [17.9, 21.0], "error_pct": -3.0,
                                 "aa": {"what": "jsonify_tuple against a second instance of itself", "diff_us": 0.37,
                                        "ci95": [-0.2, 0.9], "pct": 0.29}}},
    }


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
    """One bench.plain run, as merged into summary.micro.pytest_benchmark and its history."""
    variants = {n: {"construct_ns": {sc: RATIO[n] * 60 for sc in SCENARIOS}, "mix_ns": RATIO[n] * 60,
                    "ratio_to_floor": round(RATIO[n] * (0.52 + 0.01 * k), 4),
                    "min_ratio_to_floor": round(RATIO[n] * 0.55, 4)} for n in ORDER}
    variants["werkzeug_response"] = {"construct_ns": {"success": 120.0}, "mix_ns": 120.0, "ratio_to_floor": 1.0,
                                     "min_ratio_to_floor": 1.0}
    return {"date": STARTED, "mode": "full", "wall_s": 20.0, "git_commit": "abc1234", "cpu": {}, "max_time_s": 0.3,
            "variants": variants}


def summary_parts(micro):
    res = micro["results"]
    return {"run": {"mode": "full", "variants": list(REGISTRY), "started": STARTED},
            "stages": {"verify": {"status": "ok", "seconds": 1.0}, "micro": {"status": "ok", "seconds": 131.0},
                       "load": {"status": "ok", "seconds": 200.0}},
            "environment": micro["environment"],
            "variants": {n: {"micro": v} for n, v in res["variants"].items()},
            "baselines": res["baselines"],
            "micro": {"mode": "full", "date": STARTED, "floor": "werkzeug_response", "ratio_definition": "RATIO-DEFINITION",
                      "pairwise": res["pairwise"]["construct"]["all"], "methods": res["methods"], "drift": res["drift"],
                      "targets": micro["targets"], "warnings": micro["warnings"], "environment": micro["environment"],
                      "raw": "micro.json", "pytest_benchmark": {**plain_record(1), "raw": "pytest_benchmark.json"}}}


@pytest.fixture(scope="module")
def conformance_json(tmp_path_factory):
    """conformance.json from the real stage (it takes well under a second)."""
    folder = tmp_path_factory.mktemp("conformance")
    subprocess.run([sys.executable, "-m", "harness.conformance", "--out", str(folder)], check=True, cwd=ROOT,
                   capture_output=True)
    return json.loads((folder / "conformance.json").read_text())


def write_results(folder: Path, conformance: dict, *, micro=True, load=True, compat=True, hist=True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "conformance.json", conformance)
    merge_summary({"variants": {n: {"conformance": {"verdict": e["verdict"], "divergence": e["divergence"]}}
                                for n, e in conformance.items()}}, out=folder)
    m = micro_json()
    if micro:
        write_json(folder / "micro.json", m)
        merge_summary(summary_parts(m), out=folder)
    else:
        merge_summary({"run": summary_parts(m)["run"]}, out=folder)
    if hist:
        write_json(folder / "micro_history.json", history())
        write_json(folder / "pytest_benchmark_history.json", {"runs": [plain_record(0), plain_record(1)]})
    if load:
        parts = load_summary()
        merge_summary(parts, out=folder)
        write_json(folder / "load.json", parts)
        (folder / "load").mkdir(exist_ok=True)
        (folder / "load" / "paced_stats.csv").write_text("Type,Name,Request Count\n")
    if compat:
        write_json(folder / "compat.json", compat_json())
    return folder


@pytest.fixture(scope="module")
def full(tmp_path_factory, conformance_json):
    """A complete results folder, rendered once."""
    folder = write_results(tmp_path_factory.mktemp("full"), conformance_json)
    written = render(folder)
    return folder, written["markdown"].read_text(), written["html"].read_text()


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
    assert "12 of 14 idioms meet the contract" in verdict
    assert verdict.index("**Recommendation.** Among the correct idioms, `orjson_response` is the cheapest to build and over HTTP") \
        < verdict.index("12 of 14")
    assert "`abort_response` cost 5% or more of a request's server time over the cheapest" in verdict
    assert "Cheapest correct idiom to build: `orjson_response`**, 24.85×" in verdict
    assert "{`json_provider`, `jsonify_tuple`}" in verdict  # within noise of each other, from the pairwise rows
    saved = (RATIO["abort_response"] - RATIO["orjson_response"]) * FLOOR_NS / 1000
    assert f"a request costs the server 288 µs" in verdict  # load_run's server CPU per request
    assert f"saves {saved:.2f} µs per response over the dearest correct idiom, `abort_response`" in verdict
    assert f"**{100 * saved / 287.5:.1f}% of a request** by the microbenchmarks" in verdict
    assert "app CPU is **14.3% of a request** above the cheapest correct idiom's" in verdict  # idiom_delta_pct
    assert "The load generator was a bottleneck" in verdict and "LOCUST-AT-97-PERCENT" in verdict
    assert "MICRO-WARNING-TEXT" in verdict and "LOAD-WARNING-TEXT" in verdict
    assert "| `orjson_response` | yes | 1 (24.9×) | 1 (1.43×) | " in verdict  # decision table
    assert "### What `orjson_response` saves, idiom by idiom" in verdict
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
    assert "[load/paced_stats.csv](load/paced_stats.csv)" in load and "`load/paced.html` (not present)" in load
    assert "19.4 µs" in load  # load calibration
    assert "A/A check: jsonify_tuple against a second instance of itself differs by 0.37 µs" in load
    compat = section(md, "6. Flask version compatibility")
    assert "KeyError: 1 (on GET /)" in compat and "BYTES-CHANGE-SUMMARY" in compat
    env = section(md, "7. Environment and raw data")
    assert "Test CPU 9000" in env and "`abc1234`" in env and "[micro.json](micro.json)" in env


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
    assert set(stems) == {"construction_cost", "methods", "load_ratio", "load_latency", "compat"}
    for stem in stems:
        assert (folder / "charts" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (folder / "charts" / f"{stem}.svg").read_text()


def test_the_verdict_follows_the_data(tmp_path, conformance_json):
    """Make response_class cheapest and within noise of orjson_response: the verdict must say so."""
    folder = write_results(tmp_path, conformance_json, load=False)
    micro = json.loads((folder / "micro.json").read_text())
    micro["results"]["variants"]["response_class"]["ratio_to_floor"]["estimate"] = 20.0
    for row in micro["results"]["pairwise"]["construct"]["all"]:
        if {row["a"], row["b"]} == {"orjson_response", "response_class"}:
            row.update(a="response_class", b="orjson_response", significant=False)
    write_json(folder / "micro.json", micro)
    verdict = section(render(folder)["markdown"].read_text(), "1. Verdict")
    assert "Cheapest correct idiom to build: `response_class`**" in verdict
    assert "Within noise of `response_class`" in verdict and ": `orjson_response`." in verdict


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
    assert "`make matrix` has not run" in section(md, "6. Flask version compatibility")
    assert "Construction cost unknown" in section(md, "1. Verdict")
    assert not list((folder / "charts").glob("construction_cost.*"))


def test_an_empty_folder_still_renders_every_section(tmp_path):
    md = render(tmp_path)["markdown"].read_text()
    for title in SECTIONS:
        assert f"## {title}" in md
    assert "Correctness unknown" in md and "Could not render" not in md


@pytest.mark.parametrize("name", ["micro.json", "compat.json", "conformance.json"])
def test_a_corrupt_file_is_warned_about_and_ignored(tmp_path, conformance_json, capsys, name):
    folder = write_results(tmp_path, conformance_json, load=False, compat=name == "compat.json")
    (folder / name).write_text('{"truncated": ')
    if name == "micro.json":  # without micro.json the summary's copy would be used; drop it too
        summary = json.loads((folder / "summary.json").read_text())
        del summary["micro"]
        write_json(folder / "summary.json", summary)
    md = render(folder)["markdown"].read_text()
    assert f"warning: ignoring {folder / name}: not valid JSON" in capsys.readouterr().err
    assert f"`{name}` ignored: not valid JSON" in md
    assert "Could not render" not in md


def test_results_from_an_earlier_run_are_not_mixed_in(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, load=False)
    merge_summary({"run": {"started": "2026-11-26T00:00:00+00:00"},
                   "stages": {"micro": {"status": "failed", "detail": "exit code 1"}}}, out=folder)
    summary = json.loads((folder / "summary.json").read_text())
    del summary["micro"]
    write_json(folder / "summary.json", summary)
    md = render(folder)["markdown"].read_text()
    assert "from an earlier run (started 2026-11-25T10:00:00+00:00), not used" in md
    assert "24.85" not in md


def test_a_section_with_malformed_data_says_so_and_the_rest_renders(tmp_path, conformance_json, capsys):
    folder = write_results(tmp_path, conformance_json, compat=False)
    merge_summary({"load_run": {"shapes": "not a dict"}}, out=folder)
    md = render(folder)["markdown"].read_text()
    assert "**Could not render:**" in section(md, "5. Load over HTTP")
    assert "could not be rendered" in capsys.readouterr().err
    assert "Could not render" not in section(md, "3. Construction cost")


def test_without_pytest_benchmark_the_methods_section_says_so(tmp_path, conformance_json):
    folder = write_results(tmp_path, conformance_json, load=False, compat=False, hist=False)
    summary = json.loads((folder / "summary.json").read_text())
    del summary["micro"]["pytest_benchmark"]
    summary["stages"]["pytest-benchmark"] = {"status": "failed", "seconds": 2.0, "detail": "exit code 1"}
    write_json(folder / "summary.json", summary)
    methods = section(render(folder)["markdown"].read_text(), "4. Methods side by side")
    assert "pytest-benchmark itself: The pytest-benchmark stage failed in this run: failed (exit code 1)." in methods
    assert "SEQUENTIAL-WHAT" in methods and "pytest-benchmark, last run" not in methods


def test_the_command_honours_FLASK_IDIOMS_OUT(tmp_path, conformance_json):
    folder = write_results(tmp_path / "out", conformance_json, micro=False, load=False, compat=False)
    done = subprocess.run([sys.executable, "-m", "reports.render"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "FLASK_IDIOMS_OUT": str(folder)})
    assert done.returncode == 0, done.stderr
    assert (folder / "REPORT.md").exists() and (folder / "report.html").exists()
    assert str(folder / "REPORT.md") in done.stdout


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


def test_publish_copies_a_full_run_and_trims_a_large_micro_json(tmp_path, conformance_json, monkeypatch):
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
    (folder / "pytest_benchmark.json").write_text(json.dumps({"benchmarks": [0] * 60_000}))
    publish_module.publish(folder, target)
    assert not (target / "pytest_benchmark.json").exists()
    assert "| `pytest_benchmark.json` |  | not published: 0.2 MB, over 0.1 MB |" in (target / "REPORT.md").read_text()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="not a published report"):
        publish_module.publish(folder, tmp_path / "other")


def test_load_json_is_read_when_the_summary_has_no_load(tmp_path, conformance_json):
    """load.json in the load stage's own shape (shapes.<shape>.targets) stands in for the summary's copy."""
    folder = write_results(tmp_path, conformance_json, load=False, compat=False)
    parts = load_summary()
    targets = {n: {k: v for k, v in e["load"].items() if k != "by_shape"} for n, e in parts["variants"].items()}
    targets["floor"] = parts["baselines"]["floor"]["load"]
    shape = parts["load_run"]["shapes"]["paced"] | {"status": "ok", "targets": targets,
                                                    "calibration": parts["calibration"]["load"]}
    write_json(folder / "load.json", {"status": "ok", "mode": "full", "layout": "interleaved", "date": STARTED,
                                      "shapes": {"paced": shape}, "warnings": [], "locust": {}, "gunicorn": {}})
    md = render(folder)["markdown"].read_text()
    load = section(md, "5. Load over HTTP")
    assert "Source: `load.json`" in load and "1,234.5" in load and "**Missing:**" not in load


@pytest.mark.parametrize("aa_pct, shows", [(0.29, True), (20.0, False)])
def test_http_differences_smaller_than_the_aa_check_are_not_claimed(tmp_path, conformance_json, aa_pct, shows):
    folder = write_results(tmp_path, conformance_json)
    summary = json.loads((folder / "summary.json").read_text())
    summary["calibration"]["load"]["aa"]["pct"] = aa_pct
    write_json(folder / "summary.json", summary)
    verdict = section(render(folder)["markdown"].read_text(), "1. Verdict")
    assert ("a difference that shows through the server's noise" in verdict) is shows
    assert ("closer than the A/A check" in verdict) is not shows
    assert f"differed by {aa_pct:.2f}% (A/A check)" in verdict
