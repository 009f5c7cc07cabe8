//! Phone side: `SessionCipher::decrypt` of security 1 (AES-256-CTR) on a sequence of records
//! after an honest handshake, each plaintext then read by the Wi-Fi parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::wifi;
use rainmaker_prov_fuzz::{Scheme, establish, frames};

fuzz_target!(|data: &[u8]| {
    let (mut phone, _device) = establish(Scheme::Sec1);
    for (_tag, record) in frames(data).into_iter().take(32) {
        let Ok(plain) = phone.decrypt(record) else { break };
        assert_eq!(plain.len(), record.len(), "CTR keeps the length");
        let _ = wifi::parse_get_status_response(&plain);
        let _ = wifi::parse_scan_result_response(&plain);
    }
});
