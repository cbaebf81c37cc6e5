"""``python -m bench.pytest_benchmark_run``: pytest-benchmark's own JSON kept, its medians turned into ratios to the floor."""
import os
import subprocess
import sys

from harness.results import ROOT, read_json
from variants.contract import SCENARIOS


def test_pytest_benchmark_run_keeps_its_json_and_appends_ratios_to_its_history(tmp_path):
    env = {**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "QUICK": "1", "VARIANTS": "jsonify_tuple,dict_return"}
    # two runs at once: each appends its record to the one history file (under its lock) and replaces the JSON
    runs = [subprocess.Popen([sys.executable, "-m", "bench.pytest_benchmark_run"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=180)
        assert run.returncode == 0, err
    raw = read_json(tmp_path / "pytest_benchmark.json")
    assert any(b["params"].get("variant") == "dict_return" for b in raw["benchmarks"])
    assert not any(b["params"].get("variant") == "plain_string" for b in raw["benchmarks"])  # VARIANTS honoured
    runs = read_json(tmp_path / "pytest_benchmark_history.json")["runs"]
    assert len(runs) == 2
    plain = runs[-1]  # this run's record: the one copy of its figures
    summary = read_json(tmp_path / "summary.json")
    assert "micro" not in summary and summary["stages"]["pytest-benchmark"]["file"] == "pytest_benchmark.json"
    assert plain["variants"]["werkzeug_response"]["ratio_to_floor"] == 1.0
    assert plain["floor_ns"] == plain["variants"]["werkzeug_response"]["mix_ns"] > 0
    assert plain["floor_iterations_per_round"] >= 1
    for name in ("jsonify_tuple", "dict_return"):
        v = plain["variants"][name]
        assert set(v["construct_ns"]) == set(SCENARIOS)
        assert v["ratio_to_floor"] > 1 and v["min_ratio_to_floor"] > 1
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp") or p.startswith(".pytest_benchmark.")]


def test_pytest_benchmark_run_rejects_unknown_variants(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.pytest_benchmark_run"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "VARIANTS": "nope"})
    assert done.returncode == 2 and done.stderr.startswith("error: unknown variant") and "Traceback" not in done.stderr
