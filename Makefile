# Two commands set up everything on a fresh Debian machine:
#   make demo   virtual environment + Debian's tor, then the whole service on a private Tor network
#   make test   the same plus the test tools (PostgreSQL, Chromium, age, npm packages), then every test,
#               and the 15 slowest of them
# For everyday work, `make check` sets up the same and runs every test but the Tor and slow ones
# (the markers in pyproject.toml): a few minutes at most on 2 cores.
# `make install` does the set-up alone and leaves the CLI at .venv/bin/meldpunt.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
NPM_DIRS := tests/interop extension tests/onion_service/web/a11y

# Debian packages. tor (with tor-gencert) is what the service itself needs; the rest serve the tests:
# a real PostgreSQL server, headless Chromium and its driver, firefox-esr (Tor Browser's base) for the
# extension's tests there (driven over WebDriver BiDi, which it speaks itself), the reference age CLI, node for the
# npm interoperability packages and the extension's linter, shellcheck, systemd-analyze and
# apparmor_parser for deploy/, rsvg-convert to check the extension's icons against their SVG,
# chromium-l10n so that Chromium runs in nl, fr and de for the extension's language choice, nginx and
# its headers-more module for the HTTPS reverse proxy in deploy/nginx/ (the tests start their own
# nginx on loopback; on a machine with systemd, Debian's package also starts the system service),
# onionbalance (Debian's 0.2.2, v3) for the scale-out test behind one frontend address (the tests run
# their own; on a machine with systemd, the package also enables a system service).
RUN_DEBS := tor
# `make deb`: Debian's packaging tools (dh-virtualenv 1.2 builds /opt/meldpunt from the wheelhouse
# of requirements/server.lock) and lintian, which checks the package before it is handed out.
DEB_DEBS := debhelper dh-virtualenv dh-python python3-venv lintian
TEST_DEBS := $(DEB_DEBS) tor age chromium chromium-driver firefox-esr postgresql shellcheck systemd iproute2 util-linux apparmor librsvg2-bin chromium-l10n nginx libnginx-mod-http-headers-more-filter onionbalance pebble certbot

.PHONY: help install demo test check lint test-deps debs-run debs-test debs-deb deb npm-deps icons translations fuzz bench clean

help:
	@echo "make demo     run meldpunt on a private Tor network (sets everything up first)"
	@echo "make test     install the test dependencies and run every test (prints the 15 slowest)"
	@echo "make check    the same without the Tor and slow tests: a few minutes, for everyday work"
	@echo "make lint     ruff and mypy alone (make test and make check run them first)"
	@echo "make install  set-up only; the CLI ends up at $(VENV)/bin/meldpunt"
	@echo "make deb      the Debian package and the offline machine's wheelhouse, in dist/ (lintian-checked)"

# Installs only the Debian packages that are missing, so a machine that has them all needs no root.
define ensure_debs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

debs-run:
	$(call ensure_debs,$(RUN_DEBS))

debs-deb:
	$(call ensure_debs,$(DEB_DEBS))

# node and npm are asked for by command, not by package: a machine whose nodejs comes from
# another source (with npm inside it) would otherwise be offered Debian's npm, which conflicts.
debs-test:
	$(call ensure_debs,$(TEST_DEBS))
	@command -v npm >/dev/null || { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; }

# Every package at the version and with the SHA-256 of requirements/dev.lock (a package that differs
# from the one locked, on an index, a mirror or the way here, is refused); then meldpunt itself,
# editable, from this tree, with nothing fetched for it (the lock holds its build backend).
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(PIP) install -q --disable-pip-version-check --no-deps --no-index --no-build-isolation -e .
	@# devnet/ (the private Tor network and the demo) is for a checkout only: the package leaves it
	@# out, so that a server install has none of it, and this path file puts it on the venv's path.
	$(PY) -c 'import site, sys; open(site.getsitepackages()[0] + "/meldpunt-devnet.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	touch $@

# The gettext catalogs live as .po files in the repo; the compiled .mo files are build output.
# Extracts the strings a reporter sees into messages.pot, brings every language's .po up to date
# (new strings empty, gone ones dropped: tests/onion_service/web/test_web_translations.py then names
# what is missing) and compiles them. Adding a language: `$(VENV)/bin/pybabel init -l TAG -i
# onion_service/web/translations/messages.pot -d onion_service/web/translations`, translate, and
# add extension/_locales/TAG/messages.json (onion_service/web/translations/STATUS.md).
TRANSLATIONS := onion_service/web/translations
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F onion_service/web/babel.cfg -k lazy_gettext --no-location --sort-output \
	  --omit-header -o $(TRANSLATIONS)/messages.pot onion_service/web
	@if compgen -G '$(TRANSLATIONS)/*/LC_MESSAGES/messages.po' >/dev/null; then \
	  $(VENV)/bin/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching \
	    --ignore-obsolete --ignore-pot-creation-date -w 100 && \
	  $(VENV)/bin/pybabel -q compile -d $(TRANSLATIONS); fi

install: debs-run $(VENV)/.installed translations

# `npm ci` again only where a lock file changed since the last install (it starts from nothing).
NPM_STAMPS := $(foreach d,$(NPM_DIRS),$(d)/node_modules/.meldpunt-installed)

npm-deps: $(NPM_STAMPS)

%/node_modules/.meldpunt-installed: %/package-lock.json
	npm ci --prefix $* --no-audit --no-fund --loglevel=error
	touch $@

# The extension's PNG icons are committed (the server that builds the extension needs no SVG
# renderer); this redraws them from icons/icon.svg, and tests/extension checks they match.
icons:
	for s in 16 32 48 128; do rsvg-convert -w $$s -h $$s extension/icons/icon.svg -o extension/icons/icon-$$s.png; done

test-deps: debs-test install npm-deps

# Format and lint (ruff) and types (mypy), all set up in pyproject.toml and pinned in requirements/dev.lock:
# `make test` and `make check` run them first, so a tree that fails either runs no test.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: test-deps lint
	$(PY) -m pytest --durations=15

# On both cores (pytest-xdist), a test file to a process so that its module fixtures are made once.
# make test stays in one process: its Tor tests share one private Tor network per session.
check: test-deps lint
	$(PY) -m pytest -n 2 --dist loadfile -m "not tor and not slow and not system"

# The server's Debian package and the offline machine's wheelhouse, from this tree
# (deploy/package/build.sh; deploy/README.md, "The Debian package"): dist/meldpunt_VERSION_amd64.deb,
# dist/meldpunt-offline-wheelhouse-VERSION.tar.gz and dist/SHA256SUMS. The one download is
# requirements/server.lock's packages, each checked against its SHA-256.
deb: debs-deb $(VENV)/.installed
	PY=$(PY) deploy/package/build.sh

demo: install
	$(VENV)/bin/meldpunt demo

# Coverage-guided fuzzing (atheris) of the age reader and the export-bundle reader, longer than the
# 25 s each that `make test` gives them: FUZZ_SECONDS per target. The corpora grow in build/fuzz/;
# a crash stops with its input in test-artifacts/fuzz/ (add it to tests/faults/fuzz_regressions/).
FUZZ_SECONDS ?= 600
fuzz: install
	@mkdir -p test-artifacts/fuzz
	@for t in age bundle; do \
	  mkdir -p build/fuzz/$$t; \
	  echo "fuzzing the $$t reader for $(FUZZ_SECONDS) s"; \
	  $(PY) tests/faults/fuzz_targets.py $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix=test-artifacts/fuzz/$$t- \
	    build/fuzz/$$t tests/faults/fuzz_regressions/$$t; \
	done

clean:
	rm -rf $(VENV) $(addsuffix /node_modules,$(NPM_DIRS)) build dist *.egg-info .mypy_cache .ruff_cache
