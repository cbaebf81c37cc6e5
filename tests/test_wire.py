"""The contract on the wire: variants served by every server of ``loadtests.servers`` on 127.0.0.1, checked over real HTTP."""
import http.client

import pytest

from loadtests.server import HOST, serve
from loadtests.servers import SERVERS
from variants import REGISTRY
from variants.contract import CASES, CHALLENGE, deviations

pytestmark = pytest.mark.wire


def fetch(port, case, prefix=""):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(case.method, prefix + case.path, headers=case.request_headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module", params=list(SERVERS.values()), ids=list(SERVERS))
def all_variants_server(request):
    """One server process serving every variant below /<name>, as the load tests do."""
    with serve("loadtests.mount:create_app()", server=request.param, ready_path="/jsonify_tuple/api/status") as server:
        yield server


@pytest.mark.parametrize("variant", list(REGISTRY.values()), ids=list(REGISTRY))
def test_contract_on_the_wire(all_variants_server, variant):
    problems = {}
    for case in CASES:
        found = deviations(case, *fetch(all_variants_server.port, case, f"/{variant.name}"), prefix=f"/{variant.name}")
        if found:
            problems[case.name] = found
    if variant.divergence:
        assert problems and all(case.idiom for case in CASES if case.name in problems)
    else:
        assert problems == {}


def test_single_variant_module_serves_as_documented():
    """``gunicorn variants.<name>:app`` as the README shows, with the 401 challenge intact."""
    with serve("variants.jsonify_tuple:app", ready_path="/api/status") as server:
        for case in CASES:
            status, headers, body = fetch(server.port, case)
            assert deviations(case, status, headers, body) == [], case.name
        assert fetch(server.port, CASES[4])[1]["WWW-Authenticate"] == CHALLENGE
    assert not server.alive()
