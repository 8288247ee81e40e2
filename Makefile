# `make demo`: the offline demo (build, score with the baselines, evaluate) into out/demo. `make test`: `make lint`, the
# whole test suite (the real corpora required) and the installed-wheel check. Each creates .venv and installs
# what it needs; torch comes first, pinned, from the CPU wheel.
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out/demo
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_EVALUATE_OFFLINE=1

.PHONY: demo test test-fast test-min-versions check-wheel lint bench browser device-bundle corpora

# The raw corpora the tests read: $SOCIAL_RM_SOURCES, else ../shared/corpora, else .corpora, which `make corpora`
# fills from the pinned URLs (sha256-checked; a rerun resumes). Without a network it stops at once, saying so.
CORPORA ?= $(or $(SOCIAL_RM_SOURCES),$(wildcard ../shared/corpora),.corpora)
CORPORA_HOSTS := https://raw.githubusercontent.com/ https://github.com/

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

corpora:
	@if [ "$(CORPORA)" != ".corpora" ]; then echo "raw corpora: $(CORPORA)"; exit 0; fi; \
	python3 .ci/reachable $(CORPORA_HOSTS) || { echo "make: the tests need the raw corpora: set \
	SOCIAL_RM_SOURCES to a folder of them, put them at ../shared/corpora, or run 'make corpora' (social-rm \
	fetch-corpora --to .corpora) where $(CORPORA_HOSTS) can be reached" >&2; exit 1; }; \
	$(MAKE) -s $(VENV)/.installed && $(BIN)/social-rm fetch-corpora --to .corpora

test: corpora $(VENV)/.installed browser lint
	bash .ci/check-wheel
	SOCIAL_RM_SOURCES=$(abspath $(CORPORA)) SOCIAL_RM_REQUIRE_CORPORA=1 $(BIN)/python -m pytest -q
	$(MAKE) -s test-min-versions

# The declared minimum versions of torch, transformers and accelerate (pyproject.toml's `models` extra), installed
# into a fresh environment with pytest (pip picks the other packages to fit them), and the reward-model tests run
# there, with the packed engine's exactness tests (transformers 4 passes attention and masks its own way).
MIN_VERSIONS := $(shell sed -n 's/^models = \[\(.*\)\]/\1/p' pyproject.toml | tr -d '"' | tr ',' '\n' | \
	grep -E '^ *(torch|transformers|accelerate)>=' | sed 's/>=/==/' | tr -d ' ')
test-min-versions: corpora
	rm -rf .venv-min && python3 -m venv .venv-min
	.venv-min/bin/pip install --quiet --upgrade pip
	.venv-min/bin/pip install --quiet $(filter torch==%,$(MIN_VERSIONS))
	.venv-min/bin/pip install --quiet $(MIN_VERSIONS) pytest -e '.[models]'
	.venv-min/bin/python -c "import torch, transformers, accelerate; \
		print('minimum versions:', torch.__version__, transformers.__version__, accelerate.__version__)"
	SOCIAL_RM_SOURCES=$(abspath $(CORPORA)) SOCIAL_RM_REQUIRE_CORPORA=1 \
		.venv-min/bin/python -m pytest -q -p no:cacheprovider tests/test_model_cards.py tests/test_reward_models.py tests/test_generative.py \
		tests/test_engine.py

# Runs anywhere: the tests that need ../shared/corpora are skipped (and counted) when it is not there.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -m "not slow"

# The wheel on its own: built from this checkout, installed into a fresh virtual environment (base dependencies
# only) and run from outside the checkout.
check-wheel: $(VENV)/.installed
	bash .ci/check-wheel

# ruff, and the import graph of the package: no circles, no module over 400 lines (the tool comes with ../shared).
lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	[ ! -f ../shared/tools/import_graph.py ] || python3 ../shared/tools/import_graph.py . social_rm 400

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_metric.py --through-evaluate

# What benchmarks/bench_scoring.py needs on a lent GPU machine, which has torch and transformers but not datasets:
# the wheels of datasets (this environment's version), dill and multiprocess for its Python 3.12, and the full
# social-pairs. Carry `.device` there, then run the command printed at the end.
DEVICE_RUN := pip install --quiet --no-deps --target .device/site .device/wheels/*.whl && PYTHONPATH=.device/site:. \
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/bench_scoring.py --dataset .device/social-pairs \
	--config llama3-8b qwen3-0.6b --device cuda --time-pairs 4000 --repeats 1
device-bundle: $(VENV)/.installed
	rm -rf .device && mkdir -p .device/wheels
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
		-d .device/wheels "datasets==$$($(BIN)/python -c 'import datasets; print(datasets.__version__)')" dill multiprocess
	$(OFFLINE) $(BIN)/social-rm build --sources $${SOCIAL_RM_SOURCES:-../shared/corpora} --out .device/social-pairs
	@echo 'on the GPU machine (carry .device): $(DEVICE_RUN)'
