"""What every measurement stands on, defined once: the floor, the planted cost, and app creation order.

- The floor: the same status, headers and bytes as a scenario's reply (jsonify's compact, key-sorted,
  newline-terminated form), prebuilt, so answering costs no Flask and no serialisation. The
  microbenchmarks time ``app.make_response`` of it and its WSGI call; the load test serves it.
- The planted cost: ``planted(fn, ns)`` is ``fn`` after a busy-wait of ``ns`` nanoseconds of wall time.
  A stage times a planted subject beside the same subject with a 0 ns wait and must recover the
  difference: that is how it shows what it can resolve.
- App creation order: where an app sits in memory, and when it was made, can move its time by a
  percent or two for the life of a process (two instances of the same code differed in every one of
  six server processes with a fixed order), so each process creates its apps in a fresh random order
  and the stages average over processes.
"""
from __future__ import annotations

import json
import random
import time
from typing import Callable

from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from variants.contract import SCENARIOS

PLANTED_IDIOM = "jsonify_tuple"  # the idiom the planted pair and the A/A reference are built from


def floor_body(scenario: str) -> bytes:
    """The reply's body exactly as jsonify writes it in production."""
    return json.dumps(SCENARIOS[scenario].reply.body, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def floor_response(scenario: str) -> Response:
    """A prebuilt werkzeug Response with the scenario's status, headers and body."""
    reply = SCENARIOS[scenario].reply
    return Response(floor_body(scenario), status=reply.status, headers=reply.headers, mimetype="application/json")


def floor_app() -> Callable:
    """A WSGI app answering every scenario's request with its prebuilt response (404 otherwise), chosen
    by method, path and Authorization header (the 401 and the admin 200 share method and path)."""
    prebuilt = {(s.method, s.path, s.request_headers.get("Authorization")): floor_response(name)
                for name, s in SCENARIOS.items()}
    missing = NotFound()

    def app(environ, start_response):
        key = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_AUTHORIZATION"))
        response = prebuilt.get(key, missing)
        return response(environ, start_response)

    return app


def busy_wait(ns: int, clock=time.perf_counter_ns) -> None:
    """Spin for ``ns`` nanoseconds of wall time: the planted, known cost."""
    end = clock() + ns
    while clock() < end:
        pass


def planted(fn: Callable, ns: int) -> Callable:
    """``fn`` (an idiom's ``respond``, a WSGI app, any callable) after a busy-wait of ``ns`` (0: no wait,
    the same calls)."""

    def with_planted_cost(*args, **kwargs):
        busy_wait(ns)
        return fn(*args, **kwargs)

    return with_planted_cost


def create_in_random_order(makers: dict, rng=None) -> dict:
    """``{name: maker()}``, the makers called in a shuffled order (``rng``: anything with ``shuffle``;
    default the ``random`` module); the result keeps the makers' order."""
    order = list(makers)
    (rng or random).shuffle(order)
    made = {name: makers[name]() for name in order}
    return {name: made[name] for name in makers}
