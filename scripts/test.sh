#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run the built binary
# on the bundled example and on fixture projects, and the PostgreSQL and MariaDB/MySQL tests.
#
# PostgreSQL: unless CROSSCHECK_TEST_PG_URL is set (then that server is used as is), a throwaway
# cluster is started for the run and removed afterwards, also on failure or interrupt
# (scripts/pg-cluster.sh; as root it installs Debian's postgresql package when missing).
# The tests get CROSSCHECK_TEST_PG_URL and CROSSCHECK_TEST_PG_SUPERUSER_URL.
# Outside CI, CROSSCHECK_TEST_PG_SKIP=1 runs without PostgreSQL when none can be had.
#
# MySQL: then the MySQL-protocol tests run again against a throwaway MySQL (Debian's, see
# scripts/mysql-cluster.sh); CROSSCHECK_TEST_MYSQL8_SKIP=1 leaves that run out outside CI.
#
# MariaDB: likewise, unless CROSSCHECK_TEST_MYSQL_URL is set, a throwaway MariaDB server is started
# (scripts/mariadb-cluster.sh; never as root: as `mysql` or a `crosscheck-my` user; as root it
# installs Debian's mariadb-server package when missing) and removed afterwards. The tests get
# CROSSCHECK_TEST_MYSQL_URL. Outside CI, CROSSCHECK_TEST_MYSQL_SKIP=1 runs without MariaDB when
# none can be had. Under CI=true neither skip flag is honoured.
#
# Browser: the HTML report's tests (tests/it/html.rs) open it in headless Chromium. When no
# `chromium` is on PATH (nor CROSSCHECK_TEST_CHROMIUM set), as root Debian's `chromium` package
# is installed with apt-get; otherwise those tests fail under CI=true and skip with a warning
# outside CI. pgloader (a real migration tool, for the MariaDB to PostgreSQL test) is installed
# the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
# shellcheck source=scripts/mariadb-cluster.sh
source scripts/mariadb-cluster.sh
# Both servers are stopped on any exit, interrupt included; neither stop function fails or exits.
trap 'mariadb_cluster_stop; pg_cluster_stop' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if ! pg_cluster_start; then
    if [ "${CI:-}" != true ] && [ "${CROSSCHECK_TEST_PG_SKIP:-}" = 1 ]; then
        echo "test.sh: WARNING: no PostgreSQL server; running without one (CROSSCHECK_TEST_PG_SKIP=1)" >&2
    else
        echo "test.sh: no PostgreSQL server for the tests (see above). Set CROSSCHECK_TEST_PG_URL to use" \
            "an existing server, or CROSSCHECK_TEST_PG_SKIP=1 outside CI to run without one." >&2
        exit 1
    fi
fi

if ! mariadb_cluster_start; then
    if [ "${CI:-}" != true ] && [ "${CROSSCHECK_TEST_MYSQL_SKIP:-}" = 1 ]; then
        echo "test.sh: WARNING: no MariaDB server; running without one (CROSSCHECK_TEST_MYSQL_SKIP=1)" >&2
    else
        echo "test.sh: no MariaDB server for the tests (see above). Set CROSSCHECK_TEST_MYSQL_URL to use" \
            "an existing server, or CROSSCHECK_TEST_MYSQL_SKIP=1 outside CI to run without one." >&2
        exit 1
    fi
fi

# Installs Debian package $2 when command $1 is missing and we are root; under CI a tool that
# cannot be had fails the run (its tests must run there), elsewhere they skip with a warning.
# $3 says which tests need it; CROSSCHECK_TEST_CHROMIUM may name another Chromium binary.
ensure_tool() {
    local command=$1 package=$2 purpose=$3
    command -v "$command" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: $command not found: installing it (apt-get install $package)" >&2
        if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
            ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2; then
            echo "test.sh: apt-get install $package failed" >&2
            [ "${CI:-}" != true ] || exit 1
        fi
    elif [ "${CI:-}" = true ]; then
        echo "test.sh: $command not found and it cannot be installed here (not root, or no" \
            "apt-get): install Debian's $package package ($purpose)." >&2
        exit 1
    else
        echo "test.sh: WARNING: $command not found: $purpose will skip (install Debian's" \
            "$package package)" >&2
    fi
}

if [ -z "${CROSSCHECK_TEST_CHROMIUM:-}" ] && ! command -v chromium-browser >/dev/null 2>&1; then
    ensure_tool chromium chromium "the HTML report's browser tests"
fi
ensure_tool pgloader pgloader "the MariaDB to PostgreSQL migration test"

cargo test --locked --all-targets "$@"

# MySQL: the MySQL-protocol tests once more, against Debian's own MySQL (unpacked from sid with
# its libraries, see scripts/mysql-cluster.sh), unless a subset of tests was asked for. Outside
# CI, CROSSCHECK_TEST_MYSQL8_SKIP=1 leaves it out. pgloader's migration is MariaDB's only.
if [ $# -eq 0 ] && { [ "${CI:-}" = true ] || [ "${CROSSCHECK_TEST_MYSQL8_SKIP:-}" != 1 ]; }; then
    ensure_tool curl curl "the MySQL run (fetching Debian's MySQL)"
    ensure_tool openssl openssl "the MySQL run (its TLS certificate)"
    mysql_env=$(bash scripts/mysql-cluster.sh start) || {
        echo "test.sh: no MySQL server for the MySQL run (see above); outside CI," \
            "CROSSCHECK_TEST_MYSQL8_SKIP=1 runs without it." >&2
        exit 1
    }
    mysql_dir=$(printf '%s\n' "$mysql_env" | sed -n 's/^MYSQL_CLUSTER_DIR=//p')
    trap 'bash scripts/mysql-cluster.sh stop "$mysql_dir"; mariadb_cluster_stop; pg_cluster_stop' EXIT
    (
        eval "$mysql_env"
        cargo test --locked --test it -- mysql recheck::keys_that_converge_on_mariadb --skip pgloader
    )
fi
