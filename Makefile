# make demo: set everything up and run the main job on the example profile.
# make test: set everything up, run the linters and every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3-venv zim-tools kiwix-tools debootstrap systemd-container dpkg-dev \
	rsync openssh-client zstd iproute2 ethtool chromium e2fsprogs libfaketime qemu-user-static
PROFILE ?= examples/profiles/eastern-chad.yaml
# Raspberry Pi centres of the demo that get an emulated arm64 server (the others run on
# this machine's architecture): each emulated one adds minutes. EMULATED= emulates them all.
EMULATED ?= 1

.PHONY: demo test lint setup apt bundles clean

demo: setup
	$(BIN)/lpdeploy profile validate $(PROFILE)
	$(BIN)/lpdeploy catalog list
	$(BIN)/lpdeploy rehearse $(PROFILE) $(if $(EMULATED),--emulated $(EMULATED))

# Rebuild the sample bundles whose sources changed, signed with the demo key (ZIMs need
# zim-tools; Kolibri channels need Kolibri, installed once under $LPDEPLOY_HOME, and chromium).
bundles: setup
	$(BIN)/python tools/build_bundles.py

test: setup lint
	NO_COLOR=1 $(BIN)/pytest -q -n 3

lint: setup
	$(BIN)/ruff check lpdeploy tests bench tools
	$(BIN)/ruff format --check lpdeploy tests bench tools
	$(BIN)/mypy lpdeploy tests bench tools
	ANSIBLE_LIBRARY=playbooks/library $(BIN)/ansible-lint --profile production playbooks/

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
