//! Phone side: the Wi-Fi `prov-scan` response parsers (ScanStart, ScanStatus, ScanResult).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::wifi;

fuzz_target!(|data: &[u8]| {
    let _ = wifi::parse_scan_start_response(data);
    let _ = wifi::parse_scan_status_response(data);
    if let Ok(entries) = wifi::parse_scan_result_response(data) {
        for entry in &entries {
            let _ = (entry.ssid_lossy(), entry.auth.name(), entry.auth.is_open());
        }
        // The device-side encoder and the phone-side parser agree.
        let again = wifi::parse_scan_result_response(&wifi::encode_scan_result_response(&entries));
        assert_eq!(again.as_ref(), Ok(&entries), "scan result does not survive encode/parse");
    }
});
