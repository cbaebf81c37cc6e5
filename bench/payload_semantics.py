"""What each idiom makes of each payload entry, through the real app: the bytes sent, or the exception.

For every variant, ``payload_app`` takes the variant's own app (``REGISTRY[name].create_app()``: its
idiom, error handlers and configuration) and adds one route, ``GET /api/payload/<entry>``, whose view
hands the entry's value to the idiom exactly as the contract's views do:
``variants.site.reply(contract.Reply(value, 200, {}))``. Nothing in ``variants/`` changes.

A cell records the status line, Content-Type, Content-Length and the exact body the test client got,
or the exception that escaped the idiom (Flask's ``got_request_exception`` signal: its type and message)
and whether the client got a 500. The reference is ``jsonify_tuple``. A cell is

- ``ok``: a 200 with Content-Type application/json whose body parses (``json.loads``) to the same value
  as the reference's under the entry's rule (``payloads.types.RULES``); the bytes may still differ;
- ``differs``: served, but not that: another status or Content-Type, a body that is not JSON or is
  another value, or a body where the reference raised;
- ``error``: an exception escaped (the client got a 500), or a 5xx.
"""
from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from flask import got_request_exception

from variants import REGISTRY, contract
from variants.site import reply

REFERENCE = "jsonify_tuple"
ROUTE = "/api/payload/<entry>"
SHOWN_BYTES = 240  # a body longer than this is shown cut, with its length and SHA-256


def path_of(entry: str) -> str:
    return "/api/payload/" + quote(entry, safe="")


def environ_for(entry: str) -> dict:
    """A prepared WSGI environ of ``GET /api/payload/<entry>`` (the timed and the counted requests)."""
    from werkzeug.test import EnvironBuilder
    return EnvironBuilder(path=path_of(entry), method="GET", base_url="http://127.0.0.1/").get_environ()


def payload_app(name: str, values: dict):
    """Variant ``name``'s app with the payload route added; ``values``: entry name -> the value its view hands over.
    Exceptions that escape a request are kept in ``app.extensions["payload_errors"]`` (Flask still answers 500)."""
    app = REGISTRY[name].create_app()
    errors = app.extensions["payload_errors"] = []

    def payload(entry):
        if entry not in values:
            return reply(contract.Reply({"error": f"no entry {entry}"}, 404, {}))
        return reply(contract.Reply(values[entry], 200, {}))

    app.add_url_rule(ROUTE, "payload", payload)

    def record(sender, exception, **extra):
        errors.append(exception)

    got_request_exception.connect(record, app, weak=False)
    return app


def shown(body: bytes) -> str:
    """The exact bytes as text (``\\xNN`` for bytes that are not UTF-8); cut with length and hash when long."""
    text = body.decode("utf-8", "backslashreplace")
    if len(body) <= SHOWN_BYTES:
        return text
    return (f"{body[:SHOWN_BYTES].decode('utf-8', 'ignore')}… ({len(body):,} bytes, "
            f"sha256 {hashlib.sha256(body).hexdigest()[:16]})")


def _strict(body: bytes) -> bool:
    """Whether the body is JSON by RFC 8259 (no NaN or Infinity)."""
    def refuse(constant):
        raise ValueError(constant)

    try:
        json.loads(body, parse_constant=refuse)
        return True
    except (ValueError, RecursionError):
        return False


def observe(app, entry: str) -> dict:
    """One GET of the entry through the test client: what the client saw, and any exception that escaped."""
    errors = app.extensions["payload_errors"]
    del errors[:]
    # the 500s are expected and recorded here, so Flask's traceback is not printed; only for this request: the
    # logger is the process's one for the variant's module name, which other apps of that variant share
    logger, was = app.logger, app.logger.disabled
    logger.disabled = True
    try:
        response = app.test_client(use_cookies=False).get(path_of(entry))
    finally:
        logger.disabled = was
    body = response.get_data()
    found = {"http_status": response.status_code, "content_type": response.headers.get("Content-Type"),
             "content_length": response.headers.get("Content-Length"), "body": body, "exception": None}
    if errors:
        e = errors[-1]
        found["exception"] = {"type": type(e).__name__, "message": str(e)[:300]}
    found.update(parse(body))
    return found


_PARSED: dict = {}  # body -> its parse: most idioms send the reference's very bytes, parsed once (large bodies)


def parse(body: bytes) -> dict:
    """{"parsed", "parses", "strict"}: the body through ``json.loads``, and whether it is strict JSON."""
    if body not in _PARSED:
        if len(_PARSED) > 64:
            _PARSED.clear()
        try:
            _PARSED[body] = {"parsed": json.loads(body), "parses": True, "strict": _strict(body)}
        except (ValueError, RecursionError):
            _PARSED[body] = {"parsed": None, "parses": False, "strict": False}
    return _PARSED[body]


def _content_length(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def judge(seen: dict, ref: dict, rule: str) -> dict:
    """A cell from what the client saw (``observe``) and what it saw from the reference."""
    from payloads.types import same_value

    body, status = seen["body"], seen["http_status"]
    mimetype = (seen["content_type"] or "").split(";")[0].strip().lower()
    cell = {"http_status": status, "content_type": seen["content_type"],
            "content_length": _content_length(seen["content_length"]), "body_bytes": len(body),
            "exception": seen["exception"], "client_got_500": status == 500,
            "strict_json": seen["strict"],
            "same_bytes": None, "parses_as_reference": None, "body": shown(body),
            "body_sha256": hashlib.sha256(body).hexdigest()}
    ref_failed = ref["exception"] is not None or ref["http_status"] >= 500
    if seen["exception"] is not None or status >= 500:
        e = seen["exception"]
        cell["status"] = "error"
        cell["detail"] = ((f"{e['type']}: {e['message']}" if e else f"HTTP {status}")
                          + f"; the client got {'a 500' if status == 500 else f'HTTP {status}'}")
        return cell
    cell["same_bytes"] = body == ref["body"]
    if ref_failed:
        cell["status"] = "differs"
        cell["detail"] = f"serves it where {REFERENCE} raises: {shown(body)}"
        return cell
    same = seen["parses"] and ref["parses"] and same_value(seen["parsed"], ref["parsed"], rule)
    cell["parses_as_reference"] = bool(same)
    how = []
    if status != ref["http_status"]:
        how.append(f"HTTP {status}, {REFERENCE} {ref['http_status']}")
    if mimetype != "application/json":
        how.append(f"Content-Type {seen['content_type']}")
    if not seen["parses"]:
        how.append("the body is not JSON")
    elif not same:
        how.append(f"another value than {REFERENCE}'s under the rule '{rule}'")
    if how:
        cell["status"] = "differs"
        cell["detail"] = "; ".join(how) + f": {shown(body)}"
    else:
        cell["status"] = "ok"
        cell["detail"] = ("the same bytes as " + REFERENCE if cell["same_bytes"] else "other bytes, the same value") \
            + f": {shown(body)}"
    return cell


def table(names: list, entries: dict, progress=None) -> dict:
    """{variant: {entry: cell}} for ``entries`` (name -> ``payloads.Entry``); the reference is always observed."""
    values = {name: e.value for name, e in entries.items()}
    ref_app = payload_app(REFERENCE, values)
    ref = {entry: observe(ref_app, entry) for entry in entries}
    found = {}
    for name in names:
        app = ref_app if name == REFERENCE else payload_app(name, values)
        found[name] = {entry: judge(ref[entry] if name == REFERENCE else observe(app, entry), ref[entry], e.rule)
                       for entry, e in entries.items()}
        if progress is not None:
            progress.step(note=name)
    return found
