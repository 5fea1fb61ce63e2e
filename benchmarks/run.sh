#!/usr/bin/env bash
# `make bench`: fleet-scale benchmarks on local test hubs; writes benchmarks/RESULTS.md. Extra arguments go to
# python -m benchmarks.bench (for example --sizes 1,50 --full-sizes 1,50).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=$(bash hack/setup.sh | tail -n 1)
export PATH="$BIN:$PATH"
bash testhub/build.sh >/dev/null
python -m benchmarks.bench "$@"
