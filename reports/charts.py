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

plt.rcParams.update({"svg.hashsalt": "flask-json-idioms", "font.size": 9, "axes.titlesize": 10,
                     "axes.spines.top": False, "axes.spines.right": False})

# Kind of subject -> bar colour, hatch, legend label.
STYLES = {
    "correct": ("#4c72b0", "", "meets the contract"),
    "divergent": ("#b8b8b8", "//", "declared divergence (not JSON)"),
    "broken": ("#c44e52", "xx", "fails the contract"),
    "unknown": ("#8c8c8c", "", "conformance not checked"),
    "baseline": ("#dd8452", "", "baseline (not an idiom)"),
}


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
    ax.set_yticks(ys, names)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.5 / (0.9 + 0.42 * len(names)) - 0.06),
              ncol=len(series), frameon=False)
    return save(fig, folder, stem)


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
