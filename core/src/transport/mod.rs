//! The transport boundary: the only place where bytes leave the process.
//!
//! A transport carries one request blob to a named endpoint and returns the device's one response
//! blob. It knows nothing of protobuf or session security; everything above it is
//! transport-agnostic. Arguments are owned so that a Kotlin or Swift implementation can back it.

use async_trait::async_trait;

#[cfg(feature = "ble")]
pub mod ble;
#[cfg(feature = "console")]
pub mod console;
pub mod foreign;
pub mod gatt;
pub mod gatt_driver;
pub mod gatt_link;
#[cfg(feature = "softap")]
pub mod http;
pub mod memory;

/// Which kind of link a transport is; used to pick defaults such as the scan page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TransportKind {
    /// SoftAP + HTTP POST per endpoint.
    SoftAp,
    /// BLE GATT, one characteristic per endpoint.
    Ble,
    /// Serial console.
    Console,
    /// In-process device simulator.
    Memory,
    /// A transport implemented by the host application (Kotlin, Swift).
    Foreign,
}

/// Why a transport exchange failed. A transport written in Kotlin or Swift throws one of these;
/// any other exception it throws arrives as [`TransportError::Foreign`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[non_exhaustive]
pub enum TransportError {
    /// The device could not be reached at all (connection refused, no route, BLE not connected).
    #[error("device unreachable: {detail}")]
    Unreachable {
        /// What happened (no secrets).
        detail: String,
    },
    /// The device closed the link without answering: ESP-IDF's way of reporting that a handler,
    /// the decryption or the handshake failed.
    #[error("the device closed the connection without a response")]
    ClosedWithoutResponse,
    /// The link dropped (BLE disconnect, socket reset in the middle of an exchange).
    #[error("disconnected: {detail}")]
    Disconnected {
        /// What happened.
        detail: String,
    },
    /// No answer in time.
    #[error("no response within {millis} ms")]
    Timeout {
        /// How long the transport waited, in milliseconds.
        millis: u64,
    },
    /// The device does not expose this endpoint (HTTP 404, no BLE characteristic of that name).
    #[error("endpoint `{endpoint}` not found on the device")]
    EndpointNotFound {
        /// The endpoint name.
        endpoint: String,
    },
    /// The device answered with an HTTP status other than 200.
    #[error("unexpected HTTP status {code}")]
    HttpStatus {
        /// The status code.
        code: u16,
    },
    /// The request is larger than this transport can carry.
    #[error("request of {size} bytes exceeds the transport limit of {limit} bytes")]
    PayloadTooLarge {
        /// Size of the request.
        size: u64,
        /// What the transport accepts.
        limit: u64,
    },
    /// An error raised by a transport implemented in the host application.
    #[error("transport error from the application: {detail}")]
    Foreign {
        /// The application's message (its first line).
        detail: String,
    },
    /// Anything else at the I/O level.
    #[error("I/O error: {detail}")]
    Io {
        /// What failed.
        detail: String,
    },
    /// The device's response broke a bound the transport enforces on what the peer controls
    /// (for HTTP: the response head size, the number of headers, `Content-Length`, the cookie
    /// length). Reading stopped at the bound; nothing was allocated by the announced size.
    #[error("the device's response exceeds a limit: {what} (limit {limit})")]
    ResponseTooLarge {
        /// Which part of the response broke the bound, e.g. `"response head bytes"`.
        what: String,
        /// The bound (bytes, or a count for headers).
        limit: u64,
    },
}

impl TransportError {
    /// [`TransportError::PayloadTooLarge`] from in-memory sizes.
    pub fn payload_too_large(size: usize, limit: usize) -> Self {
        TransportError::PayloadTooLarge { size: size as u64, limit: limit as u64 }
    }

    /// [`TransportError::ResponseTooLarge`]: `what` broke the bound `limit`.
    pub fn response_too_large(what: &str, limit: usize) -> Self {
        TransportError::ResponseTooLarge { what: what.to_owned(), limit: limit as u64 }
    }
}

/// An exception a Kotlin/Swift transport threw that is not a [`TransportError`]: its first line
/// becomes [`TransportError::Foreign`].
#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportError::Foreign { detail: foreign::callback_failure(&e) }
    }
}

/// One request, one response, strictly sequential (never two requests in flight).
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends `data` to `endpoint` and returns the device's response.
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError>;

    /// The largest request or response this link carries, if it has a limit
    /// (BLE: 481 bytes for Bluedroid with security 2; HTTP: 4096 bytes).
    fn max_payload(&self) -> Option<usize>;

    /// What kind of link this is.
    fn kind(&self) -> TransportKind;

    /// Closes the link. Later calls to [`Transport::send`] open a new transport session.
    async fn disconnect(&self);
}
