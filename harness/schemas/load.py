"""load.json and its headline (make load)."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Interval, Estimate


# --- load.json (make load) ---
# loadtests.run writes LoadResult (saved after every finished shape); summary.json gets LoadHeadline
# per variant and LoadCalibrationHeadline. Targets are the mounted names: each variant by its name, and
# the controls "floor", "planted", "planted_reference", "reference" (one more jsonify_tuple app: the A/A
# twin) and "reference_2", "reference_3" (two more: with the variant's own, the reference's apps).

class LoadServerUs(TypedDict):
    p50: float  # median app time (one server process); the mean of the processes' medians (several)
    p90: float
    p99: float
    ci95: Interval  # several processes: Student's t over them; one: block bootstrap over its time windows
    ci_half_width_pct: float  # what the ci95_half_width_pct target checks
    mix: float  # mean over windows of the mean over scenarios of the median app time (at the usual speed)


class LoadRatio(TypedDict, total=False):
    reference: str  # ratio_to_reference only: "jsonify_tuple", or "floor" where no reference was served
    estimate: float  # mean over server processes of the mean over their windows of the per-window ratio
    ci95: Interval


class LoadShare(TypedDict):
    app_pct: float  # the app's CPU per request over the server's whole CPU per request
    idiom_delta_pct: float  # the extra app CPU over the cheapest conforming idiom's, in the same unit


class _LoadTargetRequired(TypedDict):
    requests: int
    failures: int  # responses that broke the contract (locust's count)
    rps: float
    server_us: LoadServerUs  # Server-Timing app wall time
    server_cpu_us: Dict[str, float]  # p50, mix: Server-Timing thread CPU time
    ratio_to_floor: LoadRatio
    ratio_to_reference: LoadRatio
    latency_ms: Dict[str, float]  # p50, p95, p99: locust's unbucketed response times
    locust_latency_ms: Dict[str, Optional[float]]  # p50, p95, p99: locust's CSV (bucketed; the worst run)
    share_of_request: LoadShare


class LoadDeltaPct(TypedDict):
    estimate: float  # the Δ as % of the request's server CPU over HTTP (server_request_cpu_us)
    ci95: Interval


class LoadDelta(TypedDict):
    """A variant's Δ µs of server time against jsonify_tuple on one status class (harness.stats.verdict)."""
    estimate: float  # mean over server processes of the mean over their windows of the per-window Δ
    ci95: Interval  # Student's t over the per-process values (one process: block bootstrap over its windows)
    ci90: Interval  # the TOST interval: inside [-margin, margin] means "equivalent"
    verdict: str  # "cheaper" | "dearer" | "equivalent" | "unresolved"; jsonify_tuple itself: "reference"
    margin: float  # µs: the class's equivalence margin (LoadDeltaFacts.margin_us)
    per_process: List[float]  # the units: each server process's mean Δ ([] for the reference)
    minimum_detectable_us: Optional[float]  # harness.stats.minimum_detectable from the units' standard error
    delta_pct: LoadDeltaPct


class LoadTarget(_LoadTargetRequired, total=False):
    rank: int  # variants only: by ratio_to_floor, 1 the cheapest
    delta_us: Dict[str, LoadDelta]  # variants only, per status class (variants.contract.SCENARIOS)


class _LoadAARequired(TypedDict):
    what: str
    diff_us: float  # the A/A twin minus the reference (the mean of jsonify_tuple's apps), over the classes' mix
    ci95: Interval
    pct: float  # diff_us over the reference's mix
    per_server_pct: List[float]


class LoadAA(_LoadAARequired, total=False):
    delta_us: float  # the same as diff_us (the name the other stages use)
    verdict: str  # harness.stats.verdict against margin_us
    margin_us: float  # 1% of the request's server CPU


class _LoadCalibrationRequired(TypedDict):
    planted_us: int
    measured_us: float  # planted minus planted_reference, estimated as a ratio is
    ci95: Interval
    error_pct: float  # what the planted_within_pct target checks


class LoadCalibration(_LoadCalibrationRequired, total=False):
    aa: LoadAA
    planted_ns: int  # planted_us in ns, measured_ns and ci95_ns likewise (ci95 stays in µs)
    measured_ns: float
    ci95_ns: Interval


class LoadDeltaFacts(TypedDict):
    """A shape's Δ µs against jsonify_tuple: what was measured and what it resolves, per status class."""
    reference: str  # "jsonify_tuple", or "jsonify_tuple (its other instances)" where the variant was not selected
    reference_apps: List[str]  # the apps whose mean (per class and time window) is the reference
    what: str  # what is inside the clock, in one sentence
    classes: List[str]  # variants.contract.SCENARIOS
    server_request_cpu_us: float  # the request's server CPU over HTTP: the margin's and delta_pct's base
    margin_share_pct: float  # 1: the margin is this % of server_request_cpu_us ...
    margin_us: Dict[str, float]  # ... or the A/A interval's half-width on the class, where that is wider
    margin_from: Dict[str, str]  # which of the two set it
    resolution_us: Optional[Dict[str, float]]  # max |A/A ci95 bound| per class (None without the A/A pair)
    minimum_detectable_us: Dict[str, Optional[float]]  # the largest over the idioms compared
    minimum_detectable_median_us: Dict[str, Optional[float]]  # the median idiom's
    aa: Optional[Dict[str, LoadDelta]]  # per class: the A/A twin against the reference, as a variant (margin: 1%)


class LoadRss(TypedDict):
    first_quarter_mb: Optional[float]
    last_quarter_mb: Optional[float]
    growth_pct: Optional[float]  # the worst server process's


class LoadSpeed(TypedDict):
    requests_per_bin: int  # consecutive requests of a process that share one speed estimate
    p5: float  # the requests' slowdown factors (time over the run's usual): how far the speed moved
    p50: float
    p95: float


class LoadBottleneck(TypedDict):
    verdict: str  # "neither" | "server" | "load generator" | "both"
    detail: str


class _LoadShapeRequired(TypedDict):
    status: str  # "ok"; "incomplete" (and nothing else) while it runs or if it never finished


class LoadShape(_LoadShapeRequired, total=False):
    duration_s: float  # locust seconds, over every server process
    measured_s: float  # without each run's warm-up and last half second
    servers: int  # fresh server processes, one locust run each
    users: int
    rate_per_user: Optional[float]  # req/s per user (paced); None: as fast as it goes
    rps: float
    requests: int
    failures: int
    generator_cpu: float  # share of its core, over the measured spans
    server_cpu: float
    steal_fraction: float
    bottleneck: LoadBottleneck
    server_request_cpu_us: float  # the server's whole CPU per request (the server itself included)
    rss: LoadRss
    windows_used: int  # time windows that saw every target and scenario
    windows_planned: int  # over all runs; fewer were cut where the requests could not fill them (MIN_PER_CELL)
    files: List[str]  # locust's CSV and HTML, relative to the results folder
    targets: Dict[str, LoadTarget]
    calibration: Optional[LoadCalibration]  # None in the per-variant layout (no planted pair)
    delta: Optional[LoadDeltaFacts]  # None where jsonify_tuple was not served beside the variants (per-variant layout)
    window_mix_us: Dict[str, List[float]]  # target -> its mix per used window, as measured (every other figure
    # is of the times divided by the speed factors: loadtests.analysis.relative_speed)
    speed: LoadSpeed  # the interleaved shapes (not the payload mode)


class LoadTargetCheck(TypedDict, total=False):
    value: Optional[float]
    target: float
    met: bool
    of: str  # the figure checked, where the name does not say (ci95_half_width_pct: "ratio_to_floor")


class LoadFiles(TypedDict):
    locust_csv: List[str]
    locust_html: List[str]
    raw: str  # "load.json"


class LoadDrift(TypedDict):
    floor_server_us: List[float]  # the floor's p50 in each variant's server (per-variant layout)
    max_over_min: float


class _LoadResultRequired(TypedDict):
    schema: str  # "flask-json-idioms/load/1"
    status: str  # "ok" | "failed" | "incomplete"
    mode: str  # "quick" | "full"
    layout: str  # "interleaved" (shapes "closed", "paced") | "per-variant" (one shape per variant, by its name)
    date: str  # start, ISO 8601 UTC
    server: str  # the loadtests.servers entry
    config: dict  # loadtests.run.Config
    environment: dict  # harness.environment.environment()
    shapes: Dict[str, LoadShape]
    warnings: List[str]
    locust: dict  # version, user_class, workers, users


class LoadResult(_LoadResultRequired, total=False):
    gunicorn: dict  # the server's settings: server, app, bind, workers, worker_class, cpu, ...
    apps_per_target: int  # apps behind every mounted name, taking turns a request each (loadtests.mount)
    wall_s: float
    duration_s: float  # the same as wall_s
    primary_shape: Optional[str]  # where the figures reported for each variant come from (None: per-variant)
    incomplete: List[str]  # shapes that did not finish
    server_request_cpu_us: Optional[float]  # the primary shape's
    files: LoadFiles
    drift: LoadDrift  # per-variant layout only
    targets: Dict[str, LoadTargetCheck]  # zero_failures, ci95_half_width_pct, wall_s, planted_within_pct,
    #                                     delta_ci95_half_width_us (the widest Δ µs CI reported, any variant and class)
    minimum_detectable_us: Optional[Dict[str, Optional[float]]]  # the primary shape's, per class
    margin_us: Optional[Dict[str, float]]  # the primary shape's equivalence margins, per class
    error: str  # when failed


class LoadDeltaHeadline(TypedDict):
    estimate: float
    ci95: Interval
    verdict: str
    margin: float  # µs: the equivalence margin the verdict was judged against


class LoadHeadline(TypedDict):  # summary.json: variants.<name>.load (None when not measured)
    ratio_to_floor: Estimate
    ratio_to_reference: Estimate
    rank: Optional[int]  # None in the per-variant layout
    delta_us: Optional[Dict[str, LoadDeltaHeadline]]  # per status class; None without jsonify_tuple beside it


class LoadCalibrationHeadline(_LoadCalibrationRequired, total=False):  # summary.json: calibration.load
    aa: LoadAA
    planted_ns: int
    measured_ns: float
    ci95_ns: Interval


# --- load_payloads.json (loadtests.run's payload mode: make payloads-http) ---

class PayloadDelta(TypedDict):
    estimate: float  # µs of app CPU per request against jsonify_tuple on the same entry, mean over server processes
    ci95: Interval  # Student's t over the server processes
    ci90: Interval
    verdict: str  # "cheaper" | "dearer" | "equivalent" | "unresolved" (inside the A/A interval)
    margin: float  # µs: 1% of jsonify_tuple's app CPU on the entry
    per_process: List[float]


class LoadPayloadsResult(TypedDict, total=False):
    schema: str  # "flask-json-idioms/load-payloads/1"
    status: str  # "ok" | "failed" | "incomplete"
    mode: str
    layout: str  # "interleaved" only
    date: str
    server: str
    entries: List[str]  # payload corpus entries (payloads.corpus)
    variants: List[str]
    reference: str
    phase_s: Optional[Dict[str, float]]  # entry -> seconds of each turn (the entries take turns by the clock)
    what: str
    config: dict
    environment: Environment
    shapes: Dict[str, dict]  # "closed" only: the load stage's per-shape facts
    warnings: List[str]
    locust: dict
    left_out: dict
    gunicorn: dict  # the server's settings
    apps_per_target: int  # apps behind every mounted name, taking turns a request each (loadtests.mount)
    wall_s: float
    primary_shape: Optional[str]
    incomplete: List[str]
    delta: Dict[str, Dict[str, PayloadDelta]]  # <variant> -> <entry> -> Δ ({} for the reference)
    aa: Dict[str, PayloadDelta]  # <entry> -> jsonify_tuple's second app against it
    request_us: Dict[str, float]  # <entry> -> jsonify_tuple's app CPU per request
    margin_us: Dict[str, float]
    minimum_detectable_us: Dict[str, Optional[float]]
    server_request_cpu_us: Optional[float]
    files: dict  # locust's CSV and HTML, relative to reports/out
    targets: dict  # zero_failures, delta_ci95_half_width_pct (of the reference's cost), wall_s
    error: str  # when failed
