//! The GATT driver ([`GattTransport`]) end to end over a simulated peripheral ([`SimPeripheral`]):
//! provisioning with security 1 and 2, the firmware's two ways of failing a request, links that
//! drop, small write limits, the legacy layout without user descriptions, devices without a
//! provisioning service, and hostile peripherals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::error::{Error, Step};
use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::{Sec2Patch, Secret, SecurityLevel};
use rainmaker_prov::session::{DeviceSession, SessionOptions};
use rainmaker_prov::sim::device::{SimDevice, SimSecurity};
use rainmaker_prov::sim::gatt_peripheral::{FailureStyle, SimPeripheral};
use rainmaker_prov::transport::gatt;
use rainmaker_prov::transport::gatt_driver::{
    self, GattConfig, GattTransport, MAX_CHARACTERISTICS, MAX_DESCRIPTION_LEN, MAX_DESCRIPTORS, MAX_RESPONSE_LEN,
};
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};
use rainmaker_prov_tests::{POP, fast_config, fast_poll, pop_options};

fn sec1() -> SimSecurity {
    SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }
}

fn sec2(patch: Sec2Patch) -> SimSecurity {
    SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch }
}

/// A device with `security` behind a default peripheral, customised by `build`.
fn sim_peripheral(security: SimSecurity, build: impl FnOnce(SimPeripheral) -> SimPeripheral) -> Arc<SimPeripheral> {
    Arc::new(build(SimPeripheral::new(SimDevice::new(fast_config(security)))))
}

fn config() -> GattConfig {
    GattConfig {
        connect_timeout: Duration::from_secs(5),
        discovery_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        ..GattConfig::default()
    }
}

fn gatt_transport(peripheral: &Arc<SimPeripheral>) -> Arc<GattTransport> {
    Arc::new(GattTransport::new(peripheral.clone(), config()))
}

fn options(pop: &str) -> SessionOptions {
    SessionOptions { pop: Some(Secret::from(pop)), ..pop_options() }
}

fn request(custom_data: bool) -> ProvisionRequest {
    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session = pop_options();
    request.poll = fast_poll();
    if custom_data {
        request.custom_data = vec![("custom-data".into(), b"hello over gatt".to_vec())];
    }
    request.overall_timeout = Some(Duration::from_secs(30));
    request
}

async fn provision_over(peripheral: &Arc<SimPeripheral>, custom_data: bool) -> provision::ProvisionOutcome {
    let outcome = provision::provision(gatt_transport(peripheral), request(custom_data), None, &CancelToken::new())
        .await
        .unwrap_or_else(|e| panic!("{peripheral:?}: {e}"));
    let Joined::Wifi { info } = &outcome.joined else { panic!("not Wi-Fi") };
    assert_eq!(info.ssid, b"RefPeer-Home");
    assert_eq!(info.ip4_addr, "192.168.1.100");
    assert_eq!(peripheral.device().connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));
    outcome
}

#[tokio::test]
async fn security_1_and_2_provision_wifi() {
    for (name, security, level) in [
        ("sec1", sec1(), SecurityLevel::Sec1),
        ("sec2-patch0", sec2(Sec2Patch::Patch0), SecurityLevel::Sec2),
        ("sec2-patch1", sec2(Sec2Patch::Patch1), SecurityLevel::Sec2),
    ] {
        for style in [FailureStyle::NimBle, FailureStyle::Bluedroid] {
            let peripheral = sim_peripheral(security.clone(), |p| p.failure_style(style));
            let outcome = provision_over(&peripheral, true).await;
            assert_eq!(outcome.session.security, level, "{name}");
            assert_eq!(
                outcome.custom_responses,
                vec![rainmaker_prov::provision::CustomResponse {
                    endpoint: "custom-data".to_owned(),
                    data: b"hello over gatt".to_vec()
                }]
            );
            assert_eq!(peripheral.connections(), 1, "{name} {style:?}: one connection for the whole run");
            assert!(!peripheral.is_connected(), "{name}: the run disconnects at the end");
        }
    }
}

#[tokio::test]
async fn endpoints_come_from_the_user_descriptions() {
    let peripheral = sim_peripheral(sec1(), |p| p);
    let transport = gatt_transport(&peripheral);
    assert_eq!(transport.kind(), TransportKind::Ble);
    assert_eq!(transport.max_payload(), Some(gatt_driver::DEFAULT_MAX_PAYLOAD));
    assert!(transport.endpoints().await.is_empty(), "nothing connected yet");
    assert_eq!(transport.service_uuid().await, None);

    transport.connect().await.unwrap();
    assert_eq!(transport.service_uuid().await.as_deref(), Some(gatt::EXAMPLE_SERVICE_UUID));
    assert_eq!(
        transport.endpoints().await,
        ["custom-data", "proto-ver", "prov-config", "prov-ctrl", "prov-scan", "prov-session"]
    );
    // docs/protocol.md §11.6, example-service column.
    let uuids = transport.endpoint_uuids().await;
    let actual: Vec<(&str, &str)> = uuids.iter().map(|(n, u)| (n.as_str(), u.as_str())).collect();
    assert_eq!(
        actual,
        [
            ("custom-data", "021aff54-0382-4aea-bff4-6b3f1c5adfb4"),
            ("proto-ver", "021aff53-0382-4aea-bff4-6b3f1c5adfb4"),
            ("prov-config", "021aff52-0382-4aea-bff4-6b3f1c5adfb4"),
            ("prov-ctrl", "021aff4f-0382-4aea-bff4-6b3f1c5adfb4"),
            ("prov-scan", "021aff50-0382-4aea-bff4-6b3f1c5adfb4"),
            ("prov-session", "021aff51-0382-4aea-bff4-6b3f1c5adfb4"),
        ]
    );

    let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&version).unwrap();
    assert!(json.get("prov").is_some(), "{json}");

    let writes = peripheral.writes();
    let missing = transport.send("no-such-endpoint".into(), b"x".to_vec()).await;
    assert_eq!(missing, Err(TransportError::EndpointNotFound { endpoint: "no-such-endpoint".into() }));
    let limit = gatt_driver::DEFAULT_MAX_PAYLOAD;
    let too_big = transport.send("custom-data".into(), vec![0; limit + 1]).await;
    assert_eq!(too_big, Err(TransportError::PayloadTooLarge { size: (limit + 1) as u64, limit: limit as u64 }));
    assert!(matches!(transport.send("custom-data".into(), Vec::new()).await, Err(TransportError::Io { .. })));
    assert_eq!(peripheral.writes(), writes, "refused requests are never written");

    transport.disconnect().await;
    assert!(!peripheral.is_connected());
    assert!(transport.endpoints().await.is_empty());
    // The next exchange connects again.
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), version);
    assert_eq!(peripheral.connections(), 2);
    transport.disconnect().await;
}

#[tokio::test]
async fn the_service_is_found_without_an_advertisement_and_the_advertised_one_wins() {
    // Not advertised: the first configured fallback the device offers.
    let hidden = sim_peripheral(sec1(), |p| p.advertised(false).service_uuid(gatt::MANAGER_SERVICE_UUID));
    let transport = gatt_transport(&hidden);
    transport.connect().await.unwrap();
    assert_eq!(transport.service_uuid().await.as_deref(), Some(gatt::MANAGER_SERVICE_UUID));
    assert!(
        transport
            .endpoint_uuids()
            .await
            .contains(&("prov-session".to_owned(), "1775ff51-6b43-439b-877c-060f2d9bed07".to_owned()))
    );

    // A custom service UUID that only the advertisement names (upper case, as some stacks print).
    let custom = "A1B2C3D4-0000-1000-8000-00805F9B34FB";
    let advertised = sim_peripheral(sec1(), |p| p.service_uuid(custom));
    let transport = gatt_transport(&advertised);
    transport.connect().await.unwrap();
    assert_eq!(transport.service_uuid().await.as_deref(), Some(custom.to_lowercase().as_str()));
    let session = DeviceSession::new(transport.clone(), pop_options());
    session.connect().await.unwrap();
    assert_eq!(session.scan_wifi(None).await.unwrap().len(), 16);
    session.disconnect().await;
}

/// A wrong PoP fails the handshake on the device: NimBLE answers the write with ATT 0x04,
/// Bluedroid drops the link. Both read as rejected credentials, and the same transport then works
/// with the right PoP.
#[tokio::test]
async fn a_wrong_pop_is_wrong_credentials_on_both_stacks() {
    for (security, name) in [(sec1(), "sec1"), (sec2(Sec2Patch::Patch1), "sec2")] {
        for style in [FailureStyle::NimBle, FailureStyle::Bluedroid] {
            let peripheral = sim_peripheral(security.clone(), |p| p.failure_style(style));
            let transport = gatt_transport(&peripheral);
            let wrong = DeviceSession::new(transport.clone(), options("wrong-pop"));
            let error = wrong.connect().await.unwrap_err();
            assert!(matches!(error, Error::WrongCredentials), "{name} {style:?}: {error:?}");

            let right = DeviceSession::new(transport.clone(), pop_options());
            right.connect().await.unwrap_or_else(|e| panic!("{name} {style:?} after the failure: {e}"));
            assert_eq!(right.scan_wifi(None).await.unwrap().len(), 16);
            right.disconnect().await;
            let expected_connections = match style {
                FailureStyle::NimBle => 1,
                FailureStyle::Bluedroid => 2,
            };
            assert_eq!(peripheral.connections(), expected_connections, "{name} {style:?}");
        }
    }
}

/// The raw transport reports both stacks' failures as the device failing the request, and carries
/// on: NimBLE kept the link, after Bluedroid's drop the next exchange connects again.
#[tokio::test]
async fn a_nimble_refusal_maps_like_a_bluedroid_drop() {
    for (style, connections) in [(FailureStyle::NimBle, 1), (FailureStyle::Bluedroid, 2)] {
        let peripheral = sim_peripheral(sec1(), |p| p.failure_style(style));
        let transport = gatt_transport(&peripheral);
        let outcome = transport.send("prov-session".into(), vec![0xff; 8]).await;
        assert_eq!(outcome, Err(TransportError::ClosedWithoutResponse), "{style:?}");
        assert_eq!(peripheral.is_connected(), style == FailureStyle::NimBle);
        let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();
        assert!(version.starts_with(b"{"), "{style:?}");
        assert_eq!(peripheral.connections(), connections, "{style:?}");
        transport.disconnect().await;
    }
}

/// The link drops after the device accepted a write and before the response is read: the step
/// fails with a typed error naming it, and a new session (on a new connection) works.
#[tokio::test]
async fn a_link_dropping_mid_exchange_names_the_step() {
    // Writes: 1 proto-ver, 2 and 3 the security 1 handshake, 4 the scan start.
    let peripheral = sim_peripheral(sec1(), |p| p.drop_at_write(4));
    let transport = gatt_transport(&peripheral);
    let session = DeviceSession::new(transport.clone(), pop_options());
    session.connect().await.unwrap();
    let error = session.scan_wifi(None).await.unwrap_err();
    assert!(matches!(&error, Error::Disconnected { step: Step::WifiScan, .. }), "{error:?}");
    assert!(error.to_string().contains("Wi-Fi scan"), "{error}");
    assert!(!peripheral.is_connected());

    let again = DeviceSession::new(transport.clone(), pop_options());
    again.connect().await.unwrap();
    assert_eq!(again.scan_wifi(None).await.unwrap().len(), 16);
    again.disconnect().await;
    assert_eq!(peripheral.connections(), 2);

    // In the handshake, a drop reads as the device failing the request (the firmware's way):
    // on its first step (security 1 Command0), an error naming the handshake step.
    let peripheral_2 = sim_peripheral(sec1(), |p| p.drop_at_write(2));
    let session = DeviceSession::new(gatt_transport(&peripheral_2), pop_options());
    let error = session.connect().await.unwrap_err();
    assert!(matches!(&error, Error::Protocol { step: Step::Handshake, .. }), "{error:?}");
    session.connect().await.unwrap();
    session.disconnect().await;
}

/// A link that drops between two exchanges (the device went away) is reported once as
/// [`TransportError::Disconnected`]; the exchange after that connects again.
#[tokio::test]
async fn a_link_dropped_between_exchanges_is_disconnected() {
    let peripheral = sim_peripheral(sec1(), |p| p);
    let transport = gatt_transport(&peripheral);
    let version = transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap();
    peripheral.drop_link();
    let dropped = transport.send("proto-ver".into(), b"ESP".to_vec()).await;
    assert!(matches!(dropped, Err(TransportError::Disconnected { .. })), "{dropped:?}");
    assert_eq!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap(), version);
    assert_eq!(peripheral.connections(), 2);
    transport.disconnect().await;
}

/// A stack limited to 20-byte writes cannot carry the handshake: the step fails with a typed
/// error at once, and the oversized request never reaches the peripheral.
#[tokio::test]
async fn a_20_byte_write_limit_fails_the_handshake_cleanly() {
    for (name, security) in [("sec1", sec1()), ("sec2", sec2(Sec2Patch::Patch1))] {
        let peripheral = sim_peripheral(security, |p| p.write_limit(Some(20)));
        let transport = gatt_transport(&peripheral);
        assert_eq!(transport.max_payload(), Some(20));
        let error =
            provision::provision(transport.clone(), request(false), None, &CancelToken::new()).await.unwrap_err();
        assert!(
            matches!(&error, Error::PayloadTooLarge { step: Step::Handshake, limit: 20, size } if *size > 20),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains("prov-session"), "{name}: {error}");
        assert_eq!(peripheral.writes(), 1, "{name}: only proto-ver (3 bytes) was written");
    }
}

/// ESP-IDF v3.2 firmware has no user descriptions: the standard endpoints are found by their
/// legacy UUIDs on the 0xFFFF service, and the device provisions.
#[tokio::test]
async fn a_device_without_user_descriptions_provisions_by_legacy_uuids() {
    let peripheral = sim_peripheral(sec1(), SimPeripheral::without_descriptions);
    let transport = gatt_transport(&peripheral);
    transport.connect().await.unwrap();
    assert_eq!(transport.service_uuid().await.as_deref(), Some(gatt::LEGACY_SERVICE_UUID));
    assert_eq!(
        transport.endpoint_uuids().await,
        [
            ("proto-ver".to_owned(), "0000ff53-0000-1000-8000-00805f9b34fb".to_owned()),
            ("prov-config".to_owned(), "0000ff52-0000-1000-8000-00805f9b34fb".to_owned()),
            ("prov-ctrl".to_owned(), "0000ff4f-0000-1000-8000-00805f9b34fb".to_owned()),
            ("prov-scan".to_owned(), "0000ff50-0000-1000-8000-00805f9b34fb".to_owned()),
            ("prov-session".to_owned(), "0000ff51-0000-1000-8000-00805f9b34fb".to_owned()),
        ]
    );
    transport.disconnect().await;
    let outcome = provision_over(&peripheral, false).await;
    assert_eq!(outcome.session.security, SecurityLevel::Sec1);

    // Not advertised, it is found only when the legacy UUID is among the fallbacks.
    let hidden = sim_peripheral(sec1(), |p| p.without_descriptions().advertised(false));
    let error = gatt_transport(&hidden).send("proto-ver".into(), b"ESP".to_vec()).await;
    assert!(
        matches!(&error, Err(TransportError::Unreachable { detail: d }) if d.contains("no provisioning service")),
        "{error:?}"
    );
    let mut legacy = config();
    legacy.fallback_service_uuids.push(gatt::LEGACY_SERVICE_UUID.to_owned());
    let transport = GattTransport::new(hidden.clone(), legacy);
    assert!(transport.send("proto-ver".into(), b"ESP".to_vec()).await.unwrap().starts_with(b"{"));
    transport.disconnect().await;
}

/// A device that is not in provisioning mode: unreachable, naming what it offers, and the link
/// is not left open.
#[tokio::test]
async fn no_provisioning_service_is_unreachable_with_the_offered_services() {
    let peripheral = sim_peripheral(sec1(), SimPeripheral::without_provisioning_service);
    let transport = gatt_transport(&peripheral);
    let error = transport.connect().await.unwrap_err();
    let TransportError::Unreachable { detail } = &error else { panic!("{error:?}") };
    assert!(detail.contains("no provisioning service"), "{detail}");
    assert!(detail.contains("00001800-0000-1000-8000-00805f9b34fb"), "{detail}");
    assert!(detail.contains("00001801-0000-1000-8000-00805f9b34fb"), "{detail}");
    assert!(!peripheral.is_connected(), "the driver disconnects");

    let session = DeviceSession::new(transport.clone(), pop_options());
    let error = session.connect().await.unwrap_err();
    assert!(matches!(&error, Error::Unreachable { step: Step::ReadCapabilities, .. }), "{error:?}");
    assert_eq!(peripheral.writes(), 0);
}

/// A slow device: each write and read is bounded by the request timeout.
#[tokio::test]
async fn a_slow_device_times_out() {
    let mut sim = fast_config(sec1());
    sim.exchange_latency = Duration::from_secs(5);
    let peripheral = Arc::new(SimPeripheral::new(SimDevice::new(sim)));
    let transport =
        GattTransport::new(peripheral.clone(), GattConfig { request_timeout: Duration::from_millis(200), ..config() });
    let outcome = transport.send("proto-ver".into(), b"ESP".to_vec()).await;
    assert_eq!(outcome, Err(TransportError::Timeout { millis: 200 }));
    assert!(!peripheral.is_connected(), "the link is dropped after a timeout");
}

/// Customises a peripheral.
type Build = fn(SimPeripheral) -> SimPeripheral;

/// Hostile peripherals: everything they send is bounded, and each breach is a typed error, fast.
#[tokio::test]
async fn a_hostile_peripheral_gets_a_bounded_typed_error() {
    let cases: [(&str, Build, TransportError); 3] = [
        (
            "huge user descriptions",
            |p| p.huge_descriptions(100_000),
            TransportError::ResponseTooLarge {
                what: "user description (0x2901) bytes".into(),
                limit: MAX_DESCRIPTION_LEN as u64,
            },
        ),
        (
            "thousands of characteristics",
            |p| p.extra_characteristics(5_000),
            TransportError::ResponseTooLarge {
                what: "characteristics in the provisioning service".into(),
                limit: MAX_CHARACTERISTICS as u64,
            },
        ),
        (
            "thousands of descriptors",
            |p| p.extra_descriptors(5_000),
            TransportError::ResponseTooLarge {
                what: "descriptors of one characteristic".into(),
                limit: MAX_DESCRIPTORS as u64,
            },
        ),
    ];
    for (name, build, expected) in cases {
        let peripheral = sim_peripheral(sec1(), build);
        let transport = gatt_transport(&peripheral);
        assert_eq!(transport.connect().await, Err(expected), "{name}");
        assert!(!peripheral.is_connected(), "{name}: the driver disconnects");
    }

    // An oversized read: refused, the link dropped; through a session, a protocol error in the
    // step.
    let peripheral = sim_peripheral(sec1(), |p| p.oversized_reads(1 << 20));
    let transport = gatt_transport(&peripheral);
    let outcome = transport.send("proto-ver".into(), b"ESP".to_vec()).await;
    assert_eq!(
        outcome,
        Err(TransportError::ResponseTooLarge {
            what: "characteristic value bytes".into(),
            limit: MAX_RESPONSE_LEN as u64
        })
    );
    assert!(!peripheral.is_connected());
    let session = DeviceSession::new(transport.clone(), pop_options());
    let error = session.connect().await.unwrap_err();
    assert!(matches!(&error, Error::Protocol { step: Step::ReadCapabilities, .. }), "{error:?}");
}
