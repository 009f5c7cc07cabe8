//! Interactive prompts on a pseudo-terminal (`script` from util-linux): Ctrl-C at every prompt
//! exits with 130 and gives the terminal back with its echo on, a wrong network choice is
//! explained and asked again, the Wi-Fi passphrase is asked for (hidden) when only `--ssid` is
//! given, except for an open network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;

use common::{BIN, Sim};

/// Bound on every wait: the tests run in parallel on small machines.
const PATIENCE: Duration = Duration::from_secs(120);

/// A simulated SoftAP device (security 1, PoP `abcd1234`).
fn start_sim() -> Sim {
    Sim::softap(&["--sec", "1", "--pop", "abcd1234"])
}

/// The `provision` command line for `sim` (shell words), plus `extra`.
fn provision_cmd(sim: &Sim, extra: &str) -> String {
    format!("{BIN} provision --transport softap --host {} --pop abcd1234 --timeout 90 {extra}", sim.addr)
}

/// A shell command run by `script` on a new pseudo-terminal; what the terminal shows is collected
/// by a thread as it comes. Killed on drop.
struct Pty {
    child: Child,
    stdin: Option<ChildStdin>,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    /// Runs `command` with bash (which goes on with the next command when the program it waits
    /// for handles Ctrl-C itself and exits, unlike dash).
    fn spawn(command: &str) -> Pty {
        let mut child = Command::new("script")
            .args(["-qec", command, "/dev/null"])
            .env("SHELL", "/bin/bash")
            .env_remove("RAINMAKER_PROV_PASSPHRASE")
            .env_remove("RAINMAKER_PROV_CLOUD_PASSWORD")
            .env_remove("RAINMAKER_PROV_CLOUD_CODE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("`script` from util-linux");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty { child, stdin, screen, reader: Some(reader) }
    }

    /// What the terminal showed so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `needle` has appeared `count` times; returns the screen.
    fn wait_for(&self, needle: &str, count: usize) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if text.matches(needle).count() >= count {
                return text;
            }
            assert!(start.elapsed() < PATIENCE, "no {needle:?} (x{count}) after {PATIENCE:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types on the terminal.
    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the end; returns `script`'s exit code (the last command's) and the screen.
    fn finish(mut self) -> (Option<i32>, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < PATIENCE, "still running after {PATIENCE:?}:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code(), self.text())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number the scan table gives the first network whose line contains `name`.
fn number_of(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find_map(|line| {
            let (number, rest) = line.trim_start().split_once(". ")?;
            (rest.contains(name) && number.chars().all(|c| c.is_ascii_digit())).then(|| number.to_owned())
        })
        .unwrap_or_else(|| panic!("no network {name:?} in\n{screen}"))
}

/// After `; echo "exit=$?"; stty -a`: the program's exit code was `code` and the terminal has its
/// echo on again.
fn assert_exit_and_echo(screen: &str, code: i32) {
    assert!(screen.contains(&format!("exit={code}")), "{screen}");
    let settings = &screen[screen.rfind("exit=").unwrap()..];
    assert!(settings.contains(" echo "), "{settings}");
    assert!(!settings.contains("-echo "), "{settings}");
}

/// The error line starts on a line of its own (Ctrl-C's `^C` is followed by a newline).
fn assert_cancelled_on_a_fresh_line(screen: &str) {
    assert!(screen.contains("\nerror: cancelled"), "{screen}");
}

#[test]
fn ctrl_c_at_the_network_choice_exits_130() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&format!("{}; echo \"exit=$?\"; stty -a", provision_cmd(&sim, "")));
    pty.wait_for("Pick a network [1-16]: ", 1);
    pty.send(b"\x03");
    let (_, screen) = pty.finish();
    assert_cancelled_on_a_fresh_line(&screen);
    assert_exit_and_echo(&screen, 130);
}

#[test]
fn ctrl_c_at_the_ssid_of_a_hidden_network_exits_130() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&provision_cmd(&sim, ""));
    let screen = pty.wait_for("Pick a network [1-16]: ", 1);
    let hidden = number_of(&screen, "<hidden>");
    pty.send(format!("{hidden}\n").as_bytes());
    pty.wait_for("Hidden network: SSID: ", 1);
    pty.send(b"\x03");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(130), "{screen}");
    assert_cancelled_on_a_fresh_line(&screen);
}

#[test]
fn ctrl_c_at_the_hidden_passphrase_exits_130_and_gives_the_echo_back() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&format!("{}; echo \"exit=$?\"; stty -a", provision_cmd(&sim, "")));
    let screen = pty.wait_for("Pick a network [1-16]: ", 1);
    let office = number_of(&screen, "RefPeer-Office");
    pty.send(format!("{office}\n").as_bytes());
    pty.wait_for("Passphrase for `RefPeer-Office` (hidden): ", 1);
    // Half a passphrase typed, then Ctrl-C: nothing of it shows, the echo comes back.
    pty.send(b"officep");
    std::thread::sleep(Duration::from_millis(200));
    pty.send(b"\x03");
    let (_, screen) = pty.finish();
    assert!(!screen.contains("officep"), "{screen}");
    assert_cancelled_on_a_fresh_line(&screen);
    assert_exit_and_echo(&screen, 130);
}

#[test]
fn a_wrong_choice_is_explained_and_asked_again() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&provision_cmd(&sim, ""));
    let prompt = "Pick a network [1-16]: ";
    let screen = pty.wait_for(prompt, 1);
    let office = number_of(&screen, "RefPeer-Office");
    let answers: [&[u8]; 4] = [b"abc\n", b"\n", b"0\n", b"99\n"];
    for (i, answer) in answers.iter().enumerate() {
        pty.send(answer);
        pty.wait_for(prompt, i + 2);
    }
    pty.send(format!("{office}\n").as_bytes());
    pty.wait_for("Passphrase for `RefPeer-Office` (hidden): ", 1);
    pty.send(b"officepass\n");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("`abc` is not a number: type a number from 1 to 16."), "{screen}");
    assert!(screen.contains("Please type the number of a network, 1 to 16."), "{screen}");
    assert!(screen.contains("There is no network 0: type a number from 1 to 16."), "{screen}");
    assert!(screen.contains("There is no network 99: type a number from 1 to 16."), "{screen}");
    assert!(screen.contains("joined `RefPeer-Office`"), "{screen}");
    assert!(!screen.contains("officepass"), "the passphrase was echoed:\n{screen}");
}

#[test]
fn the_end_of_the_input_at_the_choice_is_an_error_not_a_loop() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&provision_cmd(&sim, ""));
    pty.wait_for("Pick a network [1-16]: ", 1);
    pty.send(b"\x04"); // Ctrl-D on an empty line: end of input
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("no answer: the input ended"), "{screen}");
    assert_eq!(screen.matches("Pick a network").count(), 1, "{screen}");
}

#[test]
fn an_ssid_without_passphrase_on_a_terminal_asks_for_it_hidden() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&provision_cmd(&sim, "--ssid RefPeer-Home"));
    pty.wait_for("Passphrase for `RefPeer-Home` (hidden): ", 1);
    pty.send(b"secretpass\n");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("joined `RefPeer-Home`"), "{screen}");
    assert!(!screen.contains("secretpass"), "the passphrase was echoed:\n{screen}");
    assert!(!screen.contains("not seen"), "{screen}");
}

#[test]
fn an_open_network_given_with_ssid_needs_no_passphrase() {
    let sim = start_sim();
    let pty = Pty::spawn(&provision_cmd(&sim, "--ssid 'Open Cafe Wi-Fi'"));
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("`Open Cafe Wi-Fi` is an open network"), "{screen}");
    assert!(!screen.contains("Passphrase"), "{screen}");
    assert!(screen.contains("joined `Open Cafe Wi-Fi`"), "{screen}");
}

#[test]
fn an_ssid_missing_from_the_scan_asks_and_takes_an_empty_passphrase() {
    let sim = start_sim();
    let mut pty = Pty::spawn(&provision_cmd(&sim, "--ssid Nowhere-Net"));
    pty.wait_for("Passphrase for `Nowhere-Net` (hidden): ", 1);
    pty.send(b"\n");
    let (code, screen) = pty.finish();
    assert!(screen.contains("`Nowhere-Net` was not seen in the device's scan"), "{screen}");
    // The empty answer is taken (no second question); the device cannot find the network.
    assert_eq!(screen.matches("Passphrase for").count(), 1, "{screen}");
    assert_eq!(code, Some(5), "{screen}");
}

#[test]
fn without_a_terminal_an_ssid_without_passphrase_sends_an_empty_one() {
    let sim = start_sim();
    let out = Command::new(BIN)
        .args(["provision", "--transport", "softap", "--host", &sim.addr, "--pop", "abcd1234", "--timeout", "90"])
        .args(["--ssid", "RefPeer-Home", "--json"])
        .env_remove("RAINMAKER_PROV_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "wifi_auth_failed", "{v}");
    assert!(!stderr.contains("Passphrase") && !stderr.contains("scanning"), "{stderr}");
}

#[test]
fn ctrl_c_at_the_login_password_exits_130_and_gives_the_echo_back() {
    let dir = std::env::temp_dir().join(format!("rainmaker-prov-prompts-{}", std::process::id()));
    let login = format!("XDG_CONFIG_HOME={} {BIN} login --email a@b.c --cloud-url http://127.0.0.1:1/", dir.display());
    let mut pty = Pty::spawn(&format!("{login}; echo \"exit=$?\"; stty -a"));
    pty.wait_for("RainMaker password for a@b.c: ", 1);
    pty.send(b"hunter");
    std::thread::sleep(Duration::from_millis(200));
    pty.send(b"\x03");
    let (_, screen) = pty.finish();
    assert!(!screen.contains("hunter"), "{screen}");
    assert_cancelled_on_a_fresh_line(&screen);
    assert_exit_and_echo(&screen, 130);
    assert!(!dir.exists(), "nothing is saved");
}
