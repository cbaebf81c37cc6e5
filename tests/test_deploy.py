"""make deploy (bench/deploy.py): the servers table, Python discovery, deploy.json, the report section, bad options."""
import os
import stat
import sys
import urllib.request
from pathlib import Path

import pytest

from bench import deploy
from harness.results import read_json, write_json
from harness.schemas import deploy as schemas
from loadtests import servers
from loadtests.server import ServerError, serve
from reports.render import render
from reports.sections import SECTIONS
from reports.sections import deploy as section

CLASSES = ("success", "created", "unauthorized", "admin")


def keys_fit(record: dict, schema) -> bool:
    """``record`` has every key ``schema`` requires and none it does not name."""
    return schema.__required_keys__ <= set(record) <= set(schema.__annotations__)


# ------------------------------------------------------------------------------------ the servers
def test_the_servers_table_has_the_four_servers_each_on_the_bound_descriptor():
    assert {"gunicorn_sync", "gunicorn_gthread", "waitress", "granian"} <= set(servers.SERVERS)
    spec = "loadtests.mount:create_load_app()"
    sync = servers.SERVERS["gunicorn_sync"].command(spec, 7, 1)
    assert sync[1:5] == ["-m", "gunicorn", "--bind", "fd://7"] and sync[sync.index("--worker-class") + 1] == "sync"
    gthread = servers.SERVERS["gunicorn_gthread"].command(spec, 7, 1)
    assert gthread[3:5] == ["--bind", "fd://7"] and gthread[gthread.index("--worker-class") + 1] == "gthread"
    assert gthread[gthread.index("--threads") + 1] == str(servers.GTHREAD_THREADS) and gthread[-1] == spec
    for name in ("waitress", "granian"):
        assert servers.SERVERS[name].command(spec, 7, 1) == [sys.executable, "-m", "loadtests.servers", name, "7", spec, "1"]
        assert name in servers.LAUNCHERS
    assert servers.server_kind("granian").settings["interface"] == "wsgi"
    with pytest.raises(servers.UsageError, match="unknown server; expected one of gunicorn_sync, gunicorn_gthread"):
        servers.server_kind("bjoern")


def test_load_app_takes_a_factory_or_an_object():
    app = servers.load_app("loadtests.mount:create_load_app()")
    assert callable(app) and servers.load_app("variants.jsonify_tuple:app").name


@pytest.mark.wire
@pytest.mark.parametrize("name", ["gunicorn_gthread", "waitress", "granian"])
def test_each_new_server_serves_the_load_app_on_loopback(name):
    with serve("loadtests.mount:create_load_app()", server=servers.SERVERS[name], cpu=0,
               env={"FLASK_IDIOMS_VARIANTS": "jsonify_tuple"}, ready_path="/_floor/api/status") as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/jsonify_tuple/api/status", timeout=5) as response:
            assert response.status == 200 and response.read() == b'{"success":true}\n'
            assert "cpu;dur=" in response.headers["Server-Timing"]
        pgid = server.process.pid
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)  # the whole group is gone


def test_a_server_that_cannot_start_is_an_error_with_its_log(monkeypatch):
    broken = servers.ServerKind("broken", lambda spec, fd, workers: [sys.executable, "-c",
                                                                     "import sys; sys.exit('planted: no such server')"])
    with pytest.raises(ServerError, match="server exited with code 1 before answering; log: planted: no such server"):
        with serve("loadtests.mount:create_load_app()", server=broken, timeout_s=10):
            pass


# ---------------------------------------------------------------------------- synthetic results
def delta(estimate, half, verdict):
    return {"estimate": estimate, "ci95": [estimate - half, estimate + half], "verdict": verdict}


def load_files(folder: Path, verdicts: dict, cpu=900.0):
    """A load run's load.json and summary.json as loadtests.run writes them."""
    write_json(folder / "load.json", {"schema": "flask-json-idioms/load/1", "status": "ok", "mode": "quick",
                                      "server_request_cpu_us": cpu, "primary_shape": "paced",
                                      "gunicorn": {"server": "x", "app": "a", "bind": "127.0.0.1:1", "cpu": 0}})
    variants = {name: {"load": {"delta_us": {c: {**delta(e, 3.0, v), "margin": 9.0} for c, (e, v) in by_class.items()}}}
                for name, by_class in verdicts.items()}
    write_json(folder / "summary.json", {"variants": variants})


def request_file(folder: Path, verdicts: dict, flask="3.1.3"):
    """A whole-request run's request.json as bench.request writes it (the parts deploy reads)."""
    write_json(folder / "request.json", {
        "schema": "flask-json-idioms/request/1", "mode": "quick",
        "environment": {"python": "3.12.1 (main)", "packages": {"flask": flask, "werkzeug": "3.1.9"}},
        "results": {"reference_us": {c: {"estimate": 100.0, "ci95": [99, 101]} for c in CLASSES},
                    "variants": {name: {c: {"delta_us": delta(e, 1.0, v)} for c, (e, v) in by_class.items()}
                                 for name, by_class in verdicts.items()}}})


VERDICTS = {"jsonify_tuple": {c: (0.0, "reference") for c in CLASSES},
            "abort_response": {"success": (0.2, "equivalent"), "created": (0.1, "equivalent"),
                               "unauthorized": (40.0, "dearer"), "admin": (0.5, "unresolved")}}
CHANGED = {**VERDICTS, "abort_response": {**VERDICTS["abort_response"], "unauthorized": (0.3, "equivalent")}}


def test_entries_are_read_from_the_stages_own_files(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy, "OUT", tmp_path)
    load_files(tmp_path / "s", VERDICTS, cpu=800.0)
    entry = deploy.from_load(tmp_path / "s", "waitress")
    assert entry["status"] == "ok" and entry["request_cpu_us"] == 800.0
    cell = entry["variants"]["abort_response"]["unauthorized"]
    assert cell["delta_us"] == delta(40.0, 3.0, "dearer") and cell["share_pct"] == 5.0
    request_file(tmp_path / "p", VERDICTS)
    entry = deploy.from_request(tmp_path / "p")
    assert entry["request_us"] == {c: 100.0 for c in CLASSES} and entry["request_cpu_us"] == 100.0
    assert entry["variants"]["abort_response"]["unauthorized"]["share_pct"] == 40.0
    assert "Python 3.12.1, Flask 3.1.3" in entry["detail"]
    with pytest.raises(ValueError, match="no load.json"):
        deploy.from_load(tmp_path / "nothing", "granian")


def test_agreement_names_the_verdicts_that_change_and_skips_unresolved_ones():
    reference = {"variants": {n: {c: {"delta_us": delta(e, 1, v)} for c, (e, v) in b.items()} for n, b in VERDICTS.items()}}
    same = deploy.agreement(reference, reference, "gunicorn_sync")
    assert same == {"reference": "gunicorn_sync", "agree": True, "compared": 3, "unresolved": 1, "differences": []}
    other = {"variants": {n: {c: {"delta_us": delta(e, 1, v)} for c, (e, v) in b.items()} for n, b in CHANGED.items()}}
    found = deploy.agreement(other, reference, "gunicorn_sync")
    assert not found["agree"] and found["differences"] == [
        "abort_response on unauthorized: equivalent here, dearer on gunicorn_sync"]


# ------------------------------------------------------------------------------------ the driver
def fake_options(tmp_path, **kw):
    return deploy.Options(deploy.QUICK, [], kw.get("dimensions", ("servers",)), kw.get("servers", []),
                          kw.get("pythons", {}), kw.get("flask", []))


def test_a_server_that_fails_is_recorded_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(deploy, "OUT", tmp_path)
    monkeypatch.setitem(servers.SERVERS, "broken", servers.ServerKind("broken", lambda s, fd, w: ["false"]))
    ran = []

    def fake_child(argv, env, log_path, timeout_s):
        ran.append(env["LOAD_SERVER"])
        folder = Path(env["FLASK_IDIOMS_OUT"])
        if env["LOAD_SERVER"] == "broken":
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("make load: ...\nerror: loadtests.mount:create_load_app(): server exited with code 1 "
                                "before answering; log: planted\n")
            return 1, 0.5
        load_files(folder, VERDICTS if env["LOAD_SERVER"] == "gunicorn_sync" else CHANGED)
        return 0, 1.0

    monkeypatch.setattr(deploy, "run_child", fake_child)
    opts = fake_options(tmp_path, servers=["gunicorn_sync", "broken", "waitress"])
    result = {"servers": {}, "pythons": {}, "flask": {}}
    items = deploy.plan(opts, result)
    deploy.run_items(items, result, 300, lambda: None)
    deploy.summarise(result)
    assert ran == ["gunicorn_sync", "broken", "waitress"]
    broken = result["servers"]["broken"]
    assert broken["status"] == "failed" and broken["variants"] == {} and broken["request_cpu_us"] is None
    assert broken["detail"].startswith("did not run: error: loadtests.mount:create_load_app(): server exited with code 1")
    assert result["servers"]["waitress"]["status"] == "ok"
    assert result["servers"]["waitress"]["agreement"]["differences"] == [
        "abort_response on unauthorized: equivalent here, dearer on gunicorn_sync"]
    assert "deploy 3/3: servers waitress" in capsys.readouterr().out


def test_a_child_past_its_time_limit_is_stopped_with_its_whole_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time; p = subprocess.Popen(['sleep', '60']); "
              f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    code, seconds = deploy.run_child([sys.executable, "-c", script], {}, tmp_path / "child.log", timeout_s=1.0)
    assert code is None
    grandchild = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(grandchild, 0)  # stopped with its group, not left behind


def test_items_past_the_budget_are_skipped_not_run(tmp_path):
    ran, now = [], [0.0]

    def run(v):
        ran.append(v)
        now[0] += 100.0  # it took as long as expected
        return deploy.skipped("x")

    items = [deploy.Item("flask", v, 100.0, lambda v=v: run(v)) for v in ("2.0.3", "2.3.3")]
    result = {"flask": {}}
    deploy.run_items(items, result, 150, lambda: None, now=lambda: now[0])
    assert ran == ["2.0.3"] and result["flask"]["2.3.3"]["status"] == "skipped"
    assert "budget would be exceeded" in result["flask"]["2.3.3"]["detail"]


def fake_python(path: Path, output: str, code: int = 0) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{output}'\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_pythons_are_found_in_pythons_on_path_and_under_pyenv_and_the_rest_skipped(tmp_path):
    listed = fake_python(tmp_path / "opt" / "py", "CPython 3.12 3.12.9 /opt/real/python3.12")
    fake_python(tmp_path / "bin" / "python3.13", "pyenv: python3.13: command not found", code=127)  # a shim
    fake_python(tmp_path / "bin" / "python3.10", "CPython 3.10 3.10.2 /usr/bin/python3.10")
    fake_python(tmp_path / "pyenv" / "versions" / "3.9.18" / "bin" / "python3.9", "CPython 3.9 3.9.18 /pyenv/3.9.18")
    fake_python(tmp_path / "pyenv" / "versions" / "pypy" / "bin" / "python3.11", "PyPy 3.11 3.11.1 /pypy")
    found = deploy.discover_pythons(listed, path=str(tmp_path / "bin"), pyenv_root=tmp_path / "pyenv")
    assert found == {"3.9": "/pyenv/3.9.18", "3.10": "/usr/bin/python3.10", "3.11": None,
                     "3.12": "/opt/real/python3.12", "3.13": None}
    result = {"servers": {}, "pythons": {}, "flask": {}}
    items = deploy.plan(deploy.Options(deploy.QUICK, [], ("pythons",), [], found, []), result)
    assert [i.key for i in items] == ["3.9", "3.10", "3.12"]
    assert result["pythons"]["3.11"]["status"] == result["pythons"]["3.13"]["status"] == "skipped"
    assert "no CPython 3.13 found" in result["pythons"]["3.13"]["detail"]
    with pytest.raises(deploy.UsageError, match="is PyPy 3.11.1; expected a CPython 3.9-3.13"):
        deploy.discover_pythons(str(tmp_path / "pyenv" / "versions" / "pypy" / "bin" / "python3.11"), path="",
                                pyenv_root=tmp_path)


def test_python_3_11_runs_before_the_flask_releases_and_the_other_pythons_after():
    opts = deploy.Options(deploy.QUICK, [], ("pythons", "flask"), [], {"3.11": "/a", "3.12": "/b"}, ["2.0.3", "3.1.3"])
    result = {"servers": {}, "pythons": {}, "flask": {}}
    items = deploy.plan(opts, result)
    assert [(i.dimension, i.key) for i in items] == [("pythons", "3.11"), ("flask", "2.0.3"), ("flask", "3.1.3"),
                                                     ("pythons", "3.12")]


def test_flask_releases_skip_idioms_newer_than_the_release():
    from variants import select

    opts = deploy.Options(deploy.QUICK, select("jsonify_tuple,json_provider,orjson_provider"), ("flask",), [], {}, [])
    item, left_out = deploy.flask_release_item(opts, "2.3.3")
    assert left_out == {"orjson_provider": "needs Flask 3.0 (registry min_flask)"} and item.key == "2.3.3"


def deploy_json(tmp_path) -> dict:
    """A finished deploy.json from synthetic entries: two servers (one order change), a failed and a skipped item."""
    result = {"schema": deploy.SCHEMA, "status": "ok", "mode": "quick", "started": "2026-11-26T13:00:00+00:00",
              "wall_s": 250.0, "budget_s": 300, "servers": {}, "pythons": {}, "flask": {}, "references": {},
              "taken_over": [], "pending": [], "targets": {}, "environment": {"python": "3.11.7"}}
    for dimension, key, verdicts in (("servers", "gunicorn_sync", VERDICTS), ("servers", "waitress", CHANGED),
                                     ("pythons", "3.11", VERDICTS), ("pythons", "3.12", VERDICTS),
                                     ("flask", "3.1.3", VERDICTS), ("flask", "2.0.3", VERDICTS)):
        folder = tmp_path / dimension / key
        (load_files(folder, verdicts) if dimension == "servers" else request_file(folder, verdicts))
        result[dimension][key] = (deploy.from_load(folder, key) if dimension == "servers" else deploy.from_request(folder))
    result["servers"]["granian"] = deploy.failed("did not run: planted")
    result["pythons"]["3.9"] = deploy.skipped("no CPython 3.9 found")
    result["flask"]["2.0.3"]["skipped_variants"] = {"json_provider": "needs Flask 2.2 (registry min_flask)"}
    deploy.summarise(result)
    return result


def test_deploy_json_has_the_keys_of_the_issue_and_fits_its_schema(tmp_path):
    result = deploy_json(tmp_path)
    assert keys_fit(result, schemas.Deploy)
    assert result["references"] == {"servers": "gunicorn_sync", "pythons": "3.11", "flask": "3.1.3"}
    for dimension in deploy.DIMENSIONS:
        for entry in result[dimension].values():
            assert keys_fit(entry, schemas.DeployEntry) and entry["status"] in ("ok", "failed", "skipped")
            for by_class in entry["variants"].values():
                assert set(by_class) == set(CLASSES)
                for cell in by_class.values():
                    assert keys_fit(cell, schemas.DeployCell) and keys_fit(cell["delta_us"], schemas.DeployDelta)
            if "agreement" in entry:
                assert keys_fit(entry["agreement"], schemas.Agreement)
    target = result["servers"]["waitress"]["ci_target"]
    assert target["met"] and target["reference"] == "gunicorn_sync" and target["wide_classes"] == []
    assert target["by_class"]["unauthorized"] == {"half_width_us": 3.0, "reference_us": 3.0, "limit_us": 6.0, "met": True}
    assert set(result["targets"]) == {"wall_s", "ci95_half_width", "missed", "wide"} and result["targets"]["missed"] == []
    assert section.sentence("servers", result["servers"], "gunicorn_sync").startswith("**The order changes** on waitress")
    assert section.sentence("pythons", result["pythons"], "3.11").startswith("**No change found**: on 3.12 every")
    assert section.sentence("pythons", {k: {**e, "agreement": {"compared": 0, "unresolved": 4, "differences": []}}
                                         if k == "3.12" else e for k, e in result["pythons"].items()},
                            "3.11").startswith("**Not resolved**: no idiom × class pair is definite")


# ------------------------------------------------------------------------------------ the report
def test_the_report_section_shows_deploy_json_with_one_sentence_per_dimension(tmp_path):
    assert section in SECTIONS and section.TITLE == "Does it hold where you deploy?"
    write_json(tmp_path / "deploy.json", deploy_json(tmp_path / "raw"))
    md = render(tmp_path, charts=False)["markdown"].read_text()
    part = md[md.index("Does it hold where you deploy?\n"):]
    assert "**The order changes** on waitress: 1 definite verdict differ from gunicorn_sync's (e.g. abort_response " \
           "on unauthorized: equivalent here, dearer on gunicorn_sync; 3 of 4 idiom × class pairs definite on both " \
           "sides)" in part
    assert "**No change found**: on 3.12 every verdict that is definite on both sides is the same as on 3.11 " \
           "(3 of 4 idiom × class pairs definite on both sides" in part
    assert "**No change found**: on 2.0.3 every verdict" in part
    assert "| granian | failed | n/a |" in part and "| 3.9 | skipped |" in part
    assert "2.0.3: json_provider: needs Flask 2.2 (registry min_flask)" in part
    assert "+40.0 ±3.0 dearer (+4.4%)" in part  # Δ, half the CI, verdict, share of the 900 µs request


def test_the_report_section_without_deploy_json_says_how_to_make_it(tmp_path):
    md = render(tmp_path, charts=False)["markdown"].read_text()
    part = md[md.index("Does it hold where you deploy?\n"):]
    assert "no `deploy.json`: `make deploy` has not run here" in part.split("\n## ")[0]


def test_the_chart_draws_one_dot_per_item(tmp_path):
    cells = {"abort_response": {k: {c: delta(e, 1, v) for c, (e, v) in VERDICTS["abort_response"].items()}
                                for k in ("3.11", "3.12")}}
    paths = section.across(tmp_path, "deploy_pythons", ["abort_response"], list(CLASSES), ["3.11", "3.12"], cells,
                           title="t", xlabel="x")
    assert [p.name for p in paths] == ["deploy_pythons.png", "deploy_pythons.svg"] and all(p.stat().st_size for p in paths)


# ------------------------------------------------------------------------------------ bad options
@pytest.mark.parametrize("env, message", [
    ({"DEPLOY": "servers,gpus"}, "DEPLOY='servers,gpus': unknown gpus; expected some of servers, pythons, flask"),
    ({"DEPLOY_SERVERS": "bjoern"}, "DEPLOY_SERVERS='bjoern': unknown bjoern"),
    ({"DEPLOY": "flask", "DEPLOY_FLASK": "9.9"}, "unknown Flask version(s): 9.9"),
    ({"QUICK": "maybe"}, "QUICK='maybe': expected 1 or 0"),
    ({"VARIANTS": "nope"}, "unknown variant(s): nope"),
    ({"DEPLOY": "pythons", "PYTHONS": "/nonexistent/python3"}, "PYTHONS: '/nonexistent/python3' does not run"),
])
def test_bad_options_exit_2_with_one_line(env, message, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(deploy, "OUT", tmp_path)
    for key in ("DEPLOY", "DEPLOY_SERVERS", "DEPLOY_FLASK", "QUICK", "VARIANTS", "PYTHONS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_:
        deploy.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "deploy.json").exists()


# ------------------------------------------------------------------------------ parameters per mode
def test_each_mode_measures_every_idiom_in_process_with_its_own_workers(monkeypatch, tmp_path):
    from variants import REGISTRY

    for key in ("DEPLOY", "DEPLOY_SERVERS", "DEPLOY_FLASK", "VARIANTS", "PYTHONS", "DEPLOY_COUNTS", "DEPLOY_FRESH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DEPLOY", "flask")  # no taskset needed
    monkeypatch.setattr(deploy, "discover_pythons", lambda listed: {"3.11": None})
    monkeypatch.setenv("QUICK", "1")
    quick = deploy.options()
    assert [v.name for v in quick.variants] == list(REGISTRY)  # every idiom in process
    assert [v.name for v in quick.http_variants] == list(deploy.QUICK.server_variants)
    assert [v.name for v in quick.counted_variants] == list(deploy.QUICK.count_variants)
    assert deploy.request_settings(deploy.QUICK) == {"REQUEST_WORKERS": str(deploy.QUICK.request_workers),
                                                     "REQUEST_SECONDS": f"{deploy.QUICK.request_seconds:g}"}
    monkeypatch.setenv("QUICK", "0")
    full = deploy.options()
    assert full.cfg is deploy.FULL and full.http_variants == full.variants
    assert deploy.request_settings(deploy.FULL)["REQUEST_WORKERS"] == str(deploy.FULL.request_workers)
    assert deploy.FULL.request_workers > deploy.QUICK.request_workers
    monkeypatch.setenv("VARIANTS", "jsonify_tuple,abort_response")  # named: the same idioms everywhere
    monkeypatch.setenv("DEPLOY_COUNTS", "0")
    named = deploy.options()
    assert [v.name for v in named.http_variants] == ["jsonify_tuple", "abort_response"] and named.counted_variants == []
    # the settings reach the child: bench.request reads REQUEST_WORKERS / REQUEST_SECONDS from its environment
    monkeypatch.setattr(deploy, "OUT", tmp_path)
    seen = {}

    def fake_child(argv, env, log_path, timeout_s):
        seen.update(env, argv=argv)
        request_file(Path(env["FLASK_IDIOMS_OUT"]), VERDICTS)
        return 0, 1.0

    monkeypatch.setattr(deploy, "run_child", fake_child)
    item, left_out = deploy.flask_release_item(quick, "2.0.3")
    entry = item.run()
    assert {k: seen[k] for k in ("REQUEST_WORKERS", "REQUEST_SECONDS")} == deploy.request_settings(deploy.QUICK)
    assert seen["QUICK"] == "1" and item.settings == deploy.request_settings(deploy.QUICK)
    assert left_out and seen["VARIANTS"].split(",") == [v.name for v in quick.variants if v.name not in left_out]
    assert entry["status"] == "ok" and (f"{deploy.QUICK.request_workers} workers x "
                                        f"{deploy.QUICK.request_seconds:g} s") in entry["detail"]


# ------------------------------------------------------------------------------ counts per Python
def counts_file(folder: Path, pct: dict):
    write_json(folder / "counts.json", {
        "schema": "flask-json-idioms/counts/2", "status": "ok", "mode": "quick", "classes": list(CLASSES), "problems": [],
        "variants": {name: {c: {"instructions": 500_000 * (1 + p / 100), "delta_pct": p, "alloc_blocks": 400}
                            for c, p in by_class.items()} for name, by_class in pct.items()}})


def test_counts_are_skipped_with_the_install_hint_without_valgrind(monkeypatch, tmp_path):
    monkeypatch.setattr(deploy, "OUT", tmp_path)
    monkeypatch.setattr(deploy.shutil, "which", lambda name, *a, **k: None)
    ran = []
    monkeypatch.setattr(deploy, "run_child", lambda *a, **k: ran.append(a) or (0, 1.0))
    opts = deploy.Options(deploy.QUICK, [], ("pythons",), [], {}, [], count_variants=[])
    entry = deploy.counts_item(opts, "3.12", "/usr/bin/python3.12").run()
    assert entry["status"] == "skipped" and "apt-get install valgrind" in entry["detail"] and ran == []


def test_counts_land_under_their_python_as_delta_pct_per_class(monkeypatch, tmp_path):
    from variants import select

    monkeypatch.setattr(deploy, "OUT", tmp_path)
    monkeypatch.setattr(deploy.shutil, "which", lambda name, *a, **k: "/usr/bin/valgrind")
    seen = []

    def fake_child(argv, env, log_path, timeout_s):
        seen.append(argv[-2:])
        folder = Path(env["FLASK_IDIOMS_OUT"])
        if "count" in argv:
            counts_file(folder, {"jsonify_tuple": {c: 0.0 for c in CLASSES},
                                 "abort_response": {"success": 0.1, "created": 0.2, "unauthorized": 12.5, "admin": 0.3}})
        else:
            request_file(folder, VERDICTS)
        return 0, 1.0

    monkeypatch.setattr(deploy, "run_child", fake_child)
    opts = deploy.Options(deploy.QUICK, select("jsonify_tuple,abort_response"), ("pythons",), [],
                          {"3.11": "/a", "3.12": "/b"}, [])
    result = {"servers": {}, "pythons": {}, "flask": {}, "budget_s": 300}
    items = deploy.plan(opts, result)
    assert [i.label for i in items] == ["pythons 3.11", "pythons 3.12", "pythons 3.11 counts", "pythons 3.12 counts"]
    order = deploy.plan(deploy.Options(deploy.QUICK, [], ("pythons",), [], {v: "/p" for v in deploy.SUPPORTED}, [],
                                       count_variants=opts.variants), {"pythons": {}})
    assert [i.label for i in order if i.part] == [f"pythons {v} counts" for v in ("3.11", "3.13", "3.12", "3.10", "3.9")]
    deploy.run_items(items, result, 300, lambda: None)
    deploy.summarise(result)
    assert seen.count(["--", "count"]) == 2
    counts = result["pythons"]["3.12"]["counts"]
    assert counts["status"] == "ok" and counts["variants"]["abort_response"]["unauthorized"] == {
        "instructions": 562_500.0, "delta_pct": 12.5}
    assert result["pythons"]["3.12"]["variants"]["abort_response"]["unauthorized"]["delta_us"]["verdict"] == "dearer"
    assert "unauthorized abort_response +12.5%" in deploy.counts_line("3.12", counts)
    assert keys_fit(result["pythons"]["3.12"], schemas.DeployEntry)


# ------------------------------------------------------------------------------ targets
def entry_with(half: dict) -> dict:
    """An ok entry whose abort_response Δ has the half-widths ``half`` per class."""
    return {"status": "ok", "detail": "", "request_cpu_us": 100.0, "variants": {
        "jsonify_tuple": {c: {"delta_us": delta(0.0, 0.0, "reference")} for c in half},
        "abort_response": {c: {"delta_us": delta(1.0, h, "unresolved")} for c, h in half.items()}}}


def test_ci_targets_are_checked_on_the_typical_width_against_twice_the_reference():
    """The target is the median half-width over the cells both measured (here the two classes' mean); one class
    whose widest cell is over 2x is listed beside, not a miss."""
    result = {"servers": {}, "flask": {}, "budget_s": 300, "wall_s": 320.0, "pythons": {
        "3.11": entry_with({"success": 1.0, "unauthorized": 2.0}),  # typical 1.5
        "3.12": entry_with({"success": 2.0, "unauthorized": 4.0}),  # typical 3.0, exactly 2x: met
        "3.10": entry_with({"success": 1.0, "unauthorized": 4.5}),  # typical 2.75: met; unauthorized over 2x: wide
        "3.13": entry_with({"success": 2.5, "unauthorized": 4.5}),  # typical 3.5 > 3.0: missed
        "3.9": deploy.skipped("no CPython 3.9 found")}}
    deploy.summarise(result)
    assert result["pythons"]["3.12"]["ci_target"]["met"]
    wide = result["pythons"]["3.10"]["ci_target"]
    assert wide["met"] and wide["half_width_us"] == 2.75 and wide["wide_classes"] == ["unauthorized"]
    assert wide["by_class"]["unauthorized"] == {"half_width_us": 4.5, "reference_us": 2.0, "limit_us": 4.0, "met": False}
    missed = result["pythons"]["3.13"]["ci_target"]
    assert not missed["met"] and (missed["half_width_us"], missed["reference_us"], missed["limit_us"]) == (3.5, 1.5, 3.0)
    t = result["targets"]
    assert t["ci95_half_width"] == {"pythons": {"3.11": True, "3.12": True, "3.10": True, "3.13": False}}
    assert t["missed"] == ["pythons 3.13: typical ±3.50 µs > 2 × ±1.50 µs (3.11)"]
    assert t["wide"] == ["pythons 3.10: unauthorized ±4.50 µs > 2 × ±2.00 µs (3.11)",
                         "pythons 3.13: success ±2.50 µs > 2 × ±1.00 µs (3.11)",
                         "pythons 3.13: unauthorized ±4.50 µs > 2 × ±2.00 µs (3.11)"]
    assert t["wall_s"] == {"target": 300, "value": 320.0, "met": False}
    para = section.targets_paragraph(result)
    assert "**missed** by 1 of 4 items: pythons 3.13: typical" in para.text and "wall time 320 s" in para.text
    assert "pythons 3.10: unauthorized ±4.50 µs" in para.text


# ------------------------------------------------------------------------------ merging earlier runs
def test_a_rerun_takes_over_what_an_earlier_run_finished_in_the_same_environment(monkeypatch, tmp_path):
    from variants import select

    monkeypatch.setattr(deploy, "OUT", tmp_path)
    monkeypatch.setattr(deploy.shutil, "which", lambda name, *a, **k: "/usr/bin/valgrind")
    current = {"git_commit": "abc1234", "lock_sha256": "f00", "mode": "quick"}
    variants = select("jsonify_tuple,abort_response")
    names = [v.name for v in variants]

    settings = deploy.request_settings(deploy.QUICK)

    def finished(commit="abc1234", mode="quick", idioms=names, settings=settings, **extra):
        folder = tmp_path / "earlier"
        request_file(folder, VERDICTS)
        return {**deploy.from_request(folder), **extra, "measured": {**current, "git_commit": commit, "mode": mode,
                                                                      "variants": idioms, "settings": settings}}

    counts = {"status": "ok", "detail": "", "variants": {}, "measured": {**current, "mode": "full", "variants": names}}
    earlier = {"pythons": {
        "3.11": finished(counts=counts),  # same commit, lock, mode, idioms: taken over, and its counts (any mode)
        "3.9": finished(idioms=["jsonify_tuple"]),  # other idioms: measured again
        "3.10": {**deploy.failed("timed out"), "measured": current},  # failed: measured again
        "3.12": finished(commit="def5678"),  # another commit: measured again
        "3.13": finished(settings={"REQUEST_WORKERS": "99"}),  # other settings: measured again
        "3.14": finished(), "3.8": finished(commit="old")}}  # not planned: kept if measured the same way
    ran = []

    def fake_child(argv, env, log_path, timeout_s):
        ran.append(Path(env["FLASK_IDIOMS_OUT"]).name + (" counts" if "count" in argv else ""))
        folder = Path(env["FLASK_IDIOMS_OUT"])
        counts_file(folder, {"jsonify_tuple": {c: 0.0 for c in CLASSES}}) if "count" in argv else request_file(folder, VERDICTS)
        return 0, 1.0

    monkeypatch.setattr(deploy, "run_child", fake_child)
    opts = deploy.Options(deploy.QUICK, variants, ("pythons",), [], {v: "/p" for v in deploy.SUPPORTED}, [],
                          count_variants=variants)
    result = {"servers": {}, "pythons": {}, "flask": {}, "budget_s": 300}
    items = deploy.plan(opts, result)
    taken = deploy.take_over(items, result, earlier, current)
    assert taken == ["pythons 3.11", "pythons 3.11 counts"]
    deploy.run_items(items, result, 300, lambda: None, measured={**current, "started": "now"})
    assert sorted(ran) == ["3.10", "3.10 counts", "3.12", "3.12 counts", "3.13", "3.13 counts", "3.9", "3.9 counts"]
    assert result["pythons"]["3.11"]["counts"] is counts and result["pythons"]["3.11"]["measured"]["mode"] == "quick"
    assert result["pythons"]["3.12"]["measured"] == {**current, "started": "now", "variants": names, "settings": settings}
    assert result["pythons"]["3.14"] is earlier["pythons"]["3.14"] and "3.8" not in result["pythons"]
    assert result["pending"] == []
    # a tree with changes: its commit's name does not say what code was measured, so nothing is taken over
    dirty = {**current, "git_commit": "abc1234-dirty"}
    earlier_dirty = {"pythons": {k: {**v, "measured": {**v["measured"], "git_commit": "abc1234-dirty"}}
                                 for k, v in earlier["pythons"].items()}}
    result = {"servers": {}, "pythons": {}, "flask": {}, "budget_s": 300}
    assert deploy.take_over(deploy.plan(opts, result), result, earlier_dirty, dirty) == []


def test_an_interrupted_run_writes_what_it_finished_and_what_is_pending(tmp_path):
    saved = []

    def interrupted():
        raise KeyboardInterrupt

    items = [deploy.Item("flask", "2.0.3", 1.0, lambda: deploy.skipped("done")),
             deploy.Item("flask", "2.3.3", 1.0, interrupted), deploy.Item("flask", "3.1.3", 1.0, interrupted)]
    result = {"flask": {}}
    with pytest.raises(KeyboardInterrupt):
        deploy.run_items(items, result, 300, lambda: (write_json(tmp_path / "deploy.json", result),
                                                      saved.append(read_json(tmp_path / "deploy.json"))))
    assert saved[-1]["flask"] == {"2.0.3": deploy.skipped("done")}
    assert result["pending"] == ["flask 2.3.3", "flask 3.1.3"]


def test_the_report_shows_counts_per_python_and_the_targets_missed(tmp_path):
    result = deploy_json(tmp_path / "raw")
    for version, pct in (("3.11", 10.0), ("3.12", -2.0)):
        result["pythons"][version]["counts"] = {"status": "ok", "detail": "", "variants": {
            "jsonify_tuple": {c: {"instructions": 5e5, "delta_pct": 0.0} for c in CLASSES},
            "abort_response": {c: {"instructions": 5e5, "delta_pct": pct if c == "unauthorized" else 0.1}
                               for c in CLASSES}}}
    result["pythons"]["3.9"]["counts"] = deploy.skipped("valgrind is not installed (Debian/Ubuntu: apt-get install valgrind)")
    result["pythons"]["3.12"]["variants"]["abort_response"]["unauthorized"]["delta_us"]["ci95"] = [0.0, 80.0]
    result["taken_over"] = ["servers gunicorn_sync"]
    deploy.summarise(result)
    write_json(tmp_path / "deploy.json", result)
    md = render(tmp_path, charts=False)["markdown"].read_text()
    part = md[md.index("Does it hold where you deploy?\n"):]
    assert "the widest move is abort_response on unauthorized, -2.0% on 3.12 to +10.0% on 3.11; **the sign changes** " \
           "for abort_response on unauthorized." in part
    assert "| abort_response | unauthorized | +10.00% | -2.00% |" in part
    assert "instruction counts on 3.9: skipped: valgrind is not installed (Debian/Ubuntu: apt-get install valgrind)" in part
    assert "pythons 3.12: unauthorized ±40.00 µs > 2 × ±1.00 µs (3.11)" in part  # the widest cell, listed beside
    (row,) = [x for x in part.splitlines() if x.startswith("| 3.12 | ok |")]
    assert "| 1.00 / 40.00 (met) |" in row  # typical / widest: one wide cell does not miss the target
    assert "Taken over from an earlier run with the same commit, lock and mode (not measured again): servers gunicorn_sync" in part
