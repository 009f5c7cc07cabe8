//! A hostile device of our own (not the simulator): it runs an honest protocomm security session
//! but answers chosen endpoints with hostile content; the phone side must refuse it with a typed
//! error naming the step, before any credential leaves the phone where that matters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use rainmaker_prov::endpoints::{self, Status, qr, wifi};
use rainmaker_prov::error::{DowngradeReason, Error, Step};
use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::rng::FillRng;
use rainmaker_prov::security::{self, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, Secret, SecurityLevel};
use rainmaker_prov::session::{self, DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::transport::memory::MemoryTransport;
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};

const POP: &str = "pop-ABC";
const ONE_MB: usize = 1 << 20;

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TransportError>> + Send + 'a>>;
type UnitFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

// ------------------------------------------------------------------------------ the fake device

/// What the phone asked, as the fake device decoded it.
#[derive(Debug, Clone)]
enum Req {
    ProtoVer,
    /// The n-th `prov-session` message (1-based).
    Session(u32),
    Scan(wifi::ScanCommand),
    /// `prov-config`: "set", "apply" or "status".
    Config(&'static str),
    Ctrl,
    Custom(String),
}

/// How the fake device answers a request.
enum Reply {
    /// Encrypted under the session (or verbatim for `proto-ver` / `prov-session`).
    Plain(Vec<u8>),
    /// Sent verbatim, whatever the session.
    Raw(Vec<u8>),
    /// Never answers.
    Hang,
}

type Hook = Box<dyn Fn(&Req) -> Option<Reply> + Send + Sync>;

/// A scripted device: honest security session, honest Wi-Fi answers unless `hook` says otherwise.
struct FakeDevice {
    proto_ver: String,
    security: Arc<DeviceSecurityConfig>,
    hook: Hook,
    state: Mutex<FakeState>,
}

struct FakeState {
    session: DeviceSecuritySession,
    rng_state: u64,
    session_msgs: u32,
    log: Vec<String>,
}

impl FakeDevice {
    fn new(proto_ver: &str, security: DeviceSecurityConfig, hook: Hook) -> Arc<Self> {
        let security = Arc::new(security);
        Arc::new(Self {
            proto_ver: proto_ver.to_owned(),
            state: Mutex::new(FakeState {
                session: DeviceSecuritySession::new(security.clone()),
                rng_state: 0x9e37_79b9_7f4a_7c15,
                session_msgs: 0,
                log: Vec::new(),
            }),
            security,
            hook,
        })
    }

    /// Every request received, as `endpoint` or `endpoint:detail`.
    fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    fn received(&self, prefix: &str) -> bool {
        self.log().iter().any(|l| l.starts_with(prefix))
    }

    fn handle(&self, endpoint: &str, data: &[u8]) -> Result<Reply, TransportError> {
        let mut st = self.state.lock().unwrap();
        let st = &mut *st;
        let fail = |what: String| {
            log::debug!("fake device fails the request: {what}");
            TransportError::ClosedWithoutResponse
        };
        if endpoint == endpoints::PROTO_VER {
            st.log.push(endpoint.to_owned());
            return Ok(
                self.hook.as_ref()(&Req::ProtoVer).unwrap_or_else(|| Reply::Plain(self.proto_ver.clone().into()))
            );
        }
        if endpoint == endpoints::PROV_SESSION {
            st.session_msgs += 1;
            let n = st.session_msgs;
            st.log.push(format!("{endpoint}:{n}"));
            if let Some(reply) = self.hook.as_ref()(&Req::Session(n)) {
                return Ok(reply);
            }
            let mut seed = st.rng_state;
            let mut rng = FillRng(|dst: &mut [u8]| {
                for b in dst {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *b = seed as u8;
                }
            });
            let answer = st.session.handle(data, &mut rng).map_err(|e| fail(e.to_string()));
            st.rng_state = seed;
            return answer.map(Reply::Plain);
        }
        let plain = st.session.decrypt(data).map_err(|e| fail(e.to_string()))?;
        let (req, honest) = match endpoint {
            endpoints::PROV_SCAN => {
                let cmd = wifi::decode_scan_request(&plain).map_err(|e| fail(e.to_string()))?;
                let honest = match cmd {
                    endpoints::ScanCommand::Start(_) => wifi::encode_scan_start_response(Status::Success),
                    endpoints::ScanCommand::Status => wifi::encode_scan_status_response(true, 2),
                    endpoints::ScanCommand::Result { start, count } => {
                        let all = [network(b"Home", 1), network(b"Neighbour", 2)];
                        let from = (start as usize).min(all.len());
                        let to = (start as usize + count as usize).min(all.len());
                        wifi::encode_scan_result_response(&all[from..to])
                    }
                };
                (Req::Scan(cmd), honest)
            }
            endpoints::PROV_CONFIG => match wifi::decode_config_request(&plain).map_err(|e| fail(e.to_string()))? {
                wifi::ConfigCommand::SetConfig { .. } => {
                    (Req::Config("set"), wifi::encode_set_config_response(Status::Success))
                }
                wifi::ConfigCommand::Apply => {
                    (Req::Config("apply"), wifi::encode_apply_config_response(Status::Success))
                }
                wifi::ConfigCommand::GetStatus => (
                    Req::Config("status"),
                    wifi::encode_get_status_response(&wifi::WifiStatus::Connected {
                        info: wifi::WifiConnectedInfo {
                            ip4_addr: "192.168.1.50".into(),
                            auth_mode: wifi::WifiAuthMode::from_raw(3),
                            ssid: b"Home".to_vec(),
                            bssid: vec![1, 2, 3, 4, 5, 6],
                            channel: 6,
                        },
                    }),
                ),
            },
            endpoints::PROV_CTRL => {
                let cmd = wifi::decode_ctrl_request(&plain).map_err(|e| fail(e.to_string()))?;
                (Req::Ctrl, wifi::encode_ctrl_response(cmd, Status::Success))
            }
            other => (Req::Custom(other.to_owned()), plain.clone()),
        };
        st.log.push(match &req {
            Req::Config(what) => format!("{endpoint}:{what}"),
            Req::Scan(cmd) => format!("{endpoint}:{cmd:?}"),
            Req::Custom(name) => format!("custom:{name}"),
            _ => endpoint.to_owned(),
        });
        match self.hook.as_ref()(&req).unwrap_or(Reply::Plain(honest)) {
            Reply::Plain(answer) => st.session.encrypt(&answer).map(Reply::Raw).map_err(|e| fail(e.to_string())),
            other => Ok(other),
        }
    }
}

fn network(ssid: &[u8], last: u8) -> wifi::WifiNetwork {
    wifi::WifiNetwork {
        ssid: ssid.to_vec(),
        channel: 6,
        rssi: -40 - i32::from(last),
        bssid: vec![0x24, 0x0a, 0xc4, 0, 0, last],
        auth: wifi::WifiAuthMode::from_raw(3),
    }
}

/// The fake device as a phone-side transport (the link itself is honest).
struct FakeLink(Arc<FakeDevice>);

impl Transport for FakeLink {
    fn send<'life0, 'async_trait>(&'life0 self, endpoint: String, data: Vec<u8>) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            match self.0.handle(&endpoint, &data)? {
                Reply::Plain(bytes) | Reply::Raw(bytes) => Ok(bytes),
                Reply::Hang => std::future::pending().await,
            }
        })
    }

    fn max_payload(&self) -> Option<usize> {
        None
    }

    fn kind(&self) -> TransportKind {
        TransportKind::Memory
    }

    fn disconnect<'life0, 'async_trait>(&'life0 self) -> UnitFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let mut st = self.0.state.lock().unwrap();
            st.session = DeviceSecuritySession::new(self.0.security.clone());
            st.session_msgs = 0;
        })
    }
}

fn honest() -> Hook {
    Box::new(|_| None)
}

fn proto_ver(sec_ver: u8, patch: u8, caps: &[&str]) -> String {
    let caps: Vec<String> = caps.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"prov\":{{\"ver\":\"v1.1\",\"sec_ver\":{sec_ver},\"sec_patch_ver\":{patch},\"cap\":[{}]}}}}",
        caps.join(",")
    )
}

fn sec1_device(hook: Hook) -> Arc<FakeDevice> {
    FakeDevice::new(&proto_ver(1, 0, &["wifi_scan"]), DeviceSecurityConfig::Sec1 { pop: Some(Secret::from(POP)) }, hook)
}

fn sec2_config(patch: Sec2Patch) -> DeviceSecurityConfig {
    let mut n = 0u8;
    let mut rng = FillRng(|dst: &mut [u8]| {
        for b in dst {
            n = n.wrapping_mul(31).wrapping_add(7);
            *b = n;
        }
    });
    let (salt, verifier) = security::generate_salt_verifier("wifiprov", POP.as_bytes(), &mut rng);
    DeviceSecurityConfig::sec2(salt, verifier, patch)
}

fn options() -> SessionOptions {
    SessionOptions {
        pop: Some(Secret::from(POP)),
        exchange_timeout: Duration::from_secs(5),
        scan_timeout: Duration::from_secs(20),
        ..SessionOptions::default()
    }
}

fn fast_poll() -> PollOptions {
    PollOptions {
        deadline: Duration::from_secs(30),
        initial_interval: Duration::from_millis(250),
        max_interval: Duration::from_secs(2),
    }
}

fn session(device: &Arc<FakeDevice>, options: SessionOptions) -> DeviceSession {
    DeviceSession::new(Arc::new(FakeLink(device.clone())), options)
}

fn wifi_request(options: SessionOptions) -> ProvisionRequest {
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = options;
    request.poll = fast_poll();
    request
}

fn assert_no_credential_sent(device: &FakeDevice) {
    let log = device.log();
    assert!(!log.iter().any(|l| l.starts_with("prov-config")), "a prov-config request reached the device: {log:?}");
}

// ------------------------------------------------------------------------------ downgrades

#[tokio::test(start_paused = true)]
async fn a_no_pop_device_is_refused_while_a_pop_is_held() {
    let device =
        FakeDevice::new(&proto_ver(1, 0, &["no_pop", "wifi_scan"]), DeviceSecurityConfig::Sec1 { pop: None }, honest());
    let result =
        provision::provision(Arc::new(FakeLink(device.clone())), wifi_request(options()), None, &CancelToken::new())
            .await;
    let err = result.expect_err("a no_pop device must be refused");
    assert!(matches!(err, Error::PossibleImpostor { reason: DowngradeReason::NoPopWhilePopGiven }), "{err:?}");
    assert!(!device.received("prov-session"), "a handshake message was sent: {:?}", device.log());
    assert_no_credential_sent(&device);

    // The caller who really means it opts in, and the flow proceeds.
    let device =
        FakeDevice::new(&proto_ver(1, 0, &["no_pop", "wifi_scan"]), DeviceSecurityConfig::Sec1 { pop: None }, honest());
    let outcome = provision::provision(
        Arc::new(FakeLink(device.clone())),
        wifi_request(SessionOptions { allow_no_pop: true, ..options() }),
        None,
        &CancelToken::new(),
    )
    .await
    .expect("allow_no_pop proceeds");
    assert_eq!(outcome.session.security, SecurityLevel::Sec1);
    assert!(device.received("prov-config:set"));
}

#[tokio::test(start_paused = true)]
async fn b_a_device_below_its_qr_code_is_refused() {
    let device = sec1_device(honest());
    let mut opts = options();
    opts.pop = None;
    opts.apply_qr(&qr::parse(r#"{"ver":"v1","name":"P","pop":"pop-ABC","transport":"softap","security":2}"#).unwrap());
    assert_eq!(opts.expected_security, Some(SecurityLevel::Sec2));
    let err = provision::provision(Arc::new(FakeLink(device.clone())), wifi_request(opts), None, &CancelToken::new())
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::PossibleImpostor {
                reason: DowngradeReason::BelowQrCode { offered: SecurityLevel::Sec1, qr: SecurityLevel::Sec2 }
            }
        ),
        "{err:?}"
    );
    assert!(!device.received("prov-session"), "{:?}", device.log());
    assert_no_credential_sent(&device);
}

#[tokio::test(start_paused = true)]
async fn c_sec2_credentials_against_a_sec1_device_are_refused() {
    let device = sec1_device(honest());
    let mut opts = options();
    opts.sec2_password = Some(Secret::from(POP));
    let err = provision::provision(Arc::new(FakeLink(device.clone())), wifi_request(opts), None, &CancelToken::new())
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::PossibleImpostor {
                reason: DowngradeReason::BelowCredentials {
                    offered: SecurityLevel::Sec1,
                    required: SecurityLevel::Sec2
                }
            }
        ),
        "{err:?}"
    );
    assert!(!device.received("prov-session"), "{:?}", device.log());
    assert_no_credential_sent(&device);
}

// ------------------------------------------------------------------------------ hostile scans

fn status_count(count: u32) -> Hook {
    Box::new(move |req| match req {
        Req::Scan(endpoints::ScanCommand::Status) => Some(Reply::Plain(wifi::encode_scan_status_response(true, count))),
        _ => None,
    })
}

async fn scan_error(device: &Arc<FakeDevice>) -> Error {
    let s = session(device, options());
    s.connect().await.expect("honest handshake");
    let err = s.scan_wifi(None).await.expect_err("the hostile scan must fail");
    assert_no_credential_sent(device);
    err
}

#[tokio::test(start_paused = true)]
async fn d_absurd_scan_counts_are_protocol_errors() {
    for count in [u32::MAX, 1_000_000, 256] {
        let device = sec1_device(status_count(count));
        let err = scan_error(&device).await;
        assert!(matches!(err, Error::Protocol { step: Step::WifiScan, .. }), "count {count}: {err:?}");
        // No result page was even asked for.
        assert!(!device.log().iter().any(|l| l.contains("Result")), "count {count}: {:?}", device.log());
    }
}

#[tokio::test(start_paused = true)]
async fn d_oversized_scan_pages_are_protocol_errors() {
    let device = sec1_device(Box::new(|req| match req {
        Req::Scan(endpoints::ScanCommand::Status) => Some(Reply::Plain(wifi::encode_scan_status_response(true, 255))),
        Req::Scan(endpoints::ScanCommand::Result { count, .. }) => {
            let entries: Vec<_> = (0..=*count).map(|i| network(b"Flood", i as u8)).collect();
            Some(Reply::Plain(wifi::encode_scan_result_response(&entries)))
        }
        _ => None,
    }));
    let err = scan_error(&device).await;
    assert!(matches!(err, Error::Protocol { step: Step::WifiScan, .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn d_oversized_ssids_and_bssids_are_protocol_errors() {
    let cases: Vec<(&str, wifi::WifiNetwork)> = vec![
        ("1 MB SSID", wifi::WifiNetwork { ssid: vec![b'A'; ONE_MB], ..network(b"", 1) }),
        ("33-byte SSID", wifi::WifiNetwork { ssid: vec![b'A'; 33], ..network(b"", 1) }),
        ("7-byte BSSID", wifi::WifiNetwork { bssid: vec![1; 7], ..network(b"x", 1) }),
    ];
    for (name, entry) in cases {
        let device = sec1_device(Box::new(move |req| match req {
            Req::Scan(endpoints::ScanCommand::Result { .. }) => {
                Some(Reply::Plain(wifi::encode_scan_result_response(std::slice::from_ref(&entry))))
            }
            _ => None,
        }));
        let err = scan_error(&device).await;
        assert!(matches!(err, Error::Protocol { step: Step::WifiScan, .. }), "{name}: {err:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn d_a_scan_that_never_finishes_times_out_within_scan_timeout() {
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    let device = sec1_device(Box::new(move |req| match req {
        Req::Scan(endpoints::ScanCommand::Status) => {
            counter.fetch_add(1, Ordering::Relaxed);
            Some(Reply::Plain(wifi::encode_scan_status_response(false, 0)))
        }
        _ => None,
    }));
    let s = session(&device, options());
    s.connect().await.unwrap();
    let start = tokio::time::Instant::now();
    let err = s.scan_wifi(None).await.expect_err("never finishes");
    let elapsed = start.elapsed();
    assert!(matches!(err, Error::Timeout { step: Step::WifiScan }), "{err:?}");
    assert!(elapsed <= Duration::from_secs(20) + Duration::from_millis(100), "{elapsed:?}");
    assert!(polls.load(Ordering::Relaxed) > 1, "the status was polled");
}

// ------------------------------------------------------------------------------ sec2 nonce mode

#[tokio::test(start_paused = true)]
async fn e_a_device_nonce_of_the_other_patch_length_is_a_handshake_protocol_error() {
    // Advertises patch 1 (12-byte nonce) but runs patch 0 (16 bytes), and the reverse.
    for (advertised, actual) in [(1, Sec2Patch::Patch0), (0, Sec2Patch::Patch1)] {
        let device = FakeDevice::new(&proto_ver(2, advertised, &["wifi_scan"]), sec2_config(actual), honest());
        let err = session(&device, options()).connect().await.expect_err("nonce length mismatch");
        assert!(matches!(err, Error::Protocol { step: Step::Handshake, .. }), "patch {advertised}: {err:?}");
        assert_no_credential_sent(&device);
    }
    // Sanity: an honest security 2 device of either patch is accepted.
    for (advertised, actual) in [(1, Sec2Patch::Patch1), (0, Sec2Patch::Patch0)] {
        let device = FakeDevice::new(&proto_ver(2, advertised, &["wifi_scan"]), sec2_config(actual), honest());
        let info = session(&device, options()).connect().await.unwrap();
        assert_eq!(info.security, SecurityLevel::Sec2);
    }
    // An unknown patch level is refused when reading the capabilities.
    let device = FakeDevice::new(&proto_ver(2, 2, &["wifi_scan"]), sec2_config(Sec2Patch::Patch1), honest());
    let err = session(&device, options()).connect().await.expect_err("patch 2");
    assert!(matches!(err, Error::Protocol { step: Step::ReadCapabilities, .. }), "{err:?}");
    assert!(!device.received("prov-session"));
}

// ------------------------------------------------------------------------------ huge responses

/// Connect, custom endpoint, scan, provision: every step of a Wi-Fi flow.
async fn full_flow(device: &Arc<FakeDevice>) -> Result<(), Error> {
    let s = session(device, options());
    s.connect().await?;
    s.send_custom("custom-data", b"hello").await?;
    s.scan_wifi(None).await?;
    s.provision_wifi(b"Home", b"secretpass", fast_poll()).await?;
    s.reset_wifi().await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn f_a_one_megabyte_response_is_a_protocol_error_naming_the_step() {
    let honest_device = sec1_device(honest());
    full_flow(&honest_device).await.expect("the honest fake device provisions");

    type Pick = fn(&Req) -> bool;
    let cases: Vec<(Pick, Step)> = vec![
        (|r| matches!(r, Req::ProtoVer), Step::ReadCapabilities),
        (|r| matches!(r, Req::Session(1)), Step::Handshake),
        (|r| matches!(r, Req::Session(2)), Step::Handshake),
        (|r| matches!(r, Req::Custom(_)), Step::Custom { endpoint: "custom-data".into() }),
        (|r| matches!(r, Req::Scan(endpoints::ScanCommand::Start(_))), Step::WifiScan),
        (|r| matches!(r, Req::Scan(endpoints::ScanCommand::Status)), Step::WifiScan),
        (|r| matches!(r, Req::Scan(endpoints::ScanCommand::Result { .. })), Step::WifiScan),
        (|r| matches!(r, Req::Config("set")), Step::SendCredentials),
        (|r| matches!(r, Req::Config("apply")), Step::ApplyCredentials),
        (|r| matches!(r, Req::Config("status")), Step::ConnectionStatus),
        (|r| matches!(r, Req::Ctrl), Step::Control),
    ];
    for (raw, what) in [(true, "raw"), (false, "encrypted")] {
        for (pick, step) in &cases {
            let pick = *pick;
            let device = sec1_device(Box::new(move |req| {
                pick(req).then(|| if raw { Reply::Raw(vec![0x5a; ONE_MB]) } else { Reply::Plain(vec![0x5a; ONE_MB]) })
            }));
            let err = full_flow(&device).await.err().unwrap_or_else(|| panic!("{what} {step:?}: accepted"));
            assert!(
                matches!(&err, Error::Protocol { step: s, .. } if s == step),
                "{what} 1 MB answer on {step:?}: {err:?}"
            );
        }
    }
}

// ------------------------------------------------------------------------------ endless polling

#[tokio::test(start_paused = true)]
async fn g_a_device_connecting_forever_is_given_up_on_within_the_deadline() {
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    let device = sec1_device(Box::new(move |req| match req {
        Req::Config("status") => {
            counter.fetch_add(1, Ordering::Relaxed);
            Some(Reply::Plain(wifi::encode_get_status_response(&wifi::WifiStatus::Connecting {
                attempts_remaining: None,
            })))
        }
        _ => None,
    }));
    let s = session(&device, options());
    s.connect().await.unwrap();
    let start = tokio::time::Instant::now();
    let err = s.provision_wifi(b"Home", b"secretpass", fast_poll()).await.expect_err("never connects");
    let elapsed = start.elapsed();
    assert!(
        matches!(
            err,
            Error::Timeout { step: Step::ConnectionStatus } | Error::OutcomeUnknown { step: Step::ConnectionStatus }
        ),
        "{err:?}"
    );
    assert!(elapsed <= fast_poll().deadline + Duration::from_secs(1), "{elapsed:?}");
    assert!(polls.load(Ordering::Relaxed) >= 5, "polled {} times", polls.load(Ordering::Relaxed));

    // A zero interval does not turn into an unbounded flood either.
    let polls = Arc::new(AtomicU32::new(0));
    let counter = polls.clone();
    let device = sec1_device(Box::new(move |req| match req {
        Req::Config("status") => {
            counter.fetch_add(1, Ordering::Relaxed);
            Some(Reply::Plain(wifi::encode_get_status_response(&wifi::WifiStatus::Connecting {
                attempts_remaining: Some(3),
            })))
        }
        _ => None,
    }));
    let s = session(&device, options());
    s.connect().await.unwrap();
    let zero = PollOptions {
        deadline: Duration::from_secs(3600),
        initial_interval: Duration::ZERO,
        max_interval: Duration::ZERO,
    };
    let err = s.provision_wifi(b"Home", b"secretpass", zero).await.expect_err("never connects");
    assert!(matches!(err, Error::Timeout { step: Step::ConnectionStatus }), "{err:?}");
    assert!(polls.load(Ordering::Relaxed) <= 1000, "polled {} times", polls.load(Ordering::Relaxed));
}

#[tokio::test(start_paused = true)]
async fn g_a_device_that_stops_answering_after_apply_is_outcome_unknown() {
    let device = sec1_device(Box::new(|req| matches!(req, Req::Config("status")).then_some(Reply::Hang)));
    let s = session(&device, options());
    s.connect().await.unwrap();
    let err = s.provision_wifi(b"Home", b"secretpass", fast_poll()).await.expect_err("no answer");
    assert!(matches!(err, Error::OutcomeUnknown { step: Step::ConnectionStatus }), "{err:?}");
}

// ------------------------------------------------------------------------------ mutated answers

/// How one response is mutated.
#[derive(Debug, Clone)]
enum Mutation {
    Keep,
    Flip { at: usize, bit: u8 },
    Truncate { keep: usize },
    Extend(Vec<u8>),
    Replace(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => Just(Mutation::Keep),
        2 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        1 => proptest::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
        1 => proptest::collection::vec(any::<u8>(), 0..128).prop_map(Mutation::Replace),
    ]
}

fn apply(mutation: &Mutation, mut bytes: Vec<u8>) -> Vec<u8> {
    match mutation {
        Mutation::Keep => bytes,
        Mutation::Flip { at, bit } => {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            bytes
        }
        Mutation::Truncate { keep } => {
            bytes.truncate(keep % (bytes.len() + 1));
            bytes
        }
        Mutation::Extend(tail) => {
            bytes.extend_from_slice(tail);
            bytes
        }
        Mutation::Replace(other) => other.clone(),
    }
}

/// A transport that mutates the n-th response with the n-th mutation (cycling).
struct Mutating {
    inner: Arc<dyn Transport>,
    plan: Vec<Mutation>,
    next: AtomicU32,
}

impl Transport for Mutating {
    fn send<'life0, 'async_trait>(&'life0 self, endpoint: String, data: Vec<u8>) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let answer = self.inner.send(endpoint, data).await?;
            let n = self.next.fetch_add(1, Ordering::Relaxed) as usize;
            Ok(apply(&self.plan[n % self.plan.len()], answer))
        })
    }

    fn max_payload(&self) -> Option<usize> {
        self.inner.max_payload()
    }

    fn kind(&self) -> TransportKind {
        self.inner.kind()
    }

    fn disconnect<'life0, 'async_trait>(&'life0 self) -> UnitFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.disconnect()
    }
}

fn sim_security(index: u8) -> (SimSecurity, SecurityLevel) {
    match index % 4 {
        0 => (SimSecurity::Sec0, SecurityLevel::Sec0),
        1 => (SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }, SecurityLevel::Sec1),
        2 => (
            SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch0 },
            SecurityLevel::Sec1,
        ),
        _ => (
            SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 },
            SecurityLevel::Sec1,
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_answers_end_in_ok_or_a_typed_error(
        scheme in 0u8..4,
        plan in proptest::collection::vec(mutation(), 1..24),
        custom in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let outcome = runtime.block_on(async move {
            let (security, minimum) = sim_security(scheme);
            let mut config = SimConfig::new(security);
            config.seed = Some(7);
            config.join_delay = Duration::from_millis(500);
            let device = SimDevice::new(config);
            let transport: Arc<dyn Transport> = Arc::new(Mutating {
                inner: Arc::new(MemoryTransport::new(device)),
                plan,
                next: AtomicU32::new(0),
            });
            let mut opts = options();
            opts.min_security = minimum;
            let mut request = wifi_request(opts);
            if custom {
                request.custom_data = vec![("custom-data".into(), b"hello".to_vec())];
            }
            request.overall_timeout = Some(Duration::from_secs(600));
            let cancel = CancelToken::new();
            let flow = provision::provision(transport, request, None, &cancel);
            tokio::time::timeout(Duration::from_secs(900), flow).await
        });
        let result = outcome.map_err(|_| TestCaseError::fail("the flow hung past its overall bound"))?;
        if let Err(err) = result {
            prop_assert!(!matches!(err, Error::Internal { .. }), "internal error: {err:?}");
            // Every error renders (and names no secret).
            let text = err.to_string();
            prop_assert!(!text.contains(POP) && !text.contains("secretpass"), "{text}");
        }
    }
}

#[test]
fn limits_are_what_the_brief_says() {
    assert_eq!(session::MAX_SCAN_RESULTS, 255);
    assert_eq!(session::MAX_RESPONSE_LEN, 16 * 1024);
}
