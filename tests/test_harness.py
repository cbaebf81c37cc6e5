"""The run infrastructure: atomic results, corrupt files reported, ports, bounded waits, process groups."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from harness.cli import UsageError, flag, selected_variants
from harness.results import ResultError, merge_summary, read_json, read_optional, write_json
from loadtests.server import HOST, ServerError, gunicorn, listening_socket, stop


def test_write_json_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = write_json(tmp_path / "r.json", {"a": 1})
    assert read_json(path) == {"a": 1}
    with pytest.raises(TypeError):
        write_json(path, {"bad": object.__new__(type("NotJson", (), {"__str__": None}))})
    assert read_json(path) == {"a": 1}  # the earlier result survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("text", ['{"a": 1', "", "\x00\x01", "[1, 2"])
def test_a_corrupt_result_is_reported_not_merged(tmp_path, capsys, text):
    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(ResultError, match="summary.json: not valid JSON"):
        read_json(tmp_path / "summary.json")
    merge_summary({"b": 2}, out=tmp_path)
    assert read_json(tmp_path / "summary.json") == {"b": 2}
    assert "warning: ignoring" in capsys.readouterr().err


def test_unreadable_result(tmp_path):
    with pytest.raises(ResultError, match="cannot read"):
        read_json(tmp_path / "missing.json")
    assert read_optional(tmp_path / "missing.json") is None


def test_merge_summary_deep_merges(tmp_path):
    merge_summary({"variants": {"a": {"micro": {"x": 1}}}}, out=tmp_path)
    merge_summary({"variants": {"a": {"load": {"y": 2}}, "b": {}}}, out=tmp_path)
    assert read_json(tmp_path / "summary.json") == {"variants": {"a": {"micro": {"x": 1}, "load": {"y": 2}}, "b": {}}}


@pytest.mark.parametrize("value, expected", [("", False), ("1", True), ("0", False), ("yes", True), ("false", False)])
def test_flag(monkeypatch, value, expected):
    monkeypatch.setenv("QUICK", value)
    assert flag("QUICK") is expected


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "quick"])
def test_flag_rejects_anything_else(monkeypatch, value):
    monkeypatch.setenv("QUICK", value)
    with pytest.raises(UsageError, match="QUICK"):
        flag("QUICK")


def test_unknown_variant_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown variant.*bogus"):
        selected_variants("jsonify_tuple,bogus")


def test_busy_port_is_a_clear_error():
    with listening_socket() as taken:
        with pytest.raises(UsageError, match=f"port {taken.getsockname()[1]} on {HOST} is not available"):
            listening_socket(taken.getsockname()[1])
    with pytest.raises(UsageError, match="expected 0-65535"):
        listening_socket(70000)


def test_a_server_that_never_comes_up_is_a_bounded_error():
    started = time.monotonic()
    with pytest.raises(ServerError, match="exited with code"):
        with gunicorn("no_such_module_anywhere:app", timeout_s=15):
            pass
    assert time.monotonic() - started < 15  # it noticed the exit, it did not wait out the bound


def test_a_busy_port_for_gunicorn(monkeypatch):
    with listening_socket() as taken:
        with pytest.raises(UsageError, match="not available"):
            with gunicorn("variants.jsonify_tuple:app", port=taken.getsockname()[1]):
                pass


def test_stop_kills_the_whole_process_group():
    """Even a grandchild that ignores SIGTERM is gone once stop() returns."""
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)'], stdout=subprocess.PIPE); "
        "c.stdout.readline(); print(c.pid, flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(parent.stdout.readline())  # the child ignores SIGTERM from here on
    stop(parent, grace_s=1.0)
    time.sleep(0.2)  # let init reap the orphan
    assert parent.poll() is not None and not _alive(child)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_server_binds_loopback_only():
    with gunicorn("variants.jsonify_tuple:app", ready_path="/api/status") as server:
        assert server.url.startswith("http://127.0.0.1:")
        conns = open("/proc/net/tcp").read().splitlines()[1:]
        port_hex = f"{server.port:04X}"
        listening = [c.split()[1] for c in conns if c.split()[1].endswith(":" + port_hex) and c.split()[3] == "0A"]
        assert listening == [f"0100007F:{port_hex}"]
