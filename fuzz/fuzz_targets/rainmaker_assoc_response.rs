//! Phone side: the RainMaker association response parsers (`cloud_user_assoc` mapping answer,
//! `ch_resp` challenge and disable answers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::rainmaker;

fuzz_target!(|data: &[u8]| {
    let _ = rainmaker::parse_set_user_mapping_response(data);
    if let Ok(answer) = rainmaker::parse_challenge_response(data) {
        let _ = answer.signature_hex();
    }
    let _ = rainmaker::parse_disable_response(data);
});
