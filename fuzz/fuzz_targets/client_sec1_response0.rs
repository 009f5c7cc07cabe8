//! Phone side: `ClientHandshake::on_response` at step 1 of security 1 (the device's Response0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::security::ClientStep;
use rainmaker_prov_fuzz::{Scheme, client_start};

fuzz_target!(|data: &[u8]| {
    let (phone, _command0) = client_start(Scheme::Sec1);
    if let Ok(ClientStep::Send(next, command1)) = phone.on_response(data) {
        assert_eq!(next.step(), 2);
        assert!(!command1.is_empty());
    }
});
