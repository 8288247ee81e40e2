# `make demo`: the offline demo (build, score with the baselines, evaluate). `make test`: the test suite.
# Each creates .venv and installs what it needs; torch comes first, pinned, from the CPU wheel.
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_EVALUATE_OFFLINE=1

.PHONY: demo test test-fast lint bench browser

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,models,leaderboard]'
	touch $@

demo: $(VENV)/.installed
	$(OFFLINE) $(BIN)/social-rm run --out $(OUT)

# The browser tests drive Debian's Chromium through its ChromeDriver (automation libraries' own browser
# downloads cannot be reached here).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: $(VENV)/.installed browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_metric.py
