# `make demo` and `make test` set everything up on a fresh Debian/Ubuntu machine (root, or a user with sudo).
VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_PACKAGES := prosody ngircd
TEST_PACKAGES := prosody prosody-modules ejabberd ngircd inspircd atheme-services openssl chromium chromium-driver
BENCH_PACKAGES := prosody ngircd biboumi
BENCH_STAMP := $(VENV)/.bench-installed
# make bench FULL=1 for the whole table; DB=postgresql+asyncpg://... for the gateway on PostgreSQL;
# WRITE=BENCHMARKS.md writes the report of the run there; BASELINE=<commit> measures that commit's gateway beside
# this one in the same run, REPEAT=3 runs the gateway's paths three times and reports medians.
FULL ?=
DB ?=
WRITE ?=
BASELINE ?=
REPEAT ?=
BENCH_ARGS := $(if $(FULL),--full) $(if $(DB),--database '$(DB)') $(if $(WRITE),--write '$(WRITE)') \
	$(if $(BASELINE),--baseline '$(BASELINE)') $(if $(REPEAT),--repeat '$(REPEAT)')
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest venv clean bench

demo: PACKAGES = $(DEMO_PACKAGES)
demo: system-packages $(STAMP)
	$(VENV)/bin/xmpp-gateway demo

test: PACKAGES = $(TEST_PACKAGES)
test: ejabberd-backports system-packages $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway migrations tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The tests spend most of their time waiting on the servers they start, so more workers than cores pay off; each
# worker starts its servers on ports of its own (tests/conftest.py), and a file's tests stay on one worker.
TEST_WORKERS ?= 4
pytest: $(STAMP)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

# Installs only what is missing; apt-get needs its lists once on a fresh machine.
.PHONY: system-packages
system-packages:
	@missing=""; \
	for p in $(PACKAGES); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -m venv --help >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Debian 12's ejabberd (23.01) grants roster access and then fails every privileged roster set
# (processone/ejabberd#3942); bookworm-backports carries 24.12, where the tests see names and groups pushed.
.PHONY: ejabberd-backports
ejabberd-backports:
	@. /etc/os-release; [ "$${VERSION_CODENAME:-}" = bookworm ] || exit 0; \
	have=$$(dpkg-query -W -f='$${db:Status-Status} $${Version}' ejabberd 2>/dev/null || true); \
	if [ "$${have%% *}" != installed ] || dpkg --compare-versions "$${have#* }" lt 23.10; then \
		echo "installing ejabberd from bookworm-backports"; \
		grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/ || \
			printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | \
			$(SUDO) tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq -t bookworm-backports ejabberd; \
	fi

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

# A benchmark, not a test: starts its own Prosody, ngircd, SMS sandbox, gateway and biboumi on loopback.
bench: PACKAGES = $(BENCH_PACKAGES)
bench: system-packages $(BENCH_STAMP)
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(VENV)/bin/python -m pip install -q -e '.[bench]'
	touch $@

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache

# The fuzz suite at full size: 10,000 inputs per boundary (make test runs 2,000). It prints one summary line per
# boundary (seed, inputs, crashes, unanswered IQs, cut streams, lost messages); FUZZ_SEED=N repeats a run.
.PHONY: fuzz
FUZZ_COUNT ?= 10000
fuzz: PACKAGES = prosody
fuzz: system-packages $(STAMP)
	FUZZ_COUNT=$(FUZZ_COUNT) $(VENV)/bin/pytest -s --show-capture=no tests/fuzz
