"""micro.json, its history and the stability check (make micro)."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Interval, Estimate


# --- micro.json (make micro) ---
# bench.micro writes micro.json (MicroResult) and appends to micro_history.json (MicroHistory);
# bench.stability writes micro_stability.json (MicroStability). Times are ns per call.

class CpuUse(TypedDict):
    """harness.environment.CpuSnapshot.since: the machine's CPU between two moments."""
    seconds: float
    steal_fraction: float
    busy_fraction: float


class MicroWorker(TypedDict):
    index: int
    hash_seed: Optional[str]  # PYTHONHASHSEED
    phases: Dict[str, CpuUse]  # "sequential" (some workers), "construct", "dispatch"
    process_cpu_s: Optional[float]


class MicroEnvironment(TypedDict, total=False):
    # harness.environment.environment()'s keys (date, mode, python, packages, cpu_model, cores, ...), plus:
    cpu: CpuUse  # over the whole run
    phases: Dict[str, CpuUse]  # "calibrate", "workers"
    workers: List[MicroWorker]


class MicroConfig(TypedDict, total=False):
    # every field of bench.config.Config (mode, construct_s, block_us, k, workers, target_*, ...), and the run's:
    floor: str  # the baseline every ratio is taken to: "werkzeug_response"
    planted_ns: int
    variants: List[str]
    rounds: Dict[str, List[int]]  # "construct" | "dispatch" -> rounds per worker


class MicroSubjectInfo(TypedDict):
    key: str  # "<kind>/<scenario>/<name>"
    name: str
    kind: str  # "construct" | "dispatch"
    scenario: str
    role: str  # "variant" | "baseline" | "calibration"
    calls_per_block: int
    divergence: Optional[str]


class MicroRounds(TypedDict):
    """The raw samples of one kind."""
    t_s: List[List[float]]  # per worker: each round's start, s since the worker started
    per_call_ns: Dict[str, List[List[float]]]  # key -> per worker: ns per call, per round


class OverWorkers(TypedDict):
    """bench.analysis.summarise: per worker the median over its rounds, then the trimmed mean over workers."""
    estimate: float
    ci95: Interval
    ci_half_width_pct: Optional[float]
    per_worker: List[float]  # each worker's median


class MicroSubjectResult(TypedDict):
    ns: OverWorkers
    ratio_to_floor: OverWorkers


class Median(TypedDict):
    median: float
    ci95: Interval


class MicroFigures(TypedDict):
    construct_ns: Median
    dispatch_ns: Median
    ratio_to_floor: Estimate  # construct
    dispatch_ratio_to_floor: Estimate


class MicroNamed(MicroFigures):
    """A variant over the mix of its scenarios (a baseline: success only), and per scenario."""
    scenarios: Dict[str, MicroFigures]


class MicroVariant(MicroNamed):
    rank: int  # by construct ratio to the floor over the mix; 1 = cheapest


class MicroCalibration(TypedDict):
    planted_ns: int
    measured_ns: float  # planted minus planted_reference, round by round, over workers
    ci95: Interval
    error_pct: float
    within_pct: float  # the target
    per_worker: List[float]
    aa: Optional[dict]  # {"what", "delta_ns", "ci95", "pct", "ci95_pct"}: a second jsonify_tuple app minus the variant


class MicroPair(TypedDict):
    """A row of harness.stats.pairwise: a is the faster, ratio = b's time over a's (>= 1)."""
    a: str
    b: str
    ratio: float
    ci95: Interval
    p: float
    p_holm: float
    effect_size: float  # rank-biserial of the per-round log ratios; +1: a faster in every round
    significant: bool
    below_resolution: bool
    verdict: str
    per_worker: List[float]


class SequentialPass(TypedDict):
    phase: str  # "worker <i>"
    ns: Dict[str, float]  # key -> median block, ns per call
    ratio_to_floor: Dict[str, float]  # name -> over the mix


class SequentialMethod(TypedDict):
    what: str
    passes: List[SequentialPass]
    ratio_spread: Dict[str, Optional[float]]  # name -> max/min across passes
    ns_spread: Dict[str, Optional[float]]
    floor_ns_spread: Optional[float]


class InterleavedMethod(TypedDict):
    what: str
    ratio_to_floor: Dict[str, float]
    ci_half_width_pct: Dict[str, Optional[float]]
    per_worker_spread: Dict[str, Optional[float]]  # max/min over workers


class MicroMethods(TypedDict):
    sequential: SequentialMethod
    interleaved: InterleavedMethod


class MicroDrift(TypedDict):
    """The floor's per-call time over all rounds: the speed drift that the ratios cancel."""
    floor_ns_min: float
    floor_ns_max: float
    max_over_min: float
    p95_over_p5: float


class MicroResults(TypedDict):
    construct: Dict[str, MicroSubjectResult]  # key -> figures
    dispatch: Dict[str, MicroSubjectResult]
    variants: Dict[str, MicroVariant]
    baselines: Dict[str, MicroNamed]  # "raw_wsgi" | "werkzeug_response"
    calibration: MicroCalibration
    pairwise: Dict[str, Dict[str, List[MicroPair]]]  # kind -> "all" (the mix) | scenario -> rows, largest ratio first
    methods: MicroMethods
    drift: MicroDrift


class MicroTargets(TypedDict):
    """The targets this mode checks: {"target", and what one run measured ("met" where it can tell)}."""
    mode: str
    wall_s: dict  # target, measured_in_process
    ci95_half_width_pct: dict  # target, worst, met
    planted_within_pct: dict  # target, error_pct, met
    runs_max_over_min: dict  # target, how (only across runs: micro_stability.json)


class _MicroResult(TypedDict):
    schema: str  # "flask-json-idioms/micro/1"
    mode: str  # "quick" | "full"
    seed: int
    started: str
    wall_s: float
    measured_s: float
    environment: MicroEnvironment
    config: MicroConfig
    ratio_definition: str
    subjects: Dict[str, List[MicroSubjectInfo]]  # kind -> subjects
    rounds: Dict[str, MicroRounds]  # kind -> raw samples (left out of a published copy)
    results: MicroResults
    targets: MicroTargets
    warnings: List[str]


class MicroResult(_MicroResult, total=False):
    omitted: str  # a published copy: what was left out (reports.publish)


class MicroHeadline(TypedDict):
    """summary.json's variants.<name>.micro."""
    ratio_to_floor: Estimate
    rank: int


class MicroSequentialRecord(TypedDict):
    phase: str
    ratio_to_floor: Dict[str, float]
    floor_ns: float


class MicroHistoryRecord(TypedDict):
    started: str
    mode: str
    seed: int
    wall_s: float
    git_commit: Optional[str]
    cpu: CpuUse
    interleaved_ratio: Dict[str, float]  # variants and baselines
    interleaved_ci_half_width_pct: Dict[str, Optional[float]]
    sequential: List[MicroSequentialRecord]
    construct_ns: Dict[str, float]  # variants, over the mix
    planted_ns: float  # as measured


class MicroHistory(TypedDict):
    runs: List[MicroHistoryRecord]  # the last 50


class StabilityRun(TypedDict):
    wall_s: float  # from outside, start-up included
    worst_ci_half_width_pct: float
    planted_ns: float
    planted_error_pct: float
    steal_fraction: float
    busy_fraction: float
    ratio_to_floor: Dict[str, float]
    sequential_ratio_to_floor: Dict[str, List[float]]  # name -> per pass
    construct_ns: Dict[str, float]


class MicroStability(TypedDict):
    schema: str  # "flask-json-idioms/micro_stability/1"
    mode: str
    runs: List[StabilityRun]
    spread: Dict[str, Dict[str, Optional[float]]]  # "interleaved" | "sequential" | "construct_ns" -> name -> max/min
    targets: Dict[str, dict]  # name -> target, measured, met
