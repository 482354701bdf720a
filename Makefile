# regvarbench: the two commands are `make demo` and `make test`; both bootstrap what they need.
SHELL := /bin/bash
VENV := .venv
NEXTFLOW := $(VENV)/bin/nextflow
OUTDIR ?= results/demo
PYTEST_ARGS ?=
## Nextflow's JVM with the client compiler only (no C2): a short run spends half the CPU starting up
## (`nextflow run . --help`: 26 -> 11 CPU-s, a -profile test stub run 56 -> 30, on 2 cores). For
## every nextflow the demo and the tests start; set NXF_OPTS yourself to change it (docs/usage.md).
NXF_OPTS ?= -XX:TieredStopAtLevel=1
export NXF_OPTS

.PHONY: setup setup-test demo lint test test-avx2 test-unit test-pipeline stub lock clean

## What the demo needs (bedtools, .venv, Nextflow); setup-test adds what only the tests use
## (the test extras; SLURM, Docker, Chromium as root with apt-get).
setup:
	scripts/setup

setup-test:
	scripts/setup --test

## Run the whole pipeline on the embedded synthetic benchmark (report included).
demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(NEXTFLOW) run . -profile test --outdir $(OUTDIR) -ansi-log false
	@echo
	@echo "Report: $(CURDIR)/$(OUTDIR)/report/index.html"

## ruff check (pyproject.toml [tool.ruff]: pyflakes and Python errors) on the package, tests and
## benchmarks; a finding fails `make test` before pytest starts. It never rewrites files.
lint: setup-test
	$(VENV)/bin/ruff check --no-cache src tests benchmarks

## Unit tests of the package plus pipeline tests that run nextflow.
## TEST_WORKERS processes (pytest-xdist), each taking whole test files, so that one pipeline run's
## waits (JVM start, polling, SLURM, Docker) overlap another's work; TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
test: setup-test lint
	OMP_WAIT_POLICY=PASSIVE PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not faults" $(PYTEST_ARGS)

## Fault tests (tests/pipeline/test_faults.py: killed tasks and driver, damaged files), kept out of
## `make test`'s 25-minute budget; CI runs them as a step of their own (.ci/run, docs/testing.md)
test-faults: setup-test
	OMP_WAIT_POLICY=PASSIVE PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest -m faults tests/pipeline/test_faults.py $(PYTEST_ARGS)

## The precision- and training-sensitive tests with torch dispatching as on an AVX2 CPU
## (ATEN_CPU_CAPABILITY=avx2): on an AVX-512/AMX machine this is the other kernel path; on an
## AVX2 machine the same one again. CI runs it after `make test`.
AVX2_TESTS := tests/unit/test_score.py tests/unit/test_cone.py tests/unit/test_windows.py \
	tests/unit/test_train.py tests/unit/test_trednet_keras.py tests/unit/test_models_hf.py tests/unit/test_sei_cone.py
test-avx2: setup-test
	ATEN_CPU_CAPABILITY=avx2 $(VENV)/bin/python -m pytest $(AVX2_TESTS) $(PYTEST_ARGS)

test-unit: setup-test
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

test-pipeline: setup-test
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest tests/pipeline $(PYTEST_ARGS)

## Regenerate constraints.txt from the current environment.
lock:
	(echo "# Exact versions installed by scripts/setup (pip -c). Regenerate with: make lock"; \
	 $(VENV)/bin/python -m pip freeze --exclude-editable | grep -v -e '^regvarbench' -e '^# Editable') > constraints.txt

clean:
	rm -rf work .nextflow .nextflow.log* results
