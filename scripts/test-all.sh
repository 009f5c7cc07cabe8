#!/usr/bin/env bash
# The project's one test command: installs what it needs (idempotently) and runs every test suite.
# Usage: scripts/test-all.sh               (CI runs exactly this through .ci/run)
#        scripts/test-all.sh --tools-only  (only install the system tools: Java 17+, npm, groff, zsh, fish)
# TEST_ALL_DRY_RUN=1 prints the package commands instead of running them.
# Each suite's wall time is printed when it ends; build/test-all.log gets one line per suite
# (name, result, seconds) and the final `all: N passed, M failed` line.
set -euo pipefail
cd "$(dirname "$0")/.."

# ------------------------------------------------------------------ system tools (Java, npm, groff, zsh, fish)
# scripts/kotlin-test.sh needs `java` 17+ (kotlinc and the test run) and `npm` (it installs
# kotlin-compiler from npm). Nothing else in scripts/ uses Java, Gradle, kotlinc, npm or node.

apt_updated=0
as_root() { # runs a command as root (sudo when not root), or prints it under TEST_ALL_DRY_RUN=1
  if [ "${TEST_ALL_DRY_RUN:-0}" = 1 ]; then echo "dry run: $*"; return 0; fi
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
apt_install() { # packages...: one `apt-get update` per run, non-interactive
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
java_major() { # $1 = java or javac: prints the major version on PATH (0 when absent or unreadable)
  local line v
  command -v "$1" >/dev/null 2>&1 || { echo 0; return; }
  line=$("$1" -version 2>&1 | head -n 1 || true)
  # `openjdk version "17.0.15" ...`, `java version "1.8.0_402"`, `javac 17.0.15`
  v=$(printf '%s\n' "$line" | grep -Eo '[0-9]+(\.[0-9]+)*' | head -n 1 || true)
  case "$v" in
    1.*) v=${v#1.}; v=${v%%.*} ;;
    *) v=${v%%.*} ;;
  esac
  [ -n "$v" ] && echo "$v" || echo 0
}
jdk_package() { # the first JDK package with an install candidate: default-jdk-headless is 17 on
  # Debian 12 (bookworm) and 21 on Debian 13 (trixie); openjdk-17 is only in bookworm.
  local pkg policy
  for pkg in default-jdk-headless openjdk-17-jdk-headless openjdk-21-jdk-headless; do
    # Read the whole answer first: `grep -q` closing the pipe early would fail it under pipefail.
    policy=$(apt-cache policy "$pkg" 2>/dev/null || true)
    if printf '%s\n' "$policy" | grep -Eq 'Candidate: [^(]'; then echo "$pkg"; return; fi
  done
  echo default-jdk-headless
}
install_tools() { # installs what is missing; reports what it found
  local want=() java_v javac_v jdk
  java_v=$(java_major java); javac_v=$(java_major javac)
  if [ "$java_v" -lt 17 ] || [ "$javac_v" -lt 17 ]; then
    jdk=$(jdk_package)
    echo "tools: java $java_v / javac $javac_v (17+ needed): installing $jdk"
    want+=("$jdk")
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "tools: npm missing: installing npm"
    want+=(npm)
  fi
  # The CLI's tests: groff renders the manual page, zsh and fish parse the completion scripts,
  # `script` (util-linux, essential on Debian) gives prompts a pseudo-terminal.
  local tool pkg
  for tool in groff:groff-base zsh:zsh fish:fish script:util-linux; do
    pkg=${tool#*:}; tool=${tool%%:*}
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "tools: $tool missing: installing $pkg"
      want+=("$pkg")
    fi
  done
  if [ "${#want[@]}" -eq 0 ]; then
    echo "tools: java $java_v, javac $javac_v, npm $(npm --version 2>/dev/null || echo '?'), groff, zsh, fish: nothing to install"
    return 0
  fi
  apt_install "${want[@]}" || { echo "tools: installing ${want[*]} failed" >&2; return 1; }
  [ "${TEST_ALL_DRY_RUN:-0}" = 1 ] && return 0
  java_v=$(java_major java); javac_v=$(java_major javac)
  local missing=()
  [ "$java_v" -ge 17 ] && [ "$javac_v" -ge 17 ] || missing+=("java/javac 17+ (found $java_v/$javac_v)")
  for tool in npm groff zsh fish script; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "tools: still missing after install: ${missing[*]}" >&2
    return 1
  fi
}

if [ "${1:-}" = "--tools-only" ]; then
  install_tools
  exit
fi

# ------------------------------------------------------------------ suites
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
run_suite() { # name, command...: runs it, prints and logs its result and wall time
  local name=$1; shift
  echo "==> $name"
  local out="build/suite-$name.log" start=$SECONDS result=passed
  if "$@" 2>&1 | tee "$out"; then :; else result=FAILED; failed=$((failed + 1)); fi
  echo "suite $name: $result in $((SECONDS - start)) s" | tee -a "$log"
}

echo "==> toolchain"
# The toolchain pinned in rust-toolchain.toml, with its components; recent rustup versions no
# longer install it implicitly on first use.
rustup toolchain install
cargo --version
rustup component add clippy rustfmt >/dev/null 2>&1 || true

# Java 17+ and npm for the Kotlin suite (its script installs kotlinc from npm and JNA itself);
# groff, zsh and fish for the CLI's manual-page and completion tests.
install_tools || echo "tools: the Kotlin and CLI suites will fail without Java 17+, npm, groff, zsh and fish" >&2
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
run_suite mobile-targets bash scripts/mobile-targets-check.sh
count_plain build/suite-mobile-targets.log
run_suite interop bash scripts/interop-test.sh
count_plain build/suite-interop.log
# The mobile library's size budget (2.0 MB stripped, `mobile` profile).
run_suite size bash scripts/bench-size.sh --mobile-only
count_plain build/suite-size.log
# BLE last: it installs libdbus (needed by btleplug) and builds the CLI with its `ble` feature.
run_suite ble bash scripts/ble-test.sh
count_plain build/suite-ble.log
run_suite clippy-ble cargo clippy -p rainmaker-prov -p rainmaker-prov-cli -p rainmaker-prov-tests --all-targets --features ble --locked -- -D warnings

echo "all: $passed passed, $failed failed" >> "$log"
echo
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
