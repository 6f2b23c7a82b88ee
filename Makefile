# The project's two entry points: `make test` (what CI runs) and the tools it needs.
# Everything lands in .venv; a second run reuses what is installed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test lint bench-sandbox clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

test: $(VENV)/.installed
	$(PY) -m ruff check rewardsmith tests benchmarks
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(PY) -m ruff check rewardsmith tests benchmarks

bench-sandbox: $(VENV)/.installed
	$(PY) benchmarks/sandbox_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
