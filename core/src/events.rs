//! Progress events and cancellation for long-running device operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use crate::security::SecurityLevel;

/// One step of progress, delivered to a [`ProgressListener`] in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Reading `proto-ver`.
    ReadingCapabilities,
    /// Security scheme chosen (from `proto-ver` or the caller).
    SecurityChosen {
        /// The scheme.
        level: SecurityLevel,
        /// The `sec_patch_ver` the device reported (0 when absent).
        patch: u8,
    },
    /// The security handshake started.
    Handshaking,
    /// The handshake completed; the session is encrypted.
    SessionEstablished,
    /// The second handshake attempt with the alternative SRP `x` derivation (for verifiers made by
    /// Espressif's Python generator with a leading-zero inner hash).
    RetryingHandshake,
    /// A Wi-Fi scan started.
    Scanning,
    /// The scan finished with this many networks.
    ScanFinished {
        /// Number of networks reported.
        count: u32,
    },
    /// Sending data to a custom endpoint.
    SendingCustomData {
        /// The endpoint name.
        endpoint: String,
    },
    /// Sending the network credentials.
    SendingCredentials,
    /// Credentials applied; the device is joining the network.
    Applying,
    /// The device is still connecting.
    Connecting {
        /// Status polls so far.
        polls: u32,
        /// Attempts the device still has, when it reports them.
        attempts_remaining: Option<u32>,
    },
    /// The device joined the network.
    Connected,
    /// The device failed to join and was reset (`prov-ctrl` reset) so new credentials can be sent.
    ResetAfterFailure,
    /// RainMaker: assisted claiming started (the device has no node certificate yet).
    Claiming,
    /// RainMaker: the device holds its certificate and calls itself `node_id`.
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
    /// RainMaker: the device took the association; it is node `node_id`.
    Associated {
        /// The node id the device reported.
        node_id: String,
    },
    /// RainMaker: the device has no RainMaker association endpoint (plain ESP-IDF firmware): it
    /// is provisioned without being added to an account.
    NotAssociated,
    /// RainMaker: asking the cloud to confirm the traditional mapping.
    ConfirmingAssociation,
    /// RainMaker: the cloud cannot be reached yet (the phone may still be on the device's
    /// access point); retrying until the confirmation deadline.
    WaitingForCloud,
    /// RainMaker: the node is on the user's account.
    AssociationConfirmed {
        /// The node id.
        node_id: String,
    },
}

/// Receives progress events. Implementations must return quickly.
pub trait ProgressListener: Send + Sync {
    /// Called once per event, in order.
    fn on_progress(&self, event: ProgressEvent);
}

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressListener for F {
    fn on_progress(&self, event: ProgressEvent) {
        self(event)
    }
}

/// A listener that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressListener for NoProgress {
    fn on_progress(&self, _event: ProgressEvent) {}
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

/// A cloneable cancellation token: `cancel()` makes every operation that watches it stop with
/// [`crate::Error::Cancelled`] at its next await point.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

impl CancelToken {
    /// A new, not yet cancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every operation watching this token (idempotent).
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once the token is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag so a concurrent cancel() is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Runs `fut` unless the token is cancelled first.
    pub async fn run<T>(&self, fut: impl std::future::Future<Output = crate::Result<T>>) -> crate::Result<T> {
        if self.is_cancelled() {
            return Err(crate::Error::Cancelled);
        }
        tokio::select! {
            biased;
            () = self.cancelled() => Err(crate::Error::Cancelled),
            r = fut => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_interrupts_a_pending_future() {
        let token = CancelToken::new();
        let t2 = token.clone();
        let task = tokio::spawn(async move {
            t2.run(async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                Ok(())
            })
            .await
        });
        tokio::task::yield_now().await;
        token.cancel();
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        assert!(matches!(r, Ok(Ok(Err(crate::Error::Cancelled)))));
    }

    #[tokio::test]
    async fn cancelled_before_start_never_runs() {
        let token = CancelToken::new();
        token.cancel();
        let ran = std::sync::atomic::AtomicBool::new(false);
        let r = token
            .run(async {
                ran.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(r, Err(crate::Error::Cancelled)));
        assert!(!ran.load(Ordering::SeqCst));
    }
}
