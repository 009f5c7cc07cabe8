// Android library module: the uniffi-generated Kotlin bindings plus the Rust library for each ABI.
//
// The Rust side is built by two tasks that run before `preBuild`:
//   cargoNdkBuild     cargo-ndk builds librainmaker_prov_ffi.so for arm64-v8a, armeabi-v7a and
//                     x86_64 into src/main/jniLibs (needs the NDK and `cargo install cargo-ndk`).
//   generateBindings  the workspace's own uniffi-bindgen writes the Kotlin bindings into
//                     src/main/kotlin (generated, gitignored; never edit them by hand).
// Hand-written library sources live in src/main/java: HttpUrlConnectionClient (the ready-made HTTP
// stack for the RainMaker cloud client) and rainmaker/prov/ble (AndroidGattLink and BleScanner,
// BLE on android.bluetooth for ProvDevice.ble).
import org.gradle.api.tasks.Exec
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.20"
}

val workspaceDir: File = rootDir.parentFile
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val cargoProfile = (findProperty("rustProfile") as String?) ?: "release"

android {
    namespace = "rainmaker.prov"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += rustAbis }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    // uniffi's generated code calls the native library through JNA (the AAR carries libjnidispatch).
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
}

val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds librainmaker_prov_ffi.so for ${rustAbis.joinToString()} into src/main/jniLibs"
    workingDir = workspaceDir
    val abiArgs = rustAbis.flatMap { listOf("-t", it) }
    val profileArgs = if (cargoProfile == "release") listOf("--release") else emptyList()
    commandLine(
        listOf("cargo", "ndk") + abiArgs + listOf("-o", file("src/main/jniLibs").path, "build") +
            profileArgs + listOf("-p", "rainmaker-prov-ffi", "--lib", "--no-default-features", "--features", "mobile")
    )
}

val generateBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings into src/main/kotlin with the workspace's uniffi-bindgen"
    dependsOn(cargoNdkBuild)
    workingDir = workspaceDir
    commandLine(
        "cargo", "run", "-p", "rainmaker-prov-ffi", "--bin", "uniffi-bindgen", "--",
        "generate", "--library", "target/aarch64-linux-android/$cargoProfile/librainmaker_prov_ffi.so",
        "--language", "kotlin", "--config", "bindings/uniffi-crates.toml", "--out-dir", file("src/main/kotlin").path,
    )
}

tasks.named("preBuild") { dependsOn(generateBindings) }
