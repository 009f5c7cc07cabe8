//! A simulated BLE peripheral: a [`GattLink`] backed by a [`SimDevice`], with the GATT layout of
//! provisioning firmware (docs/protocol.md §5.1), for testing the GATT driver
//! ([`crate::transport::gatt_driver::GattTransport`]) and apps without a radio.
//!
//! The layout: the GAP (0x1800) and GATT (0x1801) services, then the provisioning service (by
//! default the ESP-IDF example's `021a9004-…`, advertised) with one characteristic per endpoint of
//! the device, whose UUID is derived from the service UUID and the endpoint id
//! ([`gatt::characteristic_uuid`]; standard ids 0xFF4F–0xFF53, custom endpoints from 0xFF54 in
//! creation order), each with a CCCD (0x2902) and a 0x2901 user description carrying the endpoint
//! name. Firmware semantics: one stored value per characteristic; a write hands the request to
//! the device, which handles it inside the write and stores the response; a read returns the
//! stored value. Each connection opens a new device session (a new security session).
//!
//! When the device fails a request, the peripheral reports it the way the firmware's BLE stack
//! does ([`FailureStyle`]): NimBLE answers the write with ATT error 0x04 and keeps the link,
//! Bluedroid drops the link. Builder methods add the layouts and faults the driver must handle:
//! no advertised service, the legacy v3.2 layout without user descriptions, a write limit, a link
//! that drops in the middle of an exchange, no provisioning service, and hostile peers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use async_trait::async_trait;

use crate::endpoints::rainmaker;
use crate::sim::device::SimDevice;
use crate::sim::{DeviceFailure, DeviceLink};
use crate::transport::gatt::{self, canonical_uuid};
use crate::transport::gatt_link::{GattCharacteristicInfo, GattLink, GattLinkError, GattServiceInfo};

/// The GAP service (0x1800).
const GAP_SERVICE_UUID: &str = "00001800-0000-1000-8000-00805f9b34fb";
/// The Device Name characteristic (0x2A00) of the GAP service.
const DEVICE_NAME_UUID: &str = "00002a00-0000-1000-8000-00805f9b34fb";
/// The GATT service (0x1801).
const GATT_SERVICE_UUID: &str = "00001801-0000-1000-8000-00805f9b34fb";
/// The Service Changed characteristic (0x2A05) of the GATT service.
const SERVICE_CHANGED_UUID: &str = "00002a05-0000-1000-8000-00805f9b34fb";
/// The Client Characteristic Configuration descriptor (0x2902).
const CCCD_UUID: &str = "00002902-0000-1000-8000-00805f9b34fb";
/// The largest attribute value GATT allows.
const GATT_MAX_VALUE: usize = 512;
/// ATT error "Unlikely Error", NimBLE's answer to a write whose handler failed.
const ATT_UNLIKELY_ERROR: u8 = 0x04;
/// ATT error "Invalid Attribute Value Length".
const ATT_INVALID_LENGTH: u8 = 0x0D;

/// How the simulated firmware's BLE stack reports a request the device failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureStyle {
    /// The write is answered with ATT error 0x04 ([`GattLinkError::Refused`]); the link stays up.
    #[default]
    NimBle,
    /// The peripheral drops the link: the write fails with [`GattLinkError::Disconnected`].
    Bluedroid,
}

/// The knobs of a [`SimPeripheral`].
#[derive(Debug, Clone)]
struct Options {
    name: String,
    service_uuid: String,
    advertised: bool,
    legacy: bool,
    provisioning_service: bool,
    write_limit: Option<u32>,
    drop_at_write: Option<u64>,
    failure_style: FailureStyle,
    description_len: Option<usize>,
    extra_characteristics: usize,
    extra_descriptors: usize,
    read_len: Option<usize>,
}

/// One characteristic of the simulated GATT tree.
#[derive(Debug)]
struct SimCharacteristic {
    /// Canonical UUID.
    uuid: String,
    /// The endpoint it serves, if any.
    endpoint: Option<String>,
    /// The value of its 0x2901 user description, if it has one.
    description: Option<Vec<u8>>,
    /// Its descriptors' UUIDs, canonical.
    descriptors: Vec<String>,
}

/// One service of the simulated GATT tree.
#[derive(Debug)]
struct SimService {
    uuid: String,
    characteristics: Vec<SimCharacteristic>,
}

/// Whether the link is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkStatus {
    Down,
    Up,
    /// The link dropped while the last operation completed: the next operation fails with
    /// [`GattLinkError::Disconnected`], and the link is down after it.
    Dropping,
}

#[derive(Debug)]
struct LinkState {
    status: LinkStatus,
    /// The device session of the current connection.
    session_id: u32,
    /// The stored value of each characteristic (canonical UUID) on this connection.
    values: HashMap<String, Vec<u8>>,
    writes: u64,
    connections: u64,
}

/// A simulated provisioning peripheral; see the module documentation. Built with
/// [`SimPeripheral::new`] and the builder methods, then shared as an `Arc<dyn GattLink>`.
pub struct SimPeripheral {
    device: Arc<SimDevice>,
    options: Options,
    layout: OnceLock<Vec<SimService>>,
    state: Mutex<LinkState>,
}

impl std::fmt::Debug for SimPeripheral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPeripheral").field("options", &self.options).finish_non_exhaustive()
    }
}

impl SimPeripheral {
    /// A peripheral named `PROV_51a000` serving `device` under the ESP-IDF example's service UUID,
    /// advertised, with user descriptions, no write limit and NimBLE-style failures.
    pub fn new(device: Arc<SimDevice>) -> Self {
        Self {
            device,
            options: Options {
                name: "PROV_51a000".to_owned(),
                service_uuid: gatt::EXAMPLE_SERVICE_UUID.to_owned(),
                advertised: true,
                legacy: false,
                provisioning_service: true,
                write_limit: None,
                drop_at_write: None,
                failure_style: FailureStyle::NimBle,
                description_len: None,
                extra_characteristics: 0,
                extra_descriptors: 0,
                read_len: None,
            },
            layout: OnceLock::new(),
            state: Mutex::new(LinkState {
                status: LinkStatus::Down,
                session_id: 0,
                values: HashMap::new(),
                writes: 0,
                connections: 0,
            }),
        }
    }

    /// The advertised local name (and the GAP Device Name value).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = name.into();
        self
    }

    /// The provisioning service UUID (any case; stored canonical when valid).
    pub fn service_uuid(mut self, uuid: &str) -> Self {
        self.options.service_uuid = canonical_uuid(uuid).unwrap_or_else(|_| uuid.to_owned());
        self
    }

    /// Whether the advertisement carries the provisioning service UUID (default yes). Without it,
    /// the driver must find the service among its fallbacks.
    pub fn advertised(mut self, advertised: bool) -> Self {
        self.options.advertised = advertised;
        self
    }

    /// The ESP-IDF v3.2 layout: the 16-bit service 0xFFFF, the standard endpoints under their
    /// legacy UUIDs ([`gatt::legacy_characteristic_uuid`]), no descriptors, no custom endpoints.
    pub fn without_descriptions(mut self) -> Self {
        self.options.legacy = true;
        self.options.service_uuid = gatt::LEGACY_SERVICE_UUID.to_owned();
        self
    }

    /// No provisioning service at all (a device that is not in provisioning mode): only GAP and
    /// GATT are offered, and nothing is advertised.
    pub fn without_provisioning_service(mut self) -> Self {
        self.options.provisioning_service = false;
        self
    }

    /// The largest value one write may carry, as [`GattLink::write_limit`] reports it (for
    /// example `Some(20)`: a stack without MTU negotiation or long writes). A longer write fails.
    pub fn write_limit(mut self, limit: Option<u32>) -> Self {
        self.options.write_limit = limit;
        self
    }

    /// The link drops in the middle of the `n`th write (1-based, counted over the peripheral's
    /// life): the write is accepted and handled, and the read that follows fails with
    /// [`GattLinkError::Disconnected`].
    pub fn drop_at_write(mut self, n: u64) -> Self {
        self.options.drop_at_write = Some(n);
        self
    }

    /// How a request the device fails is reported (default [`FailureStyle::NimBle`]).
    pub fn failure_style(mut self, style: FailureStyle) -> Self {
        self.options.failure_style = style;
        self
    }

    /// Hostile: every user description is `len` bytes (the endpoint name padded with NULs).
    pub fn huge_descriptions(mut self, len: usize) -> Self {
        self.options.description_len = Some(len);
        self
    }

    /// Hostile: the provisioning service also has `count` characteristics without descriptors
    /// (at most 0xFE00).
    pub fn extra_characteristics(mut self, count: usize) -> Self {
        self.options.extra_characteristics = count.min(0xFE00);
        self
    }

    /// Hostile: every endpoint characteristic also has `count` vendor descriptors (at most
    /// 0xC000).
    pub fn extra_descriptors(mut self, count: usize) -> Self {
        self.options.extra_descriptors = count.min(0xC000);
        self
    }

    /// Hostile: every read of an endpoint characteristic returns `len` bytes of filler instead of
    /// the stored response.
    pub fn oversized_reads(mut self, len: usize) -> Self {
        self.options.read_len = Some(len);
        self
    }

    /// The advertised local name.
    pub fn advertised_name(&self) -> &str {
        &self.options.name
    }

    /// The simulated device behind the peripheral.
    pub fn device(&self) -> &Arc<SimDevice> {
        &self.device
    }

    /// Characteristic writes the peripheral received (accepted or not), over its life.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Connections made, over the peripheral's life.
    pub fn connections(&self) -> u64 {
        self.lock().connections
    }

    /// Whether the link is up.
    pub fn is_connected(&self) -> bool {
        self.lock().status == LinkStatus::Up
    }

    /// Drops the link from the peripheral's side (the device went away, or provisioning ended):
    /// the next operation finds the link down ([`GattLinkError::Unreachable`]).
    pub fn drop_link(&self) {
        self.lock().status = LinkStatus::Down;
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        // Plain counters and stored values: a panic elsewhere cannot leave them half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn layout(&self) -> &[SimService] {
        self.layout.get_or_init(|| build_layout(&self.options, &self.device))
    }

    /// The characteristic `characteristic` of the service `service` (any case).
    fn find(&self, service: &str, characteristic: &str) -> Option<&SimCharacteristic> {
        let service = canonical_uuid(service).ok()?;
        let characteristic = canonical_uuid(characteristic).ok()?;
        self.layout().iter().find(|s| s.uuid == service)?.characteristics.iter().find(|c| c.uuid == characteristic)
    }

    /// Fails unless the link is up; a link that was dropping is down afterwards.
    fn check_up(state: &mut LinkState) -> Result<(), GattLinkError> {
        match state.status {
            LinkStatus::Up => Ok(()),
            LinkStatus::Down => Err(GattLinkError::Unreachable { detail: "not connected".to_owned() }),
            LinkStatus::Dropping => {
                state.status = LinkStatus::Down;
                Err(GattLinkError::Disconnected { detail: "the peripheral dropped the link".to_owned() })
            }
        }
    }
}

/// The endpoints of `device`, in the firmware's creation order: the standard ones, then the
/// RainMaker ones, then the application's.
fn endpoint_names(device: &SimDevice) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let standard = gatt::STANDARD_ENDPOINT_IDS.iter().map(|(name, _)| *name);
    let rainmaker = [rainmaker::RMAKER_CLAIM, rainmaker::CH_RESP, rainmaker::CLOUD_USER_ASSOC];
    let application = device.config().echo_endpoints.iter().map(String::as_str);
    for name in standard.chain(rainmaker).chain(application) {
        if device.has_endpoint(name) && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// A 16-bit UUID in 128-bit form.
fn short_uuid(id: u16) -> String {
    format!("0000{id:04x}-0000-1000-8000-00805f9b34fb")
}

fn build_layout(options: &Options, device: &SimDevice) -> Vec<SimService> {
    let plain = |uuid: &str, descriptors: Vec<String>| SimCharacteristic {
        uuid: uuid.to_owned(),
        endpoint: None,
        description: None,
        descriptors,
    };
    let mut services = vec![
        SimService { uuid: GAP_SERVICE_UUID.to_owned(), characteristics: vec![plain(DEVICE_NAME_UUID, Vec::new())] },
        SimService {
            uuid: GATT_SERVICE_UUID.to_owned(),
            characteristics: vec![plain(SERVICE_CHANGED_UUID, vec![CCCD_UUID.to_owned()])],
        },
    ];
    if !options.provisioning_service {
        return services;
    }
    let service = &options.service_uuid;
    let mut characteristics = Vec::new();
    let mut custom_id = gatt::FIRST_CUSTOM_ENDPOINT_ID;
    for name in endpoint_names(device) {
        let standard = gatt::standard_endpoint_id(&name);
        if options.legacy {
            // v3.2 firmware has the standard endpoints only, without descriptors.
            let Some(id) = standard else { continue };
            let Ok(uuid) = gatt::legacy_characteristic_uuid(service, id) else { continue };
            characteristics.push(SimCharacteristic {
                uuid,
                endpoint: Some(name),
                description: None,
                descriptors: vec![],
            });
            continue;
        }
        let id = standard.unwrap_or_else(|| {
            let id = custom_id;
            custom_id = custom_id.saturating_add(1);
            id
        });
        let Ok(uuid) = gatt::characteristic_uuid(service, id) else { continue };
        let mut description = name.as_bytes().to_vec();
        if let Some(len) = options.description_len {
            description.resize(len.max(description.len()), 0);
        }
        // The CCCD comes first: the driver must pick the description by UUID, not position.
        let mut descriptors = vec![CCCD_UUID.to_owned(), gatt::USER_DESCRIPTION_UUID.to_owned()];
        descriptors
            .extend((0..options.extra_descriptors).filter_map(|i| u16::try_from(0x3000 + i).ok().map(short_uuid)));
        characteristics.push(SimCharacteristic {
            uuid,
            endpoint: Some(name),
            description: Some(description),
            descriptors,
        });
    }
    for i in 0..options.extra_characteristics {
        let Ok(id) = u16::try_from(0x0100 + i) else { break };
        if let Ok(uuid) = gatt::characteristic_uuid(service, id) {
            characteristics.push(plain(&uuid, Vec::new()));
        }
    }
    services.push(SimService { uuid: service.clone(), characteristics });
    services
}

#[async_trait]
impl GattLink for SimPeripheral {
    async fn connect(&self) -> Result<(), GattLinkError> {
        let mut state = self.lock();
        if state.status == LinkStatus::Up {
            return Ok(());
        }
        // Each BLE connection is a new transport session on the device.
        let session_id = self.device.new_session_id();
        self.device.open_session(session_id);
        state.status = LinkStatus::Up;
        state.session_id = session_id;
        state.values.clear();
        state.connections += 1;
        log::debug!("sim peripheral: connected");
        Ok(())
    }

    async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError> {
        Self::check_up(&mut self.lock())?;
        Ok(self
            .layout()
            .iter()
            .map(|service| GattServiceInfo {
                uuid: service.uuid.clone(),
                characteristics: service
                    .characteristics
                    .iter()
                    .map(|c| GattCharacteristicInfo { uuid: c.uuid.clone(), descriptors: c.descriptors.clone() })
                    .collect(),
            })
            .collect())
    }

    async fn read_descriptor(
        &self,
        service: String,
        characteristic: String,
        descriptor: String,
    ) -> Result<Vec<u8>, GattLinkError> {
        Self::check_up(&mut self.lock())?;
        let unknown = || GattLinkError::Failed { detail: "no such descriptor".to_owned() };
        let characteristic = self.find(&service, &characteristic).ok_or_else(unknown)?;
        let descriptor = canonical_uuid(&descriptor).map_err(|_| unknown())?;
        if !characteristic.descriptors.contains(&descriptor) {
            return Err(unknown());
        }
        Ok(match descriptor.as_str() {
            gatt::USER_DESCRIPTION_UUID => characteristic.description.clone().unwrap_or_default(),
            CCCD_UUID => vec![0, 0],
            _ => Vec::new(),
        })
    }

    async fn write_characteristic(
        &self,
        service: String,
        characteristic: String,
        value: Vec<u8>,
    ) -> Result<(), GattLinkError> {
        let (session_id, endpoint, uuid, write_number) = {
            let mut state = self.lock();
            Self::check_up(&mut state)?;
            state.writes += 1;
            let found = self.find(&service, &characteristic);
            let Some((endpoint, uuid)) = found.and_then(|c| c.endpoint.clone().map(|e| (e, c.uuid.clone()))) else {
                return Err(GattLinkError::Refused { att_error: 0x03 }); // Write Not Permitted
            };
            if let Some(limit) = self.options.write_limit
                && value.len() > usize::try_from(limit).unwrap_or(usize::MAX)
            {
                return Err(GattLinkError::Failed {
                    detail: format!("the value exceeds the {limit}-byte write limit"),
                });
            }
            if value.len() > GATT_MAX_VALUE {
                return Err(GattLinkError::Refused { att_error: ATT_INVALID_LENGTH });
            }
            if value.is_empty() {
                // NimBLE ignores zero-length writes.
                return Ok(());
            }
            (state.session_id, endpoint, uuid, state.writes)
        };

        let latency = self.device.exchange_latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        // The device handler is synchronous and may be CPU-heavy (SRP): keep it off the reactor.
        let device = Arc::clone(&self.device);
        let handler_endpoint = endpoint.clone();
        let outcome = tokio::task::spawn_blocking(move || device.handle(session_id, &handler_endpoint, &value))
            .await
            .unwrap_or_else(|join_error| Err(DeviceFailure::Failed(join_error.to_string())));

        let mut state = self.lock();
        if state.status != LinkStatus::Up || state.session_id != session_id {
            return Err(GattLinkError::Disconnected { detail: "the link dropped during the write".to_owned() });
        }
        match outcome {
            Ok(response) => {
                state.values.insert(uuid, response);
                if self.options.drop_at_write == Some(write_number) {
                    log::debug!("sim peripheral: dropping the link after write {write_number}");
                    state.status = LinkStatus::Dropping;
                }
                Ok(())
            }
            Err(_failure) => {
                // The failure text comes from the device side; keep it out of the log.
                log::debug!("sim peripheral: the device failed the request to `{endpoint}`");
                match self.options.failure_style {
                    FailureStyle::NimBle => Err(GattLinkError::Refused { att_error: ATT_UNLIKELY_ERROR }),
                    FailureStyle::Bluedroid => {
                        state.status = LinkStatus::Down;
                        Err(GattLinkError::Disconnected { detail: "the peripheral dropped the link".to_owned() })
                    }
                }
            }
        }
    }

    async fn read_characteristic(&self, service: String, characteristic: String) -> Result<Vec<u8>, GattLinkError> {
        let mut state = self.lock();
        Self::check_up(&mut state)?;
        let characteristic = self
            .find(&service, &characteristic)
            .ok_or_else(|| GattLinkError::Failed { detail: "no such characteristic".to_owned() })?;
        if characteristic.uuid == DEVICE_NAME_UUID {
            return Ok(self.options.name.as_bytes().to_vec());
        }
        if characteristic.endpoint.is_none() {
            return Err(GattLinkError::Refused { att_error: 0x02 }); // Read Not Permitted
        }
        if let Some(len) = self.options.read_len {
            return Ok(vec![0xA5; len]);
        }
        Ok(state.values.get(&characteristic.uuid).cloned().unwrap_or_default())
    }

    fn write_limit(&self) -> Option<u32> {
        self.options.write_limit
    }

    fn advertised_services(&self) -> Vec<String> {
        if self.options.advertised && self.options.provisioning_service {
            vec![self.options.service_uuid.clone()]
        } else {
            Vec::new()
        }
    }

    async fn disconnect(&self) {
        let mut state = self.lock();
        if state.status != LinkStatus::Down {
            log::debug!("sim peripheral: disconnected");
        }
        state.status = LinkStatus::Down;
    }
}
