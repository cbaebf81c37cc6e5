"""What every result records: every installed distribution and the lock's hash, CPU, governor, git commit,
and steal/CPU time from /proc."""
from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # harness.results.ROOT; not imported, so the probe can use this module

LOCK = ROOT / "uv.lock"
# The distributions a reader looks for first (the report lists them by name, and counts the rest).
HEADLINE_PACKAGES = ("flask", "werkzeug", "flask-login", "orjson", "gunicorn", "locust", "pytest-benchmark", "numpy",
                     "scipy")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def installed_versions(names) -> dict:
    """Each distribution's installed version, None where it is not installed."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them: "Flask_Login" -> "flask-login"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions() -> dict:
    """Every distribution this interpreter can import from: normalized name -> version, sorted by name (where
    a name is installed twice, the one found first on sys.path, as import finds it)."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalized(name), dist.version)
    return dict(sorted(found.items()))


def lock_sha256(path: Path = LOCK) -> str | None:
    """The SHA-256 of uv.lock, the exact versions `make install` installed; None where there is no lock."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def environment(mode: str | None = None) -> dict:
    """The machine and software a result was measured on."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "packages": installed_distributions(),
        "lock_sha256": lock_sha256(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "kernel": platform.release(),
        "git_commit": git_commit(),
    }


@dataclass
class CpuSnapshot:
    """/proc/stat's aggregate CPU line at one moment, in clock ticks."""

    wall: float
    total: int
    steal: int
    idle: int

    @classmethod
    def now(cls) -> "CpuSnapshot":
        fields = [int(x) for x in (_read("/proc/stat") or "cpu 0 0 0 0 0 0 0 0").splitlines()[0].split()[1:]]
        fields += [0] * (8 - len(fields))
        # user nice system idle iowait irq softirq steal [guest guest_nice are inside user/nice]
        return cls(time.monotonic(), sum(fields[:8]), fields[7], fields[3] + fields[4])

    def since(self, earlier: "CpuSnapshot") -> dict:
        """Steal and busy time between two snapshots, as fractions of all CPU time."""
        total = max(self.total - earlier.total, 1)
        return {"seconds": round(self.wall - earlier.wall, 2),
                "steal_fraction": round((self.steal - earlier.steal) / total, 4),
                "busy_fraction": round(1 - (self.idle - earlier.idle) / total, 4)}


OTHER_WORK_CORES = 0.25  # busy CPU beyond a run's own processes that says other work ran alongside


def other_work_warnings(cpu: dict, own_cpu_s: float) -> list:
    """What a ``CpuSnapshot.since`` says about a run whose own processes used ``own_cpu_s`` CPU seconds in it (one
    core or several): the hypervisor took the CPU, or other work ran alongside (the busy CPU time beyond its own
    came to more than ``OTHER_WORK_CORES`` of a core on average)."""
    found = []
    if cpu["steal_fraction"] > 0.02:
        found.append(f"steal time was {100 * cpu['steal_fraction']:.1f}% of CPU time: the hypervisor took the CPU")
    cores = os.cpu_count() or 1
    seconds = max(cpu["seconds"], 1e-9)
    other = (cpu["busy_fraction"] * cores * seconds - own_cpu_s) / seconds
    if other > OTHER_WORK_CORES:
        found.append(f"the machine was {100 * cpu['busy_fraction']:.0f}% busy, {other:.2f} of its {cores} cores beyond "
                     f"this run's own processes: other work ran alongside")
    return found


def process_cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds a process has used (None if it is gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK
