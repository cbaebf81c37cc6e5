"""The WSGI servers the load test can run: one entry each, read by ``loadtests.server.serve``.

An entry says how to start the server on a socket that is already bound (``server.py`` binds it on
127.0.0.1 and passes its file descriptor, so the port is free and known before the server starts),
what the results record about it, and how long it may take to answer. Adding a server is one entry
here; ``make load LOAD_SERVER=<name>`` picks it.
"""
from __future__ import annotations

import sys
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


SERVERS = {s.name: s for s in (
    ServerKind("gunicorn_sync", gunicorn_sync,
               {"worker_class": "sync", "access_log": False, "graceful_timeout_s": 2}),
)}
DEFAULT = "gunicorn_sync"


def server_kind(name: str) -> ServerKind:
    """The entry called ``name``; a UsageError naming the known ones otherwise."""
    try:
        return SERVERS[name]
    except KeyError:
        raise UsageError(f"LOAD_SERVER={name!r}: unknown server; expected one of {', '.join(SERVERS)}") from None
