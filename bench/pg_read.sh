#!/usr/bin/env bash
# Benchmark: read a 5-million-row table of mixed types from PostgreSQL into Arrow, against the
# floor of psql's own binary COPY of the same table to /dev/null, in the same run.
#
#   bash bench/pg_read.sh [ROWS]        (default 5000000)
#
# Starts a throwaway cluster (scripts/pg-cluster.sh) unless CROSSCHECK_TEST_PG_URL is set.
# Prints each timing (best of 3), the ratio crosscheck / floor, and crosscheck's peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}

source scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
trap 'exit 130' INT
pg_cluster_start
url=$CROSSCHECK_TEST_PG_URL

cargo build --release --locked --example pg_read >&2
reader=target/release/examples/pg_read

echo "loading $rows rows…" >&2
psql -q "$url" <<SQL
DROP TABLE IF EXISTS bench_read;
CREATE TABLE bench_read AS
SELECT g::bigint AS id,
       (g % 100000)::int AS user_id,
       (g % 1000000) / 100.0::numeric(10,2) AS score,
       'name-' || g AS name,
       'user' || g || '@example.com' AS email,
       timestamptz '2020-01-01' + g * interval '1 second' AS created_at,
       g % 3 = 0 AS active,
       g / 7.0::float8 AS ratio,
       date '2020-01-01' + (g % 3650) AS day
FROM generate_series(1, $rows) g;
ALTER TABLE bench_read ALTER COLUMN score TYPE numeric(10,2);
VACUUM ANALYZE bench_read;
SQL

best() { sort -n | head -1; }
time_of() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

floor=$(for _ in 1 2 3; do time_of psql -q "$url" -c "\\copy (select * from bench_read) to '/dev/null' with (format binary)"; done | best)
ours=$(for _ in 1 2 3; do time_of "$reader" "$url" bench_read; done | best)
peak_kb=$(/usr/bin/time -f %M "$reader" "$url" bench_read 2>&1 >/dev/null | tail -1)

printf 'rows: %s\n' "$rows"
printf 'floor (psql \\copy binary to /dev/null): %.3fs\n' "$floor"
printf 'crosscheck read into Arrow:             %.3fs\n' "$ours"
printf 'ratio: %.2fx the floor\n' "$(echo "$ours / $floor" | bc -l)"
printf 'crosscheck peak memory: %d MB\n' "$((peak_kb / 1024))"
