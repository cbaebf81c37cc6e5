"""``make count`` (bench.counts): the differential, the plan, the results' keys, the comparison with the published
counts, callgrind's profiles read and compared, the report section, the stage skipped without valgrind; and, where
valgrind is installed, two counts of the same request at the same seed and environment, which must be identical to
the instruction (and to the allocated block)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from bench import callgrind, counts
from bench import count_analysis as analysis
from bench import count_plan as plan
from bench import count_published as published
from bench.count_runner import Runner
from bench.count_worker import CLASSES
from harness import pipeline
from harness.results import ROOT, read_json
from reports.context import Context
from reports.data import Results
from reports.sections import counts as section

HEADLINE_KEYS = {"instructions", "delta_pct", "seed_spread_pct", "alloc_blocks", "alloc_bytes",
                 "gc_collections_per_1000", "gc_collected_per_1000"}


def test_the_classes_are_the_scenarios_and_the_admin_200():
    assert list(CLASSES) == ["success", "created", "unauthorized", "admin"]
    admin = CLASSES["admin"]
    assert (admin.method, admin.path, admin.case.who, admin.reply.status) == ("GET", "/api/admin", "admin", 200)
    assert admin.request_headers == {"Authorization": "Bearer admin-token"}


def forks(variant, plan):
    """Fork events as the worker writes them: ``plan`` is [(class or None, n, pid)] in order."""
    return [{"event": "fork", "variant": variant, "class": c, "n": n, "index": i, "pid": pid}
            for i, (c, n, pid) in enumerate(plan)]


def test_each_count_is_the_counting_process_less_the_mean_of_the_empty_ones_beside_it(tmp_path):
    # per request 1,000 on success and 3,000 on unauthorized; each fork adds 10 instructions to what follows
    raw = {1: 5_000_000, 2: 5_000_010 + 200 * 1000, 3: 5_000_020, 4: 5_000_030 + 200 * 3000, 5: 5_000_040}
    for pid, n in raw.items():
        (tmp_path / f"vg.{pid}").write_text(f"==1== I   refs:      {n:,}\n")
    events = forks("a", [(None, 0, 1), ("success", 200, 2), (None, 0, 3), ("unauthorized", 200, 4), (None, 0, 5)])
    cells = analysis.counted_cells({"events": list(reversed(events)), "folder": tmp_path})
    assert cells[("a", "success")]["instructions"] == 1000.0
    assert cells[("a", "unauthorized")]["instructions"] == 3000.0
    assert cells[("a", "success")]["raw"] == {"instructions": [raw[2], raw[1], raw[3]]}
    (tmp_path / "vg.5").unlink()  # a process whose count is missing leaves its cell out, never a wrong figure
    assert set(analysis.counted_cells({"events": events, "folder": tmp_path})) == {("a", "success")}


HEAP_LOG = """==7== Memcheck, a memory error detector
==7==
==7== HEAP SUMMARY:
==7==     in use at exit: 9,000 bytes in 90 blocks
==7==   total heap usage: {blocks:,} allocs, 99,000 frees, {bytes:,} bytes allocated
==7==
==7== ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)
"""


def test_allocations_per_request_are_memchecks_heap_totals_counted_the_same_way(tmp_path):
    # 12.5 blocks and 1,500 bytes per request over 40 requests; the empty processes differ by one block
    totals = {1: (100_000, 20_000_000), 2: (100_501, 20_060_000), 3: (100_002, 20_000_000)}
    for pid, (blocks, size) in totals.items():
        (tmp_path / f"vg.{pid}").write_text(HEAP_LOG.format(bytes=size, blocks=blocks))
    assert analysis.counted_in(tmp_path, 1) == {"blocks": 100_000, "bytes": 20_000_000}
    cells = analysis.counted_cells({"events": forks("a", [(None, 0, 1), ("success", 40, 2), (None, 0, 3)]),
                                    "folder": tmp_path})
    assert cells[("a", "success")]["blocks"] == 12.5 and cells[("a", "success")]["bytes"] == 1500.0
    assert cells[("a", "success")]["raw"]["blocks"] == [100_501, 100_000, 100_002]
    job = plan.Job("allocations", "memcheck", 0, [])
    assert job.environment()["PYTHONMALLOC"] == "malloc"  # every Python allocation is a heap block memcheck sees
    assert "--tool=memcheck" in plan.command("valgrind", job, tmp_path)
    assert "PYTHONMALLOC" not in plan.Job("headline", "cachegrind", 0, []).environment()  # counts keep pymalloc


def test_deltas_and_the_cells_chosen_for_attribution():
    ins = {("jsonify_tuple", "success"): 1000.0, ("jsonify_tuple", "unauthorized"): 2000.0,
           ("dear", "success"): 1010.0, ("dear", "unauthorized"): 2600.0, ("cheap", "success"): 900.0,
           ("cheap", "unauthorized"): 1900.0, ("same", "success"): 1015.0}
    d = analysis.deltas(ins)
    assert d[("dear", "unauthorized")] == 30.0 and d[("cheap", "success")] == -10.0 and d[("jsonify_tuple", "success")] == 0
    # one cell per idiom (its largest), largest first, over 2% only, at most the limit
    assert analysis.attribution_cells(ins, 5) == [("dear", "unauthorized"), ("cheap", "success")]
    assert analysis.attribution_cells(ins, 1) == [("dear", "unauthorized")]
    jobs = plan.plan_attribution(plan.FULL, analysis.attribution_cells(ins, 5), list(CLASSES))
    planned = {p["variant"]: p["classes"] for j in jobs for p in j.plan}
    assert planned == {"jsonify_tuple": ["success", "unauthorized"], "dear": ["unauthorized"], "cheap": ["success"]}
    assert all(j.tool == "callgrind" and j.seed == plan.HEADLINE_SEED for j in jobs)


@pytest.mark.parametrize("mode", [plan.FULL, plan.QUICK], ids=lambda m: m.name)
def test_the_plan_counts_and_allocates_every_cell_once_on_the_headline_seed_and_some_on_other_seeds(mode):
    names = ["jsonify_tuple", "dict_return", "abort_response"]
    headline, others = plan.plan_jobs(mode, names, list(CLASSES))
    every = sorted((n, c) for n in names for c in CLASSES)
    for jobs, tool in ((headline, "cachegrind"), ([j for j in others if j.kind == "allocations"], "memcheck")):
        assert sorted((p["variant"], c) for j in jobs for p in j.plan for c in p["classes"]) == every
        assert {j.seed for j in jobs} == {plan.HEADLINE_SEED} and {j.tool for j in jobs} == {tool}
    spread = [j for j in others if j.kind == "spread"]
    assert sorted(j.seed for j in spread) == sorted(mode.spread_seeds) and plan.HEADLINE_SEED not in mode.spread_seeds
    native = [j for j in others if j.kind == "native"]
    assert {j.tool for j in native} == {None} and sorted(p["variant"] for j in native for p in j.plan) == sorted(names)
    sizes = [j for j in others if j.kind == "sizes"]
    counted = sorted((p["variant"], c) for j in sizes for p in j.plan for c in p["classes"])
    size_names = [n for n in names if not mode.size_variants or n in mode.size_variants]
    assert counted == sorted((n, e) for n in size_names for e in mode.sizes) and len(mode.sizes) >= 3
    assert {j.tool for j in sizes} == {"cachegrind"} and {j.seed for j in sizes} == {plan.HEADLINE_SEED}
    lines = [json.loads(x) for j in sizes for x in j.worker_input().decode().splitlines()]
    assert all(x["payload"] is True and x["per_class_n"] == {e: mode.size_n[e] for e in mode.sizes} for x in lines)
    assert mode.size_n["size_100b"] > mode.size_n["size_100kb"] >= 1  # small bodies: more requests, cheap under valgrind
    assert not any("payload" in json.loads(x) for j in headline for x in j.worker_input().decode().splitlines())
    for job in headline + others:
        lines = job.worker_input().decode().splitlines()
        assert [json.loads(x)["variant"] for x in lines] == [p["variant"] for p in job.plan]
        assert job.timeout_s() > 60
    env = plan.fixed_environment(3)
    assert env["PYTHONHASHSEED"] == "3" and set(env) == {"PATH", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
                                                         "PYTHONPYCACHEPREFIX"}
    assert env["PYTHONPYCACHEPREFIX"] == str(plan.BYTECODE) and plan.BYTECODE.parent.name == ".cache"


def test_a_sizes_job_serves_the_payload_entries_through_the_payload_route():
    """The worker's payload app (bench.payload_semantics): each size entry's request answers 200 with its JSON."""
    import gc

    from bench import count_worker

    try:
        app, calls = count_worker.prepared_payloads("orjson_response", ["size_100b", "size_10kb"], warmup=1)
    finally:
        gc.unfreeze()
    assert list(calls) == ["size_100b", "size_10kb"]
    (line, small), (_, large) = calls["size_100b"](), calls["size_10kb"]()
    assert line.startswith("200") and json.loads(small)["count"] == 1 and 50 * len(small) < len(large) < 200 * len(small)


def test_a_full_run_spreads_over_three_seeds_and_a_quick_one_says_what_it_left_out():
    assert len(plan.FULL.spread_seeds) >= 3 and not plan.left_out(plan.FULL) and plan.FULL.attribution_cells
    assert len(plan.QUICK.spread_seeds) < 3 and plan.QUICK.n < plan.FULL.n and not plan.QUICK.attribution_cells
    assert plan.left_out(plan.QUICK) == [
        "the seed spread (a full run: seeds 1, 2, 3 on jsonify_tuple, abort_response, orjson_response, every class)",
        "the attribution (a full run profiles the largest differences under callgrind)",
        "instructions per payload size only on jsonify_tuple, dict_return, orjson_response at size_100b, size_10kb, "
        "size_100kb (a full run: size_100b, size_1kb, size_10kb, size_100kb, every idiom)",
        f"requests: {plan.QUICK.n} per count and {plan.QUICK.alloc_n} per allocation count (a full run: 200 and 40), so a count can differ from a "
        "full run's by a few tenths of a percent"]
    fewer = dataclasses.replace(plan.FULL, spread_seeds=(1,), spread_variants=("jsonify_tuple",))
    assert plan.left_out(fewer) == ["the seed spread only on jsonify_tuple, seed 1 (a full run: seeds 1, 2, 3 on "
                                    "jsonify_tuple, abort_response, orjson_response, every class)"]


def test_the_seed_spread():
    headline = {("a", "success"): 1000.0, ("b", "success"): 2000.0}
    spreads = {1: {("a", "success"): 1002.0}, 2: {("a", "success"): 999.0}, 3: {("a", "success"): 1001.0}}
    assert analysis.seed_spreads(headline, spreads) == {("a", "success"): 0.3}  # 1002 / 999; b not measured on them


NOW = {"a": {"success": {"instructions": 1006.0}, "admin": {"instructions": 500.0}},
       "b": {"success": {"instructions": 2004.0}, "unauthorized": {"instructions": 3000.0}}}
PUBLISHED = {"variants": {"a": {"success": {"instructions": 1000.0}, "admin": {"instructions": 500.0}},
                          "b": {"success": {"instructions": 2000.0}, "unauthorized": {"instructions": 3100.0}},
                          "gone": {"success": {"instructions": 1.0}}},
             "environment": {"git_commit": "abc1234", "python": "3.11.7"}, "mode": "full"}


def test_changes_beyond_half_a_percent_against_the_published_counts_are_flagged_by_idiom_and_class():
    found = published.compare_published(NOW, PUBLISHED, "full", {"python": "3.11.7"})
    assert found["compared"] == 4 and found["published_commit"] == "abc1234" and found["differs"] == []
    assert found["flagged"] == [  # a/success +0.6% and b/unauthorized -3.2%; b/success moved 0.2%, a/admin not at all
        {"variant": "a", "class": "success", "published": 1000.0, "now": 1006.0, "change_pct": 0.6},
        {"variant": "b", "class": "unauthorized", "published": 3100.0, "now": 3000.0, "change_pct": -3.226}]
    lines = published.published_lines(found)
    assert lines[0].startswith("against reports/published/counts.json (commit abc1234, full run): 4 cells compared, "
                               "2 moved more than 0.5%")
    assert lines[1:] == ["changed: a on success: 1,000 -> 1,006 instructions (+0.60%)",
                         "changed: b on unauthorized: 3,100 -> 3,000 instructions (-3.23%)"]
    # what moves counts besides the code is named beside the changes
    found = published.compare_published(NOW, PUBLISHED, "quick", {"python": "3.12.1"})
    assert found["differs"] == ["python", "mode"] and "differs from it in python, mode" in published.published_lines(found)[0]


def test_without_published_counts_make_count_says_so_in_one_line(tmp_path, capsys):
    found = published.compare_published(NOW, None, path=tmp_path / "counts.json")
    assert found["file"] is None and found["flagged"] == [] and found["compared"] == 0
    assert published.published_lines(found) == [f"no published counts to compare with ({tmp_path / 'counts.json'} is absent)"]
    data = fake_counts()
    data["published"] = published.compare_published(data["variants"], None)
    counts.print_summary(data)
    said = [line for line in capsys.readouterr().out.splitlines() if "published" in line]
    assert said == ["  no published counts to compare with (reports/published/counts.json is absent)"]


def fake_counts(status="ok") -> dict:
    classes = list(CLASSES)
    figures = {"jsonify_tuple": 770_000.0, "abort_response": 1_020_000.0, "orjson_response": 720_000.0}
    variants = {n: {c: {"instructions": x + i, "delta_pct": round(100 * ((x + i) / (770_000.0 + i) - 1), 3),
                        "seed_spread_pct": 0.2 if n == "jsonify_tuple" else None, "alloc_blocks": 62.0,
                        "alloc_bytes": 4500.0, "peak_bytes": 4900.0, "gc_collections_per_1000": [10.0, 0.5, 0.0],
                        "gc_collected_per_1000": 7900.0, "raw": [1, 2, 3], "n": 200,
                        "alloc_raw": {"blocks": [1, 2, 3], "bytes": [4, 5, 6]}, "alloc_n": 40}
                    for i, c in enumerate(classes)} for n, x in figures.items()}
    variants["abort_response"]["unauthorized"]["alloc_blocks"] = 171.0
    return {"schema": plan.SCHEMA, "status": status, "mode": "full", "started": "2026-01-01T00:00:00+00:00",
            "wall_s": 100.0, "what": "instructions", "reference": "jsonify_tuple",
            "classes": {c: {} for c in classes}, "variants": variants,
            "config": {"n": 200, "headline_seed": 0, "attribute_pct": 2.0, "change_pct": 0.5},
            "environment": {"process_environment": plan.fixed_environment(0)}, "left_out": [],
            "seed_spread": {"seeds": [0, 1, 2, 3], "cells": ["jsonify_tuple/success"], "max_pct": 0.2},
            "attribution": [{"variant": "abort_response", "class": "unauthorized", "delta_pct": 32.5, "difference": 250_000.0,
                             "functions": [{"function": "visit_decref", "instructions": 6000.0, "share_pct": 2.4, "calls": 480.0}],
                             "files": [{"file": "Modules/gcmodule.c", "role": "garbage collection", "instructions": 18000.0,
                                        "share_pct": 7.2}],
                             "bytecode": {"instructions": 57000.0, "share_pct": 22.8},
                             "python_calls": [{"function": "flask/app.py:744(handle_http_exception)", "calls": 1.0}]}],
            "published": {"file": "reports/published/counts.json", "compared": 12, "published_commit": "abc1234",
                          "published_mode": "full", "flagged": [{"variant": "abort_response", "class": "unauthorized",
                                                                 "published": 1_000_000.0, "now": 1_020_002.0,
                                                                 "change_pct": 2.0}]},
            "problems": []}


def test_the_headline_has_exactly_the_issues_keys():
    found = analysis.headline(fake_counts())["variants"]
    assert set(found) == {"jsonify_tuple", "abort_response", "orjson_response"}
    for name, entry in found.items():
        assert set(entry) == {"counts"} and set(entry["counts"]) == set(CLASSES)
        for cell in entry["counts"].values():
            assert set(cell) == HEADLINE_KEYS


def render(tmp_path, data: dict, micro: dict | None = None) -> str:
    (tmp_path / "counts.json").write_text(json.dumps(data))
    if micro:
        (tmp_path / "micro.json").write_text(json.dumps(micro))
    ctx = Context(Results(tmp_path), tmp_path, sections=(section,))
    from reports.document import to_markdown
    return to_markdown(section.build(ctx))


def test_the_report_section_shows_deltas_allocations_attribution_and_flagged_changes(tmp_path):
    text = render(tmp_path, fake_counts())
    assert "+250,000 (+32.5%)" in text  # abort_response on success: 1,020,000 vs 770,000
    assert "770,000" in text and "0.20%" in text
    assert "Modules/gcmodule.c" in text and "visit_decref" in text and "handle_http_exception" in text
    assert "blocks allocated" in text and "+109" in text and "every heap block a request allocates" not in text
    quick = fake_counts()
    quick.update(mode="quick", left_out=["seed spread on seed 1 only"], allocations_what="every heap block, as memcheck counts")
    quick["config"]["left_out"] = quick["left_out"]
    text = render(tmp_path, quick)
    assert "Less in a quick run:** seed spread on seed 1 only." in text and "every heap block, as memcheck counts" in text
    assert "abort_response on unauthorized 1,000,000 → 1,020,002 (+2.00%)" in text
    assert (tmp_path / "charts" / "counts_delta.png").exists()


def test_the_report_names_pairs_that_counts_and_timings_order_differently(tmp_path):
    def timed(ns):
        return {"scenarios": {c: {"dispatch_ns": {"median": ns, "ci95": [ns * 0.99, ns * 1.01]}} for c in CLASSES}}

    # orjson_response executes ~7% fewer instructions than jsonify_tuple but is timed slower
    micro = {"started": "2026-01-01T00:00:00+00:00", "mode": "full",
             "results": {"variants": {"jsonify_tuple": timed(250_000.0), "orjson_response": timed(260_000.0),
                                      "abort_response": timed(340_000.0)}}}
    text = render(tmp_path, fake_counts(), micro)
    assert "Counts and timings disagree" in text and "`jsonify_tuple` executes" in text
    assert "`orjson_response`" in text.split("Counts and timings disagree")[1]
    assert "abort_response` executes" not in text  # ordered alike by both


def test_a_skipped_count_says_how_to_get_valgrind(tmp_path):
    env = {**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path), "PATH": str(tmp_path), "QUICK": "1"}
    done = subprocess.run([sys.executable, "-m", "bench.counts"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [f"count: skipped: valgrind is not installed ({plan.INSTALL_HINT})"]
    assert read_json(tmp_path / "counts.json")["status"] == "skipped"
    assert "apt-get install valgrind" in render(tmp_path, read_json(tmp_path / "counts.json"))


def test_make_bench_shows_a_count_without_valgrind_as_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_IDIOMS_OUT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pipeline, "OUT", tmp_path)
    stage = next(s for s in pipeline.STAGES if s.name == "count")
    outcome = pipeline.run_stage(stage, quick=True)
    reason = f"valgrind is not installed ({plan.INSTALL_HINT})"
    assert outcome["status"] == "skipped" and outcome["detail"] == reason
    recorded = read_json(tmp_path / "summary.json")["stages"]["count"]
    assert recorded["status"] == "skipped" and recorded["detail"] == reason
    # a stage that exits 0 with an older "skipped" in the summary (an earlier run's) is ok
    assert pipeline.skipped_itself(stage, "9999-01-01T00:00:00+00:00") is None


CALLGRIND = """# callgrind format
version: 1
positions: line
events: Ir
summary: 1000

fl=(1) /build/Python-3.11.7/Python/ceval.c
fn=(1) main
1 100
cfl=(1)
cfn=(2) encode
calls=1 5
2 600
cfn=(3) alloc
calls=2 9
3 50

fn=(2)
5 200
cfn=(2)
calls=1 5
6 300
fi=(2) /build/Python-3.11.7/Objects/obmalloc.c
7 40
fe=(1)
8 10
cfn=(3)
calls=3 9
9 50

fl=(2)
fn=(3)
9 100
"""


def test_callgrind_profiles_are_read_with_recursion_counted_once_and_costs_by_file(tmp_path):
    path = tmp_path / "cg.1"
    path.write_text(CALLGRIND)
    p = callgrind.parse(path)
    assert p.total == 1000
    assert p.self_cost == {"main": 100, "encode": 250, "alloc": 100}
    assert p.calls == {"encode": 2, "alloc": 5}  # the recursive call too
    inclusive = p.inclusive()
    assert inclusive["encode"] == 600  # its own recursive call (300) is inside the 600, not added to it
    assert inclusive["alloc"] == 100 and inclusive["main"] == 100 + 600 + 50
    assert p.files == {"/build/Python-3.11.7/Python/ceval.c": 310, "/build/Python-3.11.7/Objects/obmalloc.c": 140}


def test_attribution_leaves_out_the_spine_and_cycles_and_its_file_shares_add_up():
    def cell(total, encode, alloc, eval_self, edges):
        return {"total": total, "inclusive": {"main": total, "encode": encode, "alloc": alloc, "eval": total * 2},
                "self": {"_PyEval_EvalFrameDefault": eval_self}, "calls": {"alloc": alloc / 10},
                "files": {"/b/Python/ceval.c": eval_self, "/b/Objects/obmalloc.c": total - eval_self}, "edges": edges}

    edges = {("main", "eval"), ("eval", "call"), ("call", "eval"), ("eval", "encode"), ("encode", "alloc")}
    assert callgrind.reentrant(edges) == {"eval", "call"}
    found = callgrind.attribute(cell(1300, 500, 200, 400, edges), cell(1000, 300, 100, 300, edges))
    assert found["difference"] == 300
    assert [f["function"] for f in found["functions"]] == ["encode", "alloc"]  # not main (spine), not eval (cycle)
    assert found["functions"][0]["share_pct"] == pytest.approx(66.7) and found["functions"][1]["calls"] == 10
    assert sum(f["share_pct"] for f in found["files"]) == pytest.approx(100)
    assert found["files"][0]["file"] == "Objects/obmalloc.c" and found["bytecode"]["instructions"] == 100


needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind is not installed (Debian/Ubuntu: apt-get install valgrind)")


@needs_valgrind
def test_two_counts_at_the_same_seed_and_environment_are_identical_to_the_instruction(tmp_path):
    """Two worker processes in parallel, the same tiny job, under cachegrind and under memcheck: every process's count,
    and so the differential."""
    jobs = [plan.Job(kind, tool, plan.HEADLINE_SEED, [{"variant": "jsonify_tuple", "classes": ["unauthorized"]}],
                     n=3, warmup=2) for kind, tool in (("headline", "cachegrind"), ("allocations", "memcheck"))]
    runner = Runner(shutil.which("valgrind"), tmp_path)
    outcomes = {}

    def run(job, i):
        outcomes[(job.tool, i)] = runner.run(job, i)

    threads = [threading.Thread(target=run, args=(job, 2 * k + i)) for k, job in enumerate(jobs) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(outcomes) == 4 and all(o["problem"] is None for o in outcomes.values()), outcomes
    cells = {key: analysis.counted_cells(o)[("jsonify_tuple", "unauthorized")] for key, o in outcomes.items()}
    (first, second), (one, other) = ([c for (tool, _), c in cells.items() if tool == t] for t in ("cachegrind", "memcheck"))
    # the counting process and both empty ones: equal, but for the processes' pids, which valgrind's layout of the
    # process and so where objects land depend on (ns_last_pid set by hand, everything else the same: 10000 and
    # 10001 are 38 instructions apart in every process, 500 and 9990 up to 80; the same pid: equal to the instruction)
    raw = first["raw"]["instructions"], second["raw"]["instructions"]
    assert all(abs(a - b) <= 500 for a, b in zip(*raw)), raw  # of ~7.2e8
    assert abs(first["instructions"] - second["instructions"]) <= 50, raw  # per request (n = 3), of ~740,000
    # and it is a request's worth: hundreds of thousands of instructions, not start-up (hundreds of millions)
    assert 100_000 < first["instructions"] < 5_000_000
    # allocations: every process's, to the block and the byte (a fresh clone's make test once saw the two runs 49 blocks
    # and 48,628 bytes apart in all three processes, and once 23 million instructions: modules compiled from source in
    # one run and read compiled in the other while other tests wrote __pycache__; now read from the runner's own
    # bytecode folder, filled first: test_a_count_does_not_depend_on_which_modules_were_compiled_before)
    assert one["raw"] == other["raw"], (one["raw"], other["raw"])
    assert (one["blocks"], one["bytes"]) == (other["blocks"], other["bytes"])
    assert 50 < one["blocks"] < 5_000 and 1_000 < one["bytes"] < 1_000_000


@needs_valgrind
def test_a_count_does_not_depend_on_which_modules_were_compiled_before(tmp_path, monkeypatch):
    """The counted processes read their compiled modules from the runner's bytecode folder, filled before the job:
    with the folder empty and with half of it deleted, the same count; without the filling, millions apart (a
    module compiled from its source instead of read: how a fresh clone's make test once saw two runs 23 million
    instructions apart, other tests writing ``__pycache__`` meanwhile)."""
    job = plan.Job("headline", "cachegrind", plan.HEADLINE_SEED, [{"variant": "jsonify_tuple", "classes": ["unauthorized"]}],
                   n=3, warmup=2)
    bytecode = tmp_path / "bytecode"
    assert job.environment(bytecode)["PYTHONPYCACHEPREFIX"] == str(bytecode)

    def count(name):
        folder = tmp_path / name
        folder.mkdir()
        outcome = Runner(shutil.which("valgrind"), folder, bytecode).run(job, 0)
        assert outcome["problem"] is None, outcome
        return analysis.counted_cells(outcome)[("jsonify_tuple", "unauthorized")]

    def forget_half():
        compiled = sorted(bytecode.rglob("*.pyc"))
        assert any(p.name.startswith("jsonify_tuple.") for p in compiled) and len(compiled) > 50
        for p in compiled[::2] + [p for p in compiled if p.name.startswith("jsonify_tuple.")]:
            p.unlink(missing_ok=True)

    first = count("first")
    forget_half()
    second = count("second")
    assert all(abs(a - b) <= 500 for a, b in zip(first["raw"]["instructions"], second["raw"]["instructions"])), (
        first["raw"], second["raw"])
    assert abs(first["instructions"] - second["instructions"]) <= 50
    forget_half()
    monkeypatch.setattr(Runner, "prime", lambda self, job: None)
    unprimed = count("unprimed")
    assert all(b - a > 1_000_000 for a, b in zip(first["raw"]["instructions"], unprimed["raw"]["instructions"])), (
        first["raw"], unprimed["raw"])


def test_after_stop_all_a_runner_starts_no_process(tmp_path, monkeypatch):
    """A job's thread that was between two processes (priming, then the count) when the stage was interrupted."""
    from bench import count_runner

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a process started after stop_all: {args[0]}")

    monkeypatch.setattr(count_runner.subprocess, "Popen", forbidden)
    runner = Runner(None, tmp_path, tmp_path / "bytecode")
    runner.stop_all()
    job = plan.Job("headline", "cachegrind", plan.HEADLINE_SEED, [{"variant": "jsonify_tuple", "classes": ["success"]}], n=1)
    outcome = runner.run(job, 0)
    assert outcome["problem"] == "stopped before it started" and outcome["events"] == []


def test_an_interrupt_stops_the_running_jobs_and_starts_none_of_the_queued_ones(tmp_path):
    """Ctrl-C (KeyboardInterrupt in the stage's main thread): the runner is stopped at once, not after the pool has run
    every queued job (the jobs' processes are sessions of their own, which the signal that stops the stage misses)."""

    class Fake:
        def __init__(self):
            self.stopped, self.released = False, threading.Event()
            self.calls, self.late, self.waited_out = [], [], []

        def run(self, job, index, progress=None):
            self.calls.append(job.kind)
            if self.stopped:  # as the runner does: after stop_all it starts no process (test above)
                self.late.append(job.kind)
                return {"job": job, "events": [], "folder": tmp_path, "problem": "stopped", "seconds": 0.0}
            if job.kind == "headline":
                raise KeyboardInterrupt
            if not self.released.wait(5):
                self.waited_out.append(job.kind)
            return {"job": job, "events": [], "folder": tmp_path, "problem": "stopped", "seconds": 0.0}

        def stop_all(self):
            self.stopped = True
            self.released.set()

    fake = Fake()
    headline, others = plan.plan_jobs(plan.QUICK, ["jsonify_tuple", "orjson_response"], ["success"])
    assert len(headline) == 1 and len(others) >= 3
    with pytest.raises(KeyboardInterrupt):
        counts.run(plan.QUICK, ["jsonify_tuple", "orjson_response"], ["success"], fake, 2)
    assert fake.stopped and fake.waited_out == []
    # the headline job, and at most one more job per pool thread (the thread that ran it takes the next before the
    # main thread sees the interrupt): the rest were never started. A job a thread had taken from the queue before
    # the queue was cancelled may still reach the runner after stop_all (seen with both cores busy), which then
    # refuses it: at most one per thread
    assert len(fake.calls) <= 3 < len(headline) + len(others), (fake.calls, len(others))
    assert len(fake.late) <= 2, fake.late


def test_counts_json_is_assembled_in_the_shape_of_its_schema(tmp_path):
    from harness.schemas import counts as schemas

    names, classes = ["jsonify_tuple", "abort_response"], ["success", "unauthorized"]
    per_request = {("jsonify_tuple", "success"): 1000, ("jsonify_tuple", "unauthorized"): 2000,
                   ("abort_response", "success"): 1000, ("abort_response", "unauthorized"): 2600}

    def counted(kind, seed, extra=0, tool="cachegrind"):
        folder = tmp_path / f"{kind}-{seed}"
        folder.mkdir()
        events, pid = [], 100
        for name in names:
            steps = [(None, 0)] + [x for c in classes for x in ((c, 10), (None, 0))]
            for i, (c, n) in enumerate(steps):
                pid += 1
                count = 10_000_000 + pid + (n * per_request[(name, c)] + extra * n if c else 0)
                log = (HEAP_LOG.format(bytes=count * 8, blocks=count) if tool == "memcheck"
                       else f"I   refs:  {count:,}\n")
                (folder / f"vg.{pid}").write_text(log)
                events.append({"event": "fork", "variant": name, "class": c, "n": n, "index": i, "pid": pid})
        job = plan.Job(kind, tool, seed, [{"variant": n, "classes": classes} for n in names], 10)
        return {"job": job, "events": events, "folder": folder, "problem": None, "seconds": 1.0}

    native = {"job": plan.Job("native", None, 0, []), "folder": tmp_path, "problem": None, "seconds": 1.0,
              "events": [{"event": "native", "variant": n, "class": c, "peak_bytes": 4900.0,
                          "gc_collections_per_1000": [10.0, 0.5, 0.0], "gc_collected_per_1000": 7900.0,
                          "python_calls": {"flask/app.py:1(f)": 1.0}} for n in names for c in classes]}
    # the payload sizes: counted as the classes are, jsonify_tuple 1,000 + 50 per byte-ish unit of size, abort_response 10% more
    size_folder = tmp_path / "sizes"
    size_folder.mkdir()
    size_events, pid, truth = [], 900, {}
    for name in names:
        steps = [(None, 0)] + [x for e in plan.FULL.sizes for x in ((e, 2), (None, 0))]
        for i, (e, n) in enumerate(steps):
            pid += 1
            if e:
                truth[(name, e)] = (1000 + 50 * plan.FULL.sizes.index(e) ** 3) * (1.1 if name == "abort_response" else 1)
            (size_folder / f"vg.{pid}").write_text(f"I   refs:  {10_000_000 + (round(n * truth[(name, e)]) if e else 0):,}\n")
            size_events.append({"event": "fork", "variant": name, "class": e, "n": n, "index": i, "pid": pid})
    sizes = {"job": plan.Job("sizes", "cachegrind", 0, [{"variant": n, "classes": list(plan.FULL.sizes)} for n in names], 2),
             "events": size_events, "folder": size_folder, "problem": None, "seconds": 1.0}
    outcomes = [counted("headline", 0), counted("allocations", 0, tool="memcheck"), native,
                *(counted("spread", s, extra=s) for s in plan.FULL.spread_seeds), sizes]
    found = analysis.assemble(plan.FULL, names, classes, outcomes, "2026-01-01T00:00:00+00:00", 1.0)
    assert found["status"] == "ok" and not found["problems"]
    assert list(found["sizes"]["abort_response"]) == list(plan.FULL.sizes)
    for (name, e), want in truth.items():
        cell = found["sizes"][name][e]
        assert set(cell) == set(schemas.CountsSize.__annotations__) and cell["n"] == 2
        assert cell["instructions"] == pytest.approx(want, abs=0.5)
        assert cell["delta_pct"] == pytest.approx(10.0 if name == "abort_response" else 0.0, abs=0.01)
    assert "instructions" in found["variants"]["abort_response"]["success"]  # the classes' keys as they were
    assert set(found) <= set(schemas.CountsResult.__annotations__)
    assert set(schemas.CountsResult.__required_keys__) <= set(found)
    assert set(found["published"]) <= set(schemas.CountsPublished.__annotations__)
    cell = found["variants"]["abort_response"]["unauthorized"]
    assert set(cell) == set(schemas.CountsCell.__annotations__)
    assert cell["instructions"] == 2600.0 and cell["delta_pct"] == 30.0
    assert cell["alloc_blocks"] == 2600.0 and cell["alloc_bytes"] == 20800.0 and cell["alloc_n"] == 10
    assert cell["peak_bytes"] == 4900.0 and cell["gc_collections_per_1000"] == [10.0, 0.5, 0.0]
    # seed 3 adds 3 instructions per request (harness.stats.spread: max / min to 4 places)
    assert cell["seed_spread_pct"] == pytest.approx(100 * 3 / 2600, abs=0.01)
    assert found["seed_spread"]["max_pct"] == pytest.approx(0.3, abs=0.01)  # 3 over 1000 on success
    lo, hi = found["seed_spread"]["delta_pct_range"]["abort_response/unauthorized"]  # 2603 / 2003 on seed 3
    assert lo == pytest.approx(100 * (2603 / 2003 - 1), abs=0.001) and hi == 30.0
    assert "PYTHONMALLOC=malloc" in found["environment"]["commands"]["allocations"]
    assert set(analysis.history_record(found)) == set(schemas.CountsHistoryRecord.__annotations__)
    headline = analysis.headline(found)["variants"]["jsonify_tuple"]["counts"]["success"]
    assert set(headline) == set(schemas.CountsHeadline.__annotations__) == HEADLINE_KEYS
    outcomes.pop()  # the sizes: without them a full run names the sizes not counted
    assert any(p.startswith("payload sizes not counted: jsonify_tuple/size_100b")
               for p in analysis.assemble(plan.FULL, names, classes, outcomes, "2026-01-01T00:00:00+00:00", 1.0)["problems"])
    quick = analysis.assemble(plan.QUICK, names, classes, outcomes[:3], "2026-01-01T00:00:00+00:00", 1.0)
    assert quick["left_out"] == plan.left_out(plan.QUICK) and quick["seed_spread"]["max_pct"] is None
    del outcomes[0]["events"][1]  # a counting process lost: its cell is reported, not invented
    broken = analysis.assemble(plan.FULL, names, classes, outcomes, "2026-01-01T00:00:00+00:00", 1.0)
    assert broken["status"] == "incomplete" and "jsonify_tuple/success" in broken["problems"][-1]
