#!/usr/bin/env bash
# Benchmark: diff a 5-million-row table of mixed types migrated from MariaDB to PostgreSQL,
# against the floor of each engine's own client export of that table, measured in the same run
# (the slower of the two is the floor the issue names):
#   MariaDB:    mariadb --quick --batch -e 'SELECT * FROM t' > /dev/null   (text protocol, streamed)
#   PostgreSQL: psql \copy (SELECT * FROM t) TO '/dev/null' WITH (FORMAT binary)
#
#   bash bench/mysql_diff.sh [ROWS]        (default 5000000)
#
# Data: the same rows built on both servers from the row number (ids, integers, a decimal,
# texts, a naive timestamp, a boolean, a double), then (a) 0.1% of the PostgreSQL rows changed,
# spread evenly. Cases: `diff` with the default algorithm (`auto`, which takes `join` across
# engines and says why), best of REPEAT runs (default 2); a copy of the table inside MariaDB
# with 100 rows changed, diffed by `checksum` (digested inside MariaDB) and by `join`; then a
# `row_count_match` grouped by user_id (100,000 groups), whose two grouped counts run inside
# each server. Prints each time, its ratio to the floor (MariaDB's export is the slower one),
# the rows each side read, and crosscheck's peak memory.
#
# Builds crosscheck in release mode ($CARGO_TARGET_DIR is honoured: a separate one spares the
# dev build's lock), or times CROSSCHECK_BIN when set.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}

source scripts/pg-cluster.sh
source scripts/mariadb-cluster.sh
out=$(mktemp -d)
cleanup() { pg_cluster_stop; mariadb_cluster_stop; rm -rf "$out"; }
trap cleanup EXIT
trap 'exit 130' INT
pg_cluster_start
mariadb_cluster_start
pg=${CROSSCHECK_TEST_PG_URL%/*}
my=${CROSSCHECK_TEST_MYSQL_URL%/*}

if [ -n "${CROSSCHECK_BIN:-}" ]; then
    bin=$CROSSCHECK_BIN # a build of your own (a smoke run of the script with a dev build)
else
    cargo build --release --locked --bin crosscheck >&2
    bin=${CARGO_TARGET_DIR:-target}/release/crosscheck
fi

my_sql() { # database, SQL on stdin
    "$_mariadb_cluster_client" --defaults-file="$MARIADB_CLUSTER_DIR/client.cnf" --protocol=tcp \
        --host=127.0.0.1 --port="$MARIADB_CLUSTER_PORT" --batch --quick --skip-column-names "$@"
}

echo "loading $rows rows into MariaDB and PostgreSQL…" >&2
my_sql <<SQL
DROP DATABASE IF EXISTS bench;
CREATE DATABASE bench CHARACTER SET utf8mb4;
USE bench;
CREATE TABLE t (id BIGINT PRIMARY KEY, user_id INT NOT NULL, score DECIMAL(10,2) NOT NULL,
    name VARCHAR(40) NOT NULL, email VARCHAR(60) NOT NULL, created_at DATETIME NOT NULL,
    active TINYINT(1) NOT NULL, ratio DOUBLE NOT NULL);
INSERT INTO t SELECT seq, seq % 100000, (seq % 1000000) / 100, CONCAT('name-', seq),
    CONCAT('user', seq, '@example.com'), TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND,
    seq % 3 = 0, CAST(seq AS DOUBLE) / 7
FROM seq_1_to_$rows;
ANALYZE TABLE t;
SQL
psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
psql -q "$pg/bench" <<SQL
CREATE TABLE t AS
SELECT g::bigint AS id, (g % 100000)::int AS user_id, ((g % 1000000) / 100.0)::numeric(10,2) AS score,
       ('name-' || g)::varchar(40) AS name, ('user' || g || '@example.com')::varchar(60) AS email,
       timestamp '2020-01-01' + g * interval '1 second' AS created_at, g % 3 = 0 AS active,
       g::float8 / 7 AS ratio
FROM generate_series(1, $rows) g;
ALTER TABLE t ADD PRIMARY KEY (id);
UPDATE t SET name = name || 'x' WHERE id % 1000 = 0;
VACUUM ANALYZE t;
SQL

best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
my_floor=$(for _ in 1 2 3; do seconds my_sql bench -e 'SELECT * FROM t'; done | best)
pg_floor=$(for _ in 1 2 3; do
    seconds psql -q "$pg/bench" -c "\\copy (select * from t) to '/dev/null' with (format binary)"
done | best)
floor=$(printf '%s\n%s\n' "$my_floor" "$pg_floor" | sort -n | tail -1)
printf 'rows: %s\nMariaDB client export (mariadb --quick --batch): %.3fs\n' "$rows" "$my_floor"
printf 'PostgreSQL client export (psql \\copy binary): %.3fs\nfloor (the slower): %.3fs\n\n' \
    "$pg_floor" "$floor"

report() { # label json-file seconds peak-kB
    python3 - "$1" "$2" "$3" "$floor" "$4" <<'PY'
import json, sys
label, path, secs, floor, peak = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
report = json.load(open(path))
rule = report["rules"][0]
d = rule.get("diff") or {}
read = d.get("rows_read") or {n: s.get("rows_read") for n, s in report.get("sources", {}).items()}
print(f"{label:<44} {secs:7.3f}s  {secs / floor:5.2f}x floor  violations={rule['violations']:<6} "
      f"algorithm={d.get('algorithm')}  rows read: {read}  peak memory {peak // 1024} MB")
PY
}

run_case() { # label json-file command...
    local label=$1 json=$2 t peak
    shift 2
    t=$(for _ in $(seq "${REPEAT:-2}"); do seconds "$@"; done | best)
    # crosscheck exits 1 when it finds differences: that is not a failure here.
    peak=$( { /usr/bin/time -f %M "$@" >/dev/null || true; } 2>&1 | tail -1)
    report "$label" "$json" "$t" "$peak"
}

run_case "diff MariaDB -> PostgreSQL (auto)" "$out/diff.json" \
    "$bin" diff "$my/bench#t" "$pg/bench#t" --key id -q --no-progress --json "$out/diff.json"

# The same table copied within MariaDB, 100 rows changed: a checksum digested inside MariaDB,
# against the join of the same two tables.
my_sql <<SQL
DROP DATABASE IF EXISTS bench_copy;
CREATE DATABASE bench_copy CHARACTER SET utf8mb4;
CREATE TABLE bench_copy.t LIKE bench.t;
INSERT INTO bench_copy.t SELECT * FROM bench.t;
UPDATE bench_copy.t SET name = CONCAT(name, 'x') WHERE id % ($rows DIV 100) = 0;
ANALYZE TABLE bench_copy.t;
SQL
for algorithm in checksum join; do
    run_case "diff MariaDB -> MariaDB, 100 rows ($algorithm)" "$out/my-$algorithm.json" \
        "$bin" diff "$my/bench#t" "$my/bench_copy#t" --key id --algorithm "$algorithm" -q \
        --no-progress --json "$out/my-$algorithm.json"
done

mkdir -p "$out/project/rules"
cat >"$out/project/crosscheck.yaml" <<EOF
sources:
  mariadb: { mysql: "\${BENCH_MY}" }
  pg: { postgres: "\${BENCH_PG}" }
EOF
cat >"$out/project/rules/counts.yaml" <<'EOF'
rules:
  - name: users_rows
    type: row_count_match
    source: mariadb.t
    target: pg.t
    group_by: [user_id]
EOF
export BENCH_MY="$my/bench" BENCH_PG="$pg/bench"
run_case "row_count_match by user_id (100,000 groups)" "$out/counts.json" \
    "$bin" run -c "$out/project/crosscheck.yaml" -q --json "$out/counts.json"
