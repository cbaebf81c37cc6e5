"""conformance.json: every variant against the contract (make verify)."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict


# --- conformance.json (make verify, harness.conformance) ---

class CaseCapture(TypedDict):
    request: str  # "GET /api/admin as anonymous"
    status: int
    headers: Dict[str, str]  # the headers harness.conformance.SHOWN_HEADERS names, as sent
    body: Optional[str]  # the body as text where the case expects JSON, else None
    body_length: int
    deviations: List[str]  # how the response departs from the contract case; empty when it conforms


class VariantConformance(TypedDict):
    verdict: str  # "conforms" | "declared divergence" | "BROKEN"
    divergence: Optional[str]
    summary: str
    min_flask: str
    headers_via: str
    pitfall: str
    idiom_lines: int
    conforms: bool
    cases: Dict[str, CaseCapture]


class Conformance(TypedDict):
    schema: str  # "flask-json-idioms/conformance/2"; without it, a file of the variants alone (older runs)
    started: str
    variants: Dict[str, VariantConformance]
