"""Flask version compatibility: each idiom's conformance on each Flask release (``make matrix``)."""
from __future__ import annotations

from reports import charts
from reports.document import Bullets, Details, Figure, Note, Para, Table
from reports.format import f_num, name_of

TITLE = "Flask version compatibility"
MARK = {"ok": "ok", "differs": "**differs**", "fails": "**fails**"}


def build(ctx) -> list:
    r = ctx.data
    compat = r.compat
    if compat is None:
        why = (f"`compat.json` ignored: {r.problems['compat.json']}" if "compat.json" in r.problems
               else "no `compat.json`: `make matrix` has not run here (it is not part of `make bench`: it builds one "
                    "environment per Flask release)")
        return [Note("Missing", why + ".")]
    versions = compat["flask_versions"]
    cells = compat["cells"]
    names = [n for n in r.names if n in cells] + [n for n in cells if n not in r.names]
    statuses = {n: {v: cells[n][v]["status"] for v in versions if v in cells[n]} for n in names}
    ctx.chart(charts.status_heatmap, "compat", names, versions, statuses,
              title="Does the idiom meet the contract on each Flask release?")
    check = compat.get("min_flask_check") or {}
    rows = []
    for n in names:
        row = [name_of(n)]
        for v in versions:
            cell = cells[n].get(v)
            row.append("not built" if cell is None else MARK.get(cell["status"], cell["status"])
                       + ("*" if cell.get("cause") == "environment" else ""))
        mine = check.get("variants", {}).get(n, {})
        row.append(f"{mine.get('min_flask', 'n/a')}: " + ("consistent" if mine.get("consistent") else "**inconsistent**")
                   if mine else "n/a")
        rows.append(row)
    ref = compat.get("reference") or {}
    blocks = [Para(f"Conformance on {len(versions)} Flask releases, each in its own environment (`make matrix`); "
                   f"ok = meets the contract, or departs from it exactly as its declared divergence does on Flask "
                   f"{ref.get('flask', 'the pinned one')}. * = outside the idiom (shared code or environment)."),
              Figure("compat", "Conformance per Flask release", "Each cell: the idiom's status on that Flask release."),
              Table(["idiom"] + versions + ["registry min Flask vs matrix"], rows, "l" + "c" * len(versions) + "l"),
              Para("The registry's `min_flask` checks: " + ("all agree with the matrix." if check.get("ok") else
                   "**mismatches**: " + "; ".join(check.get("mismatches") or []) + "."))]
    details = [f"{name_of(n)} on Flask {v}: {cells[n][v]['status']}: {cells[n][v].get('detail', '')}"
               for n in names for v in versions if cells[n].get(v) and cells[n][v]["status"] != "ok"]
    if details:
        blocks.append(Details(f"Why {len(details)} cells are not ok", [Bullets(details)]))
    changes = [f"{name_of(n)}: {c['summary']}" for n, c in (compat.get("byte_changes") or {}).items() if c.get("changed")]
    if changes:
        blocks.append(Details(f"Bytes that change between releases ({len(changes)} idioms)", [Bullets(changes)]))
    vrows = [[v, "yes" if info.get("built") else f"**no**: {info.get('error')}", f_num(info.get("seconds"), 1),
              ", ".join(f"{k} {x}" for k, x in (info.get("packages") or {}).items()), info.get("control", "")]
             for v, info in (compat.get("versions") or {}).items()]
    if vrows:
        blocks.append(Details("Environments", [Table(["Flask", "built", "seconds", "packages", "control app"], vrows, "llrll")]))
    return blocks
