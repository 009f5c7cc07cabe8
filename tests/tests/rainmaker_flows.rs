//! ESP RainMaker user-node association end to end: the phone side against the simulator (memory
//! and HTTP transports) and a fake RainMaker cloud, a tiny HTTP/1.1 server on 127.0.0.1 that
//! verifies ECDSA signatures against the simulated node's public key and confirms traditional
//! mappings only when the secret key matches the one the device received.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p256::ecdsa::signature::Verifier;
use rainmaker_prov::endpoints::proto_ver;
use rainmaker_prov::rainmaker::{
    self, Association, AssociationMode, MappingPoll, MappingStatus, RainMakerCloud, RainMakerError,
};
use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::sim::device::{SimDevice, SimRainMaker, SimSecurity};
use rainmaker_prov_tests::{Fixture, POP, Via, fast_config};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "eyJ-test-access-token.Zk93QX1";
const USER_ID: &str = "0b6c2f1e-user-7d4a";
const NODE_ID: &str = "Xk7pQ2mN9vR4tY8wZ3aB6c";

/// What the fake cloud answers to `GET user/nodes/mapping?request_id=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusMode {
    /// `confirmed` once the device holds a mapping with the same user id and secret key (what the
    /// node's MQTT report does on the real cloud), `requested` before.
    ConfirmWhenDeviceAgrees,
    /// Always `timedout`.
    TimedOut,
    /// Always `discarded`.
    Discarded,
    /// Always `requested`.
    NeverConfirmed,
}

#[derive(Default)]
struct CloudState {
    challenges: HashMap<String, String>,
    mappings: HashMap<String, (String, String, String)>,
    verified_nodes: Vec<String>,
    requests: Vec<String>,
    status_polls: u32,
}

struct FakeCloud {
    /// The node key the cloud trusts (SEC1), as registered at claiming.
    node_public_key: Vec<u8>,
    device: Arc<SimDevice>,
    status_mode: StatusMode,
    state: Mutex<CloudState>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl FakeCloud {
    fn handle(&self, method: &str, target: &str, auth: Option<&str>, body: &[u8]) -> Reply {
        let mut st = self.state.lock().unwrap();
        st.requests.push(format!("{method} {target}"));
        if auth != Some(TOKEN) {
            return Reply { status: 401, body: json!({"status": "failure", "description": "Unauthorized"}) };
        }
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let n = st.requests.len();
        match (method, target) {
            ("POST", "/v1/user/nodes/mapping/initiate") => {
                assert_eq!(body, json!({"timeout": 360}));
                let challenge = format!("chal-{n:04}-9f2b7c1d3e");
                let request_id = format!("REQ{n:06}");
                st.challenges.insert(request_id.clone(), challenge.clone());
                Reply { status: 200, body: json!({"challenge": challenge, "request_id": request_id}) }
            }
            ("POST", "/v1/user/nodes/mapping/verify") => {
                let request_id = body["request_id"].as_str().unwrap_or_default();
                let node_id = body["node_id"].as_str().unwrap_or_default();
                let sig_hex = body["challenge_response"].as_str().unwrap_or_default();
                let Some(challenge) = st.challenges.get(request_id).cloned() else {
                    return Reply { status: 404, body: json!({"status": "failure", "description": "Unknown request"}) };
                };
                assert_eq!(sig_hex, sig_hex.to_lowercase(), "the signature must be lowercase hex");
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&self.node_public_key).unwrap();
                let ok = hex::decode(sig_hex)
                    .ok()
                    .and_then(|der| p256::ecdsa::Signature::from_der(&der).ok())
                    .is_some_and(|sig| key.verify(challenge.as_bytes(), &sig).is_ok());
                if !ok || node_id != NODE_ID {
                    return Reply {
                        status: 400,
                        body: json!({"status": "failure", "description": "Invalid challenge response", "error_code": 100011}),
                    };
                }
                st.verified_nodes.push(node_id.to_owned());
                Reply { status: 200, body: json!({"status": "success", "description": "Node added"}) }
            }
            ("PUT", "/v1/user/nodes/mapping") => {
                assert_eq!(body["operation"], "add");
                let request_id = format!("MAP{n:06}");
                let get = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
                st.mappings.insert(request_id.clone(), (get("user_id"), get("node_id"), get("secret_key")));
                Reply { status: 200, body: json!({"request_id": request_id}) }
            }
            ("GET", t) if t.starts_with("/v1/user/nodes/mapping?request_id=") => {
                st.status_polls += 1;
                let id = &t["/v1/user/nodes/mapping?request_id=".len()..];
                let Some((user, node, secret)) = st.mappings.get(id).cloned() else {
                    return Reply { status: 404, body: json!({"status": "failure", "description": "Unknown request"}) };
                };
                let status = match self.status_mode {
                    StatusMode::TimedOut => "timedout",
                    StatusMode::Discarded => "discarded",
                    StatusMode::NeverConfirmed => "requested",
                    StatusMode::ConfirmWhenDeviceAgrees => {
                        let agrees = node == self.device.rainmaker_node_id().unwrap_or_default()
                            && self
                                .device
                                .rainmaker_user_mappings()
                                .iter()
                                .any(|m| m.user_id == user && m.secret_key.as_str() == secret);
                        if agrees { "confirmed" } else { "requested" }
                    }
                };
                Reply { status: 200, body: json!({"request_status": status, "request_id": id}) }
            }
            _ => Reply { status: 404, body: json!({"status": "failure", "description": "No such API"}) },
        }
    }
}

/// Serves `cloud` on 127.0.0.1 (one request per connection); returns the base URL.
async fn serve(cloud: Arc<FakeCloud>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let cloud = cloud.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if buf.len() > 64 * 1024 {
                        return;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap_or_default().split(' ');
                let (method, target) = (first.next().unwrap_or_default(), first.next().unwrap_or_default());
                let mut auth = None;
                let mut length = 0usize;
                for line in lines {
                    if let Some((k, v)) = line.split_once(':') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "authorization" => auth = Some(v.trim().to_owned()),
                            "content-length" => length = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                }
                while buf.len() < head_end + length {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let reply = cloud.handle(method, target, auth.as_deref(), &buf[head_end..head_end + length]);
                let body = reply.body.to_string();
                let out = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    reply.status,
                    body.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/v1/")
}

fn rainmaker_device(security: SimSecurity, personality: SimRainMaker) -> rainmaker_prov::sim::device::SimConfig {
    let mut config = fast_config(security);
    config.rainmaker = Some(personality);
    config
}

fn sec1() -> SimSecurity {
    SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }
}

fn sec2() -> SimSecurity {
    SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 }
}

async fn connected(fx: &Fixture) -> DeviceSession {
    let options = SessionOptions { pop: Some(Secret::from(POP)), ..SessionOptions::default() };
    let session = DeviceSession::new(fx.transport.clone(), options);
    session.connect().await.unwrap();
    session
}

async fn cloud_for(fx: &Fixture, key_of: &SimDevice, status_mode: StatusMode) -> (Arc<FakeCloud>, RainMakerCloud) {
    let fake = Arc::new(FakeCloud {
        node_public_key: key_of.rainmaker_public_key().expect("a RainMaker device"),
        device: fx.device.clone(),
        status_mode,
        state: Mutex::new(CloudState::default()),
    });
    let base = serve(fake.clone()).await;
    let client = RainMakerCloud::new(&base, Secret::from(TOKEN)).unwrap();
    (fake, client)
}

fn fast_poll() -> MappingPoll {
    MappingPoll { deadline: Duration::from_millis(800), interval: Duration::from_millis(100) }
}

#[tokio::test]
async fn challenge_response_adds_the_node_over_memory_and_http() {
    for (via, security) in [(Via::Memory, sec1()), (Via::Http, sec2())] {
        let fx = Fixture::start(rainmaker_device(security, SimRainMaker::ch_resp(NODE_ID)), via).unwrap();
        let session = connected(&fx).await;
        let info = session.info().await.unwrap();
        let version = info.version.info().unwrap();
        assert!(version.has_ch_resp(), "{via:?}");
        // RainMaker entries come before `prov`, and `rmaker` (claiming) is absent.
        assert_eq!(version.apps[0].0, proto_ver::APP_RMAKER_EXTRA);
        assert!(version.app(proto_ver::APP_RMAKER).is_none());
        let (fake, cloud) = cloud_for(&fx, &fx.device, StatusMode::NeverConfirmed).await;

        let association = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap();
        assert_eq!(association.mode(), AssociationMode::ChallengeResponse);
        assert_eq!(association.node_id(), NODE_ID);
        assert_eq!(fake.state.lock().unwrap().verified_nodes, [NODE_ID]);
        assert_eq!(fx.device.rainmaker_ch_resp_state(), (1, false));
        // ch_resp devices do not register cloud_user_assoc and got no mapping.
        assert!(fx.device.rainmaker_user_mappings().is_empty());
        assert!(matches!(session.set_user_mapping(USER_ID, "k").await, Err(RainMakerError::NoAssociationEndpoint)));

        // The session is still good for the network credentials afterwards.
        let session = connected(&fx).await;
        rainmaker::associate(&session, &cloud, USER_ID).await.unwrap();
        let joined = session.provision_wifi(b"RefPeer-Home", b"secretpass", PollOptions::default()).await.unwrap();
        assert_eq!(joined.ssid, b"RefPeer-Home");
    }
}

#[tokio::test]
async fn signatures_are_der_ecdsa_over_the_challenge() {
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::ch_resp(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&fx.device.rainmaker_public_key().unwrap()).unwrap();
    for challenge in ["a", "0123456789abcdef0123456789abcdef", &"z".repeat(300)] {
        let answer = session.challenge_response(challenge.as_bytes()).await.unwrap();
        assert_eq!(answer.node_id, NODE_ID);
        assert!((8..=72).contains(&answer.signature.len()), "{}", answer.signature.len());
        assert_eq!(answer.signature[0], 0x30, "DER SEQUENCE");
        let sig = p256::ecdsa::Signature::from_der(&answer.signature).unwrap();
        key.verify(challenge.as_bytes(), &sig).unwrap();
        assert!(key.verify(b"another challenge", &sig).is_err());
    }
    // An empty challenge is refused before anything is sent.
    assert!(matches!(session.challenge_response(b"").await, Err(RainMakerError::InvalidInput(_))));
}

#[tokio::test]
async fn user_assoc_mapping_is_confirmed_after_wifi() {
    for (via, security) in [(Via::Memory, sec1()), (Via::Http, sec2())] {
        let fx = Fixture::start(rainmaker_device(security, SimRainMaker::user_assoc(NODE_ID)), via).unwrap();
        let session = connected(&fx).await;
        // A cloud_user_assoc-only device adds nothing to proto-ver.
        assert!(session.info().await.unwrap().version.info().unwrap().apps.is_empty());
        assert!(fx.device.rainmaker_public_key().is_some());
        let (fake, cloud) = cloud_for(&fx, &fx.device, StatusMode::ConfirmWhenDeviceAgrees).await;

        let association = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap();
        assert_eq!(association.mode(), AssociationMode::UserAssoc);
        let Association::Pending(pending) = association else { panic!("expected a pending mapping") };
        assert_eq!(pending.node_id, NODE_ID);
        // The device received exactly this user id and secret key (a UUID v4).
        let received = fx.device.rainmaker_user_mappings();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].user_id, USER_ID);
        assert_eq!(received[0].secret_key.as_str(), pending.secret_key());
        assert_eq!(pending.secret_key().len(), 36);
        assert_eq!(pending.secret_key().as_bytes()[14], b'4');
        // No cloud call yet: the traditional flow talks to the cloud after provisioning.
        assert!(fake.state.lock().unwrap().requests.is_empty());

        session.provision_wifi(b"RefPeer-Home", b"secretpass", PollOptions::default()).await.unwrap();
        let node = pending.confirm(&cloud, fast_poll()).await.unwrap();
        assert_eq!(node, NODE_ID);
        let st = fake.state.lock().unwrap();
        let (user, node, secret) = st.mappings.values().next().unwrap().clone();
        assert_eq!((user.as_str(), node.as_str(), secret.as_str()), (USER_ID, NODE_ID, pending.secret_key()));
    }
}

#[tokio::test]
async fn a_mapping_with_another_secret_is_never_confirmed() {
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::user_assoc(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    let (_fake, cloud) = cloud_for(&fx, &fx.device, StatusMode::ConfirmWhenDeviceAgrees).await;
    let node = session.set_user_mapping(USER_ID, "11111111-2222-4333-8444-555555555555").await.unwrap();
    assert_eq!(node, NODE_ID);
    let request = cloud.add_node_mapping(USER_ID, &node, "99999999-2222-4333-8444-555555555555").await.unwrap();
    assert_eq!(cloud.mapping_status(&request).await.unwrap(), MappingStatus::Requested);
    let started = Instant::now();
    let err = cloud.wait_for_mapping(&request, fast_poll()).await.unwrap_err();
    assert!(
        matches!(&err, RainMakerError::MappingNotConfirmed { last_status, .. } if last_status == "requested"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn wrong_signature_is_a_typed_error() {
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::ch_resp(NODE_ID)), Via::Memory).unwrap();
    // The cloud trusts another node's key: the device's signature does not verify.
    let mut other = SimRainMaker::ch_resp("other");
    other.signing_key = Some(Secret::new(vec![0x42; 32]));
    let impostor = SimDevice::new(rainmaker_device(sec1(), other));
    assert_ne!(impostor.rainmaker_public_key(), fx.device.rainmaker_public_key());
    let session = connected(&fx).await;
    let (fake, cloud) = cloud_for(&fx, &impostor, StatusMode::NeverConfirmed).await;
    let err = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap_err();
    match &err {
        RainMakerError::ChallengeRejected { status, description } => {
            assert_eq!(*status, 400);
            assert_eq!(description, "Invalid challenge response");
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.state.lock().unwrap().verified_nodes.is_empty());
    // A tampered signature from the right device is rejected as well; the genuine one passes.
    let (_, good_cloud) = cloud_for(&fx, &fx.device, StatusMode::NeverConfirmed).await;
    let challenge = good_cloud.initiate_mapping_challenge(360).await.unwrap();
    let fresh = session.challenge_response(challenge.challenge.as_bytes()).await.unwrap();
    let mut tampered = fresh.signature.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        good_cloud.verify_mapping_challenge(&challenge.request_id, &fresh.node_id, &tampered).await,
        Err(RainMakerError::ChallengeRejected { status: 400, .. })
    ));
    good_cloud.verify_mapping_challenge(&challenge.request_id, &fresh.node_id, &fresh.signature).await.unwrap();
}

#[tokio::test]
async fn mapping_status_failures_are_typed_and_bounded() {
    for (mode, expect) in [
        (StatusMode::TimedOut, "timedout"),
        (StatusMode::Discarded, "discarded"),
        (StatusMode::NeverConfirmed, "never"),
    ] {
        let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::user_assoc(NODE_ID)), Via::Memory).unwrap();
        let session = connected(&fx).await;
        let (fake, cloud) = cloud_for(&fx, &fx.device, mode).await;
        let Association::Pending(pending) = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap() else {
            panic!("expected a pending mapping")
        };
        let started = Instant::now();
        let err = pending.confirm(&cloud, fast_poll()).await.unwrap_err();
        let elapsed = started.elapsed();
        match expect {
            "timedout" => assert!(matches!(err, RainMakerError::MappingTimedOut), "{err:?}"),
            "discarded" => assert!(matches!(err, RainMakerError::MappingDiscarded), "{err:?}"),
            _ => assert!(matches!(err, RainMakerError::MappingNotConfirmed { .. }), "{err:?}"),
        }
        assert!(elapsed < Duration::from_secs(2), "{expect}: {elapsed:?}");
        let polls = fake.state.lock().unwrap().status_polls;
        if expect == "never" {
            assert!((5..=10).contains(&polls), "{polls} polls");
        } else {
            assert_eq!(polls, 1, "{expect}: a final status ends polling at once");
        }
    }
}

#[tokio::test]
async fn cloud_http_errors_are_typed() {
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::ch_resp(NODE_ID)), Via::Memory).unwrap();
    let (fake, good) = cloud_for(&fx, &fx.device, StatusMode::NeverConfirmed).await;
    // The cloud wants the raw token: a wrong one gets HTTP 401.
    let bad = RainMakerCloud::new(good.base_url(), Secret::from("Bearer x")).unwrap();
    match bad.initiate_mapping_challenge(360).await.unwrap_err() {
        RainMakerError::Http { status, description, .. } => {
            assert_eq!(status, 401);
            assert_eq!(description, "Unauthorized");
        }
        other => panic!("{other:?}"),
    }
    // A token problem on verify is an HTTP error, not a rejected challenge.
    assert!(matches!(
        bad.verify_mapping_challenge("REQ1", NODE_ID, &[0x30]).await,
        Err(RainMakerError::Http { status: 401, .. })
    ));
    assert!(matches!(good.mapping_status("nope").await, Err(RainMakerError::Http { status: 404, .. })));
    assert!(fake.state.lock().unwrap().requests.iter().any(|r| r == "GET /v1/user/nodes/mapping?request_id=nope"));
    // Nothing listens there: unreachable, quickly.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let nowhere = RainMakerCloud::new(&format!("http://{addr}/v1"), Secret::from(TOKEN)).unwrap();
    assert!(matches!(nowhere.initiate_mapping_challenge(360).await, Err(RainMakerError::CloudUnreachable { .. })));
}

#[tokio::test]
async fn device_without_the_endpoints_is_a_typed_error() {
    let fx = Fixture::start(fast_config(sec1()), Via::Http).unwrap();
    assert!(fx.device.rainmaker_public_key().is_none());
    let session = connected(&fx).await;
    let cloud = RainMakerCloud::new("http://127.0.0.1:9/v1/", Secret::from(TOKEN)).unwrap();
    let err = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap_err();
    assert!(matches!(err, RainMakerError::NoAssociationEndpoint), "{err:?}");
    assert!(matches!(
        session.challenge_response(b"challenge").await,
        Err(RainMakerError::NoAssociationEndpoint | RainMakerError::Device(_))
    ));
    // Reconnecting gives a session that still provisions Wi-Fi.
    let session = connected(&fx).await;
    session.provision_wifi(b"RefPeer-Home", b"secretpass", PollOptions::default()).await.unwrap();
}

#[tokio::test]
async fn disabled_challenge_response_is_a_typed_error() {
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::ch_resp(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    session.disable_challenge_response().await.unwrap();
    assert_eq!(fx.device.rainmaker_ch_resp_state(), (0, true));
    assert!(matches!(session.challenge_response(b"challenge").await, Err(RainMakerError::ChallengeResponseDisabled)));
    // The disabled device answers `Disabled` to the disable command too.
    assert!(matches!(session.disable_challenge_response().await, Err(RainMakerError::ChallengeResponseDisabled)));
}

#[tokio::test]
async fn claim_pending_devices_are_refused() {
    let mut config = rainmaker_device(sec1(), SimRainMaker::user_assoc(NODE_ID));
    config.app_info.push((
        proto_ver::APP_RMAKER.to_owned(),
        proto_ver::AppInfo { ver: "1.0".into(), cap: vec![proto_ver::CAP_CLAIM.into()] },
    ));
    let fx = Fixture::start(config, Via::Memory).unwrap();
    let session = connected(&fx).await;
    let cloud = RainMakerCloud::new("http://127.0.0.1:9/v1/", Secret::from(TOKEN)).unwrap();
    assert!(matches!(rainmaker::associate(&session, &cloud, USER_ID).await, Err(RainMakerError::ClaimPending)));
    assert!(fx.device.rainmaker_user_mappings().is_empty());
}

#[tokio::test]
async fn device_answers_match_the_firmware() {
    // Traditional mapping: member missing -> InvalidParam; another type -> empty body.
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::user_assoc(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    assert_eq!(
        session.send_custom("cloud_user_assoc", &[0x78, 0x00]).await.unwrap(),
        [0x08, 0x01, 0x5a, 0x02, 0x08, 0x01]
    );
    assert_eq!(session.send_custom("cloud_user_assoc", &[0x08, 0x01]).await.unwrap(), b"");
    assert!(fx.device.rainmaker_user_mappings().is_empty());
    // Challenge-response: GetNodeID is not implemented (no response), a disabled device answers
    // `08 01 10 03` to anything, garbage included.
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::ch_resp(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    assert!(session.send_custom("ch_resp", &[0x08, 0x02, 0x62, 0x00]).await.is_err());
    let session = connected(&fx).await;
    assert_eq!(session.send_custom("ch_resp", &[0x08, 0x04]).await.unwrap(), [0x08, 0x05]);
    assert_eq!(session.send_custom("ch_resp", &[0xff, 0xff, 0xff]).await.unwrap(), [0x08, 0x01, 0x10, 0x03]);
}

#[tokio::test]
async fn secrets_stay_out_of_logs_debug_and_errors() {
    rainmaker_prov_tests::log_capture::install();
    let fx = Fixture::start(rainmaker_device(sec1(), SimRainMaker::user_assoc(NODE_ID)), Via::Memory).unwrap();
    let session = connected(&fx).await;
    let (_fake, cloud) = cloud_for(&fx, &fx.device, StatusMode::Discarded).await;
    let association = rainmaker::associate(&session, &cloud, USER_ID).await.unwrap();
    let Association::Pending(pending) = &association else { panic!("expected a pending mapping") };
    let secret = pending.secret_key().to_owned();
    let err = pending.confirm(&cloud, fast_poll()).await.unwrap_err();
    let texts = [
        format!("{cloud:?}"),
        format!("{association:?}"),
        format!("{pending:?}"),
        format!("{err:?} {err}"),
        format!("{:?}", fx.device.rainmaker_user_mappings()),
        format!("{:?}", fx.device.config()),
    ];
    let records = rainmaker_prov_tests::log_capture::records();
    assert!(records.iter().any(|r| r.contains("cloud_user_assoc")), "the flow was logged");
    for text in texts.iter().chain(records.iter()) {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }
}
