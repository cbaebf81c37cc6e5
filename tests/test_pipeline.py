"""``make bench`` orchestration, with stand-in stages: timeouts, Ctrl-C/SIGTERM, a failed gate, the report always last."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import pipeline
from harness.results import PUBLISHED, ROOT, read_json, write_json

STAND_INS = {
    "ok_stage": "import sys; sys.exit(0)",
    "failing_stage": "import sys; sys.exit(1)",
    # a stage with a child of its own, as micro (workers) and load (gunicorn, locust) have
    "slow_stage": """
        import os, subprocess, sys, time
        child = subprocess.Popen(["sleep", "60"])
        with open(os.environ["STAND_IN_PIDS"], "a") as f:
            f.write(f"{os.getpid()} {child.pid}\\n")
        time.sleep(60)
    """,
    # a stage that shows progress (as micro and the matrix do) for a while
    "progress_stage": """
        import time
        from harness.progress import Progress
        with Progress("items", 4, every_s=0) as progress:
            for _ in range(4):
                time.sleep(0.15)
                progress.step()
    """,
    "report_stage": """
        import os
        open(os.environ["STAND_IN_REPORT"], "w").write("rendered")
    """,
}


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    """A package of stand-in stage modules on PYTHONPATH, and the files they leave."""
    package = tmp_path / "standins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, code in STAND_INS.items():
        (package / f"{name}.py").write_text(textwrap.dedent(code))
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "STAND_IN_PIDS": str(tmp_path / "pids"),
           "STAND_IN_REPORT": str(tmp_path / "report"), "FLASK_IDIOMS_OUT": str(tmp_path / "out")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m.startswith("standins")]:
        del sys.modules[module]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids(folder: Path) -> list:
    deadline = time.monotonic() + 60  # a busy machine is slow to start the stand-in
    while not (folder / "pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return [int(p) for p in (folder / "pids").read_text().split()]


def test_a_stage_past_its_time_limit_is_killed_with_its_children_and_marked_failed(stand_ins):
    stage = pipeline.Stage("slow", "standins.slow_stage", "a hang", (1, 1))
    outcome = pipeline.run_stage(stage, timeout_s=1.5)
    # killed at its limit (the stand-in sleeps 60 s and would otherwise end "ok"), whatever the machine's speed
    assert outcome["status"] == "failed" and "timed out after 2 s" in outcome["detail"]
    assert not any(alive(pid) for pid in pids(stand_ins))


def test_stage_outcomes(stand_ins):
    assert pipeline.run_stage(pipeline.Stage("a", "standins.ok_stage", "", (1, 1)))["status"] == "ok"
    failed = pipeline.run_stage(pipeline.Stage("b", "standins.failing_stage", "", (1, 1)))
    assert failed["status"] == "failed" and failed["detail"] == "exit code 1"
    missing = pipeline.run_stage(pipeline.Stage("c", "standins.not_written_yet", "", (1, 1)))
    assert missing == {"status": "missing", "detail": "standins.not_written_yet is not built yet"}


DRIVER = """
import sys
from harness import pipeline
S = pipeline.Stage
pipeline.HEARTBEAT_S = {heartbeat}
pipeline.STAGES = (S("verify", "standins.{verify}", "gate", (1, 1), gate=True),
                   S("micro", "standins.{micro}", "timed", (1, 1)),
                   S("load", "standins.ok_stage", "timed", (1, 1)),
                   S("report", "standins.report_stage", "report", (1, 1), always=True))
sys.exit(pipeline.main())
"""


def driver(verify="ok_stage", micro="ok_stage", heartbeat=30.0) -> list:
    return [sys.executable, "-c", DRIVER.format(verify=verify, micro=micro, heartbeat=heartbeat)]


def drive(verify="ok_stage", micro="ok_stage", **env) -> subprocess.Popen:
    return subprocess.Popen(driver(verify, micro), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "QUICK": "1", **env})


def on_a_terminal(command: list, env: dict, timeout_s: float = 30) -> str:
    """Everything ``command`` writes to a pseudo-terminal (its stdout and stderr), once it has exited."""
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(command, cwd=ROOT, stdin=child_fd, stdout=child_fd, stderr=child_fd,
                               env={**env, "TERM": "xterm"})
    os.close(child_fd)
    out, deadline = b"", time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if select.select([main_fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(main_fd)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    return out.decode(errors="replace")


def stages(folder: Path) -> dict:
    return json.loads((folder / "out" / "summary.json").read_text())["stages"]


def test_make_bench_starts_the_run_histories_from_the_published_ones_once(stand_ins):
    """A fresh clone's first run joins the published record (its report gives the spread over those runs), and
    a later run appends to its own histories, not to a new copy."""
    published = read_json(PUBLISHED / "request_history.json")["runs"]
    out, err = drive().communicate(timeout=60)
    assert "Traceback" not in err
    assert f"started from {PUBLISHED}'s (request_history.json {len(published)} runs, micro_history.json" in out
    assert read_json(stand_ins / "out" / "request_history.json")["runs"] == published
    write_json(stand_ins / "out" / "request_history.json", {"runs": published[-1:]})  # its own, from now on
    out, _ = drive().communicate(timeout=60)
    assert "request_history.json" not in out.split("== stage")[0]
    assert read_json(stand_ins / "out" / "request_history.json")["runs"] == published[-1:]


def test_a_failed_gate_skips_the_timing_but_still_renders_the_report(stand_ins):
    process = drive(verify="failing_stage")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    found = stages(stand_ins)
    assert found["verify"]["status"] == "failed"
    assert found["micro"]["status"] == found["load"]["status"] == "skipped"
    assert found["report"]["status"] == "ok" and (stand_ins / "report").exists()
    assert "stage 1/4: verify" in out and "stage 4/4: report" in out and "left" in out
    assert "REPORT.md" in out and "report.html" in out
    assert "the gate" in found["micro"]["detail"] and "declares no divergence" in err


def test_stages_runs_only_the_named_stages_and_the_report(stand_ins):
    process = drive(micro="failing_stage", STAGES="verify,load")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err  # the failing micro was not run
    found = stages(stand_ins)
    assert found["verify"]["status"] == found["load"]["status"] == found["report"]["status"] == "ok"
    assert found["micro"] == {"status": "skipped", "detail": "not selected (STAGES=verify,load)"}


def test_an_unknown_stage_is_one_line_and_exit_2(stand_ins):
    process = drive(STAGES="verify,nope")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "Traceback" not in err
    assert err.strip() == "error: STAGES='verify,nope': unknown stage(s) nope; expected some of verify, micro, load, report"


def test_a_failed_timing_stage_still_gets_a_report(stand_ins):
    process = drive(micro="failing_stage")
    process.communicate(timeout=30)
    assert process.returncode == 1
    found = stages(stand_ins)
    assert found["micro"]["status"] == "failed" and found["load"]["status"] == "ok"
    assert found["report"]["status"] == "ok"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_stops_the_stage_group_marks_it_incomplete_and_exits_130(stand_ins, sig):
    process = drive(micro="slow_stage")
    running = pids(stand_ins)
    process.send_signal(sig)
    # the stop is bounded by pipeline.STOP_GRACE_S; the deadline here is generous, for a busy machine
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    found = stages(stand_ins)
    assert found["verify"]["status"] == "ok"
    assert found["micro"]["status"] == "incomplete" and "interrupted" in found["micro"]["detail"]
    assert found["load"]["status"] == found["report"]["status"] == "incomplete"
    assert not (stand_ins / "report").exists()
    assert not any(alive(pid) for pid in running)


def test_piped_output_gets_plain_lines_and_a_heartbeat_between_stage_lines(stand_ins):
    done = subprocess.run(driver(micro="progress_stage", heartbeat=0.05), cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env={**os.environ, "QUICK": "1"})
    assert done.returncode == 0, done.stderr
    assert "== stage 2/4: micro: timed [" in done.stdout and "== stage 2/4: micro: ok in " in done.stdout
    assert re.search(r"^== stage 2/4: micro: \d+:\d\d in this stage", done.stdout, re.M)  # the heartbeat
    assert "  items: 1/4, " in done.stdout and "  items: 4/4, " in done.stdout  # the stage's plain progress
    assert "\x1b[" not in done.stdout  # no terminal control codes in a log


def test_on_a_terminal_the_stage_draws_a_live_line_and_the_pipeline_adds_none_between(stand_ins):
    out = on_a_terminal(driver(micro="progress_stage", heartbeat=0.05), {**os.environ, "QUICK": "1"})
    assert "== stage 2/4: micro: timed [" in out and "== stage 2/4: micro: ok in " in out
    assert "in this stage" not in out  # no heartbeat through the stage's live line
    assert "━" in out and "items: 4/4 in " in out  # the stage's bar, then its one summary line
    assert "items: 1/4, " not in out  # not the plain form
    assert "make bench: done in " in out


def test_a_bad_payloads_file_stops_make_bench_before_any_stage(tmp_path):
    bad = tmp_path / "responses.json"
    bad.write_text("{'not': 'json'}")
    done = subprocess.run([sys.executable, "-m", "harness.pipeline"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PAYLOADS": str(bad), "FLASK_IDIOMS_OUT": str(tmp_path / "out"),
                                           "QUICK": "1"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: PAYLOADS: ") and "not JSON" in done.stderr
    assert not (tmp_path / "out" / "summary.json").exists()  # nothing ran, nothing was started


def test_a_setting_that_lengthens_a_stage_lifts_its_limit_and_the_stage_line_says_so(monkeypatch):
    load = next(s for s in pipeline.STAGES if s.name == "load")
    monkeypatch.delenv("LOAD_SECONDS", raising=False)
    monkeypatch.delenv("LOAD_PROCESSES", raising=False)
    assert load.timeout(quick=True) == pipeline.TIMEOUT_FACTOR * load.expected(quick=True) < 600
    monkeypatch.setenv("LOAD_SECONDS", "120")
    assert load.lengthened() == ["LOAD_SECONDS"] and load.timeout(quick=True) == pipeline.LENGTHENED_TIMEOUT_S
    micro = next(s for s in pipeline.STAGES if s.name == "micro")
    assert micro.timeout(quick=True) == max(pipeline.MIN_TIMEOUT_S, pipeline.TIMEOUT_FACTOR * micro.expected(quick=True))


def test_a_stage_with_a_least_limit_keeps_it_while_its_estimate_stays_what_it_takes():
    count = next(s for s in pipeline.STAGES if s.name == "count")
    assert count.expected(quick=False) < 200 and count.timeout(quick=False) == count.least_limit_s >= 600
    assert count.timeout(quick=True) == count.least_limit_s  # 3 x the quick estimate is less
    plain = pipeline.Stage("x", "m", "what", (10, 100))
    assert plain.timeout(quick=False) == pipeline.TIMEOUT_FACTOR * 100 and plain.timeout(quick=True) == pipeline.MIN_TIMEOUT_S
