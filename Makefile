# Every target a user or CI needs; the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE ?= node
BIN := node_modules/.bin
VERSION := $(shell $(NODE) -p "require('./package.json').version")
SRC := $(shell find src -name '*.ts')
# what `tsc -p .` reads: tsconfig.json's include (src, test, bench), .ts files only (no allowJs)
TS_FILES := $(shell find src test bench -name '*.ts' | LC_ALL=C sort)
TSC_STAMP := .cache/make/tsc-ok
TSC_INPUTS := .cache/make/tsc-files
UNIT_TESTS = $(shell find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
E2E_TESTS = $(shell find test/e2e -name '*.test.ts' | sort)
TEST_FLAGS ?= --test-reporter=spec

.PHONY: all build check test unit e2e demo bench bench-sample bench-probe bench-restart bench-detection bench-capture bench-rss clean
all: build

# npm ci when node_modules is missing or older than the lockfile
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The type check, as a stamp: `make build` runs tsc (~20 s on 2 cores) only when something it reads
# changed: a .ts file, tsconfig.json, the installed packages (typescript, @types/node), or the list of
# files (a deleted file is a change no mtime shows). The list is rewritten, when it differs, as the
# Makefile is read rather than by a rule, so `make -q build` and `make -n build` still tell the truth.
$(shell mkdir -p $(dir $(TSC_INPUTS)) && printf '%s\n' $(TS_FILES) | cmp -s - $(TSC_INPUTS) || printf '%s\n' $(TS_FILES) > $(TSC_INPUTS))

$(TSC_STAMP): node_modules/.installed tsconfig.json $(TS_FILES) $(TSC_INPUTS)
	$(BIN)/tsc -p .
	@touch $@

# `make check` always runs tsc: asked for by name it is the way to re-check what the stamp cannot see
# (packages edited in node_modules by hand, a file dated in the future)
check: node_modules/.installed
	$(BIN)/tsc -p .
	@mkdir -p $(dir $(TSC_STAMP)) && touch $(TSC_STAMP)

build: $(TSC_STAMP) dist/preflight.js

dist/preflight.js: node_modules/.installed $(SRC) package.json
	@mkdir -p dist
	$(BIN)/esbuild src/cli.ts --bundle --platform=node --target=node18.15 --format=cjs \
	  --banner:js='#!/usr/bin/env node' --define:PREFLIGHT_VERSION='"$(VERSION)"' \
	  --legal-comments=none --log-level=warning --outfile=$@
	chmod 755 $@
	@echo "built $@ ($$(wc -c < $@) bytes)"

unit: node_modules/.installed
	$(NODE) --import tsx --test $(TEST_FLAGS) $(UNIT_TESTS)

# end-to-end tests run the BUILT bundle as a child process
e2e: build
	$(NODE) --import tsx --test $(TEST_FLAGS) --test-timeout=600000 $(E2E_TESTS)

# one after the other even under make -j (the e2e tests boot systemd and time daemons); promtool is
# fetched first so the unit tests' metrics check runs too (it skips with a line where it cannot)
test: build
	@bash test/e2e/tools/ensure-promtool.sh >/dev/null || true
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e

# a real failure caught: a local service eats memory and CPU, then answers 503 (no root, ~10 s)
demo: dist/preflight.js
	$(NODE) dist/preflight.js demo

bench: bench-sample bench-probe bench-detection bench-capture bench-rss bench-restart

bench-sample: node_modules/.installed
	$(NODE) --import tsx bench/sample.ts

# fetch vs node:http for the probe: peak and steady RSS next to an idle node (bench/probe-rss.md)
bench-probe: node_modules/.installed
	$(NODE) --import tsx bench/probe-rss.ts

# crashes restarted faster than the health-check interval, against real systemd and the BUILT bundle
bench-restart: build
	$(NODE) --import tsx bench/restart-capture.ts

# detection and rss run the BUILT bundle as `preflight start`; capture runs src/ in-process (and in the
# real-systemd sandbox when root)
bench-detection: build
	$(NODE) --import tsx bench/detection.ts

bench-capture: node_modules/.installed
	$(NODE) --import tsx bench/capture.ts

bench-rss: build
	$(NODE) --import tsx bench/rss.ts

clean:
	rm -rf dist .cache/make
