//! In-process transport to a simulated device ([`DeviceLink`]), for tests, demos and app UI tests.
//!
//! The transport opens a device session lazily on the first exchange (and again after
//! [`Transport::disconnect`]), applies the device's artificial latency, and maps device failures to
//! the transport errors a real link would produce. It can also imitate another link's size limit
//! (for example BLE/Bluedroid's 481 bytes) so that size handling above it can be tested in-process.
#![cfg(feature = "device")] // The device side it talks to lives in the simulator.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::{Transport, TransportError, TransportKind};
use crate::sim::{DeviceFailure, DeviceLink};

/// The largest request or response Bluedroid carries when the firmware supports security 2
/// (docs/protocol.md §5.1.4). Handy for [`MemoryTransport::with_limit`].
pub const BLUEDROID_SEC2_MAX_PAYLOAD: usize = super::gatt_driver::DEFAULT_MAX_PAYLOAD;

/// Transport that hands every request straight to a [`DeviceLink`] in the same process.
pub struct MemoryTransport {
    link: Arc<dyn DeviceLink>,
    kind: TransportKind,
    max_payload: Option<usize>,
    /// The open device session, if any, tagged with the disconnect generation it belongs to.
    state: Mutex<SessionState>,
    /// Serialises exchanges: one request in flight at a time.
    gate: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct SessionState {
    session: Option<u32>,
    generation: u64,
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport")
            .field("kind", &self.kind)
            .field("max_payload", &self.max_payload)
            .finish_non_exhaustive()
    }
}

impl MemoryTransport {
    /// A transport of kind [`TransportKind::Memory`] without a size limit.
    pub fn new(link: Arc<dyn DeviceLink>) -> Self {
        Self::with_limit(link, TransportKind::Memory, None)
    }

    /// A transport that declares itself as `kind` and carries at most `max_payload` bytes in each
    /// direction.
    ///
    /// With a limit, a larger request fails with [`TransportError::PayloadTooLarge`] before the
    /// device sees it, and a larger response (the device did handle the request) fails with
    /// [`TransportError::Disconnected`] and ends the session, as Bluedroid v5.5.5 rejects the write.
    /// With `kind` [`TransportKind::Ble`], a device failure also ends the session (Bluedroid drops
    /// the link); otherwise the session survives it, as an HTTP cookie session does.
    pub fn with_limit(link: Arc<dyn DeviceLink>, kind: TransportKind, max_payload: Option<usize>) -> Self {
        Self { link, kind, max_payload, state: Mutex::new(SessionState::default()), gate: tokio::sync::Mutex::new(()) }
    }

    /// The device session currently open through this transport, if any.
    pub fn session_id(&self) -> Option<u32> {
        self.lock_state().session
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        // The state is two plain integers: a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the open session, opening a new one on the device when there is none.
    fn session(&self) -> (u32, u64) {
        let mut state = self.lock_state();
        if let Some(id) = state.session {
            return (id, state.generation);
        }
        let id = self.link.new_session_id();
        self.link.open_session(id);
        log::debug!("memory transport: opened device session");
        state.session = Some(id);
        (id, state.generation)
    }

    /// Forgets the current session unless a disconnect already replaced it since `generation`.
    fn drop_session(&self, generation: u64) {
        let mut state = self.lock_state();
        if state.generation == generation {
            state.session = None;
            state.generation = state.generation.wrapping_add(1);
        }
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(&self, endpoint: String, data: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let _exchange = self.gate.lock().await;
        if let Some(limit) = self.max_payload
            && data.len() > limit
        {
            return Err(TransportError::payload_too_large(data.len(), limit));
        }
        let (session_id, generation) = self.session();
        log::debug!("memory transport: {} bytes to `{endpoint}`", data.len());

        let latency = self.link.exchange_latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }

        // The device handler is synchronous and may be CPU-heavy (SRP): keep it off the reactor.
        let link = Arc::clone(&self.link);
        let handler_endpoint = endpoint.clone();
        let outcome = tokio::task::spawn_blocking(move || link.handle(session_id, &handler_endpoint, &data))
            .await
            .unwrap_or_else(|join_error| Err(DeviceFailure::Failed(join_error.to_string())));

        match outcome {
            Ok(response) => {
                if let Some(limit) = self.max_payload
                    && response.len() > limit
                {
                    self.drop_session(generation);
                    return Err(TransportError::Disconnected {
                        detail: format!("response of {} bytes exceeds the link limit of {limit} bytes", response.len()),
                    });
                }
                log::debug!("memory transport: {} bytes from `{endpoint}`", response.len());
                Ok(response)
            }
            Err(DeviceFailure::UnknownEndpoint(name)) => Err(TransportError::EndpointNotFound { endpoint: name }),
            Err(_) => {
                // The failure text comes from the device side; keep it out of the log.
                log::debug!("memory transport: `{endpoint}` failed on the device");
                if self.kind == TransportKind::Ble {
                    self.drop_session(generation);
                }
                Err(TransportError::ClosedWithoutResponse)
            }
        }
    }

    fn max_payload(&self) -> Option<usize> {
        self.max_payload
    }

    fn kind(&self) -> TransportKind {
        self.kind
    }

    async fn disconnect(&self) {
        let mut state = self.lock_state();
        state.session = None;
        state.generation = state.generation.wrapping_add(1);
    }
}
