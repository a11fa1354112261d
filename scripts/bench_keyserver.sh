#!/usr/bin/env bash
# Load benchmarks of the key server (`signet-keyserver serve` as a real
# process over HTTPS on a loopback port), each figure next to a reference
# measured on the same machine in the same run: a bare warp endpoint behind
# the same TLS accept loop, and RSA-3072 private operations timed in-process.
# SQLite, and PostgreSQL side by side on a throwaway database. Writes the
# key-server section of BENCHMARKS.md.
#
#   bash scripts/bench_keyserver.sh        (also the last step of scripts/bench.sh: make bench)
#
# SIGNET_BENCH_POSTGRES_URL names the PostgreSQL server (a database is made on
# it and dropped; empty: SQLite only). SIGNET_BENCH_SECONDS is the measured
# window of each load (10), after SIGNET_BENCH_WARMUP_SECONDS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Benchmark builds trust the development release key unless told otherwise.
export SIGNET_RELEASE_KEYS="${SIGNET_RELEASE_KEYS:-development}"
out="$CARGO_TARGET_DIR/bench-raw"
mkdir -p "$out"
# The raw figures are kept so that the report can be re-made:
#   python3 scripts/bench_keyserver_report.py "$CARGO_TARGET_DIR/bench-raw/keyserver-load.json" BENCHMARKS.md
export SIGNET_BENCH_POSTGRES_URL="${SIGNET_BENCH_POSTGRES_URL-postgres://postgres@127.0.0.1:5432/test}"
export SIGNET_BENCH_KEYSERVER_JSON="$out/keyserver-load.json"

echo "== key server under load (about five minutes)"
cargo bench --locked -p signet-keyserver --bench load
python3 scripts/bench_keyserver_report.py "$SIGNET_BENCH_KEYSERVER_JSON" BENCHMARKS.md
echo "== BENCHMARKS.md updated (key server)"
