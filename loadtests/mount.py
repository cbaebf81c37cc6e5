"""One WSGI app that serves every selected variant below its own prefix: ``/<name>/api/status``.

Serving them all from one server lets a load generator interleave variants request by request, so
every idiom sees the same machine. ``gunicorn 'loadtests.mount:create_app()'`` serves the variants
alone; ``gunicorn 'loadtests.mount:create_load_app()'`` is what the load tests run: the variants, the
floor and the planted calibration pair, each wrapped in ``ServerTiming``. The variants come from
FLASK_IDIOMS_VARIANTS (comma-separated, default all).

- ``/_floor``: ``harness.measure.floor_app()``, a prebuilt ``werkzeug.Response`` per scenario: the cost
  of answering without Flask, the denominator of every ratio.
- ``/_planted`` and ``/_planted_reference``: one instance of jsonify_tuple's app, the first after
  ``harness.measure.planted``'s busy-wait of ``PLANTED_US``, the second without. The load test must
  recover the difference. (The pair gets twice a variant's share of the traffic, so it is compared
  only with itself.)
- ``/_reference_2`` and ``/_reference_3``: two more instances of jsonify_tuple's app. With the jsonify_tuple
  variant's own they make the reference every Δ and ``ratio_to_reference`` is taken against: the mean of the
  three in the same time window (``REFERENCE_POOL``, ``loadtests.analysis.reference_apps``). One instance's
  cost moves with the memory layout its process gives it, and every idiom is compared with the reference, so
  the reference gets more of the traffic (about the square root of the number of idioms compared, as in a
  many-to-one design; three of 14 here).
- ``/_reference``: one more instance of jsonify_tuple's app, outside that mean: the A/A check, judged against
  the reference exactly as a variant is (two instances of the same code, which should not differ).

Every mounted name is served by ``APPS_PER_TARGET`` (3) apps of its kind taking turns, a request each
(``TakingTurns``, each app in its own ``ServerTiming``): two apps of the same code in one process differ by
their place in memory for the process's whole life (with one app each, the A/A pair's per-process values on
the created class spread by ~2.6 µs), and that spread between processes is what sets every interval; a
name's time is now the mean over three places. In a full ``make load`` (2026-11-27) the same samples gave a
median Δ half-width of ±1.09 µs against ±1.46 in the run before with one app per name (both with the
three-mount reference), the widest ±2.86 against ±3.53.

With ``LOAD_PAYLOADS=size_1kb,size_100kb`` (payload corpus entries, ``payloads.corpus``; your own files' too,
with ``PAYLOADS=path``) the payload apps are
mounted too: ``/<variant>~payload`` is ``bench.payload_semantics.payload_app`` of the variant (its own app with
``GET /api/payload/<entry>`` added, serving those entries), and ``/_reference~payload`` a second one of
jsonify_tuple's (the A/A pair of the payload run), e.g. ``/orjson_response~payload/api/payload/size_100kb``;
each in ``ServerTiming`` and created in the same random order as the rest.
"""
from __future__ import annotations

import itertools
import os
import re
import time

from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from harness.measure import PLANTED_IDIOM, create_in_random_order, floor_app, planted
from variants import REGISTRY, select

FLOOR, PLANTED, PLANTED_REFERENCE, REFERENCE = "_floor", "_planted", "_planted_reference", "_reference"
REFERENCE_POOL = ("_reference_2", "_reference_3")  # with the jsonify_tuple variant: the reference's apps
APPS_PER_TARGET = 3  # apps behind every mounted name, taking turns: an app's cost moves with its place in memory
PLANTED_US = 20
PAYLOAD_SUFFIX = "~payload"  # /<variant>~payload/api/payload/<entry>: the variant's payload app


def payload_entries(raw: str | None = None) -> list:
    """The payload entries named by ``raw`` (default LOAD_PAYLOADS; comma-separated corpus entries, in their order,
    without repeats); [] when unset. Built-in entries, and your own (``PAYLOADS=path``: a file's name without its
    extension) when their names can stand in a URL path as they are. An unknown name is a
    ``harness.cli.UsageError``, as is a bad PAYLOADS file (``payloads.user``)."""
    import payloads
    from harness.cli import UsageError

    raw = os.environ.get("LOAD_PAYLOADS", "") if raw is None else raw
    names = list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    builtin = payloads.builtin_names()
    user_path = os.environ.get("PAYLOADS", "").strip()
    yours = [n for n in (payloads.corpus(user_path, sizes=()) if user_path and set(names) - builtin else {})
             if n not in builtin]
    unknown = [n for n in names if n not in builtin and n not in yours]
    if unknown:
        raise UsageError(f"LOAD_PAYLOADS={raw!r}: unknown payload entr{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(unknown)}; expected built-in corpus entries, e.g. size_1kb,size_100kb"
                         + (f", or yours ({', '.join(yours)})" if yours else
                            "" if user_path else ", or your own with PAYLOADS=path (an entry per file, its name)"))
    awkward = [n for n in names if n in yours and not URL_SAFE.fullmatch(n)]
    if awkward:
        raise UsageError(f"LOAD_PAYLOADS: {', '.join(map(repr, awkward))}: over HTTP an entry's name is part of the "
                         f"URL; rename the file to letters, digits, '.', '_' and '-' only")
    return names


URL_SAFE = re.compile(r"[A-Za-z0-9._-]+")


def payload_corpus(entries: list) -> dict:
    """{entry: ``payloads.Entry``} for ``entries``: the built-in ones, and the PAYLOADS files only when an entry
    is one of them."""
    import payloads

    builtin = payloads.builtin_names()
    user_path = (os.environ.get("PAYLOADS", "").strip() or None) if set(entries) - builtin else None
    corpus = payloads.corpus(user_path, sizes=[e for e in entries if e in payloads.SIZE_KB])
    return {e: corpus[e] for e in entries}


def payload_target(name: str) -> str:
    """The mounted name of a variant's (or the reference's) payload app."""
    return name + PAYLOAD_SUFFIX


def payload_makers(names: list, entries: list) -> dict:
    """{mounted name: maker} of the payload apps: each variant's, and a second one of jsonify_tuple's (the A/A
    pair); every app serves ``entries`` (the corpus values, built once)."""
    from bench.payload_semantics import payload_app

    values = {e: entry.value for e, entry in payload_corpus(entries).items()}
    makers = {payload_target(n): (lambda n=n: payload_app(n, values)) for n in names}
    makers[payload_target(REFERENCE)] = lambda: payload_app(PLANTED_IDIOM, values)
    return makers


def create_app(names: str | None = None):
    variants = select(names if names is not None else os.environ.get("FLASK_IDIOMS_VARIANTS", ""))
    return DispatcherMiddleware(NotFound(), {f"/{v.name}": v.create_app() for v in variants})


class ServerTiming:
    """WSGI middleware: the time spent in ``app`` until it starts the response, sent to the client as
    ``Server-Timing: app;dur=<wall ms>, cpu;dur=<thread CPU ms>`` (set before ``start_response`` is
    passed on; teardown after it is not counted, and is the same for every idiom)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()

        def timed_start_response(status, headers, exc_info=None):
            wall_ns, cpu_ns = time.perf_counter_ns() - wall, time.thread_time_ns() - cpu
            headers.append(("Server-Timing", f"app;dur={wall_ns / 1e6:.4f}, cpu;dur={cpu_ns / 1e6:.4f}"))
            return start_response(status, headers, exc_info)

        return self.app(environ, timed_start_response)


class TakingTurns:
    """WSGI: ``apps`` answer one request each, in turn (round robin)."""

    def __init__(self, apps: list):
        self.apps = list(apps)
        self._next = itertools.cycle(self.apps).__next__

    def __call__(self, environ, start_response):
        return self._next()(environ, start_response)


def create_load_app(names: str | None = None, payloads: str | None = None, copies: int = APPS_PER_TARGET):
    """The variants, the floor, the planted pair and the reference's apps, ``copies`` apps of each taking turns
    (``TakingTurns``), each app in ``ServerTiming``; all of them created in a random order
    (``harness.measure.create_in_random_order``): each server process gets a fresh order and the load test
    averages over processes. ``payloads`` (default LOAD_PAYLOADS): corpus entries whose payload apps are
    mounted too (``payload_makers``)."""
    variants = select(names if names is not None else os.environ.get("FLASK_IDIOMS_VARIANTS", ""))
    makers = {v.name: v.create_app for v in variants}
    entries = payload_entries(payloads)
    if entries:
        makers.update(payload_makers([v.name for v in variants], entries))
    makers[FLOOR] = floor_app
    makers[REFERENCE] = REGISTRY[PLANTED_IDIOM].create_app  # the same idiom again: the A/A check
    for name in REFERENCE_POOL:  # and again: the reference is the mean of these and the variant's own
        makers[name] = REGISTRY[PLANTED_IDIOM].create_app
    makers[PLANTED] = REGISTRY[PLANTED_IDIOM].create_app  # the same apps behind both planted routes
    made = create_in_random_order({(name, k): maker for name, maker in makers.items() for k in range(copies)})
    apps = {name: [made[name, k] for k in range(copies)] for name in makers}
    apps[PLANTED_REFERENCE] = [planted(app, 0) for app in apps[PLANTED]]
    apps[PLANTED] = [planted(app, PLANTED_US * 1000) for app in apps[PLANTED]]
    return DispatcherMiddleware(NotFound(), {f"/{name}": TakingTurns([ServerTiming(app) for app in group])
                                             for name, group in apps.items()})
