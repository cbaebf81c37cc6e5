"""Comparison with a base run: ``compare.json`` (``make compare BASE=<folder>``), per idiom and status class."""
from __future__ import annotations

from reports.compare import table
from reports.document import Bullets, Heading, Note, Para, Table, code_span
from reports.format import name_of

TITLE = "Comparison with a base run"
TITLES = {"construction": "Construction (micro.json)", "http": "HTTP (load.json, primary shape)",
          "instructions": "Instructions (counts.json)"}


def build(ctx) -> list:
    r = ctx.data
    result = r.read("compare.json")
    if result is None:
        why = f" (`compare.json` ignored: {r.problems['compare.json']})" if "compare.json" in r.problems else ""
        return [Para(f"No comparison with another run{why}: `make compare BASE=<folder>` compares this run with the one "
                     f"in that folder (by default `reports/published`) and adds its table here at the next "
                     f"`make report`.")]
    started = r.run.get("started") or (r.micro or {}).get("started")
    if result["new"].get("started") != started:
        return [Para(f"`compare.json` compares an earlier run (started {result['new'].get('started')}) with "
                     f"`{result['base']['folder']}`, not this one (started {started}): not shown. Run "
                     f"`make compare BASE=<folder>` again.")]
    base = result["base"]
    commit = (base.get("published_commit") or "")[:12] or base.get("commit") or "an unrecorded commit"
    blocks = [Para(f"This run against {code_span(base['folder'])}: a {base.get('mode') or 'run of unknown mode'} run "
                   f"started {base.get('started') or '?'} at commit {code_span(commit)}, compared by "
                   f"`make compare` on {result['date']}. A change is new / base; it is **slower** or **faster** when "
                   f"it is beyond the threshold and its 95% interval excludes no change.")]
    if result["same_machine"]:
        blocks.append(Para("Same machine and Python: ratios to the floor compared directly."))
    else:
        blocks.append(Note("Cross-machine comparison", "another CPU, core count or Python: each idiom is compared "
                           "relative to jsonify_tuple in its own run (the base and new columns: how much dearer or "
                           "cheaper than jsonify_tuple), not by its ratio to the floor."))
    if result["differences"]:
        blocks.append(Para("What differs between the two runs: " + "; ".join(result["differences"]) + "."))
    for measure, basis in result["basis"].items():
        threshold = result["thresholds"][measure]
        head, rows = table(result, measure)
        blocks += [Heading(3, TITLES.get(measure, measure)),
                   Para(f"Compared: {basis}. Threshold ±{threshold['pct']:.2f}%: {threshold['how']}."),
                   Table(head, [[name_of(row[0])] + row[1:] for row in rows], "lrr" + "l" * (len(head) - 3))]
    blocks.append(Heading(3, "Per idiom"))
    blocks.append(Bullets([f"{name_of(n)}: " + (f"**{v['verdict']}**: " + "; ".join(v["slower"] + v["faster"])
                                                if v["slower"] or v["faster"] else v["verdict"])
                           for n, v in result["idioms"].items()]))
    if result["regressions"]:
        blocks.append(Note("Regression", f"slower beyond the threshold: "
                                         f"{', '.join(name_of(n) for n in result['regressions'])}."))
    if result.get("notes"):
        blocks.append(Bullets(result["notes"]))
    return blocks
