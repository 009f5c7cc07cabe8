//! [`ProvDevice`]: one provisioning session with one device, over one transport.
//!
//! A thin wrapper over the core's `DeviceSession`: every call runs on the bindings' runtime,
//! watches an optional [`CancelHandle`] and reports progress to the device's
//! [`ProgressListener`]. What it returns and throws are the core's own types.

use std::future::Future;
use std::sync::Arc;

use rainmaker_prov::endpoints::proto_ver::ProtoVersion;
use rainmaker_prov::endpoints::thread::{ThreadNetwork, ThreadStatus};
use rainmaker_prov::endpoints::wifi::{WifiConnectedInfo, WifiNetwork, WifiStatus};
use rainmaker_prov::error::ProvError;
#[cfg(feature = "rainmaker")]
use rainmaker_prov::rainmaker::{Association, RainMakerError, RainMakerOutcome};
use rainmaker_prov::security::Secret;
#[cfg(feature = "rainmaker")]
use rainmaker_prov::session::SessionOptions;
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionInfo};
use rainmaker_prov::transport::Transport;

use crate::events::{CancelHandle, ListenerSlot, ProgressListener};
use rainmaker_prov::transport::foreign::ProvTransport;

use crate::transport::ForeignTransport;
use crate::types::ProvOptions;

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
    /// The transport and options again, for the one-call RainMaker flow (its own session).
    #[cfg(feature = "rainmaker")]
    transport: Arc<dyn Transport>,
    #[cfg(feature = "rainmaker")]
    options: SessionOptions,
}

impl std::fmt::Debug for ProvDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvDevice").field("session", &self.session).finish_non_exhaustive()
    }
}

impl ProvDevice {
    /// A device over a core transport.
    pub(crate) fn over(transport: Arc<dyn Transport>, options: ProvOptions) -> Arc<Self> {
        let (options, poll) = options.into_core();
        let listener = Arc::new(ListenerSlot::default());
        #[cfg(feature = "rainmaker")]
        let rainmaker = (Arc::clone(&transport), options.clone());
        let session = DeviceSession::new(transport, options).with_listener(listener.clone());
        Arc::new(Self {
            session: Arc::new(session),
            listener,
            poll,
            #[cfg(feature = "rainmaker")]
            transport: rainmaker.0,
            #[cfg(feature = "rainmaker")]
            options: rainmaker.1,
        })
    }

    /// Runs `call` on the bindings' runtime, stopped by `cancel` or by dropping the returned
    /// future. A cancelled call closes the secure session (its cipher state is unknown).
    async fn run<T, F>(
        &self,
        cancel: Option<Arc<CancelHandle>>,
        call: impl FnOnce(Arc<DeviceSession>) -> F,
    ) -> Result<T, ProvError>
    where
        F: Future<Output = Result<T, ProvError>> + Send + 'static,
        T: Send + 'static,
    {
        let token = cancel.map(|c| c.token()).unwrap_or_default();
        let session = Arc::clone(&self.session);
        let fut = call(Arc::clone(&session));
        crate::runtime::spawn(async move {
            let result = token.run(fut).await;
            if matches!(result, Err(ProvError::Cancelled)) {
                session.disconnect().await;
            }
            result
        })
        .await?
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
    pub async fn connect(&self, cancel: Option<Arc<CancelHandle>>) -> Result<SessionInfo, ProvError> {
        self.run(cancel, |s| async move { s.connect().await }).await
    }

    /// Reads `proto-ver` (works without `connect()`; does not change the session).
    #[uniffi::method(default(cancel = None))]
    pub async fn capabilities(&self, cancel: Option<Arc<CancelHandle>>) -> Result<ProtoVersion, ProvError> {
        self.run(cancel, |s| async move { s.read_version().await }).await
    }

    /// Asks the device for the Wi-Fi networks it sees (all result pages).
    #[uniffi::method(default(cancel = None))]
    pub async fn scan_wifi(&self, cancel: Option<Arc<CancelHandle>>) -> Result<Vec<WifiNetwork>, ProvError> {
        self.run(cancel, |s| async move { s.scan_wifi(None).await }).await
    }

    /// Asks the device for the Thread networks it sees.
    #[uniffi::method(default(cancel = None))]
    pub async fn scan_thread(&self, cancel: Option<Arc<CancelHandle>>) -> Result<Vec<ThreadNetwork>, ProvError> {
        self.run(cancel, |s| async move { s.scan_thread().await }).await
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
    ) -> Result<WifiConnectedInfo, ProvError> {
        self.provision_wifi_raw(ssid.into_bytes(), passphrase, cancel).await
    }

    /// Like `provision_wifi`, for an SSID given as bytes (`WifiNetwork.ssid` of a scan result,
    /// which need not be UTF-8).
    #[uniffi::method(default(cancel = None))]
    pub async fn provision_wifi_raw(
        &self,
        ssid: Vec<u8>,
        passphrase: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<WifiConnectedInfo, ProvError> {
        let passphrase = Secret::from(passphrase);
        let poll = self.poll;
        self.run(cancel, move |s| async move { s.provision_wifi(&ssid, passphrase.expose(), poll).await }).await
    }

    /// Sends a Thread Active Operational Dataset (TLV bytes), applies it and waits until the
    /// device attached (`ThreadStatus.Attached`) or failed.
    #[uniffi::method(default(cancel = None))]
    pub async fn provision_thread(
        &self,
        dataset: Vec<u8>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<ThreadStatus, ProvError> {
        let dataset = Secret::from(dataset);
        let poll = self.poll;
        self.run(cancel, move |s| async move { s.provision_thread(dataset.expose(), poll).await }).await
    }

    /// Reads the device's Wi-Fi state once.
    #[uniffi::method(default(cancel = None))]
    pub async fn wifi_status(&self, cancel: Option<Arc<CancelHandle>>) -> Result<WifiStatus, ProvError> {
        self.run(cancel, |s| async move { s.wifi_status().await }).await
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

#[cfg(feature = "rainmaker")]
impl ProvDevice {
    /// Like [`ProvDevice::run`], for a RainMaker step: a device failure is
    /// `RainMakerError.Device`.
    async fn run_rainmaker<T, F>(
        &self,
        cancel: Option<Arc<CancelHandle>>,
        call: impl FnOnce(Arc<DeviceSession>) -> F,
    ) -> Result<T, RainMakerError>
    where
        F: Future<Output = Result<T, rainmaker_prov::rainmaker::RainMakerError>> + Send + 'static,
        T: Send + 'static,
    {
        self.run(cancel, |s| {
            let fut = call(s);
            async move { Ok(fut.await) }
        })
        .await?
    }
}

#[cfg(feature = "rainmaker")]
#[uniffi::export]
impl ProvDevice {
    /// RainMaker assisted claiming (after `connect()`, on a device whose capabilities say
    /// `needs_claim`): the device sends a CSR through `cloud` (logged in) and receives its node
    /// certificate. Returns the node id the claiming service assigned.
    #[uniffi::method(default(cancel = None))]
    pub async fn claim(
        &self,
        cloud: Arc<crate::rainmaker::RainMakerCloud>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<String, RainMakerError> {
        let cloud = cloud.inner.clone();
        self.run_rainmaker(cancel, move |s| async move { rainmaker_prov::rainmaker::claim(&s, &cloud).await }).await
    }

    /// RainMaker user-node association with the account of `cloud` (after `connect()`, before
    /// the network credentials): challenge-response when the device offers it (the node is on
    /// the account when this returns), otherwise the traditional mapping with a fresh secret key
    /// (confirm it with `RainMakerCloud.confirm_mapping` once the device is online).
    #[uniffi::method(default(cancel = None))]
    pub async fn associate(
        &self,
        cloud: Arc<crate::rainmaker::RainMakerCloud>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Association, RainMakerError> {
        let cloud = cloud.inner.clone();
        // A `Send` generator for the mapping secret key (the thread-local one cannot cross the
        // runtime's threads).
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng());
        self.run_rainmaker(cancel, move |s| async move {
            rainmaker_prov::rainmaker::associate_with_rng(&s, &cloud, &mut rng).await
        })
        .await
    }

    /// The traditional user-node mapping with a user id and secret key the app already has
    /// (Espressif's `provision_device(userid=…, secretkey=…)` step): sends them to the device's
    /// `cloud_user_assoc` and returns the node id. No cloud call is made.
    #[uniffi::method(default(cancel = None))]
    pub async fn set_user_mapping(
        &self,
        user_id: String,
        secret_key: String,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<String, RainMakerError> {
        let secret_key = Secret::from(secret_key);
        self.run_rainmaker(cancel, move |s| async move {
            let key = std::str::from_utf8(secret_key.expose())
                .map_err(|_| RainMakerError::InvalidInput { detail: "the secret key is not valid UTF-8".into() })?;
            s.set_user_mapping(&user_id, key).await
        })
        .await
    }

    /// The whole RainMaker flow in one call, like Espressif's `provision_device(transport, pop,
    /// userid, secretkey, …)`: connect (with this device's `ProvOptions`), claim when the device
    /// asks for it and `allow_claim`, associate as `plan` says, send the Wi-Fi credentials
    /// (`ssid`/`passphrase`) or the Thread dataset and wait for the device to join, then, for a
    /// traditional mapping made with a cloud account, wait up to `confirm_timeout_ms` for the
    /// cloud to confirm it. A device without RainMaker endpoints is provisioned and reported
    /// `NotAssociated`. Runs on its own session: call `connect()` again before other calls on
    /// this device.
    #[uniffi::method(default(
        ssid = None,
        passphrase = None,
        thread_dataset = None,
        allow_claim = false,
        confirm_timeout_ms = 60000,
        cancel = None
    ))]
    #[allow(clippy::too_many_arguments)]
    pub async fn provision_rainmaker(
        &self,
        plan: Arc<crate::rainmaker::AssociationPlan>,
        ssid: Option<String>,
        passphrase: Option<String>,
        thread_dataset: Option<Vec<u8>>,
        allow_claim: bool,
        confirm_timeout_ms: u64,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<RainMakerOutcome, RainMakerError> {
        use rainmaker_prov::provision::NetworkCredentials;
        use rainmaker_prov::rainmaker::RainMakerRequest;
        let network = match (ssid, thread_dataset) {
            (Some(_), Some(_)) => {
                return Err(RainMakerError::InvalidInput {
                    detail: "give a Wi-Fi network or a Thread dataset, not both".into(),
                });
            }
            (Some(ssid), None) => Some(NetworkCredentials::Wifi {
                ssid: ssid.into_bytes(),
                passphrase: Secret::from(passphrase.unwrap_or_default()),
            }),
            (None, Some(dataset)) => Some(NetworkCredentials::Thread { dataset: Secret::from(dataset) }),
            (None, None) => None,
        };
        let mut request = RainMakerRequest::new(network, plan.core());
        request.session = self.options.clone();
        request.allow_claim = allow_claim;
        request.poll = self.poll;
        request.confirm = crate::rainmaker::confirm_options(confirm_timeout_ms);
        let transport = Arc::clone(&self.transport);
        let listener: Arc<dyn rainmaker_prov::events::ProgressListener> = self.listener.clone();
        let token = cancel.map(|c| c.token()).unwrap_or_default();
        // Dropping this call aborts the spawned task; the token also reaches the flow so a
        // cancel handle stops it at the next await point.
        crate::runtime::spawn(async move {
            rainmaker_prov::rainmaker::provision_rainmaker(transport, request, Some(listener), &token).await
        })
        .await?
    }
}
