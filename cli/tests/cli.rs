//! The `rainmaker-prov` command as scripts use it: the simulator, provisioning, scanning, JSON
//! output and every documented exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{BIN, Sim};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).stdin(Stdio::null()).output().unwrap()
}

fn provision(sim_addr: &str, extra: &[&str]) -> Output {
    let mut args = vec!["provision", "--transport", "softap", "--host", sim_addr, "--json"];
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout", "20"]);
    }
    args.extend_from_slice(extra);
    run(&args)
}

fn json_of(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {text:?}"))
}

#[test]
fn provisions_the_simulator_for_every_scheme() {
    for (sim_args, prov_args) in [
        (vec!["--sec", "0"], vec!["--min-sec", "0"]),
        (vec!["--sec", "1", "--pop", "abcd1234"], vec!["--pop", "abcd1234"]),
        (vec!["--sec", "2", "--pop", "abcd1234", "--sec-patch-ver", "0"], vec!["--pop", "abcd1234"]),
        (vec!["--sec", "2", "--pop", "abcd1234"], vec!["--pop", "abcd1234"]),
    ] {
        let sim = Sim::softap(&sim_args);
        let mut args = prov_args.clone();
        args.extend(["--ssid", "RefPeer-Home", "--passphrase", "secretpass", "--custom-data", "custom-data=hi"]);
        let out = provision(&sim.addr, &args);
        assert_eq!(out.status.code(), Some(0), "{sim_args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let v = json_of(&out);
        assert_eq!(v["ok"], true);
        assert_eq!(v["ssid"], "RefPeer-Home");
        assert_eq!(v["custom_responses"]["custom-data"], "hi");
    }
}

#[test]
fn qr_code_gives_the_pop_and_username() {
    let sim = Sim::softap(&["--sec", "2", "--pop", "abcd1234", "--username", "threadprov"]);
    let qr = r#"{"ver":"v1","name":"PROV_1A2B3C","username":"threadprov","pop":"abcd1234","transport":"softap"}"#;
    let out = provision(&sim.addr, &["--qrcode", qr, "--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["security"], 2);
}

#[test]
fn scan_lists_the_networks_as_json() {
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234"]);
    let out = run(&["scan", "--transport", "softap", "--host", &sim.addr, "--pop", "abcd1234", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    let nets = v["networks"].as_array().unwrap();
    assert_eq!(nets.len(), 16);
    assert_eq!(nets[0]["ssid"], "RefPeer-Home");
}

#[test]
fn exit_code_2_for_usage_errors() {
    assert_eq!(run(&["provision", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(run(&["provision", "--min-sec", "7", "--ssid", "x", "--host", "127.0.0.1:9"]).status.code(), Some(2));
    // No SSID and no terminal to pick from.
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234"]);
    assert_eq!(provision(&sim.addr, &["--pop", "abcd1234"]).status.code(), Some(2));
}

#[test]
fn exit_code_3_for_a_wrong_pop_without_echoing_it() {
    for sec in ["1", "2"] {
        let sim = Sim::softap(&["--sec", sec, "--pop", "abcd1234"]);
        let out =
            provision(&sim.addr, &["--pop", "WRONGPOP99", "--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
        assert_eq!(out.status.code(), Some(3), "sec {sec}");
        assert_eq!(json_of(&out)["error"], "wrong_credentials");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains("WRONGPOP99") && !all.contains("secretpass"), "secret leaked: {all}");
    }
}

#[test]
fn exit_code_4_for_a_wrong_wifi_passphrase() {
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234"]);
    let out = provision(&sim.addr, &["--pop", "abcd1234", "--ssid", "RefPeer-Home", "--passphrase", "badpassphrase"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json_of(&out)["error"], "wifi_auth_failed");
}

#[test]
fn exit_code_5_for_an_unknown_network() {
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234"]);
    let out = provision(&sim.addr, &["--pop", "abcd1234", "--ssid", "Nowhere", "--passphrase", "whatever1"]);
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn exit_code_6_for_a_timeout() {
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234", "--join-delay-ms", "60000"]);
    let out = provision(
        &sim.addr,
        &["--pop", "abcd1234", "--ssid", "RefPeer-Home", "--passphrase", "secretpass", "--timeout", "2"],
    );
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn exit_code_7_for_an_unreachable_device() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = provision(&format!("127.0.0.1:{port}"), &["--pop", "x", "--ssid", "a", "--passphrase", "b"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(json_of(&out)["error"], "unreachable");
}

#[test]
fn exit_code_8_for_a_device_that_speaks_nonsense() {
    // An HTTP server that answers every request with garbage bytes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            loop {
                let mut buf = [0u8; 4096];
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let body = b"\xff\xff\xff\xff garbage";
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).is_err() {
                            break;
                        }
                    }
                }
            }
        }
    });
    let out = provision(&addr, &["--pop", "abcd1234", "--ssid", "a", "--passphrase", "b"]);
    assert_eq!(out.status.code(), Some(8), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["error"], "protocol_error");
}

#[test]
fn exit_code_9_for_security_below_the_minimum() {
    let sim = Sim::softap(&["--sec", "0"]);
    let out = provision(&sim.addr, &["--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
    assert_eq!(out.status.code(), Some(9));
    assert_eq!(json_of(&out)["error"], "security_below_minimum");
}

#[test]
fn exit_code_9_for_a_device_that_may_be_an_impostor() {
    // A security 1 device without a PoP (`no_pop`) while the user holds one: refused, nothing sent.
    let no_pop = Sim::softap(&["--sec", "1"]);
    let out = provision(&no_pop.addr, &["--pop", "pop-ABC", "--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
    assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["error"], "possible_impostor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_pop") && stderr.contains("impostor"), "{stderr}");
    assert!(!stderr.contains("pop-ABC"), "{stderr}");
    // The user can opt in explicitly.
    let out = provision(
        &no_pop.addr,
        &["--pop", "pop-ABC", "--allow-no-pop", "--ssid", "RefPeer-Home", "--passphrase", "secretpass"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The QR code says security 2; the device answers security 1 with the right PoP: refused.
    let sec1 = Sim::softap(&["--sec", "1", "--pop", "pop-ABC"]);
    let qr = r#"{"ver":"v1","name":"P","pop":"pop-ABC","transport":"softap","security":2}"#;
    let out = provision(&sec1.addr, &["--qrcode", qr, "--ssid", "RefPeer-Home", "--passphrase", "secretpass"]);
    assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["error"], "possible_impostor");
    assert!(String::from_utf8_lossy(&out.stderr).contains("QR code says security 2"));

    // SRP credentials against a security 1 device: refused as well.
    let out = provision(
        &sec1.addr,
        &["--pop", "pop-ABC", "--sec2-password", "pw", "--ssid", "RefPeer-Home", "--passphrase", "secretpass"],
    );
    assert_eq!(out.status.code(), Some(9), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn demo_runs_the_main_job_on_the_builtin_simulator() {
    let out = run(&["demo", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["security"], 2);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("secure session established"), "{progress}");
    assert!(progress.contains("device connected"), "{progress}");
}

#[test]
fn without_ssid_a_terminal_user_picks_from_the_scan() {
    // `script` (util-linux) gives the command a pseudo-terminal; our input goes through it.
    let sim = Sim::softap(&["--sec", "1", "--pop", "abcd1234"]);
    let cmd = format!("{BIN} provision --transport softap --host {} --pop abcd1234", sim.addr);
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` from util-linux");
    // Network 2 is RefPeer-Office (sorted by signal).
    child.stdin.take().unwrap().write_all(b"2\nofficepass\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Pick a network [1-16]"), "{text}");
    assert!(text.contains("joined `RefPeer-Office`"), "{text}");
}

/// A `rainmaker-prov sim --transport console` process; its `addr` is its pseudo-terminal.
fn console_sim(args: &[&str]) -> Sim {
    let mut all = vec!["--transport", "console", "--join-delay-ms", "50"];
    all.extend_from_slice(args);
    Sim::start(&all)
}

#[test]
fn console_sim_and_provision() {
    let sim = console_sim(&["--sec", "1", "--pop", "abcd1234"]);
    assert!(std::path::Path::new(&sim.addr).exists(), "{}", sim.addr);
    let console = ["--transport", "console", "--port", sim.addr.as_str(), "--baud", "115200"];
    let mut args = vec!["provision"];
    args.extend(console);
    args.extend(["--pop", "abcd1234", "--ssid", "RefPeer-Home", "--passphrase", "secretpass", "--json"]);
    args.extend(["--custom-data", "custom-data=hi", "--timeout", "20"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["security"], 1);
    assert_eq!(v["ssid"], "RefPeer-Home");
    assert_eq!(v["custom_responses"]["custom-data"], "hi");

    // A second client on the same pseudo-terminal: scanning works too.
    let mut scan = vec!["scan"];
    scan.extend(console);
    scan.extend(["--pop", "abcd1234", "--json"]);
    let out = run(&scan);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["networks"].as_array().unwrap().len(), 16);

    // Security 2 does not fit the console: a clear error and exit code 2, not a hang.
    let sec2 = console_sim(&["--sec", "2", "--pop", "abcd1234"]);
    let mut args = vec!["provision", "--transport", "console", "--port", sec2.addr.as_str()];
    args.extend(["--pop", "abcd1234", "--ssid", "RefPeer-Home", "--passphrase", "secretpass", "--json"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["error"], "invalid_input");
    assert!(v["message"].as_str().unwrap().contains("security 2"), "{v}");
}
