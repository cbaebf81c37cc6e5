"""Fixtures for the benchmarks: one subject per variant and scenario, from ``bench/subjects.py``."""
import pytest

from bench.subjects import SCENARIOS
from variants import REGISTRY


@pytest.fixture(params=list(REGISTRY), ids=list(REGISTRY))
def variant(request):
    """A registered variant's name."""
    return request.param


@pytest.fixture(params=SCENARIOS)
def scenario(request):
    """success (200), created (201) or unauthorized (401)."""
    return request.param
