"""The schemas of the result files, as code: one module per file, a TypedDict per object.

Stages write these shapes through ``harness.results``; ``reports.data`` reads them. A change of shape
bumps the file's ``schema`` string. This module holds the shared pieces and summary.json, the index.
"""
from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

Interval = List[float]  # a 95% confidence interval: [lo, hi]


class Estimate(TypedDict):
    estimate: float
    ci95: Interval


# --- summary.json (harness.pipeline, harness.results.record_stage) ---

class StageEntry(TypedDict, total=False):
    status: str  # "ok" | "failed" | "incomplete" | "skipped" | "missing"
    file: str  # the stage's own result file, beside summary.json
    schema: str
    started: Optional[str]
    seconds: float  # how long the stage ran (make bench)
    detail: str


class Summary(TypedDict, total=False):
    schema: str
    run: dict  # mode, started, finished, variants, git commit
    stages: Dict[str, StageEntry]
    environment: dict  # harness.environment.environment()
    variants: Dict[str, dict]  # <name> -> <stage> -> headline figures only
    calibration: Dict[str, dict]  # <stage> -> planted and A/A headline
