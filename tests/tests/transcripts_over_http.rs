//! The simulator replays Espressif's golden transcripts byte for byte over HTTP: fed the recorded
//! requests of Espressif's Python client and the recorded device randomness, it answers every
//! request with exactly the recorded status line, headers and body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimSecurity};
use rainmaker_prov::sim::http_server::HttpDeviceServer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn load(name: &str) -> Value {
    let path = format!("{}/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// The device configuration the transcript was recorded with, and the randomness it drew, in the
/// order our simulator draws it.
fn device_for(t: &Value) -> Arc<SimDevice> {
    let secrets = &t["secrets"];
    // The session cookie is the device's first esp_random() draw (sec2 devices drew the salt
    // before it, at start-up; our simulator is given that salt directly).
    let cookie = t["rng"]["device_draws"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["src"] == "esp_random")
        .map(|d| h(&d["hex"]))
        .unwrap();
    let mut draws: Vec<Vec<u8>> = vec![cookie];
    let security = match t["parameters"]["sec_ver"].as_u64().unwrap() {
        0 => SimSecurity::Sec0,
        1 => {
            draws.push(h(&secrets["device_private_key"]));
            draws.push(h(&secrets["device_random_ctr_iv"]));
            SimSecurity::Sec1 { pop: Some(Secret::from(secrets["pop"].as_str().unwrap())) }
        }
        _ => {
            draws.push(h(&secrets["device_b"]));
            let nonce = h(&secrets["device_nonce"]);
            let patch = if nonce.len() == 12 { Sec2Patch::Patch1 } else { Sec2Patch::Patch0 };
            draws.push(if patch == Sec2Patch::Patch1 { nonce[..8].to_vec() } else { nonce });
            SimSecurity::sec2_provisioned(h(&secrets["salt"]), h(&secrets["verifier"]), patch)
        }
    };
    let mut config = SimConfig::new(security);
    config.join_delay = Duration::ZERO;
    config.connecting_polls = 1; // the recording device answered Connecting once after apply
    config.auto_stop = None;
    assert_eq!(config.scan_max_entries, t["parameters"]["scan_max_entries"].as_u64().unwrap() as usize);
    let mut queue: VecDeque<u8> = draws.concat().into();
    SimDevice::with_randomness(
        config,
        Box::new(move |dst: &mut [u8]| {
            for b in dst.iter_mut() {
                *b = queue.pop_front().expect("the simulator drew more randomness than the recording");
            }
        }),
    )
}

async fn read_response(reader: &mut BufReader<TcpStream>) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut status = String::new();
    reader.read_line(&mut status).await.unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).unwrap().1.parse().unwrap();
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.unwrap();
    (status.trim_end().to_owned(), headers, body)
}

async fn replay(file: &str) {
    let t = load(file);
    let device = device_for(&t);
    let server = HttpDeviceServer::bind(([127, 0, 0, 1], 0).into(), device).unwrap().spawn();
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut conn = BufReader::new(stream);
    let steps = t["steps"].as_array().unwrap();
    assert!(steps.len() >= 14);
    for step in steps {
        let req = &step["request"];
        let body = h(&req["body_hex"]);
        let mut head = format!("{}\r\n", req["http_request_line"].as_str().unwrap());
        for pair in req["http_headers"].as_array().unwrap() {
            head.push_str(&format!("{}: {}\r\n", pair[0].as_str().unwrap(), pair[1].as_str().unwrap()));
        }
        head.push_str("\r\n");
        conn.get_mut().write_all(head.as_bytes()).await.unwrap();
        conn.get_mut().write_all(&body).await.unwrap();
        let (status, headers, got) = read_response(&mut conn).await;
        let resp = &step["response"];
        let label = format!("{file} step {} ({})", step["index"], step["label"].as_str().unwrap());
        assert_eq!(status, format!("HTTP/1.1 {}", resp["http_status"].as_str().unwrap()), "{label}");
        let want: Vec<(String, String)> = resp["http_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(headers, want, "{label}: headers");
        assert_eq!(hex::encode(&got), resp["body_hex"].as_str().unwrap(), "{label}: body");
    }
    assert_eq!(
        server.current_session().map(|s| format!("session={s}")),
        t["http"]["session_cookies_set"][0].as_str().map(str::to_owned)
    );
}

#[tokio::test]
async fn sec0_transcript() {
    replay("sec0.json").await;
}

#[tokio::test]
async fn sec1_transcript() {
    replay("sec1.json").await;
}

#[tokio::test]
async fn sec2_patch1_transcript() {
    replay("sec2.json").await;
}

#[tokio::test]
async fn sec2_patch0_transcript() {
    replay("sec2_patch0.json").await;
}
