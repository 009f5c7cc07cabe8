//! The workspace's own `uniffi-bindgen`, so generated Kotlin/Swift always matches this uniffi version.

fn main() {
    uniffi::uniffi_bindgen_main()
}
