"""locust: every request goes to a variant and endpoint taken in turn from a shuffled cycle of all of them,
so each idiom sees the same machine, interleaved request by request.

``loadtests.run`` starts it (``make load``); by hand, against ``gunicorn 'loadtests.mount:create_load_app()'``::

    LOAD_TARGETS=jsonify_tuple,_floor locust -f loadtests/locustfile.py --headless -u 16 -t 20s \\
        --host http://127.0.0.1:PORT

Environment: LOAD_TARGETS (mounted names, comma-separated), LOAD_RATE (requests per second per user;
unset: as fast as it goes), LOAD_SAMPLES (where the master, or a lone process, writes the samples).

A response is a success only if it is what the contract says (the 401 with its challenge included); a
variant with a declared divergence may differ in Content-Type and body only, on the cases it declares. Each response's
``Server-Timing`` (see ``loadtests.mount.ServerTiming``) becomes a sample: (time, target, scenario,
app wall us, app CPU us, locust's own unbucketed response time in ms). Workers send theirs to the
master with their regular reports.
"""
from __future__ import annotations

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
SCENARIOS = list(SCENARIO_TABLE)
RATE = float(os.environ.get("LOAD_RATE") or 0)
DIVERGENT = {name: v for name, v in REGISTRY.items() if v.divergence}
TIMING = re.compile(r"app;dur=([0-9.]+), cpu;dur=([0-9.]+)")

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


class IdiomUser(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE > 0 else constant(0)

    def on_start(self):
        try:  # a worker learns the host from its master: checked here too
            require_loopback(self.host or "")
        except Exception as e:
            logging.error("%s", e)
            raise StopUser() from None
        self.cycle = [(t, s) for t in range(len(TARGETS)) for s in range(len(SCENARIOS))]
        random.shuffle(self.cycle)
        self.i = random.randrange(len(self.cycle))

    @task
    def request(self):
        target, scenario = self.cycle[self.i % len(self.cycle)]
        self.i += 1
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
