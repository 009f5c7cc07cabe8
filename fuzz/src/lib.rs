//! Shared set-up of the fuzz targets and of the corpus seeder: deterministic randomness, honest
//! handshakes that bring a phone or a device to a given step, and the small framing used by the
//! targets that take several messages from one input.
//!
//! Everything here is deterministic: the same call gives the same bytes, so the seeds written by
//! `seed_corpus` are valid inputs for the states the targets rebuild on every run.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rainmaker_prov::rng::FillRng;
use rainmaker_prov::security::{
    ClientHandshake, ClientStep, Credentials, DeviceSecurityConfig, DeviceSecuritySession, Sec2Patch, Secret,
    SessionCipher, generate_salt_verifier,
};
use rainmaker_prov::sim::device::{SimConfig, SimDevice, SimFlavor, SimRainMaker, SimSecurity};

/// The byte source of every fuzz-side RNG.
pub type FuzzRng = FillRng<Box<dyn FnMut(&mut [u8]) + Send>>;

/// Security 1 proof of possession and security 2 password of the fuzzed sessions.
pub const POP: &str = "abcd1234";
/// Security 2 user name.
pub const USERNAME: &str = "wifiprov";
/// Seed of the phone's RNG in honest handshakes.
pub const PHONE_SEED: u64 = 1;
/// Seed of the device's RNG in honest handshakes.
pub const DEVICE_SEED: u64 = 2;
/// Seed of the simulator's RNG.
pub const SIM_SEED: u64 = 3;

/// A deterministic RNG (splitmix64 over a seed). Fuzzing only: it is predictable by design.
pub fn fixed_rng(seed: u64) -> FuzzRng {
    let mut state = seed;
    FillRng(Box::new(move |dst: &mut [u8]| {
        for chunk in dst.chunks_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }))
}

/// A security scheme as a device is configured with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Security 0.
    Sec0,
    /// Security 1 with the PoP [`POP`].
    Sec1,
    /// Security 2 (`USERNAME` / `POP`) with the fixed 16-byte nonce.
    Sec2Patch0,
    /// Security 2 with the counter nonce.
    Sec2Patch1,
}

/// The security 2 salt and verifier of the fuzzed devices (computed once: a 3072-bit modexp).
pub fn sec2_salt_verifier() -> &'static (Vec<u8>, Vec<u8>) {
    static CELL: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    CELL.get_or_init(|| generate_salt_verifier(USERNAME, POP.as_bytes(), &mut fixed_rng(7)))
}

impl Scheme {
    /// What the phone supplies for this scheme.
    pub fn credentials(self) -> Credentials {
        match self {
            Scheme::Sec0 => Credentials::Sec0,
            Scheme::Sec1 => Credentials::Sec1 { pop: Some(Secret::from(POP)) },
            Scheme::Sec2Patch0 | Scheme::Sec2Patch1 => {
                Credentials::Sec2 { username: USERNAME.to_owned(), password: Secret::from(POP) }
            }
        }
    }

    /// How the device is configured for this scheme.
    pub fn device_config(self) -> Arc<DeviceSecurityConfig> {
        Arc::new(match self {
            Scheme::Sec0 => DeviceSecurityConfig::Sec0,
            Scheme::Sec1 => DeviceSecurityConfig::Sec1 { pop: Some(Secret::from(POP)) },
            Scheme::Sec2Patch0 | Scheme::Sec2Patch1 => {
                let (salt, verifier) = sec2_salt_verifier().clone();
                let patch = if self == Scheme::Sec2Patch0 { Sec2Patch::Patch0 } else { Sec2Patch::Patch1 };
                DeviceSecurityConfig::sec2(salt, verifier, patch)
            }
        })
    }
}

/// The phone's first handshake step: its state awaiting Response0 and the Command0 it sends.
pub fn client_start(scheme: Scheme) -> (ClientHandshake, Vec<u8>) {
    ClientHandshake::start(scheme.credentials(), &mut fixed_rng(PHONE_SEED)).expect("fixed credentials are valid")
}

/// An honest security 1 or 2 handshake up to the second exchange.
pub struct AtStep2 {
    /// The phone, awaiting Response1.
    pub phone: ClientHandshake,
    /// The Command1 the phone sent.
    pub command1: Vec<u8>,
    /// The device, awaiting Command1.
    pub device: DeviceSecuritySession,
    /// The device's RNG, positioned after its Command0 draws.
    pub device_rng: FuzzRng,
}

/// Runs an honest handshake (fixed seeds) until the phone awaits Response1. Security 1 and 2 only.
pub fn run_to_step2(scheme: Scheme) -> AtStep2 {
    assert_ne!(scheme, Scheme::Sec0, "security 0 has a single exchange");
    let (phone, command0) = client_start(scheme);
    let mut device = DeviceSecuritySession::new(scheme.device_config());
    let mut device_rng = fixed_rng(DEVICE_SEED);
    let response0 = device.handle(&command0, &mut device_rng).expect("honest Command0");
    match phone.on_response(&response0).expect("honest Response0") {
        ClientStep::Send(phone, command1) => AtStep2 { phone, command1, device, device_rng },
        ClientStep::Done(_) => unreachable!("security 1 and 2 have two exchanges"),
    }
}

/// The Command0 of the honest handshake (bytes only; cached, security 2 makes it costly).
pub fn honest_command0(scheme: Scheme) -> &'static [u8] {
    static CELLS: [OnceLock<Vec<u8>>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = scheme as usize;
    CELLS[index].get_or_init(|| client_start(scheme).1)
}

/// A completed honest handshake: the phone's record cipher and the device's session, both at the
/// start of the session.
pub fn establish(scheme: Scheme) -> (SessionCipher, DeviceSecuritySession) {
    if scheme == Scheme::Sec0 {
        let (phone, command) = client_start(scheme);
        let mut device = DeviceSecuritySession::new(scheme.device_config());
        let response = device.handle(&command, &mut fixed_rng(DEVICE_SEED)).expect("honest command");
        return match phone.on_response(&response).expect("honest response") {
            ClientStep::Done(cipher) => (cipher, device),
            ClientStep::Send(..) => unreachable!("security 0 has one exchange"),
        };
    }
    let AtStep2 { phone, command1, mut device, mut device_rng } = run_to_step2(scheme);
    let response1 = device.handle(&command1, &mut device_rng).expect("honest Command1");
    match phone.on_response(&response1).expect("honest Response1") {
        ClientStep::Done(cipher) => (cipher, device),
        ClientStep::Send(..) => unreachable!("two exchanges only"),
    }
}

/// Splits an input into `(tag, body)` frames: one tag byte, a little-endian `u16` length, then the
/// body (cut short at the end of the input). Used by targets that take several messages.
pub fn frames(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((&tag, rest)) = data.split_first() {
        let (len, rest) = match rest {
            [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
            _ => (rest.len(), &[][..]),
        };
        let len = len.min(rest.len());
        out.push((tag, &rest[..len]));
        data = &rest[len..];
    }
    out
}

/// Appends one frame in the layout [`frames`] reads.
pub fn push_frame(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    let len = u16::try_from(body.len()).expect("frames hold at most 65535 bytes");
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
}

/// Endpoints the `sim_device` target addresses by `tag % SIM_ENDPOINTS.len()`.
pub const SIM_ENDPOINTS: [&str; 10] = [
    "proto-ver",
    "prov-session",
    "prov-config",
    "prov-scan",
    "prov-ctrl",
    "custom-data",
    "cloud_user_assoc",
    "ch_resp",
    "rmaker_claim",
    "no-such-endpoint",
];

/// `sim_device` frame tag: open a new transport session instead of sending a request.
pub const SIM_TAG_NEW_SESSION: u8 = 0xff;
/// `sim_device` frame tag: send `proto-ver` on a stale session id.
pub const SIM_TAG_STALE_SESSION: u8 = 0xfe;

/// The `sim_device` frame tag of an endpoint name.
pub fn sim_tag(endpoint: &str) -> Option<u8> {
    SIM_ENDPOINTS.iter().position(|e| *e == endpoint).and_then(|i| u8::try_from(i).ok())
}

/// The simulated device of the `sim_device` target for its first input byte: bits 0-1 security
/// (0 and 1: none, 2: security 1, 3: security 2 patch 1), bit 2 network_provisioning (Thread),
/// bits 3-4 RainMaker (0: none, 1: `cloud_user_assoc`, 2-3: `ch_resp`), bit 5 one "Connecting"
/// poll, bits 6-7 connection attempts. Joins resolve on the next poll and provisioning never
/// stops, so nothing depends on the clock.
pub fn sim_device(selector: u8) -> Arc<SimDevice> {
    let security = match selector & 3 {
        0 | 1 => SimSecurity::Sec0,
        2 => SimSecurity::Sec1 { pop: Some(Secret::from(POP)) },
        _ => {
            let (salt, verifier) = sec2_salt_verifier().clone();
            SimSecurity::sec2_provisioned(salt, verifier, Sec2Patch::Patch1)
        }
    };
    let mut config = SimConfig::new(security);
    config.flavor = if selector & 4 == 0 { SimFlavor::WifiProvisioning } else { SimFlavor::NetworkProvisioning };
    config.rainmaker = match (selector >> 3) & 3 {
        0 => None,
        1 => Some(SimRainMaker::user_assoc("fuzz-node")),
        _ => Some(SimRainMaker::ch_resp("fuzz-node")),
    };
    config.connecting_polls = u32::from((selector >> 5) & 1);
    config.connection_attempts = u32::from(selector >> 6);
    config.join_delay = Duration::ZERO;
    config.auto_stop = None;
    config.seed = Some(SIM_SEED);
    SimDevice::new(config)
}
