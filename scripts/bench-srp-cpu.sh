#!/usr/bin/env bash
# Handshake CPU benchmark: CPU per provisioning session (proto-ver + prov-session handshake) of
# rainmaker-prov's phone side vs Espressif's Python client (esp-rainmaker-cli protocomm modules),
# against the same simulated device on loopback HTTP, security 2 and security 1. Each client runs
# N sessions and 0 sessions in its own process; cost per session = (CPU(N) - CPU(0)) / N with CPU =
# user + system time of the process, so start-up cancels. Runs are interleaved (ours, theirs, ...).
# Details: tests/interop/bench_srp_cpu.py. Takes about 2 minutes plus the release build.
# Not run in CI. Results are recorded in BENCHMARKS.md, section "Handshake CPU vs Espressif's client".
#
# Usage: scripts/bench-srp-cpu.sh [--sessions 40] [--rounds 5] [--sec 2,1]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=tests/interop/venv.sh
source tests/interop/venv.sh
ensure_interop_venv
cargo build --quiet --release -p rainmaker-prov-tests --example handshake_cpu
DRIVER="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/handshake_cpu"
exec "$VENV/bin/python" tests/interop/bench_srp_cpu.py --driver "$DRIVER" "$@"
