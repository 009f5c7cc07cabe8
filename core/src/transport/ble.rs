//! BLE GATT transport over btleplug (docs/protocol.md §5.1): device discovery by advertised name
//! ([`scan`], [`find_device`]) and [`BleTransport`], the GATT driver
//! ([`super::gatt_driver::GattTransport`]) over a thin [`GattLink`] on btleplug. Everything
//! protocol-specific (service choice, endpoint names from the 0x2901 user descriptions, size
//! limits, timeouts, failure mapping) is the driver's, shared with the phones' BLE adapters.
//!
//! Feature `ble` (desktop and CLI; on Linux it talks to BlueZ over D-Bus and needs libdbus). Phones
//! bring their own BLE stack as a [`GattLink`] implementation.
//!
//! Failure semantics (the driver's): a device reports a failed request (unknown endpoint,
//! decryption, handler or handshake failure) either by dropping the link (Bluedroid) or by
//! answering the write with ATT error 0x04 (NimBLE). Both give
//! [`TransportError::ClosedWithoutResponse`]. A link found down before a write gives
//! [`TransportError::Disconnected`]. After [`Transport::disconnect`] (or a dropped link) the next
//! [`Transport::send`] connects again, which opens a new security session on the device.
//!
//! BlueZ negotiates the ATT MTU itself (btleplug offers no MTU request on Linux) and splits long
//! values into Read Blob / Prepare Write requests as needed, so a whole response always arrives
//! in one read.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use btleplug::api::{Central as _, Characteristic, Manager as _, Peripheral as _, ScanFilter, Service, WriteType};
use btleplug::platform::{Adapter, Manager, Peripheral};
use uuid::Uuid;

use super::gatt::NameFilter;
use super::gatt_driver::{self, GattConfig, GattTransport, bounded, millis};
use super::gatt_link::{GattCharacteristicInfo, GattLink, GattLinkError, GattServiceInfo};
use super::{Transport, TransportError, TransportKind};

/// The largest request or response Bluedroid firmware with security 2 support carries.
pub const BLE_MAX_PAYLOAD: usize = gatt_driver::DEFAULT_MAX_PAYLOAD;

/// How often the adapter's device list is polled during a scan.
const SCAN_POLL: Duration = Duration::from_millis(200);

/// Settings of a [`BleTransport`]: the GATT driver's (the same defaults: the ESP-IDF example's
/// and the manager's service UUIDs as fallbacks, 481 bytes, 20 s / 20 s / 30 s).
pub type BleConfig = GattConfig;

/// A device found by [`scan`]: its advertisement and the handle to connect to it.
#[derive(Clone)]
pub struct BleDevice {
    name: String,
    address: String,
    rssi: Option<i16>,
    advertised_services: Vec<String>,
    peripheral: Peripheral,
}

impl std::fmt::Debug for BleDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BleDevice")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("rssi", &self.rssi)
            .field("advertised_services", &self.advertised_services)
            .finish_non_exhaustive()
    }
}

impl BleDevice {
    /// The advertised local name (`PROV_1a2b3c`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Bluetooth address as the stack reports it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Signal strength at the last advertisement, if known.
    pub fn rssi(&self) -> Option<i16> {
        self.rssi
    }

    /// The service UUIDs in the advertisement, canonical lowercase.
    pub fn advertised_services(&self) -> &[String] {
        &self.advertised_services
    }
}

fn unavailable(error: impl std::fmt::Display) -> TransportError {
    TransportError::Unreachable { detail: format!("Bluetooth unavailable: {error}") }
}

async fn first_adapter() -> Result<Adapter, TransportError> {
    let manager = Manager::new().await.map_err(unavailable)?;
    let adapters = manager.adapters().await.map_err(unavailable)?;
    adapters.into_iter().next().ok_or_else(|| unavailable("no Bluetooth adapter"))
}

/// The device behind `peripheral` if its advertised name passes `filter`.
async fn describe(peripheral: Peripheral, filter: &NameFilter) -> Option<BleDevice> {
    let properties = match peripheral.properties().await {
        Ok(Some(properties)) => properties,
        Ok(None) => return None,
        Err(error) => {
            log::debug!("ble: cannot read the properties of {}: {error}", peripheral.address());
            return None;
        }
    };
    let name = [properties.advertisement_name.as_deref(), properties.local_name.as_deref()]
        .into_iter()
        .flatten()
        .find(|name| filter.matches(name))?
        .to_owned();
    Some(BleDevice {
        name,
        address: properties.address.to_string(),
        rssi: properties.rssi,
        advertised_services: properties.services.iter().map(Uuid::to_string).collect(),
        peripheral,
    })
}

async fn scan_adapter(
    adapter: &Adapter,
    filter: &NameFilter,
    duration: Duration,
    stop_at_first: bool,
) -> Result<Vec<BleDevice>, TransportError> {
    let deadline = tokio::time::Instant::now() + duration;
    let mut found: Vec<BleDevice> = Vec::new();
    loop {
        let peripherals = adapter.peripherals().await.map_err(unavailable)?;
        for peripheral in peripherals {
            if found.iter().any(|device| device.peripheral.id() == peripheral.id()) {
                continue;
            }
            if let Some(device) = describe(peripheral, filter).await {
                log::debug!("ble: found {} ({})", device.name, device.address);
                found.push(device);
            }
        }
        let now = tokio::time::Instant::now();
        if (stop_at_first && !found.is_empty()) || now >= deadline {
            break;
        }
        tokio::time::sleep(SCAN_POLL.min(deadline - now)).await;
    }
    found.sort_by_key(|device| std::cmp::Reverse(device.rssi.unwrap_or(i16::MIN)));
    Ok(found)
}

async fn scan_with(
    filter: &NameFilter,
    duration: Duration,
    stop_at_first: bool,
) -> Result<Vec<BleDevice>, TransportError> {
    let adapter = first_adapter().await?;
    adapter.start_scan(ScanFilter::default()).await.map_err(unavailable)?;
    // D-Bus calls are bounded by the stack; this bounds the whole scan as well.
    let limit = duration + Duration::from_secs(10);
    let result = bounded(limit, scan_adapter(&adapter, filter, duration, stop_at_first), || TransportError::Timeout {
        millis: millis(limit),
    })
    .await;
    if let Err(error) = adapter.stop_scan().await {
        log::debug!("ble: stopping the scan failed: {error}");
    }
    result
}

/// Scans for `duration` and returns every device whose advertised name passes `filter`,
/// strongest signal first.
pub async fn scan(filter: &NameFilter, duration: Duration) -> Result<Vec<BleDevice>, TransportError> {
    scan_with(filter, duration, false).await
}

/// Scans for at most `duration` and returns the first device whose advertised name passes
/// `filter`; [`TransportError::Unreachable`] when none shows up.
pub async fn find_device(filter: &NameFilter, duration: Duration) -> Result<BleDevice, TransportError> {
    let found = scan_with(filter, duration, true).await?;
    found.into_iter().next().ok_or_else(|| {
        let wanted = match filter {
            NameFilter::Prefix(prefix) => format!("a device named `{prefix}…`"),
            NameFilter::Exact(name) => format!("the device `{name}`"),
        };
        TransportError::Unreachable { detail: format!("{wanted} did not show up within {} s", duration.as_secs()) }
    })
}

/// The [`GattLink`] of one btleplug peripheral. It keeps the btleplug objects of the last service
/// discovery, to find a characteristic or descriptor by the UUIDs the driver hands back.
struct BtleplugLink {
    peripheral: Peripheral,
    name: String,
    /// The advertised services as the stack knows them (refreshed at each discovery, else the
    /// scan's).
    advertised: Mutex<Vec<String>>,
    /// The services of the last discovery.
    services: Mutex<Vec<Service>>,
}

impl BtleplugLink {
    fn new(device: &BleDevice) -> Self {
        Self {
            peripheral: device.peripheral.clone(),
            name: device.name.clone(),
            advertised: Mutex::new(device.advertised_services.clone()),
            services: Mutex::new(Vec::new()),
        }
    }

    async fn connected(&self) -> bool {
        self.peripheral.is_connected().await.unwrap_or(false)
    }

    /// The error of a failed operation: [`GattLinkError::Disconnected`] when the link is down
    /// after it, else an ATT refusal or a plain failure.
    async fn failure(&self, error: btleplug::Error) -> GattLinkError {
        let detail = error.to_string();
        if !self.connected().await {
            return GattLinkError::Disconnected { detail };
        }
        match att_error_code(&detail) {
            Some(code) => GattLinkError::from_status(i32::from(code), &detail),
            None => GattLinkError::Failed { detail },
        }
    }

    /// Fails with [`GattLinkError::Unreachable`] when the link is down: nothing is sent then.
    async fn require_link(&self) -> Result<(), GattLinkError> {
        if self.connected().await {
            Ok(())
        } else {
            Err(GattLinkError::Unreachable { detail: "not connected".to_owned() })
        }
    }

    fn characteristic(&self, service: &str, characteristic: &str) -> Result<Characteristic, GattLinkError> {
        let unknown = || GattLinkError::Failed { detail: format!("no characteristic {characteristic}") };
        let service = Uuid::parse_str(service).map_err(|_| unknown())?;
        let uuid = Uuid::parse_str(characteristic).map_err(|_| unknown())?;
        let services = self.services.lock().unwrap_or_else(PoisonError::into_inner);
        services
            .iter()
            .filter(|s| s.uuid == service)
            .flat_map(|s| s.characteristics.iter())
            .find(|c| c.uuid == uuid)
            .cloned()
            .ok_or_else(unknown)
    }
}

/// The ATT error code of a BlueZ error text (`Operation failed with ATT error: 0x04`).
fn att_error_code(text: &str) -> Option<u8> {
    let (_, rest) = text.split_once("ATT error: 0x")?;
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).take(2).collect();
    u8::from_str_radix(&digits, 16).ok()
}

#[async_trait]
impl GattLink for BtleplugLink {
    async fn connect(&self) -> Result<(), GattLinkError> {
        if !self.connected().await {
            self.peripheral
                .connect()
                .await
                .map_err(|error| GattLinkError::Unreachable { detail: error.to_string() })?;
        }
        log::debug!("ble: connected to {}", self.name);
        Ok(())
    }

    async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError> {
        self.require_link().await?;
        if let Err(error) = self.peripheral.discover_services().await {
            return Err(self.failure(error).await);
        }
        let services: Vec<Service> = self.peripheral.services().into_iter().collect();
        // The advertisement as the stack knows it now, else as it was at the scan.
        if let Ok(Some(properties)) = self.peripheral.properties().await
            && !properties.services.is_empty()
        {
            *self.advertised.lock().unwrap_or_else(PoisonError::into_inner) =
                properties.services.iter().map(Uuid::to_string).collect();
        }
        let infos = services
            .iter()
            .map(|service| GattServiceInfo {
                uuid: service.uuid.to_string(),
                characteristics: service
                    .characteristics
                    .iter()
                    .map(|c| GattCharacteristicInfo {
                        uuid: c.uuid.to_string(),
                        descriptors: c.descriptors.iter().map(|d| d.uuid.to_string()).collect(),
                    })
                    .collect(),
            })
            .collect();
        *self.services.lock().unwrap_or_else(PoisonError::into_inner) = services;
        Ok(infos)
    }

    async fn read_descriptor(
        &self,
        service: String,
        characteristic: String,
        descriptor: String,
    ) -> Result<Vec<u8>, GattLinkError> {
        let found = self.characteristic(&service, &characteristic)?;
        let wanted = Uuid::parse_str(&descriptor).ok();
        let descriptor = found
            .descriptors
            .iter()
            .find(|d| Some(d.uuid) == wanted)
            .ok_or_else(|| GattLinkError::Failed { detail: format!("no descriptor {descriptor}") })?;
        match self.peripheral.read_descriptor(descriptor).await {
            Ok(value) => Ok(value),
            Err(error) => Err(self.failure(error).await),
        }
    }

    async fn write_characteristic(
        &self,
        service: String,
        characteristic: String,
        value: Vec<u8>,
    ) -> Result<(), GattLinkError> {
        let found = self.characteristic(&service, &characteristic)?;
        // A link found down before the write is not the device refusing the request.
        self.require_link().await?;
        match self.peripheral.write(&found, &value, WriteType::WithResponse).await {
            Ok(()) => Ok(()),
            Err(error) => Err(self.failure(error).await),
        }
    }

    async fn read_characteristic(&self, service: String, characteristic: String) -> Result<Vec<u8>, GattLinkError> {
        let found = self.characteristic(&service, &characteristic)?;
        match self.peripheral.read(&found).await {
            Ok(value) => Ok(value),
            Err(error) => Err(self.failure(error).await),
        }
    }

    fn write_limit(&self) -> Option<u32> {
        // BlueZ negotiates the MTU and splits long writes itself.
        None
    }

    fn advertised_services(&self) -> Vec<String> {
        self.advertised.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    async fn disconnect(&self) {
        let peripheral = &self.peripheral;
        let outcome =
            if peripheral.is_connected().await.unwrap_or(true) { peripheral.disconnect().await } else { Ok(()) };
        match outcome {
            Ok(()) => log::debug!("ble: disconnected from {}", self.name),
            Err(error) => log::debug!("ble: disconnecting from {} failed: {error}", self.name),
        }
    }
}

/// Transport to a device in BLE provisioning mode: the [`GattTransport`] driver over btleplug.
///
/// One instance talks to one device. Exchanges are serialised; a request is never written twice.
/// Nothing is connected until [`BleTransport::connect`] or the first [`Transport::send`].
pub struct BleTransport {
    device: BleDevice,
    config: BleConfig,
    driver: GattTransport,
}

impl std::fmt::Debug for BleTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BleTransport")
            .field("device", &self.device)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl BleTransport {
    /// A transport to `device` (from [`scan`] or [`find_device`]).
    pub fn new(device: BleDevice, config: BleConfig) -> Self {
        let link: Arc<dyn GattLink> = Arc::new(BtleplugLink::new(&device));
        let driver = GattTransport::new(link, config.clone());
        Self { device, config, driver }
    }

    /// The device this transport talks to.
    pub fn device(&self) -> &BleDevice {
        &self.device
    }

    /// The settings this transport was made with.
    pub fn config(&self) -> &BleConfig {
        &self.config
    }

    /// Connects now (instead of at the first exchange) and resolves the endpoints, so that an
    /// unreachable device or a missing provisioning service shows up early.
    pub async fn connect(&self) -> Result<(), TransportError> {
        self.driver.connect().await.map_err(|error| self.named(error))
    }

    /// The endpoint names of the current connection, sorted (empty when not connected).
    pub async fn endpoints(&self) -> Vec<String> {
        self.driver.endpoints().await
    }

    /// The UUID of each endpoint's characteristic on the current connection, sorted by name.
    pub async fn endpoint_uuids(&self) -> Vec<(String, String)> {
        self.driver.endpoint_uuids().await
    }

    /// The provisioning service UUID of the current connection.
    pub async fn service_uuid(&self) -> Option<String> {
        self.driver.service_uuid().await
    }

    /// An unreachable device's error, naming the device.
    fn named(&self, error: TransportError) -> TransportError {
        match error {
            TransportError::Unreachable { detail } => {
                TransportError::Unreachable { detail: format!("{}: {detail}", self.device.name) }
            }
            other => other,
        }
    }
}

#[async_trait]
impl Transport for BleTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.driver.send(endpoint, data).await.map_err(|error| self.named(error))
    }

    fn max_payload(&self) -> Option<usize> {
        self.driver.max_payload()
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Ble
    }

    async fn disconnect(&self) {
        self.driver.disconnect().await;
    }
}
