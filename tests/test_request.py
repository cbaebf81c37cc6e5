"""The whole-request stage: its statistics on synthetic workers with known answers, what one real worker
records (the young-generation counts are exact, not timings), a tiny end-to-end run, bad options."""
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from bench import request, request_analysis as analysis, request_worker as worker
from bench.young import YOUNG_RECHECKED, shared_young, young_check
from harness.results import ROOT, read_json
from harness.schemas import request as schemas
from bench.subjects import dispatch_call, prepared_environ
from variants.contract import ERROR_SCENARIOS, SCENARIOS

CLASSES = list(worker.CLASSES)
CALIBRATION = {"class": "success", "planted": worker.PLANTED, "planted_reference": worker.PLANTED_REFERENCE,
               "planted_alloc": worker.PLANTED_ALLOC, "planted_ns": 1000, "within_pct": 20}


def synthetic_workers(cost: dict, young: dict, workers=8, rounds=60, gc_ns_per_count=100.0, noise=0.002, seed=5,
                      process_bias=0.0, fixed=None, levels=None):
    """Worker results shaped like ``request_worker.measure``'s: ``cost[(name, cls)]`` ns of a request's own
    time, times a drift shared by the round (the CPU's speed), plus ``fixed[(name, cls)]`` ns that do not
    drift (a busy-wait is wall time); ``young[(name, cls)]`` its young-generation count, and collections
    that took ``gc_ns_per_count`` per unit of count. ``levels``: per worker, a speed for all of its life that
    multiplies its times and its collections."""
    fixed = fixed or {}
    rng = np.random.default_rng(seed)
    keys = list(cost)
    found = []
    for index in range(workers):
        level = 1.0 if levels is None else levels[index]
        drift = level * rng.uniform(1, 2.5, rounds)[:, None]
        bias = 1 + process_bias * rng.normal(size=len(keys))  # a process's layout moves each app a little
        times = drift * np.array([cost[k] for k in keys]) * bias * rng.lognormal(0, noise, (rounds, len(keys)))
        times += np.array([fixed.get(k, 0.0) for k in keys])
        requests = np.full(len(keys), 10 * rounds)
        counts = np.array([young.get(k, 8.0) for k in keys])
        found.append({"index": index, "keys": [list(k) for k in keys], "per_call_ns": times.tolist(),
                      "young_count_per_call": counts.tolist(), "requests": requests.tolist(),
                      "gc_ns_total": (counts * requests * gc_ns_per_count * level).tolist(),
                      "collections": [[1, 0, 0]] * len(keys), "alloc_expected_ns": 600.0, "rounds": rounds})
    return found


def costs(extra: dict) -> dict:
    names = ["jsonify_tuple", worker.AA, "dear", "cheap", "same"]
    found = {(n, c): 100_000.0 for n in names for c in CLASSES}
    found.update({(name, "success"): 100_000.0 for name in (worker.PLANTED, worker.PLANTED_REFERENCE, worker.PLANTED_ALLOC)})
    found.update(extra)
    return found


def test_planted_differences_are_recovered_with_their_verdicts():
    cost = costs({("dear", "unauthorized"): 105_000.0, ("cheap", "success"): 98_000.0})
    young = {(worker.PLANTED_ALLOC, "success"): 28.0}  # 20 more than the rest: 20 x 100 ns of collections
    fixed = {(worker.PLANTED, "success"): 1000.0, (worker.PLANTED_ALLOC, "success"): 600.0}
    found = analysis.analyse(synthetic_workers(cost, young, fixed=fixed), ["jsonify_tuple", "dear", "cheap", "same"],
                             CLASSES, "jsonify_tuple", worker.AA, CALIBRATION)
    # the differences are in µs at the speed the workers ran: 5% and -2% of the reference's own time
    own = {cls: found["reference_us"][cls]["estimate"] - 0.8 for cls in CLASSES}  # less 8 counts x 100 ns
    dear = found["variants"]["dear"]["unauthorized"]["delta_us"]
    assert dear["verdict"] == "dearer" and dear["estimate"] == pytest.approx(0.05 * own["unauthorized"], rel=0.02)
    cheap = found["variants"]["cheap"]["success"]["delta_us"]
    assert cheap["verdict"] == "cheaper" and cheap["estimate"] == pytest.approx(-0.02 * own["success"], rel=0.02)
    assert found["variants"]["cheap"]["success"]["delta_pct"]["estimate"] == pytest.approx(
        -2.0 * own["success"] / found["reference_us"]["success"]["estimate"], rel=0.02)
    for cls in CLASSES:  # the drift (1-2.5x between rounds) cancels: equal apps are equivalent within 1%
        assert found["variants"]["same"][cls]["delta_us"]["verdict"] == "equivalent"
        assert found["variants"]["jsonify_tuple"][cls]["delta_us"]["verdict"] == "reference"
        assert found["margin_us"][cls] == pytest.approx(0.01 * found["reference_us"][cls]["estimate"], rel=1e-3)
    cal = found["calibration"]
    assert cal["measured_ns"] == pytest.approx(1000, rel=0.1) and abs(cal["error_pct"]) < 10
    assert cal["aa"]["verdict"] == "equivalent" and cal["aa"]["ci95"][0] <= 0 <= cal["aa"]["ci95"][1]
    # the allocating subject: its own 600 ns plus 20 counts x 100 ns of collections, both expected and measured
    assert cal["alloc"]["expected_ns"] == pytest.approx(2600, rel=0.01)
    assert cal["alloc"]["measured_ns"] == pytest.approx(2600, rel=0.05)


def test_a_worker_that_ran_slower_throughout_gives_the_others_differences():
    """Eight workers at 0.7x to 1.4x the typical speed for their whole life: every difference comes back as at the
    run's typical speed, with the interval of workers that all ran alike. Each worker's own µs would make the
    5% on the 401 (5 µs) 3.5 to 7 µs from worker to worker."""
    cost = costs({("dear", "unauthorized"): 105_000.0, ("cheap", "success"): 98_000.0})
    young = {("dear", "unauthorized"): 28.0}
    levels = [0.7, 1.0, 1.4, 0.85, 1.15, 1.0, 1.25, 0.8]
    names = ["jsonify_tuple", "dear", "cheap", "same"]
    steady = analysis.analyse(synthetic_workers(cost, young), names, CLASSES, "jsonify_tuple", worker.AA, CALIBRATION)
    moved = analysis.analyse(synthetic_workers(cost, young, levels=levels), names, CLASSES, "jsonify_tuple", worker.AA,
                             CALIBRATION)
    for name, cls in (("dear", "unauthorized"), ("cheap", "success"), ("same", "admin")):
        a, b = steady["variants"][name][cls]["delta_us"], moved["variants"][name][cls]["delta_us"]
        assert b["estimate"] == pytest.approx(a["estimate"], rel=0.05, abs=0.05) and b["verdict"] == a["verdict"]
        assert np.diff(b["ci95"])[0] == pytest.approx(np.diff(a["ci95"])[0], rel=0.5, abs=0.05), (name, cls)
    assert np.diff(moved["variants"]["dear"]["unauthorized"]["delta_us"]["ci95"])[0] < 0.5
    # the levels found span the planted ones (the steady workers' own differ by their rounds' drift, 1-2.5x)
    assert moved["speed_levels"]["p5"] < 0.8 and moved["speed_levels"]["p95"] > 1.2
    assert steady["speed_levels"]["p5"] > 0.9 and steady["speed_levels"]["p95"] < 1.1


def test_collections_are_charged_by_the_count_a_request_adds():
    """Same own time, but 50 more objects for the collector per request: dearer by 50 x the time per count."""
    cost = costs({})
    young = {("dear", cls): 58.0 for cls in CLASSES}
    found = analysis.analyse(synthetic_workers(cost, young, gc_ns_per_count=80.0), ["jsonify_tuple", "dear"], CLASSES,
                             "jsonify_tuple", worker.AA, CALIBRATION)
    for cls in CLASSES:
        assert found["variants"]["dear"][cls]["delta_us"]["estimate"] == pytest.approx(50 * 80 / 1e3, rel=0.05)
        assert found["gc_per_1000"]["dear"][cls]["young_count"] == 58.0


def test_the_round_noise_is_the_spread_of_a_subjects_per_round_ratio_to_the_reference():
    """Lognormal noise of sigma 0.05 on every sample: the log of a ratio of two samples has sigma 0.05 x sqrt(2),
    and the drift shared by the round (1-2.5x) cancels."""
    workers = synthetic_workers(costs({}), {}, workers=4, rounds=400, noise=0.05)
    found = analysis.round_noise_pct(workers, ["jsonify_tuple", "same", worker.AA], CLASSES, "jsonify_tuple")
    assert found == pytest.approx(100 * 0.05 * 2 ** 0.5, rel=0.1)
    quiet = synthetic_workers(costs({}), {}, workers=4, rounds=400, noise=0.005)
    assert analysis.round_noise_pct(quiet, ["same"], CLASSES, "jsonify_tuple") < found / 5


def test_the_time_a_target_needs_grows_with_the_square_of_the_precision():
    assert request.timed_seconds_needed(90, half_width=2.0, target=0.5) == 90 * 16
    assert request.timed_seconds_needed(90, half_width=0.25, target=0.5) == pytest.approx(22.5, abs=0.5)


def test_no_difference_inside_the_aa_interval_is_claimed():
    found = analysis.judged([1.0, 1.1, 0.9, 1.05, 0.95, 1.0], margin_us=0.5, resolution_us=2.0)
    assert found["verdict"] == "unresolved"  # clearly above 0, but inside what the A/A pair can tell apart
    assert analysis.judged([1.0, 1.1, 0.9, 1.05, 0.95, 1.0], margin_us=0.5, resolution_us=0.3)["verdict"] == "dearer"
    assert analysis.judged([0.01, -0.02, 0.0, 0.02, -0.01, 0.0], margin_us=0.5, resolution_us=0.3)["verdict"] == "equivalent"


def test_equal_apps_are_rarely_called_different():
    """Simulated A/A over many runs (process-level bias, as real layouts give): the 95% interval of a
    difference between identical apps leaves out 0 in about 5% of runs, not more."""
    cost = costs({})
    called = 0
    runs = 200
    for seed in range(runs):
        found = analysis.analyse(synthetic_workers(cost, {}, workers=6, rounds=20, seed=seed, process_bias=0.01),
                                 ["jsonify_tuple", "same"], ["success"], "jsonify_tuple", worker.AA, CALIBRATION)
        lo, hi = found["variants"]["same"]["success"]["delta_us"]["ci95"]
        called += not lo <= 0 <= hi
    assert called / runs < 0.1


def test_one_real_worker_records_exact_counts_and_every_subject():
    """A short real worker: every subject answers its class; the counts a request adds to the young
    generation are exact and show abort_response's 401 leaving cyclic garbage that jsonify_tuple does not."""
    job = {"names": ["jsonify_tuple", "abort_response"], "index": 0, "seed": 3, "gc": "on", "seconds": 0.05,
           "calls_per_block": 1, "k": 1, "min_rounds": 3, "planted_ns": 1000, "young_passes": 2}
    found = worker.measure(job)
    keys = [tuple(k) for k in found["keys"]]
    assert set(keys) >= {(n, c) for n in ("jsonify_tuple", "abort_response", worker.AA) for c in CLASSES}
    assert found["rounds"] >= 3 and np.shape(found["per_call_ns"]) == (found["rounds"], len(keys))
    young = dict(zip(keys, found["young_count_per_call"]))
    assert young[("abort_response", "unauthorized")] > young[("jsonify_tuple", "unauthorized")] + 20
    added = young[(worker.PLANTED_ALLOC, "success")] - young[(worker.PLANTED_REFERENCE, "success")]
    assert worker.ALLOC_OBJECTS - 2 <= added <= worker.ALLOC_OBJECTS + 1
    # the same code counts the same, each subject counted after a young collection (it once did not: the planted
    # pair 2.75 apart in every worker of a full run)
    assert all(young[(worker.AA, c)] == young[("jsonify_tuple", c)] for c in CLASSES)
    assert young[(worker.PLANTED, "success")] == young[(worker.PLANTED_REFERENCE, "success")]
    assert np.shape(found["young_count_passes"]) == (2, len(keys))
    assert np.ptp(found["young_count_passes"], axis=0).max() == 0  # and the same in every pass (so one is kept)


def test_a_worker_given_the_first_ones_counts_uses_them_and_counts_some_again():
    """Counts are a property of the code (identical in all 40 workers of a full run), so the later workers are given
    the first one's; each counts ``YOUNG_RECHECKED`` subjects of its choosing again, with the same procedure."""
    job = {"names": ["jsonify_tuple", "abort_response"], "index": 0, "seed": 3, "gc": "on", "seconds": 0.05,
           "calls_per_block": 1, "k": 1, "min_rounds": 3, "planted_ns": 1000}
    first = worker.measure(job)
    shared = [x + 1000 for x in first["young_count_per_call"]]  # not what the code counts: the worker must use them
    later = worker.measure({**job, "index": 1, "seed": 4, "young_shared": shared})
    assert later["young_count_per_call"] == shared and later["young_count_passes"] == []
    picked = [i for i, _ in later["young_rechecked"]]
    assert len(picked) == YOUNG_RECHECKED == len(set(picked))
    assert all(own == first["young_count_per_call"][i] for i, own in later["young_rechecked"])  # its own count
    assert later["gc_ns_total"] and later["rounds"] >= 3


def test_the_stage_gives_later_workers_the_first_ones_counts_and_reports_recounts_that_differ():
    first = {"index": 0, "keys": [["a", "success"], ["b", "success"]], "young_count_per_call": [7.0, 58.0]}
    assert shared_young({"index": 0}, []) == {"index": 0}
    assert shared_young({"index": 2}, [first]) == {"index": 2, "young_shared": [7.0, 58.0]}
    same = {"index": 1, "young_rechecked": [[0, 7.0], [1, 58.0]]}
    assert young_check([first, same]) == {"counted_by": young_check([first])["counted_by"],
                                                   "rechecked": 2, "differ": [], "differ_count": 0}
    found = young_check([first, same, {"index": 2, "young_rechecked": [[1, 57.5]]}])
    assert found["rechecked"] == 3 and found["differ_count"] == 1
    assert found["differ"] == [{"worker": 2, "subject": ["b", "success"], "first_worker": 58.0, "own": 57.5}]


def test_every_subject_of_a_class_gets_the_same_block_length():
    """A call's time depends on its block's length (the first call pays for the caches another app left), so a
    class's subjects are compared at one length: the median of their own, rounded up, per class."""
    keys = [("a", "success"), ("b", "success"), ("aa", "success"), ("a", "created"), ("b", "created")]
    assert worker.same_per_class(keys, [3, 4, 4, 1, 2]) == [4, 4, 4, 2, 2]
    assert worker.same_per_class(keys[:2], [3, 3]) == [3, 3]


def test_every_worker_times_each_class_in_blocks_of_its_fixed_length(monkeypatch):
    """Blocks are not sized by the clock (a slow phase gave created 2 calls in half the workers, 3 in the rest): each
    class has its number of calls, the same for every subject and in every worker, however fast the calls run."""
    for per_call in (50_000, 400_000):  # a fast machine and a slow one
        monkeypatch.setattr(worker, "time_block", lambda call, n, clock=None, ns=per_call: (ns * n, 0, [0, 0, 0]))
        job = {"names": ["jsonify_tuple", "abort_response"], "index": 0, "seed": 5, "gc": "on", "seconds": 0.0, "k": 1,
               "min_rounds": 1, "error_every": 1, "planted_ns": 0, "calibration_blocks": 1}
        found = worker.measure(job)
        keys = [tuple(k) for k in found["keys"]]
        assert {cls for _, cls in keys} == set(worker.CALLS_PER_BLOCK) == set(CLASSES)
        assert found["calls_per_block"] == [worker.CALLS_PER_BLOCK[cls] for _, cls in keys]
    assert worker.block_lengths(keys, 1) == [1] * len(keys)


def test_the_subjects_are_first_called_in_a_shuffled_order(monkeypatch):
    """An app's first call makes its lazy state; in the fixed order of the keys the A/A twin's came last in every
    worker (a layout the twin kept for the worker's life), so the first calls run in a shuffled order."""
    seen = []
    monkeypatch.setattr(worker, "check", lambda name, cls, result: seen.append((name, cls)))
    job = {"names": ["jsonify_tuple"], "index": 0, "seed": 8, "gc": "on", "seconds": 0.02, "calls_per_block": 1, "k": 1,
           "min_rounds": 2, "planted_ns": 0}
    keys = [tuple(k) for k in worker.measure(job)["keys"]]
    assert sorted(seen) == sorted(keys) and seen != keys


def test_error_classes_join_every_nth_round_and_count_only_the_requests_they_made():
    job = {"names": ["jsonify_tuple"], "index": 0, "seed": 4, "gc": "on", "seconds": 0.05, "calls_per_block": 1, "k": 1,
           "min_rounds": 6, "error_every": 3, "planted_ns": 1000}
    found = worker.measure(job)
    keys = [tuple(k) for k in found["keys"]]
    timed = ~np.isnan(np.asarray(found["per_call_ns"], dtype=float))
    for i, (name, cls) in enumerate(keys):
        rounds = timed[:, i]
        if cls in ERROR_SCENARIOS:  # every third round, counted from the first (pilot) round
            expected = [(worker.PILOT_ROUNDS + r) % 3 == 0 for r in range(found["rounds"])]
            assert rounds.tolist() == expected, (name, cls)
        else:
            assert rounds.all(), (name, cls)
        blocks_a_round = (worker.CALIBRATION_BLOCKS if name in (worker.PLANTED, worker.PLANTED_REFERENCE,
                                                                worker.PLANTED_ALLOC) else worker.CLASS_BLOCKS.get(cls, 1))
        assert found["requests"][i] == found["calls_per_block"][i] * rounds.sum() * blocks_a_round


def test_rounds_that_skip_a_subject_leave_its_estimate_unbiased():
    """Synthetic workers whose error class is timed one round in three (NaN elsewhere) give its planted
    difference as before; the other classes are untouched."""
    cost = costs({("dear", "bad_json"): 104_000.0, ("dear", "success"): 103_000.0})
    workers = synthetic_workers(cost, {})
    for w in workers:
        times = np.asarray(w["per_call_ns"], dtype=float)
        error = [i for i, k in enumerate(w["keys"]) if k[1] in ERROR_SCENARIOS]
        keep = np.arange(len(times)) % 3 == 0
        times[np.ix_(~keep, error)] = np.nan
        w["per_call_ns"] = [[None if np.isnan(x) else x for x in row] for row in times.tolist()]
    found = analysis.analyse(workers, ["jsonify_tuple", "dear"], CLASSES, "jsonify_tuple", worker.AA, CALIBRATION)
    reference = {c: found["reference_us"][c]["estimate"] for c in ("bad_json", "success")}
    assert found["variants"]["dear"]["bad_json"]["delta_us"]["estimate"] == pytest.approx(0.04 * reference["bad_json"], rel=0.05)
    assert found["variants"]["dear"]["success"]["delta_us"]["estimate"] == pytest.approx(0.03 * reference["success"], rel=0.05)
    assert found["variants"]["dear"]["bad_json"]["delta_us"]["verdict"] == "dearer"


def test_the_error_paths_are_timed_classes_with_their_statuses():
    assert CLASSES == [*SCENARIOS, *ERROR_SCENARIOS]
    assert {c: worker.CLASSES[c].reply.status for c in ERROR_SCENARIOS} == {
        "bad_json": 400, "not_found": 404, "method_not_allowed": 405, "server_error": 500}


def test_the_500_is_still_logged_but_not_to_the_console(capfd):
    """The timed 500 keeps Flask's logging call, traceback formatted; its output goes to os.devnull."""
    apps = worker.make_apps(["jsonify_tuple"], None)
    handler = apps["jsonify_tuple"].logger.handlers[0]
    seen = []

    def keep(record):
        seen.append(record)
        return True

    handler.addFilter(keep)
    try:
        line, body = dispatch_call(apps["jsonify_tuple"], prepared_environ(ERROR_SCENARIOS["server_error"]))()
    finally:
        handler.removeFilter(keep)
    assert line.startswith("500") and b"boom" not in body
    assert [r.exc_info[0] for r in seen] == [RuntimeError]
    assert apps["jsonify_tuple"].logger.handlers == [handler] and handler.stream.name == os.devnull
    assert capfd.readouterr() == ("", "")


def test_the_planted_subjects_are_one_app_that_differs_only_by_what_the_environ_asks(monkeypatch):
    """One app, so the planted differences are the wait and the lists alone (separate apps also differed by their
    memory layout); each subject's environ asks for its own wait and lists, and the reply is the reference's."""
    waits, garbage = [], []
    monkeypatch.setattr(worker, "busy_wait", waits.append)
    monkeypatch.setattr(worker, "cyclic_garbage", garbage.append)
    apps = worker.make_apps(["jsonify_tuple"], None)
    assert apps[worker.PLANTED] is apps[worker.PLANTED_REFERENCE] is apps[worker.PLANTED_ALLOC]
    assert apps[worker.PLANTED_REFERENCE] is not apps["jsonify_tuple"] and apps[worker.AA] is not apps["jsonify_tuple"]
    # each waits the base first (a spin's first few hundred ns cost less than their wall time; 1 µs is past them),
    # and the planted subject its 777 ns more
    base = worker.BASE_WAIT_NS
    assert base >= 1000
    for name, expected in ((worker.PLANTED, ([base + 777], [0])), (worker.PLANTED_REFERENCE, ([base], [0])),
                           (worker.PLANTED_ALLOC, ([base], [worker.ALLOC_OBJECTS]))):
        waits.clear(), garbage.clear()
        line, body = dispatch_call(apps[name], worker.subject_environ(name, "success", 777))()
        assert (line, body, (waits, garbage)) == ("200 OK", dispatch_call(apps["jsonify_tuple"], prepared_environ(SCENARIOS["success"]))()[1], expected)


TINY = replace(request.QUICK, mode="test", workers=3, seconds=0.05, calls_per_block=1, k=1, min_rounds=3)


def test_a_tiny_run_writes_its_results_headline_and_history(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(request, "OUT", tmp_path)
    monkeypatch.setattr(request, "QUICK", TINY)
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("VARIANTS", "abort_response")  # jsonify_tuple joins: it is the reference
    monkeypatch.setenv("REQUEST_SEED", "11")
    monkeypatch.setenv("REQUEST_WORKERS", "2")  # in place of the mode's 3
    assert request.main() == 0
    found = read_json(tmp_path / "request.json")
    assert found["config"]["workers"] == 2 and len(found["raw"]["workers"]) == 2
    assert set(found) == set(schemas.RequestResult.__annotations__) and found["seed"] == 11
    assert set(found["results"]) == set(schemas.Results.__annotations__)
    assert set(found["results"]["variants"]) == {"jsonify_tuple", "abort_response"}
    # the second worker was given the first one's young counts, and its recounts agreed with them
    first, second = found["raw"]["workers"]
    assert second["young_count_per_call"] == first["young_count_per_call"] and not second["young_count_passes"]
    assert set(found["young_counts"]) == set(schemas.YoungCheck.__annotations__)
    assert found["young_counts"]["rechecked"] == YOUNG_RECHECKED and found["young_counts"]["differ_count"] == 0
    cell = found["results"]["variants"]["abort_response"]["unauthorized"]
    assert set(cell) == set(schemas.Cell.__annotations__)
    assert cell["delta_us"]["verdict"] in ("cheaper", "dearer", "equivalent", "unresolved")
    summary = read_json(tmp_path / "summary.json")
    head = summary["variants"]["abort_response"]["request"]
    assert set(head) == set(CLASSES) and set(head["admin"]) == set(schemas.RequestHeadlineCell.__annotations__)
    assert set(head["admin"]["delta_us"]) == {"estimate", "ci95", "verdict"}
    assert set(summary["calibration"]["request"]) >= {"planted_ns", "measured_ns", "ci95", "aa"}
    assert set(summary["calibration"]["request"]["aa"]) == {"delta_us", "ci95"}
    history = read_json(tmp_path / "request_history.json")["runs"]
    assert len(history) == 1 and set(history[0]) == set(schemas.RequestHistoryRecord.__annotations__)
    assert "resolution (A/A interval)" in capfd.readouterr().out


@pytest.mark.parametrize("env, message", [({"VARIANTS": "nope"}, "nope"), ({"REQUEST_GC": "maybe"}, "REQUEST_GC"),
                                          ({"REQUEST_SEED": "x"}, "REQUEST_SEED"),
                                          ({"REQUEST_WORKERS": "1"}, "REQUEST_WORKERS='1': expected 2 to 250"),
                                          ({"REQUEST_PARALLEL": "0"}, "REQUEST_PARALLEL='0': expected 1 to 64"),
                                          ({"REQUEST_SECONDS": "lots"}, "REQUEST_SECONDS='lots': expected a float")])
def test_bad_options_are_one_line_and_exit_2(tmp_path, env, message):
    done = subprocess.run([sys.executable, "-m", "bench.request"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "FLASK_IDIOMS_OUT": str(tmp_path), **env})
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "request.json").exists()


def test_young_counts_are_measured_in_a_new_shuffled_order_each_pass():
    """A fixed order gave every worker the same process state per subject (a 1 µs planted cost came back as
    2.5 µs): each pass, and each worker (its own rng), measures the subjects in a new order; the first pass is
    not kept."""
    seen, kept = [], []

    class Kept:
        pass

    def subject(k):
        def call():
            seen.append(k)
            kept.append(Kept())  # one tracked object per call that outlives it (not a list: those come from a
            # free list, which the count does not see: the very effect that moves a request's count)
        return call

    found = worker.young_counts([subject(k) for k in range(6)], np.random.default_rng(5), passes=3)
    assert found.shape == (3, 6) and np.all(found == 1)
    per_pass = len(seen) // 4  # the pass not kept, then the three kept: each calls every subject as often
    orders = [tuple(dict.fromkeys(seen[i * per_pass:(i + 1) * per_pass])) for i in range(4)]
    assert all(sorted(o) == list(range(6)) for o in orders)
    assert len(set(orders)) > 1  # not one fixed order


def test_the_planted_subjects_are_timed_several_times_a_round_and_their_rows_hold_the_mean():
    """Every kept round times each planted subject ``calibration_blocks`` times and every subject of a class
    ``class_blocks`` names as many times as it says (their requests count it), every other subject once; a round's
    figure is the mean of its blocks, so it is never one block's alone."""
    job = {"names": ["jsonify_tuple"], "index": 0, "seed": 8, "gc": "on", "seconds": 0.05, "calls_per_block": 1, "k": 1,
           "min_rounds": 6, "error_every": 1, "planted_ns": 1000, "calibration_blocks": 3, "class_blocks": {"admin": 2}}
    found = worker.measure(job)
    keys = [tuple(k) for k in found["keys"]]
    assert found["calibration_blocks"] == 3 and found["class_blocks"] == {"admin": 2}
    for i, (name, cls) in enumerate(keys):
        times_a_round = (3 if name in (worker.PLANTED, worker.PLANTED_REFERENCE, worker.PLANTED_ALLOC)
                         else 2 if cls == "admin" else 1)
        assert found["requests"][i] == found["calls_per_block"][i] * found["rounds"] * times_a_round, (name, cls)
    once = worker.measure({**job, "calibration_blocks": 1, "class_blocks": {}})
    assert all(n == once["calls_per_block"][i] * once["rounds"] for i, n in enumerate(once["requests"]))


def test_a_planted_subjects_round_figure_is_the_mean_of_its_blocks_in_that_round(monkeypatch):
    """With a clock that gives every block its own time, each kept round's row is, subject by subject, the mean of
    that subject's blocks in the round: three for each planted subject, two on created, one for every other."""
    log, tick = [], iter(range(10**9))

    def fake_block(call, n, clock=None):
        elapsed = 1e6 + 7 * next(tick)
        log.append((id(call), elapsed / n))
        return elapsed, 0, [0, 0, 0]

    monkeypatch.setattr(worker, "time_block", fake_block)
    job = {"names": ["jsonify_tuple"], "index": 0, "seed": 9, "gc": "on", "seconds": 0.0, "calls_per_block": 1, "k": 1,
           "min_rounds": 4, "error_every": 1, "planted_ns": 0, "calibration_blocks": 3, "class_blocks": {"created": 2}}
    found = worker.measure(job)
    doubled = sum(cls == "created" for _, cls in found["keys"])  # jsonify_tuple and its A/A twin, a block more each
    per_round = len(found["keys"]) + 3 * 2 + doubled  # three planted subjects, two blocks more each
    rows = np.asarray(found["per_call_ns"], dtype=float)
    tail = log[-per_round * found["rounds"]:]  # the kept rounds are the last ones timed
    for r, row in enumerate(rows):
        blocks = {}
        for call, ns in tail[r * per_round:(r + 1) * per_round]:
            blocks.setdefault(call, []).append(ns)
        assert sorted(len(b) for b in blocks.values()) == [1] * (len(found["keys"]) - 3 - doubled) + [2] * doubled + [3, 3, 3]
        assert sorted(np.round([np.mean(b) for b in blocks.values()], 1)) == sorted(np.round(row, 1).tolist())
