//! Phone side: the Thread `prov-ctrl` response parsers (Reset, Reprov).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::thread;

fuzz_target!(|data: &[u8]| {
    let _ = thread::parse_ctrl_reset_response(data);
    let _ = thread::parse_ctrl_reprov_response(data);
});
