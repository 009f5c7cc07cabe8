//! What the CLI's test files share: a `rainmaker-prov sim` process started and read the way a
//! user starts it, killed when the test ends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The program under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rainmaker-prov");

/// A `rainmaker-prov sim` process, killed on drop. `addr` is where it listens: `host:port` for
/// SoftAP, the pseudo-terminal's path for the console. Its stdout lines after the first are
/// collected on a thread.
pub struct Sim {
    child: Child,
    /// Where the simulator listens.
    pub addr: String,
    /// Its first stdout line (`rainmaker-prov sim: listening on <where> (security N)`).
    pub first_line: String,
    lines: mpsc::Receiver<String>,
}

impl Sim {
    /// Runs `rainmaker-prov sim ARGS` and waits for its first line.
    pub fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(BIN)
            .arg("sim")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        reader.read_line(&mut first_line).unwrap();
        let addr = first_line
            .strip_prefix("rainmaker-prov sim: listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first_line:?}"))
            .to_owned();
        Sim { child, addr, first_line, lines: forward_lines(reader) }
    }

    /// A SoftAP simulator on a free loopback port with a 50 ms join (unless `args` sets one).
    pub fn softap(args: &[&str]) -> Sim {
        let mut all = vec!["--transport", "softap", "--listen", "127.0.0.1:0"];
        if !args.contains(&"--join-delay-ms") {
            all.extend(["--join-delay-ms", "50"]);
        }
        all.extend_from_slice(args);
        Sim::start(&all)
    }

    /// Waits up to `limit` for a stdout line containing `needle`.
    pub fn wait_for_line(&self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }
}

fn forward_lines(reader: BufReader<ChildStdout>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
