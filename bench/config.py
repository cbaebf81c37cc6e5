"""What a quick and a full microbenchmark run measure, and the targets each checks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    mode: str
    construct_s: float  # time budget of the interleaved construct rounds, over all workers
    dispatch_s: float
    block_us: float  # one block of calls lasts about this long
    k: int  # blocks per subject per round; the fastest counts
    dispatch_k: int
    sequential_s: float  # per subject and pass, for the pytest-benchmark-style medians
    workers: int  # processes, each with its own share of the rounds
    parallel: int = 1  # processes at a time after the first, each pinned to a CPU of its own (harness.processes.run_workers)
    min_rounds: int = 30
    # the targets this stage checks (runs_spread across back-to-back runs: python -m bench.stability)
    target_wall_s: float = 0
    target_ci_pct: float = 0
    target_runs_spread: float = 0
    target_planted_pct: float = 0


QUICK = Config("quick", construct_s=3.0, dispatch_s=0.8, block_us=120, k=2, dispatch_k=1, sequential_s=0.02, workers=3, parallel=2,
               target_wall_s=30, target_ci_pct=3, target_runs_spread=1.05, target_planted_pct=20)
FULL = Config("full", construct_s=48.0, dispatch_s=12.0, block_us=200, k=3, dispatch_k=2, sequential_s=0.04, workers=20, parallel=2,
              target_wall_s=180, target_ci_pct=1, target_runs_spread=1.03, target_planted_pct=10)
