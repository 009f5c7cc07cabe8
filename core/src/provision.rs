//! The high-level provisioning flow (what Espressif's `provision_device` does), bounded and typed.
//!
//! Order (docs/protocol.md 6.1): capabilities -> security handshake -> custom endpoints (before the
//! device can tear provisioning down) -> credentials -> apply -> bounded status polling; on a
//! Wi-Fi failure the device is reset so the caller can retry with other credentials.

use std::sync::Arc;
use std::time::Duration;

use crate::endpoints::{qr::QrPayload, thread, wifi};
use crate::error::{Error, Result};
use crate::events::{CancelToken, NoProgress, ProgressListener};
use crate::security::Secret;
use crate::session::{DeviceSession, PollOptions, SessionInfo, SessionOptions};
use crate::transport::Transport;

/// The network the device should join.
#[derive(Debug, Clone)]
pub enum NetworkCredentials {
    /// A Wi-Fi network.
    Wifi {
        /// SSID bytes (at most 32; not necessarily UTF-8).
        ssid: Vec<u8>,
        /// Passphrase (at most 63 bytes; empty for an open network).
        passphrase: Secret,
    },
    /// A Thread network, as an Active Operational Dataset (TLV bytes, at most 254).
    Thread {
        /// The dataset (holds the network key).
        dataset: Secret,
    },
}

/// Everything one provisioning run needs.
#[derive(Debug, Clone)]
pub struct ProvisionRequest {
    /// Security choice, minimum, PoP / SRP credentials, exchange timeout.
    pub session: SessionOptions,
    /// The network to join.
    pub network: NetworkCredentials,
    /// Data for custom endpoints, sent after the handshake and before the credentials.
    pub custom_data: Vec<(String, Vec<u8>)>,
    /// Status polling after apply.
    pub poll: PollOptions,
    /// Bound on the whole run (`None`: only the per-step bounds apply).
    pub overall_timeout: Option<Duration>,
}

impl ProvisionRequest {
    /// A request with default options for joining `network`.
    pub fn new(network: NetworkCredentials) -> Self {
        Self {
            session: SessionOptions::default(),
            network,
            custom_data: Vec::new(),
            poll: PollOptions::default(),
            overall_timeout: None,
        }
    }
}

impl SessionOptions {
    /// Fills PoP, SRP username and the expected scheme from a QR payload: `pop` is the security 1
    /// PoP and the security 2 password, `username` the SRP username, and `security` the scheme
    /// the device must offer (a device offering less is refused as a possible impostor).
    pub fn apply_qr(&mut self, qr: &QrPayload) {
        if let Some(pop) = &qr.pop {
            self.pop = Some(pop.clone());
        }
        if let Some(user) = &qr.username {
            self.sec2_username = Some(user.clone());
        }
        if let Some(level) = qr.security.and_then(crate::security::SecurityLevel::from_number) {
            self.expected_security = Some(self.expected_security.map_or(level, |known| known.max(level)));
        }
    }
}

/// How the device ended up connected.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Joined {
    /// Wi-Fi, with what the device reported.
    Wifi {
        /// The connection.
        info: wifi::WifiConnectedInfo,
    },
    /// Thread, with what the device reported.
    Thread {
        /// The final state (`Attached`).
        status: thread::ThreadStatus,
    },
}

/// A custom endpoint's answer (see [`ProvisionRequest::custom_data`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CustomResponse {
    /// The endpoint.
    pub endpoint: String,
    /// What the device answered.
    pub data: Vec<u8>,
}

/// The result of a successful run.
#[derive(Debug, Clone)]
pub struct ProvisionOutcome {
    /// Capabilities and security of the device.
    pub session: SessionInfo,
    /// The joined network.
    pub joined: Joined,
    /// The device's answers from the custom endpoints, in request order.
    pub custom_responses: Vec<CustomResponse>,
}

/// Runs the whole flow on `transport`. Cancelling `cancel` stops it at the next await point
/// with [`Error::Cancelled`]; the transport is disconnected at the end either way.
pub async fn provision(
    transport: Arc<dyn Transport>,
    request: ProvisionRequest,
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: &CancelToken,
) -> Result<ProvisionOutcome> {
    let session = DeviceSession::new(transport, request.session.clone())
        .with_listener(listener.unwrap_or_else(|| Arc::new(NoProgress)));
    let flow = run(&session, &request);
    bounded(&session, flow, request.overall_timeout, cancel).await
}

/// Connects, scans for Wi-Fi networks and disconnects: what an app shows before asking the
/// user to pick a network. Bounded by `overall_timeout` (when given) and by `cancel`.
pub async fn scan_wifi(
    transport: Arc<dyn Transport>,
    options: SessionOptions,
    listener: Option<Arc<dyn ProgressListener>>,
    overall_timeout: Option<Duration>,
    cancel: &CancelToken,
) -> Result<Vec<wifi::WifiNetwork>> {
    let session =
        DeviceSession::new(transport, options).with_listener(listener.unwrap_or_else(|| Arc::new(NoProgress)));
    let flow = async {
        session.connect().await?;
        session.scan_wifi(None).await
    };
    bounded(&session, flow, overall_timeout, cancel).await
}

/// Runs `flow` until it ends, `limit` passes (a timeout reported on the step in progress) or
/// `cancel` fires, then disconnects the session whatever happened.
pub(crate) async fn bounded<T>(
    session: &DeviceSession,
    flow: impl std::future::Future<Output = Result<T>>,
    limit: Option<Duration>,
    cancel: &CancelToken,
) -> Result<T> {
    let result = match limit {
        Some(limit) => {
            cancel
                .run(async {
                    match tokio::time::timeout(limit, flow).await {
                        Ok(result) => result,
                        Err(_) => Err(Error::Timeout { step: session.current_step() }),
                    }
                })
                .await
        }
        None => cancel.run(flow).await,
    };
    session.disconnect().await;
    result
}

async fn run(session: &DeviceSession, request: &ProvisionRequest) -> Result<ProvisionOutcome> {
    let info = session.connect().await?;
    let mut custom_responses = Vec::with_capacity(request.custom_data.len());
    for (endpoint, data) in &request.custom_data {
        let answer = session.send_custom(endpoint, data).await?;
        custom_responses.push(CustomResponse { endpoint: endpoint.clone(), data: answer });
    }
    let joined = match &request.network {
        NetworkCredentials::Wifi { ssid, passphrase } => {
            Joined::Wifi { info: session.provision_wifi(ssid, passphrase.expose(), request.poll).await? }
        }
        NetworkCredentials::Thread { dataset } => {
            Joined::Thread { status: session.provision_thread(dataset.expose(), request.poll).await? }
        }
    };
    Ok(ProvisionOutcome { session: info, joined, custom_responses })
}
