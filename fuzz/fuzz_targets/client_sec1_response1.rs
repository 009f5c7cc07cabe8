//! Phone side: `ClientHandshake::on_response` at step 2 of security 1 (Response1), reached by an
//! honest handshake with a device-side session (fixed seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov_fuzz::{Scheme, run_to_step2};

fuzz_target!(|data: &[u8]| {
    let step2 = run_to_step2(Scheme::Sec1);
    let _ = step2.phone.on_response(data);
});
