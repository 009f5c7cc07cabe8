//! The GATT driver: the provisioning side of BLE (docs/protocol.md §5.1) over any BLE stack that
//! implements the primitive [`GattLink`] interface (btleplug on desktops, `android.bluetooth`,
//! CoreBluetooth).
//!
//! Everything protocol-specific lives here, once: picking the provisioning service (the
//! advertised UUID the device offers, else the configured fallbacks), mapping endpoint names to
//! characteristics through the 0x2901 user descriptions (or, for ESP-IDF v3.2 firmware without
//! descriptions, through the legacy UUIDs), the size limits, one write-with-response + read per
//! exchange, timeouts, and the mapping of link failures to [`TransportError`]s.
//!
//! Failure semantics: a device reports a failed request (unknown endpoint, decryption, handler or
//! handshake failure) either by dropping the link (Bluedroid: the write fails with
//! [`GattLinkError::Disconnected`]) or by answering the write with ATT error 0x04 (NimBLE:
//! [`GattLinkError::Refused`]). Both give [`TransportError::ClosedWithoutResponse`]. A link found
//! down when the request is written ([`GattLinkError::Unreachable`]) and a link that drops before
//! the response is read give [`TransportError::Disconnected`]. After [`Transport::disconnect`] or a
//! dropped link, the next [`Transport::send`] connects again, which opens a new security session
//! on the device.
//!
//! The peer is not trusted: the number of services, characteristics and descriptors the driver
//! processes, the length of a user description and the length of a response are bounded
//! ([`MAX_SERVICES`], [`MAX_CHARACTERISTICS`], [`MAX_DESCRIPTORS`], [`MAX_DESCRIPTION_LEN`],
//! [`MAX_RESPONSE_LEN`]); breaking a bound gives [`TransportError::ResponseTooLarge`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::gatt::{self, canonical_uuid};
use super::gatt_link::{GattLink, GattLinkError, GattServiceInfo};
use super::{Transport, TransportError, TransportKind};

/// The largest request or response Bluedroid firmware with security 2 support carries: the
/// default of [`GattConfig::max_payload`].
pub const DEFAULT_MAX_PAYLOAD: usize = 481;

/// The most services a device may offer; a device offering more is refused
/// ([`TransportError::ResponseTooLarge`]). Provisioning firmware offers three or four.
pub const MAX_SERVICES: usize = 64;

/// The most characteristics the provisioning service may have (five standard endpoints plus the
/// application's custom ones); a service with more is refused.
pub const MAX_CHARACTERISTICS: usize = 64;

/// The most descriptors one characteristic of the provisioning service may have (the firmware
/// declares the 0x2901 user description and at most a CCCD); more is refused.
pub const MAX_DESCRIPTORS: usize = 16;

/// The longest user description (0x2901) accepted: an endpoint name. A longer value is refused.
pub const MAX_DESCRIPTION_LEN: usize = 128;

/// The longest characteristic value (response) accepted. Firmware answers at most 512 bytes (the
/// GATT maximum); a longer value is refused and the link dropped.
pub const MAX_RESPONSE_LEN: usize = 4096;

/// How many offered services an error message lists.
const LISTED_SERVICES: usize = 16;

/// Settings of a [`GattTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GattConfig {
    /// Service UUIDs to try, in order, when the device does not advertise one it offers
    /// (default: the ESP-IDF example's `021a9004-…`, then the manager default `1775244d-…`).
    pub fallback_service_uuids: Vec<String>,
    /// The largest request sent (default 481, Bluedroid with security 2). The link's own
    /// [`GattLink::write_limit`] lowers it further.
    pub max_payload: usize,
    /// How long connecting may take (default 20 s). Expiry gives [`TransportError::Unreachable`].
    pub connect_timeout: Duration,
    /// How long service discovery plus reading every user description may take (default 20 s).
    /// Expiry gives [`TransportError::Unreachable`].
    pub discovery_timeout: Duration,
    /// How long the write and the read of one exchange may take each (default 30 s: the device
    /// answers a Wi-Fi scan request when the scan is over). Expiry gives
    /// [`TransportError::Timeout`].
    pub request_timeout: Duration,
}

impl Default for GattConfig {
    fn default() -> Self {
        Self {
            fallback_service_uuids: vec![gatt::EXAMPLE_SERVICE_UUID.to_owned(), gatt::MANAGER_SERVICE_UUID.to_owned()],
            max_payload: DEFAULT_MAX_PAYLOAD,
            connect_timeout: Duration::from_secs(20),
            discovery_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A connected device with its endpoints resolved. UUIDs are kept as the link reported them (the
/// driver hands them back verbatim) next to their canonical form.
#[derive(Debug, Clone)]
struct Resolved {
    /// The provisioning service as the link spells it.
    service: String,
    /// Its canonical form.
    service_canonical: String,
    /// Endpoint name -> characteristic UUID as the link spells it.
    endpoints: HashMap<String, String>,
}

/// How an exchange failed: the error, and whether the link is still usable.
struct ExchangeFailure {
    error: TransportError,
    keep_link: bool,
}

impl ExchangeFailure {
    fn keep(error: TransportError) -> Self {
        Self { error, keep_link: true }
    }

    fn drop(error: TransportError) -> Self {
        Self { error, keep_link: false }
    }
}

/// Transport to a device in BLE provisioning mode over a [`GattLink`].
///
/// One instance talks to one peripheral. Exchanges are serialised; a request is never written
/// twice. Nothing is connected until [`GattTransport::connect`] or the first [`Transport::send`].
pub struct GattTransport {
    link: Arc<dyn GattLink>,
    config: GattConfig,
    /// The resolved connection; holding the lock is holding the right to exchange.
    state: tokio::sync::Mutex<Option<Resolved>>,
}

impl std::fmt::Debug for GattTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GattTransport").field("config", &self.config).finish_non_exhaustive()
    }
}

/// A duration in whole milliseconds (saturating), for messages.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `future` bounded by `limit`; expiry gives `on_expiry`.
pub(crate) async fn bounded<T>(
    limit: Duration,
    future: impl Future<Output = Result<T, TransportError>>,
    on_expiry: impl FnOnce() -> TransportError,
) -> Result<T, TransportError> {
    tokio::time::timeout(limit, future).await.unwrap_or_else(|_elapsed| Err(on_expiry()))
}

/// The canonical form of a UUID from the peer, or a fixed placeholder (the peer's text is not
/// echoed: it may be of any length).
fn display_uuid(uuid: &str) -> String {
    canonical_uuid(uuid).unwrap_or_else(|_| "(malformed UUID)".to_owned())
}

/// Whether `uuid` (any case) is `canonical`.
fn is_uuid(uuid: &str, canonical: &str) -> bool {
    canonical_uuid(uuid).is_ok_and(|u| u == canonical)
}

impl GattTransport {
    /// A transport over `link` (nothing happens until the first exchange or
    /// [`GattTransport::connect`]).
    pub fn new(link: Arc<dyn GattLink>, config: GattConfig) -> Self {
        Self { link, config, state: tokio::sync::Mutex::new(None) }
    }

    /// Connects now (instead of at the first exchange) and resolves the endpoints, so that an
    /// unreachable device or a missing provisioning service shows up early.
    pub async fn connect(&self) -> Result<(), TransportError> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            *state = Some(self.establish().await?);
        }
        Ok(())
    }

    /// The endpoint names of the current connection, sorted (empty when not connected).
    pub async fn endpoints(&self) -> Vec<String> {
        let state = self.state.lock().await;
        let mut names: Vec<String> = state.as_ref().map(|r| r.endpoints.keys().cloned().collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// The UUID (canonical form) of each endpoint's characteristic on the current connection,
    /// sorted by name (empty when not connected).
    pub async fn endpoint_uuids(&self) -> Vec<(String, String)> {
        let state = self.state.lock().await;
        let mut pairs: Vec<(String, String)> = state
            .as_ref()
            .map(|r| r.endpoints.iter().map(|(name, uuid)| (name.clone(), display_uuid(uuid))).collect())
            .unwrap_or_default();
        pairs.sort();
        pairs
    }

    /// The provisioning service UUID (canonical form) of the current connection.
    pub async fn service_uuid(&self) -> Option<String> {
        self.state.lock().await.as_ref().map(|r| r.service_canonical.clone())
    }

    /// The largest request the current link carries: the configured limit, lowered by the link's.
    fn payload_limit(&self) -> usize {
        match self.link.write_limit() {
            Some(limit) => self.config.max_payload.min(usize::try_from(limit).unwrap_or(usize::MAX)),
            None => self.config.max_payload,
        }
    }

    /// Connects, discovers the services and maps endpoint names to characteristics. Drops the
    /// link on failure.
    async fn establish(&self) -> Result<Resolved, TransportError> {
        let connect_timeout = self.config.connect_timeout;
        let connected = bounded(
            connect_timeout,
            async {
                self.link
                    .connect()
                    .await
                    .map_err(|error| TransportError::Unreachable { detail: format!("connecting failed: {error}") })
            },
            || TransportError::Unreachable { detail: format!("no connection within {} ms", millis(connect_timeout)) },
        )
        .await;
        if let Err(error) = connected {
            self.drop_link().await;
            return Err(error);
        }
        log::debug!("gatt: connected");

        let discovery_timeout = self.config.discovery_timeout;
        let discovered = bounded(discovery_timeout, self.discover(), || TransportError::Unreachable {
            detail: format!("service and endpoint discovery took longer than {} ms", millis(discovery_timeout)),
        })
        .await;
        if discovered.is_err() {
            self.drop_link().await;
        }
        discovered
    }

    async fn discover(&self) -> Result<Resolved, TransportError> {
        let services =
            self.link.discover_services().await.map_err(|error| TransportError::Unreachable {
                detail: format!("service discovery failed: {error}"),
            })?;
        if services.len() > MAX_SERVICES {
            log::debug!("gatt: the peripheral offers {} services", services.len());
            return Err(TransportError::response_too_large("GATT services offered", MAX_SERVICES));
        }
        let offered: Vec<String> = services.iter().map(|s| s.uuid.clone()).collect();
        let mut advertised = self.link.advertised_services();
        advertised.truncate(MAX_SERVICES);
        let service_canonical = gatt::pick_service_uuid(&advertised, &offered, &self.config.fallback_service_uuids)
            .ok_or_else(|| TransportError::Unreachable { detail: no_service_detail(&offered) })?;
        let service = services
            .iter()
            .find(|s| is_uuid(&s.uuid, &service_canonical))
            .ok_or_else(|| TransportError::Unreachable { detail: format!("service {service_canonical} vanished") })?;
        if service.characteristics.len() > MAX_CHARACTERISTICS {
            log::debug!("gatt: the provisioning service has {} characteristics", service.characteristics.len());
            return Err(TransportError::response_too_large(
                "characteristics in the provisioning service",
                MAX_CHARACTERISTICS,
            ));
        }

        let described = self.read_descriptions(service).await?;
        let endpoints = if described.is_empty() {
            legacy_endpoints(&service_canonical, service)
        } else {
            gatt::endpoint_map(described)
        };
        log::debug!("gatt: service {service_canonical}, {} endpoints", endpoints.len());
        Ok(Resolved { service: service.uuid.clone(), service_canonical, endpoints })
    }

    /// Each characteristic of `service` (as the link spells it) with the value of its readable
    /// 0x2901 user description.
    async fn read_descriptions(&self, service: &GattServiceInfo) -> Result<Vec<(String, Vec<u8>)>, TransportError> {
        let mut described = Vec::new();
        for characteristic in &service.characteristics {
            if characteristic.descriptors.len() > MAX_DESCRIPTORS {
                log::debug!("gatt: a characteristic has {} descriptors", characteristic.descriptors.len());
                return Err(TransportError::response_too_large("descriptors of one characteristic", MAX_DESCRIPTORS));
            }
            if canonical_uuid(&characteristic.uuid).is_err() {
                log::debug!("gatt: skipping a characteristic with a malformed UUID");
                continue;
            }
            let Some(descriptor) = characteristic.descriptors.iter().find(|d| is_uuid(d, gatt::USER_DESCRIPTION_UUID))
            else {
                continue;
            };
            let read =
                self.link.read_descriptor(service.uuid.clone(), characteristic.uuid.clone(), descriptor.clone()).await;
            match read {
                Ok(value) if value.len() > MAX_DESCRIPTION_LEN => {
                    log::debug!("gatt: a user description of {} bytes", value.len());
                    return Err(TransportError::response_too_large(
                        "user description (0x2901) bytes",
                        MAX_DESCRIPTION_LEN,
                    ));
                }
                Ok(value) => described.push((characteristic.uuid.clone(), value)),
                Err(error @ (GattLinkError::Disconnected { .. } | GattLinkError::Unreachable { .. })) => {
                    return Err(TransportError::Unreachable {
                        detail: format!("the link dropped during endpoint discovery: {error}"),
                    });
                }
                Err(error) => {
                    log::debug!("gatt: cannot read the description of {}: {error}", display_uuid(&characteristic.uuid));
                }
            }
        }
        Ok(described)
    }

    /// Disconnects the peripheral (best effort, bounded).
    async fn drop_link(&self) {
        if tokio::time::timeout(self.config.connect_timeout, self.link.disconnect()).await.is_err() {
            log::debug!("gatt: disconnecting timed out");
        } else {
            log::debug!("gatt: disconnected");
        }
    }

    /// One write + read on an established link.
    async fn exchange(
        &self,
        service: &str,
        characteristic: &str,
        endpoint: &str,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, ExchangeFailure> {
        let limit = self.config.request_timeout;
        let write = self.link.write_characteristic(service.to_owned(), characteristic.to_owned(), data);
        match tokio::time::timeout(limit, write).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                log::debug!("gatt: write to {endpoint} failed: {error}");
                return Err(match error {
                    // The link was already down: nothing reached the device.
                    GattLinkError::Unreachable { .. } => ExchangeFailure::drop(TransportError::Disconnected {
                        detail: format!("the BLE link was down when writing {endpoint}"),
                    }),
                    // Bluedroid drops the link on a failed request.
                    GattLinkError::Disconnected { .. } => ExchangeFailure::drop(TransportError::ClosedWithoutResponse),
                    // NimBLE answers ATT 0x04 and keeps the link.
                    GattLinkError::Refused { .. } | GattLinkError::Failed { .. } => {
                        ExchangeFailure::keep(TransportError::ClosedWithoutResponse)
                    }
                });
            }
            Err(_elapsed) => {
                log::debug!("gatt: write to {endpoint} timed out");
                return Err(ExchangeFailure::drop(TransportError::Timeout { millis: millis(limit) }));
            }
        }
        let read = self.link.read_characteristic(service.to_owned(), characteristic.to_owned());
        match tokio::time::timeout(limit, read).await {
            Ok(Ok(value)) if value.len() > MAX_RESPONSE_LEN => {
                log::debug!("gatt: {endpoint} answered {} bytes", value.len());
                Err(ExchangeFailure::drop(TransportError::response_too_large(
                    "characteristic value bytes",
                    MAX_RESPONSE_LEN,
                )))
            }
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                log::debug!("gatt: read of {endpoint} failed: {error}");
                Err(match error {
                    GattLinkError::Disconnected { .. } | GattLinkError::Unreachable { .. } => {
                        ExchangeFailure::drop(TransportError::Disconnected {
                            detail: format!("the link dropped while reading {endpoint}"),
                        })
                    }
                    other => ExchangeFailure::keep(TransportError::Io {
                        detail: format!("reading {endpoint} failed: {other}"),
                    }),
                })
            }
            Err(_elapsed) => {
                log::debug!("gatt: read of {endpoint} timed out");
                Err(ExchangeFailure::drop(TransportError::Timeout { millis: millis(limit) }))
            }
        }
    }
}

/// The detail of the error for a device without a provisioning service: what it offers instead
/// (canonical UUIDs, at most [`LISTED_SERVICES`] of them).
fn no_service_detail(offered: &[String]) -> String {
    let listed = if offered.is_empty() {
        "none".to_owned()
    } else {
        let mut list: Vec<String> = offered.iter().take(LISTED_SERVICES).map(|u| display_uuid(u)).collect();
        if offered.len() > LISTED_SERVICES {
            list.push(format!("and {} more", offered.len() - LISTED_SERVICES));
        }
        list.join(", ")
    };
    format!("no provisioning service (offered: {listed})")
}

/// The endpoints of ESP-IDF v3.2 firmware, which has no user descriptions: the standard
/// endpoints whose esp_prov-derived UUID the service offers.
fn legacy_endpoints(service_canonical: &str, service: &GattServiceInfo) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (name, id) in gatt::STANDARD_ENDPOINT_IDS {
        let Ok(uuid) = gatt::legacy_characteristic_uuid(service_canonical, id) else { continue };
        if let Some(characteristic) = service.characteristics.iter().find(|c| is_uuid(&c.uuid, &uuid)) {
            map.insert(name.to_owned(), characteristic.uuid.clone());
        }
    }
    if !map.is_empty() {
        log::debug!("gatt: no user descriptions; using the legacy characteristic UUIDs");
    }
    map
}

#[async_trait]
impl Transport for GattTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let mut state = self.state.lock().await;
        if data.is_empty() {
            return Err(TransportError::Io {
                detail: "empty request: NimBLE devices ignore zero-length writes".to_owned(),
            });
        }
        if data.len() > self.config.max_payload {
            return Err(TransportError::payload_too_large(data.len(), self.config.max_payload));
        }
        let resolved = match state.take() {
            Some(resolved) => resolved,
            None => self.establish().await?,
        };
        let Some(characteristic) = resolved.endpoints.get(&endpoint).cloned() else {
            *state = Some(resolved);
            return Err(TransportError::EndpointNotFound { endpoint });
        };
        // The link's limit is known once connected (the MTU is negotiated then).
        let limit = self.payload_limit();
        if data.len() > limit {
            log::debug!("gatt: {endpoint}: a request of {} bytes exceeds the link's limit of {limit}", data.len());
            *state = Some(resolved);
            return Err(TransportError::payload_too_large(data.len(), limit));
        }
        log::debug!("gatt: {endpoint}: writing {} bytes", data.len());
        match self.exchange(&resolved.service, &characteristic, &endpoint, data).await {
            Ok(response) => {
                log::debug!("gatt: {endpoint}: read {} bytes", response.len());
                *state = Some(resolved);
                Ok(response)
            }
            Err(ExchangeFailure { error, keep_link }) => {
                if keep_link {
                    *state = Some(resolved);
                } else {
                    self.drop_link().await;
                }
                Err(error)
            }
        }
    }

    fn max_payload(&self) -> Option<usize> {
        Some(self.payload_limit())
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Ble
    }

    async fn disconnect(&self) {
        let mut state = self.state.lock().await;
        *state = None;
        self.drop_link().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Mutex;

    use super::*;
    use crate::transport::gatt_link::GattCharacteristicInfo;

    /// A scripted link: one service as CoreBluetooth would print it (upper case, 16-bit short
    /// descriptor UUIDs), answers `answer` to every read (or the next scripted error), and records every
    /// call.
    #[derive(Default)]
    struct ScriptLink {
        hang_connect: bool,
        write_errors: Mutex<Vec<GattLinkError>>,
        read_errors: Mutex<Vec<GattLinkError>>,
        calls: Mutex<Vec<String>>,
    }

    const SERVICE: &str = "021A9004-0382-4AEA-BFF4-6B3F1C5ADFB4";
    const SESSION: &str = "021AFF51-0382-4AEA-BFF4-6B3F1C5ADFB4";

    impl ScriptLink {
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
    }

    #[async_trait]
    impl GattLink for ScriptLink {
        async fn connect(&self) -> Result<(), GattLinkError> {
            self.record("connect".into());
            if self.hang_connect {
                std::future::pending::<()>().await;
            }
            Ok(())
        }

        async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError> {
            Ok(vec![GattServiceInfo {
                uuid: SERVICE.into(),
                characteristics: vec![GattCharacteristicInfo {
                    uuid: SESSION.into(),
                    descriptors: vec!["2902".into(), "2901".into()],
                }],
            }])
        }

        async fn read_descriptor(&self, s: String, c: String, d: String) -> Result<Vec<u8>, GattLinkError> {
            self.record(format!("describe {s} {c} {d}"));
            Ok(b"prov-session".to_vec())
        }

        async fn write_characteristic(&self, s: String, c: String, v: Vec<u8>) -> Result<(), GattLinkError> {
            self.record(format!("write {s} {c} {}", v.len()));
            self.write_errors.lock().unwrap().pop().map_or(Ok(()), Err)
        }

        async fn read_characteristic(&self, s: String, c: String) -> Result<Vec<u8>, GattLinkError> {
            self.record(format!("read {s} {c}"));
            self.read_errors.lock().unwrap().pop().map_or(Ok(b"answer".to_vec()), Err)
        }

        fn write_limit(&self) -> Option<u32> {
            None
        }

        fn advertised_services(&self) -> Vec<String> {
            vec![SERVICE.into()]
        }

        async fn disconnect(&self) {
            self.record("disconnect".into());
        }
    }

    fn driver(link: &Arc<ScriptLink>) -> GattTransport {
        GattTransport::new(link.clone(), GattConfig::default())
    }

    #[tokio::test]
    async fn uuids_are_matched_canonically_and_handed_back_verbatim() {
        let link = Arc::new(ScriptLink::default());
        let driver = driver(&link);
        assert_eq!(driver.send("prov-session".into(), b"x".to_vec()).await.unwrap(), b"answer");
        assert_eq!(driver.service_uuid().await.as_deref(), Some(gatt::EXAMPLE_SERVICE_UUID));
        assert_eq!(
            driver.endpoint_uuids().await,
            [("prov-session".to_owned(), "021aff51-0382-4aea-bff4-6b3f1c5adfb4".to_owned())]
        );
        assert_eq!(
            link.calls(),
            [
                "connect".to_owned(),
                format!("describe {SERVICE} {SESSION} 2901"),
                format!("write {SERVICE} {SESSION} 1"),
                format!("read {SERVICE} {SESSION}"),
            ]
        );
    }

    #[tokio::test]
    async fn link_failures_map_to_transport_errors() {
        let refused = || GattLinkError::Refused { att_error: 0x04 };
        let failed = || GattLinkError::Failed { detail: "busy".into() };
        let dropped = || GattLinkError::Disconnected { detail: "gone".into() };
        let down = || GattLinkError::Unreachable { detail: "not connected".into() };
        // (write error, read error, expected, whether the link is kept)
        let cases = [
            (Some(refused()), None, TransportError::ClosedWithoutResponse, true),
            (Some(failed()), None, TransportError::ClosedWithoutResponse, true),
            (Some(dropped()), None, TransportError::ClosedWithoutResponse, false),
            (
                Some(down()),
                None,
                TransportError::Disconnected { detail: "the BLE link was down when writing prov-session".into() },
                false,
            ),
            (
                None,
                Some(failed()),
                TransportError::Io { detail: "reading prov-session failed: BLE operation failed: busy".into() },
                true,
            ),
            (
                None,
                Some(dropped()),
                TransportError::Disconnected { detail: "the link dropped while reading prov-session".into() },
                false,
            ),
            (
                None,
                Some(down()),
                TransportError::Disconnected { detail: "the link dropped while reading prov-session".into() },
                false,
            ),
        ];
        for (write_error, read_error, expected, kept) in cases {
            let link = Arc::new(ScriptLink::default());
            link.write_errors.lock().unwrap().extend(write_error);
            link.read_errors.lock().unwrap().extend(read_error);
            let driver = driver(&link);
            assert_eq!(driver.send("prov-session".into(), b"x".to_vec()).await, Err(expected.clone()));
            assert_eq!(link.calls().contains(&"disconnect".to_owned()), !kept, "{expected:?}");
            assert_eq!(driver.endpoints().await.is_empty(), !kept, "{expected:?}");
            // The next exchange works, on the same connection or a new one.
            assert!(driver.send("prov-session".into(), b"x".to_vec()).await.is_ok());
            let connects = link.calls().iter().filter(|c| *c == "connect").count();
            assert_eq!(connects, if kept { 1 } else { 2 }, "{expected:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_comes_is_unreachable_in_time() {
        let link = Arc::new(ScriptLink { hang_connect: true, ..ScriptLink::default() });
        let driver = driver(&link);
        let error = driver.connect().await.unwrap_err();
        assert_eq!(error, TransportError::Unreachable { detail: "no connection within 20000 ms".into() });
        assert_eq!(link.calls(), ["connect", "disconnect"]);
    }
}
