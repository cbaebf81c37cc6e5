"""The matrix probe: every contract case sent to every variant on the Flask installed here.

``python -m harness.probe OUT.json [--variants a,b]`` runs inside each Flask release's nox environment
(``noxfile.py``), from Flask 0.12 to 3.1, and writes the raw captures that ``harness.matrix`` classifies
in the main .venv (schema: ``harness.schemas.compat.CompatProbe``). So that it runs on every one of those
releases, this module imports only the standard library, ``variants``, ``harness.conformance`` (the
capture of one variant, shared with ``make verify``), ``harness.environment`` (installed versions),
``payloads`` and ``bench.payload_semantics`` (the type set and what ``make payloads`` does with it: one
copy) and Flask itself; ``tests/test_matrix.py`` parses it and fails on any other import, here or in the
project modules it pulls in.

After the contract, every variant serves the payload type set (``probe_payloads``): the exact bytes, status,
Content-Type or the exception per entry, which ``harness.matrix`` compares from release to release.

Before the variants, a control app (the shared routes and Flask-Login auth, answering with the oldest
API, ``Response(json.dumps(...), mimetype=...)``) is captured the same way: if it fails, the shared
code does not run on this release, whatever the idiom.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from harness.conformance import capture_variant
from harness.environment import installed_versions
from variants import select

PACKAGES = ("flask", "werkzeug", "jinja2", "itsdangerous", "markupsafe", "click", "blinker", "flask-login", "orjson")


def one_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _control_respond(body, status, headers):
    from flask import Response

    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def control_variant():
    """The shared app with no idiom under test: routes and auth, answering with Flask 0.x's own API."""
    from variants.site import build_app

    return SimpleNamespace(name="(control)", summary="control", min_flask="0.1", divergence=None,
                           headers="", pitfall="", idiom_lines=0,
                           create_app=lambda: build_app("variants.site", _control_respond))


class ExceptionLog:
    """Unhandled exceptions in views, by (method, path, Authorization), from ``got_request_exception``."""

    def __init__(self):
        self.seen = {}
        self.available = False
        try:
            from flask import got_request_exception

            got_request_exception.connect(self._record, weak=False)
            self.available = True
        except Exception:  # Flask < 2.3 without blinker: signals unavailable, a 500 is still a deviation
            pass

    def close(self) -> None:
        if self.available:
            from flask import got_request_exception

            got_request_exception.disconnect(self._record)

    def _record(self, sender, exception=None, **extra):
        from flask import request

        key = (request.method, request.path, request.headers.get("Authorization"), request.get_data())
        self.seen.setdefault(key, one_line(exception))

    def for_cases(self) -> dict:
        from variants.contract import CASES

        found = {}
        for case in CASES:
            if case.logged:  # the view that raises on purpose (GET /api/boom): its exception is the case
                continue
            key = (case.method, case.path, case.request_headers.get("Authorization"), case.body)
            if key in self.seen:
                found[case.name] = self.seen[key]
        return found


def probe_one(variant, log: ExceptionLog) -> dict:
    """One variant on the installed Flask: its captured cases, or the error that stopped it."""
    log.seen.clear()
    try:
        captured = capture_variant(variant, observe_shared=False)  # the matrix classifies the real app only
    except Exception as e:  # import or create_app failed: the cell says how, one line
        return {"error": one_line(e), "cases": {}, "exceptions": {}}
    return {"error": None, "verdict": captured["verdict"], "cases": captured["cases"], "exceptions": log.for_cases()}


def probe_payloads(variants) -> dict:
    """What each variant makes of the payload type set (``payloads.types.TYPE_SET``: datetimes, Decimal, UUID, non-ASCII,
    mixed keys, NaN, ...) on the Flask installed here, through ``bench.payload_semantics``'s app and request (the same
    code ``make payloads`` runs): per variant ``{"error", "entries": {entry: {"http_status", "content_type", "body",
    "exception"}}}``, ``body`` the exact bytes as ``bench.payload_semantics.shown`` writes them."""
    from bench.payload_semantics import observe, payload_app, shown
    from payloads.types import TYPE_SET

    values = {t.name: t.value for t in TYPE_SET}
    found = {}
    for variant in variants:
        try:
            app = payload_app(variant.name, values)
        except Exception as e:  # the variant does not import or build here: the conformance cell says so too
            found[variant.name] = {"error": one_line(e), "entries": {}}
            continue
        entries = {}
        for name in values:
            try:
                seen = observe(app, name)
            except Exception as e:  # the test client itself failed (not a 500 Flask answered)
                entries[name] = {"http_status": None, "content_type": None, "body": None, "exception": one_line(e)}
                continue
            error = seen["exception"]
            entries[name] = {"http_status": seen["http_status"], "content_type": seen["content_type"],
                             "body": shown(seen["body"]),
                             "exception": f"{error['type']}: {error['message'][:160]}" if error else None}
        found[variant.name] = {"error": None, "entries": entries}
    return found


def installed_packages() -> dict:
    return installed_versions(PACKAGES)


def probe(variants) -> dict:
    """The control and every variant on the Flask installed in this interpreter."""
    packages = installed_packages()
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # Flask logs each unhandled exception's traceback; we keep one line
    log = ExceptionLog()
    try:
        control = probe_one(control_variant(), log)
        return {
            "flask": packages["flask"],
            "python": platform.python_version(),
            "packages": packages,
            "exceptions_observable": log.available,
            "control": {"problem": control_problem(control), **control},
            "variants": {variant.name: probe_one(variant, log) for variant in variants},
            "payloads": probe_payloads(variants),
        }
    finally:
        log.close()
        logging.disable(before)


def control_problem(control: dict):
    """Why the shared app does not run on this version, one line, or None."""
    if control["error"]:
        return control["error"]
    for case, exception in control["exceptions"].items():
        return f"{exception} (on {control['cases'][case]['request']})"
    for case, c in control["cases"].items():
        if c["deviations"]:
            return f"{c['request']}: {c['deviations'][0]}"
    return None


def write(path: str, result: dict) -> None:
    """The captures as JSON, renamed into place once complete (a failed run leaves no file behind)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(result, indent=2, default=str) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    """Exit 0 with the captures written; 2 for an unknown variant; 130 on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m harness.probe", description=__doc__.splitlines()[0])
    parser.add_argument("out", metavar="OUT.json", help="where to write the raw captures")
    parser.add_argument("--variants", default=None, help="comma-separated names (default: VARIANTS or all)")
    args = parser.parse_args(argv)
    try:
        variants = select(os.environ.get("VARIANTS", "") if args.variants is None else args.variants)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    try:
        result = probe(variants)
        write(args.out, result)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    states = {name: ("error" if r["error"] else "exceptions" if r["exceptions"] else r["verdict"])
              for name, r in result["variants"].items()}
    print(f"probe: Flask {result['flask']}: control {result['control']['problem'] or 'ok'}; "
          + ", ".join(f"{n} {s}" for n, s in states.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
