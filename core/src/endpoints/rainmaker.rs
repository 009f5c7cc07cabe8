//! ESP RainMaker endpoints (docs/protocol.md 3.7, 3.8, 8): user-node mapping on `cloud_user_assoc`,
//! challenge-response on `ch_resp` and assisted claiming on `rmaker_claim` — client request
//! builders and response parsers, and the device-side request decoders and response encoders used
//! by the simulator.
//!
//! Device answers are byte-identical to esp-rainmaker's handlers (docs/protocol.md 12.1): a successful
//! mapping is `08 01 5a …` (status 0 omitted), a mapping request without its member gets
//! `08 01 5a 02 08 01`, the disable command is answered `08 05`, a disabled `ch_resp` answers
//! `08 01 10 03` to anything, and every claiming answer carries a `Buf` (`12 00` when empty).
//! The legacy `custom_cloud_config.proto` messages are wire-identical to the mapping messages, so
//! these codecs serve both.

use rainmaker_prov_proto::{rainmaker as map_pb, rmaker_ch_resp as cr_pb, rmaker_claim as claim_pb};
use zeroize::{Zeroize, Zeroizing};

use cr_pb::r_maker_ch_resp_payload::Payload as CrPayload;
use map_pb::r_maker_config_payload::Payload as MapPayload;

use super::{EndpointError, bound, decode, describe_msg, encode_secret, expect_msg, unexpected_member};

/// The longest node id accepted from a device (RainMaker node ids have about 22 characters).
pub const MAX_NODE_ID_LEN: usize = 128;
/// The longest challenge signature accepted from a device (an RSA-4096 signature has 512 bytes;
/// an ECDSA P-256 one at most 72).
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// The largest claiming data (CSR) a device may announce.
pub const MAX_CLAIM_DATA_LEN: usize = 8 * 1024;

/// Endpoint of the traditional user-node mapping (docs/protocol.md 8.2).
pub const CLOUD_USER_ASSOC: &str = "cloud_user_assoc";
/// Endpoint of the challenge-response user-node mapping (docs/protocol.md 8.4).
pub const CH_RESP: &str = "ch_resp";
/// Endpoint of assisted claiming (docs/protocol.md 8.3).
pub const RMAKER_CLAIM: &str = "rmaker_claim";

/// Largest claiming payload the device accepts in one message (it answers `NoMemory` at 3072).
pub const MAX_CLAIM_CHUNK: usize = 3071;
/// Size of the CSR fragments the device returns, and the Verify chunk size Android uses.
pub const CLAIM_FRAGMENT_SIZE: usize = 200;

// ---------------------------------------------------------------------------------------------
// Status helpers
// ---------------------------------------------------------------------------------------------

fn status_error(code: i32, name: Option<&'static str>) -> EndpointError {
    EndpointError::DeviceStatus { code, name: name.unwrap_or("Unknown").to_owned() }
}

fn map_status_name(code: i32) -> Option<&'static str> {
    map_pb::RMakerConfigStatus::try_from(code).ok().map(|s| s.as_str_name())
}

fn map_msg_name(msg: i32) -> Option<&'static str> {
    map_pb::RMakerConfigMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn cr_status_name(code: i32) -> Option<&'static str> {
    cr_pb::RMakerChRespStatus::try_from(code).ok().map(|s| s.as_str_name())
}

fn cr_msg_name(msg: i32) -> Option<&'static str> {
    cr_pb::RMakerChRespMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn claim_status_name(code: i32) -> Option<&'static str> {
    claim_pb::RMakerClaimStatus::try_from(code).ok().map(|s| s.as_str_name())
}

fn claim_msg_name(msg: i32) -> Option<&'static str> {
    claim_pb::RMakerClaimMsgType::try_from(msg).ok().map(|m| m.as_str_name())
}

fn map_member(p: &Option<MapPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        MapPayload::CmdSetUserMapping(_) => "cmd_set_user_mapping",
        MapPayload::RespSetUserMapping(_) => "resp_set_user_mapping",
    })
}

fn cr_member(p: &Option<CrPayload>) -> Option<&'static str> {
    p.as_ref().map(|p| match p {
        CrPayload::CmdChallengeResponsePayload(_) => "cmdChallengeResponsePayload",
        CrPayload::RespChallengeResponsePayload(_) => "respChallengeResponsePayload",
        CrPayload::CmdGetNodeIdPayload(_) => "cmdGetNodeIDPayload",
        CrPayload::RespGetNodeIdPayload(_) => "respGetNodeIDPayload",
        CrPayload::CmdDisableChalRespPayload(_) => "cmdDisableChalRespPayload",
        CrPayload::RespDisableChalRespPayload(_) => "respDisableChalRespPayload",
    })
}

// ---------------------------------------------------------------------------------------------
// cloud_user_assoc: client side
// ---------------------------------------------------------------------------------------------

/// The mapping request (`52 …`): `TypeCmdSetUserMapping` (0, implicit) with the user id and the
/// secret key. Both must be non-empty. The returned bytes hold the secret key and are wiped on
/// drop.
pub fn set_user_mapping_request(user_id: &str, secret_key: &str) -> Result<Zeroizing<Vec<u8>>, EndpointError> {
    if user_id.is_empty() {
        return Err(EndpointError::InvalidArgument("the RainMaker user id is empty".into()));
    }
    if secret_key.is_empty() {
        return Err(EndpointError::InvalidArgument("the user-node mapping secret key is empty".into()));
    }
    let mut msg = map_pb::RMakerConfigPayload {
        msg: map_pb::RMakerConfigMsgType::TypeCmdSetUserMapping as i32,
        payload: Some(MapPayload::CmdSetUserMapping(map_pb::CmdSetUserMapping {
            user_id: user_id.to_owned(),
            secret_key: secret_key.to_owned(),
        })),
    };
    let out = encode_secret(&msg);
    if let Some(MapPayload::CmdSetUserMapping(c)) = &mut msg.payload {
        c.secret_key.zeroize();
    }
    out
}

/// Parses the mapping answer and returns the node id. A status other than `Success` is an
/// [`EndpointError::DeviceStatus`] named after `RMakerConfigStatus`; a success without a node id
/// is an [`EndpointError::UnexpectedMessage`].
pub fn parse_set_user_mapping_response(bytes: &[u8]) -> Result<String, EndpointError> {
    let p: map_pb::RMakerConfigPayload = decode("RMakerConfigPayload", bytes)?;
    expect_msg(p.msg, map_pb::RMakerConfigMsgType::TypeRespSetUserMapping as i32, map_msg_name)?;
    match p.payload {
        Some(MapPayload::RespSetUserMapping(r)) => {
            if r.status != map_pb::RMakerConfigStatus::Success as i32 {
                return Err(status_error(r.status, map_status_name(r.status)));
            }
            if r.node_id.is_empty() {
                return Err(EndpointError::UnexpectedMessage {
                    expected: "a node id".into(),
                    got: "an empty NodeId".into(),
                });
            }
            bound("NodeId", r.node_id.len(), MAX_NODE_ID_LEN)?;
            Ok(r.node_id)
        }
        other => Err(unexpected_member("resp_set_user_mapping", map_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// cloud_user_assoc: device side
// ---------------------------------------------------------------------------------------------

/// The mapping a device received. `Debug` redacts the secret key, which is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct UserMapping {
    /// The RainMaker user id.
    pub user_id: String,
    /// The secret key the cloud will match against the user's request.
    pub secret_key: Zeroizing<String>,
}

impl std::fmt::Debug for UserMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMapping")
            .field("user_id", &self.user_id)
            .field("secret_key", &format_args!("<{} bytes redacted>", self.secret_key.len()))
            .finish()
    }
}

/// A `cloud_user_assoc` request as the device dispatches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMappingCommand {
    /// `TypeCmdSetUserMapping` with its member.
    Set(UserMapping),
    /// `TypeCmdSetUserMapping` without the `cmd_set_user_mapping` member: the device answers
    /// `InvalidParam` ([`encode_set_user_mapping_error`]).
    MissingMember,
    /// Any other message type: the device answers with an empty body.
    Other(i32),
}

/// Decodes a `cloud_user_assoc` request like the firmware. An empty or undecodable body is an
/// error (the device closes the connection without a response).
pub fn decode_user_mapping_request(bytes: &[u8]) -> Result<UserMappingCommand, EndpointError> {
    if bytes.is_empty() {
        return Err(EndpointError::Malformed("RMakerConfigPayload: empty request".into()));
    }
    let mut p: map_pb::RMakerConfigPayload = decode("RMakerConfigPayload", bytes)?;
    if p.msg != map_pb::RMakerConfigMsgType::TypeCmdSetUserMapping as i32 {
        return Ok(UserMappingCommand::Other(p.msg));
    }
    Ok(match p.payload.take() {
        Some(MapPayload::CmdSetUserMapping(mut c)) => UserMappingCommand::Set(UserMapping {
            user_id: std::mem::take(&mut c.user_id),
            secret_key: Zeroizing::new(std::mem::take(&mut c.secret_key)),
        }),
        _ => UserMappingCommand::MissingMember,
    })
}

fn encode_map_response(status: map_pb::RMakerConfigStatus, node_id: &str) -> Vec<u8> {
    prost::Message::encode_to_vec(&map_pb::RMakerConfigPayload {
        msg: map_pb::RMakerConfigMsgType::TypeRespSetUserMapping as i32,
        payload: Some(MapPayload::RespSetUserMapping(map_pb::RespSetUserMapping {
            status: status as i32,
            node_id: node_id.to_owned(),
        })),
    })
}

/// Successful mapping answer carrying the node id (`08 01 5a … 12 <len> <node id>`).
pub fn encode_set_user_mapping_response(node_id: &str) -> Vec<u8> {
    encode_map_response(map_pb::RMakerConfigStatus::Success, node_id)
}

/// Failed mapping answer without a node id (`08 01 5a 02 08 01` for `InvalidParam`).
pub fn encode_set_user_mapping_error(status: map_pb::RMakerConfigStatus) -> Vec<u8> {
    encode_map_response(status, "")
}

// ---------------------------------------------------------------------------------------------
// ch_resp: client side
// ---------------------------------------------------------------------------------------------

/// What the device answered to a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeResponse {
    /// The signature over SHA-256(challenge): DER ECDSA (70–72 bytes for P-256) or RSA-PSS.
    pub signature: Vec<u8>,
    /// The node id.
    pub node_id: String,
}

impl ChallengeResponse {
    /// The signature as the cloud wants it: lowercase hex.
    pub fn signature_hex(&self) -> String {
        self.signature.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The `RMakerChRespStatus` value a device uses once challenge-response was disabled.
pub const CH_RESP_STATUS_DISABLED: i32 = cr_pb::RMakerChRespStatus::Disabled as i32;

/// Challenge request (`52 <len+2> 0a <len> <challenge>`): the challenge string's bytes. An empty
/// challenge is refused (the device would close the connection).
pub fn challenge_request(challenge: &[u8]) -> Result<Vec<u8>, EndpointError> {
    if challenge.is_empty() {
        return Err(EndpointError::InvalidArgument("the challenge is empty".into()));
    }
    Ok(prost::Message::encode_to_vec(&cr_pb::RMakerChRespPayload {
        msg: cr_pb::RMakerChRespMsgType::TypeCmdChallengeResponse as i32,
        status: 0,
        payload: Some(CrPayload::CmdChallengeResponsePayload(cr_pb::CmdCrPayload { payload: challenge.to_vec() })),
    }))
}

/// Disable request as the RainMaker CLI sends it: `08 04`.
pub fn disable_request() -> Vec<u8> {
    prost::Message::encode_to_vec(&cr_pb::RMakerChRespPayload {
        msg: cr_pb::RMakerChRespMsgType::TypeCmdDisableChalResp as i32,
        status: 0,
        payload: None,
    })
}

fn check_cr_status(code: i32) -> Result<(), EndpointError> {
    if code == cr_pb::RMakerChRespStatus::Success as i32 {
        Ok(())
    } else {
        Err(status_error(code, cr_status_name(code)))
    }
}

/// Parses the challenge answer. `Disabled` is an [`EndpointError::DeviceStatus`] with code
/// [`CH_RESP_STATUS_DISABLED`]; an empty signature or node id is an
/// [`EndpointError::UnexpectedMessage`].
pub fn parse_challenge_response(bytes: &[u8]) -> Result<ChallengeResponse, EndpointError> {
    let p: cr_pb::RMakerChRespPayload = decode("RMakerChRespPayload", bytes)?;
    expect_msg(p.msg, cr_pb::RMakerChRespMsgType::TypeRespChallengeResponse as i32, cr_msg_name)?;
    check_cr_status(p.status)?;
    match p.payload {
        Some(CrPayload::RespChallengeResponsePayload(r)) => {
            if r.payload.is_empty() || r.node_id.is_empty() {
                return Err(EndpointError::UnexpectedMessage {
                    expected: "a signature and a node id".into(),
                    got: format!("{}-byte signature, {}-byte node id", r.payload.len(), r.node_id.len()),
                });
            }
            bound("payload", r.payload.len(), MAX_SIGNATURE_LEN)?;
            bound("node_id", r.node_id.len(), MAX_NODE_ID_LEN)?;
            Ok(ChallengeResponse { signature: r.payload, node_id: r.node_id })
        }
        other => Err(unexpected_member("respChallengeResponsePayload", cr_member(&other))),
    }
}

/// Parses the disable answer (`08 05`; the empty member may be present).
pub fn parse_disable_response(bytes: &[u8]) -> Result<(), EndpointError> {
    let p: cr_pb::RMakerChRespPayload = decode("RMakerChRespPayload", bytes)?;
    expect_msg(p.msg, cr_pb::RMakerChRespMsgType::TypeRespDisableChalResp as i32, cr_msg_name)?;
    check_cr_status(p.status)?;
    match p.payload {
        None | Some(CrPayload::RespDisableChalRespPayload(_)) => Ok(()),
        other => Err(unexpected_member("respDisableChalRespPayload", cr_member(&other))),
    }
}

// ---------------------------------------------------------------------------------------------
// ch_resp: device side
// ---------------------------------------------------------------------------------------------

/// A `ch_resp` request the device implements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChRespCommand {
    /// Sign this (non-empty) challenge.
    Challenge(Vec<u8>),
    /// Disable challenge-response from now on.
    Disable,
}

/// Decodes a `ch_resp` request like the firmware (check "disabled" first: a disabled device
/// answers [`encode_disabled_response`] to anything). An empty challenge, `TypeCmdGetNodeID`
/// (defined but not implemented) and any other type are errors: the device closes the
/// connection without a response.
pub fn decode_ch_resp_request(bytes: &[u8]) -> Result<ChRespCommand, EndpointError> {
    if bytes.is_empty() {
        return Err(EndpointError::Malformed("RMakerChRespPayload: empty request".into()));
    }
    let p: cr_pb::RMakerChRespPayload = decode("RMakerChRespPayload", bytes)?;
    match cr_pb::RMakerChRespMsgType::try_from(p.msg) {
        Ok(cr_pb::RMakerChRespMsgType::TypeCmdChallengeResponse) => match p.payload {
            Some(CrPayload::CmdChallengeResponsePayload(c)) if !c.payload.is_empty() => {
                Ok(ChRespCommand::Challenge(c.payload))
            }
            Some(CrPayload::CmdChallengeResponsePayload(_)) => {
                Err(EndpointError::InvalidArgument("empty challenge".into()))
            }
            other => Err(unexpected_member("cmdChallengeResponsePayload", cr_member(&other))),
        },
        Ok(cr_pb::RMakerChRespMsgType::TypeCmdDisableChalResp) => Ok(ChRespCommand::Disable),
        _ => Err(EndpointError::UnexpectedMessage {
            expected: "a ch_resp command the device implements".into(),
            got: describe_msg(p.msg, cr_msg_name),
        }),
    }
}

/// Challenge answer with `Success`, the signature and the node id.
pub fn encode_challenge_response(signature: &[u8], node_id: &str) -> Vec<u8> {
    prost::Message::encode_to_vec(&cr_pb::RMakerChRespPayload {
        msg: cr_pb::RMakerChRespMsgType::TypeRespChallengeResponse as i32,
        status: 0,
        payload: Some(CrPayload::RespChallengeResponsePayload(cr_pb::RespCrPayload {
            payload: signature.to_vec(),
            node_id: node_id.to_owned(),
        })),
    })
}

/// The answer of a disabled device to any request: `08 01 10 03`.
pub fn encode_disabled_response() -> Vec<u8> {
    prost::Message::encode_to_vec(&cr_pb::RMakerChRespPayload {
        msg: cr_pb::RMakerChRespMsgType::TypeRespChallengeResponse as i32,
        status: CH_RESP_STATUS_DISABLED,
        payload: None,
    })
}

/// Disable answer without a member: `08 05` for `Success`, `08 05 10 01` for `Fail`.
pub fn encode_disable_response(status: cr_pb::RMakerChRespStatus) -> Vec<u8> {
    prost::Message::encode_to_vec(&cr_pb::RMakerChRespPayload {
        msg: cr_pb::RMakerChRespMsgType::TypeRespDisableChalResp as i32,
        status: status as i32,
        payload: None,
    })
}

// ---------------------------------------------------------------------------------------------
// rmaker_claim: both sides
// ---------------------------------------------------------------------------------------------

/// One claiming fragment (`PayloadBuf`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimFragment {
    /// Position of `payload` in the whole message.
    pub offset: u32,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Length of the whole message.
    pub total_len: u32,
}

impl From<claim_pb::PayloadBuf> for ClaimFragment {
    fn from(b: claim_pb::PayloadBuf) -> Self {
        ClaimFragment { offset: b.offset, payload: b.payload, total_len: b.total_len }
    }
}

impl From<&ClaimFragment> for claim_pb::PayloadBuf {
    fn from(f: &ClaimFragment) -> Self {
        claim_pb::PayloadBuf { offset: f.offset, payload: f.payload.clone(), total_len: f.total_len }
    }
}

/// The four claiming commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStep {
    /// Start: the device returns its MAC address and platform.
    Start,
    /// Init: the cloud's claim/initiate answer in, the CSR fragments out.
    Init,
    /// Verify: the cloud's claim/verify answer (the certificate) in, chunk by chunk.
    Verify,
    /// Abort: back to "key generated".
    Abort,
}

impl ClaimStep {
    fn cmd(self) -> claim_pb::RMakerClaimMsgType {
        use claim_pb::RMakerClaimMsgType as T;
        match self {
            ClaimStep::Start => T::TypeCmdClaimStart,
            ClaimStep::Init => T::TypeCmdClaimInit,
            ClaimStep::Verify => T::TypeCmdClaimVerify,
            ClaimStep::Abort => T::TypeCmdClaimAbort,
        }
    }

    fn resp(self) -> claim_pb::RMakerClaimMsgType {
        use claim_pb::RMakerClaimMsgType as T;
        match self {
            ClaimStep::Start => T::TypeRespClaimStart,
            ClaimStep::Init => T::TypeRespClaimInit,
            ClaimStep::Verify => T::TypeRespClaimVerify,
            ClaimStep::Abort => T::TypeRespClaimAbort,
        }
    }
}

fn claim_request(step: ClaimStep, buf: claim_pb::PayloadBuf) -> Vec<u8> {
    prost::Message::encode_to_vec(&claim_pb::RMakerClaimPayload {
        msg: step.cmd() as i32,
        payload: Some(claim_pb::r_maker_claim_payload::Payload::CmdPayload(buf)),
    })
}

/// Start request: `52 00`.
pub fn claim_start_request() -> Vec<u8> {
    claim_request(ClaimStep::Start, claim_pb::PayloadBuf::default())
}

/// First Init request: the whole claim/initiate answer of the cloud, byte for byte, in one
/// message (`Offset 0`, `TotalLen` = its length). At most [`MAX_CLAIM_CHUNK`] bytes.
pub fn claim_init_request(cloud_answer: &[u8]) -> Result<Vec<u8>, EndpointError> {
    let total = claim_len(cloud_answer.len())?;
    if cloud_answer.is_empty() {
        return Err(EndpointError::InvalidArgument("the claim/initiate answer is empty".into()));
    }
    Ok(claim_request(
        ClaimStep::Init,
        claim_pb::PayloadBuf { offset: 0, payload: cloud_answer.to_vec(), total_len: total },
    ))
}

/// Follow-up Init request asking for the next CSR fragment: `08 02 52 00`.
pub fn claim_init_next_request() -> Vec<u8> {
    claim_request(ClaimStep::Init, claim_pb::PayloadBuf::default())
}

fn claim_len(len: usize) -> Result<u32, EndpointError> {
    if len > MAX_CLAIM_CHUNK {
        return Err(EndpointError::InvalidArgument(format!(
            "a claiming message of {len} bytes exceeds the device's limit of {MAX_CLAIM_CHUNK}"
        )));
    }
    u32::try_from(len).map_err(|_| EndpointError::InvalidArgument("claiming message too long".into()))
}

/// The Verify requests carrying the cloud's claim/verify answer byte for byte, in chunks of
/// `chunk` bytes (1..=[`MAX_CLAIM_CHUNK`]; Android uses [`CLAIM_FRAGMENT_SIZE`]).
pub fn claim_verify_requests(cloud_answer: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, EndpointError> {
    if chunk == 0 || chunk > MAX_CLAIM_CHUNK {
        return Err(EndpointError::InvalidArgument(format!("chunk size {chunk} is not in 1..={MAX_CLAIM_CHUNK}")));
    }
    if cloud_answer.is_empty() {
        return Err(EndpointError::InvalidArgument("the claim/verify answer is empty".into()));
    }
    let total = u32::try_from(cloud_answer.len())
        .map_err(|_| EndpointError::InvalidArgument("the claim/verify answer is too long".into()))?;
    let mut out = Vec::with_capacity(cloud_answer.len().div_ceil(chunk));
    for (i, part) in cloud_answer.chunks(chunk).enumerate() {
        let offset = u32::try_from(i * chunk)
            .map_err(|_| EndpointError::InvalidArgument("the claim/verify answer is too long".into()))?;
        out.push(claim_request(
            ClaimStep::Verify,
            claim_pb::PayloadBuf { offset, payload: part.to_vec(), total_len: total },
        ));
    }
    Ok(out)
}

/// Abort request: `08 06 52 00`.
pub fn claim_abort_request() -> Vec<u8> {
    claim_request(ClaimStep::Abort, claim_pb::PayloadBuf::default())
}

/// Parses a claiming answer to `step`: checks the type and the status, returns the `Buf`
/// (empty for Verify and Abort). A non-success status is an [`EndpointError::DeviceStatus`]
/// named after `RMakerClaimStatus`.
pub fn parse_claim_response(step: ClaimStep, bytes: &[u8]) -> Result<ClaimFragment, EndpointError> {
    let p: claim_pb::RMakerClaimPayload = decode("RMakerClaimPayload", bytes)?;
    expect_msg(p.msg, step.resp() as i32, claim_msg_name)?;
    match p.payload {
        Some(claim_pb::r_maker_claim_payload::Payload::RespPayload(r)) => {
            if r.status != claim_pb::RMakerClaimStatus::Success as i32 {
                return Err(status_error(r.status, claim_status_name(r.status)));
            }
            let frag: ClaimFragment = r.buf.unwrap_or_default().into();
            let end = u64::from(frag.offset) + frag.payload.len() as u64;
            if end > u64::from(frag.total_len) {
                return Err(EndpointError::Malformed(format!(
                    "fragment ends at {end}, beyond its total length {}",
                    frag.total_len
                )));
            }
            Ok(frag)
        }
        Some(claim_pb::r_maker_claim_payload::Payload::CmdPayload(_)) => {
            Err(unexpected_member("respPayload", Some("cmdPayload")))
        }
        None => Err(unexpected_member("respPayload", None)),
    }
}

/// Reassembles fragmented claiming data (the CSR of Init): fragments must arrive in order with a
/// constant total length.
#[derive(Debug, Clone, Default)]
pub struct ClaimAssembler {
    data: Vec<u8>,
    total: Option<u32>,
}

impl ClaimAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next fragment; returns `true` once the data is complete.
    pub fn push(&mut self, frag: ClaimFragment) -> Result<bool, EndpointError> {
        bound("total_len", frag.total_len as usize, MAX_CLAIM_DATA_LEN)?;
        let total = *self.total.get_or_insert(frag.total_len);
        if frag.total_len != total {
            return Err(EndpointError::Malformed(format!(
                "fragment total length changed from {total} to {}",
                frag.total_len
            )));
        }
        if frag.offset as usize != self.data.len() {
            return Err(EndpointError::Malformed(format!(
                "fragment at offset {}, expected {}",
                frag.offset,
                self.data.len()
            )));
        }
        if frag.payload.is_empty() && (self.data.len() as u64) < u64::from(total) {
            return Err(EndpointError::Malformed("empty fragment before the end of the data".into()));
        }
        if self.data.len() as u64 + frag.payload.len() as u64 > u64::from(total) {
            return Err(EndpointError::Malformed("fragment runs past the total length".into()));
        }
        self.data.extend_from_slice(&frag.payload);
        Ok(self.is_complete())
    }

    /// Whether every byte arrived.
    pub fn is_complete(&self) -> bool {
        self.total.is_some_and(|t| self.data.len() as u64 == u64::from(t))
    }

    /// The reassembled bytes (complete or not).
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

/// A claiming request as the device dispatches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCommand {
    /// The raw message type (the answer's type is this plus one).
    pub msg: i32,
    /// The command, or `None` for a type the device does not know (it answers `Fail`).
    pub step: Option<ClaimStep>,
    /// The `cmdPayload` buffer (empty when absent).
    pub buf: ClaimFragment,
}

/// Decodes a claiming request. Undecodable or empty bodies are errors (the device closes the
/// connection without a response); unknown message types are not ([`ClaimCommand::step`] is
/// `None`).
pub fn decode_claim_request(bytes: &[u8]) -> Result<ClaimCommand, EndpointError> {
    if bytes.is_empty() {
        return Err(EndpointError::Malformed("RMakerClaimPayload: empty request".into()));
    }
    let p: claim_pb::RMakerClaimPayload = decode("RMakerClaimPayload", bytes)?;
    use claim_pb::RMakerClaimMsgType as T;
    let step = match T::try_from(p.msg) {
        Ok(T::TypeCmdClaimStart) => Some(ClaimStep::Start),
        Ok(T::TypeCmdClaimInit) => Some(ClaimStep::Init),
        Ok(T::TypeCmdClaimVerify) => Some(ClaimStep::Verify),
        Ok(T::TypeCmdClaimAbort) => Some(ClaimStep::Abort),
        _ => None,
    };
    let buf = match p.payload {
        Some(claim_pb::r_maker_claim_payload::Payload::CmdPayload(b)) => b.into(),
        _ => ClaimFragment::default(),
    };
    Ok(ClaimCommand { msg: p.msg, step, buf })
}

/// Encodes a claiming answer like the firmware: type = request type + 1, `respPayload` always
/// present and always carrying `Buf` (`12 00` when `buf` is `None`), e.g. `08 05 5a 02 12 00` for
/// a successful Verify and `08 09 5a 04 08 01 12 00` for an unknown command 8.
pub fn encode_claim_response(
    request_msg: i32,
    status: claim_pb::RMakerClaimStatus,
    buf: Option<&ClaimFragment>,
) -> Vec<u8> {
    prost::Message::encode_to_vec(&claim_pb::RMakerClaimPayload {
        msg: request_msg.saturating_add(1),
        payload: Some(claim_pb::r_maker_claim_payload::Payload::RespPayload(claim_pb::RespPayload {
            status: status as i32,
            buf: Some(buf.map(Into::into).unwrap_or_default()),
        })),
    })
}

/// Status enums of these endpoints, re-exported for device-side callers.
pub use claim_pb::RMakerClaimStatus as ClaimStatus;
pub use cr_pb::RMakerChRespStatus as ChRespStatus;
pub use map_pb::RMakerConfigStatus as MappingStatus;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use prost::Message;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const USER: &str = "7a1e8c52-3b94-4d1f-9f0e-2c6a5d8b4e31";
    const SECRET: &str = "d3c0f6e2-91a4-4c55-8b7e-4f2a19c0e6b7";
    const NODE: &str = "Xk7pQ2mN9vR4tY8wZ3aB6c";

    /// Every messages.json entry of the RainMaker mapping, challenge-response and claiming protos.
    fn vectors() -> Vec<(String, String, Vec<u8>)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/messages.json");
        let all: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                matches!(
                    e["proto_file"].as_str().unwrap(),
                    "esp_rmaker_user_mapping.proto"
                        | "custom_cloud_config.proto"
                        | "esp_rmaker_chal_resp.proto"
                        | "esp_rmaker_claim.proto"
                )
            })
            .map(|e| {
                (
                    e["message"].as_str().unwrap().to_owned(),
                    e["description"].as_str().unwrap().to_owned(),
                    h(e["hex"].as_str().unwrap()),
                )
            })
            .collect()
    }

    fn vector(message: &str, description_start: &str) -> Vec<u8> {
        let found: Vec<_> =
            vectors().into_iter().filter(|(m, d, _)| m == message && d.starts_with(description_start)).collect();
        assert_eq!(found.len(), 1, "{message} / {description_start}");
        found[0].2.clone()
    }

    #[test]
    fn every_vector_round_trips_through_prost() {
        let vs = vectors();
        assert!(vs.len() >= 40, "{}", vs.len());
        for (message, description, bytes) in vs {
            let re = match message.as_str() {
                "rainmaker.RMakerConfigPayload" => {
                    map_pb::RMakerConfigPayload::decode(&*bytes).unwrap().encode_to_vec()
                }
                "rainmaker.CmdSetUserMapping" => map_pb::CmdSetUserMapping::decode(&*bytes).unwrap().encode_to_vec(),
                "rainmaker.RespSetUserMapping" => map_pb::RespSetUserMapping::decode(&*bytes).unwrap().encode_to_vec(),
                "cloud.CloudConfigPayload" => map_pb::RMakerConfigPayload::decode(&*bytes).unwrap().encode_to_vec(),
                "cloud.CmdGetSetDetails" => map_pb::CmdSetUserMapping::decode(&*bytes).unwrap().encode_to_vec(),
                "cloud.RespGetSetDetails" => map_pb::RespSetUserMapping::decode(&*bytes).unwrap().encode_to_vec(),
                "rmaker_claim.RMakerClaimPayload" => {
                    claim_pb::RMakerClaimPayload::decode(&*bytes).unwrap().encode_to_vec()
                }
                "rmaker_claim.PayloadBuf" => claim_pb::PayloadBuf::decode(&*bytes).unwrap().encode_to_vec(),
                "rmaker_claim.RespPayload" => claim_pb::RespPayload::decode(&*bytes).unwrap().encode_to_vec(),
                m if m.starts_with("rmaker_ch_resp.") => {
                    // Every ch_resp vector decodes as one of its messages; the envelope ones matter.
                    if m == "rmaker_ch_resp.RMakerChRespPayload" {
                        cr_pb::RMakerChRespPayload::decode(&*bytes).unwrap().encode_to_vec()
                    } else {
                        bytes.clone()
                    }
                }
                other => panic!("unhandled vector message {other}"),
            };
            assert_eq!(re, bytes, "{message}: {description}");
        }
    }

    #[test]
    fn user_mapping_matches_the_vectors() {
        let req = set_user_mapping_request(USER, SECRET).unwrap();
        assert_eq!(req.as_slice(), vector("rainmaker.RMakerConfigPayload", "cloud_user_assoc request:"));
        assert_eq!(req.as_slice(), vector("cloud.CloudConfigPayload", "Legacy name for the cloud_user_assoc request"));
        let ok = vector("rainmaker.RMakerConfigPayload", "cloud_user_assoc response: Success");
        assert_eq!(encode_set_user_mapping_response(NODE), ok);
        assert_eq!(&ok[..3], [0x08, 0x01, 0x5a]);
        assert_eq!(parse_set_user_mapping_response(&ok).unwrap(), NODE);
        assert_eq!(ok, vector("cloud.CloudConfigPayload", "Legacy name for the cloud_user_assoc response"));
        let invalid = vector("rainmaker.RMakerConfigPayload", "cloud_user_assoc response: InvalidParam");
        assert_eq!(invalid, h("08015a020801"));
        assert_eq!(encode_set_user_mapping_error(MappingStatus::InvalidParam), invalid);
        let err = parse_set_user_mapping_response(&invalid).unwrap_err();
        assert_eq!(err, EndpointError::DeviceStatus { code: 1, name: "InvalidParam".into() });
        let state = encode_set_user_mapping_error(MappingStatus::InvalidState);
        assert_eq!(parse_set_user_mapping_response(&state).unwrap_err().status_code(), Some(2));

        // Device side.
        match decode_user_mapping_request(&req).unwrap() {
            UserMappingCommand::Set(m) => {
                assert_eq!(m.user_id, USER);
                assert_eq!(m.secret_key.as_str(), SECRET);
                let dbg = format!("{m:?}");
                assert!(!dbg.contains(SECRET) && dbg.contains("redacted"), "{dbg}");
            }
            other => panic!("{other:?}"),
        }
        // msg only, no member: zero bytes on the wire (the vector) -> the device closes the link.
        assert_eq!(vector("rainmaker.RMakerConfigPayload", "cloud_user_assoc request with msg only"), b"");
        assert!(decode_user_mapping_request(&[]).is_err());
        // A member-less request that is not empty (an unknown field) gets InvalidParam.
        assert_eq!(decode_user_mapping_request(&h("7800")).unwrap(), UserMappingCommand::MissingMember);
        // Another type (here the response type) gets an empty body.
        assert_eq!(decode_user_mapping_request(&ok).unwrap(), UserMappingCommand::Other(1));
    }

    #[test]
    fn user_mapping_rejects_bad_input_and_answers() {
        assert!(matches!(set_user_mapping_request("", SECRET), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(set_user_mapping_request(USER, ""), Err(EndpointError::InvalidArgument(_))));
        // The request itself is not a response.
        let req = set_user_mapping_request(USER, SECRET).unwrap();
        assert!(matches!(parse_set_user_mapping_response(&req), Err(EndpointError::UnexpectedMessage { .. })));
        // Empty answer (what the device sends for another message type).
        assert!(matches!(parse_set_user_mapping_response(&[]), Err(EndpointError::UnexpectedMessage { .. })));
        // Success without a node id.
        assert!(matches!(
            parse_set_user_mapping_response(&encode_set_user_mapping_response("")),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
        // Right type, no member.
        assert!(matches!(parse_set_user_mapping_response(&h("0801")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(parse_set_user_mapping_response(&h("08015aff")), Err(EndpointError::Malformed(_))));
    }

    #[test]
    fn challenge_response_matches_the_vectors() {
        let challenge = h("6237643265396634613163363038336535643766396132623463366538643066");
        let req = challenge_request(&challenge).unwrap();
        assert_eq!(req, vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp request:"));
        assert_eq!(decode_ch_resp_request(&req).unwrap(), ChRespCommand::Challenge(challenge));
        let resp = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp response: Success");
        let parsed = parse_challenge_response(&resp).unwrap();
        assert_eq!(parsed.node_id, NODE);
        assert_eq!(parsed.signature.len(), 71);
        assert!(parsed.signature_hex().starts_with("3045022100c1a2"));
        assert_eq!(encode_challenge_response(&parsed.signature, &parsed.node_id), resp);

        let disabled =
            vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp response when challenge-response was disabled");
        assert_eq!(encode_disabled_response(), disabled);
        assert_eq!(disabled, h("08011003"));
        assert_eq!(
            parse_challenge_response(&disabled).unwrap_err(),
            EndpointError::DeviceStatus { code: CH_RESP_STATUS_DISABLED, name: "Disabled".into() }
        );
        let unknown = vector("rmaker_ch_resp.RMakerChRespPayload", "RMakerChRespPayload with an unknown status");
        assert_eq!(
            parse_challenge_response(&unknown).unwrap_err(),
            EndpointError::DeviceStatus { code: 7, name: "Unknown".into() }
        );

        let disable = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp disable request as the RainMaker CLI");
        assert_eq!(disable_request(), disable);
        assert_eq!(decode_ch_resp_request(&disable).unwrap(), ChRespCommand::Disable);
        let with_member = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp disable request with the empty member");
        assert_eq!(decode_ch_resp_request(&with_member).unwrap(), ChRespCommand::Disable);
        let done = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp disable response: Success");
        assert_eq!(encode_disable_response(ChRespStatus::Success), done);
        assert_eq!(done, h("0805"));
        parse_disable_response(&done).unwrap();
        parse_disable_response(&vector(
            "rmaker_ch_resp.RMakerChRespPayload",
            "ch_resp disable response with the empty member",
        ))
        .unwrap();
        let fail = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp disable response: Fail");
        assert_eq!(encode_disable_response(ChRespStatus::Fail), fail);
        assert_eq!(parse_disable_response(&fail).unwrap_err().status_code(), Some(1));

        // GetNodeID is not implemented by the device: an error, i.e. no response.
        let get_node = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp GetNodeID request");
        assert!(decode_ch_resp_request(&get_node).is_err());
        // Its response shape is not a challenge answer.
        let node_resp = vector("rmaker_ch_resp.RMakerChRespPayload", "ch_resp GetNodeID response shape");
        assert!(matches!(parse_challenge_response(&node_resp), Err(EndpointError::UnexpectedMessage { .. })));
    }

    #[test]
    fn challenge_response_rejects_bad_input() {
        assert!(matches!(challenge_request(b""), Err(EndpointError::InvalidArgument(_))));
        // Empty challenge on the wire (member present, payload empty) and no member at all.
        assert!(decode_ch_resp_request(&h("5200")).is_err());
        assert!(decode_ch_resp_request(&h("0800")).is_err());
        assert!(decode_ch_resp_request(&[]).is_err());
        // A success without signature or node id.
        assert!(matches!(
            parse_challenge_response(&encode_challenge_response(b"", NODE)),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
        assert!(matches!(
            parse_challenge_response(&encode_challenge_response(b"sig", "")),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
        assert!(matches!(parse_challenge_response(&h("0801")), Err(EndpointError::UnexpectedMessage { .. })));
        assert!(matches!(
            parse_disable_response(&encode_disabled_response()),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn claiming_matches_the_vectors() {
        let m = "rmaker_claim.RMakerClaimPayload";
        assert_eq!(claim_start_request(), vector(m, "Claim Start request"));
        assert_eq!(claim_init_next_request(), vector(m, "Claim Init follow-up request"));
        assert_eq!(claim_abort_request(), vector(m, "Claim Abort request"));

        let start_resp = vector(m, "Claim Start response: Success");
        let frag = parse_claim_response(ClaimStep::Start, &start_resp).unwrap();
        assert_eq!(frag.offset, 0);
        assert_eq!(frag.total_len, 48);
        assert_eq!(frag.payload, br#"{"mac_addr":"A0B1C2D3E4F5","platform":"esp32c3"}"#);
        let cmd = decode_claim_request(&claim_start_request()).unwrap();
        assert_eq!(cmd.step, Some(ClaimStep::Start));
        assert_eq!(encode_claim_response(cmd.msg, ClaimStatus::Success, Some(&frag)), start_resp);

        let invalid_state = vector(m, "Claim Start response: InvalidState");
        assert_eq!(encode_claim_response(0, ClaimStatus::InvalidState, None), invalid_state);
        assert_eq!(
            parse_claim_response(ClaimStep::Start, &invalid_state).unwrap_err(),
            EndpointError::DeviceStatus { code: 3, name: "InvalidState".into() }
        );

        // Init: the cloud's answer in one message, CSR fragments out.
        let init = vector(m, "Claim Init request");
        let init_cmd = decode_claim_request(&init).unwrap();
        assert_eq!(init_cmd.step, Some(ClaimStep::Init));
        assert_eq!(claim_init_request(&init_cmd.buf.payload).unwrap(), init);
        let first = vector(m, "Claim Init response, first CSR fragment");
        let last = vector(m, "Claim Init response, last CSR fragment");
        let mut csr = ClaimAssembler::new();
        let f1 = parse_claim_response(ClaimStep::Init, &first).unwrap();
        assert_eq!(encode_claim_response(2, ClaimStatus::Success, Some(&f1)), first);
        assert!(!csr.push(f1).unwrap());
        let f2 = parse_claim_response(ClaimStep::Init, &last).unwrap();
        assert_eq!(encode_claim_response(2, ClaimStatus::Success, Some(&f2)), last);
        assert!(csr.push(f2).unwrap());
        let csr = csr.into_bytes();
        assert_eq!(csr.len(), 258);
        assert!(csr.starts_with(br#"{"csr":"-----BEGIN CERTIFICATE REQUEST-----\n"#));

        // Verify: 481 bytes in 200-byte chunks; first and last chunk are vectors.
        let first_chunk = decode_claim_request(&vector(m, "Claim Verify request, first")).unwrap();
        let last_chunk = decode_claim_request(&vector(m, "Claim Verify request, last")).unwrap();
        assert_eq!(first_chunk.step, Some(ClaimStep::Verify));
        let mut cert = first_chunk.buf.payload.clone();
        cert.resize(400, b'A');
        cert.extend_from_slice(&last_chunk.buf.payload);
        assert_eq!(cert.len(), 481);
        let reqs = claim_verify_requests(&cert, CLAIM_FRAGMENT_SIZE).unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0], vector(m, "Claim Verify request, first"));
        assert_eq!(reqs[2], vector(m, "Claim Verify request, last"));

        let verified = vector(m, "Claim Verify response: Success");
        assert_eq!(encode_claim_response(4, ClaimStatus::Success, None), verified);
        assert_eq!(parse_claim_response(ClaimStep::Verify, &verified).unwrap(), ClaimFragment::default());
        for (desc, status) in [
            ("Claim Verify response: InvalidParam", ClaimStatus::InvalidParam),
            ("Claim Verify response: NoMemory", ClaimStatus::NoMemory),
        ] {
            let v = vector(m, desc);
            assert_eq!(encode_claim_response(4, status, None), v);
            assert_eq!(parse_claim_response(ClaimStep::Verify, &v).unwrap_err().status_code(), Some(status as i32));
        }
        let aborted = vector(m, "Claim Abort response");
        assert_eq!(encode_claim_response(6, ClaimStatus::Success, None), aborted);
        parse_claim_response(ClaimStep::Abort, &aborted).unwrap();

        // Unknown command 8: answer 9, Fail, empty Buf.
        let unknown = decode_claim_request(&h("0808")).unwrap();
        assert_eq!(unknown.step, None);
        assert_eq!(
            encode_claim_response(unknown.msg, ClaimStatus::Fail, None),
            vector(m, "Response to an unknown claim command")
        );
        // A Start answer is not an Init answer.
        assert!(matches!(
            parse_claim_response(ClaimStep::Init, &start_resp),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn claiming_rejects_bad_input() {
        assert!(claim_init_request(&[b'x'; MAX_CLAIM_CHUNK]).is_ok());
        assert!(matches!(claim_init_request(&[b'x'; MAX_CLAIM_CHUNK + 1]), Err(EndpointError::InvalidArgument(_))));
        assert!(matches!(claim_init_request(b""), Err(EndpointError::InvalidArgument(_))));
        assert!(claim_verify_requests(b"abc", 0).is_err());
        assert!(claim_verify_requests(b"abc", MAX_CLAIM_CHUNK + 1).is_err());
        assert!(claim_verify_requests(b"", 10).is_err());
        assert!(decode_claim_request(&[]).is_err());
        // A fragment running past its total length.
        let bad = encode_claim_response(
            2,
            ClaimStatus::Success,
            Some(&ClaimFragment { offset: 10, payload: vec![1; 5], total_len: 12 }),
        );
        assert!(matches!(parse_claim_response(ClaimStep::Init, &bad), Err(EndpointError::Malformed(_))));
        // No respPayload at all.
        assert!(matches!(
            parse_claim_response(ClaimStep::Verify, &h("0805")),
            Err(EndpointError::UnexpectedMessage { .. })
        ));
        // Out-of-order and inconsistent fragments.
        let mut asm = ClaimAssembler::new();
        assert!(asm.push(ClaimFragment { offset: 5, payload: vec![1], total_len: 10 }).is_err());
        let mut asm = ClaimAssembler::new();
        asm.push(ClaimFragment { offset: 0, payload: vec![1; 4], total_len: 10 }).unwrap();
        assert!(asm.clone().push(ClaimFragment { offset: 4, payload: vec![1], total_len: 11 }).is_err());
        assert!(asm.clone().push(ClaimFragment { offset: 4, payload: vec![], total_len: 10 }).is_err());
        assert!(asm.push(ClaimFragment { offset: 4, payload: vec![1; 7], total_len: 10 }).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_set_user_mapping_response(&bytes);
            let _ = decode_user_mapping_request(&bytes);
            let _ = parse_challenge_response(&bytes);
            let _ = parse_disable_response(&bytes);
            let _ = decode_ch_resp_request(&bytes);
            let _ = decode_claim_request(&bytes);
            for step in [ClaimStep::Start, ClaimStep::Init, ClaimStep::Verify, ClaimStep::Abort] {
                let _ = parse_claim_response(step, &bytes);
            }
        }

        #[test]
        fn mapping_round_trips(user in "[a-zA-Z0-9-]{1,40}", secret in "[a-f0-9-]{1,40}", node in "[A-Za-z0-9]{1,30}") {
            let req = set_user_mapping_request(&user, &secret).unwrap();
            match decode_user_mapping_request(&req).unwrap() {
                UserMappingCommand::Set(m) => {
                    proptest::prop_assert_eq!(m.user_id, user);
                    proptest::prop_assert_eq!(m.secret_key.as_str(), secret.as_str());
                }
                other => proptest::prop_assert!(false, "{:?}", other),
            }
            proptest::prop_assert_eq!(parse_set_user_mapping_response(&encode_set_user_mapping_response(&node)).unwrap(), node);
        }

        #[test]
        fn verify_chunks_reassemble(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..2000), chunk in 1usize..500) {
            let mut asm = ClaimAssembler::new();
            let reqs = claim_verify_requests(&data, chunk).unwrap();
            let n = reqs.len();
            for (i, r) in reqs.into_iter().enumerate() {
                let cmd = decode_claim_request(&r).unwrap();
                proptest::prop_assert_eq!(cmd.step, Some(ClaimStep::Verify));
                proptest::prop_assert_eq!(asm.push(cmd.buf).unwrap(), i + 1 == n);
            }
            proptest::prop_assert_eq!(asm.into_bytes(), data);
        }
    }
}
