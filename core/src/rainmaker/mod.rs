//! ESP RainMaker, phone side (docs/protocol.md 8): the device exchanges on an established
//! [`DeviceSession`], the cloud client ([`RainMakerCloud`], over an injected [`HttpBackend`]),
//! assisted claiming ([`claim()`]), the [`associate`] step that picks challenge-response or the
//! traditional mapping the way the RainMaker apps do, and the one-call
//! [`provision_rainmaker`] flow.
//!
//! Run [`associate`] after the security handshake and before the network credentials
//! (docs/protocol.md 6.1 step 4, 12 item 14): the device stops provisioning shortly after it reports
//! "Connected". With challenge-response the node is on the account when [`associate`] returns;
//! with the traditional mapping the cloud side ([`flow::confirm_mapping`]) can only succeed once
//! the device is online, i.e. after Wi-Fi provisioning.
//!
//! Secrets (the access token, the mapping secret key) never appear in logs, errors or `Debug`.

pub mod claim;
pub mod cloud;
pub mod flow;
pub mod http;

use std::sync::Arc;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

pub use claim::{MAX_CLOUD_CLAIM_ANSWER, claim};
pub use cloud::{
    CloudConfig, CloudTokens, DEFAULT_BASE_URL, DEFAULT_CHALLENGE_TIMEOUT_SECS, DEFAULT_CLAIM_URL, LoginOutcome,
    MappingChallenge, MappingStatus, RainMakerCloud,
};
pub use flow::{
    AssociationPlan, AssociationState, ConfirmOptions, RainMakerOutcome, RainMakerRequest, provision_rainmaker,
};
#[cfg(feature = "rainmaker-http")]
pub use http::ReqwestBackend;
pub use http::{HttpBackend, HttpError, HttpHeader, HttpMethod, HttpRequest, HttpResponse};

use crate::endpoints::rainmaker::{self as codec, ChallengeResponse};
use crate::endpoints::{EndpointError, proto_ver};
use crate::error::{Error, Step};
use crate::session::DeviceSession;

/// Why a RainMaker association step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error), uniffi::export(Display))]
#[non_exhaustive]
pub enum RainMakerError {
    /// The device exchange failed (transport, session, codec or a device status).
    #[error(transparent)]
    Device {
        /// The device-side error.
        #[from]
        error: Error,
    },
    /// The device has neither `ch_resp` nor `cloud_user_assoc` (plain ESP-IDF firmware). The
    /// security session is over: reconnect before sending network credentials.
    #[error("the device has no RainMaker user-node association endpoint")]
    NoAssociationEndpoint,
    /// `rmaker.cap` lists `claim`/`camera_claim`: the node must be claimed before it can be
    /// associated.
    #[error("the device must be claimed first (assisted claiming): allow claiming and log in")]
    ClaimPending,
    /// The device answered `Disabled` on `ch_resp`.
    #[error("challenge-response is disabled on the device")]
    ChallengeResponseDisabled,
    /// The cloud refused the device's answer to the challenge (wrong signature, expired request).
    #[error("the RainMaker cloud rejected the challenge response (HTTP {status}): {description}")]
    ChallengeRejected {
        /// HTTP status.
        status: u16,
        /// The cloud's description.
        description: String,
    },
    /// A cloud call answered with a non-success HTTP status.
    #[error("RainMaker cloud call `{operation}` failed with HTTP {status}: {description}")]
    Http {
        /// Which call.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The cloud's description (or the start of its body).
        description: String,
    },
    /// The cloud could not be reached (connection, TLS, timeout of one request).
    #[error("RainMaker cloud unreachable during `{operation}`: {detail}")]
    CloudUnreachable {
        /// Which call.
        operation: String,
        /// What failed.
        detail: String,
    },
    /// The cloud answered 2xx with something this client does not understand.
    #[error("unexpected RainMaker cloud answer to `{operation}`: {detail}")]
    CloudProtocol {
        /// Which call.
        operation: String,
        /// What was wrong.
        detail: String,
    },
    /// The cloud reports the mapping request as `timedout` (the node never reported the same
    /// secret key: it did not reach the cloud in time, or another user's mapping replaced it).
    #[error(
        "the RainMaker cloud timed out mapping request {request_id} for node {node_id}: the node did not confirm \
         it (is it online?)"
    )]
    MappingTimedOut {
        /// The node.
        node_id: String,
        /// The cloud's request id.
        request_id: String,
    },
    /// The cloud reports the mapping request as `discarded`.
    #[error("the RainMaker cloud discarded mapping request {request_id} for node {node_id}")]
    MappingDiscarded {
        /// The node.
        node_id: String,
        /// The cloud's request id.
        request_id: String,
    },
    /// No cloud session: log in first (or the operation needs an account the caller did not give).
    #[error("not logged in to the RainMaker cloud: log in first")]
    LoginRequired,
    /// The cloud refused the login or the refresh token (wrong user name, password or code, or
    /// an expired refresh token: log in again).
    #[error("the RainMaker cloud refused the login (HTTP {status}): {description}")]
    LoginRejected {
        /// HTTP status.
        status: u16,
        /// The cloud's description.
        description: String,
    },
    /// The claiming service refused a claiming call.
    #[error("the RainMaker claiming service refused `{operation}` (HTTP {status}): {description}")]
    ClaimRejected {
        /// Which call (`claim/initiate`, `claim/verify`).
        operation: String,
        /// HTTP status.
        status: u16,
        /// The service's description.
        description: String,
    },
    /// A claiming-service answer the device cannot take: it copies it into a 3,072-byte buffer
    /// without checking, so it is not sent (the claim was aborted on the device).
    #[error(
        "the claiming service's `{operation}` answer has {size} bytes; the device accepts at most {limit}: claim aborted"
    )]
    ClaimAnswerTooLarge {
        /// Which call.
        operation: String,
        /// The answer's size.
        size: u64,
        /// The largest size sent.
        limit: u64,
    },

    /// The caller's input cannot be used.
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong.
        detail: String,
    },
}

impl RainMakerError {
    /// A short stable name for the error (JSON output, telemetry): the device's errors keep the
    /// name of their [`Error`] kind via [`RainMakerError::device_error`].
    pub fn kind(&self) -> &'static str {
        match self {
            RainMakerError::Device { .. } => "device",
            RainMakerError::NoAssociationEndpoint => "no_association_endpoint",
            RainMakerError::ClaimPending => "claim_required",
            RainMakerError::ChallengeResponseDisabled => "challenge_response_disabled",
            RainMakerError::ChallengeRejected { .. } => "challenge_rejected",
            RainMakerError::Http { .. } => "cloud_http_error",
            RainMakerError::CloudUnreachable { .. } => "cloud_unreachable",
            RainMakerError::CloudProtocol { .. } => "cloud_protocol",
            RainMakerError::MappingTimedOut { .. } => "mapping_timed_out",
            RainMakerError::MappingDiscarded { .. } => "mapping_discarded",
            RainMakerError::LoginRequired => "login_required",
            RainMakerError::LoginRejected { .. } => "login_rejected",
            RainMakerError::ClaimRejected { .. } => "claim_rejected",
            RainMakerError::ClaimAnswerTooLarge { .. } => "claim_answer_too_large",
            RainMakerError::InvalidInput { .. } => "invalid_input",
        }
    }

    /// The device-side error, when the failure happened on the device link.
    pub fn device_error(&self) -> Option<&Error> {
        match self {
            RainMakerError::Device { error: e } => Some(e),
            _ => None,
        }
    }

    /// Which cloud or device operation failed, for messages: the cloud call, or the device step.
    pub fn operation(&self) -> Option<String> {
        match self {
            RainMakerError::Http { operation, .. }
            | RainMakerError::CloudUnreachable { operation, .. }
            | RainMakerError::CloudProtocol { operation, .. }
            | RainMakerError::ClaimRejected { operation, .. }
            | RainMakerError::ClaimAnswerTooLarge { operation, .. } => Some((*operation).to_owned()),
            RainMakerError::ChallengeRejected { .. } => Some("user/nodes/mapping/verify".to_owned()),
            RainMakerError::LoginRejected { .. } => Some("login2".to_owned()),
            _ => None,
        }
    }
}

/// Shorthand for results of this module.
pub type RainMakerResult<T> = std::result::Result<T, RainMakerError>;

// ---------------------------------------------------------------------------------------------
// Device side of the association, on an established session
// ---------------------------------------------------------------------------------------------

fn endpoint_error(step: Step, e: EndpointError) -> Error {
    Error::from_endpoint(step, e)
}

impl DeviceSession {
    /// Traditional association (docs/protocol.md 8.2 steps 2–3): sends the user id and secret key to
    /// `cloud_user_assoc` and returns the node id. A device without the endpoint gives
    /// [`RainMakerError::NoAssociationEndpoint`].
    pub async fn set_user_mapping(&self, user_id: &str, secret_key: &str) -> RainMakerResult<String> {
        let step = Step::RainMaker { endpoint: codec::CLOUD_USER_ASSOC.to_owned() };
        let req = codec::set_user_mapping_request(user_id, secret_key)
            .map_err(|e| RainMakerError::InvalidInput { detail: e.to_string() })?;
        let resp = match self.exchange(step.clone(), codec::CLOUD_USER_ASSOC, &req).await {
            Err(Error::EndpointNotFound { .. }) => return Err(RainMakerError::NoAssociationEndpoint),
            other => other?,
        };
        let node_id = codec::parse_set_user_mapping_response(&resp).map_err(|e| endpoint_error(step, e))?;
        log::info!("rainmaker: the device accepted the user-node mapping (node {node_id})");
        Ok(node_id)
    }

    /// Challenge-response (docs/protocol.md 8.4 steps 2–3): has the device sign `challenge` and
    /// returns the signature and the node id. `Disabled` gives
    /// [`RainMakerError::ChallengeResponseDisabled`]; a device without the endpoint
    /// [`RainMakerError::NoAssociationEndpoint`].
    pub async fn challenge_response(&self, challenge: &[u8]) -> RainMakerResult<ChallengeResponse> {
        let step = Step::RainMaker { endpoint: codec::CH_RESP.to_owned() };
        let req =
            codec::challenge_request(challenge).map_err(|e| RainMakerError::InvalidInput { detail: e.to_string() })?;
        let resp = match self.exchange(step.clone(), codec::CH_RESP, &req).await {
            Err(Error::EndpointNotFound { .. }) => return Err(RainMakerError::NoAssociationEndpoint),
            other => other?,
        };
        match codec::parse_challenge_response(&resp) {
            Ok(r) => Ok(r),
            Err(e) if e.status_code() == Some(codec::CH_RESP_STATUS_DISABLED) => {
                Err(RainMakerError::ChallengeResponseDisabled)
            }
            Err(e) => Err(endpoint_error(step, e).into()),
        }
    }

    /// Disables challenge-response on the device (docs/protocol.md 8.4 step 5; the CLI does this only
    /// for on-network flows).
    pub async fn disable_challenge_response(&self) -> RainMakerResult<()> {
        let step = Step::RainMaker { endpoint: codec::CH_RESP.to_owned() };
        let resp = self.exchange(step.clone(), codec::CH_RESP, &codec::disable_request()).await?;
        match codec::parse_disable_response(&resp) {
            Ok(()) => Ok(()),
            // An already disabled device answers every request with a `Disabled` challenge answer.
            Err(_)
                if codec::parse_challenge_response(&resp)
                    .is_err_and(|e| e.status_code() == Some(codec::CH_RESP_STATUS_DISABLED)) =>
            {
                Err(RainMakerError::ChallengeResponseDisabled)
            }
            Err(e) => Err(endpoint_error(step, e).into()),
        }
    }
}

/// A fresh mapping secret key: a random UUID v4 in its lowercase hyphenated form, like the CLI's
/// `uuid.uuid4()` and Android's `UUID.randomUUID()`.
pub fn new_secret_key(rng: &mut impl CryptoRng) -> Zeroizing<String> {
    let mut b = Zeroizing::new([0u8; 16]);
    rng.fill_bytes(b.as_mut_slice());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = Zeroizing::new(String::with_capacity(36));
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The association flow
// ---------------------------------------------------------------------------------------------

/// Which association the device used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AssociationMode {
    /// `ch_resp` (synchronous, docs/protocol.md 8.4).
    ChallengeResponse,
    /// `cloud_user_assoc` (confirmed by the cloud once the node is online, docs/protocol.md 8.2).
    UserAssoc,
}

/// A traditional mapping the device accepted, to be confirmed with the cloud after the network
/// provisioning succeeded. `Debug` redacts the secret key, which is wiped on drop. Kotlin and
/// Swift hold it as an opaque object (its `toString`/`description` is this `Debug`), so the key is
/// only read out on purpose, with `secretKey()`.
#[derive(Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Object), uniffi::export(Debug))]
pub struct PendingMapping {
    /// The node id the device reported.
    pub node_id: String,
    /// The user id sent to the device.
    pub user_id: String,
    secret_key: Zeroizing<String>,
}

impl std::fmt::Debug for PendingMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingMapping")
            .field("node_id", &self.node_id)
            .field("user_id", &self.user_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl PendingMapping {
    /// A mapping to confirm later: the node id the device reported, the user id and the secret
    /// key the device received (e.g. read back from an app's storage).
    pub fn new(node_id: impl Into<String>, user_id: impl Into<String>, secret_key: &str) -> Self {
        Self { node_id: node_id.into(), user_id: user_id.into(), secret_key: Zeroizing::new(secret_key.to_owned()) }
    }

    /// The secret key the device received (the cloud matches it against the node's report).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }
}

/// The accessors Kotlin and Swift use (Rust code reads the fields).
#[cfg(feature = "uniffi")]
#[uniffi::export]
impl PendingMapping {
    /// A mapping read back from an app's storage.
    #[uniffi::constructor(name = "new")]
    pub fn restore(node_id: String, user_id: String, secret_key: String) -> Arc<Self> {
        let secret_key = Zeroizing::new(secret_key);
        Arc::new(Self::new(node_id, user_id, &secret_key))
    }

    /// The node id the device reported.
    #[uniffi::method(name = "node_id")]
    pub fn node_id_text(&self) -> String {
        self.node_id.clone()
    }

    /// The user id sent to the device.
    #[uniffi::method(name = "user_id")]
    pub fn user_id_text(&self) -> String {
        self.user_id.clone()
    }

    /// The secret key sent to the device: persist it with the same care as tokens.
    #[uniffi::method(name = "secret_key")]
    pub fn secret_key_text(&self) -> String {
        self.secret_key.to_string()
    }
}

/// What [`associate`] achieved.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Association {
    /// Challenge-response: the node is on the account.
    Mapped {
        /// The node id.
        node_id: String,
    },
    /// Traditional mapping: the device has it; confirm with [`flow::confirm_mapping`] after the
    /// network provisioning.
    Pending {
        /// The mapping to confirm.
        mapping: Arc<PendingMapping>,
    },
}

impl Association {
    /// The node id.
    pub fn node_id(&self) -> &str {
        match self {
            Association::Mapped { node_id } => node_id,
            Association::Pending { mapping } => &mapping.node_id,
        }
    }

    /// Which association was used.
    pub fn mode(&self) -> AssociationMode {
        match self {
            Association::Mapped { .. } => AssociationMode::ChallengeResponse,
            Association::Pending { .. } => AssociationMode::UserAssoc,
        }
    }
}

/// Associates the device with the logged-in RainMaker user (docs/protocol.md 8 order), on a
/// connected session: challenge-response when `rmaker_extra.cap` lists `ch_resp` (cloud initiate
/// → device signs → cloud verify), otherwise the traditional mapping on `cloud_user_assoc` with a
/// fresh UUID v4 secret key and the user id of the cloud session. A device with a pending claim
/// gives [`RainMakerError::ClaimPending`]; one with neither endpoint
/// [`RainMakerError::NoAssociationEndpoint`].
pub async fn associate(session: &DeviceSession, cloud: &RainMakerCloud) -> RainMakerResult<Association> {
    // Drawn before the first await: the thread-local generator must not live in the future.
    let secret_key = new_secret_key(&mut rand::rng());
    associate_inner(session, cloud, secret_key, false).await
}

/// [`associate`] with the randomness for the secret key injected.
pub async fn associate_with_rng(
    session: &DeviceSession,
    cloud: &RainMakerCloud,
    rng: &mut impl CryptoRng,
) -> RainMakerResult<Association> {
    let secret_key = new_secret_key(rng);
    associate_inner(session, cloud, secret_key, false).await
}

/// [`associate`] with the secret key of a traditional mapping given; `just_claimed`: the
/// session's capabilities still list `claim` because they were read before this run claimed the
/// node.
pub(crate) async fn associate_inner(
    session: &DeviceSession,
    cloud: &RainMakerCloud,
    secret_key: Zeroizing<String>,
    just_claimed: bool,
) -> RainMakerResult<Association> {
    let info = session.info().await.ok_or(Error::NotConnected)?;
    let version = info.version.info().cloned().unwrap_or_default();
    if version.needs_claim() && !just_claimed {
        return Err(RainMakerError::ClaimPending);
    }
    if version.app_cap(proto_ver::APP_RMAKER_EXTRA, proto_ver::CAP_CH_RESP) {
        log::info!("rainmaker: associating with challenge-response");
        let challenge = cloud.initiate_mapping_challenge(DEFAULT_CHALLENGE_TIMEOUT_SECS).await?;
        let answer = session.challenge_response(challenge.challenge.as_bytes()).await?;
        cloud.verify_mapping_challenge(&challenge.request_id, &answer.node_id, &answer.signature).await?;
        log::info!("rainmaker: node {} added to the account", answer.node_id);
        return Ok(Association::Mapped { node_id: answer.node_id });
    }
    let user_id = cloud.user_id()?;
    log::info!("rainmaker: associating with cloud_user_assoc");
    let node_id = session.set_user_mapping(&user_id, &secret_key).await?;
    Ok(Association::Pending { mapping: Arc::new(PendingMapping { node_id, user_id, secret_key }) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn secret_keys_are_uuid_v4() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = new_secret_key(&mut rng);
        let b = new_secret_key(&mut rng);
        assert_ne!(*a, *b);
        for key in [a, b] {
            assert_eq!(key.len(), 36);
            let parts: Vec<_> = key.split('-').map(str::len).collect();
            assert_eq!(parts, [8, 4, 4, 4, 12]);
            assert_eq!(key.as_bytes()[14], b'4');
            assert!(matches!(key.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
            assert!(key.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
    }

    #[test]
    fn pending_mapping_redacts_its_key() {
        let pending = PendingMapping::new("n", "u", "s3cr3t-key");
        assert_eq!(pending.secret_key(), "s3cr3t-key");
        assert!(!format!("{pending:?}").contains("s3cr3t-key"));
    }
}
