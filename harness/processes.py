"""Stopping what we started: a child started with ``start_new_session=True`` and its whole process group."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(process: subprocess.Popen, grace_s: float, signals=(signal.SIGTERM,)) -> None:
    """Send ``signals`` to the process group in turn, each given an equal share of ``grace_s`` to end
    it; SIGKILL whatever is left then. Returns once the process is reaped."""
    pgid = process.pid  # started with start_new_session=True: its pid is its group id
    share = grace_s / len(signals)
    for sig in signals:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        until = time.monotonic() + share
        while time.monotonic() < until:
            if process.poll() is not None and not group_alive(pgid):
                return
            time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


def run_workers(module: str, jobs: list, rng, progress, what: str, prepare=None) -> list:
    """Each job (a JSON-able dict) in a worker process of its own, ``python -m module JOB RESULT``, one after
    another (never two at once, so none times against another), each with its own hash seed from ``rng``:
    the processes are the unit a stage's intervals are over. Returns their results in order; a worker that
    fails is a ResultError naming ``what`` and its number. ``progress`` steps once per worker.
    ``prepare(job, results)``, if given, makes each job from it and the results of the workers before it."""
    import sys
    import tempfile
    from pathlib import Path

    from harness.results import ResultError, read_json, write_json

    results = []
    with tempfile.TemporaryDirectory(prefix=f"{module.rsplit('.', 1)[-1]}-") as tmp:
        for index, job in enumerate(jobs):
            job_path, result_path = Path(tmp, f"job-{index}.json"), Path(tmp, f"result-{index}.json")
            write_json(job_path, prepare(job, results) if prepare else job)
            env = {**os.environ, "PYTHONHASHSEED": str(int(rng.integers(1, 2**32 - 1)))}
            done = subprocess.run([sys.executable, "-m", module, str(job_path), str(result_path)], env=env)
            if done.returncode != 0:
                raise ResultError(f"{what} worker {index + 1}/{len(jobs)} failed (exit code {done.returncode})")
            result = read_json(result_path)
            results.append(result)
            progress.step(note=f"worker {index + 1}: {rounds_note(result)}")
    return results


def rounds_note(result: dict) -> str:
    """A worker's rounds for the progress line: ``rounds`` (a number), or per kind from its per-round times."""
    rounds = result.get("rounds")
    if rounds is None and isinstance(result.get("t_s"), dict):  # the microbenchmark's: per kind
        rounds = {kind: len(t) for kind, t in result["t_s"].items()}
    if isinstance(rounds, dict):
        return ", ".join(f"{n} {kind}" for kind, n in rounds.items()) + " rounds"
    return f"{rounds} rounds" if rounds is not None else "done"
