//! Tests of the fake RainMaker cloud, speaking HTTP over real loopback sockets.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64ct::Encoding;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{DecodePem, Encode, EncodePem};
use x509_cert::name::Name;

use super::*;
use crate::endpoints::rainmaker;
use crate::security::Secret;
use crate::session::{DeviceSession, PollOptions, SessionOptions};
use crate::sim::device::{SimConfig, SimDevice, SimRainMaker, SimSecurity};
use crate::transport::memory::MemoryTransport;

/// One HTTP answer as received.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn field(&self, name: &str) -> String {
        self.json()[name].as_str().unwrap_or_else(|| panic!("no `{name}` in {}", self.body)).to_owned()
    }
}

/// Sends raw bytes and reads the whole answer (the server closes the connection).
async fn send_raw(addr: std::net::SocketAddr, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let answer = Answer { status, headers, body: body.to_owned() };
    assert_eq!(answer.header("content-length").unwrap().parse::<usize>().unwrap(), answer.body.len());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    answer
}

async fn call(cloud: &FakeCloud, method: &str, target: &str, auth: Option<&str>, body: Option<&Value>) -> Answer {
    call_text(cloud, method, target, auth, body.map(Value::to_string).as_deref()).await
}

async fn call_text(cloud: &FakeCloud, method: &str, target: &str, auth: Option<&str>, body: Option<&str>) -> Answer {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", cloud.local_addr());
    if let Some(auth) = auth {
        request.push_str(&format!("Authorization: {auth}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method != "GET" {
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    send_raw(cloud.local_addr(), request.as_bytes()).await
}

async fn start(faults: CloudFaults) -> FakeCloud {
    FakeCloud::start(FakeCloudConfig::new("alice@example.com", "hunter22").with_user_id("alice-id").with_faults(faults))
        .await
        .unwrap()
}

async fn password_login(cloud: &FakeCloud) -> Answer {
    call(cloud, "POST", "/v1/login2", None, Some(&json!({"user_name": "alice@example.com", "password": "hunter22"})))
        .await
}

async fn access_token(cloud: &FakeCloud) -> String {
    let answer = password_login(cloud).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.field("accesstoken")
}

fn jwt_payload(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT");
    let payload = base64ct::Base64UrlUnpadded::decode_vec(parts[1]).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

fn now() -> u64 {
    unix_now()
}

fn assert_failure(answer: &Answer, status: u16, description: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.json(), json!({"status": "failure", "description": description}));
}

#[tokio::test]
async fn password_login_returns_fake_jwts() {
    let cloud = start(CloudFaults::default()).await;
    assert_eq!(cloud.base_url(), format!("http://{}/v1/", cloud.local_addr()));
    assert_eq!(cloud.claim_url(), format!("http://{}/", cloud.local_addr()));
    let answer = password_login(&cloud).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.field("status"), "success");
    let id = jwt_payload(&answer.field("idtoken"));
    assert_eq!(id["custom:user_id"], "alice-id");
    assert_eq!(id["email"], "alice@example.com");
    assert!(id["exp"].as_u64().unwrap() > now());
    let access = jwt_payload(&answer.field("accesstoken"));
    assert!(access["exp"].as_u64().unwrap() > now());
    assert!(!answer.field("refreshtoken").is_empty());
    assert_eq!(cloud.user_id(), "alice-id");
    assert_eq!(cloud.user_name(), "alice@example.com");
    assert_eq!(cloud.requests(), vec!["POST /v1/login2".to_owned()]);
    assert_eq!(cloud.request_count("v1/login2"), 1);
}

#[tokio::test]
async fn wrong_credentials_and_wrong_password_mode_are_refused() {
    let cloud = start(CloudFaults::default()).await;
    let bad = json!({"user_name": "alice@example.com", "password": "hunter23"});
    assert_failure(&call(&cloud, "POST", "/v1/login2", None, Some(&bad)).await, 401, "Incorrect user name or password");
    let bad_user = json!({"user_name": "bob@example.com", "password": "hunter22"});
    let answer = call(&cloud, "POST", "/v1/login2", None, Some(&bad_user)).await;
    assert_failure(&answer, 401, "Incorrect user name or password");
    cloud.update_faults(|f| f.wrong_password = true);
    assert_failure(&password_login(&cloud).await, 401, "Incorrect user name or password");
    cloud.update_faults(|f| f.wrong_password = false);
    assert_eq!(password_login(&cloud).await.status, 200);
    // Not JSON, or no password.
    assert_eq!(call_text(&cloud, "POST", "/v1/login2", None, Some("{nope")).await.status, 400);
    let no_password = json!({"user_name": "alice@example.com"});
    assert_eq!(call(&cloud, "POST", "/v1/login2", None, Some(&no_password)).await.status, 400);
}

#[tokio::test]
async fn otp_login_takes_a_session_and_the_code() {
    let cloud = start(CloudFaults { otp_required: true, ..CloudFaults::default() }).await;
    let first = password_login(&cloud).await;
    assert_eq!(first.status, 200);
    let session = first.field("session");
    assert!(first.json().get("accesstoken").is_none() && first.json().get("idtoken").is_none());
    let step = |code: &str, session: &str| json!({"user_name": "alice@example.com", "session": session, "verification_code": code});
    let wrong = call(&cloud, "POST", "/v1/login2", None, Some(&step("000000", &session))).await;
    assert_failure(&wrong, 401, "Invalid verification code");
    let unknown = call(&cloud, "POST", "/v1/login2", None, Some(&step("123456", "bogus"))).await;
    assert_eq!(unknown.status, 401);
    let done = call(&cloud, "POST", "/v1/login2", None, Some(&step("123456", &session))).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(jwt_payload(&done.field("idtoken"))["custom:user_id"], "alice-id");
    let token = done.field("accesstoken");
    let initiate = call(&cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(&token), Some(&json!({}))).await;
    assert_eq!(initiate.status, 200);
    // The session is single use.
    let again = call(&cloud, "POST", "/v1/login2", None, Some(&step("123456", &session))).await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn expired_access_tokens_must_be_refreshed() {
    let cloud = start(CloudFaults { expired_access_tokens: true, ..CloudFaults::default() }).await;
    let login = password_login(&cloud).await;
    let expired = login.field("accesstoken");
    assert!(jwt_payload(&expired)["exp"].as_u64().unwrap() <= now());
    let body = json!({"timeout": 360});
    let answer = call(&cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(&expired), Some(&body)).await;
    assert_failure(&answer, 401, "Unauthorized");

    let refresh = json!({"refreshtoken": login.field("refreshtoken")});
    let refreshed = call(&cloud, "POST", "/v1/login2", None, Some(&refresh)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let fresh = refreshed.field("accesstoken");
    assert!(jwt_payload(&fresh)["exp"].as_u64().unwrap() > now());
    assert_eq!(jwt_payload(&refreshed.field("idtoken"))["custom:user_id"], "alice-id");
    let answer = call(&cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(&fresh), Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let bogus = call(&cloud, "POST", "/v1/login2", None, Some(&json!({"refreshtoken": "nope"}))).await;
    assert_eq!(bogus.status, 401);
}

#[tokio::test]
async fn calls_without_the_raw_access_token_are_unauthorized() {
    let cloud = start(CloudFaults::default()).await;
    let token = access_token(&cloud).await;
    let body = json!({"timeout": 10});
    let path = "/v1/user/nodes/mapping/initiate";
    assert_failure(&call(&cloud, "POST", path, None, Some(&body)).await, 401, "Unauthorized");
    let bearer = format!("Bearer {token}");
    assert_failure(&call(&cloud, "POST", path, Some(&bearer), Some(&body)).await, 401, "Unauthorized");
    assert_failure(&call(&cloud, "POST", path, Some("garbage"), Some(&body)).await, 401, "Unauthorized");
    assert_failure(&call(&cloud, "GET", "/v1/user/nodes/mapping?request_id=x", None, None).await, 401, "Unauthorized");
    let claim = json!({"mac_addr": "AABBCCDDEEFF", "platform": "esp32c3"});
    assert_failure(&call(&cloud, "POST", "/claim/initiate", None, Some(&claim)).await, 401, "Unauthorized");
    // The id token is not an access token either.
    let id_token = password_login(&cloud).await.field("idtoken");
    assert_eq!(call(&cloud, "POST", path, Some(&id_token), Some(&body)).await.status, 401);
    let ok = call(&cloud, "POST", path, Some(&token), Some(&body)).await;
    assert_eq!(ok.status, 200);
    assert!(!ok.field("challenge").is_empty() && !ok.field("request_id").is_empty());
}

fn user_assoc_device(node_id: &str) -> Arc<SimDevice> {
    let mut config = SimConfig::new(SimSecurity::Sec1 { pop: Some(Secret::from("abcd1234")) });
    config.rainmaker = Some(SimRainMaker::user_assoc(node_id));
    config.join_delay = Duration::ZERO;
    config.auto_stop = None;
    config.seed = Some(7);
    SimDevice::new(config)
}

async fn device_session(device: &Arc<SimDevice>) -> DeviceSession {
    let transport = Arc::new(MemoryTransport::new(device.clone()));
    let options = SessionOptions { pop: Some(Secret::from("abcd1234")), ..SessionOptions::default() };
    let session = DeviceSession::new(transport, options);
    session.connect().await.unwrap();
    session
}

#[tokio::test]
async fn mapping_is_confirmed_once_the_online_node_reports_the_same_secret() {
    let cloud = start(CloudFaults::default()).await;
    let device = user_assoc_device("node1");
    cloud.attach(device.clone());
    let token = access_token(&cloud).await;
    let user_id = cloud.user_id();
    let secret = "0d7c9a52-7f5e-4c1b-9a3e-2b1f0c8d4e6a";
    let add = json!({"user_id": user_id, "node_id": "node1", "secret_key": secret, "operation": "add"});
    let put = call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&add)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let request_id = put.field("request_id");
    let status = |target: String| {
        let (cloud, token) = (&cloud, token.clone());
        async move { call(cloud, "GET", &target, Some(&token), None).await.field("request_status") }
    };
    let plain = format!("/v1/user/nodes/mapping?request_id={request_id}");
    let cli_style = format!("/v1/user/nodes/mapping?&request_id={request_id}");
    let android_style = format!("/v1/user/nodes/mapping?request_id={request_id}&user_request=true");
    assert_eq!(status(plain.clone()).await, "requested");

    // The device learns the mapping over cloud_user_assoc but is not online yet.
    let session = device_session(&device).await;
    let request = rainmaker::set_user_mapping_request(&user_id, secret).unwrap();
    let answer = session.send_custom(rainmaker::CLOUD_USER_ASSOC, &request).await.unwrap();
    assert_eq!(rainmaker::parse_set_user_mapping_response(&answer).unwrap(), "node1");
    assert_eq!(status(cli_style.clone()).await, "requested");
    assert!(cloud.mapped_nodes().is_empty());

    // A mapping with another secret is never confirmed, even with the node online.
    let other = json!({"node_id": "node1", "secret_key": "another-secret", "operation": "add"});
    let other_id = call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&other)).await.field("request_id");

    let poll = PollOptions {
        deadline: Duration::from_secs(10),
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
    };
    session.provision_wifi(b"RefPeer-Home", b"secretpass", poll).await.unwrap();
    assert!(device.connected_ssid().is_some());
    assert_eq!(status(cli_style).await, "confirmed");
    assert_eq!(status(android_style).await, "confirmed");
    assert_eq!(status(format!("/v1/user/nodes/mapping?request_id={other_id}")).await, "requested");
    assert_eq!(cloud.mapped_nodes(), vec![(user_id.clone(), "node1".to_owned())]);

    // Unknown request ids, bad bodies.
    let unknown = call(&cloud, "GET", "/v1/user/nodes/mapping?request_id=nope", Some(&token), None).await;
    assert_failure(&unknown, 400, "Invalid request id");
    let wrong_user = json!({"user_id": "mallory", "node_id": "node1", "secret_key": secret, "operation": "add"});
    assert_eq!(call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&wrong_user)).await.status, 400);
    let no_op = json!({"node_id": "node1", "secret_key": secret});
    assert_eq!(call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&no_op)).await.status, 400);
}

#[tokio::test]
async fn mapping_status_can_be_forced() {
    let cloud = start(CloudFaults::default()).await;
    let token = access_token(&cloud).await;
    let add = json!({"node_id": "node1", "secret_key": "s", "operation": "add"});
    let request_id = call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&add)).await.field("request_id");
    let target = format!("/v1/user/nodes/mapping?request_id={request_id}");
    for (behaviour, expected) in [
        (MappingBehaviour::TimedOut, "timedout"),
        (MappingBehaviour::Discarded, "discarded"),
        (MappingBehaviour::NeverConfirmed, "requested"),
        (MappingBehaviour::Normal, "requested"),
    ] {
        cloud.update_faults(|f| f.mapping = behaviour);
        let answer = call(&cloud, "GET", &target, Some(&token), None).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.field("request_status"), expected, "{behaviour:?}");
    }
}

#[tokio::test]
async fn never_confirmed_ignores_a_reporting_node() {
    let cloud = start(CloudFaults { mapping: MappingBehaviour::NeverConfirmed, ..CloudFaults::default() }).await;
    let device = user_assoc_device("node7");
    cloud.attach(device.clone());
    let token = access_token(&cloud).await;
    let session = device_session(&device).await;
    let request = rainmaker::set_user_mapping_request("alice-id", "k").unwrap();
    session.send_custom(rainmaker::CLOUD_USER_ASSOC, &request).await.unwrap();
    session.provision_wifi(b"RefPeer-Home", b"secretpass", PollOptions::default()).await.unwrap();
    let add = json!({"node_id": "node7", "secret_key": "k", "operation": "add"});
    let request_id = call(&cloud, "PUT", "/v1/user/nodes/mapping", Some(&token), Some(&add)).await.field("request_id");
    let target = format!("/v1/user/nodes/mapping?request_id={request_id}");
    assert_eq!(call(&cloud, "GET", &target, Some(&token), None).await.field("request_status"), "requested");
    cloud.update_faults(|f| f.mapping = MappingBehaviour::Normal);
    assert_eq!(call(&cloud, "GET", &target, Some(&token), None).await.field("request_status"), "confirmed");
}

const NODE_SCALAR: [u8; 32] = [0x42; 32];

fn ch_resp_device(node_id: &str) -> Arc<SimDevice> {
    let mut rmaker = SimRainMaker::ch_resp(node_id);
    rmaker.signing_key = Some(Secret::new(NODE_SCALAR.to_vec()));
    let mut config = SimConfig::new(SimSecurity::Sec1 { pop: Some(Secret::from("abcd1234")) });
    config.rainmaker = Some(rmaker);
    SimDevice::new(config)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign(key: &p256::ecdsa::SigningKey, challenge: &str) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    let signature: p256::ecdsa::Signature = key.sign(challenge.as_bytes());
    signature.to_der().as_bytes().to_vec()
}

async fn initiate(cloud: &FakeCloud, token: &str) -> (String, String) {
    let answer =
        call(cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(token), Some(&json!({"timeout": 360}))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    (answer.field("challenge"), answer.field("request_id"))
}

async fn verify(cloud: &FakeCloud, token: &str, request_id: &str, node_id: &str, response: &str) -> Answer {
    let body = json!({"request_id": request_id, "node_id": node_id, "challenge_response": response});
    call(cloud, "POST", "/v1/user/nodes/mapping/verify", Some(token), Some(&body)).await
}

#[tokio::test]
async fn challenge_response_verifies_with_the_node_key() {
    let cloud = start(CloudFaults::default()).await;
    let device = ch_resp_device("node-ch");
    cloud.attach(device);
    let token = access_token(&cloud).await;
    let key = p256::ecdsa::SigningKey::from_slice(&NODE_SCALAR).unwrap();
    let (challenge, request_id) = initiate(&cloud, &token).await;

    let other_key = p256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap();
    let wrong = verify(&cloud, &token, &request_id, "node-ch", &hex(&sign(&other_key, &challenge))).await;
    assert_failure(&wrong, 400, "Invalid challenge response");
    let wrong_message = verify(&cloud, &token, &request_id, "node-ch", &hex(&sign(&key, "other"))).await;
    assert_failure(&wrong_message, 400, "Invalid challenge response");
    let signature = sign(&key, &challenge);
    let upper = verify(&cloud, &token, &request_id, "node-ch", &hex(&signature).to_uppercase()).await;
    assert_failure(&upper, 400, "Invalid challenge response");
    let unknown_node = verify(&cloud, &token, &request_id, "node-x", &hex(&signature)).await;
    assert_failure(&unknown_node, 400, "Node not registered");
    let unknown_request = verify(&cloud, &token, "nope", "node-ch", &hex(&signature)).await;
    assert_failure(&unknown_request, 400, "Invalid request id");
    assert!(cloud.mapped_nodes().is_empty());

    let ok = verify(&cloud, &token, &request_id, "node-ch", &hex(&signature)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json(), json!({"status": "success"}));
    assert_eq!(cloud.mapped_nodes(), vec![("alice-id".to_owned(), "node-ch".to_owned())]);
    // The challenge is used up.
    assert_eq!(verify(&cloud, &token, &request_id, "node-ch", &hex(&signature)).await.status, 400);
}

#[tokio::test]
async fn challenge_signed_by_the_simulated_device_verifies() {
    let cloud = start(CloudFaults::default()).await;
    let device = ch_resp_device("node-dev");
    cloud.attach(device.clone());
    let token = access_token(&cloud).await;
    let (challenge, request_id) = initiate(&cloud, &token).await;
    let session = device_session(&device).await;
    let request = rainmaker::challenge_request(challenge.as_bytes()).unwrap();
    let answer = session.send_custom(rainmaker::CH_RESP, &request).await.unwrap();
    let response = rainmaker::parse_challenge_response(&answer).unwrap();
    assert_eq!(response.node_id, "node-dev");
    let ok = verify(&cloud, &token, &request_id, &response.node_id, &response.signature_hex()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(cloud.mapped_nodes(), vec![("alice-id".to_owned(), "node-dev".to_owned())]);
}

#[tokio::test]
async fn reject_challenges_mode_refuses_good_signatures() {
    let cloud = start(CloudFaults { reject_challenges: true, ..CloudFaults::default() }).await;
    cloud.attach(ch_resp_device("node-ch"));
    let token = access_token(&cloud).await;
    let key = p256::ecdsa::SigningKey::from_slice(&NODE_SCALAR).unwrap();
    let (challenge, request_id) = initiate(&cloud, &token).await;
    let signature = hex(&sign(&key, &challenge));
    let answer = verify(&cloud, &token, &request_id, "node-ch", &signature).await;
    assert_failure(&answer, 400, "Invalid challenge response");
    cloud.update_faults(|f| f.reject_challenges = false);
    assert_eq!(verify(&cloud, &token, &request_id, "node-ch", &signature).await.status, 200);
}

#[test]
fn rsa_pss_challenge_signatures_verify() {
    use rsa::pkcs8::EncodePublicKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    // A small key keeps the test fast; the check does not depend on the size.
    let mut rng = rsa::rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let spki = private.to_public_key().to_public_key_der().unwrap().into_vec();
    let signer = rsa::pss::SigningKey::<rsa::sha2::Sha256>::new(private);
    let signature = signer.sign_with_rng(&mut rng, b"challenge").to_vec();
    assert!(pki::verify_challenge(&spki, b"challenge", &signature));
    assert!(!pki::verify_challenge(&spki, b"challengf", &signature));
    assert!(!pki::verify_challenge(b"not der", b"challenge", &signature));
}

fn csr_json(key: &p256::ecdsa::SigningKey, common_name: &str) -> (String, x509_cert::request::CertReq) {
    let subject = Name::from_str(&format!("CN={common_name}")).unwrap();
    let signer = pki::P256Signer(key.clone());
    let csr = RequestBuilder::new(subject, &signer).unwrap().build::<p256::ecdsa::DerSignature>().unwrap();
    let pem = csr.to_pem(LineEnding::LF).unwrap();
    // What the device sends: PEM line breaks as the two characters `\n`, no other escaping.
    (format!("{{\"csr\":\"{}\",\"send_mqtt_host\":true}}", pem.replace('\n', "\\n")), csr)
}

async fn claim_initiate_node(cloud: &FakeCloud, token: &str, mac: &str) -> String {
    let body = json!({"mac_addr": mac, "platform": "esp32c3"});
    let answer = call(cloud, "POST", "/claim/initiate", Some(token), Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.field("node_id")
}

#[tokio::test]
async fn claiming_issues_a_certificate_for_the_csr_key() {
    let cloud = start(CloudFaults::default()).await;
    let token = access_token(&cloud).await;
    let node_id = claim_initiate_node(&cloud, &token, "A0B1C2D3E4F5").await;
    assert_eq!(node_id.len(), 22);
    assert!(node_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(claim_initiate_node(&cloud, &token, "a0b1c2d3e4f5").await, node_id, "same MAC, same node");
    assert_eq!(cloud.claimed_macs(), vec![("A0B1C2D3E4F5".to_owned(), node_id.clone())]);

    let key = p256::ecdsa::SigningKey::from_slice(&[0x24; 32]).unwrap();
    let (body, csr) = csr_json(&key, &node_id);
    let answer = call_text(&cloud, "POST", "/claim/verify", Some(&token), Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.len() < OVERSIZED_CLAIM_ANSWER, "{} bytes", answer.body.len());
    assert!(answer.body.starts_with("{\"certificate\":\"-----BEGIN CERTIFICATE-----\\n"), "{}", answer.body);
    assert!(!answer.body.contains("\\/") && !answer.body.contains("\\u") && !answer.body.contains('\n'));
    assert_eq!(answer.field("mqtt_host"), DEFAULT_MQTT_HOST);

    let pem = answer.field("certificate");
    let certificate = x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap();
    let tbs = &certificate.tbs_certificate;
    assert_eq!(tbs.subject_public_key_info.to_der().unwrap(), csr.info.public_key.to_der().unwrap());
    assert_eq!(tbs.subject.to_string(), format!("CN={node_id}"));
    // Signed by the fake CA.
    let ca = x509_cert::Certificate::from_pem(cloud.ca_certificate_pem().as_bytes()).unwrap();
    assert_eq!(tbs.issuer, ca.tbs_certificate.subject);
    let ca_spki = ca.tbs_certificate.subject_public_key_info.to_der().unwrap();
    let ca_key = <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(&ca_spki).unwrap();
    let signature = p256::ecdsa::Signature::from_der(certificate.signature.raw_bytes()).unwrap();
    p256::ecdsa::signature::Verifier::verify(&ca_key, &tbs.to_der().unwrap(), &signature).unwrap();

    let issued = cloud.issued_certificates();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].node_id, node_id);
    assert_eq!(issued[0].pem, pem);

    // The claimed node is registered with the certified key: challenge-response works for it.
    let (challenge, request_id) = initiate(&cloud, &token).await;
    let ok = verify(&cloud, &token, &request_id, &node_id, &hex(&sign(&key, &challenge))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(cloud.mapped_nodes(), vec![("alice-id".to_owned(), node_id)]);
}

#[tokio::test]
async fn claim_verify_refuses_bad_csrs() {
    let cloud = start(CloudFaults::default()).await;
    let token = access_token(&cloud).await;
    let key = p256::ecdsa::SigningKey::from_slice(&[0x24; 32]).unwrap();
    let (body, mut csr) = csr_json(&key, "whatever");
    // No claim in progress.
    assert_failure(
        &call_text(&cloud, "POST", "/claim/verify", Some(&token), Some(&body)).await,
        400,
        "No claim in progress",
    );
    claim_initiate_node(&cloud, &token, "001122334455").await;
    // Tampered: the subject no longer matches the signature.
    csr.info.subject = Name::from_str("CN=tampered").unwrap();
    let pem = csr.to_pem(LineEnding::LF).unwrap();
    let tampered = json!({"csr": pem, "send_mqtt_host": true});
    let answer = call(&cloud, "POST", "/claim/verify", Some(&token), Some(&tampered)).await;
    assert_failure(&answer, 400, "Invalid CSR");
    let garbage = json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"});
    assert_failure(&call(&cloud, "POST", "/claim/verify", Some(&token), Some(&garbage)).await, 400, "Invalid CSR");
    assert!(cloud.issued_certificates().is_empty());
    // A CSR without the node id as common name still certifies the pending claim.
    let answer = call_text(&cloud, "POST", "/claim/verify", Some(&token), Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn claim_failure_modes() {
    let cloud = start(CloudFaults { refuse_claim_initiate: true, ..CloudFaults::default() }).await;
    let token = access_token(&cloud).await;
    let body = json!({"mac_addr": "AABBCCDDEEFF", "platform": "esp32"});
    let refused = call(&cloud, "POST", "/claim/initiate", Some(&token), Some(&body)).await;
    assert!((400..500).contains(&refused.status), "{}", refused.status);
    let bad_mac = json!({"mac_addr": "AABBCC", "platform": "esp32"});
    cloud.update_faults(|f| f.refuse_claim_initiate = false);
    assert_eq!(call(&cloud, "POST", "/claim/initiate", Some(&token), Some(&bad_mac)).await.status, 400);
    let node_id = claim_initiate_node(&cloud, &token, "AABBCCDDEEFF").await;

    cloud.update_faults(|f| f.oversized_claim_verify = true);
    let key = p256::ecdsa::SigningKey::from_slice(&[0x25; 32]).unwrap();
    let (csr, _) = csr_json(&key, &node_id);
    let answer = call_text(&cloud, "POST", "/claim/verify", Some(&token), Some(&csr)).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.len() >= OVERSIZED_CLAIM_ANSWER, "{} bytes", answer.body.len());
    assert!(answer.field("certificate").starts_with("-----BEGIN CERTIFICATE-----\n"));
}

#[tokio::test]
async fn injected_server_errors_hit_the_next_requests_to_a_path() {
    let cloud = start(CloudFaults {
        fail_next: vec![InjectedFailure { path: "v1/login2".into(), count: 1, status: 502 }],
        ..CloudFaults::default()
    })
    .await;
    assert_failure(&password_login(&cloud).await, 502, "Injected failure");
    assert_eq!(password_login(&cloud).await.status, 200);
    cloud.fail_next("/v1/login2", 2, 503);
    assert_eq!(password_login(&cloud).await.status, 503);
    let token = cloud.issue_tokens().access_token;
    let token = std::str::from_utf8(token.expose()).unwrap().to_owned();
    // Other paths are not affected.
    let initiate = call(&cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(&token), Some(&json!({}))).await;
    assert_eq!(initiate.status, 200);
    assert_eq!(password_login(&cloud).await.status, 503);
    assert_eq!(password_login(&cloud).await.status, 200);
    assert_eq!(cloud.request_count("/v1/login2"), 5);
    assert_eq!(cloud.request_count("/v1/user/nodes/mapping/initiate"), 1);
    assert!(cloud.faults().fail_next.is_empty());
}

#[tokio::test]
async fn slow_cloud_delays_every_answer() {
    let cloud = start(CloudFaults { response_delay: Duration::from_millis(300), ..CloudFaults::default() }).await;
    let started = std::time::Instant::now();
    assert_eq!(password_login(&cloud).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    cloud.update_faults(|f| f.response_delay = Duration::ZERO);
    let started = std::time::Instant::now();
    assert_eq!(password_login(&cloud).await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn hostile_requests_get_errors_and_the_server_keeps_serving() {
    let cloud = start(CloudFaults::default()).await;
    let addr = cloud.local_addr();
    assert_eq!(send_raw(addr, b"garbage\r\n\r\n").await.status, 400);
    assert_eq!(send_raw(addr, b"GET / HTTP/2.0\r\n\r\n").await.status, 505);
    let huge_head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20 * 1024));
    assert_eq!(send_raw(addr, huge_head.as_bytes()).await.status, 431);
    let huge_body = "POST /v1/login2 HTTP/1.1\r\nContent-Length: 70000\r\n\r\n{}";
    assert_eq!(send_raw(addr, huge_body.as_bytes()).await.status, 413);
    let chunked = "POST /v1/login2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(send_raw(addr, chunked.as_bytes()).await.status, 411);
    let bad_length = "POST /v1/login2 HTTP/1.1\r\nContent-Length: x\r\n\r\n";
    assert_eq!(send_raw(addr, bad_length.as_bytes()).await.status, 400);
    let utf8 = b"GET /\xff HTTP/1.1\r\n\r\n";
    assert_eq!(send_raw(addr, utf8).await.status, 400);
    assert_eq!(call(&cloud, "GET", "/v1/nothing", None, None).await.status, 404);
    assert_eq!(call(&cloud, "DELETE", "/v1/login2", None, None).await.status, 405);
    assert_eq!(call_text(&cloud, "POST", "/v1/login2", None, Some("[1,2]")).await.status, 400);
    let token = access_token(&cloud).await;
    for body in ["{\"timeout\":-1}", "{\"timeout\":\"x\"}", "{\"timeout\":99999999}", "null"] {
        let answer = call_text(&cloud, "POST", "/v1/user/nodes/mapping/initiate", Some(&token), Some(body)).await;
        assert_eq!(answer.status, 400, "{body}");
    }
    // A client that connects and goes away, and one that sends half a body.
    drop(TcpStream::connect(addr).await.unwrap());
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /v1/login2 HTTP/1.1\r\nContent-Length: 10\r\n\r\n{").await.unwrap();
    drop(half);
    // Expect: 100-continue.
    let body = json!({"user_name": "alice@example.com", "password": "hunter22"}).to_string();
    let request =
        format!("POST /v1/login2 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    assert!(raw.starts_with(interim));
    assert_eq!(parse_answer(&raw[interim.len()..]).status, 200);
    assert_eq!(password_login(&cloud).await.status, 200);
    // Rejected heads never reach the log; bodies never do.
    assert!(cloud.requests().iter().all(|r| !r.contains("hunter22") && !r.contains('{')));
}

#[tokio::test]
async fn dropping_the_cloud_closes_the_port() {
    let cloud = start(CloudFaults::default()).await;
    let addr = cloud.local_addr();
    // A connection left hanging mid-request must not keep anything alive.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"POST /v1/login2 HTTP/1.1\r\n").await.unwrap();
    drop(cloud);
    let mut closed = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "the port still accepts connections");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await.unwrap();
    assert!(read.is_err() || rest.is_empty());
}

#[test]
fn config_debug_redacts_secrets() {
    let config = FakeCloudConfig::new("alice@example.com", "hunter22");
    let text = format!("{config:?}");
    assert!(!text.contains("hunter22") && !text.contains("123456"), "{text}");
    assert!(text.contains("alice@example.com"));
}

#[tokio::test]
async fn issued_tokens_debug_is_redacted() {
    let cloud = start(CloudFaults::default()).await;
    let tokens = cloud.issue_tokens();
    let access = std::str::from_utf8(tokens.access_token.expose()).unwrap().to_owned();
    assert!(!format!("{tokens:?}").contains(&access));
    assert!(jwt_payload(&access)["exp"].as_u64().unwrap() > now());
}

#[cfg(feature = "rainmaker-http")]
#[tokio::test]
async fn reqwest_talks_to_the_fake_cloud() {
    let cloud = start(CloudFaults::default()).await;
    // Installs the process-wide TLS provider when `rainmaker-tls` is on (reqwest needs one).
    crate::rainmaker::ReqwestBackend::new(std::time::Duration::from_secs(5)).unwrap();
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}login2", cloud.base_url()))
        .json(&json!({"user_name": "alice@example.com", "password": "hunter22"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accesstoken"].as_str().unwrap().to_owned();
    let answer = client
        .post(format!("{}user/nodes/mapping/initiate", cloud.base_url()))
        .header("Authorization", &token)
        .json(&json!({"timeout": 360}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body: Value = answer.json().await.unwrap();
    assert!(body["challenge"].is_string());
    let claim = client
        .post(format!("{}claim/initiate", cloud.claim_url()))
        .header("Authorization", &token)
        .json(&json!({"mac_addr": "AABBCCDDEEFF", "platform": "esp32c3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(claim.status(), 200);
    let unauthorized = client.get(format!("{}user/nodes/mapping?request_id=x", cloud.base_url())).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

/// Start, Init (CSR fragments), claim/initiate and claim/verify against the cloud, Verify in
/// 200-byte chunks: the simulated node ends up with the certificate the cloud issued, and the
/// cloud verifies its challenge responses with the certified key.
#[tokio::test]
async fn a_simulated_node_is_claimed_end_to_end() {
    use rainmaker::ClaimStep;
    let cloud = start(CloudFaults::default()).await;
    let token = access_token(&cloud).await;
    let mut config = SimConfig::new(SimSecurity::Sec1 { pop: Some(Secret::from("abcd1234")) });
    config.rainmaker = Some(SimRainMaker::claiming(true));
    config.seed = Some(11);
    let device = SimDevice::new(config);
    cloud.attach(device.clone());
    let session = device_session(&device).await;
    let exchange = |request: Vec<u8>| {
        let session = &session;
        async move { session.send_custom(rainmaker::RMAKER_CLAIM, &request).await.unwrap() }
    };

    let start = rainmaker::parse_claim_response(ClaimStep::Start, &exchange(rainmaker::claim_start_request()).await);
    let device_info = start.unwrap().payload;
    let device_info = std::str::from_utf8(&device_info).unwrap();
    let claim = call_text(&cloud, "POST", "/claim/initiate", Some(&token), Some(device_info)).await;
    assert_eq!(claim.status, 200, "{}", claim.body);
    let node_id = claim.field("node_id");

    let mut csr = rainmaker::ClaimAssembler::new();
    let mut request = rainmaker::claim_init_request(claim.body.as_bytes()).unwrap();
    loop {
        let fragment = rainmaker::parse_claim_response(ClaimStep::Init, &exchange(request).await).unwrap();
        if csr.push(fragment).unwrap() {
            break;
        }
        request = rainmaker::claim_init_next_request();
    }
    let csr = String::from_utf8(csr.into_bytes()).unwrap();
    let verify_answer = call_text(&cloud, "POST", "/claim/verify", Some(&token), Some(&csr)).await;
    assert_eq!(verify_answer.status, 200, "{}", verify_answer.body);
    for chunk in rainmaker::claim_verify_requests(verify_answer.body.as_bytes(), 200).unwrap() {
        rainmaker::parse_claim_response(ClaimStep::Verify, &exchange(chunk).await).unwrap();
    }
    assert!(device.rainmaker_claimed());
    assert_eq!(device.rainmaker_node_id().as_deref(), Some(node_id.as_str()));
    let issued = cloud.issued_certificates();
    assert_eq!(device.rainmaker_certificate_pem().as_deref().map(str::trim), Some(issued[0].pem.trim()));
    assert_eq!(device.rainmaker_public_key_spki(), Some(issued[0].public_key_spki.clone()));

    let (challenge, request_id) = initiate(&cloud, &token).await;
    let request = rainmaker::challenge_request(challenge.as_bytes()).unwrap();
    let answer = session.send_custom(rainmaker::CH_RESP, &request).await.unwrap();
    let response = rainmaker::parse_challenge_response(&answer).unwrap();
    assert_eq!(response.node_id, node_id);
    let ok = verify(&cloud, &token, &request_id, &node_id, &response.signature_hex()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
