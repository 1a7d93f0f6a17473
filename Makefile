# The single entry point for developer tasks. Every target sets up what it needs itself
# (idempotently), so `make demo` and `make test` work on a fresh machine with only
# Python 3.10+, make and the package registries.

PYTHON ?= python3
UV_VERSION := 0.13.9

ROOT := $(CURDIR)
TOOLS := $(ROOT)/.tools
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
UV := $(TOOLS)/bin/uv

# Keep every cache, log and temporary file inside the checkout.
export UV_CACHE_DIR ?= $(ROOT)/.cache/uv
export UV_COMPILE_BYTECODE ?= 1
export UV_SYSTEM_CERTS := 1
export XDG_CACHE_HOME := $(ROOT)/.cache
export XDG_STATE_HOME := $(ROOT)/.local/state
export XDG_DATA_HOME := $(ROOT)/.local/share
export MELTANO_CLI_DISABLE_VERSION_CHECK := true
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export HYPOTHESIS_STORAGE_DIRECTORY := $(ROOT)/.cache/hypothesis
# uv ignores pip.conf; behind a TLS-intercepting proxy it needs the system CA bundle.
SYSTEM_CA := $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt))
ifneq ($(SYSTEM_CA),)
export SSL_CERT_FILE ?= $(SYSTEM_CA)
endif

PACKAGES := hubspot-gather-common tap-hubspot-gather target-gather emulators orchestration
PACKAGE_SOURCES := hubspot-gather-common/hubspot_gather_common tap-hubspot-gather/tap_hubspot_gather \
	target-gather/target_gather emulators/emulators \
	orchestration/hubspot_gather_orchestration
PYTEST_ARGS ?=
# The browser test (tests/connect/test_browser.py) drives Debian's Chromium with Playwright.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM_PATH := $(CHROMIUM)

.PHONY: help install chromium postgresql demo orchestrate-demo test test-matrix lint format readme definitions build bench bench-smoke lock clean

help:  ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: $(UV) requirements/dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements/dev.txt \
		$(addprefix -e ./,$(PACKAGES))
	touch $@

.meltano/.installed: $(VENV)/.installed meltano.yml $(wildcard plugins/*/*.lock)
	$(BIN)/meltano install
	touch $@

install: .meltano/.installed  ## Build the dev environment (.venv) and the Meltano plugins

chromium:  ## Install Debian's chromium for the browser test when it is missing (needs root)
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make: installing Debian's chromium for the browser test (about a minute)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  log=$$(mktemp); \
	  { apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } >"$$log" 2>&1 \
	  || { cat "$$log" >&2; rm -f "$$log"; echo "make: apt-get could not install chromium" >&2; \
	       exit 1; }; \
	  rm -f "$$log"; \
	else \
	  echo "make: $(CHROMIUM) is missing and the browser test needs it: install Debian's" \
	    "chromium package (sudo apt-get install chromium), or set CHROMIUM=/path/to/chromium" >&2; \
	  exit 1; \
	fi

postgresql:  ## Install Debian's postgresql for the tests that start a real server (needs root)
	@if [ -n "$$PG_BINDIR" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || command -v initdb >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make: installing Debian's postgresql for the database tests (about a minute)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  log=$$(mktemp); \
	  { apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends postgresql; } >"$$log" 2>&1 \
	  || { cat "$$log" >&2; rm -f "$$log"; echo "make: apt-get could not install postgresql" >&2; \
	       exit 1; }; \
	  rm -f "$$log"; \
	else \
	  echo "make: PostgreSQL's server binaries are missing and the database tests need them:" \
	    "install Debian's postgresql package (sudo apt-get install postgresql), or set" \
	    "PG_BINDIR=/path/to/postgresql/bin" >&2; \
	  exit 1; \
	fi

demo: install  ## Run the main job against the local emulators with sample data
	$(BIN)/python scripts/demo.py

orchestrate-demo: install  ## Three tenants through the Dagster job on emulators (UI=1: then the Dagster UI)
	$(BIN)/python orchestration/demo.py

test: install chromium postgresql  ## Run the whole test suite
	@# Two passes: most tests on two workers, then the ones running Meltano one at a time (they
	@# share .meltano/run/). pytest exits 5 when a pass collected nothing: fine for one pass
	@# (PYTEST_ARGS may select a subset), a broken suite when both did.
	@$(BIN)/pytest -n 2 -m "not meltano" $(PYTEST_ARGS); first=$$?; \
	$(BIN)/pytest -m meltano $(PYTEST_ARGS); second=$$?; \
	if [ $$first -eq 5 ] && [ $$second -eq 5 ]; then \
	  echo "make test: pytest collected no tests; the suite must never be empty" >&2; exit 5; fi; \
	for rc in $$first $$second; do \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi; done

lint: $(VENV)/.installed  ## ruff (lint + format check) and mypy on every package
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGE_SOURCES)

format: $(VENV)/.installed  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

readme: $(VENV)/.installed  ## Regenerate the plugin READMEs' settings tables from --about
	$(BIN)/python scripts/sync_readme_settings.py

definitions: $(VENV)/.installed  ## Rewrite plugins/*/*.lock from the plugins' meltano-hub.yml
	$(BIN)/python scripts/definitions.py

DIST ?= dist
build: $(UV)  ## Build both plugins' (and their shared package's) sdists and wheels into dist/ (DIST=...)
	$(UV) build --quiet --sdist --wheel --out-dir $(DIST) hubspot-gather-common
	$(UV) build --quiet --sdist --wheel --out-dir $(DIST) tap-hubspot-gather
	$(UV) build --quiet --sdist --wheel --out-dir $(DIST) target-gather
	@ls -1 $(DIST)

test-matrix: $(UV)  ## Run the non-Meltano tests on every Python 3.10-3.13 found here
	MATRIX_PACKAGES="$(PACKAGES)" $(TOOLS)/bin/python scripts/test_matrix.py

bench: install  ## Run the benchmarks and write bench/RESULTS.md
	$(BIN)/python -m bench

bench-smoke: install  ## A seconds-long run of the benchmarks, to keep them working
	$(BIN)/python -m bench --smoke

lock: $(UV)  ## Re-pin requirements/dev.txt from requirements/dev.in
	$(UV) pip compile --quiet requirements/dev.in --python-version 3.10 -o requirements/dev.txt

clean:  ## Remove environments, caches and run artefacts
	rm -rf $(VENV) $(TOOLS) .cache .local .meltano output .emulators
