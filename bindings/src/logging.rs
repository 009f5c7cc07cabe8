//! Forwards the library's `log` records to an app [`Logger`] (Logcat, os_log, ...).
//!
//! One process-wide forwarder is installed on the first `set_logger` call; it passes on only the
//! records of this library's crates, below the level set with `set_max_log_level`. The core never
//! logs secrets. A logger that throws is ignored, and a logger that logs back into the library
//! on the same thread does not recurse.

use std::cell::Cell;
use std::sync::{Arc, PoisonError, RwLock};

use crate::events::CallbackError;

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, uniffi::Enum)]
pub enum LogLevel {
    /// Failures.
    Error,
    /// Suspicious conditions.
    Warn,
    /// Milestones of a flow.
    Info,
    /// Details for debugging.
    Debug,
    /// Every exchange.
    Trace,
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The Rust module that logged it (`rainmaker_prov::session`, ...).
    pub target: String,
    /// The message.
    pub message: String,
}

/// Receives the library's log records, on any thread. Exceptions thrown here are ignored.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    /// One record.
    fn log(&self, record: LogRecord) -> Result<(), CallbackError>;
}

struct Forwarder {
    logger: RwLock<Option<Arc<dyn Logger>>>,
}

static FORWARDER: Forwarder = Forwarder { logger: RwLock::new(None) };

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn is_ours(target: &str) -> bool {
    target.starts_with("rainmaker_prov")
}

impl Forwarder {
    fn current(&self) -> Option<Arc<dyn Logger>> {
        self.logger.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        is_ours(metadata.target()) && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_CALLBACK.with(Cell::get) {
            return;
        }
        let Some(logger) = self.current() else { return };
        IN_CALLBACK.with(|c| c.set(true));
        // A failing app logger has nowhere to report to; the record is dropped.
        let _ = logger.log(LogRecord {
            level: record.level().into(),
            target: record.target().to_owned(),
            message: record.args().to_string(),
        });
        IN_CALLBACK.with(|c| c.set(false));
    }

    fn flush(&self) {}
}

/// Sends the library's log records to `logger` (`null`/`nil` stops forwarding). The first call
/// also sets the level to `Info` unless `set_max_log_level` was called before. If the process
/// already has another Rust logger, that one keeps receiving the records.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>) {
    let enable = logger.is_some();
    *FORWARDER.logger.write().unwrap_or_else(PoisonError::into_inner) = logger;
    if enable && log::set_logger(&FORWARDER).is_ok() && log::max_level() == log::LevelFilter::Off {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// The most detailed level forwarded to the logger.
#[uniffi::export]
pub fn set_max_log_level(level: LogLevel) {
    log::set_max_level(level.into());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl Logger for Collect {
        fn log(&self, record: LogRecord) -> Result<(), CallbackError> {
            self.0.lock().unwrap().push(record);
            Err(CallbackError::Failed { detail: "ignored".into() })
        }
    }

    #[test]
    fn records_of_this_library_are_forwarded_and_others_are_not() {
        let sink = Arc::new(Collect::default());
        set_logger(Some(sink.clone()));
        set_max_log_level(LogLevel::Debug);
        log::debug!(target: "rainmaker_prov::session", "handshake step {}", 2);
        log::trace!(target: "rainmaker_prov::session", "too detailed");
        log::info!(target: "hyper::proto", "not ours");
        set_logger(None);
        log::info!(target: "rainmaker_prov::session", "after removal");
        let got = sink.0.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![LogRecord {
                level: LogLevel::Debug,
                target: "rainmaker_prov::session".into(),
                message: "handshake step 2".into()
            }]
        );
    }
}
