//! [`ProvDevice`]: one provisioning session with one device, over one transport.
//!
//! A thin wrapper over the core's `DeviceSession`: every call runs on the bindings' runtime,
//! watches an optional [`CancelHandle`], reports progress to the device's [`ProgressListener`],
//! and maps errors to [`ProvError`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::endpoints::thread::ThreadStatus;
use rainmaker_prov::error::Error as CoreError;
use rainmaker_prov::security::Secret;
use rainmaker_prov::session::{DeviceSession, PollOptions, SecurityChoice, SessionOptions};
use rainmaker_prov::transport::Transport;

use crate::error::ProvError;
use crate::events::{CancelHandle, ListenerSlot, ProgressListener};
use crate::transport::{ForeignTransport, ProvTransport};
use crate::types::{
    DeviceCapabilities, ProvOptions, SessionDetails, ThreadAttachment, ThreadNetwork, WifiConnection, WifiNetwork,
    WifiStatus,
};

/// A provisioning session with one device. Create one per device (they are independent; many
/// can run at once). Calls on one device run one at a time.
///
/// Typical flow: `connect()`, optionally `scan_wifi()`, `provision_wifi(ssid, passphrase)`,
/// `disconnect()`. After a call failed with a transport error or was cancelled, call
/// `connect()` again before the next call.
#[derive(uniffi::Object)]
pub struct ProvDevice {
    session: Arc<DeviceSession>,
    listener: Arc<ListenerSlot>,
    poll: PollOptions,
}

impl std::fmt::Debug for ProvDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvDevice").field("session", &self.session).finish_non_exhaustive()
    }
}

fn session_options(options: ProvOptions) -> SessionOptions {
    SessionOptions {
        security: match options.security {
            Some(level) => SecurityChoice::Fixed(level.into()),
            None => SecurityChoice::Auto,
        },
        min_security: options.min_security.into(),
        pop: options.pop.map(Secret::from),
        sec2_username: options.sec2_username,
        sec2_password: options.sec2_password.map(Secret::from),
        exchange_timeout: Duration::from_millis(options.exchange_timeout_ms),
        expected_security: options.expected_security.map(Into::into),
        allow_no_pop: options.allow_no_pop,
        scan_timeout: Duration::from_millis(options.scan_timeout_ms),
    }
}

impl ProvDevice {
    /// A device over a core transport.
    pub(crate) fn over(transport: Arc<dyn Transport>, options: ProvOptions) -> Arc<Self> {
        let poll =
            PollOptions { deadline: Duration::from_millis(options.connect_deadline_ms), ..PollOptions::default() };
        let listener = Arc::new(ListenerSlot::default());
        let session = DeviceSession::new(transport, session_options(options)).with_listener(listener.clone());
        Arc::new(Self { session: Arc::new(session), listener, poll })
    }

    /// Runs `call` on the bindings' runtime, stopped by `cancel` or by dropping the returned
    /// future. A cancelled call closes the secure session (its cipher state is unknown).
    async fn run<T, F>(
        &self,
        cancel: Option<Arc<CancelHandle>>,
        call: impl FnOnce(Arc<DeviceSession>) -> F,
    ) -> Result<T, ProvError>
    where
        F: Future<Output = Result<T, CoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let token = cancel.map(|c| c.token()).unwrap_or_default();
        let session = Arc::clone(&self.session);
        let fut = call(Arc::clone(&session));
        let outcome = crate::runtime::spawn(async move {
            let result = token.run(fut).await;
            if matches!(result, Err(CoreError::Cancelled)) {
                session.disconnect().await;
            }
            result
        })
        .await?;
        Ok(outcome?)
    }
}

#[uniffi::export]
impl ProvDevice {
    /// A device reached through `transport`: the app's own (BLE) implementation of
    /// [`ProvTransport`], [`crate::transport::softap_transport`], or `SimulatedDevice.transport()`.
    /// Nothing is sent until `connect()`.
    #[uniffi::constructor]
    pub fn new(transport: Arc<dyn ProvTransport>, options: ProvOptions) -> Arc<Self> {
        Self::over(Arc::new(ForeignTransport::new(transport)), options)
    }

    /// Sets (or clears) the listener that observes this device's calls.
    pub fn set_progress_listener(&self, listener: Option<Arc<dyn ProgressListener>>) {
        self.listener.set(listener);
    }

    /// Reads the device's capabilities, picks the security scheme (refusing one below
    /// `min_security`) and runs the handshake. Calling it again starts a fresh session.
    #[uniffi::method(default(cancel = None))]
    pub async fn connect(&self, cancel: Option<Arc<CancelHandle>>) -> Result<SessionDetails, ProvError> {
        self.run(cancel, |s| async move {
            let info = s.connect().await?;
            Ok(SessionDetails {
                security: info.security.into(),
                sec_patch_ver: info.sec_patch_ver,
                capabilities: DeviceCapabilities::from(&info.version),
            })
        })
        .await
    }

    /// Reads `proto-ver` (works without `connect()`; does not change the session).
    #[uniffi::method(default(cancel = None))]
    pub async fn capabilities(&self, cancel: Option<Arc<CancelHandle>>) -> Result<DeviceCapabilities, ProvError> {
        self.run(cancel, |s| async move { Ok(DeviceCapabilities::from(&s.read_version().await?)) }).await
    }

    /// Asks the device for the Wi-Fi networks it sees (all result pages).
    #[uniffi::method(default(cancel = None))]
    pub async fn scan_wifi(&self, cancel: Option<Arc<CancelHandle>>) -> Result<Vec<WifiNetwork>, ProvError> {
        self.run(cancel, |s| async move { Ok(s.scan_wifi(None).await?.into_iter().map(WifiNetwork::from).collect()) })
            .await
    }

    /// Asks the device for the Thread networks it sees.
    #[uniffi::method(default(cancel = None))]
    pub async fn scan_thread(&self, cancel: Option<Arc<CancelHandle>>) -> Result<Vec<ThreadNetwork>, ProvError> {
        self.run(cancel, |s| async move { Ok(s.scan_thread().await?.into_iter().map(ThreadNetwork::from).collect()) })
            .await
    }

    /// Sends Wi-Fi credentials, applies them and waits until the device joined or failed
    /// (bounded by `connect_deadline_ms`). On a failure the device is reset so that other
    /// credentials can be tried on the same session.
    #[uniffi::method(default(cancel = None))]
    pub async fn provision_wifi(
        &self,
        ssid: String,
        passphrase: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<WifiConnection, ProvError> {
        self.provision_wifi_raw(ssid.into_bytes(), passphrase, cancel).await
    }

    /// Like `provision_wifi`, for an SSID that is not valid UTF-8 (`WifiNetwork.ssid_bytes`).
    #[uniffi::method(default(cancel = None))]
    pub async fn provision_wifi_raw(
        &self,
        ssid: Vec<u8>,
        passphrase: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<WifiConnection, ProvError> {
        let passphrase = Secret::from(passphrase);
        let poll = self.poll;
        self.run(cancel, move |s| async move { Ok(s.provision_wifi(&ssid, passphrase.expose(), poll).await?.into()) })
            .await
    }

    /// Sends a Thread Active Operational Dataset (TLV bytes), applies it and waits until the
    /// device attached or failed.
    #[uniffi::method(default(cancel = None))]
    pub async fn provision_thread(
        &self,
        dataset: Vec<u8>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<ThreadAttachment, ProvError> {
        let dataset = Secret::from(dataset);
        let poll = self.poll;
        self.run(cancel, move |s| async move {
            match s.provision_thread(dataset.expose(), poll).await? {
                ThreadStatus::Attached { pan_id, ext_pan_id, channel, name } => {
                    Ok(ThreadAttachment { pan_id, ext_pan_id, channel, network_name: name })
                }
                other => Err(CoreError::Protocol {
                    step: rainmaker_prov::error::Step::ConnectionStatus,
                    detail: format!("provisioning ended in state {other:?}"),
                }),
            }
        })
        .await
    }

    /// Reads the device's Wi-Fi state once.
    #[uniffi::method(default(cancel = None))]
    pub async fn wifi_status(&self, cancel: Option<Arc<CancelHandle>>) -> Result<WifiStatus, ProvError> {
        self.run(cancel, |s| async move { Ok(s.wifi_status().await?.into()) }).await
    }

    /// Returns a device whose join attempt failed to "ready for credentials" (`prov-ctrl`).
    #[uniffi::method(default(cancel = None))]
    pub async fn reset_wifi(&self, cancel: Option<Arc<CancelHandle>>) -> Result<(), ProvError> {
        self.run(cancel, |s| async move { s.reset_wifi().await }).await
    }

    /// Makes an already provisioned device accept new credentials (`prov-ctrl`).
    #[uniffi::method(default(cancel = None))]
    pub async fn reprovision_wifi(&self, cancel: Option<Arc<CancelHandle>>) -> Result<(), ProvError> {
        self.run(cancel, |s| async move { s.reprovision_wifi().await }).await
    }

    /// Sends application bytes to a custom endpoint (encrypted like every endpoint) and returns
    /// the device's answer.
    #[uniffi::method(default(cancel = None))]
    pub async fn send_data(
        &self,
        endpoint: String,
        data: Vec<u8>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Vec<u8>, ProvError> {
        self.run(cancel, move |s| async move { s.send_custom(&endpoint, &data).await }).await
    }

    /// Ends the secure session and closes the transport.
    pub async fn disconnect(&self) {
        let session = Arc::clone(&self.session);
        if let Err(e) = crate::runtime::spawn(async move { session.disconnect().await }).await {
            log::debug!("disconnect did not run: {e}");
        }
    }
}

#[cfg(feature = "softap")]
#[uniffi::export]
impl ProvDevice {
    /// A device in SoftAP mode at `address` (`host:port`, usually `192.168.4.1:80`), reached
    /// with the built-in HTTP transport once the phone joined the device's access point.
    #[uniffi::constructor]
    pub fn softap(address: String, options: ProvOptions) -> Arc<Self> {
        use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
        Self::over(Arc::new(HttpTransport::new(HttpConfig { host: address, ..HttpConfig::default() })), options)
    }
}

#[cfg(feature = "simulator")]
#[uniffi::export]
impl ProvDevice {
    /// A device backed by an in-process [`crate::sim::SimulatedDevice`].
    #[uniffi::constructor]
    pub fn simulated(device: Arc<crate::sim::SimulatedDevice>, options: ProvOptions) -> Arc<Self> {
        Self::over(device.memory_transport(), options)
    }
}
