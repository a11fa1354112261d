#!/usr/bin/env bash
# Benchmarks of the signing core and the signer process, next to OpenSSL run
# on the same machine in the same script; writes the figures to BENCHMARKS.md.
#
#   make bench                      (or: bash scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Benchmark builds trust the development release key unless told otherwise.
export SIGNET_RELEASE_KEYS="${SIGNET_RELEASE_KEYS:-development}"
# Raw figures are kept so that the report can be re-made:
#   python3 scripts/bench_report.py "$CARGO_TARGET_DIR/criterion" "$CARGO_TARGET_DIR/bench-raw" BENCHMARKS.md
out="$CARGO_TARGET_DIR/bench-raw"
rm -rf "$out"; mkdir -p "$out"

echo "== OpenSSL reference: $(openssl version)"
# RSA private (sign) and public (verify) operations per second, PKCS#1 v1.5 with SHA-256-sized input.
secs=${SIGNET_BENCH_OPENSSL_SECONDS:-5}
openssl speed -seconds "$secs" rsa2048 rsa3072 rsa4096 2>/dev/null | grep -E '^rsa +[0-9]+ bits' > "$out/openssl-speed.txt"
cat "$out/openssl-speed.txt"
# Key generation: openssl genpkey, timed per run (process start included, measured apart below).
for bits in 2048 3072 4096; do
  runs=$([ "$bits" = 4096 ] && echo 8 || echo 15)
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits -out /dev/null 2>/dev/null; e=$(date +%s%N)
    echo "$bits $(( (e - s) / 1000 ))"
  done
done > "$out/openssl-genpkey.txt"
for _ in $(seq 30); do s=$(date +%s%N); openssl version >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done > "$out/openssl-start.txt"

echo "== Signet (criterion)"
cargo build --release --locked -p signet-signer --bin signet-signer
SIGNET_BENCH_MEMORY_JSON="$out/memory.json" cargo bench --locked -p signet-signer --bench core -- --noplot 2>&1 | grep -vE '^\s*$' | tail -n 80

python3 scripts/bench_report.py "$CARGO_TARGET_DIR/criterion" "$out" BENCHMARKS.md
echo "== BENCHMARKS.md updated"

# The key server under load: its own section of BENCHMARKS.md.
bash scripts/bench_keyserver.sh

bash scripts/bench_staff_lists.sh

# The desktop app (cold start, memory, sign click to result): its own section.
bash scripts/bench_desktop.sh

# Delivery of the signing core (sign-in's signer start): its own section.
bash scripts/bench_delivery.sh

# Payment orders (validation, summary, signing path): their own section.
bash scripts/bench_orders.sh

# The host application (verification throughput, latency to the signed report): its own section.
bash scripts/bench_host.sh
