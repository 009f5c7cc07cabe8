//! Thread provisioning with Wi-Fi's guarantees: datasets are checked before anything is sent, and a
//! failed attach is reset (`prov-ctrl`) so the same session can retry (docs/protocol.md 6.3, 6.6,
//! 12.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rainmaker_prov::endpoints::thread::{self, ThreadStatus};
use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::events::{ProgressEvent, ProgressListener};
use rainmaker_prov::security::Secret;
use rainmaker_prov::session::{DeviceSession, SessionOptions};
use rainmaker_prov::sim::device::{SimFlavor, SimSecurity};
use rainmaker_prov_tests::{Fixture, POP, Via, fast_config, fast_poll};

/// The network key of every dataset here: no error message may contain it.
const KEY: [u8; 16] = [0x5e, 0xc2, 0xe7, 0x4b, 0x1d, 0x9a, 0x33, 0x07, 0x88, 0x6f, 0xa1, 0x0c, 0xde, 0x42, 0x17, 0x90];
const KEY_HEX: &str = "5ec2e74b1d9a3307886fa10cde421790";

/// The extended PAN id of the simulator's "OpenThread-Home" network.
const HOME_EXT_PAN: [u8; 8] = [0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0xca, 0xfe];

fn tlv(out: &mut Vec<u8>, t: u8, value: &[u8]) {
    out.push(t);
    out.push(value.len() as u8);
    out.extend_from_slice(value);
}

/// A complete dataset for the network with this extended PAN id.
fn dataset(ext_pan: &[u8; 8]) -> Vec<u8> {
    let mut d = Vec::new();
    tlv(&mut d, thread::TLV_CHANNEL, &[0, 0, 15]);
    tlv(&mut d, thread::TLV_PAN_ID, &[0x12, 0x34]);
    tlv(&mut d, thread::TLV_EXT_PAN_ID, ext_pan);
    tlv(&mut d, thread::TLV_NETWORK_NAME, b"OpenThread-Home");
    tlv(&mut d, thread::TLV_NETWORK_KEY, &KEY);
    tlv(&mut d, thread::TLV_MESH_LOCAL_PREFIX, &[0xfd, 0xde, 0xad, 0x00, 0xbe, 0xef, 0, 0]);
    d
}

fn options() -> SessionOptions {
    rainmaker_prov_tests::pop_options()
}

fn thread_device(via: Via) -> Fixture {
    let mut config = fast_config(SimSecurity::Sec1 { pop: Some(Secret::from(POP)) });
    config.flavor = SimFlavor::NetworkProvisioning;
    Fixture::start(config, via).unwrap()
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Recorder {
    fn on_progress(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn invalid_datasets_are_refused_before_anything_is_sent() {
    let fx = thread_device(Via::Http);
    let session = DeviceSession::new(fx.transport.clone(), options());
    session.connect().await.unwrap();
    let good = dataset(&HOME_EXT_PAN);
    let mut truncated = good.clone();
    truncated.pop();
    // esp_prov's encoding of a PAN id below 0x100 (docs/protocol.md 12.1): the channel TLV (5
    // bytes), a one-byte PAN id instead of the 4-byte TLV, the rest.
    let mut one_byte_pan = good[..5].to_vec();
    tlv(&mut one_byte_pan, thread::TLV_PAN_ID, &[0x34]);
    one_byte_pan.extend_from_slice(&good[9..]);
    let mut no_key = Vec::new();
    tlv(&mut no_key, thread::TLV_CHANNEL, &[0, 0, 15]);
    tlv(&mut no_key, thread::TLV_PAN_ID, &[0x12, 0x34]);
    tlv(&mut no_key, thread::TLV_EXT_PAN_ID, &HOME_EXT_PAN);
    tlv(&mut no_key, thread::TLV_NETWORK_NAME, b"OpenThread-Home");
    tlv(&mut no_key, thread::TLV_MESH_LOCAL_PREFIX, &[0xfd, 0, 0, 0, 0, 0, 0, 0]);
    let mut short_key = good.clone();
    let key_at = short_key.windows(2).position(|w| w == [thread::TLV_NETWORK_KEY, 16]).unwrap();
    short_key[key_at + 1] = 15;
    short_key.remove(key_at + 2);
    let mut too_long = good.clone();
    tlv(&mut too_long, 0x4a, &[0xaa; 250]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("truncated", truncated, "truncated"),
        ("one-byte PAN id", one_byte_pan, "PAN id"),
        ("no network key", no_key, "no network key"),
        ("short network key", short_key, "network key"),
        ("over 254 bytes", too_long, "at most 254"),
        ("garbage", vec![0xff; 40], "truncated"),
    ];
    let before = fx.device.stats().requests;
    for (name, bytes, expected) in cases {
        let err = session.provision_thread(&bytes, fast_poll()).await.unwrap_err();
        let Error::InvalidInput { detail: msg } = &err else { panic!("{name}: {err:?}") };
        assert!(msg.contains(expected), "{name}: {msg}");
        assert!(!err.to_string().to_lowercase().contains(KEY_HEX), "{name}: the message leaks the key");
        assert!(!format!("{err:?}").to_lowercase().contains(KEY_HEX), "{name}: Debug leaks the key");
    }
    // Nothing reached the device: no set-config, no apply.
    assert_eq!(fx.device.stats().requests, before, "a refused dataset must not be sent");
    assert!(!fx.device.thread_attached());
    // The session is intact: the valid dataset goes through.
    let status = session.provision_thread(&good, fast_poll()).await.unwrap();
    assert!(matches!(status, ThreadStatus::Attached { pan_id: 0x1234, .. }), "{status:?}");
    assert!(fx.device.thread_attached());
}

#[tokio::test]
async fn a_failed_attach_is_reset_and_the_same_session_retries() {
    for via in [Via::Memory, Via::Http] {
        let fx = thread_device(via);
        let recorder = Arc::new(Recorder::default());
        let session = DeviceSession::new(fx.transport.clone(), options()).with_listener(recorder.clone());
        session.connect().await.unwrap();
        // No network around has this extended PAN id.
        let err = session.provision_thread(&dataset(&[9; 8]), fast_poll()).await.unwrap_err();
        assert!(
            matches!(&err, Error::ThreadAttachFailed { detail: reason } if reason.contains("NetworkNotFound")),
            "{err:?}"
        );
        assert!(
            recorder.0.lock().unwrap().contains(&ProgressEvent::ResetAfterFailure),
            "{via:?}: no prov-ctrl reset after the failed attach"
        );
        let status = session.provision_thread(&dataset(&HOME_EXT_PAN), fast_poll()).await.unwrap();
        assert!(matches!(status, ThreadStatus::Attached { pan_id: 0x1234, .. }), "{via:?}: {status:?}");
        assert!(fx.device.thread_attached());
    }
}

#[tokio::test]
async fn without_a_reset_the_device_refuses_a_second_dataset_as_firmware_does() {
    let fx = thread_device(Via::Memory);
    let session = DeviceSession::new(fx.transport.clone(), options());
    session.connect().await.unwrap();
    session.set_thread_config(&dataset(&[9; 8])).await.unwrap();
    session.apply_thread_config().await.unwrap();
    let mut status = session.thread_status().await.unwrap();
    for _ in 0..100 {
        if status != ThreadStatus::Attaching {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = session.thread_status().await.unwrap();
    }
    assert_eq!(status, ThreadStatus::Failed { reason: thread::ThreadFailReason::NetworkNotFound });
    // The dataset is stored, but applying it is refused: one was already applied this round.
    session.set_thread_config(&dataset(&HOME_EXT_PAN)).await.unwrap();
    let err = session.apply_thread_config().await.unwrap_err();
    assert!(matches!(err, Error::AlreadyProvisioned { step: Step::ApplyCredentials }), "{err:?}");
    assert!(err.to_string().starts_with("device already provisioned: reset it or use prov-ctrl reprov"), "{err}");
    // After prov-ctrl reset it works.
    session.reset_thread().await.unwrap();
    let status = session.provision_thread(&dataset(&HOME_EXT_PAN), fast_poll()).await.unwrap();
    assert!(matches!(status, ThreadStatus::Attached { .. }), "{status:?}");
    // A reset is only valid after a failure: an attached device refuses it.
    let err = session.reset_thread().await.unwrap_err();
    assert!(matches!(&err, Error::DeviceStatus { step: Step::Control, status } if status.contains("InternalError")));
}

/// A Thread-only device (`thread_prov` without `wifi_prov`, as network_provisioning firmware built
/// without Wi-Fi answers): the simulator's network_provisioning device with `wifi_prov` and
/// `wifi_scan` taken out of its `proto-ver` answer. Records every endpoint it is sent.
struct ThreadOnly {
    inner: Arc<dyn rainmaker_prov::transport::Transport>,
    sent: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl rainmaker_prov::transport::Transport for ThreadOnly {
    async fn send(
        &self,
        endpoint: String,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, rainmaker_prov::transport::TransportError> {
        self.sent.lock().unwrap().push(endpoint.clone());
        let answer = self.inner.send(endpoint.clone(), data).await?;
        if endpoint != "proto-ver" {
            return Ok(answer);
        }
        let text = String::from_utf8(answer).unwrap();
        assert!(text.contains("\"wifi_prov\","), "{text}");
        Ok(text.replace("\"wifi_prov\",", "").replace("\"wifi_scan\",", "").into_bytes())
    }

    fn max_payload(&self) -> Option<usize> {
        self.inner.max_payload()
    }

    fn kind(&self) -> rainmaker_prov::transport::TransportKind {
        self.inner.kind()
    }

    async fn disconnect(&self) {
        self.inner.disconnect().await;
    }
}

#[tokio::test]
async fn wifi_credentials_for_a_thread_only_device_are_refused_before_anything_is_sent() {
    let fx = thread_device(Via::Memory);
    let link = Arc::new(ThreadOnly { inner: fx.transport.clone(), sent: Mutex::default() });
    let session = DeviceSession::new(link.clone(), options());
    let info = session.connect().await.unwrap();
    assert!(info.version.supports_thread() && !info.version.supports_wifi(), "{:?}", info.version);
    let before = link.sent.lock().unwrap().len();
    let err = session.set_wifi_config(b"RefPeer-Home", b"secretpass").await.unwrap_err();
    let Error::Unsupported { step, what, detail } = &err else { panic!("{err:?}") };
    assert_eq!(*step, Step::SendCredentials);
    assert_eq!(*what, rainmaker_prov::error::Feature::WifiProvisioning);
    assert!(detail.contains("thread_prov") && !detail.contains("wifi_prov"), "{detail}");
    assert!(!err.to_string().contains("secretpass"), "{err}");
    // Nothing went to the device, and the session still provisions Thread.
    assert_eq!(link.sent.lock().unwrap().len(), before);
    assert!(fx.device.connected_ssid().is_none());
    let status = session.provision_thread(&dataset(&HOME_EXT_PAN), fast_poll()).await.unwrap();
    assert!(matches!(status, ThreadStatus::Attached { .. }), "{status:?}");
}
