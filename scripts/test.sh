#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, and runs every test
# through ctest. Integration tests start their own services (Kafka, Schema
# Registry, kinesis-mock, Prometheus, PostgreSQL 15: scripts/services/) through
# ctest fixtures; downloads and the PostgreSQL data dir are cached under
# .cache/ so a second run is fast. Extra arguments go to ctest (-L postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --timeout 900 -j 2 "$@"
