//! Property tests of the security layer: in-process phone ↔ device sessions over random
//! credentials and seeds, forced leading-zero cases of SRP, wrong credentials, tampered device
//! proofs, and arbitrary/truncated input at every step on both sides (typed errors, no panics).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a test failure

mod common;

use std::sync::Arc;

use common::ScriptedRng;
use proptest::prelude::*;
use prost::Message;
use rainmaker_prov::security::{
    ClientHandshake, ClientStep, Credentials, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, SecurityError,
    SecurityLevel, SessionCipher, generate_salt_verifier, srp,
};
use rainmaker_prov_proto::protocomm::{SessionData, sec1_payload, sec2_payload, session_data::Proto};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

// ---------------------------------------------------------------- helpers

/// What happened in a session run.
#[derive(Debug)]
enum Outcome {
    Established(SessionCipher, DeviceSecuritySession),
    /// The phone's handshake reported this error (device failure mapped through `on_rejected`).
    Failed(SecurityError),
}

/// Drives a complete handshake in-process; `tamper` may rewrite each device response (by index).
fn run_session(
    creds: Credentials,
    config: Arc<DeviceSecurityConfig>,
    phone_rng: &mut impl rand_core::CryptoRng,
    device_rng: &mut impl rand_core::CryptoRng,
    tamper: &dyn Fn(usize, Vec<u8>) -> Vec<u8>,
) -> Outcome {
    let mut device = DeviceSecuritySession::new(config);
    let (mut hs, mut request) = match ClientHandshake::start(creds, phone_rng) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed(e),
    };
    for index in 0.. {
        let response = match device.handle(&request, device_rng) {
            Ok(r) => tamper(index, r),
            Err(_) => return Outcome::Failed(hs.on_rejected()),
        };
        match hs.on_response(&response) {
            Ok(ClientStep::Send(next, req)) => {
                hs = next;
                request = req;
            }
            Ok(ClientStep::Done(cipher)) => {
                assert!(device.is_established());
                return Outcome::Established(cipher, device);
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    unreachable!()
}

fn no_tamper(_: usize, r: Vec<u8>) -> Vec<u8> {
    r
}

/// A few encrypted exchanges in both directions with random sizes (including empty messages).
fn exchange(phone: &mut SessionCipher, device: &mut DeviceSecuritySession, rng: &mut StdRng) {
    for _ in 0..rng.random_range(1..4usize) {
        let mut req = vec![0u8; rng.random_range(0..80usize)];
        rng.fill(&mut req[..]);
        let wire = phone.encrypt(&req).unwrap();
        assert_eq!(device.decrypt(&wire).unwrap(), req);
        let mut resp = vec![0u8; rng.random_range(0..300usize)];
        rng.fill(&mut resp[..]);
        let wire = device.encrypt(&resp).unwrap();
        assert_eq!(phone.decrypt(&wire).unwrap(), resp);
    }
}

fn random_bytes(rng: &mut StdRng, min: usize, max: usize) -> Vec<u8> {
    let mut v = vec![0u8; rng.random_range(min..=max)];
    rng.fill(&mut v[..]);
    v
}

fn random_text(rng: &mut StdRng, min: usize, max: usize) -> String {
    let len = rng.random_range(min..=max);
    (0..len)
        .map(|_| match rng.random_range(0..4u8) {
            0 => char::from(rng.random_range(b'0'..=b'9')),
            1 => char::from(rng.random_range(b'a'..=b'z')),
            2 => ['é', 'ß', '∑', '😀', ':', ' '][rng.random_range(0..6usize)],
            _ => char::from(rng.random_range(b'A'..=b'Z')),
        })
        .collect()
}

fn random_pop(rng: &mut StdRng) -> Option<Vec<u8>> {
    match rng.random_range(0..6u8) {
        0 => None,
        1 => Some(Vec::new()),
        _ => Some(random_bytes(rng, 1, 40)),
    }
}

fn sec2_config(username: &str, password: &[u8], patch: Sec2Patch, rng: &mut StdRng) -> Arc<DeviceSecurityConfig> {
    let (salt, verifier) = generate_salt_verifier(username, password, rng);
    assert_eq!(salt.len(), 16);
    assert_ne!(salt[0], 0);
    Arc::new(DeviceSecurityConfig::sec2(salt, verifier, patch))
}

const SESSIONS: u64 = 1000;

// ---------------------------------------------------------------- random sessions

#[test]
fn sec1_random_sessions() {
    for seed in 0..SESSIONS {
        let mut rng = StdRng::seed_from_u64(0x5ec1_0000 + seed);
        let pop = random_pop(&mut rng);
        let config = Arc::new(DeviceSecurityConfig::Sec1 { pop: pop.clone().map(Into::into) });
        let creds = Credentials::Sec1 { pop: pop.map(Into::into) };
        let mut phone_rng = StdRng::seed_from_u64(rng.random());
        let mut device_rng = StdRng::seed_from_u64(rng.random());
        match run_session(creds, config, &mut phone_rng, &mut device_rng, &no_tamper) {
            Outcome::Established(mut phone, mut device) => {
                assert_eq!(phone.level(), SecurityLevel::Sec1);
                assert_eq!(phone.ctr_offset(), Some(64));
                exchange(&mut phone, &mut device, &mut rng);
            }
            Outcome::Failed(e) => panic!("seed {seed}: {e}"),
        }
    }
}

fn sec2_random_sessions(patch: Sec2Patch, base: u64) {
    for seed in 0..SESSIONS {
        let mut rng = StdRng::seed_from_u64(base + seed);
        let username = random_text(&mut rng, 1, 24);
        let password = random_bytes(&mut rng, 0, 32);
        let config = sec2_config(&username, &password, patch, &mut rng);
        let creds = Credentials::Sec2 { username, password: password.into() };
        let mut phone_rng = StdRng::seed_from_u64(rng.random());
        let mut device_rng = StdRng::seed_from_u64(rng.random());
        match run_session(creds, config, &mut phone_rng, &mut device_rng, &no_tamper) {
            Outcome::Established(mut phone, mut device) => {
                assert_eq!(phone.sec2_patch(), Some(patch));
                exchange(&mut phone, &mut device, &mut rng);
            }
            Outcome::Failed(e) => panic!("seed {seed}: {e}"),
        }
    }
}

#[test]
fn sec2_patch1_random_sessions() {
    sec2_random_sessions(Sec2Patch::Patch1, 0x5ec2_1000_0000);
}

#[test]
fn sec2_patch0_random_sessions() {
    sec2_random_sessions(Sec2Patch::Patch0, 0x5ec2_0000_0000);
}

// ---------------------------------------------------------------- forced leading zeros

/// Draws exponents from a seeded generator until `pred` holds; returns the exponent (as the
/// scripted draw) and how many tries it took.
fn search_exponent(seed: u64, top_bit: bool, pred: impl Fn(&[u8; 32]) -> bool) -> [u8; 32] {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..20_000 {
        let mut e: [u8; 32] = rng.random();
        if top_bit {
            e[0] |= 0x80;
        }
        if pred(&e) {
            return e;
        }
    }
    panic!("no exponent found");
}

fn fixed_sec2_device(salt: &[u8], patch: Sec2Patch) -> (srp::Verifier, Arc<DeviceSecurityConfig>) {
    let verifier = srp::compute_verifier(b"wifiprov", b"abcd1234", salt, false);
    (srp::Verifier::new(verifier.clone()), Arc::new(DeviceSecurityConfig::sec2(salt.to_vec(), verifier, patch)))
}

fn wifiprov() -> Credentials {
    Credentials::Sec2 { username: "wifiprov".into(), password: "abcd1234".into() }
}

fn expect_established(outcome: Outcome) -> (SessionCipher, DeviceSecuritySession) {
    match outcome {
        Outcome::Established(p, d) => (p, d),
        Outcome::Failed(e) => panic!("handshake failed: {e}"),
    }
}

#[test]
fn leading_zero_a_is_padded_to_384() {
    let a = search_exponent(1, true, |a| srp::client_public(a)[0] == 0);
    let salt = [0x11u8; 16];
    let (_, config) = fixed_sec2_device(&salt, Sec2Patch::Patch1);
    // Check the request itself: A has a leading zero byte and is still 384 bytes long.
    let (_, cmd0) = ClientHandshake::start(wifiprov(), &mut ScriptedRng::new(&[&a])).unwrap();
    let Some(Proto::Sec2(p)) = SessionData::decode(&cmd0[..]).unwrap().proto else { panic!() };
    let Some(sec2_payload::Payload::Sc0(sc0)) = p.payload else { panic!() };
    assert_eq!(sc0.client_pubkey.len(), 384);
    assert_eq!(sc0.client_pubkey[0], 0);
    let mut rng = StdRng::seed_from_u64(2);
    let (mut phone, mut device) =
        expect_established(run_session(wifiprov(), config, &mut ScriptedRng::new(&[&a]), &mut rng, &no_tamper));
    exchange(&mut phone, &mut device, &mut rng);
}

#[test]
fn leading_zero_b_is_sent_minimal() {
    let salt = [0x22u8; 16];
    let (verifier, config) = fixed_sec2_device(&salt, Sec2Patch::Patch1);
    let b = search_exponent(3, false, |b| srp::device_public(b, &verifier).unwrap().len() < 384);
    let seen_len = std::cell::Cell::new(0usize);
    let tamper = |i: usize, r: Vec<u8>| {
        if i == 0 {
            let Some(Proto::Sec2(p)) = SessionData::decode(&r[..]).unwrap().proto else { panic!() };
            let Some(sec2_payload::Payload::Sr0(sr0)) = p.payload else { panic!() };
            seen_len.set(sr0.device_pubkey.len());
        }
        r
    };
    let mut rng = StdRng::seed_from_u64(4);
    let mut device_rng = ScriptedRng::new(&[&b, &[7u8; 8]]);
    let (mut phone, mut device) =
        expect_established(run_session(wifiprov(), config, &mut rng, &mut device_rng, &tamper));
    assert!(seen_len.get() < 384 && seen_len.get() > 300, "B sent with {} bytes", seen_len.get());
    exchange(&mut phone, &mut device, &mut rng);
}

#[test]
fn leading_zero_salt_is_used_verbatim() {
    let mut salt = [0x33u8; 16];
    salt[0] = 0;
    salt[1] = 0;
    for patch in [Sec2Patch::Patch0, Sec2Patch::Patch1] {
        let (_, config) = fixed_sec2_device(&salt, patch);
        let mut rng = StdRng::seed_from_u64(5);
        let mut device_rng = StdRng::seed_from_u64(6);
        let (mut phone, mut device) =
            expect_established(run_session(wifiprov(), config, &mut rng, &mut device_rng, &no_tamper));
        exchange(&mut phone, &mut device, &mut rng);
    }
    // A stripped salt gives a different verifier: the bytes really enter x verbatim.
    assert_ne!(
        srp::compute_verifier(b"wifiprov", b"abcd1234", &salt, false),
        srp::compute_verifier(b"wifiprov", b"abcd1234", &salt[2..], false)
    );
}

#[test]
fn leading_zero_premaster_secret() {
    let salt = [0x44u8; 16];
    let (verifier, config) = fixed_sec2_device(&salt, Sec2Patch::Patch1);
    let b = [0x5bu8; 32];
    let big_b = srp::device_public(&b, &verifier).unwrap();
    let a = search_exponent(7, true, |a| {
        let big_a = srp::client_public(a);
        let u = srp::compute_u(&big_a, &big_b).unwrap();
        srp::device_premaster(&big_a, &verifier, &u, &b).unwrap().len() < 384
    });
    let mut rng = StdRng::seed_from_u64(8);
    let (mut phone, mut device) = expect_established(run_session(
        wifiprov(),
        config,
        &mut ScriptedRng::new(&[&a]),
        &mut ScriptedRng::new(&[&b, &[1u8; 8]]),
        &no_tamper,
    ));
    exchange(&mut phone, &mut device, &mut rng);
}

// ---------------------------------------------------------------- wrong credentials

#[test]
fn wrong_pop_gives_wrong_credentials() {
    for seed in 0..100u64 {
        let mut rng = StdRng::seed_from_u64(0xbad0 + seed);
        let device_pop = random_pop(&mut rng);
        let mut phone_pop = random_pop(&mut rng);
        let normalise = |p: &Option<Vec<u8>>| p.clone().filter(|p| !p.is_empty());
        if normalise(&phone_pop) == normalise(&device_pop) {
            phone_pop = Some(b"definitely-different".to_vec());
        }
        let config = Arc::new(DeviceSecurityConfig::Sec1 { pop: device_pop.map(Into::into) });
        let outcome = run_session(
            Credentials::Sec1 { pop: phone_pop.map(Into::into) },
            config,
            &mut StdRng::seed_from_u64(rng.random()),
            &mut StdRng::seed_from_u64(rng.random()),
            &no_tamper,
        );
        assert!(matches!(outcome, Outcome::Failed(SecurityError::WrongCredentials)), "{outcome:?}");
    }
}

#[test]
fn wrong_password_or_username_gives_wrong_credentials() {
    for seed in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(0xbad2 + seed);
        let username = random_text(&mut rng, 1, 12);
        let password = random_bytes(&mut rng, 0, 16);
        let patch = if seed % 2 == 0 { Sec2Patch::Patch0 } else { Sec2Patch::Patch1 };
        let config = sec2_config(&username, &password, patch, &mut rng);
        let creds = if seed % 3 == 0 {
            Credentials::Sec2 { username: format!("{username}x"), password: password.into() }
        } else {
            let mut wrong = password.clone();
            wrong.push(b'!');
            Credentials::Sec2 { username, password: wrong.into() }
        };
        let outcome = run_session(
            creds,
            config,
            &mut StdRng::seed_from_u64(rng.random()),
            &mut StdRng::seed_from_u64(rng.random()),
            &no_tamper,
        );
        assert!(matches!(outcome, Outcome::Failed(SecurityError::WrongCredentials)), "{outcome:?}");
    }
}

// ---------------------------------------------------------------- tampered device proofs

fn tamper_sec1_verify(i: usize, r: Vec<u8>) -> Vec<u8> {
    if i != 1 {
        return r;
    }
    let mut data = SessionData::decode(&r[..]).unwrap();
    if let Some(Proto::Sec1(p)) = &mut data.proto
        && let Some(sec1_payload::Payload::Sr1(sr1)) = &mut p.payload
    {
        sr1.device_verify_data[5] ^= 0x40;
    }
    data.encode_to_vec()
}

fn tamper_sec2_proof(i: usize, r: Vec<u8>) -> Vec<u8> {
    if i != 1 {
        return r;
    }
    let mut data = SessionData::decode(&r[..]).unwrap();
    if let Some(Proto::Sec2(p)) = &mut data.proto
        && let Some(sec2_payload::Payload::Sr1(sr1)) = &mut p.payload
    {
        sr1.device_proof[63] ^= 1;
    }
    data.encode_to_vec()
}

#[test]
fn tampered_device_proof_is_detected() {
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(0x7a3 + seed);
        let pop = random_pop(&mut rng);
        let outcome = run_session(
            Credentials::Sec1 { pop: pop.clone().map(Into::into) },
            Arc::new(DeviceSecurityConfig::Sec1 { pop: pop.map(Into::into) }),
            &mut StdRng::seed_from_u64(rng.random()),
            &mut StdRng::seed_from_u64(rng.random()),
            &tamper_sec1_verify,
        );
        assert!(matches!(outcome, Outcome::Failed(SecurityError::DeviceProofMismatch)), "{outcome:?}");

        let patch = if seed % 2 == 0 { Sec2Patch::Patch0 } else { Sec2Patch::Patch1 };
        let config = sec2_config("wifiprov", b"abcd1234", patch, &mut rng);
        let outcome = run_session(
            wifiprov(),
            config,
            &mut StdRng::seed_from_u64(rng.random()),
            &mut StdRng::seed_from_u64(rng.random()),
            &tamper_sec2_proof,
        );
        assert!(matches!(outcome, Outcome::Failed(SecurityError::DeviceProofMismatch)), "{outcome:?}");
    }
}

// ---------------------------------------------------------------- session-level behaviour

#[test]
fn scheme_mismatch_is_rejected_at_step_one() {
    let config = Arc::new(DeviceSecurityConfig::sec2(
        vec![1; 16],
        srp::compute_verifier(b"u", b"p", &[1; 16], false),
        Sec2Patch::Patch1,
    ));
    let mut rng = StdRng::seed_from_u64(9);
    let outcome = run_session(
        Credentials::Sec1 { pop: None },
        config,
        &mut StdRng::seed_from_u64(rng.random()),
        &mut rng,
        &no_tamper,
    );
    assert!(matches!(outcome, Outcome::Failed(SecurityError::DeviceRejectedStep(1))), "{outcome:?}");
    let outcome = run_session(
        Credentials::Sec0,
        Arc::new(DeviceSecurityConfig::Sec1 { pop: None }),
        &mut StdRng::seed_from_u64(1),
        &mut StdRng::seed_from_u64(2),
        &no_tamper,
    );
    assert!(matches!(outcome, Outcome::Failed(SecurityError::DeviceRejectedStep(1))), "{outcome:?}");
}

#[test]
fn empty_username_is_refused_by_the_phone() {
    let creds = Credentials::Sec2 { username: String::new(), password: "x".into() };
    let err = ClientHandshake::start(creds, &mut StdRng::seed_from_u64(1)).unwrap_err();
    assert!(matches!(err, SecurityError::InvalidArgument(_)));
}

#[test]
fn new_command0_restarts_the_handshake() {
    let mut rng = StdRng::seed_from_u64(10);
    for config in [
        Arc::new(DeviceSecurityConfig::Sec1 { pop: Some("pop".into()) }),
        sec2_config("wifiprov", b"abcd1234", Sec2Patch::Patch1, &mut rng),
    ] {
        let creds = || match config.level() {
            SecurityLevel::Sec1 => Credentials::Sec1 { pop: Some("pop".into()) },
            _ => wifiprov(),
        };
        let mut device = DeviceSecuritySession::new(config.clone());
        // First handshake, completed.
        let (hs, cmd0) = ClientHandshake::start(creds(), &mut rng).unwrap();
        let ClientStep::Send(hs, cmd1) = hs.on_response(&device.handle(&cmd0, &mut rng).unwrap()).unwrap() else {
            panic!()
        };
        let ClientStep::Done(mut old) = hs.on_response(&device.handle(&cmd1, &mut rng).unwrap()).unwrap() else {
            panic!()
        };
        assert!(device.is_established());
        // A second handshake on the same device session replaces the first.
        let (hs, cmd0) = ClientHandshake::start(creds(), &mut rng).unwrap();
        let resp0 = device.handle(&cmd0, &mut rng).unwrap();
        assert!(!device.is_established());
        assert_eq!(device.decrypt(b"xx"), Err(SecurityError::NotEstablished));
        let ClientStep::Send(hs, cmd1) = hs.on_response(&resp0).unwrap() else { panic!() };
        let ClientStep::Done(mut new) = hs.on_response(&device.handle(&cmd1, &mut rng).unwrap()).unwrap() else {
            panic!()
        };
        let wire = new.encrypt(b"hello").unwrap();
        assert_eq!(device.decrypt(&wire).unwrap(), b"hello");
        let old_wire = old.encrypt(b"hello").unwrap();
        assert_ne!(old_wire, wire);
        // Command1 replayed after completion is refused and drops the session.
        assert_eq!(device.handle(&cmd1, &mut rng), Err(SecurityError::UnexpectedMessage));
        assert!(!device.is_established());
    }
}

#[test]
fn sec0_device_passes_through_without_handshake() {
    let mut device = DeviceSecuritySession::new(Arc::new(DeviceSecurityConfig::Sec0));
    assert!(device.is_established());
    assert_eq!(device.decrypt(b"abc").unwrap(), b"abc");
    assert_eq!(device.encrypt(b"").unwrap(), b"");
}

#[test]
fn failed_gcm_decrypt_does_not_advance_device_counter() {
    let mut rng = StdRng::seed_from_u64(11);
    let config = sec2_config("wifiprov", b"abcd1234", Sec2Patch::Patch1, &mut rng);
    let (mut phone, mut device) = expect_established(run_session(
        wifiprov(),
        config,
        &mut StdRng::seed_from_u64(rng.random()),
        &mut rng,
        &no_tamper,
    ));
    let wire = phone.encrypt(b"request").unwrap();
    let mut bad = wire.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(device.decrypt(&bad), Err(SecurityError::DecryptFailed));
    assert_eq!(device.decrypt(&wire).unwrap(), b"request");
}

// ---------------------------------------------------------------- arbitrary input

/// Phone handshakes waiting at step 1 or 2 for each scheme.
fn phone_at(level: u8, step: u8, seed: u64) -> ClientHandshake {
    let mut rng = StdRng::seed_from_u64(seed);
    let (creds, config) = match level {
        0 => (Credentials::Sec0, Arc::new(DeviceSecurityConfig::Sec0)),
        1 => (
            Credentials::Sec1 { pop: Some("pop".into()) },
            Arc::new(DeviceSecurityConfig::Sec1 { pop: Some("pop".into()) }),
        ),
        _ => (
            wifiprov(),
            Arc::new(DeviceSecurityConfig::sec2(
                vec![0x42; 16],
                srp::compute_verifier(b"wifiprov", b"abcd1234", &[0x42; 16], false),
                Sec2Patch::Patch1,
            )),
        ),
    };
    let (hs, cmd0) = ClientHandshake::start(creds, &mut rng).unwrap();
    if step == 1 {
        return hs;
    }
    let mut device = DeviceSecuritySession::new(config);
    let resp0 = device.handle(&cmd0, &mut rng).unwrap();
    match hs.on_response(&resp0).unwrap() {
        ClientStep::Send(hs, _) => hs,
        ClientStep::Done(_) => panic!("no step 2"),
    }
}

/// Device sessions waiting for Command0 or Command1, plus the valid request of that step.
fn device_at(level: u8, step: u8, seed: u64) -> (DeviceSecuritySession, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (creds, config) = match level {
        0 => (Credentials::Sec0, Arc::new(DeviceSecurityConfig::Sec0)),
        1 => (Credentials::Sec1 { pop: None }, Arc::new(DeviceSecurityConfig::Sec1 { pop: None })),
        _ => (
            wifiprov(),
            Arc::new(DeviceSecurityConfig::sec2(
                vec![0x42; 16],
                srp::compute_verifier(b"wifiprov", b"abcd1234", &[0x42; 16], false),
                Sec2Patch::Patch0,
            )),
        ),
    };
    let mut device = DeviceSecuritySession::new(config);
    let (hs, cmd0) = ClientHandshake::start(creds, &mut rng).unwrap();
    if step == 1 {
        return (device, cmd0);
    }
    let resp0 = device.handle(&cmd0, &mut rng).unwrap();
    match hs.on_response(&resp0).unwrap() {
        ClientStep::Send(_, cmd1) => (device, cmd1),
        ClientStep::Done(_) => panic!("no step 2"),
    }
}

const PHONE_STATES: [(u8, u8); 5] = [(0, 1), (1, 1), (1, 2), (2, 1), (2, 2)];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn phone_rejects_garbage_at_every_step(
        which in 0..PHONE_STATES.len(),
        garbage in proptest::collection::vec(any::<u8>(), 0..600),
        seed in any::<u64>(),
    ) {
        let (level, step) = PHONE_STATES[which];
        let hs = phone_at(level, step, seed);
        prop_assert!(hs.on_response(&garbage).is_err());
    }

    #[test]
    fn device_rejects_garbage_at_every_step(
        which in 0..PHONE_STATES.len(),
        garbage in proptest::collection::vec(any::<u8>(), 0..600),
        seed in any::<u64>(),
    ) {
        let (level, step) = PHONE_STATES[which];
        let (mut device, _) = device_at(level, step, seed);
        let mut rng = StdRng::seed_from_u64(seed);
        prop_assert!(device.handle(&garbage, &mut rng).is_err());
        prop_assert!(!device.is_established() || level == 0);
    }

    #[test]
    fn truncated_and_corrupted_messages_are_typed_errors(
        which in 0..PHONE_STATES.len(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        seed in any::<u64>(),
    ) {
        let (level, step) = PHONE_STATES[which];
        // Device side: a truncated request fails; a corrupted one either fails or (when the flipped
        // bit sits in a value the device cannot check at that step, e.g. the public key) yields
        // a valid response.
        let (mut device, request) = device_at(level, step, seed);
        let mut rng = StdRng::seed_from_u64(seed);
        let truncated = &request[..cut.index(request.len())];
        prop_assert!(device.handle(truncated, &mut rng).is_err());
        let (mut device, request) = device_at(level, step, seed);
        let mut corrupted = request.clone();
        let i = flip.index(corrupted.len());
        corrupted[i] ^= 1 << bit;
        let _ = device.handle(&corrupted, &mut rng);

        // Phone side: a truncated device response fails.
        let (mut device, request) = device_at(level, step, seed);
        let response = device.handle(&request, &mut rng).unwrap();
        let hs = phone_at(level, step, seed ^ 1);
        let truncated = &response[..cut.index(response.len())];
        prop_assert!(hs.on_response(truncated).is_err());
    }

    #[test]
    fn established_ciphers_reject_garbage(
        level in 1u8..3,
        garbage in proptest::collection::vec(any::<u8>(), 0..100),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (creds, config) = if level == 1 {
            (Credentials::Sec1 { pop: None }, Arc::new(DeviceSecurityConfig::Sec1 { pop: None }))
        } else {
            (wifiprov(), sec2_config("wifiprov", b"abcd1234", Sec2Patch::Patch1, &mut rng))
        };
        let (mut phone, mut device) = expect_established(run_session(creds, config, &mut StdRng::seed_from_u64(rng.random()), &mut rng, &no_tamper));
        let d = device.decrypt(&garbage);
        let p = phone.decrypt(&garbage);
        if level == 2 {
            prop_assert_eq!(d, Err(SecurityError::DecryptFailed));
            prop_assert_eq!(p, Err(SecurityError::DecryptFailed));
        } else {
            // CTR has no authentication: any bytes decrypt, with the same length.
            prop_assert_eq!(d.map(|v| v.len()), Ok(garbage.len()));
            prop_assert_eq!(p.map(|v| v.len()), Ok(garbage.len()));
        }
    }
}
