"""What the cheapest correct idiom saves per request: the microbenchmarks' gap as a share of a request's
server time, beside the load stage's own measurement, and the recommendation drawn from both."""
from __future__ import annotations

from reports.document import Heading, Para, Table
from reports.format import f_num, f_pct, name_of, names_of
from reports.sections.verdict import cost, http

SHARE_THRESHOLD_PCT = 5.0  # under this share of a request's server time, cost is not a deciding factor


def request_time_us(r, name: str):
    """A request's server time: the load stage's server CPU per request (gunicorn and Flask, the whole
    request), else one in-process WSGI call from the microbenchmarks; (µs, what it is)."""
    if r.load:
        shape, facts = r.primary_shape()
        per_request = facts.get("server_request_cpu_us") or r.load["run"].get("server_request_cpu_us")
        if per_request:
            return per_request, f"the server's CPU time per request over HTTP, gunicorn and Flask, {shape} shape"
    if r.micro and name in r.micro["variants"]:
        return r.micro["variants"][name]["dispatch_ns"]["median"] / 1000, \
            "one in-process WSGI call of the app from the microbenchmarks, without server or network, as there are no load results"
    return None, None


def savings(r, cheapest: str) -> list:
    """Per correct idiom: what switching to ``cheapest`` saves per response, in µs and % of a request."""
    v = r.micro["variants"]
    rows = []
    for name in cost.candidates(r):
        if name == cheapest:
            continue
        saved_us = (v[name]["construct_ns"]["median"] - v[cheapest]["construct_ns"]["median"]) / 1000
        request_us, basis = request_time_us(r, name)
        rows.append({"name": name, "saved_us": saved_us, "request_us": request_us, "basis": basis,
                     "share_pct": 100 * saved_us / request_us if request_us else None})
    return rows


def points(r, points: list, cheapest) -> list:
    """Append the end-to-end bullets to ``points``; the gains per idiom (for the table and the recommendation)."""
    if r.load is None:
        points.append("**Over HTTP: no load results.** " + r.stage_note("load", "load", ("load.json",)))
    if not cheapest:
        if r.load:
            points += http.only_points(r)
        return []
    rows = [row for row in savings(r, cheapest) if row["share_pct"] is not None]
    if not rows:
        return []
    lv = r.load["variants"] if r.load else {}
    for row in rows:
        row["http_pct"] = (lv.get(row["name"], {}).get("share_of_request") or {}).get("idiom_delta_pct")
    near, far = rows[0], max(rows, key=lambda x: x["saved_us"])
    text = (f"**End to end**, a request costs the server {f_num(far['request_us'], 0)} µs ({far['basis']}). "
            f"Choosing {name_of(cheapest)} saves {f_num(far['saved_us'])} µs per response over the dearest correct "
            f"idiom, {name_of(far['name'])}: **{f_pct(far['share_pct'])} of a request** by the microbenchmarks")
    if far["http_pct"] is not None:
        text += (f"; measured over HTTP, {name_of(far['name'])}'s app CPU is **{f_pct(far['http_pct'], 1)} of a "
                 f"request** above the cheapest correct idiom's")
    text += (f". Over the nearest, {name_of(near['name'])}, it saves {f_num(near['saved_us'])} µs "
             f"({f_pct(near['share_pct'])}).")
    points.append(text)
    shares = [x["share_pct"] for x in rows] + [x["http_pct"] for x in rows if x["http_pct"] is not None]
    worst = max(shares)
    if worst < SHARE_THRESHOLD_PCT:
        points.append(f"So construction cost does not decide a house style here: at most {f_pct(worst)} of a "
                      f"request's server time between correct idioms (under {SHARE_THRESHOLD_PCT:.0f}%). Choose on the "
                      f"decision table's other columns: lines, minimum Flask, how extra headers are set, pitfalls.")
    else:
        points.append(f"Construction cost is visible end to end: up to {f_pct(worst)} of a request's server time "
                      f"between correct idioms (over {SHARE_THRESHOLD_PCT:.0f}%), for the idioms at the dear end of the "
                      f"ranking; among the idioms near the cheap end it is a fraction of that (table below).")
    if r.load:
        points += http.points(r, cheapest, far["name"])
    return rows


def recommendation(r, cheapest, gains: list):
    """One sentence a team can act on, from the gains: the cheap end, the dear end, the rest."""
    if not cheapest or not gains:
        return None
    http_best = http.cheapest_correct(r)
    cost_pct = {x["name"]: max(x["share_pct"], x["http_pct"] if x["http_pct"] is not None else 0) for x in gains}
    dear = [n for n, c in cost_pct.items() if c >= SHARE_THRESHOLD_PCT]
    rest = [n for n in cost_pct if n not in dear and n not in (cheapest, http_best)]
    text = (f"**Recommendation.** Among the correct idioms, {name_of(cheapest)} is the cheapest to build"
            + (f" and {name_of(http_best)} the cheapest over HTTP" if http_best and http_best != cheapest else
               " and over HTTP" if http_best else ""))
    if dear:
        text += (f"; {names_of(dear)} cost {SHARE_THRESHOLD_PCT:.0f}% or more of a request's "
                 f"server time over the cheapest, so keep {'it' if len(dear) == 1 else 'them'} off hot paths")
    if rest:
        text += (f"; the other {len(rest)} are within {f_pct(max(cost_pct[n] for n in rest))} of a request of the "
                 f"cheapest, so choose among them on the decision table below (lines, minimum Flask, headers, pitfalls)")
    return text + "."


def gains_table(cheapest, gains: list) -> list:
    if not gains:
        return []
    rows = [[name_of(x["name"]), f"{f_num(x['saved_us'])} µs", f_pct(x["share_pct"], 2),
             f_pct(x["http_pct"], 2) if x["http_pct"] is not None else "n/a"] for x in gains]
    return [Heading(3, f"What {name_of(cheapest)} saves, idiom by idiom"),
            Table(["instead of", "construction µs saved (microbenchmarks)", "as % of a request's server time",
                   "app CPU above the cheapest correct idiom, % of a request (over HTTP)"], rows, "lrrr"),
            Para(f"Request's server time: {gains[0]['basis']}, {f_num(gains[0]['request_us'], 1)} µs. The last "
                 f"column is the load stage's own measurement (`share_of_request.idiom_delta_pct`), against the "
                 f"cheapest correct idiom over HTTP.")]
