"""deploy.json (make deploy, ``bench/deploy.py``): does the answer hold under other servers, Pythons and Flask releases?"""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Interval


class DeployDelta(TypedDict):
    estimate: Optional[float]  # µs per request against jsonify_tuple on the same status class
    ci95: Optional[Interval]
    verdict: str  # "cheaper" | "dearer" | "equivalent" | "unresolved" | "reference"


class _DeployCellRequired(TypedDict):
    delta_us: DeployDelta


class DeployCell(_DeployCellRequired, total=False):
    share_pct: Optional[float]  # the Δ as a percentage of the request (request_us of its class, or request_cpu_us)


class Agreement(TypedDict):
    reference: str  # the item compared with: gunicorn_sync, Python 3.11, the newest Flask release
    agree: bool  # no (idiom, class) with definite verdicts in both that differ
    compared: int  # (idiom, class) pairs with definite verdicts (cheaper, dearer, equivalent) in both
    unresolved: int  # pairs where either verdict is unresolved
    differences: List[str]  # "abort_response on unauthorized: dearer here, equivalent on gunicorn_sync"


class _DeployEntryRequired(TypedDict):
    status: str  # "ok" | "failed" | "skipped"
    detail: str  # one line: what ran (server, interpreter, pins), or why it failed or was skipped
    request_cpu_us: Optional[float]  # the request's cost: server CPU per request over HTTP; in process jsonify_tuple's
    variants: Dict[str, Dict[str, DeployCell]]  # variant -> status class (contract.SCENARIOS) -> cell


class DeployEntry(_DeployEntryRequired, total=False):
    request_us: Dict[str, float]  # in process: jsonify_tuple's whole request per status class
    skipped_variants: Dict[str, str]  # variant -> why it was not measured here (min_flask above the release)
    agreement: Agreement  # the verdicts against the dimension's reference item
    ci95_half_width_us: Optional[float]  # the widest Δ interval's half-width
    ci_target: Dict[str, object]  # {"reference", "statistic", "half_width_us" (typical: the median over idiom x class),
    #                               "reference_us", "limit_us" (2x the reference item's), "met", "wide_classes": [class],
    #                               "by_class": {class: {"half_width_us" (widest), "reference_us", "limit_us", "met"}}}
    counts: Dict[str, object]  # pythons: instruction counts (bench.counts, valgrind) {"status", "detail", "variants":
    #                            {variant: {class: {"instructions", "delta_pct" (against jsonify_tuple)}}}, ...}
    measured: Dict[str, object]  # what it was measured with: {"git_commit", "lock_sha256", "mode", "started", "variants",
    #                              "settings" (REQUEST_WORKERS, REQUEST_SECONDS; LOAD_SECONDS, LOAD_PROCESSES)}
    seconds: float
    results: str  # the folder (beside deploy.json) with the stage's own result files and log
    interpreter: str  # pythons: the interpreter used
    python: str  # pythons: its full version


class Deploy(TypedDict):
    schema: str
    status: str  # "ok" | "incomplete" (interrupted)
    mode: str  # "quick" | "full"
    started: str
    wall_s: float
    budget_s: float
    servers: Dict[str, DeployEntry]  # gunicorn_sync, gunicorn_gthread, waitress, granian, ...
    pythons: Dict[str, DeployEntry]  # "3.9" ... "3.13"
    flask: Dict[str, DeployEntry]  # pinned Flask releases (noxfile.PINS)
    references: Dict[str, str]  # dimension -> the item its agreement is taken against
    taken_over: List[str]  # items an earlier run finished (same commit, lock, mode, idioms), kept, not measured again
    pending: List[str]  # items not finished (an interrupted run); empty when it ran to the end
    targets: Dict[str, object]  # {"wall_s": {"target", "value", "met"}, "ci95_half_width": {dimension: {item: met}},
    #                             "missed": ["pythons 3.13: typical ±x µs > 2 × ±y µs (3.11)", ...],
    #                             "wide": [the same for a class's widest cell, listed beside, not a miss]}
    environment: dict
