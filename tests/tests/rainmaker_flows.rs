//! ESP RainMaker end to end from Rust: the one-call `provision_rainmaker` flow and its separate
//! steps against the device simulator (memory and HTTP transports) and the fake RainMaker cloud
//! (a real HTTP server on 127.0.0.1, spoken to through the reqwest backend): the seed call with
//! a user id and secret key, challenge-response with EC and RSA node keys, the traditional
//! mapping confirmed by the cloud, assisted claiming, legacy firmware, a device without RainMaker,
//! and every cloud failure mode ending in its typed error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rainmaker_prov::events::{CancelToken, ProgressEvent, ProgressListener};
use rainmaker_prov::provision::{Joined, NetworkCredentials};
use rainmaker_prov::rainmaker::{
    self, AssociationMode, AssociationPlan, AssociationState, CloudConfig, ConfirmOptions, LoginOutcome,
    RainMakerCloud, RainMakerError, RainMakerOutcome, RainMakerRequest, ReqwestBackend,
};
use rainmaker_prov::security::{Sec2Patch, Secret};
use rainmaker_prov::session::{DeviceSession, PollOptions, SessionOptions};
use rainmaker_prov::sim::cloud::{CloudFaults, FakeCloud, FakeCloudConfig, MappingBehaviour};
use rainmaker_prov::sim::device::{SimConfig, SimNodeKey, SimRainMaker, SimSecurity};
use rainmaker_prov_tests::{Fixture, POP, Via, fast_config};

const NODE_ID: &str = "Xk7pQ2mN9vR4tY8wZ3aB6c";
const PASSWORD: &str = "Cloud-Pass-4c1e77";
const SECRET_KEY: &str = "5b0e9a3c-1d2f-4e6a-8b7c-9d0e1f2a3b4c";

fn sec1() -> SimSecurity {
    SimSecurity::Sec1 { pop: Some(Secret::from(POP)) }
}

fn sec2() -> SimSecurity {
    SimSecurity::Sec2 { username: "wifiprov".into(), password: Secret::from(POP), patch: Sec2Patch::Patch1 }
}

fn device(security: SimSecurity, personality: Option<SimRainMaker>) -> SimConfig {
    let mut config = fast_config(security);
    config.rainmaker = personality;
    config
}

/// One RSA-2048 node key for the whole file (generation is slow in debug builds).
fn rsa_key() -> Secret {
    static KEY: OnceLock<Secret> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::EncodePrivateKey;
        let mut rng = rsa_rng();
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
        Secret::new(key.to_pkcs8_der().unwrap().as_bytes().to_vec())
    })
    .clone()
}

/// A seeded RNG of the rand_core line the rsa crate uses.
fn rsa_rng() -> impl rsa::rand_core::CryptoRngCore {
    struct Seeded(u64);
    impl rsa::rand_core::RngCore for Seeded {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            // splitmix64: deterministic test randomness, good enough for a throwaway key.
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rsa::rand_core::CryptoRng for Seeded {}
    Seeded(0x5eed)
}

async fn fake_cloud(faults: CloudFaults) -> FakeCloud {
    FakeCloud::start(FakeCloudConfig::new("tester@example.com", PASSWORD).with_faults(faults)).await.unwrap()
}

fn client_for(fake: &FakeCloud) -> RainMakerCloud {
    let config =
        CloudConfig { base_url: fake.base_url(), claim_url: fake.claim_url(), request_timeout: Duration::from_secs(5) };
    RainMakerCloud::new(config, Arc::new(ReqwestBackend::new(Duration::from_secs(5)).unwrap())).unwrap()
}

async fn logged_in(fake: &FakeCloud) -> RainMakerCloud {
    let cloud = client_for(fake);
    assert_eq!(cloud.login("tester@example.com", &Secret::from(PASSWORD)).await.unwrap(), LoginOutcome::LoggedIn);
    cloud
}

#[derive(Default)]
struct Events(Mutex<Vec<ProgressEvent>>);

impl ProgressListener for Events {
    fn on_progress(&self, event: ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Events {
    fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }
}

fn wifi() -> Option<NetworkCredentials> {
    Some(NetworkCredentials::Wifi { ssid: b"RefPeer-Home".to_vec(), passphrase: Secret::from("secretpass") })
}

fn request(association: AssociationPlan) -> RainMakerRequest {
    let mut request = RainMakerRequest::new(wifi(), association);
    request.session = SessionOptions { pop: Some(Secret::from(POP)), ..SessionOptions::default() };
    request.poll = PollOptions { initial_interval: Duration::from_millis(20), ..PollOptions::default() };
    request.confirm = ConfirmOptions {
        deadline: Duration::from_secs(5),
        first_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
    };
    request.overall_timeout = Some(Duration::from_secs(30));
    request
}

async fn run(
    fx: &Fixture,
    request: RainMakerRequest,
) -> (Result<RainMakerOutcome, RainMakerError>, Vec<ProgressEvent>) {
    let events = Arc::new(Events::default());
    let result =
        rainmaker::provision_rainmaker(fx.transport.clone(), request, Some(events.clone()), &CancelToken::new()).await;
    (result, events.all())
}

fn joined_wifi(outcome: &RainMakerOutcome) -> bool {
    matches!(outcome.joined, Some(Joined::Wifi { .. }))
}

#[tokio::test]
async fn seed_call_hands_user_id_and_secret_key_to_the_device() {
    // Espressif's provision_device(userid, secretkey, security_version=2, ...): no cloud involved.
    for (via, security) in [(Via::Memory, sec1()), (Via::Http, sec2())] {
        let fx = Fixture::start(device(security, Some(SimRainMaker::user_assoc(NODE_ID))), via).unwrap();
        let plan = AssociationPlan::UserMapping { user_id: "user-42".into(), secret_key: Secret::from(SECRET_KEY) };
        let (result, events) = run(&fx, request(plan)).await;
        let outcome = result.unwrap();
        assert_eq!(outcome.association, AssociationState::SentToDevice, "{via:?}");
        assert_eq!(outcome.node_id.as_deref(), Some(NODE_ID));
        assert_eq!(outcome.mode, Some(AssociationMode::UserAssoc));
        assert!(joined_wifi(&outcome));
        let mappings = fx.device.rainmaker_user_mappings();
        assert_eq!(mappings.len(), 1);
        assert_eq!((mappings[0].user_id.as_str(), mappings[0].secret_key.as_str()), ("user-42", SECRET_KEY));
        assert!(events.contains(&ProgressEvent::Associating { challenge_response: false }));
        assert!(events.contains(&ProgressEvent::Associated { node_id: NODE_ID.into() }));
        // Associated before the credentials: the device stops provisioning once connected.
        let assoc = events.iter().position(|e| matches!(e, ProgressEvent::Associated { .. })).unwrap();
        let creds = events.iter().position(|e| *e == ProgressEvent::SendingCredentials).unwrap();
        assert!(assoc < creds);
    }
}

#[tokio::test]
async fn challenge_response_with_ec_and_rsa_node_keys() {
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let cases = [
        (Via::Memory, sec1(), SimRainMaker::ch_resp(NODE_ID)),
        (
            Via::Http,
            sec2(),
            SimRainMaker::ch_resp("RsaNode0000000000000001").with_node_key(SimNodeKey::Rsa2048, Some(rsa_key())),
        ),
    ];
    for (via, security, personality) in cases {
        let node_id = personality.node_id.clone();
        let fx = Fixture::start(device(security, Some(personality)), via).unwrap();
        fake.attach(fx.device.clone());
        let (result, events) = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await;
        let outcome = result.unwrap();
        assert_eq!(outcome.association, AssociationState::Confirmed, "{via:?}");
        assert_eq!(outcome.mode, Some(AssociationMode::ChallengeResponse));
        assert_eq!(outcome.node_id.as_deref(), Some(node_id.as_str()));
        assert!(outcome.pending.is_none());
        assert!(joined_wifi(&outcome));
        assert!(fake.mapped_nodes().contains(&(fake.user_id(), node_id.clone())));
        assert!(events.contains(&ProgressEvent::Associating { challenge_response: true }));
        assert!(events.contains(&ProgressEvent::AssociationConfirmed { node_id }));
    }
}

#[tokio::test]
async fn traditional_mapping_is_confirmed_once_the_node_is_online() {
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec2(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Http).unwrap();
    fake.attach(fx.device.clone());
    let (result, events) = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await;
    let outcome = result.unwrap();
    assert_eq!(outcome.association, AssociationState::Confirmed);
    assert_eq!(outcome.mode, Some(AssociationMode::UserAssoc));
    assert!(fake.mapped_nodes().contains(&(fake.user_id(), NODE_ID.to_owned())));
    // The device got the account's user id (from the id token) and a fresh UUID v4 key.
    let mapping = &fx.device.rainmaker_user_mappings()[0];
    assert_eq!(mapping.user_id, fake.user_id());
    assert_eq!(mapping.secret_key.len(), 36);
    let order: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Associated { .. } => Some("associated"),
            ProgressEvent::Connected => Some("wifi"),
            ProgressEvent::ConfirmingAssociation => Some("confirming"),
            ProgressEvent::AssociationConfirmed { .. } => Some("confirmed"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["associated", "wifi", "confirming", "confirmed"]);
}

#[tokio::test]
async fn association_only_leaves_the_network_alone() {
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    let mut req = request(AssociationPlan::Cloud(cloud));
    req.network = None;
    let (result, _) = run(&fx, req).await;
    let outcome = result.unwrap();
    assert_eq!(outcome.association, AssociationState::Confirmed);
    assert!(outcome.joined.is_none());
    assert!(fx.device.connected_ssid().is_none());
}

#[tokio::test]
async fn assisted_claiming_then_association() {
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    for (ch_resp, via) in [(true, Via::Http), (false, Via::Memory)] {
        let fx = Fixture::start(device(sec2(), Some(SimRainMaker::claiming(ch_resp))), via).unwrap();
        fake.attach(fx.device.clone());
        // Without permission to claim, the device is refused before anything is sent to it.
        let (result, _) = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await;
        assert!(matches!(result, Err(RainMakerError::ClaimPending)), "{result:?}");
        assert!(!fx.device.rainmaker_claimed());
        let mut req = request(AssociationPlan::Cloud(cloud.clone()));
        req.allow_claim = true;
        let (result, events) = run(&fx, req).await;
        let outcome = result.unwrap();
        assert!(outcome.claimed);
        assert_eq!(outcome.association, AssociationState::Confirmed, "ch_resp {ch_resp}");
        let node_id = outcome.node_id.clone().unwrap();
        assert_eq!(fx.device.rainmaker_node_id().as_deref(), Some(node_id.as_str()));
        assert!(fx.device.rainmaker_claimed());
        let certificate = fx.device.rainmaker_certificate_pem().unwrap();
        assert!(fake.issued_certificates().iter().any(|c| c.node_id == node_id && c.pem.trim() == certificate.trim()));
        assert!(fake.mapped_nodes().contains(&(fake.user_id(), node_id.clone())));
        let claimed = events.iter().position(|e| *e == ProgressEvent::Claimed { node_id: node_id.clone() }).unwrap();
        let associated = events.iter().position(|e| matches!(e, ProgressEvent::Associated { .. })).unwrap();
        assert!(events[..claimed].contains(&ProgressEvent::Claiming));
        assert!(claimed < associated);
    }
}

#[tokio::test]
async fn claiming_failures_abort_on_the_device() {
    for (faults, expect) in [
        (CloudFaults { oversized_claim_verify: true, ..CloudFaults::default() }, "claim_answer_too_large"),
        (CloudFaults { refuse_claim_initiate: true, ..CloudFaults::default() }, "claim_rejected"),
    ] {
        let fake = fake_cloud(faults).await;
        let cloud = logged_in(&fake).await;
        let fx = Fixture::start(device(sec1(), Some(SimRainMaker::claiming(true))), Via::Memory).unwrap();
        fake.attach(fx.device.clone());
        let session = DeviceSession::new(
            fx.transport.clone(),
            SessionOptions { pop: Some(Secret::from(POP)), ..SessionOptions::default() },
        );
        session.connect().await.unwrap();
        let err = rainmaker::claim(&session, &cloud).await.unwrap_err();
        assert_eq!(err.kind(), expect, "{err}");
        if let RainMakerError::ClaimAnswerTooLarge { size, limit, .. } = err {
            assert!(size >= 3072 && limit == 3071);
        }
        assert!(!fx.device.rainmaker_claimed());
        // The device was told to abort: a new claim starts cleanly once the cloud behaves.
        fake.set_faults(CloudFaults::default());
        let node_id = rainmaker::claim(&session, &cloud).await.unwrap();
        assert!(fx.device.rainmaker_claimed());
        assert_eq!(fx.device.rainmaker_node_id(), Some(node_id));
    }
}

#[tokio::test]
async fn legacy_firmware_and_devices_without_rainmaker() {
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    // Plain ESP-IDF firmware: provisioned, reported not associated, no error (over HTTP the
    // probe is a 404 and the session is set up again before the credentials).
    for via in [Via::Memory, Via::Http] {
        let fx = Fixture::start(device(sec2(), None), via).unwrap();
        let (result, events) = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await;
        let outcome = result.unwrap();
        assert_eq!(outcome.association, AssociationState::NotAssociated, "{via:?}");
        assert!(outcome.node_id.is_none());
        assert!(joined_wifi(&outcome));
        assert!(events.contains(&ProgressEvent::NotAssociated));
        // The seed call on such a device: the same.
        let fx = Fixture::start(device(sec1(), None), via).unwrap();
        let plan = AssociationPlan::UserMapping { user_id: "u".into(), secret_key: Secret::from(SECRET_KEY) };
        let outcome = run(&fx, request(plan)).await.0.unwrap();
        assert_eq!(outcome.association, AssociationState::NotAssociated);
        assert!(joined_wifi(&outcome));
    }
    // 2020-era RainMaker firmware: wifi_provisioning v1.1 (ESP-IDF 4.x), security 1, only
    // cloud_user_assoc and nothing RainMaker in proto-ver (the first RainMaker CLI drove it with
    // the wire-identical custom_cloud_config messages; the codec tests check that identity).
    let config = device(sec1(), Some(SimRainMaker::user_assoc(NODE_ID)));
    assert_eq!(config.flavor, rainmaker_prov::sim::device::SimFlavor::WifiProvisioning);
    let fx = Fixture::start(config, Via::Http).unwrap();
    fake.attach(fx.device.clone());
    let outcome = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await.0.unwrap();
    let version = outcome.session.version.info().unwrap();
    assert!(version.apps.is_empty() && version.prov.as_ref().unwrap().ver == "v1.1");
    assert_eq!(outcome.association, AssociationState::Confirmed);
    assert_eq!(outcome.mode, Some(AssociationMode::UserAssoc));
}

#[tokio::test]
async fn cloud_failure_modes_end_in_typed_outcomes() {
    // Discarded and timed out: typed errors carrying the node and request ids.
    for (behaviour, kind) in
        [(MappingBehaviour::Discarded, "mapping_discarded"), (MappingBehaviour::TimedOut, "mapping_timed_out")]
    {
        let fake = fake_cloud(CloudFaults { mapping: behaviour, ..CloudFaults::default() }).await;
        let cloud = logged_in(&fake).await;
        let fx = Fixture::start(device(sec1(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Memory).unwrap();
        fake.attach(fx.device.clone());
        let err = run(&fx, request(AssociationPlan::Cloud(cloud))).await.0.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.to_string().contains(NODE_ID), "{err}");
        // The device itself was provisioned before the cloud said no.
        assert!(fx.device.connected_ssid().is_some());
    }
    // Never confirmed within the deadline: pending, with the request id to confirm later.
    let fake = fake_cloud(CloudFaults { mapping: MappingBehaviour::NeverConfirmed, ..CloudFaults::default() }).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    let mut req = request(AssociationPlan::Cloud(cloud.clone()));
    req.confirm.deadline = Duration::from_millis(600);
    let outcome = run(&fx, req).await.0.unwrap();
    let AssociationState::Pending { request_id: Some(id) } = &outcome.association else {
        panic!("expected pending with a request id: {:?}", outcome.association)
    };
    assert!(!id.is_empty());
    let pending = outcome.pending.clone().unwrap();
    assert_eq!(pending.node_id, NODE_ID);
    // Confirming later, once the cloud behaves, works with the kept mapping.
    fake.set_faults(CloudFaults::default());
    let state = rainmaker::flow::confirm_mapping(
        &cloud,
        &pending,
        ConfirmOptions::default(),
        &rainmaker_prov::events::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(state, AssociationState::Confirmed);

    // Wrong signature: the cloud rejects the challenge response.
    let fake = fake_cloud(CloudFaults { reject_challenges: true, ..CloudFaults::default() }).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    let err = run(&fx, request(AssociationPlan::Cloud(cloud))).await.0.unwrap_err();
    assert!(matches!(err, RainMakerError::ChallengeRejected { status: 400, .. }), "{err:?}");
    assert!(fx.device.connected_ssid().is_none(), "no credentials after a failed association");

    // HTTP 5xx: on the challenge initiate it is a typed error; during confirmation it is retried.
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    fake.fail_next("/v1/user/nodes/mapping/initiate", 1, 503);
    let err = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await.0.unwrap_err();
    assert!(matches!(err, RainMakerError::Http { status: 503, .. }), "{err:?}");
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    fake.fail_next("/v1/user/nodes/mapping", 2, 502);
    let outcome = run(&fx, request(AssociationPlan::Cloud(cloud))).await.0.unwrap();
    assert_eq!(outcome.association, AssociationState::Confirmed);

    // A slow cloud: answers within the request timeout are fine, slower ones are "unreachable".
    let fake = fake_cloud(CloudFaults { response_delay: Duration::from_millis(300), ..CloudFaults::default() }).await;
    let cloud = logged_in(&fake).await;
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    assert_eq!(
        run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await.0.unwrap().association,
        AssociationState::Confirmed
    );
    let impatient = RainMakerCloud::new(
        CloudConfig { request_timeout: Duration::from_millis(100), ..cloud.config().clone() },
        Arc::new(ReqwestBackend::new(Duration::from_secs(5)).unwrap()),
    )
    .unwrap();
    impatient.set_tokens(cloud.tokens().unwrap());
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    let err = run(&fx, request(AssociationPlan::Cloud(impatient))).await.0.unwrap_err();
    assert!(matches!(err, RainMakerError::CloudUnreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn confirmation_waits_for_the_cloud_and_reports_pending() {
    // The phone is still on the device's access point: the cloud cannot be reached. The flow
    // keeps trying within its deadline and reports pending (no request id) with the mapping.
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let tokens = cloud.tokens().unwrap();
    let unreachable_config = CloudConfig {
        base_url: "http://127.0.0.1:9/v1/".into(),
        claim_url: "http://127.0.0.1:9/".into(),
        request_timeout: Duration::from_secs(1),
    };
    let offline =
        RainMakerCloud::new(unreachable_config, Arc::new(ReqwestBackend::new(Duration::from_secs(1)).unwrap()))
            .unwrap();
    offline.set_tokens(tokens);
    let fx = Fixture::start(device(sec2(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Http).unwrap();
    let mut req = request(AssociationPlan::Cloud(offline));
    req.confirm.deadline = Duration::from_millis(800);
    let (result, events) = run(&fx, req).await;
    let outcome = result.unwrap();
    assert_eq!(outcome.association, AssociationState::Pending { request_id: None });
    assert!(events.contains(&ProgressEvent::WaitingForCloud));
    assert!(joined_wifi(&outcome));
    // Later, on the home network, the kept mapping is confirmed.
    fake.attach(fx.device.clone());
    let pending = outcome.pending.unwrap();
    let state = rainmaker::flow::confirm_mapping(
        &cloud,
        &pending,
        ConfirmOptions::default(),
        &rainmaker_prov::events::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(state, AssociationState::Confirmed);
}

#[tokio::test]
async fn login_otp_refresh_and_rejection() {
    // Wrong password: typed, and nothing is stored.
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = client_for(&fake);
    let err = cloud.login("tester@example.com", &Secret::from("not-the-password")).await.unwrap_err();
    assert!(matches!(err, RainMakerError::LoginRejected { status: 401, .. }), "{err:?}");
    assert!(cloud.tokens().is_none());
    // Not logged in: the flow refuses before touching the device.
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    let err = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await.0.unwrap_err();
    assert!(matches!(err, RainMakerError::LoginRequired));
    assert_eq!(fx.device.stats().sessions_opened, 0);
    // OTP: the code step.
    let fake = fake_cloud(CloudFaults { otp_required: true, ..CloudFaults::default() }).await;
    let cloud = client_for(&fake);
    let LoginOutcome::CodeRequired { session } =
        cloud.login("tester@example.com", &Secret::from(PASSWORD)).await.unwrap()
    else {
        panic!("expected the OTP step")
    };
    assert!(matches!(
        cloud.login_with_code("tester@example.com", &session, "000000").await,
        Err(RainMakerError::LoginRejected { .. })
    ));
    cloud.login_with_code("tester@example.com", &session, "123456").await.unwrap();
    assert_eq!(cloud.user_id().unwrap(), fake.user_id());
    assert_eq!(cloud.user_name().as_deref(), Some("tester@example.com"));
    // Expired access tokens: refreshed before use, the flow succeeds, new tokens are kept.
    let fake = fake_cloud(CloudFaults { expired_access_tokens: true, ..CloudFaults::default() }).await;
    let cloud = logged_in(&fake).await;
    let before = cloud.tokens().unwrap();
    assert!(cloud.access_token_expired());
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    fake.attach(fx.device.clone());
    let outcome = run(&fx, request(AssociationPlan::Cloud(cloud.clone()))).await.0.unwrap();
    assert_eq!(outcome.association, AssociationState::Confirmed);
    let after = cloud.tokens().unwrap();
    assert_ne!(before.access_token, after.access_token);
    assert_eq!(before.refresh_token, after.refresh_token);
    assert!(fake.request_count("/v1/login2") >= 2, "{:?}", fake.requests());
    // A token the client cannot tell is expired (no refresh yet) gets a 401: refreshed and retried.
    let fake = fake_cloud(CloudFaults::default()).await;
    let cloud = logged_in(&fake).await;
    let mut tokens = cloud.tokens().unwrap();
    tokens.access_token = Secret::from("eyJhbGciOiJub25lIn0.e30.revoked");
    cloud.set_tokens(tokens);
    let challenge = cloud.initiate_mapping_challenge(60).await.unwrap();
    assert!(!challenge.challenge.is_empty());
}

#[tokio::test]
async fn device_answers_match_the_firmware() {
    // Traditional mapping: member missing -> InvalidParam; another type -> empty body.
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Memory).unwrap();
    let options = SessionOptions { pop: Some(Secret::from(POP)), ..SessionOptions::default() };
    let session = DeviceSession::new(fx.transport.clone(), options.clone());
    session.connect().await.unwrap();
    assert_eq!(
        session.send_custom("cloud_user_assoc", &[0x78, 0x00]).await.unwrap(),
        [0x08, 0x01, 0x5a, 0x02, 0x08, 0x01]
    );
    assert_eq!(session.send_custom("cloud_user_assoc", &[0x08, 0x01]).await.unwrap(), b"");
    assert!(fx.device.rainmaker_user_mappings().is_empty());
    // Challenge-response: disable, then every request gets `Disabled`.
    let fx = Fixture::start(device(sec1(), Some(SimRainMaker::ch_resp(NODE_ID))), Via::Memory).unwrap();
    let session = DeviceSession::new(fx.transport.clone(), options);
    session.connect().await.unwrap();
    session.disable_challenge_response().await.unwrap();
    assert!(matches!(session.challenge_response(b"challenge").await, Err(RainMakerError::ChallengeResponseDisabled)));
    assert_eq!(session.send_custom("ch_resp", &[0xff, 0xff, 0xff]).await.unwrap(), [0x08, 0x01, 0x10, 0x03]);
}

#[tokio::test]
async fn no_secret_in_trace_logs_errors_or_debug() {
    rainmaker_prov_tests::log_capture::install();
    let mut texts = Vec::new();
    let mut secrets: Vec<String> = vec![POP.into(), PASSWORD.into(), SECRET_KEY.into(), "secretpass".into()];
    let fake = fake_cloud(CloudFaults { expired_access_tokens: true, ..CloudFaults::default() }).await;
    let cloud = logged_in(&fake).await;
    let personalities = [
        Some(SimRainMaker::ch_resp(NODE_ID)),
        Some(SimRainMaker::user_assoc(NODE_ID)),
        Some(SimRainMaker::claiming(true)),
        None,
    ];
    for personality in personalities {
        let fx = Fixture::start(device(sec2(), personality), Via::Http).unwrap();
        fake.attach(fx.device.clone());
        let mut req = request(AssociationPlan::Cloud(cloud.clone()));
        req.allow_claim = true;
        texts.push(format!("{req:?}"));
        match run(&fx, req).await.0 {
            Ok(outcome) => texts.push(format!("{outcome:?}")),
            Err(e) => texts.push(format!("{e:?} {e}")),
        }
        for m in fx.device.rainmaker_user_mappings() {
            secrets.push(m.secret_key.to_string());
        }
        // The seed call and a failing login too.
        let fx = Fixture::start(device(sec2(), Some(SimRainMaker::user_assoc(NODE_ID))), Via::Memory).unwrap();
        let plan = AssociationPlan::UserMapping { user_id: "u".into(), secret_key: Secret::from(SECRET_KEY) };
        texts.push(format!("{:?}", run(&fx, request(plan)).await.0));
    }
    let err =
        client_for(&fake).login("tester@example.com", &Secret::from(PASSWORD.to_owned() + "x")).await.unwrap_err();
    texts.push(format!("{err:?} {err}"));
    let tokens = cloud.tokens().unwrap();
    texts.push(format!("{cloud:?} {tokens:?}"));
    for t in [&tokens.access_token, &tokens.id_token, &tokens.refresh_token] {
        secrets.push(String::from_utf8(t.expose().to_vec()).unwrap());
    }
    let fake_tokens = fake.issue_tokens();
    texts.push(format!("{fake_tokens:?}"));
    let records = rainmaker_prov_tests::log_capture::records();
    assert!(records.iter().any(|r| r.contains("rainmaker")), "the flows were logged");
    assert!(records.iter().any(|r| r.contains("refresh")), "the refresh was logged");
    for text in texts.iter().chain(records.iter()) {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret leaked: {text}");
        }
    }
}
