"""make compare: a run against itself is no change; a planted slowdown is named and fails the command; the
threshold comes from the history's spread; across machines idioms are compared relative to jsonify_tuple;
instruction counts exactly; the report's comparison section."""
import json
import math
import shutil
import subprocess
import sys

import pytest

from harness.results import ROOT, merge_summary, write_json
from reports import compare as compare_module
from reports.context import Context
from reports.data import Results
from reports.document import to_markdown
from reports.sections import SECTIONS, comparison
from tests.test_report import ORDER, edit_json, write_results


@pytest.fixture
def base(tmp_path):
    """A full run's results folder (micro.json, load.json, counts.json, a history of two runs)."""
    return write_results(tmp_path / "base", {}, compat=False)


@pytest.fixture
def new(tmp_path, base):
    """A copy of the base run, to be changed by the test."""
    return shutil.copytree(base, tmp_path / "new")


def run(base, new, *args):
    return subprocess.run([sys.executable, "-m", "reports.compare", "--base", str(base), "--results", str(new), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def slow_down(folder, idiom, factor, statuses=("unauthorized",), mix=True):
    """Plant a slowdown in one idiom's construction figures (estimate and interval)."""
    def change(data):
        entry = data["results"]["variants"][idiom]
        targets = [entry["scenarios"][s] for s in statuses] + ([entry] if mix else [])
        for target in targets:
            est = target["ratio_to_floor"]
            est["estimate"] *= factor
            est["ci95"] = [x * factor for x in est["ci95"]]

    edit_json(folder / "micro.json", change)


def test_a_run_against_itself_is_no_change_for_every_idiom(base, new):
    done = run(base, new)
    assert done.returncode == 0, done.stderr
    for name in ORDER:
        assert f"  {name}: no change\n" in done.stdout
    assert "no idiom is slower beyond the threshold" in done.stdout
    assert "same machine" in done.stdout and "CROSS-MACHINE" not in done.stdout
    assert "+=====" in done.stdout and "| unauthorized (401)" in done.stdout  # pyperf-style table, per status class
    result = json.loads((new / "compare.json").read_text())
    assert result["schema"] == compare_module.SCHEMA and result["regressions"] == []
    assert {r["measure"] for r in result["rows"]} == {"construction", "http", "instructions"}
    assert all(r["verdict"] == "same" and r["change_pct"] == 0 for r in result["rows"])
    assert json.loads((new / "summary.json").read_text())["stages"]["compare"]["file"] == "compare.json"


def test_a_planted_slowdown_in_one_idiom_is_named_and_fails_the_command(base, new):
    slow_down(new, "make_response", 1.10)
    done = run(base, new)
    assert done.returncode == 1, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("  make_response: "))
    assert line.startswith("  make_response: slower: construction, all (mix): +10.0% (threshold ±3.00%")
    assert "; construction, unauthorized (401): +10.0%" in line and "success" not in line
    assert "1.10x slower (+10.0%)" in done.stdout
    assert "\n1 idiom(s) slower beyond the threshold: make_response\n" in done.stdout
    for name in ORDER:
        if name != "make_response":
            assert f"  {name}: no change\n" in done.stdout
    result = json.loads((new / "compare.json").read_text())
    assert result["regressions"] == ["make_response"]
    slower = [r for r in result["rows"] if r["verdict"] == "slower"]
    assert {(r["idiom"], r["status"]) for r in slower} == {("make_response", "unauthorized"), ("make_response", "all")}


def test_a_change_within_the_threshold_is_the_same_and_a_faster_one_does_not_fail(base, new):
    slow_down(new, "make_response", 1.02)  # below the default ±3% (the history has 2 runs)
    slow_down(new, "dict_return", 0.8)
    done = run(base, new)
    assert done.returncode == 0, done.stdout
    assert "  make_response: no change" in done.stdout
    assert "  dict_return: faster: construction, all (mix): -20.0%" in done.stdout
    assert "the default ±3%: fewer than 3 earlier full runs in micro_history.json (2)" in done.stdout


def test_the_threshold_is_the_run_to_run_spread_of_the_history():
    """Three runs whose log ratios spread by a known standard deviation: K x sqrt(2) x s."""
    s = 0.002
    runs = [{"started": f"t{k}", "seed": k, "mode": "full",
             "interleaved_ratio": {"a": 10 * math.exp(s * d), "b": 20 * math.exp(-s * d), "werkzeug_response": 1.0}}
            for k, d in enumerate((-1, 0, 1))]
    threshold = compare_module.micro_threshold(runs, {"full"}, relative=False)
    assert threshold["runs"] == 3
    assert threshold["pct"] == pytest.approx(100 * math.expm1(3 * math.sqrt(2) * s), abs=1e-3)
    assert "across 3 earlier full runs" in threshold["how"]
    assert compare_module.micro_threshold(runs[:2], {"full"}, relative=False)["pct"] == compare_module.DEFAULT_PCT
    quick = [dict(r, mode="quick", started=f"q{i}") for i, r in enumerate(runs)]
    wider = [dict(r, interleaved_ratio={k: v ** 1.5 for k, v in r["interleaved_ratio"].items()}) for r in quick]
    assert compare_module.micro_threshold(runs + wider, {"full", "quick"}, relative=False)["pct"] > threshold["pct"]


def test_across_machines_idioms_are_compared_relative_to_jsonify_tuple(base, new):
    """Another CPU with a floor 1.5x as expensive relative to everything: every ratio to the floor moves, no
    idiom moves against jsonify_tuple, so nothing changed; then one idiom gets dearer against jsonify_tuple."""
    def other_machine(data):
        data["environment"]["cpu_model"] = "Other CPU 1"
        for entry in data["results"]["variants"].values():
            for target in [entry] + list(entry["scenarios"].values()):
                target["ratio_to_floor"]["estimate"] /= 1.5
                target["ratio_to_floor"]["ci95"] = [x / 1.5 for x in target["ratio_to_floor"]["ci95"]]

    edit_json(new / "micro.json", other_machine)
    edit_json(new / "load.json", lambda d: d["environment"].update(cpu_model="Other CPU 1"))
    done = run(base, new)
    assert done.returncode == 0, done.stdout
    assert "CROSS-MACHINE" in done.stdout and "CPU: Test CPU 9000 -> Other CPU 1" in done.stdout
    assert "  jsonify_tuple: no change" in done.stdout and "| jsonify_tuple " in done.stdout
    for name in ORDER:
        assert f"  {name}: no change\n" in done.stdout
    rows = json.loads((new / "compare.json").read_text())["rows"]
    assert {r["verdict"] for r in rows if r["idiom"] == "jsonify_tuple" and r["measure"] != "instructions"} == {"reference"}
    slow_down(new, "api_exception", 1.2, statuses=("success", "created", "unauthorized"))
    done = run(base, new)
    assert done.returncode == 1 and "  api_exception: slower: construction, all (mix): +20.0%" in done.stdout


def counts(values: dict) -> dict:
    """counts.json as bench.counts writes it: per idiom and status class the instructions per request."""
    return {"schema": "flask-json-idioms/counts/1", "mode": "full", "status": "ok",
            "variants": {n: {c: {"instructions": v, "delta_pct": 0.0, "seed_spread_pct": None} for c, v in classes.items()}
                         for n, classes in values.items()}}


def test_instruction_counts_are_compared_exactly_when_both_runs_have_them(base, new):
    values = {n: {"success": 100_000 + i, "unauthorized": 150_000 + i, "admin": 90_000} for i, n in enumerate(ORDER)}
    write_json(base / "counts.json", counts(values))
    values["orjson_response"]["success"] += 1
    write_json(new / "counts.json", counts(values))
    done = run(base, new)
    assert done.returncode == 1
    assert "Instructions (counts.json)" in done.stdout and "100,008" in done.stdout and "| admin (200)" in done.stdout
    assert "  orjson_response: slower: instructions, success (200): +0.0%" in done.stdout
    (base / "counts.json").unlink()
    done = run(base, new)
    assert done.returncode == 0 and "Instructions" not in done.stdout  # one run without counts: not compared


def test_bad_input_is_one_line_and_exit_2(tmp_path, base):
    done = run(tmp_path / "missing", base)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no such folder" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run(empty, base)
    assert done.returncode == 2 and "nothing to compare" in done.stderr and "Traceback" not in done.stderr


def comparison_section(folder) -> str:
    """The report's comparison section alone, as Markdown (the whole report is rendered in test_report.py)."""
    return to_markdown(comparison.build(Context(Results(folder), folder, SECTIONS)))


def test_the_report_shows_the_comparison_of_this_run_only(base, new):
    slow_down(new, "make_response", 1.10)
    text = comparison_section(new)
    assert "No comparison with another run" in text and "make compare BASE=" in text
    assert run(base, new).returncode == 1
    text = comparison_section(new)
    assert "| `make_response` | 89.85 | 98.84 | 1.10x slower (+10.0%) | same (+0.0%) | same (+0.0%) | 1.10x slower (+10.0%) |" in text
    assert "- `make_response`: **slower**: construction, all (mix): +10.0%" in text
    assert "- `jsonify_tuple`: no change" in text and "**Regression:** slower beyond the threshold: `make_response`" in text
    assert "Same machine and Python" in text and "Threshold ±3.00%" in text
    merge_summary({"run": {"started": "2026-12-01T00:00:00+00:00"}}, out=new)  # a later make bench run
    text = comparison_section(new)
    assert "compares an earlier run" in text and "make_response" not in text
