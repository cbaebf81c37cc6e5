"""What ``make count`` (``bench.counts``) runs: its two modes, the fixed environment, and the jobs, each one root
process of ``bench.count_worker`` with the command that starts it."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = "flask-json-idioms/counts/2"
REFERENCE = "jsonify_tuple"  # every delta is taken against it, on the same class
HEADLINE_SEED = 0  # PYTHONHASHSEED of the headline counts
PRIMING_SEED = 0  # the one hash seed the bytecode is compiled under (a set constant's order in it follows the seed)
SPREAD_SEEDS = (1, 2, 3)  # a full run's other seeds
ATTRIBUTE_PCT = 2.0  # attribute differences larger than this
INSTALL_HINT = "Debian/Ubuntu: apt-get install valgrind"
# Per request, generous, for the timeouts: seconds under each tool (None: natively).
SECONDS_PER_REQUEST = {"cachegrind": 0.012, "memcheck": 0.03, "callgrind": 0.03, None: 0.002}
# The compiled modules the counted processes read (``fixed_environment``): a folder of their own, out of git.
BYTECODE = Path(__file__).resolve().parent.parent / ".cache" / "count-bytecode"


SIZE_N = {"size_100b": 30, "size_1kb": 15, "size_10kb": 5, "size_100kb": 1, "size_1mb": 1}


@dataclass(frozen=True)
class Mode:
    name: str
    n: int  # requests in each counting process (instructions)
    warmup: int  # rounds of every class's request before counting
    spread_seeds: tuple  # the other hash seeds some cells are counted on too
    spread_variants: tuple  # those cells' idioms
    spread_classes: tuple  # and classes (empty: all)
    alloc_n: int  # requests in each counting process under memcheck (allocations)
    attribution_cells: int  # cells run under callgrind (0: none)
    attribution_n: int
    requests: dict = field(default_factory=dict)  # the native measurement's requests per class
    chunks: int = 2  # valgrind processes the headline counts (and the allocation counts) are split into
    sizes: tuple = ()  # the payload size entries counted (``GET /api/payload/<entry>``, bench.payload_semantics)
    size_variants: tuple = ()  # on these idioms (empty: every one counted)
    # requests per size count: a count is the same to the instruction from run to run, but the first requests after
    # the fork cost more (~90,000 instructions in all, lazy set-up: size_100b counted 709,055 per request at n = 1
    # and 616,000 at n = 50): more requests where they are cheap under valgrind (that share stays under ~1%),
    # one for 100 KB (18 M instructions, ~0.4 s under valgrind)
    size_n: dict = field(default_factory=lambda: dict(SIZE_N))


QUICK = Mode("quick", n=12, warmup=3, spread_seeds=(), spread_variants=(), spread_classes=(), alloc_n=4,
             attribution_cells=0, attribution_n=0,
             requests={"gc_requests": 200, "trace_requests": 10, "profile_requests": 3}, chunks=1,
             sizes=("size_100b", "size_10kb", "size_100kb"), size_variants=(REFERENCE, "dict_return", "orjson_response"),
             size_n={"size_100b": 20, "size_10kb": 5, "size_100kb": 1})
FULL = Mode("full", n=200, warmup=20, spread_seeds=SPREAD_SEEDS,
            spread_variants=(REFERENCE, "abort_response", "orjson_response"), spread_classes=(), alloc_n=40,
            attribution_cells=6, attribution_n=100,
            requests={"gc_requests": 2000, "trace_requests": 20, "profile_requests": 10},
            sizes=("size_100b", "size_1kb", "size_10kb", "size_100kb"))


def left_out(mode: Mode) -> list:
    """What ``mode`` measures less of than a full run (left out, or less of it), in words, for the result
    (nothing for a full run)."""
    found = []
    full_spread = (f"a full run: seeds {', '.join(map(str, FULL.spread_seeds))} on "
                   f"{', '.join(FULL.spread_variants)}, every class")
    if not mode.spread_seeds:
        found.append(f"the seed spread ({full_spread})")
    elif (set(mode.spread_seeds) < set(FULL.spread_seeds) or set(mode.spread_variants) < set(FULL.spread_variants)
          or (mode.spread_classes and not FULL.spread_classes)):
        found.append(f"the seed spread only on {', '.join(mode.spread_variants)}, seed "
                     f"{', '.join(map(str, mode.spread_seeds))} ({full_spread})")
    if mode.attribution_cells < FULL.attribution_cells:
        found.append("the attribution (a full run profiles the largest differences under callgrind)")
    if not mode.sizes:
        found.append(f"instructions per payload size (a full run: {', '.join(FULL.sizes)}, every idiom)")
    elif set(mode.sizes) < set(FULL.sizes) or (mode.size_variants and not FULL.size_variants):
        found.append(f"instructions per payload size only on {', '.join(mode.size_variants) or 'every idiom'} at "
                     f"{', '.join(mode.sizes)} (a full run: {', '.join(FULL.sizes)}, every idiom)")
    if mode.n < FULL.n or mode.alloc_n < FULL.alloc_n:
        found.append(f"requests: {mode.n} per count and {mode.alloc_n} per allocation count (a full run: {FULL.n} "
                     f"and {FULL.alloc_n}), so a count can differ from a full run's by a few tenths of a percent")
    return found


def fixed_environment(seed: int, allocator: str | None = None, bytecode: Path = BYTECODE) -> dict:
    """The whole environment a counted process starts with (its variables move counts by ~0.5%);
    ``allocator``: PYTHONMALLOC (``malloc`` under memcheck, so that every Python allocation is a heap block it counts).

    Its compiled modules come from ``bytecode`` only (PYTHONPYCACHEPREFIX; the runner fills it before a job starts) and
    it writes none: whether a module is read compiled or compiled from its source moves the count by ~20 million
    instructions, so a ``__pycache__`` that another process writes meanwhile (make test's other workers, in a fresh
    clone) must not be seen."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": str(seed), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPYCACHEPREFIX": str(bytecode)}
    return {**env, "PYTHONMALLOC": allocator} if allocator else env


@dataclass
class Job:
    """One root process of the worker: ``tool`` cachegrind, memcheck, callgrind or None (natively)."""
    kind: str  # "headline", "spread", "allocations", "attribution", "native" or "sizes" (payload size entries)
    tool: str | None
    seed: int
    plan: list  # [{"variant", "classes"}]
    n: int = 0
    warmup: int = 20
    requests: dict = field(default_factory=dict)
    per_class_n: dict = field(default_factory=dict)  # class -> its n, where it is not ``n`` (the payload sizes)

    @property
    def cells(self) -> int:
        return sum(len(p["classes"]) for p in self.plan)

    def environment(self, bytecode: Path = BYTECODE) -> dict:
        return fixed_environment(self.seed, "malloc" if self.tool == "memcheck" else None, bytecode)

    def priming(self) -> Job:
        """The same variants, classes and route in the same mode, one request each: run natively with writing
        allowed (``Runner``), it leaves in the bytecode folder every module this job's processes import."""
        return Job(self.kind, self.tool or "cachegrind", PRIMING_SEED, self.plan, n=1, warmup=1,
                   per_class_n={c: 1 for c in self.per_class_n})

    def timeout_s(self) -> float:
        """Generous: a slow machine must not lose a run (one job took 68 s with both cores busy), a hung one
        must not hold the stage."""
        return 150 + 12 * len(self.plan) + self.cells * max(self.n, 1) * SECONDS_PER_REQUEST[self.tool] * 3

    def worker_input(self) -> bytes:
        """One line per variant: the worker forks a child for each."""
        return "".join(json.dumps({"mode": "native" if self.tool is None else "count", **item, "n": self.n,
                                   "warmup": self.warmup, "requests": self.requests,
                                   **({"payload": True, "per_class_n": self.per_class_n} if self.kind == "sizes"
                                      else {})}) + "\n"
                       for item in self.plan).encode()


WORKER = [sys.executable, "-m", "bench.count_worker"]


def command(valgrind: str | None, job: Job, folder: Path) -> list:
    python = WORKER
    if job.tool is None:
        return python
    out = {"cachegrind": ["--cache-sim=no", "--cachegrind-out-file=/dev/null"],
           # only its count of heap blocks is read ("total heap usage"): every check it need not make is off
           "memcheck": ["--undef-value-errors=no", "--leak-check=no", "--keep-stacktraces=none", "--freelist-vol=0"],
           "callgrind": ["--separate-recs=1", f"--callgrind-out-file={folder}/cg.%p"]}[job.tool]
    return [valgrind, f"--tool={job.tool}", *out, f"--log-file={folder}/vg.%p", *python]


def chunked(items: list, chunks: int) -> list:
    """The items dealt round-robin into ``chunks`` lists (each a separate valgrind process)."""
    return [items[i::chunks] for i in range(chunks) if items[i::chunks]]


def plan_jobs(mode: Mode, names: list, classes: list) -> tuple[list, list]:
    """(headline jobs, the other jobs that do not depend on the headline), the longest first in each."""
    every = [{"variant": v, "classes": classes} for v in names]
    headline = [Job("headline", "cachegrind", HEADLINE_SEED, chunk, mode.n, mode.warmup)
                for chunk in chunked(every, mode.chunks)]
    allocations = [Job("allocations", "memcheck", HEADLINE_SEED, chunk, mode.alloc_n, mode.warmup)
                   for chunk in chunked(every, mode.chunks)]
    spread_names = [v for v in mode.spread_variants if v in names] or names[:1]
    spread_classes = [c for c in classes if not mode.spread_classes or c in mode.spread_classes] or classes[:1]
    spread = [Job("spread", "cachegrind", seed, [{"variant": v, "classes": spread_classes} for v in spread_names],
                  mode.n, mode.warmup) for seed in mode.spread_seeds]
    # natively a process starts in a blink: two, so that they fill in beside the longer valgrind jobs
    native = [Job("native", None, HEADLINE_SEED, chunk, warmup=mode.warmup, requests=mode.requests)
              for chunk in chunked(every, 2)]
    size_names = [v for v in names if not mode.size_variants or v in mode.size_variants]
    # the payload sizes: one warm-up round after the request that checks each answer (a 100 KB body is ~18 M
    # instructions): the full run's added time stays within its budget
    sizes = [Job("sizes", "cachegrind", HEADLINE_SEED, chunk, max(mode.size_n[e] for e in mode.sizes), 1,
                 per_class_n={e: mode.size_n[e] for e in mode.sizes})
             for chunk in chunked([{"variant": v, "classes": list(mode.sizes)} for v in size_names], mode.chunks)
             ] if mode.sizes else []
    return headline, allocations + spread + sizes + native


def plan_attribution(mode: Mode, cells: list, classes: list) -> list:
    """callgrind jobs for ``cells`` [(variant, class)] and the reference on the same classes."""
    if not cells:
        return []
    wanted: dict = {REFERENCE: sorted({c for _, c in cells}, key=classes.index)}
    for v, c in cells:
        wanted.setdefault(v, []).append(c)
    plan = [{"variant": v, "classes": cs} for v, cs in wanted.items()]
    return [Job("attribution", "callgrind", HEADLINE_SEED, chunk, mode.attribution_n, mode.warmup)
            for chunk in chunked(plan, mode.chunks)]
