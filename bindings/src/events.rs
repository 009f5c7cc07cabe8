//! Progress listeners and cancellation across the FFI.
//!
//! A [`ProgressListener`] (one method) observes the long calls of a `ProvDevice`; a
//! [`CancelHandle`] passed to a call stops it at its next await point with
//! `ProvError.Cancelled`. Dropping the call's future (a cancelled Kotlin coroutine) also stops it.

use std::sync::{Arc, PoisonError, RwLock};

use rainmaker_prov::events::{CancelToken, ProgressEvent as CoreEvent, ProgressListener as CoreListener};

use crate::types::SecurityLevel;

/// A failure raised by an app callback ([`ProgressListener`], [`crate::logging::Logger`]). It is
/// ignored: a failing callback never stops an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback failed.
    #[error("callback failed: {detail}")]
    Failed {
        /// The app's message.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { detail: crate::transport::first_line(&e.reason) }
    }
}

/// One step of progress of a `ProvDevice` call, delivered in order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ProgressEvent {
    /// Reading `proto-ver`.
    ReadingCapabilities,
    /// The security scheme was chosen.
    SecurityChosen {
        /// The scheme.
        level: SecurityLevel,
        /// The security 2 patch level.
        patch: u8,
    },
    /// The security handshake started.
    Handshaking,
    /// The handshake completed; the session is encrypted.
    SessionEstablished,
    /// A second handshake attempt (compatibility with verifiers made by Espressif's generator).
    RetryingHandshake,
    /// A network scan started.
    Scanning,
    /// The scan finished.
    ScanFinished {
        /// Networks found.
        count: u32,
    },
    /// Sending data to a custom endpoint.
    SendingCustomData {
        /// The endpoint.
        endpoint: String,
    },
    /// Sending the network credentials.
    SendingCredentials,
    /// Credentials applied; the device is joining.
    Applying,
    /// The device is still connecting.
    Connecting {
        /// Status polls so far.
        polls: u32,
        /// Attempts left, when the firmware reports them.
        attempts_remaining: Option<u32>,
    },
    /// The device joined the network.
    Connected,
    /// The device failed to join and was reset, ready for other credentials.
    ResetAfterFailure,
    /// RainMaker: assisted claiming started (the device has no node certificate yet).
    Claiming,
    /// RainMaker: the device holds its certificate.
    Claimed {
        /// The node id the claiming service assigned.
        node_id: String,
    },
    /// RainMaker: user-node association started.
    Associating {
        /// `true` for challenge-response (`ch_resp`), `false` for the traditional mapping
        /// (`cloud_user_assoc`).
        challenge_response: bool,
    },
    /// RainMaker: the device took the association.
    Associated {
        /// The node id the device reported.
        node_id: String,
    },
    /// RainMaker: the device has no RainMaker association endpoint: it is provisioned without
    /// being added to an account.
    NotAssociated,
    /// RainMaker: asking the cloud to confirm the traditional mapping.
    ConfirmingAssociation,
    /// RainMaker: the cloud cannot be reached yet (the phone may still be on the device's access
    /// point); retrying until the confirmation deadline.
    WaitingForCloud,
    /// RainMaker: the node is on the user's account.
    AssociationConfirmed {
        /// The node id.
        node_id: String,
    },
}

impl ProgressEvent {
    fn from_core(event: CoreEvent) -> Option<Self> {
        Some(match event {
            CoreEvent::ReadingCapabilities => ProgressEvent::ReadingCapabilities,
            CoreEvent::SecurityChosen { level, patch } => ProgressEvent::SecurityChosen { level: level.into(), patch },
            CoreEvent::Handshaking => ProgressEvent::Handshaking,
            CoreEvent::SessionEstablished => ProgressEvent::SessionEstablished,
            CoreEvent::RetryingHandshake => ProgressEvent::RetryingHandshake,
            CoreEvent::Scanning => ProgressEvent::Scanning,
            CoreEvent::ScanFinished { count } => {
                ProgressEvent::ScanFinished { count: u32::try_from(count).unwrap_or(u32::MAX) }
            }
            CoreEvent::SendingCustomData { endpoint } => ProgressEvent::SendingCustomData { endpoint },
            CoreEvent::SendingCredentials => ProgressEvent::SendingCredentials,
            CoreEvent::Applying => ProgressEvent::Applying,
            CoreEvent::Connecting { polls, attempts_remaining } => {
                ProgressEvent::Connecting { polls, attempts_remaining }
            }
            CoreEvent::Connected => ProgressEvent::Connected,
            CoreEvent::ResetAfterFailure => ProgressEvent::ResetAfterFailure,
            CoreEvent::Claiming => ProgressEvent::Claiming,
            CoreEvent::Claimed { node_id } => ProgressEvent::Claimed { node_id },
            CoreEvent::Associating { challenge_response } => ProgressEvent::Associating { challenge_response },
            CoreEvent::Associated { node_id } => ProgressEvent::Associated { node_id },
            CoreEvent::NotAssociated => ProgressEvent::NotAssociated,
            CoreEvent::ConfirmingAssociation => ProgressEvent::ConfirmingAssociation,
            CoreEvent::WaitingForCloud => ProgressEvent::WaitingForCloud,
            CoreEvent::AssociationConfirmed { node_id } => ProgressEvent::AssociationConfirmed { node_id },
            _ => return None,
        })
    }
}

/// Receives the progress of a device's calls. Called on a library thread: return quickly and
/// hop to the UI thread yourself. Exceptions thrown here are ignored.
#[uniffi::export(foreign)]
pub trait ProgressListener: Send + Sync {
    /// One event, in order.
    fn on_progress(&self, event: ProgressEvent) -> Result<(), CallbackError>;
}

/// The core listener of a device: forwards to whichever app listener is set at the time.
#[derive(Default)]
pub(crate) struct ListenerSlot {
    listener: RwLock<Option<Arc<dyn ProgressListener>>>,
}

impl ListenerSlot {
    /// Replaces the app listener.
    pub(crate) fn set(&self, listener: Option<Arc<dyn ProgressListener>>) {
        *self.listener.write().unwrap_or_else(PoisonError::into_inner) = listener;
    }
}

impl CoreListener for ListenerSlot {
    fn on_progress(&self, event: CoreEvent) {
        let listener = self.listener.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let (Some(listener), Some(event)) = (listener, ProgressEvent::from_core(event))
            && let Err(e) = listener.on_progress(event)
        {
            log::debug!("the progress listener failed (ignored): {e}");
        }
    }
}

/// Cancels the calls it is passed to. One handle can be shared by several calls (cancel a
/// whole flow) and is not reusable once cancelled.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle {
    token: CancelToken,
}

#[uniffi::export]
impl CancelHandle {
    /// A new handle, not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels every call watching this handle: each fails with `ProvError.Cancelled` at its
    /// next await point. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl CancelHandle {
    /// The core token behind this handle.
    pub(crate) fn token(&self) -> CancelToken {
        self.token.clone()
    }
}
