"""Every variant against the contract: status, content type and parsed body of every endpoint."""
import json

import pytest

from harness.conformance import capture, capture_variant, undeclared_failures
from variants import REGISTRY
from variants.contract import CASES, CASES_BY_NAME, CHALLENGE, SCENARIOS, deviations


def contract_params():
    """(variant, case) pairs; a declared divergence is a strict xfail on the cases its idiom builds."""
    for variant in REGISTRY.values():
        for case in CASES:
            marks = ()
            if variant.divergence and case.idiom:
                marks = pytest.mark.xfail(strict=True, reason=variant.divergence)
            yield pytest.param(variant, case, id=f"{variant.name}-{case.name}", marks=marks)


@pytest.mark.parametrize("variant, case", list(contract_params()))
def test_case(variant, case):
    response = variant.create_app().test_client().open(case.path, method=case.method, headers=case.request_headers)
    assert deviations(case, response.status_code, response.headers, response.get_data()) == []


def test_deviations_can_fail():
    """The checker itself reports a wrong status, type, body, header and length."""
    case = CASES_BY_NAME["api_admin_anonymous"]
    found = deviations(case, 200, {"Content-Type": "text/html", "Content-Length": "3"}, b'{"error": "x"}')
    assert len(found) == 5, found


def test_all_variants_agree_on_status_codes():
    statuses = {
        name: [v["status"] for v in entry["cases"].values()] for name, entry in capture(REGISTRY.values()).items()
    }
    assert len({tuple(s) for s in statuses.values()}) == 1, statuses
    assert next(iter(statuses.values())) == [case.status for case in CASES]


def test_every_401_carries_the_challenge(client):
    response = client.get("/api/admin")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_head_mirrors_get(app):
    client = app.test_client(use_cookies=False)  # a flash from one request must not show in the next
    for path in ("/api/status", "/api/admin", "/admin", "/"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code
        assert head.headers.get("Content-Type") == get.headers.get("Content-Type")
        assert head.headers.get("Content-Length") == get.headers.get("Content-Length")
        assert head.get_data() == b""


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api", 404), ("GET", "/api/", 404), ("GET", "/api/missing", 404), ("GET", "/api/admin/x", 404),
    ("DELETE", "/api/status", 405), ("GET", "/api/things", 405), ("PUT", "/api/admin", 405),
    ("POST", "/admin", 405), ("GET", "/nowhere", 404),
])
def test_routing_errors_stay_4xx(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    if status == 405:
        assert "Allow" in response.headers


@pytest.fixture(scope="module")
def captured():
    """Every variant's answers to the contract, as captured for the report."""
    return capture(REGISTRY.values())


class TestCapturedBytes:
    """The exact bytes each variant sends, as captured for the report."""

    def test_every_variant_is_captured_with_a_verdict(self, captured):
        assert list(captured) == list(REGISTRY)
        for name, entry in captured.items():
            assert entry["verdict"] == ("declared divergence" if REGISTRY[name].divergence else "conforms")
        assert undeclared_failures(captured) == {}

    def test_content_length_is_the_body_length(self, captured):
        for entry in captured.values():
            for case in entry["cases"].values():
                assert int(case["headers"]["Content-Length"]) == case["body_length"]

    def test_jsonify_bytes_are_compact_sorted_and_newline_terminated(self, captured):
        body = captured["jsonify_tuple"]["cases"]["created"]["body"]
        assert body == '{"code":"SUCCESS","message":"Done"}\n'
        assert body == captured["json_provider"]["cases"]["created"]["body"]

    def test_json_dumps_bytes_differ_from_jsonify(self, captured):
        dumps = captured["dumps_headers"]["cases"]["created"]["body"]
        assert dumps == json.dumps(SCENARIOS["created"].reply.body) == '{"message": "Done", "code": "SUCCESS"}'
        assert dumps != captured["jsonify_tuple"]["cases"]["created"]["body"]
        assert json.loads(dumps) == json.loads(captured["jsonify_tuple"]["cases"]["created"]["body"])

    def test_orjson_bytes_are_compact_in_insertion_order(self, captured):
        for name in ("orjson_response", "orjson_provider"):
            assert captured[name]["cases"]["created"]["body"] == '{"message":"Done","code":"SUCCESS"}'

    def test_the_posted_typo_serves_html_and_a_bogus_header(self, captured):
        headers = captured["dumps_headers_as_posted"]["cases"]["status"]["headers"]
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["ContentType"] == "application/json"

    def test_divergent_bodies_are_still_the_contracts_json(self, captured):
        for name in ("plain_string", "dumps_headers_as_posted"):
            for case_name, case in captured[name]["cases"].items():
                if CASES_BY_NAME[case_name].json is not None:
                    assert json.loads(case["body"]) == CASES_BY_NAME[case_name].json
                    assert case["deviations"] == [
                        "Content-Type 'text/html; charset=utf-8', expected application/json"]


def test_a_broken_variant_is_reported(monkeypatch):
    """A variant that changes a status without declaring it is caught as BROKEN."""
    variant = REGISTRY["jsonify_tuple"]
    module = variant.module
    monkeypatch.setattr(module, "respond", lambda body, status, headers: (module.jsonify(body), 200, headers))
    entry = capture_variant(variant)
    assert entry["verdict"] == "BROKEN"
    assert "status 200, expected 201" in entry["cases"]["created"]["deviations"]
    assert "jsonify_tuple" in undeclared_failures({"jsonify_tuple": entry})


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_each_scenario_sends_a_case_that_expects_its_reply(scenario):
    """The scenario table pairs a request with the reply its view hands to the idiom."""
    assert scenario.case.idiom and scenario.case.who == ("admin" if scenario.name == "admin" else None)
    assert (scenario.case.status, scenario.case.json, scenario.case.headers) == (
        scenario.reply.status, scenario.reply.body, scenario.reply.headers)
