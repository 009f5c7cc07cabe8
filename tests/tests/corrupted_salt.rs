//! The corrupted-salt RainMaker device (docs/protocol.md 4.3.2 hazard 2): its verifier covers only
//! the first 15 of the 16 salt bytes it sends. The client authenticates after one retry with the
//! last salt byte dropped; normal devices need no retry; a wrong password still fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rainmaker_prov::error::Error;
use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener};
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{self, Sec2Patch, Secret};
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::sim::device::SimSecurity;
use rainmaker_prov_tests::{Fixture, POP, Via, fast_config, log_capture};

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn retries(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|e| **e == ProgressEvent::RetryingHandshake).count()
    }
}

fn corrupted(password: &str, patch: Sec2Patch) -> SimSecurity {
    SimSecurity::Sec2CorruptedSalt { username: "wifiprov".into(), password: Secret::from(password), patch }
}

fn normal(password: &str) -> SimSecurity {
    SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(password), patch: Sec2Patch::Patch1 }
}

fn request(password: &str) -> ProvisionRequest {
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = SessionOptions {
        pop: Some(Secret::from(password)),
        exchange_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    request.poll = PollOptions {
        deadline: Duration::from_secs(10),
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
    };
    request
}

async fn provision(fx: &Fixture, password: &str) -> (Result<provision::ProvisionOutcome, Error>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let result =
        provision::provision(fx.transport.clone(), request(password), Some(recorder.clone()), &CancelToken::new())
            .await;
    (result, recorder)
}

#[tokio::test]
async fn corrupted_salt_device_is_provisioned_after_one_retry() {
    log_capture::install();
    for via in [Via::Memory, Via::Http] {
        for patch in [Sec2Patch::Patch0, Sec2Patch::Patch1] {
            let fx = Fixture::start(fast_config(corrupted(POP, patch)), via).unwrap();
            let (result, recorder) = provision(&fx, POP).await;
            let outcome = result.unwrap_or_else(|e| panic!("{via:?} {patch:?}: {e}"));
            let Joined::Wifi { info } = &outcome.joined else { panic!("not Wi-Fi") };
            assert_eq!(info.ssid, b"RefPeer-Home");
            assert_eq!(fx.device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));
            let events = recorder.0.lock().unwrap().clone();
            assert_eq!(recorder.retries(), 1, "{via:?}: {events:?}");
            let retry = events.iter().position(|e| *e == ProgressEvent::RetryingHandshake).unwrap();
            let established = events.iter().position(|e| *e == ProgressEvent::SessionEstablished).unwrap();
            assert!(retry < established, "{events:?}");
            assert_eq!(events.last(), Some(&ProgressEvent::Connected));
        }
    }
    let records = log_capture::records();
    assert!(records.iter().any(|r| r.contains("verifier over 15 salt bytes") && r.contains("NVS")), "{records:?}");
    assert!(!records.iter().any(|r| r.contains(POP)), "the password was logged");
}

#[tokio::test]
async fn normal_sec2_device_needs_no_retry() {
    for via in [Via::Memory, Via::Http] {
        let fx = Fixture::start(fast_config(normal(POP)), via).unwrap();
        let (result, recorder) = provision(&fx, POP).await;
        result.unwrap_or_else(|e| panic!("{via:?}: {e}"));
        assert_eq!(recorder.retries(), 0, "{:?}", recorder.0.lock().unwrap());
    }
}

#[tokio::test]
async fn wrong_password_still_fails_after_the_retry() {
    let wrong = "wrongpass1";
    assert!(!security::sec2_inner_hash_has_leading_zero("wifiprov", wrong.as_bytes()));
    for via in [Via::Memory, Via::Http] {
        for security in [corrupted(POP, Sec2Patch::Patch1), normal(POP)] {
            let fx = Fixture::start(fast_config(security), via).unwrap();
            let (result, recorder) = provision(&fx, wrong).await;
            let err = result.err().unwrap();
            assert!(matches!(err, Error::WrongCredentials), "{via:?}: {err:?}");
            // One retry when the device's 16-byte salt starts with 00, none otherwise.
            let expected = usize::from(matches!(fx.device.config().security, SimSecurity::Sec2CorruptedSalt { .. }));
            assert_eq!(recorder.retries(), expected, "{:?}", recorder.0.lock().unwrap());
            assert!(fx.device.connected_ssid().is_none());
        }
    }
}

#[tokio::test]
async fn both_hazards_take_three_handshakes_at_most() {
    // `pw69`'s inner digest starts with 00 (hazard 1), so the stripped retry comes first; the
    // device's verifier is the standard one over 15 salt bytes, found by the third handshake.
    let password = "pw69";
    assert!(security::sec2_inner_hash_has_leading_zero("wifiprov", password.as_bytes()));
    let fx = Fixture::start(fast_config(corrupted(password, Sec2Patch::Patch1)), Via::Memory).unwrap();
    let recorder = Arc::new(Recorder::default());
    let options = SessionOptions {
        pop: Some(Secret::from(password)),
        exchange_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let session = DeviceSession::new(fx.transport.clone(), options).with_listener(recorder.clone());
    session.connect().await.unwrap();
    assert_eq!(recorder.retries(), 2);
    assert_eq!(session.send_custom("custom-data", b"ping").await.unwrap(), b"ping");

    // With a wrong password: three handshakes, then WrongCredentials.
    let recorder = Arc::new(Recorder::default());
    let options = SessionOptions {
        pop: Some(Secret::from("pw69x")),
        exchange_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let session = DeviceSession::new(fx.transport.clone(), options).with_listener(recorder.clone());
    let requests_before = fx.device.stats().requests;
    let err = session.connect().await.unwrap_err();
    assert!(matches!(err, Error::WrongCredentials), "{err:?}");
    // proto-ver plus two prov-session requests per handshake: at most three handshakes.
    let requests = fx.device.stats().requests - requests_before;
    let retries = recorder.retries();
    assert!(retries <= 2, "{retries}");
    assert_eq!(requests, 1 + 2 * (retries as u64 + 1));
}
