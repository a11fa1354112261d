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
# The release keys the client trusts (see schema/release-keys/README.md): the
# development key unless a PEM file of the production keys is named.
export SIGNET_RELEASE_KEYS ?= development
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Debian packages: what the build and the tests run.
# - key server and signer: a C toolchain, SQLite and PostgreSQL client libraries, OpenSSL for interop tests;
# - payment orders: libxml2 (XML Schema validation; its Rust bindings are generated with libclang at build
#   time) and xmllint, the reference the order tests and benchmarks compare with;
# - desktop app (Tauri 2 on WebKitGTK);
# - tests of the desktop app and the keyring: a virtual display, the WebKit WebDriver, a session bus and a
#   Secret Service (GNOME Keyring), screenshots.
SYSTEM_PACKAGES := build-essential pkg-config openssl ca-certificates procps util-linux libsqlite3-dev libpq-dev \
  libxml2-dev libxml2-utils libclang-dev \
  libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev \
  xvfb xauth webkit2gtk-driver xdotool imagemagick x11-utils dbus dbus-x11 gnome-keyring libsecret-tools python3-xlib

.PHONY: python-test-tools bindings bundle test-bundle all build run demo test test-unit test-fuzz lint fmt bench deps fuzz-tools desktop-test-tools ui screenshots clean

all: build

deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The desktop app's screens (TypeScript, Vite), embedded into the app at
# build time: built before any cargo command that compiles the app.
UI_SOURCES := $(shell find ui/src ui/index.html ui/package.json ui/package-lock.json ui/tsconfig.json ui/vite.config.ts -type f 2>/dev/null)
ui: ui/dist/index.html
# npm writes node_modules/.package-lock.json on every install: reinstalled when the lock file changes.
ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20 or later with npm is needed to build the desktop app's screens"; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	@touch $@
ui/dist/index.html: $(UI_SOURCES) ui/node_modules/.package-lock.json
	cd ui && npm run build
	@touch $@

build: deps ui
	$(CARGO) build --workspace --release --locked

# Where `make run` keeps the key server's database, keys and CA.
DATA_DIR ?= $(CURDIR)/.signet-data
LISTEN ?= 127.0.0.1:8443
# The bank's host application beside it.
HOST_LISTEN ?= 127.0.0.1:8444

run: build
	@bash scripts/run.sh "$(TARGET_DIR)/release" "$(DATA_DIR)" "$(LISTEN)" "$(HOST_LISTEN)"

# The desktop app as a .deb (Tauri's bundler), with the signer and the
# command line installed beside it in /usr/bin.
BUNDLE_DIR := $(TARGET_DIR)/release/bundle/deb
bundle: deps ui
	$(CARGO) build --release --locked -p signet-signer -p signet-client --bins
	cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb --config \
	  '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/signet-signer":"$(TARGET_DIR)/release/signet-signer","/usr/bin/signet":"$(TARGET_DIR)/release/signet"}}}}}'
	@ls -1 $(BUNDLE_DIR)/*.deb

# The .deb's metadata and contents, and the app started from an unpacked copy.
test-bundle: bundle
	bash scripts/check_bundle.sh $$(ls -t $(BUNDLE_DIR)/Signet_*.deb | head -n 1)

# One signer session, step by step, with the real signet-signer process.
demo: build
	$(CARGO) build --release --locked -p signet-signer --example demo
	$(TARGET_DIR)/release/examples/demo

lint: deps ui
	cd ui && npm run check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The screens' TypeScript types (ui/src/bindings.ts), generated from the Rust
# types; `make test` fails while the checked-in file differs.
bindings:
	SIGNET_WRITE_BINDINGS=1 $(CARGO) test --locked -p signet-desktop --lib bindings

test: deps ui desktop-test-tools test-unit test-bundle test-fuzz
	@echo "make test: all suites passed"

# sepaxml, a widely used Python pain.001 writer: the order tests read what it writes.
PYTHON_TEST_PACKAGES := sepaxml==2.7.0
python-test-tools:
	@python3 -c 'import sepaxml' 2>/dev/null || python3 -m pip install --quiet --user $(PYTHON_TEST_PACKAGES) 2>/dev/null \
	  || python3 -m pip install --quiet --user --break-system-packages $(PYTHON_TEST_PACKAGES)

test-unit: python-test-tools
	@[ -n "$${SIGNET_TEST_POSTGRES_URL:-}" ] || echo "PostgreSQL backend tests will be skipped: set SIGNET_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them"
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked --no-fail-fast

# The fuzz targets need sanitizer flags (a nightly toolchain, or the stable
# one with RUSTC_BOOTSTRAP when no nightly is installed) and cargo-fuzz.
FUZZ_CARGO := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo 'cargo +nightly' || echo 'RUSTC_BOOTSTRAP=1 cargo')
fuzz-tools:
	@cargo fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

# WebDriver for the desktop journeys: tauri-driver in front of WebKitWebDriver.
desktop-test-tools:
	@command -v tauri-driver >/dev/null 2>&1 || [ -x "$$HOME/.cargo/bin/tauri-driver" ] || \
	  $(CARGO) install tauri-driver --version '^2' --locked

# The README's screenshots, taken by the desktop journey.
screenshots: deps ui desktop-test-tools
	$(CARGO) build --workspace --bins --locked
	SIGNET_SCREENSHOTS=$(CURDIR)/docs/screenshots $(CARGO) test --locked -p signet-journeys --test desktop

test-fuzz: fuzz-tools
	@for target in record_parse protocol_decode response_decode channel_messages keyserver_inputs http_requests; do \
	  mkdir -p fuzz/corpus/$$target; cp -n fuzz/corpus_seed/$$target/* fuzz/corpus/$$target/ 2>/dev/null || true; \
	  echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && CARGO_TARGET_DIR=$(TARGET_DIR)/fuzz $(FUZZ_CARGO) fuzz run $$target corpus/$$target -- \
	     -max_total_time=$(FUZZ_SECONDS) -max_len=4096 2>&1 | tail -n 3); \
	done

bench: build
	bash scripts/bench.sh

clean:
	$(CARGO) clean
