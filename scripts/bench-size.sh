#!/usr/bin/env bash
# Measures the bindings' cdylib for the mobile feature set (the library an app ships: SoftAP, BLE
# through the app's GattLink, and the RainMaker flows with the cloud client over the app's HTTP
# stack), in the `release` profile and in the size-tuned `mobile` profile, unstripped and stripped,
# on this host
# (x86_64 Linux; the Android slices need the NDK to link, the iOS ones macOS). Fails when the
# stripped `mobile` build is above the budget (SIZE_BUDGET_BYTES, default 2.0 MB = 2,000,000).
# `--mobile-only` skips the release profile (what the test command runs).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
budget="${SIZE_BUDGET_BYTES:-2000000}"
profiles=(release mobile)
if [ "${1:-}" = "--mobile-only" ]; then profiles=(mobile); fi
status=0
# The mobile library's link, as .cargo/config.toml gives it to the Android targets: identical code
# folding and relocations packed in Android's format (loaded since API 23; the AAR's minSdk is 24).
# Passed to the final link only (`cargo rustc`), so no dependency is rebuilt for it.
link_args=(-C link-arg=-Wl,--icf=all -C link-arg=-Wl,--pack-dyn-relocs=android)
for profile in "${profiles[@]}"; do
  if [ "$profile" = mobile ]; then
    cargo rustc --profile mobile -q -p rainmaker-prov-ffi --lib --no-default-features --features mobile -- "${link_args[@]}"
  else
    cargo build --profile "$profile" -q -p rainmaker-prov-ffi --lib --no-default-features --features mobile
  fi
  lib="target/$profile/librainmaker_prov_ffi.so"
  cp "$lib" "build/size-$profile.so"
  strip "build/size-$profile.so"
  stripped=$(stat -c %s "build/size-$profile.so")
  printf '%-8s cdylib (mobile features): %9s bytes unstripped, %9s bytes stripped\n' \
    "$profile" "$(stat -c %s "$lib")" "$stripped"
  if [ "$profile" = mobile ]; then
    if [ "$stripped" -le "$budget" ]; then
      echo "size: 1 passed, 0 failed (mobile stripped $stripped <= budget $budget bytes)"
    else
      echo "size: 0 passed, 1 failed (mobile stripped $stripped > budget $budget bytes)"
      status=1
    fi
  fi
done
exit "$status"
