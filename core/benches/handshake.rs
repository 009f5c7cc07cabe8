//! Criterion benchmarks of the security handshakes (CPU time per handshake, no I/O).
//!
//! - `phone/*`: the phone side alone. The phone's RNG is re-seeded identically for every
//!   iteration, so its ephemeral key is the same each time and the device's two responses can be
//!   precomputed once; an iteration is `ClientHandshake::start` + both `on_response` calls
//!   (security 1: X25519 key pair + agreement + 64 CTR bytes; security 2: `g^a`, `x`, the client
//!   premaster `S`, K, M1 and the M2 check).
//! - `in_process/*`: phone and device driven against each other in one thread (both sides'
//!   work, fresh randomness every iteration, salt/verifier provisioned once outside the loop).
//!
//! Run with `cargo bench -p rainmaker-prov --bench handshake`.

#![allow(clippy::unwrap_used)] // benchmark harness: a failed handshake must abort the run
#![allow(missing_docs)] // `criterion_group!` generates an undocumented public function

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rainmaker_prov::security::{
    ClientHandshake, ClientStep, Credentials, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, SessionCipher,
    generate_salt_verifier,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const PHONE_SEED: u64 = 0x0bad_cafe;

fn sec1_creds() -> Credentials {
    Credentials::Sec1 { pop: Some("abcd1234".into()) }
}

fn sec2_creds() -> Credentials {
    Credentials::Sec2 { username: "wifiprov".into(), password: "abcd1234".into() }
}

fn sec1_config() -> Arc<DeviceSecurityConfig> {
    Arc::new(DeviceSecurityConfig::Sec1 { pop: Some("abcd1234".into()) })
}

fn sec2_config() -> Arc<DeviceSecurityConfig> {
    let (salt, verifier) = generate_salt_verifier("wifiprov", b"abcd1234", &mut StdRng::seed_from_u64(1));
    Arc::new(DeviceSecurityConfig::sec2(salt, verifier, Sec2Patch::Patch1))
}

/// Full in-process handshake; returns the phone's cipher.
fn in_process(creds: Credentials, device: &mut DeviceSecuritySession, rng: &mut StdRng) -> SessionCipher {
    let (mut hs, mut request) = ClientHandshake::start(creds, rng).unwrap();
    loop {
        let response = device.handle(&request, rng).unwrap();
        match hs.on_response(&response).unwrap() {
            ClientStep::Send(next, req) => {
                hs = next;
                request = req;
            }
            ClientStep::Done(cipher) => return cipher,
        }
    }
}

/// The device's two responses to a phone seeded with [`PHONE_SEED`].
fn precomputed_responses(creds: impl Fn() -> Credentials, config: Arc<DeviceSecurityConfig>) -> Vec<Vec<u8>> {
    let mut device = DeviceSecuritySession::new(config);
    let mut device_rng = StdRng::seed_from_u64(2);
    let (mut hs, mut request) = ClientHandshake::start(creds(), &mut StdRng::seed_from_u64(PHONE_SEED)).unwrap();
    let mut responses = Vec::new();
    loop {
        let response = device.handle(&request, &mut device_rng).unwrap();
        responses.push(response.clone());
        match hs.on_response(&response).unwrap() {
            ClientStep::Send(next, req) => {
                hs = next;
                request = req;
            }
            ClientStep::Done(_) => return responses,
        }
    }
}

fn phone_only(creds: Credentials, responses: &[Vec<u8>]) -> SessionCipher {
    let mut rng = StdRng::seed_from_u64(PHONE_SEED);
    let (mut hs, _) = ClientHandshake::start(creds, &mut rng).unwrap();
    for response in responses {
        match hs.on_response(response).unwrap() {
            ClientStep::Send(next, _) => hs = next,
            ClientStep::Done(cipher) => return cipher,
        }
    }
    panic!("handshake did not finish")
}

fn benches(c: &mut Criterion) {
    let sec1_responses = precomputed_responses(sec1_creds, sec1_config());
    let sec2_config = sec2_config();
    let sec2_responses = precomputed_responses(sec2_creds, sec2_config.clone());

    let mut group = c.benchmark_group("phone");
    group.bench_function("sec1_handshake", |b| b.iter(|| black_box(phone_only(sec1_creds(), &sec1_responses))));
    group.sample_size(30);
    group.bench_function("sec2_handshake", |b| b.iter(|| black_box(phone_only(sec2_creds(), &sec2_responses))));
    group.finish();

    let mut group = c.benchmark_group("in_process");
    let mut rng = StdRng::seed_from_u64(3);
    let config = sec1_config();
    group.bench_function("sec1_handshake", |b| {
        b.iter(|| {
            let mut device = DeviceSecuritySession::new(config.clone());
            black_box(in_process(sec1_creds(), &mut device, &mut rng))
        })
    });
    group.sample_size(20);
    group.bench_function("sec2_handshake", |b| {
        b.iter(|| {
            let mut device = DeviceSecuritySession::new(sec2_config.clone());
            black_box(in_process(sec2_creds(), &mut device, &mut rng))
        })
    });
    group.finish();
}

criterion_group!(handshake, benches);
criterion_main!(handshake);
