"""Every variant against the contract: status, content type and parsed body of every endpoint."""
import json
import logging

import pytest

from werkzeug.datastructures import Headers

from harness.conformance import FACTS, capture, capture_variant, observed_facts, undeclared_failures
from variants import REGISTRY
from variants.contract import (BOOM, CASES, CASES_BY_NAME, CHALLENGE, ERROR_SCENARIOS, SCENARIOS, SERVER_ERROR,
                               deviations)


def contract_params():
    """(variant, case) pairs; a declared divergence is a strict xfail on the cases it covers (``Variant.declares``)."""
    for variant in REGISTRY.values():
        for case in CASES:
            marks = ()
            if variant.declares(case):
                marks = pytest.mark.xfail(strict=True, reason=variant.divergence)
            yield pytest.param(variant, case, id=f"{variant.name}-{case.name}", marks=marks)


@pytest.mark.parametrize("variant, case", list(contract_params()))
def test_case(variant, case):
    response = variant.create_app().test_client().open(case.path, method=case.method, headers=case.request_headers,
                                                       data=case.body or None)
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
            for name, case in entry["cases"].items():
                if CASES_BY_NAME[name].method != "HEAD":  # HEAD: GET's length, no body
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


@pytest.mark.parametrize("scenario", [*SCENARIOS.values(), *ERROR_SCENARIOS.values()],
                         ids=[*SCENARIOS, *ERROR_SCENARIOS])
def test_each_scenario_sends_a_case_that_expects_its_reply(scenario):
    """The scenario table pairs a request with the reply its view hands to the idiom."""
    assert scenario.case.idiom and scenario.case.who == ("admin" if scenario.name == "admin" else None)
    assert (scenario.case.status, scenario.case.json, scenario.case.headers) == (
        scenario.reply.status, scenario.reply.body, scenario.reply.headers)


# --- the error paths ------------------------------------------------------------------------------------------

def test_the_views_exception_is_logged_and_not_sent(variant, caplog):
    """GET /api/boom: a 500 whose body says nothing of the exception, which Flask logs with its traceback."""
    app = variant.create_app()
    app.logger.propagate = True  # let caplog see the records whatever handlers Flask installed
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert BOOM.encode() not in response.get_data() and b"Traceback" not in response.get_data()
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged and str(logged[0].exc_info[1]) == BOOM


@pytest.mark.parametrize("method, path, status", [("GET", "/nowhere", 404), ("POST", "/admin", 405),
                                                  ("GET", "/admin/x", 404)])
def test_errors_outside_api_keep_flasks_html(client, method, path, status):
    response = client.open(path, method=method)
    assert (response.status_code, response.mimetype) == (status, "text/html")
    assert b"<title>" in response.get_data()


def test_problem_details_sends_a_problem_document_on_every_error_path():
    client = REGISTRY["problem_details"].create_app().test_client()
    for case in CASES:
        if not case.error or case.method == "HEAD":
            continue
        response = client.open(case.path, method=case.method, headers=case.request_headers, data=case.body or None)
        problem = json.loads(response.get_data())
        assert response.mimetype == "application/problem+json", case.name
        assert set(problem) == {"type", "title", "status", "detail"} and problem["status"] == response.status_code
        assert problem["detail"] == case.json["error"] and problem["type"] == "about:blank"
        assert all(response.headers.get(k) == v for k, v in case.headers.items())


def test_orjson_provider_refuses_json_bodies_the_stdlib_accepts():
    """An observed difference of reading bodies with orjson: NaN is JSON to Python's json module, not to orjson."""
    answers = {name: REGISTRY[name].create_app().test_client().post(
        "/api/things", data=b'{"n": NaN}', content_type="application/json").status_code
        for name in ("jsonify_tuple", "orjson_provider")}
    assert answers == {"jsonify_tuple": 201, "orjson_provider": 400}


# --- the observed facts -----------------------------------------------------------------------------------------

def facts_of(case_name, status, headers, body=b"", **seen):
    return {f["fact"]: f["detail"] for f in observed_facts(CASES_BY_NAME[case_name], status, Headers(headers), body, **seen)}


def test_a_conforming_response_shows_no_facts():
    body = json.dumps(SERVER_ERROR.body).encode()
    assert facts_of("api_server_error", 500, {"Content-Type": "application/json"}, body, logged=["RuntimeError"]) == {}


@pytest.mark.parametrize("case_name, status, headers, body, seen, expected", [
    ("status", 200, {"Content-Type": "text/html; charset=utf-8"}, b"{}", {}, {"html_for_json": "text/html; charset=utf-8"}),
    ("api_not_found", 404, {"Content-Type": "application/problem+json"}, b"{}", {},
     {"other_media_type": "application/problem+json"}),
    ("api_admin_anonymous", 401, {"Content-Type": "application/json"}, b"{}", {"bypassed": True},
     {"header_lost": "WWW-Authenticate", "handler_bypassed": "a 401 raised with abort(response)"}),
    ("api_method_not_allowed", 405, {"Content-Type": "application/json"}, b"{}", {}, {"header_lost": "Allow"}),
    ("api_server_error", 500, {"Content-Type": "application/json"}, b'{"error": "boom"}', {},
     {"not_logged": "no log record", "exception_leaked": '{"error": "boom"}'}),
    ("api_not_found", 500, {"Content-Type": "application/json"}, b"{}", {"logged": ["HTTPException"]},
     {"status_changed": "500 for 404", "unexpected_log": "HTTPException"}),
    ("head_status", 200, {"Content-Type": "application/json", "ContentType": "application/json"}, b"{}", {},
     {"head_body": "2 bytes", "bogus_header": "ContentType: application/json"}),
    ("api_not_found", 500, {}, b"", {"escaped": "InvalidAPIUsage"}, {"escaped": "InvalidAPIUsage"}),
])
def test_each_fact_is_derived_from_a_constructed_response(case_name, status, headers, body, seen, expected):
    assert facts_of(case_name, status, headers, body, **seen) == expected
    assert set(expected) <= set(FACTS)


def test_the_observed_facts_name_the_idioms_pitfalls(captured):
    """abort_response alone skips a registered handler; the raising idioms cannot answer from the shared handler."""
    by_fact = {}
    for name, entry in captured.items():
        for f in entry["facts"]:
            by_fact.setdefault(f["fact"], set()).add(name)
    assert by_fact["handler_bypassed"] == {"abort_response"}
    assert by_fact["raises_in_handler"] == {"abort_response", "abort_errorhandler", "api_exception"}
    assert by_fact["html_for_json"] == {"plain_string", "dumps_headers_as_posted"}
    assert by_fact["other_media_type"] == {"problem_details"}
    assert not {"not_logged", "exception_leaked", "unexpected_log", "escaped", "head_body"} & set(by_fact)
    assert captured["jsonify_tuple"]["facts"] == []


def test_the_capture_fits_its_schema(captured):
    from harness.schemas import conformance as schema

    for entry in captured.values():
        assert set(entry) == set(schema.VariantConformance.__annotations__)
        assert all(set(f) == set(schema.VariantFact.__annotations__) for f in entry["facts"])
        for case in entry["cases"].values():
            assert set(case) == set(schema.CaseCapture.__annotations__)
            assert all(set(f) == set(schema.CaseFact.__annotations__) for f in case["facts"])
