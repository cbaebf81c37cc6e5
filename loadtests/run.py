"""``make load``: locust against one gunicorn serving every variant, with server-side timing per request.

One gunicorn sync worker, pinned to one core, serves ``loadtests.mount:create_load_app()``: every
selected variant below ``/<name>``, the floor (a prebuilt werkzeug Response) and the planted pair
(jsonify_tuple with and without a ``PLANTED_US`` busy-wait), each timed by the ``Server-Timing``
middleware. locust (FastHttpUser), pinned to the other core, takes variants and endpoints in a
shuffled cycle, so every idiom is measured under the same machine conditions, request by request.

Two load shapes, one after the other: ``closed`` (as fast as it goes; its throughput sets the pace
of the next) and ``paced`` (``constant_throughput`` at ``PACED_SHARE`` of it, so neither process is
saturated; the primary result). The paced shape runs once per fresh server process (``servers``):
two instances of the same code differ by a few percent with the memory layout a process happens to
get, so one process is one sample of that, and the result is the mean over processes.

Each run is cut into time windows; in every window each target's cost is the mean over the three
endpoints of its median app time (the "mix"), and its ratio to the floor's mix in the same window is
one sample (its ratio to a second jsonify_tuple instance, ``/_reference``, another: idioms move
together when the machine drifts, the floor less so). Estimates are the mean over server processes
of the mean over their windows, with hierarchical bootstrap CIs (processes, then windows within
each), so a drift of the machine's speed cancels in the ratios, and drift and layout widen the CIs
rather than biasing the estimates.

Options (environment, as ``make load QUICK=1 VARIANTS=a,b``):
  QUICK=1             short runs (<= 60 s in all)
  VARIANTS=a,b        a subset of the registry
  LOAD_LAYOUT=...     ``interleaved`` (default) or ``per-variant`` (one server per variant, one after
                      another: only meaningful on quiet, dedicated hardware; drift is reported)
  LOAD_SECONDS=N      seconds of every locust run (each shape's, each server's, each variant's in the
                      per-variant layout), instead of the mode's
  LOAD_USERS=N        locust users (default 16)
  LOCUST_WORKERS=N    N locust worker processes on 127.0.0.1 under a master (locust's distributed mode)
  LOAD_PORT=N         the server's port (default: a free one)

Writes ``reports/out/load.json`` (after every finished shape, atomically), locust's own CSV and
HTML report per shape in ``reports/out/load/``, and merges ``variants.<name>.load``,
``baselines.floor.load``, ``load_run`` and ``calibration.load`` into ``reports/out/summary.json``.
Every process it starts runs in its own process group and is stopped on exit, failure or Ctrl-C.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness.cli import UsageError, entry_point, flag, selected_variants
from harness.environment import CpuSnapshot, environment, process_cpu_seconds
from harness.results import OUT, ROOT, merge_summary, read_json, write_json
from loadtests.mount import FLOOR, PLANTED, PLANTED_IDIOM, PLANTED_REFERENCE, PLANTED_US, REFERENCE
from loadtests.server import (HOST, ServerError, group_pids, gunicorn, listening_socket, pinned,
                              require_loopback, rss_bytes, stop)

LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
PACED_SHARE = 0.6
PROGRESS_EVERY_S = 5.0
SATURATED = 0.9  # a process using this share of its core or more is the bottleneck
SHAPES = ("closed", "paced")
PRIMARY = "paced"
BOOTSTRAP = 2000
NAMES = {FLOOR: "floor", PLANTED: "planted", PLANTED_REFERENCE: "planted_reference", REFERENCE: "reference"}


@dataclass(frozen=True)
class Config:
    mode: str
    seconds: dict  # per shape: the length of each locust run
    servers: dict  # per shape: server processes, one run each (each process has its own memory layout)
    warmup_s: float  # discarded at the start of every run
    per_variant_s: float
    target_ci_pct: float
    target_planted_pct: float
    target_wall_s: float
    users: int = 16
    workers: int = 0
    layout: str = "interleaved"
    port: int = 0


QUICK = Config("quick", {"closed": 10, "paced": 12}, {"closed": 1, "paced": 2}, 2, 5, 5.0, 25.0, 60)
FULL = Config("full", {"closed": 40, "paced": 20}, {"closed": 1, "paced": 6}, 3, 15, 2.0, 10.0, 240)


def windows_for(seconds: float) -> int:
    """Time windows per run: about 2.5 s each, at least 5."""
    return max(5, int(seconds // 2.5))


def _number(name: str, kind, low, high):
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r}: expected a {kind.__name__}") from None
    if not low <= value <= high:
        raise UsageError(f"{name}={raw!r}: expected {low} to {high}")
    return value


def options() -> tuple:
    cfg = QUICK if flag("QUICK") else FULL
    variants = selected_variants()
    layout = os.environ.get("LOAD_LAYOUT", "").strip() or "interleaved"
    if layout not in ("interleaved", "per-variant"):
        raise UsageError(f"LOAD_LAYOUT={layout!r}: expected interleaved or per-variant")
    seconds = _number("LOAD_SECONDS", float, 3, 3600)
    if seconds is not None:  # the length of every locust run
        cfg = replace(cfg, seconds={s: seconds for s in SHAPES}, per_variant_s=seconds)
    users = _number("LOAD_USERS", int, 1, 1000)
    workers = _number("LOCUST_WORKERS", int, 0, 64)
    port = _number("LOAD_PORT", int, 0, 65535)
    cfg = replace(cfg, layout=layout, users=users or cfg.users, workers=workers or 0, port=port or 0)
    if shutil.which("locust", path=os.path.dirname(sys.executable)) is None:
        raise UsageError("locust is not installed in this environment; run make install")
    return cfg, variants


def cores() -> tuple:
    """(server core, load generator core), or (None, None) where there are fewer than two."""
    available = sorted(os.sched_getaffinity(0))
    return (available[0], available[1]) if len(available) >= 2 else (None, None)


# ---------------------------------------------------------------------------------------- locust
class Locust:
    """locust headless (a lone process, or a master and N workers), each in its own process group."""

    def __init__(self, cfg: Config, url: str, targets: list, shape: str, seconds: float, rate: float,
                 out: Path, cpu: int | None):
        self.samples = out / f"{shape}_samples.json"
        self.csv, self.html = out / shape, out / f"{shape}.html"
        env = {**os.environ, "LOAD_TARGETS": ",".join(targets), "LOAD_RATE": f"{rate:.3f}" if rate else "",
               "LOAD_SAMPLES": str(self.samples), "PYTHONUNBUFFERED": "1"}
        locust = [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE)]
        main = [*locust, "--headless", "-u", str(cfg.users), "-r", str(cfg.users), "-t", f"{seconds:.0f}s",
                "--host", require_loopback(url), "--csv", str(self.csv), "--html", str(self.html),
                "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
        self.log = out / f"{shape}_locust.log"
        self.processes = []
        log = open(self.log, "w")
        try:
            if cfg.workers:
                sock = listening_socket(0)  # a free port for the master, on loopback
                port = sock.getsockname()[1]
                sock.close()
                main += ["--master", "--master-bind-host", HOST, "--master-bind-port", str(port),
                         "--expect-workers", str(cfg.workers), "--expect-workers-max-wait", "20"]
                self._start(pinned(main, cpu), env, log)
                for _ in range(cfg.workers):
                    self._start(pinned([*locust, "--worker", "--master-host", HOST, "--master-port", str(port),
                                        "--loglevel", "WARNING"], cpu), env, log)
            else:
                self._start(pinned(main, cpu), env, log)
        except BaseException:
            self.stop()
            raise
        finally:
            log.close()

    def _start(self, command, env, log):
        self.processes.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=log, start_new_session=True, cwd=ROOT))

    @property
    def master(self) -> subprocess.Popen:
        return self.processes[0]

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(p.pid) or 0.0 for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            stop(process)

    def log_tail(self, lines: int = 3) -> str:
        try:
            return " | ".join(x.strip() for x in self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def cpu_of(pgid: int) -> float:
    return sum(process_cpu_seconds(pid) or 0.0 for pid in group_pids(pgid))


def run_locust(cfg: Config, server, targets: list, shape: str, seconds: float, rate: float, out: Path,
               cpu: int | None, after_s: float = 0.0) -> dict:
    """One bounded locust run against ``server``; the raw samples and what the processes used.
    Prints progress every few seconds (``after_s``: the seconds of runs still to come after this one)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / f"{shape}_samples.json", out / f"{shape}_stats.csv"):
        stale.unlink(missing_ok=True)
    locust = Locust(cfg, server.url, targets, shape, seconds, rate, out, cpu)
    started = time.monotonic()
    deadline = started + seconds + 30 + 10 * cfg.workers  # start-up, stop and writing, bounded
    marks, rss, shown = {}, [], 0.0
    server_pgid = server.process.pid
    try:
        while locust.master.poll() is None:
            now = time.monotonic() - started
            if not server.alive():
                raise ServerError(f"the server died during the {shape} run (exit code "
                                  f"{server.process.returncode}); log: {server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerError(f"locust did not finish the {shape} run within {deadline - started:.0f} s; "
                                  f"log: {locust.log_tail()}")
            for mark, at in (("from", min(cfg.warmup_s, seconds / 4)), ("to", seconds - 0.5)):
                if mark not in marks and now >= at:
                    marks[mark] = (time.time(), CpuSnapshot.now(), locust.cpu_seconds(), cpu_of(server_pgid))
            if "from" in marks and "to" not in marks:
                pids = [p for p in group_pids(server_pgid) if p != server_pgid] or [server_pgid]
                rss.append(sum(rss_bytes(p) or 0 for p in pids))
            if now - shown >= PROGRESS_EVERY_S:
                shown = now
                print(f"  {shape}: {min(now, seconds):.0f}/{seconds:.0f} s, ~{max(seconds - now, 0) + after_s:.0f} s "
                      f"left; generator {locust.cpu_seconds() / max(now, 1e-3):.0%} of a core", flush=True)
            time.sleep(0.5)
    finally:
        locust.stop()
    if locust.master.returncode != 0:
        raise ServerError(f"locust exited with code {locust.master.returncode} in the {shape} run; "
                          f"log: {locust.log_tail()}")
    if "to" not in marks or not locust.samples.exists():
        raise ServerError(f"the {shape} run ended early, without samples; log: {locust.log_tail()}")
    (t0, cpu0, gen0, srv0), (t1, cpu1, gen1, srv1) = marks["from"], marks["to"]
    wall = t1 - t0
    return {"samples": read_json(locust.samples), "from": t0, "to": t1, "seconds": seconds,
            "generator_cpu": round((gen1 - gen0) / wall, 3), "server_cpu": round((srv1 - srv0) / wall, 3),
            "server_cpu_s": srv1 - srv0, "steal_fraction": cpu1.since(cpu0)["steal_fraction"],
            "rss_bytes": rss, "stats": locust_stats(Path(f"{locust.csv}_stats.csv")),
            "files": [str(p.relative_to(OUT)) for p in (Path(f"{locust.csv}_stats.csv"), locust.html,
                                                       Path(f"{locust.csv}_failures.csv")) if p.exists()]}


def locust_stats(path: Path) -> dict:
    """locust's own per-name counts and (bucketed) latency percentiles, from its CSV."""
    found = {}
    if path.exists():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["Name"] != "Aggregated":
                    found[row["Name"]] = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                          "rps": float(row["Requests/s"]), "p50_ms": float(row["50%"] or 0),
                                          "p95_ms": float(row["95%"] or 0), "p99_ms": float(row["99%"] or 0)}
    return found


# -------------------------------------------------------------------------------------- analysis
def block_median_ci(values, window_of, windows: int, rng) -> list:
    """CI95 of the median of ``values`` by resampling whole time windows (a block bootstrap: it keeps
    the drift within a window together, where resampling single requests would hide it)."""
    groups = [values[window_of == w] for w in range(windows)]
    groups = [g for g in groups if len(g)]
    picks = rng.integers(0, len(groups), size=(BOOTSTRAP, len(groups)))
    medians = np.array([np.median(np.concatenate([groups[i] for i in row])) for row in picks])
    return [float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))]


def hierarchical_mean_ci(groups: list, rng) -> list:
    """CI95 of the mean over groups (server processes) of each group's mean (over its windows): resample
    the groups, then the windows within each, so both the drift within a server and the differences
    between server processes (memory layout) are in the interval."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if not groups:
        return [None, None]
    inner = np.array([g[rng.integers(0, len(g), size=(BOOTSTRAP, len(g)))].mean(axis=1) for g in groups])
    outer = rng.integers(0, len(groups), size=(BOOTSTRAP, len(groups)))
    means = inner[outer, np.arange(BOOTSTRAP)[:, None]].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def per_server(values, server, servers: int) -> list:
    return [values[server == k] for k in range(servers)]


def analyse(runs: list, windows: int, rng, conforming: set) -> dict:
    """Per target: server-side time, ratio to the floor, latency; calibration; shares of request time.
    ``runs``: one locust run per server process, ``windows`` time windows each."""
    s = runs[0]["samples"]
    targets, scenarios = s["targets"], s["scenarios"]
    parts = []
    for k, run in enumerate(runs):
        data = np.array(run["samples"]["samples"], dtype=float).reshape(-1, 6)
        data = data[(data[:, 0] >= run["from"]) & (data[:, 0] <= run["to"])]
        local = np.minimum(((data[:, 0] - run["from"]) / (run["to"] - run["from"]) * windows).astype(int), windows - 1)
        parts.append(np.column_stack([data, local + k * windows]))
    data = np.concatenate(parts)
    if not len(data):
        raise ServerError("no request was answered inside the measured window")
    t, target, scenario, app, cpu, response, window = data.T
    window = window.astype(int)
    windows *= len(runs)
    window_server = np.arange(windows) // (windows // len(runs))
    # mix[target, window]: mean over endpoints of the median app time in that window
    mix = np.full((len(targets), windows), np.nan)
    cpu_mix = np.full(len(targets), np.nan)
    for i in range(len(targets)):
        mine = target == i
        per_scenario = []
        for k in range(len(scenarios)):
            cell = mine & (scenario == k)
            per_scenario.append([np.median(app[cell & (window == w)]) if np.any(cell & (window == w)) else np.nan
                                 for w in range(windows)])
        mix[i] = np.mean(per_scenario, axis=0)
        cpu_mix[i] = np.mean([np.median(cpu[mine & (scenario == k)]) for k in range(len(scenarios))])
    complete = ~np.any(np.isnan(mix), axis=0)
    if complete.sum() < 3:
        raise ServerError(f"too few requests: only {complete.sum()} of {windows} windows saw every target and endpoint")
    mix, window_server = mix[:, complete], window_server[complete]
    servers = len(runs)

    def estimate(per_window) -> tuple:
        """(mean over servers of the mean over their windows, CI95)"""
        groups = per_server(per_window, window_server, servers)
        return float(np.mean([g.mean() for g in groups if len(g)])), hierarchical_mean_ci(groups, rng)
    floor = targets.index(FLOOR)
    reference = targets.index(REFERENCE) if REFERENCE in targets else floor
    requests_in_window = len(data)
    request_cpu_us = sum(r["server_cpu_s"] for r in runs) * 1e6 / requests_in_window
    stats = {}
    for run in runs:  # locust's counts per request name, summed over the runs
        for key, v in run["stats"].items():
            into = stats.setdefault(key, {"requests": 0, "failures": 0, "rps": 0.0, "p50_ms": 0, "p95_ms": 0, "p99_ms": 0})
            into["requests"] += v["requests"]
            into["failures"] += v["failures"]
            into["rps"] += v["rps"] / len(runs)
            for q in ("p50_ms", "p95_ms", "p99_ms"):
                into[q] = max(into[q], v[q])
    best = min((cpu_mix[i] for i, n in enumerate(targets) if n in conforming), default=np.nan)
    found = {}
    for i, name in enumerate(targets):
        mine = target == i
        ratio, ratio_ci = estimate(mix[i] / mix[floor])
        relative, relative_ci = estimate(mix[i] / mix[reference])
        ci = block_median_ci(app[mine], window[mine], windows, rng)
        p50 = float(np.median(app[mine]))
        stat = [v for k, v in stats.items() if k.rsplit(" ", 1)[0] == name]
        found[NAMES.get(name, name)] = {
            "requests": sum(v["requests"] for v in stat), "failures": sum(v["failures"] for v in stat),
            "rps": round(sum(v["rps"] for v in stat), 1),
            "server_us": {"p50": round(p50, 2), "p90": round(float(np.percentile(app[mine], 90)), 2),
                          "p99": round(float(np.percentile(app[mine], 99)), 2), "ci95": [round(x, 2) for x in ci],
                          "ci_half_width_pct": round(100 * (ci[1] - ci[0]) / 2 / p50, 2), "mix": round(float(mix[i].mean()), 2)},
            "server_cpu_us": {"p50": round(float(np.median(cpu[mine])), 2), "mix": round(float(cpu_mix[i]), 2)},
            "ratio_to_floor": {"estimate": round(ratio, 4), "ci95": [round(x, 4) for x in ratio_ci]},
            "ratio_to_reference": {"reference": PLANTED_IDIOM if reference != floor else "floor",
                                   "estimate": round(relative, 4), "ci95": [round(x, 4) for x in relative_ci]},
            "latency_ms": {q: round(float(np.percentile(response[mine], p)), 3)
                           for q, p in (("p50", 50), ("p95", 95), ("p99", 99))},
            "locust_latency_ms": {q: max((v[f"{q}_ms"] for v in stat), default=None) for q in ("p50", "p95", "p99")},
            "share_of_request": {"app_pct": round(100 * float(cpu_mix[i]) / request_cpu_us, 2),
                                 "idiom_delta_pct": round(100 * float(cpu_mix[i] - best) / request_cpu_us, 2)},
        }
    ranked = sorted((n for n in found if n not in NAMES.values()), key=lambda n: found[n]["ratio_to_floor"]["estimate"])
    for rank, name in enumerate(ranked, 1):
        found[name]["rank"] = rank
    calibration = None
    if PLANTED in targets and PLANTED_REFERENCE in targets:
        measured, ci = estimate(mix[targets.index(PLANTED)] - mix[targets.index(PLANTED_REFERENCE)])
        calibration = {"planted_us": PLANTED_US, "measured_us": round(measured, 2),
                       "ci95": [round(x, 2) for x in ci],
                       "error_pct": round(100 * (measured - PLANTED_US) / PLANTED_US, 1)}
        if PLANTED_IDIOM in targets and REFERENCE in targets:  # A/A: the same code in two app instances
            aa, aa_ci = estimate(mix[targets.index(PLANTED_IDIOM)] - mix[targets.index(REFERENCE)])
            calibration["aa"] = {"what": f"{PLANTED_IDIOM} against a second instance of itself",
                                 "diff_us": round(aa, 2), "ci95": [round(x, 2) for x in aa_ci],
                                 "pct": round(100 * aa / float(mix[targets.index(REFERENCE)].mean()), 2),
                                 "per_server_pct": [round(100 * float(g.mean() / r.mean()), 2) for g, r in zip(
                                     per_server(mix[targets.index(PLANTED_IDIOM)] - mix[targets.index(REFERENCE)],
                                                window_server, servers),
                                     per_server(mix[targets.index(REFERENCE)], window_server, servers)) if len(g)]}
    return {"targets": found, "calibration": calibration, "windows_used": int(complete.sum()), "servers": servers,
            "requests_measured": requests_in_window, "server_request_cpu_us": round(request_cpu_us, 1),
            "rss": max((rss_growth(r["rss_bytes"]) for r in runs), key=lambda g: g["growth_pct"] or 0),
            "window_mix_us": {NAMES.get(n, n): [round(float(x), 2) for x in mix[i]] for i, n in enumerate(targets)}}


def rss_growth(rss: list) -> dict:
    """Server memory in the first and last quarter of one run (one server process)."""
    q = max(len(rss) // 4, 1)
    return {"first_quarter_mb": round(float(np.mean(rss[:q])) / 2**20, 2) if rss else None,
            "last_quarter_mb": round(float(np.mean(rss[-q:])) / 2**20, 2) if rss else None,
            "growth_pct": round(100 * (np.mean(rss[-q:]) / np.mean(rss[:q]) - 1), 2) if rss else None}


def bottleneck(generator: float, server: float, workers: int) -> dict:
    gen_busy, srv_busy = generator >= SATURATED, server >= SATURATED
    verdict = ("both" if gen_busy and srv_busy else "load generator" if gen_busy else "server" if srv_busy
               else "neither")
    detail = (f"load generator used {generator:.0%} of its core{f' ({workers} workers)' if workers else ''}, "
              f"the server {server:.0%} of its core")
    if verdict == "load generator":
        detail += ": locust, not the server, set the throughput; server-side times are unaffected"
    return {"verdict": verdict, "detail": detail}


# -------------------------------------------------------------------------------------- the runs
def shape_result(shape: str, cfg: Config, runs: list, analysis: dict, rate: float) -> dict:
    requests = sum(t["requests"] for t in analysis["targets"].values())
    measured = sum(r["to"] - r["from"] for r in runs)

    def mean(key):  # over the runs, weighted by their measured time
        return round(sum(r[key] * (r["to"] - r["from"]) for r in runs) / measured, 4)

    generator, server = mean("generator_cpu"), mean("server_cpu")
    return {"status": "ok", "duration_s": sum(r["seconds"] for r in runs), "measured_s": round(measured, 1),
            "servers": len(runs), "users": cfg.users, "rate_per_user": round(rate, 3) if rate else None,
            "rps": round(analysis["requests_measured"] / measured, 1), "requests": requests,
            "failures": sum(t["failures"] for t in analysis["targets"].values()),
            "generator_cpu": generator, "server_cpu": server, "steal_fraction": mean("steal_fraction"),
            "bottleneck": bottleneck(generator, server, cfg.workers),
            "server_request_cpu_us": analysis["server_request_cpu_us"], "rss": analysis["rss"],
            "windows_used": analysis["windows_used"], "files": [f for r in runs for f in r["files"]],
            "targets": analysis["targets"], "calibration": analysis["calibration"],
            "window_mix_us": analysis["window_mix_us"]}


def interleaved(cfg: Config, names: list, conforming: set, rng, result: dict, save) -> None:
    server_core, generator_core = cores()
    targets = [*names, FLOOR, PLANTED, PLANTED_REFERENCE, REFERENCE]
    out = OUT / "load"
    total_s = sum(cfg.seconds[s] * cfg.servers[s] for s in SHAPES)
    print(f"make load: {cfg.mode}, {len(names)} variants + floor + planted {PLANTED_US} us in each gunicorn "
          f"(core {server_core}); locust {cfg.users} users (core {generator_core}"
          f"{f', {cfg.workers} workers' if cfg.workers else ''}); shapes {', '.join(SHAPES)}, ~{total_s:.0f} s",
          flush=True)
    runs_total = [(shape, k) for shape in SHAPES for k in range(cfg.servers[shape])]
    rate = 0.0
    for i, shape in enumerate(SHAPES, 1):
        seconds, servers = cfg.seconds[shape], cfg.servers[shape]
        print(f"shape {i}/{len(SHAPES)}: {shape}, {servers} x {seconds:.0f} s, a fresh server process each"
              + (f", {rate * cfg.users:.0f} req/s ({PACED_SHARE:.0%} of closed)" if rate else ", as fast as it goes")
              + f"; ~{sum(cfg.seconds[s] * cfg.servers[s] for s in SHAPES[i - 1:]):.0f} s left", flush=True)
        result["shapes"][shape] = {"status": "incomplete"}
        runs = []
        for k in range(servers):
            label = shape if servers == 1 else f"{shape}_{k + 1}"
            after = sum(cfg.seconds[s] for s, j in runs_total[runs_total.index((shape, k)) + 1:])
            with gunicorn("loadtests.mount:create_load_app()", port=cfg.port, cpu=server_core,
                          env={"FLASK_IDIOMS_VARIANTS": ",".join(names)}, ready_path=f"/{FLOOR}/api/status") as server:
                result["gunicorn"] = server.settings
                runs.append(run_locust(cfg, server, targets, label, seconds, rate, out, generator_core, after_s=after))
        analysis = analyse(runs, windows_for(seconds), rng, conforming)
        result["shapes"][shape] = shape_result(shape, cfg, runs, analysis, rate)
        save()
        brief(shape, result["shapes"][shape])
        if shape == "closed":
            rate = PACED_SHARE * result["shapes"]["closed"]["rps"] / cfg.users


def per_variant(cfg: Config, names: list, conforming: set, rng, result: dict, save) -> None:
    server_core, generator_core = cores()
    out = OUT / "load"
    print(f"make load: per-variant layout, {len(names)} servers one after another, {cfg.per_variant_s:.0f} s each "
          f"(closed loop), each with the floor beside it", flush=True)
    for i, name in enumerate(names, 1):
        print(f"variant {i}/{len(names)}: {name}; ~{(len(names) - i + 1) * (cfg.per_variant_s + 3):.0f} s left",
              flush=True)
        result["shapes"][name] = {"status": "incomplete"}
        with gunicorn("loadtests.mount:create_load_app()", port=cfg.port, cpu=server_core,
                      env={"FLASK_IDIOMS_VARIANTS": name}, ready_path=f"/{FLOOR}/api/status") as server:
            result["gunicorn"] = server.settings
            run = run_locust(cfg, server, [name, FLOOR], f"variant_{name}", cfg.per_variant_s, 0.0, out,
                             generator_core, after_s=(len(names) - i) * (cfg.per_variant_s + 3))
        analysis = analyse([run], windows_for(cfg.per_variant_s), rng, conforming)
        result["shapes"][name] = shape_result(name, cfg, [run], analysis, 0.0)
        save()
        brief(name, result["shapes"][name])


def brief(shape: str, r: dict) -> None:
    c = r["calibration"]
    print(f"  {shape}: {r['rps']:.0f} req/s, {r['failures']} failures; generator {r['generator_cpu']:.0%} / server "
          f"{r['server_cpu']:.0%} of a core ({r['bottleneck']['verdict']} saturated)"
          + (f"; planted {c['planted_us']} us -> {c['measured_us']:.1f} us [{c['ci95'][0]:.1f}, {c['ci95'][1]:.1f}]"
             if c else "")
          + (f"; A/A {c['aa']['diff_us']:+.1f} us ({c['aa']['pct']:+.1f}%)" if c and "aa" in c else ""), flush=True)


# ------------------------------------------------------------------------------------ the summary
def summarise(cfg: Config, result: dict, names: list, conforming: set) -> dict:
    """The summary.json part, and the targets checked against the finished runs."""
    shapes = {k: v for k, v in result["shapes"].items() if v.get("status") == "ok"}
    warnings = list(result["warnings"])
    variants, floor = {}, {}
    if cfg.layout == "interleaved":
        primary = PRIMARY if PRIMARY in shapes else next(iter(shapes), None)
        for name in names if primary else ():
            by_shape = {s: r["targets"][name] for s, r in shapes.items()}
            variants[name] = {"load": {**by_shape[primary], "by_shape": by_shape}}
        floor = {"load": {**shapes[primary]["targets"]["floor"],
                          "by_shape": {s: r["targets"]["floor"] for s, r in shapes.items()}}} if primary else {}
        calibration = shapes[primary]["calibration"] if primary else None
    else:
        primary = None
        for name in names:
            if name in shapes:
                variants[name] = {"load": shapes[name]["targets"][name]}
        floors = [r["targets"]["floor"]["server_us"]["p50"] for r in shapes.values()]
        calibration = None
        if len(floors) >= 2:
            drift = max(floors) / min(floors)
            result["drift"] = {"floor_server_us": floors, "max_over_min": round(drift, 3)}
            spread = [variants[n]["load"]["server_us"]["p50"] for n in variants]
            if drift > 1.05:
                warnings.append(f"run-to-run drift: the floor's server time moved {100 * (drift - 1):.0f}% between "
                                f"runs, more than most differences between idioms (max/min of their medians "
                                f"{max(spread) / min(spread):.2f}); rank from the interleaved layout instead")
    ci_widths = [v["load"]["server_us"]["ci_half_width_pct"] for v in variants.values() if v["load"]]
    failures = sum(r["failures"] for r in shapes.values())
    targets = {"zero_failures": {"value": failures, "met": failures == 0},
               "ci95_half_width_pct": {"value": max(ci_widths, default=None), "target": cfg.target_ci_pct,
                                       "met": bool(ci_widths) and max(ci_widths) <= cfg.target_ci_pct},
               "wall_s": {"value": result.get("wall_s"), "target": cfg.target_wall_s,
                          "met": result.get("wall_s") is not None and result["wall_s"] <= cfg.target_wall_s}}
    if calibration:
        targets["planted_within_pct"] = {"value": abs(calibration["error_pct"]), "target": cfg.target_planted_pct,
                                         "met": abs(calibration["error_pct"]) <= cfg.target_planted_pct}
    if calibration and "aa" in calibration and abs(calibration["aa"]["pct"]) > 1:
        warnings.append(f"A/A: {calibration['aa']['what']} differs by {calibration['aa']['pct']:+.2f}%: over HTTP, "
                        f"idioms closer than that are not told apart by this run")
    for shape, r in shapes.items():
        if r["bottleneck"]["verdict"] in ("load generator", "both"):
            warnings.append(f"{shape}: the load generator, not the server, was the bottleneck ({r['bottleneck']['detail']})")
        if r["rss"]["growth_pct"] is not None and r["rss"]["growth_pct"] > 10:
            warnings.append(f"{shape}: server memory grew {r['rss']['growth_pct']}% from the first to the last quarter")
    for name, target in targets.items():
        if target["met"] is False and target.get("value") is not None:
            warnings.append(f"target not met: {name} = {target['value']} (target {target.get('target', 0)})")
    result["targets"], result["warnings"] = targets, warnings
    load_run = {"status": result["status"], "mode": cfg.mode, "layout": cfg.layout, "primary_shape": primary,
                "date": result["date"], "duration_s": result.get("wall_s"),
                "shapes": {s: {k: r[k] for k in ("duration_s", "measured_s", "servers", "users", "rate_per_user", "rps",
                                                 "requests", "failures", "generator_cpu", "server_cpu",
                                                 "steal_fraction", "bottleneck", "server_request_cpu_us", "rss")}
                           for s, r in shapes.items()},
                "incomplete": [s for s, r in result["shapes"].items() if r.get("status") != "ok"],
                "gunicorn": result.get("gunicorn"), "locust": result["locust"],
                "server_request_cpu_us": shapes[primary]["server_request_cpu_us"] if primary else None,
                "files": {"locust_csv": [f for r in shapes.values() for f in r["files"] if f.endswith(".csv")],
                          "locust_html": [f for r in shapes.values() for f in r["files"] if f.endswith(".html")],
                          "raw": "load.json"},
                "drift": result.get("drift"), "warnings": warnings, "targets": targets,
                "environment": result["environment"]}
    update = {"variants": variants, "load_run": load_run}
    if floor:
        update["baselines"] = {"floor": floor}
    if calibration:
        update["calibration"] = {"load": calibration}
    return update


@entry_point
def main() -> int:
    cfg, variants = options()
    names = [v.name for v in variants]
    conforming = {v.name for v in variants if v.conforms}
    rng = np.random.default_rng()
    started = time.monotonic()
    import locust

    result = {"status": "incomplete", "mode": cfg.mode, "layout": cfg.layout,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "config": asdict(cfg), "environment": environment(cfg.mode), "shapes": {}, "warnings": [],
              "locust": {"version": locust.__version__, "user_class": "FastHttpUser", "workers": cfg.workers,
                         "users": cfg.users}}
    if cores()[0] is None:
        result["warnings"].append("fewer than two cores: server and load generator share one, not pinned")

    def save():
        write_json(OUT / "load.json", result)

    # a previous run's load results must not mix with this one's
    merge_summary({"variants": {n: {"load": None} for n in names}, "load_run": None,
                   "calibration": {"load": None}, "baselines": {"floor": None}})
    code = 0
    try:
        (interleaved if cfg.layout == "interleaved" else per_variant)(cfg, names, conforming, rng, result, save)
        result["status"] = "ok"
    except ServerError as e:
        print(f"error: {e}", file=sys.stderr)
        result["status"], result["error"], code = "failed", str(e), 1
    except KeyboardInterrupt:
        result["status"] = "incomplete"
        raise
    finally:
        result["wall_s"] = round(time.monotonic() - started, 1)
        update = summarise(cfg, result, names, conforming)
        save()
        merge_summary(update)
    report(result, update)
    return code


def relative(r: dict) -> str:
    return f"{r['estimate']:>9.3f} [{r['ci95'][0]:.3f},{r['ci95'][1]:.3f}]"


def report(result: dict, update: dict) -> None:
    run = update["load_run"]
    print(f"\nload: {result['status']} in {result['wall_s']:.0f} s ({run['mode']}, {run['layout']})")
    rows = sorted(update["variants"].items(), key=lambda kv: kv[1]["load"].get("rank", 99) if kv[1]["load"] else 99)
    print(f"  {'variant':<26} {'server us':>10} {'CI95 +-%':>8} {'x floor':>16} {'x ' + PLANTED_IDIOM:>22} "
          f"{'req/s':>7} {'fail':>5}")
    for name, v in rows:
        load = v["load"]
        if load:
            r = load["ratio_to_floor"]
            print(f"  {name:<26} {load['server_us']['p50']:>10.1f} {load['server_us']['ci_half_width_pct']:>8.2f} "
                  f"{r['estimate']:>6.2f} [{r['ci95'][0]:.2f},{r['ci95'][1]:.2f}] {relative(load['ratio_to_reference'])} "
                  f"{load['rps']:>7.0f} {load['failures']:>5}")
    for warning in run["warnings"]:
        print(f"  warning: {warning}")
    met = {k: t["met"] for k, t in run["targets"].items()}
    print(f"  targets: {met}")
    print(f"wrote {OUT / 'load.json'} and merged {OUT / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main())
