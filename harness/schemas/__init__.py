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


class Environment(TypedDict, total=False):
    """harness.environment.environment(): recorded with every stage's results (the stages add their own keys)."""
    date: str
    mode: Optional[str]
    python: str
    implementation: str
    packages: Dict[str, str]  # every installed distribution (PEP 503 name) -> its version
    lock_sha256: Optional[str]  # uv.lock's SHA-256: the exact versions make install installed
    cpu_model: str
    cores: int
    governor: Optional[str]
    kernel: str
    git_commit: Optional[str]  # short hash, "-dirty" if a tracked file had changed


class Published(TypedDict, total=False):
    """summary.json's published: make publish (reports.publish). Also "from" (a keyword here): the folder
    published from."""
    commit: str  # the commit published from (a clean work tree: make publish refuses any other)
    commit_short: str
    measured_at: Optional[str]  # the results' environment.git_commit
    date: str
    omitted: Dict[str, str]  # result files not published as they are -> why


class Summary(TypedDict, total=False):
    schema: str
    run: dict  # mode, started, finished, variants, git commit
    stages: Dict[str, StageEntry]
    environment: Environment
    published: Published  # a published copy only
    variants: Dict[str, dict]  # <name> -> <stage> -> headline figures only
    calibration: Dict[str, dict]  # <stage> -> planted and A/A headline
