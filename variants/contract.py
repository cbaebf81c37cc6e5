"""The contract every variant serves, written once as data.

The replies are what the views hand to the idiom; the cases are what a client must see; the scenarios
are the status classes whose JSON body the idiom builds, each with the request that produces it. Tests,
the pre-benchmark verification, the benchmarks, the load test and the report all read this module.
Beside the views' own answers, the cases cover the errors Flask raises under ``/api`` (404, 405 with
``Allow``, 400 for a malformed JSON body, 500 for an exception in a view), HEAD and OPTIONS; the error
paths' status classes (``ERROR_SCENARIOS``) are timed by the whole-request stage only.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional
from urllib.parse import urlsplit

REALM = "flask-json-idioms"
CHALLENGE = f'Bearer realm="{REALM}"'  # RFC 9110 §11.6.1: a 401 MUST carry a WWW-Authenticate challenge

# Demo bearer tokens for a benchmark, not secrets: anyone reading this file is "admin".
ADMIN_TOKEN = "admin-token"
USER_TOKEN = "user-token"
CREDENTIALS = {"admin": f"Bearer {ADMIN_TOKEN}", "user": f"Bearer {USER_TOKEN}", None: None}


class Reply(NamedTuple):
    """What a view asks the idiom to send: body, status and extra headers."""

    body: dict
    status: int
    headers: dict


STATUS = Reply({"success": True}, 200, {})
CREATED = Reply({"message": "Done", "code": "SUCCESS"}, 201, {})
UNAUTHORIZED = Reply({"error": "Admin access is required"}, 401, {"WWW-Authenticate": CHALLENGE})
ADMIN = Reply({"success": True, "role": "admin"}, 200, {})
FLASH_MESSAGE = "Admin access required"

# The errors Flask itself raises under /api, answered by the shared error handlers (variants/site.py)
# through the idiom. A 405 also carries ``Allow`` (the route's methods, added by the handler); the 500's
# body says nothing of the exception, which is logged instead.
BAD_JSON = Reply({"error": "The request body is not valid JSON"}, 400, {})
NOT_FOUND = Reply({"error": "No such endpoint"}, 404, {})
METHOD_NOT_ALLOWED = Reply({"error": "Method not allowed on this endpoint"}, 405, {})
SERVER_ERROR = Reply({"error": "Internal server error"}, 500, {})
ERROR_REPLIES = {r.status: r for r in (BAD_JSON, NOT_FOUND, METHOD_NOT_ALLOWED, SERVER_ERROR)}
BOOM = "boom"  # GET /api/boom raises RuntimeError(BOOM); the text must not reach the client
THING = b'{"name": "widget"}'  # the JSON body POST /api/things reads
MALFORMED_JSON = b'{"name": '  # sent as application/json: get_json() raises BadRequest


@dataclass(frozen=True)
class Case:
    """One request and what every variant must answer to it."""

    name: str
    method: str
    path: str
    who: Optional[str]  # "admin", "user" or None (anonymous)
    status: int
    mimetype: Optional[str]  # None: not checked (Flask's empty OPTIONS answer)
    json: Any = None  # the parsed JSON body, where the answer is JSON
    headers: dict = field(default_factory=dict)  # headers that must be present, exactly
    location: Optional[str] = None  # path a redirect must point to
    idiom: bool = False  # the body is built by the variant's idiom (a declared divergence may differ)
    body: bytes = b""  # the request's body, if any, sent as ``content_type``
    content_type: str = "application/json"
    allow: Optional[frozenset] = None  # the methods ``Allow`` must list, in any order
    logged: bool = False  # the request raises in the view: the exception must be logged, not sent

    @property
    def request_headers(self) -> dict:
        token = CREDENTIALS[self.who]
        headers = {"Authorization": token} if token else {}
        if self.body:
            headers["Content-Type"] = self.content_type
        return headers

    @property
    def error(self) -> bool:
        """An error path: a 4xx or 5xx the idiom answers."""
        return self.idiom and self.status >= 400


def _json_case(name, method, path, who, reply: Reply, **extra) -> Case:
    return Case(name, method, path, who, reply.status, "application/json", reply.body, reply.headers, idiom=True,
                **extra)


def _head_case(name, path, who, reply: Reply) -> Case:
    """HEAD: GET's status and headers, no body (Content-Length, if sent, is GET's, so it is not compared)."""
    return Case(name, "HEAD", path, who, reply.status, "application/json", None, reply.headers, idiom=True)


STATUS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # what /api/status answers to


CASES = (
    _json_case("status", "GET", "/api/status", None, STATUS),
    _json_case("status_admin", "GET", "/api/status", "admin", STATUS),
    _json_case("created", "POST", "/api/things", None, CREATED, body=THING),
    _json_case("created_admin", "POST", "/api/things", "admin", CREATED, body=THING),
    _json_case("api_admin_anonymous", "GET", "/api/admin", None, UNAUTHORIZED),
    _json_case("api_admin_user", "GET", "/api/admin", "user", UNAUTHORIZED),
    _json_case("api_admin_admin", "GET", "/api/admin", "admin", ADMIN),
    Case("html_admin_anonymous", "GET", "/admin", None, 302, "text/html", location="/"),
    Case("html_admin_user", "GET", "/admin", "user", 302, "text/html", location="/"),
    Case("html_admin_admin", "GET", "/admin", "admin", 200, "text/html"),
    Case("index", "GET", "/", None, 200, "text/html"),
    # the error paths Flask raises under /api, answered in the idiom (variants/site.py's handlers)
    _json_case("api_not_found", "GET", "/api/missing", None, NOT_FOUND),
    _json_case("api_not_found_admin", "GET", "/api/missing", "admin", NOT_FOUND),
    _json_case("api_method_not_allowed", "DELETE", "/api/status", None, METHOD_NOT_ALLOWED, allow=STATUS_METHODS),
    _json_case("api_bad_json", "POST", "/api/things", None, BAD_JSON, body=MALFORMED_JSON),
    _json_case("api_bad_json_form", "POST", "/api/things", None, BAD_JSON, body=b"name=widget",
               content_type="application/x-www-form-urlencoded"),  # not JSON at all
    _json_case("api_server_error", "GET", "/api/boom", None, SERVER_ERROR, logged=True),
    Case("html_not_found", "GET", "/nowhere", None, 404, "text/html"),  # outside /api: Flask's HTML page
    # HTTP rules: HEAD mirrors GET without a body; OPTIONS lists the methods
    _head_case("head_status", "/api/status", None, STATUS),
    _head_case("head_api_admin_anonymous", "/api/admin", None, UNAUTHORIZED),
    Case("options_status", "OPTIONS", "/api/status", None, 200, None, allow=STATUS_METHODS),
)
CASES_BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class Scenario:
    """A status class whose JSON body the idiom builds: the request sent and the reply the view hands over."""

    name: str
    case: Case
    reply: Reply

    @property
    def method(self) -> str:
        return self.case.method

    @property
    def path(self) -> str:
        return self.case.path

    @property
    def request_headers(self) -> dict:
        return self.case.request_headers

    @property
    def body(self) -> bytes:
        """The request body to send (with ``request_headers``' Content-Type); empty for most classes."""
        return self.case.body


# The one table of status classes: benchmarks, load test and report iterate over it, in this order.
SCENARIOS = {s.name: s for s in (
    Scenario("success", CASES_BY_NAME["status"], STATUS),
    Scenario("created", CASES_BY_NAME["created"], CREATED),
    Scenario("unauthorized", CASES_BY_NAME["api_admin_anonymous"], UNAUTHORIZED),
    Scenario("admin", CASES_BY_NAME["api_admin_admin"], ADMIN),  # the 200 behind the admin check
)}

# The error paths' status classes, timed by the whole-request stage only (bench/request.py).
ERROR_SCENARIOS = {s.name: s for s in (
    Scenario("bad_json", CASES_BY_NAME["api_bad_json"], BAD_JSON),
    Scenario("not_found", CASES_BY_NAME["api_not_found"], NOT_FOUND),
    Scenario("method_not_allowed", CASES_BY_NAME["api_method_not_allowed"], METHOD_NOT_ALLOWED),
    Scenario("server_error", CASES_BY_NAME["api_server_error"], SERVER_ERROR),
)}

JSON_CONTENT_TYPE = re.compile(r"^application/json(; ?charset=(UTF|utf)-8)?$")  # TechEmpower's JSON test rule


def deviations(case: Case, status: int, headers, body: bytes, prefix: str = "") -> list:
    """How a response departs from the case, one line each; empty when it conforms.

    ``headers`` is any case-insensitive mapping (werkzeug Headers, http.client message);
    ``prefix`` is the mount point when the app is served below one.
    """
    found = []
    if status != case.status:
        found.append(f"status {status}, expected {case.status}")
    content_type = headers.get("Content-Type") or ""
    mimetype = content_type.split(";")[0].strip().lower()
    if case.mimetype is not None and mimetype != case.mimetype:
        found.append(f"Content-Type {content_type!r}, expected {case.mimetype}")
    if case.method == "HEAD" and body:
        found.append(f"HEAD answered with a {len(body)}-byte body")
    if case.json is not None:
        try:
            parsed = json.loads(body)
        except ValueError:
            found.append(f"body is not JSON: {body[:60]!r}")
        else:
            if parsed != case.json:
                found.append(f"body {parsed!r}, expected {case.json!r}")
    for name, value in case.headers.items():
        if headers.get(name) != value:
            found.append(f"{name} {headers.get(name)!r}, expected {value!r}")
    if case.allow is not None:
        allow = headers.get("Allow")
        methods = {m.strip().upper() for m in (allow or "").split(",") if m.strip()}
        if methods != set(case.allow):
            found.append(f"Allow {allow!r}, expected {', '.join(sorted(case.allow))}")
    if case.logged and (b"Traceback" in body or BOOM.encode() in body):
        found.append("the body shows the exception")
    if case.location is not None:
        path = urlsplit(headers.get("Location") or "").path
        if path != prefix + case.location:
            found.append(f"Location path {path!r}, expected {prefix + case.location!r}")
    length = headers.get("Content-Length")
    if length is not None and case.method != "HEAD" and int(length) != len(body):
        found.append(f"Content-Length {length}, body is {len(body)} bytes")
    return found
