//! The error type of the session-security layer (handshakes and record cipher, both sides).

/// Why a security handshake step or a record encryption/decryption failed.
///
/// Messages never contain secret material (PoP, password, keys, proofs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// The device rejected our proof (security 1: wrong proof of possession; security 2: wrong
    /// username or password). On the device side: the client's proof did not verify.
    #[error("the device rejected the proof: wrong proof of possession or password")]
    WrongCredentials,
    /// The device could not prove that it knows the shared secret: possible impostor device.
    #[error("the device failed to prove knowledge of the session secret (possible impostor)")]
    DeviceProofMismatch,
    /// A message could not be decoded or a field has the wrong length.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A message of the wrong type, for the wrong security scheme, or not expected in this state.
    #[error("unexpected message for the current handshake state or security scheme")]
    UnexpectedMessage,
    /// A security scheme number (or message version) this implementation does not know.
    #[error("unsupported security scheme version")]
    UnsupportedVersion,
    /// The peer sent a public value that must be rejected (all-zero X25519 shared secret,
    /// SRP public value that is 0 modulo N, scrambling parameter u = 0).
    #[error("the peer sent an invalid public value")]
    InvalidPeerValue,
    /// The device failed handshake exchange number N (1-based) at transport level, or answered
    /// it with a non-success status.
    #[error("the device rejected handshake step {0}")]
    DeviceRejectedStep(u8),
    /// Encryption or decryption was requested before the handshake completed.
    #[error("the secure session is not established")]
    NotEstablished,
    /// Authenticated decryption failed (bad tag or truncated record).
    #[error("decryption failed")]
    DecryptFailed,
    /// The message counter of the session is used up; a new handshake is needed.
    #[error("the session's message counter is exhausted")]
    CounterExhausted,
    /// A value supplied by the caller is unusable (for example an empty SRP username).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
