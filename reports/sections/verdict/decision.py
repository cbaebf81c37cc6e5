"""The decision table: every idiom side by side on what a house style is chosen by."""
from __future__ import annotations

from reports.document import Para, Table
from reports.format import f_num, name_of

KIND_ORDER = {"correct": 0, "unknown": 1, "divergent": 2, "broken": 3}
CORRECT = {"correct": "yes", "divergent": "no: declared divergence", "broken": "**NO**", "unknown": "not checked"}


def table(r) -> list:
    micro = r.micro["variants"] if r.micro else {}
    load = r.load["variants"] if r.load else {}
    compat = ((r.compat or {}).get("min_flask_check") or {}).get("variants") or {}
    order = sorted(r.names, key=lambda n: (KIND_ORDER[r.kind(n)], micro.get(n, {}).get("rank", 999)))
    rows = []
    for name in order:
        meta = r.meta(name)
        m, l = micro.get(name), load.get(name)
        works = compat.get(name, {}).get("works_from")
        rows.append([
            name_of(name),
            CORRECT[r.kind(name)],
            f"{m['rank']} ({f_num(m['ratio_to_floor']['estimate'], 1)}×)" if m and "rank" in m else "n/a",
            f"{l['rank']} ({f_num((l.get('ratio_to_floor') or {}).get('estimate'), 2)}×)" if l and l.get("rank") else "n/a",
            meta.get("idiom_lines", "n/a"),
            meta.get("min_flask", "n/a") + (f" (tested ok from {works})" if works else ""),
            meta.get("headers_via", "n/a"),
            meta.get("pitfall", ""),
        ])
    return [Table(["idiom", "correct", "cost rank (× floor)", "HTTP rank (× floor)", "idiom lines",
                   "min Flask", "extra headers via", "pitfalls"], rows, "llrrrlll"),
            Para("Cost rank: construction cost in the microbenchmark, 1 = cheapest; HTTP rank: the load stage's "
                 "ranking by app time over HTTP, as a ratio to the floor's. Idiom lines: the variant module less its docstring, imports and "
                 "app boilerplate (`variants.Variant.idiom_lines`). Min Flask: the registry's claim; in brackets "
                 "the oldest release `make matrix` found it working on, where that ran.")]
