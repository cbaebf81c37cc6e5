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
    declared: bool  # it deviates, and the variant's declared divergence covers this case (Variant.declares)
    facts: List["CaseFact"]  # what the response was observed to do (harness.conformance.observed_facts)


class CaseFact(TypedDict):
    fact: str  # a key of harness.conformance.FACTS: "html_for_json", "handler_bypassed", "header_lost", ...
    detail: str  # e.g. the Content-Type sent, the header lost, the exception's type name


class VariantFact(TypedDict):
    fact: str  # a key of harness.conformance.FACTS
    text: str  # how it reads: FACTS[fact]
    detail: str
    cases: List[str]  # the contract cases it was seen on


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
    # the error cases answered by the shared handlers alone (variants.site.api_error calling respond), for a
    # variant whose module sets up its own error handling: the type of the exception that left the app, or None
    in_shared_handler: Dict[str, Optional[str]]
    facts: List[VariantFact]  # the observed facts, grouped: the report's pitfall column is written from these


class Conformance(TypedDict):
    schema: str  # "flask-json-idioms/conformance/3" (2: no facts); without it, a file of the variants alone (older runs)
    started: str
    variants: Dict[str, VariantConformance]
