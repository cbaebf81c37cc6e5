"""``make report``: the raw results in ``reports/out/`` become REPORT.md, report.html and charts.

``python -m reports.render [--results DIR] [--out DIR]`` (both default to ``reports/out``, or
``FLASK_IDIOMS_OUT``) reads the result files through ``reports.data`` and writes:

- ``REPORT.md``: GitHub-flavoured Markdown, charts linked from ``charts/``;
- ``report.html``: the same blocks as one self-contained page (styles inline, charts as data URIs);
- ``charts/<name>.png`` and ``.svg`` (matplotlib, Agg).

The sections are ``reports.sections.SECTIONS``, in order. Nothing in the report is typed in by hand:
every number, name and sentence is computed from the result files (and the registry's metadata where
conformance.json is missing). A section whose data has an unexpected shape says it could not be
rendered, and the others are still written.
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from harness.cli import entry_point, flag
from harness.results import OUT, ROOT
from reports.context import Context
from reports.data import FILES, Results
from reports.document import Heading, Note, Para, slug, to_html, to_markdown
from reports.sections import SECTIONS

TITLE = "Flask JSON idioms: conformance and cost"

def heading(number: int, section) -> str:
    return f"{number}. {section.TITLE}"


def head(ctx: Context) -> list:
    """The title, what run this is, and the table of contents."""
    r = ctx.data
    env = r.environment()
    mode = r.mode or "unknown"
    found = ", ".join(f"[{n}]({n})" for n in FILES if (r.folder / n).exists()) or "none found"
    blocks = [Heading(1, TITLE),
              Para(f"A **{mode}** run of `make bench`"
                   + (f", started {r.run['started']}" if r.run.get("started") else "")
                   + (f", at commit `{env['git_commit']}`" if env.get("git_commit") else "")
                   + f"; rendered {datetime.now(timezone.utc).isoformat(timespec='seconds')} by "
                     f"`python -m reports.render` from the raw results beside this file ({found})."),
              Para(" · ".join(f"[{t}](#{slug(t)})" for t in (heading(i, s) for i, s in enumerate(SECTIONS, 1))))]
    published = r.summary.get("published") or {}
    if published.get("commit"):
        blocks.append(Para(published_from(published)))
    if mode == "quick":
        blocks.append(Note("Quick run", "fewer rounds and shorter load tests than a full run; the figures are "
                                        "indicative. `make bench` (without QUICK=1) is the run to publish."))
    return blocks


def published_from(published: dict) -> str:
    """The commit a published report is from (``make publish`` refuses a tree with uncommitted changes)."""
    commit, measured = published["commit"], published.get("measured_at")
    text = f"Published from commit `{published.get('commit_short') or commit[:7]}` (a clean work tree)"
    if published.get("date"):
        text += f" on {published['date']}"
    if measured and not measured.endswith("-dirty") and commit.startswith(measured):
        return text + ", the commit the results were measured at."
    return text + (f"; the results were measured at `{measured}`, which is not that commit: the code measured may differ "
                   f"from it." if measured else "; the results do not record the commit they were measured at.")


def section(ctx: Context, number: int, module) -> list:
    """One section's heading and blocks; a section that fails says so, and the rest of the report is written."""
    title = heading(number, module)
    try:
        return [Heading(2, title)] + module.build(ctx)
    except Exception as e:  # noqa: BLE001  (any malformed input must not stop the report)
        where = traceback.extract_tb(e.__traceback__)[-1]
        try:
            place = Path(where.filename).resolve().relative_to(ROOT)
        except ValueError:
            place = where.filename
        print(f"warning: section {title!r} could not be rendered: {type(e).__name__}: {e} "
              f"({place}:{where.lineno})", file=sys.stderr)
        return [Heading(2, title),
                Note("Could not render", f"the data for this section has an unexpected shape "
                                         f"({type(e).__name__}: {e}); the raw files are listed under Environment.")]


class TextOnly(Context):
    """A context that draws no chart: the report's text is the same, and it is written in a fraction of the
    time (matplotlib is most of a render). For tests that read only the text; a real report has its charts."""

    def chart(self, draw, stem: str, *args, **kwargs) -> None:
        pass


def threads() -> int:
    """The threads this process runs Python in (``sys._current_frames``: a pytest-xdist worker's I/O thread is not
    a ``threading`` thread; a native library's own threads, such as OpenBLAS's, hold no Python lock)."""
    return len(sys._current_frames())


@contextlib.contextmanager
def chart_pool(charts: bool):
    """Processes that draw the charts while the text is built (matplotlib's savefig is most of a render):
    one per core, forked, so they start with matplotlib imported; none for a text-only render, on one core,
    with ``REPORT_JOBS=1``, or in a process that runs other threads (a fork copies only the thread that forks,
    so a lock another one holds would never be released in the child: a test in a pytest-xdist worker)."""
    jobs = min(os.cpu_count() or 1, 4) if os.environ.get("REPORT_JOBS", "").strip() != "1" else 1
    if (not charts or jobs < 2 or "fork" not in multiprocessing.get_all_start_methods()
            or threads() > 1):
        yield None
        return
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def render(results_dir: Path = OUT, out_dir: Path | None = None, *, charts: bool = True) -> dict:
    """Write REPORT.md, report.html and charts (none with ``charts=False``: see TextOnly); the paths written."""
    results_dir = Path(results_dir)
    out_dir = Path(out_dir or results_dir)
    folder = out_dir / "charts"
    if folder.is_dir():  # charts from an earlier render whose data is gone must not linger
        for old in list(folder.glob("*.png")) + list(folder.glob("*.svg")):
            old.unlink()
    with chart_pool(charts) as pool:
        ctx = (Context if charts else TextOnly)(Results(results_dir), out_dir, SECTIONS, pool=pool)
        blocks = head(ctx)
        for number, module in enumerate(SECTIONS, 1):
            blocks += section(ctx, number, module)
        ctx.finish_charts()
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "REPORT.md"
    html = out_dir / "report.html"
    _write_text(markdown, to_markdown(blocks))
    _write_text(html, to_html(blocks, TITLE, out_dir))
    return {"markdown": markdown, "html": html, "charts": ctx.chart_files}


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@entry_point
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(OUT), help="folder with summary.json and the raw files (default: %(default)s)")
    parser.add_argument("--out", default=None, help="where to write the report (default: the results folder)")
    parser.add_argument("--no-charts", action="store_true",
                        help="text only, in a few seconds (also REPORT_CHARTS=0); a report to share has its charts")
    args = parser.parse_args(argv)
    charts = flag("REPORT_CHARTS", default=True) and not args.no_charts
    started = time.monotonic()
    written = render(Path(args.results), Path(args.out) if args.out else None, charts=charts)
    print(f"wrote {written['markdown']}, {written['html']} and {len(written['charts'])} chart files "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
