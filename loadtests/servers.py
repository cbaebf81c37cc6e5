"""The WSGI servers the load test can run: one entry each, read by ``loadtests.server.serve``.

An entry says how to start the server on a socket that is already bound (``server.py`` binds it on
127.0.0.1 and passes its file descriptor, so the port is free and known before the server starts),
what the results record about it, and how long it may take to answer. Adding a server is one entry
here; ``make load LOAD_SERVER=<name>`` picks it, and ``make deploy`` (``bench/deploy.py``) runs each.

gunicorn takes the descriptor itself (``fd://N``). waitress and granian do not on their command
lines, so they start through this module (``python -m loadtests.servers NAME FD APP_SPEC WORKERS``):
waitress is handed the bound socket through its Python API; granian binds by address only, so the
launcher reads the port from the descriptor, lets it go and starts granian on 127.0.0.1 at that port
(in the same process, so the process group and the CPU accounting are unchanged).
"""
from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from harness.cli import UsageError


@dataclass(frozen=True)
class ServerKind:
    name: str
    command: Callable[[str, int, int], list]  # (app spec "module:callable()", bound socket fd, workers) -> argv
    settings: dict = field(default_factory=dict)  # recorded with the results, beside app, bind, workers, cpu
    ready_timeout_s: float = 20.0  # from start until it answers an HTTP request


def gunicorn_sync(app_spec: str, fd: int, workers: int) -> list:
    return [sys.executable, "-m", "gunicorn", "--bind", f"fd://{fd}", "--workers", str(workers),
            "--worker-class", "sync", "--graceful-timeout", "2", "--log-level", "warning", app_spec]


GTHREAD_THREADS = 4
WAITRESS_THREADS = 4


def gunicorn_gthread(app_spec: str, fd: int, workers: int) -> list:
    return [sys.executable, "-m", "gunicorn", "--bind", f"fd://{fd}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(GTHREAD_THREADS), "--graceful-timeout", "2",
            "--log-level", "warning", app_spec]


def launched(name: str) -> Callable[[str, int, int], list]:
    """The argv of a server started through this module's launcher (below)."""

    def command(app_spec: str, fd: int, workers: int) -> list:
        return [sys.executable, "-m", "loadtests.servers", name, str(fd), app_spec, str(workers)]

    command.__name__ = name
    return command


SERVERS = {s.name: s for s in (
    ServerKind("gunicorn_sync", gunicorn_sync,
               {"worker_class": "sync", "access_log": False, "graceful_timeout_s": 2}),
    ServerKind("gunicorn_gthread", gunicorn_gthread,
               {"worker_class": "gthread", "threads": GTHREAD_THREADS, "access_log": False, "graceful_timeout_s": 2}),
    ServerKind("waitress", launched("waitress"),
               {"threads": WAITRESS_THREADS, "access_log": False, "socket": "the bound descriptor (waitress.serve sockets=)"}),
    ServerKind("granian", launched("granian"),
               {"interface": "wsgi", "runtime_threads": 1, "blocking_threads": 1, "access_log": False,
                "socket": "rebinds the descriptor's 127.0.0.1 port (granian binds by address)"}),
)}
DEFAULT = "gunicorn_sync"


def server_kind(name: str) -> ServerKind:
    """The entry called ``name``; a UsageError naming the known ones otherwise."""
    try:
        return SERVERS[name]
    except KeyError:
        raise UsageError(f"LOAD_SERVER={name!r}: unknown server; expected one of {', '.join(SERVERS)}") from None


# ----------------------------------------------------------------------------- the launchers
def load_app(app_spec: str):
    """The WSGI callable named by ``module:callable()`` (a factory, called) or ``module:name``."""
    from importlib import import_module

    module, _, target = app_spec.partition(":")
    factory = target.endswith("()")
    obj = getattr(import_module(module), target[:-2] if factory else target)
    return obj() if factory else obj


def port_of(fd: int) -> int:
    with socket.socket(fileno=os.dup(fd)) as sock:
        return sock.getsockname()[1]


def free_again(port: int, timeout_s: float = 5.0) -> None:
    """Wait until ``port`` on 127.0.0.1 can be bound (the harness's copy of the socket is closed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
        finally:
            probe.close()


def run_waitress(fd: int, app_spec: str, workers: int) -> None:
    """One process with WAITRESS_THREADS threads (waitress has no worker processes: ``workers`` must be 1)."""
    import waitress

    if workers != 1:
        sys.exit(f"waitress runs one process; workers={workers} is not supported")

    sock = socket.socket(fileno=fd)
    waitress.serve(load_app(app_spec), sockets=[sock], threads=WAITRESS_THREADS, ident="waitress")


def run_granian(fd: int, app_spec: str, workers: int) -> None:
    port = port_of(fd)
    os.close(fd)
    free_again(port)
    module, _, target = app_spec.partition(":")
    factory = target.endswith("()")
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--runtime-threads", "1", "--blocking-threads", "1", "--no-ws",
            "--log-level", "warning", "--no-access-log", *(["--factory"] if factory else []),
            f"{module}:{target[:-2] if factory else target}"]
    os.execv(sys.executable, argv)


LAUNCHERS = {"waitress": run_waitress, "granian": run_granian}

if __name__ == "__main__":  # python -m loadtests.servers NAME FD APP_SPEC WORKERS (started by loadtests.server)
    name, fd, spec, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    LAUNCHERS[name](fd, spec, count)
