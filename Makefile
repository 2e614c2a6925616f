# rnn-course: one entry point for readers, students, instructors and CI.
#   make serve   build the book (executing every chapter), in English and Korean, and serve both on http://127.0.0.1:8000
#   make test    run every check (builds the book first)
#   make hub     run the course in a local JupyterHub on http://127.0.0.1:8010 (Ctrl-C stops it)
# All three create the virtual environment (.venv) on first use. Also: make book, make page PAGE=03_lstm
# (one chapter alone), make translations (the Korean catalogues, after English text changed),
# make experiments (chapter 5's study), make exercises, make student-dist, make test-fast, make lint, make clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
HUB_PORT ?= 8010
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := book/_static/mathjax
ASSIGNMENTS := $(notdir $(wildcard solutions/*))
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The venv's tools first (nbgrader calls `alembic` by name).
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help venv sysdeps book page serve test test-fast exercises student-dist lint clean hub experiments translations

help:
	@sed -n '1,7p' Makefile | sed 's/^# \{0,1\}//'

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "==> creating $(VENV) and installing requirements (about 2 minutes the first time)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --progress-bar off -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip check
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (rnn-course)" >/dev/null
	touch $@

# MathJax is served with the site (readers may be offline): taken from the npm registry at build time.
$(MATHJAX_DIR)/tex-chtml.js:
	@echo "==> fetching MathJax $(MATHJAX_VERSION) from the npm registry into $(MATHJAX_DIR)"
	rm -rf $(MATHJAX_DIR) .cache/npm-mathjax && mkdir -p .cache/npm-mathjax $(dir $(MATHJAX_DIR))
	cd .cache/npm-mathjax && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	cp -r .cache/npm-mathjax/package/es5 $(MATHJAX_DIR)
	rm -rf .cache/npm-mathjax

BOOK_BUILD := RNNCOURSE_BUILD=1 $(BIN)/jupyter-book build --all -W --keep-going .
book: venv $(MATHJAX_DIR)/tex-chtml.js
	@echo "==> building the book (every chapter is executed; cached outputs are reused when unchanged)"
	@mkdir -p _build
	@# The log is long; when the build fails, its warnings and the failed cells' reports are repeated
	@# at the end, where a CI log's tail shows them.
	@echo "$(BOOK_BUILD)   (log: _build/book-build.log)"
	@$(BOOK_BUILD) 2>&1 | tee _build/book-build.log; \
	status=$${PIPESTATUS[0]}; \
	if [ $$status -ne 0 ]; then \
	  echo "==> the book build failed (exit $$status); its warnings and errors, from _build/book-build.log:"; \
	  sed 's/\x1b\[[0-9;]*m//g' _build/book-build.log | grep -E "WARNING|ERROR|Error" | head -40; \
	  for f in _build/html/reports/*.log _build/html/reports/*/*.log; do \
	    [ -f "$$f" ] && { echo "==> $$f (last 30 lines)"; tail -30 "$$f" | sed 's/\x1b\[[0-9;]*m//g'; }; \
	  done; \
	  exit $$status; \
	fi
	@echo "==> building the Korean edition into _build/html/ko (from the same execution cache: nothing runs again)"
	$(PY) tools/i18n.py build ko

# After the English text changed: extract the messages again and merge them into the Korean
# catalogues (locale/ko/LC_MESSAGES/book/*.po): changed ones become fuzzy, new ones empty. Then
# translate them (`python tools/i18n.py todo ko 03_lstm` lists what is left); tests fail until done.
translations: venv
	$(PY) tools/i18n.py update ko

# One page alone, while writing it: `make page PAGE=03_lstm` builds the landing page and that page
# into _build/page-03_lstm/_build/html (its own execution cache; links to other chapters only warn).
page: venv $(MATHJAX_DIR)/tex-chtml.js
	@test -n "$(PAGE)" || { echo "usage: make page PAGE=03_lstm"; exit 2; }
	@mkdir -p _build && printf 'format: jb-book\nroot: book/intro\nchapters:\n  - file: book/$(PAGE)\n' > _build/toc-$(PAGE).yml
	RNNCOURSE_BUILD=1 $(BIN)/jupyter-book build . --toc _build/toc-$(PAGE).yml --path-output _build/page-$(PAGE)

# Studies too long for a page (chapter 5's seq2seq study: about 210 CPU minutes, about 105 on 2 quiet cores): each script
# writes a small JSON file under book/results/ that its chapter reads, plots and asserts on.
experiments: venv
	nice -n 10 $(PY) book/seq2seq_study.py

serve: book
	@echo "==> serving _build/html on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

# Regenerate the student notebooks from the nbgrader sources (never edit exercises/ by hand).
exercises: venv
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment "$$a" --force --no-db --log-level=WARN || exit 1; done

# The student distribution (released notebooks, the student-safe package, environment, README; no
# solutions): push $(STUDENT_DIST) to the students' repository that the launch buttons clone.
STUDENT_DIST ?= _build/student
student-dist: exercises
	$(PY) tools/student_dist.py --out $(STUDENT_DIST)

# System packages the tests need: bubblewrap (the grader's sandbox), chromium (browser tests). Installed with apt-get when
# run as root (CI, containers); otherwise the command to run is printed.
SYSTEM_PACKAGES := bwrap:bubblewrap chromium:chromium
sysdeps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> installing system packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (install them, e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

test: sysdeps book
	$(BIN)/pytest

# The tests that do not need the built book.
test-fast: venv
	$(BIN)/pytest -m "not book"

# The course in a real JupyterHub on 127.0.0.1: an instructor and students, nbgrader's exchange,
# the assignments released. Accounts are printed at start; the state lives in .hub/.
hub: venv
	$(PY) hub/run_hub.py --port $(HUB_PORT)

lint: venv
	$(BIN)/ruff check autograder tests tools hub benchmarks book

clean:
	rm -rf _build .jupyter_cache .pytest_cache $(MATHJAX_DIR) .course-state .hub gradebook.db
