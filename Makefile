# `make demo` and `make test` set everything up on a fresh Debian/Ubuntu machine (root, or a user with sudo).
VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_PACKAGES := prosody ngircd
TEST_PACKAGES := prosody prosody-modules ejabberd ngircd inspircd atheme-services openssl chromium chromium-driver
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest venv clean

demo: PACKAGES = $(DEMO_PACKAGES)
demo: system-packages $(STAMP)
	$(VENV)/bin/xmpp-gateway demo

test: PACKAGES = $(TEST_PACKAGES)
test: system-packages $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway migrations tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest

# Installs only what is missing; apt-get needs its lists once on a fresh machine.
.PHONY: system-packages
system-packages:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -m venv --help >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache
