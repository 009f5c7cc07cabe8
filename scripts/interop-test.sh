#!/usr/bin/env bash
# Interop test: Espressif's own Python provisioning client against `rainmaker-prov sim`.
#
# What it does (idempotent; a second run reuses the virtualenv and the cargo build):
#   1. creates the virtualenv build/interop-venv (build/ is gitignored) and installs, with
#      `pip install --no-deps`, the pinned list in tests/interop/requirements.txt: the PyPI package
#      esp-rainmaker-cli (which carries ESP-IDF's protocomm client modules) plus exactly what those
#      modules import (protobuf, cryptography, requests and their own dependencies). The package's
#      declared dependencies (opencv, aiortc, boto3, esptool, ...) are not needed and not installed.
#      python3-venv is installed with apt only if `python3 -m venv` does not work.
#   2. builds the CLI (`cargo build -p rainmaker-prov-cli`);
#   3. for every case starts a fresh simulator on a kernel-chosen free loopback port
#      (`--listen 127.0.0.1:0`, address read from its "listening on" line), runs
#      tests/interop/esp_client.py against it and stops it; every simulator is killed at exit.
#
# Cases: the full flow (proto-ver, handshake, paged Wi-Fi scan of 16 networks incl. a 32-byte
# SSID, custom-data echo, set config RefPeer-Home/secretpass, apply, status polling until
# connected) for sec0, sec1 with PoP, sec1 without PoP, sec2 patch 1 and sec2 patch 0; a wrong
# PoP / password (and a PoP sent to a no-PoP device) must fail the handshake at Cmd1, after which
# the right secret works; and the short-A quirk below.
#
# Determinism (security 2): the Python SRP client up to ESP-IDF v5.5.4 does not pad A to 384
# bytes (and strips leading zero bytes of the salt and of H(I:P)). The simulator is strict like
# firmware, so with OS randomness about 1 session in 256 would fail. esp_client.py therefore pins
# the Python client's SRP randomness to a fixed, verified seed (--seed, default 1) and checks that
# every A it sends is 384 bytes, and the sec2 simulators run with a fixed --seed too: no case
# depends on luck and nothing is retried. The sec2-short-a case uses seed 121, whose first A is
# 383 bytes, to show the strict device rejecting exactly that quirk.
#
# Usage: scripts/interop-test.sh [NAME-SUBSTRING]   (runs only the matching cases)
# Output: one PASS/FAIL line per case, then `N passed, M failed`; exit status 1 on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=tests/interop/venv.sh
source tests/interop/venv.sh
CLIENT=tests/interop/esp_client.py
FILTER=${1:-}
T0=$(date +%s.%N)

log() { echo "interop: $*" >&2; }

# ------------------------------------------------------------------------------------ simulator
TMPD=$(mktemp -d)
SIM_PIDS=()
SIM_PID=
SIM_ADDR=

stop_sim() {
    local pid=$1 i
    kill -INT "$pid" 2>/dev/null || return 0
    for i in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        stop_sim "$pid"
    done
    rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_sim ARGS... -> sets SIM_PID and SIM_ADDR
start_sim() {
    local out="$TMPD/sim.$RANDOM.log" i
    : >"$out" # exists before the background job opens it, so the first read cannot miss it
    "$BIN" sim --transport softap --listen 127.0.0.1:0 "$@" >"$out" 2>&1 &
    SIM_PID=$!
    SIM_PIDS+=("$SIM_PID")
    for i in $(seq 1 200); do
        SIM_ADDR=$(sed -n 's/^rainmaker-prov sim: listening on \([^ ]*\) .*/\1/p' "$out")
        [[ -n $SIM_ADDR ]] && return 0
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            log "the simulator exited early:"
            cat "$out" >&2
            return 1
        fi
        sleep 0.05
    done
    log "the simulator did not report its address within 10 s"
    return 1
}

# ----------------------------------------------------------------------------------------- cases
PASSED=0
FAILED=0

# run_case NAME "SIMULATOR ARGS" "CLIENT ARGS"   (arguments are split on spaces)
run_case() {
    local name=$1 sim_args client_args
    read -ra sim_args <<<"$2"
    read -ra client_args <<<"$3"
    if [[ -n $FILTER && $name != *"$FILTER"* ]]; then
        return 0
    fi
    if ! start_sim "${sim_args[@]}"; then
        echo "FAIL $name: the simulator did not start"
        FAILED=$((FAILED + 1))
        return 0
    fi
    if "$VENV/bin/python" "$CLIENT" --name "$name" --host "$SIM_ADDR" "${client_args[@]}"; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
    fi
    stop_sim "$SIM_PID"
}

ensure_interop_venv
T_VENV=$(date +%s.%N)

log "building the CLI"
if ! cargo build --quiet -p rainmaker-prov-cli; then
    echo "FAIL build: cargo build -p rainmaker-prov-cli"
    echo "0 passed, 1 failed"
    exit 1
fi
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/rainmaker-prov"
T_BUILD=$(date +%s.%N)

SEC2_SIM="--sec 2 --username wifiprov --password abcd1234 --seed 7"
SEC2_CLI="--sec 2 --username wifiprov --password abcd1234"

run_case sec0 "--sec 0" "--sec 0"
run_case sec1-pop "--sec 1 --pop abcd1234" "--sec 1 --pop abcd1234"
run_case sec1-nopop "--sec 1" "--sec 1"
run_case sec2-patch1 "$SEC2_SIM --sec-patch-ver 1" "$SEC2_CLI --sec-patch-ver 1"
run_case sec2-patch0 "$SEC2_SIM --sec-patch-ver 0" "$SEC2_CLI --sec-patch-ver 0"
run_case sec1-wrong-pop "--sec 1 --pop abcd1234" \
    "--case wrong-secret --sec 1 --pop abcd1234 --wrong-secret abcd1235"
run_case sec1-nopop-given-pop "--sec 1" "--case wrong-secret --sec 1 --wrong-secret abcd1234"
run_case sec2-patch1-wrong-password "$SEC2_SIM --sec-patch-ver 1" \
    "--case wrong-secret $SEC2_CLI --sec-patch-ver 1 --wrong-secret abcd1235"
run_case sec2-patch0-wrong-password "$SEC2_SIM --sec-patch-ver 0" \
    "--case wrong-secret $SEC2_CLI --sec-patch-ver 0 --wrong-secret abcd1235"
run_case sec2-short-a "$SEC2_SIM --sec-patch-ver 1" "--case short-a $SEC2_CLI --seed 121"

T_END=$(date +%s.%N)
log "$(awk -v a="$T0" -v b="$T_VENV" -v c="$T_BUILD" -v d="$T_END" \
    'BEGIN { printf "time: venv %.1f s, build %.1f s, cases %.1f s, total %.1f s", b-a, c-b, d-c, d-a }')"
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
