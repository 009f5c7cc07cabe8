//! The simulated device's provisioning lifecycle: by default it keeps serving after a successful
//! provisioning (provision again, scan again); with `auto_stop` it behaves like firmware that
//! refuses new credentials once provisioned and then stops its provisioning service
//! (docs/protocol.md 6.3, 6.5, 6.6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::security::Secret;
use rainmaker_prov::session::{DeviceSession, SessionOptions};
use rainmaker_prov::sim::device::{SimConfig, SimSecurity};
use rainmaker_prov_tests::{Fixture, POP, Via, fast_config, fast_poll, log_capture};

fn options() -> SessionOptions {
    rainmaker_prov_tests::pop_options()
}

fn sec1() -> SimSecurity {
    SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }
}

#[test]
fn the_simulated_device_keeps_serving_by_default() {
    assert_eq!(SimConfig::new(sec1()).auto_stop, None);
}

#[tokio::test]
async fn one_device_is_provisioned_twice_over_http() {
    log_capture::install();
    let fx = Fixture::start(fast_config(sec1()), Via::Http).unwrap();
    for (round, (ssid, pass)) in
        [("RefPeer-Home", "secretpass"), ("RefPeer-Office", "officepass")].into_iter().enumerate()
    {
        // A new session each time, as a developer's second run would open.
        let session = DeviceSession::new(fx.transport.clone(), options());
        session.connect().await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(session.scan_wifi(None).await.unwrap().len(), 16, "round {round}: scan again");
        let info = session
            .provision_wifi(ssid.as_bytes(), pass.as_bytes(), fast_poll())
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(info.ssid, ssid.as_bytes());
        assert_eq!(fx.device.connected_ssid().as_deref(), Some(ssid.as_bytes()));
        // Still serving a while after Connected (firmware with auto-stop would be gone by now).
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(session.send_custom("custom-data", b"still there").await.unwrap(), b"still there");
    }
    let records = log_capture::records();
    for ssid in ["RefPeer-Home", "RefPeer-Office"] {
        assert!(
            records.iter().any(|r| r.contains("provisioning succeeded") && r.contains(ssid)),
            "no outcome logged for {ssid}"
        );
    }
    for pass in ["secretpass", "officepass"] {
        assert!(!records.iter().any(|r| r.contains(pass)), "a passphrase was logged");
    }
}

#[tokio::test]
async fn a_failed_join_is_logged_with_its_reason() {
    log_capture::install();
    let fx = Fixture::start(fast_config(sec1()), Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options());
    session.connect().await.unwrap();
    let err = session.provision_wifi(b"RefPeer-Home", b"wrong-passphrase-xyz", fast_poll()).await.unwrap_err();
    assert!(matches!(err, Error::WifiAuthFailed), "{err:?}");
    let records = log_capture::records();
    assert!(records.iter().any(|r| r.contains("provisioning failed") && r.contains("AuthError")), "{records:?}");
    assert!(!records.iter().any(|r| r.contains("wrong-passphrase-xyz")), "a passphrase was logged");
}

#[tokio::test]
async fn an_auto_stop_device_refuses_a_second_provisioning_then_stops() {
    log_capture::install();
    let mut config = fast_config(sec1());
    // Firmware-like: provisioning is torn down a while after Connected is reported.
    config.auto_stop = Some(Duration::from_millis(1500));
    let fx = Fixture::start(config, Via::Http).unwrap();
    let first = DeviceSession::new(fx.transport.clone(), options());
    first.connect().await.unwrap();
    first.provision_wifi(b"RefPeer-Home", b"secretpass", fast_poll()).await.unwrap();
    let connected_at = Instant::now();

    // Before it stops, a second session is served but the credentials are refused with a typed,
    // actionable error (the device answers InternalError to apply, docs/protocol.md 6.3).
    let second = DeviceSession::new(fx.transport.clone(), options());
    second.connect().await.unwrap();
    let err = second.provision_wifi(b"RefPeer-Office", b"officepass", fast_poll()).await.unwrap_err();
    assert!(connected_at.elapsed() < Duration::from_millis(1500), "the test was too slow to see the window");
    assert!(matches!(err, Error::AlreadyProvisioned { step: Step::ApplyCredentials }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("device already provisioned: reset it or use prov-ctrl reprov"), "{msg}");
    assert!(!msg.contains("reported status"), "{msg}");
    // Firmware with auto-stop does not re-provision either (docs/protocol.md 6.6).
    assert!(matches!(second.reprovision_wifi().await.unwrap_err(), Error::DeviceStatus { step: Step::Control, .. }));
    assert_eq!(fx.device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));

    // Once stopped, a new session is refused at once with a typed error, not a hang.
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(connected_at.elapsed()) + Duration::from_millis(100))
        .await;
    let third = DeviceSession::new(fx.transport.clone(), options());
    let started = Instant::now();
    let err = third.connect().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Disconnected { step: Step::ReadCapabilities, .. }
                | Error::Unreachable { step: Step::ReadCapabilities, .. }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(log_capture::records().iter().any(|r| r.contains("provisioning stopped")), "the stop was not logged");
}
