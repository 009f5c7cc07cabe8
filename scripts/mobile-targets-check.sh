#!/usr/bin/env bash
# CI type-check of what the phone libraries ship: the FFI crate's `mobile` feature set (SoftAP over
# plain HTTP, RainMaker over the app's HTTP stack, BLE over the app's GattLink) for
# aarch64-linux-android and aarch64-apple-ios. For each target: `cargo check` must pass, and the
# dependency graph (`cargo tree`, normal and build edges) must hold no TLS crate (rustls, ring,
# openssl, native-tls, aws-lc) and no crate that compiles C (`cc`, `cmake` as build dependencies).
# Linking needs the NDK / Xcode; checking does not.
# Usage: scripts/mobile-targets-check.sh      Last line of output: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-linux-android aarch64-apple-ios)
features=(-p rainmaker-prov-ffi --no-default-features --features mobile)
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

echo "--> rustup target add ${targets[*]}" >&2
if ! rustup target add "${targets[@]}" >&2; then
  echo "mobile-targets-check: rustup target add failed" >&2
fi

for target in "${targets[@]}"; do
  echo "--> cargo check ${features[*]} --lib --target $target --locked" >&2
  if cargo check -q "${features[@]}" --lib --target "$target" --locked >&2; then
    pass "$target: cargo check (mobile)"
  else
    fail "$target: cargo check (mobile)"
  fi

  # Crate names only, once each; normal and build dependencies (dev-dependencies never ship).
  if ! tree=$(cargo tree "${features[@]}" --target "$target" --locked -e normal,build --prefix none \
      --format '{p}' 2>/dev/null | sed 's/ .*//' | sort -u) || [ -z "$tree" ]; then
    fail "$target: cargo tree failed"
    fail "$target: cargo tree failed"
    continue
  fi
  tls=$(grep -xE 'rustls|rustls-.*|ring|openssl|openssl-sys|native-tls|aws-lc-rs|aws-lc-sys|aws-lc-fips-sys' \
    <<<"$tree" | tr '\n' ' ' || true)
  if [ -z "$tls" ]; then
    pass "$target: no TLS crate in the graph ($(wc -l <<<"$tree") crates)"
  else
    fail "$target: TLS crates in the graph: $tls"
  fi
  # `cc` is only ever a build dependency: anywhere in the normal+build graph it compiles C.
  cbuild=$(grep -xE 'cc|cmake|bindgen' <<<"$tree" | tr '\n' ' ' || true)
  if [ -z "$cbuild" ]; then
    pass "$target: no C-building crate (cc, cmake) in the graph"
  else
    fail "$target: C-building crates in the graph: $cbuild"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
