"""The clock side of ``make request``: one worker process times every app's whole request, interleaved.

A subject is one app's WSGI callable on one status class (``bench.subjects.dispatch_call``: a prepared
environ, the body read to the end, the iterable closed, as a server does). The classes are ``CLASSES``:
the contract's ``SCENARIOS`` and its ``ERROR_SCENARIOS`` (400, 404, 405, 500: this stage alone times the
error paths). Every round runs each subject for one block of calls (two on created, ``CLASS_BLOCKS``, at separate
places, their mean the round's figure), as many calls for every subject of a class and in every worker
(``CALLS_PER_BLOCK``), in a new shuffled order each round; the error classes join every ``error_every``-th
round only (their subjects are half the round; the four classes of ``SCENARIOS`` carry the headline and get the
rounds). A subject is timed ``k`` blocks back to back per round, the fastest kept; ``k = 1`` is the default:
on this machine the speed moves within a round, so more rounds beat the fastest of three (the variance of a
difference for the same time was about half), and a call that follows another app's call is nearer a server's
request, which follows the server's own code, than a second call in a row.

The 500 class logs its exception (Flask's ``log_exception``, a traceback per request). That call is part
of the request and stays; only its output is discarded: every app's logger gets one handler that
formats the record, traceback included, and writes it to os.devnull (``quiet_logging``), so the cost of
formatting is kept and the console stays quiet.

Garbage collection stays on, as in production, and is charged where CPython's own trigger puts it.
A collection runs when the young generation's count (tracked container objects allocated minus
freed) passes a threshold, so what a request costs the collector is proportional to what it leaves
in that count. The first worker measures each subject's count per request with the collector paused, each
subject right after a collection of the young generation (``young_counts`` says why). Counted so, a count is
a property of the code, not of the process: in the 40 workers of a full run (each its own hash seed and
creation order) every one of the 131 subjects counted the same to the last digit, and the counting took
1.1 s of each worker's 4.1. So the later workers are given the first one's counts and count a few subjects of
their own choosing again, a check the stage reports (``bench.young``). Every worker clocks every
collection with a ``gc.callbacks`` hook, and takes the time of a block without
its collections as the sample (the fastest of ``k`` back-to-back blocks, which drops interrupts);
the analysis adds the collections back as count per request times the worker's collection time per
unit of count (all subjects pooled). Charging each collection to the block it happened to land in
would be the same on average, but a few collections per subject and worker make that noisy; both
are recorded. ``gc: "off"`` (a labelled option) disables the collector instead.

The subjects, created in a random order (``harness.measure.create_in_random_order``):
- every selected variant's app on every status class, and ``jsonify_tuple`` (the reference) always;
- ``AA``: a second instance of the reference's app, on every class (the A/A pair);
- on the success class, one more instance of the reference's app whose idiom is wrapped (``calibrated``):
  before the idiom it busy-waits and makes self-referencing lists (cyclic garbage only the collector frees),
  as many nanoseconds and lists as the request's environ says. Three subjects call that one app, each after a wait
  of ``BASE_WAIT_NS``: ``PLANTED`` (then ``planted_ns`` more), ``PLANTED_REFERENCE`` (nothing more) and
  ``PLANTED_ALLOC`` (``ALLOC_OBJECTS`` lists). One app, so the planted differences are the wait and the lists alone: three
  separate apps also differed by their memory layout, a per-process effect of ~0.9 µs (SD over workers) that
  the A/A pair is there to show, and that put the planted 1 µs at 605 ns [268, 942] in a 30-worker run. The
  worker also times the lists alone, collections excluded, so their expected cost is known. Each of the three
  is timed several times a round (``CALIBRATION_BLOCKS``) at separate places in the shuffled order, and the mean of
  those blocks is its figure for the round: with no layout to average, only the round's noise moves the planted
  pair, and more blocks average it. The reference waits too because a spin's first few hundred ns cost the
  request less than their wall time (what the request left in flight completes meanwhile): in one process, the
  planted app's single calls, each after one of the same call (2026-11-27, ``taskset -c 0``, medians over ~14,000
  calls each, 2 seeds), cost this much more than with no wait: 1 ns: -10, 0; 200 ns: +110, +100; 1,000 ns: +861,
  +871; 2,000: +1,882, +1,902; 4,000: +3,925, +3,956; after three calls of other apps (colder) 1,000 ns came
  back as +666, +771, +902 and 2,000 against 1,000 as +891, +1,106. From 1 µs on, a µs of waiting costs a µs
  (1.02); so the planted difference is the second µs, the first one in both (earlier runs, with the reference
  not waiting, recovered the planted 1 µs at 640-870 ns; three with it 996-1,053 ns). The lists of ``PLANTED_ALLOC``
  come right after the base wait too, and came back 6-13% under their expected value in those three (1-6% over
  without the wait).

``python -m bench.request_worker JOB RESULT`` reads the job (JSON) and writes its samples; it prints
nothing unless it fails.
"""
from __future__ import annotations

import gc
import logging
import os
import random
import sys
import time
from itertools import repeat

import numpy as np
from flask import request

from bench.subjects import dispatch_call, prepared_environ
from bench.young import counted_or_shared
from harness.environment import process_cpu_seconds
from harness.measure import PLANTED_IDIOM, busy_wait, create_in_random_order
from harness.results import read_json, write_json
from variants import REGISTRY
from variants.contract import ERROR_SCENARIOS, SCENARIOS

REFERENCE = PLANTED_IDIOM  # jsonify_tuple: the accepted answer, the unit every difference is stated in
AA, PLANTED, PLANTED_REFERENCE, PLANTED_ALLOC = "aa", "planted", "planted_reference", "planted_alloc"
CALIBRATION_CLASS = "success"
ALLOC_OBJECTS = 20
WAIT_KEY, GARBAGE_KEY = "flask_idioms.planted_ns", "flask_idioms.garbage_lists"  # the calibrated app's environ keys
PILOT_ROUNDS = 3  # warm-up rounds, not kept
CLASSES = {**SCENARIOS, **ERROR_SCENARIOS}  # the status classes timed, in this order
# Every planted subject waits this long before its own share (``subject_environ``): the first few hundred ns of a spin
# in a request cost less than their wall time (see the module's docstring), the ns after them what they last
BASE_WAIT_NS = 1000
# Blocks a round of each planted subject, at separate places in the shuffled order (``measure``). A block of ~3 calls
# varies by ~9% of a request (~9 µs), whatever its neighbours: the planted pair's blocks side by side in the round
# differed as much as apart (per-round SD of the difference 7.1, 6.7 µs against 8.9, 6.6; 30-worker runs, 2026-11-28),
# so only more blocks narrow it. The planted pair's SD over workers was 1,014 and 892 ns with 4 blocks, 758 and 552 with
# 12 (30 workers), for 18% fewer rounds (49 a worker instead of 60). Four full stages (110 workers, three two at a time,
# one one at a time): planted 1,104 [968, 1,240], 1,066 [939, 1,192], 1,154 [1,033, 1,274], 1,062 [945, 1,178] ns,
# SD over workers 533-737 (874-1,045 with 4 blocks); the runs scatter as their intervals say (SD 43 ns against 112 for
# five runs with 4), around a planted cost that comes back ~10% over its wall time (with 4: 926-1,217).
# Every planted subject gets the same number: a round's figure is the mean of its blocks and a difference is the
# median over rounds of a ratio, and block times are skewed to the right, so a mean of more blocks has a higher median
# than a mean of fewer. Measured: the reference timed in 4 blocks a round against every other subject's one made the
# A/A pair -0.9% on every class, intervals excluding 0 in two full runs of two; the allocating subject at 4 blocks
# against its reference's 12 came back 3-10% under its expected cost in five full runs (+7-9% with 12 and 12).
CALIBRATION_BLOCKS = 12
# Calls per block on each class, the same in every worker and run. A block's first call follows another app's and pays
# for the caches it left, so what a block measures depends on its length: within a class every subject gets the same
# (``same_per_class`` says what else happened), and between workers too. Sized by the clock (blocks of ~0.3 ms, each
# worker sizing its own), the length followed the machine's speed when the worker started: in a full run in a slow
# phase (round noise 11.3%, 2026-11-28) created got 2 calls in 57 workers of 110 and 3 in 52, the 401 and the admin
# 200 1 or 2 in 24 and 16, and the fewer the calls the noisier the round (the A/A pair's per-round log-ratio SD on
# created 0.119 with 2 calls, 0.111 with 3; 0.113 against 0.096 in a run at normal speed, where 82 of 110 had 3). These
# are the lengths most workers chose at normal speed (~0.3 ms of calls; a 500 logs a traceback, ~700 µs).
# Blocks a round of every subject of a class, 1 where not named (every subject of a class the same: a round's figure
# is the mean of its blocks, and a mean of more blocks has a higher median, see ``CALIBRATION_BLOCKS``). created's
# request is the longest of the headline classes and its rounds the noisiest (per-round SD of a subject's log ratio to
# jsonify_tuple 0.079-0.127 against 0.064-0.111 on the others, 9.8-15.7 µs against 5.9-13); its widest interval was
# the run's widest against its target in most full runs (±0.37-0.70 µs for a target of 0.5; success ±0.21-0.28, the
# admin 200 ±0.33-0.47). Two blocks a round give it about 1/sqrt(2) of that for ~15% more time a round (41-42 rounds a
# worker instead of 46-47). Measured (2026-11-28, two alternating pairs of full stages in a noisy phase): created's
# widest ±0.48, 0.41 µs against ±0.61, 0.65 with one block; success ±0.31, 0.27 against 0.31, 0.27; the 401 ±0.80,
# 0.68 against 0.77, 0.62; admin ±0.45, 0.42 against 0.42, 0.48; planted 1 µs 1,088 [903, 1,274], 1,098 [929, 1,267].
CLASS_BLOCKS = {"created": 2}
CALLS_PER_BLOCK = {"success": 3, "created": 3, "unauthorized": 3, "admin": 3,
                   "bad_json": 2, "not_found": 3, "method_not_allowed": 3, "server_error": 1}
YOUNG_PASSES = 1  # kept passes over the count each request adds to the young generation (young_counts; a job's
# "young_passes" may ask for more: they agree to the count, which a test checks)


def quiet_logging(app) -> None:
    """The app's logger keeps logging (formatting included) but writes to os.devnull, not the console."""
    global _DISCARD
    if _DISCARD is None:
        _DISCARD = logging.StreamHandler(open(os.devnull, "w"))
    app.logger.handlers[:] = [_DISCARD]
    app.logger.propagate = False


_DISCARD = None


class Collections:
    """Time spent in garbage collections, and their count per generation, as they happen."""

    def __init__(self):
        self.ns = 0
        self.counts = [0, 0, 0]
        self._start = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            self.ns += time.perf_counter_ns() - self._start
            self.counts[info["generation"]] += 1


COLLECTIONS = Collections()


def cyclic_garbage(objects: int) -> None:
    """``objects`` lists that refer to themselves: garbage only the collector frees."""
    for _ in repeat(None, objects):
        cell = []
        cell.append(cell)


def calibrated(respond):
    """``respond`` after a busy-wait and cyclic garbage whose sizes the request's environ sets
    (``WAIT_KEY``, ``GARBAGE_KEY``): one app serves the planted subjects and their reference."""

    def with_planted_cost(*args, **kwargs):
        environ = request.environ
        busy_wait(environ[WAIT_KEY])
        cyclic_garbage(environ[GARBAGE_KEY])
        return respond(*args, **kwargs)

    return with_planted_cost


def make_calibrated():
    """The reference's app with its idiom wrapped by ``calibrated``."""
    app = REGISTRY[REFERENCE].create_app()
    app.extensions["json_idiom"] = calibrated(app.extensions["json_idiom"])
    return app


def make_apps(names: list, rng) -> dict:
    """Every app this worker times, created in a random order; the planted subjects share one app."""
    makers = {name: REGISTRY[name].create_app for name in names}
    makers[AA] = REGISTRY[REFERENCE].create_app
    makers[PLANTED_REFERENCE] = make_calibrated
    apps = create_in_random_order(makers, rng)
    for app in apps.values():
        quiet_logging(app)
    apps[PLANTED] = apps[PLANTED_ALLOC] = apps[PLANTED_REFERENCE]
    return apps


def subject_environ(name: str, cls: str, planted_ns: int) -> dict:
    """The environ a subject's calls copy: its class's, and for the planted subjects their wait and lists."""
    environ = prepared_environ(CLASSES[cls])
    if name in (PLANTED, PLANTED_REFERENCE, PLANTED_ALLOC):
        environ[WAIT_KEY] = BASE_WAIT_NS + (planted_ns if name == PLANTED else 0)
        environ[GARBAGE_KEY] = ALLOC_OBJECTS if name == PLANTED_ALLOC else 0
    return environ


def subject_keys(names: list) -> list:
    """(name, class) of every subject, in a fixed order: the columns of the results."""
    keys = [(name, cls) for cls in CLASSES for name in (*names, AA)]
    return keys + [(name, CALIBRATION_CLASS) for name in (PLANTED, PLANTED_REFERENCE, PLANTED_ALLOC)]


def check(name: str, cls: str, result: tuple) -> None:
    line, body = result
    expected = CLASSES[cls].reply.status
    if int(line.split(" ", 1)[0]) != expected:
        raise AssertionError(f"{name} on {cls}: {line}, expected {expected}; body {body[:80]!r}")


def time_block(call, n: int, clock=time.perf_counter_ns) -> tuple:
    """(ns of the block, ns of it spent in collections, collections per generation) for ``n`` calls."""
    gc_ns, counts = COLLECTIONS.ns, list(COLLECTIONS.counts)
    start = clock()
    for _ in repeat(None, n):
        call()
    elapsed = clock() - start
    return elapsed, COLLECTIONS.ns - gc_ns, [a - b for a, b in zip(COLLECTIONS.counts, counts)]


def young_count_per_call(call, calls: int = 16, warm_up: int = 8) -> float:
    """What one call adds to the young generation's count (tracked objects allocated minus freed),
    with the collector paused so no collection resets the count, after ``warm_up`` calls not counted:
    objects taken from CPython's free lists are not counted, and a full collection empties those
    lists, so the first calls after one count more than the steady state the timed rounds run in.
    It starts with a collection of the young generation, so that every call is counted from the same state
    (``young_counts`` says why)."""
    enabled = gc.isenabled()
    gc.collect(0)
    gc.disable()
    try:
        for _ in repeat(None, warm_up):
            call()
        before = gc.get_count()[0]
        for _ in repeat(None, calls):
            call()
        return (gc.get_count()[0] - before) / calls
    finally:
        if enabled:
            gc.enable()


def young_counts(calls: list, rng, passes: int = YOUNG_PASSES) -> np.ndarray:
    """``young_count_per_call`` of every call (each after a collection of the young generation), ``passes``
    times in a new shuffled order after one pass that is not kept: [pass][call].

    What a request adds to the count depends on the state the process is in: a list or a dict taken from
    CPython's free list is not counted, and what fills those lists is the garbage the last collection freed,
    so the same request added 7 to 10.8 depending on what ran before it. Measured once per subject in a fixed
    order, every worker saw the same state per subject: the planted pair (the same code but for the wait)
    differed by 2.75 in all 14 workers of a full run, which charged the planted app ~450 ns of collections and
    brought a 1 µs planted cost back as 2.5 µs [1.6, 3.4]; shuffled, the pair still differed by +1.5 on average
    over 8 workers (identical apps: 0 to 2.8). Collected first, every subject starts from the same state:
    identical apps count the same in every worker and every pass (the passes are kept to show it)."""
    found = np.zeros((passes, len(calls)))
    order = np.arange(len(calls))
    for p in range(passes + 1):
        rng.shuffle(order)
        for i in order:
            count = young_count_per_call(calls[i])
            if p:
                found[p - 1, i] = count
    return found


def calls_per_block(call, block_ns: float) -> int:
    """Calls per block so that a block lasts about ``block_ns``."""
    n = 1
    while True:
        elapsed = time_block(call, n)[0]
        if elapsed >= 2e5 or n >= 1 << 16:  # 0.2 ms: enough to size a block, 131 subjects in ~0.05 s
            return max(1, round(block_ns * n / elapsed))
        n *= 2


def same_per_class(keys: list, blocks: list) -> list:
    """One number of calls per block for every subject of a class: the median of their own (rounded up).

    A block's first call follows another app's and pays for the caches that app left, so a call's time
    depends on the block's length: sized per subject, in a fixed order, the subjects sized first (just after
    the young counts) got shorter blocks, jsonify_tuple 3 calls and its A/A twin 4 on the success class in most
    workers, and the A/A pair came out 0.9 and 1.4 µs apart, intervals excluding 0, in two runs. A difference
    is taken within a class, so the same length within a class compares like with like."""
    per_class: dict = {}
    for (_, cls), n in zip(keys, blocks):
        per_class.setdefault(cls, []).append(n)
    size = {cls: int(np.ceil(np.median(ns))) for cls, ns in per_class.items()}
    return [size[cls] for _, cls in keys]


def block_lengths(keys: list, calls: int | None = None) -> list:
    """Calls per block of each subject: its class's ``CALLS_PER_BLOCK``, or ``calls`` for every class (tests)."""
    return [calls or CALLS_PER_BLOCK[cls] for _, cls in keys]


def alloc_cost_ns(seconds: float = 0.05, repeats: int = 5) -> float:
    """What ``ALLOC_OBJECTS`` lists add to a call without their collections (the collector paused): the
    median over ``repeats`` blocks, less the same call with none. The analysis adds the collections' share."""
    make, bare = (lambda: cyclic_garbage(ALLOC_OBJECTS)), (lambda: cyclic_garbage(0))
    enabled = gc.isenabled()
    gc.disable()
    try:
        found = []
        for fn in (make, bare):
            per_call = []
            for _ in range(repeats):
                start = time.perf_counter_ns()
                for _ in repeat(None, 2000):
                    fn()
                per_call.append((time.perf_counter_ns() - start) / 2000)
            found.append(float(np.median(per_call)))
            gc.collect()
    finally:
        if enabled:
            gc.enable()
    return found[0] - found[1]


def measure(job: dict) -> dict:
    names, rng = job["names"], np.random.default_rng(job["seed"])
    apps = make_apps(names, random.Random(job["seed"]))
    keys = subject_keys(names)
    # the subjects' environs and closures made, and each called once outside the clock (its app's lazy set-up, and
    # the status checked), in a shuffled order: in the fixed order of ``keys`` the A/A twin's came last in every worker
    calls = [None] * len(keys)
    for i in rng.permutation(len(keys)):
        calls[i] = dispatch_call(apps[keys[i][0]], subject_environ(*keys[i], job["planted_ns"]))
    for i in rng.permutation(len(keys)):
        check(*keys[i], calls[i]())
    young_passes = []  # the first worker's passes over every subject (``bench.young``: the later ones are given them)

    def count(picked: list) -> np.ndarray:
        passes = young_counts([calls[i] for i in picked], rng, job.get("young_passes", YOUNG_PASSES))
        if len(picked) == len(calls):
            young_passes[:] = passes.tolist()
        return np.median(passes, axis=0)

    young, rechecked = counted_or_shared(job, len(calls), rng, count)
    gc_on = job["gc"] == "on"
    gc.collect()
    if gc_on:
        gc.callbacks.append(COLLECTIONS)
    else:
        gc.disable()
    try:
        blocks = block_lengths(keys, job.get("calls_per_block"))
        alloc_expected = alloc_cost_ns()
        every = np.array([job.get("error_every", 1) if cls in ERROR_SCENARIOS else 1 for _, cls in keys])
        # the planted subjects share one app, so no layout lottery moves their difference, only each round's noise:
        # timed several times a round (their mean the round's figure), the planted cost gets a narrower interval for
        # a few blocks more a round (full runs of 2026-11-27: ±313 ns on 1,000 with one block a round, ±210-258 ns
        # with four in three runs; 2026-11-28, 110 workers: ±154-210 with four, ±116-136 with twelve)
        calibration_blocks = job.get("calibration_blocks", CALIBRATION_BLOCKS)
        class_blocks = job.get("class_blocks", CLASS_BLOCKS)
        times_a_round = [calibration_blocks if name in (PLANTED, PLANTED_REFERENCE, PLANTED_ALLOC)
                         else class_blocks.get(cls, 1) for name, cls in keys]
        order = np.repeat(np.arange(len(calls)), times_a_round)
        per_call, gc_ns, counts, t_s = [], np.zeros(len(calls)), np.zeros((len(calls), 3), dtype=int), []
        timed = np.zeros(len(calls), dtype=int)  # kept blocks of each subject (several a round: see times_a_round)
        started = time.monotonic()
        deadline = started + job["seconds"]
        r = 0
        while r < PILOT_ROUNDS + job["min_rounds"] or time.monotonic() < deadline:
            rng.shuffle(order)
            total, n = np.zeros(len(calls)), np.zeros(len(calls), dtype=int)
            kept = r >= PILOT_ROUNDS
            if kept:
                t_s.append(time.monotonic() - started)
            for i in order[r % every[order] == 0]:
                best = np.inf
                for _ in range(job["k"]):
                    elapsed, in_gc, generations = time_block(calls[i], blocks[i])
                    best = min(best, elapsed - in_gc)
                    if kept:
                        gc_ns[i] += in_gc
                        counts[i] += generations
                total[i] += best / blocks[i]
                n[i] += 1
                timed[i] += kept
            row = np.divide(total, n, out=np.full(len(calls), np.nan), where=n > 0)  # NaN: not timed this round
            if kept:
                per_call.append(row)
            r += 1
    finally:
        if gc_on:
            gc.callbacks.remove(COLLECTIONS)
        else:
            gc.enable()
    rounds = len(per_call)
    return {"index": job["index"], "hash_seed": os.environ.get("PYTHONHASHSEED"), "gc": job["gc"],
            "keys": [list(k) for k in keys], "calls_per_block": blocks, "rounds": rounds,
            "per_call_ns": [[None if np.isnan(x) else x for x in row] for row in np.round(np.asarray(per_call), 1).tolist()],
            "young_count_per_call": np.round(young, 3).tolist(), "young_count_passes": np.round(young_passes, 3).tolist(),
            "young_rechecked": rechecked,
            "gc_ns_total": gc_ns.round(0).tolist(),
            "collections": counts.tolist(), "requests": (np.asarray(blocks) * timed * job["k"]).tolist(),
            "alloc_expected_ns": round(alloc_expected, 1), "calibration_blocks": calibration_blocks,
            "class_blocks": class_blocks,
            "base_wait_ns": BASE_WAIT_NS, "t_s": np.round(t_s, 3).tolist(),
            "process_cpu_s": process_cpu_seconds(os.getpid())}


if __name__ == "__main__":  # a worker process: python -m bench.request_worker JOB RESULT
    try:
        write_json(sys.argv[2], measure(read_json(sys.argv[1])))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        sys.exit(130)
