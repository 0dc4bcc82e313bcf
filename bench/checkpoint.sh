#!/usr/bin/env bash
# Benchmark: `crosscheck checkpoint` of a 5-million-row PostgreSQL table, and a diff of the
# live table against that checkpoint, each against a floor measured in the same run:
#   write floor:    psql's `\copy t TO '/dev/null' (FORMAT binary)` of the table (reading it
#                   once, the least any fingerprint costs)
#   compare floor:  `crosscheck diff` of the same table in two databases with the checksum
#                   algorithm (what the issue says comparing with a checkpoint may cost)
#
#   bash bench/checkpoint.sh [ROWS]        (default 5000000)
#
# Data: a bigint key, an integer, a decimal, two texts, a timestamp, a boolean and a double;
# the second database's copy has 100 rows changed. Prints each time (best of REPEAT, default
# 2), its ratio to its floor, crosscheck's peak memory, and the checkpoint's bytes per row.
#
# Builds crosscheck in release mode ($CARGO_TARGET_DIR is honoured), or times CROSSCHECK_BIN
# when set. The row hashes are computed in-process: a dev build is several times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}

source scripts/pg-cluster.sh
source bench/wide_table.sh
out=$(mktemp -d)
cleanup() { pg_cluster_stop; rm -rf "$out"; }
trap cleanup EXIT
trap 'exit 130' INT
pg_cluster_start
pg=${CROSSCHECK_TEST_PG_URL%/*}

if [ -n "${CROSSCHECK_BIN:-}" ]; then
    bin=$CROSSCHECK_BIN
else
    cargo build --release --locked --bin crosscheck >&2
    bin=${CARGO_TARGET_DIR:-target}/release/crosscheck
fi

echo "loading $rows rows into two databases…" >&2
for db in bench_live bench_other; do
    load_wide_table "$pg/$db" "$rows"
done
psql -q "$pg/bench_other" -c "UPDATE t SET score = score + 1 WHERE id % ($rows / 100) = 0" \
    -c "VACUUM ANALYZE t"

mkdir -p "$out/project/rules"
cat >"$out/project/crosscheck.yaml" <<EOF
sources:
  live: { postgres: "$pg/bench_live" }
  other: { postgres: "$pg/bench_other" }
  before: { checkpoint: cp }
EOF

best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
peak_mb() { /usr/bin/time -f %M -o "$out/peak" "$@" >/dev/null 2>&1 || true; awk '{ printf "%d", $1 / 1024 }' "$out/peak"; }

copy_floor=$(for _ in 1 2 3; do
    seconds psql -q -X "$pg/bench_live" -c "\\copy t TO '/dev/null' (FORMAT binary)"
done | best)
printf 'rows: %s\npsql \\copy (FORMAT binary) of the table: %.3fs\n\n' "$rows" "$copy_floor"

cd "$out/project"
take=(checkpoint live --out cp)
# Once where its errors show: a failed checkpoint has nothing to time.
"$bin" "${take[@]}" >/dev/null
t=$(for _ in $(seq "${REPEAT:-2}"); do seconds "$bin" "${take[@]}"; done | best)
peak=$(peak_mb "$bin" "${take[@]}")
bytes=$(stat -c %s cp/tables/t.parquet)
python3 - "$t" "$copy_floor" "$peak" "$bytes" "$rows" <<'PY'
import sys
t, floor, peak, size, rows = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"checkpoint            {t:7.3f}s  {t / floor:5.2f}x the \\copy floor  peak {peak} MB  "
      f"{size / rows:.1f} bytes per row ({size / 1e6:.1f} MB)")
PY

against=(diff before.t other.t -q --no-progress)
checksum=(diff live.t other.t --key id --algorithm checksum -q --no-progress)
c=$(for _ in $(seq "${REPEAT:-2}"); do seconds "$bin" "${checksum[@]}"; done | best)
d=$(for _ in $(seq "${REPEAT:-2}"); do seconds "$bin" "${against[@]}"; done | best)
peak=$(peak_mb "$bin" "${against[@]}")
found=$("$bin" diff before.t other.t --json - -q --no-progress | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["rules"][0]["violations"])' || true)
printf 'checksum diff live.t other.t    %7.3fs\n' "$c"
python3 - "$d" "$c" "$peak" "$found" <<'PY'
import sys
d, c, peak, found = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"diff before.t other.t   {d:7.3f}s  {d / c:5.2f}x the checksum diff  peak {peak} MB  "
      f"differences found: {found} (100 injected)")
PY
