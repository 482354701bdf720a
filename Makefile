# regvarbench: the two commands are `make demo` and `make test`; both bootstrap what they need.
SHELL := /bin/bash
VENV := .venv
NEXTFLOW := $(VENV)/bin/nextflow
OUTDIR ?= results/demo
PYTEST_ARGS ?=

.PHONY: setup demo test test-unit test-pipeline stub lock clean

setup:
	scripts/setup

## Run the whole pipeline on the embedded synthetic benchmark (report included).
demo: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(NEXTFLOW) run . -profile test --outdir $(OUTDIR) -ansi-log false
	@echo
	@echo "Report: $(CURDIR)/$(OUTDIR)/report/index.html"

## Unit tests of the package plus pipeline tests that run nextflow.
test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-unit: setup
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

test-pipeline: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m pytest tests/pipeline $(PYTEST_ARGS)

## Regenerate constraints.txt from the current environment.
lock:
	(echo "# Exact versions installed by scripts/setup (pip -c). Regenerate with: make lock"; \
	 $(VENV)/bin/python -m pip freeze --exclude-editable | grep -v -e '^regvarbench' -e '^# Editable') > constraints.txt

clean:
	rm -rf work .nextflow .nextflow.log* results
