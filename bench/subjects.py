"""What the microbenchmarks time, defined once: pytest-benchmark (``bench/test_*.py``) and the
interleaved estimator (``bench/micro.py``) both call ``subject.call``.

- **construct**: the idiom's ``respond(*reply)`` plus ``app.make_response(...)`` inside a request
  context pushed beforehand. An exception raised by an abort-style idiom goes through
  ``app.handle_user_exception(e)`` first, as ``Flask.full_dispatch_request`` does.
- **dispatch**: one WSGI call ``app(environ, start_response)`` with a prepared environ and a fresh
  ``wsgi.input``, the body read to the end and the iterable closed, as a server does.
- Scenarios: the replies whose code differs by idiom (``contract.IDIOM_REPLIES``): success (200),
  created (201), unauthorized (401).
- Baselines, not idioms and not in the registry: ``raw_wsgi`` (a WSGI callable returning prebuilt
  bytes; its construct is a call returning them) and ``werkzeug_response`` (a prebuilt
  ``werkzeug.Response``: construct is ``app.make_response`` of it, dispatch calls it as the WSGI app).
  ``werkzeug_response`` is the floor every ratio is taken to.
- Calibration: ``planted`` is jsonify_tuple's success construct plus a busy-wait of ``PLANTED_NS``
  (timed with ``perf_counter_ns``); ``planted_reference`` is the same with a busy-wait of 0 ns, so the
  two differ by the wait alone, not by the calls around it. The estimator must recover the difference
  (the spin overshoots by a fraction of one clock read, ~0.1 us here, on both sides).

A subject's ``call()`` returns something ``outcome()`` turns into ``(status, body bytes)``, checked
after timing against the contract by ``check()``.
"""
from __future__ import annotations

import io
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Optional

from flask import Flask
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from variants import REGISTRY, contract

SCENARIOS = tuple(contract.IDIOM_REPLIES)  # success, created, unauthorized
KINDS = ("construct", "dispatch")
FLOOR = "werkzeug_response"
BASELINES = ("raw_wsgi", FLOOR)
PLANTED, PLANTED_REFERENCE = "planted", "planted_reference"
PLANTED_NS = 2000
PLANTED_IDIOM, PLANTED_SCENARIO = "jsonify_tuple", "success"

# The request each scenario's dispatch sends (an anonymous caller gets the 401 from /api/admin).
REQUESTS = {"success": ("GET", "/api/status"), "created": ("POST", "/api/things"),
            "unauthorized": ("GET", "/api/admin")}
assert set(REQUESTS) == set(SCENARIOS)


@dataclass
class Subject:
    """One timed callable: ``name`` (a variant, a baseline or the planted pair), kind, scenario."""

    name: str
    kind: str
    scenario: str
    role: str  # "variant", "baseline" or "calibration"
    call: Callable[[], object]
    outcome: Callable[[object], tuple]  # the call's result -> (status, body bytes)
    context: Optional[Callable] = None  # a context manager to hold while calling (the request context)
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.scenario}/{self.name}"

    @contextmanager
    def entered(self):
        """Hold whatever the call needs (a pushed request context) for a block of calls."""
        if self.context is None:
            yield
        else:
            with self.context():
                yield

    def check(self, result) -> tuple:
        """(status, body) of a result, asserted against the scenario's reply; returns them."""
        status, body = self.outcome(result)
        reply = contract.IDIOM_REPLIES[self.scenario]
        assert status == reply.status, f"{self.key}: status {status}, expected {reply.status}"
        assert json.loads(body) == reply.body, f"{self.key}: body {body[:80]!r}"
        return status, body


# --- construct -------------------------------------------------------------------------------

def _response_outcome(response) -> tuple:
    return response.status_code, response.get_data()


def construct_call(app: Flask, respond: Callable, reply: contract.Reply) -> Callable[[], object]:
    """The view's return value turned into a response, exactly as Flask would."""
    make_response, handle = app.make_response, app.handle_user_exception

    def construct():
        try:
            rv = respond(*reply)
        except Exception as e:  # abort(...) and raised API errors, as full_dispatch_request does
            rv = handle(e)
        return make_response(rv)

    return construct


def _request_context(app: Flask, scenario: str):
    method, path = REQUESTS[scenario]
    return lambda: app.test_request_context(path, method=method)


# --- dispatch --------------------------------------------------------------------------------

def prepared_environ(scenario: str) -> dict:
    method, path = REQUESTS[scenario]
    return EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1/").get_environ()


def dispatch_call(wsgi_app: Callable, environ: dict) -> Callable[[], tuple]:
    """One WSGI call with a fresh copy of ``environ`` and ``wsgi.input``; returns (status line, body)."""
    new_input, template = io.BytesIO, environ

    def dispatch():
        environ = template.copy()
        environ["wsgi.input"] = new_input(b"")
        status = []

        def start_response(line, headers, exc_info=None):
            status.append(line)

        iterable = wsgi_app(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return status[0], body

    return dispatch


def _dispatch_outcome(result) -> tuple:
    line, body = result
    return int(line.split(" ", 1)[0]), body


# --- baselines and calibration ---------------------------------------------------------------

def _reply_bytes(scenario: str) -> bytes:
    return json.dumps(contract.IDIOM_REPLIES[scenario].body, separators=(",", ":")).encode() + b"\n"


def raw_wsgi_app(scenario: str) -> Callable:
    """The floor of any WSGI server's work: prebuilt status, headers and body."""
    reply = contract.IDIOM_REPLIES[scenario]
    body = _reply_bytes(scenario)
    line = f"{reply.status} {Response(status=reply.status).status.split(' ', 1)[1]}"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *reply.headers.items()]

    def app(environ, start_response):
        start_response(line, headers)
        return [body]

    app.prebuilt = (line, headers, [body])
    return app


def prebuilt_response(scenario: str) -> Response:
    reply = contract.IDIOM_REPLIES[scenario]
    return Response(_reply_bytes(scenario), status=reply.status, headers=reply.headers, mimetype="application/json")


def busy_wait(ns: int, clock=time.perf_counter_ns) -> None:
    """Spin for ``ns`` nanoseconds of wall time: the planted, known cost."""
    end = clock() + ns
    while clock() < end:
        pass


def planted_respond(respond: Callable, ns: int = PLANTED_NS) -> Callable:
    def respond_with_planted_cost(body, status, headers):
        busy_wait(ns)
        return respond(body, status, headers)

    return respond_with_planted_cost


# --- the subjects ----------------------------------------------------------------------------

_APPS: dict = {}


def app_for(name: str) -> Flask:
    """One app per variant (and one for the baselines), built once per process."""
    if name not in _APPS:
        _APPS[name] = REGISTRY[name].create_app() if name in REGISTRY else Flask(f"bench.{name}")
    return _APPS[name]


def variant_subject(name: str, kind: str, scenario: str) -> Subject:
    variant = REGISTRY[name]
    app = app_for(name)
    meta = {"divergence": variant.divergence}
    if kind == "construct":
        return Subject(name, kind, scenario, "variant",
                       construct_call(app, variant.respond, contract.IDIOM_REPLIES[scenario]),
                       _response_outcome, _request_context(app, scenario), meta=meta)
    return Subject(name, kind, scenario, "variant", dispatch_call(app, prepared_environ(scenario)),
                   _dispatch_outcome, meta=meta)


def baseline_subject(name: str, kind: str, scenario: str = "success") -> Subject:
    if name == "raw_wsgi":
        wsgi = raw_wsgi_app(scenario)
        if kind == "construct":
            prebuilt = wsgi.prebuilt
            return Subject(name, kind, scenario, "baseline", lambda: prebuilt,
                           lambda r: (int(r[0].split(" ", 1)[0]), b"".join(r[2])))
        return Subject(name, kind, scenario, "baseline", dispatch_call(wsgi, prepared_environ(scenario)),
                       _dispatch_outcome)
    if name == FLOOR:
        response = prebuilt_response(scenario)
        if kind == "construct":
            app = app_for("baselines")
            make_response = app.make_response
            return Subject(name, kind, scenario, "baseline", lambda: make_response(response),
                           _response_outcome, _request_context(app, scenario))
        return Subject(name, kind, scenario, "baseline", dispatch_call(response, prepared_environ(scenario)),
                       _dispatch_outcome)
    raise KeyError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def calibration_subjects(planted_ns: int = PLANTED_NS) -> list:
    """The planted subject and its reference: the same construct with and without the busy-wait."""
    variant = REGISTRY[PLANTED_IDIOM]
    app = variant.create_app()  # an app of their own, so the pair is identical whatever is selected
    reply = contract.IDIOM_REPLIES[PLANTED_SCENARIO]
    context = _request_context(app, PLANTED_SCENARIO)
    reference = Subject(PLANTED_REFERENCE, "construct", PLANTED_SCENARIO, "calibration",
                        construct_call(app, planted_respond(variant.respond, 0), reply), _response_outcome, context)
    planted = Subject(PLANTED, "construct", PLANTED_SCENARIO, "calibration",
                      construct_call(app, planted_respond(variant.respond, planted_ns), reply),
                      _response_outcome, context, meta={"planted_ns": planted_ns})
    return [planted, reference]


def subjects(kind: str, names=None, scenarios=SCENARIOS, baselines=True, calibration=None) -> list:
    """Every subject of one kind: the variants (all, or ``names``) for each scenario, then the
    baselines (success scenario) and, for construct, the planted pair."""
    names = list(REGISTRY) if names is None else list(names)
    found = [variant_subject(name, kind, scenario) for scenario in scenarios for name in names]
    if baselines:
        found += [baseline_subject(name, kind) for name in BASELINES]
    if calibration if calibration is not None else kind == "construct":
        found += calibration_subjects()
    return found
