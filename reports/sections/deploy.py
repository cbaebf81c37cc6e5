"""Does the answer hold under other servers, Pythons and Flask releases? (``make deploy``, ``deploy.json``)."""
from __future__ import annotations

from pathlib import Path

from reports import charts
from reports.document import Bullets, Details, Figure, Note, Para, Table
from reports.format import f_num, plus_minus

TITLE = "Does it hold where you deploy?"
FILE = "deploy.json"
DIMENSIONS = {  # key in deploy.json -> (what an item is, the chart's stem, how the Δ was measured)
    "servers": ("server", "deploy_servers", "server CPU per request over HTTP: make load under each server"),
    "pythons": ("Python", "deploy_pythons", "the whole request in process: make request in each Python's environment"),
    "flask": ("Flask release", "deploy_flask", "the whole request in process: make request on each release's pins"),
}
PANELS_PER_ROW = 4
COLOURS = ("#222222", "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860", "#da8bc3")


def across(folder: Path, stem: str, names: list, classes: list, items: list, cells: dict, *, title: str,
           xlabel: str) -> list:
    """One panel per status class, one row per idiom; in each row one dot per item (server, Python, release)
    with its 95% CI, the first item (the reference) in black. ``cells``: idiom -> item -> class -> delta."""
    plt = charts.plt
    columns = min(len(classes), PANELS_PER_ROW)
    rows = -(-len(classes) // columns)
    height = (1.0 + 0.34 * len(names) * max(1, len(items)) ** 0.5) * rows + 0.4
    fig, axes = plt.subplots(rows, columns, sharey=True, figsize=(2.4 * columns + 2.4, height), squeeze=False)
    ys = list(range(len(names)))[::-1]
    step = 0.75 / max(len(items), 1)
    for ax in axes.flat[len(classes):]:
        ax.set_visible(False)
    for ax, cls in zip(axes.flat, classes):
        ax.axvline(0, color="#555555", linewidth=0.8)
        for k, item in enumerate(items):  # one line collection and one scatter per item: few artists, quick to draw
            colour = COLOURS[k % len(COLOURS)]
            offset = step * ((len(items) - 1) / 2 - k)
            at, estimates, los, his = [], [], [], []
            for y, name in zip(ys, names):
                d = ((cells.get(name) or {}).get(item) or {}).get(cls)
                if not d or d.get("estimate") is None:
                    continue
                lo, hi = d.get("ci95") or (d["estimate"], d["estimate"])
                at.append(y + offset)
                estimates.append(d["estimate"])
                los.append(lo)
                his.append(hi)
            if at:
                ax.hlines(at, los, his, color=colour, linewidth=1.1)
                ax.scatter(estimates, at, s=14, color=colour, zorder=3)
        ax.set_title(cls, fontsize=9)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=7)
    for row in axes:
        row[0].set_yticks(ys, names)
    fig.supxlabel(xlabel, fontsize=8)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    handles = [plt.Line2D([], [], color=COLOURS[k % len(COLOURS)], marker="o", label=item) for k, item in enumerate(items)]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.03 - 0.9 / height / 2),
               ncol=min(len(items), 6), fontsize=7, frameon=False)
    fig.tight_layout()
    return charts.save(fig, folder, stem)


def sentence(dimension: str, entries: dict, reference) -> str:
    """Whether the recommendation changes along the dimension, from the verdicts' agreement (Markdown)."""
    what = DIMENSIONS[dimension][0]
    ok = {k: e for k, e in entries.items() if e.get("status") == "ok"}
    if not ok:
        return f"No {what} was measured."
    if reference not in ok:
        return f"The reference {what} ({reference}) did not run, so nothing is compared."
    others = [k for k in ok if k != reference]
    if not others:
        return f"Only {reference} ran: nothing to compare with."
    agreements = [ok[k].get("agreement") or {} for k in others]
    compared = sum(a.get("compared", 0) for a in agreements)
    pairs = compared + sum(a.get("unresolved", 0) for a in agreements)
    changed = {k: ok[k]["agreement"]["differences"] for k in others if (ok[k].get("agreement") or {}).get("differences")}
    counted = f"{compared} of {pairs} idiom × class pairs definite on both sides"
    if compared == 0:
        return (f"**Not resolved**: no idiom × class pair is definite (cheaper, dearer, equivalent) both on {reference} "
                f"and on {', '.join(others)}, so this run cannot say whether the order changes.")
    if not changed:
        return (f"**No change found**: on {', '.join(others)} every verdict that is definite on both sides is the same as "
                f"on {reference} ({counted}; the rest is unresolved on one side, where this run cannot tell).")
    n = sum(map(len, changed.values()))
    example = next(iter(changed.values()))[0]
    return (f"**The order changes** on {', '.join(changed)}: {n} definite verdict{'s' if n > 1 else ''} differ from "
            f"{reference}'s (e.g. {example}; {counted}).")


def target_cell(e: dict) -> str:
    """The typical Δ CI half-width (the target: within 2x the reference item's) and the widest."""
    target = e.get("ci_target") or {}
    widest = f_num(e.get("ci95_half_width_us"), 2)
    if not target or "statistic" not in target:  # a deploy.json from before the typical width was the target
        return widest
    typical = f"{f_num(target['half_width_us'], 2)} / {widest}"
    if target.get("met"):
        return f"{typical} (met)"
    return f"{typical} (**missed**: > ±{f_num(target['limit_us'], 2)})"


def targets_paragraph(deploy: dict) -> Para | None:
    t = deploy.get("targets") or {}
    if not t:
        return None
    wall = t.get("wall_s") or {}
    checked = sum(len(v) for v in (t.get("ci95_half_width") or {}).values())
    parts = []
    if wall:
        parts.append(f"wall time {f_num(wall.get('value'), 0)} s, target ≤ {f_num(wall.get('target'), 0)} s: "
                     + ("met" if wall.get("met") else "**missed**"))
    if t.get("missed"):
        parts.append(f"typical Δ CI half-width (the median over idiom × class) within 2× the reference item's: "
                     f"**missed** by {len(t['missed'])} of {checked} items: " + "; ".join(t["missed"]))
    elif checked:
        parts.append(f"typical Δ CI half-width (the median over idiom × class) within 2× the reference item's: met on "
                     f"all {checked} items")
    if t.get("wide"):
        parts.append(f"the widest cell of a class is over 2× the reference's in {len(t['wide'])} place(s), each set by "
                     f"one idiom (two estimates of the same width differ by 2× by chance with 8 workers): "
                     + "; ".join(t["wide"]))
    return Para("**Targets**: " + "; ".join(parts) + ".") if parts else None


def counts_blocks(entries: dict) -> list:
    """The instruction counts per Python (``pythons.<version>.counts``): a sentence on how far each idiom's Δ%
    moves across Pythons, the table, and why a Python has none."""
    counted = {k: e["counts"] for k, e in entries.items() if (e.get("counts") or {}).get("status") == "ok"}
    others = [f"{k}: {e['counts'].get('status')}: {e['counts'].get('detail', '')}" for k, e in entries.items()
              if e.get("counts") and e["counts"].get("status") != "ok"]
    if not counted and not others:
        return []
    blocks = []
    pairs = {}
    for version, c in counted.items():
        for name, by_class in c["variants"].items():
            for cls, cell in by_class.items():
                if name != "jsonify_tuple" and cell.get("delta_pct") is not None:
                    pairs.setdefault((name, cls), {})[version] = cell["delta_pct"]
    if pairs:
        (name, cls), by_version = max(pairs.items(), key=lambda kv: max(kv[1].values()) - min(kv[1].values()))
        lo, hi = min(by_version, key=by_version.get), max(by_version, key=by_version.get)
        flips = [f"{n} on {c}" for (n, c), v in pairs.items() if min(v.values()) < -0.5 and max(v.values()) > 0.5]
        blocks.append(Para(
            f"**Instructions per Python** (valgrind, deterministic, Δ% against `jsonify_tuple` on the same class; "
            f"{len(counted)} Python{'s' if len(counted) != 1 else ''} counted): the widest move is {name} on {cls}, "
            f"{by_version[lo]:+.1f}% on {lo} to {by_version[hi]:+.1f}% on {hi}; "
            + (f"**the sign changes** for {', '.join(flips)}." if flips else
               "no idiom turns from cheaper to dearer (by more than 0.5%) between Pythons.")))
        versions = list(counted)
        rows = [[n, c] + [f"{pairs[(n, c)][v]:+.2f}%" if v in pairs[(n, c)] else "n/a" for v in versions]
                for (n, c) in pairs]
        blocks.append(Table(["idiom", "class"] + [f"Python {v}" for v in versions], rows, "ll" + "r" * len(versions)))
    if others:
        blocks.append(Bullets([f"instruction counts on {line}" for line in others]))
    return blocks


def build(ctx) -> list:
    r = ctx.data
    deploy = r.read(FILE)
    if deploy is None:
        why = (f"`{FILE}` ignored: {r.problems[FILE]}" if FILE in r.problems else
               f"no `{FILE}`: `make deploy` has not run here (it is not part of `make bench`; "
               f"`make deploy QUICK=1` takes about 5 minutes, `make deploy` about 20)")
        return [Note("Not run", why + ".")]  # optional, like make matrix: not a stage that failed to leave its file
    refs = deploy.get("references") or {}
    blocks = [Para(f"The answer above is measured under one gunicorn sync worker, one CPython and one Flask. "
                   f"A **{deploy.get('mode', '?')}** `make deploy` ({f_num(deploy.get('wall_s'), 0)} s, started "
                   f"{deploy.get('started', '?')}) measured each idiom's Δ µs against `jsonify_tuple` per status "
                   f"class again under other servers, Pythons and Flask releases; each item's verdicts are "
                   f"compared with its dimension's reference where both are definite.")]
    for dimension, (what, stem, how) in DIMENSIONS.items():
        entries = deploy.get(dimension) or {}
        blocks.append(Para(f"**{what[0].upper() + what[1:]}s** ({how}; reference {refs.get(dimension) or 'none'}): "
                           + sentence(dimension, entries, refs.get(dimension))))
        if not entries:
            blocks.append(Note("Not run", f"no {what} in this run (`make deploy DEPLOY={dimension}`)."))
            continue
        ok = [k for k, e in entries.items() if e.get("status") == "ok"]
        items = sorted(ok, key=lambda k: k != refs.get(dimension))  # the reference first
        names = [n for n in r.names if any(n in entries[k]["variants"] for k in ok)]
        names += [n for k in ok for n in entries[k]["variants"] if n not in names]
        names = [n for n in names if n != "jsonify_tuple"]
        classes = []
        for k in ok:
            for by_class in entries[k]["variants"].values():
                classes += [c for c in by_class if c not in classes]
        if items and names and classes:
            cells = {n: {k: {c: cell["delta_us"] for c, cell in (entries[k]["variants"].get(n) or {}).items()}
                         for k in items} for n in names}
            ctx.chart(across, stem, names, classes, items, cells,
                      title=f"Δ µs against jsonify_tuple per {what}, 95% CI", xlabel="Δ µs per request")
            blocks.append(Figure(stem, f"Δ per idiom across {what}s",
                                 f"Each idiom's Δ against jsonify_tuple per status class, one dot per {what} "
                                 f"({', '.join(items)}), with 95% intervals."))
        rows = []
        for key, e in entries.items():
            agreement = e.get("agreement") or {}
            rows.append([key, e.get("status", "?"), f_num(e.get("request_cpu_us"), 1), target_cell(e),
                         ("reference" if key == refs.get(dimension) else
                          ("agree" if agreement.get("agree") else f"**{len(agreement.get('differences', []))} differ**")
                          + f" ({agreement.get('compared', 0)} compared)" if agreement else "n/a"),
                         e.get("detail", "")])
        blocks.append(Table([what, "status", "request µs", "Δ CI ± µs typical / widest (target: typical ≤ 2× the reference's)",
                             "verdicts vs reference", "detail"], rows, "llrrll"))
        if items and names:
            table = []
            for n in names:
                for c in classes:
                    row = [n, c]
                    for k in items:
                        cell = (entries[k]["variants"].get(n) or {}).get(c)
                        d = (cell or {}).get("delta_us") or {}
                        row.append("n/a" if d.get("estimate") is None else
                                   f"{d['estimate']:+.1f} ±{plus_minus(d.get('ci95')):.1f} {d.get('verdict')}"
                                   + (f" ({cell['share_pct']:+.1f}%)" if cell.get("share_pct") is not None else ""))
                    table.append(row)
            blocks.append(Details(f"Δ µs per idiom and status class on each {what} (± half the 95% CI, verdict, share "
                                  f"of the request)", [Table(["idiom", "class"] + items, table, "ll" + "r" * len(items))]))
        differences = [f"{k}: {d}" for k, e in entries.items() for d in (e.get("agreement") or {}).get("differences", [])]
        skipped = [f"{k}: {n}: {why}" for k, e in entries.items() for n, why in (e.get("skipped_variants") or {}).items()]
        if differences:
            blocks.append(Details(f"Where the verdicts differ from {refs.get(dimension)} ({len(differences)})",
                                  [Bullets(differences)]))
        if skipped:
            blocks.append(Details(f"Idioms not run on a {what} ({len(skipped)})", [Bullets(skipped)]))
        if dimension == "pythons":
            blocks += counts_blocks(entries)
    found = targets_paragraph(deploy)
    if found:
        blocks.append(found)
    if deploy.get("taken_over"):
        blocks.append(Para(f"Taken over from an earlier run with the same commit, lock and mode (not measured again): "
                           f"{', '.join(deploy['taken_over'])}."))
    if deploy.get("pending"):
        blocks.append(Note("Not finished", f"this run stopped before {', '.join(deploy['pending'])}."))
    blocks.append(Para(f"Raw data: {ctx.link(FILE)}, and each item's own result files and log below `deploy/`."))
    return blocks
