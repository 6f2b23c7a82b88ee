# The project's entry points. Everything lands in .venv (and the model weights in
# ~/.cache/rewardsmith); a second run reuses what is installed.
#   make demo   the main job on the embedded local model (install, compile, save, reload, run)
#   make test   lint + the fast tests (scripted LM) + the real-model tests; what CI runs
#   make unit   the fast tests only;  make integration   the real-model tests only
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RS := $(VENV)/bin/rewardsmith
DEMO_DIR ?= runs/demo

.PHONY: test unit integration lint local-model demo bench-sandbox bench-prior-ceiling \
	bench-retrieval clean

$(VENV)/.installed: pyproject.toml
	@echo "[setup] creating $(VENV) and installing rewardsmith with its dev tools"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off -e ".[dev]"
	touch $@

local-model: $(VENV)/.installed
	$(PY) -m rewardsmith.lm.install

# The real-model tests run last: REWARDSMITH_REQUIRE_LOCAL_MODEL makes a missing model a failure.
test: lint unit integration

lint: $(VENV)/.installed
	$(PY) -m ruff check rewardsmith tests benchmarks

unit: $(VENV)/.installed
	$(PY) -m pytest -q -m "not integration"

integration: local-model
	REWARDSMITH_REQUIRE_LOCAL_MODEL=1 $(PY) -m pytest -q -m integration

demo: local-model
	@echo "[demo] 1/2 compile a RewardProgram by retrieval on the corpus's train tables (no LM call)"
	$(RS) compile --data corpus:train --optimizer retrieval --fit-sizes 20 \
		--rounds 1 --samples 1 --out $(DEMO_DIR)/program.json
	@echo "[demo] 2/2 reload it in a fresh process and write a reward function for aadb (unseen)"
	$(RS) run --program $(DEMO_DIR)/program.json --data aadb --fit-size 50 \
		--no-cache --out $(DEMO_DIR)/reward.py --report $(DEMO_DIR)/run.html
	@echo "[demo] files: $(DEMO_DIR)/program.json (compiled program), $(DEMO_DIR)/reward.py (function), $(DEMO_DIR)/run.html (the run as a page)"

bench-sandbox: $(VENV)/.installed
	$(PY) benchmarks/sandbox_speed.py

bench-prior-ceiling: $(VENV)/.installed
	$(PY) benchmarks/prior_ceiling.py

bench-retrieval: $(VENV)/.installed
	$(PY) benchmarks/retrieval_prior.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
