"""The payload stage: the corpus, the type set's rules, the user's files, what each idiom makes of an entry
(through the real app), the cost analysis on synthetic data with known answers, and the report section."""
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import payloads
from bench import payload_cost as cost
from bench import payload_semantics as semantics
from harness import stats
from harness.cli import UsageError
from payloads import sizes
from payloads import types, user
from variants import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


# --- the corpus ---------------------------------------------------------------------------------

def test_the_size_sweep_is_the_same_bytes_from_the_same_seed_and_another_from_another():
    a, b = sizes.sized(10_000), sizes.sized(10_000)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    assert json.dumps(sizes.sized(10_000, seed=15)) != json.dumps(a)


@pytest.mark.parametrize("name,target", [(n, t) for n, t in sizes.SIZES.items() if t <= 100_000])
def test_each_size_entry_is_about_its_nominal_size(name, target):
    size = sizes.compact_size(sizes.sized(target))
    assert 0.75 * target <= size <= 1.25 * target, (name, size)


def test_records_have_nested_objects_optional_fields_non_ascii_and_emoji():
    page = sizes.sized(100_000)
    records = page["data"]
    assert page["count"] == len(records) > 100
    keys = [set(r) for r in records]
    optional = set.union(*keys) - set.intersection(*keys)
    assert {"bio", "phone", "settings", "last_orders"} <= optional  # present in some records only
    assert all(isinstance(r["address"]["geo"], dict) for r in records)  # nested two levels
    text = json.dumps(page, ensure_ascii=False)
    assert any(ord(ch) > 0xFFFF for ch in text)  # emoji, outside the BMP
    assert any(0x80 <= ord(ch) <= 0xFFFF for ch in text)  # accented and non-Latin letters


def test_the_corpus_lists_the_entries_the_issue_names():
    found = payloads.corpus(sizes=["size_100b"])
    for name in ("size_100b", "datetime_aware", "datetime_naive", "decimal", "uuid", "non_ascii", "mixed_keys",
                 "int_keys", "top_level_list", "nan"):
        assert name in found and found[name].source == "builtin"
    assert set(payloads.builtin()) >= {"size_1kb", "size_10kb", "size_100kb", "size_1mb"}
    assert found["decimal"].need == "decimals" and found["decimal"].rule == "decimal"


# --- the rules ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rule,a,b,same", [
    ("instant", {"at": "Tue, 02 Jan 2024 01:04:05 GMT"}, {"at": "2024-01-02T03:04:05+02:00"}, True),
    ("instant", {"at": "Tue, 02 Jan 2024 03:04:05 GMT"}, {"at": "2024-01-02T03:04:05"}, True),  # naive read as UTC
    ("instant", {"at": "Tue, 02 Jan 2024 03:04:05 GMT"}, {"at": "2024-01-02T03:04:06Z"}, False),
    ("calendar_date", {"on": "Tue, 02 Jan 2024 00:00:00 GMT"}, {"on": "2024-01-02"}, True),
    ("calendar_date", {"on": "Tue, 02 Jan 2024 00:00:00 GMT"}, {"on": "2024-01-03"}, False),
    ("decimal", {"p": "12.10"}, {"p": 12.1}, True),
    ("decimal", {"p": "12.10"}, {"p": 12.11}, False),
    ("uuid", {"id": "12345678-1234-5678-1234-567812345678"}, {"id": "12345678123456781234567812345678"}, True),
    ("non_finite", {"r": float("nan")}, {"r": float("nan")}, True),
    ("non_finite", {"r": float("nan")}, {"r": None}, False),
    ("exact", {"a": "1"}, {"a": 1}, False),
])
def test_each_rule_says_which_bodies_are_the_same_value(rule, a, b, same):
    assert types.same_value(a, b, rule) is same


# --- your own payloads --------------------------------------------------------------------------

def test_a_user_file_and_a_folder_become_entries_named_after_their_files(tmp_path):
    (tmp_path / "orders.json").write_text(json.dumps({"orders": [{"id": 1, "total": "9.99"}]}))
    (tmp_path / "profile.json").write_text('{"name": "Zoë"}')
    (tmp_path / "notes.txt").write_text("not a payload")
    found = payloads.corpus(tmp_path, sizes=[])
    assert [e.name for e in found.values() if e.source == "user"] == ["orders", "profile"]
    assert found["profile"].value == {"name": "Zoë"} and found["profile"].kind == "user"
    assert list(payloads.corpus(tmp_path / "orders.json", sizes=[]))[-1] == "orders"


@pytest.mark.parametrize("content,said", [
    (b"", "is empty"), (b"  \n", "only whitespace"), (b"{'a': 1}", "is not JSON"), (b"\xff\xfe{", "not UTF-8"),
    (b"__import__('os').system('touch /tmp/owned')", "is not JSON"),
])
def test_a_bad_user_file_is_one_usage_error(tmp_path, content, said):
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(UsageError, match=said):
        payloads.corpus(tmp_path / "bad.json", sizes=[])


def test_over_the_size_limit_a_name_clash_and_an_empty_folder_are_usage_errors(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"x": "a" * 100}))
    monkeypatch.setattr(user, "MAX_BYTES", 50)
    with pytest.raises(UsageError, match="over the limit of 50"):
        user.load(big)
    clash = tmp_path / "folder"
    clash.mkdir()
    (clash / "decimal.json").write_text("1")
    with pytest.raises(UsageError, match="built-in entry"):
        payloads.corpus(clash, sizes=[])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no \\*.json files"):
        user.files(tmp_path / "empty")
    with pytest.raises(UsageError, match="no such file"):
        user.files(tmp_path / "nowhere.json")


def test_make_payloads_with_a_bad_file_exits_2_with_one_line_and_runs_nothing(tmp_path):
    bad = tmp_path / "responses.json"
    bad.write_text("{not json")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "bench.payload_cost"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PAYLOADS": str(bad), "QUICK": "1", "FLASK_IDIOMS_OUT": str(out)}, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "is not JSON" in done.stderr and "Traceback" not in done.stderr
    assert not (out / "payloads.json").exists() and done.stdout == ""


# --- what each idiom makes of an entry ----------------------------------------------------------

@pytest.fixture(scope="module")
def table():
    """The semantic table for a few idioms that differ, on the type set and the smallest size."""
    entries = payloads.corpus(sizes=["size_100b"])
    return semantics.table(["jsonify_tuple", "dict_return", "response_class", "orjson_response", "plain_string"], entries)


def test_the_reference_writes_datetimes_as_http_dates_and_the_same_bytes_come_from_its_equals(table):
    cell = table["jsonify_tuple"]["datetime_aware"]
    assert cell["status"] == "ok" and cell["same_bytes"] and "Tue, 02 Jan 2024 01:04:05 GMT" in cell["detail"]
    assert cell["content_type"] == "application/json" and cell["content_length"] == cell["body_bytes"]
    assert table["dict_return"]["datetime_aware"]["same_bytes"] is True


def test_an_idiom_that_raises_is_an_error_with_the_exception_and_the_500(table):
    cell = table["response_class"]["datetime_aware"]
    assert cell["status"] == "error" and cell["http_status"] == 500 and cell["client_got_500"]
    assert cell["exception"]["type"] == "TypeError" and "datetime" in cell["exception"]["message"]
    assert cell["detail"].startswith("TypeError:") and "the client got a 500" in cell["detail"]
    none = table["dict_return"]["none"]
    assert none["status"] == "error" and none["exception"]["type"] == "TypeError"


def test_other_bytes_of_the_same_value_are_ok_and_another_value_differs(table):
    iso = table["orjson_response"]["datetime_aware"]
    assert iso["status"] == "ok" and not iso["same_bytes"] and "2024-01-02T03:04:05+02:00" in iso["detail"]
    raw = table["orjson_response"]["non_ascii"]
    assert raw["status"] == "ok" and "Zoë" in raw["detail"] and "\\u00eb" in table["jsonify_tuple"]["non_ascii"]["detail"]
    nan = table["orjson_response"]["nan"]
    assert nan["status"] == "differs" and "null" in nan["detail"] and table["jsonify_tuple"]["nan"]["strict_json"] is False


def test_served_where_the_reference_raises_differs_and_text_html_differs(table):
    assert table["jsonify_tuple"]["mixed_keys"]["status"] == "error"
    mixed = table["response_class"]["mixed_keys"]
    assert mixed["status"] == "differs" and "where jsonify_tuple raises" in mixed["detail"]
    html = table["plain_string"]["size_100b"]
    assert html["status"] == "differs" and "text/html" in html["detail"]


JSON_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # orjson refuses lone surrogates
JSON_NATIVE = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | JSON_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(JSON_TEXT, children, max_size=4), max_leaves=12)
CORRECT = [name for name, v in REGISTRY.items() if v.conforms]
HOLDER = {}
APPS = {}


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(JSON_TEXT, JSON_NATIVE, max_size=5) | st.lists(JSON_NATIVE, max_size=5))
def test_every_correct_idiom_sends_the_same_value_for_json_native_bodies(value):
    """A body of str, int (64 bits), finite float, bool, None, lists and str-keyed dicts (a dict or list at the top,
    as ``return data, status`` requires): every idiom that meets the contract sends one value."""
    if not APPS:
        APPS.update({name: semantics.payload_app(name, HOLDER) for name in CORRECT})
    HOLDER["x"] = value
    found = {}
    for name, app in APPS.items():
        seen = semantics.observe(app, "x")
        assert seen["http_status"] == 200 and seen["exception"] is None, (name, seen["exception"])
        found[name] = seen["parsed"]
    assert {name: v for name, v in found.items() if v != value} == {}


# --- the cost analysis on synthetic data --------------------------------------------------------

def test_the_fit_recovers_a_known_fixed_cost_and_cost_per_kb():
    x = [0.1, 1, 10, 100, 1000]
    a, b = cost.fit_line(x, [30 + 12.5 * k for k in x])
    assert a == pytest.approx(30, rel=1e-9) and b == pytest.approx(12.5, rel=1e-9)


def test_the_fit_over_workers_covers_the_truth_and_weights_small_sizes_alike():
    rng = np.random.default_rng(1)
    x = [0.1, 1, 10, 100, 1000]
    per_worker = [[(30 + 12.5 * k) * (1 + rng.normal(0, 0.01)) for k in x] for _ in range(8)]
    found = cost.fit_over_workers(x, per_worker)
    lo, hi = found["fixed_us"]["ci95"]
    assert lo <= 30 <= hi and hi - lo < 5  # 1% noise on 12.5 ms at 1 MB does not drown a 30 µs intercept
    lo, hi = found["per_kb_us"]["ci95"]
    assert lo <= 12.5 <= hi
    unweighted = [cost.fit_line(x, y, weights=np.ones(5))[0] for y in per_worker]
    assert np.std(unweighted) > 5 * np.std([cost.fit_line(x, y)[0] for y in per_worker])


def synthetic_workers(truth: dict, sizes_kb: dict, workers: int = 6, rounds: int = 13, seed: int = 3) -> list:
    """Worker results as bench/payload_worker writes them, from known costs ``truth[name] = (fixed_us, per_kb_us)``
    on a machine whose speed moves by up to ±30% from one block to the next (two blocks side by side share it, so
    the paired ratios cancel it; its median is 1, the speed the truth is stated at)."""
    rng = np.random.default_rng(seed)
    keys = [[n, e] for n in truth for e in sizes_kb]
    ref = {e: 1e3 * (truth["jsonify_tuple"][0] + truth["jsonify_tuple"][1] * kb) for e, kb in sizes_kb.items()}
    found = []
    for w in range(workers):
        speed = np.column_stack([rng.permutation(np.linspace(0.7, 1.3, rounds)) for _ in keys])  # each subject its own
        jitter = 1 + rng.normal(0, 0.002, size=(2, rounds, len(keys)))
        own = [[1e3 * (truth[n][0] + truth[n][1] * sizes_kb[e]) for n, e in keys]] * speed * jitter[0]
        beside = [[ref[e] for _, e in keys]] * speed * jitter[1]
        found.append({"index": w, "keys": keys, "reference": "jsonify_tuple", "per_call_ns": own.tolist(),
                      "paired_reference_ns": beside.tolist(), "rounds": rounds,
                      "young_count_per_call": [0.0] * len(keys), "requests": [rounds] * len(keys),
                      "gc_ns_total": [0.0] * len(keys)})
    return found


def test_the_analysis_recovers_known_differences_fits_and_a_change_of_ranking():
    sizes_kb = {"size_100b": 0.1, "size_10kb": 10.0, "size_100kb": 100.0}
    # cheap_start is 20 µs cheaper fixed but 0.5 µs/KB dearer: cheaper at 100 B, dearer at 100 KB (crossing at 40 KB)
    truth = {"jsonify_tuple": (40.0, 12.0), "cheap_start": (20.0, 12.5), "flat": (38.0, 1.0)}
    subjects = [(n, e) for n in truth for e in sizes_kb]
    found = cost.analyse(synthetic_workers(truth, sizes_kb), subjects, sizes_kb, cost.QUICK)
    for n, (a, b) in truth.items():
        for e, kb in sizes_kb.items():
            delta = found["cost"][n][e]["delta_us"]["estimate"]
            want = (a + b * kb) - (truth["jsonify_tuple"][0] + truth["jsonify_tuple"][1] * kb)
            assert delta == pytest.approx(want, abs=0.02 * (a + b * kb))
        fit = found["fits"][n]
        assert fit["fixed_us"]["ci95"][0] - 1 <= a <= fit["fixed_us"]["ci95"][1] + 1
        assert fit["per_kb_us"]["estimate"] == pytest.approx(b, rel=0.03)
    flat = found["cost"]["flat"]["size_100kb"]
    assert flat["delta_us"]["verdict"] == "cheaper"
    assert flat["delta_pct"]["estimate"] == pytest.approx(100 * (138 / 1240 - 1), abs=0.5)  # a ratio: drift cancels
    assert flat["ci_pct_of_cost"] < 2
    aa = found["cost"]["jsonify_tuple"]["size_10kb"]["aa_pct"]
    assert aa["ci95"][0] <= 0 <= aa["ci95"][1] and aa["ci95"][1] - aa["ci95"][0] < 1
    assert found["ranking"]["size_100kb"][0] == "flat"
    changes = {(c["cheaper"], c["dearer"], c["from"], c["to"]) for c in found["ranking_changes"]}
    assert ("cheap_start", "jsonify_tuple", "size_10kb", "size_100kb") in changes
    (change,) = [c for c in found["ranking_changes"] if c["cheaper"] == "cheap_start" and c["dearer"] == "jsonify_tuple"]
    assert change["crossover_kb"] == pytest.approx(40, rel=0.15)
    # flat: dearer than cheap_start at 100 B, cheaper from 10 KB (lines crossing at 18/11.5 KB); never above jsonify_tuple
    assert ("cheap_start", "flat", "size_100b", "size_10kb") in changes
    assert not any({c["cheaper"], c["dearer"]} == {"flat", "jsonify_tuple"} for c in found["ranking_changes"])


def noisy_deltas(truth: dict, sizes_kb: dict, rng, workers: int = 6, noise: float = 0.01) -> tuple:
    """Per-worker Δ (µs) against a reference costing 40 + 12 µs/KB, from known lines ``truth[name] = (fixed, per_kb)``
    of Δ, each worker's value off by ``noise`` of the reference's cost (the scale of a run's worker-to-worker spread)."""
    ref = {e: [(40 + 12 * kb) * (1 + rng.normal(0, noise)) for _ in range(workers)] for e, kb in sizes_kb.items()}
    deltas = {(n, e): [a + b * kb + rng.normal(0, noise * (40 + 12 * kb)) for _ in range(workers)]
              for n, (a, b) in truth.items() for e, kb in sizes_kb.items()}
    return deltas, ref


SWEEP_KB = {"size_100b": 0.1, "size_1kb": 1.0, "size_10kb": 10.0, "size_100kb": 100.0, "size_1mb": 1000.0}


def test_a_planted_crossing_is_found_between_the_sizes_it_lies_between():
    """b is 20 µs cheaper fixed but 0.5 µs/KB dearer than a: the lines cross at 40 KB, between 10 and 100 KB."""
    truth = {"a": (0.0, 0.0), "b": (-20.0, 0.5), "c": (5.0, 2.0), "d": (-3.0, 0.0)}
    deltas, ref = noisy_deltas(truth, SWEEP_KB, np.random.default_rng(4), noise=0.003)
    found = cost.ranking_changes(list(truth), list(SWEEP_KB), SWEEP_KB, deltas, {}, ref)
    change = [x for x in found if {x["cheaper"], x["dearer"]} == {"a", "b"}]
    assert len(change) == 1
    (x,) = change
    assert (x["cheaper"], x["dearer"], x["from"], x["to"]) == ("b", "a", "size_10kb", "size_100kb")
    assert x["crossover_kb"] == pytest.approx(40, rel=0.2)
    lo, hi = x["difference_per_kb_us"]["ci95"]
    assert lo <= 0.5 <= hi and x["difference_fixed_us"]["estimate"] < 0  # cheaper minus dearer: a head start, then dearer
    assert max(x["p_holm"]) < 0.05 and x["family"] >= 2
    # d is a constant 3 µs cheaper than a and never changes order with it, nor with c (c - d = 8 + 2 KB > 0 everywhere)
    assert not [x for x in found if {x["cheaper"], x["dearer"]} in ({"a", "d"}, {"c", "d"})]


def test_pure_noise_reports_no_ranking_change_in_at_least_95_percent_of_runs():
    """Eight idioms all costing the reference's own cost, 28 pairs x 5 sizes: each simulated run's pairs compared at
    95% one by one would flip somewhere most of the time; with the crossing rule and Holm, rarely."""
    rng = np.random.default_rng(14)
    truth = {f"v{i}": (0.0, 0.0) for i in range(8)}
    runs = 100
    with_change = 0
    for _ in range(runs):
        deltas, ref = noisy_deltas(truth, SWEEP_KB, rng)
        with_change += bool(cost.ranking_changes(list(truth), list(SWEEP_KB), SWEEP_KB, deltas, {}, ref))
    assert with_change <= 0.05 * runs


def test_without_the_family_correction_the_same_noise_flips_often():
    """The check above can fail: the pairs' ends judged at 95% each (no Holm) find a change in many noise runs."""
    rng = np.random.default_rng(14)
    truth = {f"v{i}": (0.0, 0.0) for i in range(8)}
    naive = 0
    for _ in range(40):
        deltas, ref = noisy_deltas(truth, SWEEP_KB, rng)
        for a, b in itertools.combinations(truth, 2):
            signs = []
            for e in SWEEP_KB:
                d = [p - q for p, q in zip(deltas[(a, e)], deltas[(b, e)])]
                found = stats.over_units(d, trim=stats.TRIM)
                signs.append(-1 if found.hi < 0 else (1 if found.lo > 0 else 0))
            resolved = [s for s in signs if s]
            if any(s != t for s, t in zip(resolved, resolved[1:])):
                naive += 1
                break
    assert naive > 0.2 * 40


def test_a_worker_times_each_subject_through_the_payload_route(tmp_path):
    """One short worker run in process, with a user entry: every subject's per-call times, in rounds."""
    from bench import payload_worker

    (tmp_path / "mine.json").write_text('{"a": [1, 2, 3]}')
    job = {"subjects": [["jsonify_tuple", "size_100b"], ["orjson_response", "size_100b"], ["jsonify_tuple", "mine"]],
           "index": 0, "seed": 5, "seconds": 0.05, "block_ms": 0.2, "k": 2, "min_rounds": 3, "user_path": str(tmp_path),
           "reference": "jsonify_tuple"}
    found = payload_worker.measure(job)
    assert found["keys"] == job["subjects"] and found["rounds"] >= 3
    per_call = np.asarray(found["per_call_ns"])
    assert per_call.shape == (found["rounds"], 3) and (per_call > 0).all()
    assert np.asarray(found["paired_reference_ns"]).shape == per_call.shape  # a reference block beside each
    assert len(found["young_count_per_call"]) == len(found["gc_ns_total"]) == len(found["requests"]) == 3
    # one block length per entry: orjson's calls are ~half jsonify's, yet both blocks hold as many calls
    assert found["calls_per_block"][0] == found["calls_per_block"][1]


def test_a_payload_worker_given_the_first_ones_counts_uses_them_and_counts_some_again():
    """As make request's workers (``bench.young``): the later workers take the first one's young counts and recount
    a few subjects, drawn at random, by the first one's procedure."""
    from bench import payload_worker
    from bench.young import YOUNG_RECHECKED

    subjects = [[name, entry] for name in ("jsonify_tuple", "orjson_response", "abort_response")
                for entry in ("size_100b", "size_1kb", "size_10kb")]
    job = {"subjects": subjects, "index": 0, "seed": 7, "seconds": 0.02, "block_ms": 0.1, "k": 1, "min_rounds": 2,
           "user_path": None, "reference": "jsonify_tuple", "pairing": "shuffled"}
    first = payload_worker.measure(job)
    assert first["young_rechecked"] == []
    shared = [x + 1000 for x in first["young_count_per_call"]]  # not what the code counts: the worker must use them
    later = payload_worker.measure({**job, "index": 1, "seed": 8, "young_shared": shared})
    assert later["young_count_per_call"] == shared
    picked = [i for i, _ in later["young_rechecked"]]
    assert len(picked) == YOUNG_RECHECKED == len(set(picked))
    assert all(own == first["young_count_per_call"][i] for i, own in later["young_rechecked"])


def test_shuffled_rounds_time_each_subject_once_against_the_reference_in_the_same_round_with_an_aa_app():
    """pairing="shuffled", k=1: the reference beside each subject is the reference's own block of that round; the A/A
    subject is a second app of the reference (not the same objects), timed like an idiom."""
    from bench import payload_worker

    job = {"subjects": [["jsonify_tuple", "size_100b"], ["jsonify_tuple~aa", "size_100b"],
                        ["orjson_response", "size_100b"]],
           "index": 0, "seed": 6, "seconds": 0.05, "block_ms": 0.2, "k": 1, "min_rounds": 4, "user_path": None,
           "reference": "jsonify_tuple", "pairing": "shuffled"}
    found = payload_worker.measure(job)
    per_call, paired = np.asarray(found["per_call_ns"]), np.asarray(found["paired_reference_ns"])
    assert found["pairing"] == "shuffled" and found["repeats"] == [1, 1, 1] and found["rounds"] >= 4
    assert (paired == per_call[:, [0]]).all()  # every subject against the reference's block of its round
    assert not (per_call[:, 1] == per_call[:, 0]).all()  # the A/A app is timed on its own
    # an entry whose subjects take longer than round_ms together is timed every stride-th round only (null between)
    strided = payload_worker.measure({**job, "subjects": job["subjects"] + [["jsonify_tuple", "size_10kb"]],
                                      "round_ms": 0.05})
    rows = strided["per_call_ns"]
    assert strided["strides"]["size_10kb"] > 1
    timed = [row[3] is not None for row in rows]
    assert 4 <= sum(timed) < len(rows)  # at least min_rounds of it, fewer than all rounds
    assert all((row[3] is None) == (ref[3] is None) for row, ref in zip(rows, strided["paired_reference_ns"]))


def test_the_aa_subject_gives_the_reference_its_aa_check_and_is_no_idiom():
    sizes_kb = {"size_100b": 0.1, "size_10kb": 10.0}
    truth = {"jsonify_tuple": (40.0, 12.0), cost.AA: (40.0, 12.0), "dear": (44.0, 12.0)}
    found = cost.analyse(synthetic_workers(truth, sizes_kb), [(n, e) for n in truth for e in sizes_kb], sizes_kb, cost.FULL)
    assert cost.AA not in found["cost"] and cost.AA not in found["fits"]
    assert not any(cost.AA in order for order in found["ranking"].values())
    for e in sizes_kb:
        lo, hi = found["cost"]["jsonify_tuple"][e]["aa_pct"]["ci95"]
        assert lo <= 0 <= hi and hi - lo < 1
    planted = cost.analyse(synthetic_workers({**truth, cost.AA: (42.0, 12.0)}, sizes_kb),
                           [(n, e) for n in truth for e in sizes_kb], sizes_kb, cost.FULL)
    assert planted["cost"]["jsonify_tuple"]["size_100b"]["aa_pct"]["estimate"] == pytest.approx(100 * 2 / 41.2, abs=0.3)


# --- the report ---------------------------------------------------------------------------------

def fake_payloads(names=None) -> dict:
    """A payloads.json with known figures: every idiom ok on the sizes, jsonify_tuple's bytes on its equals;
    response_class raising on datetimes; orjson_response cheaper by a known amount that grows with size."""
    names = list(names or REGISTRY)
    sizes_kb = {"size_100b": 0.114, "size_10kb": 9.9, "size_100kb": 99.9}
    corpus = {e: {"size_bytes": int(kb * 1000), "source": "builtin", "kind": "size", "rule": "exact", "need": None,
                  "what": "user records"} for e, kb in sizes_kb.items()}
    corpus["datetime_aware"] = {"size_bytes": 34, "source": "builtin", "kind": "type", "rule": "instant",
                                "need": "datetimes", "what": "an aware datetime"}
    corpus["orders"] = {"size_bytes": 2048, "source": "user", "kind": "user", "rule": "exact", "need": None,
                        "what": "your payload"}

    def cell(status, same=True, detail="{}"):
        return {"status": status, "detail": detail, "http_status": 500 if status == "error" else 200,
                "content_type": "application/json", "content_length": 2, "body_bytes": 2,
                "same_bytes": None if status == "error" else same, "parses_as_reference": status == "ok",
                "strict_json": True, "client_got_500": status == "error", "exception": None, "body_sha256": "0"}

    cells, cost_cells, fits = {}, {}, {}
    for n in names:
        cells[n] = {e: cell("ok", same=n not in ("orjson_response", "response_class")) for e in corpus}
        cost_cells[n] = {}
        for e, kb in list(sizes_kb.items()) + [("orders", 2.048)]:
            us = 40 + 12 * kb
            d = -0.9 * 11 * kb if n == "orjson_response" else 0.0
            verdict = "reference" if n == "jsonify_tuple" else ("cheaper" if d < 0 else "equivalent")
            cost_cells[n][e] = {"us": {"estimate": us + d, "ci95": [us + d - 1, us + d + 1]},
                                "delta_us": {"estimate": round(d, 3), "ci95": [round(d - 0.5, 3), round(d + 0.5, 3)],
                                             "ci90": [d - 0.4, d + 0.4], "verdict": verdict, "margin": 0.01 * us},
                                "delta_pct": {"estimate": round(100 * d / us, 2), "ci95": [0, 0]}, "ci_pct_of_cost": 1.0}
        fits[n] = {"fixed_us": {"estimate": 40.0, "ci95": [39.0, 41.0]},
                   "per_kb_us": {"estimate": 1.1 if n == "orjson_response" else 12.0, "ci95": [1.0, 13.0]},
                   "sizes": list(sizes_kb)}
    cells["response_class"]["datetime_aware"] = cell("error", detail="TypeError: Object of type datetime is not JSON "
                                                                     "serializable; the client got a 500")
    return {"schema": cost.SCHEMA, "mode": "full", "seed": 1, "started": "2026-11-25T10:00:00+00:00", "wall_s": 150.0,
            "environment": {}, "reference": "jsonify_tuple", "user_path": "/tmp/responses", "what": "synthetic",
            "rules": {k: text for k, (text, _) in types.RULES.items()}, "needs": types.NEEDS,
            "classes": {k: list(v) for k, v in cost.PAYLOAD_CLASSES.items()}, "corpus": corpus, "cells": cells,
            "cost": cost_cells, "fits": fits,
            "ranking": {e: ["orjson_response"] + [n for n in names if n != "orjson_response"] for e in sizes_kb},
            "ranking_changes": [], "margin_definition": "±1%", "not_timed": [],
            "config": {"sizes_kb": sizes_kb}, "targets": {"mode": "full", "ci95_half_width_pct_of_cost": {
                "target": 2.0, "worst": 1.0, "where": "x on size_100b", "met": True}}, "warnings": []}


def render_section(folder: Path, charts: bool = True) -> str:
    from reports.context import Context
    from reports.data import Results
    from reports.document import to_markdown
    from reports.sections import SECTIONS
    from reports.sections import payloads as section

    ctx = Context(Results(folder), folder, SECTIONS)
    if not charts:
        ctx.chart = lambda *args, **kwargs: None
    return to_markdown(section.build(ctx))


def test_the_section_says_how_the_shared_young_counts_were_checked(tmp_path):
    from harness.results import write_json

    write_json(tmp_path / "payloads.json", fake_payloads())  # a run from before they were shared: nothing said
    assert "counted by the first worker" not in render_section(tmp_path, charts=False)
    write_json(tmp_path / "payloads.json", {**fake_payloads(), "young_counts": {
        "counted_by": "the first worker", "rechecked": 128, "differ_count": 0, "differ": []}})
    assert "the later workers recounted 128 subjects of their choosing: all agreed." in render_section(tmp_path, charts=False)


def test_the_section_shows_the_type_table_the_cost_the_verdicts_and_your_payloads(tmp_path):
    from harness.results import write_json

    write_json(tmp_path / "payloads.json", fake_payloads())
    md = render_section(tmp_path)
    (row,) = [x for x in md.splitlines() if x.startswith("| `datetime_aware` |")]
    assert "**500**" in row and "same" in row
    assert "TypeError: Object of type datetime" in md
    assert (tmp_path / "charts" / "payloads_cost.png").exists()
    (line,) = [x for x in md.splitlines() if x.startswith("- **large")]
    assert "cheaper: `orjson_response` (-82% to -82%)" in line or "cheaper: `orjson_response`" in line
    assert "equivalent: " in line
    (need,) = [x for x in md.splitlines() if x.startswith("- **datetimes and dates**")]
    assert "all raise (500): `response_class`." in need and "all the same values, other bytes: `orjson_response`" in need
    (mine,) = [x for x in md.splitlines() if x.startswith("| `orders` |")]
    assert "2,048" in mine and "`orjson_response` -20.3 ± 0.5 µs cheaper" in mine


def test_the_section_shows_instructions_against_size_beside_the_time(tmp_path):
    """counts.json's ``sizes`` (make count) in the payload section: millions of instructions, Δ %, and the µs timed."""
    from harness.results import write_json

    write_json(tmp_path / "payloads.json", fake_payloads())
    md = render_section(tmp_path, charts=False)
    assert "Not counted: `make count`" in md
    sizes = {"jsonify_tuple": {"size_100b": {"instructions": 800_000.0, "delta_pct": 0.0, "raw": [1, 0, 0], "n": 2},
                               "size_100kb": {"instructions": 9_000_000.0, "delta_pct": 0.0, "raw": [1, 0, 0], "n": 2}},
             "orjson_response": {"size_100b": {"instructions": 700_000.0, "delta_pct": -12.5, "raw": [1, 0, 0], "n": 2},
                                 "size_100kb": {"instructions": 1_800_000.0, "delta_pct": -80.0, "raw": [1, 0, 0], "n": 2}}}
    write_json(tmp_path / "counts.json", {"schema": "flask-json-idioms/counts/2", "status": "ok", "variants": {},
                                          "sizes": sizes, "started": "2026-11-25T10:00:00+00:00"})
    md = render_section(tmp_path, charts=False)
    (row,) = [x for x in md.splitlines() if x.startswith("| `orjson_response` |") and " M" in x]
    assert row.split("|")[2].strip() == "0.70 M (-12.5%); 40.2 µs"  # 40 + 12 x 0.114 - 0.9 x 11 x 0.114
    assert "1.80 M (-80.0%)" in row.split("|")[3]
    (ref,) = [x for x in md.splitlines() if x.startswith("| `jsonify_tuple` |") and " M" in x]
    assert ref.split("|")[3].strip().startswith("9.00 M;")


def test_the_section_says_what_is_missing_without_payloads_json(tmp_path):
    md = render_section(tmp_path)
    assert "**Missing:**" in md and "make payloads" in md


def test_the_decision_table_gains_the_payload_columns(tmp_path):
    from harness.results import write_json
    from reports.data import Results
    from reports.sections.payloads import decision_columns

    assert decision_columns(Results(tmp_path)) is None
    write_json(tmp_path / "payloads.json", fake_payloads())
    found = decision_columns(Results(tmp_path))
    assert found["response_class"][0].startswith("0/1 (raises on datetime_aware)")
    assert found["jsonify_tuple"][1] == "no (reference)" and found["orjson_response"][1] == "yes, on 5 of the 5 entries both serve"
    assert found["orjson_response"][2] == "-98.0 ± 0.5 µs cheaper" and found["dict_return"][2].startswith("+0.0")


def test_every_subject_of_an_entry_whose_reference_body_passes_the_threshold_is_warmed_before_its_blocks():
    """By the reference's body, not the subject's: orjson_response's body on the 1 MB entry is as long, but an
    idiom that failed to shrink it must not change which entries are warmed. As many calls as last WARM_MS, at
    least one."""
    from bench.payload_worker import WARM_BODY_BYTES, WARM_MS, warm_before

    keys = [("jsonify_tuple", "big"), ("orjson_response", "big"), ("json_provider", "big"),
            ("jsonify_tuple", "small"), ("plain_string", "small")]
    reference = {"big": 0, "small": 3}
    bodies = [WARM_BODY_BYTES, 100, WARM_BODY_BYTES, WARM_BODY_BYTES - 1, 10 * WARM_BODY_BYTES]
    ms = 1e6
    call_ns = [3 * WARM_MS * ms, WARM_MS / 7.5 * ms, WARM_MS / 2 * ms, 1 * ms, 1 * ms]
    assert warm_before(keys, bodies, reference, call_ns) == [1, 8, 2, 0, 0]


def test_a_large_body_is_timed_right_after_untimed_requests_of_the_same_subject(tmp_path, monkeypatch):
    """The worker's calls in order: in the kept rounds, each block of the warmed subject is w untimed calls (as many as
    the worker says) and then w timed ones, back to back; the small entry is called only as often as it is timed;
    page faults are counted per subject."""
    from bench import payload_worker

    (tmp_path / "big.json").write_text(json.dumps([{"id": i, "name": "x" * 40} for i in range(3000)]))  # ~180 KB
    log = []
    real = payload_worker.dispatch_call

    def logged(app, environ):
        call, key = real(app, environ), (id(app), environ["PATH_INFO"])

        def wrapped():
            log.append(key)
            return call()
        return wrapped

    monkeypatch.setattr(payload_worker, "dispatch_call", logged)
    job = {"subjects": [["jsonify_tuple", "big"], ["jsonify_tuple", "size_100b"]], "index": 0, "seed": 3,
           "seconds": 0.05, "block_ms": 0.2, "k": 1, "min_rounds": 4, "user_path": str(tmp_path / "big.json"),
           "reference": "jsonify_tuple", "pairing": "shuffled", "round_ms": 1e6}
    found = payload_worker.measure(job)
    w, n = found["warm_before"][0], found["calls_per_block"][0]
    assert w >= 1 and found["warm_before"][1] == 0 and n == w
    timed = int(sum(found["requests"][:1]))
    rounds_part = log[len(log) - (w + n) * timed // n - int(found["requests"][1]):]  # the kept rounds come last
    big = next(k for k in log if k[1].endswith("/big"))
    runs, previous, length = [], None, 0
    for key in rounds_part:
        if key == previous:
            length += 1
        else:
            if previous == big:
                runs.append(length)
            previous, length = key, 1
    if previous == big:
        runs.append(length)
    # every block of the big entry is w + n calls back to back (a round may end with one and the next start with one)
    assert runs and all(r % (w + n) == 0 for r in runs) and sum(runs) == (w + n) * timed // n, (runs, w, n)
    assert len(found["page_faults"]) == 2 and all(isinstance(f, int) and f >= 0 for f in found["page_faults"])


def test_page_faults_per_request_is_the_median_over_workers_of_each_ones_rate():
    from bench.payload_cost import faults_per_request

    keys = [["a", "e"], ["b", "e"]]
    workers = [{"keys": keys, "requests": [10, 10], "page_faults": [100, 0]},
               {"keys": keys, "requests": [20, 5], "page_faults": [400, 5]},
               {"keys": keys, "requests": [4, 4], "page_faults": [48, 0]}]
    assert faults_per_request(workers, ("a", "e")) == 12.0  # rates 10, 20, 12
    assert faults_per_request(workers, ("b", "e")) == 0.0
    assert faults_per_request([{"keys": keys, "requests": [1, 1]}], ("a", "e")) is None


def test_the_report_says_how_large_bodies_were_timed_and_names_the_idioms_that_fault():
    from reports.sections.payloads import large_bodies

    p = {"config": {"warm_body_bytes": 131072, "warm_ms": 10.0},
         "cost": {"jsonify_tuple": {"size_1mb": {"page_faults_per_request": 0.4}},
                  "orjson_provider": {"size_1mb": {"page_faults_per_request": 942.0}},
                  "dict_return": {"size_1mb": {"page_faults_per_request": 515.2}}}}
    names = ["jsonify_tuple", "dict_return", "orjson_provider"]
    [para] = large_bodies(p, names, ["size_100b", "size_1mb"])
    assert "128 KiB or more" in para.text and "`size_1mb`" in para.text and "at least 10 ms of untimed" in para.text
    [before] = large_bodies({**p, "config": {"warm_body_bytes": 131072}}, names, ["size_100b", "size_1mb"])
    assert "follows one untimed request" in before.text  # a run from before the warm time was recorded
    assert para.text.index("`orjson_provider` 942") < para.text.index("`dict_return` 515")  # most first
    assert "`jsonify_tuple`" not in para.text and "every other idiom fewer than 10" in para.text
    assert large_bodies({**p, "config": {}}, names, ["size_1mb"]) == []  # a run from before: nothing said
