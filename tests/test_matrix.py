"""The Flask version matrix's code, on the installed Flask only (no nox environment is built here)."""
import ast
import copy
import importlib.util
import sys
import sysconfig
from importlib import metadata
from types import SimpleNamespace

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import pytest
from packaging.requirements import Requirement

from harness import matrix, probe
from harness.schemas import compat as schemas
from harness.results import ROOT, read_json, write_json
from variants import REGISTRY, select
from variants.contract import CASES

INSTALLED = metadata.version("flask")
CELL_STATUSES = {"ok", "differs", "fails"}
IDIOM_CASES = sum(c.idiom for c in CASES)  # the cases whose response the idiom builds


@pytest.fixture(scope="module")
def raw():
    """The probe's captures of every variant on the installed Flask."""
    return probe.probe(select(""))


def fake_variant(create_app, name="planted"):
    """A variant-shaped object around ``create_app``, for planting faults."""
    return SimpleNamespace(name=name, summary="planted", min_flask="0.1", divergence=None, headers="",
                           pitfall="", idiom_lines=1, create_app=create_app)


def declared_of(raw, name):
    return {case: c["deviations"] for case, c in raw["variants"][name]["cases"].items()}


def keys_fit(record: dict, schema) -> bool:
    """``record`` has every key ``schema`` requires and none it does not name."""
    return schema.__required_keys__ <= set(record) <= set(schema.__annotations__)


def assert_schema(compat):
    assert keys_fit(compat, schemas.Compat) and keys_fit(compat["min_flask_check"], schemas.MinFlaskCheck)
    assert all(keys_fit(v, schemas.CompatVersion) for v in compat["versions"].values())
    for change in compat["byte_changes"].values():
        assert keys_fit(change, schemas.ByteChange) and all(keys_fit(f, schemas.CompatForm) for f in change["forms"])
    assert all(keys_fit(cell, schemas.CompatCell) for by_version in compat["cells"].values() for cell in by_version.values())
    versions = compat["flask_versions"]
    assert versions == sorted(versions, key=matrix.version_key)
    for name, by_version in compat["cells"].items():
        assert list(by_version) == versions
        for cell in by_version.values():
            assert cell["status"] in CELL_STATUSES and cell["detail"] and "\n" not in cell["detail"]
            assert ("cause" in cell) == (cell["status"] != "ok")
    assert set(compat["byte_changes"]) == set(compat["cells"]) == set(compat["min_flask_check"]["variants"])
    assert set(compat["versions"]) == set(versions)
    assert compat["reference"]["flask"] == INSTALLED and compat["environment"]["python"]


def test_probe_runs_the_control_and_every_variant_on_the_installed_flask(raw):
    assert raw["flask"] == INSTALLED and raw["exceptions_observable"]
    assert keys_fit(raw, schemas.CompatProbe) and keys_fit(raw["control"], schemas.ProbeControl)
    assert all(keys_fit(record, schemas.ProbeRecord) for record in raw["variants"].values())
    assert raw["control"]["problem"] is None
    assert list(raw["variants"]) == list(REGISTRY)
    for name, record in raw["variants"].items():
        assert record["error"] is None and record["exceptions"] == {}, name
        assert len(record["cases"]) == len(CASES)
        assert record["cases"]["status"]["body"] is not None  # the exact JSON bytes are kept


def test_every_variant_is_ok_on_the_installed_flask(raw):
    variants = select("")
    compat = matrix.build_compat({INSTALLED: raw}, {}, variants, [INSTALLED])
    assert_schema(compat)
    for name, by_version in compat["cells"].items():
        assert by_version[INSTALLED]["status"] == "ok", (name, by_version[INSTALLED])
    assert "declared divergence" in compat["cells"]["plain_string"][INSTALLED]["detail"]
    assert compat["cells"]["jsonify_tuple"][INSTALLED]["detail"] == "conforms to the contract"
    assert compat["min_flask_check"]["ok"] and not compat["byte_changes"]["jsonify_tuple"]["changed"]


def test_an_undeclared_divergence_differs_and_says_how(raw):
    cell = matrix.classify(raw["variants"]["plain_string"], None, declared=None)
    assert cell["status"] == "differs" and cell["cause"] == "idiom"
    assert (f"Content-Type 'text/html; charset=utf-8', expected application/json ({IDIOM_CASES} of {len(CASES)} requests)"
            in cell["detail"])


def test_behaving_unlike_the_declared_divergence_differs(raw):
    cell = matrix.classify(raw["variants"]["jsonify_tuple"], None, declared=declared_of(raw, "plain_string"))
    assert cell["status"] == "differs" and f"unlike its declared divergence on {IDIOM_CASES} of {len(CASES)} requests" in cell["detail"]
    same = matrix.classify(raw["variants"]["plain_string"], None, declared=declared_of(raw, "plain_string"))
    assert same["status"] == "ok"


def test_a_view_that_raises_fails_with_the_error_in_one_line():
    from variants.site import build_app

    planted = fake_variant(lambda: build_app("variants.site", lambda body, status, headers: object()))
    log = probe.ExceptionLog()
    try:
        record = probe.probe_one(planted, log)
    finally:
        log.close()
    # every case the idiom answers (the error paths' handlers too), but the view that raises on purpose
    assert set(record["exceptions"]) == {c.name for c in CASES if c.idiom and not c.logged}
    cell = matrix.classify(record, None, declared=None)
    assert cell["status"] == "fails" and cell["cause"] == "idiom"
    assert cell["detail"].startswith("TypeError: ") and f"(on GET /api/status, and {IDIOM_CASES - 2} more requests)" in cell["detail"]
    assert "\n" not in cell["detail"]


def test_an_import_error_fails_with_the_error():
    def create_app():
        raise ModuleNotFoundError("No module named 'flask.json.provider'")

    record = probe.probe_one(fake_variant(create_app), probe.ExceptionLog())
    cell = matrix.classify(record, None, declared=None)
    assert cell == {"status": "fails", "cause": "idiom", "detail": "ModuleNotFoundError: No module named "
                    "'flask.json.provider' (importing the variant or create_app())"}


def test_a_broken_shared_app_is_reported_outside_the_idiom(monkeypatch):
    import variants.site

    def broken(app):
        raise RuntimeError("Flask-Login cannot start here")

    monkeypatch.setattr(variants.site, "init_auth", broken)
    variants_ = select("jsonify_tuple,dict_return")
    raw = probe.probe(variants_)
    assert raw["control"]["problem"] == "RuntimeError: Flask-Login cannot start here"
    compat = matrix.build_compat({INSTALLED: raw}, {}, variants_, [INSTALLED])
    for by_version in compat["cells"].values():
        cell = by_version[INSTALLED]
        assert cell["status"] == "fails" and cell["cause"] == "environment"
        assert "shared app" in cell["detail"] and "Flask-Login cannot start here" in cell["detail"]
    # no evidence either way about min_flask
    assert compat["min_flask_check"]["ok"]
    assert "not evidence (outside the idiom)" in compat["min_flask_check"]["variants"]["jsonify_tuple"]["detail"]


def _cells_with_an_older_version(raw):
    """Real cells on the installed Flask, plus a planted older version where json_provider fails."""
    compat = matrix.build_compat({INSTALLED: raw}, {}, select(""), [INSTALLED])
    cells = compat["cells"]
    for name in cells:
        cells[name] = {"2.0.3": {"status": "ok", "detail": "conforms to the contract"}, **cells[name]}
    cells["json_provider"]["2.0.3"] = {"status": "fails", "cause": "idiom",
                                       "detail": "AttributeError: 'Flask' object has no attribute 'json'"}
    cells["orjson_provider"]["2.0.3"] = {"status": "fails", "cause": "idiom", "detail": "ModuleNotFoundError"}
    return cells, ["2.0.3", INSTALLED]


def test_min_flask_check_agrees_with_the_registry(raw):
    cells, versions = _cells_with_an_older_version(raw)
    check = matrix.check_min_flask(cells, versions, {v.name: v.min_flask for v in REGISTRY.values()})
    assert check["ok"], check["mismatches"]
    assert check["variants"]["json_provider"]["works_from"] == INSTALLED
    assert "not ok below it (2.0.3 fails)" in check["variants"]["json_provider"]["detail"]


@pytest.mark.parametrize("name, planted, expected", [
    ("json_provider", "1.0", "fails on Flask 2.0.3 (>= 1.0)"),   # min too low: fails on a version it claims
    ("jsonify_tuple", "3.2", "works from 2.0.3: ok on Flask 2.0.3, older than 3.2"),  # min too high
])
def test_min_flask_check_catches_a_planted_mismatch(raw, name, planted, expected):
    cells, versions = _cells_with_an_older_version(raw)
    minimums = {v.name: v.min_flask for v in REGISTRY.values()}
    minimums[name] = planted
    check = matrix.check_min_flask(cells, versions, minimums)
    assert not check["ok"] and not check["variants"][name]["consistent"]
    assert len(check["mismatches"]) == 1 and check["mismatches"][0].startswith(f"{name}: registry min_flask {planted}")
    assert expected in check["mismatches"][0]


def test_byte_changes_between_versions_are_found(raw):
    other = copy.deepcopy(raw)
    other["variants"]["jsonify_tuple"]["cases"]["status"]["body"] = '{\n  "success": true\n}\n'
    other["variants"]["jsonify_tuple"]["cases"]["created"]["headers"]["Vary"] = "Accept"
    variants_ = select("jsonify_tuple,make_response")
    compat = matrix.build_compat({"2.0.3": other, INSTALLED: raw}, {}, variants_, ["2.0.3", INSTALLED])
    change = compat["byte_changes"]["jsonify_tuple"]
    assert change["changed"] and [f["versions"] for f in change["forms"]] == [["2.0.3"], [INSTALLED]]
    assert change["summary"].startswith("2 forms, body bytes changed; ")
    assert ('2.0.3 -> ' + INSTALLED + ': body on 1 of ' + str(IDIOM_CASES) + ' JSON responses (e.g. status: "{\\n  \\"success\\": true\\n}\\n" -> '
            '"{\\"success\\":true}\\n")') in change["summary"]
    assert f"Vary header on 1 of {IDIOM_CASES} JSON responses (e.g. created: Accept -> " in change["summary"]
    assert change["forms"][1]["cases"]["status"]["body"] == '{"success":true}\n'
    assert not compat["byte_changes"]["make_response"]["changed"]


def test_the_probe_records_what_each_variant_makes_of_the_payload_type_set(raw):
    """Through make payloads' own app and request: jsonify writes an HTTP date and sorts keys (raising on mixed keys);
    orjson_response writes ISO 8601 and raises on a Decimal."""
    from payloads.types import TYPE_SET

    assert set(raw["payloads"]) == set(REGISTRY)
    assert all(keys_fit(r, schemas.ProbePayloads) for r in raw["payloads"].values())
    ref = raw["payloads"]["jsonify_tuple"]
    assert ref["error"] is None and list(ref["entries"]) == [t.name for t in TYPE_SET]
    assert all(keys_fit(c, schemas.ProbePayloadCell) for c in ref["entries"].values())
    aware = ref["entries"]["datetime_aware"]
    assert aware["http_status"] == 200 and aware["body"].startswith('{"at":"Tue, 02 Jan 2024') and "GMT" in aware["body"]
    mixed = ref["entries"]["mixed_keys"]
    assert mixed["http_status"] == 500 and mixed["exception"].startswith("TypeError")
    orjson = raw["payloads"]["orjson_response"]["entries"]
    assert orjson["datetime_aware"]["body"].startswith('{"at":"2024-01-02T') and orjson["decimal"]["http_status"] == 500


def test_the_payload_bytes_per_release_collapse_identical_answers_and_name_what_changed(raw):
    """Three releases: the middle one planted with another datetime format; the others alike."""
    older = copy.deepcopy(raw)
    older["payloads"]["jsonify_tuple"]["entries"]["datetime_aware"]["body"] = '{"at":"2024-01-02T01:04:05+00:00"}\n'
    unbuilt = copy.deepcopy(raw)
    unbuilt["payloads"]["orjson_response"] = {"error": "ImportError: orjson", "entries": {}}
    variants_ = select("jsonify_tuple,orjson_response")
    versions = ["1.1.4", "2.0.3", INSTALLED]
    compat = matrix.build_compat({"1.1.4": raw, "2.0.3": older, INSTALLED: unbuilt}, {}, variants_, versions)
    assert_schema(compat)
    found = compat["payload_bytes"]["jsonify_tuple"]
    assert all(keys_fit(f, schemas.PayloadForm) for forms in found["entries"].values() for f in forms)
    assert found["changed"] == ["datetime_aware"] and found["not_run"] == {}
    forms = found["entries"]["datetime_aware"]
    assert [f["versions"] for f in forms] == [["1.1.4", INSTALLED], ["2.0.3"]]
    assert forms[1]["body"].startswith('{"at":"2024-01-02T01:04:05')
    assert [f["versions"] for f in found["entries"]["decimal"]] == [versions]
    assert compat["payload_bytes"]["orjson_response"]["not_run"] == {INSTALLED: "ImportError: orjson"}
    assert compat["payload_bytes"]["orjson_response"]["changed"] == []
    del older["payloads"]  # a probe from before the type set: that release is left out, said so
    compat = matrix.build_compat({"1.1.4": raw, "2.0.3": older}, {}, variants_, versions[:2])
    assert compat["payload_bytes"]["jsonify_tuple"]["not_run"] == {"2.0.3": "not probed"}


def test_the_report_shows_the_type_set_per_release_with_identical_releases_collapsed(raw, tmp_path):
    from reports.context import Context
    from reports.data import Results
    from reports.document import to_markdown
    from reports.sections import SECTIONS
    from reports.sections import compat as section

    older = copy.deepcopy(raw)
    older["payloads"]["jsonify_tuple"]["entries"]["datetime_aware"]["body"] = '{"at":"2024-01-02T01:04:05+00:00"}\n'
    older["payloads"]["orjson_response"]["entries"]["decimal"] = {
        "http_status": 200, "content_type": "application/json", "body": '{"price":12.1}', "exception": None}
    versions = ["1.0.4", "1.1.4", "2.0.3", INSTALLED]
    compat = matrix.build_compat({"1.0.4": older, "1.1.4": older, "2.0.3": raw, INSTALLED: raw}, {},
                                 select("jsonify_tuple,orjson_response,dict_return"), versions)
    write_json(tmp_path / "compat.json", compat)
    ctx = Context(Results(tmp_path), tmp_path, SECTIONS)
    ctx.chart = lambda *args, **kwargs: None
    md = to_markdown(section.build(ctx))
    header = next(line for line in md.splitlines() if line.startswith("| entry |"))
    assert header.split("|")[2:4] == [" Flask 1.0.4-1.1.4 ", f" Flask 2.0.3-{INSTALLED} "]  # 4 releases, 2 columns
    (row,) = [line for line in md.splitlines() if line.startswith("| `datetime_aware` |")]
    assert row.split("|")[2:4] == [' `{"at":"2024-01-02T01:04:05+00:00"}` ', ' changed: `{"at":"Tue, 02 Jan 2024 01:04:05 GMT"}` ']
    (mixed,) = [line for line in md.splitlines() if line.startswith("| `mixed_keys` |")]
    assert mixed.count("**500** TypeError") == 2 and "changed" not in mixed
    assert "Changed between releases: `datetime_aware`." in md
    (other,) = [line for line in md.splitlines() if "`orjson_response`: `decimal`" in line]
    assert '1.0.4-1.1.4 `{"price":12.1}` → ' + f"2.0.3-{INSTALLED} **500** TypeError" in other
    assert "The same answers on every release where they ran: `dict_return`." in md


def test_a_version_not_built_is_kept_with_its_message_and_the_others_results(raw, tmp_path, monkeypatch, capsys):
    def fake_session(noxfile, version, raw_path, variants, log_path):
        if version == "1.1.4":
            return "pip: ERROR: No matching distribution found for flask==1.1.4 (exit 1; log: x.log)"
        write_json(raw_path, probe.probe(variants))
        return None

    monkeypatch.setattr(matrix, "run_session", fake_session)
    code = matrix.main(["--versions", f"1.1,{INSTALLED}", "--variants", "jsonify_tuple,json_provider",
                        "--out", str(tmp_path)])
    assert code == 1
    assert "error: Flask 1.1.4: environment not built or probe failed: pip: ERROR: No matching" in capsys.readouterr().err
    compat = read_json(tmp_path / "compat.json")
    assert_schema(compat)
    assert compat["flask_versions"] == ["1.1.4", INSTALLED]
    assert compat["versions"]["1.1.4"]["built"] is False and compat["cells"]["jsonify_tuple"]["1.1.4"]["cause"] == "environment"
    assert compat["cells"]["json_provider"][INSTALLED]["status"] == "ok"
    assert read_json(tmp_path / "compat" / f"{INSTALLED}.json")["flask"] == INSTALLED
    assert not [p for p in tmp_path.rglob(".*")]  # atomic writes leave no temporary files


@pytest.mark.parametrize("argv, message", [
    (["--versions", "9.9"], "unknown Flask version(s): 9.9"),
    (["--variants", "nope"], "unknown variant(s): nope"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_options_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        matrix.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_versions_are_chosen_by_release_or_series():
    pinned = ["1.1.4", "2.2.5", "3.0.3", "3.1.3"]
    assert matrix.select_versions("3.1,1.1.4", pinned) == ["1.1.4", "3.1.3"]
    assert matrix.select_versions("", pinned) == pinned
    assert matrix.select_versions("3", pinned + ["30.0.1"]) == ["3.0.3", "3.1.3"]
    with pytest.raises(matrix.UsageError, match=r"unknown Flask version\(s\): 3.2, 0.12; noxfile.py pins 1.1.4, "):
        matrix.select_versions("3.2,0.12,3.1", pinned)


def test_noxfile_pins_cover_the_required_series_and_match_the_main_venv():
    noxfile = matrix.load_pins()
    pins = noxfile.PINS
    series = {".".join(v.split(".")[:2]) for v in pins}
    assert {"1.1", "2.0", "2.2", "2.3", "3.0", "3.1"} <= series
    for version, requirements in pins.items():
        assert requirements["flask"] == version
        assert {"werkzeug", "jinja2", "itsdangerous", "markupsafe", "flask-login", "orjson"} <= set(requirements)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    on_nox_python = {"python_version": noxfile.PYTHON, "python_full_version": f"{noxfile.PYTHON}.0"}
    main = {r.name.lower(): str(r.specifier).lstrip("=") for r in map(Requirement, project)
            if r.marker is None or r.marker.evaluate(on_nox_python)}  # the pins for the Python nox uses
    newest = pins[max(pins, key=matrix.version_key)]
    for name in ("flask", "werkzeug", "flask-login", "orjson"):
        assert newest[name] == main[name], name


@pytest.mark.parametrize("log, expected", [
    ("nox > python -m pip install flask==9\nERROR: No matching distribution found for flask==9\n",
     "pip: ERROR: No matching distribution found for flask==9"),
    ("nox > python -m harness.probe x.json --variants nope\nerror: unknown variant(s): nope\n",
     "probe: error: unknown variant(s): nope"),
    ("nox > Session probe(3.1.3) failed: Python interpreter 3.11 not found.\n",
     "environment not built: nox > Session probe(3.1.3) failed: Python interpreter 3.11 not found."),
])
def test_a_failed_session_is_explained_by_one_line_of_its_log(log, expected):
    assert matrix._failure_from_log(log) == expected



def test_the_probe_command_writes_the_captures_and_rejects_unknown_variants(tmp_path, capsys):
    out = tmp_path / "compat" / "x.json"
    assert probe.main([str(out), "--variants", "jsonify_tuple"]) == 0
    written = read_json(out)
    assert written["flask"] == INSTALLED and list(written["variants"]) == ["jsonify_tuple"]
    assert capsys.readouterr().out.startswith(f"probe: Flask {INSTALLED}: control ok; jsonify_tuple conforms")
    assert [p.name for p in out.parent.iterdir()] == ["x.json"]  # no temporary file left
    assert probe.main([str(tmp_path / "y.json"), "--variants", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown variant(s): nope") and err.count("\n") == 1 and not (tmp_path / "y.json").exists()


# The probe runs inside every old-Flask environment: the standard library, the variants, Flask (the
# release under test) and the capture in harness.conformance are all it may import.
PROBE_MAY_IMPORT = ("variants", "flask", "harness.conformance", "harness.environment",
                    # the payload type set and what make payloads does with it (harness.probe.probe_payloads)
                    "payloads", "bench.payload_semantics")
PROJECT_PACKAGES = ("harness", "payloads", "bench")  # followed into: what they import runs in the probe too


def _is_stdlib(top: str) -> bool:
    """Whether a top-level module is the standard library's (sys.stdlib_module_names from Python 3.10; before it,
    where the module is found)."""
    if hasattr(sys, "stdlib_module_names"):
        return top in sys.stdlib_module_names
    if top in sys.builtin_module_names:
        return True
    spec = importlib.util.find_spec(top)
    stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    return bool(spec and spec.origin) and spec.origin.startswith(stdlib) and "site-packages" not in spec.origin


def _module_of(node) -> list:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        return [f"(relative import at line {node.lineno})"]
    if node.module in PROJECT_PACKAGES:  # from harness import conformance: a module of the package
        return [f"{node.module}.{alias.name}" if (ROOT / node.module / f"{alias.name}.py").exists() else node.module
                for alias in node.names]
    return [node.module]


def _imports_run_on_import(node):
    """The import statements a module runs when it is imported: all but those inside functions."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports_run_on_import(child)


def _functions_reached(tree, names) -> list:
    """The module's functions (and classes) named, and the ones of the module those call, transitively."""
    defined = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    todo, seen = [n for n in names if n in defined], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [n.id for n in ast.walk(defined[name]) if isinstance(n, ast.Name) and n.id in defined]
    return [defined[name] for name in seen]


def imports_outside(module: str, names=None, allowed=PROBE_MAY_IMPORT, source=None) -> list:
    """Every import of ``module`` (the whole module when ``names`` is None; else what runs on import and
    in the functions ``names`` reach) that is not stdlib or ``allowed``, following allowed harness modules."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():  # a package
        path = ROOT / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(source if source is not None else path.read_text())
    if names is None:
        nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    else:
        nodes = list(_imports_run_on_import(tree))
        nodes += [n for f in _functions_reached(tree, names) for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
    found = []
    for node in nodes:
        for name in _module_of(node):
            top = name.split(".")[0]
            if _is_stdlib(top) or any(name == a or name.startswith(a + ".") for a in allowed):
                if top in PROJECT_PACKAGES and name != module:
                    used = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) and node.module == name else None
                    found += imports_outside(name, used, allowed)
                    package = name.rsplit(".", 1)[0]  # importing payloads.types runs payloads/__init__.py first
                    if "." in name and package != module and (ROOT / package.replace(".", "/") / "__init__.py").exists():
                        found += imports_outside(package, [], allowed)
                continue
            found.append(f"{module} line {node.lineno}: {name}")
    return found


def test_the_probe_imports_only_what_runs_on_flask_0_12():
    assert imports_outside("harness.probe") == []


@pytest.mark.parametrize("line, expected", [
    ("import numpy", "numpy"),
    ("from harness.results import write_json", "harness.results"),
    ("from harness import cli", "harness.cli"),
    ("def f():\n    from harness.stats import LEVEL", "harness.stats"),
])
def test_the_import_check_catches_a_planted_import(line, expected):
    source = (ROOT / "harness" / "probe.py").read_text() + "\n" + line + "\n"
    found = imports_outside("harness.probe", source=source)
    assert len(found) == 1 and found[0].endswith(f": {expected}")


def test_the_import_check_follows_the_harness_modules_the_probe_uses():
    # harness.conformance's command line imports harness.cli and harness.results inside main():
    # not run by the probe, so allowed; the same imports at its top would run there
    assert imports_outside("harness.conformance", ["capture_variant"]) == []
    assert any("harness.results" in f for f in imports_outside("harness.conformance", ["main", "capture_variant"]))
