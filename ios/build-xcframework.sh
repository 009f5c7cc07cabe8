#!/usr/bin/env bash
# Builds the iOS XCFramework and the Swift bindings (macOS with Xcode and rustup).
#   ios/build/RainmakerProvFFI.xcframework      static libraries: iOS arm64, simulator arm64+x86_64
#   ios/Sources/RainmakerProv/RainmakerProv.swift  generated Swift API
# Usage: ios/build-xcframework.sh [--debug]
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
profile=release
cargo_profile=(--release)
if [ "${1:-}" = "--debug" ]; then profile=debug; cargo_profile=(); fi

lib=librainmaker_prov_ffi.a
device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
out=ios/build

rustup target add "$device" "${simulators[@]}"
for target in "$device" "${simulators[@]}"; do
  cargo build -p rainmaker-prov-ffi --lib "${cargo_profile[@]}" --target "$target" \
    --no-default-features --features mobile
done

# The bindings come from the host build (same metadata; the generator reads it from the library).
# Same features as the device libraries, so the generated code names exactly their symbols.
cargo build -p rainmaker-prov-ffi --lib --no-default-features --features mobile
rm -rf "$out" && mkdir -p "$out/generated" "$out/headers" "$out/simulator"
# Two Swift files: the bindings (RainmakerProv.swift) and the core's own types, errors and events
# (RainmakerProvCore.swift, names in bindings/uniffi-crates.toml), both compiled into the
# RainmakerProv target; their two headers form the one RainmakerProvFFI C module.
cargo run -p rainmaker-prov-ffi --bin uniffi-bindgen -- generate \
  --library target/debug/librainmaker_prov_ffi.dylib --language swift \
  --config bindings/uniffi-crates.toml --out-dir "$out/generated"
cp "$out/generated/RainmakerProvFFI.h" "$out/generated/RainmakerProvCoreFFI.h" "$out/headers/"
sed 's|^\( *\)header "RainmakerProvFFI.h"|&\n\1header "RainmakerProvCoreFFI.h"|' \
  "$out/generated/RainmakerProvFFI.modulemap" > "$out/headers/module.modulemap"
grep -q RainmakerProvCoreFFI.h "$out/headers/module.modulemap"
mkdir -p ios/Sources/RainmakerProv
cp "$out/generated/RainmakerProv.swift" "$out/generated/RainmakerProvCore.swift" ios/Sources/RainmakerProv/

sim_libs=()
for target in "${simulators[@]}"; do sim_libs+=("target/$target/$profile/$lib"); done
lipo -create "${sim_libs[@]}" -output "$out/simulator/$lib"

xcodebuild -create-xcframework \
  -library "target/$device/$profile/$lib" -headers "$out/headers" \
  -library "$out/simulator/$lib" -headers "$out/headers" \
  -output "$out/RainmakerProvFFI.xcframework"
echo "built $out/RainmakerProvFFI.xcframework and ios/Sources/RainmakerProv/RainmakerProv{,Core}.swift"
