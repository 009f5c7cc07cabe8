#!/usr/bin/env bash
# The project's one test command: installs what it needs (idempotently) and runs every test suite.
# Usage: scripts/test-all.sh        (CI runs exactly this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
log=build/test-all.log
: > "$log"
passed=0
failed=0

count_cargo() { # sums the "test result:" lines of cargo test output
  local p f
  p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | awk '{s+=$6} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}
count_plain() { # reads the last "N passed, M failed" line of a script's output
  local line
  line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(echo "$line" | sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/')))
  failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}
run_suite() { # name, command...
  local name=$1; shift
  echo "==> $name"
  local out="build/suite-$name.log"
  if "$@" 2>&1 | tee "$out"; then :; else echo "suite $name FAILED"; failed=$((failed + 1)); fi
}

echo "==> toolchain"
cargo --version
rustup component add clippy rustfmt >/dev/null 2>&1 || true

run_suite fmt cargo fmt --all --check
run_suite build cargo build --workspace --all-targets --locked
run_suite clippy cargo clippy --workspace --all-targets --locked -- -D warnings
run_suite doc env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
run_suite cargo-test cargo test --workspace --locked
count_cargo build/suite-cargo-test.log
run_suite fuzz bash scripts/fuzz-test.sh
count_plain build/suite-fuzz.log
run_suite kotlin bash scripts/kotlin-test.sh
count_plain build/suite-kotlin.log
run_suite swift bash scripts/swift-test.sh
count_plain build/suite-swift.log
run_suite android bash scripts/android-check.sh
count_plain build/suite-android.log
run_suite interop bash scripts/interop-test.sh
count_plain build/suite-interop.log
# The mobile library's size budget (2.0 MB stripped, `mobile` profile).
run_suite size bash scripts/bench-size.sh --mobile-only
count_plain build/suite-size.log
# BLE last: it installs libdbus (needed by btleplug) and builds the CLI with its `ble` feature.
run_suite ble bash scripts/ble-test.sh
count_plain build/suite-ble.log
run_suite clippy-ble cargo clippy -p rainmaker-prov -p rainmaker-prov-cli -p rainmaker-prov-tests --all-targets --features ble --locked -- -D warnings

echo
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
