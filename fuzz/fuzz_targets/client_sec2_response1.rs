//! Phone side: `ClientHandshake::on_response` at step 2 of security 2 (Response1: device proof
//! and nonce), reached by an honest SRP handshake with a device-side session (fixed seeds). The
//! phone's state does not depend on the nonce mode, so honest answers of patch 0 and patch 1
//! devices are both valid inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov_fuzz::{Scheme, run_to_step2};

fuzz_target!(|data: &[u8]| {
    let step2 = run_to_step2(Scheme::Sec2Patch1);
    let _ = step2.phone.on_response(data);
});
