#!/usr/bin/env bash
# Type-checks the Android build of the FFI crate: the `mobile` feature set (SoftAP over plain
# HTTP + the device simulator, no TLS, no C dependencies) for aarch64-linux-android. Linking needs
# the Android NDK (cargo-ndk, see android/README.md); checking does not.
# Usage: scripts/android-check.sh        Last line of output: "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-linux-android
if ! rustup target list --installed | grep -qx "$target"; then
  echo "--> rustup target add $target" >&2
  rustup target add "$target" >&2
fi
echo "--> cargo check -p rainmaker-prov-ffi --target $target --no-default-features --features mobile" >&2
if cargo check -q -p rainmaker-prov-ffi --target "$target" --no-default-features --features mobile >&2; then
  checked=1
else
  echo "android-check: cargo check failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# The mobile dependency graph must stay free of TLS stacks and of crates that compile C code.
tree=$(cargo tree -p rainmaker-prov-ffi --target "$target" --no-default-features --features mobile \
  -e normal,build --prefix none --format '{p}' | sed 's/ .*//' | sort -u)
forbidden=$(grep -xE 'aws-lc-sys|aws-lc-rs|ring|openssl-sys|openssl|native-tls|rustls|cc|cmake|bindgen|libdbus-sys|libudev-sys|btleplug' <<<"$tree" || true)
if [ -n "$forbidden" ]; then
  echo "android-check: the mobile feature set pulls in: $(tr '\n' ' ' <<<"$forbidden")" >&2
  echo "$checked passed, 1 failed"
  exit 1
fi
http=$(grep -xE 'reqwest|hyper' <<<"$tree" | tr '\n' ' ' || true)
echo "--> mobile dependency graph: $(wc -l <<<"$tree") crates, no TLS stack, no C builds${http:+ (HTTP client: $http)}" >&2
echo "2 passed, 0 failed"
