"""The load stage's Δ µs against jsonify_tuple, per status class, on synthetic samples with known answers:
a planted per-class difference comes back with its verdict, equal targets are never called cheaper or
dearer at a wide margin, drift shared by a time window cancels, and the results carry the keys issue 12
names (summary.json's ``variants.<name>.load.delta_us.<class>`` and ``calibration.load``)."""
import numpy as np
import pytest

from harness.stats import over_units
from loadtests import analysis, mount, run
from variants.contract import SCENARIOS

CLASSES = list(SCENARIOS)
REF = analysis.DELTA_REFERENCE  # jsonify_tuple
BASE = {"success": 100.0, "created": 110.0, "unauthorized": 130.0, "admin": 105.0}  # the reference's µs per class
# What each synthetic variant adds to the reference, per class (µs): the answers the analysis must find.
PLANTED = {REF: {}, "cheap": {c: -10.0 for c in CLASSES}, "dear_401": {"unauthorized": 15.0}, "same": {}}
TARGETS = [*PLANTED, mount.FLOOR, mount.PLANTED, mount.PLANTED_REFERENCE, mount.REFERENCE, *mount.REFERENCE_POOL]
SECONDS, PER_CELL = 10.0, 800  # per server process: requests per target and class


def synthetic_run(seed: int, *, request_cpu_us: float = 300.0, noise_us: float = 5.0, layout_us: float = 0.5,
                  speed=None, targets=TARGETS, extra=None, per_cell: int = PER_CELL, shuffled: bool = False,
                  **_) -> dict:
    """One server process's samples as the locustfile writes them. Every target and class is requested
    in turn; app time = the class's base (the floor a tenth of it) + the target's planted difference +
    this process's layout offset for the target (normal, sd ``layout_us``) + noise. ``speed(t)``
    (an array of request times in s) multiplies every request's time: the machine running slower or
    faster; ``shuffled``: the requests in a random order, as locust's users send them, so a short window
    may miss a cell."""
    rng = np.random.default_rng(seed)
    extra = {**PLANTED, **(extra or {})}
    cycle = [(i, k) for i in range(len(targets)) for k in range(len(CLASSES))]
    n = per_cell * len(cycle)
    t = np.arange(n) * SECONDS / n
    order = rng.permutation(n) if shuffled else np.arange(n)
    target = np.array([cycle[j % len(cycle)][0] for j in order])
    scenario = np.array([cycle[j % len(cycle)][1] for j in order])
    layout = rng.normal(0, layout_us, size=len(targets))
    base = np.array([BASE[c] for c in CLASSES])[scenario]
    plus = np.array([[(extra.get(name) or {}).get(c, 0.0) for c in CLASSES] for name in targets])[target, scenario]
    plus += np.where(np.array(targets)[target] == mount.PLANTED, mount.PLANTED_US, 0.0)
    app = np.where(np.array(targets)[target] == mount.FLOOR, base / 10, base + plus) + layout[target]
    app += rng.normal(0, noise_us, size=n)
    if speed is not None:
        app *= speed(t)
    samples = np.column_stack([t, target, scenario, app, 0.9 * app, np.ones(n)])
    stats = {f"{name} {c}": {"requests": per_cell, "failures": 0, "rps": per_cell / SECONDS, "p50_ms": 1, "p95_ms": 2,
                             "p99_ms": 3} for name in targets for c in CLASSES}
    return {"samples": {"targets": list(targets), "scenarios": CLASSES, "samples": samples}, "from": 0.0, "to": SECONDS,
            "seconds": SECONDS, "server_cpu_s": n * request_cpu_us * 1e-6, "rss_bytes": [100] * 4, "stats": stats,
            "generator_cpu": 0.5, "server_cpu": 0.5, "steal_fraction": 0.0, "files": []}


def analysed(seeds=(1, 2, 3, 4), windows: int = 10, **kwargs) -> dict:
    runs = [synthetic_run(seed, windows=windows, **kwargs) for seed in seeds]
    return analysis.analyse(runs, windows, np.random.default_rng(0), conforming=set(PLANTED))


@pytest.fixture(scope="module")
def four():
    """Four server processes of the synthetic server (request CPU 300 µs: a 3 µs margin)."""
    return analysed()


def test_a_planted_per_class_difference_comes_back_with_its_verdict(four):
    for name, planted in PLANTED.items():
        for c in CLASSES:
            d = four["targets"][name]["delta_us"][c]
            expected = planted.get(c, 0.0)
            if name == REF:
                assert d["verdict"] == "reference" and d["estimate"] == 0.0, d
                continue
            assert d["ci95"][0] <= expected <= d["ci95"][1], (name, c, d)
            assert d["ci90"][0] >= d["ci95"][0] and d["ci90"][1] <= d["ci95"][1]
            assert d["verdict"] == ("dearer" if expected > 0 else "cheaper" if expected < 0 else "equivalent"), (name, c, d)
            assert len(d["per_process"]) == 4 and d["minimum_detectable_us"] < 5
            assert d["delta_pct"]["estimate"] == pytest.approx(100 * d["estimate"] / 300.0, abs=0.01)


def test_the_interval_is_over_server_processes(four):
    """The estimate and its interval are harness.stats.over_units of the per-process values."""
    d = four["targets"]["dear_401"]["delta_us"]["unauthorized"]
    units = over_units(d["per_process"])
    assert d["estimate"] == pytest.approx(units.estimate, abs=2e-3)
    assert d["ci95"] == pytest.approx([units.lo, units.hi], abs=2e-3)


def test_the_margin_is_1pct_of_the_request_and_the_aa_interval_the_resolution(four):
    facts = four["delta"]
    assert facts["reference"] == REF and facts["classes"] == CLASSES and facts["server_request_cpu_us"] == 300.0
    for c in CLASSES:
        aa = facts["aa"][c]
        assert aa["verdict"] in ("equivalent", "unresolved") and aa["ci95"][0] <= 0 <= aa["ci95"][1]
        assert facts["margin_us"][c] == pytest.approx(3.0, abs=1e-3)
        assert facts["resolution_us"][c] == pytest.approx(max(abs(x) for x in aa["ci95"]), abs=1e-3)
        assert four["targets"]["same"]["delta_us"][c]["margin"] == pytest.approx(facts["margin_us"][c], abs=1e-3)
        assert facts["minimum_detectable_us"][c] >= facts["minimum_detectable_median_us"][c] > 0
    noisy = analysed(seeds=(5, 6, 7), layout_us=6.0)  # processes far apart: a wide A/A interval
    for c in CLASSES:  # the margin stays; what lies inside the A/A interval is not claimed
        assert noisy["delta"]["margin_us"][c] == pytest.approx(3.0, abs=1e-3)
        resolution = noisy["delta"]["resolution_us"][c]
        for per_class in noisy["targets"].values():
            if per_class.get("delta_us", {}).get(c, {}).get("verdict") in ("cheaper", "dearer"):
                assert abs(per_class["delta_us"][c]["estimate"]) >= resolution


@pytest.mark.parametrize("seed", range(8))
def test_equal_targets_are_never_called_cheaper_or_dearer_at_a_wide_margin(seed):
    """"same" and the A/A pair are the reference's code: with a margin of 1% of a 3 ms request (30 µs) they
    come out equivalent or unresolved, whatever the processes' layouts and the noise."""
    found = analysed(seeds=(10 * seed + 1, 10 * seed + 2, 10 * seed + 3), windows=5, request_cpu_us=3000.0,
                     layout_us=3.0, noise_us=20.0)
    for c in CLASSES:
        assert found["targets"]["same"]["delta_us"][c]["verdict"] in ("equivalent", "unresolved")
        assert found["delta"]["aa"][c]["verdict"] in ("equivalent", "unresolved")
        assert found["targets"]["dear_401"]["delta_us"][c]["verdict"] not in ("cheaper",)


# The machine's speed in each of the ten 1 s windows: from 0.6x to 1.6x the usual, its median 1
WINDOW_SPEED = np.array([1.0, 0.6, 1.6, 1.0, 0.7, 1.4, 1.0, 0.8, 1.3, 1.0])


def test_a_speed_shared_by_a_window_is_taken_out():
    """Every request of a window 0.6x to 1.6x as fast as usual (this machine's speed moves 2-3x over tens of
    seconds): every Δ comes back as at the usual speed, with the steady machine's verdict and interval. Taken
    within each window alone, a Δ would carry its window's speed: their mean is 1.04x the usual."""
    steady = analysed(seeds=(1, 2, 3))
    drifting = analysed(seeds=(1, 2, 3), speed=lambda t: WINDOW_SPEED[np.minimum(t.astype(int), 9)])
    for name in PLANTED:
        for c in CLASSES:
            a, b = steady["targets"][name]["delta_us"][c], drifting["targets"][name]["delta_us"][c]
            assert b["estimate"] == pytest.approx(a["estimate"], abs=0.2) and b["verdict"] == a["verdict"], (name, c)
            assert np.diff(b["ci95"])[0] == pytest.approx(np.diff(a["ci95"])[0], rel=0.25, abs=0.1), (name, c)
    # the absolute server time moves with the drift, as it should (it is not what the Δ is taken from), and
    # the speeds found span the planted ones
    assert drifting["targets"]["same"]["server_us"]["p90"] > steady["targets"]["same"]["server_us"]["p90"] + 20
    assert drifting["speed"]["p5"] < 0.75 and drifting["speed"]["p95"] > 1.45
    assert steady["speed"]["p5"] > 0.98 and steady["speed"]["p95"] < 1.02


def jumpy(seed: int):
    """A speed that jumps every 0.1 s, as this machine's does within a window (sd ~25%)."""
    jumps = np.random.default_rng(seed).lognormal(0.0, 0.25, size=int(SECONDS / 0.1) + 1)
    return lambda t: jumps[(t / 0.1).astype(int)]


def test_a_speed_that_moves_inside_the_windows_is_taken_out_and_narrows_every_interval(monkeypatch):
    """With the speed jumping every 0.1 s, each window's medians carry the jumps their own requests met; the
    speed per 64 requests takes them out. The planted differences still come back (within 1.5 µs: the four
    processes' layouts move them too), with intervals less than half as wide as without the correction (one
    speed for the whole process)."""
    kwargs = dict(seeds=(1, 2, 3, 4), windows=5, per_cell=200, shuffled=True)
    runs = {s: jumpy(s) for s in (1, 2, 3, 4)}

    def found():
        return analysis.analyse([synthetic_run(s, speed=runs[s], **{k: v for k, v in kwargs.items() if k != "seeds"})
                                 for s in kwargs["seeds"]], 5, np.random.default_rng(0), conforming=set(PLANTED))

    corrected = found()
    monkeypatch.setattr(analysis, "SPEED_BIN_REQUESTS", 10 ** 9)
    uncorrected = found()
    widths = {label: [] for label in ("corrected", "uncorrected")}
    for name, planted in PLANTED.items():
        if name == REF:
            continue
        for c in CLASSES:
            d = corrected["targets"][name]["delta_us"][c]
            assert d["estimate"] == pytest.approx(planted.get(c, 0.0), abs=1.5), (name, c, d)
            widths["corrected"].append(np.diff(d["ci95"])[0])
            widths["uncorrected"].append(np.diff(uncorrected["targets"][name]["delta_us"][c]["ci95"])[0])
    assert np.sqrt(np.mean(np.square(widths["corrected"]))) < 0.5 * np.sqrt(np.mean(np.square(widths["uncorrected"])))
    assert abs(corrected["calibration"]["measured_us"] - mount.PLANTED_US) < 1.5


def test_the_speed_of_a_request_is_its_bins_median_ratio_to_the_runs_usual():
    """relative_speed on a process whose speed is 1 for its first half and 2 for the second, and a second
    process at 1.5 throughout: each request gets its own half's speed over the run's usual (the median over both
    processes, 1.5), whatever its target's size."""
    rng = np.random.default_rng(0)
    n = 6400
    t = np.sort(rng.uniform(0, 10, n))
    cell = rng.integers(0, 20, n)
    base = 50.0 + 10.0 * cell
    first = np.where(t < 5, 1.0, 2.0) * base * rng.lognormal(0, 0.05, n)
    second = 1.5 * base * rng.lognormal(0, 0.05, n)
    factor = analysis.relative_speed(np.r_[t, t], np.r_[cell, cell], np.r_[first, second], np.r_[np.zeros(n), np.ones(n)])
    one, two = factor[:n], factor[n:]
    assert np.median(one[t < 4.9]) == pytest.approx(1 / 1.5, rel=0.03)
    assert np.median(one[t >= 5.1]) == pytest.approx(2 / 1.5, rel=0.03)
    assert np.all(np.abs(two - 1) < 0.05)  # the run's usual speed throughout
    assert analysis.relative_speed([0.0, 1.0], [0, 0], [5.0, 5.0], [0, 0]).tolist() == [1.0, 1.0]  # one bin


def test_a_process_that_ran_slower_throughout_gives_the_others_differences():
    """Four processes at 0.7x, 1.0x, 1.0x and 1.4x the usual speed for their whole life (a process measured for a
    few seconds meets a speed of its own): the planted differences come back as at the usual speed, with the
    steady machine's intervals. Taken against each process's own usual, the 15 µs on the 401 would be 10.5 to 21
    µs from process to process, and its interval several times as wide."""
    steady = analysed(seeds=(1, 2, 3, 4))
    level = {1: 0.7, 2: 1.0, 3: 1.0, 4: 1.4}
    runs = [synthetic_run(s, speed=lambda t, x=level[s]: np.full(len(t), x)) for s in level]
    moved = analysis.analyse(runs, 10, np.random.default_rng(0), conforming=set(PLANTED))
    for name in PLANTED:
        for c in CLASSES:
            a, b = steady["targets"][name]["delta_us"][c], moved["targets"][name]["delta_us"][c]
            assert b["estimate"] == pytest.approx(a["estimate"], abs=0.3) and b["verdict"] == a["verdict"], (name, c)
            assert np.diff(b["ci95"])[0] == pytest.approx(np.diff(a["ci95"])[0], rel=0.3, abs=0.1), (name, c)
    assert moved["speed"]["p5"] < 0.75 and moved["speed"]["p95"] > 1.35


def test_one_process_keeps_the_block_bootstrap_and_still_judges():
    one = analysed(seeds=(1,))
    dear = one["targets"]["dear_401"]["delta_us"]["unauthorized"]
    assert dear["verdict"] == "dearer" and dear["ci95"][0] <= 15 <= dear["ci95"][1] and len(dear["per_process"]) == 1
    assert one["targets"]["cheap"]["delta_us"]["success"]["verdict"] == "cheaper"
    assert one["delta"]["minimum_detectable_us"]["success"] > 0


def test_without_jsonify_tuple_beside_it_its_other_apps_are_the_reference_and_without_any_no_delta():
    targets = [n for n in TARGETS if n != REF]
    found = analysis.analyse([synthetic_run(s, targets=targets) for s in (1, 2, 3)], 10, np.random.default_rng(0),
                             conforming=set(PLANTED))
    assert found["delta"]["reference"] == f"{REF} (its other instances)"
    assert found["delta"]["reference_apps"] == [analysis.NAMES[n] for n in mount.REFERENCE_POOL]
    assert set(found["delta"]["aa"]) == set(CLASSES)  # the A/A twin, still outside the reference
    assert found["targets"]["cheap"]["delta_us"]["created"]["verdict"] == "cheaper"
    twin_only = [n for n in targets if n not in mount.REFERENCE_POOL]
    found = analysis.analyse([synthetic_run(s, targets=twin_only) for s in (1, 2, 3)], 10, np.random.default_rng(0),
                             conforming=set(PLANTED))
    assert found["delta"]["reference_apps"] == ["reference"] and found["delta"]["aa"] is None
    assert found["targets"]["cheap"]["delta_us"]["created"]["verdict"] == "cheaper"
    alone = analysis.analyse([synthetic_run(1, targets=["cheap", mount.FLOOR])], 10, np.random.default_rng(0),
                             conforming={"cheap"})
    assert alone["delta"] is None and "delta_us" not in alone["targets"]["cheap"]


def shape(runs: list) -> dict:
    return analysis.shape_result(runs, analysis.analyse(runs, 10, np.random.default_rng(0), set(PLANTED)), 16, 0, 0.0)


def test_summary_and_load_json_carry_the_keys_issue_12_names():
    result = {"status": "ok", "warnings": [], "wall_s": 30.0,
              "shapes": {"closed": shape([synthetic_run(9)]), "paced": shape([synthetic_run(s) for s in (1, 2, 3)])}}
    names = [n for n in PLANTED]
    headline = run.summarise(run.FULL, result, names)
    paced = result["shapes"]["paced"]
    for name in names:
        load = headline["variants"][name]["load"]
        assert set(load) >= {"ratio_to_floor", "ratio_to_reference", "rank", "delta_us"}
        assert set(load["delta_us"]) == set(CLASSES)
        for c, d in load["delta_us"].items():
            assert set(d) == {"estimate", "ci95", "verdict", "margin"} and len(d["ci95"]) == 2
            assert d["verdict"] in ("cheaper", "dearer", "equivalent", "unresolved", "reference")
            full = paced["targets"][name]["delta_us"][c]
            assert d == {k: full[k] for k in ("estimate", "ci95", "verdict", "margin")}
            assert set(full) >= {"estimate", "ci95", "ci90", "verdict", "margin", "per_process", "delta_pct",
                                 "minimum_detectable_us"}
    cal = headline["calibration"]["load"]
    assert cal["planted_ns"] == 1000 * mount.PLANTED_US and cal["measured_ns"] == pytest.approx(1000 * cal["measured_us"], abs=10)
    assert cal["aa"]["delta_us"] == cal["aa"]["diff_us"] and len(cal["aa"]["ci95"]) == 2
    assert {"planted_us", "measured_us", "error_pct"} <= set(cal) and "pct" in cal["aa"]
    assert result["minimum_detectable_us"] == paced["delta"]["minimum_detectable_us"]
    assert result["margin_us"] == paced["delta"]["margin_us"]
    # the Δ target is checked on the widest Δ interval that is reported
    widest = max((d["ci95"][1] - d["ci95"][0]) / 2 for n in names for d in headline["variants"][n]["load"]["delta_us"].values()
                 if d["verdict"] != "reference")
    check = result["targets"]["delta_ci95_half_width_us"]
    assert check["value"] == pytest.approx(widest, abs=1e-3) and check["target"] == run.FULL.target_delta_us
    assert check["met"] == (widest <= run.FULL.target_delta_us)


def test_a_run_that_misses_the_delta_target_says_what_it_cannot_resolve(capsys):
    noisy = [synthetic_run(s, noise_us=40.0, layout_us=4.0) for s in (1, 2, 3)]
    result = {"status": "ok", "warnings": [], "wall_s": 30.0, "shapes": {"paced": shape(noisy)}}
    run.summarise(run.QUICK, result, list(PLANTED))
    assert result["targets"]["delta_ci95_half_width_us"]["met"] is False
    said = [w for w in result["warnings"] if w.startswith("quick run: Δ under ")]
    assert len(said) == 1 and "not resolved" in said[0], result["warnings"]
    run.print_deltas(result["shapes"]["paced"]["targets"], result["shapes"]["paced"]["delta"],
                     result["shapes"]["paced"]["calibration"])
    printed = capsys.readouterr().out
    assert "HTTP: resolves differences of ≥ " in printed and "A/A " in printed
    assert all(name in printed for name in PLANTED)


def test_a_thin_run_merges_its_windows_instead_of_failing():
    """A busy machine: 25 requests per target and class per process, in random order, so ten windows per
    process would leave cells empty. The windows are cut to what the requests fill, none is lost, and the
    planted +15 µs on the 401 is still found; a run with plenty keeps every planned window."""
    runs = [synthetic_run(seed, per_cell=25, shuffled=True, noise_us=1.0) for seed in (1, 2, 3)]
    cells = len(TARGETS) * len(CLASSES)
    assert analysis.fitted_windows(runs, 10, cells) == 25 // analysis.MIN_PER_CELL
    found = analysis.analyse(runs, 10, np.random.default_rng(0), conforming=set(PLANTED))
    assert found["windows_planned"] == 30 and found["windows_used"] == 3 * (25 // analysis.MIN_PER_CELL)
    dear = found["targets"]["dear_401"]["delta_us"]["unauthorized"]
    assert dear["verdict"] == "dearer" and dear["ci95"][0] < 15.0 < dear["ci95"][1]
    plenty = [synthetic_run(seed, per_cell=200, shuffled=True) for seed in (1, 2)]
    assert analysis.fitted_windows(plenty, 10, cells) == 10


def test_two_processes_with_one_full_window_each_are_enough():
    """The intervals are over server processes: a busy machine's short run whose requests fill one window per
    process (464 requests for 6 targets x 4 classes over 2 processes, seen in make test) is analysed, not
    refused; one process with fewer than three complete windows is refused with one line."""
    cells = len(TARGETS) * len(CLASSES)
    thin = [synthetic_run(seed, per_cell=analysis.MIN_PER_CELL + 2, shuffled=True, noise_us=1.0) for seed in (1, 2)]
    assert analysis.fitted_windows(thin, 10, cells) == 1
    found = analysis.analyse(thin, 10, np.random.default_rng(0), conforming=set(PLANTED))
    assert found["windows_used"] == 2
    assert found["targets"]["dear_401"]["delta_us"]["unauthorized"]["estimate"] == pytest.approx(15.0, abs=5.0)
    alone = [synthetic_run(1, per_cell=2, shuffled=True, noise_us=1.0)]
    with pytest.raises(analysis.ServerError, match="too few requests"):
        analysis.analyse(alone, 10, np.random.default_rng(0), conforming=set(PLANTED))


def test_the_reference_is_the_mean_of_its_apps_and_the_aa_twin_is_judged_as_a_variant():
    """Per window, jsonify_tuple's time is the mean of its apps' medians (the variant's own and
    ``REFERENCE_POOL``'s); a variant's Δ is taken against that mean, and so is the A/A twin's."""
    runs = [synthetic_run(s, layout_us=2.0) for s in (1, 2, 3)]
    found = analysis.analyse(runs, 10, np.random.default_rng(0), conforming=set(PLANTED))
    assert found["delta"]["reference_apps"] == [REF] + [analysis.NAMES[n] for n in mount.REFERENCE_POOL]
    data = analysis.measured_samples(runs, 10)
    speed = analysis.relative_speed(data[:, 0], data[:, 1] * len(CLASSES) + data[:, 2], data[:, 3], data[:, 7])
    cells = analysis.cell_medians(data[:, 1], data[:, 2], data[:, 6].astype(int), data[:, 3] / speed,
                                  (len(TARGETS), len(CLASSES), 30))
    reference = np.mean([cells[TARGETS.index(n)] for n in (REF, *mount.REFERENCE_POOL)], axis=0)
    k = CLASSES.index("unauthorized")
    for name, got in (("dear_401", found["targets"]["dear_401"]["delta_us"]["unauthorized"]),
                      (mount.REFERENCE, found["delta"]["aa"]["unauthorized"])):
        per_window = cells[TARGETS.index(name), k] - reference[k]
        assert got["per_process"] == pytest.approx([per_window[10 * p:10 * p + 10].mean() for p in range(3)], abs=2e-3)


def test_three_apps_of_the_reference_narrow_every_interval_as_the_design_says():
    """Where each app's cost moves with its process (layout, sd 3 µs, far above the noise), a Δ against one app
    has the variance of two apps' layouts, against the mean of three 1 + 1/3 of one: intervals sqrt(4/6) =
    0.82x as wide. Over 16 seeds of 6 processes the root-mean-square half-widths come out so (0.72-0.9)."""
    single = [n for n in TARGETS if n not in mount.REFERENCE_POOL]
    squares = {"pooled": [], "single": []}
    for seed in range(16):
        seeds = tuple(100 * seed + p for p in range(6))
        for label, targets in (("pooled", TARGETS), ("single", single)):
            runs = [synthetic_run(s, targets=targets, layout_us=3.0, noise_us=1.0, per_cell=100) for s in seeds]
            found = analysis.analyse(runs, 5, np.random.default_rng(0), conforming=set(PLANTED))
            squares[label] += [np.diff(found["targets"][n]["delta_us"][c]["ci95"])[0] ** 2
                               for n in ("cheap", "same", "dear_401") for c in CLASSES]
    ratio = np.sqrt(np.mean(squares["pooled"]) / np.mean(squares["single"]))
    assert 0.72 < ratio < 0.9, ratio


def test_the_report_leaves_every_control_of_the_load_test_out_of_the_idioms():
    from reports.data import LOAD_CONTROLS

    assert set(LOAD_CONTROLS) == set(analysis.NAMES.values())
