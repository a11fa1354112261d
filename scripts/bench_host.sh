#!/usr/bin/env bash
# The host application: verification throughput against raw CMS verification
# of the same signatures on the same cores, and the latency from submission
# to the signed status report, measured in one run; writes the "Host
# application" section of BENCHMARKS.md.
#
#   bash scripts/bench_host.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="$CARGO_TARGET_DIR/bench-raw/host"
rm -rf "$out"; mkdir -p "$out"

SIGNET_BENCH_HOST_JSON="$out/host.json" cargo bench --locked -p signet-host --bench desk

python3 - "$out/host.json" BENCHMARKS.md <<'PY'
import json, re, sys
report, target = sys.argv[1:]
r = json.load(open(report))
throughput = "met" if r["ratio"] >= 0.8 else "**NOT met**"
latency = "met" if r["p99_ms"] <= 50 else "**NOT met**"
stored = r.get("by_stored", [])
flat_rows = ""
if len(stored) >= 2:
    low, high = stored[0], stored[-1]
    drift = high["per_s"] / low["per_s"]
    flat = "met" if abs(drift - 1) <= 0.10 else "**NOT met**"
    flat_rows = (
        f'| throughput with {high["stored"]:,} orders stored | {high["per_s"]:.0f} orders/s | '
        f'with {low["stored"]:,} stored: {low["per_s"]:.0f} /s | {drift:.2f} × | 1 ± 0.10 × | {flat} |\n'
    )
section = f"""<!-- host:begin (written by scripts/bench_host.sh; edit the script, not this section) -->

{r["orders"]} one-payment orders, each signed by a user whose mandate lets them sign alone, submitted
to the host in process from {r["threads"]} threads (one per core) on SQLite: the request's signature,
certificate and CRL, the schema and banks' checks, the CMS signature over the exact bytes, the
mandate, the duplicate check, one transaction and the signed pain.002. The reference is raw CMS
verification (`signet_crypto::cms::verify_detached`) of the same signatures over the same bytes on
as many threads, in the same run (reproduce: `bash scripts/bench_host.sh`, also part of `make bench`).

| what | figure | reference | ratio | target | verdict |
| --- | --- | --- | --- | --- | --- |
| verification throughput | {r["host_per_s"]:.0f} orders/s | raw CMS verification: {r["reference_per_s"]:.0f} /s | {r["ratio"]:.3f} × | ≥ 0.8 × | {throughput} |
| submission to signed status report, p99 (p50) | {r["p99_ms"]:.1f} ms ({r["p50_ms"]:.1f} ms) | – | – | ≤ 50 ms | {latency} |
{flat_rows}| signing the pain.002 alone (RSA-3072, the host's key) | {r["report_signing_per_s"]:.0f} reports/s | raw CMS verification: {r["reference_per_s"]:.0f} /s | {r["report_signing_per_s"] / r["reference_per_s"]:.3f} × | – | the ceiling of the first row |

Reading: every submission is answered with its own pain.002 signed by the host's RSA-3072 key, a
private-key operation; on the same cores that alone runs at the rate of the last row, so the host
cannot come near 0.8 × raw verification (a public-key operation) while each answer carries its own
RSA signature, and it reaches {r["host_per_s"] / r["report_signing_per_s"]:.2f} × of that ceiling.
The report is signed outside the write transaction, on what a read snapshot decides (the
transaction decides again and signs anew only if something changed meanwhile), and the schema
checks run on one libxml2 thread per core; the write transaction itself only inserts and waits for
its commit to reach the disk (SQLite `synchronous = FULL`). What would close the throughput gap:
an ECDSA P-256 host key for the reports (a signature in tens of microseconds) or one signature
over a batch of reports; both change what clients and auditors verify. Not yet measured: over
HTTPS with 64 connections. The stored orders of the flatness row are inserted straight into the
host's SQLite database (accepted, from a thousand other users) before the run.

<!-- host:end -->"""
text = open(target).read()
if "<!-- host:begin" in text:
    text = re.sub(r"<!-- host:begin.*?<!-- host:end -->", section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Host application\n\n" + section + "\n"
open(target, "w").write(text)
print(section)
PY
