# make demo: set everything up and run the main job on the example profile.
# make test: set everything up, run the linters and every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3-venv zim-tools kiwix-tools
PROFILE ?= examples/profiles/coxs-bazar.yaml

.PHONY: demo test lint unit setup apt clean

demo: setup
	$(BIN)/lpdeploy profile validate $(PROFILE)
	$(BIN)/lpdeploy plan $(PROFILE) --catalog tests/fixtures/catalog.json --out build/demo-plan.json
	$(BIN)/lpdeploy plan show build/demo-plan.json

test: setup lint
	NO_COLOR=1 $(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check lpdeploy tests bench
	$(BIN)/ruff format --check lpdeploy tests bench
	$(BIN)/mypy lpdeploy tests bench

setup: apt $(VENV)/.installed

apt:
	@tools/apt-install $(APT_PACKAGES)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
