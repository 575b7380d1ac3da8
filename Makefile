# The two set-up commands (see README): `make run` and `make test`.
# Each creates or updates the virtual environment in .venv itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint browser bench bench-intake bench-diacritics bench-pipeline bench-classifier clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(VENV)/bin/vimod dev

test: $(STAMP) lint browser
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests drive the system Chromium (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "install chromium (apt-get install chromium) for the browser tests"; fi; }

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
