"""The contract every variant serves, written once as data.

The replies are what the views hand to the idiom; the cases are what a client must see; the scenarios
are the status classes whose JSON body the idiom builds, each with the request that produces it. Tests,
the pre-benchmark verification, the benchmarks, the load test and the report all read this module.
"""
from __future__ import annotations

import json
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


@dataclass(frozen=True)
class Case:
    """One request and what every variant must answer to it."""

    name: str
    method: str
    path: str
    who: Optional[str]  # "admin", "user" or None (anonymous)
    status: int
    mimetype: str
    json: Any = None  # the parsed JSON body, where the answer is JSON
    headers: dict = field(default_factory=dict)  # headers that must be present, exactly
    location: Optional[str] = None  # path a redirect must point to
    idiom: bool = False  # the body is built by the variant's idiom (a declared divergence may differ)

    @property
    def request_headers(self) -> dict:
        token = CREDENTIALS[self.who]
        return {"Authorization": token} if token else {}


def _json_case(name, method, path, who, reply: Reply) -> Case:
    return Case(name, method, path, who, reply.status, "application/json", reply.body, reply.headers, idiom=True)


CASES = (
    _json_case("status", "GET", "/api/status", None, STATUS),
    _json_case("status_admin", "GET", "/api/status", "admin", STATUS),
    _json_case("created", "POST", "/api/things", None, CREATED),
    _json_case("created_admin", "POST", "/api/things", "admin", CREATED),
    _json_case("api_admin_anonymous", "GET", "/api/admin", None, UNAUTHORIZED),
    _json_case("api_admin_user", "GET", "/api/admin", "user", UNAUTHORIZED),
    _json_case("api_admin_admin", "GET", "/api/admin", "admin", ADMIN),
    Case("html_admin_anonymous", "GET", "/admin", None, 302, "text/html", location="/"),
    Case("html_admin_user", "GET", "/admin", "user", 302, "text/html", location="/"),
    Case("html_admin_admin", "GET", "/admin", "admin", 200, "text/html"),
    Case("index", "GET", "/", None, 200, "text/html"),
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


# The one table of status classes: benchmarks, load test and report iterate over it, in this order.
SCENARIOS = {s.name: s for s in (
    Scenario("success", CASES_BY_NAME["status"], STATUS),
    Scenario("created", CASES_BY_NAME["created"], CREATED),
    Scenario("unauthorized", CASES_BY_NAME["api_admin_anonymous"], UNAUTHORIZED),
    Scenario("admin", CASES_BY_NAME["api_admin_admin"], ADMIN),  # the 200 behind the admin check
)}


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
    if mimetype != case.mimetype:
        found.append(f"Content-Type {content_type!r}, expected {case.mimetype}")
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
    if case.location is not None:
        path = urlsplit(headers.get("Location") or "").path
        if path != prefix + case.location:
            found.append(f"Location path {path!r}, expected {prefix + case.location!r}")
    length = headers.get("Content-Length")
    if length is not None and int(length) != len(body):
        found.append(f"Content-Length {length}, body is {len(body)} bytes")
    return found
