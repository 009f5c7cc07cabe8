//! Device simulator: the device side of the provisioning protocol, served in-process, over HTTP
//! on loopback, over a pseudo-terminal and as a GATT peripheral ([`gatt_peripheral`]).

#[cfg(feature = "sim-rainmaker")]
pub mod cloud;
#[cfg(feature = "console")]
pub mod console_server;
pub mod device;
pub mod gatt_peripheral;
pub mod http_server;
#[cfg(feature = "sim-rainmaker")]
pub mod node;

/// Why the simulated device failed a request. On a real device every one of these shows up only
/// at the transport level (HTTP connection closed without a response, BLE disconnect).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceFailure {
    /// No endpoint of that name is registered (HTTP 404).
    #[error("no endpoint named `{0}`")]
    UnknownEndpoint(String),
    /// The security handshake, the decryption or the endpoint handler failed.
    #[error("request failed: {0}")]
    Failed(String),
}

/// What a transport server (HTTP, memory, console) needs from a simulated device.
///
/// The device keeps one security session at a time, bound to a transport session id
/// (HTTP cookie value, BLE connection, console session number): opening a new transport session
/// discards the previous security state, exactly as protocomm does.
pub trait DeviceLink: Send + Sync {
    /// Starts a new transport session with this id, closing the previous one.
    fn open_session(&self, session_id: u32);

    /// Handles one request on the session `session_id`. An error means the device fails the
    /// request at the transport level (no response payload).
    fn handle(&self, session_id: u32, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, DeviceFailure>;

    /// Whether an endpoint of this name is registered.
    fn has_endpoint(&self, endpoint: &str) -> bool;

    /// A fresh random 32-bit transport session id (the HTTP `Set-Cookie` value).
    fn new_session_id(&self) -> u32;

    /// Artificial latency added to every exchange (models a slow radio link in benchmarks).
    fn exchange_latency(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}
