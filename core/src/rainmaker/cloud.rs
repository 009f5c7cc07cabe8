//! The RainMaker cloud client (docs/protocol.md 8.1–8.4): login with the OTP step and refresh,
//! the user id from the id token, user-node mapping, challenge-response and claiming calls, all
//! through an injected [`HttpBackend`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use zeroize::{Zeroize, Zeroizing};

use super::http::{HttpBackend, HttpError, HttpHeader, HttpMethod, HttpRequest, MAX_RESPONSE_BODY};
use super::{RainMakerError, RainMakerResult};
use crate::security::Secret;

/// RainMaker's public REST base (global region), as published.
pub const DEFAULT_BASE_URL: &str = "https://api.rainmaker.espressif.com/v1/";
/// The public assisted-claiming service base (global region).
pub const DEFAULT_CLAIM_URL: &str = "https://esp-claiming.rainmaker.espressif.com/";
/// The challenge lifetime the RainMaker CLI asks for, in seconds.
pub const DEFAULT_CHALLENGE_TIMEOUT_SECS: u32 = 360;
/// Longest cloud error description kept in an error message.
const MAX_DESCRIPTION: usize = 300;
/// An access token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN_SECS: u64 = 30;

/// Where the cloud is and how long one request may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// REST API base (default [`DEFAULT_BASE_URL`]). `https://`, or `http://` for a loopback
    /// address only (test clouds).
    pub base_url: String,
    /// Claiming service base (default [`DEFAULT_CLAIM_URL`]), same rule.
    pub claim_url: String,
    /// Bound on each request, enforced by the client whatever the backend does.
    pub request_timeout: Duration,
}

impl Default for CloudConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            claim_url: DEFAULT_CLAIM_URL.to_owned(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The tokens of a logged-in account. Every field is a secret: `Debug` redacts them and they
/// are wiped on drop. Persist them with care (the CLI writes them to a file only its user can
/// read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTokens {
    /// Access token (a JWT), sent raw in `Authorization`.
    pub access_token: Secret,
    /// Id token (a JWT): carries the user id.
    pub id_token: Secret,
    /// Refresh token: trades for new access and id tokens.
    pub refresh_token: Secret,
}

/// What a login attempt needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in: the tokens are in the client ([`RainMakerCloud::tokens`]).
    LoggedIn,
    /// The account needs a one-time code: call [`RainMakerCloud::login_with_code`] with this
    /// session and the code the user received.
    CodeRequired {
        /// The cloud's OTP session handle.
        session: Secret,
    },
}

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
    /// Parses the cloud's `request_status` string.
    pub fn parse(s: &str) -> Self {
        match s {
            "requested" => MappingStatus::Requested,
            "confirmed" => MappingStatus::Confirmed,
            "timedout" => MappingStatus::TimedOut,
            "discarded" => MappingStatus::Discarded,
            other => MappingStatus::Other(other.to_owned()),
        }
    }

    /// The cloud's string for this status.
    pub fn as_str(&self) -> &str {
        match self {
            MappingStatus::Requested => "requested",
            MappingStatus::Confirmed => "confirmed",
            MappingStatus::TimedOut => "timedout",
            MappingStatus::Discarded => "discarded",
            MappingStatus::Other(s) => s,
        }
    }
}

struct Inner {
    config: CloudConfig,
    backend: Arc<dyn HttpBackend>,
    tokens: Mutex<Option<CloudTokens>>,
}

/// A RainMaker cloud client. Cheap to clone (clones share the tokens, so a refresh done by one
/// is seen by all). `Debug` shows the URLs only.
#[derive(Clone)]
pub struct RainMakerCloud {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RainMakerCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RainMakerCloud")
            .field("base_url", &self.inner.config.base_url)
            .field("claim_url", &self.inner.config.claim_url)
            .field("logged_in", &self.has_tokens())
            .finish_non_exhaustive()
    }
}

/// Checks a base URL (`https://`, or `http://` on loopback) and adds the trailing `/`.
pub fn normalize_base_url(what: &str, url: &str) -> RainMakerResult<String> {
    let url = url.trim();
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = host_of(rest);
        if !is_loopback_host(host) {
            return Err(RainMakerError::InvalidInput {
                detail: format!("the {what} `{url}` uses plain http:// on a non-loopback host; use https://"),
            });
        }
        rest
    } else {
        return Err(RainMakerError::InvalidInput { detail: format!("the {what} must start with https://") });
    };
    if host_of(rest).is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RainMakerError::InvalidInput { detail: format!("the {what} `{url}` is not a valid URL") });
    }
    let mut out = url.to_owned();
    if !out.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

/// The host part of `host[:port][/path]` (brackets kept for IPv6).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority.split(']').next().map_or("", |h| &authority[..h.len() + 1]);
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub(crate) fn encode_query_value(s: &str) -> String {
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

/// The cloud's error description: `description` of a JSON error body, else the start of the
/// body, without control characters.
pub(crate) fn describe_body(body: &[u8]) -> String {
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
        Some(s) if !s.is_empty() && s.len() <= 4096 => Ok(s.to_owned()),
        _ => Err(RainMakerError::CloudProtocol {
            operation: operation.into(),
            detail: format!("no usable `{key}` string in the answer"),
        }),
    }
}

fn secret_field(operation: &'static str, v: &mut Value, key: &str) -> RainMakerResult<Secret> {
    match v.get_mut(key) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 16 * 1024 => {
            let secret = Secret::from(s.as_str());
            s.zeroize();
            Ok(secret)
        }
        _ => Err(RainMakerError::CloudProtocol {
            operation: operation.into(),
            detail: format!("no `{key}` in the answer"),
        }),
    }
}

/// Wipes every string of a JSON value (answers that carried tokens).
fn wipe(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(wipe),
        Value::Object(o) => o.values_mut().for_each(wipe),
        _ => {}
    }
}

/// The claims of a JWT (its middle part, base64url JSON). Not verified: the phone only reads its
/// own account's id and expiry from tokens the cloud gave it.
pub fn jwt_claims(token: &[u8]) -> Option<Value> {
    use base64ct::Encoding;
    let text = std::str::from_utf8(token).ok()?;
    let payload = text.split('.').nth(1)?;
    let decoded = Zeroizing::new(base64ct::Base64UrlUnpadded::decode_vec(payload.trim_end_matches('=')).ok()?);
    serde_json::from_slice(&decoded).ok()
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl RainMakerCloud {
    /// A client for `config` speaking through `backend`, not logged in.
    pub fn new(config: CloudConfig, backend: Arc<dyn HttpBackend>) -> RainMakerResult<Self> {
        let base_url = normalize_base_url("RainMaker API URL", &config.base_url)?;
        let claim_url = normalize_base_url("RainMaker claiming URL", &config.claim_url)?;
        if config.request_timeout.is_zero() {
            return Err(RainMakerError::InvalidInput { detail: "the cloud request timeout must not be zero".into() });
        }
        let config = CloudConfig { base_url, claim_url, request_timeout: config.request_timeout };
        Ok(Self { inner: Arc::new(Inner { config, backend, tokens: Mutex::new(None) }) })
    }

    /// Uses these tokens (e.g. read back from the app's storage).
    pub fn set_tokens(&self, tokens: CloudTokens) {
        *self.inner.tokens.lock().unwrap_or_else(PoisonError::into_inner) = Some(tokens);
    }

    /// A client that uses an access token only (no refresh): e.g. one the app obtained itself.
    pub fn with_access_token(
        config: CloudConfig,
        backend: Arc<dyn HttpBackend>,
        access_token: Secret,
    ) -> RainMakerResult<Self> {
        let cloud = Self::new(config, backend)?;
        cloud.set_tokens(CloudTokens { access_token, id_token: Secret::from(""), refresh_token: Secret::from("") });
        Ok(cloud)
    }

    /// The current tokens (they change when refreshed: persist them again after a flow).
    pub fn tokens(&self) -> Option<CloudTokens> {
        self.inner.tokens.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forgets the tokens (local logout).
    pub fn clear_tokens(&self) {
        *self.inner.tokens.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Whether the client holds an access token.
    pub fn has_tokens(&self) -> bool {
        self.tokens().is_some_and(|t| !t.access_token.is_empty())
    }

    /// The configuration in use (URLs normalised with a trailing `/`).
    pub fn config(&self) -> &CloudConfig {
        &self.inner.config
    }

    /// The RainMaker user id (`custom:user_id` of the id token), needed for the traditional
    /// mapping.
    pub fn user_id(&self) -> RainMakerResult<String> {
        self.id_claim("custom:user_id")
    }

    /// The account's e-mail address or phone number, from the id token, when it carries one.
    pub fn user_name(&self) -> Option<String> {
        self.id_claim("email").ok().or_else(|| self.id_claim("phone_number").ok())
    }

    fn id_claim(&self, claim: &str) -> RainMakerResult<String> {
        let tokens = self.tokens().ok_or(RainMakerError::LoginRequired)?;
        jwt_claims(tokens.id_token.expose())
            .and_then(|c| c.get(claim).and_then(Value::as_str).map(str::to_owned))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| RainMakerError::CloudProtocol {
                operation: "login2".into(),
                detail: format!("the id token carries no `{claim}`"),
            })
    }

    /// Whether the access token's `exp` is past (or within 30 s). A token without a readable
    /// `exp` counts as valid: the cloud's 401 decides.
    pub fn access_token_expired(&self) -> bool {
        let Some(tokens) = self.tokens() else { return true };
        jwt_claims(tokens.access_token.expose())
            .and_then(|c| c.get("exp").and_then(Value::as_u64))
            .is_some_and(|exp| exp <= now_unix() + EXPIRY_MARGIN_SECS)
    }

    /// `POST login2` with user name and password. Returns [`LoginOutcome::CodeRequired`] when the
    /// account uses a one-time code. A wrong password is [`RainMakerError::LoginRejected`].
    pub async fn login(&self, user_name: &str, password: &Secret) -> RainMakerResult<LoginOutcome> {
        if user_name.trim().is_empty() || password.is_empty() {
            return Err(RainMakerError::InvalidInput {
                detail: "the user name and the password must not be empty".into(),
            });
        }
        let password = std::str::from_utf8(password.expose())
            .map_err(|_| RainMakerError::InvalidInput { detail: "the password is not valid UTF-8".into() })?;
        let body = Zeroizing::new(json!({ "user_name": user_name.trim(), "password": password }).to_string());
        let mut answer = self.login_call(body.as_bytes()).await?;
        if answer.get("accesstoken").is_none()
            && let Ok(session) = secret_field("login2", &mut answer, "session")
        {
            wipe(&mut answer);
            log::info!("rainmaker cloud: the account needs a one-time code");
            return Ok(LoginOutcome::CodeRequired { session });
        }
        self.take_tokens(&mut answer, None)?;
        Ok(LoginOutcome::LoggedIn)
    }

    /// The OTP step of a login: `POST login2` with the session from [`LoginOutcome::CodeRequired`]
    /// and the code the user received.
    pub async fn login_with_code(&self, user_name: &str, session: &Secret, code: &str) -> RainMakerResult<()> {
        let session = std::str::from_utf8(session.expose())
            .map_err(|_| RainMakerError::InvalidInput { detail: "the login session is not valid UTF-8".into() })?;
        let code = code.trim();
        if code.is_empty() {
            return Err(RainMakerError::InvalidInput { detail: "the verification code is empty".into() });
        }
        let body = Zeroizing::new(
            json!({ "user_name": user_name.trim(), "session": session, "verification_code": code }).to_string(),
        );
        let mut answer = self.login_call(body.as_bytes()).await?;
        self.take_tokens(&mut answer, None)
    }

    /// Trades the refresh token for new access and id tokens (`POST login2 {"refreshtoken"}`).
    /// Without a refresh token: [`RainMakerError::LoginRequired`]; a refused one:
    /// [`RainMakerError::LoginRejected`] (log in again).
    pub async fn refresh(&self) -> RainMakerResult<()> {
        let tokens = self.tokens().ok_or(RainMakerError::LoginRequired)?;
        if tokens.refresh_token.is_empty() {
            return Err(RainMakerError::LoginRequired);
        }
        let refresh = std::str::from_utf8(tokens.refresh_token.expose())
            .map_err(|_| RainMakerError::InvalidInput { detail: "the refresh token is not valid UTF-8".into() })?;
        let body = Zeroizing::new(json!({ "refreshtoken": refresh }).to_string());
        let mut answer = self.login_call(body.as_bytes()).await?;
        self.take_tokens(&mut answer, Some(tokens.refresh_token.clone()))?;
        log::info!("rainmaker cloud: access token refreshed");
        Ok(())
    }

    async fn login_call(&self, body: &[u8]) -> RainMakerResult<Value> {
        const OP: &str = "login2";
        // Straight to the backend: a login never refreshes (and must not recurse into refresh).
        match self.send_once(OP, HttpMethod::Post, &Target::Api("login2"), Some(body), false).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| RainMakerError::CloudProtocol { operation: OP.into(), detail: format!("not JSON: {e}") }),
            Err(RainMakerError::Http { status, description, .. }) if (400..500).contains(&status) => {
                Err(RainMakerError::LoginRejected { status, description })
            }
            Err(e) => Err(e),
        }
    }

    fn take_tokens(&self, answer: &mut Value, keep_refresh: Option<Secret>) -> RainMakerResult<()> {
        let result = (|| -> RainMakerResult<CloudTokens> {
            let access_token = secret_field("login2", answer, "accesstoken")?;
            let id_token = secret_field("login2", answer, "idtoken")?;
            let refresh_token = match keep_refresh {
                Some(keep) => secret_field("login2", answer, "refreshtoken").unwrap_or(keep),
                None => secret_field("login2", answer, "refreshtoken")?,
            };
            Ok(CloudTokens { access_token, id_token, refresh_token })
        })();
        wipe(answer);
        self.set_tokens(result?);
        Ok(())
    }

    async fn call(
        &self,
        operation: &'static str,
        method: HttpMethod,
        target: Target<'_>,
        body: Option<&[u8]>,
    ) -> RainMakerResult<Value> {
        let bytes = self.call_raw(operation, method, target, body).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| RainMakerError::CloudProtocol {
            operation: operation.into(),
            detail: format!("not JSON: {e}"),
        })
    }

    /// One authenticated call with the raw answer body: refreshes an expired access token first
    /// and, on a 401, refreshes once and retries.
    async fn call_raw(
        &self,
        operation: &'static str,
        method: HttpMethod,
        target: Target<'_>,
        body: Option<&[u8]>,
    ) -> RainMakerResult<Zeroizing<Vec<u8>>> {
        let can_refresh = || self.tokens().is_some_and(|t| !t.refresh_token.is_empty());
        if !self.has_tokens() {
            return Err(RainMakerError::LoginRequired);
        }
        if self.access_token_expired() && can_refresh() {
            log::info!("rainmaker cloud: the access token has expired; refreshing it");
            self.refresh().await?;
        }
        match self.send_once(operation, method, &target, body, true).await {
            Err(RainMakerError::Http { status: 401, .. }) if can_refresh() => {
                log::info!("rainmaker cloud: `{operation}` answered 401; refreshing the access token");
                self.refresh().await?;
                self.send_once(operation, method, &target, body, true).await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        operation: &'static str,
        method: HttpMethod,
        target: &Target<'_>,
        body: Option<&[u8]>,
        authed: bool,
    ) -> RainMakerResult<Zeroizing<Vec<u8>>> {
        let cfg = &self.inner.config;
        let url = match target {
            Target::Api(path) => format!("{}{path}", cfg.base_url),
            Target::Claim(path) => format!("{}{path}", cfg.claim_url),
        };
        let mut headers = vec![HttpHeader { name: "Accept".into(), value: "application/json".into() }];
        if body.is_some() {
            headers.push(HttpHeader { name: "Content-Type".into(), value: "application/json".into() });
        }
        if authed {
            let tokens = self.tokens().ok_or(RainMakerError::LoginRequired)?;
            let token = std::str::from_utf8(tokens.access_token.expose())
                .ok()
                .filter(|t| t.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| RainMakerError::InvalidInput {
                    detail: "the access token contains invalid characters".into(),
                })?;
            headers.push(HttpHeader { name: "Authorization".into(), value: token.to_owned() });
        }
        let request = HttpRequest { method, url, headers, body: body.map(<[u8]>::to_vec).unwrap_or_default() };
        let unreachable = |detail: String| RainMakerError::CloudUnreachable { operation: operation.into(), detail };
        let answer = tokio::time::timeout(cfg.request_timeout, self.inner.backend.send(request)).await;
        let response = match answer {
            Err(_) => return Err(unreachable(format!("no answer within {:?}", cfg.request_timeout))),
            Ok(Err(HttpError::TooLarge { limit })) => {
                return Err(RainMakerError::CloudProtocol {
                    operation: operation.into(),
                    detail: format!("answer larger than {limit} bytes"),
                });
            }
            Ok(Err(HttpError::InvalidRequest { detail })) => return Err(RainMakerError::InvalidInput { detail }),
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Ok(Ok(r)) => r,
        };
        let body = Zeroizing::new(response.body);
        log::debug!("rainmaker cloud: {operation} -> HTTP {}", response.status);
        if body.len() > MAX_RESPONSE_BODY {
            return Err(RainMakerError::CloudProtocol {
                operation: operation.into(),
                detail: format!("answer larger than {MAX_RESPONSE_BODY} bytes"),
            });
        }
        if !(200..300).contains(&response.status) {
            return Err(RainMakerError::Http {
                operation: operation.into(),
                status: response.status,
                description: describe_body(&body),
            });
        }
        Ok(body)
    }

    /// `POST user/nodes/mapping/initiate` `{"timeout": <secs>}` → the challenge for the device.
    pub async fn initiate_mapping_challenge(&self, timeout_secs: u32) -> RainMakerResult<MappingChallenge> {
        const OP: &str = "user/nodes/mapping/initiate";
        let body = json!({ "timeout": timeout_secs }).to_string();
        let v = self.call(OP, HttpMethod::Post, Target::Api(OP), Some(body.as_bytes())).await?;
        Ok(MappingChallenge {
            challenge: string_field(OP, &v, "challenge")?,
            request_id: string_field(OP, &v, "request_id")?,
        })
    }

    /// `POST user/nodes/mapping/verify` with the device's signature (lowercase hex). A 4xx answer
    /// other than 401/403 (wrong signature, unknown or expired request) is
    /// [`RainMakerError::ChallengeRejected`].
    pub async fn verify_mapping_challenge(
        &self,
        request_id: &str,
        node_id: &str,
        signature: &[u8],
    ) -> RainMakerResult<()> {
        const OP: &str = "user/nodes/mapping/verify";
        let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
        let body = json!({ "request_id": request_id, "node_id": node_id, "challenge_response": hex }).to_string();
        match self.call(OP, HttpMethod::Post, Target::Api(OP), Some(body.as_bytes())).await {
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
            return Err(RainMakerError::InvalidInput { detail: "node id and secret key must not be empty".into() });
        }
        let mut body = json!({ "node_id": node_id, "secret_key": secret_key, "operation": "add" });
        if !user_id.is_empty() {
            body["user_id"] = Value::String(user_id.to_owned());
        }
        let bytes = Zeroizing::new(body.to_string());
        wipe(&mut body);
        let v = self.call(OP, HttpMethod::Put, Target::Api(OP), Some(bytes.as_bytes())).await?;
        let request_id = string_field(OP, &v, "request_id")?;
        log::info!("rainmaker cloud: mapping request {request_id} created for node {node_id}");
        Ok(request_id)
    }

    /// `GET user/nodes/mapping?request_id=<id>` → the request's status.
    pub async fn mapping_status(&self, request_id: &str) -> RainMakerResult<MappingStatus> {
        const OP: &str = "user/nodes/mapping (status)";
        let path = format!("user/nodes/mapping?request_id={}", encode_query_value(request_id));
        let v = self.call(OP, HttpMethod::Get, Target::Api(&path), None).await?;
        Ok(MappingStatus::parse(&string_field(OP, &v, "request_status")?))
    }

    /// `POST claim/initiate` on the claiming service with the device's Start answer; returns the
    /// answer byte for byte (it goes to the device unchanged).
    pub async fn claim_initiate(&self, device_info: &[u8]) -> RainMakerResult<Vec<u8>> {
        const OP: &str = "claim/initiate";
        self.claim_call(OP, device_info).await
    }

    /// `POST claim/verify` with the device's CSR JSON; returns the answer byte for byte (the
    /// device's JSON reader does not decode escapes, so it must not be re-serialised).
    pub async fn claim_verify(&self, csr_json: &[u8]) -> RainMakerResult<Vec<u8>> {
        const OP: &str = "claim/verify";
        self.claim_call(OP, csr_json).await
    }

    async fn claim_call(&self, op: &'static str, body: &[u8]) -> RainMakerResult<Vec<u8>> {
        match self.call_raw(op, HttpMethod::Post, Target::Claim(op), Some(body)).await {
            Ok(answer) => Ok(answer.to_vec()),
            Err(RainMakerError::Http { status, description, .. }) if !matches!(status, 401 | 403) => {
                Err(RainMakerError::ClaimRejected { operation: op.into(), status, description })
            }
            Err(e) => Err(e),
        }
    }
}

enum Target<'a> {
    Api(&'a str),
    Claim(&'a str),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(normalize_base_url("x", "https://api.example/v1").unwrap(), "https://api.example/v1/");
        assert_eq!(normalize_base_url("x", "http://127.0.0.1:8080/v1/").unwrap(), "http://127.0.0.1:8080/v1/");
        assert!(normalize_base_url("x", "http://localhost:1/").is_ok());
        assert!(normalize_base_url("x", "http://[::1]:1/").is_ok());
        for bad in ["http://api.example/v1", "ftp://x", "https://", "http://10.0.0.1/", "https://a b/", "api.example"] {
            assert!(matches!(normalize_base_url("x", bad), Err(RainMakerError::InvalidInput { .. })), "{bad}");
        }
        assert!(normalize_base_url("x", "http://127.0.0.1.evil.example/").is_err());
        assert!(normalize_base_url("x", "http://user@evil.example/").is_err());
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
        // {"custom:user_id":"u-1","exp":1}
        let token = b"eyJhbGciOiJub25lIn0.eyJjdXN0b206dXNlcl9pZCI6InUtMSIsImV4cCI6MX0.c2ln";
        let claims = jwt_claims(token).unwrap();
        assert_eq!(claims["custom:user_id"], "u-1");
        assert!(jwt_claims(b"not-a-jwt").is_none());
        assert!(jwt_claims(b"a.!!!.c").is_none());
    }
}
