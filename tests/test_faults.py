"""``make bench`` interrupted for real: Ctrl-C (SIGINT to the whole foreground process group, as a
terminal sends it) during the load stage stops every process the run started, keeps the finished
stages' results and marks the interrupted ones incomplete. (The stop is bounded by the stages' grace
periods; the test's deadline for it is generous, so that a busy machine does not fail it.)"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.results import ROOT, read_json
from tests.test_load import STOP_DEADLINE_S, ours, wait_for


def ctrl_c_during_make_bench(folder: Path) -> dict:
    """``make bench`` (quick, one idiom) writing to ``folder``/out, Ctrl-C'd as a terminal does once its
    load stage's locust is up: its exit code, once every process it started is gone."""
    log = folder / "make.log"
    env = {**os.environ, "FLASK_IDIOMS_OUT": str(folder / "out"), "QUICK": "1", "VARIANTS": "jsonify_tuple"}
    with open(log, "w") as f:
        # -o: the tests run in .venv/ as it is; a test must not reinstall it (make test has brought it up to date)
        make = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "bench"], cwd=ROOT, env=env,
                                stdout=f, stderr=f, start_new_session=True)
    try:
        wait_for(lambda: "shape 1/2: closed" in log.read_text(), 300, "the load stage")
        wait_for(lambda: len(ours(str(folder))) >= 5, 60, "make, harness, load, gunicorn and locust")
        os.killpg(make.pid, signal.SIGINT)
        stopped = time.monotonic()
        make.wait(timeout=STOP_DEADLINE_S)
        wait_for(lambda: ours(str(folder)) == [], STOP_DEADLINE_S - (time.monotonic() - stopped),
                 "every process to be gone")
    finally:
        with pytest.raises(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
    return {"returncode": make.returncode, "log": log, "out": folder / "out"}


@pytest.mark.slow
@pytest.mark.started_early(run=ctrl_c_during_make_bench)  # most of a minute, mostly spent in make bench's own stages
def test_ctrl_c_during_make_bench_keeps_finished_stages_and_leaves_nothing_running(started_early):
    run = started_early.result()  # every process it started is gone
    assert run["returncode"] != 0
    summary = read_json(run["out"] / "summary.json")
    stages = {name: s["status"] for name, s in summary["stages"].items()}
    assert stages["verify"] == stages["micro"] == stages["pytest-benchmark"] == "ok"
    assert stages["load"] == "incomplete"
    assert read_json(run["out"] / "micro.json")["results"]["variants"]["jsonify_tuple"]
    assert read_json(run["out"] / "load.json")["status"] == "incomplete"  # the stage's own file says so too
    assert "Traceback" not in run["log"].read_text()
