"""One bounded locust run against a running server: starting locust (alone, or a master and workers),
watching both sides' CPU and the server's memory while it runs, and reading back its samples and CSV.

locust runs headless with ``loadtests/locustfile.py``, pinned to the load generator's core, every
process in its own process group (stopped on exit, failure or Ctrl-C). CPU and memory are read from
/proc at every poll; the measured span of a run is from ``warmup_s`` after its first answered request
to ``TAIL_S`` before its last, and CPU, memory and samples are all taken over that span.
"""
from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.environment import CpuSnapshot, process_cpu_seconds
from harness.processes import stop_group
from harness.results import OUT, ROOT, read_json
from loadtests.server import HOST, STOP_GRACE_S, ServerError, group_pids, listening_socket, pinned, require_loopback, rss_bytes

LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
# A run's measured span ends TAIL_S before its last answer (users stopping), at the last poll before that; the
# poll waits on locust's exit, so the next run starts as soon as it is done. Each second here is a second of the
# stage's time that measures nothing: per server process (2026-11-27, a full make load at 0d4c63f) 0.35 s to
# start the server, 0.45 s from locust's start to its first answer, 1.07 s of warm-up, 0.8 s of tail with polls
# every 0.5 s and 0.5 s trimmed, 0.7 s from the last answer to the poll that saw locust's exit, 0.25 s to stop
# the server: 3.6 s of every 11.7 s. With the exit awaited, polls every 0.25 s, TAIL_S 0.25 and 0.5 s of warm-up
# (``loadtests.run``): 2.15 s of every 7.2 s (24 x 6 s).
POLL_S = 0.25
TAIL_S = 0.25


class Locust:
    """locust headless (a lone process, or a master and ``workers`` workers), each in its own process group."""

    def __init__(self, url: str, targets: list, label: str, seconds: float, rate: float, out: Path,
                 cpu: int | None, users: int, workers: int, env: dict | None = None):
        self.samples = out / f"{label}_samples.json"
        self.csv, self.html = out / label, out / f"{label}.html"
        env = {**os.environ, "LOAD_PAYLOADS": "", "LOAD_PAYLOAD_EXPECT": "", **(env or {}),
               "LOAD_TARGETS": ",".join(targets), "LOAD_RATE": f"{rate:.3f}" if rate else "",
               "LOAD_SAMPLES": str(self.samples), "PYTHONUNBUFFERED": "1"}
        locust = [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE)]
        main = [*locust, "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds:.0f}s",
                "--host", require_loopback(url), "--csv", str(self.csv), "--html", str(self.html),
                "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
        self.log = out / f"{label}_locust.log"
        self.processes = []
        log = open(self.log, "w")
        try:
            if workers:
                sock = listening_socket(0)  # a free port for the master, on loopback
                port = sock.getsockname()[1]
                sock.close()
                main += ["--master", "--master-bind-host", HOST, "--master-bind-port", str(port),
                         "--expect-workers", str(workers), "--expect-workers-max-wait", "20"]
                self._start(pinned(main, cpu), env, log)
                for _ in range(workers):
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
            stop_group(process, STOP_GRACE_S)

    def log_tail(self, lines: int = 3) -> str:
        try:
            return " | ".join(x.strip() for x in self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass(frozen=True)
class Snapshot:
    """What both sides had used at wall time ``t``: taken every poll, so the measured span can be chosen
    after the run, from the samples."""

    t: float
    cpu: CpuSnapshot  # the machine's (steal time)
    generator_s: float  # CPU seconds of every locust process
    server_s: float  # CPU seconds of the server's process group
    rss: int  # the server's workers' resident memory (its master's where it has no workers)

    @classmethod
    def now(cls, locust: Locust, server_pgid: int) -> Snapshot:
        pids = group_pids(server_pgid)
        workers = [p for p in pids if p != server_pgid] or [server_pgid]
        return cls(time.time(), CpuSnapshot.now(), locust.cpu_seconds(),
                   sum(process_cpu_seconds(p) or 0.0 for p in pids), sum(rss_bytes(p) or 0 for p in workers))


def run_locust(server, targets: list, label: str, seconds: float, rate: float, out: Path, *, cpu: int | None,
               users: int, workers: int, warmup_s: float, progress, env: dict | None = None) -> dict:
    """One locust run of ``seconds`` against ``server`` (``rate``: requests per second per user, 0: as fast
    as it goes); the raw samples, locust's stats and what both sides used in the measured span.
    Steps ``progress`` by the run's whole seconds. ``env``: the locustfile's payload mode (LOAD_PAYLOADS,
    LOAD_PAYLOAD_EXPECT; off without it, whatever this process's environment says)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / f"{label}_samples.json", out / f"{label}_stats.csv"):
        stale.unlink(missing_ok=True)
    locust = Locust(server.url, targets, label, seconds, rate, out, cpu, users, workers, env)
    started = time.monotonic()
    deadline = started + seconds + 30 + 10 * workers  # start-up, stop and writing, bounded
    snapshots, counted = [], 0
    server_pgid = server.process.pid
    try:
        while locust.master.poll() is None:
            now = time.monotonic() - started
            if not server.alive():
                raise ServerError(f"the server died during the {label} run (exit code "
                                  f"{server.process.returncode}); log: {server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerError(f"locust did not finish the {label} run within {deadline - started:.0f} s; "
                                  f"log: {locust.log_tail()}")
            snapshots.append(Snapshot.now(locust, server_pgid))
            whole = int(min(now, seconds))
            if whole > counted:
                progress.step(whole - counted, note=f"{label}, load generator at "
                                                    f"{locust.cpu_seconds() / max(now, 1e-3):.0%} of a core")
                counted = whole
            with contextlib.suppress(subprocess.TimeoutExpired):
                locust.master.wait(timeout=POLL_S)
    finally:
        locust.stop()
    if int(seconds) > counted:
        progress.step(int(seconds) - counted, note=label)
    if locust.master.returncode != 0:
        raise ServerError(f"locust exited with code {locust.master.returncode} in the {label} run; "
                          f"log: {locust.log_tail()}")
    samples = read_json(locust.samples) if locust.samples.exists() else {"samples": []}
    times = [row[0] for row in samples["samples"]]
    # The span starts warmup_s after the first answered request, not after locust started: locust takes a
    # second to start, and its workers several more to join a master, before the first request.
    first, last = (min(times) + min(warmup_s, seconds / 4), max(times) - TAIL_S) if times else (0.0, 0.0)
    inside = [s for s in snapshots if first <= s.t <= last]
    if len(inside) < 2:
        raise ServerError(f"the {label} run ended early, without samples; log: {locust.log_tail()}")
    begin, end = inside[0], inside[-1]
    wall = end.t - begin.t
    stats_csv = Path(f"{locust.csv}_stats.csv")
    return {"samples": samples, "from": begin.t, "to": end.t, "seconds": seconds,
            "generator_cpu": round((end.generator_s - begin.generator_s) / wall, 3),
            "server_cpu": round((end.server_s - begin.server_s) / wall, 3),
            "server_cpu_s": end.server_s - begin.server_s, "steal_fraction": end.cpu.since(begin.cpu)["steal_fraction"],
            "rss_bytes": [s.rss for s in inside], "stats": locust_stats(stats_csv),
            "files": [str(p.relative_to(OUT)) for p in (stats_csv, locust.html, Path(f"{locust.csv}_failures.csv"))
                      if p.exists()]}


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
