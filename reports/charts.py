"""The report's charts, drawn with matplotlib (Agg) and saved as PNG and SVG.

These functions draw what they are given: a section passes one to ``ctx.chart`` with its data
(``ctx.chart(charts.ratio_bars, "stem", rows, ...)``), which saves it under ``charts/``.
Output is deterministic (no dates in the files, a fixed SVG hash salt), so a re-render of the same
results changes nothing in git.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

plt.rcParams.update({"svg.hashsalt": "flask-json-idioms", "font.size": 9, "axes.titlesize": 10,
                     "axes.spines.top": False, "axes.spines.right": False})

# Kind of subject -> bar colour, hatch, legend label.
STYLES = {
    "correct": ("#4c72b0", "", "meets the contract"),
    "divergent": ("#b8b8b8", "//", "declared divergence"),
    "broken": ("#c44e52", "xx", "fails the contract"),
    "unknown": ("#8c8c8c", "", "conformance not checked"),
    "baseline": ("#dd8452", "", "baseline (not an idiom)"),
}


def finish_rows(fig, ax, ys, names, title: str, xlabel: str, columns: int, inches: float, folder: Path, stem: str) -> list:
    """A chart with one row per name: labels, title, a light grid and the legend below the axes
    (``inches``: the figure's height above its rows), saved."""
    ax.set_yticks(ys, names)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.5 / (inches + 0.42 * len(names)) - 0.06),
              ncol=columns, frameon=False)
    return save(fig, folder, stem)


def save(fig, folder: Path, stem: str) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return paths


def ratio_bars(folder: Path, stem: str, rows: list, *, title: str, xlabel: str, reference: float | None = 1.0,
               reference_label: str = "floor = 1") -> list:
    """Horizontal bars with 95% CI error bars, first row on top.

    ``rows``: dicts with ``label``, ``estimate``, ``ci95`` ([lo, hi] or None), ``kind`` (a STYLES key)
    and ``note`` (text printed after the bar, e.g. the absolute time).
    """
    height = 0.9 + 0.32 * len(rows)
    fig, ax = plt.subplots(figsize=(8.6, height))
    ys = list(range(len(rows)))[::-1]
    widest = max((r["ci95"][1] if r.get("ci95") else r["estimate"]) for r in rows)
    for y, row in zip(ys, rows):
        colour, hatch, _ = STYLES[row["kind"]]
        est = row["estimate"]
        err = None
        if row.get("ci95"):
            lo, hi = row["ci95"]
            err = [[max(est - lo, 0)], [max(hi - est, 0)]]
        ax.barh(y, est, color=colour, hatch=hatch, edgecolor="#333333" if hatch else colour, linewidth=0.5,
                height=0.7)
        if err is not None:
            ax.errorbar(est, y, xerr=err, fmt="none", ecolor="black", elinewidth=1.1, capsize=3.5, capthick=1.1)
        ax.text(est + widest * 0.012 + (err[1][0] if err else 0), y, row.get("note", ""), va="center", fontsize=7.5)
    ax.set_yticks(ys, [r["label"] for r in rows])
    ax.set_xlim(0, widest * 1.32)
    if reference is not None:
        ax.axvline(reference, color="#dd8452", linestyle="--", linewidth=0.9)
        ax.text(reference, len(rows) - 0.35, f" {reference_label}", color="#a35a22", fontsize=7, va="bottom")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    kinds = [k for k in STYLES if any(r["kind"] == k for r in rows)]
    ax.legend(handles=[Patch(facecolor=STYLES[k][0], hatch=STYLES[k][1], edgecolor="#333333", label=STYLES[k][2])
                       for k in kinds], loc="upper left", bbox_to_anchor=(0, -0.5 / height - 0.06), ncol=len(kinds),
              fontsize=7, frameon=False)
    return save(fig, folder, stem)


METHOD_STYLES = {
    "sequential": ("#c44e52", "o", "sequential medians inside make micro (pytest-benchmark style), one dot per pass"),
    "interleaved": ("#4c72b0", "D", "interleaved estimate (make micro), one dot per run"),
    "pytest-benchmark": ("#55a868", "s", "pytest-benchmark itself, one dot per run"),
}


def method_strips(folder: Path, stem: str, names: list, series: dict, *, title: str, xlabel: str) -> list:
    """Per name, one row of dots per method (a METHOD_STYLES key): every pass or run of it.

    ``series``: method -> name -> list of values, already on the axis's scale (the renderer passes
    % off a common reference).
    """
    fig, ax = plt.subplots(figsize=(8.6, 1.1 + 0.36 * len(names)))
    ys = list(range(len(names)))[::-1]
    step = 0.6 / max(len(series), 1)
    for k, (method, data) in enumerate(series.items()):
        colour, marker, label = METHOD_STYLES[method]
        offset = step * ((len(series) - 1) / 2 - k)
        first = True
        for y, name in zip(ys, names):
            values = data.get(name, [])
            if not values:
                continue
            ax.plot([min(values), max(values)], [y + offset] * 2, color=colour, linewidth=0.9, alpha=0.6)
            ax.scatter(values, [y + offset] * len(values), s=16, color=colour, marker=marker, alpha=0.65,
                       edgecolors="none", label=label if first else None)
            first = False
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(ys, names)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1 - 0.6 / len(names)), ncol=1, frameon=False)
    return save(fig, folder, stem)


def grouped_bars(folder: Path, stem: str, names: list, series: dict, *, title: str, xlabel: str,
                 zero_line: bool = False) -> list:
    """Grouped horizontal bars: one group per name, one bar per series (p50/p95/p99 latency; with
    ``zero_line``, differences such as Δ% per status class)."""
    fig, ax = plt.subplots(figsize=(8.6, 0.9 + 0.42 * len(names)))
    ys = list(range(len(names)))[::-1]
    width = 0.8 / max(len(series), 1)
    colours = ("#4c72b0", "#55a868", "#c44e52", "#8172b2")
    for i, (label, values) in enumerate(series.items()):
        offs = [y + width * ((len(series) - 1) / 2 - i) for y in ys]  # the group centred on its tick, first on top
        ax.barh(offs, [values.get(n) or 0 for n in names], height=width, color=colours[i % 4], label=label)
    if zero_line:
        ax.axvline(0, color="#555555", linewidth=0.8)
    return finish_rows(fig, ax, ys, names, title, xlabel, len(series), 0.9, folder, stem)


def status_heatmap(folder: Path, stem: str, names: list, versions: list, cells: dict, *, title: str) -> list:
    """Variants x Flask versions, each cell coloured and labelled by its status (ok, differs, fails)."""
    order = ["ok", "differs", "fails", "not built"]
    colours = ["#8fd19e", "#f3d37a", "#e8868a", "#d9d9d9"]
    grid = [[order.index(cells.get(n, {}).get(v, "not built")) for v in versions] for n in names]
    fig, ax = plt.subplots(figsize=(1.6 + 0.85 * len(versions), 0.8 + 0.32 * len(names)))
    ax.imshow(grid, cmap=ListedColormap(colours), vmin=0, vmax=len(order) - 1, aspect="auto")
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            ax.text(j, i, order[value], ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(versions)), versions)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("Flask release (each in its own environment)")
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    ax.set_title(title, loc="left", pad=28)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks([x - 0.5 for x in range(1, len(versions))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(names))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0)
    return save(fig, folder, stem)


# Verdict on a difference against the reference idiom -> colour, marker, legend label.
VERDICT_STYLES = {
    "dearer": ("#c44e52", ">", "dearer than the reference (95% CI above 0)"),
    "cheaper": ("#4c72b0", "<", "cheaper (95% CI below 0)"),
    "equivalent": ("#55a868", "o", "equivalent (90% CI inside the margin)"),
    "unresolved": ("#8c8c8c", "D", "not resolved"),
    "reference": ("#222222", "|", "the reference itself"),
}


PANELS_PER_ROW = 4


def delta_panels(folder: Path, stem: str, classes: list, rows: list, margins: dict, *, title: str, xlabel: str,
                 panel_titles: dict | None = None, margin_label: str = "equivalence margin") -> list:
    """One panel per status class, one row per idiom (first row on top): the difference against the
    reference with its 95% CI as whiskers, the equivalence margin as a shaded band, the verdict by colour
    and marker; resolved differences are labelled with their value.

    ``rows``: dicts with ``label`` and ``cells`` (class -> {"estimate", "ci95", "verdict"} or None);
    ``margins``: class -> the margin in the axis's unit. The panels share one x scale; when the widest
    interval is far beyond the margins the scale is symmetric-log past a linear zone around 0, so the
    band stays readable (the axis label says so).
    """
    bounds = [abs(x) for row in rows for cell in row["cells"].values() if cell
              for x in (cell.get("ci95") or [cell["estimate"]]) if x is not None]
    widest = max(bounds + [m for m in margins.values() if m] + [1e-9])
    margin = max([m for m in margins.values() if m] or [widest / 10])
    symlog = widest > 12 * margin
    columns = min(len(classes), PANELS_PER_ROW)  # more classes wrap: the contract's four, then the error paths
    lines_of_panels = -(-len(classes) // columns)
    height = (1.1 + 0.3 * len(rows)) * lines_of_panels + 0.4
    fig, axes = plt.subplots(lines_of_panels, columns, sharey=True, sharex=True,
                             figsize=(2.5 * columns + 2.4, height), squeeze=False)
    for ax in axes.flat[len(classes):]:
        ax.set_visible(False)
    ys = list(range(len(rows)))[::-1]
    seen = set()
    for ax, cls in zip(axes.flat, classes):
        m = margins.get(cls)
        if m:
            ax.axvspan(-m, m, color="#d9ecd5", zorder=0, linewidth=0)
        ax.axvline(0, color="#555555", linewidth=0.8, zorder=1)
        for y, row in zip(ys, rows):
            cell = row["cells"].get(cls)
            if not cell or cell.get("estimate") is None:
                ax.text(0, y, "n/a", ha="center", va="center", fontsize=6.5, color="#999999")
                continue
            verdict = cell.get("verdict") if cell.get("verdict") in VERDICT_STYLES else "unresolved"
            colour, marker, _ = VERDICT_STYLES[verdict]
            seen.add(verdict)
            est, ci = cell["estimate"], cell.get("ci95")
            err = [[max(est - ci[0], 0)], [max(ci[1] - est, 0)]] if ci and ci[0] is not None else None
            ax.errorbar([est], [y], xerr=err, fmt=marker, color=colour, ecolor=colour, elinewidth=1.2, capsize=2.5,
                        markersize=5 if verdict != "reference" else 9, zorder=3)
            if verdict in ("dearer", "cheaper"):
                edge = ci[1] if ci and verdict == "dearer" else ci[0] if ci else est
                ax.annotate(f"{est:+.{1 if abs(est) >= 10 else 2}f}", (edge, y), xytext=(3 if verdict == "dearer" else -3, 0),
                            textcoords="offset points", ha="left" if verdict == "dearer" else "right", va="center",
                            fontsize=6.5, color=colour)
        ax.set_title((panel_titles or {}).get(cls, cls), fontsize=9)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="x", labelsize=7)
    first = axes[0][0]
    pad = widest * (1.35 if symlog else 1.2)
    if symlog:
        first.set_xscale("symlog", linthresh=2 * margin, linscale=1.0)
        steps = [10.0 ** k for k in range(-3, 7)]
        ticks = sorted({0.0} | {s * t for t in steps if 2 * margin <= t <= pad for s in (-1, 1)})
        first.xaxis.set_major_locator(FixedLocator(ticks))
        first.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:+g}" if x else "0"))
        first.xaxis.set_minor_locator(NullLocator())
    first.set_xlim(-pad, pad)
    for line in axes:
        line[0].set_yticks(ys, [r["label"] for r in rows])
    first.set_ylim(-0.7, len(rows) - 0.3)
    fig.supxlabel(xlabel + (f" (linear within ±{2 * margin:.3g}, logarithmic beyond)" if symlog else ""), fontsize=8)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10)
    handles = [Patch(facecolor="#d9ecd5", label=margin_label)]
    handles += [plt.Line2D([], [], color=VERDICT_STYLES[v][0], marker=VERDICT_STYLES[v][1], linestyle="none",
                           label=VERDICT_STYLES[v][2]) for v in VERDICT_STYLES if v in seen]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.02 - 0.9 / height / 2), ncol=3,
               fontsize=7, frameon=False)
    fig.tight_layout()
    return save(fig, folder, stem)


def delta_dots_by_class(folder: Path, stem: str, names: list, classes: list, cells: dict, margins: dict, *,
                        title: str, xlabel: str) -> list:
    """Per name, one dot per status class with its 95% CI as a line (a difference against a reference:
    0 is no difference); each class's ± equivalence margin as dashed lines in its colour, the narrowest
    shaded. ``cells``: name -> class -> {"estimate", "ci95"} (missing classes are left out);
    ``margins``: class -> margin, on the axis's scale."""
    fig, ax = plt.subplots(figsize=(8.6, 1.1 + 0.42 * len(names)))
    ys = list(range(len(names)))[::-1]
    step = 0.7 / max(len(classes), 1)
    colours = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#937860")
    known = [m for m in margins.values() if m]
    if known:
        ax.axvspan(-min(known), min(known), color="#e8e8e8", zorder=0)
    for k, cls in enumerate(classes):
        colour = colours[k % len(colours)]
        offset = step * ((len(classes) - 1) / 2 - k)
        first = True
        for y, name in zip(ys, names):
            cell = (cells.get(name) or {}).get(cls)
            if not cell or cell.get("estimate") is None:
                continue
            lo, hi = cell.get("ci95") or (cell["estimate"], cell["estimate"])
            ax.plot([lo, hi], [y + offset] * 2, color=colour, linewidth=1.2)
            ax.scatter([cell["estimate"]], [y + offset], s=18, color=colour, zorder=3, label=cls if first else None)
            first = False
        if margins.get(cls):
            for x in (-margins[cls], margins[cls]):
                ax.axvline(x, color=colour, linestyle="--", linewidth=0.7, alpha=0.7)
    ax.axvline(0, color="#555555", linewidth=0.8)
    return finish_rows(fig, ax, ys, names, title, xlabel, len(classes), 1.1, folder, stem)
