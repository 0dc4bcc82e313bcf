#!/usr/bin/env bash
# Benchmark: `profile_match` of a 5-million-row table in two PostgreSQL databases, against
# two floors measured in the same run:
#   count(*) floor:  `SELECT count(*) FROM t` in both databases at once (the scan of both
#                    that the issue compares with)
#   same-SQL floor:  the two profile queries crosscheck sends, run by psql at once (what the
#                    databases cost; the rest is crosscheck's)
#
#   bash bench/profile_match.sh [ROWS]        (default 5000000)
#
# Data: the same rows in both databases (a bigint id, an integer, a decimal, two texts, a
# timestamp, a boolean, a double), then 0.1% of the target's rows changed. Cases: the whole
# table profiled (8 columns: 40 statistics), grouped by `grp` (100 groups), and the whole
# table without `distinct` (one pass of single-value aggregates); best of REPEAT
# runs (default 2). Prints each time and its ratio to both floors.
#
# Builds crosscheck in release mode ($CARGO_TARGET_DIR is honoured), or times CROSSCHECK_BIN
# when set: the profile queries run inside PostgreSQL, so a dev build measures nearly the same.
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
for db in bench_source bench_target; do
    load_wide_table "$pg/$db" "$rows"
done
psql -q "$pg/bench_target" -c "UPDATE t SET score = score + 1 WHERE id % 1000 = 0" \
    -c "VACUUM ANALYZE t"

best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
both() { # SQL for the source, SQL for the target: run at once, as crosscheck runs its sides
    psql -q -X "$pg/bench_source" -c "$1" >/dev/null &
    psql -q -X "$pg/bench_target" -c "$2" >/dev/null
    wait
}

mkdir -p "$out/project/rules"
cat >"$out/project/crosscheck.yaml" <<EOF
sources:
  a: { postgres: "$pg/bench_source" }
  b: { postgres: "$pg/bench_target" }
EOF
cat >"$out/project/rules/profile.yaml" <<'EOF'
rules:
  - name: whole
    type: profile_match
    source: a.t
    target: b.t
  - name: grouped
    type: profile_match
    source: a.t
    target: b.t
    group_by: [grp]
  - name: no_distinct
    type: profile_match
    source: a.t
    target: b.t
    statistics: [nulls, trues, min, max, sum, mean, min_length, max_length, earliest, latest]
EOF

# The SQL PostgreSQL receives, as `crosscheck explain` prints it.
received() { # rule, side
    "$bin" explain -c "$out/project/crosscheck.yaml" "$1" |
        awk -v side="source \`$2\`" '
            index($0, side) && /runs inside/ { grab = 1; next }
            grab && /^      / { sub(/^      /, ""); print; exit }'
}

count_floor=$(for _ in 1 2 3; do seconds both "SELECT count(*) FROM t" "SELECT count(*) FROM t"; done | best)
printf 'rows: %s\ncount(*) of both databases at once: %.3fs\n\n' "$rows" "$count_floor"

for rule in whole grouped no_distinct; do
    a_sql=$(received "$rule" a)
    b_sql=$(received "$rule" b)
    [ -n "$a_sql" ] && [ -n "$b_sql" ] || { echo "$rule: not pushed into PostgreSQL" >&2; exit 1; }
    same_floor=$(for _ in $(seq "${REPEAT:-2}"); do seconds both "$a_sql" "$b_sql"; done | best)
    t=$(for _ in $(seq "${REPEAT:-2}"); do
        seconds "$bin" run -c "$out/project/crosscheck.yaml" -s "$rule" -q --no-progress --json "$out/$rule.json"
    done | best)
    python3 - "$rule" "$out/$rule.json" "$t" "$count_floor" "$same_floor" <<'PY'
import json, sys
rule, path = sys.argv[1], sys.argv[2]
t, count_floor, same_floor = map(float, sys.argv[3:6])
r = json.load(open(path))["rules"][0]
print(f"profile_match {rule:<11} {t:7.3f}s  {t / count_floor:5.2f}x the count(*) floor  "
      f"{t / same_floor:5.2f}x the same SQL in psql ({same_floor:.3f}s)  "
      f"violations={r['violations']} of {r['observed']} statistics")
PY
done
