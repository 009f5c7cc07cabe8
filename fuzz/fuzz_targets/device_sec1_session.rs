//! Device side: `DeviceSecuritySession::handle` for security 1 on a fresh session (first byte
//! even) or after an honest Command0 (odd); the rest of the input is the request. An
//! established session then decrypts and encrypts a record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::security::DeviceSecuritySession;
use rainmaker_prov_fuzz::{DEVICE_SEED, Scheme, fixed_rng, honest_command0};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, request)) = data.split_first() else { return };
    let mut device = DeviceSecuritySession::new(Scheme::Sec1.device_config());
    let mut rng = fixed_rng(DEVICE_SEED);
    if mode & 1 == 1 {
        device.handle(honest_command0(Scheme::Sec1), &mut rng).expect("honest Command0");
    }
    let answered = device.handle(request, &mut rng);
    if answered.is_ok() && device.is_established() {
        let _ = device.decrypt(request);
        let _ = device.encrypt(request);
    }
});
