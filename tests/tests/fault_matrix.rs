//! Fault matrix in virtual time: every step of a Wi-Fi flow (with a scan, a custom endpoint and a
//! prov-ctrl reset after a failed join) and of a Thread flow, times every link fault, over the
//! memory transport to the simulator. Each combination must end in a typed error naming the faulted
//! step (or, where the fault is harmless by design, in success) — never a panic or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rainmaker_prov::endpoints::{self, wifi};
use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::security::{Sec2Patch, Secret, SecurityLevel};
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::sim::device::{SimConfig, SimFlavor, SimSecurity};
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};
use rainmaker_prov_tests::{Fixture, Via};

const POP: &str = "abcd1234";
const CUSTOM: &str = "custom-data";

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TransportError>> + Send + 'a>>;
type UnitFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

// ------------------------------------------------------------------------------ faults

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The request reaches the device; its answer never comes back.
    NoAnswer,
    /// The link drops instead of carrying the request.
    Disconnect,
    /// The first half of the answer.
    Truncated,
    /// The answer with its first bit flipped (the protobuf tag of field 1 / `{` of JSON).
    Corrupted,
    /// The previous answer on the link, again.
    Replayed,
    /// The answer to another step's message (from a twin run of the same flow).
    OtherStep,
    /// The right answer, but from another session (a twin run: another key).
    WrongKey,
}

const FAULTS: [Fault; 7] = [
    Fault::NoAnswer,
    Fault::Disconnect,
    Fault::Truncated,
    Fault::Corrupted,
    Fault::Replayed,
    Fault::OtherStep,
    Fault::WrongKey,
];

/// Which exchange to fault: the `nth` (1-based) request to `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Target {
    endpoint: String,
    nth: u32,
}

/// A transport wrapper that records every answer and faults one exchange.
struct Faulty {
    inner: Arc<dyn Transport>,
    plan: Option<(Target, Fault, Option<Vec<u8>>)>,
    state: Mutex<FaultyState>,
}

#[derive(Default)]
struct FaultyState {
    counts: HashMap<String, u32>,
    last: Option<Vec<u8>>,
    answers: Vec<(Target, Vec<u8>)>,
    fired: bool,
}

impl Faulty {
    fn new(inner: Arc<dyn Transport>, plan: Option<(Target, Fault, Option<Vec<u8>>)>) -> Arc<Self> {
        Arc::new(Self { inner, plan, state: Mutex::new(FaultyState::default()) })
    }

    fn answers(&self) -> Vec<(Target, Vec<u8>)> {
        self.state.lock().unwrap().answers.clone()
    }

    fn fired(&self) -> bool {
        self.state.lock().unwrap().fired
    }

    async fn exchange(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let target = {
            let mut st = self.state.lock().unwrap();
            let n = st.counts.entry(endpoint.clone()).or_insert(0);
            *n += 1;
            Target { endpoint: endpoint.clone(), nth: *n }
        };
        let fault = self.plan.as_ref().filter(|(t, _, _)| *t == target).map(|(_, f, alt)| (*f, alt.clone()));
        if fault.is_some() {
            self.state.lock().unwrap().fired = true;
        }
        if let Some((Fault::Disconnect, _)) = fault {
            return Err(TransportError::Disconnected { detail: "injected disconnect".into() });
        }
        let answer = self.inner.send(endpoint, data).await?;
        let previous = {
            let mut st = self.state.lock().unwrap();
            st.answers.push((target, answer.clone()));
            st.last.replace(answer.clone())
        };
        Ok(match fault {
            None => answer,
            Some((Fault::NoAnswer, _)) => std::future::pending().await,
            Some((Fault::Truncated, _)) => answer[..answer.len() / 2].to_vec(),
            Some((Fault::Corrupted, _)) => {
                let mut answer = answer;
                if let Some(first) = answer.first_mut() {
                    *first ^= 1;
                }
                answer
            }
            Some((Fault::Replayed, _)) => previous.unwrap_or_default(),
            Some((Fault::OtherStep | Fault::WrongKey, alt)) => alt.unwrap_or_default(),
            Some((Fault::Disconnect, _)) => unreachable!("handled above"),
        })
    }
}

struct Link(Arc<Faulty>);

impl Transport for Link {
    fn send<'life0, 'async_trait>(&'life0 self, endpoint: String, data: Vec<u8>) -> SendFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.0.exchange(endpoint, data))
    }

    fn max_payload(&self) -> Option<usize> {
        self.0.inner.max_payload()
    }

    fn kind(&self) -> TransportKind {
        self.0.inner.kind()
    }

    fn disconnect<'life0, 'async_trait>(&'life0 self) -> UnitFuture<'async_trait>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.0.inner.disconnect()
    }
}

// ------------------------------------------------------------------------------ flows

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sec0,
    Sec1,
    Sec2Patch0,
    Sec2Patch1,
}

const SCHEMES: [Scheme; 4] = [Scheme::Sec0, Scheme::Sec1, Scheme::Sec2Patch0, Scheme::Sec2Patch1];

impl Scheme {
    fn sim(self) -> SimSecurity {
        let sec2 = |patch| SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch };
        match self {
            Scheme::Sec0 => SimSecurity::Sec0,
            Scheme::Sec1 => SimSecurity::Sec1 { pop: Some(Secret::from(POP)) },
            Scheme::Sec2Patch0 => sec2(Sec2Patch::Patch0),
            Scheme::Sec2Patch1 => sec2(Sec2Patch::Patch1),
        }
    }

    fn options(self, exchange_timeout: Duration) -> SessionOptions {
        let mut options =
            SessionOptions { exchange_timeout, scan_timeout: Duration::from_secs(30), ..SessionOptions::default() };
        if self == Scheme::Sec0 {
            options.min_security = SecurityLevel::Sec0;
        } else {
            options.pop = Some(Secret::from(POP));
        }
        options
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Connect, custom endpoint, Wi-Fi scan, set-config, apply, status polls.
    Wifi,
    /// Connect, set-config with a wrong passphrase, apply, polls until failed, prov-ctrl reset.
    WifiResetAfterFailure,
    /// Connect, Thread scan, set-config (dataset), apply, status polls (network_provisioning).
    Thread,
}

fn poll() -> PollOptions {
    PollOptions {
        deadline: Duration::from_secs(20),
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(200),
    }
}

fn config(flow: Flow, scheme: Scheme, seed: u64) -> SimConfig {
    let mut config = SimConfig::new(scheme.sim());
    config.join_delay = Duration::from_millis(100);
    config.seed = Some(seed);
    if flow == Flow::Thread {
        config.flavor = SimFlavor::NetworkProvisioning;
    }
    config
}

fn thread_dataset() -> Vec<u8> {
    let (pan, channel, ext_pan, name) =
        (0x1234u16, 15u8, [0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0xca, 0xfe], "OpenThread-Home");
    let mut dataset = vec![0, 3, 0, 0, channel, 1, 2, (pan >> 8) as u8, pan as u8, 2, 8];
    dataset.extend_from_slice(&ext_pan);
    dataset.extend_from_slice(&[3, name.len() as u8]);
    dataset.extend_from_slice(name.as_bytes());
    dataset.extend_from_slice(&[5, 16]);
    dataset.extend_from_slice(&[0x11; 16]);
    dataset.extend_from_slice(&[7, 8, 0xfd, 0, 0, 0, 0, 0, 0, 0]);
    dataset
}

async fn run_flow(flow: Flow, scheme: Scheme, transport: Arc<dyn Transport>, via: Via) -> Result<(), Error> {
    let session = DeviceSession::new(transport, scheme.options(exchange_timeout(via)));
    let result = async {
        session.connect().await?;
        match flow {
            Flow::Wifi => {
                let echo = session.send_custom(CUSTOM, b"hello device").await?;
                if echo != b"hello device" {
                    log::info!("custom endpoint answered other bytes (no integrity below security 2)");
                }
                let networks = session.scan_wifi(None).await?;
                assert!(!networks.is_empty());
                session.provision_wifi(b"RefPeer-Home", b"secretpass", poll()).await?;
            }
            Flow::WifiResetAfterFailure => {
                session.set_wifi_config(b"RefPeer-Home", b"wrong-passphrase").await?;
                session.apply_wifi_config().await?;
                let mut polls = 0;
                loop {
                    polls += 1;
                    assert!(polls < 200, "the simulator never reported the failure");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    match session.wifi_status().await? {
                        wifi::WifiStatus::Failed { .. } => break,
                        wifi::WifiStatus::Connected { .. } => panic!("joined with a wrong passphrase"),
                        _ => {}
                    }
                }
                session.reset_wifi().await?;
            }
            Flow::Thread => {
                let networks = session.scan_thread().await?;
                assert!(!networks.is_empty());
                session.provision_thread(&thread_dataset(), poll()).await?;
            }
        }
        Ok(())
    }
    .await;
    session.disconnect().await;
    result
}

/// The bound of one exchange: 5 s of virtual time in-process; over HTTP the clock is real (socket
/// I/O cannot run on a paused clock), so a shorter bound keeps the "no answer" cases quick.
fn exchange_timeout(via: Via) -> Duration {
    match via {
        Via::Http => Duration::from_millis(800),
        _ => Duration::from_secs(5),
    }
}

/// Runs `flow` against a fresh simulator through a [`Faulty`] link; `Err(text)` for a panic or hang.
async fn run_case(
    via: Via,
    flow: Flow,
    scheme: Scheme,
    seed: u64,
    plan: Option<(Target, Fault, Option<Vec<u8>>)>,
) -> (Result<Result<(), Error>, String>, Arc<Faulty>) {
    let fixture = Fixture::start(config(flow, scheme, seed), via).expect("the simulator starts");
    let faulty = Faulty::new(fixture.transport.clone(), plan);
    let link: Arc<dyn Transport> = Arc::new(Link(faulty.clone()));
    let bound = if via == Via::Http { Duration::from_secs(120) } else { Duration::from_secs(600) };
    let task = tokio::spawn(async move { tokio::time::timeout(bound, run_flow(flow, scheme, link, via)).await });
    let outcome = match task.await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err(format!("HANG ({bound:?})")),
        Err(e) if e.is_panic() => Err(format!("PANIC: {:?}", e.into_panic().downcast_ref::<String>())),
        Err(e) => Err(format!("task failed: {e}")),
    };
    drop(fixture);
    (outcome, faulty)
}

// ------------------------------------------------------------------------------ expectations

fn step_name(step: &Step) -> String {
    match step {
        Step::Custom { .. } => "Custom".into(),
        other => format!("{other:?}"),
    }
}

/// A short, comparable label of an outcome: `Ok`, `Timeout{WifiScan}`, `WrongCredentials`, ...
fn label(result: &Result<(), Error>) -> String {
    let Err(err) = result else { return "Ok".into() };
    match err {
        Error::Timeout { step } => format!("Timeout{{{}}}", step_name(step)),
        Error::Disconnected { step, .. } => format!("Disconnected{{{}}}", step_name(step)),
        Error::Protocol { step, .. } => format!("Protocol{{{}}}", step_name(step)),
        Error::OutcomeUnknown { step } => format!("OutcomeUnknown{{{}}}", step_name(step)),
        Error::DeviceStatus { step, .. } => format!("DeviceStatus{{{}}}", step_name(step)),
        Error::Unreachable { step, .. } => format!("Unreachable{{{}}}", step_name(step)),
        Error::EndpointNotFound { step, .. } => format!("EndpointNotFound{{{}}}", step_name(step)),
        Error::PayloadTooLarge { step, .. } => format!("PayloadTooLarge{{{}}}", step_name(step)),
        Error::Transport { step, .. } => format!("Transport{{{}}}", step_name(step)),
        Error::WrongCredentials => "WrongCredentials".into(),
        Error::DeviceProofMismatch => "DeviceProofMismatch".into(),
        Error::SecurityBelowMinimum { .. } => "SecurityBelowMinimum".into(),
        Error::PossibleImpostor { .. } => "PossibleImpostor".into(),
        Error::CredentialsRequired { security: SecurityLevel::Sec1 } => "CredentialsRequired{Sec1}".into(),
        other => format!("{other:?}"),
    }
}

/// One faultable exchange of a flow.
#[derive(Debug, Clone, Copy)]
struct Point {
    name: &'static str,
    endpoint: &'static str,
    nth: u32,
    step: StepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepKind {
    ProtoVer,
    Handshake,
    Custom,
    Scan(&'static str),
    SetConfig,
    Apply,
    Poll,
    Control,
}

/// The typed outcomes accepted for `fault` at `point`; `None`: the combination does not apply.
fn accepted(scheme: Scheme, point: Point, fault: Fault) -> Option<Vec<String>> {
    let encrypted = scheme != Scheme::Sec0;
    let authenticated = matches!(scheme, Scheme::Sec2Patch0 | Scheme::Sec2Patch1);
    let named = |kind: &str, step: &str| format!("{kind}{{{step}}}");
    let content =
        matches!(fault, Fault::Truncated | Fault::Corrupted | Fault::Replayed | Fault::OtherStep | Fault::WrongKey);
    if fault == Fault::WrongKey && (!encrypted || point.step == StepKind::ProtoVer) {
        return None; // No key is involved.
    }
    if fault == Fault::Replayed && point.step == StepKind::ProtoVer {
        return None; // Nothing was answered before.
    }
    let step = match point.step {
        StepKind::ProtoVer => "ReadCapabilities",
        StepKind::Handshake => "Handshake",
        StepKind::Custom => "Custom",
        StepKind::Scan(step) => step,
        StepKind::SetConfig => "SendCredentials",
        StepKind::Apply => "ApplyCredentials",
        StepKind::Poll => "ConnectionStatus",
        StepKind::Control => "Control",
    };
    let mut ok: Vec<String> = match (point.step, fault) {
        (StepKind::Apply | StepKind::Poll, Fault::NoAnswer | Fault::Disconnect) => vec![named("OutcomeUnknown", step)],
        (StepKind::Handshake, Fault::Disconnect) => {
            // Message 1 refused: the device rejected the step; message 2: the proof.
            vec![named("Protocol", step), named("Disconnected", step), "WrongCredentials".into()]
        }
        (_, Fault::NoAnswer) => vec![named("Timeout", step)],
        (_, Fault::Disconnect) => vec![named("Disconnected", step)],
        (StepKind::Handshake, _) => {
            vec![named("Protocol", step), "WrongCredentials".into(), "DeviceProofMismatch".into()]
        }
        (_, _) => vec![named("Protocol", step)],
    };
    if content {
        if scheme == Scheme::Sec1 && point.step != StepKind::Handshake {
            // AES-CTR without integrity: a mangled answer of another length leaves the phone's
            // keystream offset different from the device's, so the device fails the next request
            // of the same step.
            ok.push(named("Disconnected", step));
        }
        if fault == Fault::Truncated && matches!(point.step, StepKind::Scan(_) | StepKind::Control) && !authenticated {
            // ScanStart / prov-ctrl answers are `08 0x <member> 00`: their first half is the same
            // message without its empty member, so a truncated answer means the same thing.
            ok.push("Ok".into());
        }
        match point.step {
            // `proto-ver` is advisory JSON and never fails to parse: a mangled answer falls back to
            // security 1 detection, so the flow goes on (or fails at the handshake).
            StepKind::ProtoVer => {
                ok.extend(
                    [
                        "Ok",
                        "Protocol{Handshake}",
                        "WrongCredentials",
                        "DeviceProofMismatch",
                        "SecurityBelowMinimum",
                        "PossibleImpostor",
                    ]
                    .map(String::from),
                );
                if scheme == Scheme::Sec0 {
                    // A security 0 device whose capabilities are mangled looks like legacy
                    // firmware, which means security 1: the caller, who holds no PoP, is told one
                    // is needed.
                    ok.push("CredentialsRequired{Sec1}".into());
                }
            }
            StepKind::Custom if !authenticated => {
                ok.push("Ok".into());
                if scheme == Scheme::Sec1 {
                    // ... and the keystream desynchronisation (see above) surfaces on the next step.
                    ok.push("Disconnected{WifiScan}".into());
                }
            }
            _ => {}
        }
        // The device's own status codes, when a mangled answer still decodes (no integrity).
        if !authenticated && point.step != StepKind::ProtoVer && point.step != StepKind::Handshake {
            ok.push(named("DeviceStatus", step));
        }
    }
    Some(ok)
}

fn points(flow: Flow) -> Vec<Point> {
    let p = |name, endpoint, nth, step| Point { name, endpoint, nth, step };
    let common = vec![
        p("proto-ver", endpoints::PROTO_VER, 1, StepKind::ProtoVer),
        p("handshake message 1", endpoints::PROV_SESSION, 1, StepKind::Handshake),
        p("handshake message 2", endpoints::PROV_SESSION, 2, StepKind::Handshake),
    ];
    let scan = if flow == Flow::Thread { "ThreadScan" } else { "WifiScan" };
    let rest = match flow {
        Flow::Wifi | Flow::Thread => {
            let mut v = Vec::new();
            if flow == Flow::Wifi {
                v.push(p("custom endpoint", CUSTOM, 1, StepKind::Custom));
            }
            v.extend([
                p("scan start", endpoints::PROV_SCAN, 1, StepKind::Scan(scan)),
                p("scan status", endpoints::PROV_SCAN, 2, StepKind::Scan(scan)),
                p("scan result page", endpoints::PROV_SCAN, 3, StepKind::Scan(scan)),
                p("set-config", endpoints::PROV_CONFIG, 1, StepKind::SetConfig),
                p("apply", endpoints::PROV_CONFIG, 2, StepKind::Apply),
                p("status poll", endpoints::PROV_CONFIG, 3, StepKind::Poll),
            ]);
            v
        }
        Flow::WifiResetAfterFailure => vec![p("prov-ctrl reset", endpoints::PROV_CTRL, 1, StepKind::Control)],
    };
    common.into_iter().chain(rest).collect()
}

/// Runs every fault at `point_name` of `flow` over every scheme, and asserts the whole row at
/// once with a readable table of mismatches.
async fn matrix_row(via: Via, flow: Flow, point_name: &str, schemes: &[Scheme]) {
    let mut mismatches = String::new();
    let mut table = String::new();
    let mut cases = 0;
    for &scheme in schemes {
        // The sec0 flow has a one-message handshake.
        let Some(point) = points(flow).into_iter().find(|p| p.name == point_name) else {
            panic!("no point {point_name}")
        };
        if scheme == Scheme::Sec0 && point.step == StepKind::Handshake && point.nth > 1 {
            continue;
        }
        // A clean twin run (another device seed: another session key) supplies the answers of
        // "another step" and "another session".
        let (clean, twin) = run_case(via, flow, scheme, 99, None).await;
        assert!(matches!(clean, Ok(Ok(()))), "{flow:?} {scheme:?}: the clean run failed: {clean:?}");
        let answers = twin.answers();
        let target = Target { endpoint: point.endpoint.to_owned(), nth: point.nth };
        let index = answers.iter().position(|(t, _)| *t == target).unwrap_or_else(|| {
            panic!(
                "{flow:?} {scheme:?}: the clean run never sent {target:?}: {:?}",
                answers.iter().map(|a| &a.0).collect::<Vec<_>>()
            )
        });
        // "Another step's message": the answer to the first handshake message, or, for the points
        // of proto-ver and the handshake, the first answer of a provisioning endpoint.
        let other = answers
            .iter()
            .find(|(t, _)| match point.step {
                StepKind::ProtoVer | StepKind::Handshake => {
                    t.endpoint != endpoints::PROTO_VER && t.endpoint != endpoints::PROV_SESSION
                }
                _ => t.endpoint == endpoints::PROV_SESSION,
            })
            .map(|(_, a)| a.clone())
            .expect("the clean run has another step");
        for fault in FAULTS {
            let Some(ok) = accepted(scheme, point, fault) else { continue };
            cases += 1;
            let alt = match fault {
                Fault::OtherStep => Some(other.clone()),
                Fault::WrongKey => Some(answers[index].1.clone()),
                _ => None,
            };
            let start = tokio::time::Instant::now();
            let (outcome, faulty) = run_case(via, flow, scheme, 7, Some((target.clone(), fault, alt))).await;
            let elapsed = start.elapsed();
            let got = match &outcome {
                Ok(result) => label(result),
                Err(broken) => broken.clone(),
            };
            let fired = faulty.fired();
            let pass = fired && ok.contains(&got);
            let _ = writeln!(table, "  {scheme:?} {fault:?}: {got} ({:.1} s)", elapsed.as_secs_f64());
            if !pass {
                let _ = writeln!(
                    mismatches,
                    "  {flow:?} | {point_name} | {scheme:?} | {fault:?} | got {got}{} | accepted {ok:?}",
                    if fired { "" } else { " (fault never injected)" }
                );
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{flow:?} / {point_name}: mismatches (flow | step | scheme | fault | outcome):\n{mismatches}\nall {cases} \
         cases:\n{table}"
    );
}

macro_rules! rows {
    ($($name:ident: $flow:expr, $point:expr;)*) => {
        $(
            #[tokio::test(start_paused = true)]
            async fn $name() {
                matrix_row(Via::Memory, $flow, $point, &SCHEMES).await;
            }
        )*
    };
}

rows! {
    wifi_proto_ver: Flow::Wifi, "proto-ver";
    wifi_handshake_message_1: Flow::Wifi, "handshake message 1";
    wifi_handshake_message_2: Flow::Wifi, "handshake message 2";
    wifi_custom_endpoint: Flow::Wifi, "custom endpoint";
    wifi_scan_start: Flow::Wifi, "scan start";
    wifi_scan_status: Flow::Wifi, "scan status";
    wifi_scan_result_page: Flow::Wifi, "scan result page";
    wifi_set_config: Flow::Wifi, "set-config";
    wifi_apply: Flow::Wifi, "apply";
    wifi_status_poll: Flow::Wifi, "status poll";
    wifi_ctrl_reset_after_failed_join: Flow::WifiResetAfterFailure, "prov-ctrl reset";
    thread_scan_start: Flow::Thread, "scan start";
    thread_scan_status: Flow::Thread, "scan status";
    thread_scan_result_page: Flow::Thread, "scan result page";
    thread_set_config: Flow::Thread, "set-config";
    thread_apply: Flow::Thread, "apply";
    thread_status_poll: Flow::Thread, "status poll";
}

#[tokio::test(start_paused = true)]
async fn every_point_of_every_flow_has_a_test() {
    let covered = [(Flow::Wifi, 10), (Flow::WifiResetAfterFailure, 4), (Flow::Thread, 9)];
    for (flow, n) in covered {
        assert_eq!(points(flow).len(), n, "{flow:?}: add a row for the new point");
    }
}

/// The Wi-Fi rows again over HTTP to the simulator's server on 127.0.0.1 (real clock: socket I/O
/// does not run on a paused clock; short exchange bounds keep it to seconds).
#[tokio::test]
async fn wifi_over_http_every_point() {
    for point in points(Flow::Wifi) {
        matrix_row(Via::Http, Flow::Wifi, point.name, &[Scheme::Sec1, Scheme::Sec2Patch1]).await;
    }
}
