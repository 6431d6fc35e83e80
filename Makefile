# Every target a user or CI needs; the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NODE ?= node
BIN := node_modules/.bin
VERSION := $(shell $(NODE) -p "require('./package.json').version")
SRC := $(shell find src -name '*.ts')
UNIT_TESTS = $(shell find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
E2E_TESTS = $(shell find test/e2e -name '*.test.ts' | sort)
TEST_FLAGS ?= --test-reporter=spec

.PHONY: all build check test unit e2e demo bench bench-sample bench-probe bench-restart bench-detection bench-capture bench-rss clean
all: build

# npm ci when node_modules is missing or older than the lockfile
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

check: node_modules/.installed
	$(BIN)/tsc -p .

build: check dist/preflight.js

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
	rm -rf dist
