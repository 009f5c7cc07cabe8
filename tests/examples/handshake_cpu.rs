//! Driver of `scripts/bench-srp-cpu.sh`: a simulated device on loopback HTTP, or a phone-side
//! client that runs N provisioning sessions (proto-ver + the `prov-session` handshake) against it.
//!
//! ```text
//! handshake_cpu sim --sec 1|2                       # prints "listening on ADDR", serves until stdin closes
//! handshake_cpu client --host ADDR --sec 1|2 --sessions N
//! ```
//!
//! The client does nothing else, so that its process CPU time for N sessions minus its CPU time for
//! 0 sessions is the cost of N sessions (see tests/interop/bench_srp_cpu.py).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::session::{DeviceSession, SessionOptions};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::sim::http_server::HttpDeviceServer;
use rainmaker_prov::transport::Transport;
use rainmaker_prov::transport::http::{HttpConfig, HttpTransport};

/// PoP (security 1) and SRP password (security 2, username `wifiprov`).
const POP: &str = "abcd1234";

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn security(sec: u8) -> SimSecurity {
    match sec {
        1 => SimSecurity::Sec1 { pop: Some(Secret::from(POP)) },
        2 => SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 },
        other => panic!("--sec {other}: only 1 and 2"),
    }
}

fn run_sim(sec: u8) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let device = SimDevice::new(SimConfig::new(security(sec)));
        let server = HttpDeviceServer::bind(([127, 0, 0, 1], 0).into(), device).unwrap().spawn();
        println!("listening on {}", server.host());
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes our stdin.
        tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await.unwrap();
        server.shutdown().await;
    });
}

fn run_client(host: String, sec: u8, sessions: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for _ in 0..sessions {
            let http = HttpConfig { host: host.clone(), ..HttpConfig::default() };
            let transport: Arc<dyn Transport> = Arc::new(HttpTransport::new(http));
            let options = SessionOptions {
                pop: Some(Secret::from(POP)),
                exchange_timeout: Duration::from_secs(10),
                ..SessionOptions::default()
            };
            let session = DeviceSession::new(transport, options);
            let info = session.connect().await.unwrap();
            assert_eq!(info.security.number(), sec, "the device runs another scheme");
            session.disconnect().await;
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sec: u8 = arg(&args, "--sec").map(|s| s.parse().unwrap()).unwrap_or(2);
    match args.get(1).map(String::as_str) {
        Some("sim") => run_sim(sec),
        Some("client") => {
            let host = arg(&args, "--host").expect("--host ADDR");
            let sessions = arg(&args, "--sessions").map(|s| s.parse().unwrap()).unwrap_or(1);
            run_client(host, sec, sessions);
        }
        _ => {
            eprintln!("usage: handshake_cpu sim --sec 1|2 | client --host ADDR --sec 1|2 --sessions N");
            std::process::exit(2);
        }
    }
}
