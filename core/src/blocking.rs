//! A blocking facade over the async API, for callers without an async runtime.

use std::sync::Arc;

use crate::endpoints::wifi;
use crate::error::{Error, Result};
use crate::events::{CancelToken, ProgressListener};
use crate::provision::{self, ProvisionOutcome, ProvisionRequest};
use crate::session::{DeviceSession, PollOptions, SessionInfo, SessionOptions};
use crate::transport::Transport;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal { detail: format!("cannot start an async runtime: {e}") })
}

/// Runs [`provision::provision`] to completion on a private runtime.
pub fn provision(
    transport: Arc<dyn Transport>,
    request: ProvisionRequest,
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: &CancelToken,
) -> Result<ProvisionOutcome> {
    runtime()?.block_on(provision::provision(transport, request, listener, cancel))
}

/// A [`DeviceSession`] whose methods block the calling thread.
pub struct BlockingSession {
    rt: tokio::runtime::Runtime,
    inner: DeviceSession,
}

impl std::fmt::Debug for BlockingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingSession").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl BlockingSession {
    /// A blocking session over `transport`.
    pub fn new(transport: Arc<dyn Transport>, options: SessionOptions) -> Result<Self> {
        let rt = runtime()?;
        Ok(Self { rt, inner: DeviceSession::new(transport, options) })
    }

    /// See [`DeviceSession::connect`].
    pub fn connect(&self) -> Result<SessionInfo> {
        self.rt.block_on(self.inner.connect())
    }

    /// See [`DeviceSession::scan_wifi`].
    pub fn scan_wifi(&self) -> Result<Vec<wifi::WifiNetwork>> {
        self.rt.block_on(self.inner.scan_wifi(None))
    }

    /// See [`DeviceSession::provision_wifi`].
    pub fn provision_wifi(&self, ssid: &[u8], passphrase: &[u8], poll: PollOptions) -> Result<wifi::WifiConnectedInfo> {
        self.rt.block_on(self.inner.provision_wifi(ssid, passphrase, poll))
    }

    /// See [`DeviceSession::send_custom`].
    pub fn send_custom(&self, endpoint: &str, data: &[u8]) -> Result<Vec<u8>> {
        self.rt.block_on(self.inner.send_custom(endpoint, data))
    }

    /// See [`DeviceSession::disconnect`].
    pub fn disconnect(&self) {
        self.rt.block_on(self.inner.disconnect())
    }
}
