//! Terminal output of the CLI: progress lines, JSON results, exit codes, the stderr logger.

use rainmaker_prov::endpoints::wifi::WifiNetwork;
use rainmaker_prov::error::Error;
use rainmaker_prov::events::{ProgressEvent, ProgressListener};

/// The exit code of the documented interface for an error.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::InvalidInput(_) => 2,
        Error::WrongCredentials | Error::DeviceProofMismatch => 3,
        Error::WifiAuthFailed => 4,
        Error::WifiNetworkNotFound | Error::ThreadAttachFailed(_) | Error::WifiFailed(_) => 5,
        Error::Timeout { .. } => 6,
        Error::Unreachable { .. }
        | Error::Disconnected { .. }
        | Error::OutcomeUnknown { .. }
        | Error::EndpointNotFound { .. }
        | Error::Transport { .. } => 7,
        Error::PayloadTooLarge { .. } => 2,
        Error::SecurityBelowMinimum { .. } | Error::PossibleImpostor { .. } => 9,
        Error::Cancelled => 130,
        _ => 8,
    }
}

/// A short stable name for an error, used in JSON output.
pub fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::WrongCredentials => "wrong_credentials",
        Error::DeviceProofMismatch => "device_proof_mismatch",
        Error::SecurityBelowMinimum { .. } => "security_below_minimum",
        Error::PossibleImpostor { .. } => "possible_impostor",
        Error::PayloadTooLarge { .. } => "payload_too_large",
        Error::Internal(_) => "internal",
        Error::Timeout { .. } => "timeout",
        Error::Unreachable { .. } => "unreachable",
        Error::Disconnected { .. } => "disconnected",
        Error::EndpointNotFound { .. } => "endpoint_not_found",
        Error::WifiAuthFailed => "wifi_auth_failed",
        Error::WifiNetworkNotFound => "wifi_network_not_found",
        Error::WifiFailed(_) => "wifi_failed",
        Error::ThreadAttachFailed(_) => "thread_attach_failed",
        Error::OutcomeUnknown { .. } => "outcome_unknown",
        Error::DeviceStatus { .. } => "device_status",
        Error::Protocol { .. } => "protocol_error",
        Error::Transport { .. } => "transport_error",
        Error::InvalidInput(_) => "invalid_input",
        Error::Cancelled => "cancelled",
        Error::NotConnected => "not_connected",
        _ => "error",
    }
}

/// Reports an error on stderr (and as JSON on stdout with `--json`); returns the exit code.
pub fn report_error(err: &Error, json: bool) -> u8 {
    let code = exit_code(err);
    if json {
        let v = serde_json::json!({
            "ok": false,
            "exit_code": code,
            "error": error_kind(err),
            "message": err.to_string(),
        });
        println!("{v}");
    }
    eprintln!("error: {}", terminal_safe(&err.to_string()));
    code
}

/// Prints progress events on stderr.
#[derive(Debug, Default)]
pub struct StderrProgress;

impl ProgressListener for StderrProgress {
    fn on_progress(&self, event: ProgressEvent) {
        let line = match event {
            ProgressEvent::ReadingCapabilities => "reading device capabilities (proto-ver)".to_owned(),
            ProgressEvent::SecurityChosen { level, patch } => {
                format!("security {} (patch {patch})", level.number())
            }
            ProgressEvent::Handshaking => "establishing the secure session".to_owned(),
            ProgressEvent::SessionEstablished => "secure session established".to_owned(),
            ProgressEvent::RetryingHandshake => "retrying the handshake with the legacy SRP derivation".to_owned(),
            ProgressEvent::Scanning => "scanning for networks".to_owned(),
            ProgressEvent::ScanFinished { count } => format!("scan finished: {count} networks"),
            ProgressEvent::SendingCustomData { endpoint } => format!("sending custom data to `{endpoint}`"),
            ProgressEvent::SendingCredentials => "sending network credentials".to_owned(),
            ProgressEvent::Applying => "applying credentials; the device is joining".to_owned(),
            ProgressEvent::Connecting { polls, attempts_remaining } => match attempts_remaining {
                Some(n) => format!("still connecting (poll {polls}, {n} attempts left)"),
                None => format!("still connecting (poll {polls})"),
            },
            ProgressEvent::Connected => "device connected".to_owned(),
            ProgressEvent::ResetAfterFailure => {
                "device reset after the failed attempt; it accepts new credentials".to_owned()
            }
            other => format!("{other:?}"),
        };
        eprintln!("  - {}", terminal_safe(&line));
    }
}

/// SSID bytes for display: UTF-8 when valid, hex otherwise; `<hidden>` when empty.
pub fn display_ssid(ssid: &[u8]) -> String {
    if ssid.is_empty() {
        return "<hidden>".to_owned();
    }
    match std::str::from_utf8(ssid) {
        Ok(s) => s.to_owned(),
        Err(_) => format!("0x{}", hex::encode(ssid)),
    }
}

/// Text from a device made safe for a terminal: control characters (C0, DEL, C1) and the
/// Unicode bidirectional controls are shown as escapes (`\n`, `\x1b`, `\u{202e}`), so a device
/// cannot move the cursor, rewrite earlier lines, change the terminal's state or reorder text.
/// Everything else, including non-ASCII letters and emoji, is kept. JSON output does not use it:
/// JSON escapes control characters itself and stays exact.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One scan entry as a table line: SSID (terminal-safe), channel, RSSI, auth mode.
pub fn network_line(n: &WifiNetwork) -> String {
    format!("{:<34} ch {:>2}  {:>4} dBm  {:?}", terminal_safe(&display_ssid(&n.ssid)), n.channel, n.rssi, n.auth)
}

/// One scan entry as JSON.
pub fn network_json(n: &WifiNetwork) -> serde_json::Value {
    serde_json::json!({
        "ssid": display_ssid(&n.ssid),
        "ssid_hex": hex::encode(&n.ssid),
        "channel": n.channel,
        "rssi": n.rssi,
        "bssid": hex::encode(&n.bssid),
        "auth": format!("{:?}", n.auth),
        "auth_raw": n.auth.raw(),
    })
}

struct StderrLogger {
    level: log::LevelFilter,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[{} {}] {}", record.level(), record.target(), terminal_safe(&record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

/// Installs a stderr logger: 0 = warnings, 1 = info, 2+ = debug.
pub fn init_logger(verbosity: u8) {
    let level = match verbosity {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    };
    if log::set_boxed_logger(Box::new(StderrLogger { level })).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rainmaker_prov::endpoints::wifi::WifiAuthMode;

    #[test]
    fn device_strings_cannot_drive_the_terminal() {
        let hostile = "Home\x1b[2J\x1b]0;pwned\x07\r\nfake line\u{9b}31m\u{202e}txt.exe\u{7f}";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(!safe.contains('\u{202e}'));
        assert_eq!(safe, "Home\\x1b[2J\\x1b]0;pwned\\x07\\r\\nfake line\\u{9b}31m\\u{202e}txt.exe\\x7f");
        // Letters and emoji pass through untouched.
        assert_eq!(terminal_safe("Café ☕ 東京"), "Café ☕ 東京");
        let n = WifiNetwork {
            ssid: b"evil\x1b[1A\rSSID".to_vec(),
            channel: 6,
            rssi: -40,
            bssid: vec![1; 6],
            auth: WifiAuthMode::from_raw(3),
        };
        let line = network_line(&n);
        assert!(line.starts_with("evil\\x1b[1A\\rSSID"), "{line}");
        // JSON keeps the exact text (serde escapes it for JSON).
        let v = network_json(&n);
        assert_eq!(v["ssid"], "evil\x1b[1A\rSSID");
        assert!(v.to_string().contains("\\u001b[1A\\r"));
    }
}
