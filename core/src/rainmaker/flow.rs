//! The one-call RainMaker provisioning flow (docs/protocol.md 8 order): connect → claim when the
//! device asks for it → associate (challenge-response or the traditional mapping) → network
//! credentials → cloud confirmation of a traditional mapping, bounded and typed at every step.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::events::{CancelToken, NoProgress, ProgressEvent, ProgressListener};
use crate::provision::{Joined, NetworkCredentials, bounded};
use crate::security::Secret;
use crate::session::{DeviceSession, PollOptions, SessionInfo, SessionOptions};
use crate::transport::Transport;

use super::cloud::{MappingStatus, RainMakerCloud};
use super::{Association, AssociationMode, PendingMapping, RainMakerError, RainMakerResult};

/// Who the device is associated with.
#[derive(Clone, Debug)]
pub enum AssociationPlan {
    /// No association: plain network provisioning.
    None,
    /// Hand this user id and secret key to the device's `cloud_user_assoc` (what Espressif's
    /// `provision_device(userid=…, secretkey=…)` does). No cloud call is made: the caller
    /// confirms the mapping with the cloud itself (or the node's owner app does).
    UserMapping {
        /// The RainMaker user id.
        user_id: String,
        /// The mapping secret key (the cloud matches it with the node's report).
        secret_key: Secret,
    },
    /// The logged-in account of this cloud client: challenge-response when the device offers it,
    /// else the traditional mapping with a fresh secret key, confirmed with the cloud after the
    /// device joined the network.
    Cloud(RainMakerCloud),
}

/// How the cloud confirmation of a traditional mapping is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmOptions {
    /// Give up (and report [`AssociationState::Pending`]) after this long. Includes the time spent
    /// waiting for the cloud to be reachable at all.
    pub deadline: Duration,
    /// First pause between two status requests; it grows by half each time up to
    /// `max_interval`.
    pub first_interval: Duration,
    /// Longest pause between two status requests.
    pub max_interval: Duration,
}

impl Default for ConfirmOptions {
    /// Up to 60 s (like the RainMaker CLI), polling after 1 s, then 1.5 s, ... at most every 5 s
    /// (the CLI's fixed interval): a node that reports within a few seconds is seen quickly,
    /// and a slow one costs at most 15 status requests.
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(60),
            first_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(5),
        }
    }
}

impl ConfirmOptions {
    /// The default pacing, with every pause shortened to at most a quarter of `deadline` (but
    /// not below 100 ms), so a short deadline still sees several status requests.
    pub fn with_deadline(deadline: Duration) -> Self {
        let defaults = Self::default();
        let fit = |d: Duration| d.min(deadline / 4).max(Duration::from_millis(100));
        Self { deadline, first_interval: fit(defaults.first_interval), max_interval: fit(defaults.max_interval) }
    }
}

/// Everything one RainMaker provisioning run needs.
#[derive(Debug, Clone)]
pub struct RainMakerRequest {
    /// Security choice, PoP / SRP credentials, exchange timeout.
    pub session: SessionOptions,
    /// The network to join; `None` associates only (the device stays in provisioning mode).
    pub network: Option<NetworkCredentials>,
    /// Who to associate the node with.
    pub association: AssociationPlan,
    /// Claim the node first when it asks for it (`rmaker.cap` has `claim`); needs
    /// [`AssociationPlan::Cloud`]. Without it such a device is [`RainMakerError::ClaimPending`].
    pub allow_claim: bool,
    /// Data for custom endpoints, sent after the association and before the credentials.
    pub custom_data: Vec<(String, Vec<u8>)>,
    /// Status polling after the credentials are applied.
    pub poll: PollOptions,
    /// Cloud confirmation of a traditional mapping.
    pub confirm: ConfirmOptions,
    /// Bound on the device part of the run (`None`: only the per-step bounds apply). The cloud
    /// confirmation has its own deadline.
    pub overall_timeout: Option<Duration>,
}

impl RainMakerRequest {
    /// A request with default options.
    pub fn new(network: Option<NetworkCredentials>, association: AssociationPlan) -> Self {
        Self {
            session: SessionOptions::default(),
            network,
            association,
            allow_claim: false,
            custom_data: Vec::new(),
            poll: PollOptions::default(),
            confirm: ConfirmOptions::default(),
            overall_timeout: None,
        }
    }
}

/// Where the node stands with the user's account at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AssociationState {
    /// The node is on the account (challenge-response, or the cloud confirmed the mapping).
    Confirmed,
    /// The device took the mapping but the cloud has not confirmed it yet: it could not be
    /// reached within the deadline (`request_id` is `None`), or the request stayed `requested`.
    /// Confirm later with [`confirm_mapping`] and the [`RainMakerOutcome::pending`] mapping.
    Pending {
        /// The cloud's request id, when the request was made.
        request_id: Option<String>,
    },
    /// The user id and secret key were handed to the device ([`AssociationPlan::UserMapping`]);
    /// confirming with the cloud is the caller's.
    SentToDevice,
    /// Not associated: none was asked for, or the device has no RainMaker endpoint.
    NotAssociated,
}

impl AssociationState {
    /// A short machine-readable name: `confirmed`, `pending`, `sent_to_device`,
    /// `not_associated`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AssociationState::Confirmed => "confirmed",
            AssociationState::Pending { .. } => "pending",
            AssociationState::SentToDevice => "sent_to_device",
            AssociationState::NotAssociated => "not_associated",
        }
    }
}

/// The result of a successful [`provision_rainmaker`] run.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RainMakerOutcome {
    /// Capabilities and security of the device.
    pub session: SessionInfo,
    /// The joined network (`None` when no network was asked for).
    pub joined: Option<Joined>,
    /// The node id (claimed, or reported by the device when associating).
    pub node_id: Option<String>,
    /// Whether the node was claimed in this run.
    pub claimed: bool,
    /// How the node was associated, if it was.
    pub mode: Option<AssociationMode>,
    /// Where the node stands with the account.
    pub association: AssociationState,
    /// The mapping to confirm later when [`AssociationState::Pending`] (holds the secret key).
    pub pending: Option<Arc<PendingMapping>>,
    /// The device's answers from the custom endpoints, in request order.
    pub custom_responses: Vec<crate::provision::CustomResponse>,
}

/// Runs the whole RainMaker flow on `transport`: connect, claim (when the device asks and
/// `allow_claim`), associate, custom data, network credentials with bounded status polling, then
/// the cloud confirmation of a traditional mapping (which waits for the cloud to be reachable,
/// within [`ConfirmOptions::deadline`]). The transport is disconnected before the confirmation.
/// A device without RainMaker endpoints is provisioned and reported
/// [`AssociationState::NotAssociated`]. Cancelling `cancel` stops it with
/// `RainMakerError::Device { error: Error::Cancelled }`.
pub async fn provision_rainmaker(
    transport: Arc<dyn Transport>,
    request: RainMakerRequest,
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: &CancelToken,
) -> RainMakerResult<RainMakerOutcome> {
    let listener = listener.unwrap_or_else(|| Arc::new(NoProgress));
    if request.allow_claim && !matches!(request.association, AssociationPlan::Cloud(_)) {
        return Err(RainMakerError::InvalidInput {
            detail: "claiming needs a logged-in RainMaker cloud session".into(),
        });
    }
    if let AssociationPlan::Cloud(cloud) = &request.association
        && !cloud.has_tokens()
    {
        return Err(RainMakerError::LoginRequired);
    }
    let session = DeviceSession::new(transport, request.session.clone()).with_listener(listener.clone());
    // The device part reports its errors through `Error`; the RainMaker error is carried out of
    // the bounded future in this slot so timeouts and cancellation still name the step.
    let failure: std::sync::Mutex<Option<RainMakerError>> = std::sync::Mutex::new(None);
    let flow = async {
        match device_part(&session, &request, listener.as_ref()).await {
            Ok(v) => Ok(v),
            Err(RainMakerError::Device { error: e }) => Err(e),
            Err(other) => {
                *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(other);
                Err(Error::Internal { detail: "rainmaker step failed".into() })
            }
        }
    };
    let result = bounded(&session, flow, request.overall_timeout, cancel).await;
    let mut outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            let stored = failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            return Err(stored.unwrap_or(RainMakerError::Device { error: e }));
        }
    };
    if let (Some(pending), AssociationPlan::Cloud(cloud)) = (outcome.pending.clone(), &request.association) {
        let state = cancel
            .run(async { Ok(confirm_mapping(cloud, &pending, request.confirm, listener.as_ref()).await) })
            .await
            .map_err(RainMakerError::from)??;
        if state == AssociationState::Confirmed {
            outcome.pending = None;
        }
        outcome.association = state;
    }
    Ok(outcome)
}

async fn device_part(
    session: &DeviceSession,
    request: &RainMakerRequest,
    listener: &dyn ProgressListener,
) -> RainMakerResult<RainMakerOutcome> {
    let mut info = session.connect().await?;
    let version = info.version.info().cloned().unwrap_or_default();
    let mut outcome = RainMakerOutcome {
        session: info.clone(),
        joined: None,
        node_id: None,
        claimed: false,
        mode: None,
        association: AssociationState::NotAssociated,
        pending: None,
        custom_responses: Vec::new(),
    };
    if version.needs_claim() {
        match (&request.association, request.allow_claim) {
            (AssociationPlan::Cloud(cloud), true) => {
                listener.on_progress(ProgressEvent::Claiming);
                let node_id = super::claim(session, cloud).await?;
                listener.on_progress(ProgressEvent::Claimed { node_id: node_id.clone() });
                outcome.claimed = true;
                outcome.node_id = Some(node_id);
            }
            (AssociationPlan::None, _) => {}
            _ => return Err(RainMakerError::ClaimPending),
        }
    }
    let associated = match &request.association {
        AssociationPlan::None => None,
        AssociationPlan::UserMapping { user_id, secret_key } => {
            listener.on_progress(ProgressEvent::Associating { challenge_response: false });
            let key = std::str::from_utf8(secret_key.expose())
                .map_err(|_| RainMakerError::InvalidInput { detail: "the secret key is not valid UTF-8".into() })?;
            match session.set_user_mapping(user_id, key).await {
                Ok(node_id) => Some((
                    Association::Pending { mapping: Arc::new(PendingMapping::new(node_id, user_id.clone(), key)) },
                    AssociationState::SentToDevice,
                )),
                Err(RainMakerError::NoAssociationEndpoint) => None,
                Err(e) => return Err(e),
            }
        }
        AssociationPlan::Cloud(cloud) => {
            let ch_resp = version
                .app_cap(crate::endpoints::proto_ver::APP_RMAKER_EXTRA, crate::endpoints::proto_ver::CAP_CH_RESP);
            listener.on_progress(ProgressEvent::Associating { challenge_response: ch_resp });
            let secret_key = super::new_secret_key(&mut rand::rng());
            match super::associate_inner(session, cloud, secret_key, outcome.claimed).await {
                Ok(a @ Association::Mapped { .. }) => Some((a, AssociationState::Confirmed)),
                Ok(a @ Association::Pending { .. }) => Some((a, AssociationState::Pending { request_id: None })),
                Err(RainMakerError::NoAssociationEndpoint) => None,
                Err(e) => return Err(e),
            }
        }
    };
    match associated {
        Some((association, state)) => {
            let node_id = association.node_id().to_owned();
            listener.on_progress(ProgressEvent::Associated { node_id: node_id.clone() });
            if state == AssociationState::Confirmed {
                listener.on_progress(ProgressEvent::AssociationConfirmed { node_id: node_id.clone() });
            }
            outcome.mode = Some(association.mode());
            outcome.node_id = Some(node_id);
            if let Association::Pending { mapping } = association {
                outcome.pending = Some(mapping);
            }
            outcome.association = state;
        }
        None if !matches!(request.association, AssociationPlan::None) => {
            // The probe was encrypted but never decrypted by the device (HTTP 404): the cipher
            // streams no longer agree, so the session is set up again before the credentials.
            log::info!(
                "rainmaker: the device has no RainMaker association endpoint; provisioning it without association"
            );
            listener.on_progress(ProgressEvent::NotAssociated);
            session.disconnect().await;
            info = session.connect().await?;
            outcome.session = info;
        }
        None => {}
    }
    for (endpoint, data) in &request.custom_data {
        let answer = session.send_custom(endpoint, data).await?;
        outcome.custom_responses.push(crate::provision::CustomResponse { endpoint: endpoint.clone(), data: answer });
    }
    outcome.joined = match &request.network {
        None => None,
        Some(NetworkCredentials::Wifi { ssid, passphrase }) => {
            Some(Joined::Wifi { info: session.provision_wifi(ssid, passphrase.expose(), request.poll).await? })
        }
        Some(NetworkCredentials::Thread { dataset }) => {
            Some(Joined::Thread { status: session.provision_thread(dataset.expose(), request.poll).await? })
        }
    };
    Ok(outcome)
}

/// docs/protocol.md 8.2 steps 5–6: asks the cloud to add the node and polls the request until it
/// is `confirmed`, within `options.deadline`. While the cloud cannot be reached (the phone may
/// still be on the device's access point) it keeps trying. `timedout` and `discarded` are
/// [`RainMakerError::MappingTimedOut`] / [`RainMakerError::MappingDiscarded`]; a deadline that
/// passes is [`AssociationState::Pending`] with the request id when one was obtained.
pub async fn confirm_mapping(
    cloud: &RainMakerCloud,
    pending: &PendingMapping,
    options: ConfirmOptions,
    listener: &dyn ProgressListener,
) -> RainMakerResult<AssociationState> {
    let started = tokio::time::Instant::now();
    let deadline = started + options.deadline;
    let mut interval = options.first_interval.max(Duration::from_millis(100));
    let grow = |d: Duration| (d + d / 2).min(options.max_interval.max(Duration::from_millis(100)));
    listener.on_progress(ProgressEvent::ConfirmingAssociation);
    let mut waiting_reported = false;
    let mut request_id: Option<String> = None;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            log::info!(
                "rainmaker: mapping of node {} not confirmed within {:?}; it stays pending",
                pending.node_id,
                options.deadline
            );
            return Ok(AssociationState::Pending { request_id });
        }
        let step = async {
            match &request_id {
                None => cloud
                    .add_node_mapping(&pending.user_id, &pending.node_id, pending.secret_key())
                    .await
                    .map(|id| (Some(id), None)),
                Some(id) => cloud.mapping_status(id).await.map(|s| (None, Some(s))),
            }
        };
        match tokio::time::timeout(remaining, step).await {
            Err(_) => continue,
            Ok(Ok((Some(id), _))) => {
                request_id = Some(id);
                // The node usually reports within a second or two of joining: look soon.
                interval = options.first_interval.max(Duration::from_millis(100));
            }
            Ok(Ok((None, Some(status)))) => {
                let id = request_id.clone().unwrap_or_default();
                log::debug!("rainmaker cloud: mapping request {id} is `{}`", status.as_str());
                match status {
                    MappingStatus::Confirmed => {
                        log::info!("rainmaker: node {} added to the account", pending.node_id);
                        listener.on_progress(ProgressEvent::AssociationConfirmed { node_id: pending.node_id.clone() });
                        return Ok(AssociationState::Confirmed);
                    }
                    MappingStatus::TimedOut => {
                        return Err(RainMakerError::MappingTimedOut {
                            node_id: pending.node_id.clone(),
                            request_id: id,
                        });
                    }
                    MappingStatus::Discarded => {
                        return Err(RainMakerError::MappingDiscarded {
                            node_id: pending.node_id.clone(),
                            request_id: id,
                        });
                    }
                    MappingStatus::Requested | MappingStatus::Other(_) => {}
                }
            }
            Ok(Ok((None, None))) => {}
            Ok(Err(RainMakerError::CloudUnreachable { operation, detail })) => {
                log::debug!("rainmaker cloud: {operation} unreachable ({detail}); retrying");
                if !waiting_reported {
                    listener.on_progress(ProgressEvent::WaitingForCloud);
                    waiting_reported = true;
                }
            }
            Ok(Err(RainMakerError::Http { status, operation, .. })) if status >= 500 => {
                log::debug!("rainmaker cloud: {operation} answered HTTP {status}; retrying");
            }
            Ok(Err(e)) => return Err(e),
        }
        let pause = interval.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        tokio::time::sleep(pause).await;
        interval = grow(interval);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod pacing_tests {
    use super::*;

    #[test]
    fn confirmation_pacing_fits_the_deadline() {
        let o = ConfirmOptions::with_deadline(Duration::from_millis(1_500));
        assert_eq!(o.deadline, Duration::from_millis(1_500));
        assert_eq!((o.first_interval, o.max_interval), (Duration::from_millis(375), Duration::from_millis(375)));
        let o = ConfirmOptions::with_deadline(Duration::from_millis(200));
        assert_eq!((o.first_interval, o.max_interval), (Duration::from_millis(100), Duration::from_millis(100)));
        assert_eq!(ConfirmOptions::with_deadline(Duration::from_secs(60)), ConfirmOptions::default());
    }
}
