"""Verify every variant against the contract and capture the exact bytes and headers it sends.

``python -m harness.conformance`` writes ``reports/out/conformance.json`` and exits 1 if a variant
departs from the contract without a declared divergence (the benchmarks must not time a broken idiom).

``capture_variant`` also runs inside the matrix's old-Flask environments (``harness.probe``), so what
this module imports at its top and in the capture functions is the standard library and ``variants``
only; the command line's harness imports (options, result files) run only when ``main`` does.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from variants.contract import CASES, deviations

SCHEMA = "flask-json-idioms/conformance/2"  # harness.schemas.conformance.Conformance
SHOWN_HEADERS = ("Content-Type", "Content-Length", "WWW-Authenticate", "Location", "ContentType", "Vary")


def capture_variant(variant) -> dict:
    """Every contract case sent to the variant through the test client: what came back, and how it deviates."""
    client = variant.create_app().test_client()
    cases = {}
    for case in CASES:
        response = client.open(case.path, method=case.method, headers=case.request_headers)
        body = response.get_data()
        cases[case.name] = {
            "request": f"{case.method} {case.path}" + (f" as {case.who}" if case.who else ""),
            "status": response.status_code,
            "headers": {name: response.headers[name] for name in SHOWN_HEADERS if name in response.headers},
            "body": body.decode("utf-8", "replace") if case.json is not None else None,
            "body_length": len(body),
            "deviations": deviations(case, response.status_code, response.headers, body),
        }
    conforms = not any(c["deviations"] for c in cases.values())
    return {
        "summary": variant.summary,
        "min_flask": variant.min_flask,
        "divergence": variant.divergence,
        "headers_via": variant.headers,
        "pitfall": variant.pitfall,
        "idiom_lines": variant.idiom_lines,
        "conforms": conforms,
        "verdict": "conforms" if conforms else ("declared divergence" if variant.divergence else "BROKEN"),
        "cases": cases,
    }


def capture(variants) -> dict:
    return {variant.name: capture_variant(variant) for variant in variants}


def undeclared_failures(captured: dict) -> dict:
    """Variants that deviate without a declared divergence, with their first deviations."""
    return {
        name: [f"{case}: {d}" for case, c in entry["cases"].items() for d in c["deviations"]]
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
