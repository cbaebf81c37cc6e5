"""``make deploy``: does the answer hold where you deploy? Servers, Python versions, Flask releases.

Three dimensions, each an existing stage run again elsewhere, as a child process in its own process
group with its own results folder below ``reports/out/deploy/`` (``FLASK_IDIOMS_OUT``):

- **servers**: the HTTP load stage (``python -m loadtests.run``, ``LOAD_SERVER=<name>``) under every
  entry of ``loadtests.servers.SERVERS`` (gunicorn sync and gthread, waitress, granian's WSGI
  interface), one server pinned to one core, on 127.0.0.1. Per server: its CPU per request, each
  idiom's Δ µs per status class against ``jsonify_tuple`` and its share of the request. A server that
  does not install or start is recorded as failed, with the reason, and the others still run.
- **pythons**: the whole request in process (``python -m bench.request``, every idiom, the mode's
  ``REQUEST_WORKERS`` x ``REQUEST_SECONDS``) in nox's ``request_python-3.X`` environment (the lock's versions
  for that Python) for every CPython 3.9-3.13 found: in ``PYTHONS=/path/to/python,...``, then ``python3.X``
  on PATH (a pyenv shim that is not selected fails and does not count), then
  ``~/.pyenv/versions/*/bin/python3.X``. One not found is ``skipped``. Then, in the same environments, the
  instruction counts (``python -m bench.counts``, valgrind, deterministic; a few idioms) into
  ``pythons.<version>.counts``: Δ% instructions against ``jsonify_tuple`` per class; without valgrind they are
  skipped with how to install it. They run last, the reference Python's first, then the newest: a quick
  run has room for the reference's only; ``make deploy QUICK=1 DEPLOY=pythons`` right after takes the timings
  over and counts the others.
- **flask**: the same whole-request stage in ``request_flask(X.Y.Z)`` (Python 3.11, the matrix's pins
  of that release from noxfile.PINS); an idiom whose registry ``min_flask`` is newer than the
  release is skipped there, not failed.

Each item's verdicts are compared with its dimension's reference (gunicorn_sync, Python 3.11, the
newest Flask release): where both are definite (cheaper, dearer, equivalent) and differ, the order
changed there. The targets are checked and recorded (``targets``): the wall time within the mode's budget,
and per item each status class's widest Δ CI half-width within 2x the reference item's (over the idioms both
measured); the console and the report name each miss. Nothing here is part of ``make bench``; the report
shows ``deploy.json`` when it exists.

An interrupted or partly failed run keeps what it finished: deploy.json is written (atomically) after every
item, with ``pending`` listing the items not done. The next run takes over every item an earlier run finished
with the same commit (``environment.git_commit``; never from a tree with changes, ``-dirty``),
lock, mode, idioms and settings (the counts: any mode), says which, and measures only the rest; ``DEPLOY_FRESH=1``
measures everything again.

Options (environment): ``QUICK=1`` (in process every idiom, 3 workers each; over HTTP five idioms, short
load runs; counts of three idioms; a 5-minute budget; a full run: every idiom over HTTP too, 8 workers, longer
load runs, 20 minutes); ``VARIANTS=a,b`` (everywhere); ``DEPLOY=servers,pythons,flask`` (the dimensions to
run; the others' earlier results are kept); ``DEPLOY_SERVERS=a,b``; ``PYTHONS=...``; ``DEPLOY_COUNTS=0`` (no
instruction counts); ``DEPLOY_FRESH=1``; ``DEPLOY_FLASK=2.0,3.1`` (releases or series; default 2.0, 2.3 and 3.1
quick, every release from 2.0 full). The run is bounded: items that would not finish within the mode's budget
are skipped with that reason, an item that outlives its time limit is stopped (its whole group) and failed.
Writes ``reports/out/deploy.json`` (``harness.schemas.deploy.Deploy``).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import environment
from harness.processes import stop_group
from harness.progress import Progress, clock
from harness.results import OUT, ROOT, read_optional, write_json
from bench.deploy_results import (  # noqa: F401  (the results' side; the tests read them as deploy.X)
    agreement, ci_target, class_widths, compare_dimension, DEFINITE, DIMENSIONS, failed, from_load, from_request, half_width, REFERENCE_PYTHON, REFERENCE_SERVER, references, same_stamp, SETTINGS_LEFT_OUT, skipped, stamp, take_over, targets)

SCHEMA = "flask-json-idioms/deploy/1"
FILE = "deploy.json"
FOLDER = "deploy"
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")
STOP_GRACE_S = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
TIMEOUT_FACTOR = 3.0
BUILD_S = 15.0  # an environment built for the first time (uv with a warm cache: ~5 s; a cold one downloads)


@dataclass(frozen=True)
class Config:
    mode: str
    budget_s: float  # the whole run
    load_seconds: int  # LOAD_SECONDS of each locust run
    load_processes: int  # LOAD_PROCESSES: paced server processes
    server_s: float  # expected seconds per server
    request_s: float  # expected seconds per in-process item (bench.request, every idiom, the settings below)
    flask_series: tuple  # default releases (series)
    server_variants: tuple = ()  # the idioms over HTTP when VARIANTS is not given (empty: all)
    request_workers: int = 4  # REQUEST_WORKERS of each in-process item (bench.request's quick mode otherwise)
    request_seconds: float = 1.5  # REQUEST_SECONDS: timed seconds per worker
    count_variants: tuple = ()  # the idioms counted per Python when VARIANTS is not given (empty: all)
    count_s: float = 45.0  # expected seconds per Python's instruction counts (bench.counts' quick mode)


# Measured on the 2-core machine, every idiom in process (15 with the A/A pair and planted costs, 8 status
# classes): a bench.request worker costs ~5.5 s besides its timed seconds (imports, apps, warm-up), so an item of
# 4 workers x 1.5 s took 28-32 s with nox's start, of 3 workers x 1 s ~21 s; a server ~19-24 s. Workers, not
# seconds, set the interval (the widest Δ CI was ~2x wider with 3 workers than with 4): with the 20% trimmed mean
# over workers 3 leave 2 degrees of freedom, 4 leave 3, 5 only 2, 6 again 3 (with more data), 8 leave 5.
# A Python's instruction counts (bench.counts' quick mode) took 36 s on 3.11 and 55 s on 3.13, most of it
# valgrind starting Python, whatever the idioms.
# Quick (5 min): 4 servers + 7 in-process items took 257 s with 3 workers x 1 s (with 4 x 1.5 s 3.12 and 3.13 did
# not fit), leaving room for the reference Python's counts only; the others are counted when the budget allows,
# e.g. by a second run (``make deploy QUICK=1 DEPLOY=pythons`` takes the timings over and counts the rest).
# Full (20 min): servers ~4 x 150 s, 11 in-process items x ~45 s (8 workers x 1.5 s: 5 degrees of freedom; a
# worker's set-up is ~3.5 s since bench.request's young counts were cut), then counts as the budget allows.
# Over HTTP every target and class must fill each time window of a short load run: a quick run takes a few idioms.
QUICK = Config("quick", 300, 6, 1, 24, 21, ("2.0", "2.3", "3.1"),
               server_variants=("jsonify_tuple", "dict_return", "abort_response", "api_exception", "orjson_response"),
               request_workers=3, request_seconds=1.0,
               count_variants=("jsonify_tuple", "abort_response", "api_exception"), count_s=45)
FULL = Config("full", 1200, 20, 4, 150, 45, ("2.0", "2.1", "2.2", "2.3", "3.0", "3.1"),
              request_workers=8, request_seconds=1.5,
              count_variants=("jsonify_tuple", "dict_return", "abort_response", "api_exception", "orjson_response"),
              count_s=45)


@dataclass
class Options:
    cfg: Config
    variants: list  # registry entries: in process (every idiom unless VARIANTS names some)
    dimensions: tuple
    servers: list
    pythons: dict  # version -> interpreter path or None
    flask: list  # pinned releases
    listed: dict = field(default_factory=dict)  # what PYTHONS named
    server_variants: list | None = None  # over HTTP (None: ``variants``)
    count_variants: list | None = None  # instruction counts per Python (None: ``variants``; []: not counted)
    fresh: bool = False  # DEPLOY_FRESH=1: measure everything again, take nothing over from deploy.json

    @property
    def http_variants(self) -> list:
        return self.variants if self.server_variants is None else self.server_variants

    @property
    def counted_variants(self) -> list:
        return self.variants if self.count_variants is None else self.count_variants


# ------------------------------------------------------------------------------ discovery and options
def interpreter_facts(path: str) -> tuple | None:
    """(implementation, "3.X", full version, executable) of the interpreter at ``path``; None if it does not run."""
    code = ("import platform, sys; print(platform.python_implementation(), '%d.%d' % sys.version_info[:2], "
            "platform.python_version(), sys.executable)")
    try:
        done = subprocess.run([path, "-c", code], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split(maxsplit=3)
    if done.returncode != 0 or len(parts) != 4:
        return None
    return parts[0], parts[1], parts[2], parts[3].strip()


def discover_pythons(listed: str = "", path: str | None = None, pyenv_root: Path | None = None) -> dict:
    """Per supported version the interpreter to use, or None: ``listed`` (PYTHONS, comma-separated paths)
    first, then ``python3.X`` on ``path``, then pyenv's ``versions/*/bin/python3.X``. A listed path that is
    not a CPython 3.9-3.13 is a UsageError."""
    found = {v: None for v in SUPPORTED}
    for item in (x.strip() for x in listed.split(",") if x.strip()):
        facts = interpreter_facts(item)
        if facts is None or facts[0] != "CPython" or facts[1] not in SUPPORTED:
            what = "does not run" if facts is None else f"is {facts[0]} {facts[2]}"
            raise UsageError(f"PYTHONS: {item!r} {what}; expected a CPython {SUPPORTED[0]}-{SUPPORTED[-1]} interpreter")
        found[facts[1]] = found[facts[1]] or facts[3]
    path = os.environ.get("PATH", "") if path is None else path
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") if pyenv_root is None else pyenv_root
    for version in SUPPORTED:
        if found[version]:
            continue
        candidates = [Path(d) / f"python{version}" for d in path.split(os.pathsep) if d]
        candidates += sorted(pyenv_root.glob(f"versions/*/bin/python{version}"), reverse=True)
        for candidate in candidates:
            if not os.access(candidate, os.X_OK):
                continue
            facts = interpreter_facts(str(candidate))
            if facts and facts[0] == "CPython" and facts[1] == version:
                found[version] = facts[3]
                break
    return found


def _listed(name: str, known: list, default: list) -> list:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return list(default)
    wanted = [x.strip() for x in raw.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in known]
    if unknown or not wanted:
        raise UsageError(f"{name}={raw!r}: unknown {', '.join(unknown) or 'value'}; expected some of {', '.join(known)}")
    return wanted


def options() -> Options:
    from harness import matrix
    from loadtests.servers import SERVERS

    cfg = QUICK if flag("QUICK") else FULL
    named = bool(os.environ.get("VARIANTS", "").strip())
    variants = selected_variants()
    server_variants = None if named or not cfg.server_variants else selected_variants(",".join(cfg.server_variants))
    count_variants = None if named or not cfg.count_variants else selected_variants(",".join(cfg.count_variants))
    if not flag("DEPLOY_COUNTS", default=True):
        count_variants = []
    dimensions = tuple(_listed("DEPLOY", list(DIMENSIONS), list(DIMENSIONS)))
    servers = _listed("DEPLOY_SERVERS", list(SERVERS), list(SERVERS))
    pinned = sorted(matrix.load_pins().PINS, key=matrix.version_key)
    wanted = os.environ.get("DEPLOY_FLASK", "").strip() or ",".join(cfg.flask_series)
    flask = matrix.select_versions(wanted, pinned)
    if "servers" in dimensions and shutil.which("taskset") is None:
        raise UsageError("taskset not found (Debian package util-linux); the servers are pinned to one core")
    pythons = discover_pythons(os.environ.get("PYTHONS", "")) if {"pythons", "flask"} & set(dimensions) else {}
    return Options(cfg, variants, dimensions, servers, pythons, flask, server_variants=server_variants,
                   count_variants=count_variants, fresh=flag("DEPLOY_FRESH"))


# ------------------------------------------------------------------------------------ child processes
def last_error(log_path: Path) -> str:
    """The line of a child's log that says why it failed: its last ``error:``, else its last line."""
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if line.lower().startswith(("error:", "error ")) or "Error:" in line]
    return ((errors or lines or ["no output"])[-1])[:300]


def run_child(argv: list, env: dict, log_path: Path, timeout_s: float) -> tuple:
    """Run ``argv`` in its own process group, output to ``log_path``; (exit code or None on time-out, seconds).
    Ctrl-C or SIGTERM stops the whole group and re-raises."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stop_group(process, STOP_GRACE_S, signals=STOP_SIGNALS)
            code = None
        except BaseException:
            stop_group(process, STOP_GRACE_S, signals=STOP_SIGNALS)
            raise
    return code, round(time.monotonic() - started, 1)


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(OUT))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------ the items
@dataclass
class Item:
    dimension: str
    key: str
    expected_s: float
    run: object  # () -> entry
    part: str | None = None  # the entry goes to result[dimension][key][part] ("counts"), else result[dimension][key]
    variants: list = field(default_factory=list)  # the idioms it measures (an earlier entry is taken over only for these)
    settings: dict = field(default_factory=dict)  # and the settings it measures them with (workers, seconds)
    taken_over: bool = False

    @property
    def label(self) -> str:
        return f"{self.dimension} {self.key}" + (f" {self.part}" if self.part else "")


def server_item(opts: Options, name: str) -> Item:
    def run() -> dict:
        folder = OUT / FOLDER / "servers" / name
        env = {"LOAD_SERVER": name, "FLASK_IDIOMS_OUT": str(folder), "LOAD_SECONDS": str(opts.cfg.load_seconds),
               "VARIANTS": ",".join(v.name for v in opts.http_variants),
               "LOAD_PROCESSES": str(opts.cfg.load_processes), "QUICK": "1" if opts.cfg.mode == "quick" else "0"}
        log = folder / "deploy.log"
        if (folder / "load.json").exists():
            (folder / "load.json").unlink()  # a stale file must not stand in for a failed run
        code, seconds = run_child([sys.executable, "-m", "loadtests.run"], env, log, TIMEOUT_FACTOR * opts.cfg.server_s)
        extra = {"seconds": seconds, "results": relative(folder)}
        if code is None:
            return failed(f"timed out after {TIMEOUT_FACTOR * opts.cfg.server_s:.0f} s; stopped (log: {relative(log)})", **extra)
        try:
            entry = from_load(folder, name)
        except ValueError as e:
            return failed(f"did not run: {last_error(log) if code else e} (exit {code}; log: {relative(log)})", **extra)
        return {**entry, **extra}

    return Item("servers", name, opts.cfg.server_s, run, variants=[v.name for v in opts.http_variants],
                settings={"LOAD_SECONDS": opts.cfg.load_seconds, "LOAD_PROCESSES": opts.cfg.load_processes})


def nox_item(opts: Options, dimension: str, key: str, session: str, env, variants: list,
             extra: dict | None = None) -> Item:
    """``env``: () -> the environment the nox session needs beside the results folder (called when it runs)."""
    expected = opts.cfg.request_s + (0 if nox_env_exists(session) else BUILD_S)

    def run() -> dict:
        folder = OUT / FOLDER / dimension / key
        log = folder / "deploy.log"
        if (folder / "request.json").exists():
            (folder / "request.json").unlink()
        child_env = {"FLASK_IDIOMS_OUT": str(folder), "QUICK": "1", "UV_PYTHON_DOWNLOADS": "never",
                     "VARIANTS": ",".join(v.name for v in variants), **request_settings(opts.cfg), **env()}
        timeout = TIMEOUT_FACTOR * expected
        code, seconds = run_child([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", session,
                                   "--reuse-venv", "yes"], child_env, log, timeout)
        more = {"seconds": seconds, "results": relative(folder), **(extra or {})}
        if code is None:
            return failed(f"timed out after {timeout:.0f} s; stopped (log: {relative(log)})", **more)
        if code != 0:
            return failed(f"{last_error(log)} (nox session {session}, exit {code}; log: {relative(log)})", **more)
        try:
            entry = from_request(folder)
        except (ValueError, KeyError, TypeError) as e:
            return failed(f"{e} (log: {relative(log)})", **more)
        return {**entry, "detail": f"{entry['detail']}, {opts.cfg.request_workers} workers x "
                                   f"{opts.cfg.request_seconds:g} s", **more}

    return Item(dimension, key, expected, run, variants=[v.name for v in variants], settings=request_settings(opts.cfg))


def request_settings(cfg: Config) -> dict:
    """bench.request's options for an in-process item of this mode (its quick mode, with the mode's workers)."""
    return {"REQUEST_WORKERS": str(cfg.request_workers), "REQUEST_SECONDS": f"{cfg.request_seconds:g}"}


def from_counts(folder: Path) -> dict:
    """A Python's instruction counts from its ``counts.json`` (bench.counts): per idiom and class the
    instructions per request and the Δ% against jsonify_tuple on the same class."""
    found = read_optional(folder / "counts.json")
    if not isinstance(found, dict) or "variants" not in found:
        raise ValueError(f"no counts.json in {relative(folder)}")
    if found.get("status") == "skipped":
        return skipped(found.get("detail") or found.get("reason") or "bench.counts skipped", kind="counts")
    variants = {name: {cls: {"instructions": cell.get("instructions"), "delta_pct": cell.get("delta_pct")}
                       for cls, cell in by_class.items()} for name, by_class in (found.get("variants") or {}).items()}
    problems = found.get("problems") or []
    return {"status": "ok" if found.get("status") == "ok" else "failed", "variants": variants,
            "mode": found.get("mode"), "classes": found.get("classes"),
            "detail": f"valgrind cachegrind, bench.counts {found.get('mode')} mode"
                      + (f"; {len(problems)} problem(s): {problems[0]}" if problems else "")}


def counts_item(opts: Options, version: str, interpreter: str) -> Item:
    """The instruction counts (``bench.counts``, valgrind) in the same environment as the Python's whole-request
    item (``request_python-3.X -- count``); skipped, with how to get it, where valgrind is not installed."""
    from bench.count_plan import INSTALL_HINT

    session = f"request_python-{version}"
    expected = opts.cfg.count_s + (0 if nox_env_exists(session) else BUILD_S)
    names = [v.name for v in opts.counted_variants]

    def run() -> dict:
        if shutil.which("valgrind") is None:
            return skipped(f"valgrind is not installed ({INSTALL_HINT})")
        folder = OUT / FOLDER / "counts" / version
        log = folder / "deploy.log"
        if (folder / "counts.json").exists():
            (folder / "counts.json").unlink()
        child_env = {"FLASK_IDIOMS_OUT": str(folder), "QUICK": "1", "UV_PYTHON_DOWNLOADS": "never", "COUNT_SIZES": "0",
                     "VARIANTS": ",".join(names), **on_path(version, interpreter)}  # the status classes, not the payload sizes
        timeout = TIMEOUT_FACTOR * expected
        code, seconds = run_child([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", session,
                                   "--reuse-venv", "yes", "--", "count"], child_env, log, timeout)
        more = {"seconds": seconds, "results": relative(folder)}
        if code is None:
            return failed(f"timed out after {timeout:.0f} s; stopped (log: {relative(log)})", **more)
        try:
            entry = from_counts(folder)
        except (ValueError, KeyError, TypeError) as e:
            return failed(f"{last_error(log) if code else e} (nox session {session} -- count, exit {code}; "
                          f"log: {relative(log)})", **more)
        return {**entry, **more}

    return Item("pythons", version, expected, run, part="counts", variants=names)


def nox_env_exists(session: str) -> bool:
    return (ROOT / ".nox" / re.sub(r"[^\w]+", "-", session).strip("-")).is_dir()


def on_path(version: str, interpreter: str | None) -> dict:
    """PATH with ``interpreter`` first as ``python3.X`` (nox finds interpreters by that name); {} for None."""
    if not interpreter:
        return {}
    # one folder per interpreter: an environment built from it keeps pointing at it when PYTHONS names another
    shim = ROOT / ".nox" / "deploy-pythons" / hashlib.sha256(interpreter.encode()).hexdigest()[:12]
    shim.mkdir(parents=True, exist_ok=True)
    link = shim / f"python{version}"
    if not link.is_symlink() or os.readlink(link) != interpreter:
        link.unlink(missing_ok=True)
        link.symlink_to(interpreter)
    return {"PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def python_item(opts: Options, version: str, interpreter: str) -> Item:
    return nox_item(opts, "pythons", version, f"request_python-{version}", lambda: on_path(version, interpreter),
                    opts.variants, {"interpreter": interpreter})


def flask_release_item(opts: Options, release: str) -> tuple:
    """(item, variants left out): idioms whose min_flask is newer than the release are not run there."""
    from harness.matrix import version_key

    runs = [v for v in opts.variants if version_key(v.min_flask) <= version_key(release)]
    left_out = {v.name: f"needs Flask {v.min_flask} (registry min_flask)" for v in opts.variants if v not in runs}
    def env():  # request_flask runs on noxfile.PYTHON
        return on_path(REFERENCE_PYTHON, opts.pythons.get(REFERENCE_PYTHON))

    return nox_item(opts, "flask", release, f"request_flask({release})", env, runs,
                    {"skipped_variants": left_out} if left_out else None), left_out


def same_environment(result: dict, pins: dict):
    """The Python 3.11 entry of this run when its environment has exactly ``pins`` (the newest release's pins
    are the lock's): the same environment, measured once; else None."""
    entry = result["pythons"].get(REFERENCE_PYTHON) or {}
    if entry.get("status") != "ok" or not entry.get("results"):
        return None
    found = read_optional(OUT / entry["results"] / "request.json") or {}
    packages = (found.get("environment") or {}).get("packages") or {}
    if all(packages.get(name) == version for name, version in pins.items()):
        entry = {k: v for k, v in entry.items() if k not in ("counts", "ci_target", "agreement")}
        return {**entry, "detail": f"{entry['detail']}; the same environment as Python {REFERENCE_PYTHON} "
                                   f"(the lock pins exactly this release's versions), measured once"}
    return None


def plan(opts: Options, result: dict) -> list:
    """The items to run, in order; the Pythons not found are recorded as skipped at once."""
    items = []
    if "servers" in opts.dimensions:
        result["servers"] = {}
        items += [server_item(opts, name) for name in opts.servers]
    later, counts = [], []  # the other Pythons run after the Flask releases (the newest release may reuse 3.11's
    # run); the instruction counts last (deterministic: the timings come first when the budget runs short)
    if "pythons" in opts.dimensions:
        result["pythons"] = {}
        for version, interpreter in opts.pythons.items():
            if interpreter is None:
                result["pythons"][version] = skipped(
                    f"no CPython {version} found (PYTHONS, python{version} on PATH, ~/.pyenv/versions/*/bin)")
            else:
                (items if version == REFERENCE_PYTHON else later).append(python_item(opts, version, interpreter))
                if opts.counted_variants:
                    counts.append(counts_item(opts, version, interpreter))
    if "flask" in opts.dimensions:
        from harness.matrix import load_pins

        result["flask"] = {}
        for release in opts.flask:
            item = flask_release_item(opts, release)[0]
            measure, pins = item.run, load_pins().PINS[release]

            def run(measure=measure, pins=pins, runs_pythons="pythons" in opts.dimensions):
                return (runs_pythons and same_environment(result, pins)) or measure()

            item.run = run
            if "pythons" in opts.dimensions and release == max(load_pins().PINS, key=lambda v: tuple(map(int, v.split(".")))):
                item.expected_s = 1.0  # most likely the Python 3.11 environment, already measured
            items.append(item)
    # the reference Python's counts first, then the newest Pythons (3.12 and 3.13 changed frames and exceptions most)
    counts.sort(key=lambda i: (i.key != REFERENCE_PYTHON, [-int(x) for x in i.key.split(".")]))
    return items + later + counts


# ------------------------------------------------------------------------------------------ the run
def read_earlier() -> dict:
    """The deploy.json an earlier run left (any state: finished, interrupted, partly failed), if of this schema."""
    earlier = read_optional(OUT / FILE)
    return earlier if isinstance(earlier, dict) and earlier.get("schema") == SCHEMA else {}


def new_result(cfg: Config, earlier: dict | None = None) -> dict:
    """A new deploy.json: the dimensions this run does not measure are kept from ``earlier`` as they were."""
    keep = read_earlier() if earlier is None else earlier
    return {"schema": SCHEMA, "status": "incomplete", "mode": cfg.mode,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_s": 0.0,
            "budget_s": cfg.budget_s, **{d: keep.get(d) or {} for d in DIMENSIONS}, "references": {},
            "taken_over": [], "pending": [], "targets": {}, "environment": environment(cfg.mode)}


def store(result: dict, item: Item, entry: dict) -> None:
    if item.part:
        owner = result[item.dimension].get(item.key) or skipped("not measured in this run")
        result[item.dimension][item.key] = {**owner, item.part: entry}
    else:
        result[item.dimension][item.key] = entry


def run_items(items: list, result: dict, budget_s: float, save, stream=None, now=time.monotonic,
              measured: dict | None = None) -> None:
    """Run every item in order within ``budget_s``; an item expected to end past it is skipped, a crash in
    one is recorded as its failure and the next one runs. Each entry measured here records ``measured``
    (commit, lock, mode: see ``take_over``) and its idioms; ``result["pending"]`` lists the items not yet done,
    so an interrupted run's deploy.json says what it did not finish."""
    started = now()
    result["pending"] = [i.label for i in items]
    with Progress("deploy", len(items), every_s=0, stream=stream) as progress:
        for i, item in enumerate(items, 1):
            elapsed = now() - started
            left = sum(x.expected_s for x in items[i - 1:])
            print(f"deploy {i}/{len(items)}: {item.label}{' (taken over from an earlier run)' if item.taken_over else ''}"
                  f"; {clock(elapsed)} elapsed, ~{clock(left)} left", file=stream or sys.stdout, flush=True)
            if elapsed + item.expected_s > budget_s:
                entry = skipped(f"not run: the {budget_s:.0f} s budget would be exceeded "
                                f"({elapsed:.0f} s elapsed, ~{item.expected_s:.0f} s needed)")
            else:
                try:
                    entry = item.run()
                except (OSError, ValueError, UsageError) as e:
                    entry = failed(f"{type(e).__name__}: {e}")
                if measured is not None and not item.taken_over and entry.get("status") == "ok" \
                        and "measured" not in entry:
                    entry = {**entry, "measured": {**measured, "variants": list(item.variants), "settings": item.settings}}
            store(result, item, entry)
            result["pending"].remove(item.label)
            save()
            progress.step(note=f"{item.label}: {entry['status']}")


def summarise(result: dict) -> None:
    result["references"] = references(result)
    for dimension in DIMENSIONS:
        compare_dimension(result[dimension], result["references"][dimension])
    result["targets"] = targets(result, result.get("budget_s") or 0.0)


def counts_line(version: str, counts: dict) -> str:
    """One line per Python's counts: the largest Δ% instructions per class, or why there are none."""
    if counts.get("status") != "ok":
        return f"  counts   {version:<18} {counts.get('status')}  {counts.get('detail', '')}"
    worst = {}
    for name, by_class in counts["variants"].items():
        for cls, cell in by_class.items():
            if name != "jsonify_tuple" and cell.get("delta_pct") is not None and \
                    abs(cell["delta_pct"]) > abs(worst.get(cls, (None, 0.0))[1]):
                worst[cls] = (name, cell["delta_pct"])
    return (f"  counts   {version:<18} ok       largest Δ instructions: "
            + ", ".join(f"{cls} {name} {pct:+.1f}%" for cls, (name, pct) in worst.items()))


def print_summary(result: dict) -> None:
    from reports.sections.deploy import sentence  # the report's words, in the terminal too

    print(f"\ndeploy: {result['status']} in {result['wall_s']:.0f} s ({result['mode']}, budget {result['budget_s']:.0f} s)")
    if result.get("taken_over"):
        print(f"  taken over from an earlier run (same commit, lock and mode): {', '.join(result['taken_over'])}")
    for dimension in DIMENSIONS:
        for key, e in result[dimension].items():
            cpu = f"{e['request_cpu_us']:.1f} µs/request" if e.get("request_cpu_us") is not None else ""
            hw = f", Δ CI ±{e['ci95_half_width_us']:.2f} µs" if e.get("ci95_half_width_us") is not None else ""
            print(f"  {dimension:<8} {key:<18} {e['status']:<8} {cpu}{hw}"
                  + ("" if e["status"] == "ok" else f"  {e['detail']}"))
        print(f"  -> {sentence(dimension, result[dimension], result['references'].get(dimension)).replace('**', '')}")
        if dimension == "pythons":
            for key, e in result[dimension].items():
                if e.get("counts"):
                    print(counts_line(key, e["counts"]))
    t = result.get("targets") or {}
    wall = t.get("wall_s") or {}
    if wall:
        print(f"  target: wall time {wall['value']:.0f} s <= {wall['target']:.0f} s: {'met' if wall['met'] else 'MISSED'}")
    checked = sum(len(v) for v in (t.get("ci95_half_width") or {}).values())
    if t.get("missed"):
        print(f"  target: typical Δ CI half-width within 2x the reference's: MISSED by {len(t['missed'])} of {checked} "
              f"items checked:")
        for line in t["missed"]:
            print(f"    {line}")
    elif checked:
        print(f"  target: typical Δ CI half-width within 2x the reference's: met on all {checked} items checked")
    if t.get("wide"):
        print(f"  widest cell of a class over 2x the reference's ({len(t['wide'])}; one idiom sets it, by chance too):")
        for line in t["wide"]:
            print(f"    {line}")
    if result.get("pending"):
        print(f"  not finished: {', '.join(result['pending'])}")
    if any("budget would be exceeded" in (e.get("counts") or {}).get("detail", "") for e in result["pythons"].values()):
        again = "make deploy" + (" QUICK=1" if result["mode"] == "quick" else "") + " DEPLOY=pythons"
        print(f"  the counts left out for the budget: `{again}` right after takes the timings over (same commit, "
              f"lock, settings) and counts them")
    print(f"wrote {OUT / FILE}")


@entry_point
def main() -> int:
    opts = options()
    earlier = {} if opts.fresh else read_earlier()
    result = new_result(opts.cfg, read_earlier())
    current = stamp(result["environment"], opts.cfg.mode)
    started = time.monotonic()

    def save():
        result["wall_s"] = round(time.monotonic() - started, 1)
        summarise(result)
        write_json(OUT / FILE, result)

    items = plan(opts, result)
    result["taken_over"] = take_over(items, result, earlier, current)
    found = [v for v, p in opts.pythons.items() if p]
    print(f"make deploy: {opts.cfg.mode}, {len(opts.variants)} variants in process ({opts.cfg.request_workers} workers "
          f"x {opts.cfg.request_seconds:g} s), {len(opts.http_variants)} over HTTP, {len(opts.counted_variants)} counted; "
          + "; ".join(filter(None, [
              f"servers {', '.join(opts.servers)}" if "servers" in opts.dimensions else "",
              f"Pythons {', '.join(found) or 'none found'}" if "pythons" in opts.dimensions else "",
              f"Flask {', '.join(opts.flask)}" if "flask" in opts.dimensions else ""]))
          + f"; {len(items)} items, ~{clock(sum(i.expected_s for i in items))} expected, budget {clock(opts.cfg.budget_s)}",
          flush=True)
    if result["taken_over"]:
        print(f"  taking over {len(result['taken_over'])} item(s) an earlier run finished with the same commit "
              f"({current['git_commit']}), lock and mode: {', '.join(result['taken_over'])} (DEPLOY_FRESH=1 measures "
              f"them again)", flush=True)
    save()
    try:
        run_items(items, result, opts.cfg.budget_s, save, measured={**current, "started": result["started"]})
        result["status"] = "ok"
    finally:
        save()
    print_summary(result)
    bad = [f"{d} {k}" for d in opts.dimensions for k, e in result[d].items()
           if e["status"] == "failed" or (e.get("counts") or {}).get("status") == "failed"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
