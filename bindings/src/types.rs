//! Plain data crossing the FFI: security levels, options, capabilities, scan results and
//! statuses, each converted from its core counterpart (no logic beyond the field mapping).

use rainmaker_prov::endpoints::proto_ver::{ProtoVersion, VersionInfo, detect_security};
use rainmaker_prov::endpoints::{thread, wifi};
use rainmaker_prov::security::SecurityLevel as CoreLevel;

/// A session security scheme, ordered: `Sec0 < Sec1 < Sec2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, uniffi::Enum)]
pub enum SecurityLevel {
    /// Security 0: no encryption (development only).
    Sec0,
    /// Security 1: X25519 + proof of possession + AES-256-CTR.
    Sec1,
    /// Security 2: SRP-6a + AES-256-GCM.
    Sec2,
}

impl From<CoreLevel> for SecurityLevel {
    fn from(level: CoreLevel) -> Self {
        match level {
            CoreLevel::Sec0 => SecurityLevel::Sec0,
            CoreLevel::Sec1 => SecurityLevel::Sec1,
            CoreLevel::Sec2 => SecurityLevel::Sec2,
        }
    }
}

impl From<SecurityLevel> for CoreLevel {
    fn from(level: SecurityLevel) -> Self {
        match level {
            SecurityLevel::Sec0 => CoreLevel::Sec0,
            SecurityLevel::Sec1 => CoreLevel::Sec1,
            SecurityLevel::Sec2 => CoreLevel::Sec2,
        }
    }
}

/// How a [`crate::ProvDevice`] authenticates and how long it waits.
#[derive(Clone, uniffi::Record)]
pub struct ProvOptions {
    /// The weakest scheme the app accepts; a device offering less is refused with
    /// `ProvError.SecurityBelowMinimum` (no silent downgrade). Use `Sec1` or `Sec2` in production.
    pub min_security: SecurityLevel,
    /// Force a scheme instead of reading it from the device (`null`/`nil`: auto-detect).
    #[uniffi(default = None)]
    pub security: Option<SecurityLevel>,
    /// Proof of possession (security 1), also the SRP password (security 2) when
    /// `sec2_password` is not set. Usually the `pop` of the device's QR code.
    #[uniffi(default = None)]
    pub pop: Option<String>,
    /// SRP username for security 2 (default `wifiprov`; the QR code's `username`).
    #[uniffi(default = None)]
    pub sec2_username: Option<String>,
    /// SRP password for security 2 (defaults to `pop`).
    #[uniffi(default = None)]
    pub sec2_password: Option<String>,
    /// Upper bound for one request/response exchange, in milliseconds (a Wi-Fi scan can take
    /// seconds).
    #[uniffi(default = 30000)]
    pub exchange_timeout_ms: u64,
    /// How long `provision_wifi`/`provision_thread` wait for the device to join, in milliseconds.
    #[uniffi(default = 90000)]
    pub connect_deadline_ms: u64,
    /// The scheme the device must offer, from its QR code's `security` (see `QrPayload`); a
    /// device offering less fails with `ProvError.PossibleImpostor` before anything is sent.
    #[uniffi(default = None)]
    pub expected_security: Option<SecurityLevel>,
    /// Accept a security 1 device advertising `no_pop` although `pop` is set (the PoP is then
    /// not used and the session is not authenticated). Leave `false` unless the user knows it.
    #[uniffi(default = false)]
    pub allow_no_pop: bool,
    /// Upper bound for a whole scan (`scan_wifi`/`scan_thread`), in milliseconds.
    #[uniffi(default = 60000)]
    pub scan_timeout_ms: u64,
}

impl std::fmt::Debug for ProvOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("ProvOptions")
            .field("min_security", &self.min_security)
            .field("security", &self.security)
            .field("pop", &redact(&self.pop))
            .field("sec2_username", &self.sec2_username)
            .field("sec2_password", &redact(&self.sec2_password))
            .field("exchange_timeout_ms", &self.exchange_timeout_ms)
            .field("connect_deadline_ms", &self.connect_deadline_ms)
            .field("expected_security", &self.expected_security)
            .field("allow_no_pop", &self.allow_no_pop)
            .field("scan_timeout_ms", &self.scan_timeout_ms)
            .finish()
    }
}

/// One application entry of `proto-ver` (for example RainMaker's `rmaker`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppCapabilities {
    /// The label (`rmaker`, `rmaker_extra`, ...).
    pub label: String,
    /// Its version string.
    pub version: String,
    /// Its capability strings.
    pub capabilities: Vec<String>,
}

/// What the device's `proto-ver` endpoint says about it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceCapabilities {
    /// Provisioning version (`v1.1`, `netprov-v1.2`), or the raw reply of legacy firmware;
    /// empty when the device has no `proto-ver`.
    pub version: String,
    /// The security scheme the device asks for (auto-detected as the core does it).
    pub security: u8,
    /// The security 2 patch level.
    pub sec_patch_ver: u8,
    /// `prov.cap`: `wifi_scan`, `no_pop`, `thread_prov`, ...
    pub capabilities: Vec<String>,
    /// Application entries (RainMaker).
    pub apps: Vec<AppCapabilities>,
    /// The device provisions Wi-Fi.
    pub supports_wifi: bool,
    /// The device can scan for Wi-Fi networks.
    pub has_wifi_scan: bool,
    /// The device provisions Thread.
    pub supports_thread: bool,
    /// The device can scan for Thread networks.
    pub has_thread_scan: bool,
    /// Security 1 without a PoP (`no_pop`).
    pub no_pop: bool,
    /// RainMaker assisted claiming is pending.
    pub needs_claim: bool,
}

impl From<&ProtoVersion> for DeviceCapabilities {
    fn from(version: &ProtoVersion) -> Self {
        let detected = detect_security(version);
        let empty = VersionInfo::default();
        let (info, text) = match version {
            ProtoVersion::Json(info) => (info, info.prov.as_ref().map(|p| p.ver.clone()).unwrap_or_default()),
            ProtoVersion::Legacy(text) => (&empty, text.clone()),
            ProtoVersion::Empty => (&empty, String::new()),
        };
        DeviceCapabilities {
            version: text,
            security: detected.sec_ver,
            sec_patch_ver: detected.sec_patch_ver,
            capabilities: info.prov.as_ref().map(|p| p.cap.clone()).unwrap_or_default(),
            apps: info
                .apps
                .iter()
                .map(|(label, app)| AppCapabilities {
                    label: label.clone(),
                    version: app.ver.clone(),
                    capabilities: app.cap.clone(),
                })
                .collect(),
            supports_wifi: info.supports_wifi(),
            has_wifi_scan: info.has_wifi_scan(),
            supports_thread: info.supports_thread(),
            has_thread_scan: info.has_thread_scan(),
            no_pop: detected.no_pop,
            needs_claim: info.needs_claim(),
        }
    }
}

/// What `connect()` established.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionDetails {
    /// The scheme in use.
    pub security: SecurityLevel,
    /// The security 2 patch level in use.
    pub sec_patch_ver: u8,
    /// The device's capabilities.
    pub capabilities: DeviceCapabilities,
}

/// One Wi-Fi network the device can see.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WifiNetwork {
    /// The SSID for display (invalid UTF-8 replaced; empty for a hidden network).
    pub ssid: String,
    /// The SSID bytes (use with `provision_wifi_raw` when they are not UTF-8).
    pub ssid_bytes: Vec<u8>,
    /// Channel.
    pub channel: u32,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// BSSID (6 bytes).
    pub bssid: Vec<u8>,
    /// Authentication mode name (`OPEN`, `WPA2_PSK`, `WPA3_PSK`, ...).
    pub auth_mode: String,
    /// Authentication mode as the device reported it.
    pub auth_mode_raw: i32,
    /// An open network (no passphrase needed).
    pub is_open: bool,
}

impl From<wifi::WifiNetwork> for WifiNetwork {
    fn from(n: wifi::WifiNetwork) -> Self {
        WifiNetwork {
            ssid: n.ssid_lossy(),
            channel: n.channel,
            rssi: n.rssi,
            auth_mode: n.auth.name().to_owned(),
            auth_mode_raw: n.auth.raw(),
            is_open: n.auth.is_open(),
            ssid_bytes: n.ssid,
            bssid: n.bssid,
        }
    }
}

/// The network a device joined.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WifiConnection {
    /// The device's IPv4 address.
    pub ip4_addr: String,
    /// The SSID (lossy UTF-8).
    pub ssid: String,
    /// The SSID bytes.
    pub ssid_bytes: Vec<u8>,
    /// BSSID of the access point.
    pub bssid: Vec<u8>,
    /// Channel.
    pub channel: i32,
    /// Authentication mode name.
    pub auth_mode: String,
}

impl From<wifi::WifiConnectedInfo> for WifiConnection {
    fn from(c: wifi::WifiConnectedInfo) -> Self {
        WifiConnection {
            ssid: String::from_utf8_lossy(&c.ssid).into_owned(),
            auth_mode: c.auth_mode.name().to_owned(),
            ip4_addr: c.ip4_addr,
            ssid_bytes: c.ssid,
            bssid: c.bssid,
            channel: c.channel,
        }
    }
}

/// Why a device gave up joining Wi-Fi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WifiFailReason {
    /// Wrong passphrase.
    AuthError,
    /// No access point with that SSID.
    NetworkNotFound,
    /// Another reason code.
    Other {
        /// The raw code.
        code: i32,
    },
}

/// The device's Wi-Fi station state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum WifiStatus {
    /// Nothing applied yet, or still connecting.
    Connecting {
        /// Attempts left, when the firmware reports them.
        attempts_remaining: Option<u32>,
    },
    /// Joined.
    Connected {
        /// The connection.
        connection: WifiConnection,
    },
    /// Gave up.
    Failed {
        /// Why.
        reason: WifiFailReason,
    },
    /// Disconnected.
    Disconnected,
}

impl From<wifi::WifiStatus> for WifiStatus {
    fn from(s: wifi::WifiStatus) -> Self {
        match s {
            wifi::WifiStatus::Connecting { attempts_remaining } => WifiStatus::Connecting { attempts_remaining },
            wifi::WifiStatus::Connected(info) => WifiStatus::Connected { connection: info.into() },
            wifi::WifiStatus::Failed(reason) => WifiStatus::Failed {
                reason: match reason {
                    wifi::WifiFailReason::AuthError => WifiFailReason::AuthError,
                    wifi::WifiFailReason::NetworkNotFound => WifiFailReason::NetworkNotFound,
                    wifi::WifiFailReason::Unknown(code) => WifiFailReason::Other { code },
                },
            },
            wifi::WifiStatus::Disconnected => WifiStatus::Disconnected,
        }
    }
}

/// One Thread network the device can see.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ThreadNetwork {
    /// PAN id.
    pub pan_id: u32,
    /// Channel (11..=26).
    pub channel: u32,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// Link quality indicator.
    pub lqi: u32,
    /// Extended address of the router (8 bytes).
    pub ext_addr: Vec<u8>,
    /// Network name (may be empty).
    pub network_name: String,
    /// Extended PAN id (8 bytes).
    pub ext_pan_id: Vec<u8>,
}

impl From<thread::ThreadNetwork> for ThreadNetwork {
    fn from(n: thread::ThreadNetwork) -> Self {
        ThreadNetwork {
            pan_id: n.pan_id,
            channel: n.channel,
            rssi: n.rssi,
            lqi: n.lqi,
            ext_addr: n.ext_addr,
            network_name: n.network_name,
            ext_pan_id: n.ext_pan_id,
        }
    }
}

/// The Thread network a device attached to.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ThreadAttachment {
    /// PAN id.
    pub pan_id: u32,
    /// Extended PAN id (8 bytes).
    pub ext_pan_id: Vec<u8>,
    /// Channel.
    pub channel: u32,
    /// Network name.
    pub network_name: String,
}
