"""Conformance across Flask releases: ``make matrix`` writes ``reports/out/compat.json``.

Each Flask release pinned in ``noxfile.py`` (the only list of them) gets its own cached nox
environment, where the probe (``python -m harness.probe OUT.json``) sends every contract case to every
variant, and to a control app without any idiom, through the test client and writes the raw captures
to ``reports/out/compat/<flask version>.json``. This process (the main .venv) then classifies them,
compares the bytes between versions, checks each variant's registry ``min_flask`` and writes
``compat.json`` atomically. Exit 0; 1 if a ``min_flask`` disagrees with the matrix or a version's
environment could not be built (the other versions' results are still written); 2 for bad options.
Schemas (``harness.schemas.compat``): ``Compat`` (compat.json) and ``CompatProbe`` (a raw capture).

Options: ``--versions 1.1,3.1.3`` (a pinned release or its series; default ``FLASK_VERSIONS`` or all),
``--variants a,b`` (default ``VARIANTS`` or all), ``--out DIR``.

How a cell is decided, per (variant, Flask version):
- ``ok``: every case meets the contract, or, for a declared divergence, departs from it exactly as it
  does on the project's pinned Flask (the main .venv, where ``make test`` holds it with strict xfail).
- ``differs``: it runs, but the status, Content-Type, body or required headers depart from the
  contract (or from its declared divergence); ``detail`` says how.
- ``fails``: importing the variant or ``create_app()`` raises, or a request ends in an unhandled
  exception (seen through ``got_request_exception``); ``detail`` is the error, one line.
- If the control app fails, the shared code (routes, Flask-Login auth) does not run on that version,
  so every cell there says so with ``cause: "environment"``.
Byte comparisons cover the JSON cases (``case.idiom``) of versions where the variant ran (ok or
differs); headers compared are those ``harness.conformance.capture_variant`` records, less Content-Length.
``payload_bytes``: what each variant makes of the payload type set (datetimes, Decimal, UUID, non-ASCII, mixed
keys, NaN, ...; ``harness.probe.probe_payloads``) per release, identical answers collapsed.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness.cli import UsageError, entry_point, selected_variants
from harness.conformance import capture_variant
from harness.environment import environment
from harness.progress import Progress
from harness.results import OUT, ROOT, read_json, record_stage
from harness.schemas.compat import ByteChange, Compat, CompatCell, CompatProbe, MinFlaskCheck, PayloadBytes
from variants.contract import CASES_BY_NAME

SCHEMA = "flask-json-idioms/compat/2"  # harness.schemas.compat.Compat
NOXFILE = ROOT / "noxfile.py"
RAW_FOLDER = "compat"
SESSION_TIMEOUT_S = 900  # one environment build (pip from PyPI) or probe; a hang beyond this is an error
OK, DIFFERS, FAILS = "ok", "differs", "fails"
IDIOM, ENVIRONMENT = "idiom", "environment"


def version_key(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


# --------------------------------------------------------------------------------------------------
# Classification, byte comparison and the min_flask check: in the main .venv, from the raw probes.

def _deviation_summary(cases: dict) -> str:
    counts = {}
    for c in cases.values():
        for d in c:
            counts[d] = counts.get(d, 0) + 1
    parts = [f"{d} ({n} of {len(cases)} requests)" for d, n in counts.items()]
    return "; ".join(parts[:2]) + (f"; and {len(parts) - 2} more" if len(parts) > 2 else "")


def classify(raw: dict, control_problem_line, declared: dict | None) -> CompatCell:
    """The cell for one variant on one version.

    ``raw`` is the probe's record for the variant; ``declared`` is None for a variant that must meet
    the contract, else its per-case deviations on the reference Flask (its declared divergence).
    """
    if control_problem_line:
        return {"status": FAILS, "cause": ENVIRONMENT,
                "detail": f"not run: the shared app (routes, Flask-Login auth) fails here without any idiom: "
                          f"{control_problem_line}"}
    if raw["error"]:
        return {"status": FAILS, "cause": IDIOM, "detail": f"{raw['error']} (importing the variant or create_app())"}
    if raw["exceptions"]:
        case, error = next(iter(raw["exceptions"].items()))
        more = len(raw["exceptions"]) - 1
        return {"status": FAILS, "cause": IDIOM,
                "detail": f"{error} (on {raw['cases'][case]['request']}" + (f", and {more} more requests)" if more else ")")}
    found = {name: c["deviations"] for name, c in raw["cases"].items()}
    if declared is None:
        if not any(found.values()):
            return {"status": OK, "detail": "conforms to the contract"}
        return {"status": DIFFERS, "cause": IDIOM, "detail": _deviation_summary(found)}
    if found == declared:
        return {"status": OK, "detail": "its declared divergence, exactly as on the reference Flask: "
                                        + _deviation_summary(found)}
    unlike = {name: devs for name, devs in found.items() if devs != declared.get(name)}
    case = next(iter(unlike))
    return {"status": DIFFERS, "cause": IDIOM,
            "detail": f"unlike its declared divergence on {len(unlike)} of {len(found)} requests, e.g. "
                      f"{case}: {unlike[case] or 'conforms'} where the reference has {declared.get(case) or 'none'}"}


def not_built_cell(version: str, error: str) -> CompatCell:
    return {"status": FAILS, "cause": ENVIRONMENT,
            "detail": f"not run: the Flask {version} environment could not be built or run: {error}"}


def _ranges(versions: list, order: list) -> str:
    """'1.0.4-2.2.5, 3.1.3': runs of consecutive tested versions."""
    index = sorted(order.index(v) for v in versions)
    runs, start = [], index[0]
    for a, b in zip(index, index[1:] + [None]):
        if b != a + 1:
            runs.append(order[start] if start == a else f"{order[start]}-{order[a]}")
            start = b
    return ", ".join(runs)


def _difference(a: dict, b: dict, only: str | None = None) -> str:
    """How form ``b``'s responses differ from form ``a``'s, one line ("" if they do not, in ``only``)."""
    found = {}  # aspect -> [cases, first example]
    for case in a["cases"]:
        x, y = a["cases"][case], b["cases"][case]
        aspects = []
        if only in (None, "status") and x["status"] != y["status"]:
            aspects.append(("status", f"{x['status']} -> {y['status']}"))
        if only in (None, "body") and x["body"] != y["body"]:
            aspects.append(("body", f"{json.dumps(x['body'])} -> {json.dumps(y['body'])}"))
        if only in (None, "headers"):
            for header in sorted(set(x["headers"]) | set(y["headers"])):
                if x["headers"].get(header) != y["headers"].get(header):
                    aspects.append((f"{header} header", f"{x['headers'].get(header) or '(absent)'} -> "
                                                        f"{y['headers'].get(header) or '(absent)'}"))
        for aspect, example in aspects:
            found.setdefault(aspect, [[], f"{case}: {example}"])[0].append(case)
    return "; ".join(f"{aspect} on {len(cases)} of {len(a['cases'])} JSON responses (e.g. {example})"
                     for aspect, (cases, example) in found.items())


def byte_changes(raws: dict[str, CompatProbe], cells: dict, versions: list) -> dict[str, ByteChange]:
    """Per variant: the distinct sets of JSON responses across the versions where it ran."""
    changes = {}
    for name, by_version in cells.items():
        forms = []
        for version in versions:
            if by_version.get(version, {}).get("status") not in (OK, DIFFERS):
                continue
            cases = {case: {"status": c["status"],
                            "headers": {k: v for k, v in c["headers"].items() if k != "Content-Length"},
                            "body": c["body"]}
                     for case, c in raws[version]["variants"][name]["cases"].items() if CASES_BY_NAME[case].idiom}
            for form in forms:
                if form["cases"] == cases:
                    form["versions"].append(version)
                    break
            else:
                forms.append({"versions": [version], "cases": cases})
        if not forms:
            summary = "never ran"
        elif len(forms) == 1:
            summary = f"identical on every version where it runs ({_ranges(forms[0]['versions'], versions)})"
        else:
            steps = [f"{_ranges(a['versions'], versions)} -> {_ranges(b['versions'], versions)}: {_difference(a, b)}"
                     for a, b in zip(forms, forms[1:])]
            bodies = "changed" if any(_difference(a, b, "body") for a, b in zip(forms, forms[1:])) else "identical"
            summary = f"{len(forms)} forms, body bytes {bodies}; " + "; ".join(steps)
        changes[name] = {"changed": len(forms) > 1, "summary": summary, "forms": forms}
    return changes


PAYLOAD_ASPECTS = ("http_status", "content_type", "body", "exception")


def payload_bytes(raws: dict[str, CompatProbe], names: list, versions: list) -> dict[str, PayloadBytes]:
    """Per variant: each payload type-set entry's distinct answers (status, Content-Type, exact bytes, exception)
    across the releases where its payload app ran, each with the releases that send it (``harness.probe.probe_payloads``;
    a probe from before it has none: that release is left out)."""
    found = {}
    for name in names:
        entries, not_run = {}, {}
        for version in versions:
            record = ((raws.get(version) or {}).get("payloads") or {}).get(name)
            if record is None:
                not_run[version] = "not probed" if version in raws else "environment not built"
                continue
            if record["error"]:
                not_run[version] = record["error"]
                continue
            for entry, cell in record["entries"].items():
                forms = entries.setdefault(entry, [])
                answer = {k: cell.get(k) for k in PAYLOAD_ASPECTS}
                for form in forms:
                    if all(form[k] == answer[k] for k in PAYLOAD_ASPECTS):
                        form["versions"].append(version)
                        break
                else:
                    forms.append({"versions": [version], **answer})
        found[name] = {"changed": [e for e, forms in entries.items() if len(forms) > 1], "entries": entries,
                       "not_run": not_run}
    return found


def check_min_flask(cells: dict, versions: list, min_flask: dict) -> MinFlaskCheck:
    """Each variant must be ok on every tested version >= its min_flask and not ok on those below.

    Cells whose cause is the environment are no evidence either way and are left out.
    """
    report, mismatches = {}, []
    for name, by_version in cells.items():
        minimum = min_flask[name]
        known = [v for v in versions if by_version[v].get("cause") != ENVIRONMENT]
        above = [v for v in known if version_key(v) >= version_key(minimum)]
        below = [v for v in known if version_key(v) < version_key(minimum)]
        problems = [f"{by_version[v]['status']} on Flask {v} (>= {minimum}): {by_version[v]['detail']}"
                    for v in above if by_version[v]["status"] != OK]
        problems += [f"ok on Flask {v}, older than {minimum}" for v in below if by_version[v]["status"] == OK]
        works_from = None
        for v in reversed(known):
            if by_version[v]["status"] != OK:
                break
            works_from = v
        if problems:
            detail = (f"registry min_flask {minimum}, but the matrix finds it works from "
                      f"{works_from or 'no tested version'}: {problems[0]}")
            mismatches.append(f"{name}: {detail}")
        elif below:
            detail = (f"ok on every tested version >= {minimum} ({_ranges(above, versions) if above else 'none'}); "
                      f"not ok below it ({', '.join(v + ' ' + by_version[v]['status'] for v in below)})")
        else:
            detail = (f"ok on every tested version ({_ranges(above, versions) if above else 'none'}); "
                      f"no tested version is older than {minimum}, so that bound is not checked")
        skipped = [v for v in versions if v not in known]
        if skipped:
            detail += f"; not evidence (outside the idiom): {', '.join(skipped)}"
        report[name] = {"min_flask": minimum, "consistent": not problems, "works_from": works_from, "detail": detail}
    return {"ok": not mismatches, "mismatches": mismatches, "variants": report}


def reference_divergences(variants) -> tuple:
    """(Flask version here, {variant: {case: deviations}}) for the variants that declare a divergence."""
    declared = {}
    for variant in variants:
        if variant.divergence:
            declared[variant.name] = {case: c["deviations"] for case, c in capture_variant(variant)["cases"].items()}
    return metadata.version("flask"), declared


def build_compat(raws: dict[str, CompatProbe], failures: dict, variants, versions: list,
                 timings: dict | None = None) -> Compat:
    """compat.json's content from the probes (``raws``: version -> probe) and the versions not built."""
    reference, declared = reference_divergences(variants)
    cells = {variant.name: {} for variant in variants}
    for version in versions:
        for variant in variants:
            if version in failures:
                cell = not_built_cell(version, failures[version])
            else:
                raw = raws[version]
                cell = classify(raw["variants"][variant.name], raw["control"]["problem"], declared.get(variant.name))
            cells[variant.name][version] = cell
    timings = timings or {}
    return {
        "schema": SCHEMA,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "flask_versions": versions,
        "cells": cells,
        "byte_changes": byte_changes(raws, cells, versions),
        "payload_bytes": payload_bytes(raws, [v.name for v in variants], versions),
        "min_flask_check": check_min_flask(cells, versions, {v.name: v.min_flask for v in variants}),
        "versions": {
            version: {"built": version not in failures, "error": failures.get(version),
                      "seconds": timings.get(version),
                      "packages": raws[version]["packages"] if version in raws else None,
                      "control": (raws[version]["control"]["problem"] or "ok") if version in raws else None,
                      "raw": f"{RAW_FOLDER}/{version}.json" if version in raws else None}
            for version in versions},
        "reference": {"flask": reference,
                      "why": "declared divergences are compared with their capture on the project's pinned Flask"},
        "environment": environment("matrix"),
    }


# --------------------------------------------------------------------------------------------------
# The driver: one nox session per version, then compat.json.

@functools.lru_cache(maxsize=1)
def load_pins():
    """The matrix's pins, from noxfile.py (the one place they live)."""
    spec = importlib.util.spec_from_file_location("_matrix_noxfile", NOXFILE)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as e:
        raise UsageError(f"cannot load {NOXFILE.name}: {e} (run `make install`)") from None
    return module


def select_versions(wanted: str | None, pinned: list) -> list:
    """Pinned versions named by '1.1,3.1.3' (a release or its series); all when empty."""
    if not wanted:
        return list(pinned)
    chosen, unknown = [], []
    for item in (w.strip() for w in wanted.split(",") if w.strip()):
        hits = [v for v in pinned if v == item or v.startswith(item + ".")]
        (chosen.extend(h for h in hits if h not in chosen) if hits else unknown.append(item))
    if unknown or not chosen:
        raise UsageError(f"unknown Flask version(s): {', '.join(unknown) or repr(wanted)}; "
                         f"noxfile.py pins {', '.join(pinned)}")
    return sorted(chosen, key=version_key)


def _failure_from_log(log_text: str) -> str:
    """The line of a failed nox session's output that says why."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    probe_started = any("-m harness.probe" in line for line in lines)
    for prefix in ("ERROR: ", "error: "):
        hits = [line for line in lines if line.startswith(prefix)]
        if hits:
            return ("probe: " if probe_started else "pip: ") + hits[-1][:200]
    failed = [line for line in lines if "failed" in line.lower() or "Error" in line]
    stage = "probe crashed" if probe_started else "environment not built"
    return f"{stage}: {(failed or lines or ['no output'])[-1][:200]}"


def run_session(noxfile, version: str, raw_path, variants, log_path) -> str | None:
    """Build (or reuse) the version's environment and probe it; the error line, or None."""
    if raw_path.exists():
        raw_path.unlink()  # a stale file must not stand in for a failed run
    command = [sys.executable, "-m", "nox", "-f", str(NOXFILE), "-s", noxfile.session_name(version),
               "--reuse-venv", "yes", "--", str(raw_path), "--variants", ",".join(v.name for v in variants)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=SESSION_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return f"timed out after {SESSION_TIMEOUT_S} s (log: {log_path})"
        except KeyboardInterrupt:
            process.terminate()
            process.wait(timeout=30)
            raise
    if code == 0 and raw_path.exists():
        return None
    text = log_path.read_text(errors="replace")
    return f"{_failure_from_log(text)} (exit {code}; log: {os.path.relpath(log_path, ROOT)})"


def _table(compat: Compat) -> str:
    versions = compat["flask_versions"]
    mark = {OK: "ok", DIFFERS: "DIFFERS", FAILS: "fails"}
    width = max(len(name) for name in compat["cells"])
    rows = [" " * (width + 2) + " ".join(f"{v:>8}" for v in versions)]
    for name, by_version in compat["cells"].items():
        cells = []
        for v in versions:
            cell = by_version[v]
            text = mark[cell["status"]] + ("*" if cell.get("cause") == ENVIRONMENT else "")
            cells.append(f"{text:>8}")
        rows.append(f"  {name:<{width}} " + " ".join(cells))
    return "\n".join(rows)


def run_matrix(args) -> int:
    noxfile = load_pins()
    versions = select_versions(args.versions, sorted(noxfile.PINS, key=version_key))
    variants = selected_variants(args.variants)
    raw_dir = Path(args.out) / RAW_FOLDER
    logs = ROOT / ".nox" / "matrix-logs"
    print(f"make matrix: {len(variants)} variants on Flask {', '.join(versions)} "
          f"(nox environments in .nox/, built once and reused)", flush=True)
    raws, failures, timings = {}, {}, {}
    with Progress("matrix", len(versions), every_s=0) as progress:
        for version in versions:
            print(f"  Flask {version}: environment and probe ...", flush=True)
            started = time.monotonic()
            raw_path = raw_dir / f"{version}.json"
            error = run_session(noxfile, version, raw_path, variants, logs / f"{version}.log")
            timings[version] = round(time.monotonic() - started, 1)
            if error is None:
                raws[version] = read_json(raw_path)
                problem = raws[version]["control"]["problem"]
                note = f"Flask {version} in {timings[version]} s" + (f"; shared app fails: {problem}" if problem else "")
            else:
                failures[version] = error
                note = f"Flask {version}: NOT BUILT: {error}"
            progress.step(note=note)
    compat = build_compat(raws, failures, variants, versions, timings)
    path = record_stage("matrix", "compat.json", compat, out=Path(args.out), headline={"compat": {
        "flask_versions": versions, "min_flask_ok": compat["min_flask_check"]["ok"], "not_built": sorted(failures)}})
    print(_table(compat))
    print("  (* = outside the idiom: the shared app or the environment)")
    changed = {n: c["summary"] for n, c in compat["byte_changes"].items() if c["changed"]}
    for name, summary in changed.items():
        print(f"  bytes change: {name}: {summary}")
    for name, p in compat["payload_bytes"].items():
        if p["changed"]:
            print(f"  payload type set changes between releases: {name}: {', '.join(p['changed'])}")
    print(f"make matrix: wrote {os.path.relpath(path, ROOT)}")
    status = 0
    for version, error in failures.items():
        print(f"error: Flask {version}: environment not built or probe failed: {error}", file=sys.stderr)
        status = 1
    for line in compat["min_flask_check"]["mismatches"]:
        print(f"error: min_flask mismatch: {line}", file=sys.stderr)
        status = 1
    return status


@entry_point
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=os.environ.get("FLASK_VERSIONS") or None,
                        help="comma-separated pinned Flask releases or series (default: FLASK_VERSIONS or all)")
    parser.add_argument("--variants", default=None, help="comma-separated names (default: VARIANTS or all)")
    parser.add_argument("--out", default=str(OUT), help="output folder (default: reports/out)")
    return run_matrix(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
