#!/usr/bin/env bash
# Full-flow wall-time benchmark: `rainmaker-prov provision` (release build) vs Espressif's Python
# provisioning client (esp-rainmaker-cli's protocomm modules), both against `rainmaker-prov sim`
# started with --latency-ms 40 --join-delay-ms 3000 --no-auto-stop, for security 1 and 2.
# Same steps for every client: proto-ver, handshake, set config, apply, poll until connected
# (no Wi-Fi scan). Details and how exchanges are counted: tests/interop/bench_flow.py.
# Not run in CI. Results are recorded in BENCHMARKS.md, section "Full provisioning flow".
#
# Usage: scripts/bench-flow.sh [RUNS]   (default 5 runs per scheme and client)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${1:-5}
# shellcheck source=tests/interop/venv.sh
source tests/interop/venv.sh
ensure_interop_venv
cargo build --quiet --release -p rainmaker-prov-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rainmaker-prov"
echo "rainmaker-prov: $("$BIN" --version); esp-rainmaker-cli: $("$VENV/bin/python" -m pip show esp-rainmaker-cli 2>/dev/null | sed -n 's/^Version: //p'); $(nproc) cores" >&2
exec "$VENV/bin/python" tests/interop/bench_flow.py --bin "$BIN" --runs "$RUNS"
