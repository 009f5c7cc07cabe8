//! A fake ESP RainMaker cloud: a real HTTP/1.1 server on loopback that serves the REST calls the
//! provisioning flows make (docs/protocol.md 8.1-8.4), so that any HTTP client (reqwest, Java's
//! `HttpURLConnection`, Swift's `URLSession`) can be tested against it.
//!
//! One port serves both bases:
//! - the API base [`FakeCloud::base_url`] (`http://127.0.0.1:PORT/v1/`): `POST login2`
//!   (password, OTP and refresh-token logins), `POST user/nodes/mapping/initiate`,
//!   `POST user/nodes/mapping/verify`, `PUT user/nodes/mapping`, `GET user/nodes/mapping`;
//! - the claiming base [`FakeCloud::claim_url`] (`http://127.0.0.1:PORT/`): `POST claim/initiate`,
//!   `POST claim/verify`.
//!
//! Tokens are fake JWTs (`base64url(header).base64url(payload).base64url(signature)`, the
//! signature being random bytes); every call but `login2` needs `Authorization: <access token>`
//! (raw, no `Bearer `). Simulated devices are registered with [`FakeCloud::attach`]: a mapping
//! request is confirmed once an attached device with that node id is online and holds the same
//! user id and secret key (what the firmware would report over MQTT), and challenge responses
//! are checked with the node's public key. Nodes claimed through `claim/verify` count as
//! registered with their certified key.
//!
//! Failure modes ([`CloudFaults`]) are set in the [`FakeCloudConfig`] and can be switched while
//! the server runs ([`FakeCloud::update_faults`], [`FakeCloud::fail_next`]).
//!
//! Bounds: a request head of at most 16 KiB, a `Content-Length` body of at most 64 KiB, one
//! request per connection (`Connection: close`), 30 s to receive a request, 10 s to send the
//! answer, at most 64 connections at once. Bodies, tokens, passwords and secret keys are never
//! logged nor recorded. Dropping the [`FakeCloud`] stops the server and every connection.
//!
//! Timing (these bounds, [`CloudFaults::response_delay`], challenge expiry) follows tokio's
//! clock: under a paused test clock they advance with virtual time.

mod http;
mod pki;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::Encoding;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use zeroize::Zeroizing;

pub use pki::IssuedCertificate;

use crate::security::Secret;
use crate::sim::device::SimDevice;

/// How long a client has to send its whole request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long writing one answer may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Most connections served at once; further ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;

/// The size the padded `claim/verify` answer reaches at least ([`CloudFaults::oversized_claim_verify`]):
/// the device refuses a claim payload of this size (docs/protocol.md 8.3).
pub const OVERSIZED_CLAIM_ANSWER: usize = 3072;

/// Default `mqtt_host` of the `claim/verify` answer.
pub const DEFAULT_MQTT_HOST: &str = "fake-mqtt.invalid";

/// API paths (below the server root).
const LOGIN: &str = "/v1/login2";
const MAPPING_INITIATE: &str = "/v1/user/nodes/mapping/initiate";
const MAPPING_VERIFY: &str = "/v1/user/nodes/mapping/verify";
const MAPPING: &str = "/v1/user/nodes/mapping";
const CLAIM_INITIATE: &str = "/claim/initiate";
const CLAIM_VERIFY: &str = "/claim/verify";

/// Default `timeout` of a mapping challenge when the request gives none (the CLI's value).
const DEFAULT_CHALLENGE_TIMEOUT: u64 = 360;

/// Longest challenge timeout accepted (one day).
const MAX_CHALLENGE_TIMEOUT: u64 = 24 * 3600;

/// How the cloud answers `GET user/nodes/mapping` (docs/protocol.md 8.2 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MappingBehaviour {
    /// `confirmed` once the node reported the same user id and secret key, `requested` before.
    #[default]
    Normal,
    /// Always `requested`: the node never reports.
    NeverConfirmed,
    /// Always `timedout`.
    TimedOut,
    /// Always `discarded`.
    Discarded,
}

/// Failure modes of the fake cloud. All off by default.
#[derive(Debug, Clone, Default)]
pub struct CloudFaults {
    /// Every user-name login (password or OTP step) fails with 401 `Incorrect user name or
    /// password`, even with the right credentials.
    pub wrong_password: bool,
    /// A password login answers `{"session"}` only; the tokens come from a second `login2` with
    /// the session and [`FakeCloudConfig::otp_code`].
    pub otp_required: bool,
    /// User-name logins issue access (and id) tokens that are already expired; a refresh-token
    /// login issues valid ones.
    pub expired_access_tokens: bool,
    /// Pause before each answer (a slow cloud).
    pub response_delay: Duration,
    /// How mapping requests progress.
    pub mapping: MappingBehaviour,
    /// `user/nodes/mapping/verify` always answers 400 `Invalid challenge response`.
    pub reject_challenges: bool,
    /// The `claim/verify` answer is padded (an extra `padding` member) to at least
    /// [`OVERSIZED_CLAIM_ANSWER`] bytes.
    pub oversized_claim_verify: bool,
    /// `claim/initiate` answers 400 `Claiming refused`.
    pub refuse_claim_initiate: bool,
    /// Injected server errors, per path.
    pub fail_next: Vec<InjectedFailure>,
}

/// The next `count` requests to `path` (any method) are answered with HTTP `status` and
/// `{"status":"failure","description":"Injected failure"}`, before authentication or routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFailure {
    /// The request path, e.g. `/v1/login2` or `/claim/verify` (a missing leading `/` is added).
    pub path: String,
    /// How many requests still fail.
    pub count: u32,
    /// The HTTP status (normally 5xx).
    pub status: u16,
}

/// The fake cloud's account and behaviour.
#[derive(Clone)]
pub struct FakeCloudConfig {
    /// User name (e-mail) of the one test account.
    pub user_name: String,
    /// Its password.
    pub password: Secret,
    /// Its RainMaker user id (the id token's `custom:user_id`).
    pub user_id: String,
    /// The verification code the OTP step expects ([`CloudFaults::otp_required`]).
    pub otp_code: Secret,
    /// Lifetime of the access and id tokens issued.
    pub token_lifetime: Duration,
    /// `mqtt_host` of the `claim/verify` answer.
    pub mqtt_host: String,
    /// Failure modes at start.
    pub faults: CloudFaults,
}

impl std::fmt::Debug for FakeCloudConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloudConfig")
            .field("user_name", &self.user_name)
            .field("password", &self.password)
            .field("user_id", &self.user_id)
            .field("otp_code", &self.otp_code)
            .field("token_lifetime", &self.token_lifetime)
            .field("mqtt_host", &self.mqtt_host)
            .field("faults", &self.faults)
            .finish()
    }
}

impl Default for FakeCloudConfig {
    fn default() -> Self {
        Self {
            user_name: "tester@example.com".to_owned(),
            password: Secret::from("correct horse battery staple"),
            user_id: "Ux9fakeUserId0000000001".to_owned(),
            otp_code: Secret::from("123456"),
            token_lifetime: Duration::from_secs(3600),
            mqtt_host: DEFAULT_MQTT_HOST.to_owned(),
            faults: CloudFaults::default(),
        }
    }
}

impl FakeCloudConfig {
    /// The default account with this user name and password.
    pub fn new(user_name: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self { user_name: user_name.into(), password: password.into(), ..Self::default() }
    }

    /// Sets the account's user id.
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Sets the failure modes.
    pub fn with_faults(mut self, faults: CloudFaults) -> Self {
        self.faults = faults;
        self
    }
}

/// Tokens minted directly by [`FakeCloud::issue_tokens`] (what a successful login returns).
#[derive(Debug, Clone)]
pub struct FakeTokens {
    /// The id token (JWT with `custom:user_id`, `email`, `exp`).
    pub id_token: Secret,
    /// The access token (JWT with `exp`): the `Authorization` value.
    pub access_token: Secret,
    /// The refresh token (opaque).
    pub refresh_token: Secret,
}

/// A running fake RainMaker cloud. Dropping it stops the server.
pub struct FakeCloud {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloud").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        // The accept task owns the listener and the JoinSet of connections: aborting it closes
        // the port and aborts every connection task.
        self.accept.abort();
    }
}

impl FakeCloud {
    /// Binds `127.0.0.1` on a free port and starts serving (inside a tokio runtime).
    pub async fn start(config: FakeCloudConfig) -> io::Result<FakeCloud> {
        let ca = pki::FakeCa::generate().map_err(io::Error::other)?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { ca, state: Mutex::new(State::new(config)) });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        log::debug!("fake cloud: listening on {addr}");
        Ok(FakeCloud { addr, shared, accept })
    }

    /// The server's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The REST API base, `http://127.0.0.1:PORT/v1/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1/", self.addr)
    }

    /// The claiming base, `http://127.0.0.1:PORT/` (`claim/initiate`, `claim/verify` below it).
    pub fn claim_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Registers a simulated device: its node id (looked up at each request) and key take part
    /// in mapping confirmation and challenge verification.
    pub fn attach(&self, device: Arc<SimDevice>) {
        self.shared.lock().devices.push(device);
    }

    /// The test account's user id.
    pub fn user_id(&self) -> String {
        self.shared.lock().config.user_id.clone()
    }

    /// The test account's user name.
    pub fn user_name(&self) -> String {
        self.shared.lock().config.user_name.clone()
    }

    /// Every request received, oldest first, as `"METHOD /path"` (no query, no headers, no body).
    /// Requests the HTTP layer refused (malformed, oversized, incomplete) are not recorded.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().log.clone()
    }

    /// How many requests (any method) were received for `path` (e.g. `/v1/login2`).
    pub fn request_count(&self, path: &str) -> usize {
        self.shared.lock().counts.get(&normalize_path(path)).copied().unwrap_or(0)
    }

    /// `(user_id, node_id)` of every node added to an account (mapping confirmed or challenge
    /// verified), in that order, without duplicates.
    pub fn mapped_nodes(&self) -> Vec<(String, String)> {
        self.shared.lock().mapped.clone()
    }

    /// `(mac_addr, node_id)` of every `claim/initiate` answered, in that order.
    pub fn claimed_macs(&self) -> Vec<(String, String)> {
        self.shared.lock().claims_by_mac.clone()
    }

    /// The certificates issued by `claim/verify`, oldest first.
    pub fn issued_certificates(&self) -> Vec<IssuedCertificate> {
        self.shared.lock().issued.clone()
    }

    /// The fake claiming CA's self-signed certificate, PEM.
    pub fn ca_certificate_pem(&self) -> String {
        self.shared.ca.certificate_pem().to_owned()
    }

    /// The current failure modes.
    pub fn faults(&self) -> CloudFaults {
        self.shared.lock().config.faults.clone()
    }

    /// Replaces the failure modes.
    pub fn set_faults(&self, faults: CloudFaults) {
        self.shared.lock().config.faults = faults;
    }

    /// Changes the failure modes in place.
    pub fn update_faults(&self, change: impl FnOnce(&mut CloudFaults)) {
        change(&mut self.shared.lock().config.faults);
    }

    /// Answers the next `count` requests to `path` (any method) with HTTP `status`.
    pub fn fail_next(&self, path: &str, count: u32, status: u16) {
        let path = normalize_path(path);
        let mut st = self.shared.lock();
        st.config.faults.fail_next.retain(|f| f.path != path);
        st.config.faults.fail_next.push(InjectedFailure { path, count, status });
    }

    /// Mints a valid token set for the test account without a login request (test set-up).
    pub fn issue_tokens(&self) -> FakeTokens {
        let mut st = self.shared.lock();
        let (id, access) = st.mint_session(false);
        let refresh = st.mint_refresh();
        FakeTokens {
            id_token: Secret::new(id.as_bytes().to_vec()),
            access_token: Secret::new(access.as_bytes().to_vec()),
            refresh_token: Secret::new(refresh.as_bytes().to_vec()),
        }
    }
}

/// What the accept loop, the connections and the handle share.
struct Shared {
    ca: pki::FakeCa,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic in a test thread; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A challenge handed out by `user/nodes/mapping/initiate`.
struct PendingChallenge {
    user_id: String,
    challenge: String,
    expires: Instant,
}

/// A `PUT user/nodes/mapping` request.
struct MappingRequest {
    user_id: String,
    node_id: String,
    secret_key: Zeroizing<String>,
    confirmed: bool,
}

/// The cloud's mutable state.
struct State {
    config: FakeCloudConfig,
    /// Access token -> expiry (unix seconds).
    access_tokens: HashMap<String, u64>,
    refresh_tokens: HashSet<String>,
    otp_sessions: HashSet<String>,
    challenges: HashMap<String, PendingChallenge>,
    mappings: HashMap<String, MappingRequest>,
    /// `(mac, node id)` of the claims initiated.
    claims_by_mac: Vec<(String, String)>,
    /// Node ids initiated but not yet verified, oldest first.
    pending_claims: Vec<String>,
    /// Node id -> certified SubjectPublicKeyInfo.
    claimed_keys: HashMap<String, Vec<u8>>,
    issued: Vec<IssuedCertificate>,
    devices: Vec<Arc<SimDevice>>,
    mapped: Vec<(String, String)>,
    log: Vec<String>,
    counts: HashMap<String, usize>,
    next_serial: u64,
}

/// An answer: status and JSON body.
struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self { status: 200, body: body.to_string() }
    }

    fn failure(status: u16, description: &str) -> Self {
        Self { status, body: json!({"status": "failure", "description": description}).to_string() }
    }

    fn unauthorized() -> Self {
        Self::failure(401, "Unauthorized")
    }
}

impl State {
    fn new(config: FakeCloudConfig) -> Self {
        let mut config = config;
        for failure in &mut config.faults.fail_next {
            failure.path = normalize_path(&failure.path);
        }
        Self {
            config,
            access_tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            otp_sessions: HashSet::new(),
            challenges: HashMap::new(),
            mappings: HashMap::new(),
            claims_by_mac: Vec::new(),
            pending_claims: Vec::new(),
            claimed_keys: HashMap::new(),
            issued: Vec::new(),
            devices: Vec::new(),
            mapped: Vec::new(),
            log: Vec::new(),
            counts: HashMap::new(),
            next_serial: 2,
        }
    }

    /// Records a request and returns the injected failure status for it, if any.
    fn record(&mut self, method: &str, path: &str) -> Option<u16> {
        self.log.push(format!("{method} {path}"));
        *self.counts.entry(path.to_owned()).or_insert(0) += 1;
        let failures = &mut self.config.faults.fail_next;
        let failure = failures.iter_mut().find(|f| f.path == path && f.count > 0)?;
        failure.count -= 1;
        let status = failure.status;
        failures.retain(|f| f.count > 0);
        Some(status)
    }

    /// Mints an id token and an access token; `expired` makes both already expired.
    fn mint_session(&mut self, expired: bool) -> (Zeroizing<String>, Zeroizing<String>) {
        let now = unix_now();
        let lifetime = self.config.token_lifetime.as_secs().max(1);
        let exp = if expired { now.saturating_sub(3600) } else { now + lifetime };
        let user_id = self.config.user_id.clone();
        let id = fake_jwt(&json!({
            "sub": user_id,
            "custom:user_id": user_id,
            "email": self.config.user_name,
            "token_use": "id",
            "iat": now,
            "exp": exp,
            "jti": random_alphanumeric(16),
        }));
        let access = fake_jwt(&json!({
            "sub": user_id,
            "username": user_id,
            "token_use": "access",
            "iat": now,
            "exp": exp,
            "jti": random_alphanumeric(16),
        }));
        self.access_tokens.retain(|_, e| *e + 3600 > now);
        self.access_tokens.insert(access.to_string(), exp);
        (id, access)
    }

    fn mint_refresh(&mut self) -> Zeroizing<String> {
        let token = Zeroizing::new(random_alphanumeric(64));
        self.refresh_tokens.insert(token.to_string());
        token
    }

    /// The user id behind the request's `Authorization` header.
    fn authorize(&self, request: &http::Request) -> Result<String, Reply> {
        let token = request.header("authorization").ok_or_else(Reply::unauthorized)?;
        match self.access_tokens.get(token) {
            Some(exp) if *exp > unix_now() => Ok(self.config.user_id.clone()),
            _ => Err(Reply::unauthorized()),
        }
    }

    fn add_mapped(&mut self, user_id: &str, node_id: &str) {
        if !self.mapped.iter().any(|(u, n)| u == user_id && n == node_id) {
            log::debug!("fake cloud: node {node_id} added to user {user_id}");
            self.mapped.push((user_id.to_owned(), node_id.to_owned()));
        }
    }

    /// The attached devices whose node id is `node_id`.
    fn devices_for(&self, node_id: &str) -> Vec<Arc<SimDevice>> {
        self.devices.iter().filter(|d| d.rainmaker_node_id().as_deref() == Some(node_id)).cloned().collect()
    }
}

fn normalize_path(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `len` random ASCII letters and digits.
fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let byte: u8 = rand::RngExt::random(&mut rng);
        // Rejection sampling: 248 = 4 * 62 keeps the draw uniform.
        if byte < 248
            && let Some(&c) = ALPHABET.get(usize::from(byte % 62))
        {
            out.push(char::from(c));
        }
    }
    out
}

/// A JWT-shaped token: base64url header and payload, and 32 random bytes as the "signature".
fn fake_jwt(payload: &Value) -> Zeroizing<String> {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "fake-rainmaker-cloud"});
    let mut signature = [0u8; 32];
    rand::RngExt::fill(&mut rand::rng(), &mut signature);
    let b64 = base64ct::Base64UrlUnpadded::encode_string;
    Zeroizing::new(format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes()),
        b64(&signature)
    ))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            let _ = connections.join_next().await;
            continue;
        }
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(serve_connection(shared.clone(), stream));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                log::debug!("fake cloud: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, mut stream: TcpStream) {
    let request = match tokio::time::timeout(REQUEST_TIMEOUT, http::read_request(&mut stream)).await {
        Ok(Ok(request)) => request,
        Ok(Err(http::ReadError::Closed)) => return,
        Ok(Err(http::ReadError::Reject { status, description })) => {
            let answer = http::render(status, &Reply::failure(status, description).body);
            let _ = tokio::time::timeout(SEND_TIMEOUT, stream.write_all(&answer)).await;
            http::drain(&mut stream).await;
            return;
        }
        Err(_elapsed) => {
            let answer = http::render(408, &Reply::failure(408, "Request timeout").body);
            let _ = tokio::time::timeout(SEND_TIMEOUT, stream.write_all(&answer)).await;
            http::drain(&mut stream).await;
            return;
        }
    };
    let delay = shared.lock().config.faults.response_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = shared.handle(&request);
    let answer = http::render(reply.status, &reply.body);
    let _ = tokio::time::timeout(SEND_TIMEOUT, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await
    })
    .await;
}

impl Shared {
    fn handle(&self, request: &http::Request) -> Reply {
        let mut st = self.lock();
        log::debug!("fake cloud: {} {}", request.method, request.path);
        if let Some(status) = st.record(&request.method, &request.path) {
            return Reply::failure(status, "Injected failure");
        }
        let method = request.method.as_str();
        let path = request.path.as_str();
        let known = [LOGIN, MAPPING_INITIATE, MAPPING_VERIFY, MAPPING, CLAIM_INITIATE, CLAIM_VERIFY];
        let route = match (method, path) {
            ("POST", LOGIN) => return login(&mut st, request),
            ("POST", MAPPING_INITIATE) => Route::MappingInitiate,
            ("POST", MAPPING_VERIFY) => Route::MappingVerify,
            ("PUT", MAPPING) => Route::MappingAdd,
            ("GET", MAPPING) => Route::MappingStatus,
            ("POST", CLAIM_INITIATE) => Route::ClaimInitiate,
            ("POST", CLAIM_VERIFY) => Route::ClaimVerify,
            (_, p) if known.contains(&p) => return Reply::failure(405, "Method not allowed"),
            _ => return Reply::failure(404, "Not found"),
        };
        let user_id = match st.authorize(request) {
            Ok(user_id) => user_id,
            Err(reply) => return reply,
        };
        if route == Route::MappingStatus {
            return mapping_status(&mut st, &user_id, request);
        }
        let Some(body) = json_object(&request.body) else {
            return Reply::failure(400, "Invalid JSON body");
        };
        match route {
            Route::MappingInitiate => mapping_initiate(&mut st, &user_id, &body),
            Route::MappingVerify => mapping_verify(&mut st, &user_id, &body),
            Route::MappingAdd => mapping_add(&mut st, &user_id, &body),
            Route::ClaimInitiate => claim_initiate(&mut st, &body),
            Route::ClaimVerify => self.claim_verify(&mut st, &body),
            Route::MappingStatus => Reply::failure(500, "Internal server error"),
        }
    }

    fn claim_verify(&self, st: &mut State, body: &Value) -> Reply {
        let Some(csr_pem) = str_field(body, "csr") else {
            return Reply::failure(400, "Missing csr");
        };
        let csr = match pki::parse_csr(csr_pem) {
            Ok(csr) => csr,
            Err(e) => {
                log::debug!("fake cloud: claim/verify: {e}");
                return Reply::failure(400, "Invalid CSR");
            }
        };
        // The firmware puts the node id in the CSR's common name; otherwise the latest claim.
        let node_id = match pki::csr_common_name(&csr).filter(|cn| st.pending_claims.contains(cn)) {
            Some(cn) => cn,
            None => match st.pending_claims.last() {
                Some(id) => id.clone(),
                None => return Reply::failure(400, "No claim in progress"),
            },
        };
        let serial = st.next_serial;
        let issued = match self.ca.issue(&csr, &node_id, serial) {
            Ok(issued) => issued,
            Err(e) => {
                log::debug!("fake cloud: claim/verify refused: {e}");
                return Reply::failure(400, "Invalid CSR");
            }
        };
        st.next_serial += 1;
        st.pending_claims.retain(|id| id != &node_id);
        st.claimed_keys.insert(node_id.clone(), issued.public_key_spki.clone());
        let answer = claim_verify_answer(&issued.pem, &st.config.mqtt_host, st.config.faults.oversized_claim_verify);
        st.issued.push(issued);
        match answer {
            Some(body) => Reply { status: 200, body },
            None => Reply::failure(500, "Internal server error"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    MappingInitiate,
    MappingVerify,
    MappingAdd,
    MappingStatus,
    ClaimInitiate,
    ClaimVerify,
}

fn json_object(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.ct_eq(b))
}

/// `POST login2`: password login, OTP step, or refresh (docs/protocol.md 8.1).
fn login(st: &mut State, request: &http::Request) -> Reply {
    let Some(body) = json_object(&request.body) else {
        return Reply::failure(400, "Invalid JSON body");
    };
    if let Some(refresh) = body.get("refreshtoken") {
        let known = refresh.as_str().is_some_and(|r| st.refresh_tokens.contains(r));
        if !known {
            return Reply::failure(401, "Invalid refresh token");
        }
        let (id, access) = st.mint_session(false);
        return Reply::ok(json!({"status": "success", "idtoken": id.as_str(), "accesstoken": access.as_str()}));
    }
    let Some(user_name) = str_field(&body, "user_name") else {
        return Reply::failure(400, "Missing user_name");
    };
    let user_ok = user_name == st.config.user_name;
    if let Some(session) = str_field(&body, "session") {
        let Some(code) = str_field(&body, "verification_code") else {
            return Reply::failure(400, "Missing verification_code");
        };
        if st.config.faults.wrong_password || !user_ok {
            return Reply::failure(401, "Incorrect user name or password");
        }
        if !st.otp_sessions.contains(session) {
            return Reply::failure(401, "Invalid session for the user");
        }
        if !ct_eq(code.as_bytes(), st.config.otp_code.expose()) {
            return Reply::failure(401, "Invalid verification code");
        }
        st.otp_sessions.remove(session);
        return full_login(st);
    }
    let Some(password) = str_field(&body, "password") else {
        return Reply::failure(400, "Missing password");
    };
    let password_ok = ct_eq(password.as_bytes(), st.config.password.expose());
    if st.config.faults.wrong_password || !user_ok || !password_ok {
        return Reply::failure(401, "Incorrect user name or password");
    }
    if st.config.faults.otp_required {
        let session = random_alphanumeric(48);
        st.otp_sessions.insert(session.clone());
        return Reply::ok(json!({"session": session}));
    }
    full_login(st)
}

fn full_login(st: &mut State) -> Reply {
    let (id, access) = st.mint_session(st.config.faults.expired_access_tokens);
    let refresh = st.mint_refresh();
    Reply::ok(json!({
        "status": "success",
        "idtoken": id.as_str(),
        "accesstoken": access.as_str(),
        "refreshtoken": refresh.as_str(),
    }))
}

/// `POST user/nodes/mapping/initiate` (docs/protocol.md 8.4 step 1).
fn mapping_initiate(st: &mut State, user_id: &str, body: &Value) -> Reply {
    let timeout = match body.get("timeout") {
        None => DEFAULT_CHALLENGE_TIMEOUT,
        Some(t) => match t.as_u64() {
            Some(t) if (1..=MAX_CHALLENGE_TIMEOUT).contains(&t) => t,
            _ => return Reply::failure(400, "Invalid timeout"),
        },
    };
    let now = Instant::now();
    st.challenges.retain(|_, c| c.expires > now);
    let request_id = random_alphanumeric(24);
    let challenge = random_alphanumeric(32);
    st.challenges.insert(
        request_id.clone(),
        PendingChallenge {
            user_id: user_id.to_owned(),
            challenge: challenge.clone(),
            expires: now + Duration::from_secs(timeout),
        },
    );
    Reply::ok(json!({"challenge": challenge, "request_id": request_id}))
}

/// `POST user/nodes/mapping/verify` (docs/protocol.md 8.4 step 4).
fn mapping_verify(st: &mut State, user_id: &str, body: &Value) -> Reply {
    let (Some(request_id), Some(node_id), Some(response)) =
        (str_field(body, "request_id"), str_field(body, "node_id"), str_field(body, "challenge_response"))
    else {
        return Reply::failure(400, "Missing request_id, node_id or challenge_response");
    };
    let challenge = match st.challenges.get(request_id) {
        Some(c) if c.user_id == user_id && c.expires > Instant::now() => c.challenge.clone(),
        _ => return Reply::failure(400, "Invalid request id"),
    };
    let invalid = || Reply::failure(400, "Invalid challenge response");
    if st.config.faults.reject_challenges {
        return invalid();
    }
    let Some(signature) = decode_lower_hex(response) else {
        return invalid();
    };
    let mut keys: Vec<Vec<u8>> = st.devices_for(node_id).iter().filter_map(|d| d.rainmaker_public_key_spki()).collect();
    keys.extend(st.claimed_keys.get(node_id).cloned());
    if keys.is_empty() {
        return Reply::failure(400, "Node not registered");
    }
    if !keys.iter().any(|spki| pki::verify_challenge(spki, challenge.as_bytes(), &signature)) {
        return invalid();
    }
    st.challenges.remove(request_id);
    st.add_mapped(user_id, node_id);
    Reply::ok(json!({"status": "success"}))
}

/// Lowercase hex only (what the clients send); `None` for anything else.
fn decode_lower_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

/// `PUT user/nodes/mapping` (docs/protocol.md 8.2 step 5).
fn mapping_add(st: &mut State, user_id: &str, body: &Value) -> Reply {
    let (Some(node_id), Some(secret_key)) = (str_field(body, "node_id"), str_field(body, "secret_key")) else {
        return Reply::failure(400, "Missing node_id or secret_key");
    };
    if node_id.is_empty() || secret_key.is_empty() {
        return Reply::failure(400, "Empty node_id or secret_key");
    }
    if str_field(body, "operation") != Some("add") {
        return Reply::failure(400, "Invalid operation");
    }
    match body.get("user_id") {
        None => {}
        Some(u) if u.as_str() == Some(user_id) => {}
        Some(_) => return Reply::failure(400, "Invalid user_id"),
    }
    let request_id = random_alphanumeric(24);
    st.mappings.insert(
        request_id.clone(),
        MappingRequest {
            user_id: user_id.to_owned(),
            node_id: node_id.to_owned(),
            secret_key: Zeroizing::new(secret_key.to_owned()),
            confirmed: false,
        },
    );
    Reply::ok(json!({"request_id": request_id}))
}

/// `GET user/nodes/mapping?request_id=ID` (docs/protocol.md 8.2 step 6).
fn mapping_status(st: &mut State, user_id: &str, request: &http::Request) -> Reply {
    let Some(request_id) = request.query_param("request_id") else {
        return Reply::failure(400, "Missing request_id");
    };
    let behaviour = st.config.faults.mapping;
    let Some(mapping) = st.mappings.get(request_id).filter(|m| m.user_id == user_id) else {
        return Reply::failure(400, "Invalid request id");
    };
    let status = match behaviour {
        MappingBehaviour::NeverConfirmed => "requested",
        MappingBehaviour::TimedOut => "timedout",
        MappingBehaviour::Discarded => "discarded",
        MappingBehaviour::Normal if mapping.confirmed => "confirmed",
        MappingBehaviour::Normal => {
            let reported = st.devices_for(&mapping.node_id).iter().any(|device| {
                let online = device.connected_ssid().is_some() || device.thread_attached();
                online
                    && device.rainmaker_user_mappings().iter().any(|m| {
                        m.user_id == mapping.user_id && ct_eq(m.secret_key.as_bytes(), mapping.secret_key.as_bytes())
                    })
            });
            if reported { "confirmed" } else { "requested" }
        }
    };
    if status == "confirmed" {
        let node_id = mapping.node_id.clone();
        if let Some(m) = st.mappings.get_mut(request_id) {
            m.confirmed = true;
        }
        st.add_mapped(user_id, &node_id);
    }
    Reply::ok(json!({"request_id": request_id, "request_status": status}))
}

/// `POST claim/initiate` (docs/protocol.md 8.3 step 2).
fn claim_initiate(st: &mut State, body: &Value) -> Reply {
    if st.config.faults.refuse_claim_initiate {
        return Reply::failure(400, "Claiming refused");
    }
    let (Some(mac), Some(platform)) = (str_field(body, "mac_addr"), str_field(body, "platform")) else {
        return Reply::failure(400, "Missing mac_addr or platform");
    };
    if mac.len() != 12 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) || platform.is_empty() {
        return Reply::failure(400, "Invalid mac_addr or platform");
    }
    let mac = mac.to_ascii_uppercase();
    let node_id = match st.claims_by_mac.iter().find(|(m, _)| *m == mac) {
        Some((_, id)) => id.clone(),
        None => {
            let id = random_alphanumeric(22);
            st.claims_by_mac.push((mac, id.clone()));
            id
        }
    };
    if !st.pending_claims.contains(&node_id) {
        st.pending_claims.push(node_id.clone());
    }
    Reply::ok(json!({"node_id": node_id}))
}

/// The `claim/verify` answer: `{"certificate":"<PEM>","mqtt_host":"..."}` with the PEM's line
/// breaks as the JSON escape `\n` and no other escape (serde_json escapes only quotes,
/// backslashes and control characters, never `/`); padded past [`OVERSIZED_CLAIM_ANSWER`] bytes
/// when `oversized`.
fn claim_verify_answer(pem: &str, mqtt_host: &str, oversized: bool) -> Option<String> {
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        certificate: &'a str,
        mqtt_host: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        padding: Option<String>,
    }
    let plain = serde_json::to_string(&Answer { certificate: pem, mqtt_host, padding: None }).ok()?;
    if !oversized {
        return Some(plain);
    }
    // `,"padding":""` adds 13 bytes around the padding itself.
    let fill = OVERSIZED_CLAIM_ANSWER.saturating_sub(plain.len() + 13) + 16;
    serde_json::to_string(&Answer { certificate: pem, mqtt_host, padding: Some("x".repeat(fill)) }).ok()
}
