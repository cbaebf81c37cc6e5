"""compat.json and the per-release probes (make matrix)."""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict


# --- compat.json (make matrix) ---
# harness.matrix writes Compat from one CompatProbe per Flask release (compat/<version>.json, written by
# harness.probe inside that release's nox environment).

class _CompatCellRequired(TypedDict):
    status: str  # "ok" | "differs" | "fails"
    detail: str  # one line


class CompatCell(_CompatCellRequired, total=False):
    cause: str  # only when not ok: "idiom" | "environment" (outside the idiom: the shared app, the venv)


class CompatResponse(TypedDict):
    status: int
    headers: Dict[str, str]  # those harness.conformance.capture_variant records, less Content-Length
    body: Optional[str]  # the exact body


class CompatForm(TypedDict):
    versions: List[str]  # the releases sending exactly these responses
    cases: Dict[str, CompatResponse]  # the JSON cases of the contract, by case name


class ByteChange(TypedDict):
    changed: bool  # do the variant's JSON responses differ between releases?
    summary: str  # one line
    forms: List[CompatForm]


class MinFlaskVariant(TypedDict):
    min_flask: str  # the registry's
    consistent: bool
    works_from: Optional[str]  # the oldest tested release from which every newer one is ok
    detail: str  # one line


class MinFlaskCheck(TypedDict):
    ok: bool
    mismatches: List[str]  # one line each
    variants: Dict[str, MinFlaskVariant]


class CompatVersion(TypedDict):
    built: bool
    error: Optional[str]  # why its environment was not built or its probe failed, one line
    seconds: Optional[float]
    packages: Optional[Dict[str, Optional[str]]]  # name -> installed version (None: not installed)
    control: Optional[str]  # "ok", or why the shared app fails there; None when not built
    raw: Optional[str]  # "compat/<version>.json"


class CompatReference(TypedDict):
    flask: str  # the main .venv's Flask: declared divergences are compared with their capture there
    why: str


class PayloadForm(TypedDict):
    versions: List[str]  # the releases (where the variant's payload app ran) sending exactly this
    http_status: Optional[int]
    content_type: Optional[str]
    body: Optional[str]
    exception: Optional[str]


class PayloadBytes(TypedDict):
    changed: List[str]  # the type-set entries whose answer differs between releases
    entries: Dict[str, List[PayloadForm]]  # entry -> its distinct answers, oldest releases first
    not_run: Dict[str, str]  # release -> why the payload app did not run there


class _CompatRequired(TypedDict):
    schema: str  # "flask-json-idioms/compat/2"
    started: str
    flask_versions: List[str]  # the pinned releases tested, oldest first
    cells: Dict[str, Dict[str, CompatCell]]  # variant -> release -> cell
    byte_changes: Dict[str, ByteChange]  # by variant
    min_flask_check: MinFlaskCheck
    versions: Dict[str, CompatVersion]
    reference: CompatReference
    environment: dict  # harness.environment.environment()


class Compat(_CompatRequired, total=False):
    payload_bytes: Dict[str, PayloadBytes]  # variant -> the payload type set's answers per release (issue 14)


class ProbeRecord(TypedDict, total=False):
    """One variant (or the control app) on one release."""
    error: Optional[str]  # import or create_app() failed: the error, one line (then cases is empty)
    verdict: str  # harness.conformance's verdict; absent when error is set
    cases: Dict[str, dict]  # case name -> harness.conformance.capture_variant's record of that case
    exceptions: Dict[str, str]  # case name -> the unhandled exception a view raised, one line


class ProbeControl(ProbeRecord, total=False):
    problem: Optional[str]  # why the shared app does not run on this release, one line; None if it does


class ProbePayloadCell(TypedDict):
    """One variant on one type-set entry on one release (``harness.probe.probe_payloads``)."""
    http_status: Optional[int]
    content_type: Optional[str]
    body: Optional[str]  # the exact bytes (bench.payload_semantics.shown: cut with length and hash past 240)
    exception: Optional[str]  # the exception that escaped the idiom, one line


class ProbePayloads(TypedDict):
    error: Optional[str]  # the variant's payload app could not be built here
    entries: Dict[str, ProbePayloadCell]


class _CompatProbeRequired(TypedDict):
    flask: Optional[str]
    python: str
    packages: Dict[str, Optional[str]]
    exceptions_observable: bool  # False where Flask cannot send got_request_exception (no blinker)
    control: ProbeControl
    variants: Dict[str, ProbeRecord]


class CompatProbe(_CompatProbeRequired, total=False):
    payloads: Dict[str, ProbePayloads]  # variant -> the type set's bytes (probes from before it: absent)
