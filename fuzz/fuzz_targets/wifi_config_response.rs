//! Phone side: the Wi-Fi `prov-config` response parsers (GetStatus, SetConfig, ApplyConfig).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::wifi::{self, WifiStatus};

fuzz_target!(|data: &[u8]| {
    let _ = wifi::parse_set_config_response(data);
    let _ = wifi::parse_apply_config_response(data);
    if let Ok(status) = wifi::parse_get_status_response(data) {
        if let WifiStatus::Connected { info } = &status {
            let _ = info.ip4();
        }
        let again = wifi::parse_get_status_response(&wifi::encode_get_status_response(&status));
        assert_eq!(again.as_ref(), Ok(&status), "status does not survive encode/parse");
    }
});
