"""The conformance matrix: every contract case sent to every idiom, and how each departs from the contract."""
from __future__ import annotations

from reports.document import Bullets, Heading, Note, Para, Table, code_span
from reports.format import name_of, show_bytes
from variants.contract import CASES_BY_NAME, ERROR_SCENARIOS, SCENARIOS

TITLE = "Conformance matrix"


def build(ctx) -> list:
    r = ctx.data
    conf = r.conformance
    if conf is None:
        return [Note("Missing", r.stage_note("verify", "conformance", ("conformance.json",)))]
    names = [n for n in r.names if n in conf]
    cases = list(next(iter(conf.values()))["cases"]) if conf else []
    blocks = [Para("Every contract case sent to every idiom through Flask's test client "
                   "(`harness.conformance`); the first row is what the contract requires.")]
    blocks += status_table(conf, names, cases)
    json_cases = [c for c in cases if CASES_BY_NAME.get(c) is not None and CASES_BY_NAME[c].idiom]
    # one case per status class whose body the idiom builds: the requests the benchmarks send
    shown = [s.case.name for s in (*SCENARIOS.values(), *ERROR_SCENARIOS.values()) if s.case.name in json_cases]
    blocks += headers_table(conf, names, json_cases, shown)
    blocks += bodies_table(conf, names, shown)
    blocks += facts_table(conf, names)
    blocks += divergences(conf, names)
    return blocks


def observed_pitfalls(meta: dict) -> str:
    """A variant's pitfalls: what ``make verify`` observed (conformance.json's facts), then the registry's prose
    as the explanation; the prose alone where no facts were recorded (an older conformance.json)."""
    prose = meta.get("pitfall", "")
    facts = meta.get("facts")
    if facts is None:
        return prose
    seen = "; ".join(f"{f['text']} ({f['detail']}, {len(f['cases'])} case{'' if len(f['cases']) == 1 else 's'})"
                     for f in facts)
    return (f"Observed: {seen}. " if seen else "Observed: nothing amiss. ") + prose


def facts_table(conf: dict, names: list) -> list:
    rows = []
    for name in names:
        for f in conf[name].get("facts") or ():
            rows.append([name_of(name), f["text"], code_span(f["detail"]), ", ".join(code_span(c) for c in f["cases"])])
    head = [Heading(3, "Pitfalls observed"),
            Para("What each idiom's responses were seen to do (`harness.conformance.observed_facts`): HTML or another "
                 "media type where JSON was expected, a required header lost, a registered error handler bypassed "
                 "(`abort(response)` raises an HTTPException with no code, which Flask sends without looking for a "
                 "handler), an exception logged or left out of the log, and, for the idioms whose module sets up its "
                 "own error handling, what `respond` does inside the shared error handler (`variants.site.api_error`). "
                 "The decision table's pitfall column is written from these facts.")]
    if not rows:
        return head + [Para("Nothing observed (or conformance.json predates the facts).")]
    return head + [Table(["idiom", "observed", "detail", "cases"], rows, "llll")]


def status_table(conf: dict, names: list, cases: list) -> list:
    head = ["idiom", "verdict"] + [code_span(c) for c in cases]
    expected = ["**contract**", ""] + [str(CASES_BY_NAME[c].status) if c in CASES_BY_NAME else "?" for c in cases]
    rows = [expected]
    for name in names:
        got = conf[name]["cases"]
        row = [name_of(name), conf[name]["verdict"]]
        for c in cases:
            cell = got.get(c, {})
            status = cell.get("status", "?")
            expected_status = CASES_BY_NAME[c].status if c in CASES_BY_NAME else status
            shown = str(status) if status == expected_status else f"**{status}**"
            row.append(f"{shown} ✗" if cell.get("deviations") else shown)
        rows.append(row)
    return [Heading(3, "Status codes per case"), Table(head, rows, "ll" + "c" * len(cases)),
            Para("✗: the response departs from the contract in some way (status in bold if it is the status; "
                 "the rest under Divergences explained). Requests: "
                 + "; ".join(f"{code_span(c)} = {conf[names[0]]['cases'][c]['request']}" for c in cases) + ".")]


def headers_table(conf: dict, names: list, json_cases: list, shown: list) -> list:
    rows = []
    for name in names:
        got = conf[name]["cases"]
        types = sorted({got[c]["headers"].get("Content-Type", "(none)") for c in json_cases if c in got})
        auth = sorted({got[c]["headers"].get("WWW-Authenticate", "**missing**") for c in json_cases
                       if c in got and got[c]["status"] == 401})
        allow = sorted({got[c]["headers"].get("Allow", "**missing**") for c in json_cases
                        if c in got and got[c]["status"] == 405})
        # the bogus header of the idiom that writes ContentType for Content-Type (the typo as posted)
        extra = sorted({h for c in json_cases if c in got for h in got[c]["headers"] if h == "ContentType"})
        rows.append([name_of(name), ", ".join(code_span(t) for t in types),
                     ", ".join(code_span(a) if not a.startswith("**") else a for a in auth) or "n/a",
                     ", ".join(code_span(a) if not a.startswith("**") else a for a in allow) or "n/a",
                     " / ".join(str(got[c]["body_length"]) if c in got else "n/a" for c in shown),
                     ", ".join(f"{code_span(h)}: {code_span(got[json_cases[0]]['headers'][h])}" for h in extra) or ""])
    return [Heading(3, "Headers and body length of the JSON responses"),
            Table(["idiom", "Content-Type", "WWW-Authenticate on 401", "Allow on 405",
                   "body bytes (" + " / ".join(code_span(c) for c in shown) + ")", "other headers"], rows, "llllrl")]


def bodies_table(conf: dict, names: list, shown: list) -> list:
    forms = {}
    for name in names:
        key = tuple(conf[name]["cases"].get(c, {}).get("body") for c in shown)
        forms.setdefault(key, []).append(name)
    rows = [[", ".join(name_of(n) for n in group)] + [show_bytes(b) for b in key] for key, group in forms.items()]
    return [Heading(3, "Exact body bytes"),
            Para(f"{len(forms)} distinct byte forms across {len(names)} idioms (`\\n` is a newline)."),
            Table(["idioms"] + [code_span(c) for c in shown], rows)]


def divergences(conf: dict, names: list) -> list:
    notes = []
    for name in names:
        entry = conf[name]
        if entry["verdict"] == "conforms":
            continue
        seen = {}
        for case in entry["cases"].values():
            for d in case["deviations"]:
                seen[d] = seen.get(d, 0) + 1
        found = "; ".join(f"{d} ({k} of {len(entry['cases'])} cases)" for d, k in seen.items())
        label = "declared divergence" if entry["verdict"] == "declared divergence" else "**BROKEN: no divergence declared**"
        notes.append(f"{name_of(name)} ({label}): {entry.get('divergence') or ''} Observed: {found or 'nothing'}.")
    return [Heading(3, "Divergences explained")] + ([Bullets(notes)] if notes else [Para("No idiom departs from the contract.")])
