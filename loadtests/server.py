"""Start a server from ``loadtests.servers`` on 127.0.0.1, wait for it with a bound, and stop its whole
process group; and the loopback, process and memory checks the load test shares.

The listening socket is bound here and handed to the server by file descriptor, so a free port is
found without a race and a busy one is a clear error before anything starts.
"""
from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.cli import UsageError
from harness.processes import stop_group
from loadtests.servers import DEFAULT, SERVERS, ServerKind

HOST = "127.0.0.1"  # load, fault and stress traffic stays on this machine
STOP_GRACE_S = 3.0


class ServerError(Exception):
    """The server did not come up, or died."""


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    settings: dict
    log_path: str

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            with open(self.log_path, errors="replace") as f:
                return " | ".join(line.strip() for line in f.readlines()[-lines:])
        return ""


def require_loopback(url: str) -> str:
    """``url`` unchanged if its host is a loopback address; UsageError otherwise (traffic stays here)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)} if host else set()
    except OSError:
        addresses = set()
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise UsageError(f"host {host or url!r} is not a loopback address: load traffic goes only to {HOST}")
    return url


def group_pids(pgid: int) -> list:
    """The live processes of process group ``pgid`` (from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
    return sorted(pids)


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` (None if it is gone)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return None


def listening_socket(port: int = 0) -> socket.socket:
    """A TCP socket listening on 127.0.0.1:port (0: a free port chosen by the kernel)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port}: expected 0-65535")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as e:
        sock.close()
        raise UsageError(f"port {port} on {HOST} is not available ({e.strerror})") from None
    sock.listen(128)
    return sock


def pinned(command: list, cpu: int | None) -> list:
    """``command`` run under ``taskset -c cpu`` (unchanged for None)."""
    if cpu is None:
        return command
    if shutil.which("taskset") is None:
        raise UsageError("taskset not found (Debian package util-linux); cannot pin to a core")
    return ["taskset", "-c", str(cpu), *command]


def wait_ready(url_host: str, port: int, process: subprocess.Popen, path: str, timeout_s: float) -> None:
    """Until an HTTP request to ``path`` is answered; ServerError if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"server exited with code {process.returncode} before answering")
        conn = http.client.HTTPConnection(url_host, port, timeout=1.0)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            conn.close()
    raise ServerError(f"server did not answer on {url_host}:{port} within {timeout_s:.0f} s")


@contextlib.contextmanager
def serve(app_spec: str, *, server: ServerKind = SERVERS[DEFAULT], port: int = 0, cpu: int | None = None,
          env: dict | None = None, ready_path: str = "/", timeout_s: float | None = None, workers: int = 1):
    """Serve ``app_spec`` with ``server`` on 127.0.0.1 (pinned to ``cpu``, in its own process group);
    yields a Server once ``ready_path`` answers, and stops the whole group on exit."""
    sock = listening_socket(port)
    port = sock.getsockname()[1]
    settings = {"server": server.name, "app": app_spec, "bind": f"{HOST}:{port}", "workers": workers,
                **server.settings, "cpu": cpu}
    command = pinned(server.command(app_spec, sock.fileno(), workers), cpu)
    log = tempfile.NamedTemporaryFile(prefix=f"{server.name}-", suffix=".log", delete=False)
    try:
        process = subprocess.Popen(command, pass_fds=[sock.fileno()], start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env={**os.environ, **(env or {})})
    except BaseException:
        os.unlink(log.name)
        raise
    finally:
        sock.close()  # the server holds its own copy of the descriptor
        log.close()
    running = Server(f"http://{HOST}:{port}", port, process, settings, log.name)
    try:
        try:
            wait_ready(HOST, port, process, ready_path, timeout_s or server.ready_timeout_s)
        except ServerError as e:
            raise ServerError(f"{app_spec}: {e}; log: {running.log_tail()}") from None
        yield running
    finally:
        stop_group(process, STOP_GRACE_S)
        with contextlib.suppress(OSError):
            os.unlink(log.name)
