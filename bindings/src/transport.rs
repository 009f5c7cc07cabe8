//! The transport boundary across the FFI: [`ProvTransport`], implemented in Kotlin/Swift (an app's
//! BLE stack) or in Rust (SoftAP/HTTP, the simulator), adapted to and from the core's
//! [`Transport`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};

/// What kind of link a transport is. The core picks defaults from it (for example the Wi-Fi scan
/// page size and per-channel scan time are smaller over BLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LinkKind {
    /// BLE GATT, one characteristic per endpoint.
    Ble,
    /// SoftAP + HTTP POST per endpoint.
    SoftAp,
    /// Serial console.
    Console,
    /// The in-process simulated device.
    Simulated,
    /// Anything else.
    Other,
}

impl From<TransportKind> for LinkKind {
    fn from(kind: TransportKind) -> Self {
        match kind {
            TransportKind::Ble => LinkKind::Ble,
            TransportKind::SoftAp => LinkKind::SoftAp,
            TransportKind::Console => LinkKind::Console,
            TransportKind::Memory => LinkKind::Simulated,
            _ => LinkKind::Other,
        }
    }
}

impl From<LinkKind> for TransportKind {
    fn from(kind: LinkKind) -> Self {
        match kind {
            LinkKind::Ble => TransportKind::Ble,
            LinkKind::SoftAp => TransportKind::SoftAp,
            LinkKind::Console => TransportKind::Console,
            LinkKind::Simulated => TransportKind::Memory,
            LinkKind::Other => TransportKind::Foreign,
        }
    }
}

/// Why one exchange on a [`ProvTransport`] failed. An app's transport throws one of these; any
/// other exception it throws arrives as [`TransportFailure::Failed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportFailure {
    /// The device could not be reached at all (not connected, no route).
    #[error("device unreachable: {detail}")]
    Unreachable {
        /// What happened (no secrets).
        detail: String,
    },
    /// The link dropped in the middle of an exchange.
    #[error("disconnected: {detail}")]
    Disconnected {
        /// What happened.
        detail: String,
    },
    /// The device closed the link without answering (how ESP-IDF reports a failed handler or a
    /// rejected handshake step).
    #[error("the device closed the connection without a response")]
    ClosedWithoutResponse,
    /// No answer in time.
    #[error("no response within {millis} ms")]
    Timeout {
        /// How long the transport waited.
        millis: u64,
    },
    /// The device has no endpoint of this name.
    #[error("endpoint `{endpoint}` not found on the device")]
    EndpointNotFound {
        /// The endpoint name.
        endpoint: String,
    },
    /// The request is larger than the link carries.
    #[error("request of {size} bytes exceeds the transport limit of {limit} bytes")]
    PayloadTooLarge {
        /// Size of the request.
        size: u64,
        /// What the link accepts.
        limit: u64,
    },
    /// The device answered with an HTTP status other than 200.
    #[error("unexpected HTTP status {code}")]
    HttpStatus {
        /// The status code.
        code: u16,
    },
    /// Any other failure of the app's transport.
    #[error("transport failure: {detail}")]
    Failed {
        /// The app's message.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportFailure::Failed { detail: first_line(&e.reason) }
    }
}

/// The first line of an app exception's description (Kotlin passes the whole stack trace).
pub(crate) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

impl From<TransportFailure> for TransportError {
    fn from(f: TransportFailure) -> Self {
        match f {
            TransportFailure::Unreachable { detail } => TransportError::Unreachable(detail),
            TransportFailure::Disconnected { detail } => TransportError::Disconnected(detail),
            TransportFailure::ClosedWithoutResponse => TransportError::ClosedWithoutResponse,
            TransportFailure::Timeout { millis } => TransportError::Timeout(millis),
            TransportFailure::EndpointNotFound { endpoint } => TransportError::EndpointNotFound(endpoint),
            TransportFailure::PayloadTooLarge { size, limit } => TransportError::PayloadTooLarge {
                size: usize::try_from(size).unwrap_or(usize::MAX),
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            TransportFailure::HttpStatus { code } => TransportError::HttpStatus(code),
            TransportFailure::Failed { detail } => TransportError::Foreign(detail),
        }
    }
}

impl From<TransportError> for TransportFailure {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unreachable(detail) => TransportFailure::Unreachable { detail },
            TransportError::ClosedWithoutResponse => TransportFailure::ClosedWithoutResponse,
            TransportError::Disconnected(detail) => TransportFailure::Disconnected { detail },
            TransportError::Timeout(millis) => TransportFailure::Timeout { millis },
            TransportError::EndpointNotFound(endpoint) => TransportFailure::EndpointNotFound { endpoint },
            TransportError::HttpStatus(code) => TransportFailure::HttpStatus { code },
            TransportError::PayloadTooLarge { size, limit } => {
                TransportFailure::PayloadTooLarge { size: size as u64, limit: limit as u64 }
            }
            TransportError::Foreign(detail) => TransportFailure::Failed { detail },
            other => TransportFailure::Disconnected { detail: other.to_string() },
        }
    }
}

/// One request, one response, to a named endpoint of one device; never two requests in flight.
///
/// Implement it in Kotlin (`override suspend fun send`) or Swift (`func send(...) async throws`)
/// to provision over the app's own BLE stack, or take a built-in one ([`softap_transport`],
/// `SimulatedDevice.transport()`).
#[uniffi::export(rust, foreign)]
#[async_trait]
pub trait ProvTransport: Send + Sync {
    /// Sends `data` to `endpoint` (for example `prov-session`) and returns the device's answer.
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportFailure>;

    /// The largest request or response the link carries, in bytes; 0 when it has no limit.
    fn max_payload(&self) -> u32;

    /// What kind of link this is.
    fn link_kind(&self) -> LinkKind;

    /// Closes the link; a later `send` opens a new transport session. A failure is logged and
    /// otherwise ignored.
    async fn disconnect(&self) -> Result<(), TransportFailure>;
}

/// Presents an app's [`ProvTransport`] to the core.
///
/// `max_payload` and `link_kind` are read once, here: they describe the link, and a synchronous
/// callback that throws could not report it other than by unwinding.
pub(crate) struct ForeignTransport {
    inner: Arc<dyn ProvTransport>,
    max_payload: Option<usize>,
    kind: TransportKind,
}

impl ForeignTransport {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn ProvTransport>) -> Self {
        let max_payload = match inner.max_payload() {
            0 => None,
            n => Some(n as usize),
        };
        let kind = inner.link_kind().into();
        Self { inner, max_payload, kind }
    }
}

#[async_trait]
impl Transport for ForeignTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.send(endpoint, data).await.map_err(TransportError::from)
    }

    fn max_payload(&self) -> Option<usize> {
        self.max_payload
    }

    fn kind(&self) -> TransportKind {
        self.kind
    }

    async fn disconnect(&self) {
        if let Err(e) = self.inner.disconnect().await {
            log::debug!("the app transport failed to disconnect (ignored): {e}");
        }
    }
}

/// Presents a core [`Transport`] (SoftAP/HTTP, simulator) as a [`ProvTransport`], so the app can
/// hold it, wrap it or hand it to a `ProvDevice`.
pub(crate) struct NativeTransport {
    inner: Arc<dyn Transport>,
}

impl NativeTransport {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn Transport>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl ProvTransport for NativeTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportFailure> {
        let inner = Arc::clone(&self.inner);
        match crate::runtime::spawn(async move { inner.send(endpoint, data).await }).await {
            Ok(result) => result.map_err(TransportFailure::from),
            Err(e) => Err(TransportFailure::Failed { detail: e.to_string() }),
        }
    }

    fn max_payload(&self) -> u32 {
        self.inner.max_payload().map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn link_kind(&self) -> LinkKind {
        self.inner.kind().into()
    }

    async fn disconnect(&self) -> Result<(), TransportFailure> {
        let inner = Arc::clone(&self.inner);
        crate::runtime::spawn(async move { inner.disconnect().await })
            .await
            .map_err(|e| TransportFailure::Failed { detail: e.to_string() })
    }
}

/// The built-in SoftAP transport: HTTP POSTs with ESP-IDF's session cookie to `address`
/// (`host:port`, usually `192.168.4.1:80` once the phone joined the device's access point).
#[cfg(feature = "softap")]
#[uniffi::export]
pub fn softap_transport(address: String) -> Arc<dyn ProvTransport> {
    use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
    let transport = HttpTransport::new(HttpConfig { host: address, ..HttpConfig::default() });
    Arc::new(NativeTransport::new(Arc::new(transport)))
}
