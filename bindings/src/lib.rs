//! uniffi bindings of rainmaker-prov for Android (Kotlin) and iOS (Swift).
//!
//! A thin layer: every exported type wraps a core type, errors are mapped in one place
//! ([`ProvError`]), and no protocol logic lives here. Async calls run on the bindings' own
//! tokio runtime.
//!
//! | module | what |
//! | --- | --- |
//! | [`device`] | [`ProvDevice`]: one provisioning session with one device |
//! | [`transport`] | [`ProvTransport`], implemented by the app (BLE) or built in (SoftAP, simulator) |
//! | [`ble`] | `ProvDevice.ble` over the core's `GattLink`, [`BleOptions`], [`gatt_status_error`] (feature `gatt`) |
//! | [`events`] | [`ProgressListener`], [`CancelHandle`] |
//! | [`error`] | [`ProvError`], [`ProvStep`] |
//! | [`types`] | options, capabilities, scan results, statuses |
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
pub use error::{ProvError, ProvStep};
pub use events::{CallbackError, CancelHandle, ProgressEvent, ProgressListener};
pub use logging::{LogLevel, LogRecord, Logger, set_logger, set_max_log_level};
pub use qr::{QrPayload, QrTransport, parse_qr_code};
#[cfg(feature = "rainmaker")]
pub use rainmaker::{
    AssociationPlan, CloudTokens, LoginOutcome, PendingMapping, RainMakerAssociation, RainMakerCloud,
    RainMakerProvisioning,
};
#[cfg(feature = "test-cloud")]
pub use sim::{FakeCloudFault, FakeRainMakerCloud, SimulatedRainMaker, start_fake_cloud};
#[cfg(feature = "simulator")]
pub use sim::{
    SimulatedDevice, SimulatedDeviceConfig, SimulatedNetwork, SimulatedPeripheral, SimulatedPeripheralConfig,
};
pub use transport::{LinkKind, ProvTransport, TransportFailure};
pub use types::{
    AppCapabilities, DeviceCapabilities, ProvOptions, SecurityLevel, SessionDetails, ThreadAttachment, ThreadNetwork,
    WifiConnection, WifiFailReason, WifiNetwork, WifiStatus,
};

/// The version of this library (the Cargo package version).
#[uniffi::export]
pub fn library_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
