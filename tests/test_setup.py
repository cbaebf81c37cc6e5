"""Set-up: the interpreter finder (fake PATHs, failing shims), the install script's refusals, the lock against
pyproject.toml's pins, and the environment every result records. No network and no new virtual environment:
the real installs from a fresh copy are checked by hand (README, "Set-up")."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import pytest
from packaging.requirements import Requirement

from harness import environment
from harness.results import ROOT

BOOTSTRAP = ROOT / "harness" / "bootstrap.sh"
SUPPORTED = ["3.13", "3.12", "3.11", "3.10", "3.9"]  # pyproject.toml's classifiers, newest first


def fake(folder: Path, name: str, says: str | None) -> Path:
    """An executable ``name`` in ``folder`` that prints ``says`` (a version), or fails as a pyenv shim does."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    body = f"echo {says}" if says else f"echo 'pyenv: {name}: command not found' >&2; exit 127"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def find_python(tmp_path: Path, *dirs: Path, pyenv: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEARCH_PATH": os.pathsep.join(str(d) for d in dirs),
           "PYENV_ROOT": str(pyenv or tmp_path / "no-pyenv")}
    return subprocess.run(["sh", str(BOOTSTRAP), "find-python"], capture_output=True, text=True, env=env, timeout=60)


def test_the_supported_versions_are_pyprojects_classifiers():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classifiers = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3.")]
    assert sorted(classifiers, key=lambda v: -int(v.split(".")[1])) == SUPPORTED
    assert project["requires-python"] == f">={SUPPORTED[-1]}"


def test_a_failing_shim_is_not_found_and_the_newest_that_runs_is(tmp_path):
    shims, usr = tmp_path / "shims", tmp_path / "usr"
    fake(shims, "python3.13", None)
    fake(shims, "python3.12", None)
    working = fake(usr, "python3.12", "3.12")
    fake(usr, "python3.11", "3.11")
    done = find_python(tmp_path, shims, usr)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(working)


def test_a_working_interpreter_behind_a_failing_shim_of_the_same_version_is_found(tmp_path):
    fake(tmp_path / "shims", "python3.13", None)
    behind = fake(tmp_path / "local", "python3.13", "3.13")
    done = find_python(tmp_path, tmp_path / "shims", tmp_path / "local")
    assert done.stdout.strip() == str(behind)


def test_an_interpreter_that_is_not_the_version_its_name_says_does_not_count(tmp_path):
    fake(tmp_path / "bin", "python3.13", "3.11")
    real = fake(tmp_path / "bin", "python3.11", "3.11")
    assert find_python(tmp_path, tmp_path / "bin").stdout.strip() == str(real)


def test_pyenv_installs_are_found_newest_patch_first_after_path(tmp_path):
    pyenv = tmp_path / "pyenv"
    for release in ("3.13.0", "3.13.10", "3.13.9"):
        fake(pyenv / "versions" / release / "bin", "python3.13", "3.13")
    fake(pyenv / "versions" / "3.12.1" / "bin", "python3.12", "3.12")
    fake(tmp_path / "shims", "python3.13", None)
    done = find_python(tmp_path, tmp_path / "shims", pyenv=pyenv)
    assert done.stdout.strip() == str(pyenv / "versions" / "3.13.10" / "bin" / "python3.13")


def test_the_oldest_supported_version_is_found_when_it_is_the_only_one(tmp_path):
    fake(tmp_path / "shims", "python3.13", None)
    oldest = fake(tmp_path / "usr", "python3.9", "3.9")
    assert find_python(tmp_path, tmp_path / "shims", tmp_path / "usr").stdout.strip() == str(oldest)


def test_python3_is_tried_last_and_counts_if_it_is_a_supported_version(tmp_path):
    fake(tmp_path / "shims", "python3.12", None)
    fake(tmp_path / "shims", "python3", "3.8")  # too old: passed over for the next python3 on the path
    plain = fake(tmp_path / "usr", "python3", "3.10")
    done = find_python(tmp_path, tmp_path / "shims", tmp_path / "usr")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(plain)


def test_nothing_that_runs_is_one_line_naming_what_was_tried(tmp_path):
    shim = fake(tmp_path / "shims", "python3.12", None)
    old = fake(tmp_path / "old", "python3", "3.8")
    fake(tmp_path / "old", "python3.8", "3.8")  # not supported: not even tried
    done = find_python(tmp_path, tmp_path / "shims", tmp_path / "old")
    assert done.returncode == 1 and done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert f"{shim} (does not run)" in done.stderr and f"{old} (3.8)" in done.stderr
    assert "python3.8" not in done.stderr and "set PYTHON=" in done.stderr
    assert "python3.13 python3.12 python3.11 python3.10 python3.9" in done.stderr


@pytest.mark.parametrize("says, message", [(None, "does not run"), ("3.8", "is Python 3.8; supported: 3.13 3.12 3.11 3.10 3.9")])
def test_install_refuses_a_python_that_does_not_run_or_is_not_supported(tmp_path, says, message):
    """Refused before anything is touched: VENV points at a folder that must stay absent."""
    python = fake(tmp_path / "bin", "python3.8", says)
    venv = tmp_path / "venv"
    done = subprocess.run(["sh", str(BOOTSTRAP), "install"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": str(python), "VENV": str(venv)})
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: PYTHON={python} {message}") and len(done.stderr.splitlines()) == 1
    assert not venv.exists()


def test_make_install_rebuilds_only_for_changed_pins_or_a_named_interpreter():
    """The stamp depends on pyproject.toml and uv.lock; with PYTHON= the script always runs (it compares
    interpreters and returns at once when .venv/ has that one)."""
    def planned(*args):
        return subprocess.run(["make", "-n", "-C", str(ROOT), "install", *args], capture_output=True, text=True,
                              timeout=60).stdout

    assert "bootstrap.sh install" in planned("PYTHON=/some/python3.12", "VENV=/nonexistent/venv")
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): pyproject.toml uv.lock $(if $(strip $(PYTHON)),FORCE)" in makefile
    assert "\nPYTHON ?=\n" in makefile  # no interpreter named: the finder picks the newest


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed here (make install puts the pinned uv in .venv/)")
    return found


def test_the_lock_matches_the_pins_in_pyproject():
    done = subprocess.run([uv(), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_pin_changed_without_relocking_fails_the_check(tmp_path):
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"flask==3.1.3"', '"flask==3.1.2"'))
    done = subprocess.run([uv(), "lock", "--check", "--offline"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert (tmp_path / "uv.lock").read_bytes() == (ROOT / "uv.lock").read_bytes()  # --check never rewrites it


def locked() -> dict:
    """uv.lock's packages: name -> the versions it pins (one per Python fork)."""
    versions = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        versions.setdefault(package["name"], set()).add(package.get("version"))
    return versions


def pins() -> list:
    """pyproject.toml's direct dependencies, the app's and the harness's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_supported_python_gets_one_pin_of_each_package():
    """A package pinned twice (a newer release for new Pythons, the last that supports the old ones) has
    markers that split the supported versions between its pins; tomli is pinned only where tomllib is missing."""
    names = {environment.normalized(pin.name) for pin in pins()}
    for version in SUPPORTED:
        here = {"python_version": version, "python_full_version": f"{version}.0"}
        applying = [environment.normalized(pin.name) for pin in pins() if pin.marker is None or pin.marker.evaluate(here)]
        without_tomllib = int(version.split(".")[1]) < 11
        assert sorted(applying) == sorted(names if without_tomllib else names - {"tomli"}), version


def test_every_direct_pin_is_locked_at_that_version():
    """...and only at the versions pinned: one per pin, for the Pythons its marker names."""
    pinned = {}
    for pin in pins():
        (spec,) = pin.specifier
        assert spec.operator == "==", pin
        pinned.setdefault(environment.normalized(pin.name), set()).add(spec.version)
    lock = locked()
    for name, versions in pinned.items():
        assert lock[name] == versions, name


def test_the_environment_records_every_installed_distribution_and_the_locks_hash():
    env = environment.environment()
    packages = env["packages"]
    installed = {environment.normalized(d.metadata["Name"]) for d in metadata.distributions() if d.metadata["Name"]}
    assert set(packages) == installed and list(packages) == sorted(packages)
    assert packages["flask"] == metadata.version("flask") and packages["flask-login"] == metadata.version("Flask-Login")
    assert env["lock_sha256"] == hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    assert environment.lock_sha256(ROOT / "no-such.lock") is None


def test_the_installed_versions_are_the_locked_ones():
    """What make install built is the lock: every installed distribution at a version uv.lock pins (pip and
    setuptools aside: a venv made by the venv module seeds them, and uv sync removes them)."""
    lock = locked()
    others = {name: version for name, version in environment.installed_distributions().items()
              if name not in ("pip", "setuptools", "wheel") and version not in lock.get(name, ())}
    assert not others, f"installed but not at a locked version: {others} (run `make install`)"
