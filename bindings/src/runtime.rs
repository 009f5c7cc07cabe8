//! The bindings' own tokio runtime, on which every exported async call runs.
//!
//! Exported async functions are polled by the host language's executor (a Kotlin coroutine
//! dispatcher, a Swift task). Running the work itself there would put the SRP arithmetic on the
//! app's threads and would leave the core without the tokio timers it needs, so each call is
//! spawned onto this runtime and the exported future only awaits its completion. Dropping that
//! future (the Kotlin coroutine was cancelled) aborts the spawned task: nothing runs detached.

use std::any::Any;
use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// Why a spawned call produced no result of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpawnError {
    /// The runtime could not be started (the OS refused to create its threads).
    #[error("the async runtime could not be started: {0}")]
    Unavailable(String),
    /// The task was aborted before it finished.
    #[error("the operation was aborted")]
    Aborted,
    /// The task panicked (a bug; the panic message is not forwarded).
    #[error("internal error: the operation panicked")]
    Panicked,
}

fn runtime() -> Result<&'static Runtime, SpawnError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("rainmaker-prov")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| SpawnError::Unavailable(e.clone()))
}

/// Aborts the task when the awaiting future is dropped before it completes.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on the bindings' runtime and waits for its output.
pub(crate) async fn spawn<F>(fut: F) -> Result<F::Output, SpawnError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Every call goes through one task type (a boxed future with a boxed output): tokio's task
    // machinery is instantiated once instead of once per exported function, which keeps the
    // mobile library small.
    let erased: ErasedFuture = Box::pin(async move { Box::new(fut.await) as Box<dyn Any + Send> });
    let mut task = AbortOnDrop(runtime()?.spawn(erased));
    match (&mut task.0).await {
        Ok(output) => output.downcast::<F::Output>().map(|b| *b).map_err(|_| SpawnError::Aborted),
        Err(e) if e.is_panic() => Err(SpawnError::Panicked),
        Err(_) => Err(SpawnError::Aborted),
    }
}

/// The one future type the runtime runs.
type ErasedFuture = std::pin::Pin<Box<dyn Future<Output = Box<dyn Any + Send>> + Send>>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn spawned_future_runs_on_the_runtime_without_an_ambient_one() {
        let out = futures_lite_block_on(spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            41 + 1
        }));
        assert_eq!(out, Ok(42));
    }

    #[test]
    fn a_panicking_task_becomes_an_error() {
        let out = futures_lite_block_on(spawn(async {
            if std::env::var_os("PATH").is_some() {
                panic!("boom");
            }
        }));
        assert_eq!(out, Err(SpawnError::Panicked));
    }

    /// Polls a future on the current thread with a separate single-thread runtime, as a
    /// foreign executor would (the bindings' runtime does the work).
    fn futures_lite_block_on<F: Future>(fut: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(fut)
    }
}
