#!/usr/bin/env bash
# Measures the bindings' cdylib for the mobile feature set (the library an app ships), in the
# `release` profile and in the size-tuned `mobile` profile, unstripped and stripped, on this host
# (x86_64 Linux; the Android slices need the NDK to link, the iOS ones macOS).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
for profile in release mobile; do
  cargo build --profile "$profile" -q -p rainmaker-prov-ffi --lib --no-default-features --features mobile
  lib="target/$profile/librainmaker_prov_ffi.so"
  cp "$lib" "build/size-$profile.so"
  strip "build/size-$profile.so"
  printf '%-8s cdylib (mobile features): %9s bytes unstripped, %9s bytes stripped\n' \
    "$profile" "$(stat -c %s "$lib")" "$(stat -c %s "build/size-$profile.so")"
done
