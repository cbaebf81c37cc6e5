"""counts.json, its headline and history (make count, bench.counts; written by bench.count_analysis)."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict


# --- counts.json (make count) ---
# bench.counts writes CountsResult; summary.json gets CountsHeadline per variant and class; each run appends
# a CountsHistoryRecord to counts_history.json. Classes: "success", "created", "unauthorized", "admin".

class CountsHeadline(TypedDict):
    """summary.json's variants.<name>.counts.<class>."""
    instructions: float  # per request, headline seed and environment; the same to the instruction run to run
    delta_pct: Optional[float]  # against jsonify_tuple on the same class
    seed_spread_pct: Optional[float]  # (max - min) / min over the headline and spread seeds; null where not measured
    alloc_blocks: Optional[float]  # heap blocks a request allocates in all, freed or not (memcheck, PYTHONMALLOC=malloc)
    alloc_bytes: Optional[float]  # the bytes of those blocks
    gc_collections_per_1000: Optional[List[float]]  # [gen0, gen1, gen2] per 1,000 requests
    gc_collected_per_1000: Optional[float]  # objects the collector freed per 1,000 requests


class CountsCell(CountsHeadline):
    peak_bytes: Optional[float]  # tracemalloc's peak during the request above its start (median)
    raw: List[int]  # valgrind's counts: [counting process, empty before, empty after]
    n: int  # requests in the counting process
    alloc_raw: Optional[Dict[str, List[int]]]  # memcheck's: {"blocks": [...], "bytes": [...]}, the same three processes
    alloc_n: Optional[int]  # requests in the counting process under memcheck


class CountsFunction(TypedDict):
    function: str  # a C function (callgrind), outside the interpreter's re-entry cycles
    instructions: float  # inclusive difference per request against the reference
    share_pct: Optional[float]  # of the whole difference; inclusive shares overlap
    calls: float  # difference in calls per request


class CountsFile(TypedDict):
    file: str  # a CPython source file ("Objects/dictobject.c"), or another library's path
    role: str  # what that code does, where known
    instructions: float  # self-cost difference per request; the shares of all files add up to 100%
    share_pct: Optional[float]


class CountsPythonCall(TypedDict):
    function: str  # "flask/app.py:744(handle_http_exception)"
    calls: float  # difference in calls per request (cProfile's call counts)


class CountsAttribution(TypedDict):
    variant: str
    # "class" (a Python keyword, so not declared here): the status class
    delta_pct: Optional[float]
    difference: float  # instructions per request against the reference, as callgrind counted them
    functions: List[CountsFunction]  # the top five
    files: List[CountsFile]  # the top five
    bytecode: dict  # {"instructions", "share_pct"}: _PyEval_EvalFrameDefault's own instructions
    python_calls: List[CountsPythonCall]  # the top five


class CountsSeedSpread(TypedDict):
    seeds: List[int]  # the headline seed first
    cells: List[str]  # "<variant>/<class>" measured on every seed
    max_pct: Optional[float]
    per_seed: Dict[str, Dict[str, float]]  # seed -> cell -> instructions per request
    delta_pct_range: Dict[str, List[float]]  # cell -> [lowest, highest] delta_pct over the seeds (not the reference)
    how: str


class CountsChange(TypedDict):
    variant: str
    # "class": the status class
    published: float
    now: float
    change_pct: float


class CountsPublished(TypedDict, total=False):
    file: Optional[str]  # reports/published/counts.json, or None when there is none
    missing: str  # the file looked for, when there is none
    compared: int
    flagged: List[CountsChange]  # cells that moved more than config.change_pct
    published_commit: Optional[str]
    published_mode: Optional[str]
    differs: List[str]  # what differs from the published run and moves counts: "python", "lock_sha256", "valgrind", "mode"


class CountsJob(TypedDict):
    kind: str  # "headline" | "spread" | "allocations" | "native" | "attribution"
    seed: int
    tool: Optional[str]  # "cachegrind" | "memcheck" | "callgrind" | None (natively)
    cells: int
    seconds: float
    problem: Optional[str]


class _CountsResult(TypedDict):
    schema: str  # "flask-json-idioms/counts/2" (1: alloc_blocks and alloc_bytes were what was held at start_response)
    status: str  # "ok" | "incomplete" | "skipped" (valgrind missing: then only "reason" and "started" besides)
    started: str
    variants: Dict[str, Dict[str, CountsCell]]  # name -> class -> figures


class CountsSize(TypedDict):
    """One idiom on one payload size entry (``GET /api/payload/<entry>``)."""
    instructions: float  # per request
    delta_pct: Optional[float]  # against jsonify_tuple on the same entry
    raw: List[int]  # [counting process, empty before, empty after]
    n: int


class CountsResult(_CountsResult, total=False):
    reason: str  # why it was skipped
    mode: str  # "quick" | "full"
    wall_s: float
    what: str
    reference: str  # "jsonify_tuple"
    classes: Dict[str, dict]  # class -> method, path, who, status
    config: dict  # bench.count_plan.Mode's fields, seeds, thresholds, variants
    left_out: List[str]  # what this mode does not measure that a full run does
    environment: dict  # harness.environment.environment() + valgrind, process_environment, commands
    seed_spread: CountsSeedSpread
    sizes: Dict[str, Dict[str, CountsSize]]  # <variant> -> <size entry> -> CountsSize
    sizes_what: str
    allocations_what: str
    attribution: List[CountsAttribution]
    published: CountsPublished
    jobs: List[CountsJob]
    problems: List[str]


class CountsHistoryRecord(TypedDict):
    started: str
    mode: str
    git_commit: Optional[str]
    wall_s: float
    seed_spread_max_pct: Optional[float]
    instructions: Dict[str, float]  # "<variant>/<class>" -> per request
    alloc_blocks: Dict[str, Optional[float]]  # "<variant>/<class>" -> per request


class CountsHistory(TypedDict):
    runs: List[CountsHistoryRecord]  # the last 50
