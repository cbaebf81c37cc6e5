"""Verify every variant against the contract and capture the exact bytes and headers it sends.

``python -m harness.conformance`` writes ``reports/out/conformance.json`` and exits 1 if a variant
departs from the contract without a declared divergence (the benchmarks must not time a broken idiom).

``capture_variant`` also runs inside the matrix's old-Flask environments (``harness.probe``), so what
this module imports at its top and in the capture functions is the standard library and ``variants``
only; the command line's harness imports (options, result files) run only when ``main`` does.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from variants.contract import BOOM, CASES, deviations

SCHEMA = "flask-json-idioms/conformance/3"  # harness.schemas.conformance.Conformance
SHOWN_HEADERS = ("Content-Type", "Content-Length", "WWW-Authenticate", "Allow", "Location", "ContentType", "Vary")

# What a response is observed to do, beside the contract's verdict: the facts the report's pitfall column
# is written from (key: how one observation reads, the case it was seen on filled in by ``summarise``).
FACTS = {
    "html_for_json": "HTML where JSON was expected",
    "other_media_type": "another media type where application/json was expected",
    "header_lost": "a required header lost",
    "status_changed": "another status than the contract's",
    "handler_bypassed": "a registered error handler bypassed (an HTTPException with no code is sent as it is)",
    "unexpected_log": "an exception logged on a request that should not raise",
    "not_logged": "the view's exception not logged",
    "exception_leaked": "the exception's text in the body",
    "head_body": "a body in the answer to HEAD",
    "bogus_header": "a bogus ContentType header",
    "escaped": "an exception left the app (the server answers with its own 500)",
    "raises_in_handler": "respond raises inside the shared error handler: the exception leaves the app",
}


def observed_facts(case, status, headers, body: bytes, bypassed=False, logged=(), escaped=None) -> list:
    """What a response to ``case`` shows, as ``FACTS`` keys with their detail: ``[{"fact", "detail"}]``.

    ``headers`` is a case-insensitive mapping; ``bypassed``: Flask was handed an HTTPException without a
    code (``abort(response)``), which skips every error handler; ``logged``: the exception type names
    the app logged; ``escaped``: the type name of an exception that left the app, if one did.
    """
    found = []

    def note(fact, detail):
        found.append({"fact": fact, "detail": detail})

    if escaped:
        note("escaped", escaped)
        return found
    content_type = headers.get("Content-Type") or ""
    mimetype = content_type.split(";")[0].strip().lower()
    if case.mimetype == "application/json" and mimetype != case.mimetype:
        note("html_for_json" if mimetype == "text/html" else "other_media_type", content_type or "(none)")
    if status != case.status:
        note("status_changed", f"{status} for {case.status}")
    for name in list(case.headers) + (["Allow"] if case.allow is not None else []):
        if headers.get(name) is None:
            note("header_lost", name)
    if "ContentType" in headers:
        note("bogus_header", f"ContentType: {headers.get('ContentType')}")
    if bypassed and case.status >= 400:
        note("handler_bypassed", f"a {status} raised with abort(response)")
    if case.logged and not logged:
        note("not_logged", "no log record")
    if not case.logged and logged:
        note("unexpected_log", ", ".join(logged))
    if case.logged and any(text in body for text in (b"Traceback", b"RuntimeError", BOOM.encode())):
        note("exception_leaked", body[:60].decode("utf-8", "replace"))
    if case.method == "HEAD" and body:
        note("head_body", f"{len(body)} bytes")
    return found


class _Recorder(logging.Handler):
    """Keeps the type names of the exceptions an app logs (in place of its console handlers while captured)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.types = []

    def emit(self, record):
        if record.exc_info and record.exc_info[0] is not None:
            self.types.append(record.exc_info[0].__name__)


def _send(app, case, client=None) -> dict:
    """One case through the test client, watched: response, exceptions logged, codeless HTTPExceptions, escape.
    ``client``: the variant's one client, whose cookies carry over from case to case as a browser's would (the
    flash that a redirect sets is read by the next page: the session cookie round trip through ``app.json``)."""
    client = client or app.test_client()
    recorder, seen = _Recorder(), []
    original = app.handle_http_exception

    def watched(e):
        seen.append(getattr(e, "code", None))
        return original(e)

    app.handle_http_exception = watched  # every HTTPException a view raises passes here (Flask 0.12 to 3.1)
    logger = app.logger
    handlers, logger.handlers = logger.handlers[:], [recorder]
    try:
        try:
            response = client.open(case.path, method=case.method, headers=case.request_headers,
                                   data=case.body or None)
        except Exception as e:  # what a WSGI server would answer with its own 500
            return {"status": 500, "headers": {}, "body": b"", "escaped": type(e).__name__, "logged": recorder.types,
                    "bypassed": False}
        return {"status": response.status_code, "headers": response.headers, "body": response.get_data(),
                "escaped": None, "logged": recorder.types, "bypassed": None in seen}
    finally:
        logger.handlers = handlers
        del app.handle_http_exception


def capture_variant(variant, observe_shared: bool = True) -> dict:
    """Every contract case sent to the variant through the test client: what came back, how it deviates, what was
    seen; with ``observe_shared``, also what its idiom does inside the shared error handler (``in_shared_handler``)."""
    app = variant.create_app()
    declares = getattr(variant, "declares", lambda case: False)
    cases = {}
    client = app.test_client()
    for case in CASES:
        got = _send(app, case, client)
        body, headers = got["body"], got["headers"]
        found = deviations(case, got["status"], headers, body)
        if got["escaped"]:
            found.append(f"{got['escaped']} left the app")
        cases[case.name] = {
            "request": f"{case.method} {case.path}" + (f" as {case.who}" if case.who else "")
                       + (f" with {case.body.decode()!r}" if case.body else ""),
            "status": got["status"],
            "headers": {name: headers[name] for name in SHOWN_HEADERS if name in headers},
            "body": body.decode("utf-8", "replace") if case.json is not None else None,
            "body_length": len(body),
            "deviations": found,
            "declared": bool(found) and declares(case),
            "facts": observed_facts(case, got["status"], headers, body, got["bypassed"], got["logged"], got["escaped"]),
        }
    shared = in_shared_handler(variant) if observe_shared else {}
    broken = any(c["deviations"] and not c["declared"] for c in cases.values())
    conforms = not any(c["deviations"] for c in cases.values())
    return {
        "summary": variant.summary,
        "min_flask": variant.min_flask,
        "divergence": variant.divergence,
        "headers_via": variant.headers,
        "pitfall": variant.pitfall,
        "idiom_lines": variant.idiom_lines,
        "conforms": conforms,
        "verdict": "conforms" if conforms else ("BROKEN" if broken or not variant.divergence else "declared divergence"),
        "cases": cases,
        "in_shared_handler": shared,
        "facts": summarise(cases, shared),
    }


def in_shared_handler(variant) -> dict:
    """For a variant whose module sets up its own error handling: the error cases answered by the shared
    handlers alone (``variants.site.api_error`` calling ``respond``), as ``{case: fact or None}``: what the
    idiom does inside an error handler."""
    module = getattr(variant, "module", None)
    if module is None or getattr(module, "setup", None) is None:
        return {}
    from variants.site import build_app

    app = build_app(module.__name__, module.respond)
    found = {}
    for case in CASES:
        if case.error and case.status != 401:
            got = _send(app, case)
            found[case.name] = got["escaped"]
    return found


def summarise(cases: dict, shared: dict) -> list:
    """The variant's facts: one entry per (fact, detail) with the cases it was seen on, in ``FACTS`` order."""
    grouped = {}
    for name, case in cases.items():
        for f in case["facts"]:
            grouped.setdefault((f["fact"], f["detail"]), []).append(name)
    for name, escaped in shared.items():
        if escaped:
            grouped.setdefault(("raises_in_handler", escaped), []).append(name)
    order = list(FACTS)
    return [{"fact": fact, "text": FACTS[fact], "detail": detail, "cases": names}
            for (fact, detail), names in sorted(grouped.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))]


def capture(variants) -> dict:
    return {variant.name: capture_variant(variant) for variant in variants}


def undeclared_failures(captured: dict) -> dict:
    """Variants that deviate without a declared divergence, with their undeclared deviations."""
    return {
        name: [f"{case}: {d}" for case, c in entry["cases"].items() if not c.get("declared") for d in c["deviations"]]
        for name, entry in captured.items()
        if entry["verdict"] == "BROKEN"
    }


def main(argv=None) -> int:
    """``make verify``: exit 0; 1 if a variant breaks the contract without a declared divergence; 2 for bad options."""
    from harness.cli import entry_point

    return entry_point(_verify)(argv)


def _verify(argv=None) -> int:
    from harness.cli import selected_variants
    from harness.results import OUT, record_stage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=None, help="comma-separated names (default: VARIANTS or all)")
    parser.add_argument("--out", default=str(OUT), help="output folder (default: reports/out)")
    args = parser.parse_args(argv)
    variants = selected_variants(args.variants)
    captured = capture(variants)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record_stage("verify", "conformance.json", {"schema": SCHEMA, "started": started, "variants": captured},
                 headline={"variants": {name: {"conformance": {"verdict": e["verdict"]}} for name, e in captured.items()}},
                 out=Path(args.out))
    for name, entry in captured.items():
        print(f"  {name:<26} {entry['verdict']}" + (f"  ({entry['divergence']})" if entry["divergence"] else ""))
    broken = undeclared_failures(captured)
    if broken:
        for name, problems in broken.items():
            print(f"error: {name} does not meet the contract and declares no divergence: {problems[0]}",
                  file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
