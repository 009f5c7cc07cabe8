//! BLE GATT transport over btleplug (docs/protocol.md §5.1): device discovery by advertised name,
//! endpoint discovery through the 0x2901 user descriptions, and one write-with-response + read
//! per exchange.
//!
//! Feature `ble` (desktop and CLI; on Linux it talks to BlueZ over D-Bus and needs libdbus). Phones
//! bring their own BLE stack through the foreign transport and can use [`super::gatt`] for the
//! layout rules.
//!
//! Failure semantics: a device reports a failed request (unknown endpoint, decryption, handler or
//! handshake failure) either by dropping the link (Bluedroid) or by answering the write with ATT
//! error 0x04 (NimBLE). Both give [`TransportError::ClosedWithoutResponse`]. A link found down
//! before a write gives [`TransportError::Disconnected`]. After [`Transport::disconnect`] (or a
//! dropped link) the next [`Transport::send`] connects again, which opens a new security session
//! on the device.
//!
//! BlueZ negotiates the ATT MTU itself (btleplug offers no MTU request on Linux) and splits long
//! values into Read Blob / Prepare Write requests as needed, so a whole response always arrives
//! in one read.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use btleplug::api::{Central as _, Characteristic, Manager as _, Peripheral as _, ScanFilter, WriteType};
use btleplug::platform::{Adapter, Manager, Peripheral};
use uuid::Uuid;

use super::gatt::{self, NameFilter};
use super::{Transport, TransportError, TransportKind};

/// The largest request or response Bluedroid firmware with security 2 support carries.
pub const BLE_MAX_PAYLOAD: usize = 481;

/// How often the adapter's device list is polled during a scan.
const SCAN_POLL: Duration = Duration::from_millis(200);

/// Settings of a [`BleTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BleConfig {
    /// Service UUIDs to try, in order, when the device does not advertise one it offers
    /// (default: the ESP-IDF example's `021a9004-…`, then the manager default `1775244d-…`).
    pub fallback_service_uuids: Vec<String>,
    /// What [`Transport::max_payload`] reports and the largest request sent (default 481).
    pub max_payload: usize,
    /// How long connecting may take (default 20 s). Expiry gives [`TransportError::Unreachable`].
    pub connect_timeout: Duration,
    /// How long service discovery plus reading every user description may take (default 20 s).
    pub discovery_timeout: Duration,
    /// How long the write and the read of one exchange may take each (default 30 s: the device
    /// answers a Wi-Fi scan request when the scan is over). Expiry gives
    /// [`TransportError::Timeout`].
    pub request_timeout: Duration,
}

impl Default for BleConfig {
    fn default() -> Self {
        Self {
            fallback_service_uuids: vec![gatt::EXAMPLE_SERVICE_UUID.to_owned(), gatt::MANAGER_SERVICE_UUID.to_owned()],
            max_payload: BLE_MAX_PAYLOAD,
            connect_timeout: Duration::from_secs(20),
            discovery_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
        }
    }
}

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
    TransportError::Unreachable(format!("Bluetooth unavailable: {error}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `future` bounded by `limit`; expiry gives `on_expiry`.
async fn bounded<T>(
    limit: Duration,
    future: impl Future<Output = Result<T, TransportError>>,
    on_expiry: impl FnOnce() -> TransportError,
) -> Result<T, TransportError> {
    tokio::time::timeout(limit, future).await.unwrap_or_else(|_elapsed| Err(on_expiry()))
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
    let result = bounded(limit, scan_adapter(&adapter, filter, duration, stop_at_first), || {
        TransportError::Timeout(millis(limit))
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
        TransportError::Unreachable(format!("{wanted} did not show up within {} s", duration.as_secs()))
    })
}

/// A connected device with its endpoints resolved.
struct Link {
    service_uuid: String,
    endpoints: HashMap<String, Characteristic>,
}

/// Transport to a device in BLE provisioning mode.
///
/// One instance talks to one device. Exchanges are serialised; a request is never written twice.
/// Nothing is connected until [`BleTransport::connect`] or the first [`Transport::send`].
pub struct BleTransport {
    device: BleDevice,
    config: BleConfig,
    /// The connection; holding the lock is holding the right to exchange.
    link: tokio::sync::Mutex<Option<Link>>,
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
        Self { device, config, link: tokio::sync::Mutex::new(None) }
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
        let mut link = self.link.lock().await;
        if link.is_none() {
            *link = Some(self.establish().await?);
        }
        Ok(())
    }

    /// The endpoint names of the current connection, sorted (empty when not connected).
    pub async fn endpoints(&self) -> Vec<String> {
        let link = self.link.lock().await;
        let mut names: Vec<String> = link.as_ref().map(|l| l.endpoints.keys().cloned().collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// The UUID of each endpoint's characteristic on the current connection, sorted by name.
    pub async fn endpoint_uuids(&self) -> Vec<(String, String)> {
        let link = self.link.lock().await;
        let mut pairs: Vec<(String, String)> = link
            .as_ref()
            .map(|l| l.endpoints.iter().map(|(name, c)| (name.clone(), c.uuid.to_string())).collect())
            .unwrap_or_default();
        pairs.sort();
        pairs
    }

    /// The provisioning service UUID of the current connection.
    pub async fn service_uuid(&self) -> Option<String> {
        self.link.lock().await.as_ref().map(|l| l.service_uuid.clone())
    }

    /// Connects, discovers the services and maps endpoint names to characteristics.
    async fn establish(&self) -> Result<Link, TransportError> {
        let peripheral = &self.device.peripheral;
        let name = &self.device.name;
        let connect_timeout = self.config.connect_timeout;
        bounded(
            connect_timeout,
            async {
                if !peripheral.is_connected().await.unwrap_or(false) {
                    peripheral
                        .connect()
                        .await
                        .map_err(|error| TransportError::Unreachable(format!("{name}: connecting failed: {error}")))?;
                }
                Ok(())
            },
            || TransportError::Unreachable(format!("{name}: no connection within {} ms", millis(connect_timeout))),
        )
        .await?;
        log::debug!("ble: connected to {name}");

        let discovery_timeout = self.config.discovery_timeout;
        let discovered = bounded(discovery_timeout, self.discover(), || {
            TransportError::Unreachable(format!(
                "{name}: service and endpoint discovery took longer than {} ms",
                millis(discovery_timeout)
            ))
        })
        .await;
        if discovered.is_err() {
            self.drop_link().await;
        }
        discovered
    }

    async fn discover(&self) -> Result<Link, TransportError> {
        let peripheral = &self.device.peripheral;
        let name = &self.device.name;
        peripheral
            .discover_services()
            .await
            .map_err(|error| TransportError::Unreachable(format!("{name}: service discovery failed: {error}")))?;
        let services = peripheral.services();
        let offered: Vec<String> = services.iter().map(|s| s.uuid.to_string()).collect();
        // The advertisement as the stack knows it now, else as it was at the scan.
        let advertised = match peripheral.properties().await {
            Ok(Some(properties)) if !properties.services.is_empty() => {
                properties.services.iter().map(Uuid::to_string).collect()
            }
            _ => self.device.advertised_services.clone(),
        };
        let service_uuid = gatt::pick_service_uuid(&advertised, &offered, &self.config.fallback_service_uuids)
            .ok_or_else(|| {
                TransportError::Unreachable(format!(
                    "{name}: no provisioning service (offered: {})",
                    if offered.is_empty() { "none".to_owned() } else { offered.join(", ") }
                ))
            })?;
        let service = services
            .iter()
            .find(|s| s.uuid.to_string() == service_uuid)
            .ok_or_else(|| TransportError::Unreachable(format!("{name}: service {service_uuid} vanished")))?;

        let description_uuid =
            Uuid::parse_str(gatt::USER_DESCRIPTION_UUID).map_err(|e| TransportError::Io(e.to_string()))?;
        let mut described = Vec::new();
        for characteristic in &service.characteristics {
            let Some(descriptor) = characteristic.descriptors.iter().find(|d| d.uuid == description_uuid) else {
                continue;
            };
            match peripheral.read_descriptor(descriptor).await {
                Ok(value) => described.push((characteristic.clone(), value)),
                Err(error) => {
                    log::debug!("ble: cannot read the description of {}: {error}", characteristic.uuid);
                }
            }
        }
        let endpoints = if described.is_empty() {
            legacy_endpoints(&service_uuid, &service.characteristics)
        } else {
            gatt::endpoint_map(described)
        };
        log::debug!("ble: {name}: service {service_uuid}, {} endpoints", endpoints.len());
        Ok(Link { service_uuid, endpoints })
    }

    /// Disconnects the peripheral (best effort, bounded).
    async fn drop_link(&self) {
        let peripheral = &self.device.peripheral;
        let outcome = tokio::time::timeout(self.config.connect_timeout, async {
            if peripheral.is_connected().await.unwrap_or(true) { peripheral.disconnect().await } else { Ok(()) }
        })
        .await;
        match outcome {
            Ok(Ok(())) => log::debug!("ble: disconnected from {}", self.device.name),
            Ok(Err(error)) => log::debug!("ble: disconnecting from {} failed: {error}", self.device.name),
            Err(_elapsed) => log::debug!("ble: disconnecting from {} timed out", self.device.name),
        }
    }

    /// One write + read on an established link. `Err((error, keep_link))`.
    async fn exchange(
        &self,
        characteristic: &Characteristic,
        endpoint: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, (TransportError, bool)> {
        let peripheral = &self.device.peripheral;
        let limit = self.config.request_timeout;
        match tokio::time::timeout(limit, peripheral.write(characteristic, data, WriteType::WithResponse)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                // Bluedroid drops the link, NimBLE answers ATT 0x04: either way the device failed
                // the request.
                let connected = peripheral.is_connected().await.unwrap_or(false);
                log::debug!("ble: write to {endpoint} failed ({error}); link up: {connected}");
                return Err((TransportError::ClosedWithoutResponse, connected));
            }
            Err(_elapsed) => {
                log::debug!("ble: write to {endpoint} timed out");
                return Err((TransportError::Timeout(millis(limit)), false));
            }
        }
        match tokio::time::timeout(limit, peripheral.read(characteristic)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let connected = peripheral.is_connected().await.unwrap_or(false);
                log::debug!("ble: read of {endpoint} failed ({error}); link up: {connected}");
                if connected {
                    Err((TransportError::Io(format!("reading {endpoint} failed: {error}")), true))
                } else {
                    Err((TransportError::Disconnected(format!("the link dropped while reading {endpoint}")), false))
                }
            }
            Err(_elapsed) => {
                log::debug!("ble: read of {endpoint} timed out");
                Err((TransportError::Timeout(millis(limit)), false))
            }
        }
    }
}

/// The endpoints of ESP-IDF v3.2 firmware, which has no user descriptions: the standard
/// endpoints whose esp_prov-derived UUID the service offers.
fn legacy_endpoints(
    service_uuid: &str,
    characteristics: &std::collections::BTreeSet<Characteristic>,
) -> HashMap<String, Characteristic> {
    let mut map = HashMap::new();
    for (name, id) in gatt::STANDARD_ENDPOINT_IDS {
        let Ok(uuid) = gatt::legacy_characteristic_uuid(service_uuid, id) else { continue };
        if let Some(characteristic) = characteristics.iter().find(|c| c.uuid.to_string() == uuid) {
            map.insert(name.to_owned(), characteristic.clone());
        }
    }
    if !map.is_empty() {
        log::debug!("ble: no user descriptions; using the legacy characteristic UUIDs");
    }
    map
}

#[async_trait]
impl Transport for BleTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let mut guard = self.link.lock().await;
        if data.is_empty() {
            return Err(TransportError::Io("empty request: NimBLE devices ignore zero-length writes".to_owned()));
        }
        if data.len() > self.config.max_payload {
            return Err(TransportError::PayloadTooLarge { size: data.len(), limit: self.config.max_payload });
        }
        let link = match guard.take() {
            Some(link) => {
                if !self.device.peripheral.is_connected().await.unwrap_or(false) {
                    log::debug!("ble: {} dropped the link", self.device.name);
                    return Err(TransportError::Disconnected("the device dropped the BLE link".to_owned()));
                }
                link
            }
            None => self.establish().await?,
        };
        let Some(characteristic) = link.endpoints.get(&endpoint).cloned() else {
            *guard = Some(link);
            return Err(TransportError::EndpointNotFound(endpoint));
        };
        log::debug!("ble: {endpoint}: writing {} bytes", data.len());
        match self.exchange(&characteristic, &endpoint, &data).await {
            Ok(response) => {
                log::debug!("ble: {endpoint}: read {} bytes", response.len());
                *guard = Some(link);
                Ok(response)
            }
            Err((error, keep)) => {
                if keep {
                    *guard = Some(link);
                } else {
                    self.drop_link().await;
                }
                Err(error)
            }
        }
    }

    fn max_payload(&self) -> Option<usize> {
        Some(self.config.max_payload)
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Ble
    }

    async fn disconnect(&self) {
        let mut guard = self.link.lock().await;
        *guard = None;
        self.drop_link().await;
    }
}
