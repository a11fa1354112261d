#!/usr/bin/env bash
# Payment orders: criterion figures of `signet_client::orders` next to their
# references measured in the same run, the memory of `signet orders check` on
# the 10,000-payment file, and a folder of 1,000 orders signed through the
# command line; writes the "Payment orders" section of BENCHMARKS.md.
#
#   bash scripts/bench_orders.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Benchmark builds trust the development release key unless told otherwise.
export SIGNET_RELEASE_KEYS="${SIGNET_RELEASE_KEYS:-development}"
out="$CARGO_TARGET_DIR/bench-raw/orders"
rm -rf "$out" "$CARGO_TARGET_DIR/criterion/orders-check" "$CARGO_TARGET_DIR/criterion/orders-sign"
mkdir -p "$out"

SIGNET_BENCH_ORDER_OUT="$out/order-10000.xml" cargo bench --locked -p signet-client --bench orders -- --noplot 2>&1 \
  | grep -vE '^\s*$' | tail -n 40
cargo build --release --locked -p signet-client -p signet-signer -p signet-keyserver --bins
# A folder of 1,000 one-payment orders through the command line, against a key server started for it.
SIGNET_BENCH_FOLDER_JSON="$out/folder.json" cargo bench --locked -p signet-journeys --bench orders_folder
# Peak resident memory of the whole command (process, libxml2's tree, the summary) on the same file.
/usr/bin/time -f '%M' -o "$out/check-rss-kib.txt" "$CARGO_TARGET_DIR/release/signet" orders check "$out/order-10000.xml" >/dev/null
/usr/bin/time -f '%M' -o "$out/xmllint-rss-kib.txt" xmllint --noout --schema schema/iso20022/pain.001.001.09.xsd "$out/order-10000.xml" 2>/dev/null

python3 - "$CARGO_TARGET_DIR/criterion" "$out" BENCHMARKS.md <<'PY'
import json, os, re, subprocess, sys
criterion, raw, target = sys.argv[1:]

def mean_ms(group, name):
    with open(os.path.join(criterion, group, name, "new", "estimates.json")) as f:
        e = json.load(f)
    return e["mean"]["point_estimate"] / 1e6, e["mean"]["confidence_interval"]

size = os.path.getsize(os.path.join(raw, "order-10000.xml"))
check, check_ci = mean_ms("orders-check", "signet")
lint, lint_ci = mean_ms("orders-check", "xmllint")
sign, sign_ci = mean_ms("orders-sign", "checked")
whole, whole_ci = mean_ms("orders-sign", "from-file")
ref, ref_ci = mean_ms("orders-sign", "raw-signature-and-sha256")
folder = json.load(open(os.path.join(raw, "folder.json")))
verdict = lambda ratio, target: "met" if ratio <= target else "**NOT met**"
rss = int(open(os.path.join(raw, "check-rss-kib.txt")).read().split()[-1])
lint_rss = int(open(os.path.join(raw, "xmllint-rss-kib.txt")).read().split()[-1])
libxml = subprocess.run(["xmllint", "--version"], capture_output=True, text=True).stderr.splitlines()[0]
ci = lambda c: f"{c['lower_bound']/1e6:.1f}–{c['upper_bound']/1e6:.1f}"
section = f"""<!-- orders:begin (written by scripts/bench_orders.sh; edit the script, not this section) -->

A pain.001.001.09 file of 10,000 payments in two batches ({size/1e6:.1f} MB), made by the
writer; each figure is criterion's mean over 20 samples with its 95 % interval, and each
reference is measured in the same run on the same file. `{libxml}`.

| what | Signet | reference | ratio | target | verdict |
| --- | --- | --- | --- | --- | --- |
| validate against the official XSD, bank checks, summary | {check:.1f} ms ({ci(check_ci)}) | `xmllint --noout --schema` (process): {lint:.1f} ms ({ci(lint_ci)}) | {check/lint:.2f} × | ≤ 1.0 × | {verdict(check/lint, 1.0)} |
| sign the checked file (the confirm step: execution dates again, SHA-256, detached CMS with RSASSA-PSS over the digest, the new signature checked against it) | {sign:.1f} ms ({ci(sign_ci)}) | one raw RSASSA-PSS signature and one SHA-256 of the file: {ref:.1f} ms ({ci(ref_ci)}) | {sign/ref:.2f} × | ≤ 1.2 × | {verdict(sign/ref, 1.2)} |
| check and sign from the file's bytes (the two rows above in one) | {whole:.1f} ms ({ci(whole_ci)}) | the same: {ref:.1f} ms | {whole/ref:.2f} × | reported | – |
| sign a folder of {folder["files"]:,} one-payment files: `signet orders sign DIR` as a process (sign-in, every file checked, signed, its signature checked, saved durably and recorded) | {folder["folder_s"]:.2f} s (median of {folder["runs"]}) | {folder["files"]:,} raw RSASSA-PSS signatures, {folder["key_bits"]}-bit key, in-process: {folder["raw_signatures_s"]:.2f} s | {folder["ratio"]:.2f} × | ≤ 1.1 × | {verdict(folder["ratio"], 1.1)} |

Peak resident memory while checking that file: `signet orders check` {rss/1024:.0f} MiB
(the whole process), `xmllint --schema` {lint_rss/1024:.0f} MiB.

Reading: the schema check runs once, when the file is opened and its summary is shown; confirming
signs the exact bytes that were checked, looking again only at what the passing days can change
(the execution dates). Checking megabytes of XML against the schema costs far more than one RSA
signature, so the path from the file's bytes to a signature is dominated by the check, which must
come first; the check alone is measured against `xmllint`. The folder's figure includes the
sign-in ({folder["login_s"]:.2f} s for `signet login`, median of {folder["runs"]}, in the same run):
without it the folder takes {folder["ratio_after_sign_in"]:.2f} × the raw signatures.

<!-- orders:end -->"""
text = open(target).read()
if "<!-- orders:begin" in text:
    text = re.sub(r"<!-- orders:begin.*?<!-- orders:end -->", section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Payment orders\n\n" + section + "\n"
open(target, "w").write(text)
print(section)
PY
