//! ESP RainMaker user-node association, phone side (docs/protocol.md 8.1, 8.2, 8.4): the device
//! exchanges on an established [`DeviceSession`], a small RainMaker cloud client
//! ([`RainMakerCloud`]) and the [`associate`] flow that picks challenge-response or the
//! traditional mapping the way the RainMaker apps do.
//!
//! Run [`associate`] after the security handshake and before the network credentials
//! (docs/protocol.md 6.1 step 4, 12 item 14): the device stops provisioning shortly after it reports
//! "Connected". With challenge-response the node is on the account when [`associate`] returns;
//! with the traditional mapping the cloud side ([`PendingMapping::confirm`]) can only succeed once
//! the device is online, i.e. after Wi-Fi provisioning.
//!
//! Secrets (the access token, the mapping secret key) never appear in logs, errors or `Debug`.

use std::time::Duration;

use rand_core::CryptoRng;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::endpoints::rainmaker::{self as codec, ChallengeResponse};
use crate::endpoints::{EndpointError, proto_ver};
use crate::error::{Error, Step};
use crate::security::Secret;
use crate::session::DeviceSession;

/// RainMaker's public REST base (global region).
pub const DEFAULT_BASE_URL: &str = "https://api.rainmaker.espressif.com/v1/";
/// The challenge lifetime the RainMaker CLI asks for, in seconds.
pub const DEFAULT_CHALLENGE_TIMEOUT_SECS: u32 = 360;
/// Largest cloud answer read, in bytes (the mapping answers are a few hundred bytes).
const MAX_CLOUD_BODY: usize = 64 * 1024;
/// Longest cloud error description kept in an error message.
const MAX_DESCRIPTION: usize = 300;

/// Why a RainMaker association step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RainMakerError {
    /// The device exchange failed (transport, session, codec or a device status).
    #[error(transparent)]
    Device(#[from] Error),
    /// The device has neither `ch_resp` nor `cloud_user_assoc` (plain ESP-IDF firmware). The
    /// security session is over: reconnect before sending network credentials.
    #[error("the device has no RainMaker user-node association endpoint")]
    NoAssociationEndpoint,
    /// `rmaker.cap` lists `claim`/`camera_claim`: the node must be claimed first.
    #[error("RainMaker assisted claiming is pending on this device: claim it first")]
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
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The cloud's description (or the start of its body).
        description: String,
    },
    /// The cloud could not be reached (connection, TLS, timeout of one request).
    #[error("RainMaker cloud unreachable during `{operation}`: {detail}")]
    CloudUnreachable {
        /// Which call.
        operation: &'static str,
        /// What failed.
        detail: String,
    },
    /// The cloud answered 2xx with something this client does not understand.
    #[error("unexpected RainMaker cloud answer to `{operation}`: {detail}")]
    CloudProtocol {
        /// Which call.
        operation: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The cloud reports the mapping request as `timedout` (the node never confirmed it).
    #[error("the user-node mapping request timed out on the RainMaker cloud")]
    MappingTimedOut,
    /// The cloud reports the mapping request as `discarded`.
    #[error("the user-node mapping request was discarded by the RainMaker cloud")]
    MappingDiscarded,
    /// The mapping was still not confirmed when the polling deadline passed.
    #[error("the user-node mapping was not confirmed within {waited:?} (last status `{last_status}`)")]
    MappingNotConfirmed {
        /// How long the client polled.
        waited: Duration,
        /// The last `request_status` seen.
        last_status: String,
    },
    /// The caller's input cannot be used.
    #[error("invalid input: {0}")]
    InvalidInput(String),
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
        let step = Step::RainMaker(codec::CLOUD_USER_ASSOC.to_owned());
        let req = codec::set_user_mapping_request(user_id, secret_key)
            .map_err(|e| RainMakerError::InvalidInput(e.to_string()))?;
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
        let step = Step::RainMaker(codec::CH_RESP.to_owned());
        let req = codec::challenge_request(challenge).map_err(|e| RainMakerError::InvalidInput(e.to_string()))?;
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
        let step = Step::RainMaker(codec::CH_RESP.to_owned());
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
// Cloud client
// ---------------------------------------------------------------------------------------------

/// A `user/nodes/mapping/initiate` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingChallenge {
    /// The string the device must sign (its UTF-8 bytes go to `ch_resp`).
    pub challenge: String,
    /// The request id to pass to [`RainMakerCloud::verify_mapping_challenge`].
    pub request_id: String,
}

/// `request_status` of a traditional mapping request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingStatus {
    /// Waiting for the node's confirmation.
    Requested,
    /// The node is on the account.
    Confirmed,
    /// The node never confirmed.
    TimedOut,
    /// The cloud dropped the request.
    Discarded,
    /// Any other value, preserved.
    Other(String),
}

impl MappingStatus {
    fn parse(s: &str) -> Self {
        match s {
            "requested" => MappingStatus::Requested,
            "confirmed" => MappingStatus::Confirmed,
            "timedout" => MappingStatus::TimedOut,
            "discarded" => MappingStatus::Discarded,
            other => MappingStatus::Other(other.to_owned()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            MappingStatus::Requested => "requested",
            MappingStatus::Confirmed => "confirmed",
            MappingStatus::TimedOut => "timedout",
            MappingStatus::Discarded => "discarded",
            MappingStatus::Other(s) => s,
        }
    }
}

/// How [`RainMakerCloud::wait_for_mapping`] polls: bounded by `deadline`.
#[derive(Debug, Clone, Copy)]
pub struct MappingPoll {
    /// Give up with [`RainMakerError::MappingNotConfirmed`] after this long.
    pub deadline: Duration,
    /// Pause between two status requests.
    pub interval: Duration,
}

impl Default for MappingPoll {
    /// What the RainMaker CLI does: every 5 s for up to 60 s.
    fn default() -> Self {
        Self { deadline: Duration::from_secs(60), interval: Duration::from_secs(5) }
    }
}

/// A RainMaker cloud REST client for the user-node mapping calls. `Authorization` carries the
/// raw access token (no `Bearer`). `Debug` shows the base URL only.
#[derive(Clone)]
pub struct RainMakerCloud {
    base_url: String,
    access_token: Secret,
    http: reqwest::Client,
    request_timeout: Duration,
}

impl std::fmt::Debug for RainMakerCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RainMakerCloud")
            .field("base_url", &self.base_url)
            .field("access_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The cloud's error description: `description` of a JSON error body, else the start of the body.
fn describe_body(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => match v.get("description").and_then(Value::as_str) {
            Some(d) => d.to_owned(),
            None => v.to_string(),
        },
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut text: String = text.chars().filter(|c| !c.is_control()).take(MAX_DESCRIPTION).collect();
    if text.is_empty() {
        text.push_str("(empty body)");
    }
    text
}

fn string_field(operation: &'static str, v: &Value, key: &str) -> RainMakerResult<String> {
    match v.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(RainMakerError::CloudProtocol { operation, detail: format!("no `{key}` string in the answer") }),
    }
}

impl RainMakerCloud {
    /// A client for `base_url` (e.g. [`DEFAULT_BASE_URL`]; a trailing `/` is added when missing)
    /// authenticating with `access_token`. Each request is bounded by 30 s.
    pub fn new(base_url: &str, access_token: Secret) -> RainMakerResult<Self> {
        let base = base_url.trim();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RainMakerError::InvalidInput(
                "the RainMaker base URL must start with http:// or https://".into(),
            ));
        }
        if access_token.expose().is_empty() {
            return Err(RainMakerError::InvalidInput("the RainMaker access token is empty".into()));
        }
        reqwest::header::HeaderValue::from_bytes(access_token.expose())
            .map_err(|_| RainMakerError::InvalidInput("the access token contains invalid characters".into()))?;
        #[cfg(not(feature = "rainmaker-tls"))]
        if base.starts_with("https://") {
            return Err(RainMakerError::InvalidInput(
                "HTTPS needs the `rainmaker-tls` feature of rainmaker-prov".into(),
            ));
        }
        // reqwest without a built-in provider needs a process-wide one; an application that
        // installed its own keeps it.
        #[cfg(feature = "rainmaker-tls")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let request_timeout = Duration::from_secs(30);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(request_timeout)
            .build()
            .map_err(|e| RainMakerError::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        let mut base_url = base.to_owned();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Ok(Self { base_url, access_token, http, request_timeout })
    }

    /// Sets the bound on each request (default 30 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The base URL, ending with `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn call(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> RainMakerResult<Value> {
        let unreachable =
            |e: &dyn std::fmt::Display| RainMakerError::CloudUnreachable { operation, detail: e.to_string() };
        let mut auth = reqwest::header::HeaderValue::from_bytes(self.access_token.expose())
            .map_err(|_| RainMakerError::InvalidInput("the access token contains invalid characters".into()))?;
        auth.set_sensitive(true);
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let exchange = async {
            let mut resp = req.send().await.map_err(|e| unreachable(&e))?;
            let status = resp.status();
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(&e))? {
                if bytes.len() + chunk.len() > MAX_CLOUD_BODY {
                    return Err(RainMakerError::CloudProtocol {
                        operation,
                        detail: format!("answer larger than {MAX_CLOUD_BODY} bytes"),
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.request_timeout, exchange)
            .await
            .map_err(|_| unreachable(&"the request timed out"))??;
        log::debug!("rainmaker cloud: {operation} -> HTTP {}", status.as_u16());
        if !status.is_success() {
            return Err(RainMakerError::Http {
                operation,
                status: status.as_u16(),
                description: describe_body(&bytes),
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| RainMakerError::CloudProtocol { operation, detail: format!("not JSON: {e}") })
    }

    /// `POST user/nodes/mapping/initiate` `{"timeout": <secs>}` → the challenge for the device.
    pub async fn initiate_mapping_challenge(&self, timeout_secs: u32) -> RainMakerResult<MappingChallenge> {
        const OP: &str = "user/nodes/mapping/initiate";
        let body = json!({ "timeout": timeout_secs }).to_string().into_bytes();
        let v = self.call(OP, reqwest::Method::POST, OP, Some(body)).await?;
        Ok(MappingChallenge {
            challenge: string_field(OP, &v, "challenge")?,
            request_id: string_field(OP, &v, "request_id")?,
        })
    }

    /// `POST user/nodes/mapping/verify` with the device's signature (lowercase hex). A 4xx answer
    /// other than 401/403 (wrong signature, unknown or expired request) is
    /// [`RainMakerError::ChallengeRejected`]; 401/403 stay [`RainMakerError::Http`].
    pub async fn verify_mapping_challenge(
        &self,
        request_id: &str,
        node_id: &str,
        signature: &[u8],
    ) -> RainMakerResult<()> {
        const OP: &str = "user/nodes/mapping/verify";
        let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
        let body =
            json!({ "request_id": request_id, "node_id": node_id, "challenge_response": hex }).to_string().into_bytes();
        match self.call(OP, reqwest::Method::POST, OP, Some(body)).await {
            Ok(_) => Ok(()),
            Err(RainMakerError::Http { status, description, .. })
                if (400..500).contains(&status) && !matches!(status, 401 | 403) =>
            {
                Err(RainMakerError::ChallengeRejected { status, description })
            }
            Err(e) => Err(e),
        }
    }

    /// `PUT user/nodes/mapping` `{"user_id", "node_id", "secret_key", "operation": "add"}` →
    /// the request id to poll with [`RainMakerCloud::mapping_status`].
    pub async fn add_node_mapping(&self, user_id: &str, node_id: &str, secret_key: &str) -> RainMakerResult<String> {
        const OP: &str = "user/nodes/mapping";
        if node_id.is_empty() || secret_key.is_empty() {
            return Err(RainMakerError::InvalidInput("node id and secret key must not be empty".into()));
        }
        let mut body = json!({ "node_id": node_id, "secret_key": secret_key, "operation": "add" });
        if !user_id.is_empty() {
            body["user_id"] = Value::String(user_id.to_owned());
        }
        let bytes = body.to_string().into_bytes();
        if let Some(Value::String(s)) = body.get_mut("secret_key") {
            zeroize::Zeroize::zeroize(s);
        }
        let v = self.call(OP, reqwest::Method::PUT, OP, Some(bytes)).await?;
        let request_id = string_field(OP, &v, "request_id")?;
        log::info!("rainmaker cloud: mapping request {request_id} created for node {node_id}");
        Ok(request_id)
    }

    /// `GET user/nodes/mapping?request_id=<id>` → the request's status.
    pub async fn mapping_status(&self, request_id: &str) -> RainMakerResult<MappingStatus> {
        const OP: &str = "user/nodes/mapping (status)";
        let path = format!("user/nodes/mapping?request_id={}", encode_query_value(request_id));
        let v = self.call(OP, reqwest::Method::GET, &path, None).await?;
        Ok(MappingStatus::parse(&string_field(OP, &v, "request_status")?))
    }

    /// Polls [`RainMakerCloud::mapping_status`] until `confirmed`, within `poll.deadline`:
    /// `timedout` and `discarded` end it at once with their typed errors.
    pub async fn wait_for_mapping(&self, request_id: &str, poll: MappingPoll) -> RainMakerResult<()> {
        let started = tokio::time::Instant::now();
        loop {
            let remaining = poll.deadline.saturating_sub(started.elapsed());
            let status = match tokio::time::timeout(remaining, self.mapping_status(request_id)).await {
                Ok(status) => status?,
                Err(_) => {
                    return Err(RainMakerError::MappingNotConfirmed {
                        waited: started.elapsed(),
                        last_status: "(no answer)".into(),
                    });
                }
            };
            log::debug!("rainmaker cloud: mapping request {request_id} is `{}`", status.as_str());
            match status {
                MappingStatus::Confirmed => return Ok(()),
                MappingStatus::TimedOut => return Err(RainMakerError::MappingTimedOut),
                MappingStatus::Discarded => return Err(RainMakerError::MappingDiscarded),
                MappingStatus::Requested | MappingStatus::Other(_) => {}
            }
            if started.elapsed() + poll.interval > poll.deadline {
                return Err(RainMakerError::MappingNotConfirmed {
                    waited: started.elapsed(),
                    last_status: status.as_str().to_owned(),
                });
            }
            tokio::time::sleep(poll.interval).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The association flow
// ---------------------------------------------------------------------------------------------

/// Which association the device used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationMode {
    /// `ch_resp` (synchronous, docs/protocol.md 8.4).
    ChallengeResponse,
    /// `cloud_user_assoc` (confirmed by the cloud once the node is online, docs/protocol.md 8.2).
    UserAssoc,
}

/// A traditional mapping the device accepted, to be confirmed with the cloud after the network
/// provisioning succeeded. `Debug` redacts the secret key, which is wiped on drop.
#[derive(Clone)]
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
    /// The secret key the device received (the cloud matches it against the node's report).
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// docs/protocol.md 8.2 steps 5–6: asks the cloud to add the node, then polls until confirmed
    /// (bounded by `poll`). Call it once the device is online. Returns the node id.
    pub async fn confirm(&self, cloud: &RainMakerCloud, poll: MappingPoll) -> RainMakerResult<String> {
        let request_id = cloud.add_node_mapping(&self.user_id, &self.node_id, &self.secret_key).await?;
        cloud.wait_for_mapping(&request_id, poll).await?;
        log::info!("rainmaker: node {} added to the account", self.node_id);
        Ok(self.node_id.clone())
    }
}

/// What [`associate`] achieved.
#[derive(Debug, Clone)]
pub enum Association {
    /// Challenge-response: the node is on the account.
    Mapped {
        /// The node id.
        node_id: String,
    },
    /// Traditional mapping: the device has it; confirm with [`PendingMapping::confirm`] after
    /// the network provisioning.
    Pending(PendingMapping),
}

impl Association {
    /// The node id.
    pub fn node_id(&self) -> &str {
        match self {
            Association::Mapped { node_id } => node_id,
            Association::Pending(p) => &p.node_id,
        }
    }

    /// Which association was used.
    pub fn mode(&self) -> AssociationMode {
        match self {
            Association::Mapped { .. } => AssociationMode::ChallengeResponse,
            Association::Pending(_) => AssociationMode::UserAssoc,
        }
    }
}

/// Associates the device with the RainMaker user (docs/protocol.md 8 order), on a connected session:
/// challenge-response when `rmaker_extra.cap` lists `ch_resp` (cloud initiate → device signs →
/// cloud verify), otherwise the traditional mapping on `cloud_user_assoc` with a fresh UUID v4
/// secret key. A device with a pending claim gives [`RainMakerError::ClaimPending`]; one with
/// neither endpoint [`RainMakerError::NoAssociationEndpoint`].
pub async fn associate(session: &DeviceSession, cloud: &RainMakerCloud, user_id: &str) -> RainMakerResult<Association> {
    associate_with_rng(session, cloud, user_id, &mut rand::rng()).await
}

/// [`associate`] with the randomness for the secret key injected.
pub async fn associate_with_rng(
    session: &DeviceSession,
    cloud: &RainMakerCloud,
    user_id: &str,
    rng: &mut impl CryptoRng,
) -> RainMakerResult<Association> {
    let info = session.info().await.ok_or(Error::NotConnected)?;
    let version = info.version.info().cloned().unwrap_or_default();
    if version.needs_claim() {
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
    if user_id.is_empty() {
        return Err(RainMakerError::InvalidInput("the RainMaker user id is empty".into()));
    }
    log::info!("rainmaker: associating with cloud_user_assoc");
    let secret_key = new_secret_key(rng);
    let node_id = session.set_user_mapping(user_id, &secret_key).await?;
    Ok(Association::Pending(PendingMapping { node_id, user_id: user_id.to_owned(), secret_key }))
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
    fn cloud_client_validates_and_redacts() {
        assert!(matches!(RainMakerCloud::new("ftp://x", Secret::from("t")), Err(RainMakerError::InvalidInput(_))));
        assert!(matches!(RainMakerCloud::new("http://x", Secret::from("")), Err(RainMakerError::InvalidInput(_))));
        assert!(matches!(
            RainMakerCloud::new("http://x", Secret::from("bad\ntoken")),
            Err(RainMakerError::InvalidInput(_))
        ));
        // HTTPS works with the `rainmaker-tls` feature only.
        let https = RainMakerCloud::new(DEFAULT_BASE_URL, Secret::from("t"));
        assert_eq!(https.is_ok(), cfg!(feature = "rainmaker-tls"), "{https:?}");
        let cloud = RainMakerCloud::new("http://127.0.0.1:1/v1", Secret::from("tok-SECRET-123")).unwrap();
        assert_eq!(cloud.base_url(), "http://127.0.0.1:1/v1/");
        let dbg = format!("{cloud:?}");
        assert!(!dbg.contains("tok-SECRET-123") && dbg.contains("redacted"), "{dbg}");
        let pending = PendingMapping {
            node_id: "n".into(),
            user_id: "u".into(),
            secret_key: Zeroizing::new("s3cr3t-key".into()),
        };
        assert!(!format!("{pending:?}").contains("s3cr3t-key"));
    }

    #[test]
    fn helpers() {
        assert_eq!(encode_query_value("ab-C_9.~"), "ab-C_9.~");
        assert_eq!(encode_query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            describe_body(br#"{"status":"failure","description":"Invalid challenge response"}"#),
            "Invalid challenge response"
        );
        assert_eq!(describe_body(b""), "(empty body)");
        assert_eq!(describe_body(&[b'x'; 1000]).len(), MAX_DESCRIPTION);
        for s in ["requested", "confirmed", "timedout", "discarded", "weird"] {
            assert_eq!(MappingStatus::parse(s).as_str(), s);
        }
    }
}
