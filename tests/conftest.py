"""Fixtures: every test that takes ``variant`` runs once per registered idiom; runs started early."""
import os
from concurrent.futures import ThreadPoolExecutor

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


# ---------------------------------------------------------------------------------- runs started early
# A test marked ``@pytest.mark.started_early(run=run)`` reads the outcome of ``run(folder)``: a whole run (make
# bench) that takes most of a minute and is mostly its own child processes working or waiting. It is
# started in a background thread when the session starts, if the test is selected, so that it overlaps the
# tests collected before it; the test's ``started_early`` fixture is its Future (``.result()`` waits for
# it, and raises what went wrong). Such a run must stop everything it starts, and bound its own waits.
def pytest_configure(config):
    config.addinivalue_line("markers", "started_early(run=run): run(folder) starts with the session, in the background; "
                                       "the test reads its outcome through the started_early fixture")


@pytest.fixture(scope="session", autouse=True)
def _runs_started_early(request, tmp_path_factory):
    marked = [(item.nodeid, item.get_closest_marker("started_early")) for item in request.session.items]
    marked = [(nodeid, mark.kwargs["run"]) for nodeid, mark in marked if mark]
    if not marked:
        yield {}
        return
    with ThreadPoolExecutor(len(marked)) as pool:  # leaving it waits for any run still going
        yield {nodeid: pool.submit(run, tmp_path_factory.mktemp(run.__name__)) for nodeid, run in marked}


@pytest.fixture
def started_early(request, _runs_started_early):
    """The Future of this test's run (see ``started_early`` above)."""
    return _runs_started_early[request.node.nodeid]
