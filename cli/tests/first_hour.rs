//! A newcomer's first hour with `rainmaker-prov`: the README's CLI block run as written, and the
//! messages a first try runs into (wrong `--sec`, missing PoP, a Thread dataset for a Wi-Fi
//! device, BLE in a build without it, the simulator's own options, the join spinner).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{BIN, Sim};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The commands of the README's first CLI block (after `## CLI`), continuation lines joined,
/// comments dropped, each split into words (the block uses no quoting).
fn readme_first_cli_block() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = &readme[readme.find("\n## CLI\n").expect("a `## CLI` section")..];
    let start = section.find("```sh\n").expect("a sh block in `## CLI`") + "```sh\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                commands.push(current.split_whitespace().map(str::to_owned).collect());
                current.clear();
            }
        }
    }
    assert!(current.is_empty(), "a continuation line ends the block");
    commands
}

#[test]
fn the_readme_cli_block_runs_in_order() {
    let commands = readme_first_cli_block();
    let verbs: Vec<&str> = commands.iter().map(|c| c.get(1).map_or("", String::as_str)).collect();
    assert_eq!(verbs, ["sim", "provision", "scan", "provision"], "{commands:?}");
    assert!(commands.iter().all(|c| c[0] == "rainmaker-prov"), "{commands:?}");

    // The documented address is replaced by a free port; everything else runs as written.
    let readme_addr = "127.0.0.1:8080";
    let sim_args: Vec<String> =
        commands[0][2..].iter().map(|a| if a == readme_addr { "127.0.0.1:0".to_owned() } else { a.clone() }).collect();
    assert!(commands[0].iter().any(|a| a == readme_addr), "{:?}", commands[0]);
    let sim = Sim::start(&sim_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(sim.first_line.contains("(security 2)"), "{}", sim.first_line);

    let mut outputs = Vec::new();
    for command in &commands[1..] {
        let args: Vec<&str> =
            command[1..].iter().map(|a| if a == readme_addr { sim.addr.as_str() } else { a.as_str() }).collect();
        let out = run(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{stdout}\n{stderr}");
        outputs.push(stdout);
    }
    let first: serde_json::Value = serde_json::from_str(outputs[0].trim()).unwrap();
    assert_eq!(first["ok"], true);
    assert_eq!(first["ssid"], "RefPeer-Home");
    assert_eq!(first["security"], 2);
    assert!(outputs[1].lines().any(|l| l.starts_with("RefPeer-Office")), "{}", outputs[1]);
    assert!(outputs[1].lines().count() >= 10, "{}", outputs[1]);
    assert!(outputs[2].contains("joined `RefPeer-Office`"), "{}", outputs[2]);
}

#[test]
fn a_forced_scheme_the_device_does_not_use_is_named_with_the_fix() {
    let sim = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "2", "--pop", "abcd1234", "--join-delay-ms", "50"]);
    for forced in [&["--sec", "1"][..], &["--sec", "0", "--min-sec", "0"]] {
        let mut args = vec!["provision", "--host", &sim.addr, "--pop", "abcd1234", "--ssid", "RefPeer-Home"];
        args.extend_from_slice(forced);
        let out = run(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let chosen = format!("security {} was chosen", forced[1]);
        assert!(stderr.contains(&chosen) && stderr.contains("the device reports security 2"), "{stderr}");
        assert!(stderr.contains("hint: drop --sec to use what the device reports, or give --sec 2"), "{stderr}");
        assert!(!stderr.contains("rejected handshake"), "{stderr}");
    }
    let out = run(&["scan", "--host", &sim.addr, "--pop", "abcd1234", "--sec", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "security_mismatch");
    assert_eq!(v["exit_code"], 2);
    assert!(v["hint"].as_str().unwrap().contains("--sec 2"), "{v}");
}

#[test]
fn a_missing_pop_names_the_option_that_gives_it() {
    let sec1 = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "1", "--pop", "abcd1234"]);
    let out = run(&["provision", "--host", &sec1.addr, "--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("security 1 with a proof of possession (PoP) and none was given"), "{stderr}");
    assert!(stderr.contains("hint: give the PoP with --pop"), "{stderr}");

    let sec2 = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "2", "--pop", "abcd1234"]);
    let out = run(&["provision", "--host", &sec2.addr, "--ssid", "RefPeer-Home", "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--sec2-password"), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["error"], "credentials_required");
}

/// A complete Thread dataset for the simulator's `OpenThread-Home` network, as hex.
fn thread_dataset_hex() -> String {
    let tlvs: [(u8, &[u8]); 6] = [
        (0, &[0, 0, 15]),
        (1, &[0x12, 0x34]),
        (2, &[0xde, 0xad, 0x00, 0xbe, 0xef, 0x00, 0xca, 0xfe]),
        (3, b"OpenThread-Home"),
        (5, &[0x5e; 16]),
        (7, &[0xfd, 0xde, 0xad, 0x00, 0xbe, 0xef, 0, 0]),
    ];
    let mut bytes = Vec::new();
    for (t, value) in tlvs {
        bytes.push(t);
        bytes.push(value.len() as u8);
        bytes.extend_from_slice(value);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn thread_on_a_wifi_device_is_refused_and_a_thread_outcome_is_structured_json() {
    let dataset = thread_dataset_hex();
    let wifi = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "1", "--pop", "abcd1234"]);
    let out = run(&["provision", "--host", &wifi.addr, "--pop", "abcd1234", "--thread-dataset", &dataset]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not support Thread provisioning"), "{stderr}");
    assert!(stderr.contains("its proto-ver capabilities are [wifi_scan]"), "{stderr}");
    assert!(stderr.contains("hint: this device takes Wi-Fi credentials: use --ssid"), "{stderr}");
    assert!(!stderr.contains("disconnected"), "{stderr}");

    let thread = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "1", "--pop", "abcd1234", "--thread"]);
    let out = run(&["provision", "--host", &thread.addr, "--pop", "abcd1234", "--thread-dataset", &dataset, "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["network"], "thread");
    assert_eq!(v["thread_state"], "attached");
    assert_eq!(v["network_name"], "OpenThread-Home");
    assert_eq!(v["pan_id"], 0x1234);
    assert_eq!(v["ext_pan_id"], "dead00beef00cafe");
    assert_eq!(v["channel"], 15);
    assert!(v.get("status").is_none(), "{v}");
    let out = run(&["provision", "--host", &thread.addr, "--pop", "abcd1234", "--thread-dataset", &dataset]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("attached to the Thread network `OpenThread-Home` (PAN ID 0x1234"), "{stdout}");
}

#[cfg(not(feature = "ble"))]
#[test]
fn ble_in_a_build_without_it_says_how_to_get_it() {
    let out = run(&["provision", "--transport", "ble", "--pop", "abcd1234", "--ssid", "Home"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("built without Bluetooth LE"), "{stderr}");
    assert!(stderr.contains("cargo install --locked --path cli --features ble"), "{stderr}");
}

#[test]
fn the_simulator_options_speak_for_the_device() {
    // No `auto` for a device: it decides its scheme.
    let out = run(&["sim", "--sec", "auto"]);
    assert_eq!(out.status.code(), Some(2));
    for command in ["sim", "demo"] {
        let help = String::from_utf8_lossy(&run(&[command, "--help"]).stdout).into_owned();
        assert!(!help.contains("- auto"), "{command} --help: {help}");
        assert!(!help.contains("Detect from"), "{command} --help: {help}");
        assert!(help.contains("Security scheme of the"), "{command} --help: {help}");
    }
    // The console simulator defaults to security 1, which its transport can carry.
    let console = Sim::start(&["--transport", "console", "--pop", "abcd1234"]);
    assert!(console.first_line.contains("(security 1)"), "{}", console.first_line);
}

#[test]
fn demo_with_security_0_does_not_talk_of_a_pop_or_a_secure_session() {
    let out = run(&["demo", "--sec", "0"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("joined `RefPeer-Home`"), "{stdout}");
    assert!(stderr.contains("security 0: no PoP, nothing encrypted"), "{stderr}");
    assert!(stderr.contains("session open (unencrypted)"), "{stderr}");
    assert!(!stderr.contains("secure session") && !stderr.contains("label"), "{stderr}");
}

#[test]
fn auto_stop_says_so_on_stdout() {
    let sim = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "1", "--pop", "abcd1234", "--auto-stop"]);
    let args = ["provision", "--host", &sim.addr, "--pop", "abcd1234", "--ssid", "RefPeer-Home", "--passphrase"];
    let out = run(&[&args[..], &["secretpass"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let line = sim.wait_for_line("provisioning stopped", Duration::from_secs(20));
    let line = line.expect("the simulator announces the end of provisioning");
    assert!(line.contains("--auto-stop") && line.contains("restart the simulator"), "{line}");
    // And it means it: the device answers nothing now.
    let out = run(&["scan", "--host", &sim.addr, "--pop", "abcd1234", "--timeout", "10"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out).1);
}

/// Runs `command` in a pseudo-terminal (`script` from util-linux) with no input; returns what the
/// terminal showed.
fn in_terminal(command: &str) -> (Option<i32>, String) {
    let mut child = Command::new("script")
        .args(["-qefc", command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` from util-linux (scripts/test-all.sh installs it)");
    let mut shown = String::new();
    child.stdout.take().unwrap().read_to_string(&mut shown).unwrap();
    let status = child.wait().unwrap();
    (status.code(), shown)
}

#[test]
fn a_terminal_gets_a_join_spinner_and_a_pipe_gets_plain_lines() {
    let sim = Sim::start(&["--listen", "127.0.0.1:0", "--sec", "1", "--pop", "abcd1234", "--join-delay-ms", "1500"]);
    let command =
        format!("{BIN} provision --host {} --pop abcd1234 --ssid RefPeer-Home --passphrase secretpass", sim.addr);
    let (code, shown) = in_terminal(&command);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("waiting for the device to join"), "{shown}");
    assert!(shown.contains("still connecting (poll"), "{shown}");
    // The spinner redraws its line in place (carriage return / erase) and shows the elapsed time.
    // (Not `\r` alone: the pseudo-terminal turns every newline into `\r\n`.)
    assert!(shown.contains("\x1b[2K"), "{shown:?}");
    assert!(shown.contains("1s") || shown.contains("2s"), "{shown:?}");
    assert!(shown.contains("device connected") && shown.contains("joined `RefPeer-Home`"), "{shown}");

    // Not a terminal: one plain line per poll, no escape sequences.
    let out = run(&[
        "provision",
        "--host",
        &sim.addr,
        "--pop",
        "abcd1234",
        "--ssid",
        "RefPeer-Home",
        "--passphrase",
        "secretpass",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.lines().filter(|l| l.contains("still connecting (poll")).count() >= 2, "{stderr}");
    assert!(!stderr.contains('\x1b') && !stderr.contains('\r'), "{stderr:?}");
}
