//! End-to-end flows over the serial console: the phone side against the device simulator served
//! on a pseudo-terminal (docs/protocol.md §5.3). Security 0 and 1 provision; security 2 cannot be
//! carried and fails with a typed error instead of hanging.
#![cfg(unix)] // pseudo-terminals
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener};
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Secret, SecurityLevel};
use rainmaker_prov::session::{DeviceSession, PollOptions, SecurityChoice, SessionOptions};
use rainmaker_prov::sim::device::SimSecurity;
use rainmaker_prov::transport::TransportKind;
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

fn request_for(name: &str) -> ProvisionRequest {
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = options_for(name);
    request.poll = PollOptions {
        deadline: Duration::from_secs(10),
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
    };
    request.custom_data = vec![("custom-data".into(), b"hello device".to_vec())];
    request.overall_timeout = Some(Duration::from_secs(30));
    request
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn sec0_and_sec1_provision_over_a_pty() {
    for (name, security) in all_schemes().into_iter().filter(|(name, _)| !name.starts_with("sec2")) {
        let fx = Fixture::start(fast_config(security), Via::Console).unwrap();
        assert_eq!(fx.transport.kind(), TransportKind::Console);
        let recorder = Arc::new(Recorder::default());
        let outcome =
            provision::provision(fx.transport.clone(), request_for(name), Some(recorder.clone()), &CancelToken::new())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let Joined::Wifi { info } = &outcome.joined else { panic!("{name}: not Wi-Fi") };
        assert_eq!(info.ssid, b"RefPeer-Home", "{name}");
        assert_eq!(
            outcome.custom_responses,
            vec![rainmaker_prov::provision::CustomResponse {
                endpoint: "custom-data".to_owned(),
                data: b"hello device".to_vec()
            }]
        );
        assert_eq!(fx.device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]), "{name}");
        assert_eq!(outcome.session.security, fx.device.config().security.level(), "{name}");
        let events = recorder.0.lock().unwrap().clone();
        assert!(events.contains(&ProgressEvent::SessionEstablished), "{name}: {events:?}");
        assert_eq!(events.last(), Some(&ProgressEvent::Connected), "{name}");
        // The whole flow ran in one console session.
        assert_eq!(fx.device.stats().sessions_opened, 1, "{name}");
        assert!(fx.console.as_ref().unwrap().current_session().is_some());
    }
}

#[tokio::test]
async fn sec2_over_the_console_is_a_typed_error_not_a_hang() {
    for (name, security) in all_schemes().into_iter().filter(|(name, _)| name.starts_with("sec2")) {
        for choice in [SecurityChoice::Auto, SecurityChoice::Fixed(SecurityLevel::Sec2)] {
            let fx = Fixture::start(fast_config(security.clone()), Via::Console).unwrap();
            let mut request = request_for(name);
            request.session.security = choice;
            let started = Instant::now();
            let err = provision::provision(fx.transport.clone(), request, None, &CancelToken::new())
                .await
                .expect_err("security 2 cannot be carried by the console");
            assert!(started.elapsed() < Duration::from_secs(5), "{name}: took {:?}", started.elapsed());
            let Error::PayloadTooLarge { step: Step::Handshake, limit: 115, .. } = &err else {
                panic!("{name} {choice:?}: {err:?}")
            };
            let message = err.to_string();
            assert!(message.contains("prov-session"), "{message}");
            assert!(message.contains("limit of 115 bytes"), "{message}");
            // Only proto-ver reached the device: the handshake was refused before writing.
            assert_eq!(fx.device.stats().requests, 1, "{name} {choice:?}");
        }
    }
}

#[tokio::test]
async fn scan_over_the_console_reads_four_entries_per_request() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Console).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    let before = fx.device.stats().requests;
    let nets = session.scan_wifi(None).await.unwrap();
    assert_eq!(nets.len(), 16);
    assert!(nets.iter().any(|n| n.ssid.len() == 32), "32-byte SSID");
    // start + status + 16/4 pages
    assert_eq!(fx.device.stats().requests - before, 2 + 4);
}

#[tokio::test]
async fn wrong_pop_over_the_console_is_wrong_credentials() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Console).unwrap();
    let mut options = options_for("sec1");
    options.pop = Some(Secret::from("wrong-pop"));
    let session = DeviceSession::new(fx.transport.clone(), options);
    let err = session.connect().await.unwrap_err();
    assert!(matches!(err, Error::WrongCredentials), "{err:?}");
    // The link survives the device's failure: the right PoP works on the same port.
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
}

#[tokio::test]
async fn reconnecting_uses_a_new_console_session() {
    let fx = Fixture::start(fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }), Via::Console).unwrap();
    let console = fx.console.as_ref().unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options_for("sec1"));
    session.connect().await.unwrap();
    let first = console.current_session().unwrap();
    session.disconnect().await;
    session.connect().await.unwrap();
    let second = console.current_session().unwrap();
    assert_ne!(first, second);
    assert_eq!(fx.device.stats().sessions_opened, 2);
    session.scan_wifi(None).await.unwrap();
}
