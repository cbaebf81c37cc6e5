"""Payloads: what each idiom makes of real data (the type table), what it costs from 100 bytes to 1 MB (the
size sweep, fitted as a fixed cost plus a cost per KB), the verdict per payload class and per type need, and
the user's own payloads (``make payloads``, ``payloads.json``)."""
from __future__ import annotations

from reports import charts
from reports.data import REFERENCE
from reports.document import Bullets, Details, Figure, Heading, Note, Para, Table, code_span
from reports.format import f_ci, f_num, f_signed, name_of, names_of, plural, young_counts_note

TITLE = "Payloads by type and size"
FILE = "payloads.json"
MARK = {"same": "same", "ok": "ok", "differs": "differs", "error": "**500**"}
CLASS_LABEL = {"tiny": "tiny (about 100 B)", "typical": "typical (1-10 KB)", "large": "large (100 KB and up)"}


def payloads_data(r):
    """payloads.json as this section reads it, or None (missing, corrupt, or from an earlier run whose payloads
    stage failed in this one: ``reports.data.Results`` notes why)."""
    raw = r.read(FILE)
    if not raw or not isinstance(raw.get("cells"), dict) or not isinstance(raw.get("corpus"), dict):
        return None
    if r._stale_file(FILE, "payloads", raw.get("started")):
        return None
    return raw


def mark(cell) -> str:
    if not cell:
        return "n/a"
    if cell["status"] == "ok" and cell.get("same_bytes"):
        return MARK["same"]
    if cell["status"] == "error" and not cell.get("client_got_500"):
        return f"**error {cell.get('http_status')}**"
    return MARK[cell["status"]]


def ordered_names(r, p) -> list:
    return [n for n in r.names if n in p["cells"]] + [n for n in p["cells"] if n not in r.names]


# --- what the decision table shows (reports.sections.verdict.decision) -------------------------------

def decision_columns(r) -> dict | None:
    """{variant: [types it serialises, bytes differ from jsonify, cost at 10 KB]}, or None without payloads.json."""
    p = payloads_data(r)
    if not p:
        return None
    types = [e for e, meta in p["corpus"].items() if meta.get("kind") == "type"]
    found = {}
    for name, cells in p["cells"].items():
        served = [e for e in types if e in cells and cells[e]["status"] != "error"]
        compared = [e for e, c in cells.items() if c.get("same_bytes") is not None
                    and p["cells"].get(REFERENCE, {}).get(e, {}).get("status") != "error"]
        differ = [e for e in compared if not cells[e]["same_bytes"]]
        d = ((p.get("cost") or {}).get(name) or {}).get("size_10kb", {}).get("delta_us")
        found[name] = [f"{len(served)}/{len(types)}" + (f" (raises on {', '.join(e for e in types if e not in served)})"
                                                        if len(served) < len(types) else ""),
                       "no (reference)" if name == REFERENCE else (
                           f"yes, on {len(differ)} of the {len(compared)} entries both serve" if differ
                           else f"no, on all {len(compared)} entries both serve"),
                       cost_text(d)]
    return found


def cost_text(d) -> str:
    if not d:
        return "not measured"
    if d.get("verdict") == "reference":
        return "0 (reference)"
    lo, hi = d["ci95"]
    return f"{f_signed(d['estimate'], 1)} ± {(hi - lo) / 2:.1f} µs {d.get('verdict', '')}".strip()


# --- the chart ------------------------------------------------------------------------------------

def cost_lines(folder, stem: str, series: dict, reference: str, *, title: str) -> list:
    """Cost (µs per request) against payload size (KB), both axes logarithmic, one line per idiom with its
    95% CI as whiskers; ``series``: name -> [(kb, estimate, [lo, hi]), ...]; the reference drawn black."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colours = plt.get_cmap("tab20").colors
    for i, (name, points) in enumerate(series.items()):
        points = sorted(points)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        err = [[max(y - p[2][0], 0) for y, p in zip(ys, points)], [max(p[2][1] - y, 0) for y, p in zip(ys, points)]]
        ref = name == reference
        ax.errorbar(xs, ys, yerr=err, label=name + (" (reference)" if ref else ""), marker="o", markersize=3,
                    linewidth=2 if ref else 1, color="black" if ref else colours[i % len(colours)],
                    linestyle="--" if ref else "-", capsize=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("payload size, KB (compact UTF-8 JSON)")
    ax.set_ylabel("whole request, µs (log)")
    ax.set_title(title, loc="left")
    ax.grid(which="both", color="#e5e5e5", linewidth=0.5)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return charts.save(fig, folder, stem)


# --- the section ----------------------------------------------------------------------------------

def build(ctx) -> list:
    r = ctx.data
    p = payloads_data(r)
    if not p:
        return [Note("Missing", r.stage_note("payloads", "payload", (FILE,))),
                Para("`make payloads` (also a stage of `make bench`) serves the corpus (records of 100 B to 1 MB, and "
                     "a set of Python types) through every idiom and times it; `PAYLOADS=path/to/responses.json` adds "
                     "your own.")]
    names = ordered_names(r, p)
    blocks = [Para(f"**What is measured:** {p.get('what')}. {p.get('mode')} run started {p.get('started')}, "
                   f"{p.get('wall_s')} s. Reference: {name_of(p.get('reference') or REFERENCE)}. Source: {ctx.link(FILE)}.")]
    blocks += type_table(p, names)
    blocks += needs(r, p, names)
    blocks += cost(ctx, p, names)
    blocks += http_cost(p, names)
    blocks += instructions(r, p, names)
    blocks += user_entries(r, p, names)
    for w in p.get("warnings") or []:
        blocks.append(Note("Warning", w))
    return blocks


def type_table(p: dict, names: list) -> list:
    corpus, cells = p["corpus"], p["cells"]
    entries = list(corpus)
    rows = [[code_span(e) + (" (yours)" if corpus[e]["source"] == "user" else ""), corpus[e].get("what") or "",
             f"{corpus[e]['size_bytes']:,}"] + [mark(cells[n].get(e)) for n in names] for e in entries]
    blocks = [Heading(3, "What each idiom makes of each entry"),
              Para(f"One `GET /api/payload/<entry>` per idiom and entry, through the idiom's own app with one route "
                   f"added whose view hands the value to the idiom (`variants.site.reply`). **same**: the very bytes "
                   f"{name_of(REFERENCE)} sends; **ok**: a 200 application/json body that parses to the same value as "
                   f"{name_of(REFERENCE)}'s under the entry's rule, in other bytes; **differs**: served, but another "
                   f"status, Content-Type or value, or served where {name_of(REFERENCE)} raises; **500**: an exception "
                   f"escaped the idiom and the client got a 500. Size: bytes of the compact UTF-8 JSON text."),
              Table(["entry", "what", "bytes"] + [code_span(n) for n in names], rows, "llr" + "c" * len(names))]
    details = []
    for e in entries:
        groups = {}
        for n in names:
            c = cells[n].get(e)
            if c:
                groups.setdefault((c["status"], c["detail"]), []).append(n)
        details.append(Para(f"{code_span(e)} (rule *{corpus[e]['rule']}*): " + "; ".join(
            f"{names_of(ns)}: {status}, {code_span(detail)}" for (status, detail), ns in groups.items())))
    rules = p.get("rules") or {}
    return blocks + [Details("Every cell's bytes or exception, idioms with the same answer grouped", details),
                     Details("The rules by which two bodies are the same value",
                             [Bullets([f"*{k}*: {text}" for k, text in rules.items()])])]


def needs(r, p: dict, names: list) -> list:
    """Per type need: the idioms that meet the contract, grouped by what they make of each of its entries."""
    corpus, cells = p["corpus"], p["cells"]
    correct = [n for n in names if r.kind(n) in ("correct", "unknown")]
    items = []
    for need, label in (p.get("needs") or {}).items():
        entries = [e for e, meta in corpus.items() if meta.get("need") == need]
        if not entries:
            continue
        groups = {}
        for n in correct:
            key = tuple(mark(cells[n].get(e)).replace("**", "") for e in entries)
            groups.setdefault(key, []).append(name_of(n))
        ranked = sorted(groups.items(), key=lambda kv: (-sum(m in ("same", "ok") for m in kv[0]), kv[0]))
        told = []
        for key, ns in ranked:
            if len(set(key)) == 1:
                what = {"same": f"all as {name_of(REFERENCE)}, byte for byte", "ok": "all the same values, other bytes",
                        "differs": "all differ", "500": "all raise (500)"}.get(key[0], key[0])
            else:
                what = ", ".join(f"{code_span(e)} {m}" for e, m in zip(entries, key))
            told.append(f"{what}: {', '.join(ns)}")
        items.append(f"**{label}** ({', '.join(code_span(e) for e in entries)}): " + "; ".join(told) + ".")
    return [Heading(3, "Verdict per type need"),
            Para("Among the idioms that meet the contract, grouped by what they make of each entry of a kind of value "
                 "a team may need to send (same, ok, differs, 500 as in the table; the rules are in its details):"),
            Bullets(items)]


def cost(ctx, p: dict, names: list) -> list:
    c, fits, kb = p.get("cost") or {}, p.get("fits") or {}, (p.get("config") or {}).get("sizes_kb") or {}
    sizes = sorted((e for e in kb if e in (c.get(REFERENCE) or {})), key=kb.get)
    if not sizes:
        return [Heading(3, "Cost against size"), Note("Missing", "no size entry was timed in this run.")]
    series = {n: [(kb[e], c[n][e]["us"]["estimate"], relative_ci(c[n][e])) for e in sizes if e in c.get(n, {})]
              for n in names if c.get(n)}
    ctx.chart(cost_lines, "payloads_cost", series, REFERENCE, title="Whole request against payload size, per idiom")
    rows = []
    for n in names:
        f = fits.get(n) or {}
        row = [name_of(n), fit_text(f.get("fixed_us"), 1), fit_text(f.get("per_kb_us"), 2)]
        for e in sizes:
            d = (c.get(n) or {}).get(e, {}).get("delta_us")
            row.append(cost_text(d) if d else "not timed")
        rows.append(row)
    targets = p.get("targets") or {}
    ci = targets.get("ci95_half_width_pct_of_cost") or {}
    blocks = [Heading(3, "Cost against size"),
              Figure("payloads_cost", "Whole request against payload size per idiom, log-log",
                     f"{ctx.measured_on()} Each point: the idiom's whole request (µs) on a size entry, the trimmed mean over "
                     f"worker processes of each one's median over rounds; whiskers: the 95% interval of its ratio to {REFERENCE} (the run's "
                     f"resolution between idioms; the machine's speed cancels in it). Both axes logarithmic."),
              Para(f"Fixed cost and cost per KB: a line fitted to each idiom's request time against the entry's size in "
                   f"each worker process (least squares weighted by 1/time, so each size counts alike), then over the "
                   f"workers, with 95% intervals. Δ: the whole request against {name_of(REFERENCE)} on the same entry, "
                   f"± half its 95% CI over workers, with its verdict ({p.get('margin_definition') or 'margin ±1%'})."),
              Table(["idiom", "fixed µs [95% CI]", "µs per KB [95% CI]"] + [f"Δ µs {code_span(e)}" for e in sizes],
                    rows, "l" + "r" * (2 + len(sizes)))]
    aa = [(e, (c.get(REFERENCE) or {}).get(e, {}).get("aa_pct")) for e in sizes]
    if any(x for _, x in aa):
        blocks.append(Para(f"A/A check: a second, separate app of {name_of(REFERENCE)}, timed as any idiom is, against "
                           f"{name_of(REFERENCE)}, % (95% CI; it should cover 0, and its width is the smallest difference "
                           "this run resolves): "
                           + ", ".join(f"{code_span(e)} {f_signed(x['estimate'], 1)}% {f_ci(x['ci95'], 1)}"
                                       for e, x in aa if x) + "."))
    if young_counts_note(p.get("young_counts")):
        blocks.append(Para(f"Collections: {young_counts_note(p.get('young_counts'))}"))
    if ci:
        blocks.append(Para(f"Resolution: the widest Δ interval is ±{f_num(ci.get('worst'), 1)}% of the idiom's own request "
                           f"({ci.get('where')}); target ±{ci.get('target')}% in a {targets.get('mode')} run: "
                           f"{'met' if ci.get('met') else '**not met**'}."))
    blocks += large_bodies(p, names, sizes)
    blocks += class_verdicts(p, names, sizes)
    blocks += ranking(p, sizes, kb)
    return blocks


def large_bodies(p: dict, names: list, sizes: list) -> list:
    """How the entries past the allocator's threshold were timed, and the page faults per request on the largest."""
    c, warm, warm_ms = p.get("cost") or {}, (p.get("config") or {}).get("warm_body_bytes"), (p.get("config") or {}).get("warm_ms")
    largest = sizes[-1]
    faults = [(n, (c.get(n) or {}).get(largest, {}).get("page_faults_per_request")) for n in names]
    if not warm or all(f is None for _, f in faults):
        return []
    many = sorted(((n, f) for n, f in faults if f is not None and f >= 10), key=lambda x: -x[1])
    before = (f"block follows at least {f_num(warm_ms, 0)} ms of untimed requests of the same idiom (at least one) "
              "and is as many requests long" if warm_ms else "request follows one untimed request of the same idiom")
    return [Para(f"Large bodies: on an entry whose body is {f_num(warm / 1024, 0)} KiB or more, each timed "
                 f"{before}, as in a process that serves it again and again; "
                 "otherwise the idiom before it, with its own megabyte buffers, sets glibc malloc's state (its dynamic "
                 "mmap threshold, heap top and free chunks): whether the request maps fresh pages, and how fast a "
                 "cheap one runs for its next few calls. "
                 f"Minor page faults (fresh memory the kernel maps) per request on {code_span(largest)}: "
                 + (", ".join(f"{name_of(n)} {f_num(f, 0)}" for n, f in many) + "; every other idiom fewer than 10."
                    if many else "fewer than 10 for every idiom."))]


def http_cost(p: dict, names: list) -> list:
    """The HTTP Δ at the entries make payloads-http timed (``cost.<variant>.<entry>.http``, the ``http`` block),
    beside the in-process Δ on the same entry."""
    http, c = p.get("http") or {}, p.get("cost") or {}
    heading = Heading(3, "Over HTTP")
    entries = http.get("entries") or []
    yours = [e for e, x in (p.get("corpus") or {}).items() if (x or {}).get("source") == "user" and e not in entries]
    hint = ([Para(f"Your payloads ({', '.join(code_span(e) for e in yours)}) were timed in process only; over HTTP too: "
                  f"`make payloads-http PAYLOADS=<the same path> LOAD_PAYLOADS=size_1kb,{yours[0]}` (a run too short for every entry's turn says the LOAD_SECONDS it needs).")]
            if yours else [])
    if not http:
        return [heading, Para("Not measured in this run: `make payloads-http` (~3 min; not part of `make bench`) times "
                              "every idiom's payload app behind gunicorn at 1 KB and 100 KB, and the report shows it "
                              "here.")] + hint
    if http.get("status") != "ok":
        return [heading, Note("Missing", f"the HTTP payload run {http.get('status')}: {http.get('error') or 'no Δ'}; "
                                         f"the in-process figures above stand.")] + hint
    request = http.get("request_us") or {}
    rows = []
    for n in names:
        row = [name_of(n)]
        for e in entries:
            cell = (c.get(n) or {}).get(e) or {}
            row += [cost_text(cell.get("delta_us")) if cell.get("delta_us") else "not timed in process",
                    cost_text(cell.get("http")) if cell.get("http") else "not timed"]
        rows.append(row)
    header = ["idiom"]
    for e in entries:
        header += [f"in process Δ µs {code_span(e)}", f"HTTP Δ µs {code_span(e)}"]
    aa = http.get("aa") or {}
    blocks = [heading,
              Para(f"The same payload apps behind a real server, {http.get('mode')} run started {http.get('started')}, "
                   f"{f_num(http.get('wall_s'), 0)} s: {http.get('method')}. Δ: the app's CPU time per request against "
                   f"{name_of(http.get('reference') or REFERENCE)} on the same entry (its own: "
                   + ", ".join(f"{code_span(e)} {f_num(x, 0)} µs" for e, x in request.items())
                   + f"), ± half its 95% CI, with its verdict (margin ±1% of that; a difference inside the A/A interval "
                     f"is *unresolved*). Over HTTP an idiom is timed among the other idioms' requests, not in blocks of "
                     f"its own calls as in process, so its absolute cost is higher; compare the Δ."),
              Table(header, rows, "l" + "r" * (2 * len(entries)))]
    if aa:
        blocks.append(Para(f"A/A check over HTTP: a second app of {name_of(REFERENCE)} against it, µs [95% CI]: "
                           + ", ".join(f"{code_span(e)} {f_signed(x['estimate'], 1)} {f_ci(x['ci95'], 1)}"
                                       for e, x in aa.items()) + "."))
    for w in http.get("warnings") or []:
        blocks.append(Note("Warning", f"HTTP run: {w}"))
    return blocks + hint


def instructions(r, p: dict, names: list) -> list:
    """Instructions per request against size (counts.json ``sizes``, ``make count``), beside the time measured here."""
    counted = (r.read("counts.json") or {}).get("sizes") or {}
    ref = counted.get(REFERENCE) or {}
    sizes = [e for e in (p.get("corpus") or {}) if e in ref]
    if not sizes:
        return [Heading(3, "Instructions against size"),
                Para("Not counted: `make count` (a stage of `make bench`, under valgrind) counts the instructions of "
                     "the size entries (counts.json `sizes`).")]
    c = p.get("cost") or {}
    rows = []
    for n in names:
        mine = counted.get(n) or {}
        if not mine:
            continue
        row = [name_of(n)]
        for e in sizes:
            x, us = mine.get(e), ((c.get(n) or {}).get(e) or {}).get("us")
            if not x:
                row.append("not counted")
                continue
            delta = "" if n == REFERENCE or x.get("delta_pct") is None else f" ({f_signed(x['delta_pct'], 1)}%)"
            row.append(f"{x['instructions'] / 1e6:,.2f} M{delta}" + (f"; {us['estimate']:,.1f} µs" if us else ""))
        rows.append(row)
    return [Heading(3, "Instructions against size"),
            Para(f"Instructions per request (millions; Δ against {name_of(REFERENCE)} on the same entry, %) counted by "
                 f"valgrind in {code_span('make count')} (exact from run to run at one hash seed), beside the time this "
                 f"run measured (µs, where timed). A count does not drift with the machine; the time includes what a "
                 f"count weighs alike (a cache miss, a system call)."),
            Table(["idiom"] + [code_span(e) for e in sizes], rows, "l" + "r" * len(sizes))]


def relative_ci(cell: dict) -> list:
    """The idiom's time with the 95% interval of its ratio to the reference (speed of the machine cancelled), not
    the interval of its absolute time over workers (which carries how fast each worker's machine ran)."""
    us, pct = cell["us"]["estimate"], cell.get("delta_pct") or {}
    if not pct.get("ci95") or pct.get("estimate") is None:
        return [us, us]
    ratio = 1 + pct["estimate"] / 100
    return [us * (1 + x / 100) / ratio for x in pct["ci95"]] if ratio > 0 else [us, us]


def fit_text(x, digits: int) -> str:
    return "n/a" if not x else f"{x['estimate']:,.{digits}f} {f_ci(x['ci95'], digits)}"


def class_verdicts(p: dict, names: list, sizes: list) -> list:
    """Per payload class: the idioms cheaper or dearer than the reference on every size of it that was timed."""
    c = p.get("cost") or {}
    items = []
    for cls, entries in (p.get("classes") or {}).items():
        timed = [e for e in entries if e in sizes]
        if not timed:
            items.append(f"**{CLASS_LABEL.get(cls, cls)}**: not timed in this run.")
            continue
        groups = {}
        for n in names:
            if n == REFERENCE:
                continue
            cells = [(c.get(n) or {}).get(e) for e in timed]
            if not all(cells):
                groups.setdefault("not timed", []).append(name_of(n))
                continue
            verdicts = {x["delta_us"]["verdict"] for x in cells}
            verdict = verdicts.pop() if len(verdicts) == 1 else "mixed"
            pct = [x["delta_pct"]["estimate"] for x in cells]
            span = f"{f_signed(min(pct), 0)}%" if len(pct) == 1 else f"{f_signed(min(pct), 0)}% to {f_signed(max(pct), 0)}%"
            groups.setdefault(verdict, []).append(name_of(n) if verdict == "equivalent" else f"{name_of(n)} ({span})")
        order = ("cheaper", "dearer", "equivalent", "unresolved", "mixed", "not timed")
        items.append(f"**{CLASS_LABEL.get(cls, cls)}** ({', '.join(code_span(e) for e in timed)}): "
                     + "; ".join(f"{v}: {', '.join(groups[v])}" for v in order if groups.get(v)) + ".")
    return [Heading(3, "Verdict per payload class"),
            Para(f"Against {name_of(REFERENCE)}'s whole request on the same entry; Δ as % of its request. An idiom is "
                 f"*cheaper* or *dearer* on a class when it is so on every size of it timed, *mixed* otherwise."),
            Bullets(items)]


def ranking(p: dict, sizes: list, kb: dict) -> list:
    order = p.get("ranking") or {}
    rows = [[code_span(e), f"{kb[e]:,.1f}", names_of(order.get(e, [])[:5])] for e in sizes]
    changes = p.get("ranking_changes") or []
    blocks = [Heading(3, "Ranking by size"),
              Table(["entry", "KB", "cheapest five, in order"], rows, "lrl")]
    rule = ("Reported only where the line fitted to the two idioms' difference against size crosses 0 between two "
            "sizes timed for both, and the order is resolved at the sizes on either side of the crossing after Holm's "
            "correction over every pair tested (two ends each): pure noise reports a change in under 5% of runs.")
    if changes:
        blocks.append(Para(rule))
        blocks.append(Bullets([f"{name_of(x['cheaper'])} is cheaper than {name_of(x['dearer'])} at {f_num(x['from_kb'], 1)} KB "
                               f"but dearer at {f_num(x['to_kb'], 1)} KB"
                               + (f"; the fitted lines cross at {f_num(x['crossover_kb'], 2)} KB"
                                  if x.get("crossover_kb") is not None else "")
                               + (f" (difference: fixed {fit_text(x['difference_fixed_us'], 1)} µs, per KB "
                                  f"{fit_text(x['difference_per_kb_us'], 2)} µs; Holm-adjusted p "
                                  f"{x['p_holm'][0]:.2g} and {x['p_holm'][1]:.2g} of a family of {x['family']})"
                                  if x.get("difference_per_kb_us") else "") for x in changes]))
    else:
        blocks.append(Para("No pair of idioms changes order between the sizes timed. " + rule))
    return blocks


def user_entries(r, p: dict, names: list) -> list:
    users = [e for e, meta in p["corpus"].items() if meta.get("source") == "user"]
    if not users:
        return [Heading(3, "Your payloads"),
                Para("None in this run: `make payloads PAYLOADS=path/to/responses.json` (or a folder of JSON files; "
                     "each at most 8 MiB) adds them, each named after its file.")]
    c = p.get("cost") or {}
    rows = []
    for e in users:
        unchanged = [n for n in names if p["cells"][n][e]["status"] == "ok"]
        rows.append([code_span(e), f"{p['corpus'][e]['size_bytes']:,}", names_of(unchanged) or "none",
                     "; ".join(f"{name_of(n)} {cost_text((c.get(n) or {}).get(e, {}).get('delta_us'))}"
                               for n in names if (c.get(n) or {}).get(e) and n != REFERENCE) or "not timed"])
    return [Heading(3, "Your payloads"),
            Para(f"From {code_span(p.get('user_path') or '?')}: {plural(len(users), 'entry', 'entries')}. Unchanged: the "
                 f"idioms whose body is {name_of(REFERENCE)}'s value (ok or same in the table above)."),
            Table(["entry", "bytes", "served unchanged by", "Δ µs per request"], rows, "lrll")]
