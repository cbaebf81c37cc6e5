"""The run infrastructure: atomic results, corrupt files reported, ports, bounded waits, process groups, progress."""
import io
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from harness.cli import UsageError, flag, selected_variants
from harness.processes import stop_group
from harness.progress import LIVE_ENV, Progress, is_terminal
from harness.results import HISTORIES, ResultError, merge_summary, read_json, read_optional, seed_histories, write_json
from loadtests.server import HOST, ServerError, listening_socket, serve


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
        with serve("no_such_module_anywhere:app", timeout_s=120):
            pass
    assert time.monotonic() - started < 60  # it noticed the exit, it did not wait out the bound


def test_a_busy_port_for_gunicorn(monkeypatch):
    with listening_socket() as taken:
        with pytest.raises(UsageError, match="not available"):
            with serve("variants.jsonify_tuple:app", port=taken.getsockname()[1]):
                pass


def test_stop_kills_the_whole_process_group():
    """Even a grandchild that ignores SIGTERM is gone once stop_group() returns."""
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)'], stdout=subprocess.PIPE); "
        "c.stdout.readline(); print(c.pid, flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(parent.stdout.readline())  # the child ignores SIGTERM from here on
    stop_group(parent, 1.0)
    time.sleep(0.2)  # let init reap the orphan
    assert parent.poll() is not None and not _alive(child)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


CLEANUP_CHILD = """
import sys, time
from harness.cli import entry_point

@entry_point
def main():
    try:
        print("ready", flush=True)
        time.sleep(60)
    finally:
        time.sleep(1.0)  # stopping what the stage started
        print("cleaned", flush=True)

main()
"""


def test_a_second_signal_does_not_cut_the_clean_up_short():
    """Ctrl-C, then SIGTERM while the clean-up runs (as make bench escalates): the clean-up finishes, the
    exit is 130 and nothing prints a traceback."""
    child = subprocess.Popen([sys.executable, "-c", CLEANUP_CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGINT)
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        stop_group(child, 1.0)
    assert child.returncode == 130, err
    assert "cleaned" in out and "Traceback" not in err and "interrupted" in err


def test_server_binds_loopback_only():
    with serve("variants.jsonify_tuple:app", ready_path="/api/status") as server:
        assert server.url.startswith("http://127.0.0.1:")
        conns = open("/proc/net/tcp").read().splitlines()[1:]
        port_hex = f"{server.port:04X}"
        listening = [c.split()[1] for c in conns if c.split()[1].endswith(":" + port_hex) and c.split()[3] == "0A"]
        assert listening == [f"0100007F:{port_hex}"]


class FakeStream(io.StringIO):
    """What a Progress writes, as a terminal (``tty=True``) or as a pipe or a file would take it."""

    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


PLAIN_LINE = re.compile(r"^  calibrate: (\d+)/5, \d+ s elapsed, ~\d+ s left( \(.*\))?$")


@pytest.fixture
def terminal(monkeypatch):
    """A fake terminal 120 columns wide, where lines can be redrawn and no parent process draws."""
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv(LIVE_ENV, raising=False)
    return FakeStream(tty=True)


def test_progress_off_a_terminal_prints_plain_lines_at_most_every_every_s():
    sparse, every = FakeStream(tty=False), FakeStream(tty=False)
    with Progress("calibrate", 5, every_s=3600, stream=sparse) as a, Progress("calibrate", 5, every_s=0, stream=every) as b:
        for i in range(5):
            a.step(note=f"item {i}")
            b.step(note=f"item {i}")
    lines = sparse.getvalue().splitlines()
    assert len(lines) == 1 and PLAIN_LINE.match(lines[0]).group(1) == "5" and lines[0].endswith(" (item 4)")
    lines = every.getvalue().splitlines()  # one per step, greppable, no control codes
    assert [PLAIN_LINE.match(line).group(1) for line in lines] == ["1", "2", "3", "4", "5"]
    assert "\x1b" not in every.getvalue()


def test_progress_begun_late_counts_the_time_left_from_its_first_item_not_from_its_creation(monkeypatch):
    clock = iter([0.0, 100.0, 110.0, 120.0])  # created at 0, waits in a queue until 100, first item done at 110
    monkeypatch.setattr("harness.progress.time.monotonic", lambda: next(clock))
    stream = FakeStream(tty=False)
    progress = Progress("callgrind", 9, every_s=0, stream=stream)
    progress.begin()
    progress.begin()  # once: a later job's start does not move the clock
    progress.step()
    assert stream.getvalue() == "  callgrind: 1/9, 10 s elapsed, ~80 s left\n"  # not 110 s elapsed, ~880 s left


def test_progress_off_a_terminal_closed_early_prints_its_last_count_once():
    stream = FakeStream(tty=False)
    progress = Progress("calibrate", 5, every_s=3600, stream=stream)
    progress.step()
    progress.step()
    assert stream.getvalue() == ""  # within every_s of its start
    progress.close()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and PLAIN_LINE.match(lines[0]).group(1) == "2"


def test_progress_on_a_terminal_draws_one_live_line_then_one_summary_line(terminal):
    with Progress("calibrate", 5, every_s=0, stream=terminal) as progress:
        assert os.environ.get(LIVE_ENV) == "1"  # what a worker started now inherits
        for i in range(5):
            progress.step(note=f"item {i}")
    out = terminal.getvalue()
    assert "━" in out and re.search(r"\d+/5", out) and "elapsed" in out and "left" in out and "(item 3)" in out
    assert not re.search(r"^  calibrate: \d+/5, ", out, re.M)  # none of the plain lines
    summaries = re.findall(r"  calibrate: 5/5 in \d+ s \(item 4\)\n", out)
    assert len(summaries) == 1
    assert out.rstrip("\r").endswith("\x1b[?25h")  # the cursor is shown again
    assert LIVE_ENV not in os.environ


def test_progress_on_a_terminal_keeps_a_line_per_open_progress(terminal):
    calibrate = Progress("calibrate", 3, stream=terminal)
    with Progress("workers", 2, stream=terminal) as workers:
        calibrate.step()
        workers.step()
        calibrate.close()  # stopped early
        workers.step()
    out = terminal.getvalue()
    assert re.search(r"  calibrate .*\n  workers ", out)  # two lines at once
    assert len(re.findall(r"  calibrate: stopped at 1/3 after \d+ s\n", out)) == 1
    assert len(re.findall(r"  workers: 2/2 in \d+ s\n", out)) == 1


def test_a_live_line_never_wraps_on_a_narrow_terminal(terminal, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    with Progress("calibrate", 5, every_s=0, stream=terminal) as progress:
        progress.step(note="a note far too long to fit on the line beside the bar and the counts")
        drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.getvalue())
    lines = [line for chunk in drawn.split("\n") for line in chunk.split("\r") if line.strip()]
    assert lines and all(len(line) < 60 for line in lines) and lines[-1].endswith("…")


def test_a_worker_of_a_live_line_stays_silent_on_the_terminal(terminal, monkeypatch):
    monkeypatch.setenv(LIVE_ENV, "1")  # as a process started while its parent's live line is drawn
    with Progress("calibrate", 5, every_s=0, stream=terminal) as progress:
        for _ in range(5):
            progress.step()
    assert terminal.getvalue() == ""
    piped = FakeStream(tty=False)  # a pipe or a log still gets every line
    with Progress("calibrate", 5, every_s=0, stream=piped) as progress:
        progress.step()
    assert PLAIN_LINE.match(piped.getvalue().splitlines()[0])


def test_a_dumb_terminal_is_not_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert not is_terminal(FakeStream(tty=True))
    monkeypatch.setenv("TERM", "xterm")
    assert is_terminal(FakeStream(tty=True)) and not is_terminal(FakeStream(tty=False)) and not is_terminal(object())


class _Steps:
    def __init__(self):
        self.notes = []

    def step(self, note=""):
        self.notes.append(note)


def test_run_workers_runs_each_job_in_its_own_process_and_names_a_failed_one():
    import numpy as np

    from harness.processes import run_workers

    steps = _Steps()
    # json.tool copies its input file to its output file: a worker that returns its job
    jobs = [{"index": 0, "rounds": 3}, {"index": 1, "rounds": 4}]
    assert run_workers("json.tool", jobs, np.random.default_rng(0), steps, "echo") == jobs
    assert steps.notes == ["worker 1: 3 rounds", "worker 2: 4 rounds"]
    with pytest.raises(ResultError, match=r"^echo worker 1/1 failed \(exit code 1\)$"):
        run_workers("no_such_module_here", [{"index": 0}], np.random.default_rng(0), _Steps(), "echo")


PARALLEL_WORKER = """
import json, os, sys, time
job = json.load(open(sys.argv[1]))
start = time.monotonic()
if job.get("fail"):
    time.sleep(0.3)
    sys.exit(3)
time.sleep(job["sleep"])
json.dump({**job, "cpus": sorted(os.sched_getaffinity(0)), "start": start, "end": time.monotonic(),
           "seen": job.get("seen", 0)}, open(sys.argv[2], "w"))
"""


def test_parallel_workers_run_the_first_alone_then_one_per_cpu_pinned_in_the_jobs_order(tmp_path, monkeypatch):
    import numpy as np

    from harness import processes

    (tmp_path / "parallel_worker.py").write_text(PARALLEL_WORKER)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cpus = sorted(os.sched_getaffinity(0))[:2]
    jobs = [{"index": i, "sleep": 1.0} for i in range(5)]  # long beside a busy machine's start-up jitter
    found = processes.run_workers("parallel_worker", jobs, np.random.default_rng(0), _Steps(), "sleep", parallel=2,
                                  prepare=lambda job, done: {**job, "seen": len(done)})
    assert [r["index"] for r in found] == list(range(5))  # the jobs' order, whatever finished first
    first, rest = found[0], found[1:]
    assert first["seen"] == 0 and all(r["seen"] >= 1 for r in rest)  # the later jobs are made from the first's result
    assert all(first["end"] <= r["start"] for r in rest)  # the first ran alone
    if len(cpus) < 2:
        pytest.skip("one usable CPU: the workers run one after another")
    assert all(len(r["cpus"]) == 1 and r["cpus"][0] in cpus for r in rest)  # each pinned to one CPU of its own
    for a, b in zip(rest, rest[1:]):
        if a["start"] < b["end"] and b["start"] < a["end"]:  # two at once: never on the same CPU
            assert a["cpus"] != b["cpus"]
    at_once = max(sum(r["start"] <= t < r["end"] for r in found) for t in [r["start"] for r in found])
    assert at_once == 2
    # and the same run one at a time: no overlap, nothing pinned
    found = processes.run_workers("parallel_worker", jobs[:3], np.random.default_rng(0), _Steps(), "sleep")
    assert all(a["end"] <= b["start"] for a, b in zip(found, found[1:]))
    assert all(r["cpus"] == sorted(os.sched_getaffinity(0)) for r in found)


def test_a_failed_parallel_worker_stops_the_others_and_is_named(tmp_path, monkeypatch):
    import numpy as np

    from harness import processes

    (tmp_path / "parallel_worker.py").write_text(PARALLEL_WORKER)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    if len(processes.usable_cpus()) < 2:
        pytest.skip("one usable CPU: the workers run one after another")
    jobs = [{"index": 0, "sleep": 0.0}, {"index": 1, "sleep": 60.0}, {"index": 2, "fail": True}]
    started = time.monotonic()
    with pytest.raises(ResultError, match=r"^sleep worker 3/3 failed \(exit code 3\)$"):
        processes.run_workers("parallel_worker", jobs, np.random.default_rng(0), _Steps(), "sleep", parallel=2)
    assert time.monotonic() - started < 50  # the 60 s worker was stopped, not waited for


def test_a_workers_progress_note_gives_its_rounds_also_per_kind():
    from harness.processes import rounds_note

    assert rounds_note({"rounds": 220}) == "220 rounds"
    assert rounds_note({"t_s": {"construct": [0.1] * 30, "dispatch": [0.2] * 12}}) == "30 construct, 12 dispatch rounds"
    assert rounds_note({}) == "done"


def test_other_work_is_busy_cpu_beyond_the_runs_own_processes_on_however_many_cores_they_used(monkeypatch):
    from harness import environment

    monkeypatch.setattr(environment.os, "cpu_count", lambda: 2)
    cpu = {"seconds": 100.0, "steal_fraction": 0.0, "busy_fraction": 0.95}  # 190 CPU seconds busy in 100 s
    assert environment.other_work_warnings(cpu, own_cpu_s=180.0) == []  # two workers at a time: their own
    (found,) = environment.other_work_warnings(cpu, own_cpu_s=95.0)  # one at a time: nearly a core of something else
    assert "95% busy, 0.95 of its 2 cores beyond this run's own processes: other work ran alongside" in found
    assert environment.other_work_warnings({**cpu, "busy_fraction": 0.59}, own_cpu_s=95.0) == []  # 0.23 cores: not yet
    (found,) = environment.other_work_warnings({**cpu, "steal_fraction": 0.05}, own_cpu_s=190.0)
    assert found.startswith("steal time was 5.0% of CPU time")


def test_histories_absent_from_the_results_start_from_the_published_ones(tmp_path):
    published, out = tmp_path / "published", tmp_path / "out"
    runs = [{"started": f"2026-11-2{k}T09:00:00+00:00", "mode": "full"} for k in range(3)]
    write_json(published / "request_history.json", {"runs": runs})
    write_json(published / "micro_history.json", {"runs": runs[:1]})
    write_json(out / "micro_history.json", {"runs": runs[2:]})  # this folder's own: kept as it is
    assert seed_histories(out, published) == {"request_history.json": 3}
    assert read_json(out / "request_history.json")["runs"] == runs
    assert read_json(out / "micro_history.json")["runs"] == runs[2:]
    assert not (out / "pytest_benchmark_history.json").exists()  # none published: none started
    assert seed_histories(out, published) == {} and "pytest_benchmark_history.json" in HISTORIES
