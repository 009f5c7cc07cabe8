//! The error type shared by every endpoint codec.

/// Why an endpoint message could not be built or understood.
///
/// Messages never contain a secret: no passphrase, PoP, dataset or key material is ever formatted
/// into them (only lengths and field names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The bytes are not a valid encoding of the expected message (truncated, garbage, bad UTF-8 in a
    /// string field ...).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The message decoded, but it is not the one expected here: wrong message type, or the oneof
    /// member that must carry the data is missing or of another kind.
    #[error("unexpected message: expected {expected}, got {got}")]
    UnexpectedMessage {
        /// What this codec expected.
        expected: String,
        /// What the bytes contained.
        got: String,
    },
    /// The device answered with a protocomm status other than `Success`.
    #[error("the device reported status {name} ({code})")]
    DeviceStatus {
        /// The raw status value.
        code: i32,
        /// Its name in the `Status` enum, or `Unknown`.
        name: String,
    },
    /// The caller's input breaks a limit the device enforces (SSID > 32 bytes, passphrase > 63
    /// bytes, BSSID not 0 or 6 bytes, Thread dataset > 254 bytes ...), so the request was not built.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A field of a device message is longer (or a count larger) than the protocol allows; the
    /// message is refused instead of being used.
    #[error("`{field}` of {len} exceeds the limit of {limit}")]
    OutOfBounds {
        /// The field (protobuf name).
        field: &'static str,
        /// Its length in bytes (or the count).
        len: usize,
        /// The largest accepted value.
        limit: usize,
    },
}

impl EndpointError {
    /// A [`EndpointError::DeviceStatus`] for a raw status code.
    pub fn device_status(code: i32) -> Self {
        EndpointError::DeviceStatus { code, name: super::status_name(code).to_owned() }
    }

    /// The device's status code, if this is a [`EndpointError::DeviceStatus`].
    pub fn status_code(&self) -> Option<i32> {
        match self {
            EndpointError::DeviceStatus { code, .. } => Some(*code),
            _ => None,
        }
    }
}
