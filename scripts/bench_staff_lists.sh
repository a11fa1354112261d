#!/usr/bin/env bash
# The help desk's lists at a thousand and at a million people (SQLite, and
# PostgreSQL on a throwaway database): every page query of the letter list
# and the user search, timed at both sizes. Writes its section of
# BENCHMARKS.md (between the staff-lists markers).
#
#   bash scripts/bench_staff_lists.sh        (also a step of scripts/bench.sh: make bench)
#
# SIGNET_BENCH_POSTGRES_URL names the PostgreSQL server (empty: SQLite only).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export SIGNET_RELEASE_KEYS="${SIGNET_RELEASE_KEYS:-development}"
export SIGNET_BENCH_POSTGRES_URL="${SIGNET_BENCH_POSTGRES_URL-postgres://postgres@127.0.0.1:5432/test}"
out="$CARGO_TARGET_DIR/bench-raw"
mkdir -p "$out"

echo "== help-desk lists at 10^3 and 10^6 people (about five minutes)"
cargo bench --locked -p signet-keyserver --bench staff_lists | tee "$out/staff-lists.md"
python3 - "$out/staff-lists.md" BENCHMARKS.md <<'PY'
import sys, datetime, re
tables = open(sys.argv[1]).read().strip()
begin, end = "<!-- staff-lists:begin", "<!-- staff-lists:end -->"
section = (
    begin + " (written by scripts/bench_staff_lists.sh; edit the script, not this section) -->\n"
    f"Measured {datetime.date.today().isoformat()}. Reproduce: `bash scripts/bench_staff_lists.sh`\n"
    "(`cargo bench -p signet-keyserver --bench staff_lists`).\n\n" + tables + "\n" + end
)
path = sys.argv[2]
text = open(path).read()
text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: section, text, flags=re.S)
open(path, "w").write(text)
PY
echo "== BENCHMARKS.md updated (help-desk lists)"
