//! Device-side cost of the security 2 handshake, alone and with 10 simulated devices served
//! concurrently by one process (see BENCHMARKS.md, "Simulated devices: security 2").
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rainmaker_prov::security::{
    ClientHandshake, ClientStep, Credentials, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch,
    generate_salt_verifier, srp,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Simulated devices served at the same time by the throughput bench.
const DEVICES: usize = 10;
/// Distinct recorded sessions per device (replayed round robin).
const SESSIONS_PER_DEVICE: usize = 4;

fn sec2_creds() -> Credentials {
    Credentials::Sec2 { username: "wifiprov".into(), password: "abcd1234".into() }
}

fn sec2_config(seed: u64) -> Arc<DeviceSecurityConfig> {
    let (salt, verifier) = generate_salt_verifier("wifiprov", b"abcd1234", &mut StdRng::seed_from_u64(seed));
    Arc::new(DeviceSecurityConfig::sec2(salt, verifier, Sec2Patch::Patch1))
}

/// The phone's two requests of one session against a device whose RNG is seeded with
/// `device_seed` (so the device can replay the session: it draws the same b again).
fn recorded_requests(config: &Arc<DeviceSecurityConfig>, phone_seed: u64, device_seed: u64) -> Vec<Vec<u8>> {
    let mut device = DeviceSecuritySession::new(config.clone());
    let mut device_rng = StdRng::seed_from_u64(device_seed);
    let (mut hs, mut request) = ClientHandshake::start(sec2_creds(), &mut StdRng::seed_from_u64(phone_seed)).unwrap();
    let mut requests = Vec::new();
    loop {
        requests.push(request.clone());
        let response = device.handle(&request, &mut device_rng).unwrap();
        match hs.on_response(&response).unwrap() {
            ClientStep::Send(next, req) => {
                hs = next;
                request = req;
            }
            ClientStep::Done(_) => return requests,
        }
    }
}

/// One device-side session: a fresh `DeviceSecuritySession` handles Command0 and Command1.
fn device_session(config: &Arc<DeviceSecurityConfig>, requests: &[Vec<u8>], device_seed: u64) -> Vec<u8> {
    let mut device = DeviceSecuritySession::new(config.clone());
    let mut rng = StdRng::seed_from_u64(device_seed);
    let mut last = Vec::new();
    for request in requests {
        last = device.handle(request, &mut rng).unwrap();
    }
    assert!(device.is_established());
    last
}

struct Device {
    config: Arc<DeviceSecurityConfig>,
    /// (device seed, requests) per recorded session.
    sessions: Vec<(u64, Vec<Vec<u8>>)>,
}

fn devices() -> Vec<Device> {
    (0..DEVICES as u64)
        .map(|d| {
            let config = sec2_config(100 + d);
            let sessions = (0..SESSIONS_PER_DEVICE as u64)
                .map(|s| {
                    let seed = 1000 * d + s;
                    (seed, recorded_requests(&config, seed + 7, seed))
                })
                .collect();
            Device { config, sessions }
        })
        .collect()
}

/// Every device runs `per_device` sessions on its own thread; returns the wall time.
fn serve_concurrently(devices: &[Device], per_device: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for device in devices {
            scope.spawn(move || {
                for i in 0..per_device {
                    let (seed, requests) = &device.sessions[i as usize % device.sessions.len()];
                    black_box(device_session(&device.config, requests, *seed));
                }
            });
        }
    });
    start.elapsed()
}

fn benches(c: &mut Criterion) {
    let config = sec2_config(1);
    let requests = recorded_requests(&config, 0x0bad_cafe, 2);
    let devices = devices();

    let mut group = c.benchmark_group("device");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("sec2_handshake", |b| b.iter(|| black_box(device_session(&config, &requests, 2))));
    group.finish();

    // The SRP building blocks of a device session (B, then S), for the record.
    let mut group = c.benchmark_group("device_srp");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let DeviceSecurityConfig::Sec2 { verifier, .. } = &*config else { unreachable!() };
    let b = [0x5cu8; srp::EXPONENT_LEN];
    let a_pub = srp::client_public(&[0x91u8; srp::EXPONENT_LEN]);
    let b_pub = srp::device_public(&b, verifier).unwrap();
    let u = srp::compute_u(&a_pub, &b_pub).unwrap();
    group.bench_function("device_public", |bn| bn.iter(|| black_box(srp::device_public(&b, verifier).unwrap())));
    group.bench_function("device_premaster", |bn| {
        bn.iter(|| black_box(srp::device_premaster(&a_pub, verifier, &u, &b).unwrap()))
    });
    group.finish();

    let mut group = c.benchmark_group("sim10");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    let per_device = 20u64;
    group.throughput(Throughput::Elements(DEVICES as u64 * per_device));
    group.bench_function("sec2_sessions", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| serve_concurrently(&devices, per_device)).sum())
    });
    group.finish();
}

criterion_group!(device, benches);
criterion_main!(device);
