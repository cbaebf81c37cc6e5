"""request.json, its headline and history (make request, bench.request; figures by bench.request_analysis).

Classes: the names of ``variants.contract.SCENARIOS`` ("success", "created", "unauthorized", "admin"), then
of its ``ERROR_SCENARIOS`` ("bad_json", "not_found", "method_not_allowed", "server_error"): ``bench.request_worker.CLASSES``.
Every difference is against ``jsonify_tuple`` on the same class, in microseconds per request.
"""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Environment, Estimate, Interval


class Delta(TypedDict):
    estimate: float
    ci95: Interval
    ci90: Interval  # the TOST interval the equivalence verdict uses
    verdict: str  # "cheaper" | "dearer" | "equivalent" | "unresolved" | "reference" (jsonify_tuple itself)
    margin: float  # µs: the equivalence margin of this class


class Cell(TypedDict):
    us: Estimate  # the whole request's own time, collections included
    delta_us: Delta
    delta_pct: Estimate  # the difference as % of jsonify_tuple's request on the class
    per_worker_delta_us: List[float]


class AA(TypedDict):
    """The A/A pair: a second jsonify_tuple app against the first."""
    class_: str  # "class" in the file: the class of the headline figure (success)
    delta_us: float
    ci95: Interval
    verdict: str
    by_class: Dict[str, Delta]


class Calibration(TypedDict):
    planted_ns: int  # a busy-wait before the idiom, 1,000 ns, after the base wait every planted subject makes
    base_wait_ns: int  # that base wait (``bench.request_worker.BASE_WAIT_NS``), the planted reference's whole wait
    measured_ns: float
    ci95: Interval
    within_pct: float  # the mode's target
    error_pct: float
    per_worker_ns: List[float]
    aa: dict  # AA (with "class")
    alloc: dict  # a planted cost that allocates: {"what", "young_count_added", "expected_ns", "measured_ns", "ci95", "error_pct"}


class GcCell(TypedDict):
    gen0: float  # collections per 1,000 requests that landed in the subject's blocks
    gen1: float
    gen2: float
    young_count: float  # what one request adds to the young generation's count
    charged_ns: float  # collection time per request where the collections landed
    attributed_ns: float  # as the analysis attributes it: count x the run's time per unit of count


class Results(TypedDict):
    variants: Dict[str, Dict[str, Cell]]  # <name> -> <class> -> Cell
    reference_us: Dict[str, Estimate]  # jsonify_tuple's whole request per class
    calibration: Calibration
    margin_us: Dict[str, float]
    margin_definition: str
    resolution_us: Dict[str, float]  # the A/A interval's farthest bound: no smaller difference is claimed
    minimum_detectable_us: Dict[str, Optional[float]]  # 80% power, from the A/A pair's spread over workers
    gc_per_1000: Dict[str, Dict[str, GcCell]]
    round_noise_pct: Optional[float]  # robust SD (%) of a subject's per-round ratio to the reference
    speed_levels: Dict[str, float]  # p5, p50, p95 of the workers' speed levels (bench.request_analysis.speed_levels)


class YoungCheck(TypedDict):
    """The first worker counts what each subject's request adds to the young generation; the later workers are
    given those counts and count some subjects again (bench.request.young_check)."""
    counted_by: str
    rechecked: int  # recounts by later workers
    differ: List[dict]  # up to 20: {"worker", "subject": [name, class], "first_worker", "own"}
    differ_count: int


class RequestResult(TypedDict):
    schema: str  # "flask-json-idioms/request/1"
    mode: str
    seed: int
    started: str
    wall_s: float
    environment: Environment
    reference: str
    classes: List[str]
    gc: str  # "on" (production) | "off" (labelled option)
    what: str
    config: dict
    results: Results
    targets: dict
    warnings: List[str]
    young_counts: YoungCheck  # absent from runs before 2026-11-27 17:00
    raw: dict  # {"workers": [per worker: keys, calls_per_block, rounds, per_call_ns, young_count_per_call,
    # young_rechecked ([subject index, own count] pairs), ...]}


class RequestHeadlineCell(TypedDict):
    """summary.json's variants.<name>.request.<class>."""
    delta_us: dict  # {"estimate", "ci95", "verdict"}
    us: Estimate


class PlantedRecord(TypedDict):
    planted_ns: int
    base_wait_ns: int  # what the planted subjects all waited first (0 before 2026-11-27 13:10)
    measured_ns: float
    ci95: Interval


class RequestHistoryRecord(TypedDict):
    started: str
    mode: str
    gc: str
    git_commit: Optional[str]
    method: str  # how the rounds were timed: "k<blocks per subject and round>-errors-every-<n>"
    workers_at_once: int  # worker processes at a time after the first (absent before 2026-11-28: one)
    cpu_model: Optional[str]
    python: Optional[str]
    delta_us: Dict[str, Dict[str, float]]  # <name> -> <class> -> estimate
    reference_us: Dict[str, float]
    aa_ci95: Dict[str, Interval]
    planted: PlantedRecord  # absent from the records of runs before 2026-11-27 12:40
