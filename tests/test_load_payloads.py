"""The load stage's payload mode (issue 14: every idiom over HTTP at 1 KB and 100 KB): the payload apps mounted
beside the variants, the locustfile's checks and turns, the analysis on synthetic samples with known answers (a
speed that jumps between two levels, as a shared machine's did), the copy into payloads.json, the report
section's HTTP table, and a short real run."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from werkzeug.test import Client

import payloads
from bench import payload_cost as cost
from bench import payload_semantics as semantics
from harness.cli import UsageError
from harness.results import read_json, write_json
from loadtests import analysis, mount, run
from variants import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = ["size_1kb", "size_100kb"]


# --- the mount ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mounted():
    return Client(mount.create_load_app(None, ",".join(ENTRIES)))


@pytest.fixture(scope="module")
def table():
    corpus = payloads.corpus(sizes=ENTRIES)
    return semantics.table(list(REGISTRY), {e: corpus[e] for e in ENTRIES})


@pytest.mark.parametrize("name", [*REGISTRY, mount.REFERENCE])
def test_every_variant_and_the_reference_serve_the_payload_route_with_the_test_clients_bytes(mounted, table, name):
    for entry in ENTRIES:
        response = mounted.get(f"/{mount.payload_target(name)}/api/payload/{entry}")
        expected = table[mount.PLANTED_IDIOM if name == mount.REFERENCE else name][entry]
        assert response.status_code == expected["http_status"] == 200
        assert response.headers["Content-Type"] == expected["content_type"]
        assert len(response.data) == expected["body_bytes"] > (50_000 if entry == "size_100kb" else 500)
        assert hashlib.sha256(response.data).hexdigest() == expected["body_sha256"]
        assert response.headers["Server-Timing"].startswith("app;dur=")


def test_the_payload_apps_are_mounted_only_when_asked_and_the_contract_routes_stay(mounted):
    assert mounted.get("/jsonify_tuple/api/status").status_code == 200
    assert mounted.get("/jsonify_tuple~payload/api/status").status_code == 200  # the variant's own app, one route added
    assert mounted.get("/jsonify_tuple~payload/api/payload/size_10kb").status_code == 404  # not asked for
    plain = Client(mount.create_load_app("jsonify_tuple", ""))
    assert plain.get("/jsonify_tuple~payload/api/payload/size_1kb").status_code == 404


def test_an_unknown_payload_entry_is_a_usage_error():
    with pytest.raises(UsageError, match="LOAD_PAYLOADS='size_1kb,nope'.*nope"):
        mount.payload_entries("size_1kb,nope")
    assert mount.payload_entries(" size_1kb, size_100kb,size_1kb ") == ENTRIES


def test_your_own_payloads_are_served_and_expected_over_http_by_their_file_names(tmp_path, monkeypatch):
    orders = [{"id": i, "customer": "Zoë", "total": 12.5 * i, "lines": [{"sku": f"A-{i}", "qty": 2}]} for i in range(30)]
    (tmp_path / "orders.json").write_text(json.dumps(orders))
    monkeypatch.setenv("PAYLOADS", str(tmp_path / "orders.json"))
    entries = mount.payload_entries("size_1kb,orders")
    assert entries == ["size_1kb", "orders"]
    app = Client(mount.create_load_app("jsonify_tuple,orjson_response", ",".join(entries)))
    for name in ("jsonify_tuple", "orjson_response", mount.REFERENCE):
        response = app.get(f"/{mount.payload_target(name)}/api/payload/orders")
        assert response.status_code == 200 and json.loads(response.data) == orders
    served, left_out, path, phases = run.payload_expectations(["jsonify_tuple", "orjson_response"], entries,
                                                              tmp_path / "out")
    assert served == ["jsonify_tuple", "orjson_response"] and not left_out and len(phases) == 2
    expected = read_json(path)
    body = app.get(f"/{mount.payload_target('orjson_response')}/api/payload/orders").data
    assert expected[mount.payload_target("orjson_response")]["orders"]["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert expected[mount.payload_target(mount.REFERENCE)]["orders"] == expected[mount.payload_target("jsonify_tuple")]["orders"]


def test_your_payload_over_http_needs_payloads_and_a_name_a_url_can_carry(tmp_path, monkeypatch):
    monkeypatch.delenv("PAYLOADS", raising=False)
    with pytest.raises(UsageError, match="unknown payload entry orders.*your own with PAYLOADS=path"):
        mount.payload_entries("orders")
    (tmp_path / "my orders.json").write_text("[1, 2]")
    (tmp_path / "users.json").write_text("[3]")
    monkeypatch.setenv("PAYLOADS", str(tmp_path))
    with pytest.raises(UsageError, match="unknown payload entry orders.*yours \\(my orders, users\\)"):
        mount.payload_entries("orders")
    with pytest.raises(UsageError, match="'my orders': over HTTP an entry's name is part of the URL; rename the file"):
        mount.payload_entries("users,my orders")
    assert mount.payload_entries("users,size_1kb") == ["users", "size_1kb"]


def test_a_bad_load_payloads_exits_2_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "loadtests.payloads_http"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "LOAD_PAYLOADS": "size_2kb"})
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "size_2kb" in done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


def test_runs_too_short_for_every_entry_to_get_a_whole_turn_are_refused_before_they_start(tmp_path):
    """4 s runs: 1.5 s of warm-up leave 2.5 s, less than a cycle of turns (0.81 + 2.29 s): a process could see 1 KB for a
    sliver only, and the analysis refuse the run after it ran (seen once in a fresh clone)."""
    done = subprocess.run([sys.executable, "-m", "loadtests.payloads_http"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "QUICK": "1",
                                           "LOAD_SECONDS": "4", "VARIANTS": "orjson_response"})
    assert done.returncode == 2 and done.stderr.startswith("error: LOAD_SECONDS=4: the payload mode needs at least 5.")
    assert "Traceback" not in done.stderr and not (tmp_path / "load_payloads.json").exists()


def test_make_load_is_never_switched_to_the_payload_mode_by_the_environment(tmp_path):
    """loadtests.run (make load, the load stage, make deploy's runs) reads its own options, whatever LOAD_PAYLOADS says."""
    done = subprocess.run([sys.executable, "-m", "loadtests.run"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "LOAD_PAYLOADS": "size_2kb",
                               "VARIANTS": "nope"})
    assert done.returncode == 2 and "nope" in done.stderr and "size_2kb" not in done.stderr


# --- the locustfile (in a subprocess: importing locust monkey-patches the process with gevent) -----------

LOCUSTFILE_CHECK = r"""
import json, sys
sys.path.insert(0, "loadtests")
import locustfile as lf
ok = {"Content-Type": "application/json", "Content-Length": "5"}
print(json.dumps({
    "phases": [lf.phase_entry(t) for t in (0.0, 0.4, 0.5, 2.9, 3.0, 3.4)],
    "good": lf.payload_deviations("jsonify_tuple~payload", "size_1kb", 200, ok, b"[1,2]"),
    "short": lf.payload_deviations("jsonify_tuple~payload", "size_1kb", 200, ok, b"[1,"),
    "status": lf.payload_deviations("jsonify_tuple~payload", "size_1kb", 500, ok, b"[1,2]"),
    "html": lf.payload_deviations("jsonify_tuple~payload", "size_1kb", 200,
                                  {"Content-Type": "text/html; charset=utf-8"}, b"[1,2]"),
    "other_bytes": lf.payload_deviations("jsonify_tuple~payload", "size_1kb", 200, ok, b"[1,3]"),
    "scenarios": lf.SCENARIOS}))
"""


def test_the_locustfile_checks_every_payload_body_and_gives_the_entries_their_turns(tmp_path):
    expected = {"jsonify_tuple~payload": {e: {"content_type": "application/json", "body_bytes": 5,
                                              "body_sha256": hashlib.sha256(b"[1,2]").hexdigest()} for e in ENTRIES}}
    write_json(tmp_path / "expected.json", expected)
    done = subprocess.run([sys.executable, "-c", LOCUSTFILE_CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LOAD_TARGETS": "jsonify_tuple~payload", "LOAD_PAYLOADS": ",".join(ENTRIES),
                               "LOAD_PAYLOAD_EXPECT": str(tmp_path / "expected.json"), "LOAD_PAYLOAD_PHASE_S": "0.5,2.5"})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["scenarios"] == ENTRIES
    assert found["phases"] == [0, 0, 1, 1, 0, 0]  # 0.5 s of size_1kb, 2.5 s of size_100kb, again
    assert found["good"] == []
    assert any("not read to the end" in d for d in found["short"])
    assert any("HTTP 500" in d for d in found["status"])
    assert any("Content-Type 'text/html" in d for d in found["html"])
    assert any("not the 5 bytes" in d for d in found["other_bytes"])


def test_the_turns_are_longer_for_a_larger_body():
    short, long = run.phase_lengths([900, 111_674])
    assert 0.7 < short < 0.9 and 2 < long < 3


# --- the analysis ---------------------------------------------------------------------------------

# app CPU (µs) of jsonify_tuple on each entry, and what each synthetic variant adds to it: the answers
BASE = {"size_1kb": 400.0, "size_100kb": 5000.0}
PLANTED = {"jsonify_tuple": {}, "fast": {"size_1kb": -80.0, "size_100kb": -3800.0},
           "dear": {"size_1kb": 0.0, "size_100kb": 300.0}, mount.REFERENCE: {}}
MOUNTED = [mount.payload_target(n) for n in PLANTED]


def synthetic_payload_run(seed: int, seconds: float = 12.0, rate: float = 400.0, noise: float = 0.05,
                          jump: float = 0.8, layout: float = 0.005) -> dict:
    """One server process's samples: requests in a random target order at ``rate`` per second, the entries taking
    turns (1 s of size_1kb, 2 s of size_100kb); each request's CPU = (base + planted) x this process's layout factor
    for the target x noise, plus ``jump`` x the entry's base while the machine is slow: it turns slow and fast again
    every few tenths of a second (what a shared machine did to 100 KB bodies, 2026-11-27: ~3 and ~5.5 ms), the same
    for every target, so the planted differences are the answers whatever the machine did."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.sort(rng.uniform(0, seconds, n))
    entry = (t % 3.0 >= 1.0).astype(int)
    target = rng.integers(0, len(MOUNTED), n)
    edges = np.cumsum(rng.exponential(0.4, 200))
    slow = (np.searchsorted(edges, t) % 2).astype(bool)
    names = list(PLANTED)
    base = np.array([BASE[ENTRIES[e]] for e in entry])
    plus = np.array([PLANTED[names[i]].get(ENTRIES[e], 0.0) for i, e in zip(target, entry)])
    factor = rng.normal(1, layout, len(MOUNTED))[target]
    cpu = (base + plus) * factor * rng.lognormal(0, noise, n) + jump * base * slow
    samples = np.column_stack([t, target, entry, cpu * 1.01, cpu, np.full(n, 2.0)])
    stats = {f"{m} {e}": {"requests": int(np.sum((target == i) & (entry == k))), "failures": 0, "rps": 1.0,
                          "p50_ms": 1, "p95_ms": 2, "p99_ms": 3}
             for i, m in enumerate(MOUNTED) for k, e in enumerate(ENTRIES)}
    return {"samples": {"targets": MOUNTED, "scenarios": ENTRIES, "samples": samples.tolist()}, "from": 1.0,
            "to": seconds - 0.5, "seconds": seconds, "server_cpu_s": float(cpu.sum()) * 1.2e-6,
            "rss_bytes": [100] * 4, "stats": stats, "generator_cpu": 0.5, "server_cpu": 0.9, "steal_fraction": 0.0,
            "files": []}


@pytest.fixture(scope="module")
def synthetic_runs():
    return [synthetic_payload_run(seed) for seed in (1, 2, 3, 4, 5, 6)]


@pytest.fixture(scope="module")
def analysed(synthetic_runs):
    return analysis.analyse_payloads(synthetic_runs, 5, np.random.default_rng(0))


def test_the_analysis_recovers_planted_differences_per_entry_through_a_jumping_speed(analysed, synthetic_runs):
    targets = analysed["targets"]
    for name in ("fast", "dear"):
        for entry in ENTRIES:
            d = targets[name]["delta_us"][entry]
            truth = PLANTED[name].get(entry, 0.0)
            lo, hi = d["ci95"]
            assert lo <= truth <= hi, (name, entry, d)
            assert hi - lo < 0.1 * BASE[entry], (name, entry, d)  # the jumps (80% of it) cancel within a window
            assert len(d["per_process"]) == 6
    assert targets["fast"]["delta_us"]["size_100kb"]["verdict"] == "cheaper"
    assert targets["dear"]["delta_us"]["size_100kb"]["verdict"] == "dearer"
    assert targets["dear"]["delta_us"]["size_1kb"]["verdict"] in ("equivalent", "unresolved")
    assert targets["jsonify_tuple"]["delta_us"]["size_1kb"]["verdict"] == "reference"
    assert "delta_us" not in targets["reference"]  # the A/A instance is a control, not an idiom
    for entry in ENTRIES:
        aa = analysed["delta"]["aa"][entry]
        assert aa["ci95"][0] <= 0 <= aa["ci95"][1]
        assert analysed["delta"]["margin_us"][entry] == pytest.approx(0.01 * analysed["delta"]["request_us"][entry], abs=1e-3)
    # the median app CPU of jsonify_tuple on each entry, slowed by the jumps on part of its requests
    assert BASE["size_100kb"] < analysed["delta"]["request_us"]["size_100kb"] < 1.8 * BASE["size_100kb"]


def test_long_windows_would_not_cancel_the_jumps(analysed, synthetic_runs):
    """The same samples in 3 s windows: the intervals are several times wider (why the payload mode pairs in 0.1 s)."""
    short = analysed
    long = analysis.analyse_payloads(synthetic_runs, 5, np.random.default_rng(0), window_s=3.0)
    width = {k: np.diff(r["targets"]["dear"]["delta_us"]["size_100kb"]["ci95"])[0] for k, r in (("short", short),
                                                                                                  ("long", long))}
    assert width["long"] > 2 * width["short"], width


def test_a_run_without_jsonify_tuple_or_with_too_few_requests_is_a_server_error():
    from loadtests.server import ServerError

    thin = synthetic_payload_run(1, rate=5.0)
    with pytest.raises(ServerError, match="too few requests"):
        analysis.analyse_payloads([thin, synthetic_payload_run(2, rate=5.0)], 5, np.random.default_rng(0))
    other = synthetic_payload_run(1)
    other["samples"]["targets"] = ["a~payload", "b~payload", "c~payload", "d~payload"]
    with pytest.raises(ServerError, match="no jsonify_tuple"):
        analysis.analyse_payloads([other], 5, np.random.default_rng(0))


def test_the_summary_reports_the_delta_and_checks_its_width_against_the_entry(analysed):
    result = {"status": "ok", "warnings": [], "wall_s": 30.0,
              "shapes": {"closed": {"status": "ok", "failures": 0, "files": [], "bottleneck": {"verdict": "server"},
                                    "windows_planned": 1, "windows_used": 1, **analysed}}}
    run.summarise_payloads(run.PAYLOAD_FULL, result)
    assert set(result["delta"]) == {"jsonify_tuple", "fast", "dear"}
    assert result["delta"]["fast"]["size_100kb"]["verdict"] == "cheaper"
    widest = result["targets"]["delta_ci95_half_width_pct"]
    assert widest["value"] == pytest.approx(max(
        50 * (d["ci95"][1] - d["ci95"][0]) / result["request_us"][e]
        for n, per in result["delta"].items() for e, d in per.items() if d["verdict"] != "reference"), abs=0.01)
    assert widest["met"] == (widest["value"] <= run.PAYLOAD_FULL.target_ci_pct)
    assert result["primary_shape"] == "closed" and result["aa"] == analysed["delta"]["aa"]


# --- the copy into payloads.json --------------------------------------------------------------------

def http_result(status="ok") -> dict:
    d = {"estimate": -3800.0, "ci95": [-3900.0, -3700.0], "ci90": [-3880.0, -3720.0], "verdict": "cheaper",
         "margin": 50.0, "per_process": [-3800.0] * 3, "minimum_detectable_us": 90.0}
    ref = {"estimate": 0.0, "ci95": [0.0, 0.0], "verdict": "reference"}
    return {"schema": run.PAYLOAD_SCHEMA, "status": status, "date": "2026-11-27T04:00:00+00:00", "mode": "quick",
            "wall_s": 33.0, "entries": ENTRIES, "reference": "jsonify_tuple", "what": "app CPU", "server": "gunicorn_sync",
            "phase_s": {"size_1kb": 0.52, "size_100kb": 2.36},
            "config": {"seconds": {"closed": 8}, "servers": {"closed": 3}, "users": 16},
            "delta": {"orjson_response": {e: d for e in ENTRIES}, "jsonify_tuple": {e: ref for e in ENTRIES}}
            if status == "ok" else {},
            "aa": {e: {**d, "estimate": 1.0, "verdict": "unresolved"} for e in ENTRIES} if status == "ok" else None,
            "request_us": {"size_1kb": 430.0, "size_100kb": 5000.0}, "margin_us": {"size_1kb": 4.3, "size_100kb": 50.0},
            "targets": {}, "warnings": [], "error": None if status == "ok" else "the server died"}


def test_merge_http_copies_the_delta_beside_the_in_process_cells_and_keeps_them(tmp_path):
    from tests.test_payloads import fake_payloads

    assert cost.merge_http(http_result(), out=tmp_path) is False  # no payloads.json: nothing written
    assert not (tmp_path / "payloads.json").exists()
    before = fake_payloads()
    write_json(tmp_path / "payloads.json", before)
    assert cost.merge_http(http_result(), out=tmp_path) is True
    after = read_json(tmp_path / "payloads.json")
    cell = after["cost"]["orjson_response"]["size_100kb"]
    assert cell["http"] == {"estimate": -3800.0, "ci95": [-3900.0, -3700.0], "verdict": "cheaper"}
    assert {k: v for k, v in cell.items() if k != "http"} == before["cost"]["orjson_response"]["size_100kb"]
    assert after["cost"]["orjson_response"]["size_1kb"] == {"http": cell["http"]}  # not timed in process (quick)
    assert after["http"]["status"] == "ok" and after["http"]["entries"] == ENTRIES
    assert after["http"]["aa"]["size_1kb"] == {"estimate": 1.0, "ci95": [-3900.0, -3700.0], "verdict": "unresolved"}
    assert "size_1kb 0.52 s" in after["http"]["method"]
    for key in ("cells", "corpus", "fits", "ranking", "config"):
        assert after[key] == before[key]

    assert cost.merge_http(http_result("failed"), out=tmp_path) is True  # a failed run: the block says so
    failed = read_json(tmp_path / "payloads.json")
    assert failed["http"]["status"] == "failed" and failed["http"]["error"] == "the server died"
    assert all("http" not in c for cells in failed["cost"].values() for c in cells.values())
    assert failed["cost"]["orjson_response"]["size_100kb"] == before["cost"]["orjson_response"]["size_100kb"]


def test_the_section_shows_the_http_delta_beside_the_in_process_one(tmp_path):
    from tests.test_payloads import fake_payloads, render_section

    write_json(tmp_path / "payloads.json", fake_payloads())
    md = render_section(tmp_path, charts=False)
    assert "Not measured in this run: `make payloads-http`" in md
    hint = "Your payloads (`orders`) were timed in process only; over HTTP too: `make payloads-http PAYLOADS="
    assert hint in md and "LOAD_PAYLOADS=size_1kb,orders`" in md
    cost.merge_http(http_result(), out=tmp_path)
    md = render_section(tmp_path, charts=False)
    assert "### Over HTTP" in md and "A/A check over HTTP" in md and hint in md  # the run timed size_1kb and size_100kb
    timed_yours = http_result()
    timed_yours["entries"] = [*ENTRIES, "orders"]
    cost.merge_http(timed_yours, out=tmp_path)
    assert hint not in render_section(tmp_path, charts=False)
    cost.merge_http(http_result(), out=tmp_path)
    (row,) = [x for x in md.splitlines() if x.startswith("| `orjson_response` |") and "not timed in process" in x]
    cells = [c.strip() for c in row.split("|")[2:-1]]
    assert cells[0] == "not timed in process" and cells[1].startswith("-3800.0 ± 100.0 µs cheaper")
    assert cells[2].startswith("-989.0") and cells[3].startswith("-3800.0 ± 100.0 µs cheaper")
    cost.merge_http(http_result("failed"), out=tmp_path)
    assert "the HTTP payload run failed: the server died" in render_section(tmp_path, charts=False)


# --- a short real run ------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_short_payload_run_measures_each_idiom_over_http_and_fills_payloads_json(tmp_path):
    from harness.schemas.load import LoadPayloadsResult
    from tests.test_load import ours
    from tests.test_payloads import fake_payloads

    write_json(tmp_path / "payloads.json", fake_payloads())
    done = subprocess.run([sys.executable, "-m", "loadtests.payloads_http"], cwd=ROOT, capture_output=True, text=True,
                          timeout=150, env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "QUICK": "1",
                                            "LOAD_SECONDS": "6", "LOAD_PROCESSES": "2",
                                            "VARIANTS": "orjson_response"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shape 1/1: closed, 2 x 6 s" in done.stdout and "s left" in done.stdout  # progress
    result = read_json(tmp_path / "load_payloads.json")
    assert result["schema"] == run.PAYLOAD_SCHEMA and result["status"] == "ok" and result["entries"] == ENTRIES
    assert set(result) <= set(LoadPayloadsResult.__annotations__) and "delta" in result  # the schema's keys
    assert result["variants"] == ["jsonify_tuple", "orjson_response"]  # the reference is always timed
    shape = result["shapes"]["closed"]
    assert shape["servers"] == 2 and shape["failures"] == 0
    for name in ("jsonify_tuple", "orjson_response", "reference"):
        for entry in ENTRIES:
            assert shape["targets"][name]["entries"][entry]["requests"] > 5
    # orjson writes 100 KB several times faster than jsonify: its Δ is negative whatever the machine is doing
    assert result["delta"]["orjson_response"]["size_100kb"]["estimate"] < 0
    assert set(result["aa"]) == set(ENTRIES)
    assert not (tmp_path / "load.json").exists()  # the load stage's results are not touched
    merged = read_json(tmp_path / "payloads.json")
    assert merged["cost"]["orjson_response"]["size_100kb"]["http"]["estimate"] == \
        result["delta"]["orjson_response"]["size_100kb"]["estimate"]
    assert merged["http"]["status"] == "ok"
    summary = read_json(tmp_path / "summary.json")
    assert summary["stages"][run.PAYLOAD_STAGE]["file"] == run.PAYLOAD_FILE
    assert (tmp_path / "load_payloads" / "closed_1_stats.csv").exists()
    assert ours(str(tmp_path)) == []


def test_an_entry_the_reference_cannot_serve_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "loadtests.payloads_http"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "LOAD_PAYLOADS": "size_1kb,mixed_keys",
                               "VARIANTS": "jsonify_tuple"})
    assert done.returncode == 2 and "jsonify_tuple, the reference of every Δ, does not serve" in done.stderr
    assert "mixed_keys: error, HTTP 500" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "load_payloads.json").exists() and not (tmp_path / "summary.json").exists()


def test_a_new_payloads_json_carries_the_last_http_run_and_says_when_it_started(tmp_path):
    """make payloads-http is a target of its own: the payloads stage that runs after it keeps its Δ."""
    from tests.test_payloads import fake_payloads

    write_json(tmp_path / "payloads.json", fake_payloads())
    assert cost.carry_http(out=tmp_path) is None  # no HTTP run: payloads.json as it was
    assert "http" not in read_json(tmp_path / "payloads.json")
    write_json(tmp_path / "load_payloads.json", http_result())
    assert cost.carry_http(out=tmp_path) == "2026-11-27T04:00:00+00:00"
    after = read_json(tmp_path / "payloads.json")
    assert after["http"]["started"] == "2026-11-27T04:00:00+00:00"
    assert after["cost"]["orjson_response"]["size_100kb"]["http"]["verdict"] == "cheaper"
