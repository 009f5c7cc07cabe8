//! Phone side: the QR payload parser (JSON and `NP:` forms).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::qr;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(payload) = qr::parse(&text) {
        let _ = format!("{payload:?}");
    }
});
