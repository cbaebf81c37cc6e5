# Settable on the command line: make bench QUICK=1 VARIANTS=jsonify_tuple,dict_return
PYTHON ?= python3.11
VENV ?= .venv
QUICK ?=
VARIANTS ?=
export QUICK VARIANTS

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help  ## list the targets
help:
	@echo "usage: make TARGET [QUICK=1] [VARIANTS=a,b]"
	@grep -hE '^\.PHONY: [a-z-]+ +## ' $(MAKEFILE_LIST) | sed -E 's/^\.PHONY: ([a-z-]+) +## (.*)/  \1|\2/' | column -t -s '|'

# The virtual environment, rebuilt only when the pinned dependencies change.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or set PYTHON=..." >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

.PHONY: install  ## create .venv/ with the pinned dependencies
install: $(STAMP)

.PHONY: test  ## run the test suite (correctness, auth, properties, gunicorn on the wire, benchmark smoke runs)
test: $(STAMP)
	$(BIN)/python -m pytest

.PHONY: verify  ## check every variant against the contract; write reports/out/conformance.json
verify: $(STAMP)
	$(BIN)/python -m harness.conformance

.PHONY: bench  ## the main job: verify, microbenchmarks, load tests, report in reports/out/REPORT.md (QUICK=1 for a fast pass)
bench: $(STAMP)
	$(BIN)/python -m harness.pipeline

.PHONY: micro  ## microbenchmarks only: micro.json (interleaved) and pytest_benchmark.json (QUICK=1)
micro: $(STAMP)
	$(BIN)/python -m bench.micro
	$(BIN)/python -m bench.pytest_benchmark_run

.PHONY: load  ## HTTP load tests only: locust against gunicorn, reports/out/load.json (QUICK=1)
load: $(STAMP)
	$(BIN)/python -m loadtests.run

.PHONY: matrix  ## conformance across Flask releases (nox, one venv per version): reports/out/compat.json
matrix: $(STAMP)
	$(BIN)/python -m harness.matrix

.PHONY: report  ## render reports/out/REPORT.md, report.html and charts/ from the results there
report: $(STAMP)
	$(BIN)/python -m reports.render

.PHONY: publish  ## copy a full run's report and raw data into reports/published/ (committed; refuses a quick run)
publish: $(STAMP)
	$(BIN)/python -m reports.publish

.PHONY: clean  ## remove generated results (reports/out/) and caches; keeps .venv/
clean:
	rm -rf reports/out .pytest_cache .hypothesis .benchmarks

.PHONY: distclean  ## clean, and remove .venv/ and .nox/
distclean: clean
	rm -rf $(VENV) .nox
