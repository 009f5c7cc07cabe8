//! The simulated device: protocomm's device side with fake Wi-Fi and Thread radios.
//!
//! A [`SimDevice`] answers `proto-ver`, runs the device side of security 0/1/2, and serves
//! `prov-scan`, `prov-config`, `prov-ctrl` and custom echo endpoints with the behaviour of
//! ESP-IDF's provisioning manager: a scan list capped at `scan_max_entries`, a join that takes
//! `join_delay` (and/or a number of "Connecting" polls), wrong passphrase -> AuthError, unknown
//! SSID -> NetworkNotFound, optional attempts_remaining, reset/reprov.
//!
//! Provisioning state (docs/protocol.md 6.3, 6.5, 6.6): credentials applied once stay applied for
//! the provisioning round. A second apply (after a failure without `prov-ctrl` reset, or on a
//! provisioned firmware-like device) answers `InternalError`, as the firmware does; set-config
//! itself is accepted (the firmware only stores what it receives there). By default the device
//! keeps serving after a successful provisioning and takes new credentials like a device a
//! developer resets between tests; [`SimConfig::auto_stop`] opts in to firmware behaviour
//! (refuse new credentials, then stop provisioning shortly after reporting Connected). Every
//! provisioning outcome is logged at info level (never a passphrase or a dataset).
//!
//! With a [`SimRainMaker`] personality it also serves ESP RainMaker's user-node association:
//! `cloud_user_assoc` (recording the user id and secret key it receives), or, with challenge-response
//! enabled, `ch_resp` (signing SHA-256(challenge) with a P-256 node key, DER signatures) and the
//! `rmaker_extra` app info in `proto-ver` (docs/protocol.md 8.2, 8.4, 12.1).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

// tokio's clock (std's outside a runtime): join delays and auto-stop follow a paused test clock.
use tokio::time::Instant;

use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::rng::FillRng;

use crate::endpoints::proto_ver::{AppInfo, ProvInfo, VersionInfo};
use crate::endpoints::{self, proto_ver, rainmaker, thread, wifi};
use crate::security::{DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, Secret, SecurityLevel, srp};
use crate::sim::{DeviceFailure, DeviceLink};

/// The device's security setup, as firmware would be built with.
#[derive(Debug, Clone)]
pub enum SimSecurity {
    /// No security.
    Sec0,
    /// Security 1 with an optional PoP (`None` advertises `no_pop`).
    Sec1 {
        /// Proof of possession.
        pop: Option<Secret>,
    },
    /// Security 2: the salt and verifier are derived from these at start-up.
    Sec2 {
        /// SRP username the verifier is made for.
        username: String,
        /// SRP password (the PoP printed on the device).
        password: Secret,
        /// GCM nonce mode.
        patch: Sec2Patch,
    },
    /// Security 2 with a salt and verifier made elsewhere (a factory partition, or Espressif's
    /// `esp_prov --sec2_gen_cred` output), as firmware receives them (see
    /// [`SimSecurity::sec2_provisioned`]).
    Sec2Provisioned {
        /// The salt, sent verbatim.
        salt: Vec<u8>,
        /// The verifier (password-equivalent: wiped on drop, not in `Debug`).
        verifier: Arc<srp::Verifier>,
        /// GCM nonce mode.
        patch: Sec2Patch,
    },
    /// Security 2 imitating a RainMaker device whose runtime-generated salt started with a zero
    /// byte (docs/protocol.md 4.3.2 hazard 2): it sends a 16-byte salt starting with `00` but its
    /// verifier was computed over the first 15 salt bytes only. A strict client fails; one that
    /// retries with the last salt byte dropped authenticates.
    Sec2CorruptedSalt {
        /// SRP username the verifier is made for.
        username: String,
        /// SRP password (the PoP printed on the device).
        password: Secret,
        /// GCM nonce mode.
        patch: Sec2Patch,
    },
}

impl SimSecurity {
    /// Security 2 with a salt and a big-endian verifier made elsewhere.
    pub fn sec2_provisioned(salt: Vec<u8>, verifier: Vec<u8>, patch: Sec2Patch) -> Self {
        Self::Sec2Provisioned { salt, verifier: Arc::new(srp::Verifier::new(verifier)), patch }
    }

    /// The scheme number.
    pub fn level(&self) -> SecurityLevel {
        match self {
            SimSecurity::Sec0 => SecurityLevel::Sec0,
            SimSecurity::Sec1 { .. } => SecurityLevel::Sec1,
            SimSecurity::Sec2 { .. } | SimSecurity::Sec2Provisioned { .. } | SimSecurity::Sec2CorruptedSalt { .. } => {
                SecurityLevel::Sec2
            }
        }
    }
}

/// One access point the fake radio can see.
#[derive(Debug, Clone)]
pub struct SimAccessPoint {
    /// What a scan reports (an empty SSID is a hidden network).
    pub network: wifi::WifiNetwork,
    /// The real SSID of a hidden network (what a client must send to join it).
    pub hidden_ssid: Option<Vec<u8>>,
    /// The passphrase that joins it (ignored for open networks).
    pub passphrase: Option<Secret>,
}

/// One Thread network the fake radio can see.
#[derive(Debug, Clone)]
pub struct SimThreadNetwork {
    /// What a Thread scan reports.
    pub network: thread::ThreadNetwork,
}

/// Which provisioning component the simulated firmware runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFlavor {
    /// ESP-IDF `wifi_provisioning` (`"ver": "v1.1"`, Wi-Fi only).
    WifiProvisioning,
    /// `network_provisioning` (`"ver": "netprov-v1.2"`) with Wi-Fi and Thread.
    NetworkProvisioning,
}

/// The ESP RainMaker personality of a simulated device (docs/protocol.md 8).
#[derive(Debug, Clone)]
pub struct SimRainMaker {
    /// The node id the device reports (`NodeId` of the mapping answer, `node_id` of `ch_resp`).
    pub node_id: String,
    /// Challenge-response enabled (current firmware default): `rmaker_extra.cap` lists `ch_resp`,
    /// the `ch_resp` endpoint is registered and `cloud_user_assoc` is not. Otherwise only
    /// `cloud_user_assoc` exists and `proto-ver` shows nothing RainMaker-specific.
    pub ch_resp: bool,
    /// The node's private key: for [`SimNodeKey::P256`] the 32-byte big-endian scalar, for
    /// `SimNodeKey::Rsa2048` the PKCS#8 DER private key. `None`: drawn from the device's
    /// randomness at start-up (an RSA-2048 key generation is slow in debug builds).
    pub signing_key: Option<Secret>,
    /// The type of the node key (default P-256).
    pub key_type: SimNodeKey,
    /// Assisted claiming (docs/protocol.md 8.3): `rmaker.cap` lists `claim` until the node is
    /// claimed and the `rmaker_claim` endpoint is registered. The node id is then the one the
    /// cloud assigns in Init (`node_id` may stay empty until then).
    #[cfg(feature = "sim-rainmaker")]
    pub claim: bool,
    /// The base MAC address reported by claiming Start (`None`: Espressif's OUI and three bytes
    /// drawn from the device's randomness, only for claiming devices).
    #[cfg(feature = "sim-rainmaker")]
    pub mac_addr: Option<[u8; 6]>,
}

/// The type of a simulated RainMaker node key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimNodeKey {
    /// ECDSA P-256; challenges signed with ECDSA/SHA-256, DER signatures.
    #[default]
    P256,
    /// RSA-2048; challenges signed with RSASSA-PSS/SHA-256, salt length 32.
    #[cfg(feature = "sim-rainmaker")]
    Rsa2048,
}

impl SimRainMaker {
    fn new(node_id: String, ch_resp: bool) -> Self {
        Self {
            node_id,
            ch_resp,
            signing_key: None,
            key_type: SimNodeKey::P256,
            #[cfg(feature = "sim-rainmaker")]
            claim: false,
            #[cfg(feature = "sim-rainmaker")]
            mac_addr: None,
        }
    }

    /// A node with the traditional `cloud_user_assoc` endpoint only.
    pub fn user_assoc(node_id: impl Into<String>) -> Self {
        Self::new(node_id.into(), false)
    }

    /// A node with challenge-response (`ch_resp`) and no `cloud_user_assoc`.
    pub fn ch_resp(node_id: impl Into<String>) -> Self {
        Self::new(node_id.into(), true)
    }

    /// An unclaimed node with assisted claiming (`rmaker_claim`) and no node id until the cloud
    /// assigns one; `ch_resp` chooses the user-node association endpoint as in
    /// [`SimRainMaker::ch_resp`] / [`SimRainMaker::user_assoc`].
    #[cfg(feature = "sim-rainmaker")]
    pub fn claiming(ch_resp: bool) -> Self {
        let mut r = Self::new(String::new(), ch_resp);
        r.claim = true;
        r
    }

    /// The same personality with this node key type and, optionally, a fixed key (see
    /// [`SimRainMaker::signing_key`]).
    pub fn with_node_key(mut self, key_type: SimNodeKey, key: Option<Secret>) -> Self {
        self.key_type = key_type;
        self.signing_key = key;
        self
    }
}

/// Everything that defines a simulated device.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Security scheme and secrets.
    pub security: SimSecurity,
    /// Firmware flavour (decides `proto-ver` and whether Thread is available).
    pub flavor: SimFlavor,
    /// Extra application labels in `proto-ver` (RainMaker's `rmaker`, `rmaker_extra`, ...).
    pub app_info: Vec<AppInfo>,
    /// Access points seen by a Wi-Fi scan (sorted by RSSI when reported).
    pub access_points: Vec<SimAccessPoint>,
    /// Thread networks seen by a Thread scan.
    pub thread_networks: Vec<SimThreadNetwork>,
    /// Cap on stored Wi-Fi scan results (ESP-IDF default 16).
    pub scan_max_entries: usize,
    /// Time from apply until the join attempt resolves.
    pub join_delay: Duration,
    /// Status polls answered "Connecting" after apply before the attempt resolves.
    pub connecting_polls: u32,
    /// `wifi_conn_attempts`: 0 = report the first failure; N = report `attempts_remaining`
    /// during N-1 retries before giving up.
    pub connection_attempts: u32,
    /// Custom endpoints that echo their input (ESP-IDF's example registers `custom-data`).
    pub echo_endpoints: Vec<String>,
    /// Latency added to every exchange by the transport servers.
    pub exchange_latency: Duration,
    /// Firmware-like end of provisioning (docs/protocol.md 6.5): `Some(d)` stops provisioning
    /// `d` after Connected (or Attached) was reported, and until then refuses new credentials as
    /// an already provisioned device does (apply answers `InternalError`, and `prov-ctrl` reprov
    /// is refused as on firmware with auto-stop, 6.6). `None` (the default): the device keeps
    /// serving and, once provisioned, accepts new credentials (scan and provision again), like a
    /// device reset between tests.
    pub auto_stop: Option<Duration>,
    /// Seed for the device's randomness (`None`: from the OS).
    pub seed: Option<u64>,
    /// ESP RainMaker personality (`None`: plain ESP-IDF firmware, no RainMaker endpoints).
    pub rainmaker: Option<SimRainMaker>,
}

impl SimConfig {
    /// A Wi-Fi device with ESP-IDF defaults, the standard fake AP list, and the given security.
    pub fn new(security: SimSecurity) -> Self {
        Self {
            security,
            flavor: SimFlavor::WifiProvisioning,
            app_info: Vec::new(),
            access_points: default_access_points(),
            thread_networks: default_thread_networks(),
            scan_max_entries: 16,
            join_delay: Duration::from_millis(300),
            connecting_polls: 0,
            connection_attempts: 0,
            echo_endpoints: vec!["custom-data".to_owned()],
            exchange_latency: Duration::ZERO,
            auto_stop: None,
            seed: None,
            rainmaker: None,
        }
    }

    /// The `proto-ver` document this device answers with.
    pub fn version_info(&self) -> VersionInfo {
        let (ver, mut cap) = match self.flavor {
            SimFlavor::WifiProvisioning => ("v1.1", vec!["wifi_scan".to_owned()]),
            SimFlavor::NetworkProvisioning => (
                "netprov-v1.2",
                vec!["wifi_prov".into(), "wifi_scan".into(), "thread_prov".into(), "thread_scan".into()],
            ),
        };
        match &self.security {
            SimSecurity::Sec0 => cap.insert(0, "no_sec".into()),
            SimSecurity::Sec1 { pop: None } => cap.insert(0, "no_pop".into()),
            _ => {}
        }
        let patch = match &self.security {
            SimSecurity::Sec2 { patch: Sec2Patch::Patch1, .. }
            | SimSecurity::Sec2Provisioned { patch: Sec2Patch::Patch1, .. }
            | SimSecurity::Sec2CorruptedSalt { patch: Sec2Patch::Patch1, .. } => 1,
            _ => 0,
        };
        // RainMaker registers its entries before the application's, `prov` comes last (12.1).
        let mut apps = Vec::new();
        #[cfg(feature = "sim-rainmaker")]
        if self.rainmaker.as_ref().is_some_and(|r| r.claim)
            && !self.app_info.iter().any(|a| a.label == proto_ver::APP_RMAKER)
        {
            apps.push(AppInfo {
                label: proto_ver::APP_RMAKER.to_owned(),
                ver: "1.0".to_owned(),
                cap: vec![proto_ver::CAP_CLAIM.to_owned()],
            });
        }
        if self.rainmaker.as_ref().is_some_and(|r| r.ch_resp)
            && !self.app_info.iter().any(|a| a.label == proto_ver::APP_RMAKER_EXTRA)
        {
            apps.push(AppInfo {
                label: proto_ver::APP_RMAKER_EXTRA.to_owned(),
                ver: "1.0".to_owned(),
                cap: vec![proto_ver::CAP_CH_RESP.to_owned()],
            });
        }
        apps.extend(self.app_info.iter().cloned());
        VersionInfo {
            prov: Some(ProvInfo {
                ver: ver.to_owned(),
                sec_ver: Some(self.security.level().number()),
                sec_patch_ver: Some(patch),
                cap,
            }),
            apps,
        }
    }
}

fn ap(ssid: &[u8], channel: u32, rssi: i32, bssid_last: u8, auth: i32, pass: Option<&str>) -> SimAccessPoint {
    SimAccessPoint {
        network: wifi::WifiNetwork {
            ssid: ssid.to_vec(),
            channel,
            rssi,
            bssid: vec![0x24, 0x0a, 0xc4, 0x10, 0xa0, bssid_last],
            auth: wifi::WifiAuthMode::from_raw(auth),
        },
        hidden_ssid: None,
        passphrase: pass.map(Secret::from),
    }
}

/// The default fake radio: the 20 access points of the golden transcripts (16 are reported
/// because of the 16-entry cap) — among them a 32-byte SSID, a UTF-8 SSID, a hidden SSID, an open
/// network and auth modes beyond the proto enum.
pub fn default_access_points() -> Vec<SimAccessPoint> {
    let mut hidden = ap(b"", 13, -55, 0x07, 3, Some("hiddenpass"));
    hidden.hidden_ssid = Some(b"RefPeer-Hidden".to_vec());
    let mut zero_bssid = ap(b"Bssid-Has-00-Byte", 10, -69, 0x0c, 3, Some("zerobyte1"));
    zero_bssid.network.bssid = vec![0x24, 0x0a, 0xc4, 0x00, 0x00, 0x0c];
    vec![
        ap(b"RefPeer-Home", 6, -31, 0x01, 3, Some("secretpass")),
        ap(b"RefPeer-Office", 1, -38, 0x02, 7, Some("officepass")),
        ap(b"RefPeer-WPA3", 11, -42, 0x03, 6, Some("wpa3secret")),
        ap(b"Open Cafe Wi-Fi", 3, -45, 0x04, 0, None),
        ap(b"0123456789abcdefghijklmnopqrstuv", 9, -49, 0x05, 3, Some("thirtytwo")),
        ap("Café-Ünïcode ☕".as_bytes(), 4, -52, 0x06, 4, Some("unicode123")),
        hidden,
        ap(b"LegacyWEP", 2, -58, 0x08, 1, Some("wepkey1234")),
        ap(b"OldRouter-WPA", 5, -61, 0x09, 2, Some("oldrouter1")),
        ap(b"Corp-Enterprise", 7, -63, 0x0a, 5, None),
        ap(b"RefPeer-AP-11", 8, -66, 0x0b, 3, Some("password11")),
        zero_bssid,
        ap(b"RefPeer-AP-13", 12, -72, 0x0d, 4, Some("password13")),
        ap(b"RefPeer-AP-14", 1, -75, 0x0e, 3, Some("password14")),
        ap(b"RefPeer-AP-15", 6, -78, 0x0f, 7, Some("password15")),
        ap(b"RefPeer-AP-16", 11, -81, 0x10, 3, Some("password16")),
        ap(b"Wapi-Net", 2, -84, 0x11, 8, Some("wapipass1")),
        ap(b"Owe-Transition", 3, -86, 0x12, 9, None),
        ap(b"Wpa3-Ext-Psk", 4, -88, 0x13, 11, Some("extpsk123")),
        ap(b"Wpa3-Enterprise", 5, -90, 0x14, 14, None),
    ]
}

/// The default Thread networks of the fake radio.
pub fn default_thread_networks() -> Vec<SimThreadNetwork> {
    vec![
        SimThreadNetwork {
            network: thread::ThreadNetwork {
                pan_id: 0x1234,
                channel: 15,
                rssi: -40,
                lqi: 3,
                ext_addr: vec![0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
                network_name: "OpenThread-Home".to_owned(),
                ext_pan_id: vec![0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0xca, 0xfe],
            },
        },
        SimThreadNetwork {
            network: thread::ThreadNetwork {
                pan_id: 0x00ab,
                channel: 11,
                rssi: -70,
                lqi: 1,
                ext_addr: vec![0x22, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1],
                network_name: "Neighbour-Thread".to_owned(),
                ext_pan_id: vec![0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44],
            },
        },
    ]
}

#[derive(Debug)]
enum WifiState {
    /// Provisioning started, no credentials yet.
    Started,
    /// Credentials received, not applied.
    Received { ssid: Vec<u8>, passphrase: Secret },
    /// Applied; joining.
    Joining { ssid: Vec<u8>, passphrase: Secret, since: Instant, polls: u32, failed_attempts: u32 },
    /// Joined.
    Connected(wifi::WifiConnectedInfo),
    /// Gave up.
    Failed(wifi::WifiFailReason),
}

#[derive(Debug)]
enum ThreadState {
    Started,
    Received { dataset: Secret },
    Joining { dataset: Secret, since: Instant, polls: u32 },
    Attached(thread::ThreadStatus),
    Failed(thread::ThreadFailReason),
}

struct State {
    session_id: Option<u32>,
    security: DeviceSecuritySession,
    wifi: WifiState,
    thread: ThreadState,
    scan_results: Option<Vec<wifi::WifiNetwork>>,
    thread_scan_results: Option<Vec<thread::ThreadNetwork>>,
    connected_reported_at: Option<Instant>,
    /// Whether the end of provisioning (auto-stop) was logged.
    stop_logged: bool,
    rng: SimRng,
    sessions_opened: u64,
    requests: u64,
    rmaker_mappings: Vec<rainmaker::UserMapping>,
    ch_resp_disabled: bool,
    challenges_signed: u64,
    #[cfg(feature = "sim-rainmaker")]
    claim: crate::sim::node::ClaimState,
}

/// A simulated node's private key.
pub(crate) enum NodeKey {
    /// ECDSA P-256.
    P256(p256::ecdsa::SigningKey),
    /// RSA (2048 bits when generated).
    #[cfg(feature = "sim-rainmaker")]
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl NodeKey {
    fn new(personality: &SimRainMaker, rng: &mut SimRng) -> Self {
        match personality.key_type {
            SimNodeKey::P256 => NodeKey::P256(rmaker_signing_key(personality.signing_key.as_ref(), rng)),
            #[cfg(feature = "sim-rainmaker")]
            SimNodeKey::Rsa2048 => {
                NodeKey::Rsa(Box::new(crate::sim::node::rsa_node_key(personality.signing_key.as_ref(), rng)))
            }
        }
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub(crate) fn spki_der(&self) -> Option<Vec<u8>> {
        use p256::pkcs8::EncodePublicKey;
        match self {
            NodeKey::P256(k) => {
                p256::PublicKey::from(k.verifying_key()).to_public_key_der().ok().map(|d| d.as_bytes().to_vec())
            }
            #[cfg(feature = "sim-rainmaker")]
            NodeKey::Rsa(k) => crate::sim::node::rsa_spki(k),
        }
    }

    /// Signs a `ch_resp` challenge: ECDSA/SHA-256 (DER) or RSASSA-PSS/SHA-256 (salt length 32).
    fn sign_challenge(&self, challenge: &[u8], rng: &mut SimRng) -> Result<Vec<u8>, String> {
        match self {
            NodeKey::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let _ = rng;
                // ECDSA/SHA-256: the signer hashes the challenge itself (RFC 6979 nonce).
                let signature: p256::ecdsa::Signature = k.try_sign(challenge).map_err(|e| e.to_string())?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
            #[cfg(feature = "sim-rainmaker")]
            NodeKey::Rsa(k) => crate::sim::node::rsa_sign_challenge(k, challenge, rng).map_err(|e| e.to_string()),
        }
    }
}

/// A simulated provisioning device. Cheap to share (`Arc`); serves any number of transports, with
/// one security session at a time, like the firmware.
pub struct SimDevice {
    config: SimConfig,
    version_json: String,
    security_config: Arc<DeviceSecurityConfig>,
    rmaker_key: Option<NodeKey>,
    /// `proto-ver` once the node is claimed (`rmaker.cap` without `claim`).
    #[cfg(feature = "sim-rainmaker")]
    version_json_claimed: String,
    /// The base MAC address claiming Start reports.
    #[cfg(feature = "sim-rainmaker")]
    claim_mac: [u8; 6],
    state: Mutex<State>,
}

impl std::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevice").field("security", &self.config.security.level()).finish_non_exhaustive()
    }
}

/// Counters a test can read from a simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimStats {
    /// Transport sessions opened.
    pub sessions_opened: u64,
    /// Requests handled (including failed ones).
    pub requests: u64,
}

impl SimDevice {
    /// Builds the device: derives the SRP salt and verifier for security 2.
    pub fn new(config: SimConfig) -> Arc<Self> {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        let mut rng = rng;
        Self::build(config, FillRng(Box::new(move |dst: &mut [u8]| rand_core::Rng::fill_bytes(&mut rng, dst))))
    }

    /// Builds a device whose every random draw (session cookies, key pairs, nonces, salts) comes
    /// from `source`, in the order the firmware would draw — for replaying recorded sessions
    /// byte for byte. `config.seed` is ignored.
    pub fn with_randomness(config: SimConfig, source: RandomSource) -> Arc<Self> {
        Self::build(config, FillRng(source))
    }

    fn build(config: SimConfig, mut rng: SimRng) -> Arc<Self> {
        let security_config = Arc::new(match &config.security {
            SimSecurity::Sec0 => DeviceSecurityConfig::Sec0,
            SimSecurity::Sec1 { pop } => DeviceSecurityConfig::Sec1 { pop: pop.clone() },
            SimSecurity::Sec2 { username, password, patch } => {
                let (salt, verifier) = crate::security::generate_salt_verifier(username, password.expose(), &mut rng);
                DeviceSecurityConfig::sec2(salt, verifier, *patch)
            }
            SimSecurity::Sec2Provisioned { salt, verifier, patch } => {
                DeviceSecurityConfig::Sec2 { salt: salt.clone(), verifier: verifier.clone(), patch: *patch }
            }
            SimSecurity::Sec2CorruptedSalt { username, password, patch } => {
                let (salt, verifier) =
                    crate::security::generate_corrupted_salt_verifier(username, password.expose(), &mut rng);
                DeviceSecurityConfig::sec2(salt, verifier, *patch)
            }
        });
        let version_info = config.version_info();
        let version_json = proto_ver::render(&version_info);
        let rmaker_key = config.rainmaker.as_ref().map(|r| NodeKey::new(r, &mut rng));
        #[cfg(feature = "sim-rainmaker")]
        let (version_json_claimed, claim_mac) = {
            let mut claimed = version_info;
            for app in &mut claimed.apps {
                if app.label == proto_ver::APP_RMAKER {
                    app.cap.retain(|c| c != proto_ver::CAP_CLAIM);
                }
            }
            let mac = match &config.rainmaker {
                Some(r) if r.claim => r.mac_addr.unwrap_or_else(|| {
                    // Espressif's OUI, then three bytes of the device's randomness.
                    let mut mac = [0x7C, 0xDF, 0xA1, 0, 0, 0];
                    rand_core::Rng::fill_bytes(&mut rng, &mut mac[3..]);
                    mac
                }),
                _ => [0; 6],
            };
            (proto_ver::render(&claimed), mac)
        };
        Arc::new(Self {
            state: Mutex::new(State {
                session_id: None,
                security: DeviceSecuritySession::new(security_config.clone()),
                wifi: WifiState::Started,
                thread: ThreadState::Started,
                scan_results: None,
                thread_scan_results: None,
                connected_reported_at: None,
                stop_logged: false,
                rng,
                sessions_opened: 0,
                requests: 0,
                rmaker_mappings: Vec::new(),
                ch_resp_disabled: false,
                challenges_signed: 0,
                #[cfg(feature = "sim-rainmaker")]
                claim: crate::sim::node::ClaimState::default(),
            }),
            config,
            version_json,
            security_config,
            rmaker_key,
            #[cfg(feature = "sim-rainmaker")]
            version_json_claimed,
            #[cfg(feature = "sim-rainmaker")]
            claim_mac,
        })
    }

    /// The configuration this device was built with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Whether the provisioning service has stopped: [`SimConfig::auto_stop`] is set and that long
    /// has passed since the device reported its connection. A stopped device answers nothing.
    pub fn provisioning_stopped(&self) -> bool {
        let mut st = self.lock();
        self.is_stopped(&mut st)
    }

    /// Request and session counters.
    pub fn stats(&self) -> SimStats {
        let st = self.lock();
        SimStats { sessions_opened: st.sessions_opened, requests: st.requests }
    }

    /// The SSID the device is connected to, if any.
    pub fn connected_ssid(&self) -> Option<Vec<u8>> {
        match &self.lock().wifi {
            WifiState::Connected(info) => Some(info.ssid.clone()),
            _ => None,
        }
    }

    /// Whether the device attached to a Thread network.
    pub fn thread_attached(&self) -> bool {
        matches!(self.lock().thread, ThreadState::Attached(_))
    }

    /// RainMaker: every user-node mapping received on `cloud_user_assoc`, oldest first (what the
    /// firmware would publish on `node/<node_id>/user/mapping` once online).
    pub fn rainmaker_user_mappings(&self) -> Vec<rainmaker::UserMapping> {
        self.lock().rmaker_mappings.clone()
    }

    /// RainMaker: the node's P-256 public key, SEC1 uncompressed (65 bytes), for checking
    /// `ch_resp` signatures (`None` for an RSA node key; see
    /// [`SimDevice::rainmaker_public_key_spki`]).
    pub fn rainmaker_public_key(&self) -> Option<Vec<u8>> {
        match self.rmaker_key.as_ref()? {
            NodeKey::P256(k) => Some(k.verifying_key().to_encoded_point(false).as_bytes().to_vec()),
            #[cfg(feature = "sim-rainmaker")]
            NodeKey::Rsa(_) => None,
        }
    }

    /// RainMaker: the node's public key as a DER SubjectPublicKeyInfo (P-256 or RSA), for checking
    /// `ch_resp` signatures and claiming certificates.
    pub fn rainmaker_public_key_spki(&self) -> Option<Vec<u8>> {
        self.rmaker_key.as_ref()?.spki_der()
    }

    /// RainMaker: the node id, when the device has a RainMaker personality and has one (a
    /// claiming node gets its id from the cloud during claiming, and reports that one afterwards).
    pub fn rainmaker_node_id(&self) -> Option<String> {
        let st = self.lock();
        self.node_id_locked(&st)
    }

    fn node_id_locked(&self, st: &State) -> Option<String> {
        let personality = self.config.rainmaker.as_ref()?;
        #[cfg(feature = "sim-rainmaker")]
        if let Some(id) = st.claim.node_id() {
            return Some(id.to_owned());
        }
        #[cfg(not(feature = "sim-rainmaker"))]
        let _ = st;
        (!personality.node_id.is_empty()).then(|| personality.node_id.clone())
    }

    /// RainMaker: whether assisted claiming completed (a certificate for the node key was
    /// accepted). Always `false` without the `sim-rainmaker` feature.
    pub fn rainmaker_claimed(&self) -> bool {
        #[cfg(feature = "sim-rainmaker")]
        return self.lock().claim.is_claimed();
        #[cfg(not(feature = "sim-rainmaker"))]
        false
    }

    /// RainMaker: the node certificate accepted by claiming (PEM).
    pub fn rainmaker_certificate_pem(&self) -> Option<String> {
        #[cfg(feature = "sim-rainmaker")]
        return self.lock().claim.certificate_pem().map(str::to_owned);
        #[cfg(not(feature = "sim-rainmaker"))]
        None
    }

    /// RainMaker: how many challenges the device signed, and whether challenge-response was
    /// disabled.
    pub fn rainmaker_ch_resp_state(&self) -> (u64, bool) {
        let st = self.lock();
        (st.challenges_signed, st.ch_resp_disabled)
    }

    fn rmaker_endpoint(&self, endpoint: &str) -> bool {
        let Some(r) = &self.config.rainmaker else {
            return false;
        };
        #[cfg(feature = "sim-rainmaker")]
        if r.claim && endpoint == rainmaker::RMAKER_CLAIM {
            return true;
        }
        if r.ch_resp { endpoint == rainmaker::CH_RESP } else { endpoint == rainmaker::CLOUD_USER_ASSOC }
    }

    #[cfg(feature = "sim-rainmaker")]
    fn handle_claim(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let key = self.rmaker_key.as_ref().ok_or_else(|| DeviceFailure::Failed("no node key".into()))?;
        st.claim.handle(key, &self.claim_mac, plain).map_err(|e| DeviceFailure::Failed(e.to_string()))
    }

    fn handle_user_assoc(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        let node_id = self.node_id_locked(st).unwrap_or_default();
        Ok(match rainmaker::decode_user_mapping_request(plain).map_err(|e| fail(&e))? {
            rainmaker::UserMappingCommand::Set(mapping) => {
                if mapping.user_id.is_empty() || mapping.secret_key.is_empty() {
                    rainmaker::encode_set_user_mapping_error(rainmaker::MappingStatus::InvalidParam)
                } else {
                    log::debug!("sim: user-node mapping received for user {}", mapping.user_id);
                    st.rmaker_mappings.push(mapping);
                    rainmaker::encode_set_user_mapping_response(&node_id)
                }
            }
            rainmaker::UserMappingCommand::MissingMember => {
                rainmaker::encode_set_user_mapping_error(rainmaker::MappingStatus::InvalidParam)
            }
            rainmaker::UserMappingCommand::Other(_) => Vec::new(),
        })
    }

    fn handle_ch_resp(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        if st.ch_resp_disabled {
            return Ok(rainmaker::encode_disabled_response());
        }
        Ok(match rainmaker::decode_ch_resp_request(plain).map_err(|e| fail(&e))? {
            rainmaker::ChRespCommand::Challenge(challenge) => {
                let key = self.rmaker_key.as_ref().ok_or_else(|| fail(&"no node key"))?;
                let signature = key.sign_challenge(&challenge, &mut st.rng).map_err(|e| fail(&e))?;
                st.challenges_signed += 1;
                rainmaker::encode_challenge_response(&signature, &self.node_id_locked(st).unwrap_or_default())
            }
            rainmaker::ChRespCommand::Disable => {
                st.ch_resp_disabled = true;
                rainmaker::encode_disable_response(rainmaker::ChRespStatus::Success)
            }
        })
    }

    fn version_json(&self, st: &State) -> &str {
        #[cfg(feature = "sim-rainmaker")]
        if st.claim.is_claimed() {
            return &self.version_json_claimed;
        }
        #[cfg(not(feature = "sim-rainmaker"))]
        let _ = st;
        &self.version_json
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere in a test; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_stopped(&self, st: &mut State) -> bool {
        let stopped = match (self.config.auto_stop, st.connected_reported_at) {
            (Some(after), Some(at)) => at.elapsed() >= after,
            _ => false,
        };
        if stopped && !st.stop_logged {
            st.stop_logged = true;
            log::info!("sim: provisioning stopped (auto-stop after the device reported its connection)");
        }
        stopped
    }

    /// Whether the device keeps serving and takes new credentials once provisioned (no auto-stop).
    fn keeps_serving(&self) -> bool {
        self.config.auto_stop.is_none()
    }

    fn handle_locked(&self, st: &mut State, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        if request.is_empty() {
            return Err(DeviceFailure::Failed("empty request".into()));
        }
        match endpoint {
            endpoints::PROTO_VER => Ok(self.version_json(st).as_bytes().to_vec()),
            endpoints::PROV_SESSION => {
                let State { security, rng, .. } = st;
                security.handle(request, rng).map_err(|e| fail(&e))
            }
            endpoints::PROV_CONFIG | endpoints::PROV_SCAN | endpoints::PROV_CTRL => {
                let plain = zeroize::Zeroizing::new(st.security.decrypt(request).map_err(|e| fail(&e))?);
                let response = match endpoint {
                    endpoints::PROV_CONFIG => self.handle_config(st, &plain)?,
                    endpoints::PROV_SCAN => self.handle_scan(st, &plain)?,
                    _ => self.handle_ctrl(st, &plain)?,
                };
                st.security.encrypt(&response).map_err(|e| fail(&e))
            }
            other if self.rmaker_endpoint(other) => {
                let plain = zeroize::Zeroizing::new(st.security.decrypt(request).map_err(|e| fail(&e))?);
                let response = match other {
                    rainmaker::CH_RESP => self.handle_ch_resp(st, &plain)?,
                    #[cfg(feature = "sim-rainmaker")]
                    rainmaker::RMAKER_CLAIM => self.handle_claim(st, &plain)?,
                    _ => self.handle_user_assoc(st, &plain)?,
                };
                st.security.encrypt(&response).map_err(|e| fail(&e))
            }
            other if self.config.echo_endpoints.iter().any(|e| e == other) => {
                let plain = zeroize::Zeroizing::new(st.security.decrypt(request).map_err(|e| fail(&e))?);
                st.security.encrypt(&plain).map_err(|e| fail(&e))
            }
            other => Err(DeviceFailure::UnknownEndpoint(other.to_owned())),
        }
    }

    fn thread_enabled(&self) -> bool {
        self.config.flavor == SimFlavor::NetworkProvisioning
    }

    fn handle_scan(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        if self.thread_enabled() && thread::is_thread_scan_request(plain) {
            let cmd = thread::decode_scan_request(plain).map_err(|e| fail(&e))?;
            return Ok(match cmd {
                thread::ScanCommand::Start { .. } => {
                    let mut nets: Vec<_> = self.config.thread_networks.iter().map(|n| n.network.clone()).collect();
                    nets.truncate(self.config.scan_max_entries);
                    st.thread_scan_results = Some(nets);
                    thread::encode_scan_start_response(endpoints::DeviceStatus::Success)
                }
                thread::ScanCommand::Status => {
                    let count = st.thread_scan_results.as_ref().map_or(0, Vec::len) as u32;
                    thread::encode_scan_status_response(true, count)
                }
                thread::ScanCommand::Result { start, count } => {
                    let results = st.thread_scan_results.as_deref().unwrap_or(&[]);
                    let (start, count) = (start as usize, count as usize);
                    if start >= results.len() || start + count > results.len() {
                        return Err(DeviceFailure::Failed("scan result index out of range".into()));
                    }
                    thread::encode_scan_result_response(&results[start..start + count])
                }
            });
        }
        let cmd = wifi::decode_scan_request(plain).map_err(|e| fail(&e))?;
        Ok(match cmd {
            wifi::ScanCommand::Start(_) => {
                let mut nets: Vec<_> = self.config.access_points.iter().map(|a| a.network.clone()).collect();
                nets.sort_by_key(|n| std::cmp::Reverse(n.rssi));
                nets.truncate(self.config.scan_max_entries);
                st.scan_results = Some(nets);
                wifi::encode_scan_start_response(endpoints::DeviceStatus::Success)
            }
            wifi::ScanCommand::Status => {
                let count = st.scan_results.as_ref().map_or(0, Vec::len) as u32;
                wifi::encode_scan_status_response(true, count)
            }
            wifi::ScanCommand::Result { start, count } => {
                let results = st.scan_results.as_deref().unwrap_or(&[]);
                let (start, count) = (start as usize, count as usize);
                if start >= results.len() || start + count > results.len() {
                    // network_provisioning / v5.5.5 behaviour: fail at transport level.
                    return Err(DeviceFailure::Failed("scan result index out of range".into()));
                }
                wifi::encode_scan_result_response(&results[start..start + count])
            }
        })
    }

    fn find_ap(&self, ssid: &[u8]) -> Option<&SimAccessPoint> {
        self.config.access_points.iter().find(|a| match &a.hidden_ssid {
            Some(real) => real.as_slice() == ssid,
            None => !a.network.ssid.is_empty() && a.network.ssid == ssid,
        })
    }

    fn resolve_join(&self, ssid: &[u8], passphrase: &Secret) -> Result<wifi::WifiConnectedInfo, wifi::WifiFailReason> {
        let ap = self.find_ap(ssid).ok_or(wifi::WifiFailReason::NetworkNotFound)?;
        let open = ap.network.auth == wifi::WifiAuthMode::from_raw(0);
        let ok = open
            || ap.passphrase.as_ref().is_some_and(|p| {
                use subtle::ConstantTimeEq;
                bool::from(p.expose().ct_eq(passphrase.expose()))
            });
        if !ok {
            return Err(wifi::WifiFailReason::AuthError);
        }
        Ok(wifi::WifiConnectedInfo {
            ip4_addr: "192.168.1.100".to_owned(),
            auth_mode: ap.network.auth,
            ssid: ssid.to_vec(),
            bssid: ap.network.bssid.clone(),
            channel: ap.network.channel as i32,
        })
    }

    fn wifi_status(&self, st: &mut State) -> wifi::WifiStatus {
        let next = match &mut st.wifi {
            WifiState::Started | WifiState::Received { .. } => {
                return wifi::WifiStatus::Connecting { attempts_remaining: None };
            }
            WifiState::Connected(info) => return wifi::WifiStatus::Connected { info: info.clone() },
            WifiState::Failed(reason) => return wifi::WifiStatus::Failed { reason: *reason },
            WifiState::Joining { ssid, passphrase, since, polls, failed_attempts } => {
                *polls += 1;
                if *polls <= self.config.connecting_polls || since.elapsed() < self.config.join_delay {
                    let attempts_remaining = (*failed_attempts > 0)
                        .then(|| self.config.connection_attempts.saturating_sub(*failed_attempts));
                    return wifi::WifiStatus::Connecting { attempts_remaining };
                }
                match self.resolve_join(ssid, passphrase) {
                    Ok(info) => {
                        log::info!(
                            "sim: provisioning succeeded: joined Wi-Fi network \"{}\" (channel {})",
                            String::from_utf8_lossy(&info.ssid).escape_debug(),
                            info.channel
                        );
                        WifiState::Connected(info)
                    }
                    Err(reason) => {
                        *failed_attempts += 1;
                        if *failed_attempts < self.config.connection_attempts {
                            log::info!("sim: Wi-Fi join attempt {} failed ({reason:?}), retrying", *failed_attempts);
                            // Retry: another join_delay before the next verdict.
                            *since = Instant::now();
                            *polls = 0;
                            return wifi::WifiStatus::Connecting {
                                attempts_remaining: Some(self.config.connection_attempts - *failed_attempts),
                            };
                        }
                        log::info!("sim: provisioning failed: Wi-Fi join failed ({reason:?})");
                        WifiState::Failed(reason)
                    }
                }
            }
        };
        st.wifi = next;
        match &st.wifi {
            WifiState::Connected(info) => wifi::WifiStatus::Connected { info: info.clone() },
            WifiState::Failed(reason) => wifi::WifiStatus::Failed { reason: *reason },
            _ => wifi::WifiStatus::Connecting { attempts_remaining: None },
        }
    }

    fn handle_config(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        if self.thread_enabled() && thread::is_thread_config_request(plain) {
            return self.handle_thread_config(st, plain);
        }
        let cmd = wifi::decode_config_request(plain).map_err(|e| fail(&e))?;
        Ok(match cmd {
            wifi::ConfigCommand::GetStatus => {
                let status = self.wifi_status(st);
                if matches!(status, wifi::WifiStatus::Connected { .. }) && st.connected_reported_at.is_none() {
                    st.connected_reported_at = Some(Instant::now());
                }
                wifi::encode_get_status_response(&status)
            }
            wifi::ConfigCommand::SetConfig { ssid, passphrase, bssid, .. } => {
                let valid = ssid.len() <= 32 && passphrase.len() <= 63 && (bssid.is_empty() || bssid.len() == 6);
                let status = if !valid {
                    endpoints::DeviceStatus::InvalidArgument
                } else {
                    let fresh = match &st.wifi {
                        WifiState::Started | WifiState::Received { .. } => true,
                        WifiState::Connected(_) if self.keeps_serving() => {
                            log::info!("sim: already provisioned; taking new Wi-Fi credentials (no auto-stop)");
                            st.connected_reported_at = None;
                            true
                        }
                        // Stored but never applied: apply refuses (docs/protocol.md 6.3).
                        _ => false,
                    };
                    if fresh {
                        st.wifi = WifiState::Received { ssid, passphrase: Secret::new(passphrase.to_vec()) };
                    }
                    endpoints::DeviceStatus::Success
                };
                wifi::encode_set_config_response(status)
            }
            wifi::ConfigCommand::Apply => {
                let status = match std::mem::replace(&mut st.wifi, WifiState::Started) {
                    WifiState::Received { ssid, passphrase } => {
                        st.wifi = WifiState::Joining {
                            ssid,
                            passphrase,
                            since: Instant::now(),
                            polls: 0,
                            failed_attempts: 0,
                        };
                        endpoints::DeviceStatus::Success
                    }
                    other => {
                        log::info!(
                            "sim: Wi-Fi apply refused (InternalError): {}",
                            if matches!(other, WifiState::Started) {
                                "no credentials received"
                            } else {
                                "credentials already applied in this provisioning round (reset or reprov first)"
                            }
                        );
                        st.wifi = other;
                        endpoints::DeviceStatus::InternalError
                    }
                };
                wifi::encode_apply_config_response(status)
            }
        })
    }

    fn handle_thread_config(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        let cmd = thread::decode_config_request(plain).map_err(|e| fail(&e))?;
        Ok(match cmd {
            thread::ConfigCommand::GetStatus => {
                let status = self.thread_status(st);
                if matches!(status, thread::ThreadStatus::Attached { .. }) && st.connected_reported_at.is_none() {
                    st.connected_reported_at = Some(Instant::now());
                }
                thread::encode_get_status_response(&status)
            }
            thread::ConfigCommand::SetConfig { dataset } => {
                let status = if dataset.len() > thread::MAX_DATASET_LEN {
                    endpoints::DeviceStatus::InvalidArgument
                } else {
                    let fresh = match &st.thread {
                        ThreadState::Started | ThreadState::Received { .. } => true,
                        ThreadState::Attached(_) if self.keeps_serving() => {
                            log::info!("sim: already provisioned; taking a new Thread dataset (no auto-stop)");
                            st.connected_reported_at = None;
                            true
                        }
                        // Stored but never applied: apply refuses (docs/protocol.md 6.3).
                        _ => false,
                    };
                    if fresh {
                        st.thread = ThreadState::Received { dataset: Secret::new(dataset.to_vec()) };
                    }
                    endpoints::DeviceStatus::Success
                };
                thread::encode_set_config_response(status)
            }
            thread::ConfigCommand::Apply => {
                let status = match std::mem::replace(&mut st.thread, ThreadState::Started) {
                    ThreadState::Received { dataset } if parse_dataset_tlvs(dataset.expose()).is_some() => {
                        st.thread = ThreadState::Joining { dataset, since: Instant::now(), polls: 0 };
                        endpoints::DeviceStatus::Success
                    }
                    other => {
                        // An unparseable dataset is accepted by set-config; apply fails (docs/protocol.md 12.1).
                        let why = match &other {
                            ThreadState::Started => "no dataset received",
                            ThreadState::Received { .. } => "the dataset cannot be parsed",
                            _ => "dataset already received in this provisioning round (reset or reprov first)",
                        };
                        log::info!("sim: Thread apply refused (InternalError): {why}");
                        st.thread = other;
                        endpoints::DeviceStatus::InternalError
                    }
                };
                thread::encode_apply_config_response(status)
            }
        })
    }

    fn thread_status(&self, st: &mut State) -> thread::ThreadStatus {
        let next = match &mut st.thread {
            ThreadState::Started | ThreadState::Received { .. } => return thread::ThreadStatus::Attaching,
            ThreadState::Attached(status) => return status.clone(),
            ThreadState::Failed(reason) => return thread::ThreadStatus::Failed { reason: *reason },
            ThreadState::Joining { dataset, since, polls } => {
                *polls += 1;
                if *polls <= self.config.connecting_polls || since.elapsed() < self.config.join_delay {
                    return thread::ThreadStatus::Attaching;
                }
                let ext_pan = parse_dataset_tlvs(dataset.expose())
                    .and_then(|tlvs| tlvs.into_iter().find(|(t, _)| *t == TLV_EXT_PAN_ID).map(|(_, v)| v));
                match ext_pan.and_then(|e| self.config.thread_networks.iter().find(|n| n.network.ext_pan_id == e)) {
                    Some(net) => {
                        log::info!(
                            "sim: provisioning succeeded: attached to Thread network \"{}\" (PAN id {:#06x}, channel {})",
                            net.network.network_name.escape_debug(),
                            net.network.pan_id,
                            net.network.channel
                        );
                        ThreadState::Attached(thread::ThreadStatus::Attached {
                            pan_id: net.network.pan_id,
                            ext_pan_id: net.network.ext_pan_id.clone(),
                            channel: net.network.channel,
                            name: net.network.network_name.clone(),
                        })
                    }
                    None => {
                        log::info!("sim: provisioning failed: Thread attach failed (NetworkNotFound)");
                        ThreadState::Failed(thread::ThreadFailReason::NetworkNotFound)
                    }
                }
            }
        };
        st.thread = next;
        match &st.thread {
            ThreadState::Attached(s) => s.clone(),
            ThreadState::Failed(r) => thread::ThreadStatus::Failed { reason: *r },
            _ => thread::ThreadStatus::Attaching,
        }
    }

    fn handle_ctrl(&self, st: &mut State, plain: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let fail = |e: &dyn std::fmt::Display| DeviceFailure::Failed(e.to_string());
        if self.thread_enabled() && thread::is_thread_ctrl_request(plain) {
            let cmd = thread::decode_ctrl_request(plain).map_err(|e| fail(&e))?;
            let ok = match cmd {
                thread::CtrlCommand::Reset => matches!(st.thread, ThreadState::Failed(_) | ThreadState::Started),
                // Only when the firmware keeps provisioning running (docs/protocol.md 6.6).
                thread::CtrlCommand::Reprov => self.keeps_serving(),
            };
            if ok {
                st.thread = ThreadState::Started;
                st.connected_reported_at = None;
            }
            log::info!("sim: prov-ctrl Thread {cmd:?} {}", if ok { "done" } else { "refused (InternalError)" });
            let status = if ok { endpoints::DeviceStatus::Success } else { endpoints::DeviceStatus::InternalError };
            return Ok(thread::encode_ctrl_response(cmd, status));
        }
        let cmd = wifi::decode_ctrl_request(plain).map_err(|e| fail(&e))?;
        let ok = match cmd {
            // Reset is only valid after a failed attempt (network_provisioning >= 1.2.1 also
            // answers Success when already reset).
            wifi::CtrlCommand::Reset => matches!(st.wifi, WifiState::Failed(_) | WifiState::Started),
            // Only when the firmware keeps provisioning running (docs/protocol.md 6.6).
            wifi::CtrlCommand::Reprov => self.keeps_serving(),
        };
        if ok {
            st.wifi = WifiState::Started;
            st.connected_reported_at = None;
        }
        log::info!("sim: prov-ctrl Wi-Fi {cmd:?} {}", if ok { "done" } else { "refused (InternalError)" });
        let status = if ok { endpoints::DeviceStatus::Success } else { endpoints::DeviceStatus::InternalError };
        Ok(wifi::encode_ctrl_response(cmd, status))
    }
}

/// The node key: the configured scalar, or one drawn from the device's randomness (re-drawn in
/// the negligible case that 32 random bytes are not a valid P-256 scalar).
fn rmaker_signing_key(configured: Option<&Secret>, rng: &mut SimRng) -> p256::ecdsa::SigningKey {
    if let Some(key) = configured.and_then(|s| p256::ecdsa::SigningKey::from_slice(s.expose()).ok()) {
        return key;
    }
    if configured.is_some() {
        log::warn!("sim: the configured RainMaker node key is not a valid P-256 scalar; drawing one");
    }
    loop {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        rand_core::Rng::fill_bytes(rng, bytes.as_mut_slice());
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(bytes.as_slice()) {
            return key;
        }
    }
}

/// A source of device randomness for [`SimDevice::with_randomness`]: fills the buffer it is given.
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// The simulated device's randomness: a seeded CSPRNG, or draws scripted by a test.
type SimRng = FillRng<RandomSource>;

/// Thread MeshCoP TLV type of the extended PAN id.
const TLV_EXT_PAN_ID: u8 = 2;

/// Splits a Thread dataset into (type, value) TLVs; `None` if it is not well formed.
fn parse_dataset_tlvs(mut data: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    if data.is_empty() {
        return None;
    }
    while !data.is_empty() {
        let (&t, rest) = data.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = len as usize;
        if rest.len() < len {
            return None;
        }
        out.push((t, rest[..len].to_vec()));
        data = &rest[len..];
    }
    Some(out)
}

impl DeviceLink for SimDevice {
    fn open_session(&self, session_id: u32) {
        let mut st = self.lock();
        st.session_id = Some(session_id);
        st.security = DeviceSecuritySession::new(self.security_config.clone());
        st.sessions_opened += 1;
    }

    fn handle(&self, session_id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure> {
        let mut st = self.lock();
        st.requests += 1;
        if self.is_stopped(&mut st) {
            return Err(DeviceFailure::Failed("provisioning has stopped".into()));
        }
        if st.session_id != Some(session_id) {
            return Err(DeviceFailure::Failed("not the current session".into()));
        }
        self.handle_locked(&mut st, endpoint, request)
    }

    fn has_endpoint(&self, endpoint: &str) -> bool {
        matches!(
            endpoint,
            endpoints::PROTO_VER
                | endpoints::PROV_SESSION
                | endpoints::PROV_CONFIG
                | endpoints::PROV_SCAN
                | endpoints::PROV_CTRL
        ) || self.rmaker_endpoint(endpoint)
            || self.config.echo_endpoints.iter().any(|e| e == endpoint)
    }

    fn new_session_id(&self) -> u32 {
        self.lock().rng.random()
    }

    fn exchange_latency(&self) -> Duration {
        self.config.exchange_latency
    }
}
