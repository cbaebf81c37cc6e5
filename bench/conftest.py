"""Fixtures for the benchmarks: one subject per variant and scenario, from ``bench/subjects.py``."""
import os

import pytest

from bench.subjects import SCENARIOS
from variants import select

NAMES = [v.name for v in select(os.environ.get("VARIANTS", ""))]  # VARIANTS=a,b restricts, as everywhere


@pytest.fixture(params=NAMES, ids=NAMES)
def variant(request):
    """A registered variant's name."""
    return request.param


@pytest.fixture(params=SCENARIOS)
def scenario(request):
    """success (200), created (201) or unauthorized (401)."""
    return request.param
