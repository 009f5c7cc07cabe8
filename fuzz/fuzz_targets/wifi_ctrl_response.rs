//! Phone side: the Wi-Fi `prov-ctrl` response parsers (Reset, Reprov).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::wifi;

fuzz_target!(|data: &[u8]| {
    let _ = wifi::parse_ctrl_reset_response(data);
    let _ = wifi::parse_ctrl_reprov_response(data);
});
