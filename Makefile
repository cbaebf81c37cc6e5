# Settable on the command line: make bench QUICK=1 VARIANTS=jsonify_tuple,dict_return STAGES=verify,load
# PYTHON: the interpreter .venv/ is built with; empty: the newest supported one that runs (harness/bootstrap.sh).
PYTHON ?=
VENV ?= .venv
QUICK ?=
VARIANTS ?=
PAYLOADS ?=
STAGES ?=
BASE ?= reports/published
export QUICK VARIANTS PAYLOADS STAGES

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help  ## list the targets
help:
	@echo "usage: make TARGET [QUICK=1] [VARIANTS=a,b]"
	@grep -hE '^\.PHONY: [a-z-]+ +## ' $(MAKEFILE_LIST) | sed -E 's/^\.PHONY: ([a-z-]+) +## (.*)/  \1|\2/' | column -t -s '|'

# The virtual environment: exactly uv.lock, updated only when the pins change (and rebuilt when PYTHON= names
# another interpreter than the one it has: the script checks that, so it runs whenever PYTHON is given).
$(STAMP): pyproject.toml uv.lock $(if $(strip $(PYTHON)),FORCE)
	@PYTHON='$(PYTHON)' VENV='$(VENV)' sh harness/bootstrap.sh install

.PHONY: FORCE
FORCE:

.PHONY: install  ## create .venv/ with exactly the locked versions (uv.lock); PYTHON=/path/to/python3.X picks the interpreter
install: $(STAMP)

.PHONY: lock  ## regenerate uv.lock after changing a pin in pyproject.toml (make install refuses a lock that does not match)
lock:
	$(if $(wildcard $(BIN)/uv),$(BIN)/uv,uv) lock

# make test's worker processes (pytest-xdist): one per core by default; a file's tests run in one worker, so its
# module fixtures (the real short load runs) run once. TEST_JOBS=0: every test in this process.
TEST_JOBS ?= auto

.PHONY: test  ## run the test suite (correctness, auth, properties, gunicorn on the wire, benchmark smoke runs; TEST_JOBS=N)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

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

.PHONY: request  ## the whole request in process per status class against jsonify_tuple: reports/out/request.json (QUICK=1; a stage of bench)
request: $(STAMP)
	$(BIN)/python -m bench.request

.PHONY: payloads  ## what each idiom makes of a payload corpus and its cost from 100 B to 1 MB: reports/out/payloads.json (QUICK=1, PAYLOADS=file-or-folder; a stage of bench)
payloads: $(STAMP)
	$(BIN)/python -m bench.payload_cost

.PHONY: load  ## HTTP load tests only: locust against gunicorn, reports/out/load.json (QUICK=1)
load: $(STAMP)
	$(BIN)/python -m loadtests.run

.PHONY: payloads-http  ## every idiom's payload app over HTTP at 1 KB and 100 KB (LOAD_PAYLOADS=a,b; ~3 min, not part of bench): reports/out/load_payloads.json, the Δ copied into payloads.json
payloads-http: $(STAMP)
	$(BIN)/python -m loadtests.payloads_http

.PHONY: count  ## instructions and allocations per request under valgrind (a stage of bench): reports/out/counts.json (QUICK=1)
count: $(STAMP)
	$(BIN)/python -m bench.counts

.PHONY: matrix  ## conformance across Flask releases (nox, one venv per version): reports/out/compat.json
matrix: $(STAMP)
	$(BIN)/python -m harness.matrix

.PHONY: deploy  ## does the answer hold under other servers, Pythons, Flask releases? reports/out/deploy.json (QUICK=1: ~5 min)
deploy: $(STAMP)
	$(BIN)/python -m bench.deploy

.PHONY: report  ## render reports/out/REPORT.md, report.html and charts/ from the results there
report: $(STAMP)
	$(BIN)/python -m reports.render

.PHONY: publish  ## copy a full run's report and raw data into reports/published/ (committed; refuses a quick run)
publish: $(STAMP)
	$(BIN)/python -m reports.publish

.PHONY: compare  ## compare reports/out with another run (BASE=folder with summary.json, default reports/published); exit 1 on a regression
compare: $(STAMP)
	$(BIN)/python -m reports.compare --base $(BASE)

.PHONY: clean  ## remove generated results (reports/out/) and caches; keeps .venv/
clean:
	rm -rf reports/out .pytest_cache .hypothesis .benchmarks

.PHONY: distclean  ## clean, and remove .venv/ and .nox/
distclean: clean
	rm -rf $(VENV) .nox
