#!/usr/bin/env python3
"""Turns criterion estimates and the OpenSSL reference into BENCHMARKS.md's signer section."""
import json, os, re, statistics, subprocess, sys, datetime

crit, raw, md = sys.argv[1], sys.argv[2], sys.argv[3]

def est(group, name):
    """Median time of a criterion benchmark, in seconds."""
    path = os.path.join(crit, group, name.replace("/", "_"), "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9

speed = {}
for line in open(os.path.join(raw, "openssl-speed.txt")):
    # "rsa 2048 bits 0.000731s 0.000021s   1368.4  46804.3"
    m = re.match(r"rsa\s+(\d+) bits\s+([\d.]+)s\s+([\d.]+)s", line)
    if m:
        speed[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
gen = {}
for line in open(os.path.join(raw, "openssl-genpkey.txt")):
    bits, us = line.split()
    gen.setdefault(int(bits), []).append(int(us) / 1e6)
start = statistics.median(int(x) / 1e6 for x in open(os.path.join(raw, "openssl-start.txt")))
mem = json.load(open(os.path.join(raw, "memory.json")))

def ms(s):
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.2f} s"

rows = []
for bits in (2048, 3072, 4096):
    ours = est("keygen", str(bits))
    ref = statistics.median(gen[bits]) - start
    rows.append((f"key generation RSA-{bits}", ours, f"openssl genpkey (minus process start) {ms(ref)}", ours / ref))
for bits in (2048, 3072, 4096):
    for scheme in ("pkcs1v15", "pss"):
        ours = est("sign", f"{scheme}/{bits}")
        ref = speed[bits][0]
        rows.append((f"sign {scheme} RSA-{bits}", ours, f"openssl speed rsa{bits} sign {ms(ref)}", ours / ref))
for bits in (2048, 3072, 4096):
    for scheme in ("pkcs1v15", "pss"):
        ours = est("verify", f"{scheme}/{bits}")
        ref = speed[bits][1]
        rows.append((f"verify {scheme} RSA-{bits}", ours, f"openssl speed rsa{bits} verify {ms(ref)}", ours / ref))
floor, default = est("kdf", "floor"), est("kdf", "default")
seal, opn = est("record", "seal/3072"), est("record", "open/3072")
lib, proto = est("roundtrip", "library/pss/3072"), est("roundtrip", "protocol/pss/3072")
spawn, ready = est("process", "spawn-true"), est("process", "startup-to-ready")

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- signer:begin (written by scripts/bench.sh; edit the script, not this section) -->",
    f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), {ossl}; medians.",
    "Reproduce: `make bench` (runs `scripts/bench.sh`).",
    "",
    "### Signing core against OpenSSL (same machine, same run)",
    "",
    "| operation | Signet | OpenSSL reference | ratio (Signet ÷ OpenSSL) |",
    "| --- | --- | --- | --- |",
]
lines += [f"| {n} | {ms(o)} | {r} | {x:.2f} |" for n, o, r, x in rows]
lines += [
    "",
    "### Key derivation and the sealed record",
    "",
    "| operation | time | ratio |",
    "| --- | --- | --- |",
    f"| Argon2id + HKDF, floor (m=19 MiB, t=2, p=1) | {ms(floor)} | 1 (reference) |",
    f"| Argon2id + HKDF, default (m=64 MiB, t=3, p=4) | {ms(default)} | {default / floor:.2f} × floor |",
    f"| seal RSA-3072 record (PKCS#8 encode, AES-256-CBC, HMAC) | {ms(seal)} | {seal / lib:.3f} × one PSS signature |",
    f"| open RSA-3072 record (HMAC check, decrypt, PKCS#8 parse + key check) | {ms(opn)} | {opn / lib:.3f} × one PSS signature |",
    "",
    "### The signer process",
    "",
    "| measure | figure | reference | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    f"| start-up to ready (spawn, hardening, `hello` answered) | {ms(ready)} | spawning `true`: {ms(spawn)} | {ready / spawn:.2f} | ≤ 20 ms: {'met' if ready <= 0.020 else 'NOT met'} |",
    f"| one PSS-3072 signature through the protocol | {ms(proto)} | the library call: {ms(lib)} | overhead {100 * (proto / lib - 1):+.2f} % | ≤ 5 %: {'met' if proto / lib <= 1.05 else 'NOT met'} |",
    f"| resident memory, key open, after 20 signatures | {mem['key_open_rss_kib'] / 1024:.2f} MiB | idle signer: {mem['idle_rss_kib'] / 1024:.2f} MiB | {mem['key_open_rss_kib'] / mem['idle_rss_kib']:.2f} | ≤ 8 MiB: {'met' if mem['key_open_rss_kib'] <= 8192 else 'NOT met'} |",
    f"| peak resident memory (the KDF's 64 MiB, freed after use) | {mem['peak_rss_kib'] / 1024:.2f} MiB | | | |",
    f"| sign-in in a fresh signer (default KDF, open record) | {mem['sign_in_default_kdf_ms']:.0f} ms | | | |",
    "<!-- signer:end -->",
]
section = "\n".join(lines)
text = open(md).read() if os.path.exists(md) else "# Benchmarks\n"
if "<!-- signer:begin" in text:
    text = re.sub(r"<!-- signer:begin.*?<!-- signer:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Signing core and signer process\n\n" + section + "\n"
open(md, "w").write(text)
print(section)
