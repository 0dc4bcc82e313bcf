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
# MariaDB: likewise, unless CROSSCHECK_TEST_MYSQL_URL is set, a throwaway MariaDB server is started
# (scripts/mariadb-cluster.sh; never as root: as `mysql` or a `crosscheck-my` user; as root it
# installs Debian's mariadb-server package when missing) and removed afterwards. The tests get
# CROSSCHECK_TEST_MYSQL_URL. Outside CI, CROSSCHECK_TEST_MYSQL_SKIP=1 runs without MariaDB when
# none can be had. Under CI=true neither skip flag is honoured.
#
# Browser: the HTML report's tests (tests/it/html.rs) open it in headless Chromium. When no
# `chromium` is on PATH (nor CROSSCHECK_TEST_CHROMIUM set), as root Debian's `chromium` package
# is installed with apt-get; otherwise those tests fail under CI=true and skip with a warning
# outside CI.
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

chromium_found() {
    [ -n "${CROSSCHECK_TEST_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 ||
        command -v chromium-browser >/dev/null 2>&1
}

if ! chromium_found; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: chromium not found: installing it (apt-get install chromium)" >&2
        if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
            ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; then
            echo "test.sh: apt-get install chromium failed" >&2
            [ "${CI:-}" != true ] || exit 1
        fi
    elif [ "${CI:-}" = true ]; then
        echo "test.sh: chromium not found and it cannot be installed here (not root, or no apt-get):" \
            "install Debian's chromium package, or set CROSSCHECK_TEST_CHROMIUM to a Chromium binary." >&2
        exit 1
    else
        echo "test.sh: WARNING: chromium not found: the HTML report's browser tests will skip" \
            "(install Debian's chromium package, or set CROSSCHECK_TEST_CHROMIUM)" >&2
    fi
fi

cargo test --locked --all-targets "$@"
