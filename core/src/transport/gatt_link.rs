//! The primitive BLE interface the GATT driver runs on: what any BLE stack (btleplug on desktops,
//! `android.bluetooth`, CoreBluetooth) can do for one connected peripheral, without any
//! provisioning knowledge. The driver ([`super::gatt_driver`]) does everything protocol-specific
//! on top of it.
//!
//! Phone apps implement [`GattLink`] in Kotlin or Swift (it is a uniffi foreign trait with the
//! core's `uniffi` feature); the libraries ship ready implementations in `android/` and `ios/`.
//! Every method is async and may be cancelled by dropping its future; an implementation runs one
//! GATT operation at a time (the driver never issues two at once) and bounds nothing itself: the
//! driver applies its own timeouts and bounds what the peripheral sends.
//!
//! UUIDs: an implementation reports them in 128-bit text form (any case; 16-bit short forms such
//! as CoreBluetooth's `2901` are tolerated), and the driver hands each one back exactly as it was
//! reported by [`GattLink::discover_services`].
//!
//! Errors: which [`GattLinkError`] an operation returns decides what the driver reports.
//! [`GattLinkError::Unreachable`] means the link was not up when the operation was issued (nothing
//! reached the peripheral); [`GattLinkError::Disconnected`] means it went down during the
//! operation (for a write: Bluedroid firmware dropping the link because the request failed);
//! [`GattLinkError::Refused`] is an ATT error with the link still up (NimBLE firmware answers a
//! failed request with 0x04).

use async_trait::async_trait;

/// A GATT characteristic as service discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GattCharacteristicInfo {
    /// The characteristic's UUID, text form (any case; see the module notes on UUIDs).
    pub uuid: String,
    /// The UUIDs of its descriptors (text form, any case); the driver reads the User
    /// Description (0x2901, [`super::gatt::USER_DESCRIPTION_UUID`]) to learn endpoint names.
    pub descriptors: Vec<String>,
}

/// A GATT service as service discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GattServiceInfo {
    /// The service's UUID, text form (any case; see the module notes on UUIDs).
    pub uuid: String,
    /// Its characteristics, in the order the stack reports them.
    pub characteristics: Vec<GattCharacteristicInfo>,
}

/// Why a [`GattLink`] operation failed. The driver maps each to the transport error of the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[non_exhaustive]
pub enum GattLinkError {
    /// No connection could be made, Bluetooth is off/unauthorised (permissions), or the link was
    /// already down when the operation was issued: nothing was exchanged.
    #[error("cannot reach the peripheral: {detail}")]
    Unreachable {
        /// The stack's words (no secrets).
        detail: String,
    },
    /// The link went down during the operation (the peripheral disconnected, or the stack lost
    /// it).
    #[error("the BLE link dropped: {detail}")]
    Disconnected {
        /// The stack's words.
        detail: String,
    },
    /// The peripheral answered the operation with an ATT error (for example 0x04 from NimBLE
    /// firmware that failed the request); the link is still up.
    #[error("the peripheral refused the operation (ATT error {att_error:#04x})")]
    Refused {
        /// The ATT error code (0 when the stack does not say).
        att_error: u8,
    },
    /// Anything else the stack reported (busy, invalid handle, ...).
    #[error("BLE operation failed: {detail}")]
    Failed {
        /// The stack's words.
        detail: String,
    },
}

impl GattLinkError {
    /// The error for a GATT status code that is not success, as a BLE stack reports it
    /// (Android's `BluetoothGatt` callbacks' `status`, CoreBluetooth's `CBATTError` code, the ATT
    /// code in a BlueZ error): 0x01-0x7F are ATT errors the peripheral answered (`Refused` with
    /// that code: NimBLE firmware refuses a failed request that way); anything else is the stack's
    /// own failure (Android's 133 `GATT_ERROR`, 257 `GATT_FAILURE`, ...: `Failed`, with `operation`
    /// and the code in its detail).
    pub fn from_status(status: i32, operation: &str) -> Self {
        match u8::try_from(status) {
            Ok(att_error @ 0x01..=0x7f) => GattLinkError::Refused { att_error },
            _ => GattLinkError::Failed { detail: format!("{operation}: GATT status {status} ({status:#x})") },
        }
    }
}

/// A foreign implementation that failed in a way its interface does not declare (an unexpected
/// exception in Kotlin or Swift) counts as a failed operation.
#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for GattLinkError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        GattLinkError::Failed {
            detail: format!("the app's BLE adapter failed: {}", super::foreign::callback_failure(&e)),
        }
    }
}

/// One BLE peripheral, as a BLE stack exposes it. Implemented by the app's (or the shipped)
/// adapter; used only by the GATT driver, one operation at a time.
#[cfg_attr(feature = "uniffi", uniffi::export(foreign))]
#[async_trait]
pub trait GattLink: Send + Sync {
    /// Connects (when not connected) and requests the largest MTU the stack allows.
    async fn connect(&self) -> Result<(), GattLinkError>;
    /// Discovers the services with their characteristics and descriptors.
    async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError>;
    /// Reads the value of one descriptor of a characteristic of a service.
    async fn read_descriptor(
        &self,
        service: String,
        characteristic: String,
        descriptor: String,
    ) -> Result<Vec<u8>, GattLinkError>;
    /// Writes a characteristic with response (a long write when the value exceeds one ATT
    /// packet), returning once the peripheral acknowledged it.
    async fn write_characteristic(
        &self,
        service: String,
        characteristic: String,
        value: Vec<u8>,
    ) -> Result<(), GattLinkError>;
    /// Reads a characteristic (the stack reassembles long values).
    async fn read_characteristic(&self, service: String, characteristic: String) -> Result<Vec<u8>, GattLinkError>;
    /// The largest value one write may carry on this connection, when the stack limits it below
    /// the GATT maximum (512): for example 20 on a stack that negotiated no MTU and cannot do long
    /// writes. `None`: no limit beyond the protocol's own.
    fn write_limit(&self) -> Option<u32>;
    /// The service UUIDs of the peripheral's advertisement (text form), used to pick the
    /// provisioning service; empty when unknown. The driver asks after
    /// [`GattLink::discover_services`], so an implementation may refresh them there.
    fn advertised_services(&self) -> Vec<String>;
    /// Disconnects (best effort; never fails).
    async fn disconnect(&self);
}
