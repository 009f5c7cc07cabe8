//! Wi-Fi provisioning messages (ESP-IDF `wifi_provisioning`, docs/protocol.md 3.6 and 6) on
//! `prov-config`, `prov-scan` and `prov-ctrl`: client request builders and response parsers, and
//! the device-side request decoders and response encoders used by the simulator.
//!
//! network_provisioning devices accept exactly the same bytes for Wi-Fi (its messages are a
//! wire-compatible superset), so this module serves them too.
//!
//! Client requests are byte-identical to what Espressif's `esp_prov` sends: get-status `52 00`,
//! apply `08 04` and scan-status `08 02` carry no oneof member; ctrl reset/reprov are `08 01` /
//! `08 03`. Device responses are byte-identical to the firmware's.

use rainmaker_prov_proto::wifi_prov as pb;
use zeroize::{Zeroize, Zeroizing};

use pb::resp_get_status::State;
use pb::wi_fi_config_payload::Payload as CfgPayload;
use pb::wi_fi_ctrl_payload::Payload as CtrlPayload;
use pb::wi_fi_scan_payload::Payload as ScanPayload;

use super::{
    EndpointError, Status, bound, check_status, decode, describe_msg, encode_secret, expect_msg, unexpected_member,
};
use crate::transport::TransportKind;

/// Longest SSID the device accepts, in bytes.
pub const MAX_SSID_LEN: usize = 32;
/// Longest passphrase the device accepts, in bytes.
pub const MAX_PASSPHRASE_LEN: usize = 63;
/// Length of a BSSID (a MAC address).
pub const BSSID_LEN: usize = 6;

// ---------------------------------------------------------------------------------------------
// Typed values
// ---------------------------------------------------------------------------------------------

/// A Wi-Fi authentication mode: the raw ESP-IDF `wifi_auth_mode_t` value, which goes beyond the
/// proto enum (docs/protocol.md 6.4). Build it with [`WifiAuthMode::from_raw`] so that known values
/// get their named variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WifiAuthMode {
    /// 0: open network.
    #[default]
    Open,
    /// 1: WEP.
    Wep,
    /// 2: WPA-PSK.
    WpaPsk,
    /// 3: WPA2-PSK.
    Wpa2Psk,
    /// 4: WPA/WPA2-PSK mixed.
    WpaWpa2Psk,
    /// 5: WPA2-Enterprise.
    Wpa2Enterprise,
    /// 6: WPA3-PSK (SAE).
    Wpa3Psk,
    /// 7: WPA2/WPA3-PSK transition.
    Wpa2Wpa3Psk,
    /// 8: WAPI-PSK.
    WapiPsk,
    /// 9: OWE (enhanced open).
    Owe,
    /// 10: WPA3-Enterprise 192-bit.
    Wpa3Ent192,
    /// 11: WPA3 with SAE-EXT-KEY.
    Wpa3ExtPsk,
    /// 12: WPA3 SAE-EXT-KEY mixed mode.
    Wpa3ExtPskMixedMode,
    /// 13: DPP.
    Dpp,
    /// 14: WPA3-Enterprise.
    Wpa3Enterprise,
    /// 15: WPA2/WPA3-Enterprise.
    Wpa2Wpa3Enterprise,
    /// 16: WPA-Enterprise.
    WpaEnterprise,
    /// Any other raw value, preserved.
    Unknown {
        /// The raw value.
        raw: i32,
    },
}

impl WifiAuthMode {
    /// Maps a raw `wifi_auth_mode_t` value; values without a name become [`WifiAuthMode::Unknown`].
    pub fn from_raw(raw: i32) -> Self {
        use WifiAuthMode::*;
        match raw {
            0 => Open,
            1 => Wep,
            2 => WpaPsk,
            3 => Wpa2Psk,
            4 => WpaWpa2Psk,
            5 => Wpa2Enterprise,
            6 => Wpa3Psk,
            7 => Wpa2Wpa3Psk,
            8 => WapiPsk,
            9 => Owe,
            10 => Wpa3Ent192,
            11 => Wpa3ExtPsk,
            12 => Wpa3ExtPskMixedMode,
            13 => Dpp,
            14 => Wpa3Enterprise,
            15 => Wpa2Wpa3Enterprise,
            16 => WpaEnterprise,
            other => Unknown { raw: other },
        }
    }

    /// The raw value on the wire.
    pub fn raw(self) -> i32 {
        use WifiAuthMode::*;
        match self {
            Open => 0,
            Wep => 1,
            WpaPsk => 2,
            Wpa2Psk => 3,
            WpaWpa2Psk => 4,
            Wpa2Enterprise => 5,
            Wpa3Psk => 6,
            Wpa2Wpa3Psk => 7,
            WapiPsk => 8,
            Owe => 9,
            Wpa3Ent192 => 10,
            Wpa3ExtPsk => 11,
            Wpa3ExtPskMixedMode => 12,
            Dpp => 13,
            Wpa3Enterprise => 14,
            Wpa2Wpa3Enterprise => 15,
            WpaEnterprise => 16,
            Unknown { raw } => raw,
        }
    }

    /// ESP-IDF's name for the mode (`WPA2_PSK` ...), or `UNKNOWN`.
    pub fn name(self) -> &'static str {
        use WifiAuthMode::*;
        match self {
            Open => "OPEN",
            Wep => "WEP",
            WpaPsk => "WPA_PSK",
            Wpa2Psk => "WPA2_PSK",
            WpaWpa2Psk => "WPA_WPA2_PSK",
            Wpa2Enterprise => "WPA2_ENTERPRISE",
            Wpa3Psk => "WPA3_PSK",
            Wpa2Wpa3Psk => "WPA2_WPA3_PSK",
            WapiPsk => "WAPI_PSK",
            Owe => "OWE",
            Wpa3Ent192 => "WPA3_ENT_192",
            Wpa3ExtPsk => "WPA3_EXT_PSK",
            Wpa3ExtPskMixedMode => "WPA3_EXT_PSK_MIXED_MODE",
            Dpp => "DPP",
            Wpa3Enterprise => "WPA3_ENTERPRISE",
            Wpa2Wpa3Enterprise => "WPA2_WPA3_ENTERPRISE",
            WpaEnterprise => "WPA_ENTERPRISE",
            Unknown { .. } => "UNKNOWN",
        }
    }
}

// What Kotlin and Swift ask of a mode, too.
#[cfg_attr(feature = "uniffi", uniffi::export)]
impl WifiAuthMode {
    /// Whether joining needs no passphrase (open or OWE).
    pub fn is_open(&self) -> bool {
        matches!(self, WifiAuthMode::Open | WifiAuthMode::Owe)
    }

    /// ESP-IDF's name for the mode (`WPA2_PSK` ...), or `UNKNOWN`, as an owned string (what
    /// Kotlin and Swift get; Rust code uses [`WifiAuthMode::name`]).
    pub fn esp_idf_name(&self) -> String {
        self.name().to_owned()
    }
}

/// One scan result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WifiNetwork {
    /// SSID bytes (0..=32, may be non-UTF-8; empty for a hidden network).
    pub ssid: Vec<u8>,
    /// Primary channel.
    pub channel: u32,
    /// Signal strength in dBm (negative).
    pub rssi: i32,
    /// BSSID (6 bytes).
    pub bssid: Vec<u8>,
    /// Authentication mode.
    pub auth: WifiAuthMode,
}

/// How an SSID appears in a device's scan: what a client needs to know before asking the user for
/// a passphrase (an app's dialog, the CLI's prompt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanSighting {
    /// Seen, and every entry with this SSID needs no passphrase (open or OWE).
    Open,
    /// Seen, and at least one entry with this SSID needs a passphrase.
    Secured,
    /// Not in the scan (a hidden network, out of range, or a typo).
    NotSeen,
}

/// How `ssid` appears in `networks` (hidden entries, with an empty SSID, never match).
pub fn sighting(networks: &[WifiNetwork], ssid: &[u8]) -> ScanSighting {
    let mut matching = networks.iter().filter(|n| !n.ssid.is_empty() && n.ssid == ssid).peekable();
    if matching.peek().is_none() {
        return ScanSighting::NotSeen;
    }
    if matching.all(|n| n.auth.is_open()) { ScanSighting::Open } else { ScanSighting::Secured }
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl WifiNetwork {
    /// The SSID as text, with invalid UTF-8 replaced.
    pub fn ssid_lossy(&self) -> String {
        String::from_utf8_lossy(&self.ssid).into_owned()
    }
}

/// The details the device reports once it has joined the network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WifiConnectedInfo {
    /// IPv4 address in dotted-quad form, as the device wrote it.
    pub ip4_addr: String,
    /// Authentication mode of the joined AP.
    pub auth_mode: WifiAuthMode,
    /// SSID of the joined AP.
    pub ssid: Vec<u8>,
    /// BSSID of the joined AP (6 bytes).
    pub bssid: Vec<u8>,
    /// Primary channel.
    pub channel: i32,
}

impl WifiConnectedInfo {
    /// The IPv4 address, if `ip4_addr` parses as one.
    pub fn ip4(&self) -> Option<std::net::Ipv4Addr> {
        self.ip4_addr.parse().ok()
    }
}

/// Why the device gave up joining the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WifiFailReason {
    /// Wrong passphrase (4-way handshake timeout, auth failure, MIC failure ...).
    AuthError,
    /// No AP with that SSID was found.
    NetworkNotFound,
    /// A value outside the enum.
    Unknown {
        /// The raw value.
        raw: i32,
    },
}

impl WifiFailReason {
    /// Maps the raw `WifiConnectFailedReason`.
    pub fn from_raw(raw: i32) -> Self {
        match raw {
            0 => WifiFailReason::AuthError,
            1 => WifiFailReason::NetworkNotFound,
            other => WifiFailReason::Unknown { raw: other },
        }
    }

    /// The raw value on the wire.
    pub fn raw(self) -> i32 {
        match self {
            WifiFailReason::AuthError => 0,
            WifiFailReason::NetworkNotFound => 1,
            WifiFailReason::Unknown { raw } => raw,
        }
    }
}

/// The station state reported by GetStatus.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WifiStatus {
    /// Nothing applied yet, or still connecting. `attempts_remaining` is set after a failed
    /// attempt when the firmware limits attempts (ESP-IDF >= v5.4.1).
    Connecting {
        /// Attempts left, when reported.
        attempts_remaining: Option<u32>,
    },
    /// Joined, with the details of the connection.
    Connected {
        /// The connection.
        info: WifiConnectedInfo,
    },
    /// Gave up.
    Failed {
        /// Why.
        reason: WifiFailReason,
    },
    /// Defined by the proto but never sent by the firmware.
    Disconnected,
}

/// Parameters of a Wi-Fi scan (docs/protocol.md 6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScanParams {
    /// Answer only once the scan is complete.
    pub blocking: bool,
    /// Passive scan.
    pub passive: bool,
    /// 0 = all channels at once; N > 0 = channel by channel with a pause every N channels.
    pub group_channels: u32,
    /// Per-channel dwell time in ms (ignored by firmware built with Bluetooth).
    pub period_ms: u32,
}

impl ScanParams {
    /// What `esp_prov` uses over SoftAP: blocking, active, groups of 5 channels, 120 ms.
    pub fn softap() -> Self {
        ScanParams { blocking: true, passive: false, group_channels: 5, period_ms: 120 }
    }

    /// What `esp_prov` uses over BLE: blocking, active, all channels at once, 120 ms.
    pub fn ble() -> Self {
        ScanParams { blocking: true, passive: false, group_channels: 0, period_ms: 120 }
    }

    /// The defaults for a transport: grouped channels on SoftAP (so the device's AP keeps
    /// beaconing), all channels at once otherwise.
    pub fn for_transport(kind: TransportKind) -> Self {
        match kind {
            TransportKind::SoftAp => Self::softap(),
            _ => Self::ble(),
        }
    }
}

/// Progress of a scan, from ScanStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScanStatus {
    /// The scan has finished.
    pub finished: bool,
    /// Number of stored results.
    pub count: u32,
}

/// The length limits the firmware enforces on SetConfig: SSID <= 32 bytes, passphrase <= 63
/// bytes, BSSID empty or 6 bytes.
pub fn validate_set_config(ssid: &[u8], passphrase: &[u8], bssid: &[u8]) -> Result<(), EndpointError> {
    if ssid.len() > MAX_SSID_LEN {
        return Err(EndpointError::InvalidArgument(format!(
            "SSID is {} bytes, at most {MAX_SSID_LEN} are allowed",
            ssid.len()
        )));
    }
    if passphrase.len() > MAX_PASSPHRASE_LEN {
        return Err(EndpointError::InvalidArgument(format!(
            "the passphrase is longer than {MAX_PASSPHRASE_LEN} bytes"
        )));
    }
    if !bssid.is_empty() && bssid.len() != BSSID_LEN {
        return Err(EndpointError::InvalidArgument(format!(
            "BSSID is {} bytes, it must be empty or {BSSID_LEN}",
            bssid.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Conversions between typed values and messages
// ---------------------------------------------------------------------------------------------

fn cfg_msg_name(msg: i32) -> Option<&'static str> {
    pb::WiFiConfigMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn scan_msg_name(msg: i32) -> Option<&'static str> {
    pb::WiFiScanMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn ctrl_msg_name(msg: i32) -> Option<&'static str> {
    pb::WiFiCtrlMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn cfg_member(p: &Option<CfgPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        CfgPayload::CmdGetStatus(_) => "cmd_get_status",
        CfgPayload::RespGetStatus(_) => "resp_get_status",
        CfgPayload::CmdSetConfig(_) => "cmd_set_config",
        CfgPayload::RespSetConfig(_) => "resp_set_config",
        CfgPayload::CmdApplyConfig(_) => "cmd_apply_config",
        CfgPayload::RespApplyConfig(_) => "resp_apply_config",
    })
}

fn scan_member(p: &Option<ScanPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        ScanPayload::CmdScanStart(_) => "cmd_scan_start",
        ScanPayload::RespScanStart(_) => "resp_scan_start",
        ScanPayload::CmdScanStatus(_) => "cmd_scan_status",
        ScanPayload::RespScanStatus(_) => "resp_scan_status",
        ScanPayload::CmdScanResult(_) => "cmd_scan_result",
        ScanPayload::RespScanResult(_) => "resp_scan_result",
    })
}

fn ctrl_member(p: &Option<CtrlPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        CtrlPayload::CmdCtrlReset(_) => "cmd_ctrl_reset",
        CtrlPayload::RespCtrlReset(_) => "resp_ctrl_reset",
        CtrlPayload::CmdCtrlReprov(_) => "cmd_ctrl_reprov",
        CtrlPayload::RespCtrlReprov(_) => "resp_ctrl_reprov",
    })
}

impl From<pb::WiFiScanResult> for WifiNetwork {
    fn from(r: pb::WiFiScanResult) -> Self {
        WifiNetwork {
            ssid: r.ssid,
            channel: r.channel,
            rssi: r.rssi,
            bssid: r.bssid,
            auth: WifiAuthMode::from_raw(r.auth),
        }
    }
}

impl From<&WifiNetwork> for pb::WiFiScanResult {
    fn from(n: &WifiNetwork) -> Self {
        pb::WiFiScanResult {
            ssid: n.ssid.clone(),
            channel: n.channel,
            rssi: n.rssi,
            bssid: n.bssid.clone(),
            auth: n.auth.raw(),
        }
    }
}

impl From<pb::WifiConnectedState> for WifiConnectedInfo {
    fn from(c: pb::WifiConnectedState) -> Self {
        WifiConnectedInfo {
            ip4_addr: c.ip4_addr,
            auth_mode: WifiAuthMode::from_raw(c.auth_mode),
            ssid: c.ssid,
            bssid: c.bssid,
            channel: c.channel,
        }
    }
}

impl From<&WifiConnectedInfo> for pb::WifiConnectedState {
    fn from(c: &WifiConnectedInfo) -> Self {
        pb::WifiConnectedState {
            ip4_addr: c.ip4_addr.clone(),
            auth_mode: c.auth_mode.raw(),
            ssid: c.ssid.clone(),
            bssid: c.bssid.clone(),
            channel: c.channel,
        }
    }
}

impl From<ScanParams> for pb::CmdScanStart {
    fn from(p: ScanParams) -> Self {
        pb::CmdScanStart {
            blocking: p.blocking,
            passive: p.passive,
            group_channels: p.group_channels,
            period_ms: p.period_ms,
        }
    }
}

impl From<pb::CmdScanStart> for ScanParams {
    fn from(c: pb::CmdScanStart) -> Self {
        ScanParams {
            blocking: c.blocking,
            passive: c.passive,
            group_channels: c.group_channels,
            period_ms: c.period_ms,
        }
    }
}

/// The longest `ip4_addr` text accepted from a device (a dotted quad has at most 15 characters;
/// the margin tolerates padding without letting a device send kilobytes).
pub const MAX_IP_ADDR_TEXT: usize = 64;

/// The most entries one scan-result page may hold (firmware keeps at most 255 results).
pub const MAX_SCAN_PAGE_ENTRIES: usize = 255;

fn check_connected(c: &pb::WifiConnectedState) -> Result<(), EndpointError> {
    bound("ip4_addr", c.ip4_addr.len(), MAX_IP_ADDR_TEXT)?;
    bound("ssid", c.ssid.len(), MAX_SSID_LEN)?;
    bound("bssid", c.bssid.len(), BSSID_LEN)
}

/// Reads a `RespGetStatus` the way the reference clients do: the state decides, and a missing
/// state member reads as its proto3 default (empty connection details, `AuthError`).
fn status_from_resp(r: pb::RespGetStatus) -> Result<WifiStatus, EndpointError> {
    check_status(r.status)?;
    match pb::WifiStationState::try_from(r.sta_state) {
        Ok(pb::WifiStationState::Connected) => Ok(WifiStatus::Connected {
            info: match r.state {
                Some(State::Connected(c)) => {
                    check_connected(&c)?;
                    c.into()
                }
                _ => WifiConnectedInfo::default(),
            },
        }),
        Ok(pb::WifiStationState::Connecting) => Ok(WifiStatus::Connecting {
            attempts_remaining: match r.state {
                Some(State::AttemptFailed(a)) => Some(a.attempts_remaining),
                _ => None,
            },
        }),
        Ok(pb::WifiStationState::Disconnected) => Ok(WifiStatus::Disconnected),
        Ok(pb::WifiStationState::ConnectionFailed) => Ok(WifiStatus::Failed {
            reason: match r.state {
                Some(State::FailReason(raw)) => WifiFailReason::from_raw(raw),
                _ => WifiFailReason::AuthError,
            },
        }),
        Err(_) => Err(EndpointError::UnexpectedMessage {
            expected: "a station state (0..=3)".into(),
            got: format!("sta_state {}", r.sta_state),
        }),
    }
}

fn resp_from_status(status: &WifiStatus) -> pb::RespGetStatus {
    let (sta_state, state) = match status {
        WifiStatus::Connecting { attempts_remaining } => (
            pb::WifiStationState::Connecting,
            attempts_remaining.map(|n| State::AttemptFailed(pb::WifiAttemptFailed { attempts_remaining: n })),
        ),
        WifiStatus::Connected { info } => (pb::WifiStationState::Connected, Some(State::Connected(info.into()))),
        WifiStatus::Failed { reason } => {
            (pb::WifiStationState::ConnectionFailed, Some(State::FailReason(reason.raw())))
        }
        WifiStatus::Disconnected => (pb::WifiStationState::Disconnected, None),
    };
    pb::RespGetStatus { status: Status::Success as i32, sta_state: sta_state as i32, state }
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-config
// ---------------------------------------------------------------------------------------------

/// GetStatus request: `52 00` (`cmd_get_status {}`, message type 0 left implicit).
pub fn get_status_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiConfigPayload {
        msg: pb::WiFiConfigMsgType::TypeCmdGetStatus as i32,
        payload: Some(CfgPayload::CmdGetStatus(pb::CmdGetStatus {})),
    })
}

/// SetConfig request with SSID and passphrase (`08 02 62 ..`). Fails with
/// [`EndpointError::InvalidArgument`] for an empty or over-long SSID or a passphrase over 63
/// bytes. The returned bytes hold the passphrase and are wiped on drop.
pub fn set_config_request(ssid: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, EndpointError> {
    set_config_request_with_bssid(ssid, passphrase, &[], 0)
}

/// SetConfig request that also carries a BSSID (empty or 6 bytes) and a channel, both of which
/// the firmware validates and then ignores.
pub fn set_config_request_with_bssid(
    ssid: &[u8],
    passphrase: &[u8],
    bssid: &[u8],
    channel: i32,
) -> Result<Zeroizing<Vec<u8>>, EndpointError> {
    if ssid.is_empty() {
        return Err(EndpointError::InvalidArgument("the SSID is empty".into()));
    }
    validate_set_config(ssid, passphrase, bssid)?;
    let mut msg = pb::WiFiConfigPayload {
        msg: pb::WiFiConfigMsgType::TypeCmdSetConfig as i32,
        payload: Some(CfgPayload::CmdSetConfig(pb::CmdSetConfig {
            ssid: ssid.to_vec(),
            passphrase: passphrase.to_vec(),
            bssid: bssid.to_vec(),
            channel,
        })),
    };
    let out = encode_secret(&msg);
    if let Some(CfgPayload::CmdSetConfig(c)) = &mut msg.payload {
        c.passphrase.zeroize();
    }
    out
}

/// ApplyConfig request: `08 04` (message type only, as `esp_prov` sends it).
pub fn apply_config_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiConfigPayload {
        msg: pb::WiFiConfigMsgType::TypeCmdApplyConfig as i32,
        payload: None,
    })
}

fn decode_cfg_response(bytes: &[u8], expected: pb::WiFiConfigMsgType) -> Result<Option<CfgPayload>, EndpointError> {
    let p: pb::WiFiConfigPayload = decode("WiFiConfigPayload", bytes)?;
    expect_msg(p.msg, expected as i32, cfg_msg_name)?;
    Ok(p.payload)
}

/// Parses the GetStatus response.
pub fn parse_get_status_response(bytes: &[u8]) -> Result<WifiStatus, EndpointError> {
    match decode_cfg_response(bytes, pb::WiFiConfigMsgType::TypeRespGetStatus)? {
        Some(CfgPayload::RespGetStatus(r)) => status_from_resp(r),
        other => Err(unexpected_member("resp_get_status", cfg_member(&other))),
    }
}

/// Parses the SetConfig response: `Ok` on `Success`.
pub fn parse_set_config_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_cfg_response(bytes, pb::WiFiConfigMsgType::TypeRespSetConfig)? {
        Some(CfgPayload::RespSetConfig(r)) => check_status(r.status),
        other => Err(unexpected_member("resp_set_config", cfg_member(&other))),
    }
}

/// Parses the ApplyConfig response: `Ok` on `Success`.
pub fn parse_apply_config_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_cfg_response(bytes, pb::WiFiConfigMsgType::TypeRespApplyConfig)? {
        Some(CfgPayload::RespApplyConfig(r)) => check_status(r.status),
        other => Err(unexpected_member("resp_apply_config", cfg_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-scan
// ---------------------------------------------------------------------------------------------

/// ScanStart request (`52 06 08 01 18 05 20 78` for the SoftAP defaults).
pub fn scan_start_request(params: &ScanParams) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiScanPayload {
        msg: pb::WiFiScanMsgType::TypeCmdScanStart as i32,
        status: 0,
        payload: Some(ScanPayload::CmdScanStart((*params).into())),
    })
}

/// ScanStatus request: `08 02` (message type only, as `esp_prov` sends it).
pub fn scan_status_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiScanPayload {
        msg: pb::WiFiScanMsgType::TypeCmdScanStatus as i32,
        status: 0,
        payload: None,
    })
}

/// ScanResult request for `count` entries from `start` (`08 04 72 02 10 04` for 0, 4). Never ask
/// beyond the `count` reported by ScanStatus.
pub fn scan_result_request(start: u32, count: u32) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiScanPayload {
        msg: pb::WiFiScanMsgType::TypeCmdScanResult as i32,
        status: 0,
        payload: Some(ScanPayload::CmdScanResult(pb::CmdScanResult { start_index: start, count })),
    })
}

/// Decodes a scan response, checks its type and its envelope status.
fn decode_scan_response(bytes: &[u8], expected: pb::WiFiScanMsgType) -> Result<Option<ScanPayload>, EndpointError> {
    let p: pb::WiFiScanPayload = decode("WiFiScanPayload", bytes)?;
    expect_msg(p.msg, expected as i32, scan_msg_name)?;
    check_status(p.status)?;
    Ok(p.payload)
}

/// Parses the ScanStart response. The empty `resp_scan_start` member may be absent.
pub fn parse_scan_start_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_scan_response(bytes, pb::WiFiScanMsgType::TypeRespScanStart)? {
        None | Some(ScanPayload::RespScanStart(_)) => Ok(()),
        other => Err(unexpected_member("resp_scan_start", scan_member(&other))),
    }
}

/// Parses the ScanStatus response.
pub fn parse_scan_status_response(bytes: &[u8]) -> Result<ScanStatus, EndpointError> {
    match decode_scan_response(bytes, pb::WiFiScanMsgType::TypeRespScanStatus)? {
        Some(ScanPayload::RespScanStatus(r)) => Ok(ScanStatus { finished: r.scan_finished, count: r.result_count }),
        other => Err(unexpected_member("resp_scan_status", scan_member(&other))),
    }
}

/// Parses a ScanResult response page.
pub fn parse_scan_result_response(bytes: &[u8]) -> Result<Vec<WifiNetwork>, EndpointError> {
    match decode_scan_response(bytes, pb::WiFiScanMsgType::TypeRespScanResult)? {
        Some(ScanPayload::RespScanResult(r)) => {
            bound("entries", r.entries.len(), MAX_SCAN_PAGE_ENTRIES)?;
            for e in &r.entries {
                bound("ssid", e.ssid.len(), MAX_SSID_LEN)?;
                bound("bssid", e.bssid.len(), BSSID_LEN)?;
            }
            Ok(r.entries.into_iter().map(WifiNetwork::from).collect())
        }
        other => Err(unexpected_member("resp_scan_result", scan_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-ctrl
// ---------------------------------------------------------------------------------------------

/// Ctrl Reset request: `08 01`.
pub fn ctrl_reset_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiCtrlPayload {
        msg: pb::WiFiCtrlMsgType::TypeCmdCtrlReset as i32,
        status: 0,
        payload: None,
    })
}

/// Ctrl Reprov request: `08 03`.
pub fn ctrl_reprov_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiCtrlPayload {
        msg: pb::WiFiCtrlMsgType::TypeCmdCtrlReprov as i32,
        status: 0,
        payload: None,
    })
}

fn parse_ctrl_response(bytes: &[u8], expected: pb::WiFiCtrlMsgType) -> Result<(), EndpointError> {
    let p: pb::WiFiCtrlPayload = decode("WiFiCtrlPayload", bytes)?;
    expect_msg(p.msg, expected as i32, ctrl_msg_name)?;
    check_status(p.status)?;
    match (&p.payload, expected) {
        (None, _)
        | (Some(CtrlPayload::RespCtrlReset(_)), pb::WiFiCtrlMsgType::TypeRespCtrlReset)
        | (Some(CtrlPayload::RespCtrlReprov(_)), pb::WiFiCtrlMsgType::TypeRespCtrlReprov) => Ok(()),
        (other, pb::WiFiCtrlMsgType::TypeRespCtrlReset) => {
            Err(unexpected_member("resp_ctrl_reset", ctrl_member(other)))
        }
        (other, _) => Err(unexpected_member("resp_ctrl_reprov", ctrl_member(other))),
    }
}

/// Parses the Reset response (status in the envelope; the empty member may be absent).
pub fn parse_ctrl_reset_response(bytes: &[u8]) -> Result<(), EndpointError> {
    parse_ctrl_response(bytes, pb::WiFiCtrlMsgType::TypeRespCtrlReset)
}

/// Parses the Reprov response (status in the envelope; the empty member may be absent).
pub fn parse_ctrl_reprov_response(bytes: &[u8]) -> Result<(), EndpointError> {
    parse_ctrl_response(bytes, pb::WiFiCtrlMsgType::TypeRespCtrlReprov)
}

// ---------------------------------------------------------------------------------------------
// Device side
// ---------------------------------------------------------------------------------------------

/// A `prov-config` command as the device dispatches it. `Debug` redacts the passphrase, which is
/// wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfigCommand {
    /// GetStatus.
    GetStatus,
    /// SetConfig, with the credentials exactly as received: not yet validated (the firmware
    /// answers `InvalidArgument` when [`validate_set_config`] fails).
    SetConfig {
        /// SSID bytes.
        ssid: Vec<u8>,
        /// Passphrase bytes.
        passphrase: Zeroizing<Vec<u8>>,
        /// BSSID (empty or 6 bytes; validated, then ignored by the firmware).
        bssid: Vec<u8>,
        /// Channel (ignored by the firmware).
        channel: i32,
    },
    /// ApplyConfig.
    Apply,
}

impl std::fmt::Debug for ConfigCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigCommand::GetStatus => f.write_str("GetStatus"),
            ConfigCommand::SetConfig { ssid, passphrase, bssid, channel } => f
                .debug_struct("SetConfig")
                .field("ssid", &String::from_utf8_lossy(ssid))
                .field("passphrase", &format_args!("<{} bytes redacted>", passphrase.len()))
                .field("bssid", bssid)
                .field("channel", channel)
                .finish(),
            ConfigCommand::Apply => f.write_str("Apply"),
        }
    }
}

/// A device answer on `prov-config`.
pub type ConfigResponse = super::ConfigResponse<WifiStatus>;

/// A `prov-scan` command as the device dispatches it.
pub type ScanCommand = super::ScanCommand<ScanParams>;

/// A device answer on `prov-scan` (the status goes in the envelope, see [`encode_scan_response`]).
pub type ScanResponse = super::ScanResponse<WifiNetwork>;

/// A `prov-ctrl` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtrlCommand {
    /// Reset after a failed attempt.
    Reset,
    /// Re-provision an already provisioned device.
    Reprov,
}

fn unknown_command(what: &str, msg: i32, name_of: impl Fn(i32) -> Option<&'static str>) -> EndpointError {
    EndpointError::UnexpectedMessage { expected: format!("a {what} command"), got: describe_msg(msg, name_of) }
}

/// Decodes a `prov-config` request like the firmware: the message type alone selects the command
/// (GetStatus and ApplyConfig ignore the member, so an empty request is GetStatus); SetConfig
/// requires its `cmd_set_config` member. Any other type is an error (the device fails the
/// request at the transport level).
pub fn decode_config_request(bytes: &[u8]) -> Result<ConfigCommand, EndpointError> {
    let mut p: pb::WiFiConfigPayload = decode("WiFiConfigPayload", bytes)?;
    match pb::WiFiConfigMsgType::try_from(p.msg) {
        Ok(pb::WiFiConfigMsgType::TypeCmdGetStatus) => Ok(ConfigCommand::GetStatus),
        Ok(pb::WiFiConfigMsgType::TypeCmdApplyConfig) => Ok(ConfigCommand::Apply),
        Ok(pb::WiFiConfigMsgType::TypeCmdSetConfig) => match p.payload.take() {
            Some(CfgPayload::CmdSetConfig(mut c)) => Ok(ConfigCommand::SetConfig {
                ssid: std::mem::take(&mut c.ssid),
                passphrase: Zeroizing::new(std::mem::take(&mut c.passphrase)),
                bssid: std::mem::take(&mut c.bssid),
                channel: c.channel,
            }),
            other => Err(unexpected_member("cmd_set_config", cfg_member(&other))),
        },
        _ => Err(unknown_command("prov-config", p.msg, cfg_msg_name)),
    }
}

/// Encodes a `prov-config` answer exactly as the firmware does (e.g. `08 01 5a 02 10 01` for
/// Connecting, `08 03 6a 00` for a successful SetConfig, `08 05 7a 00` for ApplyConfig).
pub fn encode_config_response(response: &ConfigResponse) -> Vec<u8> {
    match response {
        ConfigResponse::Status(status) => encode_get_status_response(status),
        ConfigResponse::StatusError(code) => encode_get_status_error_response(*code),
        ConfigResponse::SetConfig(code) => encode_set_config_response(*code),
        ConfigResponse::Apply(code) => encode_apply_config_response(*code),
    }
}

fn encode_cfg(msg: pb::WiFiConfigMsgType, payload: CfgPayload) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiConfigPayload { msg: msg as i32, payload: Some(payload) })
}

/// GetStatus answer with `Success` and this state (`08 01 5a 02 10 01` for Connecting).
pub fn encode_get_status_response(status: &WifiStatus) -> Vec<u8> {
    encode_cfg(pb::WiFiConfigMsgType::TypeRespGetStatus, CfgPayload::RespGetStatus(resp_from_status(status)))
}

/// GetStatus answer with a failure status and no state (`08 01 5a 02 08 05` for InternalError).
pub fn encode_get_status_error_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::WiFiConfigMsgType::TypeRespGetStatus,
        CfgPayload::RespGetStatus(pb::RespGetStatus { status: status as i32, sta_state: 0, state: None }),
    )
}

/// SetConfig answer (`08 03 6a 00` for Success).
pub fn encode_set_config_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::WiFiConfigMsgType::TypeRespSetConfig,
        CfgPayload::RespSetConfig(pb::RespSetConfig { status: status as i32 }),
    )
}

/// ApplyConfig answer (`08 05 7a 00` for Success).
pub fn encode_apply_config_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::WiFiConfigMsgType::TypeRespApplyConfig,
        CfgPayload::RespApplyConfig(pb::RespApplyConfig { status: status as i32 }),
    )
}

/// Decodes a `prov-scan` request like the firmware: ScanStatus needs no member; ScanStart and
/// ScanResult require theirs.
pub fn decode_scan_request(bytes: &[u8]) -> Result<ScanCommand, EndpointError> {
    let p: pb::WiFiScanPayload = decode("WiFiScanPayload", bytes)?;
    match pb::WiFiScanMsgType::try_from(p.msg) {
        Ok(pb::WiFiScanMsgType::TypeCmdScanStatus) => Ok(ScanCommand::Status),
        Ok(pb::WiFiScanMsgType::TypeCmdScanStart) => match p.payload {
            Some(ScanPayload::CmdScanStart(c)) => Ok(ScanCommand::Start(c.into())),
            other => Err(unexpected_member("cmd_scan_start", scan_member(&other))),
        },
        Ok(pb::WiFiScanMsgType::TypeCmdScanResult) => match p.payload {
            Some(ScanPayload::CmdScanResult(c)) => Ok(ScanCommand::Result { start: c.start_index, count: c.count }),
            other => Err(unexpected_member("cmd_scan_result", scan_member(&other))),
        },
        _ => Err(unknown_command("prov-scan", p.msg, scan_msg_name)),
    }
}

/// Encodes a `prov-scan` answer with `status` in the envelope, exactly as the firmware does (e.g.
/// `08 01 5a 00` for ScanStart, `08 03 6a 04 08 01 10 10` for "finished, 16 results").
pub fn encode_scan_response(response: &ScanResponse, status: Status) -> Vec<u8> {
    use pb::WiFiScanMsgType as T;
    let (msg, payload) = match response {
        ScanResponse::Start => (T::TypeRespScanStart, ScanPayload::RespScanStart(pb::RespScanStart {})),
        ScanResponse::Status(s) => (
            T::TypeRespScanStatus,
            ScanPayload::RespScanStatus(pb::RespScanStatus { scan_finished: s.finished, result_count: s.count }),
        ),
        ScanResponse::Result(entries) => (T::TypeRespScanResult, scan_result_payload(entries)),
    };
    encode_scan(msg, status, payload)
}

fn scan_result_payload(entries: &[WifiNetwork]) -> ScanPayload {
    ScanPayload::RespScanResult(pb::RespScanResult { entries: entries.iter().map(Into::into).collect() })
}

fn encode_scan(msg: pb::WiFiScanMsgType, status: Status, payload: ScanPayload) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::WiFiScanPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    })
}

/// ScanStart answer with this envelope status (`08 01 5a 00` for Success).
pub fn encode_scan_start_response(status: Status) -> Vec<u8> {
    encode_scan_response(&ScanResponse::Start, status)
}

/// ScanStatus answer with `Success` (`08 03 6a 04 08 01 10 10` for finished, 16 results).
pub fn encode_scan_status_response(finished: bool, count: u32) -> Vec<u8> {
    encode_scan_response(&ScanResponse::Status(ScanStatus { finished, count }), Status::Success)
}

/// ScanResult answer with `Success` and these entries.
pub fn encode_scan_result_response(entries: &[WifiNetwork]) -> Vec<u8> {
    encode_scan(pb::WiFiScanMsgType::TypeRespScanResult, Status::Success, scan_result_payload(entries))
}

/// Decodes a `prov-ctrl` request: the message type alone selects Reset or Reprov.
pub fn decode_ctrl_request(bytes: &[u8]) -> Result<CtrlCommand, EndpointError> {
    let p: pb::WiFiCtrlPayload = decode("WiFiCtrlPayload", bytes)?;
    match pb::WiFiCtrlMsgType::try_from(p.msg) {
        Ok(pb::WiFiCtrlMsgType::TypeCmdCtrlReset) => Ok(CtrlCommand::Reset),
        Ok(pb::WiFiCtrlMsgType::TypeCmdCtrlReprov) => Ok(CtrlCommand::Reprov),
        _ => Err(unknown_command("prov-ctrl", p.msg, ctrl_msg_name)),
    }
}

/// Encodes the answer to `command` with `status` in the envelope and the empty response member,
/// as the firmware does (`08 02 62 00` for a successful Reset).
pub fn encode_ctrl_response(command: CtrlCommand, status: Status) -> Vec<u8> {
    use pb::WiFiCtrlMsgType as T;
    let (msg, payload) = match command {
        CtrlCommand::Reset => (T::TypeRespCtrlReset, CtrlPayload::RespCtrlReset(pb::RespCtrlReset {})),
        CtrlCommand::Reprov => (T::TypeRespCtrlReprov, CtrlPayload::RespCtrlReprov(pb::RespCtrlReprov {})),
    };
    prost::Message::encode_to_vec(&pb::WiFiCtrlPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_tells_open_secured_and_unseen_networks_apart() {
        let net = |ssid: &str, auth: i32| WifiNetwork {
            ssid: ssid.as_bytes().to_vec(),
            channel: 1,
            rssi: -50,
            bssid: vec![0; 6],
            auth: WifiAuthMode::from_raw(auth),
        };
        let scan = [net("Cafe", 0), net("Home", 3), net("Twin", 0), net("Twin", 4), net("", 3), net("Owe", 9)];
        assert_eq!(sighting(&scan, b"Cafe"), ScanSighting::Open);
        assert_eq!(sighting(&scan, b"Owe"), ScanSighting::Open, "OWE needs no passphrase");
        assert_eq!(sighting(&scan, b"Home"), ScanSighting::Secured);
        assert_eq!(sighting(&scan, b"Twin"), ScanSighting::Secured);
        assert_eq!(sighting(&scan, b"Elsewhere"), ScanSighting::NotSeen);
        assert_eq!(sighting(&scan, b""), ScanSighting::NotSeen);
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn request_bytes_match_esp_prov() {
        assert_eq!(get_status_request(), h("5200"));
        assert_eq!(apply_config_request(), h("0804"));
        assert_eq!(scan_status_request(), h("0802"));
        assert_eq!(scan_start_request(&ScanParams::softap()), h("5206080118052078"));
        assert_eq!(scan_start_request(&ScanParams::ble()), h("520408012078"));
        assert_eq!(scan_result_request(0, 4), h("080472021004"));
        assert_eq!(scan_result_request(4, 4), h("0804720408041004"));
        assert_eq!(ctrl_reset_request(), h("0801"));
        assert_eq!(ctrl_reprov_request(), h("0803"));
        assert_eq!(
            set_config_request(b"myssid", b"mypassword").unwrap().as_slice(),
            h("080262140a066d7973736964120a6d7970617373776f7264")
        );
        assert_eq!(
            set_config_request_with_bssid(b"RefPeer-Home", b"secretpass", &h("246f28a1b2c3"), 6).unwrap().as_slice(),
            h("080262240a0c526566506565722d486f6d65120a736563726574706173731a06246f28a1b2c32006")
        );
        assert_eq!(set_config_request(b"Guest", b"").unwrap().as_slice(), h("080262070a054775657374"));
        assert_eq!(ScanParams::for_transport(TransportKind::SoftAp), ScanParams::softap());
        assert_eq!(ScanParams::for_transport(TransportKind::Ble), ScanParams::ble());
    }

    #[test]
    fn set_config_limits() {
        let ssid32 = [b'A'; 32];
        let pass63 = [b'p'; 63];
        assert!(set_config_request(&ssid32, &pass63).is_ok());
        assert!(matches!(set_config_request(&[b'A'; 33], b"x"), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(set_config_request(b"net", &[b'p'; 64]), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(set_config_request(b"", b"pass1234"), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(
            set_config_request_with_bssid(b"net", b"x", &[1, 2, 3], 0),
            Err(EndpointError::InvalidArgument(_))
        ));
        let err = set_config_request(b"net", &[b'q'; 64]).unwrap_err();
        assert!(!err.to_string().contains("qqqq"));
        // The device-side check matches (it does accept an empty SSID).
        assert!(validate_set_config(b"", b"", &[]).is_ok());
        assert!(validate_set_config(&ssid32, &pass63, &[0; 6]).is_ok());
    }

    #[test]
    fn auth_modes_beyond_the_enum_survive() {
        for raw in -3..40 {
            let mode = WifiAuthMode::from_raw(raw);
            assert_eq!(mode.raw(), raw);
            assert_eq!(matches!(mode, WifiAuthMode::Unknown { .. }), !(0..=16).contains(&raw));
        }
        assert_eq!(WifiAuthMode::from_raw(14), WifiAuthMode::Wpa3Enterprise);
        assert_eq!(WifiAuthMode::from_raw(14).name(), "WPA3_ENTERPRISE");
        // Scan page with auth 8, 9, 14, 16 (messages.json).
        let page = h(
            "08057a93010a210a08776170692d6e6574100118ffffffffffffffffff0122065a5b5c5d5e5f28080a270a0e6f77652d7472616e736974696f6e10061880ffffffffffffffff0122066a6b6c6d6e6f28090a220a09636f72702d77706133102c18baffffffffffffffff0122067a7b7c7d7e7f280e0a210a086f6c642d636f7270100b18abffffffffffffffff0122068a8b8c8d8e8f2810",
        );
        let nets = parse_scan_result_response(&page).unwrap();
        let auths: Vec<_> = nets.iter().map(|n| n.auth).collect();
        assert_eq!(
            auths,
            [WifiAuthMode::WapiPsk, WifiAuthMode::Owe, WifiAuthMode::Wpa3Enterprise, WifiAuthMode::WpaEnterprise]
        );
        assert_eq!(nets[0].rssi, -1);
        assert_eq!(nets[1].rssi, -128);
        assert_eq!(encode_scan_response(&ScanResponse::Result(nets), Status::Success), page);
        // A value no ESP-IDF release defines is preserved too.
        let net = WifiNetwork {
            ssid: b"x".to_vec(),
            channel: 1,
            rssi: -20,
            bssid: vec![0; 6],
            auth: WifiAuthMode::from_raw(99),
        };
        let bytes = encode_scan_response(&ScanResponse::Result(vec![net.clone()]), Status::Success);
        assert_eq!(parse_scan_result_response(&bytes).unwrap(), [net]);
    }

    #[test]
    fn ssid_edge_cases() {
        let nets = vec![
            WifiNetwork {
                ssid: vec![b'Z'; 32],
                channel: 11,
                rssi: -90,
                bssid: vec![1; 6],
                auth: WifiAuthMode::Wpa2Psk,
            },
            WifiNetwork {
                ssid: vec![0x4e, 0xff, 0x00, 0xfe],
                channel: 1,
                rssi: -5,
                bssid: vec![2; 6],
                auth: WifiAuthMode::Open,
            },
            WifiNetwork { ssid: vec![], channel: 6, rssi: i32::MIN, bssid: vec![3; 6], auth: WifiAuthMode::Wep },
        ];
        let bytes = encode_scan_response(&ScanResponse::Result(nets.clone()), Status::Success);
        assert_eq!(parse_scan_result_response(&bytes).unwrap(), nets);
        assert_eq!(nets[1].ssid_lossy(), "N\u{fffd}\u{0}\u{fffd}");
        // Non-UTF-8 SSID through SetConfig.
        let req = set_config_request(&[0x4e, 0x65, 0x74, 0xff, 0x00, 0xfe], b"12345678").unwrap();
        let cmd = decode_config_request(&req).unwrap();
        assert!(!format!("{cmd:?}").contains("12345678"));
        assert!(format!("{cmd:?}").contains("<8 bytes redacted>"));
        match cmd {
            ConfigCommand::SetConfig { ssid, passphrase, bssid, .. } => {
                assert_eq!(ssid, [0x4e, 0x65, 0x74, 0xff, 0x00, 0xfe]);
                assert_eq!(passphrase.as_slice(), b"12345678");
                assert!(validate_set_config(&ssid, &passphrase, &bssid).is_ok());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_responses_round_trip() {
        let cases: Vec<(WifiStatus, &str)> = vec![
            (WifiStatus::Connecting { attempts_remaining: None }, "08015a021001"),
            (WifiStatus::Connecting { attempts_remaining: Some(2) }, "08015a06100162020802"),
            (WifiStatus::Connecting { attempts_remaining: Some(0) }, "08015a0410016200"),
            (WifiStatus::Failed { reason: WifiFailReason::AuthError }, "08015a0410035000"),
            (WifiStatus::Failed { reason: WifiFailReason::NetworkNotFound }, "08015a0410035001"),
            (
                WifiStatus::Connected {
                    info: WifiConnectedInfo {
                        ip4_addr: "192.168.4.2".into(),
                        auth_mode: WifiAuthMode::Wpa3ExtPsk,
                        ssid: b"Lab-WPA3".to_vec(),
                        bssid: h("a0b1c2d3e4f5"),
                        channel: 149,
                    },
                },
                "08015a265a240a0b3139322e3136382e342e32100b1a084c61622d575041332206a0b1c2d3e4f5289501",
            ),
        ];
        for (status, hex) in cases {
            let bytes = encode_config_response(&ConfigResponse::Status(status.clone()));
            assert_eq!(bytes, h(hex), "{status:?}");
            assert_eq!(parse_get_status_response(&bytes).unwrap(), status);
        }
        assert_eq!(parse_get_status_response(&h("08015a021002")).unwrap(), WifiStatus::Disconnected);
        assert_eq!(
            parse_get_status_response(&h("08015a0410035007")).unwrap(),
            WifiStatus::Failed { reason: WifiFailReason::Unknown { raw: 7 } }
        );
        // InternalError from the status handler.
        let err_bytes = encode_config_response(&ConfigResponse::StatusError(Status::InternalError));
        assert_eq!(err_bytes, h("08015a020805"));
        assert_eq!(
            parse_get_status_response(&err_bytes),
            Err(EndpointError::DeviceStatus { code: 5, name: "InternalError".into() })
        );
        // Unknown station state.
        assert!(matches!(parse_get_status_response(&h("08015a021009")), Err(EndpointError::UnexpectedMessage { .. })));
        let info = WifiConnectedInfo { ip4_addr: "10.0.0.42".into(), ..Default::default() };
        assert_eq!(info.ip4(), Some(std::net::Ipv4Addr::new(10, 0, 0, 42)));
    }

    #[test]
    fn client_parsers_check_type_member_and_status() {
        assert_eq!(parse_set_config_response(&h("08036a00")), Ok(()));
        assert_eq!(
            parse_set_config_response(&h("08036a020804")),
            Err(EndpointError::DeviceStatus { code: 4, name: "InvalidArgument".into() })
        );
        // Status 9 is outside the enum.
        assert_eq!(parse_set_config_response(&h("08036a020809")), Err(EndpointError::device_status(9)));
        // Wrong type: an ApplyConfig answer where SetConfig's was expected.
        assert!(matches!(parse_set_config_response(&h("08057a00")), Err(EndpointError::UnexpectedMessage { .. })));
        // Right type, missing member.
        assert!(matches!(parse_set_config_response(&h("0803")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(parse_get_status_response(&h("0801")), Err(EndpointError::UnexpectedMessage { .. })));
        assert_eq!(parse_apply_config_response(&h("08057a00")), Ok(()));
        assert!(parse_apply_config_response(&h("08057a020805")).is_err());
        assert_eq!(parse_scan_start_response(&h("08015a00")), Ok(()));
        assert_eq!(parse_scan_start_response(&h("0801")), Ok(()));
        assert_eq!(parse_scan_start_response(&h("080110055a00")), Err(EndpointError::device_status(5)));
        assert!(matches!(parse_scan_start_response(&h("08016200")), Err(EndpointError::UnexpectedMessage { .. })));
        assert_eq!(parse_scan_status_response(&h("08036a00")), Ok(ScanStatus { finished: false, count: 0 }));
        assert!(parse_scan_status_response(&h("0803")).is_err());
        assert_eq!(parse_scan_result_response(&h("08057a00")), Ok(vec![]));
        assert_eq!(
            parse_scan_result_response(&h(
                "080510057a270a250a0c526566506565722d486f6d65100618daffffffffffffffff012206246f28a1b2c32803"
            )),
            Err(EndpointError::device_status(5))
        );
        assert_eq!(parse_ctrl_reset_response(&h("08026200")), Ok(()));
        assert_eq!(parse_ctrl_reset_response(&h("0802")), Ok(()));
        assert_eq!(parse_ctrl_reset_response(&h("080210056200")), Err(EndpointError::device_status(5)));
        assert!(matches!(parse_ctrl_reset_response(&h("08047200")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(parse_ctrl_reset_response(&h("08027200")), Err(EndpointError::UnexpectedMessage { .. })));
        assert_eq!(parse_ctrl_reprov_response(&h("08047200")), Ok(()));
        // Empty responses are never valid.
        assert!(parse_get_status_response(&[]).is_err());
        assert!(parse_scan_start_response(&[]).is_err());
        assert!(parse_ctrl_reset_response(&[]).is_err());
    }

    #[test]
    fn device_dispatch_follows_the_firmware() {
        assert_eq!(decode_config_request(&h("5200")), Ok(ConfigCommand::GetStatus));
        assert_eq!(decode_config_request(&[]), Ok(ConfigCommand::GetStatus));
        assert_eq!(decode_config_request(&h("0804")), Ok(ConfigCommand::Apply));
        assert_eq!(decode_config_request(&h("08047200")), Ok(ConfigCommand::Apply));
        // The member is ignored for data-less commands...
        assert_eq!(decode_config_request(&h("08046a00")), Ok(ConfigCommand::Apply));
        // ... but required for SetConfig.
        assert!(matches!(decode_config_request(&h("0802")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(decode_config_request(&h("08025200")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(decode_config_request(&h("0806")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(decode_config_request(&h("0801")), Err(EndpointError::UnexpectedMessage { .. })));
        assert_eq!(decode_scan_request(&h("0802")), Ok(ScanCommand::Status));
        assert_eq!(decode_scan_request(&h("08026200")), Ok(ScanCommand::Status));
        assert_eq!(
            decode_scan_request(&h("5200")),
            Ok(ScanCommand::Start(ScanParams { blocking: false, passive: false, group_channels: 0, period_ms: 0 }))
        );
        assert_eq!(
            decode_scan_request(&h("52071001180420ac02")),
            Ok(ScanCommand::Start(ScanParams { blocking: false, passive: true, group_channels: 4, period_ms: 300 }))
        );
        assert!(decode_scan_request(&[]).is_err());
        assert!(decode_scan_request(&h("0804")).is_err());
        assert_eq!(decode_scan_request(&h("0804720408041004")), Ok(ScanCommand::Result { start: 4, count: 4 }));
        assert_eq!(decode_ctrl_request(&h("0801")), Ok(CtrlCommand::Reset));
        assert_eq!(decode_ctrl_request(&h("08015a00")), Ok(CtrlCommand::Reset));
        assert_eq!(decode_ctrl_request(&h("0803")), Ok(CtrlCommand::Reprov));
        assert!(decode_ctrl_request(&[]).is_err());
        assert!(decode_ctrl_request(&h("0802")).is_err());
        assert_eq!(encode_ctrl_response(CtrlCommand::Reset, Status::Success), h("08026200"));
        assert_eq!(encode_ctrl_response(CtrlCommand::Reset, Status::InternalError), h("080210056200"));
        assert_eq!(encode_ctrl_response(CtrlCommand::Reprov, Status::Success), h("08047200"));
        assert_eq!(encode_config_response(&ConfigResponse::SetConfig(Status::InvalidArgument)), h("08036a020804"));
        assert_eq!(encode_config_response(&ConfigResponse::Apply(Status::InternalError)), h("08057a020805"));
        assert_eq!(encode_scan_response(&ScanResponse::Start, Status::InternalError), h("080110055a00"));
        assert_eq!(encode_scan_start_response(Status::Success), h("08015a00"));
        assert_eq!(encode_scan_status_response(true, 16), h("08036a0408011010"));
        assert_eq!(encode_scan_result_response(&[]), h("08057a00"));
        assert_eq!(encode_get_status_error_response(Status::InternalError), h("08015a020805"));
        assert_eq!(encode_set_config_response(Status::Success), h("08036a00"));
        assert_eq!(encode_apply_config_response(Status::Success), h("08057a00"));
    }

    #[test]
    fn truncated_requests_and_responses_are_typed_errors() {
        let full = set_config_request(b"RefPeer-Home", b"secretpass").unwrap();
        for n in 1..full.len() {
            assert!(decode_config_request(&full[..n]).is_err(), "prefix {n}");
        }
        let page = h("08057a9f010a250a0c526566506565722d486f6d65100618e1ffffffffffffffff012206240ac410a001");
        for n in 0..page.len() {
            assert!(parse_scan_result_response(&page[..n]).is_err(), "prefix {n}");
        }
        assert!(matches!(parse_get_status_response(&[0xff, 0xff, 0xff]), Err(EndpointError::Malformed(_))));
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode_config_request(&bytes);
            let _ = decode_scan_request(&bytes);
            let _ = decode_ctrl_request(&bytes);
            let _ = parse_get_status_response(&bytes);
            let _ = parse_set_config_response(&bytes);
            let _ = parse_apply_config_response(&bytes);
            let _ = parse_scan_start_response(&bytes);
            let _ = parse_scan_status_response(&bytes);
            let _ = parse_scan_result_response(&bytes);
            let _ = parse_ctrl_reset_response(&bytes);
            let _ = parse_ctrl_reprov_response(&bytes);
        }

        #[test]
        fn set_config_round_trips(
            ssid in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..=32),
            pass in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=63),
        ) {
            let req = set_config_request(&ssid, &pass).unwrap();
            match decode_config_request(&req).unwrap() {
                ConfigCommand::SetConfig { ssid: got_ssid, passphrase, .. } => {
                    proptest::prop_assert_eq!(&got_ssid, &ssid);
                    proptest::prop_assert_eq!(passphrase.as_slice(), pass.as_slice());
                }
                other => proptest::prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn scan_pages_round_trip(entries in proptest::collection::vec(
            (proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=32), proptest::prelude::any::<u32>(),
             proptest::prelude::any::<i32>(), proptest::prelude::any::<i32>()), 0..6)) {
            let nets: Vec<WifiNetwork> = entries.into_iter().map(|(ssid, channel, rssi, auth)| WifiNetwork {
                ssid, channel, rssi, bssid: vec![0x24, 0x0a, 0xc4, 0, 0, 1], auth: WifiAuthMode::from_raw(auth),
            }).collect();
            let bytes = encode_scan_response(&ScanResponse::Result(nets.clone()), Status::Success);
            proptest::prop_assert_eq!(parse_scan_result_response(&bytes).unwrap(), nets);
        }
    }
}
