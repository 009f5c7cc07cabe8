//! The public error of the core: one actionable variant per thing an app can branch on.

use crate::endpoints::EndpointError;
use crate::security::{SecurityError, SecurityLevel};
use crate::transport::TransportError;

/// A step of a provisioning flow; errors name the step they happened in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum ProvStep {
    /// Reading `proto-ver` (version and capabilities).
    ReadCapabilities,
    /// The `prov-session` security handshake.
    Handshake,
    /// A Wi-Fi scan on `prov-scan`.
    WifiScan,
    /// A Thread scan on `prov-scan`.
    ThreadScan,
    /// Sending network credentials (`prov-config` set).
    SendCredentials,
    /// Applying the credentials (`prov-config` apply).
    ApplyCredentials,
    /// Polling the connection status (`prov-config` get-status).
    ConnectionStatus,
    /// `prov-ctrl` reset or reprovision.
    Control,
    /// A custom endpoint, by name.
    Custom {
        /// The endpoint name.
        endpoint: String,
    },
    /// A RainMaker step on the device (`cloud_user_assoc`, `ch_resp`, `rmaker_claim`), by endpoint.
    RainMaker {
        /// The endpoint name.
        endpoint: String,
    },
}

/// The name Rust code uses for [`ProvStep`] (Kotlin and Swift see `ProvStep`).
pub type Step = ProvStep;

impl std::fmt::Display for ProvStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::ReadCapabilities => f.write_str("reading capabilities (proto-ver)"),
            Step::Handshake => f.write_str("security handshake (prov-session)"),
            Step::WifiScan => f.write_str("Wi-Fi scan (prov-scan)"),
            Step::ThreadScan => f.write_str("Thread scan (prov-scan)"),
            Step::SendCredentials => f.write_str("sending credentials (prov-config)"),
            Step::ApplyCredentials => f.write_str("applying credentials (prov-config)"),
            Step::ConnectionStatus => f.write_str("connection status (prov-config)"),
            Step::Control => f.write_str("provisioning control (prov-ctrl)"),
            Step::Custom { endpoint } => write!(f, "custom endpoint `{endpoint}`"),
            Step::RainMaker { endpoint } => write!(f, "RainMaker step (`{endpoint}`)"),
        }
    }
}

/// Why a device was refused before any credential was sent to it (see [`Error::PossibleImpostor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum DowngradeReason {
    /// The device advertises `no_pop` (security 1 without a proof of possession) while the caller
    /// holds a PoP: the device would never have to prove it knows it.
    NoPopWhilePopGiven,
    /// The device offers a lower scheme than its QR code says.
    BelowQrCode {
        /// What the device advertised.
        offered: SecurityLevel,
        /// What the QR code says.
        qr: SecurityLevel,
    },
    /// The device offers a lower scheme than the caller's credentials imply (SRP credentials:
    /// security 2; a PoP: security 1).
    BelowCredentials {
        /// What the device advertised.
        offered: SecurityLevel,
        /// What the credentials imply.
        required: SecurityLevel,
    },
}

impl std::fmt::Display for DowngradeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DowngradeReason::NoPopWhilePopGiven => {
                f.write_str("the device advertises `no_pop` (no proof of possession) although a PoP was given for it")
            }
            DowngradeReason::BelowQrCode { offered, qr } => {
                write!(f, "the device offers {offered} but its QR code says {qr}")
            }
            DowngradeReason::BelowCredentials { offered, required } => {
                write!(f, "the device offers {offered} but the credentials given are for {required}")
            }
        }
    }
}

/// Everything that can go wrong talking to a device. Messages name the step and never contain a
/// secret (PoP, password, passphrase, key). Rust code calls it [`Error`]; Kotlin and Swift see
/// `ProvError` (a name that does not clash with their own `Error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error), uniffi::export(Display))]
#[non_exhaustive]
pub enum ProvError {
    /// The device rejected our proof of possession or SRP username/password.
    #[error(
        "the device rejected the handshake proof: wrong proof of possession or SRP credentials, \
         or another client took over the device"
    )]
    WrongCredentials,
    /// The device could not prove that it knows the PoP/password: possibly an impostor.
    #[error("the device failed to prove it knows the PoP/password (possible impostor)")]
    DeviceProofMismatch,
    /// The device offers less security than the caller accepts.
    #[error("the device offers {offered}, below the accepted minimum {minimum}")]
    SecurityBelowMinimum {
        /// What the device advertised.
        offered: SecurityLevel,
        /// What the caller required.
        minimum: SecurityLevel,
    },
    /// The device offers less security than its QR code or the caller's credentials say it must:
    /// it may be an impostor. Nothing secret was sent. A caller that really means to provision a
    /// device without a proof of possession opts in with `SessionOptions::allow_no_pop`.
    #[error("refusing the device, it may be an impostor: {reason} (no credential was sent)")]
    PossibleImpostor {
        /// What did not match.
        reason: DowngradeReason,
    },
    /// A message is larger than the link can carry (BLE characteristic, console line).
    #[error("{step}: a message of {size} bytes exceeds the link's limit of {limit} bytes")]
    PayloadTooLarge {
        /// The step.
        step: Step,
        /// The message size.
        size: u64,
        /// The link's limit.
        limit: u64,
    },
    /// A step did not complete in time.
    #[error("timed out during {step}")]
    Timeout {
        /// The step that timed out.
        step: Step,
    },
    /// The device could not be reached at all.
    #[error("device unreachable during {step}: {detail}")]
    Unreachable {
        /// The step.
        step: Step,
        /// Transport detail (no secrets).
        detail: String,
    },
    /// The link dropped, or the device closed it without answering.
    #[error("device disconnected during {step}: {detail}")]
    Disconnected {
        /// The step.
        step: Step,
        /// Transport detail.
        detail: String,
    },
    /// The device is missing an endpoint that this step needs.
    #[error("the device has no `{endpoint}` endpoint ({step})")]
    EndpointNotFound {
        /// The step.
        step: Step,
        /// The endpoint name.
        endpoint: String,
    },
    /// The device could not join the Wi-Fi network: wrong passphrase.
    #[error("Wi-Fi authentication failed (wrong passphrase?)")]
    WifiAuthFailed,
    /// The device could not find the Wi-Fi network.
    #[error("Wi-Fi network not found")]
    WifiNetworkNotFound,
    /// The device could not join Wi-Fi for a reason it reported as a raw code.
    #[error("Wi-Fi connection failed (reason code {reason_code})")]
    WifiFailed {
        /// The device's reason code.
        reason_code: i32,
    },
    /// The device could not attach to the Thread network.
    #[error("Thread attach failed: {detail}")]
    ThreadAttachFailed {
        /// The device's reason.
        detail: String,
    },
    /// The device stopped answering after the credentials were applied: it may or may not have
    /// joined the network.
    #[error("outcome unknown: the device stopped answering during {step} after the credentials were applied")]
    OutcomeUnknown {
        /// The step.
        step: Step,
    },
    /// The device reported a non-success status.
    #[error("the device reported status {status} during {step}")]
    DeviceStatus {
        /// The step.
        step: Step,
        /// The status name or code.
        status: String,
    },
    /// The device refused new credentials because it is already provisioned, or a previous
    /// attempt was applied and not reset: set-config or apply answered `InternalError`, the status
    /// firmware gives when credentials were already applied in this provisioning round
    /// (docs/protocol.md 6.3). `prov-ctrl` reset (after a failure) or reprov (on a provisioned
    /// device whose firmware keeps provisioning running, 6.6) makes it accept credentials again.
    #[error("device already provisioned: reset it or use prov-ctrl reprov (it answered InternalError during {step})")]
    AlreadyProvisioned {
        /// The step the device refused (sending or applying the credentials).
        step: Step,
    },
    /// A message from the device could not be understood.
    #[error("protocol error during {step}: {detail}")]
    Protocol {
        /// The step.
        step: Step,
        /// What was wrong (no secrets).
        detail: String,
    },
    /// A transport implemented by the host application reported an error.
    #[error("transport error during {step}: {detail}")]
    Transport {
        /// The step.
        step: Step,
        /// The application's message.
        detail: String,
    },
    /// The security scheme was fixed by the caller ([`crate::session::SecurityChoice::Fixed`]),
    /// but the device's `proto-ver` says it uses another one: the handshake could not succeed,
    /// so nothing was sent. Choose automatic detection or the device's scheme.
    #[error(
        "{chosen} was chosen, but the device reports {device} in its proto-ver answer (nothing was sent): \
         use automatic detection or {device}"
    )]
    SecurityMismatch {
        /// The scheme the caller fixed.
        chosen: SecurityLevel,
        /// The scheme the device reports.
        device: SecurityLevel,
    },
    /// The device's scheme needs a credential the caller did not give: a proof of possession
    /// (security 1) or the SRP password, or a PoP used as the password (security 2). Nothing was
    /// sent.
    #[error("{}", credentials_required_text(*.security))]
    CredentialsRequired {
        /// The device's scheme.
        security: SecurityLevel,
    },
    /// The device does not offer what the request needs (for example a Thread dataset sent to a
    /// Wi-Fi-only device): its `proto-ver` capabilities say so, and nothing was sent.
    #[error("the device does not support {what} ({step}): {detail}")]
    Unsupported {
        /// The step that needed it.
        step: Step,
        /// What is missing.
        what: Feature,
        /// What the device reported instead.
        detail: String,
    },
    /// The caller's input cannot be used (SSID too long, bad QR payload, ...).
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong.
        detail: String,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// No security session is established yet (call `connect` first).
    #[error("not connected: call connect() first")]
    NotConnected,
    /// The library itself could not run (for example, the async runtime of the blocking facade
    /// could not be started). Not caused by the device or the caller's input.
    #[error("internal error: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

/// The name Rust code uses for [`ProvError`].
pub type Error = ProvError;

/// Something a device may lack (see [`Error::Unsupported`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum Feature {
    /// Taking Wi-Fi credentials (`wifi_prov`).
    WifiProvisioning,
    /// Taking a Thread dataset (`thread_prov`).
    ThreadProvisioning,
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Feature::WifiProvisioning => "Wi-Fi provisioning",
            Feature::ThreadProvisioning => "Thread provisioning",
        })
    }
}

/// The text of [`Error::CredentialsRequired`].
fn credentials_required_text(security: SecurityLevel) -> &'static str {
    match security {
        SecurityLevel::Sec2 => {
            "the device uses security 2 and needs its SRP password (or the PoP used as the password); none was \
             given: it is printed on the device or in its QR code"
        }
        _ => {
            "the device uses security 1 with a proof of possession (PoP) and none was given: it is printed on the \
             device or in its QR code"
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Maps a transport failure in `step` to the public error.
    pub fn from_transport(step: Step, err: TransportError) -> Self {
        match err {
            TransportError::Unreachable { detail } => Error::Unreachable { step, detail },
            TransportError::ClosedWithoutResponse => Error::Disconnected {
                step,
                detail: "the device closed the connection without a response (it refused the request, or \
                         another client took over the device)"
                    .into(),
            },
            TransportError::Disconnected { detail } => Error::Disconnected { step, detail },
            TransportError::Timeout { .. } => Error::Timeout { step },
            TransportError::EndpointNotFound { endpoint } => Error::EndpointNotFound { step, endpoint },
            TransportError::Foreign { detail } => Error::Transport { step, detail },
            TransportError::PayloadTooLarge { size, limit } => Error::PayloadTooLarge { step, size, limit },
            TransportError::ResponseTooLarge { what, limit } => {
                Error::Protocol { step, detail: format!("the response exceeds a limit: {what} (limit {limit})") }
            }
            TransportError::HttpStatus { code } => {
                Error::Protocol { step, detail: format!("unexpected HTTP status {code}") }
            }
            other => Error::Disconnected { step, detail: other.to_string() },
        }
    }

    /// Maps a security failure in `step` to the public error.
    pub fn from_security(step: Step, err: SecurityError) -> Self {
        match err {
            SecurityError::WrongCredentials => Error::WrongCredentials,
            SecurityError::DeviceProofMismatch => Error::DeviceProofMismatch,
            other => Error::Protocol { step, detail: other.to_string() },
        }
    }

    /// Maps an endpoint codec failure in `step` to the public error.
    pub fn from_endpoint(step: Step, err: EndpointError) -> Self {
        match err {
            EndpointError::InvalidArgument(detail) => Error::InvalidInput { detail },
            // InternalError to set-config / apply: credentials were already applied in this
            // provisioning round (docs/protocol.md 6.3).
            EndpointError::DeviceStatus { code, .. }
                if code == crate::endpoints::DeviceStatus::InternalError as i32
                    && matches!(step, Step::SendCredentials | Step::ApplyCredentials) =>
            {
                Error::AlreadyProvisioned { step }
            }
            EndpointError::DeviceStatus { code, name } => {
                Error::DeviceStatus { step, status: format!("{name} ({code})") }
            }
            other => Error::Protocol { step, detail: other.to_string() },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_device_status_is_named_once() {
        let err = Error::from_endpoint(Step::ConnectionStatus, EndpointError::device_status(5));
        let msg = err.to_string();
        assert_eq!(msg, "the device reported status InternalError (5) during connection status (prov-config)");
        assert_eq!(msg.matches("reported status").count(), 1, "{msg}");
        let msg = Error::from_endpoint(Step::ApplyCredentials, EndpointError::device_status(4)).to_string();
        assert_eq!(msg.matches("reported status").count(), 1, "{msg}");
    }

    #[test]
    fn already_provisioned_says_what_to_do() {
        for step in [Step::SendCredentials, Step::ApplyCredentials] {
            let err = Error::from_endpoint(step.clone(), EndpointError::device_status(5));
            assert!(matches!(&err, Error::AlreadyProvisioned { step: s } if *s == step), "{err:?}");
        }
        let msg = Error::AlreadyProvisioned { step: Step::ApplyCredentials }.to_string();
        assert!(msg.starts_with("device already provisioned: reset it or use prov-ctrl reprov"), "{msg}");
        assert_eq!(msg.matches("InternalError").count(), 1, "{msg}");
    }
}
