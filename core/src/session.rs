//! One device, one security session: capabilities, handshake and every provisioning endpoint.
//!
//! [`DeviceSession`] is the orchestration layer over a [`Transport`]: it runs the pure endpoint
//! codecs and the session cipher, bounds every exchange with a timeout, never has two requests in
//! flight, and maps every failure to a typed [`Error`] naming the step.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::endpoints::{self, proto_ver, thread, wifi};
use crate::error::{DowngradeReason, Error, Feature, Result, Step};
use crate::events::{NoProgress, ProgressEvent, ProgressListener};
use crate::security::{self, ClientHandshake, ClientStep, Credentials, Secret, SecurityLevel, SessionCipher};
use crate::transport::{Transport, TransportKind};

/// SRP username used when the caller and the QR code give none (ESP-IDF and RainMaker default).
pub const DEFAULT_SEC2_USERNAME: &str = "wifiprov";

/// Which security scheme to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityChoice {
    /// Read it from `proto-ver` (docs/protocol.md 7.3).
    #[default]
    Auto,
    /// Use this scheme whatever the device says.
    Fixed(SecurityLevel),
}

/// How a [`DeviceSession`] authenticates and how long it waits.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Security scheme selection.
    pub security: SecurityChoice,
    /// The weakest scheme the caller accepts; a device offering less is refused with
    /// [`Error::SecurityBelowMinimum`]. Default: security 1 (security 0 must be allowed explicitly).
    pub min_security: SecurityLevel,
    /// Proof of possession (security 1) or, when no SRP password is given, the SRP password
    /// (security 2).
    pub pop: Option<Secret>,
    /// SRP username (security 2); default [`DEFAULT_SEC2_USERNAME`].
    pub sec2_username: Option<String>,
    /// SRP password (security 2); defaults to the PoP.
    pub sec2_password: Option<Secret>,
    /// Upper bound for one request/response exchange (a blocking Wi-Fi scan can take seconds).
    pub exchange_timeout: Duration,
    /// The scheme the device is known to use, from its QR code (set by
    /// [`SessionOptions::apply_qr`](crate::session::SessionOptions::apply_qr)). A device
    /// offering less is refused with [`Error::PossibleImpostor`] before any credential is sent.
    pub expected_security: Option<SecurityLevel>,
    /// Accept a security 1 device that advertises `no_pop` even though a PoP was given (the PoP is
    /// then not used and the session is not authenticated). Default `false`: such a device is
    /// refused with [`Error::PossibleImpostor`], since an impostor can always claim `no_pop`.
    pub allow_no_pop: bool,
    /// Upper bound for a whole scan (start, status polls, every result page).
    pub scan_timeout: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            security: SecurityChoice::Auto,
            min_security: SecurityLevel::Sec1,
            pop: None,
            sec2_username: None,
            sec2_password: None,
            exchange_timeout: Duration::from_secs(30),
            expected_security: None,
            allow_no_pop: false,
            scan_timeout: Duration::from_secs(60),
        }
    }
}

/// How status polling after apply behaves: bounded by a deadline, with pauses that start at
/// `initial_interval` and grow ×1.5 per poll up to `max_interval`.
///
/// Pauses are measured from the start of one status request to the start of the next, so the
/// time an exchange takes does not stretch the cadence; on a link slower than the interval a
/// quarter of the interval is still left quiet after each answer. A poll that would start after
/// `deadline` is not made ([`Error::Timeout`]), and at most 1000 polls are made whatever the
/// deadline.
///
/// The default is a fixed 300 ms cadence (`initial_interval` = `max_interval` = 300 ms): once the
/// device has joined, the client learns it about 150 ms later on average (half the interval) plus
/// one exchange, and at most 300 ms plus one exchange later, whatever the join takes. The price is
/// at most 3.4 status requests per second (50 for a 15 s join) while the device joins; on most ESP
/// chips BLE and Wi-Fi share one radio, so keep intervals at or above 250 ms (at most 4 requests
/// per second). Longer intervals cost less radio time and add lag; a growing schedule (e.g.
/// 250 ms up to 2 s, the former default) makes about 1 s of lag on average over 1–15 s joins.
#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    /// Give up (with [`Error::Timeout`]) when the device is still connecting after this long.
    /// Default 90 s.
    pub deadline: Duration,
    /// Pause between apply and the first status request, and the first pause between two status
    /// requests (start to start). Default 300 ms.
    pub initial_interval: Duration,
    /// Longest pause between two status requests (start to start); the pause grows ×1.5 per poll
    /// from `initial_interval` up to this. Default 300 ms, i.e. a fixed cadence.
    pub max_interval: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(90),
            initial_interval: DEFAULT_POLL_INTERVAL,
            max_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// The default pause between two status requests after apply (see [`PollOptions`]).
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(300);

/// What [`DeviceSession::connect`] learned about the device.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SessionInfo {
    /// The parsed `proto-ver` answer (or its absence).
    pub version: proto_ver::ProtoVersion,
    /// The scheme in use.
    pub security: SecurityLevel,
    /// The `sec_patch_ver` the device reported (0 when absent).
    pub sec_patch_ver: u8,
}

/// How x is derived in one security 2 handshake attempt of [`DeviceSession::connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sec2Variant {
    /// docs/protocol.md 4.3.2 exactly.
    Standard,
    /// The inner digest without its leading zero bytes (hazard 1).
    StrippedInnerHash,
    /// A 16-byte salt without its last byte (hazard 2).
    TruncatedSalt,
}

/// A device that reports "scan not finished" this many times in a row is given up on.
const MAX_SCAN_STATUS_POLLS: u32 = 200;

/// Status polls after apply are given up on after this many, whatever the deadline (a zero
/// interval must not turn into a flood).
const MAX_STATUS_POLLS: u32 = 1000;

/// The most scan results a device can hold: firmware keeps at most
/// `CONFIG_WIFI_PROV_SCAN_MAX_ENTRIES` (1..=255) results; a larger count is a protocol error.
pub const MAX_SCAN_RESULTS: u32 = 255;

/// The largest response accepted from a device on any endpoint. Firmware answers fit in a few
/// kilobytes (the SoftAP server takes 4 KiB requests, BLE carries about 512 bytes); anything
/// larger is refused before it is decoded.
pub const MAX_RESPONSE_LEN: usize = 16 * 1024;

/// The `sec_patch_ver` values this implementation knows for security 2.
fn sec2_patch(number: u8) -> Option<security::Sec2Patch> {
    match number {
        0 => Some(security::Sec2Patch::Patch0),
        1 => Some(security::Sec2Patch::Patch1),
        _ => None,
    }
}

/// Paces status polling after apply: pauses from one request's start to the next (growing from
/// `initial_interval` to `max_interval`), bounded by the deadline and [`MAX_STATUS_POLLS`].
struct Poller {
    options: PollOptions,
    started: tokio::time::Instant,
    interval: Duration,
    /// When the previous status request was started.
    last: Option<tokio::time::Instant>,
    polls: u32,
}

impl Poller {
    fn new(options: PollOptions) -> Self {
        Self { options, started: tokio::time::Instant::now(), interval: options.initial_interval, last: None, polls: 0 }
    }

    /// Waits before the next poll; returns its number, or a timeout once the deadline would pass.
    /// Called right after the previous answer arrived.
    async fn next(&mut self) -> Result<u32> {
        let at = match self.last {
            None => self.started + self.interval,
            Some(last) => {
                self.interval = (self.interval * 3 / 2).min(self.options.max_interval);
                // Start to start, but leave the link quiet for a while after a slow answer.
                let at = (last + self.interval).max(tokio::time::Instant::now() + self.interval / 4);
                if at.duration_since(self.started) > self.options.deadline || self.polls >= MAX_STATUS_POLLS {
                    return Err(Error::Timeout { step: Step::ConnectionStatus });
                }
                at
            }
        };
        tokio::time::sleep_until(at).await;
        self.last = Some(tokio::time::Instant::now());
        self.polls += 1;
        Ok(self.polls)
    }
}

/// A transport failure while polling after apply: the credentials were applied, the outcome is
/// unknown.
fn outcome_unknown(err: Error) -> Error {
    match err {
        Error::Disconnected { step, .. } | Error::Timeout { step } => Error::OutcomeUnknown { step },
        other => other,
    }
}

/// The codec functions of one kind of scan (Wi-Fi or Thread) on `prov-scan`.
struct ScanCodec<T> {
    step: Step,
    start: Vec<u8>,
    parse_start: fn(&[u8]) -> std::result::Result<(), endpoints::EndpointError>,
    status: fn() -> Vec<u8>,
    parse_status: fn(&[u8]) -> std::result::Result<wifi::ScanStatus, endpoints::EndpointError>,
    result: fn(u32, u32) -> Vec<u8>,
    parse_result: fn(&[u8]) -> std::result::Result<Vec<T>, endpoints::EndpointError>,
}

struct State {
    cipher: Option<SessionCipher>,
    info: Option<SessionInfo>,
}

/// A provisioning session with one device over one transport.
///
/// Sessions are independent objects: many can run at once, each with its own transport, cipher
/// and cookie jar.
pub struct DeviceSession {
    transport: Arc<dyn Transport>,
    options: SessionOptions,
    listener: Arc<dyn ProgressListener>,
    state: Mutex<State>,
    /// The step in progress (what an overall timeout reports).
    current_step: std::sync::Mutex<Step>,
}

impl std::fmt::Debug for DeviceSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSession").field("transport", &self.transport.kind()).finish_non_exhaustive()
    }
}

impl DeviceSession {
    /// A session over `transport`; nothing is sent until [`DeviceSession::connect`].
    pub fn new(transport: Arc<dyn Transport>, options: SessionOptions) -> Self {
        Self {
            transport,
            options,
            listener: Arc::new(NoProgress),
            state: Mutex::new(State { cipher: None, info: None }),
            current_step: std::sync::Mutex::new(Step::ReadCapabilities),
        }
    }

    /// Sets the listener that receives progress events.
    pub fn with_listener(mut self, listener: Arc<dyn ProgressListener>) -> Self {
        self.listener = listener;
        self
    }

    /// The transport under this session.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    fn emit(&self, event: ProgressEvent) {
        self.listener.on_progress(event);
    }

    /// The step in progress, or the last one started: what a bound around the whole flow reports
    /// when it expires.
    pub fn current_step(&self) -> Step {
        self.current_step.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set_step(&self, step: &Step) {
        *self.current_step.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = step.clone();
    }

    async fn raw_exchange(&self, step: &Step, endpoint: &str, body: Vec<u8>) -> Result<Vec<u8>> {
        self.set_step(step);
        let fut = self.transport.send(endpoint.to_owned(), body);
        match tokio::time::timeout(self.options.exchange_timeout, fut).await {
            Ok(Ok(resp)) if resp.len() > MAX_RESPONSE_LEN => Err(Error::Protocol {
                step: step.clone(),
                detail: format!("a response of {} bytes (the limit is {MAX_RESPONSE_LEN})", resp.len()),
            }),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(Error::from_transport(step.clone(), e)),
            Err(_) => Err(Error::Timeout { step: step.clone() }),
        }
    }

    /// Reads `proto-ver` without changing the session state.
    pub async fn read_version(&self) -> Result<proto_ver::ProtoVersion> {
        let step = Step::ReadCapabilities;
        match self.raw_exchange(&step, endpoints::PROTO_VER, proto_ver::REQUEST_BODY.to_vec()).await {
            Ok(body) => Ok(proto_ver::parse(&body)),
            // Very old firmware has no version endpoint at all (docs/protocol.md 7.3 step 3).
            Err(Error::EndpointNotFound { .. }) => Ok(proto_ver::ProtoVersion::Empty),
            Err(e) => Err(e),
        }
    }

    /// Reads capabilities, picks the security scheme, enforces the minimum and runs the handshake.
    /// Calling it again starts a fresh security session.
    pub async fn connect(&self) -> Result<SessionInfo> {
        let mut state = self.state.lock().await;
        state.cipher = None;
        state.info = None;
        self.emit(ProgressEvent::ReadingCapabilities);
        let version = self.read_version().await?;
        let detected = proto_ver::detect_security(&version);
        let (level, use_pop) = self.accept_security(&detected)?;
        // The GCM nonce mode follows the advertised patch level; a device_nonce of the other
        // length is refused. Unknown when the scheme was forced against what the device says.
        let patch = match (level, detected.sec_ver) {
            (SecurityLevel::Sec2, 2) => Some(sec2_patch(detected.sec_patch_ver).ok_or_else(|| Error::Protocol {
                step: Step::ReadCapabilities,
                detail: format!("unsupported security 2 patch level {}", detected.sec_patch_ver),
            })?),
            _ => None,
        };
        log::info!(
            "device session: security {} (patch {}), detected from {:?}",
            level.number(),
            detected.sec_patch_ver,
            detected.source
        );
        self.emit(ProgressEvent::SecurityChosen { level, patch: detected.sec_patch_ver });
        self.emit(ProgressEvent::Handshaking);
        // A rejected security 2 proof may come from one of two firmware-side derivation bugs
        // (docs/protocol.md 4.3.2 hazards 1 and 2); each gets one fresh handshake at most, so a
        // connect runs three handshakes at the very most.
        let mut variant = Sec2Variant::Standard;
        let mut stripped_tried = false;
        let mut truncated_tried = false;
        let cipher = loop {
            let creds = match (self.credentials(level, use_pop)?, variant) {
                (Credentials::Sec2 { username, password }, Sec2Variant::StrippedInnerHash) => {
                    Credentials::Sec2Stripped { username, password }
                }
                (creds, _) => creds,
            };
            let truncate = variant == Sec2Variant::TruncatedSalt;
            let mut salt_suspect = false;
            match self.handshake(creds, patch, truncate, &mut salt_suspect).await {
                Ok(cipher) => break cipher,
                Err(Error::WrongCredentials) if level == SecurityLevel::Sec2 => {
                    if !stripped_tried && self.stripped_retry_applies() {
                        // Verifiers generated by Espressif's Python tool for a password whose inner
                        // hash starts with a zero byte embed a stripped x; retry once with that
                        // derivation.
                        stripped_tried = true;
                        variant = Sec2Variant::StrippedInnerHash;
                    } else if !truncated_tried && salt_suspect {
                        truncated_tried = true;
                        variant = Sec2Variant::TruncatedSalt;
                        log::info!(
                            "device session: the device rejected the security 2 proof; retrying once with the \
                             last byte of its 16-byte salt dropped, in case the device firmware generated its \
                             verifier over 15 salt bytes (a known firmware bug when the random salt starts with \
                             a zero byte). If this succeeds, other clients will still fail until the device's \
                             NVS is erased (it then generates a new salt and verifier)."
                        );
                    } else {
                        return Err(Error::WrongCredentials);
                    }
                    self.emit(ProgressEvent::RetryingHandshake);
                }
                Err(e) => return Err(e),
            }
        };
        if variant == Sec2Variant::TruncatedSalt {
            log::info!(
                "device session: authenticated with the 15-byte salt derivation: this device's stored verifier \
                 is affected by the salt generation bug; erase its NVS so other clients can connect"
            );
        }
        log::info!("device session: secure session established");
        self.emit(ProgressEvent::SessionEstablished);
        let info = SessionInfo { version, security: level, sec_patch_ver: detected.sec_patch_ver };
        state.cipher = Some(cipher);
        state.info = Some(info.clone());
        Ok(info)
    }

    fn sec2_username(&self) -> String {
        self.options.sec2_username.clone().unwrap_or_else(|| DEFAULT_SEC2_USERNAME.to_owned())
    }

    fn sec2_password(&self) -> Option<Secret> {
        self.options.sec2_password.clone().or_else(|| self.options.pop.clone())
    }

    fn stripped_retry_applies(&self) -> bool {
        match self.sec2_password() {
            Some(pw) => security::sec2_inner_hash_has_leading_zero(&self.sec2_username(), pw.expose()),
            None => false,
        }
    }

    fn has_pop(&self) -> bool {
        self.options.pop.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// The weakest scheme the caller's credentials allow: SRP credentials are for security 2, a
    /// PoP needs a device that proves it knows it (security 1 at least).
    fn implied_by_credentials(&self) -> Option<SecurityLevel> {
        if self.options.sec2_password.is_some() {
            Some(SecurityLevel::Sec2)
        } else if self.has_pop() {
            Some(SecurityLevel::Sec1)
        } else {
            None
        }
    }

    /// Chooses the scheme and whether the PoP is used, refusing any downgrade: the scheme must
    /// reach the caller's minimum, the QR code's level and what the credentials imply, and a
    /// `no_pop` device is refused while a PoP is held (unless the caller opted in).
    fn accept_security(&self, detected: &proto_ver::DetectedSecurity) -> Result<(SecurityLevel, bool)> {
        let qr = self.options.expected_security;
        let implied = self.implied_by_credentials();
        let minimum = self.options.min_security;
        let level = match self.options.security {
            SecurityChoice::Fixed(level) => {
                // A device that states its scheme runs only that one: any other handshake fails,
                // so say so before trying (legacy firmware states none and is tried as asked).
                if detected.source == proto_ver::DetectionSource::SecVer
                    && let Ok(device) = SecurityLevel::try_from(detected.sec_ver)
                    && device != level
                {
                    return Err(Error::SecurityMismatch { chosen: level, device });
                }
                // The caller's own choice contradicting the caller's own inputs is a usage error.
                if let Some(need) = [Some(minimum), qr, implied].into_iter().flatten().find(|need| level < *need) {
                    return Err(Error::InvalidInput {
                        detail: format!(
                            "the security scheme chosen ({level}) is below what the minimum, the QR code or the \
                         credentials require ({need})"
                        ),
                    });
                }
                // The PoP is used whenever one is held; without one, only a `no_pop` device works.
                return Ok((level, self.has_pop() || !detected.no_pop));
            }
            SecurityChoice::Auto => SecurityLevel::try_from(detected.sec_ver).map_err(|_| Error::Protocol {
                step: Step::ReadCapabilities,
                detail: format!("the device reports an unsupported security version {}", detected.sec_ver),
            })?,
        };
        if level < minimum {
            return Err(Error::SecurityBelowMinimum { offered: level, minimum });
        }
        if let Some(qr) = qr.filter(|qr| level < *qr) {
            return Err(Error::PossibleImpostor { reason: DowngradeReason::BelowQrCode { offered: level, qr } });
        }
        if let Some(required) = implied.filter(|required| level < *required) {
            return Err(Error::PossibleImpostor {
                reason: DowngradeReason::BelowCredentials { offered: level, required },
            });
        }
        if level == SecurityLevel::Sec1 && detected.no_pop {
            if !self.has_pop() {
                log::warn!("device session: the device advertises no_pop; the session will not be authenticated");
                return Ok((level, false));
            }
            if !self.options.allow_no_pop {
                return Err(Error::PossibleImpostor { reason: DowngradeReason::NoPopWhilePopGiven });
            }
            log::warn!("device session: no_pop accepted by the caller; the PoP is not used");
            return Ok((level, false));
        }
        Ok((level, true))
    }

    fn credentials(&self, level: SecurityLevel, use_pop: bool) -> Result<Credentials> {
        Ok(match level {
            SecurityLevel::Sec0 => Credentials::Sec0,
            SecurityLevel::Sec1 => {
                let pop = if use_pop { self.options.pop.clone().filter(|p| !p.is_empty()) } else { None };
                if pop.is_none() && use_pop {
                    return Err(Error::CredentialsRequired { security: level });
                }
                Credentials::Sec1 { pop }
            }
            SecurityLevel::Sec2 => {
                let password = self.sec2_password().ok_or(Error::CredentialsRequired { security: level })?;
                Credentials::Sec2 { username: self.sec2_username(), password }
            }
        })
    }

    /// One handshake. `drop_last_salt_byte`: security 2 x over a 16-byte salt without its last
    /// byte (docs/protocol.md 4.3.2 hazard 2). `salt_suspect` is set when the device's salt has
    /// the shape of that hazard (16 bytes starting with `00`) so the caller can decide on a retry.
    async fn handshake(
        &self,
        creds: Credentials,
        patch: Option<security::Sec2Patch>,
        drop_last_salt_byte: bool,
        salt_suspect: &mut bool,
    ) -> Result<SessionCipher> {
        let step = Step::Handshake;
        let (mut hs, mut request) = {
            let mut rng = rand::rng();
            ClientHandshake::start(creds, &mut rng).map_err(|e| Error::from_security(step.clone(), e))?
        };
        if let Some(patch) = patch {
            hs = hs.expect_sec2_patch(patch);
        }
        if drop_last_salt_byte {
            hs = hs.sec2_drop_last_salt_byte();
        }
        loop {
            *salt_suspect |= hs.sec2_salt_may_be_corrupted();
            let response = match self.raw_exchange(&step, endpoints::PROV_SESSION, request).await {
                Ok(r) => r,
                Err(Error::Disconnected { .. }) => {
                    // The device failed the request: on the proof step that means it rejected our
                    // credentials.
                    return Err(Error::from_security(step, hs.on_rejected()));
                }
                Err(e) => return Err(e),
            };
            match hs.on_response(&response).map_err(|e| Error::from_security(step.clone(), e))? {
                ClientStep::Send(next, req) => {
                    hs = next;
                    request = req;
                }
                ClientStep::Done(cipher) => return Ok(cipher),
            }
        }
    }

    /// What [`DeviceSession::connect`] found, if connected.
    pub async fn info(&self) -> Option<SessionInfo> {
        self.state.lock().await.info.clone()
    }

    /// Encrypts `plaintext`, sends it to `endpoint`, decrypts the answer. Any transport failure
    /// ends the security session (the cipher state can no longer be trusted, docs/protocol.md 12.22).
    pub async fn exchange(&self, step: Step, endpoint: &str, plaintext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut state = self.state.lock().await;
        // The cipher is taken out for the duration of the exchange and put back only when the
        // exchange completed: if this future is dropped (cancelled) or the transport fails, the
        // keystream/counter state is unknown and the session must be re-established.
        let mut cipher = state.cipher.take().ok_or(Error::NotConnected)?;
        let wire = cipher.encrypt(plaintext).map_err(|e| Error::from_security(step.clone(), e))?;
        let resp = self.raw_exchange(&step, endpoint, wire).await?;
        let plain = cipher.decrypt(&resp).map_err(|e| Error::from_security(step, e))?;
        state.cipher = Some(cipher);
        Ok(Zeroizing::new(plain))
    }

    fn scan_page_size(&self) -> u32 {
        match (self.transport.kind(), self.transport.max_payload()) {
            (TransportKind::Ble, _) => 4,
            (_, Some(limit)) if limit <= 512 => 4,
            (_, Some(limit)) => ((limit / 64) as u32).clamp(4, 50),
            (_, None) => 50,
        }
    }

    /// Default scan parameters for this transport (docs/protocol.md 6.2).
    pub fn default_scan_params(&self) -> wifi::ScanParams {
        wifi::ScanParams::for_transport(self.transport.kind())
    }

    /// Scans for Wi-Fi networks and reads every result page.
    pub async fn scan_wifi(&self, params: Option<wifi::ScanParams>) -> Result<Vec<wifi::WifiNetwork>> {
        let params = params.unwrap_or_else(|| self.default_scan_params());
        let codec = ScanCodec {
            step: Step::WifiScan,
            start: wifi::scan_start_request(&params),
            parse_start: wifi::parse_scan_start_response,
            status: wifi::scan_status_request,
            parse_status: wifi::parse_scan_status_response,
            result: wifi::scan_result_request,
            parse_result: wifi::parse_scan_result_response,
        };
        self.scan(codec).await
    }

    /// Runs a scan: start, poll the status (bounded) until finished, read every result page.
    async fn scan<T>(&self, codec: ScanCodec<T>) -> Result<Vec<T>> {
        let step = codec.step.clone();
        match tokio::time::timeout(self.options.scan_timeout, self.scan_unbounded(codec)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { step }),
        }
    }

    async fn scan_unbounded<T>(&self, codec: ScanCodec<T>) -> Result<Vec<T>> {
        let step = codec.step;
        let endpoint_err = |step: &Step| {
            let step = step.clone();
            move |e| Error::from_endpoint(step, e)
        };
        self.emit(ProgressEvent::Scanning);
        let resp = self.exchange(step.clone(), endpoints::PROV_SCAN, &codec.start).await?;
        (codec.parse_start)(&resp).map_err(endpoint_err(&step))?;
        let mut interval = Duration::from_millis(100);
        let mut polls = 0u32;
        let count = loop {
            let resp = self.exchange(step.clone(), endpoints::PROV_SCAN, &(codec.status)()).await?;
            let status = (codec.parse_status)(&resp).map_err(endpoint_err(&step))?;
            if status.finished {
                break status.count;
            }
            polls += 1;
            if polls > MAX_SCAN_STATUS_POLLS {
                return Err(Error::Timeout { step });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 3 / 2).min(Duration::from_secs(1));
        };
        if count > MAX_SCAN_RESULTS {
            return Err(Error::Protocol {
                step,
                detail: format!("the device reports {count} scan results (firmware keeps at most {MAX_SCAN_RESULTS})"),
            });
        }
        let page = self.scan_page_size();
        // Bounded above: count <= MAX_SCAN_RESULTS was checked.
        let mut found = Vec::with_capacity(count as usize);
        let mut start = 0u32;
        while start < count {
            let n = page.min(count - start);
            let resp = self.exchange(step.clone(), endpoints::PROV_SCAN, &(codec.result)(start, n)).await?;
            let entries = (codec.parse_result)(&resp).map_err(endpoint_err(&step))?;
            if entries.is_empty() {
                return Err(Error::Protocol { step, detail: format!("empty scan page at index {start} of {count}") });
            }
            if entries.len() > n as usize {
                return Err(Error::Protocol {
                    step,
                    detail: format!("a scan page of {} entries where {n} were asked for", entries.len()),
                });
            }
            // At most `n` (<= 255) entries: the conversion cannot fail.
            start += u32::try_from(entries.len()).unwrap_or(n);
            found.extend(entries);
        }
        self.emit(ProgressEvent::ScanFinished { count: u32::try_from(found.len()).unwrap_or(u32::MAX) });
        Ok(found)
    }

    /// Refuses credentials of a network kind the device's `proto-ver` capabilities rule out, before
    /// anything is sent (a device handed the wrong kind fails to decode the request and drops the
    /// link, which says nothing useful). Thread needs `thread_prov` (network_provisioning built for
    /// Thread); Wi-Fi is refused only by a device that lists `thread_prov` without `wifi_prov`
    /// (Wi-Fi-only firmware of every generation lists neither). Not connected: no check, the
    /// exchange itself reports it.
    async fn require_network_kind(&self, step: &Step, thread: bool) -> Result<()> {
        let state = self.state.lock().await;
        let Some(info) = &state.info else { return Ok(()) };
        let (caps, listed) = match &info.version {
            proto_ver::ProtoVersion::Json { info: v } => match &v.prov {
                Some(prov) => (prov.cap.clone(), true),
                None => (Vec::new(), false),
            },
            _ => (Vec::new(), false),
        };
        let has = |cap: &str| caps.iter().any(|c| c == cap);
        let (supported, what) = if thread {
            (has(proto_ver::CAP_THREAD_PROV), Feature::ThreadProvisioning)
        } else {
            (!has(proto_ver::CAP_THREAD_PROV) || has(proto_ver::CAP_WIFI_PROV), Feature::WifiProvisioning)
        };
        if supported {
            return Ok(());
        }
        let detail = if listed {
            format!("its proto-ver capabilities are [{}]", caps.join(", "))
        } else {
            "its proto-ver answer lists no capabilities (firmware that provisions Wi-Fi only)".to_owned()
        };
        Err(Error::Unsupported { step: step.clone(), what, detail })
    }

    /// Sends Wi-Fi credentials (`prov-config` set). Refused before sending when the device's
    /// capabilities rule Wi-Fi out ([`Error::Unsupported`]).
    pub async fn set_wifi_config(&self, ssid: &[u8], passphrase: &[u8]) -> Result<()> {
        let step = Step::SendCredentials;
        self.require_network_kind(&step, false).await?;
        let req = wifi::set_config_request(ssid, passphrase).map_err(|e| Error::from_endpoint(step.clone(), e))?;
        self.emit(ProgressEvent::SendingCredentials);
        let resp = self.exchange(step.clone(), endpoints::PROV_CONFIG, &req).await?;
        wifi::parse_set_config_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// Applies the credentials sent before (`prov-config` apply).
    pub async fn apply_wifi_config(&self) -> Result<()> {
        let step = Step::ApplyCredentials;
        let resp = match self.exchange(step.clone(), endpoints::PROV_CONFIG, &wifi::apply_config_request()).await {
            Ok(resp) => resp,
            // The request may have been applied before the link went away.
            Err(Error::Disconnected { step, .. } | Error::Timeout { step }) => {
                return Err(Error::OutcomeUnknown { step });
            }
            Err(e) => return Err(e),
        };
        wifi::parse_apply_config_response(&resp).map_err(|e| Error::from_endpoint(step, e))?;
        self.emit(ProgressEvent::Applying);
        Ok(())
    }

    /// Reads the Wi-Fi connection status once.
    pub async fn wifi_status(&self) -> Result<wifi::WifiStatus> {
        let step = Step::ConnectionStatus;
        let resp = self.exchange(step.clone(), endpoints::PROV_CONFIG, &wifi::get_status_request()).await?;
        wifi::parse_get_status_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// `prov-ctrl` reset: after a failed attempt, return the device to "ready for credentials".
    pub async fn reset_wifi(&self) -> Result<()> {
        let step = Step::Control;
        let resp = self.exchange(step.clone(), endpoints::PROV_CTRL, &wifi::ctrl_reset_request()).await?;
        wifi::parse_ctrl_reset_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// `prov-ctrl` reprov: make an already provisioned device accept new credentials.
    pub async fn reprovision_wifi(&self) -> Result<()> {
        let step = Step::Control;
        let resp = self.exchange(step.clone(), endpoints::PROV_CTRL, &wifi::ctrl_reprov_request()).await?;
        wifi::parse_ctrl_reprov_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// Sends credentials, applies them and polls the status until the device is connected or has
    /// failed, within `poll.deadline`. On a failure the device is reset (`prov-ctrl`), when it
    /// supports it, so the caller can retry with other credentials on the same session.
    pub async fn provision_wifi(
        &self,
        ssid: &[u8],
        passphrase: &[u8],
        poll: PollOptions,
    ) -> Result<wifi::WifiConnectedInfo> {
        self.set_wifi_config(ssid, passphrase).await?;
        self.apply_wifi_config().await?;
        self.set_step(&Step::ConnectionStatus);
        let mut poller = Poller::new(poll);
        loop {
            let polls = poller.next().await?;
            match self.wifi_status().await.map_err(outcome_unknown)? {
                wifi::WifiStatus::Connected { info } => {
                    self.emit(ProgressEvent::Connected);
                    return Ok(info);
                }
                wifi::WifiStatus::Failed { reason } => {
                    let err = match reason {
                        wifi::WifiFailReason::AuthError => Error::WifiAuthFailed,
                        wifi::WifiFailReason::NetworkNotFound => Error::WifiNetworkNotFound,
                        wifi::WifiFailReason::Unknown { raw: code } => Error::WifiFailed { reason_code: code },
                    };
                    match self.reset_wifi().await {
                        Ok(()) => self.emit(ProgressEvent::ResetAfterFailure),
                        Err(e) => log::info!("prov-ctrl reset after a failed attempt did not succeed: {e}"),
                    }
                    return Err(err);
                }
                wifi::WifiStatus::Connecting { attempts_remaining } => {
                    self.emit(ProgressEvent::Connecting { polls, attempts_remaining });
                }
                wifi::WifiStatus::Disconnected => {
                    self.emit(ProgressEvent::Connecting { polls, attempts_remaining: None })
                }
            }
        }
    }

    /// Scans for Thread networks (network_provisioning devices with `thread_scan`).
    pub async fn scan_thread(&self) -> Result<Vec<thread::ThreadNetwork>> {
        let codec = ScanCodec {
            step: Step::ThreadScan,
            start: thread::scan_start_request(true, 0),
            parse_start: thread::parse_scan_start_response,
            status: thread::scan_status_request,
            parse_status: thread::parse_scan_status_response,
            result: thread::scan_result_request,
            parse_result: thread::parse_scan_result_response,
        };
        self.scan(codec).await
    }

    /// Reads the Thread attach status once.
    pub async fn thread_status(&self) -> Result<thread::ThreadStatus> {
        let step = Step::ConnectionStatus;
        let resp = self.exchange(step.clone(), endpoints::PROV_CONFIG, &thread::get_status_request()).await?;
        thread::parse_get_status_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// Sends a Thread Active Operational Dataset (`prov-config` set). A device without the
    /// `thread_prov` capability is refused ([`Error::Unsupported`]). The dataset is checked first
    /// ([`thread::validate_dataset`]): a malformed one is refused with [`Error::InvalidInput`]
    /// before anything is sent, since the device would accept it here and fail only at apply
    /// (docs/protocol.md 12.1).
    pub async fn set_thread_config(&self, dataset: &[u8]) -> Result<()> {
        let step = Step::SendCredentials;
        self.require_network_kind(&step, true).await?;
        thread::validate_dataset(dataset).map_err(|e| Error::InvalidInput { detail: e.to_string() })?;
        let req = thread::set_config_request(dataset).map_err(|e| Error::from_endpoint(step.clone(), e))?;
        self.emit(ProgressEvent::SendingCredentials);
        let resp = self.exchange(step.clone(), endpoints::PROV_CONFIG, &req).await?;
        thread::parse_set_config_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// Applies the dataset sent before (`prov-config` apply). `InternalError` means the device
    /// already applied a dataset in this provisioning round ([`Error::AlreadyProvisioned`]).
    pub async fn apply_thread_config(&self) -> Result<()> {
        let step = Step::ApplyCredentials;
        let resp = match self.exchange(step.clone(), endpoints::PROV_CONFIG, &thread::apply_config_request()).await {
            Ok(resp) => resp,
            // The dataset may have been applied before the link went away.
            Err(Error::Disconnected { step, .. } | Error::Timeout { step }) => {
                return Err(Error::OutcomeUnknown { step });
            }
            Err(e) => return Err(e),
        };
        thread::parse_apply_config_response(&resp).map_err(|e| Error::from_endpoint(step, e))?;
        self.emit(ProgressEvent::Applying);
        Ok(())
    }

    /// `prov-ctrl` Thread reset (docs/protocol.md 6.6): after a failed attach, return the device to
    /// "ready for a dataset" so another one can be sent on the same session.
    pub async fn reset_thread(&self) -> Result<()> {
        let step = Step::Control;
        let resp = self.exchange(step.clone(), endpoints::PROV_CTRL, &thread::ctrl_reset_request()).await?;
        thread::parse_ctrl_reset_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// `prov-ctrl` Thread reprov (docs/protocol.md 6.6): make an attached device whose firmware
    /// keeps provisioning running accept a new dataset.
    pub async fn reprovision_thread(&self) -> Result<()> {
        let step = Step::Control;
        let resp = self.exchange(step.clone(), endpoints::PROV_CTRL, &thread::ctrl_reprov_request()).await?;
        thread::parse_ctrl_reprov_response(&resp).map_err(|e| Error::from_endpoint(step, e))
    }

    /// Checks and sends a Thread Active Operational Dataset, applies it and polls until attached or
    /// failed, within `poll.deadline`. An invalid dataset is refused before anything is sent. On a
    /// failed attach the device is reset (`prov-ctrl`), when it supports it, so the caller can
    /// retry with another dataset on the same session, as [`DeviceSession::provision_wifi`] does.
    pub async fn provision_thread(&self, dataset: &[u8], poll: PollOptions) -> Result<thread::ThreadStatus> {
        self.set_thread_config(dataset).await?;
        self.apply_thread_config().await?;
        self.set_step(&Step::ConnectionStatus);
        let mut poller = Poller::new(poll);
        loop {
            let polls = poller.next().await?;
            let status = self.thread_status().await.map_err(outcome_unknown)?;
            match status {
                thread::ThreadStatus::Attached { .. } => {
                    self.emit(ProgressEvent::Connected);
                    return Ok(status);
                }
                thread::ThreadStatus::Failed { reason } => {
                    let err = Error::ThreadAttachFailed { detail: format!("{reason:?}") };
                    match self.reset_thread().await {
                        Ok(()) => self.emit(ProgressEvent::ResetAfterFailure),
                        Err(e) => log::info!("prov-ctrl Thread reset after a failed attach did not succeed: {e}"),
                    }
                    return Err(err);
                }
                thread::ThreadStatus::Attaching | thread::ThreadStatus::Detached => {
                    self.emit(ProgressEvent::Connecting { polls, attempts_remaining: None });
                }
            }
        }
    }

    /// Sends application bytes to a custom endpoint (encrypted like every normal endpoint) and
    /// returns the device's answer.
    pub async fn send_custom(&self, endpoint: &str, data: &[u8]) -> Result<Vec<u8>> {
        if endpoint.is_empty() || endpoint.contains(['/', ' ', '?', '#']) {
            return Err(Error::InvalidInput { detail: format!("invalid endpoint name `{endpoint}`") });
        }
        self.emit(ProgressEvent::SendingCustomData { endpoint: endpoint.to_owned() });
        let resp = self.exchange(Step::Custom { endpoint: endpoint.to_owned() }, endpoint, data).await?;
        Ok(resp.to_vec())
    }

    /// Ends the security session and closes the transport.
    pub async fn disconnect(&self) {
        let mut state = self.state.lock().await;
        state.cipher = None;
        state.info = None;
        self.transport.disconnect().await;
    }
}
