//! [`ProvError`], the one error apps see, and the single place where core errors are mapped to it.

use rainmaker_prov::error::Error as CoreError;
use rainmaker_prov::error::Step as CoreStep;

use crate::runtime::SpawnError;
use crate::types::SecurityLevel;

/// The step of a provisioning flow an error happened in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ProvStep {
    /// Reading `proto-ver` (version and capabilities).
    ReadCapabilities,
    /// The `prov-session` security handshake.
    Handshake,
    /// A Wi-Fi scan.
    WifiScan,
    /// A Thread scan.
    ThreadScan,
    /// Sending the network credentials.
    SendCredentials,
    /// Applying the credentials.
    ApplyCredentials,
    /// Polling the connection status.
    ConnectionStatus,
    /// `prov-ctrl` reset or reprovision.
    Control,
    /// A custom endpoint.
    Custom {
        /// The endpoint name.
        endpoint: String,
    },
    /// A RainMaker step on the device.
    RainMaker {
        /// The endpoint name (`cloud_user_assoc`, `ch_resp`, `rmaker_claim`).
        endpoint: String,
    },
    /// A step this version of the bindings does not name.
    Other,
}

impl From<CoreStep> for ProvStep {
    fn from(step: CoreStep) -> Self {
        match step {
            CoreStep::ReadCapabilities => ProvStep::ReadCapabilities,
            CoreStep::Handshake => ProvStep::Handshake,
            CoreStep::WifiScan => ProvStep::WifiScan,
            CoreStep::ThreadScan => ProvStep::ThreadScan,
            CoreStep::SendCredentials => ProvStep::SendCredentials,
            CoreStep::ApplyCredentials => ProvStep::ApplyCredentials,
            CoreStep::ConnectionStatus => ProvStep::ConnectionStatus,
            CoreStep::Control => ProvStep::Control,
            CoreStep::Custom(endpoint) => ProvStep::Custom { endpoint },
            CoreStep::RainMaker(endpoint) => ProvStep::RainMaker { endpoint },
            _ => ProvStep::Other,
        }
    }
}

impl std::fmt::Display for ProvStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProvStep::ReadCapabilities => f.write_str("reading capabilities"),
            ProvStep::Handshake => f.write_str("security handshake"),
            ProvStep::WifiScan => f.write_str("Wi-Fi scan"),
            ProvStep::ThreadScan => f.write_str("Thread scan"),
            ProvStep::SendCredentials => f.write_str("sending credentials"),
            ProvStep::ApplyCredentials => f.write_str("applying credentials"),
            ProvStep::ConnectionStatus => f.write_str("connection status"),
            ProvStep::Control => f.write_str("provisioning control"),
            ProvStep::Custom { endpoint } => write!(f, "custom endpoint `{endpoint}`"),
            ProvStep::RainMaker { endpoint } => write!(f, "RainMaker step `{endpoint}`"),
            ProvStep::Other => f.write_str("another step"),
        }
    }
}

/// Everything that can go wrong talking to a device, one variant per thing an app can act on.
/// Messages never contain a PoP, password, passphrase or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ProvError {
    /// The device rejected the proof of possession or the SRP username/password: ask the user
    /// again (RainMaker firmware stops provisioning after a few failed attempts).
    #[error(
        "the device rejected the handshake proof: wrong proof of possession or SRP credentials, or another \
         client took over the device"
    )]
    WrongCredentials,
    /// The device could not prove it knows the PoP/password: possibly an impostor. Do not send
    /// credentials to it.
    #[error("the device failed to prove it knows the PoP/password (possible impostor)")]
    DeviceProofMismatch,
    /// The device offers less security than `ProvOptions.min_security` accepts.
    #[error("the device offers {offered:?}, below the accepted minimum {minimum:?}")]
    SecurityBelowMinimum {
        /// What the device offers.
        offered: SecurityLevel,
        /// What the app requires.
        minimum: SecurityLevel,
    },
    /// The device offers less security than its QR code (`ProvOptions.expected_security`) or the
    /// credentials given imply, or advertises `no_pop` while a PoP was given: it may be an
    /// impostor. Nothing secret was sent. Do not retry with weaker settings unless the user
    /// knows the device really has no PoP (`ProvOptions.allow_no_pop`).
    #[error("refusing the device, it may be an impostor: {detail}")]
    PossibleImpostor {
        /// What did not match.
        detail: String,
    },
    /// A message is larger than the transport's `max_payload` allows.
    #[error("during {step}: a message of {size} bytes exceeds the link's limit of {limit} bytes")]
    PayloadTooLarge {
        /// The step.
        step: ProvStep,
        /// The message size.
        size: u64,
        /// The link's limit.
        limit: u64,
    },
    /// A step did not complete in time.
    #[error("timed out during {step}")]
    Timeout {
        /// The step.
        step: ProvStep,
    },
    /// The link dropped, or the device closed it without answering.
    #[error("device disconnected during {step}: {detail}")]
    Disconnected {
        /// The step.
        step: ProvStep,
        /// Transport detail.
        detail: String,
    },
    /// The device could not be reached at all.
    #[error("device unreachable during {step}: {detail}")]
    Unreachable {
        /// The step.
        step: ProvStep,
        /// Transport detail.
        detail: String,
    },
    /// The device lacks an endpoint this step needs (older firmware, feature not built in).
    #[error("the device has no `{endpoint}` endpoint ({step})")]
    EndpointNotFound {
        /// The step.
        step: ProvStep,
        /// The endpoint name.
        endpoint: String,
    },
    /// The device could not join the Wi-Fi network: wrong passphrase.
    #[error("Wi-Fi authentication failed (wrong passphrase?)")]
    WifiAuthFailed,
    /// The device could not find the Wi-Fi network.
    #[error("Wi-Fi network not found")]
    WifiNetworkNotFound,
    /// The device could not join Wi-Fi and reported a raw reason code.
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
    /// joined. Check on the network (or through the cloud) before retrying.
    #[error("outcome unknown: the device stopped answering during {step}")]
    OutcomeUnknown {
        /// The step.
        step: ProvStep,
    },
    /// The device answered with a non-success status.
    #[error("the device reported {status} during {step}")]
    DeviceStatus {
        /// The step.
        step: ProvStep,
        /// The status name.
        status: String,
    },
    /// A message from the device could not be understood.
    #[error("protocol error during {step}: {detail}")]
    Protocol {
        /// The step.
        step: ProvStep,
        /// What was wrong.
        detail: String,
    },
    /// The app's own transport ([`crate::transport::ProvTransport`]) reported an error.
    #[error("transport error during {step}: {detail}")]
    Transport {
        /// The step.
        step: ProvStep,
        /// The app's message.
        detail: String,
    },
    /// The input cannot be used (SSID too long, missing PoP, malformed QR code, ...).
    #[error("invalid input: {detail}")]
    InvalidInput {
        /// What is wrong.
        detail: String,
    },
    /// The operation was cancelled through its `CancelHandle`.
    #[error("cancelled")]
    Cancelled,
    /// No secure session yet: call `connect()` first (again after a failed or cancelled call).
    #[error("not connected: call connect() first")]
    NotConnected,
    /// A bug in the library; please report it.
    #[error("internal error: {detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl From<CoreError> for ProvError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::WrongCredentials => ProvError::WrongCredentials,
            CoreError::DeviceProofMismatch => ProvError::DeviceProofMismatch,
            CoreError::SecurityBelowMinimum { offered, minimum } => {
                ProvError::SecurityBelowMinimum { offered: offered.into(), minimum: minimum.into() }
            }
            CoreError::PossibleImpostor { reason } => ProvError::PossibleImpostor { detail: reason.to_string() },
            CoreError::PayloadTooLarge { step, size, limit } => {
                ProvError::PayloadTooLarge { step: step.into(), size: size as u64, limit: limit as u64 }
            }
            CoreError::Timeout { step } => ProvError::Timeout { step: step.into() },
            CoreError::Unreachable { step, detail } => ProvError::Unreachable { step: step.into(), detail },
            CoreError::Disconnected { step, detail } => ProvError::Disconnected { step: step.into(), detail },
            CoreError::EndpointNotFound { step, endpoint } => {
                ProvError::EndpointNotFound { step: step.into(), endpoint }
            }
            CoreError::WifiAuthFailed => ProvError::WifiAuthFailed,
            CoreError::WifiNetworkNotFound => ProvError::WifiNetworkNotFound,
            CoreError::WifiFailed(reason_code) => ProvError::WifiFailed { reason_code },
            CoreError::ThreadAttachFailed(detail) => ProvError::ThreadAttachFailed { detail },
            CoreError::OutcomeUnknown { step } => ProvError::OutcomeUnknown { step: step.into() },
            CoreError::DeviceStatus { step, status } => ProvError::DeviceStatus { step: step.into(), status },
            CoreError::Protocol { step, detail } => ProvError::Protocol { step: step.into(), detail },
            CoreError::Transport { step, detail } => ProvError::Transport { step: step.into(), detail },
            CoreError::InvalidInput(detail) => ProvError::InvalidInput { detail },
            CoreError::Cancelled => ProvError::Cancelled,
            CoreError::NotConnected => ProvError::NotConnected,
            other => ProvError::Internal { detail: other.to_string() },
        }
    }
}

impl From<SpawnError> for ProvError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::Aborted => ProvError::Cancelled,
            other => ProvError::Internal { detail: other.to_string() },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rainmaker_prov::security::SecurityLevel as CoreLevel;

    #[test]
    fn every_actionable_core_error_keeps_its_meaning() {
        assert_eq!(ProvError::from(CoreError::WrongCredentials), ProvError::WrongCredentials);
        assert_eq!(ProvError::from(CoreError::Cancelled), ProvError::Cancelled);
        assert_eq!(
            ProvError::from(CoreError::SecurityBelowMinimum { offered: CoreLevel::Sec0, minimum: CoreLevel::Sec1 }),
            ProvError::SecurityBelowMinimum { offered: SecurityLevel::Sec0, minimum: SecurityLevel::Sec1 }
        );
        assert_eq!(
            ProvError::from(CoreError::Timeout { step: CoreStep::Custom("custom-data".into()) }),
            ProvError::Timeout { step: ProvStep::Custom { endpoint: "custom-data".into() } }
        );
        assert_eq!(
            ProvError::from(CoreError::Transport { step: CoreStep::Handshake, detail: "radio off".into() }),
            ProvError::Transport { step: ProvStep::Handshake, detail: "radio off".into() }
        );
        assert_eq!(ProvError::from(CoreError::WifiFailed(7)), ProvError::WifiFailed { reason_code: 7 });
    }

    #[test]
    fn an_aborted_task_is_a_cancellation_and_a_panic_is_internal() {
        assert_eq!(ProvError::from(SpawnError::Aborted), ProvError::Cancelled);
        assert!(matches!(ProvError::from(SpawnError::Panicked), ProvError::Internal { .. }));
    }
}
