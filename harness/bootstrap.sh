#!/bin/sh
# make install: find a Python, get uv, and install exactly uv.lock into .venv/ (the Makefile's stamp rule).
#
#   sh harness/bootstrap.sh find-python   print the newest supported Python that runs
#   sh harness/bootstrap.sh install       build or update .venv/ (PYTHON= and VENV= as in the Makefile)
#
# Supported versions are pyproject.toml's "Programming Language :: Python :: 3.X" classifiers. For each,
# newest first, every python3.X on PATH is tried (not only the first: a pyenv shim of a version that is
# not selected is on PATH but fails, and may hide a working one behind it), then pyenv's installs
# ($PYENV_ROOT/versions/3.X.*), newest patch first. A candidate counts only if it runs and says it is 3.X.
# Then every python3 on PATH, if it runs as a supported version. SEARCH_PATH replaces PATH for that search
# (the tests use it).
#
# uv: .venv/bin/uv (the version uv.lock pins, once installed), else uv on PATH, else the pinned version
# installed with pip into a new .venv/ made by the chosen Python's venv module. `uv sync --locked` then
# installs the lock and fails if it no longer matches pyproject.toml (run `make lock` after changing a pin).
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-}
case $PYTHON in "~/"*) PYTHON="$HOME/${PYTHON#"~/"}" ;; esac
STAMP="$VENV/.installed"
if command -v timeout >/dev/null 2>&1; then LIMIT="timeout 20"; else LIMIT=""; fi

die() { echo "error: $*" >&2; exit 2; }

supported() {
    sed -n 's/.*"Programming Language :: Python :: \(3\.[0-9][0-9]*\)".*/\1/p' pyproject.toml | sort -t. -k2,2nr
}

# The X.Y that a command runs as; nothing if it does not run.
runs_as() {
    $LIMIT "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

# An interpreter's identity: its base installation and exact build (the same for a venv and its base).
identity() {
    $LIMIT "$1" -c 'import os, sys; print(os.path.realpath(sys.base_prefix), sys.version)' 2>/dev/null || true
}

is_supported() {
    [ -n "$1" ] && supported | grep -qx "$(echo "$1" | sed 's/\./\\./')"
}

found=""
tried=""
# try CANDIDATE [X.Y]: found=CANDIDATE if it runs as X.Y (as any supported version when no X.Y is given).
try() {
    [ -f "$1" ] && [ -x "$1" ] || return 1
    runs=$(runs_as "$1")
    if [ -n "$runs" ] && { [ "$runs" = "${2:-}" ] || { [ -z "${2:-}" ] && is_supported "$runs"; }; }; then
        found=$1
        return 0
    fi
    tried="$tried $1 (${runs:-does not run})"
    return 1
}

# try_on_path NAME [X.Y]: try every NAME on the search path, in order.
try_on_path() {
    set -f
    old_ifs=$IFS
    IFS=:
    for dir in ${SEARCH_PATH-$PATH}; do
        IFS=$old_ifs
        if try "${dir:-.}/$1" "${2:-}"; then
            set +f
            return 0
        fi
    done
    IFS=$old_ifs
    set +f
    return 1
}

find_python() {
    pyenv="${PYENV_ROOT:-$HOME/.pyenv}/versions"
    for version in $(supported); do
        try_on_path "python$version" "$version" && { echo "$found"; return 0; }
        for candidate in $(for path in "$pyenv/$version".*/bin/python"$version"; do
                               [ -x "$path" ] || continue
                               release=${path%/bin/*}
                               echo "${release##*.} $path"
                           done | sort -nr | cut -d' ' -f2-); do
            try "$candidate" "$version" && { echo "$found"; return 0; }
        done
    done
    try_on_path python3 && { echo "$found"; return 0; }
    versions=$(supported | sed 's/^/python/' | tr '\n' ' ')
    echo "error: no supported Python that runs was found (${versions% }, on PATH or in $pyenv, then python3 on" \
         "PATH; tried:${tried:- nothing}): install one, or set PYTHON=/path/to/python3.X" >&2
    return 1
}

locked_version() {
    awk -v want="\"$1\"" '/^\[\[package\]\]/ { name = "" } /^name = / { name = $3 }
                          /^version = / && name == want { gsub(/"/, "", $3); print $3; exit }' uv.lock
}

kept_uv=""
keep_uv() {
    if [ -x "$VENV/bin/uv" ] && "$VENV/bin/uv" --version >/dev/null 2>&1; then
        kept_uv="$(mktemp -d)/uv"
        cp "$VENV/bin/uv" "$kept_uv"
        trap 'rm -rf "$(dirname "$kept_uv")"' EXIT
    fi
}

up_to_date() {
    [ -f "$STAMP" ] && [ ! pyproject.toml -nt "$STAMP" ] && [ ! uv.lock -nt "$STAMP" ]
}

install() {
    [ -f uv.lock ] || die "uv.lock not found: run \`make lock\` to generate it from pyproject.toml"
    # --compile-bytecode: every module compiled once here, not by the first process to import it (a fresh
    # clone's first valgrind and load-test runs spent ~25 s each compiling, under valgrind 2x slower)
    set -- sync --locked --extra dev --compile-bytecode
    if [ -n "$PYTHON" ]; then
        version=$(runs_as "$PYTHON")
        [ -n "$version" ] || die "PYTHON=$PYTHON does not run"
        is_supported "$version" || die "PYTHON=$PYTHON is Python $version; supported:" \
            "$(supported | tr '\n' ' ')(pyproject.toml's classifiers)"
        if [ -x "$VENV/bin/python" ] && [ "$(identity "$VENV/bin/python")" != "$(identity "$PYTHON")" ]; then
            echo "$VENV/ was built with another interpreter ($(runs_as "$VENV/bin/python" || true)); rebuilding it with $PYTHON"
            keep_uv  # the pinned uv is one static binary: it builds the new .venv/ (and is installed there again)
            rm -rf "$VENV"
        elif up_to_date; then
            return 0
        fi
        python=$PYTHON
        set -- "$@" --python "$PYTHON"
    elif [ -x "$VENV/bin/python" ] && is_supported "$(runs_as "$VENV/bin/python")"; then
        python="$VENV/bin/python"  # keep the interpreter .venv/ was built with
    else
        [ ! -e "$VENV" ] || { echo "$VENV/ has no supported Python that runs; rebuilding it"; rm -rf "$VENV"; }
        python=$(find_python) || exit 2
        echo "using $python (Python $(runs_as "$python")), the newest supported Python found; PYTHON=... picks another"
        set -- "$@" --python "$python"
    fi

    if [ -n "$kept_uv" ]; then
        uv=$kept_uv
    elif [ -x "$VENV/bin/uv" ] && "$VENV/bin/uv" --version >/dev/null 2>&1; then
        uv="$VENV/bin/uv"
    elif command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
        uv=uv
    else
        pinned=$(locked_version uv)
        [ -n "$pinned" ] || die "uv is not pinned in uv.lock (it belongs in pyproject.toml's dev dependencies)"
        echo "uv not found: installing uv $pinned (the version uv.lock pins) into $VENV/ with pip"
        [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" \
            || die "$python -m venv failed (on Debian: apt-get install python3-venv; or install uv)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$pinned"
        uv="$VENV/bin/uv"
    fi
    # --locked: install uv.lock as it is, and fail if it no longer matches pyproject.toml.
    UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never "$uv" "$@" \
        || die "uv sync failed (above); if uv.lock no longer matches the pins in pyproject.toml, run \`make lock\`"
    touch "$STAMP"
}

case ${1:-} in
    find-python) find_python ;;
    install) install ;;
    *) echo "usage: sh harness/bootstrap.sh find-python | install" >&2; exit 2 ;;
esac
