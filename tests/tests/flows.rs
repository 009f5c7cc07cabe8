//! End-to-end provisioning flows: the phone side against the device simulator, in-process and
//! over HTTP on loopback, for every security scheme and every failure mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rainmaker_prov::endpoints::wifi::WifiStatus;
use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener};
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Sec2Patch, Secret, SecurityLevel};
use rainmaker_prov::session::{DeviceSession, PollOptions, SecurityChoice, SessionOptions};
use rainmaker_prov::sim::device::{SimFlavor, SimSecurity};
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
use rainmaker_prov::transport::memory::MemoryTransport;
use rainmaker_prov::transport::{Transport, TransportKind};
use rainmaker_prov_tests::{Fixture, POP, Via, all_schemes, fast_config};

fn options_for(name: &str) -> SessionOptions {
    let mut options = SessionOptions { pop: Some(Secret::from(POP)), ..SessionOptions::default() };
    if name == "sec0" {
        // A PoP would require a device that proves it (security 1 at least): none for security 0.
        options.min_security = SecurityLevel::Sec0;
        options.pop = None;
    }
    if name == "sec1-no-pop" {
        // A device without a PoP is only accepted from a caller who holds none.
        options.pop = None;
    }
    options.exchange_timeout = Duration::from_secs(5);
    options
}

fn wifi(ssid: &str, pass: &str) -> NetworkCredentials {
    NetworkCredentials::Wifi { ssid: ssid.as_bytes().to_vec(), passphrase: Secret::from(pass) }
}

fn fast_poll() -> PollOptions {
    PollOptions {
        deadline: Duration::from_secs(10),
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn every_scheme_provisions_over_memory_and_http() {
    for via in [Via::Memory, Via::Http] {
        for (name, security) in all_schemes() {
            let fx = Fixture::start(fast_config(security), via).unwrap();
            let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
            request.session = options_for(name);
            request.poll = fast_poll();
            request.custom_data = vec![("custom-data".into(), b"hello device".to_vec())];
            let recorder = Arc::new(Recorder::default());
            let outcome =
                provision::provision(fx.transport.clone(), request, Some(recorder.clone()), &CancelToken::new())
                    .await
                    .unwrap_or_else(|e| panic!("{name} via {via:?}: {e}"));
            let Joined::Wifi { info } = &outcome.joined else { panic!("{name}: not Wi-Fi") };
            assert_eq!(info.ssid, b"RefPeer-Home", "{name} via {via:?}");
            assert_eq!(info.ip4_addr, "192.168.1.100");
            assert_eq!(
                outcome.custom_responses,
                vec![rainmaker_prov::provision::CustomResponse {
                    endpoint: "custom-data".to_owned(),
                    data: b"hello device".to_vec()
                }]
            );
            assert_eq!(fx.device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));
            let expected_level = fx.device.config().security.level();
            assert_eq!(outcome.session.security, expected_level, "{name}");
            let events = recorder.0.lock().unwrap().clone();
            assert_eq!(events.first(), Some(&ProgressEvent::ReadingCapabilities));
            assert!(events.contains(&ProgressEvent::SessionEstablished), "{name}: {events:?}");
            assert!(events.contains(&ProgressEvent::Applying));
            assert_eq!(events.last(), Some(&ProgressEvent::Connected), "{name}");
        }
    }
}

#[tokio::test]
async fn scan_reports_the_capped_list_with_its_edge_cases() {
    for via in [Via::Memory, Via::Http] {
        let fx = Fixture::start(fast_config(all_schemes().remove(4).1), via).unwrap();
        let session = DeviceSession::new(fx.transport.clone(), options_for("sec2"));
        let info = session.connect().await.unwrap();
        assert_eq!(info.sec_patch_ver, 1);
        let nets = session.scan_wifi(None).await.unwrap();
        assert_eq!(nets.len(), 16, "ESP-IDF caps the list at 16");
        assert!(nets.windows(2).all(|w| w[0].rssi >= w[1].rssi), "sorted by signal");
        assert!(nets.iter().any(|n| n.ssid.len() == 32), "32-byte SSID");
        assert!(nets.iter().any(|n| n.ssid.is_empty()), "hidden SSID");
        assert!(nets.iter().any(|n| std::str::from_utf8(&n.ssid).is_ok_and(|s| s.contains('☕'))), "UTF-8 SSID");
        assert!(nets.iter().all(|n| n.bssid.len() == 6));
    }
}

#[tokio::test]
async fn ble_sized_link_reads_scan_results_four_at_a_time() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    let transport: Arc<dyn Transport> =
        Arc::new(MemoryTransport::with_limit(fx.device.clone(), TransportKind::Ble, Some(481)));
    let session = DeviceSession::new(transport, options_for("sec1"));
    session.connect().await.unwrap();
    let before = fx.device.stats().requests;
    let nets = session.scan_wifi(None).await.unwrap();
    assert_eq!(nets.len(), 16);
    // start + status + 16/4 pages
    assert_eq!(fx.device.stats().requests - before, 2 + 4);
}

#[tokio::test]
async fn wrong_pop_or_password_is_wrong_credentials() {
    for via in [Via::Memory, Via::Http] {
        for (name, security) in all_schemes().into_iter().filter(|(n, _)| *n == "sec1" || n.starts_with("sec2")) {
            let fx = Fixture::start(fast_config(security), via).unwrap();
            let mut options = options_for(name);
            options.pop = Some(Secret::from("wrong-pop"));
            let session = DeviceSession::new(fx.transport.clone(), options);
            let err = session.connect().await.unwrap_err();
            assert!(matches!(err, Error::WrongCredentials), "{name} via {via:?}: {err:?}");
            assert!(!err.to_string().contains("wrong-pop"), "the message must not echo the PoP");
        }
    }
}

#[tokio::test]
async fn missing_pop_is_refused_before_any_handshake() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    for security in [SecurityChoice::Auto, SecurityChoice::Fixed(SecurityLevel::Sec1)] {
        let session =
            DeviceSession::new(fx.transport.clone(), SessionOptions { security, ..SessionOptions::default() });
        let err = session.connect().await.unwrap_err();
        assert!(matches!(&err, Error::CredentialsRequired { security: SecurityLevel::Sec1 }), "{security:?}: {err:?}");
        assert!(err.to_string().contains("proof of possession (PoP)"), "{err}");
    }
    // Only proto-ver reached the device, twice: no handshake started without the PoP.
    assert_eq!(fx.device.stats().requests, 2);
}

#[tokio::test]
async fn wrong_passphrase_fails_then_the_same_session_retries() {
    for via in [Via::Memory, Via::Http] {
        let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
        config.auto_stop = None;
        let fx = Fixture::start(config, via).unwrap();
        let recorder = Arc::new(Recorder::default());
        let session = DeviceSession::new(fx.transport.clone(), options_for("sec1")).with_listener(recorder.clone());
        session.connect().await.unwrap();
        let err = session.provision_wifi(b"RefPeer-Home", b"not-the-pass", fast_poll()).await.unwrap_err();
        assert!(matches!(err, Error::WifiAuthFailed), "{err:?}");
        assert!(recorder.0.lock().unwrap().contains(&ProgressEvent::ResetAfterFailure));
        let info = session.provision_wifi(b"RefPeer-Home", b"secretpass", fast_poll()).await.unwrap();
        assert_eq!(info.ssid, b"RefPeer-Home");
    }
}

#[tokio::test]
async fn unknown_ssid_is_network_not_found() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Http).unwrap();
    let mut request = ProvisionRequest::new(wifi("No-Such-Network", "whatever1"));
    request.session = options_for("sec1");
    request.poll = fast_poll();
    let err = provision::provision(fx.transport.clone(), request, None, &CancelToken::new()).await.unwrap_err();
    assert!(matches!(err, Error::WifiNetworkNotFound), "{err:?}");
}

#[tokio::test]
async fn hidden_and_open_networks_join() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    let info = session.provision_wifi(b"RefPeer-Hidden", b"hiddenpass", fast_poll()).await.unwrap();
    assert_eq!(info.ssid, b"RefPeer-Hidden");
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    let info = session.provision_wifi(b"Open Cafe Wi-Fi", b"", fast_poll()).await.unwrap();
    assert_eq!(info.channel, 3);
}

#[tokio::test]
async fn attempts_remaining_are_reported_while_the_device_retries() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.connection_attempts = 3;
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let recorder = Arc::new(Recorder::default());
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1")).with_listener(recorder.clone());
    session.connect().await.unwrap();
    let err = session.provision_wifi(b"RefPeer-Home", b"bad-pass-1", fast_poll()).await.unwrap_err();
    assert!(matches!(err, Error::WifiAuthFailed), "{err:?}");
    let events = recorder.0.lock().unwrap().clone();
    let remaining: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Connecting { attempts_remaining: Some(n), .. } => Some(*n),
            _ => None,
        })
        .collect();
    assert!(remaining.contains(&2) && remaining.contains(&1), "{events:?}");
}

#[tokio::test]
async fn security_below_the_minimum_is_refused() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec0), Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), SessionOptions::default());
    let err = session.connect().await.unwrap_err();
    assert!(
        matches!(err, Error::SecurityBelowMinimum { offered: SecurityLevel::Sec0, minimum: SecurityLevel::Sec1 }),
        "{err:?}"
    );
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Http).unwrap();
    let options = SessionOptions { min_security: SecurityLevel::Sec2, ..options_for("sec1") };
    let err = DeviceSession::new(fx.transport.clone(), options).connect().await.unwrap_err();
    assert!(matches!(err, Error::SecurityBelowMinimum { offered: SecurityLevel::Sec1, .. }), "{err:?}");
}

#[tokio::test]
async fn forcing_a_scheme_overrides_detection() {
    let fx = Fixture::start(fast_config(all_schemes().remove(3).1), Via::Memory).unwrap();
    let options = SessionOptions { security: SecurityChoice::Fixed(SecurityLevel::Sec2), ..options_for("sec2") };
    let info = DeviceSession::new(fx.transport.clone(), options).connect().await.unwrap();
    assert_eq!(info.security, SecurityLevel::Sec2);
    assert_eq!(info.sec_patch_ver, 0);
}

#[tokio::test]
async fn a_join_slower_than_the_deadline_times_out() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.join_delay = Duration::from_secs(30);
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    let poll = PollOptions { deadline: Duration::from_millis(400), ..fast_poll() };
    let started = Instant::now();
    let err = session.provision_wifi(b"RefPeer-Home", b"secretpass", poll).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { step: Step::ConnectionStatus }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let transport: Arc<dyn Transport> =
        Arc::new(HttpTransport::new(HttpConfig { host: format!("127.0.0.1:{port}"), ..HttpConfig::default() }));
    let err = DeviceSession::new(transport, options_for("sec1")).connect().await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { step: Step::ReadCapabilities, .. }), "{err:?}");
}

#[tokio::test]
async fn a_device_that_stops_after_connected_reports_nothing_more() {
    // Auto-stop: the device tears provisioning down after reporting Connected; a later request
    // ends in a typed disconnect, not a hang.
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.auto_stop = Some(Duration::from_millis(50));
    let fx = Fixture::start(config, Via::Http).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    session.provision_wifi(b"RefPeer-Home", b"secretpass", fast_poll()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let err = session.send_custom("custom-data", b"late").await.unwrap_err();
    assert!(matches!(err, Error::Disconnected { step: Step::Custom { .. }, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The session is unusable after a transport error until connect() runs again.
    assert!(matches!(session.wifi_status().await.unwrap_err(), Error::NotConnected));
}

#[tokio::test]
async fn cancellation_stops_a_long_join() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.join_delay = Duration::from_secs(60);
    let fx = Fixture::start(config, Via::Http).unwrap();
    let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
    request.session = options_for("sec1");
    request.poll = PollOptions { deadline: Duration::from_secs(120), ..fast_poll() };
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.cancel();
    });
    let started = Instant::now();
    let err = provision::provision(fx.transport.clone(), request, None, &cancel).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn overall_timeout_bounds_the_run() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.join_delay = Duration::from_secs(60);
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
    request.session = options_for("sec1");
    request.poll = PollOptions { deadline: Duration::from_secs(120), ..fast_poll() };
    request.overall_timeout = Some(Duration::from_millis(500));
    let err = provision::provision(fx.transport.clone(), request, None, &CancelToken::new()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn many_devices_at_once_over_http() {
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        tasks.push(tokio::spawn(async move {
            let security = if i % 2 == 0 {
                SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 }
            } else {
                SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }
            };
            let mut config = fast_config(security);
            config.seed = Some(100 + i);
            let fx = Fixture::start(config, Via::Http).unwrap();
            let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
            request.session = options_for("any");
            request.poll = fast_poll();
            provision::provision(fx.transport.clone(), request, None, &CancelToken::new())
                .await
                .map(|_| fx.device.connected_ssid())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().as_deref(), Some(&b"RefPeer-Home"[..]));
    }
}

#[tokio::test]
async fn thread_devices_scan_and_attach() {
    let mut config = fast_config(SimSecurity::Sec2 {
        username: "wifiprov".into(),
        password: Secret::from(POP),
        patch: Sec2Patch::Patch1,
    });
    config.flavor = SimFlavor::NetworkProvisioning;
    config.auto_stop = None;
    let fx = Fixture::start(config, Via::Http).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec2"));
    let info = session.connect().await.unwrap();
    let rainmaker_prov::endpoints::proto_ver::ProtoVersion::Json { info: v } = &info.version else { panic!("no JSON") };
    assert!(v.prov.as_ref().unwrap().cap.iter().any(|c| c == "thread_scan"));
    let nets = session.scan_thread().await.unwrap();
    assert_eq!(nets.len(), 2);
    let home = &nets[0];
    assert_eq!(home.network_name, "OpenThread-Home");
    // A minimal dataset: channel, PAN id, extended PAN id, network name, network key, mesh-local
    // prefix.
    let mut dataset = vec![0, 3, 0, 0, home.channel as u8, 1, 2, (home.pan_id >> 8) as u8, home.pan_id as u8, 2, 8];
    dataset.extend_from_slice(&home.ext_pan_id);
    dataset.extend_from_slice(&[3, home.network_name.len() as u8]);
    dataset.extend_from_slice(home.network_name.as_bytes());
    dataset.extend_from_slice(&[5, 16]);
    dataset.extend_from_slice(&[0x11; 16]);
    dataset.extend_from_slice(&[7, 8, 0xfd, 0, 0, 0, 0, 0, 0, 0]);
    let status = session.provision_thread(&dataset, fast_poll()).await.unwrap();
    assert!(
        matches!(status, rainmaker_prov::endpoints::thread::ThreadStatus::Attached { pan_id: 0x1234, .. }),
        "{status:?}"
    );
    assert!(fx.device.thread_attached());
    // Wi-Fi still works on a network_provisioning device (wire-compatible messages).
    assert!(matches!(session.wifi_status().await.unwrap(), WifiStatus::Connecting { .. }));
}

#[tokio::test]
async fn an_unknown_thread_network_fails_to_attach() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.flavor = SimFlavor::NetworkProvisioning;
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    // A complete dataset whose extended PAN id no network around has.
    let mut dataset = vec![0, 3, 0, 0, 15, 1, 2, 0x12, 0x34, 2, 8];
    dataset.extend_from_slice(&[9; 8]);
    dataset.extend_from_slice(&[3, 7]);
    dataset.extend_from_slice(b"Nowhere");
    dataset.extend_from_slice(&[5, 16]);
    dataset.extend_from_slice(&[0x11; 16]);
    dataset.extend_from_slice(&[7, 8, 0xfd, 0, 0, 0, 0, 0, 0, 0]);
    let err = session.provision_thread(&dataset, fast_poll()).await.unwrap_err();
    assert!(matches!(err, Error::ThreadAttachFailed { .. }), "{err:?}");
}

#[tokio::test]
async fn qr_payload_supplies_the_credentials() {
    let fx = Fixture::start(fast_config(all_schemes().remove(4).1), Via::Http).unwrap();
    let qr = rainmaker_prov::endpoints::qr::parse(
        r#"{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"abcd1234","transport":"softap"}"#,
    )
    .unwrap();
    let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
    request.session.apply_qr(&qr);
    request.poll = fast_poll();
    let outcome = provision::provision(fx.transport.clone(), request, None, &CancelToken::new()).await.unwrap();
    assert_eq!(outcome.session.security, SecurityLevel::Sec2);
}

#[tokio::test]
async fn reprovisioning_a_connected_device() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.auto_stop = None;
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    session.provision_wifi(b"RefPeer-Home", b"secretpass", fast_poll()).await.unwrap();
    session.reprovision_wifi().await.unwrap();
    assert_eq!(fx.device.connected_ssid(), None);
    let info = session.provision_wifi(b"RefPeer-Office", b"officepass", fast_poll()).await.unwrap();
    assert_eq!(info.ssid, b"RefPeer-Office");
}

#[test]
fn blocking_facade_works_without_a_runtime() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    let session = rainmaker_prov::blocking::BlockingSession::new(fx.transport.clone(), options_for("sec1")).unwrap();
    session.connect().unwrap();
    assert_eq!(session.scan_wifi().unwrap().len(), 16);
    assert_eq!(session.send_custom("custom-data", b"ping").unwrap(), b"ping");
    session.provision_wifi(b"RefPeer-Home", b"secretpass", fast_poll()).unwrap();
    session.disconnect();
}

/// A device that stops answering (but keeps the connection open) after `after` requests.
struct GoesSilent {
    inner: Arc<rainmaker_prov::sim::device::SimDevice>,
    after: u64,
    seen: std::sync::atomic::AtomicU64,
}

impl rainmaker_prov::sim::DeviceLink for GoesSilent {
    fn open_session(&self, id: u32) {
        self.inner.open_session(id)
    }
    fn handle(&self, id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, rainmaker_prov::sim::DeviceFailure> {
        self.inner.handle(id, endpoint, request)
    }
    fn has_endpoint(&self, endpoint: &str) -> bool {
        self.inner.has_endpoint(endpoint)
    }
    fn new_session_id(&self) -> u32 {
        self.inner.new_session_id()
    }
    fn exchange_latency(&self) -> Duration {
        let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n >= self.after { Duration::from_secs(600) } else { Duration::ZERO }
    }
}

#[tokio::test]
async fn a_device_that_goes_silent_mid_flow_times_out_on_that_step() {
    use rainmaker_prov::sim::device::SimDevice;
    use rainmaker_prov::sim::http_server::HttpDeviceServer;
    let device = SimDevice::new(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }));
    // proto-ver + 2 handshake exchanges answered, then silence.
    let link = Arc::new(GoesSilent { inner: device, after: 3, seen: Default::default() });
    let server = HttpDeviceServer::bind(([127, 0, 0, 1], 0).into(), link).unwrap().spawn();
    let transport: Arc<dyn Transport> =
        Arc::new(HttpTransport::new(HttpConfig { host: server.host(), ..HttpConfig::default() }));
    let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
    request.session = SessionOptions { exchange_timeout: Duration::from_millis(700), ..options_for("sec1") };
    request.poll = fast_poll();
    let started = Instant::now();
    let err = provision::provision(transport, request, None, &CancelToken::new()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { step: Step::SendCredentials }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_dropped_exchange_ends_the_security_session() {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.exchange_latency = Duration::from_millis(20);
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    // Drop the exchange future half-way: the sec1 keystream position is now unknown.
    let dropped = tokio::time::timeout(Duration::from_millis(5), session.send_custom("custom-data", b"x")).await;
    assert!(dropped.is_err(), "the exchange should still have been in flight");
    assert!(matches!(session.wifi_status().await.unwrap_err(), Error::NotConnected));
    // A new handshake restores service.
    session.connect().await.unwrap();
    assert_eq!(session.send_custom("custom-data", b"again").await.unwrap(), b"again");
}

#[tokio::test]
async fn a_verifier_from_espressifs_python_generator_is_accepted_after_one_retry() {
    // For `wifiprov`/`pw69` the inner hash starts with 00; esp_prov's generator strips it, so the
    // device holds the "stripped" verifier (docs/protocol.md 4.3.2 hazard 1).
    use rainmaker_prov::security::srp;
    let salt = hex::decode("5a17c0de0badc0ffee00112233445566").unwrap();
    let verifier = srp::compute_verifier(b"wifiprov", b"pw69", &salt, true);
    let mut config = fast_config(SimSecurity::sec2_provisioned(salt, verifier, Sec2Patch::Patch1));
    config.auto_stop = None;
    for via in [Via::Memory, Via::Http] {
        let fx = Fixture::start(config.clone(), via).unwrap();
        let recorder = Arc::new(Recorder::default());
        let options = SessionOptions { pop: Some(Secret::from("pw69")), ..options_for("sec2") };
        let session = DeviceSession::new(fx.transport.clone(), options).with_listener(recorder.clone());
        session.connect().await.unwrap();
        assert!(recorder.0.lock().unwrap().contains(&ProgressEvent::RetryingHandshake));
        assert_eq!(session.send_custom("custom-data", b"ok").await.unwrap(), b"ok");
    }
    // A password whose inner hash does not start with 00 gets no second try.
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let recorder = Arc::new(Recorder::default());
    let options = SessionOptions { pop: Some(Secret::from(POP)), ..options_for("sec2") };
    let session = DeviceSession::new(fx.transport.clone(), options).with_listener(recorder.clone());
    assert!(matches!(session.connect().await.unwrap_err(), Error::WrongCredentials));
    assert!(!recorder.0.lock().unwrap().contains(&ProgressEvent::RetryingHandshake));
}

#[tokio::test]
async fn security_2_fits_a_bluedroid_sized_link() {
    // Command0 is 406 bytes and Response0 416 with `wifiprov`: under Bluedroid's 481-byte limit.
    for (name, security) in all_schemes() {
        let fx = Fixture::start(fast_config(security), Via::Memory).unwrap();
        let ble: Arc<dyn Transport> =
            Arc::new(MemoryTransport::with_limit(fx.device.clone(), TransportKind::Ble, Some(481)));
        let mut request = ProvisionRequest::new(wifi("RefPeer-Home", "secretpass"));
        request.session = options_for(name);
        request.poll = fast_poll();
        let outcome = provision::provision(ble, request, None, &CancelToken::new()).await;
        assert!(outcome.is_ok(), "{name}: {outcome:?}");
    }
    // A username long enough to push Command0 past the limit fails before anything is sent.
    let fx = Fixture::start(fast_config(all_schemes().remove(4).1), Via::Memory).unwrap();
    let ble: Arc<dyn Transport> =
        Arc::new(MemoryTransport::with_limit(fx.device.clone(), TransportKind::Ble, Some(481)));
    let options = SessionOptions { sec2_username: Some("u".repeat(100)), ..options_for("sec2") };
    let err = DeviceSession::new(ble, options).connect().await.unwrap_err();
    assert!(matches!(err, Error::PayloadTooLarge { limit: 481, .. }), "{err:?}");
}

#[tokio::test]
async fn a_scan_is_bounded_by_its_overall_timeout() {
    use rainmaker_prov::sim::device::SimDevice;
    use rainmaker_prov::sim::http_server::HttpDeviceServer;
    let ok = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Memory).unwrap();
    let nets = provision::scan_wifi(
        ok.transport.clone(),
        options_for("sec1"),
        None,
        Some(Duration::from_secs(5)),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(nets.len(), 16);
    // proto-ver and the handshake answered, then the scan hangs.
    let device = SimDevice::new(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }));
    let link = Arc::new(GoesSilent { inner: device, after: 3, seen: Default::default() });
    let server = HttpDeviceServer::bind(([127, 0, 0, 1], 0).into(), link).unwrap().spawn();
    let transport: Arc<dyn Transport> =
        Arc::new(HttpTransport::new(HttpConfig { host: server.host(), ..HttpConfig::default() }));
    let started = Instant::now();
    let err = provision::scan_wifi(
        transport,
        options_for("sec1"),
        None,
        Some(Duration::from_millis(500)),
        &CancelToken::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Timeout { step: Step::WifiScan }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
