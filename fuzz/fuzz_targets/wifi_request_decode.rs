//! Device side: the Wi-Fi request decoders (`prov-config`, `prov-scan`, `prov-ctrl`), each
//! decoded command answered with the device-side encoder and read back by the phone-side parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::DeviceStatus;
use rainmaker_prov::endpoints::wifi::{self, ConfigCommand, ScanCommand};

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = wifi::decode_config_request(data) {
        let _ = format!("{command:?}");
        match command {
            ConfigCommand::SetConfig { ssid, passphrase, bssid, .. } => {
                let _ = wifi::validate_set_config(&ssid, &passphrase, &bssid);
            }
            ConfigCommand::GetStatus | ConfigCommand::Apply => {}
        }
    }
    if let Ok(command) = wifi::decode_scan_request(data) {
        if let ScanCommand::Result { start, count } = command {
            let _ = start.checked_add(count);
        }
    }
    if let Ok(command) = wifi::decode_ctrl_request(data) {
        let answer = wifi::encode_ctrl_response(command, DeviceStatus::Success);
        let parsed = match command {
            wifi::CtrlCommand::Reset => wifi::parse_ctrl_reset_response(&answer),
            wifi::CtrlCommand::Reprov => wifi::parse_ctrl_reprov_response(&answer),
        };
        assert_eq!(parsed, Ok(()), "ctrl answer does not parse");
    }
});
