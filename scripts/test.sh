#!/usr/bin/env bash
# The whole test suite: unit tests, then the integration tests that run the built binary
# on the bundled example and on fixture projects.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets "$@"
