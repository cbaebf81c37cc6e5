"""Fixtures: every test that takes ``variant`` runs once per registered idiom; the real conformance.json."""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, settings

from variants import REGISTRY

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

CONFORMING = [v for v in REGISTRY.values() if v.conforms]


@pytest.fixture(params=list(REGISTRY.values()), ids=list(REGISTRY))
def variant(request):
    """A registered variant."""
    return request.param


@pytest.fixture
def app(variant):
    """A new app for the variant."""
    return variant.create_app()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def conformance_json(tmp_path_factory):
    """conformance.json from the real stage (it takes well under a second), for the report's tests."""
    from harness.results import ROOT
    folder = tmp_path_factory.mktemp("conformance")
    subprocess.run([sys.executable, "-m", "harness.conformance", "--out", str(folder)], check=True, cwd=ROOT,
                   capture_output=True)
    return json.loads((folder / "conformance.json").read_text())
