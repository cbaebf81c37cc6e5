"""The decision table: every idiom side by side on what a house style is chosen by, its Δ µs per status class first."""
from __future__ import annotations

from reports.data import REFERENCE
from reports.document import Para, Table
from reports.format import f_delta, f_signed, name_of
from reports.sections.conformance import observed_pitfalls
from reports.sections.verdict import lines

KIND_ORDER = {"correct": 0, "unknown": 1, "divergent": 2, "broken": 3}
CORRECT = {"correct": "yes", "divergent": "no: declared divergence", "broken": "**NO**", "unknown": "not checked"}
SHORT = {"dearer": "**dearer**", "cheaper": "**cheaper**", "equivalent": "equivalent", "unresolved": "unresolved",
         "reference": "reference"}


def cell(d) -> str:
    """Δ ± half its 95% CI (the intervals over processes are symmetric; brackets where one is not), and the verdict."""
    if not d:
        return "not measured"
    if d.get("verdict") == "reference":
        return "0 (reference)"
    est, ci = d["estimate"], d.get("ci95")
    if ci and ci[0] is not None and abs((ci[1] - est) - (est - ci[0])) <= 0.01 * max(abs(ci[1] - ci[0]), 1e-9) + 0.005:
        digits = 1 if abs(est) >= 10 else 2
        text = f"{f_signed(est, digits)} ± {(ci[1] - ci[0]) / 2:.{digits}f}"
    else:
        text = f_delta(d, "")
    return f"{text} {SHORT.get(d.get('verdict'), d.get('verdict') or '')}".strip()


def table(r) -> list:
    source, found, _ = lines.basis(r)
    classes = r.classes()
    compat = ((r.compat or {}).get("min_flask_check") or {}).get("variants") or {}

    def worst(name):
        values = [d["estimate"] for d in (found.get(name) or {}).values() if d.get("estimate") is not None]
        return max(values) if values else float("inf")

    order = sorted(r.names, key=lambda n: (KIND_ORDER[r.kind(n)], worst(n)))
    from reports.sections.payloads import decision_columns  # here: reports.sections imports this module

    payload = decision_columns(r)
    rows = []
    for name in order:
        meta = r.meta(name)
        works = compat.get(name, {}).get("works_from")
        rows.append([name_of(name), CORRECT[r.kind(name)]]
                    + [cell((found.get(name) or {}).get(c)) for c in classes]
                    + [meta.get("idiom_lines", "n/a"),
                       meta.get("min_flask", "n/a") + (f" (tested ok from {works})" if works else ""),
                       meta.get("headers_via", "n/a"), observed_pitfalls(meta)]
                    + ((payload or {}).get(name) or ["n/a"] * 3))
    where = {"request": "the whole request in process (`request.json`)",
             "http": "the app's time over HTTP (`load.json`; the whole-request stage did not run)"}.get(source)
    head = (["idiom", "correct"] + [f"Δ µs {c} ± 95% CI" for c in classes]
            + ["idiom lines", "min Flask", "extra headers via", "pitfalls"]
            + ["types it serialises", "bytes differ from jsonify", "cost at 10 KB"])
    return [Table(head, rows, "ll" + "r" * len(classes) + "rlll" + "llr"),
            Para(f"Δ µs: per response, against {name_of(REFERENCE)} on the same status class, "
                 + (f"from {where}, with its verdict by equivalence (dearer or cheaper: the 95% CI excludes 0; "
                    f"equivalent: the 90% CI lies inside the margin; else unresolved). " if where else
                    "not measured in this run (no whole-request or HTTP differences). ")
                 + "Correct idioms first, the cheapest on its dearest class first. Idiom lines: the variant module "
                   "less its docstring, imports and app boilerplate (`variants.Variant.idiom_lines`). Min Flask: the "
                   "registry's claim; in brackets the oldest release `make matrix` found it working on, where that ran. "
                 + ("Types it serialises: the type-set entries it serves without raising; bytes differ: on how many "
                    "entries both serve its bytes are not jsonify's; cost at 10 KB: Δ µs per request against "
                    f"{name_of(REFERENCE)} on the 10 KB payload ± half its 95% CI (`payloads.json`, section Payloads)."
                    if payload else "The payload columns: no `payloads.json` in this run (`make payloads`)."))]
