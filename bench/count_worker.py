"""The process ``make count`` (``bench.counts``) runs: ``python -m bench.count_worker``, one job line (JSON) per
variant on standard input, its results as JSON lines on standard output; nothing else is printed unless it fails.

After the imports, the process forks a child per job line, one after another, and reads nothing itself
(``serve``: every child starts from the same state, so a variant's count does not depend on the others
counted with it). A child reads its line, builds the variant's app, sends ``warmup`` rounds of every
class's request (checking each answer against the contract), collects the garbage and freezes what is
left (``gc.freeze``: collections during the measurement then see only the requests' own garbage, as in a
long-running server whose start-up objects sit in the oldest generation), and then measures each class in
a grandchild of its own, so that every class starts from the same state:

- ``mode: count`` (under cachegrind, memcheck or callgrind): grandchildren forked one after another: one that
  sends nothing, then per class one that sends ``n`` requests, each followed by one that sends nothing.
  valgrind counts each grandchild's instructions (memcheck: the heap blocks and bytes allocated) from the start of
  the root process to the grandchild's exit, so a counting grandchild minus the mean of the two empty ones
  beside it is the cost of its ``n`` requests: start-up, imports, app creation and warm-up cancel exactly, and
  so does the fork between them (to within the difference of the two empty ones, which is recorded).
- ``mode: native`` (no valgrind): per class, garbage collections over ``gc_requests`` requests
  (``gc.get_stats`` deltas), tracemalloc's peak during a request above its start over ``trace_requests``
  requests and the Python functions called (cProfile call counts, which do not depend on the clock) over
  ``profile_requests``.

The requests are ``bench.subjects.dispatch_call``: one WSGI call ``app(environ, start_response)`` with a
prepared environ, the body read and the iterable closed. The classes are ``CLASSES``.
"""
from __future__ import annotations

import cProfile
import gc
import json
import os
import tracemalloc
from statistics import median

from bench.subjects import dispatch_call, prepared_environ
from variants import REGISTRY
from variants.contract import SCENARIOS

# The status classes counted: the contract's scenarios.
CLASSES = SCENARIOS


def emit(event: dict) -> None:
    """One JSON line on standard output, written whole (forked processes share the pipe)."""
    data = (json.dumps(event) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def check(name: str, cls: str, result) -> None:
    line, body = result
    case = CLASSES[cls].case
    status = int(line.split(" ", 1)[0])
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    declared = name in REGISTRY and REGISTRY[name].declares(case)  # a declared divergence's body may differ
    if status != case.status or (parsed != case.json and not declared):
        emit({"event": "error", "variant": name, "class": cls,
              "error": f"answered {line!r} {body[:80]!r}, expected {case.status} {case.json!r}"})
        os._exit(3)


def settle(calls: dict, warmup: int) -> None:
    """``warmup`` rounds of every call, then a full collection and ``gc.freeze()``: what the app built to
    serve is out of the collector's reach, so the requests counted pay only for their own garbage."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    gc.collect()
    gc.freeze()


def prepared(name: str, classes: list, warmup: int) -> tuple:
    """The variant's app, warmed up on every class, garbage collected and frozen: (app, {class: call}).

    The app is the variant module's own (``variants.<name>.app``, which importing the module builds): a second
    ``create_app()`` would double the set-up, which under valgrind costs more than the requests counted."""
    app = REGISTRY[name].module.app
    calls = {cls: dispatch_call(app, prepared_environ(CLASSES[cls])) for cls in classes}
    for cls, call in calls.items():
        check(name, cls, call())
    settle(calls, warmup)
    return app, calls


def prepared_payloads(name: str, entries: list, warmup: int) -> tuple:
    """The variant's payload app (``bench.payload_semantics.payload_app``: its own app with ``GET /api/payload/<entry>``
    added) serving the size entries ``entries``, each answer checked to be a 200, warmed up, collected and frozen
    as ``prepared`` does: (app, {entry: call}). Imported here: only a sizes job builds the corpus."""
    import payloads
    from bench.payload_semantics import environ_for, payload_app

    values = {e.name: e.value for e in payloads.corpus(None, sizes=entries).values() if e.name in entries}
    app = payload_app(name, values)
    calls = {entry: dispatch_call(app, environ_for(entry)) for entry in entries}
    for entry, call in calls.items():
        line, body = call()
        if not line.startswith("200"):
            emit({"event": "error", "variant": name, "class": entry, "error": f"answered {line!r} {body[:80]!r}"})
            os._exit(3)
    settle(calls, warmup)
    return app, calls


def in_grandchild(work) -> int:
    """Fork; the child runs ``work()`` and exits at once (no interpreter shutdown); the parent waits.
    Returns the child's pid, or raises if it failed."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            work()
        except BaseException as e:  # noqa: BLE001: reported, and the child must never return
            emit({"event": "error", "error": f"{type(e).__name__}: {e}"})
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(5)
    return pid


def count(name: str, classes: list, calls: dict, n: int, per_class_n: dict | None = None) -> None:
    """Empty, count, empty, count, ..., empty: the grandchildren whose instructions are compared.

    Each ends with a collection of the youngest generation: a long-running process collects its requests'
    young garbage sooner or later, and ``n`` requests might or might not reach the collector's threshold, so
    without it a count over few requests would leave out a cost that one over many includes (-0.3% at n = 20
    against n = 200 without it, +0.1-0.2% with it; the empty processes collect too, so the collection's own
    fixed cost cancels)."""

    def requests(call, n):
        def work():
            gc.enable()
            for _ in range(n):
                call()
            gc.collect(0)  # the young garbage, collected once within the count (see count())
        return work

    gc.disable()  # no collection in this process between the forks
    plan = [(None, 0)]
    for cls in classes:
        plan += [(cls, (per_class_n or {}).get(cls, n)), (None, 0)]
    pids = []
    for index, (cls, k) in enumerate(plan):
        pids.append(in_grandchild(requests(calls[cls] if cls else None, k)))
        emit({"event": "forked", "variant": name, "class": cls, "index": index})  # the same bytes in every run
    # The pids only now, after the last grandchild: each grandchild's count includes what this process did before
    # its fork, and writing a pid costs more or fewer instructions with its digits and value (up to ~80 a process:
    # two identical counts were once >100 apart in a test where pids had reached other values)
    for index, ((cls, k), pid) in enumerate(zip(plan, pids)):
        emit({"event": "fork", "variant": name, "class": cls, "n": k, "index": index, "pid": pid})


def native(name: str, cls: str, app, requests: dict) -> dict:
    """Garbage collections, tracemalloc's peak and Python calls per request for one class."""
    environ = prepared_environ(CLASSES[cls])
    call = dispatch_call(app, environ)
    gc.enable()
    before = gc.get_stats()
    for _ in range(requests["gc_requests"]):
        call()
    after = gc.get_stats()
    per_1000 = 1000 / requests["gc_requests"]
    collections = [round((a["collections"] - b["collections"]) * per_1000, 2) for a, b in zip(after, before)]
    collected = round(sum(a["collected"] - b["collected"] for a, b in zip(after, before)) * per_1000, 1)

    gc.collect()
    gc.disable()  # a collection inside a request would free older requests' garbage into its figures
    peaks = []
    tracemalloc.start(1)
    for _ in range(requests["trace_requests"]):
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        peaks.append(tracemalloc.get_traced_memory()[1] - start)
    tracemalloc.stop()
    gc.enable()

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests["profile_requests"]):
        call()
    profile.disable()
    profile.create_stats()
    calls = {}
    for (path, line, function), stats in profile.stats.items():
        where = python_function(path, line, function)
        if where:
            calls[where] = round(stats[1] / requests["profile_requests"], 2)  # all calls, recursive ones too
    return {"event": "native", "variant": name, "class": cls, "peak_bytes": median(peaks),
            "gc_collections_per_1000": collections, "gc_collected_per_1000": collected, "python_calls": calls}


def python_function(path: str, line: int, function: str):
    """``package/module.py:line(function)`` for code in the packages the idioms use, else None."""
    for marker in ("site-packages/", f"{os.sep}variants{os.sep}"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            return f"{'variants/' if marker != 'site-packages/' else ''}{rest}:{line}({function})"
    return None


NO_MORE = 100  # a child's exit code: standard input had no job left
SETTLE = 2  # forks that do nothing first (see serve)


def read_line(fd: int = 0) -> bytes:
    """One line from ``fd``, a byte at a time: the children share the pipe, and a buffered read would take
    the next child's line too."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line


def next_job() -> int:
    """In a fresh child: read one job line ({"mode", "variant", "classes", "n", "warmup", "requests"}, and "payload":
    true when the classes are payload size entries) and do it."""
    line = read_line()
    if not line.strip():
        return NO_MORE
    job = json.loads(line)
    name, classes = job["variant"], job["classes"]
    if job.get("payload"):  # the classes are payload size entries (bench.count_plan.Mode.sizes)
        app, calls = prepared_payloads(name, classes, job["warmup"])
    else:
        app, calls = prepared(name, list(CLASSES), job["warmup"])
    if job["mode"] == "count":
        count(name, classes, calls, job["n"], job.get("per_class_n"))
    else:
        for cls in classes:
            in_grandchild(lambda cls=cls: emit(native(name, cls, app, job["requests"])))
    emit({"event": "done", "variant": name})
    return 0


def serve() -> None:
    """Fork a child per job line on standard input, one after another, until a child finds none.

    This process reads nothing itself and keeps nothing between forks, so every child starts from the
    same state whatever the jobs before it were: where an object lands in memory moves a request's
    instruction count (objects hashed by identity, allocator pools) by up to a few tenths of a percent,
    and a variant's count must not depend on which others were counted with it. The first forks
    do nothing: they bring this process to the state it then keeps from one fork to the next."""
    settle = SETTLE
    while True:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if settle else next_job())
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if settle:
            settle -= 1
        elif code == NO_MORE:
            return
        elif code != 0:
            emit({"event": "failed", "exit": code})


if __name__ == "__main__":
    serve()
