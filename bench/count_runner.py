"""Running ``make count``'s jobs (``bench.count_plan``): each a process group in the fixed environment, with a
timeout and progress, several at a time; all stopped on an interrupt."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench.count_plan import BYTECODE, WORKER, Job, command
from harness.processes import stop_group
from harness.progress import Progress
from harness.results import ROOT

STOP_GRACE_S = 5.0


class Runner:
    """Runs jobs in parallel, each as a process group with a timeout; stops them all on interrupt."""

    def __init__(self, valgrind: str | None, folder: Path, bytecode: Path = BYTECODE):
        self.valgrind, self.folder, self.bytecode = valgrind, folder, bytecode
        self.running: set = set()
        self.lock = threading.Lock()
        self.priming_lock = threading.Lock()
        self.primed: set = set()
        self.stopping = False

    def start(self, *args, **kwargs) -> subprocess.Popen | None:
        """``subprocess.Popen`` in a session of its own, counted as running; None once ``stop_all`` was called, so that
        a job whose thread was between two processes when the stage was interrupted starts nothing more."""
        with self.lock:
            if self.stopping:
                return None
            process = subprocess.Popen(*args, **kwargs, start_new_session=True)
            self.running.add(process)
            return process

    def prime(self, job: Job) -> None:
        """Before a job's first process: its ``priming`` job natively, writing what it compiles to the bytecode folder,
        so that every counted process reads the same compiled modules (``count_plan.fixed_environment``) whatever was
        or is being cached elsewhere. Once per variants, classes and route; jobs wait for it. A failure is not
        raised here: the job itself then fails and says why."""
        first = job.priming()
        key = first.worker_input()
        with self.priming_lock:
            if key in self.primed:
                return
            env = {k: v for k, v in first.environment(self.bytecode).items() if k != "PYTHONDONTWRITEBYTECODE"}
            process = self.start(WORKER, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if process is None:
                return
            try:
                process.communicate(key, timeout=first.timeout_s())
            except subprocess.TimeoutExpired:
                stop_group(process, STOP_GRACE_S)
            finally:
                with self.lock:
                    self.running.discard(process)
            self.primed.add(key)

    def run(self, job: Job, index: int, progress: Progress | None = None) -> dict:
        """{"job", "events" (the worker's JSON lines), "folder" (valgrind's logs), "problem", "seconds"}."""
        folder = self.folder / f"{job.kind}-{index}"
        folder.mkdir()
        if progress is not None:
            progress.begin()  # a job that waited in the pool's queue: the time left counts from its start
        events, started = [], time.monotonic()
        self.prime(job)
        with open(folder / "stderr", "w") as errors:
            process = self.start(command(self.valgrind, job, folder), cwd=ROOT, env=job.environment(self.bytecode),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
            if process is None:
                return {"job": job, "events": [], "folder": folder, "problem": "stopped before it started",
                        "seconds": 0.0}
            timed_out = threading.Event()

            def expire():
                timed_out.set()
                stop_group(process, STOP_GRACE_S)

            timer = threading.Timer(job.timeout_s(), expire)
            timer.start()
            try:
                process.stdin.write(job.worker_input())
                process.stdin.close()
                for line in process.stdout:
                    try:
                        event = json.loads(line)
                    except ValueError:  # not the worker's (a library printing): ignored
                        continue
                    events.append(event)
                    if progress and (event["event"] == "native" or (event["event"] == "forked" and event["class"])):
                        with self.lock:
                            progress.step(note=f"{job.kind}: {event['variant']} {event['class']}")
                code = process.wait()
            finally:
                timer.cancel()
                with self.lock:
                    self.running.discard(process)
        problem = None
        if timed_out.is_set():
            problem = f"timed out after {job.timeout_s():.0f} s; stopped"
        elif code != 0 or any(e["event"] in ("error", "failed") for e in events):
            detail = [e.get("error") or f"{e.get('variant')} exited {e.get('exit')}" for e in events
                      if e["event"] in ("error", "failed")]
            tail = (folder / "stderr").read_text().strip().splitlines()[-1:]
            problem = "; ".join(detail + tail) or f"exit code {code}"
        return {"job": job, "events": events, "folder": folder, "problem": problem,
                "seconds": round(time.monotonic() - started, 1)}

    def stop_all(self) -> None:
        """Stop every process running and start no more."""
        with self.lock:
            self.stopping = True
            running = list(self.running)
        for process in running:
            stop_group(process, STOP_GRACE_S)


def valgrind_version() -> str | None:
    path = shutil.which("valgrind")
    if not path:
        return None
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
