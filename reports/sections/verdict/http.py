"""What the load stage measured directly over HTTP, and whether a difference shows through its noise.

A difference over HTTP is claimed only when the two intervals are apart and the gap is larger than
the A/A check (the same idiom served twice by two app instances), the load stage's resolution.
"""
from __future__ import annotations

from reports.format import f_ci, f_num, f_pct, name_of


def correct_over_http(r) -> list:
    """Correct idioms with a ratio to the floor over HTTP."""
    lv = r.load["variants"] if r.load else {}
    return [n for n in r.correct() if (lv.get(n, {}).get("ratio_to_floor") or {}).get("estimate") is not None]


def cheapest_correct(r):
    """The correct idiom with the least app time over HTTP (as a ratio to the floor's), or None."""
    correct = correct_over_http(r)
    if not correct:
        return None
    lv = r.load["variants"]
    return min(correct, key=lambda n: lv[n]["ratio_to_floor"]["estimate"])


def aa_pct(r):
    """|A/A difference| in % over HTTP (two app instances of one idiom), or None where not measured."""
    aa = ((r.load or {}).get("calibration") or {}).get("aa")
    return abs(aa["pct"]) if isinstance(aa, dict) and isinstance(aa.get("pct"), (int, float)) else None


def apart(a, b) -> bool:
    return bool(a and b and (a[1] < b[0] or b[1] < a[0]))


def resolved(r, ra: dict, rb: dict) -> bool:
    """Intervals apart, and further apart than the A/A check's difference."""
    if not apart(ra.get("ci95"), rb.get("ci95")):
        return False
    aa = aa_pct(r)
    gap = 100 * abs(ra["estimate"] / rb["estimate"] - 1)
    return aa is None or gap > aa


def only_points(r) -> list:
    """Without microbenchmarks: what the load stage alone says about the correct idioms."""
    lv = r.load["variants"]
    correct = correct_over_http(r)
    if not correct:
        return []
    best = cheapest_correct(r)
    deltas = [(lv[n].get("share_of_request") or {}).get("idiom_delta_pct") for n in correct]
    deltas = [d for d in deltas if d is not None]
    return [f"Over HTTP the cheapest correct idiom is {name_of(best)} ({f_num(lv[best]['ratio_to_floor']['estimate'], 3)}× "
            f"the floor's app time)" + (f"; the correct idioms' app CPU differs by up to {f_pct(max(deltas), 2)} of a "
                                        f"request's server CPU." if deltas else ".")]


def points(r, cheapest: str, dearest: str) -> list:
    """What the load stage measured directly, beside the estimate from the microbenchmarks."""
    lv = r.load["variants"]
    if not correct_over_http(r) or cheapest not in lv:
        return []
    best = cheapest_correct(r)
    if best == cheapest:
        text = f"Over HTTP too, {name_of(cheapest)} is the cheapest correct idiom (ratio of app time to the floor's)"
    else:
        rb, rc = lv[best]["ratio_to_floor"], lv[cheapest]["ratio_to_floor"]
        text = (f"Over HTTP the cheapest correct idiom is {name_of(best)} "
                f"({f_num(rb['estimate'], 3)}× the floor {f_ci(rb.get('ci95'), 3)}, "
                f"vs {f_num(rc['estimate'], 3)}× {f_ci(rc.get('ci95'), 3)} "
                f"for {name_of(cheapest)}): "
                + ("a real difference at this resolution" if resolved(r, rb, rc) else
                   "within noise over HTTP (overlapping intervals, or closer than the A/A check)"))
    measured = difference(r, cheapest, dearest)
    return [text + "." + (f" {measured}" if measured else "")]


def difference(r, a: str, b: str):
    """One sentence on ``a`` against ``b`` over HTTP, or None where either was not measured."""
    lv = r.load["variants"]
    if b not in lv or a == b:
        return None
    ra, rb = lv[a].get("ratio_to_floor") or {}, lv[b].get("ratio_to_floor") or {}
    if ra.get("estimate") is None or rb.get("estimate") is None:
        return None
    return (f"{name_of(a)} against {name_of(b)} over HTTP: {f_num(ra['estimate'], 3)}× vs {f_num(rb['estimate'], 3)}× "
            f"the floor's app time, "
            + ("a difference that shows through the server's noise." if resolved(r, ra, rb) else
               "within noise (overlapping intervals, or closer than the A/A check): the difference does not show "
               "over HTTP in this run."))
