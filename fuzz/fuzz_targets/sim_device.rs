//! Device side: the simulator as a whole (`SimDevice` through `sim::DeviceLink`) handling a
//! sequence of arbitrary (endpoint, bytes) requests. The first byte picks the device (security,
//! firmware flavour, RainMaker personality, polls and attempts); the rest is frames whose tag
//! picks the endpoint (`SIM_ENDPOINTS`) or opens a new transport session.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::sim::DeviceLink;
use rainmaker_prov_fuzz::{SIM_ENDPOINTS, SIM_TAG_NEW_SESSION, SIM_TAG_STALE_SESSION, frames, sim_device};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let device = sim_device(selector);
    let mut session = 1u32;
    device.open_session(session);
    for (tag, body) in frames(rest).into_iter().take(64) {
        match tag {
            SIM_TAG_NEW_SESSION => {
                session = session.wrapping_add(1);
                device.open_session(session);
            }
            SIM_TAG_STALE_SESSION => {
                assert!(device.handle(session.wrapping_add(1), "proto-ver", b"x").is_err());
            }
            _ => {
                let endpoint = SIM_ENDPOINTS[usize::from(tag) % SIM_ENDPOINTS.len()];
                let _ = device.handle(session, endpoint, body);
                let _ = device.has_endpoint(endpoint);
            }
        }
    }
    let _ = (device.stats(), device.connected_ssid(), device.thread_attached(), device.rainmaker_user_mappings());
});
