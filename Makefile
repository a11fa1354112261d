# Signet — build, run and test.
#
#   make run     build everything and start the key server (see README.md)
#   make demo    one signer session, step by step
#   make test    every test: units, properties, vectors, interop with OpenSSL,
#                the signer as a real process, a short fuzz run
#   make bench   benchmarks; figures go to BENCHMARKS.md
#
# System packages the targets need are installed on first use (Debian/Ubuntu,
# as root or through sudo); nothing is installed when already present.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(CURDIR)/target
TARGET_DIR := $(CARGO_TARGET_DIR)
FUZZ_SECONDS ?= 20
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Debian packages: what the build and the tests run.
# - key server and signer: a C toolchain, SQLite and PostgreSQL client libraries, OpenSSL for interop tests;
# - desktop app (Tauri 2 on WebKitGTK);
# - tests of the desktop app and the keyring: a virtual display, the WebKit WebDriver, a session bus and a
#   Secret Service (GNOME Keyring), screenshots.
SYSTEM_PACKAGES := build-essential pkg-config openssl ca-certificates procps util-linux libsqlite3-dev libpq-dev \
  libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev \
  xvfb xauth webkit2gtk-driver xdotool imagemagick x11-utils dbus dbus-x11 gnome-keyring libsecret-tools

.PHONY: all build run demo test test-unit test-fuzz lint fmt bench deps fuzz-tools clean

all: build

deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --workspace --release --locked

# Where `make run` keeps the key server's database, keys and CA.
DATA_DIR ?= $(CURDIR)/.signet-data
LISTEN ?= 127.0.0.1:8443

run: build
	@echo "starting the key server on https://$(LISTEN) (SQLite and keys in $(DATA_DIR)); Ctrl-C stops it"
	$(TARGET_DIR)/release/signet-keyserver serve --data-dir "$(DATA_DIR)" --listen $(LISTEN)

# One signer session, step by step, with the real signet-signer process.
demo: build
	$(CARGO) build --release --locked -p signet-signer --example demo
	$(TARGET_DIR)/release/examples/demo

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test: deps test-unit test-fuzz
	@echo "make test: all suites passed"

test-unit:
	@[ -n "$${SIGNET_TEST_POSTGRES_URL:-}" ] || echo "PostgreSQL backend tests will be skipped: set SIGNET_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them"
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked --no-fail-fast

# The fuzz targets need sanitizer flags (a nightly toolchain, or the stable
# one with RUSTC_BOOTSTRAP when no nightly is installed) and cargo-fuzz.
FUZZ_CARGO := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo 'cargo +nightly' || echo 'RUSTC_BOOTSTRAP=1 cargo')
fuzz-tools:
	@cargo fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

test-fuzz: fuzz-tools
	@for target in record_parse protocol_decode; do \
	  mkdir -p fuzz/corpus/$$target; cp -n fuzz/corpus_seed/$$target/* fuzz/corpus/$$target/ 2>/dev/null || true; \
	  echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && CARGO_TARGET_DIR=$(TARGET_DIR)/fuzz $(FUZZ_CARGO) fuzz run $$target corpus/$$target -- \
	     -max_total_time=$(FUZZ_SECONDS) -max_len=4096 2>&1 | tail -n 3); \
	done

bench: build
	bash scripts/bench.sh

clean:
	$(CARGO) clean
