"""Flask version compatibility: each idiom's conformance on each Flask release (``make matrix``)."""
from __future__ import annotations

from reports import charts
from reports.data import REFERENCE
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
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
    blocks += payload_bytes(compat, names, versions)
    vrows = [[v, "yes" if info.get("built") else f"**no**: {info.get('error')}", f_num(info.get("seconds"), 1),
              ", ".join(f"{k} {x}" for k, x in (info.get("packages") or {}).items()), info.get("control", "")]
             for v, info in (compat.get("versions") or {}).items()]
    if vrows:
        blocks.append(Details("Environments", [Table(["Flask", "built", "seconds", "packages", "control app"], vrows, "llrll")]))
    return blocks


# --- the payload type set per release (issue 14) ----------------------------------------------------

def answer_text(form: dict, limit: int = 48) -> str:
    """One answer, short: the body (cut) when served, else the status and the exception's type."""
    if form.get("http_status") == 200 and form.get("body") is not None:
        body = form["body"].strip().replace("\n", "\\n")  # 0.12's pretty-printed bodies, on one line
        return code_span(body if len(body) <= limit else body[:limit - 1] + "…")
    error = (form.get("exception") or "").split(":")[0]
    if form.get("http_status") is None:  # no answer: the exception reached the test client (testing propagates it)
        return f"raises {error or 'an exception'}"
    return f"**{form.get('http_status')}**" + (f" {error}" if error else "")


def release_runs(entries: dict, versions: list) -> list:
    """The releases where the variant answered, in runs of consecutive ones whose answers to every entry are the same."""
    def column(v):
        return tuple(next((i for i, f in enumerate(forms) if v in f["versions"]), None) for forms in entries.values())

    ran = [v for v in versions if any(v in f["versions"] for forms in entries.values() for f in forms)]
    runs = []
    for v in ran:
        if runs and column(runs[-1][-1]) == column(v):
            runs[-1].append(v)
        else:
            runs.append([v])
    return runs


def run_label(run: list) -> str:
    return run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}"


def payload_bytes(compat: dict, names: list, versions: list) -> list:
    """The payload type set's answers per release: the reference's as a table (entry x runs of identical releases),
    the other idioms' changes as a list."""
    found = compat.get("payload_bytes") or {}
    if not found:
        return [Heading(3, "The payload type set per release"),
                Para("Not recorded: `make matrix` with this version of the probe records what each idiom makes of the "
                     "payload type set (datetimes, Decimal, UUID, non-ASCII, mixed keys, NaN, ...) on every release.")]
    blocks = [Heading(3, "The payload type set per release")]
    ref = found.get(REFERENCE)
    if ref and ref.get("entries"):
        runs = release_runs(ref["entries"], versions)
        rows = []
        for entry, forms in ref["entries"].items():
            row = [code_span(entry)]
            previous = None
            for run in runs:
                form = next(f for f in forms if run[0] in f["versions"])
                text = answer_text(form)
                row.append(text if previous is None or text == previous else f"changed: {text}")
                previous = text
            rows.append(row)
        changed = ref.get("changed") or []
        blocks += [Para(f"What {name_of(REFERENCE)} (`jsonify`) sends for each entry of the payload type set on each "
                        f"Flask release (`make matrix`, through `make payloads`' own app and request); releases whose "
                        f"answers are all the same share a column. "
                        + (f"Changed between releases: {', '.join(code_span(e) for e in changed)}." if changed
                           else "No entry changes between the releases where it ran.")
                        + (f" Not run: {'; '.join(f'{v} ({why})' for v, why in ref['not_run'].items())}."
                           if ref.get("not_run") else "")),
                   Table(["entry"] + [f"Flask {run_label(run)}" for run in runs], rows, "l" + "l" * len(runs))]
    others = []
    for n in names:
        mine = found.get(n)
        if n == REFERENCE or not mine or not mine.get("changed"):
            continue
        steps = []
        for entry in mine["changed"]:
            forms = mine["entries"][entry]
            steps.append(f"{code_span(entry)}: " + " → ".join(
                f"{run_label([v for v in versions if v in f['versions']])} {answer_text(f, 32)}" for f in forms))
        others.append(f"{name_of(n)}: " + "; ".join(steps))
    same = [name_of(n) for n in names if n != REFERENCE and found.get(n) and not found[n].get("changed")]
    if others:
        blocks.append(Details(f"Other idioms whose payload answers change between releases ({len(others)})",
                              [Bullets(others)]))
    if same:
        blocks.append(Para(f"The same answers on every release where they ran: {', '.join(same)}."))
    return blocks
