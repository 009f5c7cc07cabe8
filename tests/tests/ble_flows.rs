//! BLE flows: btleplug against the fake BlueZ of `tests/ble/fake_bluez.py` on a private system
//! D-Bus, whose GATT writes reach `rainmaker-prov sim` over loopback HTTP.
//!
//! Built only with the `ble` feature and meant to be run by `scripts/ble-test.sh` (which starts the
//! bus, four simulators and the fake BlueZ). The devices it creates: `PROV_5ec1a0` and
//! `PROV_5ec1c0` (security 1, PoP `abcd1234`, NimBLE-style errors), `PROV_5ec2b0` and
//! `PROV_5ec2d0` (security 2, `wifiprov` / `abcd1234`, Bluedroid-style errors: the link drops),
//! `PROV_c11e00` (used by the script's command-line cases) and `Headphones` (not a provisioning
//! device). The `…c0` / `…d0` devices are the ones
//! provisioned (a simulator takes credentials once). Run with `--test-threads=1`: a device takes
//! one connection at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::error::Error;
use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Secret, SecurityLevel};
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::transport::ble::{self, BLE_MAX_PAYLOAD, BleConfig, BleDevice, BleTransport};
use rainmaker_prov::transport::gatt::{self, NameFilter};
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};

const SEC1_DEVICE: &str = "PROV_5ec1a0";
const SEC2_DEVICE: &str = "PROV_5ec2b0";
const SEC1_PROVISIONED: &str = "PROV_5ec1c0";
const SEC2_PROVISIONED: &str = "PROV_5ec2d0";
const POP: &str = "abcd1234";

/// Fails (never passes silently) when the fake bus is not there.
fn require_fake_bluez() {
    assert!(
        ["RAINMAKER_PROV_FAKE_BLUEZ", "DBUS_SYSTEM_BUS_ADDRESS"]
            .iter()
            .all(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty())),
        "the BLE flows need the fake BlueZ: run scripts/ble-test.sh (RAINMAKER_PROV_FAKE_BLUEZ and \
         DBUS_SYSTEM_BUS_ADDRESS are not set)"
    );
}

async fn device(name: &str) -> BleDevice {
    require_fake_bluez();
    ble::find_device(&NameFilter::Exact(name.to_owned()), Duration::from_secs(5)).await.unwrap()
}

fn config() -> BleConfig {
    BleConfig {
        connect_timeout: Duration::from_secs(5),
        discovery_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..BleConfig::default()
    }
}

fn options(pop: &str) -> SessionOptions {
    SessionOptions {
        pop: Some(Secret::from(pop)),
        exchange_timeout: Duration::from_secs(10),
        ..SessionOptions::default()
    }
}

fn request() -> ProvisionRequest {
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = options(POP);
    request.custom_data = vec![("custom-data".into(), b"hello over ble".to_vec())];
    request.poll = PollOptions {
        deadline: Duration::from_secs(10),
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
    };
    request.overall_timeout = Some(Duration::from_secs(60));
    request
}

#[tokio::test]
async fn scan_filters_by_prefix_and_by_exact_name() {
    require_fake_bluez();
    let found = ble::scan(&NameFilter::default(), Duration::from_secs(1)).await.unwrap();
    let mut names: Vec<&str> = found.iter().map(BleDevice::name).collect();
    names.sort_unstable();
    // PROV_c11e00 is the script's command-line device.
    assert_eq!(
        names,
        [SEC1_DEVICE, SEC1_PROVISIONED, SEC2_DEVICE, SEC2_PROVISIONED, "PROV_c11e00"],
        "Headphones is filtered out"
    );
    for device in &found {
        assert_eq!(device.advertised_services(), [gatt::EXAMPLE_SERVICE_UUID]);
        assert!(device.rssi().is_some());
    }

    let exact = ble::find_device(&NameFilter::Exact(SEC2_DEVICE.into()), Duration::from_secs(5)).await.unwrap();
    assert_eq!(exact.name(), SEC2_DEVICE);
    let prefixed = ble::scan(&NameFilter::Prefix("PROV_5ec2".into()), Duration::from_millis(300)).await.unwrap();
    let mut names: Vec<&str> = prefixed.iter().map(BleDevice::name).collect();
    names.sort_unstable();
    assert_eq!(names, [SEC2_DEVICE, SEC2_PROVISIONED]);

    let started = std::time::Instant::now();
    let missing = ble::find_device(&NameFilter::Exact("PROV_000000".into()), Duration::from_millis(500)).await;
    assert!(matches!(missing, Err(TransportError::Unreachable { .. })), "{missing:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the scan is bounded");
}

#[tokio::test]
async fn endpoints_come_from_the_user_descriptions() {
    let transport = BleTransport::new(device(SEC1_DEVICE).await, config());
    assert_eq!(transport.kind(), TransportKind::Ble);
    assert_eq!(transport.max_payload(), Some(BLE_MAX_PAYLOAD));
    assert!(transport.endpoints().await.is_empty(), "nothing connected yet");

    transport.connect().await.unwrap();
    assert_eq!(transport.service_uuid().await.as_deref(), Some(gatt::EXAMPLE_SERVICE_UUID));
    assert_eq!(
        transport.endpoints().await,
        ["custom-data", "proto-ver", "prov-config", "prov-ctrl", "prov-scan", "prov-session"]
    );
    // docs/protocol.md §11.6, example-service column.
    let uuids = transport.endpoint_uuids().await;
    let expected = [
        ("custom-data", "021aff54-0382-4aea-bff4-6b3f1c5adfb4"),
        ("proto-ver", "021aff53-0382-4aea-bff4-6b3f1c5adfb4"),
        ("prov-config", "021aff52-0382-4aea-bff4-6b3f1c5adfb4"),
        ("prov-ctrl", "021aff4f-0382-4aea-bff4-6b3f1c5adfb4"),
        ("prov-scan", "021aff50-0382-4aea-bff4-6b3f1c5adfb4"),
        ("prov-session", "021aff51-0382-4aea-bff4-6b3f1c5adfb4"),
    ];
    let actual: Vec<(&str, &str)> = uuids.iter().map(|(n, u)| (n.as_str(), u.as_str())).collect();
    assert_eq!(actual, expected);

    // A plain exchange: proto-ver is not encrypted and answers JSON. (Custom endpoints go
    // through the security session, so without a handshake the device fails them.)
    let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&version).unwrap();
    assert!(json.get("prov").is_some(), "{json}");
    assert_eq!(
        transport.send("custom-data".into(), b"ping".to_vec()).await,
        Err(TransportError::ClosedWithoutResponse)
    );

    let missing = transport.send("no-such-endpoint".into(), b"x".to_vec()).await;
    assert_eq!(missing, Err(TransportError::EndpointNotFound { endpoint: "no-such-endpoint".into() }));
    let too_big = transport.send("custom-data".into(), vec![0; BLE_MAX_PAYLOAD + 1]).await;
    assert_eq!(
        too_big,
        Err(TransportError::PayloadTooLarge { size: (BLE_MAX_PAYLOAD + 1) as u64, limit: BLE_MAX_PAYLOAD as u64 })
    );
    assert!(matches!(transport.send("custom-data".into(), Vec::new()).await, Err(TransportError::Io { .. })));
    // The link survived the refused requests (NimBLE-style device).
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), version);

    transport.disconnect().await;
    assert!(transport.endpoints().await.is_empty());
    // The next exchange connects again.
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), version);
    transport.disconnect().await;
}

async fn provision_over_ble(name: &str, level: SecurityLevel) {
    let transport: Arc<dyn Transport> = Arc::new(BleTransport::new(device(name).await, config()));
    let outcome = provision::provision(transport.clone(), request(), None, &CancelToken::new())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(outcome.session.security, level);
    let Joined::Wifi { info } = &outcome.joined else { panic!("{name}: not Wi-Fi") };
    assert_eq!(info.ssid, b"RefPeer-Home");
    assert_eq!(info.ip4_addr, "192.168.1.100");
    assert_eq!(
        outcome.custom_responses,
        vec![rainmaker_prov::provision::CustomResponse {
            endpoint: "custom-data".to_owned(),
            data: b"hello over ble".to_vec()
        }]
    );
}

#[tokio::test]
async fn provisions_a_security_1_device() {
    provision_over_ble(SEC1_PROVISIONED, SecurityLevel::Sec1).await;
}

#[tokio::test]
async fn provisions_a_security_2_device() {
    provision_over_ble(SEC2_PROVISIONED, SecurityLevel::Sec2).await;
}

#[tokio::test]
async fn wifi_scan_is_read_four_entries_at_a_time() {
    let transport: Arc<dyn Transport> = Arc::new(BleTransport::new(device(SEC2_DEVICE).await, config()));
    let session = DeviceSession::new(transport, options(POP));
    session.connect().await.unwrap();
    let networks = session.scan_wifi(None).await.unwrap();
    assert_eq!(networks.len(), 16);
    assert!(networks.iter().any(|n| n.ssid.len() == 32), "the 32-byte SSID fits a BLE read");
    session.disconnect().await;
}

/// A wrong PoP fails the handshake on the device: NimBLE answers the write with ATT 0x04,
/// Bluedroid drops the link. Both read as rejected credentials, and the same transport then
/// works with the right PoP (after a fresh connection where the link dropped).
#[tokio::test]
async fn a_failed_request_reads_as_rejected_credentials_on_both_stacks() {
    for name in [SEC1_DEVICE, SEC2_DEVICE] {
        let transport: Arc<dyn Transport> = Arc::new(BleTransport::new(device(name).await, config()));
        let wrong = DeviceSession::new(transport.clone(), options("wrong-pop"));
        let error = wrong.connect().await.unwrap_err();
        assert!(matches!(error, Error::WrongCredentials), "{name}: {error:?}");

        let right = DeviceSession::new(transport.clone(), options(POP));
        right.connect().await.unwrap_or_else(|e| panic!("{name} after the failure: {e}"));
        assert_eq!(right.scan_wifi(None).await.unwrap().len(), 16);
        right.disconnect().await;
    }
}

/// The raw transport reports both stacks' failures as the device failing the request, and
/// carries on.
#[tokio::test]
async fn garbage_on_prov_session_is_closed_without_response() {
    for name in [SEC1_DEVICE, SEC2_DEVICE] {
        let transport = BleTransport::new(device(name).await, config());
        let outcome = transport.send("prov-session".into(), vec![0xff; 8]).await;
        assert_eq!(outcome, Err(TransportError::ClosedWithoutResponse), "{name}");
        // NimBLE kept the link; after Bluedroid's drop the next exchange connects again.
        let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();
        assert!(version.starts_with(b"{"), "{name}");
        transport.disconnect().await;
    }
}

/// A link that drops between two exchanges (the device went away, or provisioning ended) is
/// reported once as [`TransportError::Disconnected`]; the exchange after that connects again.
#[tokio::test]
async fn a_link_dropped_between_exchanges_is_disconnected() {
    let device = device(SEC1_DEVICE).await;
    let path = format!("/org/bluez/hci0/dev_{}", device.address().replace(':', "_"));
    let transport = BleTransport::new(device, config());
    let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();

    // The fake BlueZ drops the link as if the device had gone.
    let status = std::process::Command::new("dbus-send")
        .args(["--system", "--print-reply", "--dest=org.bluez", &path, "org.bluez.Device1.Disconnect"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    let dropped = transport.send("proto-ver".into(), b"ESP".to_vec()).await;
    assert!(matches!(dropped, Err(TransportError::Disconnected { .. })), "{dropped:?}");
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), version);
    transport.disconnect().await;
}
