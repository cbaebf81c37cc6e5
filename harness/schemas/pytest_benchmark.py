"""pytest_benchmark_history.json: pytest-benchmark's medians as ratios to the floor, run by run."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict


# --- pytest_benchmark_history.json (bench.pytest_benchmark_run) ---
# pytest_benchmark.json itself is pytest-benchmark's own format; the last record here is this run's.

class PytestBenchmarkVariant(TypedDict):
    construct_ns: Dict[str, float]  # scenario -> median ns
    mix_ns: float
    ratio_to_floor: float  # of the medians
    min_ratio_to_floor: float  # of the minimums


class PytestBenchmarkRecord(TypedDict):
    date: str
    mode: str
    wall_s: float
    git_commit: Optional[str]
    cpu: dict
    max_time_s: float
    floor_iterations_per_round: Optional[int]
    floor_ns: float
    variants: Dict[str, PytestBenchmarkVariant]  # the variants and the floor


class PytestBenchmarkHistory(TypedDict):
    runs: List[PytestBenchmarkRecord]  # the last 50
