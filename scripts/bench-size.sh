#!/usr/bin/env bash
# Measures the bindings' cdylib for the mobile feature set (the library an app ships: SoftAP, the
# simulator and the RainMaker flows with the cloud client over the app's HTTP stack), in the
# `release` profile and in the size-tuned `mobile` profile, unstripped and stripped, on this host
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
for profile in "${profiles[@]}"; do
  cargo build --profile "$profile" -q -p rainmaker-prov-ffi --lib --no-default-features --features mobile
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
