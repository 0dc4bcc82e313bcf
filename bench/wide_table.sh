# Sourced by the benchmarks: `load_wide_table URL ROWS` (re)creates database URL's table `t`
# of ROWS rows — a bigint key, an integer group, a decimal, two texts, a timestamp, a boolean
# and a double — with its primary key, vacuumed and analysed. URL names the database; its
# server's `postgres` database is used to drop and create it.
load_wide_table() {
    local url=$1 rows=$2 db=${1##*/}
    psql -q "${url%/*}/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql -q "$url" <<SQL
CREATE TABLE t AS
SELECT g::bigint AS id, (g % 100)::int AS grp, ((g % 1000000) / 100.0)::numeric(10,2) AS score,
       ('name-' || g)::varchar(40) AS name, ('user' || g || '@example.com')::varchar(60) AS email,
       timestamp '2020-01-01' + g * interval '1 second' AS created_at, g % 3 = 0 AS active,
       g::float8 / 7 AS ratio
FROM generate_series(1, $rows) g;
ALTER TABLE t ADD PRIMARY KEY (id);
VACUUM ANALYZE t;
SQL
}
