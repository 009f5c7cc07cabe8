//! Phone side: `ClientHandshake::on_response` at step 1 of security 2 (the device's Response0:
//! salt and B; the SRP arithmetic runs on whatever B the input carries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov_fuzz::{Scheme, client_start};

fuzz_target!(|data: &[u8]| {
    let (phone, _command0) = client_start(Scheme::Sec2Patch1);
    let _ = phone.on_response(data);
});
