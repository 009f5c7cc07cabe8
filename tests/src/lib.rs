//! Shared fixtures of the end-to-end tests: simulated devices and transports to reach them.

use std::sync::Arc;

use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::sim::console_server::{ConsoleDeviceServer, ConsoleServerHandle};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::sim::http_server::{HttpDeviceServer, HttpServerHandle};
use rainmaker_prov::transport::Transport;
use rainmaker_prov::transport::console::{ConsoleConfig, ConsoleTransport, DEFAULT_BAUD_RATE};
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};
use rainmaker_prov::transport::memory::MemoryTransport;

/// The PoP / SRP password of the fixtures.
pub const POP: &str = "abcd1234";

/// The security setups every end-to-end test runs over.
pub fn all_schemes() -> Vec<(&'static str, SimSecurity)> {
    vec![
        ("sec0", SimSecurity::Sec0),
        ("sec1", SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }),
        ("sec1-no-pop", SimSecurity::Sec1 { pop: None }),
        (
            "sec2-patch0",
            SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch0 },
        ),
        (
            "sec2-patch1",
            SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 },
        ),
    ]
}

/// Session options with [`POP`] and a 5 s exchange timeout.
pub fn pop_options() -> rainmaker_prov::session::SessionOptions {
    rainmaker_prov::session::SessionOptions {
        pop: Some(Secret::from(POP)),
        exchange_timeout: std::time::Duration::from_secs(5),
        ..rainmaker_prov::session::SessionOptions::default()
    }
}

/// Status polling for tests: 20 ms first interval, at most 100 ms, 10 s deadline.
pub fn fast_poll() -> rainmaker_prov::session::PollOptions {
    rainmaker_prov::session::PollOptions {
        deadline: std::time::Duration::from_secs(10),
        initial_interval: std::time::Duration::from_millis(20),
        max_interval: std::time::Duration::from_millis(100),
    }
}

/// A fast simulated device (short join delay, deterministic seed) with the given security.
pub fn fast_config(security: SimSecurity) -> SimConfig {
    let mut config = SimConfig::new(security);
    config.join_delay = std::time::Duration::from_millis(50);
    config.seed = Some(7);
    config
}

/// How a test reaches its simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// In-process.
    Memory,
    /// HTTP on loopback.
    Http,
    /// Serial console on a pseudo-terminal (security 0 and 1 only).
    Console,
}

/// A running simulated device plus a transport to it.
pub struct Fixture {
    /// The device.
    pub device: Arc<SimDevice>,
    /// A transport to it.
    pub transport: Arc<dyn Transport>,
    /// The HTTP server, when served over HTTP (kept alive by the fixture).
    pub server: Option<HttpServerHandle>,
    /// The console server, when served on a pseudo-terminal (kept alive by the fixture).
    pub console: Option<ConsoleServerHandle>,
}

impl Fixture {
    /// Starts `config` as a device reachable `via` a transport. Needs a tokio runtime for
    /// [`Via::Http`] and [`Via::Console`].
    pub fn start(config: SimConfig, via: Via) -> std::io::Result<Self> {
        let device = SimDevice::new(config);
        match via {
            Via::Memory => Ok(Self {
                transport: Arc::new(MemoryTransport::new(device.clone())),
                device,
                server: None,
                console: None,
            }),
            Via::Http => {
                let server = HttpDeviceServer::bind(([127, 0, 0, 1], 0).into(), device.clone())?.spawn();
                let mut http = HttpConfig { host: server.host(), ..HttpConfig::default() };
                http.request_timeout = std::time::Duration::from_secs(5);
                let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(http));
                Ok(Self { device, transport, server: Some(server), console: None })
            }
            Via::Console => {
                let console = ConsoleDeviceServer::new(device.clone()).spawn_pty()?;
                let path = console
                    .pty_path()
                    .and_then(|path| path.to_str())
                    .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no UTF-8 path"))?
                    .to_owned();
                let config = ConsoleConfig { request_timeout: std::time::Duration::from_secs(5) };
                let transport: Arc<dyn Transport> = Arc::new(
                    ConsoleTransport::open_serial(&path, DEFAULT_BAUD_RATE, config).map_err(std::io::Error::other)?,
                );
                Ok(Self { device, transport, server: None, console: Some(console) })
            }
        }
    }
}

/// Captures every `log` record of the test process (for checks that no secret is logged).
pub mod log_capture {
    use std::sync::Mutex;

    static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {}", record.target(), record.args());
            RECORDS.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }

        fn flush(&self) {}
    }

    /// Installs the capturing logger at trace level (once per process; later calls do nothing).
    pub fn install() {
        if log::set_logger(&Capture).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    }

    /// Every record captured so far, as `target message`.
    pub fn records() -> Vec<String> {
        RECORDS.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
