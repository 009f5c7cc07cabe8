//! Device side: `DeviceSecuritySession::handle` for security 2 on a fresh session or after an
//! honest Command0 (bit 0 of the first byte), patch 0 or patch 1 (bit 1); the rest of the input
//! is the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::security::DeviceSecuritySession;
use rainmaker_prov_fuzz::{DEVICE_SEED, Scheme, fixed_rng, honest_command0};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, request)) = data.split_first() else { return };
    let scheme = if mode & 2 == 0 { Scheme::Sec2Patch0 } else { Scheme::Sec2Patch1 };
    let mut device = DeviceSecuritySession::new(scheme.device_config());
    let mut rng = fixed_rng(DEVICE_SEED);
    if mode & 1 == 1 {
        device.handle(honest_command0(scheme), &mut rng).expect("honest Command0");
    }
    let answered = device.handle(request, &mut rng);
    if answered.is_ok() && device.is_established() {
        let _ = device.decrypt(request);
    }
});
