# The two set-up commands (see README): `make run` and `make test`.
# Each creates or updates the virtual environment in .venv itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench bench-intake bench-diacritics bench-pipeline bench-classifier clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(VENV)/bin/vimod dev

test: $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check service workers models tests benchmarks

bench: bench-intake bench-diacritics bench-pipeline bench-classifier

bench-intake: $(STAMP)
	$(PY) benchmarks/intake.py

bench-diacritics: $(STAMP)
	$(PY) benchmarks/diacritics.py

bench-pipeline: $(STAMP)
	$(PY) benchmarks/pipeline.py

bench-classifier: $(STAMP)
	$(PY) benchmarks/classifier.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
