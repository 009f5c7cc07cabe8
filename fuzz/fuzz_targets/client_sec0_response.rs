//! Phone side: `ClientHandshake::on_response` for the single security 0 exchange.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov_fuzz::{Scheme, client_start};

fuzz_target!(|data: &[u8]| {
    let (phone, _command) = client_start(Scheme::Sec0);
    let _ = phone.on_response(data);
});
