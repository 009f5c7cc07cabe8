//! Device side: the Thread request decoders (`prov-config`, `prov-scan`, `prov-ctrl`), the
//! network_provisioning dispatchers that route Wi-Fi and Thread types, and the type probes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rainmaker_prov::endpoints::DeviceStatus;
use rainmaker_prov::endpoints::thread::{self, NetworkConfigCommand, NetworkScanCommand};

fuzz_target!(|data: &[u8]| {
    let thread_config = thread::decode_config_request(data);
    let thread_scan = thread::decode_scan_request(data);
    let thread_ctrl = thread::decode_ctrl_request(data);
    // A successfully decoded Thread command carries a Thread message type.
    if thread_config.is_ok() {
        assert!(thread::is_thread_config_request(data));
    }
    if thread_scan.is_ok() {
        assert!(thread::is_thread_scan_request(data));
    }
    if let Ok(command) = thread_ctrl {
        assert!(thread::is_thread_ctrl_request(data));
        let answer = thread::encode_ctrl_response(command, DeviceStatus::Success);
        let parsed = match command {
            thread::CtrlCommand::Reset => thread::parse_ctrl_reset_response(&answer),
            thread::CtrlCommand::Reprov => thread::parse_ctrl_reprov_response(&answer),
        };
        assert_eq!(parsed, Ok(()), "Thread ctrl answer does not parse");
    }
    if let Ok(NetworkConfigCommand::Thread(command)) = thread::decode_network_config_request(data) {
        let _ = format!("{command:?}");
    }
    if let Ok(NetworkScanCommand::Thread(command)) = thread::decode_network_scan_request(data) {
        let _ = format!("{command:?}");
    }
    let _ = thread::decode_network_ctrl_request(data);
});
