//! BLE over the app's BLE stack (feature `gatt`): [`ProvDevice::ble`] runs the core's GATT driver
//! (`GattTransport`) over a `GattLink`, the core's foreign interface that the app (or the shipped
//! Android/iOS adapter) implements with its BLE stack. `GattLink`, `GattServiceInfo`,
//! `GattCharacteristicInfo` and `GattLinkError` are the core's own types, generated into the
//! core's Kotlin package / Swift file; this module adds only the options and the constructor.

use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::transport::gatt::canonical_uuid;
use rainmaker_prov::transport::gatt_driver::{GattConfig, GattTransport};
use rainmaker_prov::transport::gatt_link::{GattLink, GattLinkError};

use crate::device::ProvDevice;
use crate::types::ProvOptions;
use rainmaker_prov::error::ProvError;

/// Settings of the GATT driver under [`ProvDevice::ble`]. Every field left `null`/`nil` (or
/// empty) takes the driver's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct BleOptions {
    /// Service UUIDs to try, in order, when the device advertises none it offers. Empty: the
    /// ESP-IDF example's `021a9004-0382-4aea-bff4-6b3f1c5adfb4`, then the provisioning manager's
    /// `1775244d-6b43-439b-877c-060f2d9bed07`.
    #[uniffi(default = [])]
    pub fallback_service_uuids: Vec<String>,
    /// The largest request sent, in bytes (default 481: Bluedroid firmware with security 2). The
    /// link's `writeLimit()` lowers it further.
    #[uniffi(default = None)]
    pub max_payload: Option<u32>,
    /// How long connecting may take (default 20 000 ms; expiry: `ProvError.Unreachable`).
    #[uniffi(default = None)]
    pub connect_timeout_ms: Option<u64>,
    /// How long service discovery and reading the endpoint names may take (default 20 000 ms).
    #[uniffi(default = None)]
    pub discovery_timeout_ms: Option<u64>,
    /// How long the write and the read of one exchange may take each (default 30 000 ms; expiry:
    /// `ProvError.Timeout`).
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
}

/// The driver settings `options` asks for, or what is wrong with them.
pub(crate) fn gatt_config(options: BleOptions) -> Result<GattConfig, ProvError> {
    let invalid = |detail: String| ProvError::InvalidInput { detail };
    let mut config = GattConfig::default();
    if !options.fallback_service_uuids.is_empty() {
        config.fallback_service_uuids = options
            .fallback_service_uuids
            .iter()
            .map(|uuid| canonical_uuid(uuid).map_err(|e| invalid(e.to_string())))
            .collect::<Result<_, _>>()?;
    }
    if let Some(max_payload) = options.max_payload {
        if max_payload == 0 {
            return Err(invalid("max_payload must be at least 1 byte".into()));
        }
        config.max_payload = usize::try_from(max_payload).unwrap_or(usize::MAX);
    }
    let timeout = |value: Option<u64>, name: &str, default: Duration| match value {
        None => Ok(default),
        Some(0) => Err(invalid(format!("{name} must be more than 0 ms"))),
        Some(ms) => Ok(Duration::from_millis(ms)),
    };
    config.connect_timeout = timeout(options.connect_timeout_ms, "connect_timeout_ms", config.connect_timeout)?;
    config.discovery_timeout = timeout(options.discovery_timeout_ms, "discovery_timeout_ms", config.discovery_timeout)?;
    config.request_timeout = timeout(options.request_timeout_ms, "request_timeout_ms", config.request_timeout)?;
    Ok(config)
}

#[uniffi::export]
impl ProvDevice {
    /// A device in BLE provisioning mode, reached through `link`: the shipped adapter
    /// (`AndroidGattLink` on Android, `CoreBluetoothGattLink` on iOS) or the app's own
    /// implementation of `GattLink`. The core's GATT driver picks the provisioning service, maps
    /// endpoint names to characteristics (0x2901 user descriptions, or the legacy UUIDs of
    /// firmware without them), bounds every operation with its timeouts and maps link failures to
    /// typed errors. Nothing is sent until `connect()`. Fails with `InvalidInput` for malformed
    /// `ble_options` (a fallback that is not a UUID in a form the driver reads, a zero size or timeout).
    #[uniffi::constructor(default(ble_options = None))]
    pub fn ble(
        link: Arc<dyn GattLink>,
        options: ProvOptions,
        ble_options: Option<BleOptions>,
    ) -> Result<Arc<Self>, ProvError> {
        let config = gatt_config(ble_options.unwrap_or_default())?;
        Ok(Self::over(Arc::new(GattTransport::new(link, config)), options))
    }
}

/// The `GattLinkError` for a GATT status code that is not success, as a BLE stack reports it
/// (Android's `BluetoothGatt` callbacks' `status`, CoreBluetooth's `CBATTError` code): the core's
/// rule ([`GattLinkError::from_status`]): 0x01-0x7F are ATT errors the peripheral answered
/// (`Refused`), anything else is the stack's own failure (`Failed`).
#[uniffi::export]
pub fn gatt_status_error(status: i32, operation: String) -> GattLinkError {
    GattLinkError::from_status(status, &operation)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_options_are_the_driver_defaults() {
        assert_eq!(gatt_config(BleOptions::default()).unwrap(), GattConfig::default());
    }

    #[test]
    fn options_override_the_defaults_and_fallbacks_are_canonical() {
        let config = gatt_config(BleOptions {
            fallback_service_uuids: vec!["0000FFFF-0000-1000-8000-00805F9B34FB".into(), "0xFFFE".into()],
            max_payload: Some(200),
            connect_timeout_ms: Some(1_000),
            discovery_timeout_ms: Some(2_000),
            request_timeout_ms: Some(3_000),
        })
        .unwrap();
        // The same forms the driver reads from a link, short ones included.
        assert_eq!(
            config.fallback_service_uuids,
            ["0000ffff-0000-1000-8000-00805f9b34fb", "0000fffe-0000-1000-8000-00805f9b34fb"]
        );
        assert_eq!(config.max_payload, 200);
        assert_eq!(config.connect_timeout, Duration::from_secs(1));
        assert_eq!(config.discovery_timeout, Duration::from_secs(2));
        assert_eq!(config.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn malformed_options_are_invalid_input() {
        for options in [
            BleOptions { fallback_service_uuids: vec!["not-a-uuid".into()], ..BleOptions::default() },
            BleOptions { max_payload: Some(0), ..BleOptions::default() },
            BleOptions { request_timeout_ms: Some(0), ..BleOptions::default() },
        ] {
            assert!(matches!(gatt_config(options), Err(ProvError::InvalidInput { .. })));
        }
    }

    #[test]
    fn att_errors_are_refusals_and_stack_codes_failures() {
        assert_eq!(gatt_status_error(0x04, "write".into()), GattLinkError::Refused { att_error: 4 });
        assert_eq!(gatt_status_error(0x0e, "write".into()), GattLinkError::Refused { att_error: 0x0e });
        assert_eq!(gatt_status_error(0x7f, "read".into()), GattLinkError::Refused { att_error: 0x7f });
        for status in [0, 133, 257, -1, 0x80] {
            match gatt_status_error(status, "write".into()) {
                GattLinkError::Failed { detail } => assert!(detail.starts_with("write: GATT status"), "{detail}"),
                other => panic!("{status}: {other:?}"),
            }
        }
    }
}
