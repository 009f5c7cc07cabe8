//! [`ProvTransport`]: the request/response interface an app implements in Kotlin or Swift for a
//! link of its own (a uniffi foreign interface with the `uniffi` feature); the bindings adapt it to
//! and from [`super::Transport`].

use async_trait::async_trait;

use super::{TransportError, TransportKind};

/// One request, one response, to a named endpoint of one device; never two requests in flight.
///
/// Implement it in Kotlin (`override suspend fun send`) or Swift (`func send(...) async throws`)
/// to provision over the app's own BLE stack, or take a built-in one (the bindings' `softap_transport`,
/// `SimulatedDevice.transport()`).
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
#[async_trait]
pub trait ProvTransport: Send + Sync {
    /// Sends `data` to `endpoint` (for example `prov-session`) and returns the device's answer.
    /// Throw a `TransportError`; any other exception arrives as `TransportError.Foreign`.
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError>;

    /// The largest request or response the link carries, in bytes; 0 when it has no limit.
    fn max_payload(&self) -> u32;

    /// What kind of link this is (the core picks defaults from it, e.g. a smaller Wi-Fi scan
    /// page over BLE).
    fn kind(&self) -> TransportKind;

    /// Closes the link; a later `send` opens a new transport session. A failure is logged and
    /// otherwise ignored.
    async fn disconnect(&self) -> Result<(), TransportError>;
}

/// The first line of an exception a Kotlin/Swift callback threw that is not one of its declared
/// errors (Kotlin passes the whole stack trace): what the core's errors keep of it.
#[cfg(feature = "uniffi")]
pub fn callback_failure(e: &uniffi::UnexpectedUniFFICallbackError) -> String {
    e.reason.lines().next().unwrap_or_default().trim().to_owned()
}
