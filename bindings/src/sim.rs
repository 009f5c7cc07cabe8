//! [`SimulatedDevice`]: the core's in-process device simulator, for app tests, demos and UI work
//! without hardware. It runs the device side of the real protocol (security 0/1/2, scan,
//! credentials, status, control, custom echo endpoints), and [`SimulatedPeripheral`]: the same device
//! as a BLE peripheral behind the core's `GattLink` interface.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rainmaker_prov::endpoints::wifi::{WifiAuthMode, WifiNetwork as CoreWifiNetwork};
use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::sim::device::{SimAccessPoint, SimConfig, SimDevice, SimFlavor, SimSecurity};
use rainmaker_prov::sim::gatt_peripheral::{FailureStyle, SimPeripheral};
use rainmaker_prov::sim::http_server::{HttpDeviceServer, HttpServerHandle};
use rainmaker_prov::transport::memory::MemoryTransport;

use rainmaker_prov::transport::Transport;
use rainmaker_prov::transport::gatt_link::{GattLink, GattLinkError, GattServiceInfo};

use crate::transport::NativeTransport;
use rainmaker_prov::error::ProvError;
use rainmaker_prov::security::SecurityLevel;
use rainmaker_prov::transport::foreign::ProvTransport;

/// SRP username the simulator uses when none is configured (the ESP-IDF default).
const DEFAULT_USERNAME: &str = "wifiprov";

/// A Wi-Fi network the simulated device's radio can see and join.
#[derive(Clone, uniffi::Record)]
pub struct SimulatedNetwork {
    /// SSID.
    pub ssid: String,
    /// The passphrase that joins it; `null`/`nil` for an open network.
    #[uniffi(default = None)]
    pub passphrase: Option<String>,
    /// Signal strength reported by a scan, in dBm.
    #[uniffi(default = -50)]
    pub rssi: i32,
    /// Channel.
    #[uniffi(default = 6)]
    pub channel: u32,
}

impl std::fmt::Debug for SimulatedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedNetwork")
            .field("ssid", &self.ssid)
            .field("open", &self.passphrase.is_none())
            .finish_non_exhaustive()
    }
}

/// How a [`SimulatedDevice`] is built, like firmware configuration.
#[derive(Clone, uniffi::Record)]
pub struct SimulatedDeviceConfig {
    /// The security scheme the device runs.
    pub security: SecurityLevel,
    /// Security 1 PoP (`null`/`nil`: `no_pop`), or the security 2 password (required).
    #[uniffi(default = None)]
    pub pop: Option<String>,
    /// Security 2 username (default `wifiprov`).
    #[uniffi(default = None)]
    pub username: Option<String>,
    /// Networks the device sees; empty: the simulator's standard list (`RefPeer-Home` /
    /// `secretpass`, an open `Open Cafe Wi-Fi`, ...).
    #[uniffi(default = [])]
    pub networks: Vec<SimulatedNetwork>,
    /// Time from applying credentials until the join attempt resolves, in milliseconds.
    #[uniffi(default = 300)]
    pub join_delay_ms: u64,
    /// Latency added to every exchange, in milliseconds.
    #[uniffi(default = 0)]
    pub exchange_latency_ms: u64,
    /// Run `network_provisioning` firmware (Wi-Fi and Thread) instead of `wifi_provisioning`.
    #[uniffi(default = false)]
    pub thread: bool,
}

impl std::fmt::Debug for SimulatedDeviceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedDeviceConfig")
            .field("security", &self.security)
            .field("username", &self.username)
            .field("networks", &self.networks)
            .field("join_delay_ms", &self.join_delay_ms)
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

fn access_point(network: SimulatedNetwork, index: usize) -> SimAccessPoint {
    let auth = if network.passphrase.is_some() { WifiAuthMode::Wpa2Psk } else { WifiAuthMode::Open };
    SimAccessPoint {
        network: CoreWifiNetwork {
            ssid: network.ssid.into_bytes(),
            channel: network.channel,
            rssi: network.rssi,
            bssid: vec![0x02, 0x00, 0x00, 0x00, (index >> 8) as u8, index as u8],
            auth,
        },
        hidden_ssid: None,
        passphrase: network.passphrase.map(Secret::from),
    }
}

fn sim_config(config: SimulatedDeviceConfig) -> Result<SimConfig, ProvError> {
    let security = match config.security {
        SecurityLevel::Sec0 => SimSecurity::Sec0,
        SecurityLevel::Sec1 => SimSecurity::Sec1 { pop: config.pop.map(Secret::from) },
        SecurityLevel::Sec2 => SimSecurity::Sec2 {
            username: config.username.unwrap_or_else(|| DEFAULT_USERNAME.to_owned()),
            password: Secret::from(config.pop.ok_or_else(|| ProvError::InvalidInput {
                detail: "a security 2 device needs a password (pop)".into(),
            })?),
            patch: Sec2Patch::Patch1,
        },
    };
    let mut sim = SimConfig::new(security);
    if !config.networks.is_empty() {
        sim.access_points = config.networks.into_iter().enumerate().map(|(i, n)| access_point(n, i)).collect();
    }
    sim.join_delay = Duration::from_millis(config.join_delay_ms);
    sim.exchange_latency = Duration::from_millis(config.exchange_latency_ms);
    if config.thread {
        sim.flavor = SimFlavor::NetworkProvisioning;
    }
    Ok(sim)
}

/// An in-process simulated device. Reach it with [`SimulatedDevice::transport`] (or wrap that
/// transport in your own [`ProvTransport`] to inject failures), or over real HTTP on loopback
/// with [`SimulatedDevice::serve_http`] and `softap_transport`.
#[derive(uniffi::Object)]
pub struct SimulatedDevice {
    device: Arc<SimDevice>,
    http: Mutex<Option<HttpServerHandle>>,
}

impl std::fmt::Debug for SimulatedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedDevice").field("device", &self.device).finish_non_exhaustive()
    }
}

impl SimulatedDevice {
    /// A new in-process core transport to this device.
    pub(crate) fn memory_transport(&self) -> Arc<dyn Transport> {
        Arc::new(MemoryTransport::new(self.device.clone()))
    }
}

#[uniffi::export]
impl SimulatedDevice {
    /// Starts a simulated device (derives the SRP verifier for security 2).
    #[uniffi::constructor]
    pub fn new(config: SimulatedDeviceConfig) -> Result<Arc<Self>, ProvError> {
        Ok(Arc::new(Self { device: SimDevice::new(sim_config(config)?), http: Mutex::new(None) }))
    }

    /// A new in-process transport to this device (each one is its own transport session).
    pub fn transport(&self) -> Arc<dyn ProvTransport> {
        Arc::new(NativeTransport::new(self.memory_transport()))
    }

    /// Serves the device over HTTP on `127.0.0.1` (like its SoftAP would) and returns the
    /// `host:port` to give to `softap_transport`. Calling it again returns the same address.
    pub async fn serve_http(&self) -> Result<String, ProvError> {
        if let Some(handle) = self.http.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Ok(handle.host());
        }
        let device = self.device.clone();
        let handle = crate::runtime::spawn(async move {
            HttpDeviceServer::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), device).map(HttpDeviceServer::spawn)
        })
        .await?
        .map_err(|e| ProvError::Internal { detail: format!("cannot serve HTTP: {e}") })?;
        let host = handle.host();
        *self.http.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Ok(host)
    }

    /// The SSID the device joined, once provisioned.
    pub fn connected_ssid(&self) -> Option<String> {
        self.device.connected_ssid().map(|s| String::from_utf8_lossy(&s).into_owned())
    }

    /// Whether the device attached to a Thread network.
    pub fn thread_attached(&self) -> bool {
        self.device.thread_attached()
    }

    /// Requests the device handled so far.
    pub fn requests_handled(&self) -> u64 {
        self.device.stats().requests
    }
}

// ---------------------------------------------------------------------------------------------
// Simulated BLE peripheral
// ---------------------------------------------------------------------------------------------

/// How a [`SimulatedPeripheral`] is built: the GATT layout and the faults of the simulated
/// firmware's BLE stack.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SimulatedPeripheralConfig {
    /// The advertised local name (default `PROV_51a000`).
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// The provisioning service UUID (default the ESP-IDF example's `021a9004-…`).
    #[uniffi(default = None)]
    pub service_uuid: Option<String>,
    /// Whether the advertisement carries the provisioning service UUID (without it the driver
    /// finds the service among its fallbacks).
    #[uniffi(default = true)]
    pub advertised: bool,
    /// `false`: the ESP-IDF v3.2 layout, without 0x2901 user descriptions (service 0xFFFF, legacy
    /// characteristic UUIDs); the driver must map the endpoints without them.
    #[uniffi(default = true)]
    pub descriptions: bool,
    /// The largest value one write may carry, as `writeLimit()` reports it (for example 20: a
    /// stack without MTU negotiation or long writes); a longer write fails.
    #[uniffi(default = None)]
    pub write_limit: Option<u32>,
    /// The link drops in the middle of this write (1-based, over the peripheral's life): the
    /// write is handled, and the read that follows fails with `GattLinkError.Disconnected`.
    #[uniffi(default = None)]
    pub drop_at_write: Option<u64>,
    /// `true`: the firmware drops the link on a failed request (Bluedroid); `false`: it answers
    /// the write with ATT error 0x04 and keeps the link (NimBLE).
    #[uniffi(default = false)]
    pub bluedroid: bool,
}

impl Default for SimulatedPeripheralConfig {
    fn default() -> Self {
        Self {
            name: None,
            service_uuid: None,
            advertised: true,
            descriptions: true,
            write_limit: None,
            drop_at_write: None,
            bluedroid: false,
        }
    }
}

/// A simulated BLE peripheral in provisioning mode, serving a [`SimulatedDevice`] with the GATT
/// layout of ESP-IDF firmware (the core's `SimPeripheral`). Its methods are those of the core's
/// `GattLink`, so an app-side (Kotlin/Swift) `GattLink` can forward to it, adding its own
/// failures, and be given to `ProvDevice.ble`: the whole BLE path except the radio.
#[derive(uniffi::Object)]
pub struct SimulatedPeripheral {
    inner: Arc<SimPeripheral>,
}

impl std::fmt::Debug for SimulatedPeripheral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedPeripheral").field("inner", &self.inner).finish()
    }
}

impl SimulatedPeripheral {
    /// Runs a link operation on the bindings' runtime (the simulated firmware handles requests
    /// there, as it would on its own CPU).
    async fn run<T, F>(&self, call: impl FnOnce(Arc<SimPeripheral>) -> F) -> Result<T, GattLinkError>
    where
        F: std::future::Future<Output = Result<T, GattLinkError>> + Send + 'static,
        T: Send + 'static,
    {
        let fut = call(Arc::clone(&self.inner));
        crate::runtime::spawn(fut).await.map_err(|e| GattLinkError::Failed { detail: e.to_string() })?
    }
}

#[uniffi::export]
impl SimulatedPeripheral {
    /// A peripheral serving `device` (default configuration: advertised example service, user
    /// descriptions, no write limit, NimBLE-style failures).
    #[uniffi::constructor(default(config = None))]
    pub fn new(device: Arc<SimulatedDevice>, config: Option<SimulatedPeripheralConfig>) -> Arc<Self> {
        let config = config.unwrap_or_default();
        let mut peripheral = SimPeripheral::new(device.device.clone());
        if let Some(name) = config.name {
            peripheral = peripheral.name(name);
        }
        if !config.descriptions {
            peripheral = peripheral.without_descriptions();
        }
        if let Some(uuid) = config.service_uuid {
            peripheral = peripheral.service_uuid(&uuid);
        }
        peripheral = peripheral.advertised(config.advertised).write_limit(config.write_limit);
        if let Some(n) = config.drop_at_write {
            peripheral = peripheral.drop_at_write(n);
        }
        if config.bluedroid {
            peripheral = peripheral.failure_style(FailureStyle::Bluedroid);
        }
        Arc::new(Self { inner: Arc::new(peripheral) })
    }

    /// The advertised local name.
    pub fn name(&self) -> String {
        self.inner.advertised_name().to_owned()
    }

    /// `GattLink.connect`: connects (a new session on the device).
    pub async fn connect(&self) -> Result<(), GattLinkError> {
        self.run(|p| async move { p.connect().await }).await
    }

    /// `GattLink.discover_services`.
    pub async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError> {
        self.run(|p| async move { p.discover_services().await }).await
    }

    /// `GattLink.read_descriptor`.
    pub async fn read_descriptor(
        &self,
        service: String,
        characteristic: String,
        descriptor: String,
    ) -> Result<Vec<u8>, GattLinkError> {
        self.run(|p| async move { p.read_descriptor(service, characteristic, descriptor).await }).await
    }

    /// `GattLink.write_characteristic`: the device handles the request and stores its response.
    pub async fn write_characteristic(
        &self,
        service: String,
        characteristic: String,
        value: Vec<u8>,
    ) -> Result<(), GattLinkError> {
        self.run(|p| async move { p.write_characteristic(service, characteristic, value).await }).await
    }

    /// `GattLink.read_characteristic`: the stored response.
    pub async fn read_characteristic(&self, service: String, characteristic: String) -> Result<Vec<u8>, GattLinkError> {
        self.run(|p| async move { p.read_characteristic(service, characteristic).await }).await
    }

    /// `GattLink.write_limit`.
    pub fn write_limit(&self) -> Option<u32> {
        GattLink::write_limit(self.inner.as_ref())
    }

    /// `GattLink.advertised_services`.
    pub fn advertised_services(&self) -> Vec<String> {
        GattLink::advertised_services(self.inner.as_ref())
    }

    /// `GattLink.disconnect`.
    pub async fn disconnect(&self) {
        if let Err(e) = self
            .run(|p| async move {
                p.disconnect().await;
                Ok(())
            })
            .await
        {
            log::debug!("simulated peripheral: disconnect did not run: {e}");
        }
    }

    /// Characteristic writes the peripheral received (accepted or not), over its life.
    pub fn writes(&self) -> u64 {
        self.inner.writes()
    }

    /// Connections made, over the peripheral's life.
    pub fn connections(&self) -> u64 {
        self.inner.connections()
    }

    /// Whether the link is up.
    pub fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// Drops the link from the peripheral's side (the device went away): the next operation
    /// finds it down.
    pub fn drop_link(&self) {
        self.inner.drop_link();
    }
}

// ---------------------------------------------------------------------------------------------
// RainMaker test doubles (feature `test-cloud`: the Kotlin/Swift test suites, never `mobile`)
// ---------------------------------------------------------------------------------------------

/// The ESP RainMaker personality of a simulated device (feature `test-cloud`).
#[cfg(feature = "test-cloud")]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SimulatedRainMaker {
    /// The traditional mapping only (`cloud_user_assoc`).
    UserAssoc {
        /// The node id the device reports.
        node_id: String,
    },
    /// Challenge-response (`ch_resp`) with a P-256 node key.
    ChallengeResponse {
        /// The node id the device reports.
        node_id: String,
    },
    /// Challenge-response with an RSA-2048 node key (RSASSA-PSS signatures).
    ChallengeResponseRsa {
        /// The node id the device reports.
        node_id: String,
    },
    /// An unclaimed node (assisted claiming); its node id is assigned by the claiming service.
    Claiming {
        /// After claiming, associate with challenge-response (`true`) or the traditional
        /// mapping (`false`).
        challenge_response: bool,
    },
}

#[cfg(feature = "test-cloud")]
#[uniffi::export]
impl SimulatedDevice {
    /// A simulated RainMaker device (`rainmaker`, or plain ESP-IDF firmware when `null`/`nil`).
    /// `corrupted_salt` (security 2 only) imitates a device whose generated salt started with a
    /// zero byte (docs/protocol.md 4.3.2): only a client that retries without the last salt byte
    /// authenticates. Provisioning does not stop by itself after the device joined.
    #[uniffi::constructor(default(rainmaker = None, corrupted_salt = false))]
    pub fn with_rainmaker(
        config: SimulatedDeviceConfig,
        rainmaker: Option<SimulatedRainMaker>,
        corrupted_salt: bool,
    ) -> Result<Arc<Self>, ProvError> {
        use rainmaker_prov::sim::device::{SimNodeKey, SimRainMaker};
        let mut sim = sim_config(config)?;
        if corrupted_salt {
            sim.security = match sim.security {
                SimSecurity::Sec2 { username, password, patch } => {
                    SimSecurity::Sec2CorruptedSalt { username, password, patch }
                }
                _ => {
                    return Err(ProvError::InvalidInput {
                        detail: "a corrupted salt needs a security 2 device".into(),
                    });
                }
            };
        }
        sim.auto_stop = None;
        sim.rainmaker = rainmaker.map(|r| match r {
            SimulatedRainMaker::UserAssoc { node_id } => SimRainMaker::user_assoc(node_id),
            SimulatedRainMaker::ChallengeResponse { node_id } => SimRainMaker::ch_resp(node_id),
            SimulatedRainMaker::ChallengeResponseRsa { node_id } => {
                SimRainMaker::ch_resp(node_id).with_node_key(SimNodeKey::Rsa2048, None)
            }
            SimulatedRainMaker::Claiming { challenge_response } => SimRainMaker::claiming(challenge_response),
        });
        Ok(Arc::new(Self { device: SimDevice::new(sim), http: Mutex::new(None) }))
    }

    /// The device's node id (RainMaker devices; a claiming device once claimed).
    pub fn rainmaker_node_id(&self) -> Option<String> {
        self.device.rainmaker_node_id().map(|s| s.to_string()).filter(|s| !s.is_empty())
    }

    /// The user ids the device received on `cloud_user_assoc`, oldest first.
    pub fn rainmaker_mapped_user_ids(&self) -> Vec<String> {
        self.device.rainmaker_user_mappings().into_iter().map(|m| m.user_id.clone()).collect()
    }
}

/// A failure mode of the [`FakeRainMakerCloud`] (feature `test-cloud`).
#[cfg(feature = "test-cloud")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FakeCloudFault {
    /// Every password is wrong.
    WrongPassword,
    /// Logins need a one-time code.
    OtpRequired,
    /// Access tokens are issued already expired (clients must refresh).
    ExpiredAccessTokens,
    /// Challenge responses are refused (as for a wrong signature).
    RejectChallenges,
    /// `claim/initiate` is refused.
    RefuseClaimInitiate,
    /// `claim/verify` answers more than a device can take.
    OversizedClaimVerify,
    /// Mapping requests end `timedout`.
    MappingTimedOut,
    /// Mapping requests end `discarded`.
    MappingDiscarded,
    /// Mapping requests stay `requested`.
    MappingNeverConfirmed,
}

/// A fake ESP RainMaker cloud (REST API and claiming service) on `127.0.0.1`, with one account
/// (feature `test-cloud`). Attach simulated devices so that it sees them come online.
#[cfg(feature = "test-cloud")]
#[derive(uniffi::Object)]
pub struct FakeRainMakerCloud {
    cloud: rainmaker_prov::sim::cloud::FakeCloud,
}

#[cfg(feature = "test-cloud")]
impl std::fmt::Debug for FakeRainMakerCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRainMakerCloud").field("base_url", &self.cloud.base_url()).finish_non_exhaustive()
    }
}

/// Starts a [`FakeRainMakerCloud`] whose one account is `user_name` / `password`.
#[cfg(feature = "test-cloud")]
#[uniffi::export]
pub async fn start_fake_cloud(user_name: String, password: String) -> Result<Arc<FakeRainMakerCloud>, ProvError> {
    use rainmaker_prov::sim::cloud::{FakeCloud, FakeCloudConfig};
    let cloud = crate::runtime::spawn(async move { FakeCloud::start(FakeCloudConfig::new(user_name, password)).await })
        .await?
        .map_err(|e| ProvError::Internal { detail: format!("cannot start the fake cloud: {e}") })?;
    Ok(Arc::new(FakeRainMakerCloud { cloud }))
}

#[cfg(feature = "test-cloud")]
#[uniffi::export]
impl FakeRainMakerCloud {
    /// The REST base (`http://127.0.0.1:<port>/v1/`).
    pub fn base_url(&self) -> String {
        self.cloud.base_url()
    }

    /// The claiming service base.
    pub fn claim_url(&self) -> String {
        self.cloud.claim_url()
    }

    /// The account's user id.
    pub fn user_id(&self) -> String {
        self.cloud.user_id()
    }

    /// Lets the cloud see `device` (its node reports, its claiming key).
    pub fn attach(&self, device: Arc<SimulatedDevice>) {
        self.cloud.attach(device.device.clone());
    }

    /// Turns a failure mode on or off.
    pub fn set_fault(&self, fault: FakeCloudFault, enabled: bool) {
        use rainmaker_prov::sim::cloud::MappingBehaviour;
        self.cloud.update_faults(|f| match fault {
            FakeCloudFault::WrongPassword => f.wrong_password = enabled,
            FakeCloudFault::OtpRequired => f.otp_required = enabled,
            FakeCloudFault::ExpiredAccessTokens => f.expired_access_tokens = enabled,
            FakeCloudFault::RejectChallenges => f.reject_challenges = enabled,
            FakeCloudFault::RefuseClaimInitiate => f.refuse_claim_initiate = enabled,
            FakeCloudFault::OversizedClaimVerify => f.oversized_claim_verify = enabled,
            FakeCloudFault::MappingTimedOut
            | FakeCloudFault::MappingDiscarded
            | FakeCloudFault::MappingNeverConfirmed => {
                f.mapping = match (fault, enabled) {
                    (_, false) => MappingBehaviour::Normal,
                    (FakeCloudFault::MappingTimedOut, true) => MappingBehaviour::TimedOut,
                    (FakeCloudFault::MappingDiscarded, true) => MappingBehaviour::Discarded,
                    _ => MappingBehaviour::NeverConfirmed,
                };
            }
        });
    }

    /// The next `count` requests to `path` (e.g. `/v1/user/nodes/mapping`) answer HTTP `status`.
    pub fn fail_next(&self, path: String, count: u32, status: u16) {
        self.cloud.fail_next(&path, count, status);
    }

    /// The node ids on the account.
    pub fn mapped_node_ids(&self) -> Vec<String> {
        self.cloud.mapped_nodes().into_iter().map(|(_, node)| node).collect()
    }

    /// Requests received on `path` so far.
    pub fn request_count(&self, path: String) -> u64 {
        self.cloud.request_count(&path) as u64
    }
}
