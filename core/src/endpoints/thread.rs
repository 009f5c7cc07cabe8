//! Thread provisioning messages of network_provisioning (docs/protocol.md 3.10, 6.2-6.4, 6.6) on
//! `prov-config`, `prov-scan` and `prov-ctrl`: client request builders and response parsers, the
//! device-side decoders and encoders, and the combined Wi-Fi + Thread dispatch of a
//! network_provisioning device.
//!
//! The Wi-Fi half of network_provisioning is wire-identical to `wifi_provisioning`, so Wi-Fi
//! messages are built and parsed by [`super::wifi`] for both kinds of firmware. Every Thread
//! request carries its (empty or filled) oneof member.

use rainmaker_prov_proto::network_prov as pb;
use zeroize::{Zeroize, Zeroizing};

use pb::network_config_payload::Payload as CfgPayload;
use pb::network_ctrl_payload::Payload as CtrlPayload;
use pb::network_scan_payload::Payload as ScanPayload;
use pb::resp_get_thread_status::State;

use super::wifi::{self, ScanStatus};
use super::{
    EndpointError, Status, bound, check_status, decode, describe_msg, encode_secret, expect_msg, unexpected_member,
};

/// The longest Thread network name accepted from a device (the Thread specification allows 16
/// bytes; the margin tolerates padding).
pub const MAX_NETWORK_NAME: usize = 32;
/// Length of an extended PAN id or an extended address.
pub const EXT_ID_LEN: usize = 8;

/// Largest Active Operational Dataset the device accepts, in bytes.
pub const MAX_DATASET_LEN: usize = 254;

// ---------------------------------------------------------------------------------------------
// Active Operational Dataset checks
// ---------------------------------------------------------------------------------------------

/// MeshCoP TLV type of the channel (page byte + 16-bit channel, 3 bytes).
pub const TLV_CHANNEL: u8 = 0;
/// MeshCoP TLV type of the PAN id (2 bytes).
pub const TLV_PAN_ID: u8 = 1;
/// MeshCoP TLV type of the extended PAN id (8 bytes).
pub const TLV_EXT_PAN_ID: u8 = 2;
/// MeshCoP TLV type of the network name (1..=16 bytes).
pub const TLV_NETWORK_NAME: u8 = 3;
/// MeshCoP TLV type of the network key (16 bytes).
pub const TLV_NETWORK_KEY: u8 = 5;
/// MeshCoP TLV type of the mesh-local prefix (8 bytes).
pub const TLV_MESH_LOCAL_PREFIX: u8 = 7;

/// Longest Thread network name, in bytes.
pub const MAX_DATASET_NETWORK_NAME: usize = 16;

/// The TLVs a dataset must carry, with the length each must have (`(min, max)`, in bytes).
const REQUIRED_TLVS: [(u8, &str, usize, usize); 6] = [
    (TLV_CHANNEL, "channel", 3, 3),
    (TLV_PAN_ID, "PAN id", 2, 2),
    (TLV_EXT_PAN_ID, "extended PAN id", EXT_ID_LEN, EXT_ID_LEN),
    (TLV_NETWORK_NAME, "network name", 1, MAX_DATASET_NETWORK_NAME),
    (TLV_NETWORK_KEY, "network key", 16, 16),
    (TLV_MESH_LOCAL_PREFIX, "mesh-local prefix", 8, 8),
];

/// Why an Active Operational Dataset is refused before it is sent.
///
/// The device accepts any bytes at set-config and fails only at apply (InternalError,
/// docs/protocol.md 12.1), so the client checks the TLV chain itself. Messages name the TLV and the
/// lengths involved, never a value: the dataset holds the network key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// No bytes at all.
    #[error("the Thread dataset is empty")]
    Empty,
    /// Longer than the device accepts ([`MAX_DATASET_LEN`]).
    #[error("the Thread dataset is {len} bytes, at most {MAX_DATASET_LEN} are allowed")]
    TooLong {
        /// The dataset's length.
        len: usize,
    },
    /// A TLV runs past the end of the dataset.
    #[error("the Thread dataset is truncated: the TLV of type {tlv_type} at byte {offset} runs past the end")]
    Truncated {
        /// Type of the truncated TLV.
        tlv_type: u8,
        /// Where the TLV starts.
        offset: usize,
    },
    /// The same TLV type occurs twice.
    #[error("the Thread dataset carries the TLV of type {tlv_type} twice")]
    Duplicate {
        /// The repeated TLV type.
        tlv_type: u8,
    },
    /// A mandatory TLV is missing.
    #[error("the Thread dataset has no {name} TLV (type {tlv_type})")]
    Missing {
        /// The TLV's name.
        name: &'static str,
        /// The TLV's type.
        tlv_type: u8,
    },
    /// A mandatory TLV has the wrong length.
    #[error("the {name} TLV (type {tlv_type}) of the Thread dataset is {len} bytes, expected {expected}")]
    BadLength {
        /// The TLV's name.
        name: &'static str,
        /// The TLV's type.
        tlv_type: u8,
        /// Its length.
        len: usize,
        /// The accepted length(s).
        expected: String,
    },
}

/// Checks a Thread Active Operational Dataset before it is sent (docs/protocol.md 3.10, 6.3, 12.1):
/// 1..=254 bytes, a well-formed chain of type-length-value entries with no truncated entry and no
/// repeated type, and the TLVs needed to attach present with their fixed lengths: channel (3
/// bytes: page + 16-bit channel), PAN id (2), extended PAN id (8), network name (1..=16), network
/// key (16) and mesh-local prefix (8). Other TLVs are passed through unchecked.
pub fn validate_dataset(dataset: &[u8]) -> Result<(), DatasetError> {
    if dataset.is_empty() {
        return Err(DatasetError::Empty);
    }
    if dataset.len() > MAX_DATASET_LEN {
        return Err(DatasetError::TooLong { len: dataset.len() });
    }
    // Length of each TLV type seen (at most 256 types).
    let mut seen: [Option<usize>; 256] = [None; 256];
    let mut offset = 0;
    while offset < dataset.len() {
        let tlv_type = dataset[offset];
        let Some(&len) = dataset.get(offset + 1) else {
            return Err(DatasetError::Truncated { tlv_type, offset });
        };
        let len = usize::from(len);
        let end = offset + 2 + len;
        if end > dataset.len() {
            return Err(DatasetError::Truncated { tlv_type, offset });
        }
        let slot = &mut seen[usize::from(tlv_type)];
        if slot.is_some() {
            return Err(DatasetError::Duplicate { tlv_type });
        }
        *slot = Some(len);
        offset = end;
    }
    for (tlv_type, name, min, max) in REQUIRED_TLVS {
        match seen[usize::from(tlv_type)] {
            None => return Err(DatasetError::Missing { name, tlv_type }),
            Some(len) if len < min || len > max => {
                let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
                return Err(DatasetError::BadLength { name, tlv_type, len, expected });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Typed values
// ---------------------------------------------------------------------------------------------

/// One Thread scan result. Results are not sorted by signal strength.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ThreadNetwork {
    /// PAN id.
    pub pan_id: u32,
    /// Channel (11..=26).
    pub channel: u32,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// Link quality indicator.
    pub lqi: u32,
    /// Extended address of the beaconing router (8 bytes).
    pub ext_addr: Vec<u8>,
    /// Network name (empty when the beacon carried no discovery data).
    pub network_name: String,
    /// Extended PAN id (8 bytes; all zero when the beacon carried no discovery data).
    pub ext_pan_id: Vec<u8>,
}

/// Why the device could not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ThreadFailReason {
    /// The dataset could not be used.
    DatasetInvalid,
    /// No network matching the dataset was found.
    NetworkNotFound,
    /// A value outside the enum.
    Unknown {
        /// The raw value.
        raw: i32,
    },
}

impl ThreadFailReason {
    /// Maps the raw `ThreadAttachFailedReason`.
    pub fn from_raw(raw: i32) -> Self {
        match raw {
            0 => ThreadFailReason::DatasetInvalid,
            1 => ThreadFailReason::NetworkNotFound,
            other => ThreadFailReason::Unknown { raw: other },
        }
    }

    /// The raw value on the wire.
    pub fn raw(self) -> i32 {
        match self {
            ThreadFailReason::DatasetInvalid => 0,
            ThreadFailReason::NetworkNotFound => 1,
            ThreadFailReason::Unknown { raw } => raw,
        }
    }
}

/// The Thread state reported by GetThreadStatus.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ThreadStatus {
    /// Still attaching (or nothing applied yet).
    Attaching,
    /// Attached to the network.
    Attached {
        /// PAN id.
        pan_id: u32,
        /// Extended PAN id (8 bytes).
        ext_pan_id: Vec<u8>,
        /// Channel.
        channel: u32,
        /// Network name.
        name: String,
    },
    /// Gave up.
    Failed {
        /// Why.
        reason: ThreadFailReason,
    },
    /// Defined by the proto (`Dettached`) but not sent by the firmware.
    Detached,
}

/// Parameters of a Thread scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScanParams {
    /// Answer only once the scan is complete.
    pub blocking: bool,
    /// OpenThread channel bit mask (bit n = channel n); 0 = all channels.
    pub channel_mask: u32,
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

fn cfg_msg_name(msg: i32) -> Option<&'static str> {
    pb::NetworkConfigMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn scan_msg_name(msg: i32) -> Option<&'static str> {
    pb::NetworkScanMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn ctrl_msg_name(msg: i32) -> Option<&'static str> {
    pb::NetworkCtrlMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn cfg_member(p: &Option<CfgPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        CfgPayload::CmdGetWifiStatus(_) => "cmd_get_wifi_status",
        CfgPayload::RespGetWifiStatus(_) => "resp_get_wifi_status",
        CfgPayload::CmdSetWifiConfig(_) => "cmd_set_wifi_config",
        CfgPayload::RespSetWifiConfig(_) => "resp_set_wifi_config",
        CfgPayload::CmdApplyWifiConfig(_) => "cmd_apply_wifi_config",
        CfgPayload::RespApplyWifiConfig(_) => "resp_apply_wifi_config",
        CfgPayload::CmdGetThreadStatus(_) => "cmd_get_thread_status",
        CfgPayload::RespGetThreadStatus(_) => "resp_get_thread_status",
        CfgPayload::CmdSetThreadConfig(_) => "cmd_set_thread_config",
        CfgPayload::RespSetThreadConfig(_) => "resp_set_thread_config",
        CfgPayload::CmdApplyThreadConfig(_) => "cmd_apply_thread_config",
        CfgPayload::RespApplyThreadConfig(_) => "resp_apply_thread_config",
    })
}

fn scan_member(p: &Option<ScanPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        ScanPayload::CmdScanWifiStart(_) => "cmd_scan_wifi_start",
        ScanPayload::RespScanWifiStart(_) => "resp_scan_wifi_start",
        ScanPayload::CmdScanWifiStatus(_) => "cmd_scan_wifi_status",
        ScanPayload::RespScanWifiStatus(_) => "resp_scan_wifi_status",
        ScanPayload::CmdScanWifiResult(_) => "cmd_scan_wifi_result",
        ScanPayload::RespScanWifiResult(_) => "resp_scan_wifi_result",
        ScanPayload::CmdScanThreadStart(_) => "cmd_scan_thread_start",
        ScanPayload::RespScanThreadStart(_) => "resp_scan_thread_start",
        ScanPayload::CmdScanThreadStatus(_) => "cmd_scan_thread_status",
        ScanPayload::RespScanThreadStatus(_) => "resp_scan_thread_status",
        ScanPayload::CmdScanThreadResult(_) => "cmd_scan_thread_result",
        ScanPayload::RespScanThreadResult(_) => "resp_scan_thread_result",
    })
}

fn ctrl_member(p: &Option<CtrlPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        CtrlPayload::CmdCtrlWifiReset(_) => "cmd_ctrl_wifi_reset",
        CtrlPayload::RespCtrlWifiReset(_) => "resp_ctrl_wifi_reset",
        CtrlPayload::CmdCtrlWifiReprov(_) => "cmd_ctrl_wifi_reprov",
        CtrlPayload::RespCtrlWifiReprov(_) => "resp_ctrl_wifi_reprov",
        CtrlPayload::CmdCtrlThreadReset(_) => "cmd_ctrl_thread_reset",
        CtrlPayload::RespCtrlThreadReset(_) => "resp_ctrl_thread_reset",
        CtrlPayload::CmdCtrlThreadReprov(_) => "cmd_ctrl_thread_reprov",
        CtrlPayload::RespCtrlThreadReprov(_) => "resp_ctrl_thread_reprov",
    })
}

impl From<pb::ThreadScanResult> for ThreadNetwork {
    fn from(r: pb::ThreadScanResult) -> Self {
        ThreadNetwork {
            pan_id: r.pan_id,
            channel: r.channel,
            rssi: r.rssi,
            lqi: r.lqi,
            ext_addr: r.ext_addr,
            network_name: r.network_name,
            ext_pan_id: r.ext_pan_id,
        }
    }
}

impl From<&ThreadNetwork> for pb::ThreadScanResult {
    fn from(n: &ThreadNetwork) -> Self {
        pb::ThreadScanResult {
            pan_id: n.pan_id,
            channel: n.channel,
            rssi: n.rssi,
            lqi: n.lqi,
            ext_addr: n.ext_addr.clone(),
            network_name: n.network_name.clone(),
            ext_pan_id: n.ext_pan_id.clone(),
        }
    }
}

/// Reads a `RespGetThreadStatus`; a missing state member reads as its proto3 default.
fn status_from_resp(r: pb::RespGetThreadStatus) -> Result<ThreadStatus, EndpointError> {
    check_status(r.status)?;
    match pb::ThreadNetworkState::try_from(r.thread_state) {
        Ok(pb::ThreadNetworkState::Attached) => {
            let a = match r.state {
                Some(State::ThreadAttached(a)) => a,
                _ => pb::ThreadAttachState::default(),
            };
            bound("name", a.name.len(), MAX_NETWORK_NAME)?;
            bound("ext_pan_id", a.ext_pan_id.len(), EXT_ID_LEN)?;
            Ok(ThreadStatus::Attached { pan_id: a.pan_id, ext_pan_id: a.ext_pan_id, channel: a.channel, name: a.name })
        }
        Ok(pb::ThreadNetworkState::Attaching) => Ok(ThreadStatus::Attaching),
        Ok(pb::ThreadNetworkState::Dettached) => Ok(ThreadStatus::Detached),
        Ok(pb::ThreadNetworkState::AttachingFailed) => Ok(ThreadStatus::Failed {
            reason: match r.state {
                Some(State::ThreadFailReason(raw)) => ThreadFailReason::from_raw(raw),
                _ => ThreadFailReason::DatasetInvalid,
            },
        }),
        Err(_) => Err(EndpointError::UnexpectedMessage {
            expected: "a Thread state (0..=3)".into(),
            got: format!("thread_state {}", r.thread_state),
        }),
    }
}

fn resp_from_status(status: &ThreadStatus) -> pb::RespGetThreadStatus {
    let (state, member) = match status {
        ThreadStatus::Attaching => (pb::ThreadNetworkState::Attaching, None),
        ThreadStatus::Attached { pan_id, ext_pan_id, channel, name } => (
            pb::ThreadNetworkState::Attached,
            Some(State::ThreadAttached(pb::ThreadAttachState {
                pan_id: *pan_id,
                ext_pan_id: ext_pan_id.clone(),
                channel: *channel,
                name: name.clone(),
            })),
        ),
        ThreadStatus::Failed { reason } => {
            (pb::ThreadNetworkState::AttachingFailed, Some(State::ThreadFailReason(reason.raw())))
        }
        ThreadStatus::Detached => (pb::ThreadNetworkState::Dettached, None),
    };
    pb::RespGetThreadStatus { status: Status::Success as i32, thread_state: state as i32, state: member }
}

fn encode_cfg(msg: pb::NetworkConfigMsgType, payload: CfgPayload) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::NetworkConfigPayload { msg: msg as i32, payload: Some(payload) })
}

fn encode_scan(msg: pb::NetworkScanMsgType, status: Status, payload: ScanPayload) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::NetworkScanPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    })
}

fn encode_ctrl(msg: pb::NetworkCtrlMsgType, status: Status, payload: CtrlPayload) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::NetworkCtrlPayload {
        msg: msg as i32,
        status: status as i32,
        payload: Some(payload),
    })
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-config
// ---------------------------------------------------------------------------------------------

/// GetThreadStatus request: `08 06 82 01 00`.
pub fn get_status_request() -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeCmdGetThreadStatus,
        CfgPayload::CmdGetThreadStatus(pb::CmdGetThreadStatus {}),
    )
}

/// SetThreadConfig request carrying an Active Operational Dataset (TLVs, 1..=254 bytes). The
/// dataset holds the network key: the returned bytes are wiped on drop.
pub fn set_config_request(dataset: &[u8]) -> Result<Zeroizing<Vec<u8>>, EndpointError> {
    if dataset.is_empty() {
        return Err(EndpointError::InvalidArgument("the Thread dataset is empty".into()));
    }
    if dataset.len() > MAX_DATASET_LEN {
        return Err(EndpointError::InvalidArgument(format!(
            "the Thread dataset is {} bytes, at most {MAX_DATASET_LEN} are allowed",
            dataset.len()
        )));
    }
    let mut msg = pb::NetworkConfigPayload {
        msg: pb::NetworkConfigMsgType::TypeCmdSetThreadConfig as i32,
        payload: Some(CfgPayload::CmdSetThreadConfig(pb::CmdSetThreadConfig { dataset: dataset.to_vec() })),
    };
    let out = encode_secret(&msg);
    if let Some(CfgPayload::CmdSetThreadConfig(c)) = &mut msg.payload {
        c.dataset.zeroize();
    }
    out
}

/// ApplyThreadConfig request: `08 0a a2 01 00`.
pub fn apply_config_request() -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeCmdApplyThreadConfig,
        CfgPayload::CmdApplyThreadConfig(pb::CmdApplyThreadConfig {}),
    )
}

fn decode_cfg_response(bytes: &[u8], expected: pb::NetworkConfigMsgType) -> Result<Option<CfgPayload>, EndpointError> {
    let p: pb::NetworkConfigPayload = decode("NetworkConfigPayload", bytes)?;
    expect_msg(p.msg, expected as i32, cfg_msg_name)?;
    Ok(p.payload)
}

/// Parses the GetThreadStatus response.
pub fn parse_get_status_response(bytes: &[u8]) -> Result<ThreadStatus, EndpointError> {
    match decode_cfg_response(bytes, pb::NetworkConfigMsgType::TypeRespGetThreadStatus)? {
        Some(CfgPayload::RespGetThreadStatus(r)) => status_from_resp(r),
        other => Err(unexpected_member("resp_get_thread_status", cfg_member(&other))),
    }
}

/// Parses the SetThreadConfig response: `Ok` on `Success`.
pub fn parse_set_config_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_cfg_response(bytes, pb::NetworkConfigMsgType::TypeRespSetThreadConfig)? {
        Some(CfgPayload::RespSetThreadConfig(r)) => check_status(r.status),
        other => Err(unexpected_member("resp_set_thread_config", cfg_member(&other))),
    }
}

/// Parses the ApplyThreadConfig response: `Ok` on `Success`.
pub fn parse_apply_config_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_cfg_response(bytes, pb::NetworkConfigMsgType::TypeRespApplyThreadConfig)? {
        Some(CfgPayload::RespApplyThreadConfig(r)) => check_status(r.status),
        other => Err(unexpected_member("resp_apply_thread_config", cfg_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-scan
// ---------------------------------------------------------------------------------------------

/// Thread ScanStart request (`08 06 82 01 02 08 01` for blocking, all channels).
pub fn scan_start_request(blocking: bool, channel_mask: u32) -> Vec<u8> {
    encode_scan(
        pb::NetworkScanMsgType::TypeCmdScanThreadStart,
        Status::Success,
        ScanPayload::CmdScanThreadStart(pb::CmdScanThreadStart { blocking, channel_mask }),
    )
}

/// Thread ScanStatus request: `08 08 92 01 00`.
pub fn scan_status_request() -> Vec<u8> {
    encode_scan(
        pb::NetworkScanMsgType::TypeCmdScanThreadStatus,
        Status::Success,
        ScanPayload::CmdScanThreadStatus(pb::CmdScanThreadStatus {}),
    )
}

/// Thread ScanResult request for `count` entries from `start`.
pub fn scan_result_request(start: u32, count: u32) -> Vec<u8> {
    encode_scan(
        pb::NetworkScanMsgType::TypeCmdScanThreadResult,
        Status::Success,
        ScanPayload::CmdScanThreadResult(pb::CmdScanThreadResult { start_index: start, count }),
    )
}

fn decode_scan_response(bytes: &[u8], expected: pb::NetworkScanMsgType) -> Result<Option<ScanPayload>, EndpointError> {
    let p: pb::NetworkScanPayload = decode("NetworkScanPayload", bytes)?;
    expect_msg(p.msg, expected as i32, scan_msg_name)?;
    check_status(p.status)?;
    Ok(p.payload)
}

/// Parses the Thread ScanStart response (the empty member may be absent).
pub fn parse_scan_start_response(bytes: &[u8]) -> Result<(), EndpointError> {
    match decode_scan_response(bytes, pb::NetworkScanMsgType::TypeRespScanThreadStart)? {
        None | Some(ScanPayload::RespScanThreadStart(_)) => Ok(()),
        other => Err(unexpected_member("resp_scan_thread_start", scan_member(&other))),
    }
}

/// Parses the Thread ScanStatus response.
pub fn parse_scan_status_response(bytes: &[u8]) -> Result<ScanStatus, EndpointError> {
    match decode_scan_response(bytes, pb::NetworkScanMsgType::TypeRespScanThreadStatus)? {
        Some(ScanPayload::RespScanThreadStatus(r)) => {
            Ok(ScanStatus { finished: r.scan_finished, count: r.result_count })
        }
        other => Err(unexpected_member("resp_scan_thread_status", scan_member(&other))),
    }
}

/// Parses a Thread ScanResult response page.
pub fn parse_scan_result_response(bytes: &[u8]) -> Result<Vec<ThreadNetwork>, EndpointError> {
    match decode_scan_response(bytes, pb::NetworkScanMsgType::TypeRespScanThreadResult)? {
        Some(ScanPayload::RespScanThreadResult(r)) => {
            bound("entries", r.entries.len(), wifi::MAX_SCAN_PAGE_ENTRIES)?;
            for e in &r.entries {
                bound("network_name", e.network_name.len(), MAX_NETWORK_NAME)?;
                bound("ext_addr", e.ext_addr.len(), EXT_ID_LEN)?;
                bound("ext_pan_id", e.ext_pan_id.len(), EXT_ID_LEN)?;
            }
            Ok(r.entries.into_iter().map(ThreadNetwork::from).collect())
        }
        other => Err(unexpected_member("resp_scan_thread_result", scan_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: prov-ctrl
// ---------------------------------------------------------------------------------------------

/// Thread Reset request: `08 05 7a 00`.
pub fn ctrl_reset_request() -> Vec<u8> {
    encode_ctrl(
        pb::NetworkCtrlMsgType::TypeCmdCtrlThreadReset,
        Status::Success,
        CtrlPayload::CmdCtrlThreadReset(pb::CmdCtrlThreadReset {}),
    )
}

/// Thread Reprov request: `08 07 8a 01 00`.
pub fn ctrl_reprov_request() -> Vec<u8> {
    encode_ctrl(
        pb::NetworkCtrlMsgType::TypeCmdCtrlThreadReprov,
        Status::Success,
        CtrlPayload::CmdCtrlThreadReprov(pb::CmdCtrlThreadReprov {}),
    )
}

fn parse_ctrl_response(bytes: &[u8], command: CtrlCommand) -> Result<(), EndpointError> {
    let p: pb::NetworkCtrlPayload = decode("NetworkCtrlPayload", bytes)?;
    let (expected, member) = match command {
        CtrlCommand::Reset => (pb::NetworkCtrlMsgType::TypeRespCtrlThreadReset, "resp_ctrl_thread_reset"),
        CtrlCommand::Reprov => (pb::NetworkCtrlMsgType::TypeRespCtrlThreadReprov, "resp_ctrl_thread_reprov"),
    };
    expect_msg(p.msg, expected as i32, ctrl_msg_name)?;
    check_status(p.status)?;
    match (&p.payload, command) {
        (None, _)
        | (Some(CtrlPayload::RespCtrlThreadReset(_)), CtrlCommand::Reset)
        | (Some(CtrlPayload::RespCtrlThreadReprov(_)), CtrlCommand::Reprov) => Ok(()),
        (other, _) => Err(unexpected_member(member, ctrl_member(other))),
    }
}

/// Parses the Thread Reset response (status in the envelope).
pub fn parse_ctrl_reset_response(bytes: &[u8]) -> Result<(), EndpointError> {
    parse_ctrl_response(bytes, CtrlCommand::Reset)
}

/// Parses the Thread Reprov response (status in the envelope).
pub fn parse_ctrl_reprov_response(bytes: &[u8]) -> Result<(), EndpointError> {
    parse_ctrl_response(bytes, CtrlCommand::Reprov)
}

// ---------------------------------------------------------------------------------------------
// Device side
// ---------------------------------------------------------------------------------------------

/// A Thread `prov-config` command.
#[derive(Clone, PartialEq, Eq)]
pub enum ConfigCommand {
    /// GetThreadStatus.
    GetStatus,
    /// SetThreadConfig with the dataset as received (not yet length-checked: the firmware answers
    /// `InvalidArgument` above [`MAX_DATASET_LEN`] bytes). Wiped on drop, redacted in `Debug`.
    SetConfig {
        /// Active Operational Dataset TLVs.
        dataset: Zeroizing<Vec<u8>>,
    },
    /// ApplyThreadConfig.
    Apply,
}

impl std::fmt::Debug for ConfigCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigCommand::GetStatus => f.write_str("GetStatus"),
            ConfigCommand::SetConfig { dataset } => {
                write!(f, "SetConfig {{ dataset: <{} bytes redacted> }}", dataset.len())
            }
            ConfigCommand::Apply => f.write_str("Apply"),
        }
    }
}

/// A device answer to a Thread `prov-config` command.
pub type ConfigResponse = super::ConfigResponse<ThreadStatus>;

/// A Thread `prov-scan` command.
pub type ScanCommand = super::ScanCommand<ScanParams>;

/// A device answer to a Thread `prov-scan` command (status in the envelope).
pub type ScanResponse = super::ScanResponse<ThreadNetwork>;

/// A Thread `prov-ctrl` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtrlCommand {
    /// Reset after a failed attach.
    Reset,
    /// Re-provision.
    Reprov,
}

/// Any `prov-config` command of a network_provisioning device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkConfigCommand {
    /// A Wi-Fi command (message types 0..=5).
    Wifi(wifi::ConfigCommand),
    /// A Thread command (message types 6..=11).
    Thread(ConfigCommand),
}

/// Any `prov-scan` command of a network_provisioning device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkScanCommand {
    /// A Wi-Fi scan command.
    Wifi(wifi::ScanCommand),
    /// A Thread scan command.
    Thread(ScanCommand),
}

/// Any `prov-ctrl` command of a network_provisioning device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkCtrlCommand {
    /// A Wi-Fi control command.
    Wifi(wifi::CtrlCommand),
    /// A Thread control command.
    Thread(CtrlCommand),
}

fn unknown_command(what: &str, msg: i32, name_of: impl Fn(i32) -> Option<&'static str>) -> EndpointError {
    EndpointError::UnexpectedMessage { expected: format!("a {what} command"), got: describe_msg(msg, name_of) }
}

/// Decodes a Thread `prov-config` request: dispatch by message type; SetThreadConfig requires
/// its member, the data-less commands ignore it. Wi-Fi or unknown types are an error (see
/// [`decode_network_config_request`] for a device that serves both).
pub fn decode_config_request(bytes: &[u8]) -> Result<ConfigCommand, EndpointError> {
    let mut p: pb::NetworkConfigPayload = decode("NetworkConfigPayload", bytes)?;
    match pb::NetworkConfigMsgType::try_from(p.msg) {
        Ok(pb::NetworkConfigMsgType::TypeCmdGetThreadStatus) => Ok(ConfigCommand::GetStatus),
        Ok(pb::NetworkConfigMsgType::TypeCmdApplyThreadConfig) => Ok(ConfigCommand::Apply),
        Ok(pb::NetworkConfigMsgType::TypeCmdSetThreadConfig) => match p.payload.take() {
            Some(CfgPayload::CmdSetThreadConfig(mut c)) => {
                Ok(ConfigCommand::SetConfig { dataset: Zeroizing::new(std::mem::take(&mut c.dataset)) })
            }
            other => Err(unexpected_member("cmd_set_thread_config", cfg_member(&other))),
        },
        _ => Err(unknown_command("Thread prov-config", p.msg, cfg_msg_name)),
    }
}

/// Encodes a Thread `prov-config` answer as the firmware does (e.g. `08 07 8a 01 02 10 01` for
/// Attaching, `08 09 9a 01 00` for a successful SetThreadConfig).
pub fn encode_config_response(response: &ConfigResponse) -> Vec<u8> {
    match response {
        ConfigResponse::Status(s) => encode_get_status_response(s),
        ConfigResponse::StatusError(code) => encode_get_status_error_response(*code),
        ConfigResponse::SetConfig(code) => encode_set_config_response(*code),
        ConfigResponse::Apply(code) => encode_apply_config_response(*code),
    }
}

/// GetThreadStatus answer with `Success` and this state.
pub fn encode_get_status_response(status: &ThreadStatus) -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeRespGetThreadStatus,
        CfgPayload::RespGetThreadStatus(resp_from_status(status)),
    )
}

/// GetThreadStatus answer with a failure status and no state (`08 07 8a 01 02 08 04` for the
/// InvalidArgument of a Wi-Fi-only build).
pub fn encode_get_status_error_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeRespGetThreadStatus,
        CfgPayload::RespGetThreadStatus(pb::RespGetThreadStatus {
            status: status as i32,
            thread_state: 0,
            state: None,
        }),
    )
}

/// SetThreadConfig answer (`08 09 9a 01 00` for Success).
pub fn encode_set_config_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeRespSetThreadConfig,
        CfgPayload::RespSetThreadConfig(pb::RespSetThreadConfig { status: status as i32 }),
    )
}

/// ApplyThreadConfig answer (`08 0b aa 01 00` for Success).
pub fn encode_apply_config_response(status: Status) -> Vec<u8> {
    encode_cfg(
        pb::NetworkConfigMsgType::TypeRespApplyThreadConfig,
        CfgPayload::RespApplyThreadConfig(pb::RespApplyThreadConfig { status: status as i32 }),
    )
}

/// Decodes a Thread `prov-scan` request: ScanStatus needs no member, ScanStart and ScanResult
/// require theirs.
pub fn decode_scan_request(bytes: &[u8]) -> Result<ScanCommand, EndpointError> {
    let p: pb::NetworkScanPayload = decode("NetworkScanPayload", bytes)?;
    match pb::NetworkScanMsgType::try_from(p.msg) {
        Ok(pb::NetworkScanMsgType::TypeCmdScanThreadStatus) => Ok(ScanCommand::Status),
        Ok(pb::NetworkScanMsgType::TypeCmdScanThreadStart) => match p.payload {
            Some(ScanPayload::CmdScanThreadStart(c)) => {
                Ok(ScanCommand::Start(ScanParams { blocking: c.blocking, channel_mask: c.channel_mask }))
            }
            other => Err(unexpected_member("cmd_scan_thread_start", scan_member(&other))),
        },
        Ok(pb::NetworkScanMsgType::TypeCmdScanThreadResult) => match p.payload {
            Some(ScanPayload::CmdScanThreadResult(c)) => {
                Ok(ScanCommand::Result { start: c.start_index, count: c.count })
            }
            other => Err(unexpected_member("cmd_scan_thread_result", scan_member(&other))),
        },
        _ => Err(unknown_command("Thread prov-scan", p.msg, scan_msg_name)),
    }
}

/// Encodes a Thread `prov-scan` answer with `status` in the envelope.
pub fn encode_scan_response(response: &ScanResponse, status: Status) -> Vec<u8> {
    use pb::NetworkScanMsgType as T;
    match response {
        ScanResponse::Start => encode_scan(
            T::TypeRespScanThreadStart,
            status,
            ScanPayload::RespScanThreadStart(pb::RespScanThreadStart {}),
        ),
        ScanResponse::Status(s) => encode_scan(
            T::TypeRespScanThreadStatus,
            status,
            ScanPayload::RespScanThreadStatus(pb::RespScanThreadStatus {
                scan_finished: s.finished,
                result_count: s.count,
            }),
        ),
        ScanResponse::Result(entries) => encode_scan_result(entries, status),
    }
}

fn encode_scan_result(entries: &[ThreadNetwork], status: Status) -> Vec<u8> {
    encode_scan(
        pb::NetworkScanMsgType::TypeRespScanThreadResult,
        status,
        ScanPayload::RespScanThreadResult(pb::RespScanThreadResult {
            entries: entries.iter().map(Into::into).collect(),
        }),
    )
}

/// Thread ScanStart answer with this envelope status (`08 07 8a 01 00` for Success).
pub fn encode_scan_start_response(status: Status) -> Vec<u8> {
    encode_scan_response(&ScanResponse::Start, status)
}

/// Thread ScanStatus answer with `Success`.
pub fn encode_scan_status_response(finished: bool, count: u32) -> Vec<u8> {
    encode_scan_response(&ScanResponse::Status(ScanStatus { finished, count }), Status::Success)
}

/// Thread ScanResult answer with `Success` and these entries.
pub fn encode_scan_result_response(entries: &[ThreadNetwork]) -> Vec<u8> {
    encode_scan_result(entries, Status::Success)
}

/// Decodes a Thread `prov-ctrl` request (message type alone decides).
pub fn decode_ctrl_request(bytes: &[u8]) -> Result<CtrlCommand, EndpointError> {
    let p: pb::NetworkCtrlPayload = decode("NetworkCtrlPayload", bytes)?;
    match pb::NetworkCtrlMsgType::try_from(p.msg) {
        Ok(pb::NetworkCtrlMsgType::TypeCmdCtrlThreadReset) => Ok(CtrlCommand::Reset),
        Ok(pb::NetworkCtrlMsgType::TypeCmdCtrlThreadReprov) => Ok(CtrlCommand::Reprov),
        _ => Err(unknown_command("Thread prov-ctrl", p.msg, ctrl_msg_name)),
    }
}

/// Encodes the answer to a Thread control command (`08 06 82 01 00` for a successful Reset).
pub fn encode_ctrl_response(command: CtrlCommand, status: Status) -> Vec<u8> {
    use pb::NetworkCtrlMsgType as T;
    match command {
        CtrlCommand::Reset => encode_ctrl(
            T::TypeRespCtrlThreadReset,
            status,
            CtrlPayload::RespCtrlThreadReset(pb::RespCtrlThreadReset {}),
        ),
        CtrlCommand::Reprov => encode_ctrl(
            T::TypeRespCtrlThreadReprov,
            status,
            CtrlPayload::RespCtrlThreadReprov(pb::RespCtrlThreadReprov {}),
        ),
    }
}

/// Message type of an envelope, decoded with the network_provisioning schema.
fn network_msg<M: prost::Message + Default>(
    what: &str,
    bytes: &[u8],
    msg: impl Fn(&M) -> i32,
) -> Result<i32, EndpointError> {
    decode::<M>(what, bytes).map(|m| msg(&m))
}

/// Whether a `prov-config` request carries a Thread message type (6..=11) when read with the
/// network_provisioning schema. Undecodable bytes give `false`.
pub fn is_thread_config_request(bytes: &[u8]) -> bool {
    network_msg::<pb::NetworkConfigPayload>("NetworkConfigPayload", bytes, |m| m.msg)
        .is_ok_and(|msg| (6..=11).contains(&msg))
}

/// Whether a `prov-scan` request carries a Thread message type (6..=11). Undecodable bytes give
/// `false`.
pub fn is_thread_scan_request(bytes: &[u8]) -> bool {
    network_msg::<pb::NetworkScanPayload>("NetworkScanPayload", bytes, |m| m.msg)
        .is_ok_and(|msg| (6..=11).contains(&msg))
}

/// Whether a `prov-ctrl` request carries a Thread message type (5..=8). Undecodable bytes give
/// `false`.
pub fn is_thread_ctrl_request(bytes: &[u8]) -> bool {
    network_msg::<pb::NetworkCtrlPayload>("NetworkCtrlPayload", bytes, |m| m.msg)
        .is_ok_and(|msg| (5..=8).contains(&msg))
}

/// Decodes any `prov-config` request of a network_provisioning device: types 0..=5 go to the
/// Wi-Fi decoder (wire-identical), 6..=11 to the Thread one.
pub fn decode_network_config_request(bytes: &[u8]) -> Result<NetworkConfigCommand, EndpointError> {
    let msg = network_msg::<pb::NetworkConfigPayload>("NetworkConfigPayload", bytes, |m| m.msg)?;
    if (0..=5).contains(&msg) {
        wifi::decode_config_request(bytes).map(NetworkConfigCommand::Wifi)
    } else {
        decode_config_request(bytes).map(NetworkConfigCommand::Thread)
    }
}

/// Decodes any `prov-scan` request of a network_provisioning device.
pub fn decode_network_scan_request(bytes: &[u8]) -> Result<NetworkScanCommand, EndpointError> {
    let msg = network_msg::<pb::NetworkScanPayload>("NetworkScanPayload", bytes, |m| m.msg)?;
    if (0..=5).contains(&msg) {
        wifi::decode_scan_request(bytes).map(NetworkScanCommand::Wifi)
    } else {
        decode_scan_request(bytes).map(NetworkScanCommand::Thread)
    }
}

/// Decodes any `prov-ctrl` request of a network_provisioning device.
pub fn decode_network_ctrl_request(bytes: &[u8]) -> Result<NetworkCtrlCommand, EndpointError> {
    let msg = network_msg::<pb::NetworkCtrlPayload>("NetworkCtrlPayload", bytes, |m| m.msg)?;
    if (0..=4).contains(&msg) {
        wifi::decode_ctrl_request(bytes).map(NetworkCtrlCommand::Wifi)
    } else {
        decode_ctrl_request(bytes).map(NetworkCtrlCommand::Thread)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const DATASET: &str = "0e080000000000010000000300000f35060004001fffe00208dead00beef00cafe0708fddead00beef0000051000112233445566778899aabbccddeeff030f4f70656e5468726561642d666163650102face0410c23a76e98f1a6483639b1ac1271e2e270c0402a0f7f8";

    #[test]
    fn request_bytes() {
        assert_eq!(get_status_request(), h("0806820100"));
        assert_eq!(apply_config_request(), h("080aa20100"));
        assert_eq!(scan_start_request(true, 0), h("08068201020801"));
        assert_eq!(scan_start_request(true, 0x07ff_f800), h("080682010708011080f0ff3f"));
        assert_eq!(scan_status_request(), h("0808920100"));
        assert_eq!(scan_result_request(0, 3), h("080aa201021003"));
        assert_eq!(ctrl_reset_request(), h("08057a00"));
        assert_eq!(ctrl_reprov_request(), h("08078a0100"));
        let req = set_config_request(&h(DATASET)).unwrap();
        assert_eq!(req.as_slice(), h(&format!("080892016c0a6a{DATASET}")));
    }

    #[test]
    fn dataset_limits() {
        assert!(set_config_request(&[0u8; 254]).is_ok());
        assert!(matches!(set_config_request(&[0u8; 255]), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(set_config_request(&[]), Err(EndpointError::InvalidArgument(_))));
        // A 254-byte dataset has a two-byte length.
        let req = set_config_request(&[0x11; 254]).unwrap();
        match decode_config_request(&req).unwrap() {
            ConfigCommand::SetConfig { dataset } => {
                assert_eq!(dataset.as_slice(), [0x11; 254])
            }
            other => panic!("{other:?}"),
        }
        let cmd = decode_config_request(&set_config_request(&h(DATASET)).unwrap()).unwrap();
        let dbg = format!("{cmd:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("00112233"), "{dbg}");
    }

    fn tlvs(entries: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, v) in entries {
            out.push(*t);
            out.push(v.len() as u8);
            out.extend_from_slice(v);
        }
        out
    }

    const KEY: [u8; 16] = [0xc4; 16];

    fn minimal() -> Vec<(u8, &'static [u8])> {
        vec![
            (TLV_CHANNEL, &[0, 0, 15]),
            (TLV_PAN_ID, &[0x12, 0x34]),
            (TLV_EXT_PAN_ID, &[0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0xca, 0xfe]),
            (TLV_NETWORK_NAME, b"OpenThread-Home"),
            (TLV_NETWORK_KEY, &KEY),
            (TLV_MESH_LOCAL_PREFIX, &[0xfd, 0xde, 0xad, 0x00, 0xbe, 0xef, 0, 0]),
        ]
    }

    #[test]
    fn datasets_are_validated_before_sending() {
        assert_eq!(validate_dataset(&h(DATASET)), Ok(()));
        assert_eq!(validate_dataset(&tlvs(&minimal())), Ok(()));
        assert_eq!(validate_dataset(&[]), Err(DatasetError::Empty));
        assert_eq!(validate_dataset(&[0u8; 255]), Err(DatasetError::TooLong { len: 255 }));
        // Truncated: a value cut short, a lone type byte, a length past the end.
        let full = h(DATASET);
        assert!(matches!(validate_dataset(&full[..full.len() - 1]), Err(DatasetError::Truncated { .. })));
        let mut lone = tlvs(&minimal());
        lone.push(0x0e);
        assert_eq!(validate_dataset(&lone), Err(DatasetError::Truncated { tlv_type: 0x0e, offset: lone.len() - 1 }));
        assert_eq!(validate_dataset(&[5, 200, 1, 2]), Err(DatasetError::Truncated { tlv_type: 5, offset: 0 }));
        // Every mandatory TLV is required.
        for (i, (t, _)) in minimal().iter().enumerate() {
            let mut entries = minimal();
            entries.remove(i);
            let err = validate_dataset(&tlvs(&entries)).unwrap_err();
            assert!(matches!(err, DatasetError::Missing { tlv_type, .. } if tlv_type == *t), "{err:?}");
        }
        // Fixed lengths (esp_prov's one-byte PAN id and channel are refused, docs/protocol.md 12.1).
        let bad: [(u8, &[u8]); 6] = [
            (TLV_CHANNEL, &[15]),
            (TLV_PAN_ID, &[0x34]),
            (TLV_EXT_PAN_ID, &[1; 7]),
            (TLV_NETWORK_NAME, b""),
            (TLV_NETWORK_NAME, b"seventeen-bytes!!"),
            (TLV_NETWORK_KEY, &[0xc4; 15]),
        ];
        for (t, v) in bad {
            let entries: Vec<_> =
                minimal().into_iter().map(|(tt, vv)| if tt == t { (tt, v) } else { (tt, vv) }).collect();
            let err = validate_dataset(&tlvs(&entries)).unwrap_err();
            assert!(matches!(err, DatasetError::BadLength { tlv_type, .. } if tlv_type == t), "{err:?}");
        }
        let mut twice = minimal();
        twice.push((TLV_PAN_ID, &[0xbe, 0xef]));
        assert_eq!(validate_dataset(&tlvs(&twice)), Err(DatasetError::Duplicate { tlv_type: TLV_PAN_ID }));
        // Unknown and optional TLVs pass through.
        let mut extra = minimal();
        extra.push((0x4a, &[1, 2, 3]));
        assert_eq!(validate_dataset(&tlvs(&extra)), Ok(()));
        // No message carries a value of the dataset (the network key above all).
        let mut short_key = minimal();
        short_key[4] = (TLV_NETWORK_KEY, &KEY[..15]);
        let msg = validate_dataset(&tlvs(&short_key)).unwrap_err().to_string();
        assert!(msg.contains("network key") && !msg.to_lowercase().contains("c4c4"), "{msg}");
    }

    #[test]
    fn status_round_trips() {
        let cases = vec![
            (ThreadStatus::Attaching, "08078a01021001"),
            (
                ThreadStatus::Attached {
                    pan_id: 0xface,
                    ext_pan_id: h("dead00beef00cafe"),
                    channel: 15,
                    name: "OpenThread-face".into(),
                },
                "08078a01235a2108cef5031208dead00beef00cafe180f220f4f70656e5468726561642d66616365",
            ),
            (ThreadStatus::Failed { reason: ThreadFailReason::DatasetInvalid }, "08078a010410035000"),
            (ThreadStatus::Failed { reason: ThreadFailReason::NetworkNotFound }, "08078a010410035001"),
        ];
        for (status, hex) in cases {
            let bytes = encode_config_response(&ConfigResponse::Status(status.clone()));
            assert_eq!(bytes, h(hex), "{status:?}");
            assert_eq!(parse_get_status_response(&bytes).unwrap(), status);
        }
        let err = encode_config_response(&ConfigResponse::StatusError(Status::InvalidArgument));
        assert_eq!(err, h("08078a01020804"));
        assert_eq!(parse_get_status_response(&err), Err(EndpointError::device_status(4)));
        assert_eq!(
            parse_get_status_response(&encode_config_response(&ConfigResponse::Status(ThreadStatus::Detached)))
                .unwrap(),
            ThreadStatus::Detached
        );
        assert_eq!(encode_config_response(&ConfigResponse::SetConfig(Status::Success)), h("08099a0100"));
        assert_eq!(encode_config_response(&ConfigResponse::SetConfig(Status::InvalidArgument)), h("08099a01020804"));
        assert_eq!(encode_config_response(&ConfigResponse::Apply(Status::Success)), h("080baa0100"));
        assert_eq!(parse_set_config_response(&h("08099a0100")), Ok(()));
        assert_eq!(parse_set_config_response(&h("08099a01020804")), Err(EndpointError::device_status(4)));
        assert_eq!(parse_apply_config_response(&h("080baa0100")), Ok(()));
        // A Wi-Fi answer is not a Thread answer.
        assert!(matches!(parse_get_status_response(&h("08015a021001")), Err(EndpointError::UnexpectedMessage { .. })));
    }

    #[test]
    fn scan_round_trips() {
        let page = h(
            "080baa0192010a3908cef503100f18d3ffffffffffffffff0120c8012a081a2b3c4d5e6f7081320f4f70656e5468726561642d666163653a08dead00beef00cafe0a2e08b424101418b0ffffffffffffffff01205a2a0892e3f4a5b6c7d8e932064d79486f6d653a0800112233445566770a2508cdd702101a18a1ffffffffffffffff012a0802000000000000013a080000000000000000",
        );
        let nets = parse_scan_result_response(&page).unwrap();
        assert_eq!(nets.len(), 3);
        assert_eq!(nets[0].pan_id, 0xface);
        assert_eq!(nets[0].rssi, -45);
        assert_eq!(nets[0].lqi, 200);
        assert_eq!(nets[0].network_name, "OpenThread-face");
        assert_eq!(nets[2].network_name, "");
        assert_eq!(nets[2].ext_pan_id, [0u8; 8]);
        assert_eq!(encode_scan_response(&ScanResponse::Result(nets), Status::Success), page);
        assert_eq!(encode_scan_response(&ScanResponse::Start, Status::Success), h("08078a0100"));
        assert_eq!(encode_scan_response(&ScanResponse::Start, Status::InvalidArgument), h("080710048a0100"));
        let st = ScanStatus { finished: true, count: 3 };
        assert_eq!(encode_scan_response(&ScanResponse::Status(st), Status::Success), h("08099a010408011003"));
        assert_eq!(parse_scan_status_response(&h("08099a010408011003")), Ok(st));
        assert_eq!(parse_scan_start_response(&h("08078a0100")), Ok(()));
        assert_eq!(parse_scan_start_response(&h("080710048a0100")), Err(EndpointError::device_status(4)));
        assert_eq!(
            decode_scan_request(&h("080682010708011080f0ff3f")),
            Ok(ScanCommand::Start(ScanParams { blocking: true, channel_mask: 0x07ff_f800 }))
        );
        assert_eq!(decode_scan_request(&h("0808")), Ok(ScanCommand::Status));
        assert_eq!(decode_scan_request(&h("080aa201021003")), Ok(ScanCommand::Result { start: 0, count: 3 }));
        assert!(decode_scan_request(&h("0806")).is_err());
        assert!(decode_scan_request(&h("080a")).is_err());
    }

    #[test]
    fn ctrl_round_trips() {
        assert_eq!(decode_ctrl_request(&ctrl_reset_request()), Ok(CtrlCommand::Reset));
        assert_eq!(decode_ctrl_request(&ctrl_reprov_request()), Ok(CtrlCommand::Reprov));
        assert_eq!(decode_ctrl_request(&h("0805")), Ok(CtrlCommand::Reset));
        assert!(decode_ctrl_request(&h("0801")).is_err());
        assert_eq!(encode_ctrl_response(CtrlCommand::Reset, Status::Success), h("0806820100"));
        assert_eq!(encode_ctrl_response(CtrlCommand::Reprov, Status::Success), h("0808920100"));
        assert_eq!(parse_ctrl_reset_response(&h("0806820100")), Ok(()));
        assert_eq!(parse_ctrl_reprov_response(&h("0808920100")), Ok(()));
        assert_eq!(
            parse_ctrl_reset_response(&encode_ctrl_response(CtrlCommand::Reset, Status::InternalError)),
            Err(EndpointError::device_status(5))
        );
        assert!(matches!(parse_ctrl_reset_response(&h("08026200")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(parse_ctrl_reset_response(&h("0806920100")), Err(EndpointError::UnexpectedMessage { .. })));
    }

    #[test]
    fn combined_network_dispatch() {
        assert_eq!(
            decode_network_config_request(&h("5200")),
            Ok(NetworkConfigCommand::Wifi(wifi::ConfigCommand::GetStatus))
        );
        assert_eq!(
            decode_network_config_request(&h("0806820100")),
            Ok(NetworkConfigCommand::Thread(ConfigCommand::GetStatus))
        );
        assert!(matches!(
            decode_network_config_request(&h(
                "080262240a0c526566506565722d486f6d65120a736563726574706173731a06246f28a1b2c32006"
            )),
            Ok(NetworkConfigCommand::Wifi(wifi::ConfigCommand::SetConfig { .. }))
        ));
        assert!(decode_network_config_request(&h("080c")).is_err());
        assert_eq!(
            decode_network_scan_request(&h("5206080118052078")),
            Ok(NetworkScanCommand::Wifi(wifi::ScanCommand::Start(wifi::ScanParams::softap())))
        );
        assert_eq!(decode_network_scan_request(&h("0808920100")), Ok(NetworkScanCommand::Thread(ScanCommand::Status)));
        assert_eq!(decode_network_ctrl_request(&h("0801")), Ok(NetworkCtrlCommand::Wifi(wifi::CtrlCommand::Reset)));
        assert_eq!(decode_network_ctrl_request(&h("08078a0100")), Ok(NetworkCtrlCommand::Thread(CtrlCommand::Reprov)));
        assert!(decode_network_ctrl_request(&[]).is_err());
        assert!(is_thread_config_request(&get_status_request()));
        assert!(!is_thread_config_request(&wifi::get_status_request()));
        assert!(!is_thread_config_request(&[0xff]));
        assert!(is_thread_scan_request(&scan_status_request()));
        assert!(!is_thread_scan_request(&wifi::scan_status_request()));
        assert!(is_thread_ctrl_request(&ctrl_reprov_request()));
        assert!(!is_thread_ctrl_request(&wifi::ctrl_reset_request()));
        assert_eq!(encode_scan_start_response(Status::Success), h("08078a0100"));
        assert_eq!(encode_scan_status_response(true, 3), h("08099a010408011003"));
        assert_eq!(encode_scan_result_response(&[]), h("080baa0100"));
        assert_eq!(encode_get_status_response(&ThreadStatus::Attaching), h("08078a01021001"));
        assert_eq!(encode_get_status_error_response(Status::InvalidArgument), h("08078a01020804"));
        assert_eq!(encode_set_config_response(Status::Success), h("08099a0100"));
        assert_eq!(encode_apply_config_response(Status::InternalError), h("080baa01020805"));
        assert!(decode_network_ctrl_request(&h("0809")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode_config_request(&bytes);
            let _ = decode_scan_request(&bytes);
            let _ = decode_ctrl_request(&bytes);
            let _ = decode_network_config_request(&bytes);
            let _ = decode_network_scan_request(&bytes);
            let _ = decode_network_ctrl_request(&bytes);
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
        fn scan_pages_round_trip(entries in proptest::collection::vec(
            (proptest::prelude::any::<u16>(), 11u32..=26, proptest::prelude::any::<i32>(), 0u32..=255, "[ -~]{0,16}"), 0..5)) {
            let nets: Vec<ThreadNetwork> = entries.into_iter().map(|(pan, channel, rssi, lqi, name)| ThreadNetwork {
                pan_id: u32::from(pan), channel, rssi, lqi, ext_addr: vec![1; 8], network_name: name, ext_pan_id: vec![2; 8],
            }).collect();
            let bytes = encode_scan_response(&ScanResponse::Result(nets.clone()), Status::Success);
            proptest::prop_assert_eq!(parse_scan_result_response(&bytes).unwrap(), nets);
        }
    }
}
