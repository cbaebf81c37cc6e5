"""``make deploy``: does the answer hold where you deploy? Servers, Python versions, Flask releases.

Three dimensions, each an existing stage run again elsewhere, as a child process in its own process
group with its own results folder below ``reports/out/deploy/`` (``FLASK_IDIOMS_OUT``):

- **servers**: the HTTP load stage (``python -m loadtests.run``, ``LOAD_SERVER=<name>``) under every
  entry of ``loadtests.servers.SERVERS`` (gunicorn sync and gthread, waitress, granian's WSGI
  interface), one server pinned to one core, on 127.0.0.1. Per server: its CPU per request, each
  idiom's Δ µs per status class against ``jsonify_tuple`` and its share of the request. A server that
  does not install or start is recorded as failed, with the reason, and the others still run.
- **pythons**: the whole request in process (``python -m bench.request``) in nox's
  ``request_python-3.X`` environment (the lock's versions for that Python) for every CPython
  3.9-3.13 found: in ``PYTHONS=/path/to/python,...``, then ``python3.X`` on PATH (a pyenv shim that
  is not selected fails and does not count), then ``~/.pyenv/versions/*/bin/python3.X``. One not
  found is ``skipped``.
- **flask**: the same whole-request stage in ``request_flask(X.Y.Z)`` (Python 3.11, the matrix's pins
  of that release from noxfile.PINS); an idiom whose registry ``min_flask`` is newer than the
  release is skipped there, not failed.

Each item's verdicts are compared with its dimension's reference (gunicorn_sync, Python 3.11, the
newest Flask release): where both are definite (cheaper, dearer, equivalent) and differ, the order
changed there. Nothing here is part of ``make bench``; the report shows ``deploy.json`` when it exists.

Options (environment): ``QUICK=1`` (five idioms unless VARIANTS names others, short load runs, a 5-minute
budget; a full run: every idiom, longer load runs, 20 minutes); ``VARIANTS=a,b``; ``DEPLOY=servers,pythons,flask`` (the
dimensions to run; the others' earlier results are kept); ``DEPLOY_SERVERS=a,b``; ``PYTHONS=...``;
``DEPLOY_FLASK=2.0,3.1`` (releases or series; default 2.0, 2.3 and 3.1 quick, every release from 2.0
full). The run is bounded: items that would not finish within the mode's budget are skipped with that
reason, an item that outlives its time limit is stopped (its whole group) and failed. Writes
``reports/out/deploy.json`` (``harness.schemas.deploy.Deploy``) after every item.
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

SCHEMA = "flask-json-idioms/deploy/1"
FILE = "deploy.json"
FOLDER = "deploy"
DIMENSIONS = ("servers", "pythons", "flask")
SUPPORTED = ("3.9", "3.10", "3.11", "3.12", "3.13")
REFERENCE_PYTHON = "3.11"
REFERENCE_SERVER = "gunicorn_sync"
DEFINITE = ("cheaper", "dearer", "equivalent")
STOP_GRACE_S = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
TIMEOUT_FACTOR = 3.0
SETTINGS_LEFT_OUT = ("app", "server", "bind", "cpu", "socket")  # of a server's recorded settings, in its detail line
BUILD_S = 15.0  # an environment built for the first time (uv with a warm cache: ~5 s; a cold one downloads)


@dataclass(frozen=True)
class Config:
    mode: str
    budget_s: float  # the whole run
    load_seconds: int  # LOAD_SECONDS of each locust run
    load_processes: int  # LOAD_PROCESSES: paced server processes
    server_s: float  # expected seconds per server
    request_s: float  # expected seconds per in-process item (bench.request in its quick mode)
    flask_series: tuple  # default releases (series)
    default_variants: tuple = ()  # the idioms measured when VARIANTS is not given (empty: all)


# Quick: a few idioms (over HTTP every target and class must fill each time window of a short run, and in
# process fewer subjects leave more of each worker's fixed time to the rounds).
QUICK = Config("quick", 300, 6, 1, 22, 30, ("2.0", "2.3", "3.1"),
               ("jsonify_tuple", "dict_return", "abort_response", "api_exception", "orjson_response"))
FULL = Config("full", 1200, 20, 4, 120, 38, ("2.0", "2.1", "2.2", "2.3", "3.0", "3.1"))


@dataclass
class Options:
    cfg: Config
    variants: list  # registry entries
    dimensions: tuple
    servers: list
    pythons: dict  # version -> interpreter path or None
    flask: list  # pinned releases
    listed: dict = field(default_factory=dict)  # what PYTHONS named


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
    variants = selected_variants(None if os.environ.get("VARIANTS", "").strip() else ",".join(cfg.default_variants))
    dimensions = tuple(_listed("DEPLOY", list(DIMENSIONS), list(DIMENSIONS)))
    servers = _listed("DEPLOY_SERVERS", list(SERVERS), list(SERVERS))
    pinned = sorted(matrix.load_pins().PINS, key=matrix.version_key)
    wanted = os.environ.get("DEPLOY_FLASK", "").strip() or ",".join(cfg.flask_series)
    flask = matrix.select_versions(wanted, pinned)
    if "servers" in dimensions and shutil.which("taskset") is None:
        raise UsageError("taskset not found (Debian package util-linux); the servers are pinned to one core")
    pythons = discover_pythons(os.environ.get("PYTHONS", "")) if {"pythons", "flask"} & set(dimensions) else {}
    return Options(cfg, variants, dimensions, servers, pythons, flask)


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


# ------------------------------------------------------------------------------------ reading results
def _cell(delta: dict, request_us) -> dict:
    cell = {"delta_us": {"estimate": delta.get("estimate"), "ci95": delta.get("ci95"), "verdict": delta.get("verdict")}}
    if request_us and delta.get("estimate") is not None:
        cell["share_pct"] = round(100 * delta["estimate"] / request_us, 2)
    return cell


def from_request(folder: Path) -> dict:
    """An entry from a whole-request run's ``request.json`` (bench.request)."""
    found = read_optional(folder / "request.json")
    if not isinstance(found, dict) or "results" not in found:
        raise ValueError(f"no request.json in {relative(folder)}")
    res = found["results"]
    request_us = {cls: r["estimate"] for cls, r in res["reference_us"].items()}
    variants = {name: {cls: _cell(cell["delta_us"], request_us.get(cls)) for cls, cell in by_class.items()}
                for name, by_class in res["variants"].items()}
    env = found.get("environment") or {}
    packages = env.get("packages") or {}
    return {"status": "ok", "request_cpu_us": round(sum(request_us.values()) / len(request_us), 2),
            "request_us": request_us, "variants": variants,
            "detail": f"Python {env.get('python', '?').split()[0]}, Flask {packages.get('flask', '?')}, "
                      f"Werkzeug {packages.get('werkzeug', '?')}; bench.request {found.get('mode')} mode"}


def from_load(folder: Path, server: str) -> dict:
    """An entry from a load run's ``load.json`` and its headline in ``summary.json`` (loadtests.run)."""
    load = read_optional(folder / "load.json")
    summary = read_optional(folder / "summary.json") or {}
    if not isinstance(load, dict):
        raise ValueError(f"no load.json in {relative(folder)}")
    if load.get("status") != "ok":
        raise ValueError(load.get("error") or f"load run {load.get('status')}")
    request_cpu = load.get("server_request_cpu_us")
    variants = {}
    for name, stages in (summary.get("variants") or {}).items():
        deltas = ((stages or {}).get("load") or {}).get("delta_us")
        if deltas:
            variants[name] = {cls: _cell(d, request_cpu) for cls, d in deltas.items()}
    settings = load.get("gunicorn") or {}
    return {"status": "ok", "request_cpu_us": request_cpu, "variants": variants,
            "detail": f"{server} ({', '.join(f'{k} {v}' for k, v in settings.items() if k not in SETTINGS_LEFT_OUT)}); "
                      f"{load.get('mode')} load, {load.get('primary_shape')} shape"}


def failed(detail: str, **extra) -> dict:
    return {"status": "failed", "detail": detail, "request_cpu_us": None, "variants": {}, **extra}


def skipped(detail: str, **extra) -> dict:
    return {"status": "skipped", "detail": detail, "request_cpu_us": None, "variants": {}, **extra}


# ------------------------------------------------------------------------------------------ comparing
def half_width(entry: dict):
    widths = [(c["delta_us"]["ci95"][1] - c["delta_us"]["ci95"][0]) / 2 for by_class in entry["variants"].values()
              for c in by_class.values() if c["delta_us"].get("ci95") and c["delta_us"]["verdict"] != "reference"]
    return round(max(widths), 3) if widths else None


def agreement(entry: dict, reference: dict, reference_name: str) -> dict:
    """Do the verdicts agree with the reference item's? Compared where both are definite."""
    differences, compared, unresolved = [], 0, 0
    for name, by_class in entry["variants"].items():
        for cls, cell in by_class.items():
            theirs = ((reference["variants"].get(name) or {}).get(cls) or {}).get("delta_us", {}).get("verdict")
            mine = cell["delta_us"]["verdict"]
            if mine == "reference" or theirs is None:
                continue
            if mine in DEFINITE and theirs in DEFINITE:
                compared += 1
                if mine != theirs:
                    differences.append(f"{name} on {cls}: {mine} here, {theirs} on {reference_name}")
            else:
                unresolved += 1
    return {"reference": reference_name, "agree": not differences, "compared": compared, "unresolved": unresolved,
            "differences": differences}


def compare_dimension(entries: dict, reference_name: str | None) -> None:
    """Add each ok entry's agreement with the reference and its CI half-width against 2x the reference's."""
    reference = entries.get(reference_name) if reference_name else None
    if not reference or reference["status"] != "ok":
        return
    limit = half_width(reference)
    for name, entry in entries.items():
        if entry["status"] != "ok":
            continue
        entry["ci95_half_width_us"] = half_width(entry)
        if limit is not None and entry["ci95_half_width_us"] is not None:
            entry["ci_target"] = {"reference_us": limit, "limit_us": round(2 * limit, 3),
                                  "met": entry["ci95_half_width_us"] <= 2 * limit}
        if name != reference_name:
            entry["agreement"] = agreement(entry, reference, reference_name)


def references(result: dict) -> dict:
    flask = [v for v, e in result["flask"].items() if e["status"] == "ok"]
    return {"servers": REFERENCE_SERVER, "pythons": REFERENCE_PYTHON,
            "flask": max(flask, key=lambda v: tuple(map(int, v.split(".")))) if flask else None}


# ------------------------------------------------------------------------------------------ the items
@dataclass
class Item:
    dimension: str
    key: str
    expected_s: float
    run: object  # () -> entry


def server_item(opts: Options, name: str) -> Item:
    def run() -> dict:
        folder = OUT / FOLDER / "servers" / name
        env = {"LOAD_SERVER": name, "FLASK_IDIOMS_OUT": str(folder), "LOAD_SECONDS": str(opts.cfg.load_seconds),
               "VARIANTS": ",".join(v.name for v in opts.variants),
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

    return Item("servers", name, opts.cfg.server_s, run)


def nox_item(opts: Options, dimension: str, key: str, session: str, env, variants: list,
             extra: dict | None = None) -> Item:
    """``env``: () -> the environment the nox session needs beside the results folder (called when it runs)."""
    expected = opts.cfg.request_s + (0 if nox_env_exists(session) else BUILD_S)

    def run() -> dict:
        folder = OUT / FOLDER / dimension / key
        log = folder / "deploy.log"
        if (folder / "request.json").exists():
            (folder / "request.json").unlink()
        child_env = {"FLASK_IDIOMS_OUT": str(folder), "QUICK": "1", "UV_PYTHON_DOWNLOADS": "never", "VARIANTS": ",".join(v.name for v in variants),
                     **env()}
        timeout = TIMEOUT_FACTOR * expected
        code, seconds = run_child([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", session,
                                   "--reuse-venv", "yes"], child_env, log, timeout)
        more = {"seconds": seconds, "results": relative(folder), **(extra or {})}
        if code is None:
            return failed(f"timed out after {timeout:.0f} s; stopped (log: {relative(log)})", **more)
        if code != 0:
            return failed(f"{last_error(log)} (nox session {session}, exit {code}; log: {relative(log)})", **more)
        try:
            return {**from_request(folder), **more}
        except (ValueError, KeyError, TypeError) as e:
            return failed(f"{e} (log: {relative(log)})", **more)

    return Item(dimension, key, expected, run)


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
        return {**entry, "detail": f"{entry['detail']}; the same environment as Python {REFERENCE_PYTHON} "
                                   f"(the lock pins exactly this release's versions), measured once"}
    return None


def plan(opts: Options, result: dict) -> list:
    """The items to run, in order; the Pythons not found are recorded as skipped at once."""
    items = []
    if "servers" in opts.dimensions:
        result["servers"] = {}
        items += [server_item(opts, name) for name in opts.servers]
    later = []  # the other Pythons run after the Flask releases: the newest release may reuse 3.11's run
    if "pythons" in opts.dimensions:
        result["pythons"] = {}
        for version, interpreter in opts.pythons.items():
            if interpreter is None:
                result["pythons"][version] = skipped(
                    f"no CPython {version} found (PYTHONS, python{version} on PATH, ~/.pyenv/versions/*/bin)")
            else:
                (items if version == REFERENCE_PYTHON else later).append(python_item(opts, version, interpreter))
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
    return items + later


# ------------------------------------------------------------------------------------------ the run
def new_result(cfg: Config) -> dict:
    earlier = read_optional(OUT / FILE)
    keep = earlier if isinstance(earlier, dict) and earlier.get("schema") == SCHEMA else {}
    return {"schema": SCHEMA, "status": "incomplete", "mode": cfg.mode,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_s": 0.0,
            "budget_s": cfg.budget_s, **{d: keep.get(d) or {} for d in DIMENSIONS}, "references": {},
            "environment": environment(cfg.mode)}


def run_items(items: list, result: dict, budget_s: float, save, stream=None, now=time.monotonic) -> None:
    """Run every item in order within ``budget_s``; an item expected to end past it is skipped, a crash in
    one is recorded as its failure and the next one runs."""
    started = now()
    with Progress("deploy", len(items), every_s=0, stream=stream) as progress:
        for i, item in enumerate(items, 1):
            elapsed = now() - started
            left = sum(x.expected_s for x in items[i - 1:])
            print(f"deploy {i}/{len(items)}: {item.dimension} {item.key}; {clock(elapsed)} elapsed, "
                  f"~{clock(left)} left", file=stream or sys.stdout, flush=True)
            if elapsed + item.expected_s > budget_s:
                entry = skipped(f"not run: the {budget_s:.0f} s budget would be exceeded "
                                f"({elapsed:.0f} s elapsed, ~{item.expected_s:.0f} s needed)")
            else:
                try:
                    entry = item.run()
                except (OSError, ValueError, UsageError) as e:
                    entry = failed(f"{type(e).__name__}: {e}")
            result[item.dimension][item.key] = entry
            save()
            progress.step(note=f"{item.dimension} {item.key}: {entry['status']}")


def summarise(result: dict) -> None:
    result["references"] = references(result)
    for dimension in DIMENSIONS:
        compare_dimension(result[dimension], result["references"][dimension])


def print_summary(result: dict) -> None:
    from reports.sections.deploy import sentence  # the report's words, in the terminal too

    print(f"\ndeploy: {result['status']} in {result['wall_s']:.0f} s ({result['mode']}, budget {result['budget_s']:.0f} s)")
    for dimension in DIMENSIONS:
        for key, e in result[dimension].items():
            cpu = f"{e['request_cpu_us']:.1f} µs/request" if e.get("request_cpu_us") is not None else ""
            hw = f", Δ CI ±{e['ci95_half_width_us']:.2f} µs" if e.get("ci95_half_width_us") is not None else ""
            print(f"  {dimension:<8} {key:<18} {e['status']:<8} {cpu}{hw}"
                  + ("" if e["status"] == "ok" else f"  {e['detail']}"))
        print(f"  -> {sentence(dimension, result[dimension], result['references'].get(dimension)).replace('**', '')}")
    print(f"wrote {OUT / FILE}")


@entry_point
def main() -> int:
    opts = options()
    result = new_result(opts.cfg)
    started = time.monotonic()

    def save():
        result["wall_s"] = round(time.monotonic() - started, 1)
        summarise(result)
        write_json(OUT / FILE, result)

    items = plan(opts, result)
    found = [v for v, p in opts.pythons.items() if p]
    print(f"make deploy: {opts.cfg.mode}, {len(opts.variants)} variants; "
          + "; ".join(filter(None, [
              f"servers {', '.join(opts.servers)}" if "servers" in opts.dimensions else "",
              f"Pythons {', '.join(found) or 'none found'}" if "pythons" in opts.dimensions else "",
              f"Flask {', '.join(opts.flask)}" if "flask" in opts.dimensions else ""]))
          + f"; {len(items)} items, ~{clock(sum(i.expected_s for i in items))} expected, budget {clock(opts.cfg.budget_s)}",
          flush=True)
    save()
    try:
        run_items(items, result, opts.cfg.budget_s, save)
        result["status"] = "ok"
    finally:
        save()
    print_summary(result)
    bad = [f"{d} {k}" for d in opts.dimensions for k, e in result[d].items() if e["status"] == "failed"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
