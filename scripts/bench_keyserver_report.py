#!/usr/bin/env python3
"""Turns the key server's load figures (keyserver/benches/load.rs) into BENCHMARKS.md's key-server section."""
import datetime, json, math, os, re, subprocess, sys

raw, md = sys.argv[1], sys.argv[2]
d = json.load(open(raw))
cores = d["cores"]
bare = d["bare"]
oaep, pss = d["oaep_decrypt_seconds"], d["pss_sign_seconds"]
bits = d["rsa_bits"]
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def rate(x):
    return f"{x:,.0f}/s" if x >= 100 else f"{x:.1f}/s"


def ms(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.1f} ms" if x < 100 else f"{x:,.0f} ms"


def verdict(ok):
    return "met" if ok else "**NOT met**"


def load(figures):
    """Rate with latencies, and the failures if any."""
    text = f"{rate(figures['per_second'])}, p50 {ms(figures['p50_ms'])}, p99 {ms(figures['p99_ms'])}"
    if figures["errors"]:
        first = figures["first_error"] or ""
        answer = re.search(r": (\d{3}) .*?\"code\":\"([^\"]+)\"", first)
        why = f"{answer.group(1)} {answer.group(2)}" if answer else first[:40]
        text += f"; {figures['errors']} failed (first: {why})"
    return text


bound = 0.8 * cores / oaep
ceiling = cores / oaep
registration_reference = cores / pss
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()

lines = [
    "<!-- keyserver:begin (written by scripts/bench_keyserver.sh; edit the script, not this section) -->",
    f"Measured {datetime.date.today()} on {cores} cores ({cpu}); the load generator runs on the same cores.",
    "Reproduce: `make bench`, or this section alone: `bash scripts/bench_keyserver.sh`",
    f"(`cargo bench -p signet-keyserver --bench load`; PostgreSQL from `SIGNET_BENCH_POSTGRES_URL`, default",
    "`postgres://postgres@127.0.0.1:5432/test`, on a throwaway database).",
    "",
    f"Every load: {d['connections']} keep-alive HTTPS connections (TLS 1.3, HTTP/1.1) on loopback to a real",
    f"`signet-keyserver serve` (web tier and key tier in one process, the web tier calling the key tier's routes",
    "in-process; rate limits raised out of the way),",
    f"{d['warmup_seconds']:g} s of warm-up ({3 * d['warmup_seconds']:g} s before a server's first load), then {d['measure_seconds']:g} s measured;",
    "only requests that start and end in the window count. p50/p99 are per request (per whole sign-in for the",
    "sealed load).",
    f"References in the same run: a bare warp endpoint (`POST /v1/signin` answering a small JSON) served by",
    f"the key server's own TLS accept loop in a process of its own, loaded before the key server's loads and again",
    f"after them ({' and '.join(rate(r['per_second']) for r in d.get('bare_runs', []))}), both runs together:",
    f"{load(bare)}; one RSA-{bits} OAEP-SHA256",
    f"decryption with the key tier's confidentiality key: {ms(oaep * 1e3)}; one RSA-{bits} PSS-SHA256 signature",
    f"with its integrity key: {ms(pss * 1e3)} (medians of 100, in-process).",
    "",
    "### Targets",
    "",
    "| target | backend | figure | reference | ratio | target | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]
for b in d["backends"]:
    name = names[b["backend"]]
    first = b["release"][0]
    f = first["load"]
    share = f["per_second"] / bare["per_second"]
    ok = share >= 0.5 and f["p99_ms"] <= 20 and f["errors"] == 0
    lines.append(
        f"| 1. record release, {first['users']:,} users | {name} | {load(f)} | bare warp {rate(bare['per_second'])} "
        f"| {100 * share:.1f} % of bare | ≥ 50 %, p99 ≤ 20 ms | {verdict(ok)} |"
    )
for b in d["backends"]:
    name = names[b["backend"]]
    s = b["sealed_signin"]
    lines.append(
        f"| 2. full sign-ins, a new sealed session each | {name} | {load(s)} "
        f"| 0.8 × {cores} cores ÷ {ms(oaep * 1e3)} = {rate(bound)} | {s['per_second'] / bound:.2f} | ≥ 1 "
        f"| {verdict(s['per_second'] >= bound and s['errors'] == 0)} |"
    )
for b in d["backends"]:
    name = names[b["backend"]]
    r = b["registrations"]
    lines.append(
        f"| 3. registrations (`POST /v1/apply`) | {name} | {load(r)} "
        f"| {cores} cores ÷ one audit signature {ms(pss * 1e3)} = {rate(registration_reference)} "
        f"| {r['per_second'] / registration_reference:.2f} | reported | – |"
    )
for b in d["backends"]:
    name = names[b["backend"]]
    base = b["release"][0]["load"]["per_second"]
    worst = min(l["load"]["per_second"] / base for l in b["release"])
    figures = " / ".join(rate(l["load"]["per_second"]) for l in b["release"])
    sizes = " / ".join(f"10^{round(math.log10(l['users']))}" for l in b["release"])
    best = max(l["load"]["per_second"] / base for l in b["release"])
    clean = all(l["load"]["errors"] == 0 for l in b["release"])
    if worst >= 0.90 and best <= 1.10 and clean:
        flat = "met"
    elif worst >= 0.90 and clean:
        flat = f"met: no slower (up to {100 * (best - 1):+.0f} % faster)"
    else:
        flat = verdict(False)
    lines.append(
        f"| 4. record release at {sizes} users | {name} | {figures} | the rate at {b['release'][0]['users']:,} users "
        f"| {worst:.3f} – {best:.3f} | 0.90 – 1.10 | {flat} |"
    )
for b in d["backends"]:
    name = names[b["backend"]]
    m = b["memory_kib"]
    lines.append(
        f"| 5. server memory under the sign-in loads | {name} | VmHWM {m['after_signin_hwm'] / 1024:.1f} MiB, "
        f"VmRSS {m['after_signin_rss'] / 1024:.1f} MiB | idle after start {m['idle_rss'] / 1024:.1f} MiB "
        f"| {m['after_signin_hwm'] / m['idle_rss']:.2f} × idle | reported | – |"
    )
lines += [
    "",
    f"A full sign-in costs the key tier one RSA-{bits} private operation, the session key's OAEP decryption (the",
    "bootstrap document is signed once per 30 s and served to every client in that window), so its ceiling on",
    f"these cores is {cores} ÷ {ms(oaep * 1e3)} = {rate(ceiling)}, i.e. {ceiling / bound:.2f} × the bound of target 2; the load generator's",
    "own RSA public-key operations, TLS and sealing run on the same cores.",
    "",
    "Record release is answered from the key tier's sign-in cache once a user has signed in (each answer checked",
    "against a fresh read of the sign-in generation, shared by the requests waiting for it); a sign-in that misses",
    "it costs one read transaction. Every release travels sealed end to end, as the route takes nothing else: each",
    "connection opens one channel session and sends its sign-ins on it, so each request is sealed and opened",
    "twice (load generator and key tier, on the same cores), while the bare reference answers plain JSON.",
    "",
    "### Record release as the database grows",
    "",
    f"The {d['sample_users']:,} users signed in are real rows (record sealed under the storage key, keyed verifier",
    "tag, active certificate) with ids spread evenly over the id space; the rest are filler users of the same",
    "row sizes added by `INSERT … SELECT` over a generated series (PostgreSQL: `VACUUM ANALYZE` after each step, as",
    "autovacuum would). Adding them raises the sign-in generation, so each level starts with every cached answer",
    "outdated and refills the cache during its warm-up.",
    "",
    "| backend | users with a record | populating took | release | ratio to the first row |",
    "| --- | --- | --- | --- | --- |",
]
for b in d["backends"]:
    name = names[b["backend"]]
    base = b["release"][0]["load"]["per_second"]
    for l in b["release"]:
        lines.append(
            f"| {name} | {l['users']:,} | {l['populate_seconds']:.1f} s | {load(l['load'])} | {l['load']['per_second'] / base:.3f} |"
        )
attack = next((b["under_attack"] for b in d["backends"] if b.get("under_attack")), None)
if attack:
    rows = attack["rows"]
    quiet = rows[0]["legitimate"]
    lines += [
        "",
        "### Under attack",
        "",
        f"A legitimate client at 127.0.0.1 makes {attack['legitimate_rate']} full sealed sign-ins a second (bootstrap, session",
        "opening, sealed pre-login and sign-in, on one keep-alive connection) against a `serve` of its own (SQLite)",
        "with the shipped limits, the per-address request and session-opening rates raised to the client's pace",
        "(3 000 requests and 900 openings a minute; the attacker gets them too), while one address (127.0.0.2)",
        "runs each attack as fast as it can from a process of",
        f"its own at `nice 19` (on these 2 shared cores its own work would otherwise count against the server);",
        f"{attack.get('measure_seconds', d['measure_seconds']):g} s measured after {2 * d['warmup_seconds']:g} s of attack. Each latency runs from the client's turn to its",
        "answer, reconnecting included. Targets: success 100 %, p99 ≤ 2 × the quiet p99.",
        "",
        "| attack from one address | attacker's connections or requests | legitimate sign-ins | success | p50 | p99 | p99 ÷ quiet p99 | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        f = row["legitimate"]
        total = f["ok"] + f["errors"]
        success = f["ok"] / total if total else 0.0
        ratio = f["p99_ms"] / quiet["p99_ms"]
        ok = f["errors"] == 0 and ratio <= 2.0
        failed = ""
        if f["errors"]:
            failed = f" ({f['errors']} failed: {(f['first_error'] or '')[:60]})"
        lines.append(
            f"| {row['attack']} | {row['attacker_made']:,} | {total}{failed} | {100 * success:.1f} % | {ms(f['p50_ms'])} "
            f"| {ms(f['p99_ms'])} | {ratio:.2f} | {verdict(ok)} |"
        )
lines += [
    "",
    "### Memory and start-up",
    "",
    "| backend | start-up to listening | idle VmRSS | after release load | after sealed sign-ins (VmRSS / VmHWM) | end of run (VmRSS / VmHWM) |",
    "| --- | --- | --- | --- | --- | --- |",
]
for b in d["backends"]:
    m = b["memory_kib"]
    mib = lambda k: f"{m[k] / 1024:.1f} MiB"
    lines.append(
        f"| {names[b['backend']]} | {ms(b['startup_seconds'] * 1e3)} | {mib('idle_rss')} | {mib('after_release_rss')} "
        f"| {mib('after_signin_rss')} / {mib('after_signin_hwm')} | {mib('end_rss')} / {mib('end_hwm')} |"
    )
lines.append(f"| bare warp reference | | {d['bare_rss_kib'] / 1024:.1f} MiB after its load | | | |")
if len(d["backends"]) < 2:
    lines += ["", "PostgreSQL was not measured in this run (SIGNET_BENCH_POSTGRES_URL empty or unreachable)."]
lines.append("<!-- keyserver:end -->")

section = "\n".join(lines)
text = open(md).read() if os.path.exists(md) else "# Benchmarks\n"
if "<!-- keyserver:begin" in text:
    text = re.sub(r"<!-- keyserver:begin.*?<!-- keyserver:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Key server under load\n\n" + section + "\n"
open(md, "w").write(text)
print(section)
