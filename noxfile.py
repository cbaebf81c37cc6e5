"""The Flask version matrix: one cached virtual environment per Flask release (``make matrix``).

The pins below are the only place the matrix's versions live. Each release gets the latest patch of
its series and the Werkzeug, Jinja2, itsdangerous, MarkupSafe and click of its era that install on
Python 3.11; every environment also gets Flask-Login, orjson and blinker (so Flask < 2.3 sends the
``got_request_exception`` signal the probe listens to). The project itself is installed with
``--no-deps``: its own pins (pyproject.toml) are for the main .venv.

``nox -s "probe(3.1.3)" -- OUT.json [--variants a,b]`` runs the probe (``python -m harness.probe``)
in that environment. Environments are reused between runs and emptied and reinstalled only when their
pins change (a stamp file in the environment, like the Makefile's).

``make deploy`` (``bench/deploy.py``) runs the whole-request stage (``python -m bench.request``, writing
to ``FLASK_IDIOMS_OUT``) in two more families of environments, built with uv where nox finds it:
``request_python-3.X`` (every supported CPython, with exactly the versions uv.lock pins for it; ``-- count`` runs
the instruction counts, ``python -m bench.counts``, there instead) and
``request_flask(X.Y.Z)`` (Python 3.11, the lock's versions but the release's pins from ``PINS``).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nox

PYTHON = "3.11"
PROJECT = Path(__file__).resolve().parent

_OLD = {"jinja2": "2.11.3", "itsdangerous": "1.1.0", "markupsafe": "2.0.1", "click": "7.1.2"}
_COMMON = {"flask-login": "0.6.3", "orjson": "3.13.0", "blinker": "1.9.0"}

# Flask release -> everything installed beside it.
PINS = {
    # Flask-Login 0.6.3 needs Flask >= 1.0.4; 0.4.1 is the last release that installs beside 0.12.
    "0.12.5": {"werkzeug": "0.16.1", **_OLD, "flask-login": "0.4.1"},
    "1.0.4": {"werkzeug": "1.0.1", **_OLD},
    "1.1.4": {"werkzeug": "1.0.1", **_OLD},
    "2.0.3": {"werkzeug": "2.0.3", "jinja2": "3.0.3", "itsdangerous": "2.0.1", "markupsafe": "2.1.5", "click": "8.0.4"},
    "2.1.3": {"werkzeug": "2.1.2", "jinja2": "3.1.6", "itsdangerous": "2.1.2", "markupsafe": "2.1.5", "click": "8.1.8"},
    "2.2.5": {"werkzeug": "2.2.3", "jinja2": "3.1.6", "itsdangerous": "2.1.2", "markupsafe": "2.1.5", "click": "8.1.8"},
    "2.3.3": {"werkzeug": "2.3.8", "jinja2": "3.1.6", "itsdangerous": "2.2.0", "markupsafe": "2.1.5", "click": "8.1.8"},
    "3.0.3": {"werkzeug": "3.0.6", "jinja2": "3.1.6", "itsdangerous": "2.2.0", "markupsafe": "3.0.4", "click": "8.1.8"},
    "3.1.3": {"werkzeug": "3.1.9", "jinja2": "3.1.6", "itsdangerous": "2.2.0", "markupsafe": "3.0.4", "click": "8.5.1"},
}
PINS = {flask: {"flask": flask, **_COMMON, **deps} for flask, deps in PINS.items()}

nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def requirements(flask: str) -> list:
    return [f"{name}=={version}" for name, version in PINS[flask].items()]


def session_name(flask: str) -> str:
    return f"probe({flask})"


@nox.session(python=PYTHON, reuse_venv=True)
@nox.parametrize("flask", [nox.param(v, id=v) for v in PINS])
def probe(session: nox.Session, flask: str) -> None:
    """Install Flask ``flask`` and its era's dependencies (once), then run the conformance probe."""
    stamp = Path(session.virtualenv.location) / ".matrix-pins.json"
    wanted = {"requirements": requirements(flask), "python": PYTHON}
    if not stamp.exists() or json.loads(stamp.read_text() or "{}") != wanted:
        if stamp.exists():  # the pins changed: start from an empty environment, not on top of the old one
            stamp.unlink()
            frozen = session.run("python", "-m", "pip", "freeze", "--exclude-editable", silent=True)
            old = [line.split("==")[0] for line in frozen.splitlines() if "==" in line]
            if old:
                session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", *old, silent=True)
        session.install("--disable-pip-version-check", "--quiet", *wanted["requirements"])
        session.install("--disable-pip-version-check", "--quiet", "--no-deps", "-e", str(PROJECT))
        stamp.write_text(json.dumps(wanted))
    if not session.posargs:
        session.error("usage: nox -s 'probe(VERSION)' -- OUT.json [--variants a,b]")
    session.run("python", "-m", "harness.probe", *session.posargs, external=False)


# --------------------------------------------------------------------------------- make deploy
DEPLOY_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")  # pyproject.toml's classifiers
DEPLOY_BACKEND = "uv|virtualenv"  # uv where nox finds it (the project's .venv has it), else virtualenv


def _name(requirement: str) -> str:
    return re.split(r"[ =<>!;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def locked_requirements(session: nox.Session, replace: dict | None = None) -> list:
    """Every package uv.lock pins, with its environment marker (so one list serves every Python), less the
    project itself; the names in ``replace`` swapped for ``replace``'s versions."""
    uv = shutil.which("uv", path=str(PROJECT / ".venv" / "bin")) or shutil.which("uv")
    if uv is None:
        session.error("uv not found (make install puts it in .venv/bin)")
    text = session.run_install(uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--all-extras",
                               "--no-header", "--project", str(PROJECT), silent=True, external=True)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    replace = replace or {}
    return [line for line in lines if _name(line) not in replace] + [f"{k}=={v}" for k, v in replace.items()]


def install_once(session: nox.Session, requirements: list) -> None:
    """Install exactly ``requirements`` (no resolution: the lock already resolved them) unless the environment
    has them from an earlier run (a stamp file)."""
    stamp = Path(session.virtualenv.location) / ".deploy-requirements.json"
    if stamp.exists() and json.loads(stamp.read_text() or "[]") == requirements:
        return
    listing = Path(session.virtualenv.location) / "deploy-requirements.txt"
    listing.write_text("\n".join(requirements) + "\n")
    session.install("--no-deps", "-r", str(listing))
    stamp.write_text(json.dumps(requirements))


STAGES = {"request": "bench.request", "count": "bench.counts"}  # posargs[0] of request_python (default: request)


def run_request(session: nox.Session) -> None:
    """The whole-request stage here (``-- count``: the instruction counts, ``bench.counts``, under valgrind); it reads
    QUICK, VARIANTS, REQUEST_WORKERS, REQUEST_SECONDS, REQUEST_SEED and FLASK_IDIOMS_OUT from the environment, which
    nox passes on. The project is imported from its folder (PYTHONPATH; bench.counts' valgrind processes start in
    it), not installed."""
    args = list(session.posargs)
    stage = args.pop(0) if args and args[0] in STAGES else "request"
    session.run("python", "-m", STAGES[stage], *args, env={"PYTHONPATH": str(PROJECT)})


@nox.session(python=list(DEPLOY_PYTHONS), venv_backend=DEPLOY_BACKEND, reuse_venv=True)
def request_python(session: nox.Session) -> None:
    """The whole request in process on this Python, with the lock's versions for it."""
    install_once(session, locked_requirements(session))
    run_request(session)


@nox.session(python=PYTHON, venv_backend=DEPLOY_BACKEND, reuse_venv=True)
@nox.parametrize("flask", [nox.param(v, id=v) for v in PINS])
def request_flask(session: nox.Session, flask: str) -> None:
    """The whole request in process on Flask ``flask`` and its era's pins, everything else as locked."""
    install_once(session, locked_requirements(session, replace=PINS[flask]))
    run_request(session)
