//! `rainmaker-prov login / logout / provision --rainmaker|--userid|--claim` against simulated
//! RainMaker devices and the fake RainMaker cloud (both served in-process on loopback), and
//! `sim --fake-cloud` as a child process: outcomes, the credentials file, exit codes 10–13, and
//! that no secret reaches the output, even at trace level.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::sim::cloud::{CloudFaults, FakeCloud, FakeCloudConfig, MappingBehaviour};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimRainMaker, SimSecurity};
use rainmaker_prov::sim::http_server::{HttpDeviceServer, HttpServerHandle};

const BIN: &str = env!("CARGO_BIN_EXE_rainmaker-prov");
const POP: &str = "PopSecret4711";
const WIFI_PASS: &str = "secretpass";

fn password() -> String {
    String::from_utf8(FakeCloudConfig::default().password.expose().to_vec()).unwrap()
}

/// A fake cloud, simulated devices and a private configuration directory for one test.
struct Rig {
    cloud: FakeCloud,
    servers: Vec<HttpServerHandle>,
    home: PathBuf,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    fn new(faults: CloudFaults) -> Rig {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let cloud = rt.block_on(FakeCloud::start(FakeCloudConfig::default().with_faults(faults))).unwrap();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!("rainmaker-prov-cli-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        Rig { cloud, servers: Vec::new(), home, rt }
    }

    /// Starts a simulated device (attached to the fake cloud) over SoftAP/HTTP; returns it and
    /// its `host:port`.
    fn device(&mut self, config: SimConfig) -> (Arc<SimDevice>, String) {
        let _guard = self.rt.enter();
        let device = SimDevice::new(config);
        self.cloud.attach(device.clone());
        let server = HttpDeviceServer::bind("127.0.0.1:0".parse().unwrap(), device.clone()).unwrap();
        let handle = server.spawn();
        let addr = handle.host();
        self.servers.push(handle);
        (device, addr)
    }

    fn credentials_path(&self) -> PathBuf {
        self.home.join("xdg").join("rainmaker-prov").join("credentials.json")
    }

    fn credentials(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.credentials_path()).unwrap()).unwrap()
    }

    /// Runs the binary with this test's XDG_CONFIG_HOME and no inherited secrets.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).stdin(Stdio::null()).env("XDG_CONFIG_HOME", self.home.join("xdg")).env("HOME", &self.home);
        for var in [
            "RAINMAKER_PROV_CLOUD_PASSWORD",
            "RAINMAKER_PROV_CLOUD_CODE",
            "RAINMAKER_PROV_SECRET_KEY",
            "RAINMAKER_PROV_POP",
            "RAINMAKER_PROV_PASSPHRASE",
            "RAINMAKER_PROV_SEC2_PASSWORD",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    }

    fn login(&self) -> Output {
        let base = self.cloud.base_url();
        let out = self.run(
            &["login", "--email", "tester@example.com", "--cloud-url", &base],
            &[("RAINMAKER_PROV_CLOUD_PASSWORD", &password())],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        out
    }

    /// `provision --json` of the device at `addr` with a PoP, Wi-Fi credentials, the fake
    /// cloud's URLs and `extra`.
    fn provision(&self, addr: &str, extra: &[&str]) -> Output {
        let base = self.cloud.base_url();
        let claim = self.cloud.claim_url();
        let mut args = vec!["provision", "--transport", "softap", "--host", addr, "--json", "--timeout", "30"];
        args.extend(["--pop", POP, "--cloud-url", &base, "--claim-url", &claim]);
        if !extra.contains(&"--no-wifi") {
            args.extend(["--ssid", "RefPeer-Home", "--passphrase", WIFI_PASS]);
        }
        args.extend_from_slice(extra);
        self.run(&args, &[])
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn sec2() -> SimSecurity {
    SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 }
}

fn sim(security: SimSecurity, rainmaker: Option<SimRainMaker>) -> SimConfig {
    let mut config = SimConfig::new(security);
    config.join_delay = Duration::from_millis(50);
    config.rainmaker = rainmaker;
    config
}

fn text(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json_of(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(out)))
}

fn assert_no_secrets(out: &Output, secrets: &[&str]) {
    let all = text(out);
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!all.contains(secret), "secret {secret:?} leaked: {all}");
    }
}

/// The tokens of the credentials file, for leak checks.
fn stored_tokens(rig: &Rig) -> Vec<String> {
    let v = rig.credentials();
    ["access_token", "id_token", "refresh_token"].iter().map(|k| v[*k].as_str().unwrap().to_owned()).collect()
}

#[test]
fn login_stores_private_tokens_and_logout_removes_them() {
    let rig = Rig::new(CloudFaults::default());
    let out = rig.login();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Logged in"), "{}", text(&out));
    let path = rig.credentials_path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let content = std::fs::read_to_string(&path).unwrap();
    assert!(!content.contains(&password()), "{content}");
    let v = rig.credentials();
    assert_eq!(v["cloud_url"], rig.cloud.base_url());
    assert_eq!(v["user_name"], "tester@example.com");
    let tokens = stored_tokens(&rig);
    assert!(tokens.iter().all(|t| t.len() > 10));
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let pw = password();
    secrets.push(&pw);
    assert_no_secrets(&out, &secrets);

    let out = rig.run(&["logout"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Logged out"), "{}", text(&out));
    assert!(!path.exists());
    let out = rig.run(&["logout"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Not logged in"), "{}", text(&out));
}

#[test]
fn login_failures() {
    let rig = Rig::new(CloudFaults::default());
    let base = rig.cloud.base_url();
    let login = ["login", "--email", "tester@example.com", "--cloud-url", base.as_str()];
    // Wrong password: exit 10, nothing stored, the password not echoed.
    let out = rig.run(&login, &[("RAINMAKER_PROV_CLOUD_PASSWORD", "WrongPassword77")]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(!rig.credentials_path().exists());
    assert_no_secrets(&out, &["WrongPassword77"]);
    // No password and no terminal: a usage error.
    assert_eq!(rig.run(&login, &[]).status.code(), Some(2));
    // There is no password option.
    assert_eq!(rig.run(&["login", "--email", "a@b.c", "--password", "x"], &[]).status.code(), Some(2));
    // Plain http:// to a non-loopback host is refused.
    let out = rig.run(
        &["login", "--email", "a@b.c", "--cloud-url", "http://example.com/v1/"],
        &[("RAINMAKER_PROV_CLOUD_PASSWORD", "x")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // An unreachable cloud: exit 13.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1/");
    let out =
        rig.run(&["login", "--email", "a@b.c", "--cloud-url", &url], &[("RAINMAKER_PROV_CLOUD_PASSWORD", &password())]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
}

#[test]
fn login_with_a_one_time_code() {
    let rig = Rig::new(CloudFaults { otp_required: true, ..CloudFaults::default() });
    let base = rig.cloud.base_url();
    let login = ["login", "--email", "tester@example.com", "--cloud-url", base.as_str()];
    let pw = password();
    // No code and no terminal.
    let out = rig.run(&login, &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A wrong code.
    let out = rig.run(&login, &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw), ("RAINMAKER_PROV_CLOUD_CODE", "999999")]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    // The right one, from the environment.
    let out = rig.run(&login, &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw), ("RAINMAKER_PROV_CLOUD_CODE", "123456")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(rig.credentials_path().exists());
}

#[test]
fn userid_and_secretkey_go_to_the_device_only() {
    let mut rig = Rig::new(CloudFaults::default());
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA01"))));
    let out = rig.provision(&addr, &["--userid", "user-42", "--secretkey", "MapKey-9f8e7d"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "sent_to_device");
    assert_eq!(v["association_mode"], "user_mapping");
    assert_eq!(v["node_id"], "NodeUA01");
    assert_eq!(v["claimed"], false);
    assert_eq!(v["ssid"], "RefPeer-Home");
    let mappings = device.rainmaker_user_mappings();
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0].user_id, "user-42");
    assert_eq!(mappings[0].secret_key.as_str(), "MapKey-9f8e7d");
    assert!(rig.cloud.requests().is_empty(), "{:?}", rig.cloud.requests());
    assert_no_secrets(&out, &["MapKey-9f8e7d", POP, WIFI_PASS]);

    // The secret key from the environment; a missing one is a usage error.
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA02"))));
    let args = ["provision", "--host", &addr, "--pop", POP, "--no-wifi", "--userid", "user-43", "--json"];
    let out = rig.run(&args, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = rig.run(&args, &[("RAINMAKER_PROV_SECRET_KEY", "EnvKey-1234")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "sent_to_device");
    assert_eq!(v["network"], serde_json::Value::Null);
    assert_eq!(device.rainmaker_user_mappings()[0].secret_key.as_str(), "EnvKey-1234");
    assert!(device.connected_ssid().is_none());
    assert_no_secrets(&out, &["EnvKey-1234"]);
}

#[test]
fn rainmaker_with_challenge_response_over_sec2() {
    let mut rig = Rig::new(CloudFaults::default());
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR01"))));
    rig.login();
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "confirmed");
    assert_eq!(v["association_mode"], "challenge_response");
    assert_eq!(v["node_id"], "NodeCR01");
    assert_eq!(v["security"], 2);
    assert_eq!(v["ssid"], "RefPeer-Home");
    assert!(v.get("request_id").is_none(), "{v}");
    assert_eq!(rig.cloud.mapped_nodes(), [(rig.cloud.user_id(), "NodeCR01".to_owned())]);
    assert_eq!(device.connected_ssid().as_deref(), Some(&b"RefPeer-Home"[..]));
    let progress = String::from_utf8_lossy(&out.stderr);
    for step in ["[connect] secure session established", "[associate]", "[confirm] node NodeCR01", "[wifi]"] {
        assert!(progress.contains(step), "{step}: {progress}");
    }
    let tokens = stored_tokens(&rig);
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    secrets.extend([POP, WIFI_PASS]);
    assert_no_secrets(&out, &secrets);
}

#[test]
fn rainmaker_text_output_and_association_only() {
    let mut rig = Rig::new(CloudFaults::default());
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR02"))));
    rig.login();
    let base = rig.cloud.base_url();
    let out =
        rig.run(&["provision", "--host", &addr, "--pop", POP, "--rainmaker", "--no-wifi", "--cloud-url", &base], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("No network credentials sent"), "{stdout}");
    assert!(stdout.contains("RainMaker: node NodeCR02, association confirmed"), "{stdout}");
    assert!(device.connected_ssid().is_none());
    assert_eq!(rig.cloud.mapped_nodes().len(), 1);
    // --no-wifi alone has nothing to do.
    let out = rig.run(&["provision", "--host", &addr, "--pop", POP, "--no-wifi"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn rainmaker_with_the_traditional_mapping() {
    let mut rig = Rig::new(CloudFaults::default());
    let sec1 = SimSecurity::Sec1 { pop: Some(Secret::from(POP)) };
    let (device, addr) = rig.device(sim(sec1, Some(SimRainMaker::user_assoc("NodeUA10"))));
    rig.login();
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "confirmed", "{v}");
    assert_eq!(v["association_mode"], "user_mapping");
    assert_eq!(v["node_id"], "NodeUA10");
    assert_eq!(rig.cloud.mapped_nodes(), [(rig.cloud.user_id(), "NodeUA10".to_owned())]);
    // The device got the account's user id and a fresh secret key, never printed.
    let mapping = &device.rainmaker_user_mappings()[0];
    assert_eq!(mapping.user_id, rig.cloud.user_id());
    assert_no_secrets(&out, &[mapping.secret_key.as_str(), POP]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("[confirm] asking the cloud"), "{progress}");
}

#[test]
fn rainmaker_claims_a_device_that_asks_for_it() {
    let mut rig = Rig::new(CloudFaults::default());
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::claiming(true))));
    rig.login();
    // Without --claim: exit 11 (the node must be claimed first).
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert_eq!(json_of(&out)["error"], "claim_required");
    let out = rig.provision(&addr, &["--claim"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["claimed"], true);
    assert_eq!(v["association"], "confirmed");
    let (_, node_id) = rig.cloud.claimed_macs().pop().unwrap();
    assert_eq!(v["node_id"], node_id.as_str());
    assert_eq!(rig.cloud.mapped_nodes(), [(rig.cloud.user_id(), node_id)]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("[claim] claiming") && progress.contains("[claim] claimed"), "{progress}");
}

#[test]
fn claiming_failures_exit_12() {
    for (faults, kind) in [
        (CloudFaults { refuse_claim_initiate: true, ..CloudFaults::default() }, "claim_rejected"),
        (CloudFaults { oversized_claim_verify: true, ..CloudFaults::default() }, "claim_answer_too_large"),
    ] {
        let mut rig = Rig::new(faults);
        let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::claiming(true))));
        rig.login();
        let out = rig.provision(&addr, &["--claim"]);
        assert_eq!(out.status.code(), Some(12), "{kind}: {}", text(&out));
        assert_eq!(json_of(&out)["error"], kind);
        assert!(!device.rainmaker_claimed());
    }
}

#[test]
fn a_device_without_rainmaker_is_provisioned_not_associated() {
    let mut rig = Rig::new(CloudFaults::default());
    let (device, addr) = rig.device(sim(sec2(), None));
    rig.login();
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "not_associated");
    assert_eq!(v["node_id"], serde_json::Value::Null);
    assert_eq!(v["association_mode"], serde_json::Value::Null);
    assert_eq!(v["ssid"], "RefPeer-Home");
    assert!(device.connected_ssid().is_some());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[associate] the device has no RainMaker"));
}

#[test]
fn rainmaker_without_a_login_exits_10() {
    let mut rig = Rig::new(CloudFaults::default());
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR03"))));
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert_eq!(json_of(&out)["error"], "login_required");
    assert!(device.connected_ssid().is_none());
    // A login for another cloud does not count.
    rig.login();
    let out = rig.run(
        &[
            "provision",
            "--host",
            &addr,
            "--pop",
            POP,
            "--rainmaker",
            "--no-wifi",
            "--cloud-url",
            "http://127.0.0.1:9/v1/",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
}

#[test]
fn an_expired_access_token_is_refreshed_and_saved() {
    let mut rig = Rig::new(CloudFaults { expired_access_tokens: true, ..CloudFaults::default() });
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR04"))));
    rig.login();
    let before = stored_tokens(&rig);
    let out = rig.provision(&addr, &["--rainmaker", "-vvv"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_of(&out)["association"], "confirmed");
    let after = stored_tokens(&rig);
    assert_ne!(before[0], after[0], "access token not replaced");
    assert_eq!(before[2], after[2], "refresh token kept");
    assert_eq!(rig.cloud.request_count("/v1/login2"), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(rig.credentials_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut secrets: Vec<&str> = before.iter().chain(after.iter()).map(String::as_str).collect();
    secrets.extend([POP, WIFI_PASS]);
    assert_no_secrets(&out, &secrets);
    // A refused refresh token: log in again (exit 10).
    let mut v = rig.credentials();
    v["refresh_token"] = serde_json::Value::String("revoked-refresh-token".into());
    v["access_token"] = serde_json::Value::String(before[0].clone());
    write_credentials(&rig.credentials_path(), &v);
    let out = rig.provision(&addr, &["--rainmaker", "--no-wifi"]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert_eq!(json_of(&out)["error"], "login_rejected");
}

fn write_credentials(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, v.to_string()).unwrap();
}

#[test]
fn cloud_failures_map_to_pending_or_exit_13() {
    // Challenge-response needs the cloud during the session: a 5xx is exit 13.
    let mut rig = Rig::new(CloudFaults::default());
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR05"))));
    rig.login();
    rig.cloud.fail_next("/v1/user/nodes/mapping/initiate", 1, 503);
    let out = rig.provision(&addr, &["--rainmaker", "--no-wifi"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["error"], "cloud_http_error");
    assert_eq!(v["operation"], "user/nodes/mapping/initiate");

    // The traditional mapping keeps trying through 5xx answers and stays pending at the deadline.
    let (device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA11"))));
    rig.cloud.fail_next("/v1/user/nodes/mapping", 1000, 500);
    let out = rig.provision(&addr, &["--rainmaker", "--confirm-timeout", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "pending");
    assert_eq!(v["request_id"], serde_json::Value::Null);
    assert_eq!(v["node_id"], "NodeUA11");
    assert!(device.connected_ssid().is_some());
    rig.cloud.fail_next("/v1/user/nodes/mapping", 0, 500);

    // A request that the cloud never confirms: pending with its request id.
    rig.cloud.update_faults(|f| f.mapping = MappingBehaviour::NeverConfirmed);
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA12"))));
    let out = rig.provision(&addr, &["--rainmaker", "--confirm-timeout", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "pending");
    assert!(v["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{v}");

    // `timedout` and `discarded`, and a rejected challenge: exit 11.
    for (behaviour, kind) in
        [(MappingBehaviour::TimedOut, "mapping_timed_out"), (MappingBehaviour::Discarded, "mapping_discarded")]
    {
        rig.cloud.update_faults(|f| f.mapping = behaviour);
        let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA13"))));
        let out = rig.provision(&addr, &["--rainmaker"]);
        assert_eq!(out.status.code(), Some(11), "{kind}: {}", text(&out));
        assert_eq!(json_of(&out)["error"], kind);
    }
    rig.cloud.update_faults(|f| f.reject_challenges = true);
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR06"))));
    let out = rig.provision(&addr, &["--rainmaker"]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert_eq!(json_of(&out)["error"], "challenge_rejected");

    // An unreachable cloud: challenge-response fails with 13, the mapping stays pending.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1/");
    let mut v = rig.credentials();
    v["cloud_url"] = serde_json::Value::String(url.clone());
    write_credentials(&rig.credentials_path(), &v);
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::ch_resp("NodeCR07"))));
    let args = ["provision", "--host", &addr, "--pop", POP, "--rainmaker", "--json", "--ssid", "RefPeer-Home"];
    let out = rig.run(&args, &[("RAINMAKER_PROV_PASSPHRASE", WIFI_PASS)]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    assert_eq!(json_of(&out)["error"], "cloud_unreachable");
    let (_device, addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA14"))));
    let mut args = vec!["provision", "--host", &addr, "--pop", POP, "--rainmaker", "--json", "--ssid", "RefPeer-Home"];
    args.extend(["--confirm-timeout", "2"]);
    let out = rig.run(&args, &[("RAINMAKER_PROV_PASSPHRASE", WIFI_PASS)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "pending");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[confirm] the cloud is not reachable yet"));
}

#[test]
fn trace_logs_hold_no_secret() {
    let mut rig = Rig::new(CloudFaults { expired_access_tokens: true, ..CloudFaults::default() });
    let base = rig.cloud.base_url();
    let pw = password();
    let login = rig.run(
        &["-vvv", "login", "--email", "tester@example.com", "--cloud-url", &base],
        &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw)],
    );
    assert_eq!(login.status.code(), Some(0), "{}", text(&login));
    let first = stored_tokens(&rig);
    let (ua, ua_addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA20"))));
    let (_cr, cr_addr) = rig.device(sim(sec2(), Some(SimRainMaker::claiming(true))));
    let (_um, um_addr) = rig.device(sim(sec2(), Some(SimRainMaker::user_assoc("NodeUA21"))));
    let mapping = rig.provision(&ua_addr, &["-vvv", "--rainmaker"]);
    let claim = rig.provision(&cr_addr, &["-vvv", "--claim"]);
    let seeded = rig.provision(&um_addr, &["-vvv", "--userid", "user-7", "--secretkey", "SeedKey-0a1b2c"]);
    for out in [&mapping, &claim, &seeded] {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
    }
    assert!(String::from_utf8_lossy(&mapping.stderr).contains("[TRACE") || mapping.stderr.len() > 1000);
    let last = stored_tokens(&rig);
    let mapping_key = ua.rainmaker_user_mappings()[0].secret_key.to_string();
    let mut secrets: Vec<&str> = first.iter().chain(last.iter()).map(String::as_str).collect();
    secrets.extend([pw.as_str(), POP, WIFI_PASS, "SeedKey-0a1b2c", mapping_key.as_str()]);
    for out in [&login, &mapping, &claim, &seeded] {
        assert_no_secrets(out, &secrets);
    }
}

/// A `rainmaker-prov sim` child process, killed on drop, with the lines it printed at start.
struct SimChild {
    child: Child,
    lines: Vec<String>,
}

impl SimChild {
    fn start(args: &[&str], lines: usize) -> SimChild {
        let mut child = Command::new(BIN)
            .args(["sim", "--transport", "softap", "--listen", "127.0.0.1:0", "--join-delay-ms", "50"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut out = Vec::new();
        for _ in 0..lines {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            out.push(line.trim_end().to_owned());
        }
        SimChild { child, lines: out }
    }

    fn value(&self, prefix: &str) -> String {
        let line = self.lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{:?}", self.lines));
        line[prefix.len()..].trim().to_owned()
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sim_with_a_fake_cloud_end_to_end() {
    let rig = Rig::new(CloudFaults::default());
    let sim = SimChild::start(&["--sec", "2", "--pop", POP, "--rainmaker", "user-assoc", "--claim", "--fake-cloud"], 6);
    let addr = sim.value("rainmaker-prov sim: listening on ").split_whitespace().next().unwrap().to_owned();
    let api = sim.value("fake cloud: API URL");
    let claim = sim.value("fake cloud: claim URL");
    let email = sim.value("fake cloud: account");
    let pw = sim.value("fake cloud: password");
    let out = rig.run(&["login", "--email", &email, "--cloud-url", &api], &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut args = vec!["provision", "--host", &addr, "--pop", POP, "--claim", "--claim-url", &claim, "--json"];
    args.extend(["--ssid", "RefPeer-Home", "--passphrase", WIFI_PASS, "--timeout", "30"]);
    let out = rig.run(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["claimed"], true);
    assert_eq!(v["association"], "confirmed");
    assert_eq!(v["association_mode"], "user_mapping");
}

#[test]
fn sim_with_a_corrupted_salt_and_an_rsa_node_key() {
    let rig = Rig::new(CloudFaults::default());
    let sim = SimChild::start(
        &[
            "--sec",
            "2",
            "--pop",
            POP,
            "--corrupted-salt",
            "--rainmaker",
            "ch-resp",
            "--node-key",
            "rsa",
            "--fake-cloud",
        ],
        6,
    );
    let addr = sim.value("rainmaker-prov sim: listening on ").split_whitespace().next().unwrap().to_owned();
    let api = sim.value("fake cloud: API URL");
    let pw = sim.value("fake cloud: password");
    let out = rig.run(
        &["login", "--email", "tester@example.com", "--cloud-url", &api],
        &[("RAINMAKER_PROV_CLOUD_PASSWORD", &pw)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut args = vec!["provision", "--host", &addr, "--pop", POP, "--rainmaker", "--json"];
    args.extend(["--ssid", "RefPeer-Home", "--passphrase", WIFI_PASS, "--timeout", "60"]);
    let out = rig.run(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["association"], "confirmed");
    assert_eq!(v["node_id"], "SimNode0000000001");
    // `--corrupted-salt` is a security 2 option.
    let out = Command::new(BIN).args(["sim", "--sec", "1", "--corrupted-salt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
