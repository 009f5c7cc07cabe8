//! Rust-side tests of the binding glue: both transport adapters, error mapping, cancellation and
//! progress, against the in-process simulated device (the Kotlin and Swift suites repeat the
//! same scenarios through the generated code).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rainmaker_prov::error::{ProvError, ProvStep};
use rainmaker_prov::events::ProgressEvent;
use rainmaker_prov::security::SecurityLevel;
use rainmaker_prov::transport::gatt_link::{GattLink, GattLinkError, GattServiceInfo};
use rainmaker_prov::transport::{TransportError, TransportKind};
use rainmaker_prov_ffi::{
    CallbackError, CancelHandle, ProgressListener, ProvDevice, ProvOptions, ProvTransport, SimulatedDevice,
    SimulatedDeviceConfig, SimulatedPeripheral,
};

fn options(pop: &str, min: SecurityLevel) -> ProvOptions {
    ProvOptions {
        min_security: min,
        security: None,
        pop: Some(pop.into()),
        sec2_username: None,
        sec2_password: None,
        exchange_timeout_ms: 10_000,
        connect_deadline_ms: 10_000,
        expected_security: None,
        allow_no_pop: false,
        scan_timeout_ms: 60_000,
    }
}

fn device(security: SecurityLevel, pop: &str) -> Arc<SimulatedDevice> {
    SimulatedDevice::new(SimulatedDeviceConfig {
        security,
        pop: Some(pop.into()),
        username: None,
        networks: vec![],
        join_delay_ms: 20,
        exchange_latency_ms: 0,
        thread: false,
    })
    .unwrap()
}

/// An "app" transport written against the exported trait: forwards to another transport, or
/// fails every exchange on one endpoint.
struct AppTransport {
    inner: Arc<dyn ProvTransport>,
    fail_on: Option<(&'static str, TransportError)>,
}

#[async_trait]
impl ProvTransport for AppTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        match &self.fail_on {
            Some((name, failure)) if *name == endpoint => Err(failure.clone()),
            _ => self.inner.send(endpoint, data).await,
        }
    }
    fn max_payload(&self) -> u32 {
        0
    }
    fn kind(&self) -> TransportKind {
        TransportKind::Ble
    }
    async fn disconnect(&self) -> Result<(), TransportError> {
        self.inner.disconnect().await
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Events {
    fn on_progress(&self, event: ProgressEvent) -> Result<(), CallbackError> {
        self.0.lock().unwrap().push(event);
        Ok(())
    }
}

#[tokio::test]
async fn security_2_provisions_through_both_transport_adapters_with_progress() {
    let sim = device(SecurityLevel::Sec2, "s3cret");
    let app = Arc::new(AppTransport { inner: sim.transport(), fail_on: None });
    let dev = ProvDevice::new(app, options("s3cret", SecurityLevel::Sec2));
    let events = Arc::new(Events::default());
    dev.set_progress_listener(Some(events.clone()));
    let session = dev.connect(None).await.unwrap();
    assert_eq!(session.security, SecurityLevel::Sec2);
    // A BLE link kind makes the core page the scan results in small pages: all still arrive.
    assert_eq!(dev.scan_wifi(None).await.unwrap().len(), 16);
    let joined = dev.provision_wifi("RefPeer-Home".into(), "secretpass".into(), None).await.unwrap();
    assert_eq!(joined.ssid, b"RefPeer-Home");
    assert_eq!(sim.connected_ssid().as_deref(), Some("RefPeer-Home"));
    let events = events.0.lock().unwrap().clone();
    assert!(events.contains(&ProgressEvent::SessionEstablished), "{events:?}");
    assert_eq!(events.last(), Some(&ProgressEvent::Connected));
}

#[tokio::test]
async fn app_transport_failures_become_typed_errors() {
    let sim = device(SecurityLevel::Sec1, "pop");
    let failing = |failure: TransportError| {
        ProvDevice::new(
            Arc::new(AppTransport { inner: sim.transport(), fail_on: Some(("prov-session", failure)) }),
            options("pop", SecurityLevel::Sec1),
        )
    };
    let err = failing(TransportError::Foreign { detail: "radio off".into() }).connect(None).await.unwrap_err();
    assert_eq!(err, ProvError::Transport { step: ProvStep::Handshake, detail: "radio off".into() });
    let err = failing(TransportError::Timeout { millis: 5 }).connect(None).await.unwrap_err();
    assert_eq!(err, ProvError::Timeout { step: ProvStep::Handshake });
}

#[tokio::test]
async fn wrong_pop_and_cancellation_are_typed() {
    let sim = device(SecurityLevel::Sec1, "right");
    let dev = ProvDevice::simulated(sim.clone(), options("wrong", SecurityLevel::Sec1));
    assert_eq!(dev.connect(None).await.unwrap_err(), ProvError::WrongCredentials);

    let dev = ProvDevice::simulated(sim, options("right", SecurityLevel::Sec1));
    dev.connect(None).await.unwrap();
    let cancel = CancelHandle::new();
    cancel.cancel();
    let err = dev.provision_wifi("RefPeer-Home".into(), "secretpass".into(), Some(cancel)).await.unwrap_err();
    assert_eq!(err, ProvError::Cancelled);
    // A cancelled call closes the secure session.
    assert_eq!(dev.wifi_status(None).await.unwrap_err(), ProvError::NotConnected);
}

/// An "app" GattLink written against the core's foreign trait, forwarding to the exported
/// simulated peripheral (what the Kotlin and Swift fakes do) and reporting `write_limit`.
struct AppGattLink {
    target: Arc<SimulatedPeripheral>,
    write_limit: Option<u32>,
}

#[async_trait]
impl GattLink for AppGattLink {
    async fn connect(&self) -> Result<(), GattLinkError> {
        self.target.connect().await
    }
    async fn discover_services(&self) -> Result<Vec<GattServiceInfo>, GattLinkError> {
        self.target.discover_services().await
    }
    async fn read_descriptor(&self, s: String, c: String, d: String) -> Result<Vec<u8>, GattLinkError> {
        self.target.read_descriptor(s, c, d).await
    }
    async fn write_characteristic(&self, s: String, c: String, value: Vec<u8>) -> Result<(), GattLinkError> {
        self.target.write_characteristic(s, c, value).await
    }
    async fn read_characteristic(&self, s: String, c: String) -> Result<Vec<u8>, GattLinkError> {
        self.target.read_characteristic(s, c).await
    }
    fn write_limit(&self) -> Option<u32> {
        self.write_limit.or(self.target.write_limit())
    }
    fn advertised_services(&self) -> Vec<String> {
        self.target.advertised_services()
    }
    async fn disconnect(&self) {
        self.target.disconnect().await;
    }
}

#[tokio::test]
async fn ble_constructor_runs_the_gatt_driver_over_an_app_link() {
    let sim = device(SecurityLevel::Sec1, "pop");
    let target = SimulatedPeripheral::new(sim.clone(), None);
    let link = Arc::new(AppGattLink { target: target.clone(), write_limit: None });
    let dev = ProvDevice::ble(link, options("pop", SecurityLevel::Sec1), None).unwrap();
    assert_eq!(dev.connect(None).await.unwrap().security, SecurityLevel::Sec1);
    let joined = dev.provision_wifi("RefPeer-Home".into(), "secretpass".into(), None).await.unwrap();
    assert_eq!(joined.ssid, b"RefPeer-Home");
    assert!(target.writes() >= 4);

    // A 20-byte write limit: the handshake request is refused before it is written.
    let target = SimulatedPeripheral::new(device(SecurityLevel::Sec1, "pop"), None);
    let link = Arc::new(AppGattLink { target: target.clone(), write_limit: Some(20) });
    let dev = ProvDevice::ble(link, options("pop", SecurityLevel::Sec1), None).unwrap();
    match dev.connect(None).await.unwrap_err() {
        ProvError::PayloadTooLarge { step: ProvStep::Handshake, limit: 20, size } => assert!(size > 20),
        other => panic!("{other:?}"),
    }
    assert_eq!(target.writes(), 1, "only proto-ver was written");
}
