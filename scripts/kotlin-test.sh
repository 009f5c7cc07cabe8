#!/usr/bin/env bash
# Kotlin binding tests on the JVM: builds the FFI cdylib, generates the Kotlin bindings with the
# workspace's own uniffi-bindgen, compiles them with the test program under android/src/test/kotlin
# and runs it. Installs its tools idempotently (kotlinc from npm into build/tools, JNA from Debian).
# Usage: scripts/kotlin-test.sh            Last line of output: "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

KOTLIN_VERSION=2.4.20
tools=$root/build/tools/kotlin-$KOTLIN_VERSION
kotlin_home=$tools/node_modules/kotlin-compiler
gen=$root/build/kotlin-gen
out=$root/build/kotlin-test
lib=$root/target/debug/librainmaker_prov_ffi.so

step() { echo "--> $*" >&2; }

# 1. Tools ---------------------------------------------------------------------------------------
if [ ! -x "$kotlin_home/bin/kotlinc" ] || [ ! -f "$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar" ]; then
  step "installing kotlin-compiler@$KOTLIN_VERSION (npm) into ${tools#"$root"/}"
  command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --no-package-lock --loglevel=error \
    "kotlin-compiler@$KOTLIN_VERSION" >&2
  chmod +x "$kotlin_home"/bin/* 2>/dev/null || true
fi
if [ ! -f /usr/share/java/jna.jar ]; then
  step "installing libjna-java (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends libjna-java >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends libjna-java >&2; }
fi
command -v java >/dev/null || { echo "java (17+) is required" >&2; exit 1; }
jna=/usr/share/java/jna.jar
stdlib=$kotlin_home/lib/kotlin-stdlib.jar
coroutines=$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar

# 2. Native library and generated bindings -------------------------------------------------------
# `test-cloud`: the fake RainMaker cloud and simulated RainMaker nodes the tests start.
step "cargo build -p rainmaker-prov-ffi --features test-cloud"
cargo build -q -p rainmaker-prov-ffi --features test-cloud
step "generating Kotlin bindings"
rm -rf "$gen"
# One Kotlin file per crate that exports types: rainmaker.prov (bindings) and rainmaker.prov.core
# (the core's RainMaker types; package set in bindings/uniffi-crates.toml).
cargo run -q -p rainmaker-prov-ffi --bin uniffi-bindgen -- generate --library "$lib" \
  --language kotlin --no-format --config bindings/uniffi-crates.toml --out-dir "$gen" >&2

# The README sample must be the code the tests compile. Blocks fenced ```kotlin android use the
# Android SDK (the shipped BLE adapter) and cannot be compiled here; the README says so.
python3 - android/README.md android/src/test/kotlin/rainmaker/prov/samples/ReadmeSample.kt <<'PY'
import re, sys
readme, sample = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
blocks = re.findall(r"```kotlin\n(.*?)```", readme, re.S)
stale = [b for b in blocks if b.strip() not in sample]
if not blocks or stale:
    sys.exit(f"{sys.argv[1]}: the Kotlin sample differs from {sys.argv[2]}")
PY

# 3. Compile (skipped when the generated code and the test sources are unchanged) -----------------
# The generated bindings, the library's hand-written sources (HttpUrlConnectionClient) and the tests.
# Not src/main/java/rainmaker/prov/ble (AndroidGattLink, BleScanner): they need the Android SDK
# (android.bluetooth), which a plain JVM does not have; the tests drive the same GattLink interface
# with a Kotlin fake peripheral instead.
mapfile -t sources < <(find "$gen" "$root/android/src/main/java" "$root/android/src/test/kotlin" -name '*.kt' \
  ! -path "$root/android/src/main/java/rainmaker/prov/ble/*" | LC_ALL=C sort)
stamp=$( (echo "$KOTLIN_VERSION"; cat "${sources[@]}") | sha256sum | cut -d' ' -f1)
jar=$out/tests-$stamp.jar
if [ ! -f "$jar" ]; then
  step "kotlinc (${#sources[@]} files)"
  rm -rf "$out" && mkdir -p "$out"
  JAVA_OPTS="${JAVA_OPTS:--Xmx1g}" "$kotlin_home/bin/kotlinc" -nowarn -cp "$coroutines:$jna" \
    "${sources[@]}" -d "$jar.tmp.jar"
  mv "$jar.tmp.jar" "$jar"
else
  step "kotlinc skipped (sources unchanged)"
fi

# 4. Run -------------------------------------------------------------------------------------------
step "running the Kotlin binding tests"
exec java -Djna.library.path="$root/target/debug" -cp "$jar:$stdlib:$coroutines:$jna" \
  rainmaker.prov.tests.MainKt
