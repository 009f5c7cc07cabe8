//! [`ProvOptions`]: how a [`crate::ProvDevice`] authenticates and how long it waits — the
//! constructor arguments of the object, in the form Kotlin and Swift can default (milliseconds,
//! optional strings). It is turned into the core's `SessionOptions` and `PollOptions` in one
//! place; every value the device sends back is a core type.

use std::time::Duration;

use rainmaker_prov::security::{Secret, SecurityLevel};
use rainmaker_prov::session::{PollOptions, SecurityChoice, SessionOptions};

/// How a [`crate::ProvDevice`] authenticates and how long it waits. Kotlin's `toString` and
/// Swift's `description` are the `Debug` below, which redacts the PoP and the SRP password (a
/// record's default would print them).
#[derive(Clone, uniffi::Record)]
#[uniffi::export(Debug)]
pub struct ProvOptions {
    /// The weakest scheme the app accepts; a device offering less is refused with
    /// `ProvError.SecurityBelowMinimum` (no silent downgrade). Use `Sec1` or `Sec2` in production.
    pub min_security: SecurityLevel,
    /// Force a scheme instead of reading it from the device (`null`/`nil`: auto-detect).
    #[uniffi(default = None)]
    pub security: Option<SecurityLevel>,
    /// Proof of possession (security 1), also the SRP password (security 2) when
    /// `sec2_password` is not set. Usually the `pop` of the device's QR code.
    #[uniffi(default = None)]
    pub pop: Option<String>,
    /// SRP username for security 2 (default `wifiprov`; the QR code's `username`).
    #[uniffi(default = None)]
    pub sec2_username: Option<String>,
    /// SRP password for security 2 (defaults to `pop`).
    #[uniffi(default = None)]
    pub sec2_password: Option<String>,
    /// Upper bound for one request/response exchange, in milliseconds (a Wi-Fi scan can take
    /// seconds).
    #[uniffi(default = 30000)]
    pub exchange_timeout_ms: u64,
    /// How long `provision_wifi`/`provision_thread` wait for the device to join, in milliseconds.
    #[uniffi(default = 90000)]
    pub connect_deadline_ms: u64,
    /// The scheme the device must offer, from its QR code's `security` (see `QrPayload`); a
    /// device offering less fails with `ProvError.PossibleImpostor` before anything is sent.
    #[uniffi(default = None)]
    pub expected_security: Option<SecurityLevel>,
    /// Accept a security 1 device advertising `no_pop` although `pop` is set (the PoP is then
    /// not used and the session is not authenticated). Leave `false` unless the user knows it.
    #[uniffi(default = false)]
    pub allow_no_pop: bool,
    /// Upper bound for a whole scan (`scan_wifi`/`scan_thread`), in milliseconds.
    #[uniffi(default = 60000)]
    pub scan_timeout_ms: u64,
}

impl std::fmt::Debug for ProvOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("ProvOptions")
            .field("min_security", &self.min_security)
            .field("security", &self.security)
            .field("pop", &redact(&self.pop))
            .field("sec2_username", &self.sec2_username)
            .field("sec2_password", &redact(&self.sec2_password))
            .field("exchange_timeout_ms", &self.exchange_timeout_ms)
            .field("connect_deadline_ms", &self.connect_deadline_ms)
            .field("expected_security", &self.expected_security)
            .field("allow_no_pop", &self.allow_no_pop)
            .field("scan_timeout_ms", &self.scan_timeout_ms)
            .finish()
    }
}

impl ProvOptions {
    /// The core's session and polling options these options stand for.
    pub(crate) fn into_core(self) -> (SessionOptions, PollOptions) {
        let poll = PollOptions { deadline: Duration::from_millis(self.connect_deadline_ms), ..PollOptions::default() };
        let session = SessionOptions {
            security: self.security.map_or(SecurityChoice::Auto, SecurityChoice::Fixed),
            min_security: self.min_security,
            pop: self.pop.map(Secret::from),
            sec2_username: self.sec2_username,
            sec2_password: self.sec2_password.map(Secret::from),
            exchange_timeout: Duration::from_millis(self.exchange_timeout_ms),
            expected_security: self.expected_security,
            allow_no_pop: self.allow_no_pop,
            scan_timeout: Duration::from_millis(self.scan_timeout_ms),
        };
        (session, poll)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn options_become_the_core_options_and_stay_out_of_debug() {
        let options = ProvOptions {
            min_security: SecurityLevel::Sec1,
            security: Some(SecurityLevel::Sec2),
            pop: Some("pop-s3cret".into()),
            sec2_username: Some("user".into()),
            sec2_password: None,
            exchange_timeout_ms: 1_500,
            connect_deadline_ms: 4_000,
            expected_security: Some(SecurityLevel::Sec2),
            allow_no_pop: true,
            scan_timeout_ms: 9_000,
        };
        assert!(!format!("{options:?}").contains("s3cret"));
        let (session, poll) = options.into_core();
        assert_eq!(session.security, SecurityChoice::Fixed(SecurityLevel::Sec2));
        assert_eq!(session.pop.unwrap().expose(), b"pop-s3cret");
        assert_eq!(session.sec2_username.as_deref(), Some("user"));
        assert_eq!(session.exchange_timeout, Duration::from_millis(1_500));
        assert_eq!(session.scan_timeout, Duration::from_secs(9));
        assert_eq!(session.expected_security, Some(SecurityLevel::Sec2));
        assert!(session.allow_no_pop);
        assert_eq!(poll.deadline, Duration::from_secs(4));
    }
}
