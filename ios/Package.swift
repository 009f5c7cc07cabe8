// swift-tools-version:5.9
// Swift package of rainmaker-prov: the Rust library as an XCFramework (binary target) and the
// uniffi-generated Swift bindings over it. Run ./build-xcframework.sh on macOS first; it writes
// build/RainmakerProvFFI.xcframework and Sources/RainmakerProv/RainmakerProv.swift (both generated,
// gitignored).
import PackageDescription

let package = Package(
    name: "RainmakerProv",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [
        .library(name: "RainmakerProv", targets: ["RainmakerProv"]),
    ],
    targets: [
        // Static libraries for iOS devices (arm64) and the simulator (arm64 + x86_64), with the C
        // header and the `RainmakerProvFFI` module map.
        .binaryTarget(name: "RainmakerProvFFI", path: "build/RainmakerProvFFI.xcframework"),
        // The generated Swift API (`import RainmakerProv`).
        .target(
            name: "RainmakerProv",
            dependencies: ["RainmakerProvFFI"],
            path: "Sources/RainmakerProv"
        ),
    ]
)
