//! How failures of the bindings' own machinery become the core's errors: the one place where a
//! runtime failure (a task that could not start, was aborted or panicked) is mapped.
//!
//! Apps see the core's error types directly: `ProvError` (with `ProvStep`) for device calls,
//! `RainMakerError` for RainMaker calls (its `Device` case holds a `ProvError`), and
//! `TransportError` / `GattLinkError` / `HttpError` thrown by their own adapters.

use rainmaker_prov::error::ProvError;

use crate::runtime::SpawnError;

impl From<SpawnError> for ProvError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::Aborted => ProvError::Cancelled,
            other => ProvError::Internal { detail: other.to_string() },
        }
    }
}

#[cfg(feature = "rainmaker")]
impl From<SpawnError> for rainmaker_prov::rainmaker::RainMakerError {
    fn from(e: SpawnError) -> Self {
        ProvError::from(e).into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn an_aborted_task_is_a_cancellation_and_a_panic_is_internal() {
        assert_eq!(ProvError::from(SpawnError::Aborted), ProvError::Cancelled);
        assert!(matches!(ProvError::from(SpawnError::Panicked), ProvError::Internal { .. }));
        assert!(matches!(ProvError::from(SpawnError::Unavailable("no threads".into())), ProvError::Internal { .. }));
    }

    #[cfg(feature = "rainmaker")]
    #[test]
    fn a_rainmaker_call_reports_the_same_runtime_failures_as_a_device_error() {
        use rainmaker_prov::rainmaker::RainMakerError;
        assert_eq!(RainMakerError::from(SpawnError::Aborted), RainMakerError::Device { error: ProvError::Cancelled });
    }
}
