//! Device side: `DeviceSecuritySession::handle` for security 0 on a fresh session (first byte
//! even) or after an honest session command (odd); the rest of the input is the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::security::DeviceSecuritySession;
use rainmaker_prov_fuzz::{DEVICE_SEED, Scheme, fixed_rng, honest_command0};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, request)) = data.split_first() else { return };
    let mut device = DeviceSecuritySession::new(Scheme::Sec0.device_config());
    let mut rng = fixed_rng(DEVICE_SEED);
    if mode & 1 == 1 {
        device.handle(honest_command0(Scheme::Sec0), &mut rng).expect("honest command");
    }
    let _ = device.handle(request, &mut rng);
    assert!(device.is_established(), "security 0 is always established");
    let _ = device.decrypt(request);
});
