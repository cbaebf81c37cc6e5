"""The interleaved estimator: its figures on synthetic data, its subjects, a tiny run, bad options.

The statistics themselves (intervals, Holm, pairwise) are tested in tests/test_stats.py."""
import random
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from bench import analysis, micro, subjects as subjects_module, timing
from bench.subjects import (BASELINE_APP, CALIBRATION_APP, FLOOR, PLANTED, PLANTED_REFERENCE, SCENARIOS, Subject,
                            baseline_subject, calibration_subjects, create_apps, subjects)
from harness import stats
from harness.schemas import micro as schemas
from harness import measure
from harness.measure import busy_wait
from harness.results import ROOT, read_json
from variants import REGISTRY


def test_summarise_uses_the_process_as_the_unit_and_trims_an_odd_one():
    rng = np.random.default_rng(3)
    per_worker = [rng.normal(10, 0.1, 100) * bias for bias in (1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 3.0)]
    found = analysis.summarise(per_worker)
    assert 9.8 < found["estimate"] < 10.2  # the 3x process does not drag the estimate
    lo, hi = found["ci95"]
    assert lo < found["estimate"] < hi and hi - lo > 0.05  # wider than the rounds alone would say
    assert found["per_worker"] == [round(float(np.median(x)), 4) for x in per_worker]
    assert found["ci_half_width_pct"] == pytest.approx(100 * (hi - lo) / 2 / found["estimate"], abs=1e-2)
    one = analysis.summarise(per_worker[:1])
    assert one["ci95"] == pytest.approx(stats.median_ci_exact(per_worker[0]), abs=1e-3)


def synthetic_kind(kind: str, cost: dict, workers=5, rounds=40, seed=4):
    """Per-round times of every subject of ``kind`` in ``workers`` processes: ``cost[key]`` ns, times a
    speed drift shared by the round, with a little noise."""
    rng = np.random.default_rng(seed)
    keys = list(cost)
    per_worker = []
    for _ in range(workers):
        drift = rng.uniform(1, 3, rounds)[:, None]
        per_worker.append(drift * np.array([cost[k] for k in keys]) * rng.lognormal(0, 0.002, (rounds, len(keys))))
    return keys, per_worker


def test_the_figures_are_ratios_to_the_floor_over_the_mix_and_the_planted_cost_is_recovered():
    """Drift cancels in the ratios; a variant's figure is the mean over its scenarios; ranks follow the ratios."""
    names = ["dear", "cheap"]
    found = {}
    for kind in ("construct", "dispatch"):
        cost = {f"{kind}/{sc}/{name}": base * (i + 1) for name, base in (("dear", 500), ("cheap", 100))
                for i, sc in enumerate(SCENARIOS)}
        cost.update({f"{kind}/success/raw_wsgi": 20, f"{kind}/success/{FLOOR}": 100})
        if kind == "construct":
            cost.update({f"construct/success/{PLANTED}": 2100, f"construct/success/{PLANTED_REFERENCE}": 100})
        found[kind] = analysis.analyse(kind, *synthetic_kind(kind, cost), names)
    construct = found["construct"]
    mean_multiple = np.mean(np.arange(1, len(SCENARIOS) + 1))  # the classes cost 1x, 2x, 3x... the base
    assert construct["names"]["cheap"]["ratio_to_floor"]["estimate"] == pytest.approx(mean_multiple, rel=0.01)
    assert construct["subjects"]["construct/unauthorized/dear"]["ratio_to_floor"]["estimate"] == pytest.approx(15, rel=0.01)
    assert construct["names"]["cheap"]["ratio_to_floor"]["ci_half_width_pct"] < 1  # the drift is gone from the ratio
    variants, baselines = analysis.by_name(construct, found["dispatch"], names)
    assert [variants[n]["rank"] for n in ("cheap", "dear")] == [1, 2]
    assert set(variants["dear"]["scenarios"]) == set(SCENARIOS) and set(baselines[FLOOR]["scenarios"]) == {"success"}
    assert baselines["raw_wsgi"]["ratio_to_floor"]["estimate"] == pytest.approx(0.2, rel=0.01)
    calibration = analysis.calibration(construct, 20)
    assert calibration["measured_ns"] == pytest.approx(2000 * 2, rel=0.3)  # the wait, drift included
    assert calibration["ci95"][0] < calibration["measured_ns"] < calibration["ci95"][1]
    (row,) = construct["pairwise"]["all"]
    assert (row["a"], row["b"]) == ("cheap", "dear") and row["ratio"] == pytest.approx(5, rel=0.01)
    assert set(construct["pairwise"]) == {"all", *SCENARIOS}
    drift = analysis.drift(construct)
    assert 100 <= drift["floor_ns_min"] < drift["floor_ns_max"] <= 310 and drift["max_over_min"] > 1.5


def test_a_sequential_pass_is_ratios_of_medians_over_the_mix():
    ns = {f"construct/{sc}/a": 100.0 * (i + 2) for i, sc in enumerate(SCENARIOS)}  # 200, 300, 400...
    ns.update({f"construct/success/{FLOOR}": 100.0, "construct/success/raw_wsgi": 20.0})
    assert analysis.mix_ratios(ns, ["a"]) == {"a": (len(SCENARIOS) + 3) / 2, "raw_wsgi": 0.2, FLOOR: 1.0}


def test_busy_wait_lasts_at_least_its_time():
    start = time.perf_counter_ns()
    busy_wait(200_000)
    assert time.perf_counter_ns() - start >= 200_000


def test_every_subject_answers_its_scenario():
    for kind in ("construct", "dispatch"):
        found = subjects(kind)
        assert len(found) == len(REGISTRY) * len(SCENARIOS) + 2 + (3 if kind == "construct" else 0)
        for subject in found:
            with subject.entered():
                subject.check(subject.call())


def test_check_fails_on_a_wrong_answer():
    wrong = Subject("x", "construct", "created", "variant", lambda: None, lambda r: (200, b'{"success": true}'))
    with pytest.raises(AssertionError, match="status 200, expected 201"):
        wrong.check(None)


def test_planted_pair_differs_by_the_wait_alone(monkeypatch):
    """The pair runs the same construct; only the planted one busy-waits, for exactly its planted time."""
    waits = []
    monkeypatch.setattr(measure, "busy_wait", lambda ns: waits.append(ns))
    planted, reference, aa = calibration_subjects(planted_ns=300_000)
    assert (planted.name, reference.name, aa.name) == (PLANTED, PLANTED_REFERENCE, "aa")
    answers = {}
    for subject in (planted, reference, aa):
        with subject.entered():
            waits.clear()
            answers[subject.name] = subject.check(subject.call())
            assert waits == {PLANTED: [300_000], PLANTED_REFERENCE: [0], "aa": []}[subject.name]
    assert answers[PLANTED] == answers[PLANTED_REFERENCE] == answers["aa"]


def test_floor_is_a_prebuilt_response():
    subject = baseline_subject(FLOOR, "construct")
    with subject.entered():
        assert subject.call() is subject.call()


TINY = replace(micro.QUICK, mode="test", construct_s=0.05, dispatch_s=0.05, block_us=20, k=1, dispatch_k=1,
               sequential_s=0.0, min_rounds=12, workers=2)


def test_a_tiny_run_writes_one_copy_of_its_results(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(micro, "OUT", tmp_path)
    monkeypatch.setattr(micro, "QUICK", TINY)
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("VARIANTS", "jsonify_tuple,abort_response")
    monkeypatch.setenv("MICRO_SEED", "7")
    assert micro.main() == 0
    raw = read_json(tmp_path / "micro.json")
    assert raw["schema"] == micro.SCHEMA and raw["seed"] == 7
    assert set(raw) == schemas.MicroResult.__required_keys__
    assert set(raw["results"]) == set(schemas.MicroResults.__annotations__)
    assert len(raw["config"]["rounds"]["construct"]) == 2 and min(raw["config"]["rounds"]["construct"]) >= 12
    assert [len(w) for w in raw["rounds"]["construct"]["per_call_ns"]["construct/unauthorized/abort_response"]] == raw["config"]["rounds"]["construct"]
    results = raw["results"]
    assert {r["a"] for r in results["pairwise"]["construct"]["all"]} | {r["b"] for r in results["pairwise"]["construct"]["all"]} == {"jsonify_tuple", "abort_response"}
    assert set(results["pairwise"]["construct"]["all"][0]) == set(schemas.MicroPair.__annotations__)
    for entry in [*results["variants"].values(), *results["baselines"].values()]:  # two workers: t(1), wide
        for key in ("construct_ns", "dispatch_ns"):
            lo, hi = entry[key]["ci95"]
            assert lo <= entry[key]["median"] <= hi and entry[key]["median"] > 0
        lo, hi = entry["ratio_to_floor"]["ci95"]
        assert lo <= entry["ratio_to_floor"]["estimate"] <= hi and entry["ratio_to_floor"]["estimate"] > 0
    assert sorted(v["rank"] for v in results["variants"].values()) == [1, 2]
    assert results["baselines"][FLOOR]["ratio_to_floor"]["estimate"] == 1.0
    assert raw["environment"]["mode"] == "test" and "steal_fraction" in raw["environment"]["cpu"]

    # summary.json: the stage and the headline figures, no second copy of the results
    summary = read_json(tmp_path / "summary.json")
    assert summary["stages"]["micro"]["file"] == "micro.json" and summary["stages"]["micro"]["schema"] == micro.SCHEMA
    assert set(summary) == {"stages", "variants", "calibration"}
    assert set(summary["variants"]) == {"jsonify_tuple", "abort_response"}
    for name, v in summary["variants"].items():
        assert v["micro"] == {"ratio_to_floor": results["variants"][name]["ratio_to_floor"],
                              "rank": results["variants"][name]["rank"]}
    assert set(summary["calibration"]["micro"]) == {"planted_ns", "measured_ns", "ci95", "error_pct", "aa"}
    aa = summary["calibration"]["micro"]["aa"]  # jsonify_tuple was timed, so its A/A pair was
    assert aa["ci95"][0] <= aa["delta_ns"] <= aa["ci95"][1]
    assert summary["calibration"]["micro"]["planted_ns"] == 2000

    (record,) = read_json(tmp_path / "micro_history.json")["runs"]
    assert record["seed"] == 7 and set(record) == set(schemas.MicroHistoryRecord.__annotations__)

    # the workers print nothing; the parent a header, its progress and a short summary
    captured = capfd.readouterr()
    assert "worker 2/2" not in captured.out and "Traceback" not in captured.err
    assert len(captured.out.splitlines()) <= 12, captured.out
    assert "calibration: planted 2000 ns" in captured.out and "widest CI95" in captured.out
    assert "cheapest: " in captured.out and "dearest: " in captured.out


def test_apps_are_created_in_a_random_order(monkeypatch):
    """Each worker builds its apps in an order drawn from its seed: different seeds, different orders."""
    orders = []
    for seed in range(6):
        made = []
        monkeypatch.setattr(subjects_module, "_APPS", {})
        monkeypatch.setattr(subjects_module, "_maker", lambda name, made=made: lambda: made.append(name) or name)
        create_apps(["jsonify_tuple", "abort_response", "make_response"], random.Random(seed))
        assert sorted(made) == sorted(["jsonify_tuple", "abort_response", "make_response", BASELINE_APP, CALIBRATION_APP])
        assert subjects_module._APPS == {name: name for name in made}
        orders.append(tuple(made))
    assert len(set(orders)) > 1


@pytest.mark.parametrize("env, message", [({"QUICK": "maybe"}, "QUICK='maybe'"),
                                          ({"VARIANTS": "nope"}, "unknown variant(s): nope"),
                                          ({"MICRO_SEED": "x"}, "MICRO_SEED='x'")])
def test_bad_options_are_one_line_and_exit_2(tmp_path, env, message):
    done = subprocess.run([sys.executable, "-m", "bench.micro"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "FLASK_IDIOMS_OUT": str(tmp_path), **env})
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "micro.json").exists()


@pytest.mark.parametrize("env, message", [({"RUNS": "1"}, "at least 2 runs"), ({"RUNS": "x"}, "RUNS='x'"),
                                          ({"QUICK": "maybe"}, "QUICK='maybe'")])
def test_stability_bad_options(tmp_path, env, message):
    done = subprocess.run([sys.executable, "-m", "bench.stability"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "FLASK_IDIOMS_OUT": str(tmp_path), **env})
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr and "Traceback" not in done.stderr
