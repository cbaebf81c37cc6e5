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
