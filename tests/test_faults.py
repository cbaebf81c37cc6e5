"""``make bench`` interrupted for real: Ctrl-C (SIGINT to the whole foreground process group, as a
terminal sends it) during the load stage stops every process the run started, keeps the finished
stages' results and marks the interrupted ones incomplete. (The stop is bounded by the stages' grace
periods; the test's deadline for it is generous, so that a busy machine does not fail it.)"""
import os
import signal
import subprocess
import time

import pytest

from harness.results import ROOT, read_json
from tests.test_load import STOP_DEADLINE_S, ours, wait_for


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_make_bench_keeps_finished_stages_and_leaves_nothing_running(tmp_path, how):
    """Ctrl-C, and SIGTERM to the group (a supervisor or ``timeout``): the same stop. (The load stage's own
    stop on SIGINT, with what it keeps, is in tests/test_load.py.)"""
    log = tmp_path / "make.log"
    # only the gate and the load stage (and the report): the stage whose stop matters most, without the minute
    # the others would take first
    env = {**os.environ, "FLASK_IDIOMS_OUT": str(tmp_path / "out"), "QUICK": "1", "VARIANTS": "jsonify_tuple",
           "STAGES": "verify,load"}
    with open(log, "w") as f:
        # -o: the tests run in .venv/ as it is; a test must not reinstall it (make test has brought it up to date)
        make = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "bench"], cwd=ROOT, env=env,
                                stdout=f, stderr=f, start_new_session=True)
    try:
        wait_for(lambda: "shape 1/2: closed" in log.read_text(), 300, "the load stage")
        wait_for(lambda: len(ours(str(tmp_path))) >= 5, 60, "make, harness, load, gunicorn and locust")
        os.killpg(make.pid, how)
        stopped = time.monotonic()
        make.wait(timeout=STOP_DEADLINE_S)
        wait_for(lambda: ours(str(tmp_path)) == [], STOP_DEADLINE_S - (time.monotonic() - stopped),
                 "every process to be gone")
    finally:
        with pytest.raises(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
    assert make.returncode != 0
    summary = read_json(tmp_path / "out" / "summary.json")
    stages = {name: s["status"] for name, s in summary["stages"].items()}
    assert stages["verify"] == "ok" and stages["micro"] == stages["request"] == "skipped"
    assert stages["load"] == "incomplete" and stages["count"] == "skipped"  # not selected
    assert read_json(tmp_path / "out" / "conformance.json")["variants"]["jsonify_tuple"]
    assert read_json(tmp_path / "out" / "load.json")["status"] == "incomplete"  # the stage's own file says so too
    assert "Traceback" not in log.read_text()
