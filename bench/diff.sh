#!/usr/bin/env bash
# Benchmark: diff two 5-million-row tables of mixed types held in two PostgreSQL databases,
# against the floor of psql's binary \copy of the larger side to /dev/null, in the same run.
#
#   bash bench/diff.sh [ROWS]        (default 5000000)
#
# Data sets: (a) 0.1% of rows differ, spread evenly; (b) 100 rows differ. For each: the
# `auto`, `join` and `checksum` algorithms; then PostgreSQL against a Parquet file of the same
# data. Prints each time (best of 2), its ratio to the floor, the rows each side read, and
# crosscheck's peak memory.
#
#   CROSSCHECK_BASELINE=path/to/older/crosscheck bash bench/diff.sh
#
# also times an older build on the same data in the same run (interleaved, best of 2 each)
# and prints new/old for every case: how a change moved the cost, on a noisy machine.
#
#   ALGORITHMS="checksum" SETS=b REPEAT=5 PARQUET=no bash bench/diff.sh
#
# runs only the named algorithms (default: auto join checksum) on the named data sets
# (default: a b), best of REPEAT runs (default 2), without the Parquet case.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}

source scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
trap 'exit 130' INT
pg_cluster_start
base=${CROSSCHECK_TEST_PG_URL%/*}

cargo build --release --locked --bin crosscheck --example pg_read >&2
bin=target/release/crosscheck
out=$(mktemp -d)
trap 'pg_cluster_stop; rm -rf "$out"' EXIT

make_db() { # name
    psql -q "$base/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
    psql -q "$base/$1" <<SQL
CREATE TABLE t AS
SELECT g::bigint AS id,
       (g % 100000)::int AS user_id,
       ((g % 1000000) / 100.0)::numeric(10,2) AS score,
       'name-' || g AS name,
       'user' || g || '@example.com' AS email,
       timestamptz '2020-01-01' + g * interval '1 second' AS created_at,
       g % 3 = 0 AS active,
       g / 7.0::float8 AS ratio
FROM generate_series(1, $rows) g;
ALTER TABLE t ADD PRIMARY KEY (id);
VACUUM ANALYZE t;
SQL
}

echo "loading 3 × $rows rows…" >&2
make_db bench_source
make_db bench_a
make_db bench_b
# (a) 0.1% of rows differ, spread evenly; (b) 100 rows differ.
psql -q "$base/bench_a" -c "UPDATE t SET name = name || 'x' WHERE id % 1000 = 0" -c "VACUUM ANALYZE t"
psql -q "$base/bench_b" -c "UPDATE t SET score = score + 1 WHERE id % ($rows / 100) = 0" -c "VACUUM ANALYZE t"

best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
floor=$(for _ in 1 2 3; do seconds psql -q "$base/bench_source" -c "\\copy (select * from t) to '/dev/null' with (format binary)"; done | best)
printf 'rows: %s\nfloor (psql \\copy binary to /dev/null): %.3fs\n\n' "$rows" "$floor"

report() { # label json-file seconds
    python3 - "$1" "$2" "$3" "$floor" <<'PY'
import json, sys
label, path, secs, floor = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
rule = json.load(open(path))["rules"][0]
d = rule.get("diff") or {}
read = d.get("rows_read", {})
print(f"{label:<34} {secs:7.3f}s  {secs / floor:5.2f}x floor  violations={rule['violations']:<6} "
      f"algorithm={d.get('algorithm')}  rows read: source={read.get('source')} target={read.get('target')}")
PY
}

baseline=${CROSSCHECK_BASELINE:-}
time_diff() { # binary left right algorithm [more args]
    local binary=$1 left=$2 right=$3 algorithm=$4
    shift 4
    seconds "$binary" diff "$left" "$right" --key id --algorithm "$algorithm" -q --no-progress "$@"
}
run_case() { # label left right algorithm
    local json=$out/r.json t peak old
    if [[ -n $baseline ]]; then
        # Interleaved with the new build's runs so both see the same load.
        local times; times=$(for _ in $(seq "${REPEAT:-2}"); do
            echo "new $(time_diff "$bin" "$2" "$3" "$4" --json "$json")"
            echo "old $(time_diff "$baseline" "$2" "$3" "$4")"
        done)
        t=$(awk '$1=="new"{print $2}' <<<"$times" | best)
        old=$(awk '$1=="old"{print $2}' <<<"$times" | best)
    else
        t=$(for _ in $(seq "${REPEAT:-2}"); do time_diff "$bin" "$2" "$3" "$4" --json "$json"; done | best)
    fi
    # crosscheck exits 1 when it finds differences: that is not a failure here.
    peak=$( { /usr/bin/time -f %M "$bin" diff "$2" "$3" --key id --algorithm "$4" -q --no-progress >/dev/null || true; } 2>&1 | tail -1)
    report "$1" "$json" "$t"
    if [[ -n $baseline ]]; then
        printf '%34s baseline %.3fs, new/baseline %.3f\n' "" "$old" "$(echo "$t / $old" | bc -l)"
    fi
    printf '%34s peak memory %d MB\n' "" "$((peak / 1024))"
}

for set in ${SETS:-a b}; do
    for algorithm in ${ALGORITHMS:-auto join checksum}; do
        run_case "($set) $algorithm" "$base/bench_source#t" "$base/bench_$set#t" "$algorithm"
    done
done
if [[ ${PARQUET:-yes} != no ]]; then
    target/release/examples/pg_read "$base/bench_a" t "$out/bench_a.parquet" >/dev/null
    run_case "(a) postgres vs parquet (join)" "$base/bench_source#t" "$out/bench_a.parquet" auto
fi
