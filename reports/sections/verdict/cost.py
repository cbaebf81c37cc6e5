"""The verdict's bullets on construction cost: the cheapest correct idiom, and which idioms noise cannot tell apart."""
from __future__ import annotations

from reports.format import f_ci, f_num, f_us, name_of, names_of, plus_minus
from variants.contract import SCENARIOS


def candidates(r) -> list:
    """Idioms with microbenchmark results that may be recommended (correct, or not checked), cheapest first."""
    return [n for n in r.micro_rank() if r.kind(n) in ("correct", "unknown")]


def within_noise(row) -> bool:
    return bool(row and (not row["significant"] or row["below_resolution"]))


def points(r, points: list):
    """Append the cost bullets to ``points``; the cheapest correct idiom, or None."""
    if not r.micro:
        points.append("**Construction cost unknown.** " + r.stage_note("micro", "microbenchmark", ("micro.json",)))
        return None
    v = r.micro["variants"]
    ranked = candidates(r)
    if not ranked:
        points.append("No correct idiom has microbenchmark results.")
        return None
    cheapest = ranked[0]
    c = v[cheapest]
    points.append(f"**Cheapest correct idiom to build: {name_of(cheapest)}**, "
                  f"{f_num(c['ratio_to_floor']['estimate'])}× the floor {f_ci(c['ratio_to_floor']['ci95'])} "
                  f"({f_us(c['construct_ns']['median'])} per response over {'/'.join(SCENARIOS)}).")
    close = [n for n in ranked[1:] if within_noise(r.pair(cheapest, n))]
    apart = [n for n in ranked[1:] if n not in close]
    if close:
        points.append(f"Within noise of {name_of(cheapest)} (no significant difference, or under the run-to-run "
                      f"resolution): {names_of(close)}.")
    elif apart:
        row = r.pair(cheapest, apart[0])
        points.append(f"No other correct idiom is within noise of it: the next, {name_of(apart[0])}, takes "
                      f"{f_num(row['ratio'], 3)} ± {f_num(plus_minus(row['ci95']), 3)}× as long (Holm p = {row['p_holm']:.2g}).")
    groups = noise_groups(r, ranked)
    if groups:
        points.append("Within noise of each other, among the correct idioms: "
                      + "; ".join("{" + names_of(g) + "}" for g in groups)
                      + ". Every other neighbouring pair in the ranking differs significantly.")
    elif len(ranked) > 2:
        points.append("Every neighbouring pair of correct idioms in the ranking differs significantly.")
    if len(ranked) > 1:
        last = ranked[-1]
        row = r.pair(cheapest, last)
        if row:
            points.append(f"The dearest correct idiom, {name_of(last)}, takes {f_num(row['ratio'])} ± "
                          f"{f_num(plus_minus(row['ci95']))}× as long as {name_of(cheapest)} "
                          f"({f_us(v[last]['construct_ns']['median'])} vs {f_us(c['construct_ns']['median'])}).")
    return cheapest


def noise_groups(r, ranked: list) -> list:
    """Runs of neighbours in the ranking that are within noise of the next one (two or more idioms each)."""
    groups, current = [], [ranked[0]] if ranked else []
    for a, b in zip(ranked, ranked[1:]):
        if within_noise(r.pair(a, b)):
            current.append(b)
        else:
            if len(current) > 1:
                groups.append(current)
            current = [b]
    if len(current) > 1:
        groups.append(current)
    return groups
