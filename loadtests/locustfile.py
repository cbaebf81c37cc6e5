"""locust: every request goes to a variant and endpoint taken in turn from a shuffled cycle of all of them,
so each idiom sees the same machine, interleaved request by request.

``loadtests.run`` starts it (``make load``); by hand, against ``gunicorn 'loadtests.mount:create_load_app()'``::

    LOAD_TARGETS=jsonify_tuple,_floor locust -f loadtests/locustfile.py --headless -u 16 -t 20s \\
        --host http://127.0.0.1:PORT

Environment: LOAD_TARGETS (mounted names, comma-separated), LOAD_RATE (requests per second per user;
unset: as fast as it goes), LOAD_SAMPLES (where the master, or a lone process, writes the samples).

Payload mode, ``LOAD_PAYLOADS=size_1kb,size_100kb`` (corpus entries; ``loadtests.run``'s payload mode): the
targets are payload apps (``/<variant>~payload``, ``loadtests.mount``) and the cycle covers every (target,
entry): ``GET /<target>/api/payload/<entry>``, whose "scenario" in the samples is the entry. A response is a
success only if it is a 200 whose body was read to the end (its length is its Content-Length) and, where
LOAD_PAYLOAD_EXPECT names a JSON file ``{target: {entry: {"content_type", "body_bytes", "body_sha256"}}}``
(what the test client got from the same app, ``bench.payload_semantics``), has that Content-Type, length and
SHA-256; without the file, its Content-Type must be application/json unless the variant declares a divergence.
With LOAD_PAYLOAD_PHASE_S=x,y,... (seconds per entry, or one value for all) the entries take turns by the clock
(every user and worker switches at the same instants), each user going through the targets in its shuffled
cycle: a 1 KB body is timed among 1 KB bodies, not just after a 100 KB one (which made the next request dearer
by half or more, 2026-11-27), and a dearer entry can be given a longer turn, so it gets about as many samples.

A response is a success only if it is what the contract says (the 401 with its challenge included); a
variant with a declared divergence may differ in Content-Type and body only, on the cases it declares. Each response's
``Server-Timing`` (see ``loadtests.mount.ServerTiming``) becomes a sample: (time, target, scenario,
app wall us, app CPU us, locust's own unbucketed response time in ms). Workers send theirs to the
master with their regular reports.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import sys
import time

from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

from harness.results import write_json
from loadtests.server import require_loopback
from variants import REGISTRY
from variants.contract import SCENARIOS as SCENARIO_TABLE, deviations

TARGETS = [t for t in os.environ.get("LOAD_TARGETS", "").split(",") if t]
PAYLOADS = [e for e in os.environ.get("LOAD_PAYLOADS", "").split(",") if e]  # payload mode: the entries
SCENARIOS = PAYLOADS or list(SCENARIO_TABLE)
PAYLOAD_SUFFIX = "~payload"  # loadtests.mount.PAYLOAD_SUFFIX (not imported: mount imports Flask and the variants)
PHASES = [float(x) for x in (os.environ.get("LOAD_PAYLOAD_PHASE_S") or "").split(",") if x.strip()]
PHASES = PHASES * len(SCENARIOS) if len(PHASES) == 1 else PHASES  # one value: the same turn for every entry
PHASE_S = sum(PHASES) if PAYLOADS and len(PHASES) == len(SCENARIOS) else 0.0  # > 0: the entries take turns
RATE = float(os.environ.get("LOAD_RATE") or 0)
DIVERGENT = {name: v for name, v in REGISTRY.items() if v.divergence}
TIMING = re.compile(r"app;dur=([0-9.]+), cpu;dur=([0-9.]+)")


def phase_entry(now: float | None = None) -> int:
    """The entry whose turn it is (LOAD_PAYLOAD_PHASE_S): the same in every process at any instant."""
    t = (time.time() if now is None else now) % PHASE_S
    for k, length in enumerate(PHASES):
        if t < length:
            return k
        t -= length
    return len(PHASES) - 1


samples: list = []  # [t, target index, scenario index, app us, cpu us, response ms]


@events.init.add_listener
def _check(environment, **_):
    try:
        if not isinstance(environment.runner, WorkerRunner):
            if not TARGETS:
                raise ValueError("LOAD_TARGETS is empty")
            require_loopback(environment.host or "")
    except Exception as e:  # a clear line and exit 2, before any request is sent
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)


@events.request.add_listener
def _sample(name, response_time, response, context, exception, **_):
    if exception or response is None or "target" not in context:
        return
    found = TIMING.search((response.headers or {}).get("Server-Timing") or "")
    if found:
        samples.append([round(time.time(), 4), context["target"], context["scenario"],
                        round(float(found[1]) * 1000, 1), round(float(found[2]) * 1000, 1),
                        round(response_time, 3)])


@events.report_to_master.add_listener
def _send(client_id, data, **_):
    data["idiom_samples"] = samples[:]
    samples.clear()


@events.worker_report.add_listener
def _receive(client_id, data, **_):
    samples.extend(data.get("idiom_samples", ()))


@events.quitting.add_listener
def _write(environment, **_):
    path = os.environ.get("LOAD_SAMPLES")
    if path and not isinstance(environment.runner, WorkerRunner):
        write_json(path, {"columns": ["t", "target", "scenario", "app_us", "cpu_us", "response_ms"],
                          "targets": TARGETS, "scenarios": SCENARIOS, "samples": samples})
        logging.info("wrote %d samples to %s", len(samples), path)


def expected_bodies() -> dict:
    """{target: {entry: what the test client got}} from LOAD_PAYLOAD_EXPECT, or {} without it."""
    path = os.environ.get("LOAD_PAYLOAD_EXPECT")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


EXPECTED = expected_bodies() if PAYLOADS else {}


def payload_deviations(target: str, entry: str, status: int, headers, body: bytes) -> list:
    """What is wrong with one payload response (``[]``: nothing)."""
    found = []
    if status != 200:
        found.append(f"HTTP {status}, expected 200")
    length = (headers or {}).get("Content-Length")
    if length is not None and int(length) != len(body):
        found.append(f"body {len(body)} bytes, Content-Length {length}: not read to the end")
    content_type = (headers or {}).get("Content-Type") or ""
    expected = EXPECTED.get(target, {}).get(entry)
    if expected:
        if content_type != expected["content_type"]:
            found.append(f"Content-Type {content_type!r}, expected {expected['content_type']!r}")
        if len(body) != expected["body_bytes"] or hashlib.sha256(body).hexdigest() != expected["body_sha256"]:
            found.append(f"body: {len(body)} bytes, not the {expected['body_bytes']} bytes the app sends")
    elif not EXPECTED:
        variant = target.removesuffix(PAYLOAD_SUFFIX)
        if variant not in DIVERGENT and content_type.split(";")[0].strip() != "application/json":
            found.append(f"Content-Type {content_type!r}, expected application/json")
    else:
        found.append(f"no expected body for {target} on {entry}")
    return found


class IdiomUser(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self):
        try:  # a worker learns the host from its master: checked here too
            require_loopback(self.host or "")
        except Exception as e:
            logging.error("%s", e)
            raise StopUser() from None
        self.cycle = [(t, s) for t in range(len(TARGETS)) for s in range(1 if PAYLOADS and PHASE_S else len(SCENARIOS))]
        random.shuffle(self.cycle)
        self.i = random.randrange(len(self.cycle))

    @task
    def request(self):
        target, scenario = self.cycle[self.i % len(self.cycle)]
        self.i += 1
        if PAYLOADS:
            scenario = phase_entry() if PHASE_S else scenario
            self.payload(TARGETS[target], SCENARIOS[scenario], {"target": target, "scenario": scenario})
            return
        name, s = TARGETS[target], SCENARIO_TABLE[SCENARIOS[scenario]]
        with self.client.request(s.method, f"/{name}{s.path}", name=f"{name} {s.name}", headers=s.request_headers,
                                 data=s.body or None, catch_response=True, context={"target": target, "scenario": scenario}) as r:
            found = deviations(s.case, r.status_code, r.headers or {}, r.content or b"", prefix=f"/{name}")
            if name in DIVERGENT and DIVERGENT[name].declares(s.case):  # declared: type and body may differ
                found = [d for d in found if not d.startswith(("Content-Type", "body"))]
            if found:
                r.failure("; ".join(found))
            else:
                r.success()

    def payload(self, name: str, entry: str, context: dict):
        """One ``GET /<name>/api/payload/<entry>``, read to the end (FastHttpUser reads the body unless asked to
        stream) and checked (``payload_deviations``)."""
        with self.client.request("GET", f"/{name}/api/payload/{entry}", name=f"{name} {entry}", catch_response=True,
                                 context=context) as r:
            found = payload_deviations(name, entry, r.status_code, r.headers, r.content or b"")
            if found:
                r.failure("; ".join(found))
            else:
                r.success()
