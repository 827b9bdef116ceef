# Every target sets itself up: a .venv with the project and its test tools, and,
# when run as root, the Debian packages systemd-python needs to build.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := libsystemd-dev pkg-config gcc
PYTEST_ARGS ?=
TEST_WORKERS ?= 2

.PHONY: all demo test test-slow lint format bench deb deb-all e2e clean debian-deps sandbox-test

all: test

debian-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "note: Debian packages$$missing are missing; systemd-python will not be built (run as root, or install them)"; \
	  fi; \
	fi

$(STAMP): pyproject.toml | debian-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@if pkg-config --exists libsystemd 2>/dev/null; then \
	  $(BIN)/pip install -q -e '.[systemd,test]'; \
	fi
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check daemon tests benchmarks
	$(BIN)/ruff format --check daemon tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix daemon tests benchmarks
	$(BIN)/ruff format daemon tests benchmarks

# Two passes: everything but the slow tests on $(TEST_WORKERS) xdist workers (an xdist_group stays
# on one worker), then, alone, the few tests marked serial (they change system-wide state:
# inotify sysctls). Exit code 5 ("no tests collected") of the serial pass is fine when
# PYTEST_ARGS selects none. test-slow runs the slow ones (the soak, kill -9 loops), printing
# the soak's figures (MAGGOT_SOAK_SECONDS sets its length, default 180).
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not serial and not slow" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m "serial and not slow" $(PYTEST_ARGS) || [ $$? = 5 ]

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -s -q $(PYTEST_ARGS)

# make demo REPOSITORIES=zenodo,dataverse: a Dataverse emulator beside Zenodo's, both deposited.
demo: $(STAMP)
	$(BIN)/python -m maggot_zenodo.demo $(if $(REPOSITORIES),--repositories $(REPOSITORIES))

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The client's contract test against https://sandbox.zenodo.org (needs a sandbox token).
sandbox-test: $(STAMP)
	@test -n "$$ZENODO_SANDBOX_TOKEN" || { echo "set ZENODO_SANDBOX_TOKEN to a sandbox.zenodo.org token"; exit 2; }
	$(BIN)/python -m pytest tests/zenodo/test_contract.py -s -v

# The Debian package, in dist/, built in a chroot of the release (root; debootstrap once per
# machine): MAGGOT_DEB_RELEASE=trixie (default) or bookworm, or host (this machine's python3,
# no chroot, no lintian). `make deb-all` builds both releases. See packaging/build-deb.sh.
deb:
	packaging/build-deb.sh --release $(or $(MAGGOT_DEB_RELEASE),trixie) dist

deb-all:
	packaging/build-deb.sh --release trixie dist
	packaging/build-deb.sh --release bookworm dist

# End to end under a real systemd in a systemd-nspawn container (root; SKIP otherwise), on
# MAGGOT_E2E_RELEASE (trixie by default) or each of MAGGOT_E2E_RELEASES="trixie bookworm".
e2e: $(STAMP)
	tests/e2e_systemd/run-e2e.sh

clean:
	rm -rf $(VENV) build dist *.egg-info demo-run bench-run
