"""Result files: written atomically, read with corruption reported, indexed by one summary.

Every stage writes its own file through ``record_stage`` (the one copy of its results, with a schema
version); ``reports/out/summary.json`` holds the run, the stages (status, file, schema) and headline
figures only. Histories of runs are appended through ``append_history``. The schemas are in
``harness.schemas``; the report reads everything through ``reports.data``.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("FLASK_IDIOMS_OUT", ROOT / "reports" / "out"))
PUBLISHED = ROOT / "reports" / "published"  # the committed report and its data (make publish)
SUMMARY = "summary.json"
# the histories of runs, one record a run: the between-run spread is read from them
HISTORIES = ("request_history.json", "micro_history.json", "pytest_benchmark_history.json")


class ResultError(Exception):
    """A result file that cannot be read or is not valid JSON."""


def write_json(path: Path | str, obj) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide results from other readers
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=False, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def read_json(path: Path | str):
    """The JSON in ``path``; ResultError (with the path and the reason) if it is unreadable or corrupt."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ResultError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ResultError(f"{path}: not valid JSON, perhaps truncated ({e})") from None


def read_optional(path: Path | str, warn=True):
    """Like read_json, but None for a missing file and, with a warning, for a corrupt one."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return read_json(path)
    except ResultError as e:
        if warn:
            print(f"warning: ignoring {e}", file=sys.stderr)
        return None


def _deep_merge(into: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
    return into


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def merge_summary(update: dict, out: Path | None = None) -> Path:
    """Deep-merge ``update`` into ``summary.json`` (a corrupt summary is reported and replaced)."""
    path = Path(out or OUT) / SUMMARY
    with _locked(path):
        current = read_optional(path)
        if current is not None and not isinstance(current, dict):
            print(f"warning: ignoring {path}: not a JSON object", file=sys.stderr)
            current = None
        return write_json(path, _deep_merge(current or {}, update))


def record_stage(stage: str, file_name: str, data: dict, headline: dict | None = None,
                 out: Path | None = None) -> Path:
    """Write a stage's results to ``file_name`` (atomically; ``data`` carries its ``schema``) and index them
    in summary.json: the stage's file, schema, status and start, plus ``headline`` (small figures under
    ``variants.<name>.<stage>`` and ``calibration.<stage>``, never the results themselves)."""
    if "schema" not in data:
        raise ValueError(f"{file_name}: a result file must carry its schema version")
    folder = Path(out or OUT)
    path = write_json(folder / file_name, data)
    entry = {"file": file_name, "schema": data["schema"], "status": data.get("status", "ok"),
             "started": data.get("started") or data.get("date")}
    merge_summary({"stages": {stage: entry}, **(headline or {})}, out=folder)
    return path


HISTORY_KEEP = 50  # runs a history file keeps, the newest


def history_runs(path: Path | str) -> list:
    """The runs of the ``{"runs": [...]}`` file at ``path``: [] if it is absent (a corrupt one is reported)."""
    history = read_optional(Path(path))
    runs = history.get("runs") if isinstance(history, dict) else None
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def append_history(path: Path | str, record: dict, keep: int = HISTORY_KEEP) -> Path:
    """Append ``record`` to the ``{"runs": [...]}`` file at ``path``, keeping the last ``keep`` runs
    (a corrupt history is reported and started anew)."""
    path = Path(path)
    with _locked(path):
        return write_json(path, {"runs": (history_runs(path) + [record])[-keep:]})


def seed_histories(out: Path | None = None, published: Path = PUBLISHED) -> dict:
    """Start each history that ``out`` does not have from the published one (a fresh clone's first ``make bench``
    joins the published record, so its report gives the spread over those runs and its own); the runs copied,
    by file. A history ``out`` already has is left as it is."""
    folder, copied = Path(out or OUT), {}
    for name in HISTORIES:
        runs = history_runs(published / name) if not (folder / name).exists() else []
        if runs:
            write_json(folder / name, {"runs": runs})
            copied[name] = len(runs)
    return copied


def merged_runs(*histories: list, keep: int = HISTORY_KEEP) -> list:
    """The runs of several histories of the same file, each run once (the same record in two of them is one
    run), in the order they started (``started``, or ``date``; stable for records without either), the last
    ``keep``: a published history and a clone's own runs, without losing either's."""
    seen, runs = set(), []
    for run in (r for history in histories for r in history):
        key = json.dumps(run, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            runs.append(run)
    runs.sort(key=lambda r: str(r.get("started") or r.get("date") or ""))
    return runs[-keep:]
