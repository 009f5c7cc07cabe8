//! Terminal output of the CLI: progress lines, JSON results, exit codes, the stderr logger.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use rainmaker_prov::endpoints::rainmaker::RMAKER_CLAIM;
use rainmaker_prov::endpoints::thread::{ThreadFailReason, ThreadStatus};
use rainmaker_prov::endpoints::wifi::WifiNetwork;
use rainmaker_prov::error::Step;
use rainmaker_prov::error::{Error, Feature};
use rainmaker_prov::events::{ProgressEvent, ProgressListener};
use rainmaker_prov::rainmaker::RainMakerError;
use rainmaker_prov::security::SecurityLevel;
use unicode_width::UnicodeWidthStr;

/// The exit code of the documented interface for an error.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::InvalidInput { .. } => 2,
        Error::WrongCredentials | Error::DeviceProofMismatch => 3,
        Error::WifiAuthFailed => 4,
        Error::WifiNetworkNotFound | Error::ThreadAttachFailed { .. } | Error::WifiFailed { .. } => 5,
        Error::Timeout { .. } => 6,
        Error::Unreachable { .. }
        | Error::Disconnected { .. }
        | Error::OutcomeUnknown { .. }
        | Error::EndpointNotFound { .. }
        | Error::Transport { .. } => 7,
        Error::PayloadTooLarge { .. }
        | Error::SecurityMismatch { .. }
        | Error::CredentialsRequired { .. }
        | Error::Unsupported { .. } => 2,
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
        Error::Internal { .. } => "internal",
        Error::Timeout { .. } => "timeout",
        Error::Unreachable { .. } => "unreachable",
        Error::Disconnected { .. } => "disconnected",
        Error::EndpointNotFound { .. } => "endpoint_not_found",
        Error::WifiAuthFailed => "wifi_auth_failed",
        Error::WifiNetworkNotFound => "wifi_network_not_found",
        Error::WifiFailed { .. } => "wifi_failed",
        Error::ThreadAttachFailed { .. } => "thread_attach_failed",
        Error::OutcomeUnknown { .. } => "outcome_unknown",
        Error::DeviceStatus { .. } => "device_status",
        Error::AlreadyProvisioned { .. } => "already_provisioned",
        Error::Protocol { .. } => "protocol_error",
        Error::Transport { .. } => "transport_error",
        Error::SecurityMismatch { .. } => "security_mismatch",
        Error::CredentialsRequired { .. } => "credentials_required",
        Error::Unsupported { .. } => "unsupported",
        Error::InvalidInput { .. } => "invalid_input",
        Error::Cancelled => "cancelled",
        Error::NotConnected => "not_connected",
        _ => "error",
    }
}

/// Exit code: not logged in to the RainMaker cloud, or the cloud refused the login.
pub const EXIT_LOGIN: u8 = 10;
/// Exit code: the user-node association failed.
pub const EXIT_ASSOCIATION: u8 = 11;
/// Exit code: assisted claiming failed.
pub const EXIT_CLAIM: u8 = 12;
/// Exit code: the RainMaker cloud could not be reached or answered with an error.
pub const EXIT_CLOUD: u8 = 13;

/// The step a device error names, when it names one.
fn step_of(err: &Error) -> Option<&Step> {
    match err {
        Error::PayloadTooLarge { step, .. }
        | Error::Timeout { step }
        | Error::Unreachable { step, .. }
        | Error::Disconnected { step, .. }
        | Error::EndpointNotFound { step, .. }
        | Error::OutcomeUnknown { step }
        | Error::DeviceStatus { step, .. }
        | Error::Protocol { step, .. }
        | Error::Unsupported { step, .. }
        | Error::Transport { step, .. } => Some(step),
        _ => None,
    }
}

/// The exit code of the documented interface for a RainMaker run's error (docs/protocol.md 8):
/// device errors map like [`exit_code`], except during assisted claiming (12).
pub fn rainmaker_exit_code(err: &RainMakerError) -> u8 {
    match err {
        RainMakerError::Device { error: e } => match step_of(e) {
            Some(Step::RainMaker { endpoint }) if endpoint == RMAKER_CLAIM => EXIT_CLAIM,
            _ => exit_code(e),
        },
        RainMakerError::LoginRequired | RainMakerError::LoginRejected { .. } => EXIT_LOGIN,
        RainMakerError::MappingTimedOut { .. }
        | RainMakerError::MappingDiscarded { .. }
        | RainMakerError::ChallengeRejected { .. }
        | RainMakerError::ChallengeResponseDisabled
        | RainMakerError::NoAssociationEndpoint
        | RainMakerError::ClaimPending => EXIT_ASSOCIATION,
        RainMakerError::ClaimRejected { .. } | RainMakerError::ClaimAnswerTooLarge { .. } => EXIT_CLAIM,
        RainMakerError::CloudUnreachable { .. }
        | RainMakerError::Http { .. }
        | RainMakerError::CloudProtocol { .. } => EXIT_CLOUD,
        RainMakerError::InvalidInput { .. } => 2,
        _ => 8,
    }
}

/// The JSON error name of a RainMaker run's error: [`error_kind`] for a device error,
/// [`RainMakerError::kind`] for the others.
pub fn rainmaker_error_kind(err: &RainMakerError) -> &'static str {
    match err.device_error() {
        Some(e) => error_kind(e),
        None => err.kind(),
    }
}

/// Reports a RainMaker run's error on stderr (and as JSON on stdout with `--json`); returns the
/// exit code.
pub fn report_rainmaker_error(err: &RainMakerError, json: bool) -> u8 {
    let code = rainmaker_exit_code(err);
    let hint = match err {
        RainMakerError::LoginRequired => Some("run `rainmaker-prov login --email ...` first".to_owned()),
        RainMakerError::ClaimPending => Some("the device must be claimed: add --claim (with --rainmaker)".to_owned()),
        _ => err.device_error().and_then(hint),
    };
    if json {
        let mut v = serde_json::json!({
            "ok": false,
            "exit_code": code,
            "error": rainmaker_error_kind(err),
            "message": err.to_string(),
        });
        if let Some(operation) = err.operation() {
            v["operation"] = serde_json::Value::String(operation);
        }
        if let Some(hint) = &hint {
            v["hint"] = serde_json::Value::String(hint.clone());
        }
        println!("{v}");
    }
    eprintln!("error: {}", terminal_safe(&err.to_string()));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    code
}

/// What to do next about a device error, in the command line's terms (which option to give or
/// drop), when the error alone does not say it.
pub fn hint(err: &Error) -> Option<String> {
    Some(match err {
        Error::SecurityMismatch { device, .. } => {
            format!("drop --sec to use what the device reports, or give --sec {}", device.number())
        }
        Error::CredentialsRequired { security: SecurityLevel::Sec2 } => "give the password with --pop or \
             --sec2-password (or RAINMAKER_PROV_POP / RAINMAKER_PROV_SEC2_PASSWORD), or the device's QR code with \
             --qrcode"
            .to_owned(),
        Error::CredentialsRequired { .. } => {
            "give the PoP with --pop (or RAINMAKER_PROV_POP), or the device's QR code with --qrcode".to_owned()
        }
        Error::Unsupported { what: Feature::ThreadProvisioning, .. } => {
            "this device takes Wi-Fi credentials: use --ssid and --passphrase instead of --thread-dataset".to_owned()
        }
        Error::Unsupported { what: Feature::WifiProvisioning, .. } => {
            "this device takes a Thread dataset: use --thread-dataset instead of --ssid".to_owned()
        }
        Error::SecurityBelowMinimum { offered, .. } => format!(
            "if you trust this device, accept its scheme with --min-sec {} (security 0 sends everything in clear)",
            offered.number()
        ),
        Error::AlreadyProvisioned { .. } => "reset the device to factory settings (or have its firmware run \
             prov-ctrl reprov) and provision it again"
            .to_owned(),
        Error::Unreachable { .. } => {
            "check --host / --port / --transport, and that this computer reaches the device".to_owned()
        }
        _ => return None,
    })
}

/// Reports an error on stderr (and as JSON on stdout with `--json`, with a `hint` field when
/// there is one); returns the exit code.
pub fn report_error(err: &Error, json: bool) -> u8 {
    let code = exit_code(err);
    let hint = hint(err);
    if json {
        let mut v = serde_json::json!({
            "ok": false,
            "exit_code": code,
            "error": error_kind(err),
            "message": err.to_string(),
        });
        if let Some(hint) = &hint {
            v["hint"] = serde_json::Value::String(hint.clone());
        }
        println!("{v}");
    }
    eprintln!("error: {}", terminal_safe(&err.to_string()));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    code
}

/// Prints progress events on stderr. While the device joins the network, a terminal gets a
/// spinner with the elapsed time instead of one line per status poll; anything else gets plain
/// lines.
#[derive(Debug)]
pub struct StderrProgress {
    /// Prefix every line with its step (`[connect]`, `[claim]`, `[associate]`, `[wifi]`,
    /// `[confirm]`, ...), as the RainMaker flow prints them. The RainMaker events are always
    /// tagged.
    tagged: bool,
    /// Whether stderr is a terminal (spinner allowed).
    terminal: bool,
    /// The chosen security level's number (`u8::MAX` before the choice): security 0 has no
    /// secure session to speak of.
    level: AtomicU8,
    /// The spinner shown while the device joins, if any.
    spinner: Mutex<Option<ProgressBar>>,
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new(false)
    }
}

impl StderrProgress {
    /// Progress on stderr; `tagged` prefixes every line with its step.
    pub fn new(tagged: bool) -> Self {
        Self {
            tagged,
            terminal: std::io::stderr().is_terminal(),
            level: AtomicU8::new(u8::MAX),
            spinner: Mutex::new(None),
        }
    }

    /// Removes the spinner, if one is shown.
    pub fn finish(&self) {
        if let Some(spinner) = self.spinner.lock().unwrap_or_else(PoisonError::into_inner).take() {
            spinner.finish_and_clear();
        }
    }

    /// Shows the spinner (terminal only); `false` when there is none.
    fn spin(&self, message: String) -> bool {
        if !self.terminal {
            return false;
        }
        let mut slot = self.spinner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(spinner) = slot.as_ref() {
            spinner.set_message(message);
            return true;
        }
        let Ok(style) = ProgressStyle::with_template("  {spinner} {msg} ({elapsed})") else { return false };
        let spinner =
            ProgressBar::new_spinner().with_style(style).with_finish(ProgressFinish::AndClear).with_message(message);
        spinner.set_draw_target(ProgressDrawTarget::stderr());
        spinner.enable_steady_tick(Duration::from_millis(120));
        *slot = Some(spinner);
        true
    }

    /// The text of an event's line.
    fn line(&self, event: ProgressEvent) -> String {
        let unencrypted = self.level.load(Ordering::Relaxed) == 0;
        match event {
            ProgressEvent::ReadingCapabilities => "reading device capabilities (proto-ver)".to_owned(),
            ProgressEvent::SecurityChosen { level, patch } => match level.number() {
                0 => "security 0: no encryption, no proof of possession".to_owned(),
                2 => format!("security 2 (patch {patch})"),
                n => format!("security {n}"),
            },
            ProgressEvent::Handshaking if unencrypted => "opening an unencrypted session".to_owned(),
            ProgressEvent::Handshaking => "establishing the secure session".to_owned(),
            ProgressEvent::SessionEstablished if unencrypted => "session open (unencrypted)".to_owned(),
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
            ProgressEvent::Claiming => "claiming the node with the RainMaker claiming service".to_owned(),
            ProgressEvent::Claimed { node_id } => format!("claimed: the device is node {node_id}"),
            ProgressEvent::Associating { challenge_response: true } => {
                "adding the node to the account (challenge-response)".to_owned()
            }
            ProgressEvent::Associating { challenge_response: false } => {
                "sending the user-node mapping to the device".to_owned()
            }
            ProgressEvent::Associated { node_id } => format!("the device took the association (node {node_id})"),
            ProgressEvent::NotAssociated => {
                "the device has no RainMaker association endpoint; provisioning it without one".to_owned()
            }
            ProgressEvent::ConfirmingAssociation => "asking the cloud to confirm the mapping".to_owned(),
            ProgressEvent::WaitingForCloud => "the cloud is not reachable yet; retrying".to_owned(),
            ProgressEvent::AssociationConfirmed { node_id } => format!("node {node_id} is on the account"),
            other => format!("{other:?}"),
        }
    }
}

impl Drop for StderrProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The step of the RainMaker flow (docs/protocol.md 8 order) an event belongs to.
fn step_tag(event: &ProgressEvent) -> &'static str {
    match event {
        ProgressEvent::Claiming | ProgressEvent::Claimed { .. } => "claim",
        ProgressEvent::Associating { .. } | ProgressEvent::Associated { .. } | ProgressEvent::NotAssociated => {
            "associate"
        }
        ProgressEvent::ConfirmingAssociation
        | ProgressEvent::WaitingForCloud
        | ProgressEvent::AssociationConfirmed { .. } => "confirm",
        ProgressEvent::Scanning | ProgressEvent::ScanFinished { .. } => "scan",
        ProgressEvent::SendingCustomData { .. } => "custom",
        ProgressEvent::SendingCredentials
        | ProgressEvent::Applying
        | ProgressEvent::Connecting { .. }
        | ProgressEvent::Connected
        | ProgressEvent::ResetAfterFailure => "wifi",
        _ => "connect",
    }
}

/// Whether the event is one of the RainMaker steps (always tagged).
fn is_rainmaker_event(event: &ProgressEvent) -> bool {
    matches!(step_tag(event), "claim" | "associate" | "confirm")
}

impl ProgressListener for StderrProgress {
    fn on_progress(&self, event: ProgressEvent) {
        if let ProgressEvent::SecurityChosen { level, .. } = &event {
            self.level.store(level.number(), Ordering::Relaxed);
        }
        let tag = (self.tagged || is_rainmaker_event(&event)).then(|| step_tag(&event));
        let joining = matches!(event, ProgressEvent::Connecting { .. });
        let applying = matches!(event, ProgressEvent::Applying);
        let line = terminal_safe(&self.line(event));
        let line = match tag {
            Some(tag) => format!("[{tag}] {line}"),
            None => line,
        };
        // While the device joins, a terminal shows one spinner line instead of a line per poll.
        if joining && self.spin(line.clone()) {
            return;
        }
        self.finish();
        eprintln!("  - {line}");
        if applying {
            let _ = self.spin("waiting for the device to join".to_owned());
        }
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

/// `text` padded with spaces to `columns` terminal columns, counting each character's display
/// width (an emoji or a CJK character takes two columns, a combining mark none), so that table
/// columns line up whatever a device names its networks.
pub fn pad_to_width(text: &str, columns: usize) -> String {
    let width = UnicodeWidthStr::width(text);
    let mut out = String::with_capacity(text.len() + columns.saturating_sub(width));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', columns.saturating_sub(width)));
    out
}

/// One scan entry as a table line: SSID (terminal-safe, padded by display width), channel, RSSI,
/// auth mode.
pub fn network_line(n: &WifiNetwork) -> String {
    let ssid = pad_to_width(&terminal_safe(&display_ssid(&n.ssid)), 34);
    format!("{ssid} ch {:>2}  {:>4} dBm  {:?}", n.channel, n.rssi, n.auth)
}

/// A Thread status as JSON fields: `thread_state` (`attached`, `attaching`, `detached`,
/// `failed`), and for an attached device `network_name`, `pan_id`, `ext_pan_id` (hex) and
/// `channel`, for a failed one `fail_reason` (`dataset_invalid`, `network_not_found`, or
/// `unknown`) and `fail_reason_raw`.
pub fn thread_status_json(status: &ThreadStatus) -> serde_json::Value {
    use serde_json::json;
    match status {
        ThreadStatus::Attached { pan_id, ext_pan_id, channel, name } => json!({
            "thread_state": "attached",
            "network_name": name,
            "pan_id": pan_id,
            "ext_pan_id": hex::encode(ext_pan_id),
            "channel": channel,
        }),
        ThreadStatus::Attaching => json!({ "thread_state": "attaching" }),
        ThreadStatus::Detached => json!({ "thread_state": "detached" }),
        ThreadStatus::Failed { reason } => {
            let (name, raw) = match reason {
                ThreadFailReason::DatasetInvalid => ("dataset_invalid", None),
                ThreadFailReason::NetworkNotFound => ("network_not_found", None),
                ThreadFailReason::Unknown { raw: code } => ("unknown", Some(*code)),
            };
            json!({ "thread_state": "failed", "fail_reason": name, "fail_reason_raw": raw })
        }
    }
}

/// A Thread status in words (device strings made terminal-safe).
pub fn thread_status_text(status: &ThreadStatus) -> String {
    match status {
        ThreadStatus::Attached { pan_id, ext_pan_id, channel, name } => format!(
            "the device attached to the Thread network `{}` (PAN ID 0x{pan_id:04x}, extended PAN ID {}, channel {channel})",
            terminal_safe(name),
            hex::encode(ext_pan_id)
        ),
        ThreadStatus::Attaching => "the device is still attaching to the Thread network".to_owned(),
        ThreadStatus::Detached => "the device is detached from the Thread network".to_owned(),
        ThreadStatus::Failed { reason } => format!("the device failed to attach to the Thread network ({reason:?})"),
    }
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

/// Installs a stderr logger: 0 = warnings, 1 = info, 2 = debug, 3+ = trace.
pub fn init_logger(verbosity: u8) {
    let level = match verbosity {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
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
    fn rainmaker_errors_have_their_exit_codes() {
        let claim_step = Step::RainMaker { endpoint: RMAKER_CLAIM.to_owned() };
        let cases: Vec<(RainMakerError, u8, &str)> = vec![
            (RainMakerError::LoginRequired, 10, "login_required"),
            (RainMakerError::LoginRejected { status: 401, description: "no".into() }, 10, "login_rejected"),
            (RainMakerError::MappingTimedOut { node_id: "n".into(), request_id: "r".into() }, 11, "mapping_timed_out"),
            (RainMakerError::MappingDiscarded { node_id: "n".into(), request_id: "r".into() }, 11, "mapping_discarded"),
            (RainMakerError::ChallengeRejected { status: 400, description: "x".into() }, 11, "challenge_rejected"),
            (RainMakerError::ChallengeResponseDisabled, 11, "challenge_response_disabled"),
            (RainMakerError::ClaimPending, 11, "claim_required"),
            (
                RainMakerError::ClaimRejected {
                    operation: "claim/initiate".into(),
                    status: 400,
                    description: "x".into(),
                },
                12,
                "claim_rejected",
            ),
            (
                RainMakerError::ClaimAnswerTooLarge { operation: "claim/verify".into(), size: 4000, limit: 3071 },
                12,
                "claim_answer_too_large",
            ),
            (RainMakerError::Device { error: Error::Timeout { step: claim_step.clone() } }, 12, "timeout"),
            (
                RainMakerError::Device { error: Error::Protocol { step: claim_step, detail: "x".into() } },
                12,
                "protocol_error",
            ),
            (
                RainMakerError::CloudUnreachable { operation: "login2".into(), detail: "x".into() },
                13,
                "cloud_unreachable",
            ),
            (
                RainMakerError::Http { operation: "x".into(), status: 500, description: "x".into() },
                13,
                "cloud_http_error",
            ),
            (RainMakerError::CloudProtocol { operation: "x".into(), detail: "x".into() }, 13, "cloud_protocol"),
            (RainMakerError::Device { error: Error::WrongCredentials }, 3, "wrong_credentials"),
            (RainMakerError::Device { error: Error::Timeout { step: Step::Handshake } }, 6, "timeout"),
            (RainMakerError::Device { error: Error::Cancelled }, 130, "cancelled"),
            (RainMakerError::InvalidInput { detail: "x".into() }, 2, "invalid_input"),
        ];
        for (err, code, kind) in cases {
            assert_eq!(rainmaker_exit_code(&err), code, "{err:?}");
            assert_eq!(rainmaker_error_kind(&err), kind, "{err:?}");
        }
    }

    #[test]
    fn scan_table_columns_line_up_by_display_width() {
        let line = |ssid: &str| {
            network_line(&WifiNetwork {
                ssid: ssid.as_bytes().to_vec(),
                channel: 6,
                rssi: -40,
                bssid: vec![1; 6],
                auth: WifiAuthMode::from_raw(3),
            })
        };
        let columns = |text: &str| UnicodeWidthStr::width(text.split(" ch ").next().unwrap_or_default());
        // The coffee cup and CJK characters take two columns each, the combining accent none.
        for ssid in ["Plain", "Café ☕", "東京タワー", "e\u{301}cole", "\u{1f600}\u{1f600}\u{1f600}"] {
            assert_eq!(columns(&line(ssid)), 34, "{ssid:?}: {:?}", line(ssid));
        }
        assert!(line("Café ☕").starts_with("Café ☕ "));
        // A name wider than the column is kept whole, not cut.
        let wide = "☕".repeat(20);
        assert!(line(&wide).starts_with(&format!("{wide} ch")), "{}", line(&wide));
    }

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
