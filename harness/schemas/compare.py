"""compare.json (make compare): one run against a base run, per idiom and status class."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Interval


class CompareSide(TypedDict):
    """One of the two runs, as its results folder records it."""
    folder: str
    mode: Optional[str]  # "quick" | "full"
    started: Optional[str]  # summary.json run.started, else the microbenchmarks' start
    commit: Optional[str]  # environment.git_commit ("-dirty" if measured on a changed tree)
    published_commit: Optional[str]  # summary.json published.commit (a published run)
    python: Optional[str]
    cpu_model: Optional[str]
    cores: Optional[int]
    lock_sha256: Optional[str]


class CompareThreshold(TypedDict):
    pct: float  # a change within ±pct% is "same"
    how: str  # where it comes from, in one sentence
    runs: int  # earlier runs whose spread it was taken from (0: a stated default)


class CompareRow(TypedDict):
    measure: str  # "construction" (micro.json) | "http" (load.json) | "instructions" (counts.json)
    idiom: str
    status: str  # "all" (the mix) | a status class: "success", "created", "unauthorized", "admin"
    base: Optional[float]  # the compared figure in each run (see CompareResult.basis)
    new: Optional[float]
    change_pct: Optional[float]  # 100 * (new / base - 1)
    ci95_pct: Optional[Interval]  # the change's 95% interval, from both runs' intervals (None: exact counts)
    threshold_pct: float
    verdict: str  # "same" | "slower" | "faster" | "reference" | "only in base" | "only in new"


class CompareIdiom(TypedDict):
    verdict: str  # "no change" | "slower" | "faster" | "slower and faster"
    slower: List[str]  # "construction, unauthorized (401): +10.0%"
    faster: List[str]


class CompareResult(TypedDict):
    schema: str  # "flask-json-idioms/compare/1"
    status: str  # "ok"
    date: str
    base: CompareSide
    new: CompareSide
    same_machine: bool  # the same CPU model, core count and Python: ratios to the floor compared directly
    basis: Dict[str, str]  # measure -> the figure compared ("ratio to the floor", "relative to jsonify_tuple", ...)
    differences: List[str]  # what differs between the two runs' environments
    thresholds: Dict[str, CompareThreshold]  # measure -> threshold
    rows: List[CompareRow]
    idioms: Dict[str, CompareIdiom]
    regressions: List[str]  # idioms slower beyond the threshold somewhere: the command exits 1
    notes: List[str]
