"""The clock side of ``make micro``: block sizes, interleaved rounds, the sequential pass, one worker process.

A subject's time in a round is the fastest of ``k`` back-to-back blocks of calls (min-of-k drops
blocks hit by an interrupt), per call, with garbage collection off (the young generation is
collected between rounds, never inside a block). A worker process builds its apps afresh in a
random order, with its own hash seed, and runs its share of the rounds; it prints nothing unless it
fails (a traceback on stderr and a non-zero exit).

A worker is ``python -m bench.timing JOB RESULT``: it reads the job (JSON) and writes its samples.
"""
from __future__ import annotations

import gc
import math
import os
import random
import sys
import time
from itertools import repeat

import numpy as np

from bench.config import Config
from bench.subjects import KINDS, Subject, create_apps, subjects
from harness.environment import CpuSnapshot, process_cpu_seconds
from harness.results import read_json, write_json

PILOT_ROUNDS = 5  # rounds to warm up and to learn how long a round takes


def time_block(subject: Subject, n: int, k: int, clock=time.perf_counter_ns) -> float:
    """ns per call: the fastest of ``k`` back-to-back blocks of ``n`` calls."""
    call = subject.call
    best = math.inf
    with subject.entered():
        for _ in range(k):
            start = clock()
            for _ in repeat(None, n):
                call()
            best = min(best, clock() - start)
    return best / n


def calibrate(subject: Subject, block_ns: float) -> int:
    """Calls per block so that a block lasts about ``block_ns`` (at least one call); checks the result."""
    with subject.entered():
        subject.check(subject.call())
    n, elapsed = 1, 0.0
    while True:
        elapsed = time_block(subject, n, 1) * n
        if elapsed >= 2e6 or n >= 1 << 20:  # 2 ms of calls gives a steady per-call estimate
            break
        n *= 4
    per_call = min(elapsed / n, time_block(subject, n, 1))
    return max(1, round(block_ns / per_call))


def block_sizes(names: list, cfg: Config) -> tuple[dict, dict]:
    """Every subject of every kind with its calls per block: ({kind: [(subject, n)]}, {key: n})."""
    items = {kind: [(s, calibrate(s, cfg.block_us * 1e3)) for s in subjects(kind, names)] for kind in KINDS}
    return items, {s.key: n for kind in KINDS for s, n in items[kind]}


def interleaved(items: list, k: int, rounds: int, rng, started: float) -> dict:
    """Every subject one block per round, in a new shuffled order each round: per-call ns as an array
    (rounds, subjects) and each round's start in seconds since ``started``."""
    times = np.empty((rounds, len(items)))
    t_s = np.empty(rounds)
    order = np.arange(len(items))
    for r in range(rounds):
        t_s[r] = time.monotonic() - started
        rng.shuffle(order)
        for i in order:
            subject, n = items[i]
            times[r, i] = time_block(subject, n, k)
        gc.collect(0)  # between rounds, never inside a block: the young garbage only, it is quick
        if r % 50 == 49:
            gc.collect()
    return {"times": times, "t_s": t_s}


def sequential(items: list, seconds: float) -> dict:
    """pytest-benchmark's way: one subject after another, blocks back to back, the median block."""
    medians = {}
    for subject, n in items:
        samples = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(samples) < 5:
            samples.append(time_block(subject, n, 1))
        medians[subject.key] = float(np.median(samples))
    return medians


def rounds_within(items: list, k: int, budget_s: float, min_rounds: int, rng, started: float) -> tuple[dict, dict]:
    """A few pilot rounds (warm-up, and how long a round takes), then as many rounds as fit ``budget_s``;
    the rounds' samples and the CPU time they saw (the pilot's left out)."""
    pilot_start = time.monotonic()
    interleaved(items, k, PILOT_ROUNDS, rng, started)
    per_round_s = (time.monotonic() - pilot_start) / PILOT_ROUNDS
    before = CpuSnapshot.now()
    data = interleaved(items, k, max(min_rounds, int(budget_s / per_round_s)), rng, started)
    return data, CpuSnapshot.now().since(before)


def measure(job: dict) -> dict:
    """One worker process's share: its apps in a random order, a sequential pass (in some workers),
    then construct and dispatch rounds."""
    cfg = Config(**job["config"])
    rng = np.random.default_rng(job["seed"])
    started = time.monotonic()
    create_apps(job["names"], random.Random(job["seed"]))
    items = {kind: [(s, job["blocks"][s.key]) for s in subjects(kind, job["names"])] for kind in KINDS}
    for kind in KINDS:  # every subject once, outside the clock: lazy set-up and the class checks
        for subject, _ in items[kind]:
            with subject.entered():
                subject.check(subject.call())
    phases, raw, seq = {}, {}, None
    gc.collect()
    gc.disable()
    try:
        if job["sequential"]:
            before = CpuSnapshot.now()
            seq = sequential(items["construct"], cfg.sequential_s)
            phases["sequential"] = CpuSnapshot.now().since(before)
        for kind in KINDS:
            budget = (cfg.construct_s if kind == "construct" else cfg.dispatch_s) / cfg.workers
            raw[kind], phases[kind] = rounds_within(items[kind], cfg.k if kind == "construct" else cfg.dispatch_k,
                                                    budget, cfg.min_rounds, rng, started)
    finally:
        gc.enable()
    return {"index": job["index"], "hash_seed": os.environ.get("PYTHONHASHSEED"), "phases": phases,
            "sequential": seq, "process_cpu_s": process_cpu_seconds(os.getpid()),
            "keys": {kind: [s.key for s, _ in items[kind]] for kind in KINDS},
            "times": {kind: raw[kind]["times"].tolist() for kind in KINDS},
            "t_s": {kind: raw[kind]["t_s"].tolist() for kind in KINDS}}


if __name__ == "__main__":  # a worker process: python -m bench.timing JOB RESULT
    try:
        write_json(sys.argv[2], measure(read_json(sys.argv[1])))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        sys.exit(130)
