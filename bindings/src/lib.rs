//! uniffi bindings of rainmaker-prov for Android (Kotlin) and iOS (Swift).
//!
//! A thin layer: the objects apps hold ([`ProvDevice`], [`CancelHandle`], the RainMaker cloud
//! client and the secret-holding values), the foreign interfaces apps implement
//! ([`ProvTransport`], [`ProgressListener`], [`Logger`]) and the options of those objects. Every
//! record, enum and error they take or return is the core's own type, exported by the core's
//! `uniffi` feature (Kotlin package `rainmaker.prov.core`; Swift module `RainmakerProv`): one
//! vocabulary from Rust to Kotlin and Swift. No protocol logic lives here. Async calls run on the
//! bindings' own tokio runtime.
//!
//! | module | what |
//! | --- | --- |
//! | [`device`] | [`ProvDevice`]: one provisioning session with one device |
//! | [`transport`] | [`ProvTransport`], implemented by the app (BLE) or built in (SoftAP, simulator) |
//! | [`ble`] | `ProvDevice.ble` over the core's `GattLink`, [`BleOptions`], [`gatt_status_error`] (feature `gatt`) |
//! | [`events`] | [`ProgressListener`], [`CancelHandle`] |
//! | [`error`] | runtime failures as the core's `ProvError` / `RainMakerError` |
//! | [`types`] | [`ProvOptions`] |
//! | [`qr`] | [`parse_qr_code`] |
//! | [`rainmaker`] | [`RainMakerCloud`], [`AssociationPlan`] (feature `rainmaker`) |
//! | [`logging`] | [`set_logger`], [`set_max_log_level`] |
//! | [`sim`] | [`SimulatedDevice`], [`SimulatedPeripheral`] (feature `simulator`) |

uniffi::setup_scaffolding!();

#[cfg(feature = "gatt")]
pub mod ble;
pub mod device;
pub mod error;
pub mod events;
pub mod logging;
pub mod qr;
#[cfg(feature = "rainmaker")]
pub mod rainmaker;
mod runtime;
#[cfg(feature = "simulator")]
pub mod sim;
pub mod transport;
pub mod types;

#[cfg(feature = "gatt")]
pub use ble::{BleOptions, gatt_status_error};
pub use device::ProvDevice;
pub use events::{CallbackError, CancelHandle, ProgressListener};
pub use logging::{LogLevel, LogRecord, Logger, set_logger, set_max_log_level};
pub use qr::parse_qr_code;
#[cfg(feature = "rainmaker")]
pub use rainmaker::{AssociationPlan, CloudTokens, LoginOutcome, RainMakerCloud};
pub use rainmaker_prov::transport::foreign::ProvTransport;
#[cfg(feature = "test-cloud")]
pub use sim::{FakeCloudFault, FakeRainMakerCloud, SimulatedRainMaker, start_fake_cloud};
#[cfg(feature = "simulator")]
pub use sim::{
    SimulatedDevice, SimulatedDeviceConfig, SimulatedNetwork, SimulatedPeripheral, SimulatedPeripheralConfig,
};
pub use types::ProvOptions;

/// The version of this library (the Cargo package version).
#[uniffi::export]
pub fn library_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
