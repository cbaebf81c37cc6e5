"""The contract on the wire: variants served by every server of ``loadtests.servers`` on 127.0.0.1, checked over real HTTP.

Beside the contract, the HTTP rules every answer must keep (TechEmpower's verification rules for its JSON
test, and RFC 9110's for HEAD and OPTIONS): HEAD gets GET's status and headers with no body; OPTIONS lists
the methods in ``Allow``; Content-Length is sent and equals the body's length; Date and Server are sent; a
JSON response's Content-Type matches ``contract.JSON_CONTENT_TYPE``.
"""
import http.client

import pytest

from loadtests.server import HOST, serve
from loadtests.servers import SERVERS
from variants import REGISTRY
from variants.contract import CASES, CHALLENGE, JSON_CONTENT_TYPE, deviations

pytestmark = pytest.mark.wire


def fetch(port, case, prefix=""):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(case.method, prefix + case.path, body=case.body or None, headers=case.request_headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module", params=list(SERVERS.values()), ids=list(SERVERS))
def all_variants_server(request):
    """One server process serving every variant below /<name>, as the load tests do."""
    with serve("loadtests.mount:create_app()", server=request.param, ready_path="/jsonify_tuple/api/status") as server:
        yield server


def http_rules(case, status, headers, body, get=None) -> list:
    """How an answer breaks the HTTP rules above, one line each; ``get`` is GET's answer, for a HEAD."""
    found = []
    length = headers.get("Content-Length")
    if length is None:
        found.append("no Content-Length")
    elif case.method != "HEAD" and int(length) != len(body):
        found.append(f"Content-Length {length}, body is {len(body)} bytes")
    found += [f"no {name}" for name in ("Date", "Server") if not headers.get(name)]
    content_type = headers.get("Content-Type") or ""
    if content_type.split(";")[0].strip() == "application/json" and not JSON_CONTENT_TYPE.match(content_type):
        found.append(f"Content-Type {content_type!r} does not match {JSON_CONTENT_TYPE.pattern}")
    if case.method == "OPTIONS" and not headers.get("Allow"):
        found.append("OPTIONS without Allow")
    if get is not None:
        get_status, get_headers, _ = get
        if body:
            found.append(f"HEAD sent {len(body)} body bytes")
        if status != get_status:
            found.append(f"HEAD {status}, GET {get_status}")
        differ = {name for name in {*headers.keys(), *get_headers.keys()} if name.lower() != "date"
                  and headers.get(name) != get_headers.get(name)}
        if differ:
            found.append(f"HEAD and GET differ on {', '.join(sorted(differ))}")
    return found


@pytest.mark.parametrize("variant", list(REGISTRY.values()), ids=list(REGISTRY))
def test_contract_and_http_rules_on_the_wire(all_variants_server, variant):
    """Every case: the contract (a declared divergence only where it is declared) and the HTTP rules (always)."""
    problems, broken_rules = {}, {}
    prefix = f"/{variant.name}"
    for case in CASES:
        status, headers, body = fetch(all_variants_server.port, case, prefix)
        found = deviations(case, status, headers, body, prefix=prefix)
        if found:
            problems[case.name] = found
        get = None
        if case.method == "HEAD":
            get = fetch(all_variants_server.port, type(case)(**{**case.__dict__, "method": "GET"}), prefix)
        rules = http_rules(case, status, headers, body, get)
        if rules:
            broken_rules[case.name] = rules
    assert broken_rules == {}
    assert {name for name in problems if not variant.declares(next(c for c in CASES if c.name == name))} == set()
    if variant.divergence:
        assert problems


def test_the_http_rules_can_fail():
    """The rule checker reports a missing Date, a wrong length, a JSON type with another charset, a HEAD that differs."""
    head = next(c for c in CASES if c.method == "HEAD")
    headers = http.client.HTTPMessage()
    headers["Content-Type"], headers["Content-Length"], headers["Server"] = "application/json; charset=latin-1", "5", "x"
    get_headers = http.client.HTTPMessage()
    get_headers["Content-Type"], get_headers["Content-Length"] = "application/json", "5"
    found = http_rules(head, 200, headers, b"abc", get=(404, get_headers, b"{}"))
    assert found == ["no Date", "Content-Type 'application/json; charset=latin-1' does not match "
                     + JSON_CONTENT_TYPE.pattern, "HEAD sent 3 body bytes", "HEAD 200, GET 404",
                     "HEAD and GET differ on Content-Type, Server"]


def test_single_variant_module_serves_as_documented():
    """``gunicorn variants.<name>:app`` as the README shows, with the 401 challenge intact."""
    with serve("variants.jsonify_tuple:app", ready_path="/api/status") as server:
        for case in CASES:
            status, headers, body = fetch(server.port, case)
            assert deviations(case, status, headers, body) == [], case.name
        assert fetch(server.port, CASES[4])[1]["WWW-Authenticate"] == CHALLENGE
    assert not server.alive()
