#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run the built binary
# on the bundled example and on fixture projects, and the PostgreSQL tests.
#
# PostgreSQL: unless CROSSCHECK_TEST_PG_URL is set (then that server is used as is), a throwaway
# cluster is started for the run and removed afterwards, also on failure or interrupt
# (scripts/pg-cluster.sh; as root it installs Debian's postgresql package when missing).
# The tests get CROSSCHECK_TEST_PG_URL and CROSSCHECK_TEST_PG_SUPERUSER_URL.
# Outside CI, CROSSCHECK_TEST_PG_SKIP=1 runs without PostgreSQL when none can be had.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
trap pg_cluster_stop EXIT
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

cargo test --locked --all-targets "$@"
