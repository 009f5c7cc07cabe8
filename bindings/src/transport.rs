//! The transport boundary across the FFI: the core's `ProvTransport` (a foreign interface),
//! implemented in Kotlin/Swift (an app's own link) or in Rust (SoftAP/HTTP, the simulator), adapted
//! to and from the core's [`Transport`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use rainmaker_prov::transport::foreign::ProvTransport;
use rainmaker_prov::transport::{Transport, TransportError, TransportKind};

/// Presents an app's [`ProvTransport`] to the core.
///
/// `max_payload` and `kind` are read once, here: they describe the link, and a synchronous
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
        let kind = inner.kind();
        Self { inner, max_payload, kind }
    }
}

#[async_trait]
impl Transport for ForeignTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.send(endpoint, data).await
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
#[cfg(any(feature = "softap", feature = "simulator"))]
pub(crate) struct NativeTransport {
    inner: Arc<dyn Transport>,
}

#[cfg(any(feature = "softap", feature = "simulator"))]
impl NativeTransport {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn Transport>) -> Self {
        Self { inner }
    }
}

#[cfg(any(feature = "softap", feature = "simulator"))]
#[async_trait]
impl ProvTransport for NativeTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let inner = Arc::clone(&self.inner);
        match crate::runtime::spawn(async move { inner.send(endpoint, data).await }).await {
            Ok(result) => result,
            Err(e) => Err(TransportError::Foreign { detail: e.to_string() }),
        }
    }

    fn max_payload(&self) -> u32 {
        self.inner.max_payload().map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn kind(&self) -> TransportKind {
        self.inner.kind()
    }

    async fn disconnect(&self) -> Result<(), TransportError> {
        let inner = Arc::clone(&self.inner);
        crate::runtime::spawn(async move { inner.disconnect().await })
            .await
            .map_err(|e| TransportError::Foreign { detail: e.to_string() })
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
