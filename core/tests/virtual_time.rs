//! The simulator and the provisioning flow run on tokio's clock: with a paused clock a device
//! that takes 10 s to join Wi-Fi is provisioned in (virtual) seconds and (real) milliseconds.

#![cfg(feature = "device")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failed unwrap is a failed test.

use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::events::CancelToken;
use rainmaker_prov::provision::{self, Joined, NetworkCredentials, ProvisionRequest};
use rainmaker_prov::security::Secret;
use rainmaker_prov::sim::DeviceLink;
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::transport::Transport;
use rainmaker_prov::transport::memory::MemoryTransport;

#[tokio::test(start_paused = true)]
async fn ten_second_join_delay_runs_on_the_paused_clock() {
    let mut config = SimConfig::new(SimSecurity::Sec1 { pop: Some(Secret::from("abcd1234")) });
    config.join_delay = Duration::from_secs(10);
    config.seed = Some(7);
    let device = SimDevice::new(config);
    let link: Arc<dyn DeviceLink> = device.clone();
    let transport: Arc<dyn Transport> = Arc::new(MemoryTransport::new(link));

    let mut request = ProvisionRequest::new(NetworkCredentials::Wifi {
        ssid: b"RefPeer-Home".to_vec(),
        passphrase: Secret::from("secretpass"),
    });
    request.session.pop = Some(Secret::from("abcd1234"));

    let real_start = std::time::Instant::now();
    let virtual_start = tokio::time::Instant::now();
    let outcome = provision::provision(transport, request, None, &CancelToken::new()).await.unwrap();
    let real = real_start.elapsed();
    let virtual_elapsed = virtual_start.elapsed();

    let Joined::Wifi { info } = &outcome.joined else { panic!("not Wi-Fi: {:?}", outcome.joined) };
    assert_eq!(info.ssid, b"RefPeer-Home");
    assert_eq!(device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));
    // The join delay was waited for on the virtual clock (polling every 300 ms) ...
    assert!(virtual_elapsed >= Duration::from_secs(10), "virtual time {virtual_elapsed:?}");
    assert!(virtual_elapsed < Duration::from_secs(20), "virtual time {virtual_elapsed:?}");
    // ... and not in real time (generous bound: a security 1 handshake takes milliseconds).
    assert!(real < Duration::from_secs(2), "real time {real:?}");
}
