//! Writes the seed corpora `corpus/<target>/` of the fuzz targets from the golden vectors
//! (`tests/vectors/*.json`) plus honest messages made with the same fixed seeds the targets use.
//!
//! Usage: `seed_corpus [VECTORS_DIR [CORPUS_DIR]]` (defaults: `../tests/vectors` and `corpus`
//! next to this crate's manifest). Existing files are kept; seeds are named by content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rainmaker_prov::endpoints::{proto_ver, wifi};
use rainmaker_prov::security::{ClientHandshake, ClientStep};
use rainmaker_prov::sim::DeviceLink;
use rainmaker_prov_fuzz::{
    DEVICE_SEED, PHONE_SEED, Scheme, establish, fixed_rng, push_frame, run_to_step2, sim_device, sim_tag,
};
use serde_json::Value;

/// Seeds by target name.
#[derive(Default)]
struct Seeds(BTreeMap<&'static str, Vec<Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, bytes: impl Into<Vec<u8>>) {
        let bytes = bytes.into();
        let list = self.0.entry(target).or_default();
        if !list.contains(&bytes) {
            list.push(bytes);
        }
    }

    fn add_prefixed(&mut self, target: &'static str, prefix: u8, bytes: &[u8]) {
        let mut seed = vec![prefix];
        seed.extend_from_slice(bytes);
        self.add(target, seed);
    }

    fn write(&self, dir: &Path) -> std::io::Result<usize> {
        let mut count = 0;
        for (target, seeds) in &self.0 {
            let target_dir = dir.join(target);
            std::fs::create_dir_all(&target_dir)?;
            for seed in seeds {
                std::fs::write(target_dir.join(format!("seed-{:016x}", fnv1a(seed))), seed)?;
                count += 1;
            }
        }
        Ok(count)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn unhex(text: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit: {c}"),
    };
    text.as_bytes().chunks(2).map(|p| (digit(p[0]) << 4) | digit(p[1])).collect()
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const CLIENT_HANDSHAKE: [&str; 5] = [
    "client_sec0_response",
    "client_sec1_response0",
    "client_sec1_response1",
    "client_sec2_response0",
    "client_sec2_response1",
];

/// Single messages of messages.json, routed by their schema file.
fn from_messages(seeds: &mut Seeds, messages: &Value) {
    for entry in messages.as_array().expect("messages.json is an array") {
        let file = entry["proto_file"].as_str().unwrap_or_default();
        let name = entry["message"].as_str().unwrap_or_default();
        let bytes = unhex(entry["hex"].as_str().unwrap_or_default());
        let file = file.trim_end_matches(".proto");
        let targets: &[&'static str] = match file {
            "wifi_config" | "network_config" | "wifi_constants" | "network_constants" => {
                &["wifi_config_response", "thread_config_response", "wifi_request_decode", "thread_request_decode"]
            }
            "wifi_scan" | "network_scan" => {
                &["wifi_scan_response", "thread_scan_response", "wifi_request_decode", "thread_request_decode"]
            }
            "wifi_ctrl" | "network_ctrl" => {
                &["wifi_ctrl_response", "thread_ctrl_response", "wifi_request_decode", "thread_request_decode"]
            }
            "esp_rmaker_user_mapping" | "custom_cloud_config" | "esp_rmaker_chal_resp" => {
                &["rainmaker_assoc_response", "rainmaker_request_decode"]
            }
            "esp_rmaker_claim" => &["rainmaker_request_decode"],
            _ => &[],
        };
        for target in targets {
            seeds.add(target, bytes.clone());
        }
        if name == "rmaker_claim.RMakerClaimPayload" {
            let msg = entry["fields"]["msg"].as_str().unwrap_or_default();
            let step = ["ClaimStart", "ClaimInit", "ClaimVerify", "ClaimAbort"]
                .iter()
                .position(|s| msg.contains(s))
                .and_then(|i| u8::try_from(i).ok())
                .unwrap_or(0);
            let mut framed = Vec::new();
            push_frame(&mut framed, step, &bytes);
            seeds.add("rainmaker_claim_response", framed);
        }
        if name == "SessionData" {
            for target in CLIENT_HANDSHAKE {
                seeds.add(target, bytes.clone());
            }
            for mode in 0..2 {
                seeds.add_prefixed("device_sec0_session", mode, &bytes);
                seeds.add_prefixed("device_sec1_session", mode, &bytes);
            }
            for mode in 0..4 {
                seeds.add_prefixed("device_sec2_session", mode, &bytes);
            }
        }
        // The simulator: each request alone on the endpoint it belongs to.
        let endpoint = match file {
            "wifi_config" | "network_config" => Some("prov-config"),
            "wifi_scan" | "network_scan" => Some("prov-scan"),
            "wifi_ctrl" | "network_ctrl" => Some("prov-ctrl"),
            "esp_rmaker_user_mapping" => Some("cloud_user_assoc"),
            "esp_rmaker_chal_resp" => Some("ch_resp"),
            _ => None,
        };
        if let Some(tag) = endpoint.and_then(sim_tag) {
            let selector = match file {
                "network_config" | "network_scan" | "network_ctrl" => 0b0_0100,
                "esp_rmaker_user_mapping" => 0b0_1000,
                "esp_rmaker_chal_resp" => 0b1_0000,
                _ => 0,
            };
            let mut framed = vec![selector];
            push_frame(&mut framed, tag, &bytes);
            seeds.add("sim_device", framed);
        }
    }
}

fn http_response(response: &Value) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {}\r\n", response["http_status"].as_str().unwrap_or("200 OK")).into_bytes();
    for header in response["http_headers"].as_array().into_iter().flatten() {
        let name = header[0].as_str().unwrap_or_default();
        let value = header[1].as_str().unwrap_or_default();
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&unhex(response["body_hex"].as_str().unwrap_or_default()));
    out
}

/// One golden transcript: proto-ver, handshake, endpoint plaintexts, HTTP responses, and (for
/// security 0, whose bodies are plaintext) the whole session replayed against the simulator.
fn from_transcript(seeds: &mut Seeds, transcript: &Value, scheme: Scheme) {
    if let Some(text) = transcript["parameters"]["proto_ver_json"].as_str() {
        seeds.add("proto_ver_parse", text.as_bytes());
    }
    let mut handshake = 0u8;
    let mut sim_session = vec![0u8];
    let mut ciphertexts = Vec::new();
    for step in transcript["steps"].as_array().into_iter().flatten() {
        let endpoint = step["endpoint"].as_str().unwrap_or_default();
        let request = &step["request"];
        let response = &step["response"];
        let body = |v: &Value, key: &str| v[key].as_str().map(unhex);
        seeds.add("http_response", http_response(response));
        let (Some(request_body), Some(response_body)) = (body(request, "body_hex"), body(response, "body_hex")) else {
            continue;
        };
        if let Some(tag) = sim_tag(endpoint) {
            push_frame(&mut sim_session, tag, &request_body);
        }
        match endpoint {
            "proto-ver" => seeds.add("proto_ver_parse", response_body),
            "prov-session" => {
                let (client, device) = match (scheme, handshake) {
                    (Scheme::Sec0, _) => ("client_sec0_response", "device_sec0_session"),
                    (Scheme::Sec1, 0) => ("client_sec1_response0", "device_sec1_session"),
                    (Scheme::Sec1, _) => ("client_sec1_response1", "device_sec1_session"),
                    (_, 0) => ("client_sec2_response0", "device_sec2_session"),
                    (_, _) => ("client_sec2_response1", "device_sec2_session"),
                };
                seeds.add(client, response_body);
                let patch_bit = if scheme == Scheme::Sec2Patch1 { 2 } else { 0 };
                seeds.add_prefixed(device, handshake.min(1) | patch_bit, &request_body);
                handshake += 1;
            }
            _ => {
                ciphertexts.push(response_body);
                let plain = |v: &Value| v["plaintext_hex"].as_str().map(unhex);
                let (Some(request_plain), Some(response_plain)) = (plain(request), plain(response)) else {
                    continue;
                };
                let (requests, responses): (&[&'static str], &[&'static str]) = match endpoint {
                    "prov-config" => (&["wifi_request_decode"], &["wifi_config_response"]),
                    "prov-scan" => (&["wifi_request_decode"], &["wifi_scan_response"]),
                    "prov-ctrl" => (&["wifi_request_decode"], &["wifi_ctrl_response"]),
                    _ => (&[], &[]),
                };
                for target in requests {
                    seeds.add(target, request_plain.clone());
                }
                for target in responses {
                    seeds.add(target, response_plain.clone());
                }
            }
        }
    }
    if scheme == Scheme::Sec0 {
        seeds.add("sim_device", sim_session);
    }
    // Recorded ciphertexts: right shape, other keys.
    let mut records = Vec::new();
    for c in &ciphertexts {
        push_frame(&mut records, 0, c);
    }
    match scheme {
        Scheme::Sec0 => {}
        Scheme::Sec1 => seeds.add("cipher_sec1_decrypt", records),
        Scheme::Sec2Patch0 => seeds.add_prefixed("cipher_sec2_decrypt", 0, &records),
        Scheme::Sec2Patch1 => seeds.add_prefixed("cipher_sec2_decrypt", 1, &records),
    }
}

/// Plaintext answers of a Wi-Fi session, as a device sends them.
fn sample_answers() -> Vec<Vec<u8>> {
    let network = wifi::WifiNetwork {
        ssid: b"RefPeer-Home".to_vec(),
        channel: 6,
        rssi: -31,
        bssid: vec![0x24, 0x0a, 0xc4, 0x10, 0xa0, 0x01],
        auth: wifi::WifiAuthMode::from_raw(3),
    };
    vec![
        wifi::encode_get_status_response(&wifi::WifiStatus::Connecting { attempts_remaining: None }),
        wifi::encode_set_config_response(rainmaker_prov::endpoints::Status::Success),
        wifi::encode_scan_result_response(&[network]),
        wifi::encode_get_status_response(&wifi::WifiStatus::Failed { reason: wifi::WifiFailReason::AuthError }),
    ]
}

/// Honest messages for the states the targets rebuild with the fixed seeds.
fn honest(seeds: &mut Seeds) {
    // Security 0.
    let (_, command) = rainmaker_prov_fuzz::client_start(Scheme::Sec0);
    let mut device = rainmaker_prov::security::DeviceSecuritySession::new(Scheme::Sec0.device_config());
    let response = device.handle(&command, &mut fixed_rng(DEVICE_SEED)).expect("honest sec0");
    seeds.add("client_sec0_response", response);
    seeds.add_prefixed("device_sec0_session", 0, &command);
    seeds.add_prefixed("device_sec0_session", 1, &command);

    // Security 1 and 2: both steps, both sides.
    for scheme in [Scheme::Sec1, Scheme::Sec2Patch0, Scheme::Sec2Patch1] {
        guarded(&format!("honest {scheme:?} handshake"), || honest_scheme(seeds, scheme));
    }

    // A whole encrypted session against the simulator (security 1 and 2), as the sim_device
    // target rebuilds it: handshake, scan, credentials, apply, status polls.
    for selector in [0b0000_0010u8, 0b0000_0011, 0b0000_0000, 0b0000_0100] {
        if let Some(seed) = guarded(&format!("simulator session {selector:#04x}"), || sim_session(selector)) {
            seeds.add("sim_device", seed);
        }
    }
}

/// Runs one seeding step; a panic (a bug in the core, which the fuzz targets will report too)
/// skips its seeds with a warning instead of stopping the seeding of the other targets.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(_) => {
            eprintln!("seed_corpus: warning: {what} panicked; its seeds are skipped");
            None
        }
    }
}

fn honest_scheme(seeds: &mut Seeds, scheme: Scheme) {
    {
        let (client0, client1, device_target, patch_bit) = match scheme {
            Scheme::Sec1 => ("client_sec1_response0", "client_sec1_response1", "device_sec1_session", 0),
            Scheme::Sec2Patch0 => ("client_sec2_response0", "client_sec2_response1", "device_sec2_session", 0),
            _ => ("client_sec2_response0", "client_sec2_response1", "device_sec2_session", 2),
        };
        let (_, command0) = rainmaker_prov_fuzz::client_start(scheme);
        let mut device = rainmaker_prov::security::DeviceSecuritySession::new(scheme.device_config());
        seeds.add(client0, device.handle(&command0, &mut fixed_rng(DEVICE_SEED)).expect("honest Command0"));
        seeds.add_prefixed(device_target, patch_bit, &command0);
        let mut step2 = run_to_step2(scheme);
        seeds.add_prefixed(device_target, 1 | patch_bit, &step2.command1);
        let response1 = step2.device.handle(&step2.command1, &mut step2.device_rng).expect("honest Command1");
        seeds.add(client1, response1);

        // Records the phone can decrypt: the device's answers in order.
        let (_phone, mut device) = establish(scheme);
        let mut records = Vec::new();
        for answer in sample_answers() {
            push_frame(&mut records, 0, &device.encrypt(&answer).expect("encrypt"));
        }
        match scheme {
            Scheme::Sec1 => seeds.add("cipher_sec1_decrypt", records),
            Scheme::Sec2Patch0 => seeds.add_prefixed("cipher_sec2_decrypt", 0, &records),
            _ => seeds.add_prefixed("cipher_sec2_decrypt", 1, &records),
        }
    }
}

fn sim_session(selector: u8) -> Vec<u8> {
    let device = sim_device(selector);
    device.open_session(1);
    let mut seed = vec![selector];
    let exchange = |seed: &mut Vec<u8>, endpoint: &str, body: &[u8]| {
        push_frame(seed, sim_tag(endpoint).expect("known endpoint"), body);
        device.handle(1, endpoint, body)
    };
    let version = exchange(&mut seed, "proto-ver", b"---").expect("proto-ver");
    let scheme = match proto_ver::detect_security(&proto_ver::parse(&version)).sec_ver {
        0 => Scheme::Sec0,
        1 => Scheme::Sec1,
        _ => Scheme::Sec2Patch1,
    };
    let mut rng = fixed_rng(PHONE_SEED);
    let (mut handshake, mut request) = ClientHandshake::start(scheme.credentials(), &mut rng).expect("start");
    let mut cipher = loop {
        let response = exchange(&mut seed, "prov-session", &request).expect("handshake");
        match handshake.on_response(&response).expect("honest handshake") {
            ClientStep::Send(next, r) => (handshake, request) = (next, r),
            ClientStep::Done(cipher) => break cipher,
        }
    };
    let set_config = wifi::set_config_request(b"RefPeer-Home", b"secretpass").expect("set-config");
    let plain_requests: [(&str, Vec<u8>); 7] = [
        ("prov-scan", wifi::scan_start_request(&wifi::ScanParams::softap())),
        ("prov-scan", wifi::scan_status_request()),
        ("prov-scan", wifi::scan_result_request(0, 4)),
        ("prov-config", set_config.to_vec()),
        ("prov-config", wifi::apply_config_request()),
        ("prov-config", wifi::get_status_request()),
        ("prov-config", wifi::get_status_request()),
    ];
    for (endpoint, plain) in plain_requests {
        let wire = cipher.encrypt(&plain).expect("encrypt");
        let Ok(answer) = exchange(&mut seed, endpoint, &wire) else { break };
        if cipher.decrypt(&answer).is_err() {
            break;
        }
    }
    seed
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args_os().skip(1);
    let vectors = args.next().map(PathBuf::from).unwrap_or_else(|| manifest.join("../tests/vectors"));
    let corpus = args.next().map(PathBuf::from).unwrap_or_else(|| manifest.join("corpus"));

    let mut seeds = Seeds::default();
    from_messages(&mut seeds, &load(&vectors.join("messages.json")));
    for (file, scheme) in [
        ("sec0.json", Scheme::Sec0),
        ("sec1.json", Scheme::Sec1),
        ("sec2.json", Scheme::Sec2Patch1),
        ("sec2_patch0.json", Scheme::Sec2Patch0),
    ] {
        from_transcript(&mut seeds, &load(&vectors.join(file)), scheme);
    }
    honest(&mut seeds);
    // QR payloads as firmware prints them (the vectors hold none).
    for text in [
        r#"{"ver":"v1","name":"PROV_1A2B3C","pop":"abcd1234","transport":"ble"}"#,
        r#"{"ver":"v1","name":"PROV_1A2B3C","username":"wifiprov","pop":"abcd1234","transport":"softap","security":2,"password":"abcd1234","network":"thread"}"#,
        "NP:PROV_1A2B3C|abcd1234|b",
        "NP:PROV_1A2B3C||s",
    ] {
        seeds.add("qr_parse", text.as_bytes());
    }
    match seeds.write(&corpus) {
        Ok(count) => println!("seed_corpus: {count} seeds in {} targets under {}", seeds.0.len(), corpus.display()),
        Err(e) => {
            eprintln!("seed_corpus: cannot write under {}: {e}", corpus.display());
            std::process::exit(1);
        }
    }
}
