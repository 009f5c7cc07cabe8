//! Phone side: the Thread `prov-config` response parsers (GetThreadStatus, SetThreadConfig, ApplyThreadConfig).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::thread;

fuzz_target!(|data: &[u8]| {
    let _ = thread::parse_set_config_response(data);
    let _ = thread::parse_apply_config_response(data);
    if let Ok(status) = thread::parse_get_status_response(data) {
        let again = thread::parse_get_status_response(&thread::encode_get_status_response(&status));
        assert_eq!(again.as_ref(), Ok(&status), "Thread status does not survive encode/parse");
    }
});
