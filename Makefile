# The two set-up commands (see README): `make run` and `make test`.
# Each creates or updates the virtual environment in .venv itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint translations browser bench bench-intake bench-diacritics bench-pipeline bench-classifier bench-news-dev bench-retrain bench-public bench-keyboard clean

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

# Interface strings (Flask-Babel): English msgids, Vietnamese catalog. Extract the marked
# strings, merge them into the .po (then translate new/fuzzy entries), compile the .mo;
# commit both. tests/test_i18n.py fails when the .mo is stale or a string is untranslated.
I18N := service/translations
translations: $(STAMP)
	mkdir -p $(I18N)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file \
	  --sort-output --project vimod --version 1 -o $(I18N)/messages.pot .
	$(VENV)/bin/pybabel update -i $(I18N)/messages.pot -d $(I18N) -l vi --init-missing \
	  --ignore-obsolete
	$(VENV)/bin/pybabel compile -d $(I18N) -l vi --statistics
	rm -f $(I18N)/messages.pot

bench: bench-intake bench-diacritics bench-pipeline bench-classifier

bench-intake: $(STAMP)
	$(PY) benchmarks/intake.py

bench-diacritics: $(STAMP)
	$(PY) benchmarks/diacritics.py

bench-pipeline: $(STAMP)
	$(PY) benchmarks/pipeline.py

bench-classifier: $(STAMP)
	$(PY) benchmarks/classifier.py

# The shipped model through the pipeline's phases on models/classifier/eval/news_dev.csv
# (hand-written news comments, never trained on): per-class F1, confusion, clean flagged.
bench-news-dev: $(STAMP)
	$(PY) benchmarks/news_dev.py

# Retraining on 50,000 examples (needs the base data, ../shared/data/comments or --data)
# while the intake and the review queue are under load.
bench-retrain: $(STAMP)
	$(PY) benchmarks/retrain.py

# The reader API (published comments, counts, CAPTCHA) under a 100,000-comment backlog.
bench-public: $(STAMP)
	$(PY) benchmarks/public_read.py

# A moderator clears 50 mixed real comments from the keyboard in Chromium: keys and server
# time per decision, beside a whole page as before the workspace.
bench-keyboard: $(STAMP) browser
	$(PY) benchmarks/keyboard_loop.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
