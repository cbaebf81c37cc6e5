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


def usable_cpus() -> list:
    """The CPUs this process may run on (``os.sched_getaffinity``), in order; [] where the platform cannot say."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def run_workers(module: str, jobs: list, rng, progress, what: str, prepare=None, parallel: int = 1) -> list:
    """Each job (a JSON-able dict) in a worker process of its own, ``python -m module JOB RESULT``, each with its own
    hash seed from ``rng`` (drawn in the jobs' order): the processes are the unit a stage's intervals are over.
    Returns their results in the jobs' order; a worker that fails is a ResultError naming ``what`` and its number,
    and stops the others. ``progress`` steps once per worker.

    ``parallel`` = 1: one after another, never two at once. ``parallel`` = n > 1: the first worker alone, then up
    to n at a time, each pinned to a CPU of its own (of ``usable_cpus``; as many at a time as there are, one after
    another on a single CPU). A worker's figures are ratios within its own rounds, milliseconds apart, so another
    worker on the other core moves both sides of each ratio; the request stage measured what it moves
    (``bench.request``). ``prepare(job, results)``, if given, makes each job from it and the results of the
    workers finished before it starts, in the jobs' order (the first one's always: it runs alone)."""
    import sys
    import tempfile
    from pathlib import Path

    from harness.results import ResultError, read_json, write_json

    cpus = usable_cpus()[:parallel] if parallel > 1 else []
    seeds = [str(int(rng.integers(1, 2**32 - 1))) for _ in jobs]
    results: list = [None] * len(jobs)
    running: dict = {}  # index -> (process, cpu or None)
    with tempfile.TemporaryDirectory(prefix=f"{module.rsplit('.', 1)[-1]}-") as tmp:
        def start(index: int, cpu) -> None:
            job_path, result_path = Path(tmp, f"job-{index}.json"), Path(tmp, f"result-{index}.json")
            done = [r for r in results if r is not None]
            write_json(job_path, prepare(jobs[index], done) if prepare else jobs[index])
            env = {**os.environ, "PYTHONHASHSEED": seeds[index]}
            pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
            running[index] = (subprocess.Popen([sys.executable, "-m", module, str(job_path), str(result_path)],
                                               env=env, preexec_fn=pin), cpu)

        def finish(index: int) -> None:
            process, _ = running.pop(index)
            if process.returncode != 0:
                raise ResultError(f"{what} worker {index + 1}/{len(jobs)} failed (exit code {process.returncode})")
            results[index] = read_json(Path(tmp, f"result-{index}.json"))
            progress.step(note=f"worker {index + 1}: {rounds_note(results[index])}")

        try:
            queue = list(range(len(jobs)))
            while queue or running:
                # until the first worker has finished, one slot; then one per CPU (or one, unpinned, without them)
                slots = cpus if cpus and results[0] is not None else [None]
                used = {cpu for _, cpu in running.values()}
                while queue and len(running) < len(slots):
                    cpu = next(c for c in slots if c not in used)
                    start(queue.pop(0), cpu)
                    used.add(cpu)
                ended = []
                while not ended:
                    ended = [i for i, (process, _) in running.items() if process.poll() is not None]
                    if not ended:
                        time.sleep(0.01)
                for index in sorted(ended):
                    finish(index)
        finally:
            for process, _ in running.values():  # a failure or an interrupt: stop the workers still running
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
    return results


def rounds_note(result: dict) -> str:
    """A worker's rounds for the progress line: ``rounds`` (a number), or per kind from its per-round times."""
    rounds = result.get("rounds")
    if rounds is None and isinstance(result.get("t_s"), dict):  # the microbenchmark's: per kind
        rounds = {kind: len(t) for kind, t in result["t_s"].items()}
    if isinstance(rounds, dict):
        return ", ".join(f"{n} {kind}" for kind, n in rounds.items()) + " rounds"
    return f"{rounds} rounds" if rounds is not None else "done"
