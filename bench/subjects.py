"""What the microbenchmarks time, defined once: pytest-benchmark (``bench/test_*.py``) and the
interleaved estimator (``bench/micro.py``, timed by ``bench/timing.py``) both call ``subject.call``.

- **construct**: the idiom's ``respond(*reply)`` plus ``app.make_response(...)`` inside a request
  context pushed beforehand. An exception raised by an abort-style idiom goes through
  ``app.handle_user_exception(e)`` first, as ``Flask.full_dispatch_request`` does.
- **dispatch**: one WSGI call ``app(environ, start_response)`` with a prepared environ and a fresh
  ``wsgi.input``, the body read to the end and the iterable closed, as a server does.
- Scenarios: the status classes of ``contract.SCENARIOS``: success (200), created (201),
  unauthorized (401), admin (the 200 behind the admin check), each sent as its contract case's request.
- Baselines, not idioms and not in the registry: ``raw_wsgi`` (a WSGI callable returning prebuilt
  bytes; its construct is a call returning them) and ``werkzeug_response`` (the floor of
  ``harness.measure``: construct is ``app.make_response`` of it, dispatch calls it as the WSGI app).
  ``werkzeug_response`` is the floor every ratio is taken to.
- Calibration: ``planted`` is jsonify_tuple's success construct with ``harness.measure.planted``'s
  busy-wait of ``PLANTED_NS``; ``planted_reference`` is the same with a 0 ns wait, so the two differ
  by the wait alone, not by the calls around it. ``aa`` is jsonify_tuple's success construct in that
  second app, unwrapped: the A/A pair with the jsonify_tuple variant (the same code, another instance). The estimator must recover the difference (the spin
  overshoots by a fraction of one clock read, ~0.1 us here, on both sides).

A subject's ``call()`` returns something ``outcome()`` turns into ``(status, body bytes)``, checked
after timing against the contract by ``check()``. Each app is built once per process; ``create_apps``
builds them all up front in a random order (``harness.measure.create_in_random_order``).
"""
from __future__ import annotations

import io
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Optional

from flask import Flask
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from harness.measure import PLANTED_IDIOM, create_in_random_order, floor_body, floor_response, planted
from variants import REGISTRY
from variants.contract import SCENARIOS as SCENARIO_TABLE, Reply

SCENARIOS = tuple(SCENARIO_TABLE)  # success, created, unauthorized, admin
KINDS = ("construct", "dispatch")
FLOOR = "werkzeug_response"
BASELINES = ("raw_wsgi", FLOOR)
PLANTED, PLANTED_REFERENCE, AA = "planted", "planted_reference", "aa"
PLANTED_NS = 2000
PLANTED_SCENARIO = "success"


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
        reply = SCENARIO_TABLE[self.scenario].reply
        assert status == reply.status, f"{self.key}: status {status}, expected {reply.status}"
        variant = REGISTRY.get(self.name)
        if variant is None or not variant.declares(SCENARIO_TABLE[self.scenario].case):  # a declared body may differ
            assert json.loads(body) == reply.body, f"{self.key}: body {body[:80]!r}"
        return status, body


# --- construct -------------------------------------------------------------------------------

def _response_outcome(response) -> tuple:
    return response.status_code, response.get_data()


def construct_call(app: Flask, respond: Callable, reply: Reply) -> Callable[[], object]:
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
    s = SCENARIO_TABLE[scenario]
    return lambda: app.test_request_context(s.path, method=s.method, headers=s.request_headers, data=s.body)


# --- dispatch --------------------------------------------------------------------------------

def prepared_environ(scenario) -> dict:
    """The WSGI environ of a scenario's request: a name in ``contract.SCENARIOS`` or a ``Scenario``."""
    s = SCENARIO_TABLE[scenario] if isinstance(scenario, str) else scenario
    return EnvironBuilder(path=s.path, method=s.method, headers=s.request_headers, data=s.body,
                          base_url="http://127.0.0.1/").get_environ()


def dispatch_call(wsgi_app: Callable, environ: dict) -> Callable[[], tuple]:
    """One WSGI call with a fresh copy of ``environ`` and ``wsgi.input`` (the request body, read once here);
    returns (status line, body)."""
    new_input, template = io.BytesIO, environ
    payload = environ["wsgi.input"].read() if "wsgi.input" in environ else b""

    def dispatch():
        environ = template.copy()
        environ["wsgi.input"] = new_input(payload)
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

def raw_wsgi_app(scenario: str) -> Callable:
    """The floor of any WSGI server's work: prebuilt status, headers and body."""
    reply = SCENARIO_TABLE[scenario].reply
    body = floor_body(scenario)
    line = f"{reply.status} {Response(status=reply.status).status.split(' ', 1)[1]}"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *reply.headers.items()]

    def app(environ, start_response):
        start_response(line, headers)
        return [body]

    app.prebuilt = (line, headers, [body])
    return app


# --- the subjects ----------------------------------------------------------------------------

_APPS: dict = {}
BASELINE_APP = "baselines"  # the plain Flask app the floor's construct runs in
CALIBRATION_APP = "calibration"  # the planted pair's own jsonify_tuple app, whatever is selected


def _maker(name: str) -> Callable[[], Flask]:
    if name == CALIBRATION_APP:
        return REGISTRY[PLANTED_IDIOM].create_app
    if name in REGISTRY:
        return REGISTRY[name].create_app
    return lambda: Flask(f"bench.{name}")


def app_for(name: str) -> Flask:
    """One app per variant (and one each for the baselines and the planted pair), built once per process."""
    if name not in _APPS:
        _APPS[name] = _maker(name)()
    return _APPS[name]


def create_apps(names, rng=None) -> None:
    """Build the apps of ``names``, the baselines and the planted pair, those not built yet, in a random
    order (``rng``: anything with ``shuffle``): where an app lands in memory moves its time for the
    life of the process, so every worker process gets a fresh order."""
    wanted = [name for name in (*names, BASELINE_APP, CALIBRATION_APP) if name not in _APPS]
    _APPS.update(create_in_random_order({name: _maker(name) for name in wanted}, rng))


def variant_subject(name: str, kind: str, scenario: str) -> Subject:
    variant = REGISTRY[name]
    app = app_for(name)
    meta = {"divergence": variant.divergence}
    if kind == "construct":
        return Subject(name, kind, scenario, "variant",
                       construct_call(app, variant.respond, SCENARIO_TABLE[scenario].reply),
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
        response = floor_response(scenario)
        if kind == "construct":
            app = app_for(BASELINE_APP)
            make_response = app.make_response
            return Subject(name, kind, scenario, "baseline", lambda: make_response(response),
                           _response_outcome, _request_context(app, scenario))
        return Subject(name, kind, scenario, "baseline", dispatch_call(response, prepared_environ(scenario)),
                       _dispatch_outcome)
    raise KeyError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def calibration_subjects(planted_ns: int = PLANTED_NS) -> list:
    """The planted subject and its reference (the same construct with and without the busy-wait), and
    the A/A subject."""
    variant = REGISTRY[PLANTED_IDIOM]
    app = app_for(CALIBRATION_APP)  # an app of their own, so the pair is identical whatever is selected
    reply = SCENARIO_TABLE[PLANTED_SCENARIO].reply
    context = _request_context(app, PLANTED_SCENARIO)
    reference = Subject(PLANTED_REFERENCE, "construct", PLANTED_SCENARIO, "calibration",
                        construct_call(app, planted(variant.respond, 0), reply), _response_outcome, context)
    with_wait = Subject(PLANTED, "construct", PLANTED_SCENARIO, "calibration",
                        construct_call(app, planted(variant.respond, planted_ns), reply),
                        _response_outcome, context, meta={"planted_ns": planted_ns})
    aa = Subject(AA, "construct", PLANTED_SCENARIO, "calibration", construct_call(app, variant.respond, reply),
                 _response_outcome, context)
    return [with_wait, reference, aa]


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
