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
    /// The security scheme was fixed by the app, but the device's `proto-ver` reports another one:
    /// nothing was sent. Use automatic detection or the device's scheme.
    #[error("{chosen:?} was chosen, but the device reports {device:?} (nothing was sent)")]
    SecurityMismatch {
        /// The scheme the app fixed.
        chosen: SecurityLevel,
        /// The scheme the device reports.
        device: SecurityLevel,
    },
    /// The device's scheme needs a credential that was not given: the proof of possession
    /// (security 1) or the SRP password / PoP (security 2). Ask the user for it (it is printed on
    /// the device or in its QR code) and connect again.
    #[error("the device uses {security:?} and needs its PoP / password, which was not given")]
    CredentialsRequired {
        /// The device's scheme.
        security: SecurityLevel,
    },
    /// The device does not offer what the request needs (e.g. Thread credentials for a Wi-Fi-only
    /// device), per its `proto-ver` capabilities; nothing was sent.
    #[error("the device does not support {what} ({step}): {detail}")]
    Unsupported {
        /// The step.
        step: ProvStep,
        /// What is missing.
        what: String,
        /// What the device reported.
        detail: String,
    },
    /// The input cannot be used (SSID too long, malformed QR code, ...).
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
    /// RainMaker: no cloud session: log in first (or the call needs a `RainMakerCloud` that is
    /// logged in).
    #[error("not logged in to the RainMaker cloud: log in first")]
    LoginRequired,
    /// RainMaker: the cloud refused the user name, password or code, or an expired refresh
    /// token (log in again).
    #[error("the RainMaker cloud refused the login (HTTP {status}): {description}")]
    LoginRejected {
        /// HTTP status.
        status: u16,
        /// The cloud's description.
        description: String,
    },
    /// RainMaker: the cloud reports the traditional mapping request as timed out: the node never
    /// confirmed it (is it online?).
    #[error("the RainMaker cloud timed out mapping request {request_id} for node {node_id}")]
    MappingTimedOut {
        /// The node.
        node_id: String,
        /// The cloud's request id.
        request_id: String,
    },
    /// RainMaker: the cloud discarded the traditional mapping request.
    #[error("the RainMaker cloud discarded mapping request {request_id} for node {node_id}")]
    MappingDiscarded {
        /// The node.
        node_id: String,
        /// The cloud's request id.
        request_id: String,
    },
    /// RainMaker: the cloud refused the device's answer to the challenge (wrong signature,
    /// expired request).
    #[error("the RainMaker cloud rejected the challenge response (HTTP {status}): {description}")]
    ChallengeRejected {
        /// HTTP status.
        status: u16,
        /// The cloud's description.
        description: String,
    },
    /// RainMaker: challenge-response is disabled on the device.
    #[error("challenge-response is disabled on the device")]
    ChallengeResponseDisabled,
    /// RainMaker: the device has no user-node association endpoint (plain ESP-IDF firmware).
    #[error("the device has no RainMaker user-node association endpoint")]
    NoAssociationEndpoint,
    /// RainMaker: the device must be claimed first (assisted claiming): allow claiming, with a
    /// logged-in cloud.
    #[error("the device must be claimed first: allow claiming and log in")]
    ClaimRequired,
    /// RainMaker: the claiming service refused a claiming call.
    #[error("the RainMaker claiming service refused `{operation}` (HTTP {status}): {description}")]
    ClaimRejected {
        /// Which call (`claim/initiate`, `claim/verify`).
        operation: String,
        /// HTTP status.
        status: u16,
        /// The service's description.
        description: String,
    },
    /// RainMaker: a claiming-service answer is larger than the device can take; it was not sent
    /// and the claim was aborted on the device.
    #[error("the claiming service's `{operation}` answer has {size} bytes; the device accepts at most {limit}")]
    ClaimAnswerTooLarge {
        /// Which call.
        operation: String,
        /// The answer's size.
        size: u64,
        /// The largest size sent.
        limit: u64,
    },
    /// RainMaker: the cloud could not be reached (no connection, TLS failure, timeout).
    #[error("RainMaker cloud unreachable during `{operation}`: {detail}")]
    CloudUnreachable {
        /// Which call.
        operation: String,
        /// What failed.
        detail: String,
    },
    /// RainMaker: a cloud call answered with an error status (5xx, or a 4xx not covered above).
    #[error("RainMaker cloud call `{operation}` failed with HTTP {status}: {description}")]
    CloudError {
        /// Which call.
        operation: String,
        /// HTTP status.
        status: u16,
        /// The cloud's description.
        description: String,
    },
    /// RainMaker: the cloud answered something this library does not understand.
    #[error("unexpected RainMaker cloud answer to `{operation}`: {detail}")]
    CloudProtocol {
        /// Which call.
        operation: String,
        /// What was wrong.
        detail: String,
    },
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
            CoreError::AlreadyProvisioned { step } => ProvError::DeviceStatus {
                step: step.into(),
                status: "device already provisioned: reset it or use prov-ctrl reprov".into(),
            },
            CoreError::Protocol { step, detail } => ProvError::Protocol { step: step.into(), detail },
            CoreError::Transport { step, detail } => ProvError::Transport { step: step.into(), detail },
            CoreError::SecurityMismatch { chosen, device } => {
                ProvError::SecurityMismatch { chosen: chosen.into(), device: device.into() }
            }
            CoreError::CredentialsRequired { security } => ProvError::CredentialsRequired { security: security.into() },
            CoreError::Unsupported { step, what, detail } => {
                ProvError::Unsupported { step: step.into(), what: what.to_string(), detail }
            }
            CoreError::InvalidInput(detail) => ProvError::InvalidInput { detail },
            CoreError::Cancelled => ProvError::Cancelled,
            CoreError::NotConnected => ProvError::NotConnected,
            other => ProvError::Internal { detail: other.to_string() },
        }
    }
}

#[cfg(feature = "rainmaker")]
impl From<rainmaker_prov::rainmaker::RainMakerError> for ProvError {
    fn from(e: rainmaker_prov::rainmaker::RainMakerError) -> Self {
        use rainmaker_prov::rainmaker::RainMakerError as E;
        match e {
            E::Device(e) => e.into(),
            E::NoAssociationEndpoint => ProvError::NoAssociationEndpoint,
            E::ClaimPending => ProvError::ClaimRequired,
            E::ChallengeResponseDisabled => ProvError::ChallengeResponseDisabled,
            E::ChallengeRejected { status, description } => ProvError::ChallengeRejected { status, description },
            E::Http { operation, status, description } => {
                ProvError::CloudError { operation: operation.to_owned(), status, description }
            }
            E::CloudUnreachable { operation, detail } => {
                ProvError::CloudUnreachable { operation: operation.to_owned(), detail }
            }
            E::CloudProtocol { operation, detail } => {
                ProvError::CloudProtocol { operation: operation.to_owned(), detail }
            }
            E::MappingTimedOut { node_id, request_id } => ProvError::MappingTimedOut { node_id, request_id },
            E::MappingDiscarded { node_id, request_id } => ProvError::MappingDiscarded { node_id, request_id },
            E::LoginRequired => ProvError::LoginRequired,
            E::LoginRejected { status, description } => ProvError::LoginRejected { status, description },
            E::ClaimRejected { operation, status, description } => {
                ProvError::ClaimRejected { operation: operation.to_owned(), status, description }
            }
            E::ClaimAnswerTooLarge { operation, size, limit } => ProvError::ClaimAnswerTooLarge {
                operation: operation.to_owned(),
                size: size as u64,
                limit: limit as u64,
            },
            E::InvalidInput(detail) => ProvError::InvalidInput { detail },
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

    #[cfg(feature = "rainmaker")]
    #[test]
    fn rainmaker_errors_keep_their_meaning() {
        use rainmaker_prov::rainmaker::RainMakerError as E;
        assert_eq!(ProvError::from(E::LoginRequired), ProvError::LoginRequired);
        assert_eq!(ProvError::from(E::ClaimPending), ProvError::ClaimRequired);
        assert_eq!(ProvError::from(E::Device(CoreError::WrongCredentials)), ProvError::WrongCredentials);
        assert_eq!(
            ProvError::from(E::Http { operation: "user/nodes/mapping", status: 503, description: "busy".into() }),
            ProvError::CloudError { operation: "user/nodes/mapping".into(), status: 503, description: "busy".into() }
        );
        assert_eq!(
            ProvError::from(E::ClaimAnswerTooLarge { operation: "claim/verify", size: 4000, limit: 3071 }),
            ProvError::ClaimAnswerTooLarge { operation: "claim/verify".into(), size: 4000, limit: 3071 }
        );
        assert_eq!(
            ProvError::from(E::MappingDiscarded { node_id: "n".into(), request_id: "r".into() }),
            ProvError::MappingDiscarded { node_id: "n".into(), request_id: "r".into() }
        );
    }

    #[test]
    fn an_aborted_task_is_a_cancellation_and_a_panic_is_internal() {
        assert_eq!(ProvError::from(SpawnError::Aborted), ProvError::Cancelled);
        assert!(matches!(ProvError::from(SpawnError::Panicked), ProvError::Internal { .. }));
    }
}
