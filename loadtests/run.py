"""``make load``: locust against one server process serving every variant, with server-side timing per request.

One server process (``loadtests.servers``, gunicorn's sync worker by default), pinned to one core,
serves ``loadtests.mount:create_load_app()``: every selected variant below ``/<name>``, the floor (a
prebuilt werkzeug Response) and the planted pair (jsonify_tuple with and without a ``PLANTED_US``
busy-wait), each timed by the ``Server-Timing`` middleware. locust (FastHttpUser), pinned to the other
core, takes variants and endpoints in a shuffled cycle, so every idiom is measured under the same
machine conditions, request by request.

Two load shapes, one after the other: ``closed`` (as fast as it goes; its throughput sets the pace
of the next) and ``paced`` (``constant_throughput`` at ``PACED_SHARE`` of it, so neither process is
saturated; the primary result). The paced shape runs once per fresh server process: two instances of
the same code differ by a few percent with the memory layout a process happens to get, so the process
is the unit that repeats and the result is the mean over processes (``loadtests.analysis``).

Options (environment, as ``make load QUICK=1 VARIANTS=a,b``):
  QUICK=1             short runs (<= 60 s in all)
  VARIANTS=a,b        a subset of the registry
  LOAD_LAYOUT=...     ``interleaved`` (default) or ``per-variant`` (one server per variant, one after
                      another: only meaningful on quiet, dedicated hardware; drift is reported)
  LOAD_SERVER=name    an entry of ``loadtests.servers.SERVERS`` (default gunicorn_sync)
  LOAD_SECONDS=N      seconds of every locust run (each shape's, each server's, each variant's in the
                      per-variant layout), instead of the mode's
  LOAD_PROCESSES=N    fresh server processes of the paced shape, one run each (default 6 quick, 28 full)
  LOAD_USERS=N        locust users (default 16)
  LOCUST_WORKERS=N    N locust worker processes on 127.0.0.1 under a master (locust's distributed mode)
  LOAD_PORT=N         the server's port (default: a free one)

Writes ``reports/out/load.json`` (schema: ``harness.schemas.load.LoadResult``; saved after every finished
shape), locust's CSV and HTML per run in ``reports/out/load/``, and indexes the stage in summary.json
with headline figures only.

Payload mode (``make payloads-http``, ``python -m loadtests.payloads_http``; not a stage of ``make bench``;
LOAD_PAYLOADS=a,b names built-in corpus entries, default size_1kb,size_100kb; ``make load`` ignores it): the same servers,
locust and runs, but the requests are ``GET /<variant>~payload/api/payload/<entry>`` to every variant's
payload app and a second one of jsonify_tuple's (``loadtests.mount``), each body checked against what the
test client gets from the same app, the entries taking turns by the clock (``phase_lengths``), the closed
shape only, over ``PAYLOAD_QUICK`` or ``PAYLOAD_FULL``'s server processes (LOAD_SECONDS, LOAD_PROCESSES,
LOAD_USERS apply); per variant and entry the Δ of the app's CPU time against jsonify_tuple on the same entry,
95% CI over server processes (``loadtests.analysis.analyse_payloads``). Writes
``reports/out/load_payloads.json`` and ``reports/out/load_payloads/`` (never load.json, nor the load
stage's figures in summary.json), and copies the Δ into payloads.json (``bench.payload_cost.merge_http``) as
``cost.<variant>.<entry>.http``.

Every process it starts runs in its own process group and is stopped on exit, failure or Ctrl-C.
"""
from __future__ import annotations

import importlib.metadata

import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

import numpy as np

from harness.cli import UsageError, entry_point, flag, number, selected_variants
from harness.environment import environment
from harness.progress import Progress
from harness.results import OUT, merge_summary, record_stage, write_json
from harness.stats import spread
from loadtests.analysis import PAYLOAD_DELTA_WHAT, MIN_PER_CELL, analyse, analyse_payloads, shape_result, windows_for
from loadtests.locust_run import run_locust
from loadtests.mount import (APPS_PER_TARGET, FLOOR, PLANTED, PLANTED_IDIOM, PLANTED_REFERENCE, PLANTED_US, REFERENCE,
                             REFERENCE_POOL, payload_corpus, payload_entries, payload_target)
from loadtests.server import ServerError, serve
from loadtests.servers import DEFAULT, server_kind

SCHEMA = "flask-json-idioms/load/1"
APP = "loadtests.mount:create_load_app()"
PACED_SHARE = 0.6
PROGRESS_EVERY_S = 5.0
SHAPES = ("closed", "paced")
PRIMARY = "paced"
DELTA_HEADLINE = ("estimate", "ci95", "verdict", "margin")  # the margin: what "equivalent" was judged against
CALIBRATION_HEADLINE = ("planted_us", "measured_us", "ci95", "error_pct", "planted_ns", "measured_ns", "ci95_ns", "aa")


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
    target_delta_us: float = 2.0  # the widest Δ µs CI half-width (any variant, any status class) the run may report
    users: int = 16
    workers: int = 0
    layout: str = "interleaved"
    port: int = 0
    server: str = DEFAULT


# Each run's first half second after its first answer is left out (warmup_s): every app's first requests (its lazy
# set-up) fall in it. It was 3 s, then 1 s; in the 12 paced runs of a full make bench (2026-11-27, commit af25a23) an
# app's median time was flat from the first half second on, and measuring from 0.2-2 s instead of 3 s moved the Δ
# estimates by +0.07 to -0.05 µs on average over the 60 idiom-and-class cells (SD 0.3-0.4, what the added windows
# bring), none systematically.
# The processes are the units of every interval, and most of a Δ's spread is between them: on the samples of five
# full runs (75 processes), abort_response's 401 has a between-process variance of 6-12 µs² against 4-7 within one
# measured for 8 s, so more, shorter processes narrow the intervals, as far as each one's fixed cost allows (start,
# warm-up, tail, stop: ``loadtests.locust_run.POLL_S``; 3.6 s a process until 2026-11-27, 2.15 s since).
# Designs drawn from those 75 processes (``analyse`` on n of them, each cut to its first T s, six draws each):
# widest Δ half-width 15 x 8 s (the design before) ±1.85-2.66, mean 2.18; 24 x 5 s ±1.53-2.24, mean 1.82;
# 26 x 5 s mean 1.70; 39 x 3 s mean 1.58; quick: 5 x 2 s (before) mean 9.2, 5 x 3.25 s 8.3, 6 x 3.25 s 6.9.
# Full: 24 x 6 s (5.1 s measured each), 7.2 s a process: the time 15 x 10 s took. Five alternating pairs of full
# make load runs (2026-11-27): widest ±2.03, 1.39, 2.11, 2.17, 2.10 µs against ±2.05, 2.12, 2.72, 2.18, 2.78 with
# 15 x 10 s at the same fixed cost (191 s against 182 s a stage).
# Quick: 4 + 6 x 4 s (3.25 s measured each; the closed run only sets the pace): 38 s, 2 s more than 6 + 5 x 4 s
# took before. It says what it cannot resolve.
# Full: 28 x 6 s since 2026-11-28, the ~33 s the microbenchmarks gave back (two workers at a time) spent on four more
# processes (by the draws above, ~7% narrower: 24 x 6 s gave ±2.25 and ±2.23 in the two full make bench runs of that
# day, both in busy phases of the machine); make bench's stages but payloads and count stay within 8 minutes.
QUICK = Config("quick", {"closed": 4, "paced": 4}, {"closed": 1, "paced": 6}, 0.5, 5, 5.0, 25.0, 60, target_delta_us=6.0)
FULL = Config("full", {"closed": 14, "paced": 6}, {"closed": 1, "paced": 28}, 0.5, 15, 2.0, 10.0, 240, target_delta_us=2.0)
# The payload mode: the closed shape only, over several fresh server processes (the app's CPU time per request,
# which it compares, does not depend on how busy the sync worker is kept, and as fast as it goes gives the most
# samples of the 100 KB bodies); the entries take turns (``phase_lengths``). target_ci_pct: the Δ's CI
# half-width as % of jsonify_tuple's app CPU on the entry (make payloads' target is in process).
PAYLOAD_SHAPES = ("closed",)
PAYLOAD_QUICK = Config("quick", {"closed": 8, "paced": 0}, {"closed": 3, "paced": 0}, 1.5, 5, 5.0, 25.0, 40)
PAYLOAD_FULL = Config("full", {"closed": 18, "paced": 0}, {"closed": 8, "paced": 0}, 2, 15, 2.0, 10.0, 180)
PAYLOAD_PHASE_S = 0.8  # an entry's turn: this x (1 + its body's KB / 60)
PAYLOAD_SCHEMA = "flask-json-idioms/load-payloads/1"
PAYLOAD_STAGE, PAYLOAD_FILE, PAYLOAD_FOLDER = "payloads-http", "load_payloads.json", "load_payloads"
DEFAULT_PAYLOADS = "size_1kb,size_100kb"


def phase_lengths(body_bytes: list) -> list:
    """Each entry's turn (s), from jsonify_tuple's body on it: ``PAYLOAD_PHASE_S`` x (1 + KB / 60): 0.8 s at 1 KB,
    2.3 s at 100 KB. A 100 KB request costs ~12 times a 1 KB one (~5 ms against ~420 µs of app CPU on the 2-core
    reference machine) and varies more, so its turn is longer; but in proportion to cost (x 12) the 1 KB entry got
    too few windows (runs of 2026-11-27: 1 KB Δ half-widths ±15 µs in a quick run at equal 1 s turns, ±55 µs at
    1:11, ±22 µs at 0.5:2.4 s; a full run at 0.5:2.4 s: ±16 µs at 1 KB, ±79 µs at 100 KB, medians over idioms)."""
    return [round(PAYLOAD_PHASE_S * (1 + b / 6e4), 2) for b in body_bytes]


def options(payload_mode: bool = False) -> tuple:
    cfg = (PAYLOAD_QUICK if flag("QUICK") else PAYLOAD_FULL) if payload_mode else QUICK if flag("QUICK") else FULL
    variants = selected_variants()
    layout = os.environ.get("LOAD_LAYOUT", "").strip() or "interleaved"
    if layout not in ("interleaved", "per-variant"):
        raise UsageError(f"LOAD_LAYOUT={layout!r}: expected interleaved or per-variant")
    server = server_kind(os.environ.get("LOAD_SERVER", "").strip() or DEFAULT).name
    seconds = number("LOAD_SECONDS", float, 3, 3600)
    if seconds is not None:  # the length of every locust run
        cfg = replace(cfg, seconds={s: seconds for s in SHAPES}, per_variant_s=seconds)
    processes = number("LOAD_PROCESSES", int, 1, 100)
    if processes is not None:  # fresh server processes of the paced shape (the payload mode's closed), one run each
        cfg = replace(cfg, servers={**cfg.servers, "closed" if payload_mode else "paced": processes})
    users = number("LOAD_USERS", int, 1, 1000)
    workers = number("LOCUST_WORKERS", int, 0, 64)
    port = number("LOAD_PORT", int, 0, 65535)
    cfg = replace(cfg, layout=layout, server=server, users=users or cfg.users, workers=workers or 0, port=port or 0)
    if shutil.which("locust", path=os.path.dirname(sys.executable)) is None:
        raise UsageError("locust is not installed in this environment; run make install")
    return cfg, variants


def cores() -> tuple:
    """(server core, load generator core), or (None, None) where there are fewer than two."""
    available = sorted(os.sched_getaffinity(0))
    return (available[0], available[1]) if len(available) >= 2 else (None, None)


# -------------------------------------------------------------------------------------- the runs
def measure(cfg: Config, variants: str, targets: list, label: str, seconds: float, rate: float, result: dict,
            progress, folder: str = "load", payloads: dict | None = None) -> dict:
    """One fresh server process serving ``variants`` and one locust run against it, its files in ``OUT/folder``.
    ``payloads``: the payload mode's LOAD_PAYLOADS and LOAD_PAYLOAD_EXPECT, for the server (which then mounts
    the payload apps too) and the locustfile; without it neither is in payload mode."""
    server_core, generator_core = cores()
    payloads = payloads or {"LOAD_PAYLOADS": "", "LOAD_PAYLOAD_EXPECT": ""}
    with serve(APP, server=server_kind(cfg.server), port=cfg.port, cpu=server_core,
               env={"FLASK_IDIOMS_VARIANTS": variants, **payloads}, ready_path=f"/{FLOOR}/api/status") as server:
        result["gunicorn"] = server.settings
        return run_locust(server, targets, label, seconds, rate, OUT / folder, cpu=generator_core, users=cfg.users,
                          workers=cfg.workers, warmup_s=cfg.warmup_s, progress=progress, env=payloads)


def run_shapes(cfg: Config, variants: str, targets: list, analyse_runs, result: dict, save, label: str = "load",
               folder: str = "load", payloads: dict | None = None, shapes: tuple = SHAPES) -> None:
    """The shapes one after another (``SHAPES``: closed, then paced at ``PACED_SHARE`` of its throughput), each
    over ``cfg.servers[shape]`` fresh server processes; ``analyse_runs(runs, windows)`` makes a shape's figures.
    Saves after every finished shape."""
    steps = sum(int(cfg.seconds[s]) * cfg.servers[s] for s in shapes)  # a step per locust second
    with Progress(label, steps, every_s=PROGRESS_EVERY_S) as progress:
        rate = 0.0
        for i, shape in enumerate(shapes, 1):
            seconds, servers = cfg.seconds[shape], cfg.servers[shape]
            print(f"shape {i}/{len(shapes)}: {shape}, {servers} x {seconds:.0f} s, a fresh server process each"
                  + (f", {rate * cfg.users:.0f} req/s ({PACED_SHARE:.0%} of closed)" if rate else ", as fast as it goes")
                  + f"; ~{sum(cfg.seconds[s] * cfg.servers[s] for s in shapes[i - 1:]):.0f} s left", flush=True)
            result["shapes"][shape] = {"status": "incomplete"}
            drop_extra_runs(OUT / folder, shape, servers)
            runs = [measure(cfg, variants, targets, shape if servers == 1 else f"{shape}_{k + 1}", seconds,
                            rate, result, progress, folder, payloads) for k in range(servers)]
            result["shapes"][shape] = shape_result(runs, analyse_runs(runs, windows_for(seconds)),
                                                   cfg.users, cfg.workers, rate)
            save()
            brief(shape, result["shapes"][shape])
            if shape == "closed":
                rate = PACED_SHARE * result["shapes"]["closed"]["rps"] / cfg.users


def drop_extra_runs(folder, shape: str, servers: int) -> None:
    """Remove the files of a shape's numbered runs beyond ``servers`` (``paced_13_stats.csv`` after a run with more
    server processes), so the folder holds this run's files only; each run replaces its own."""
    for path in folder.glob(f"{shape}_*"):
        number = path.name[len(shape) + 1:].split("_", 1)[0].split(".", 1)[0]
        if number.isdigit() and (servers == 1 or int(number) > servers):
            path.unlink(missing_ok=True)


def interleaved(cfg: Config, names: list, conforming: set, rng, result: dict, save) -> None:
    server_core, generator_core = cores()
    targets = [*names, FLOOR, PLANTED, PLANTED_REFERENCE, REFERENCE, *REFERENCE_POOL]
    total_s = sum(cfg.seconds[s] * cfg.servers[s] for s in SHAPES)
    print(f"make load: {cfg.mode}, {len(names)} variants + floor + planted {PLANTED_US} us in each {cfg.server} "
          f"(core {server_core}); locust {cfg.users} users (core {generator_core}"
          f"{f', {cfg.workers} workers' if cfg.workers else ''}); shapes {', '.join(SHAPES)}, ~{total_s:.0f} s",
          flush=True)
    run_shapes(cfg, ",".join(names), targets, lambda runs, windows: analyse(runs, windows, rng, conforming),
               result, save)


def per_variant(cfg: Config, names: list, conforming: set, rng, result: dict, save) -> None:
    print(f"make load: per-variant layout, {len(names)} servers one after another, {cfg.per_variant_s:.0f} s each "
          f"(closed loop), each with the floor beside it", flush=True)
    with Progress("load", len(names) * int(cfg.per_variant_s), every_s=PROGRESS_EVERY_S) as progress:
        for i, name in enumerate(names, 1):
            print(f"variant {i}/{len(names)}: {name}; ~{(len(names) - i + 1) * (cfg.per_variant_s + 3):.0f} s left",
                  flush=True)
            result["shapes"][name] = {"status": "incomplete"}
            run = measure(cfg, name, [name, FLOOR], f"variant_{name}", cfg.per_variant_s, 0.0, result, progress)
            result["shapes"][name] = shape_result([run], analyse([run], windows_for(cfg.per_variant_s), rng, conforming),
                                                  cfg.users, cfg.workers, 0.0)
            save()
            brief(name, result["shapes"][name])


def brief(shape: str, r: dict) -> None:
    c = r["calibration"]
    aa = None if c else ((r.get("delta") or {}).get("aa") or None)  # the payload mode: no planted pair, A/A per entry
    print(f"  {shape}: {r['rps']:.0f} req/s, {r['failures']} failures; generator {r['generator_cpu']:.0%} / server "
          f"{r['server_cpu']:.0%} of a core ({r['bottleneck']['verdict']} saturated)"
          + (f"; planted {c['planted_us']} us -> {c['measured_us']:.1f} us [{c['ci95'][0]:.1f}, {c['ci95'][1]:.1f}]"
             if c else "")
          + (f"; A/A {c['aa']['diff_us']:+.1f} us ({c['aa']['pct']:+.1f}%)" if c and "aa" in c else "")
          + ("; A/A " + ", ".join(f"{e} {x['estimate']:+.1f} us [{x['ci95'][0]:+.1f}, {x['ci95'][1]:+.1f}]"
                                  for e, x in aa.items()) if aa else ""), flush=True)


# ------------------------------------------------------------------------------------ the summary
def primary_figures(cfg: Config, result: dict, names: list) -> tuple:
    """(primary shape or None, {variant: its figures}, calibration): what is reported and checked."""
    shapes = {k: v for k, v in result["shapes"].items() if v.get("status") == "ok"}
    if cfg.layout == "per-variant":  # each variant's figures come from its own server's run
        return None, {n: shapes[n]["targets"][n] for n in names if n in shapes}, None
    primary = PRIMARY if PRIMARY in shapes else next(iter(shapes), None)
    if primary is None:
        return None, {}, None
    return primary, {n: shapes[primary]["targets"][n] for n in names}, shapes[primary]["calibration"]


def summarise(cfg: Config, result: dict, names: list) -> dict:
    """Complete ``result`` with the run's facts, targets and warnings; return the headline for summary.json."""
    shapes = {k: v for k, v in result["shapes"].items() if v.get("status") == "ok"}
    primary, figures, calibration = primary_figures(cfg, result, names)
    delta = shapes[primary].get("delta") if primary else None
    warnings = list(result["warnings"])
    floors = [r["targets"]["floor"]["server_us"]["p50"] for r in shapes.values()]
    if cfg.layout == "per-variant" and len(floors) >= 2:
        result["drift"] = {"floor_server_us": floors, "max_over_min": spread(floors)}
        if spread(floors) > 1.05:
            warnings.append(f"run-to-run drift: the floor's server time moved {100 * (spread(floors) - 1):.0f}% between "
                            f"runs, more than most differences between idioms (max/min of their medians "
                            f"{spread([f['server_us']['p50'] for f in figures.values()]):.2f}); rank from the "
                            f"interleaved layout instead")
    # The CI target is checked on the ratio to the floor, the drift-cancelled figure idioms are ranked by;
    # a variant's absolute server time moves with the machine's speed from process to process.
    ci_widths = [round(50 * (f["ratio_to_floor"]["ci95"][1] - f["ratio_to_floor"]["ci95"][0])
                       / f["ratio_to_floor"]["estimate"], 2) for f in figures.values()]
    # The Δ target is checked on the Δ µs intervals the run reports (summary.json's delta_us).
    delta_widths = {(n, c): round((d["ci95"][1] - d["ci95"][0]) / 2, 3) for n, f in figures.items()
                    for c, d in (f.get("delta_us") or {}).items() if d["verdict"] != "reference"}
    widest = max(delta_widths, key=delta_widths.get, default=None)
    failures = sum(r["failures"] for r in shapes.values())
    targets = {"zero_failures": {"value": failures, "met": failures == 0},
               "ci95_half_width_pct": {"value": max(ci_widths, default=None), "target": cfg.target_ci_pct,
                                       "of": "ratio_to_floor",
                                       "met": bool(ci_widths) and max(ci_widths) <= cfg.target_ci_pct},
               "wall_s": {"value": result.get("wall_s"), "target": cfg.target_wall_s,
                          "met": result.get("wall_s") is not None and result["wall_s"] <= cfg.target_wall_s}}
    if widest is not None:
        targets["delta_ci95_half_width_us"] = {
            "value": delta_widths[widest], "target": cfg.target_delta_us, "of": f"delta_us ({widest[0]}, {widest[1]})",
            "met": delta_widths[widest] <= cfg.target_delta_us}
    if calibration:
        targets["planted_within_pct"] = {"value": abs(calibration["error_pct"]), "target": cfg.target_planted_pct,
                                         "met": abs(calibration["error_pct"]) <= cfg.target_planted_pct}
        if "aa" in calibration and abs(calibration["aa"]["pct"]) > 1:
            warnings.append(f"A/A: {calibration['aa']['what']} differs by {calibration['aa']['pct']:+.2f}%: over HTTP, "
                            f"idioms closer than that are not told apart by this run")
    if delta:
        warnings += unresolved(cfg, delta, delta_widths, widest)
    if calibration and calibration["ci95"][0] <= 0:
        warnings.append(f"{cfg.mode} run: the planted {calibration['planted_us']} µs is not resolved over HTTP "
                        f"(measured {calibration['measured_us']:.1f} µs [{calibration['ci95'][0]:.1f}, "
                        f"{calibration['ci95'][1]:.1f}], an interval that takes in 0)")
    warnings += shape_warnings(shapes, targets)
    files = [f for r in shapes.values() for f in r["files"]]
    result.update(
        primary_shape=primary, duration_s=result.get("wall_s"),
        incomplete=[s for s, r in result["shapes"].items() if r.get("status") != "ok"],
        server_request_cpu_us=shapes[primary]["server_request_cpu_us"] if primary else None,
        minimum_detectable_us=delta["minimum_detectable_us"] if delta else None,
        margin_us=delta["margin_us"] if delta else None,
        files={"locust_csv": [f for f in files if f.endswith(".csv")],
               "locust_html": [f for f in files if f.endswith(".html")], "raw": "load.json"},
        targets=targets, warnings=warnings)
    return headline(names, figures, calibration, ranked=cfg.layout == "interleaved")


def shape_warnings(shapes: dict, targets: dict) -> list:
    """What every run says of its shapes (a load generator that was the bottleneck, merged windows, memory growth)
    and of each target it did not meet."""
    warnings = []
    for shape, r in shapes.items():
        if r["bottleneck"]["verdict"] in ("load generator", "both"):
            warnings.append(f"{shape}: the load generator, not the server, was the bottleneck ({r['bottleneck']['detail']})")
        if r.get("windows_planned") and r["windows_planned"] > r["windows_used"]:
            warnings.append(f"{shape}: {r['windows_used']} of {r['windows_planned']} planned time windows: too few "
                            f"requests per target and class to fill them (< {MIN_PER_CELL} expected), so they were "
                            f"merged; drift within a server process cancels more coarsely")
        if (r.get("rss") or {}).get("growth_pct") is not None and r["rss"]["growth_pct"] > 10:
            warnings.append(f"{shape}: server memory grew {r['rss']['growth_pct']}% from the first to the last quarter")
    for name, target in targets.items():
        if target["met"] is False and target.get("value") is not None:
            warnings.append(f"target not met: {name} = {target['value']} (target {target.get('target', 0)})")
    return warnings


def unresolved(cfg: Config, delta: dict, widths: dict, widest) -> list:
    """What the run cannot resolve, in words: the Δ under the minimum detectable difference of each class
    when the Δ target is missed, and A/A pairs that came out different (the control failed)."""
    found = []
    detectable = {c: x for c, x in (delta.get("minimum_detectable_us") or {}).items() if x is not None}
    if widest is not None and widths[widest] > cfg.target_delta_us and detectable:
        found.append(f"{cfg.mode} run: Δ under {max(detectable.values()):.0f} µs per request not resolved over HTTP "
                     f"(minimum detectable, 80% power, per class: "
                     + ", ".join(f"{c} {x:.1f} µs" for c, x in detectable.items())
                     + f"); Δ 95% CI half-widths up to ±{widths[widest]:.1f} µs ({widest[0]}, {widest[1]}), "
                       f"the target is ±{cfg.target_delta_us:g} µs")
    for c, aa in (delta.get("aa") or {}).items():
        if aa["verdict"] in ("cheaper", "dearer"):
            found.append(f"A/A on {c}: {PLANTED_IDIOM} against its second instance {aa['estimate']:+.1f} µs "
                         f"[{aa['ci95'][0]:+.1f}, {aa['ci95'][1]:+.1f}]: the control differs, so differences of this "
                         f"size between idioms are not evidence")
    wide = {c: r for c, r in (delta.get("resolution_us") or {}).items() if r > (delta.get("margin_us") or {}).get(c, 0.0)}
    if wide:
        found.append("the A/A interval is wider than the equivalence margin "
                     f"({delta['margin_share_pct']:g}% of the request's {delta['server_request_cpu_us']:.0f} µs): no idiom can "
                     "be shown equivalent, and differences inside it are not claimed: "
                     + ", ".join(f"{c} ±{r:.1f} µs" for c, r in wide.items()))
    return found


def headline(names: list, figures: dict, calibration: dict | None, ranked: bool = True) -> dict:
    """summary.json's share of the load results: per variant its ratios, rank and Δ µs per status class
    against jsonify_tuple, and the calibration. Every selected variant is written (None where not
    measured), so an earlier run's figures go."""
    small = {n: {"ratio_to_floor": {k: f["ratio_to_floor"][k] for k in ("estimate", "ci95")},
                 "ratio_to_reference": {k: f["ratio_to_reference"][k] for k in ("estimate", "ci95")},
                 "rank": f.get("rank") if ranked else None,  # one server per variant: no rank across them
                 "delta_us": {c: {k: d[k] for k in DELTA_HEADLINE} for c, d in f["delta_us"].items()}
                 if f.get("delta_us") else None}
             for n, f in figures.items()}
    return {"variants": {n: {"load": small.get(n)} for n in names},
            "calibration": {"load": {k: calibration[k] for k in CALIBRATION_HEADLINE if k in calibration}
                            if calibration else None}}


# ------------------------------------------------------------------------------- the payload mode
def payload_expectations(names: list, entries: list, folder) -> tuple:
    """(variants that serve every entry with a 200, {variant: why not} for the others, the file of what each
    payload app sends: ``{mounted target: {entry: {"content_type", "body_bytes", "body_sha256"}}}``, which the
    locustfile checks every response against). From ``bench.payload_semantics.table``: the test client through
    the same apps."""
    from bench import payload_semantics

    cells = payload_semantics.table(names, payload_corpus(entries))
    served = [n for n in names if all(cells[n][e]["http_status"] == 200 and cells[n][e]["status"] != "error"
                                      for e in entries)]
    left_out = {n: "; ".join(f"{e}: {cells[n][e]['status']}, HTTP {cells[n][e]['http_status']}" for e in entries)
                for n in names if n not in served}
    if PLANTED_IDIOM in left_out:
        raise UsageError(f"LOAD_PAYLOADS={','.join(entries)}: {PLANTED_IDIOM}, the reference of every Δ, does not "
                         f"serve every entry with a 200 ({left_out[PLANTED_IDIOM]})")
    expected = {payload_target(n): {e: {k: cells[n][e][k] for k in ("content_type", "body_bytes", "body_sha256")}
                                    for e in entries} for n in served}
    expected[payload_target(REFERENCE)] = expected[payload_target(PLANTED_IDIOM)]  # a second app of the same idiom
    folder.mkdir(parents=True, exist_ok=True)
    path = write_json(folder / "expected.json", expected)
    return served, left_out, path, phase_lengths([cells[PLANTED_IDIOM][e]["body_bytes"] for e in entries])


def check_turns(cfg: Config, phases: list) -> None:
    """Every entry must get a whole turn inside each run's measured time (after its warm-up): the turns are set by
    the clock, at any phase relative to a run's start, so the measured time must hold a whole cycle of turns and
    the shortest turn again. Shorter runs could see one entry for a sliver only (a 4 s run: 2.5 s measured against
    a 3.1 s cycle), and be refused by the analysis after they ran; this refuses them before."""
    measured, needed = cfg.seconds["closed"] - cfg.warmup_s, sum(phases) + min(phases)
    if measured < needed:
        raise UsageError(f"LOAD_SECONDS={cfg.seconds['closed']:g}: the payload mode needs at least "
                         f"{needed + cfg.warmup_s:.1f} s per run ({cfg.warmup_s:g} s of warm-up, then the entries' turns "
                         f"of {', '.join(f'{x:g}' for x in phases)} s and the shortest again, so that every entry gets "
                         f"a whole turn in every run)")


def payload_run(cfg: Config, entries: list, expectations: tuple, rng, result: dict, save) -> None:
    server_core, generator_core = cores()
    served, left_out, expected, phases = expectations
    result["left_out"], result["phase_s"] = left_out, dict(zip(entries, phases))
    for name, why in left_out.items():
        result["warnings"].append(f"{name} is not timed over HTTP: it does not serve every entry with a 200 ({why})")
    targets = [payload_target(n) for n in served] + [payload_target(REFERENCE)]
    total_s = sum(cfg.seconds[s] * cfg.servers[s] for s in PAYLOAD_SHAPES)
    print(f"make load (payloads): {cfg.mode}, {len(served)} variants' payload apps + a second {PLANTED_IDIOM} (A/A) "
          f"x {', '.join(entries)} (taking turns of {', '.join(f'{x:g}' for x in phases)} s) in each {cfg.server} (core "
          f"{server_core}); locust {cfg.users} users (core {generator_core}"
          f"{f', {cfg.workers} workers' if cfg.workers else ''}); {cfg.servers['closed']} server processes x "
          f"{cfg.seconds['closed']:.0f} s, as fast as it goes, ~{total_s:.0f} s", flush=True)
    run_shapes(cfg, ",".join(served), targets, lambda runs, windows: analyse_payloads(runs, windows, rng), result,
               save, label="load payloads", folder=PAYLOAD_FOLDER, shapes=PAYLOAD_SHAPES,
               payloads={"LOAD_PAYLOADS": ",".join(entries), "LOAD_PAYLOAD_EXPECT": str(expected),
                         "LOAD_PAYLOAD_PHASE_S": ",".join(f"{x:g}" for x in phases)})


def summarise_payloads(cfg: Config, result: dict) -> None:
    """Complete the payload mode's ``result``: ``delta`` ({variant: {entry: Δ}}, the primary shape's), ``aa``,
    ``request_us``, the targets and warnings."""
    shapes = {k: v for k, v in result["shapes"].items() if v.get("status") == "ok"}
    primary = next(iter(shapes), None)
    warnings = list(result["warnings"])
    facts = (shapes[primary].get("delta") or {}) if primary else {}
    delta = {n: t["delta_us"] for n, t in shapes[primary]["targets"].items() if t.get("delta_us")} if primary else {}
    request_us = facts.get("request_us") or {}
    widths = {(n, e): 100 * (d["ci95"][1] - d["ci95"][0]) / 2 / request_us[e]
              for n, per in delta.items() for e, d in per.items() if d["verdict"] != "reference" and request_us.get(e)}
    widest = max(widths, key=widths.get, default=None)
    failures = sum(r["failures"] for r in shapes.values())
    targets = {"zero_failures": {"value": failures, "met": failures == 0},
               "delta_ci95_half_width_pct": {"value": round(widths[widest], 2) if widest else None,
                                             "target": cfg.target_ci_pct,
                                             "of": f"Δ ({widest[0]}, {widest[1]}) as % of {PLANTED_IDIOM}'s app CPU "
                                                   f"on the entry" if widest else None,
                                             "met": widest is not None and widths[widest] <= cfg.target_ci_pct},
               "wall_s": {"value": result.get("wall_s"), "target": cfg.target_wall_s,
                          "met": result.get("wall_s") is not None and result["wall_s"] <= cfg.target_wall_s}}
    for e, aa in (facts.get("aa") or {}).items():
        if aa["verdict"] in ("cheaper", "dearer"):
            warnings.append(f"A/A on {e}: {PLANTED_IDIOM} against its second instance {aa['estimate']:+.1f} µs "
                            f"[{aa['ci95'][0]:+.1f}, {aa['ci95'][1]:+.1f}]: the control differs, so differences of "
                            f"this size between idioms are not evidence")
    warnings += shape_warnings(shapes, targets)
    files = [f for r in shapes.values() for f in r["files"]]
    result.update(primary_shape=primary, incomplete=[s for s, r in result["shapes"].items() if r.get("status") != "ok"],
                  delta=delta, aa=facts.get("aa"), request_us=request_us or None,
                  margin_us=facts.get("margin_us"), minimum_detectable_us=facts.get("minimum_detectable_us"),
                  server_request_cpu_us=shapes[primary]["server_request_cpu_us"] if primary else None,
                  files={"locust_csv": [f for f in files if f.endswith(".csv")],
                         "locust_html": [f for f in files if f.endswith(".html")], "raw": PAYLOAD_FILE},
                  targets=targets, warnings=warnings)


def payloads_main(entries_raw: str | None = None) -> int:
    """The payload mode (``LOAD_PAYLOADS``, or ``entries_raw``): see the module's docstring."""
    from bench.payload_cost import merge_http

    entries = payload_entries(entries_raw)
    if not entries:
        raise UsageError("LOAD_PAYLOADS is empty: name payload corpus entries, e.g. LOAD_PAYLOADS=" + DEFAULT_PAYLOADS)
    cfg, variants = options(payload_mode=True)
    if cfg.layout != "interleaved":
        raise UsageError("LOAD_PAYLOADS: the payload mode runs the interleaved layout only")
    names = [v.name for v in variants]
    if PLANTED_IDIOM not in names:  # the reference of every Δ
        names.insert(0, PLANTED_IDIOM)
    rng = np.random.default_rng()
    result = new_result(cfg, PAYLOAD_SCHEMA, entries=entries, variants=names, reference=PLANTED_IDIOM, phase_s=None,
                        what=PAYLOAD_DELTA_WHAT + f"; the margin: 1% of {PLANTED_IDIOM}'s app CPU on the entry")
    expectations = payload_expectations(names, entries, OUT / PAYLOAD_FOLDER)  # a UsageError here: nothing written
    check_turns(cfg, expectations[3])
    merged = False

    def finish():
        nonlocal merged
        summarise_payloads(cfg, result)
        record_stage(PAYLOAD_STAGE, PAYLOAD_FILE, result)
        merged = merge_http(result)  # payloads.json keeps its in-process figures whatever happened here

    code = recorded(result, lambda save: payload_run(cfg, entries, expectations, rng, result, save),
                    lambda: write_json(OUT / PAYLOAD_FILE, result), finish)
    report_payloads(result, merged)
    return code


def new_result(cfg: Config, schema: str, **extra) -> dict:
    """A run's result as it starts (status "incomplete"): the settings, the environment, locust's version."""
    # locust's version from its metadata: importing locust here would monkey-patch this process with gevent,
    # whose hub prints a traceback for the KeyboardInterrupt that Ctrl-C raises while it runs
    result = {"schema": schema, "status": "incomplete", "mode": cfg.mode, "layout": cfg.layout,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "server": cfg.server,
              "apps_per_target": APPS_PER_TARGET, **extra,
              "config": asdict(cfg), "environment": environment(cfg.mode), "shapes": {}, "warnings": [],
              "locust": {"version": importlib.metadata.version("locust"), "user_class": "FastHttpUser",
                         "workers": cfg.workers, "users": cfg.users}}
    if cores()[0] is None:
        result["warnings"].append("fewer than two cores: server and load generator share one, not pinned")
    return result


def recorded(result: dict, body, save, finish) -> int:
    """Run ``body(save)`` and mark ``result`` ok, failed (a server error: exit 1) or incomplete (Ctrl-C, raised on);
    ``finish()`` records it whatever happened, with the wall time."""
    started = time.monotonic()
    code = 0
    try:
        body(save)
        result["status"] = "ok"
    except ServerError as e:
        print(f"error: {e}", file=sys.stderr)
        result["status"], result["error"], code = "failed", str(e), 1
    except KeyboardInterrupt:
        result["status"] = "incomplete"
        raise
    finally:
        result["wall_s"] = round(time.monotonic() - started, 1)
        finish()
    return code


def report_payloads(result: dict, merged: bool) -> None:
    print(f"\nload (payloads): {result['status']} in {result['wall_s']:.0f} s ({result['mode']}"
          + (f", figures from the {result['primary_shape']} shape" if result["primary_shape"] else "") + ")")
    entries, request_us = result["entries"], result.get("request_us") or {}
    if result["delta"]:
        print(f"  Δ µs of server CPU per request against {PLANTED_IDIOM} on the same entry [95% CI] verdict; "
              + ", ".join(f"{e}: {PLANTED_IDIOM}'s app CPU {request_us[e]:.0f} µs, margin ±{result['margin_us'][e]:.1f}"
                          for e in entries if e in request_us))
        print(f"  {'variant':<26}" + "".join(f"  {e:<36}" for e in entries))
        for name, per in result["delta"].items():
            print(f"  {name:<26}" + "".join(
                f"  {'(reference)':<36}" if per[e]["verdict"] == "reference" else
                f"  {per[e]['estimate']:+7.1f} [{per[e]['ci95'][0]:+7.1f},{per[e]['ci95'][1]:+7.1f}] {per[e]['verdict']:<10}"
                for e in entries if e in per))
        if result.get("aa"):
            print("  A/A (jsonify_tuple against its second instance): " + ", ".join(
                f"{e} {x['estimate']:+.1f} [{x['ci95'][0]:+.1f}, {x['ci95'][1]:+.1f}] {x['verdict']}"
                for e, x in result["aa"].items()))
    for warning in result["warnings"]:
        print(f"  warning: {warning}")
    print(f"  targets: { {k: t['met'] for k, t in result['targets'].items()} }")
    print(f"wrote {OUT / PAYLOAD_FILE}" + (f"; the Δ copied into {OUT / 'payloads.json'} (cost.<variant>.<entry>.http)"
                                            if merged else f"; no {OUT / 'payloads.json'} to copy the Δ into "
                                                           f"(make payloads writes it)"))


@entry_point
def main() -> int:
    cfg, variants = options()
    names = [v.name for v in variants]
    conforming = {v.name for v in variants if v.conforms}
    rng = np.random.default_rng()
    result = new_result(cfg, SCHEMA)
    merge_summary(headline(names, {}, None))  # a previous run's load figures must not mix with this one's
    shapes = interleaved if cfg.layout == "interleaved" else per_variant
    code = recorded(result, lambda save: shapes(cfg, names, conforming, rng, result, save),
                    lambda: write_json(OUT / "load.json", result),
                    lambda: record_stage("load", "load.json", result, summarise(cfg, result, names)))
    report(cfg, result, names)
    return code


def report(cfg: Config, result: dict, names: list) -> None:
    primary, figures, calibration = primary_figures(cfg, result, names)
    print(f"\nload: {result['status']} in {result['wall_s']:.0f} s ({cfg.mode}, {cfg.layout}"
          + (f", figures from the {result['primary_shape']} shape" if result["primary_shape"] else "") + ")")
    print(f"  {'variant':<26} {'server us':>10} {'CI95 +-%':>8} {'x floor':>16} {'x ' + PLANTED_IDIOM:>22} "
          f"{'req/s':>7} {'fail':>5}")
    for name, f in sorted(figures.items(), key=lambda kv: kv[1].get("rank") or 99):
        r, q = f["ratio_to_floor"], f["ratio_to_reference"]
        print(f"  {name:<26} {f['server_us']['p50']:>10.1f} {f['server_us']['ci_half_width_pct']:>8.2f} "
              f"{r['estimate']:>6.2f} [{r['ci95'][0]:.2f},{r['ci95'][1]:.2f}] "
              f"{q['estimate']:>9.3f} [{q['ci95'][0]:.3f},{q['ci95'][1]:.3f}] {f['rps']:>7.0f} {f['failures']:>5}")
    delta = result["shapes"][primary].get("delta") if primary else None
    if delta:
        print_deltas(figures, delta, calibration)
    for warning in result["warnings"]:
        print(f"  warning: {warning}")
    print(f"  targets: { {k: t['met'] for k, t in result['targets'].items()} }")
    print(f"wrote {OUT / 'load.json'}; headline figures in {OUT / 'summary.json'}")


def print_deltas(figures: dict, delta: dict, calibration: dict | None) -> None:
    """Per variant and status class: Δ µs of server time against jsonify_tuple [95% CI] and the verdict;
    then what the stage resolves and its A/A pair."""
    classes = delta["classes"]
    print(f"\n  Δ µs of server time per request against {delta['reference']}, same class and time window, "
          f"[95% CI] verdict (margin: " + ", ".join(f"{c} ±{delta['margin_us'][c]:.1f}" for c in classes) + " µs)")
    print(f"  {'variant':<24}" + "".join(f"  {c:<35}" for c in classes))
    for name, f in figures.items():
        cells = f.get("delta_us") or {}
        print(f"  {name:<24}" + "".join(
            f"  {'(reference)':<35}" if cells[c]["verdict"] == "reference" else
            f"  {cells[c]['estimate']:+6.1f} [{cells[c]['ci95'][0]:+6.1f},{cells[c]['ci95'][1]:+6.1f}] {cells[c]['verdict']:<10}"
            for c in classes if c in cells))
    detectable = {c: x for c, x in delta["minimum_detectable_us"].items() if x is not None}
    typical = delta.get("minimum_detectable_median_us") or {}
    line = (f"  HTTP: resolves differences of ≥ {max(detectable.values()):.1f} µs per request for every idiom "
            f"(minimum detectable at 95%, 80% power; per class, the largest over the idioms: "
            + ", ".join(f"{c} {x:.1f}" for c, x in detectable.items()) + " µs; the median idiom's: "
            + ", ".join(f"{c} {x:.1f}" for c, x in typical.items() if x is not None) + " µs)"
            ) if detectable else "  HTTP: no minimum detectable difference (fewer than two windows or processes)"
    aa = (calibration or {}).get("aa")
    if aa:
        line += (f"; A/A {aa['delta_us']:+.1f} µs [{aa['ci95'][0]:+.1f}, {aa['ci95'][1]:+.1f}] "
                 f"({aa['verdict']} within ±{aa['margin_us']:.1f} µs); per class "
                 + ", ".join(f"{c} {x['estimate']:+.1f} [{x['ci95'][0]:+.1f}, {x['ci95'][1]:+.1f}]"
                             for c, x in (delta.get("aa") or {}).items()))
    print(line)


if __name__ == "__main__":
    sys.exit(main())
