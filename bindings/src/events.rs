//! Progress listeners and cancellation across the FFI.
//!
//! A [`ProgressListener`] (one method) observes the long calls of a `ProvDevice`; a
//! [`CancelHandle`] passed to a call stops it at its next await point with
//! `ProvError.Cancelled`. Dropping the call's future (a cancelled Kotlin coroutine) also stops it.

use std::sync::{Arc, PoisonError, RwLock};

use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener as CoreListener};

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
        CallbackError::Failed { detail: rainmaker_prov::transport::foreign::callback_failure(&e) }
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
    fn on_progress(&self, event: ProgressEvent) {
        let listener = self.listener.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(listener) = listener
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
