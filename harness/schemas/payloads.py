"""payloads.json (make payloads, a stage of make bench: bench.payload_cost; cells by bench.payload_semantics).

Entries: the corpus (``payloads``): the size sweep ``size_100b`` ... ``size_1mb``, the type set
(``payloads.types.TYPE_SET``) and the user's files (``PAYLOADS=path``), by file name without the extension.
Every difference is against ``jsonify_tuple`` on the same entry, in microseconds per request.
"""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

from harness.schemas import Environment, Estimate
from harness.schemas.request import Delta


class CorpusEntry(TypedDict):
    size_bytes: int  # bytes of the compact UTF-8 JSON text (a type json cannot write counted as its str())
    source: str  # "builtin" | "user"
    kind: str  # "size" | "type" | "user"
    rule: str  # a key of ``rules``: how two bodies count as the same value
    need: Optional[str]  # a key of ``needs`` (type entries)
    what: str


class Exception_(TypedDict):
    type: str
    message: str


class Cell(TypedDict):
    """What one variant made of one entry (``GET /api/payload/<entry>`` through the test client)."""
    status: str  # "ok" | "differs" | "error"
    detail: str  # the exact bytes (cut past 240 bytes, with length and SHA-256), or the exception and what the client got
    http_status: int
    content_type: Optional[str]
    content_length: Optional[int]
    body_bytes: int
    same_bytes: Optional[bool]  # the very bytes jsonify_tuple sent (None: an error)
    parses_as_reference: Optional[bool]  # the same value under the entry's rule (None: not compared)
    strict_json: bool  # parses without NaN/Infinity (RFC 8259)
    client_got_500: bool
    exception: Optional[Exception_]  # what escaped the idiom (Flask's got_request_exception)
    body_sha256: str


class CostCell(TypedDict, total=False):
    us: Estimate  # the whole request's time, µs
    delta_us: Delta  # against jsonify_tuple on the same entry ("reference" for jsonify_tuple itself)
    delta_pct: Estimate  # (the per-worker ratio to jsonify_tuple - 1) x 100, interval over workers
    ci_pct_of_cost: float  # the Δ's CI half-width as % of the idiom's own request (from the ratio's interval)
    per_worker_delta_us: List[float]
    page_faults_per_request: Optional[float]  # minor page faults per timed request, median over workers (None: not recorded)
    aa_pct: Estimate  # jsonify_tuple only: a second app of it (jsonify_tuple~aa) against it, timed as an idiom (A/A), %
    http: dict  # {"estimate", "ci95", "verdict"}: µs of app CPU over HTTP against jsonify_tuple (load_payloads.json's
    #             delta, copied by bench.payload_cost.merge_http), at the entries make payloads-http timed


class Fit(TypedDict, total=False):
    """A line fitted to cost against size (KB) in each worker (weighted by 1/cost), then over workers."""
    fixed_us: Estimate
    per_kb_us: Estimate
    delta_fixed_us: Estimate  # the same fit on the Δ against jsonify_tuple
    delta_per_kb_us: Estimate
    sizes: List[str]


class RankingChange(TypedDict):
    cheaper: str  # cheaper at ``from``
    dearer: str
    to: str  # the size entry where the order is the other way round (both resolved)
    from_kb: float
    to_kb: float
    crossover_kb: Optional[float]  # where the fitted lines cross
    difference_fixed_us: Estimate  # the line fitted to cheaper minus dearer against size, per worker then over workers
    difference_per_kb_us: Estimate
    p_holm: List[float]  # Holm-adjusted p of the order at ``from`` and at ``to``
    family: int  # the tests adjusted together: two ends of every pair whose fitted lines cross between two sizes


class PayloadsResult(TypedDict, total=False):
    schema: str  # "flask-json-idioms/payloads/1"
    mode: str
    seed: int
    started: str
    wall_s: float
    environment: Environment
    reference: str
    user_path: Optional[str]
    what: str
    rules: Dict[str, str]  # rule -> what it accepts as the same value
    needs: Dict[str, str]  # type need -> its label
    classes: Dict[str, List[str]]  # payload class (tiny, typical, large) -> its size entries
    corpus: Dict[str, CorpusEntry]
    cells: Dict[str, Dict[str, Cell]]  # <variant> -> <entry> -> Cell
    cost: Dict[str, Dict[str, CostCell]]  # <variant> -> <entry> -> CostCell
    fits: Dict[str, Fit]
    ranking: Dict[str, List[str]]  # size entry -> variants, cheapest first
    ranking_changes: List[RankingChange]
    margin_definition: str
    not_timed: List[dict]  # {"variant", "entry", "why"}: cells with no cost (an error)
    config: dict
    targets: dict
    warnings: List[str]
    young_counts: dict  # harness.schemas.request.YoungCheck: the later workers' recounts (absent before 2026-11-27 17:30)
    raw: dict  # {"workers": [index, keys, calls_per_block, rounds, per_call_ns, young_rechecked, t_s, ...]}
    http: dict  # make payloads-http's run (bench.payload_cost.merge_http): status, error, file, method, config,
    #             request_us, margin_us, aa, targets, warnings
