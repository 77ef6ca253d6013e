VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/watcher demo

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check watcher tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest

bench: $(VENV)/.installed-test
	$(PY) bench/detection.py
	$(PY) bench/poll_cycle.py

clean:
	rm -rf $(VENV) build *.egg-info
