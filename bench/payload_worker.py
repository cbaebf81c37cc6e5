"""The clock side of the payload cost sweep: one worker process times the whole request of every
(variant, entry) subject, interleaved in shuffled rounds, by ``make request``'s method.

A subject is one variant's payload app (``bench.payload_semantics.payload_app``) on one entry: its WSGI
callable with a prepared ``GET /api/payload/<entry>`` environ, the body read to the end and the
iterable closed (``bench.subjects.dispatch_call``). Apps are created in a random order
(``harness.measure.create_in_random_order``). Every round runs each subject for ``k`` back-to-back blocks
of about ``block_ms`` (at least one call, and as many for every subject of an entry:
``bench.request_worker.same_per_class``; on an entry of ``WARM_BODY_BYTES`` or more each block follows untimed
calls of its subject and is at least as many calls long: ``warm_before``) in a new shuffled
order, and the fastest block counts; a subject whose one call lasts more than ``LONG_BLOCK`` blocks (the
largest bodies) runs one block a round. ``job["pairing"]``: ``"shuffled"`` (the stage's choice, with k = 1):
each subject once a round, the entries one after another in a shuffled order and each entry's subjects in a
shuffled order (so an idiom and the reference on the same entry are timed milliseconds apart), an entry whose
subjects take longer than ``ROUND_MS`` together every few rounds only (``entry_strides``), and
``paired_reference_ns`` is the reference's block on the same entry in the same round; ``"beside"``: each subject's blocks sit beside blocks of the reference on the same entry, before
or after at random, which calls the reference far more often than any idiom and so keeps it hot in the
CPU caches (a bias of about +0.5% against it; ``bench.payload_cost``). A subject ``<variant>~aa`` is a
second app of the variant (an A/A check). Garbage collection
stays on and is charged as ``bench/request_worker.py`` charges it: each block's collections are clocked
(``bench.request_worker.COLLECTIONS``) and taken out, and the analysis adds them back as the young-generation
count a request adds times the worker's collection time per unit of count
(``bench.request_analysis.worker_figures``, which reads this worker's result as it reads a request worker's).

``python -m bench.payload_worker JOB RESULT`` reads the job (JSON) and writes its samples.
"""
from __future__ import annotations

import gc
import os
import random
import resource
import sys
import time

import numpy as np

import payloads
from bench.payload_semantics import environ_for, payload_app
from bench.request_worker import COLLECTIONS, calls_per_block, same_per_class, time_block, young_count_per_call
from bench.subjects import dispatch_call
from bench.young import counted_or_shared
from harness.environment import process_cpu_seconds
from harness.measure import create_in_random_order
from harness.results import read_json, write_json

PILOT_ROUNDS = 2  # warm-up rounds, not kept
AA_SUFFIX = "~aa"
ROUND_MS = 60.0  # shuffled pairing: an entry whose subjects together take longer is timed in fewer rounds
LONG_BLOCK = 4  # a single call longer than this many blocks is timed once per round, not k times
LONG_CALL_NS = 2e6  # a first call longer than this (a large body) is counted on fewer calls (young_count_per_call)
WARM_BODY_BYTES = 128 * 1024  # glibc malloc's first mmap threshold: an entry whose reference body is at least this
# long has every timed block follow untimed calls of the same subject (``warm_before``)
WARM_MS = 10.0  # for at least this long, and at least one call


def offset(entry: str) -> int:
    """A fixed offset per entry, so that the strided entries do not all fall due in the same round."""
    return sum(entry.encode()) % 97


def entry_strides(keys: list, calls: list, blocks: list, repeats: list, round_ms: float) -> dict:
    """Entry -> every how many rounds its subjects are timed (shuffled pairing): an entry whose subjects take longer
    than ``round_ms`` together (a 1 MB body: ~25 ms a call, ~16 subjects) is timed every k-th round, so that the
    small entries, whose calls are short and noisy, get many rounds in the same time. The ratio of a subject to the
    reference is taken within each round where both are timed, so a stride costs no pairing."""
    group_ns: dict = {}
    for (_, entry), call, n, k in zip(keys, calls, blocks, repeats):
        group_ns[entry] = group_ns.get(entry, 0.0) + time_block(call, n)[0] * k
    return {e: max(1, int(np.ceil(ns / (round_ms * 1e6)))) for e, ns in group_ns.items()}


def warm_before(keys: list, body_bytes: list, reference: dict, call_ns: list) -> list:
    """Per subject: how many untimed calls of the same subject each of its timed blocks follows: none below
    ``WARM_BODY_BYTES`` (by the reference's body on the entry), else enough to last ``WARM_MS`` by the subject's
    ``call_ns``, at least one. A process that serves one idiom keeps the allocator state of that idiom's own
    requests; in these rounds the subject before was another idiom, whose large buffers move glibc malloc's dynamic
    mmap threshold, heap top and free chunks. From there a cheap large request takes a few calls to settle, an
    expensive one one call: orjson_response's 1 MB request after orjson_provider's took 1.56, 1.27, 1.15, 1.12
    and 1.10 ms in five calls in a row (no page fault in any; 1.09 ms in a process of its own), jsonify_tuple's
    15.2 then 16.3 ms from its second call on (2026-11-27, ``taskset -c 0``, medians over 6-10 s). One untimed call
    left orjson_response in that transient: 1.18-1.36 ms in full runs, and a spread between workers of ~8%. Below
    the threshold the bodies stay under it and a block's calls are short enough to run several back to back."""
    return [max(1, int(np.ceil(WARM_MS * 1e6 / max(ns, 1)))) if body_bytes[reference[entry]] >= WARM_BODY_BYTES else 0
            for (_, entry), ns in zip(keys, call_ns)]


def nulls(rows: list) -> list:
    """Rows of ns as JSON: rounded, NaN (not timed in that round) as null."""
    return [[None if np.isnan(x) else round(float(x), 1) for x in row] for row in rows]


def base_variant(name: str) -> str:
    """The variant a subject's app is made from: ``jsonify_tuple~aa`` is a second, separate app of ``jsonify_tuple``
    (an A/A subject: the same code in other objects, timed as any idiom is)."""
    return name.split(AA_SUFFIX)[0]


def measure(job: dict) -> dict:
    keys = [tuple(k) for k in job["subjects"]]  # [(variant, entry)]
    wanted = list(dict.fromkeys(entry for _, entry in keys))
    entries = payloads.corpus(job.get("user_path"), sizes=[e for e in wanted if e in payloads.SIZE_KB])
    values = {e: entries[e].value for e in wanted}
    names = list(dict.fromkeys(name for name, _ in keys))
    apps = create_in_random_order({name: (lambda name=name: payload_app(base_variant(name), values)) for name in names},
                                  random.Random(job["seed"]))
    environs = {e: environ_for(e) for e in wanted}
    calls = [dispatch_call(apps[name], environs[entry]) for name, entry in keys]
    first_ns, body_bytes = [0] * len(calls), [0] * len(calls)
    # once outside the clock (lazy set-up, and the status), in a shuffled order as make request does
    for i in np.random.default_rng([job["seed"], 1]).permutation(len(calls)):
        (name, entry), call = keys[i], calls[i]
        start = time.perf_counter_ns()
        line, body = call()
        if not line.startswith("200"):
            raise AssertionError(f"{name} on {entry}: {line}; body {body[:80]!r}")
        first_ns[i], body_bytes[i] = time.perf_counter_ns() - start, len(body)
        if first_ns[i] >= LONG_CALL_NS:  # the first call may be slow for its lazy set-up only: a second says
            start = time.perf_counter_ns()
            call()
            first_ns[i] = time.perf_counter_ns() - start
    # the same work every call, so a few calls give the count; a long call (a large body) gets fewer: 12 calls of a
    # 1 MB body were ~3 s of each worker's set-up, for a count whose collections are < 0.01% of such a request
    # (the first worker counts them all, the later ones are given its counts and recount a few: ``bench.young``)
    young_rng = np.random.default_rng([job["seed"], 2])

    def count(picked: list) -> list:
        """Two passes in shuffled orders, the first not kept (as ``bench.request_worker.young_counts``): counted in
        one pass in the order of the subjects, the first one counted 10 in a test's first worker, and 7 every later
        time, in that process and in others."""
        found = {}
        for _ in range(2):
            for i in young_rng.permutation(picked):
                found[i] = (young_count_per_call(calls[i], calls=4) if first_ns[i] < LONG_CALL_NS
                            else young_count_per_call(calls[i], calls=1, warm_up=1))
        return [found[i] for i in picked]

    young, rechecked = counted_or_shared(job, len(calls), young_rng, count)
    gc.collect()
    gc.callbacks.append(COLLECTIONS)
    try:
        # one block length per entry, as make request has one per class (``same_per_class`` says why), but on a
        # large entry a warmed subject's block is as many calls as its warm-up (``warm_before``): each call then
        # runs in the settled state, and a cheap one (orjson_response, 1 MB: 1.1 ms) is not timed on one call a
        # round, ±4.4% from round to round, where the reference's call takes 15 ms
        reference = {entry: keys.index((job["reference"], entry)) for _, entry in keys}
        warm = warm_before(keys, body_bytes, reference, first_ns)
        blocks = [max(n, w) for n, w in zip(same_per_class(keys, [calls_per_block(call, job["block_ms"] * 1e6)
                                                                  for call in calls]), warm)]
        # a block of one call lasting several blocks' time (a 1 MB body) is timed once a round: a repeat would
        # double the round for what an interrupt takes from a call that long
        repeats = [1 if n == 1 and time_block(call, 1)[0] > LONG_BLOCK * job["block_ms"] * 1e6 else job["k"]
                   for n, call in zip(blocks, calls)]
        rng = np.random.default_rng(job["seed"])
        order = np.arange(len(calls))
        per_call, paired, t_s = [], [], []
        gc_ns, counts, requests = np.zeros(len(calls)), np.zeros((len(calls), 3), dtype=int), np.zeros(len(calls))
        faults = np.zeros(len(calls), dtype=int)  # minor page faults in the kept blocks (read outside the clock)

        def fastest(i: int, kept: bool) -> float:
            best = np.inf
            for _ in range(repeats[i]):
                for _ in range(warm[i]):
                    calls[i]()
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                elapsed, in_gc, generations = time_block(calls[i], blocks[i])
                best = min(best, elapsed - in_gc)
                if kept:
                    faults[i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
                    gc_ns[i] += in_gc
                    counts[i] += generations
                    requests[i] += blocks[i]
            return best / blocks[i]

        started = time.monotonic()
        deadline = started + job["seconds"]
        beside = job.get("pairing", "beside") == "beside"
        stride = (entry_strides(keys, calls, blocks, [k * (n + w) / n for k, n, w in zip(repeats, blocks, warm)],
                                job.get("round_ms", ROUND_MS)) if not beside else {})
        timed_rounds = dict.fromkeys(stride, 0)
        r = 0
        while (r < PILOT_ROUNDS + job["min_rounds"] or time.monotonic() < deadline
               or (stride and min(timed_rounds.values()) < job["min_rounds"])):
            rng.shuffle(order)
            row, ref_row = np.full(len(calls), np.nan), np.full(len(calls), np.nan)
            kept = r >= PILOT_ROUNDS
            # shuffled: the entries whose turn it is (a large body's group every stride-th round), one entry after
            # another in a shuffled order, each of its subjects once in a shuffled order: an idiom and the reference
            # on the same entry are timed within that entry's group (milliseconds apart), so the machine's speed,
            # which moves on that scale when other processes share it, cancels in their ratio
            due = {e for e, k in stride.items() if (r + offset(e)) % k == 0}
            if beside:
                for i in order:  # each subject beside a block of the reference on its entry, in a random order
                    j = reference[keys[i][1]]
                    if rng.random() < 0.5:
                        ref_row[i] = fastest(j, kept)
                        row[i] = fastest(i, kept)
                    else:
                        row[i] = fastest(i, kept)
                        ref_row[i] = fastest(j, kept)
            else:
                for e in rng.permutation(sorted(due)):
                    for i in order:
                        if keys[i][1] == e:
                            row[i] = fastest(i, kept)
                ref_row = row[[reference[entry] for _, entry in keys]]  # the reference's block in the same group
            if kept:
                per_call.append(row)
                paired.append(ref_row)
                t_s.append(time.monotonic() - started)
                for e in due:
                    timed_rounds[e] += 1
            r += 1
    finally:
        gc.callbacks.remove(COLLECTIONS)
    return {"index": job["index"], "hash_seed": os.environ.get("PYTHONHASHSEED"), "keys": [list(k) for k in keys],
            "reference": job["reference"], "pairing": job.get("pairing", "beside"), "calls_per_block": blocks,
            "repeats": repeats, "warm_before": [int(w) for w in warm], "rounds": len(per_call), "strides": stride,
            "per_call_ns": nulls(per_call), "paired_reference_ns": nulls(paired),
            "young_count_per_call": np.round(young, 3).tolist(), "young_rechecked": rechecked,
            "gc_ns_total": gc_ns.round(0).tolist(),
            "collections": counts.tolist(), "requests": requests.tolist(), "page_faults": faults.tolist(),
            "t_s": np.round(t_s, 3).tolist(), "process_cpu_s": process_cpu_seconds(os.getpid())}


if __name__ == "__main__":  # a worker process: python -m bench.payload_worker JOB RESULT
    try:
        write_json(sys.argv[2], measure(read_json(sys.argv[1])))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        sys.exit(130)
