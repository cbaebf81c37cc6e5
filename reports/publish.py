"""``make publish``: a full run's report and raw data, copied into ``reports/published/`` (committed).

Refuses (exit 2, one line) unless ``reports/out/summary.json`` is from a full run (``run.mode`` is
"full"): a quick pass is not the answer to publish; and unless the git work tree is clean (no change to
a tracked file, committed or not; untracked files do not count): the published summary.json records the
commit it was published from (``published.commit``), and the report states it, so that commit must be
exactly the code and settings in the tree. Then it copies the raw JSON files beside the
report into ``reports/published/`` and renders the report there from those copies, so every link in
the published REPORT.md points at a file that is published with it. Files over ``MAX_BYTES`` are
not published as they are (``summary.json`` and ``conformance.json`` always are): ``micro.json`` loses its per-round samples (``rounds``; the estimates,
CIs and per-worker medians stay, and the file says what was left out), ``request.json`` its workers' per-round
times (``trimmed_request``), any other one is left out
and the published summary.json says so (``published.omitted``), as does the report. ``compat/`` (raw captures per Flask release) and locust's CSV
summaries are copied too; locust's HTML pages are not. The run histories (``HISTORIES``) are published as the union
of the runs already published and the run's own, each run once, so a fresh clone's first publication keeps the record.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from harness.cli import UsageError, entry_point
from harness.results import HISTORIES, OUT, PUBLISHED, ROOT, history_runs, merge_summary, merged_runs, read_json, write_json
from reports.data import FILES, Results
from reports.render import render

REPO = ROOT  # the work tree whose commit a publication records
MAX_BYTES = 2 * 1024 * 1024
ALWAYS = ("summary.json", "conformance.json")  # the report cannot be rendered without them, whatever their size


def check_full_run(results: Path) -> dict:
    path = results / "summary.json"
    if not path.exists():
        raise UsageError(f"{path} not found: run `make bench` (a full run, without QUICK=1) before `make publish`")
    summary = read_json(path)
    mode = (summary.get("run") or {}).get("mode") if isinstance(summary, dict) else None
    if mode != "full":
        raise UsageError(f"{path} is from a {mode or 'unknown'} run, not a full one: run `make bench` without QUICK=1 "
                         f"before `make publish`")
    return summary


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UsageError(f"cannot run git in {repo} ({e}): `make publish` records the commit it publishes from") from None


def clean_commit(repo: Path) -> dict:
    """The commit checked out in ``repo`` (``commit``, ``short``); UsageError if a tracked file differs from it."""
    head = _git(repo, "rev-parse", "HEAD")
    if head.returncode != 0:
        why = (head.stderr.strip().splitlines() or ["no commit"])[0]
        raise UsageError(f"{repo} is not a git work tree with a commit ({why}): `make publish` records the commit it "
                         f"publishes from")
    changed = _git(repo, "status", "--porcelain", "--untracked-files=no").stdout.splitlines()
    if changed:
        paths = [line[3:] for line in changed]
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        raise UsageError(f"the work tree has uncommitted changes to {len(paths)} tracked file(s) ({shown}): commit them "
                         f"first, so that the published report names the commit it is from")
    commit = head.stdout.strip()
    return {"commit": commit, "short": _git(repo, "rev-parse", "--short", "HEAD").stdout.strip() or commit[:7]}


def trimmed_micro(path: Path) -> dict:
    micro = read_json(path)
    rounds = micro.pop("rounds", None)
    if rounds is not None:
        micro["omitted"] = (f"the per-round samples (`rounds`, {path.stat().st_size / 2**20:.1f} MB with them) are not "
                            f"published; a `make bench` run writes them to reports/out/micro.json")
    return micro


def trimmed_request(path: Path) -> dict:
    """request.json without each worker's per-round times (``raw.workers[].per_call_ns`` and ``t_s``): the
    estimates, intervals, per-worker differences, counts and collections stay."""
    found = read_json(path)
    for worker in (found.get("raw") or {}).get("workers") or []:
        worker.pop("per_call_ns", None)
        worker.pop("t_s", None)
    found["omitted"] = (f"each worker's per-round times (`raw.workers[].per_call_ns`, {path.stat().st_size / 2**20:.1f} MB "
                        f"with them) are not published; a `make bench` run writes them to reports/out/request.json")
    return found


def trimmed_payloads(path: Path) -> dict:
    """payloads.json without each worker's per-round times (``raw.workers[].per_call_ns``, ``paired_reference_ns``
    and ``t_s``): the semantic table, the costs, fits, rankings and the HTTP figures stay."""
    found = read_json(path)
    for worker in (found.get("raw") or {}).get("workers") or []:
        for key in ("per_call_ns", "paired_reference_ns", "t_s"):
            worker.pop(key, None)
    found["omitted"] = (f"each worker's per-round times (`raw.workers[].per_call_ns` and `paired_reference_ns`, "
                        f"{path.stat().st_size / 2**20:.1f} MB with them) are not published; a `make bench` run writes "
                        f"them to reports/out/payloads.json")
    return found


# large files published without their samples
TRIMMED = {"micro.json": trimmed_micro, "request.json": trimmed_request, "payloads.json": trimmed_payloads}

# result files of the targets outside make bench: a fresh clone's reports/out has none of them until they are run
OTHER_TARGETS = {"compat.json": "make matrix", "load_payloads.json": "make payloads-http", "deploy.json": "make deploy"}


def copy_locust_csv(results: Path, target: Path) -> list:
    """locust's CSV summaries (small); its HTML pages (about 1 MB each, of scripts) are left out."""
    load = Results(results).load
    files = ((load or {}).get("run") or {}).get("files") or {}
    notes = []
    for relative in files.get("locust_csv") or []:
        source = results / relative
        if source.is_file() and source.stat().st_size <= MAX_BYTES and not Path(relative).is_absolute():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    if files.get("locust_html"):
        notes.append("locust's HTML pages: not published (they are in reports/out/load/ after a run)")
    return notes


def measured_at(results: Path) -> str | None:
    """The commit the run's results were measured at, as their environment recorded it ("-dirty" if changed)."""
    return Results(results).environment().get("git_commit")


def publish(results: Path = OUT, target: Path = PUBLISHED, repo: Path | None = None) -> list:
    """Copy the raw files and render the report into ``target``; the notes on what was left out."""
    check_full_run(results)
    origin = clean_commit(REPO if repo is None else repo)
    published_runs = {name: history_runs(target / name) for name in HISTORIES}
    was_published = {name for name in FILES if (target / name).exists()}
    if target.exists():
        if any(target.iterdir()) and not (target / "REPORT.md").exists():
            raise UsageError(f"{target} holds files that are not a published report; not replacing them")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    notes, omitted = [], {}
    for name in FILES:
        source = results / name
        if not source.exists():
            if name in was_published:
                run = f"; `{OTHER_TARGETS[name]}` before `make publish` makes it" if name in OTHER_TARGETS else ""
                notes.append(f"{name}: published before, not in {results}: no longer published{run}")
            else:
                notes.append(f"{name}: not in {results}")
            continue
        if name in HISTORIES:  # the union: a reports/out older than its seeding would drop the published runs
            own = history_runs(source)
            runs = merged_runs(published_runs[name], own)
            write_json(target / name, {"runs": runs})
            if len(runs) > len(own):
                notes.append(f"{name}: {len(runs)} runs, those already published with this run's")
        elif source.stat().st_size <= MAX_BYTES or name in ALWAYS:
            shutil.copy2(source, target / name)
        elif name in TRIMMED:
            write_json(target / name, TRIMMED[name](source))
            notes.append(f"{name}: published without its per-round samples ({source.stat().st_size / 2**20:.1f} MB)")
        else:
            omitted[name] = f"not published: {source.stat().st_size / 2**20:.1f} MB, over {MAX_BYTES / 2**20:.1f} MB"
            notes.append(f"{name}: {omitted[name]}")
    if (results / "compat").is_dir():
        shutil.copytree(results / "compat", target / "compat")
    notes += copy_locust_csv(results, target)
    measured = measured_at(results)
    if not (measured and not measured.endswith("-dirty") and origin["commit"].startswith(measured)):
        notes.append(f"the results were measured at {measured or 'an unrecorded commit'}, not at the commit published "
                     f"from ({origin['short']}); the report says so")
    merge_summary({"published": {"from": str(results), "omitted": omitted, "commit": origin["commit"],
                                 "commit_short": origin["short"], "measured_at": measured,
                                 "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}}, out=target)
    (target / "summary.json.lock").unlink(missing_ok=True)
    render(target, target)
    return notes


@entry_point
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(OUT), help="the full run's results (default: %(default)s)")
    parser.add_argument("--to", default=str(PUBLISHED), help="where to publish (default: %(default)s)")
    args = parser.parse_args(argv)
    notes = publish(Path(args.results), Path(args.to))
    for note in notes:
        if "no longer published" in note:  # a result the published report had and loses: said where it is seen
            print(f"warning: {note}", file=sys.stderr)
        else:
            print(f"  note: {note}")
    print(f"published {Path(args.to) / 'REPORT.md'} and its data from commit "
          f"{read_json(Path(args.to) / 'summary.json')['published']['commit_short']}; commit {Path(args.to)} to share it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
