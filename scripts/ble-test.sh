#!/usr/bin/env bash
# BLE test: the btleplug transport against a fake BlueZ on a private system D-Bus.
#
# This kernel has no Bluetooth, so BlueZ is replaced by tests/ble/fake_bluez.py (python3-dbusmock's
# bluez5 template plus the GATT tree of a provisioning device). Its characteristic writes are
# forwarded over loopback HTTP to `rainmaker-prov sim` processes, one per fake device.
#
# What it does (idempotent):
#   1. installs with apt, only when missing: dbus (dbus-daemon), python3-dbusmock, libdbus-1-dev and
#      pkg-config (libdbus for btleplug's build); `apt-get update` only if the install fails;
#   2. builds the CLI and the test (`cargo build -p rainmaker-prov-cli --features ble`, and
#      `cargo test -p rainmaker-prov-tests --features ble --test ble_flows --no-run`);
#   3. starts a private dbus-daemon with a system-bus configuration and exports
#      DBUS_SYSTEM_BUS_ADDRESS; starts four simulators on free loopback ports (security 1 and 2,
#      two each: one pair for the provisioning runs, one for the rest) and the fake BlueZ with the
#      devices PROV_5ec1a0 / PROV_5ec1c0 (security 1, NimBLE-style errors), PROV_5ec2b0 /
#      PROV_5ec2d0 (security 2, Bluedroid-style errors) and Headphones (not provisioning);
#   4. runs `cargo test -p rainmaker-prov-tests --features ble --test ble_flows -- --test-threads=1`;
#   5. runs the CLI (built with `--features ble`) over BLE: provision by the QR code's name (device
#      PROV_c11e00, security 2, its own simulator), a Wi-Fi scan by --device-name, the error for
#      several PROV_ devices without a name (exit 2) and an absent device (exit 7).
# Everything started here is stopped on exit.
#
# Output: the test names with ok/FAILED, then `N passed, M failed`; exit status 1 on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$(date +%s)
PYTHON=/usr/bin/python3   # Debian's python3, which has python3-dbusmock

log() { echo "ble-test: $*" >&2; }

# -------------------------------------------------------------------------------- system packages
need_install=()
command -v dbus-daemon >/dev/null 2>&1 || need_install+=(dbus)
"$PYTHON" -c 'import dbusmock' >/dev/null 2>&1 || need_install+=(python3-dbusmock)
pkg-config --exists dbus-1 >/dev/null 2>&1 || need_install+=(libdbus-1-dev)
command -v pkg-config >/dev/null 2>&1 || need_install+=(pkg-config)
if [ ${#need_install[@]} -gt 0 ]; then
    log "installing ${need_install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${need_install[@]}" >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y --no-install-recommends "${need_install[@]}" >/dev/null
    fi
fi

# ---------------------------------------------------------------------------------------- build
log "building"
# The CLI with its `ble` feature: it serves the simulators and runs the command-line cases.
cargo build -q -p rainmaker-prov-cli --features ble
cargo test -q -p rainmaker-prov-tests --features ble --test ble_flows --no-run 2>/dev/null \
    || cargo test -p rainmaker-prov-tests --features ble --test ble_flows --no-run
SIM_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/rainmaker-prov"

# ------------------------------------------------------------------------------ processes + trap
TMPD=$(mktemp -d)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMPD"
}
trap cleanup EXIT

# Waits until file $1 has a line matching $2 (at most 10 s); prints that line.
wait_for_line() {
    local file=$1 pattern=$2 i
    for i in $(seq 1 200); do
        if grep -m1 -E "$pattern" "$file" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    log "timed out waiting for /$pattern/ in $file:"
    cat "$file" >&2 || true
    return 1
}

# A private bus with a system-bus configuration that lets anyone own and call anything.
cat >"$TMPD/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$TMPD/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$TMPD/bus.conf" --nofork --nopidfile >"$TMPD/dbus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    [ -S "$TMPD/system_bus_socket" ] && break
    sleep 0.05
done
[ -S "$TMPD/system_bus_socket" ] || { log "dbus-daemon did not start"; cat "$TMPD/dbus.log" >&2; exit 1; }
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMPD/system_bus_socket"

# Starts a simulator with security $1 (label $2); its host:port goes to $TMPD/sim-$2.addr.
# (Not run in a command substitution, so that its pid lands in PIDS of this shell.)
start_sim() {
    local sec=$1 label=$2
    "$SIM_BIN" sim --transport softap --listen 127.0.0.1:0 --sec "$sec" --pop abcd1234 \
        --join-delay-ms 50 --no-auto-stop --seed 7 >"$TMPD/sim-$label.log" 2>&1 &
    PIDS+=($!)
    wait_for_line "$TMPD/sim-$label.log" 'listening on' >/dev/null
    grep -m1 -oE '127\.0\.0\.1:[0-9]+' "$TMPD/sim-$label.log" >"$TMPD/sim-$label.addr"
}
start_sim 1 1a
start_sim 1 1c
start_sim 2 2b
start_sim 2 2d
start_sim 2 cli
SIM1A=$(cat "$TMPD/sim-1a.addr")
SIM1C=$(cat "$TMPD/sim-1c.addr")
SIM2B=$(cat "$TMPD/sim-2b.addr")
SIM2D=$(cat "$TMPD/sim-2d.addr")
SIMCLI=$(cat "$TMPD/sim-cli.addr")

"$PYTHON" tests/ble/fake_bluez.py \
    --device "PROV_5ec1a0=http://$SIM1A,nimble" \
    --device "PROV_5ec1c0=http://$SIM1C,nimble" \
    --device "PROV_5ec2b0=http://$SIM2B,bluedroid" \
    --device "PROV_5ec2d0=http://$SIM2D,bluedroid" \
    --device "PROV_c11e00=http://$SIMCLI,nimble" \
    --plain-device Headphones >"$TMPD/bluez.out" 2>"$TMPD/bluez.log" &
PIDS+=($!)
wait_for_line "$TMPD/bluez.out" 'fake-bluez: ready' >/dev/null
log "fake BlueZ up ($(($(date +%s) - T0)) s)"

# ------------------------------------------------------------------------------------------ tests
set +e
RAINMAKER_PROV_FAKE_BLUEZ=1 cargo test -q -p rainmaker-prov-tests --features ble --test ble_flows \
    -- --test-threads=1 --format pretty >"$TMPD/test.log" 2>&1
status=$?
set -e
grep -E '^test .* (ok|FAILED)$' "$TMPD/test.log" || true
passed=$(grep -cE '^test .* ok$' "$TMPD/test.log" || true)
failed=$(grep -cE '^test .* FAILED$' "$TMPD/test.log" || true)
if [ "$status" -ne 0 ]; then
    cat "$TMPD/test.log" >&2
    [ "$failed" -gt 0 ] || failed=1
fi

# The command line over BLE. Case NAME EXPECTED-EXIT OUTPUT-PATTERN -- ARGS...
cli_case() {
    local name=$1 expected=$2 pattern=$3 code
    shift 4
    set +e
    "$SIM_BIN" "$@" >"$TMPD/cli-$name.out" 2>"$TMPD/cli-$name.err"
    code=$?
    set -e
    # grep reads the files itself: `cat | grep -q` could fail on SIGPIPE under pipefail.
    if [ "$code" -eq "$expected" ] && grep -qE "$pattern" "$TMPD/cli-$name.out" "$TMPD/cli-$name.err"; then
        echo "test cli_$name ... ok"
        passed=$((passed + 1))
    else
        echo "test cli_$name ... FAILED (exit $code, expected $expected; wanted /$pattern/)"
        cat "$TMPD/cli-$name.out" "$TMPD/cli-$name.err" >&2
        failed=$((failed + 1))
    fi
}
QR='{"ver":"v1","name":"PROV_c11e00","pop":"abcd1234","transport":"ble"}'
cli_case provision_by_qr_name 0 '"ok":true.*"security":2' -- \
    provision --transport ble --qrcode "$QR" --ssid RefPeer-Home --passphrase secretpass --json
cli_case scan_by_device_name 0 '"ssid":"RefPeer-Home"' -- \
    scan --transport ble --device-name PROV_5ec1a0 --pop abcd1234 --json
cli_case several_devices_need_a_name 2 'pick one with --device-name' -- \
    scan --transport ble --pop abcd1234 --ble-scan-seconds 1 --json
cli_case absent_device_is_unreachable 7 'PROV_000000' -- \
    scan --transport ble --device-name PROV_000000 --pop abcd1234 --ble-scan-seconds 1 --json

if [ "$failed" -gt 0 ]; then
    log "fake BlueZ log:"
    cat "$TMPD/bluez.log" >&2
fi
log "done in $(($(date +%s) - T0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
