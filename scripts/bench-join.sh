#!/usr/bin/env bash
# Join-lag benchmark: after the device reports "connected", how long until the client knows it?
# Sweeps the simulator's join delay (`rainmaker-prov sim --join-delay-ms J --latency-ms 0`, 10
# values from 1 to 14.04 s) and, per delay, measures `rainmaker-prov provision` (release build,
# default PollOptions): the lag after the device joined, wall time minus J and the number of status
# exchanges; and the same for Espressif's Python client (esp-rainmaker-cli's protocomm modules)
# with esp_prov's cadence (5 s sleep before every status read). Prints a table and a summary line
# (mean / worst lag). Details: tests/interop/bench_join.py. Takes about 3-4 minutes.
# Not run in CI. Results are recorded in BENCHMARKS.md, section "Status polling after apply".
#
# Usage: scripts/bench-join.sh [--esp-model] [--delays-ms 1000,2000,...]
#   --esp-model: do not set up the Python client; model its cadence instead (said in the output).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=python3
if [[ " $* " != *" --esp-model "* ]]; then
    # shellcheck source=tests/interop/venv.sh
    source tests/interop/venv.sh
    ensure_interop_venv
    PY="$VENV/bin/python"
fi
cargo build --quiet --release -p rainmaker-prov-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rainmaker-prov"
echo "rainmaker-prov: $("$BIN" --version); $(nproc) cores" >&2
exec "$PY" tests/interop/bench_join.py --bin "$BIN" "$@"
