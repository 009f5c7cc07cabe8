//! Phone side: the Thread `prov-scan` response parsers (ScanStart, ScanStatus, ScanResult).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::thread;

fuzz_target!(|data: &[u8]| {
    let _ = thread::parse_scan_start_response(data);
    let _ = thread::parse_scan_status_response(data);
    if let Ok(entries) = thread::parse_scan_result_response(data) {
        let again = thread::parse_scan_result_response(&thread::encode_scan_result_response(&entries));
        assert_eq!(again.as_ref(), Ok(&entries), "Thread scan result does not survive encode/parse");
    }
});
