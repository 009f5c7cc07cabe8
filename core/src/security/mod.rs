//! Session security (protocomm security 0, 1 and 2), phone side and device side, sans-I/O.
//!
//! The handshake runs on the `prov-session` endpoint; afterwards every request and response on
//! a normal endpoint goes through a [`SessionCipher`]. Bytes in, bytes out, randomness injected.
//!
//! - Phone side: [`ClientHandshake::start`] with [`Credentials`], then feed each response to
//!   [`ClientHandshake::on_response`] until it yields [`ClientStep::Done`]. When the device fails
//!   a request at transport level, [`ClientHandshake::on_rejected`] says what that means.
//! - Device side: one [`DeviceSecuritySession`] per transport session, configured with a
//!   [`DeviceSecurityConfig`].
//!
//! The scheme modules [`sec0`], [`sec1`] and [`sec2`] hold the typestate machines of both sides
//! (each step consumes its state); [`ClientHandshake`] and [`DeviceSecuritySession`] are thin
//! wrappers over them. Byte layouts follow docs/protocol.md §4 exactly.

mod cipher;
mod codec;
mod error;
pub mod sec0;
pub mod sec1;
pub mod sec2;
mod secret;
#[doc(hidden)]
pub mod srp;

use std::fmt;
use std::sync::Arc;

use rand_core::CryptoRng;

pub use cipher::{GCM_TAG_LEN, SessionCipher};
pub use error::SecurityError;
pub use secret::Secret;

/// Security scheme number, ordered (`Sec0 < Sec1 < Sec2`) so a caller can state a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SecurityLevel {
    /// Security 0: no encryption.
    Sec0,
    /// Security 1: X25519 + proof of possession + AES-256-CTR.
    Sec1,
    /// Security 2: SRP-6a + AES-256-GCM.
    Sec2,
}

impl SecurityLevel {
    /// The scheme number used on the wire (`sec_ver`) and in `proto-ver`.
    pub fn number(self) -> u8 {
        match self {
            Self::Sec0 => 0,
            Self::Sec1 => 1,
            Self::Sec2 => 2,
        }
    }

    /// The level for a scheme number, `None` for unknown numbers.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            0 => Some(Self::Sec0),
            1 => Some(Self::Sec1),
            2 => Some(Self::Sec2),
            _ => None,
        }
    }
}

impl TryFrom<u8> for SecurityLevel {
    type Error = SecurityError;

    fn try_from(number: u8) -> Result<Self, Self::Error> {
        Self::from_number(number).ok_or(SecurityError::UnsupportedVersion)
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "security {}", self.number())
    }
}

/// GCM nonce mode of security 2 (`sec_patch_ver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sec2Patch {
    /// Legacy firmware: one fixed 16-byte nonce for every message in both directions.
    Patch0,
    /// Current firmware: 8 random bytes `||` BE32 counter shared by both directions, starting at 1.
    Patch1,
}

impl Sec2Patch {
    /// The `sec_patch_ver` number.
    pub fn number(self) -> u8 {
        match self {
            Self::Patch0 => 0,
            Self::Patch1 => 1,
        }
    }
}

/// Phone-side credentials: what the user supplies for the device's scheme.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Security 0: none.
    Sec0,
    /// Security 1 with an optional proof of possession (absent or empty = no PoP).
    Sec1 {
        /// The proof of possession.
        pop: Option<Secret>,
    },
    /// Security 2 with an SRP username (`wifiprov` on most firmware) and password.
    Sec2 {
        /// SRP username (non-empty).
        username: String,
        /// SRP password (the "PoP" printed on the device).
        password: Secret,
    },
    /// Security 2 with the "stripped" x of esp_prov-generated verifiers: the inner digest
    /// `H(I ":" P)` loses its leading zero bytes before x is computed (docs/protocol.md §4.3.2
    /// hazard 1). Only differs from [`Credentials::Sec2`] when
    /// [`sec2_inner_hash_has_leading_zero`] is true; use it to retry once after a
    /// [`SecurityError::WrongCredentials`].
    Sec2Stripped {
        /// SRP username (non-empty).
        username: String,
        /// SRP password.
        password: Secret,
    },
}

impl Credentials {
    /// The scheme these credentials are for.
    pub fn level(&self) -> SecurityLevel {
        match self {
            Self::Sec0 => SecurityLevel::Sec0,
            Self::Sec1 { .. } => SecurityLevel::Sec1,
            Self::Sec2 { .. } | Self::Sec2Stripped { .. } => SecurityLevel::Sec2,
        }
    }
}

/// Whether `SHA-512(username ":" password)` starts with a zero byte: then a verifier made by
/// esp_prov's Python generator needs [`Credentials::Sec2Stripped`] (about 1 pair in 256).
pub fn sec2_inner_hash_has_leading_zero(username: &str, password: &[u8]) -> bool {
    srp::inner_hash(username.as_bytes(), password)[0] == 0
}

/// Device provisioning: draws a 16-byte salt whose first byte is not zero (a salt starting with
/// `00` is drawn again, docs/protocol.md §4.3.2 hazard 2) and computes the verifier `g^x mod N`
/// (minimal big-endian). Returns `(salt, verifier)`.
pub fn generate_salt_verifier(username: &str, password: &[u8], rng: &mut impl CryptoRng) -> (Vec<u8>, Vec<u8>) {
    /// Draws before giving up on a source that keeps producing a zero first byte (a real RNG
    /// does so with probability 256^-64).
    const MAX_DRAWS: usize = 64;
    let mut salt = vec![0u8; sec2::CORRUPTIBLE_SALT_LEN];
    for _ in 0..MAX_DRAWS {
        rng.fill_bytes(&mut salt);
        if salt[0] != 0 {
            break;
        }
    }
    if salt[0] == 0 {
        // Only a broken or scripted source gets here; never hand out a hazardous salt.
        salt[0] = 1;
    }
    let verifier = srp::compute_verifier(username.as_bytes(), password, &salt, false);
    (salt, verifier)
}

/// Device provisioning as an affected RainMaker device does it (docs/protocol.md §4.3.2 hazard 2):
/// a 16-byte salt whose first byte is `00` (the 16th is random), and a verifier computed over
/// the first 15 salt bytes only. A strict client can only authenticate after dropping the last
/// salt byte ([`ClientHandshake::sec2_drop_last_salt_byte`]). For simulators.
pub fn generate_corrupted_salt_verifier(
    username: &str,
    password: &[u8],
    rng: &mut impl CryptoRng,
) -> (Vec<u8>, Vec<u8>) {
    let mut salt = vec![0u8; sec2::CORRUPTIBLE_SALT_LEN];
    rng.fill_bytes(&mut salt);
    salt[0] = 0;
    let verifier = srp::compute_verifier(username.as_bytes(), password, &salt[..salt.len() - 1], false);
    (salt, verifier)
}

// ---------------------------------------------------------------- phone side

/// Phone-side handshake over any scheme, consumed by value at every step.
pub struct ClientHandshake {
    state: ClientState,
}

enum ClientState {
    Sec0(sec0::ClientAwaitResponse),
    Sec1Resp0(sec1::ClientAwaitResp0),
    Sec1Resp1(sec1::ClientAwaitResp1),
    Sec2Resp0(sec2::ClientAwaitResp0),
    Sec2Resp1(sec2::ClientAwaitResp1),
}

/// What to do after a handshake response.
#[derive(Debug)]
pub enum ClientStep {
    /// Send this `prov-session` request and feed its response to the handshake.
    Send(ClientHandshake, Vec<u8>),
    /// The session is established.
    Done(SessionCipher),
}

impl ClientHandshake {
    /// Returns the state and the first `prov-session` request (SessionData bytes).
    pub fn start(creds: Credentials, rng: &mut impl CryptoRng) -> Result<(ClientHandshake, Vec<u8>), SecurityError> {
        let (state, request) = match &creds {
            Credentials::Sec0 => {
                let (s, r) = sec0::client_start();
                (ClientState::Sec0(s), r)
            }
            Credentials::Sec1 { pop } => {
                let (s, r) = sec1::client_start(pop.as_ref(), rng);
                (ClientState::Sec1Resp0(s), r)
            }
            Credentials::Sec2 { username, password } => {
                let (s, r) = sec2::client_start(username, password, false, rng)?;
                (ClientState::Sec2Resp0(s), r)
            }
            Credentials::Sec2Stripped { username, password } => {
                let (s, r) = sec2::client_start(username, password, true, rng)?;
                (ClientState::Sec2Resp0(s), r)
            }
        };
        Ok((ClientHandshake { state }, request))
    }

    /// Feeds the device's response to the last request.
    pub fn on_response(self, response: &[u8]) -> Result<ClientStep, SecurityError> {
        let step = self.step();
        let result = match self.state {
            ClientState::Sec0(s) => s.on_response(response).map(ClientStep::Done),
            ClientState::Sec1Resp0(s) => s
                .on_response0(response)
                .map(|(s, r)| ClientStep::Send(ClientHandshake { state: ClientState::Sec1Resp1(s) }, r)),
            ClientState::Sec1Resp1(s) => s.on_response1(response).map(ClientStep::Done),
            ClientState::Sec2Resp0(s) => s
                .on_response0(response)
                .map(|(s, r)| ClientStep::Send(ClientHandshake { state: ClientState::Sec2Resp1(s) }, r)),
            ClientState::Sec2Resp1(s) => s.on_response1(response).map(ClientStep::Done),
        };
        if let Err(e) = &result {
            log::debug!("security handshake step {step} failed: {e}");
        }
        result
    }

    /// Sets the security 2 nonce mode the device advertised (`sec_patch_ver`); Response1's
    /// `device_nonce` must have its length. No effect on other schemes or after Response0.
    pub fn expect_sec2_patch(self, patch: Sec2Patch) -> Self {
        match self.state {
            ClientState::Sec2Resp0(s) => ClientHandshake { state: ClientState::Sec2Resp0(s.expect_patch(patch)) },
            state => ClientHandshake { state },
        }
    }

    /// Security 2: compute x over the salt without its last byte when the device sends a 16-byte
    /// salt (docs/protocol.md §4.3.2 hazard 2; see [`sec2::ClientAwaitResp0::drop_last_salt_byte`]).
    /// No effect on other schemes or after Response0.
    pub fn sec2_drop_last_salt_byte(self) -> Self {
        match self.state {
            ClientState::Sec2Resp0(s) => ClientHandshake { state: ClientState::Sec2Resp0(s.drop_last_salt_byte()) },
            state => ClientHandshake { state },
        }
    }

    /// Security 2, once Response0 was handled: whether the device's salt has the shape of
    /// docs/protocol.md §4.3.2 hazard 2 (16 bytes starting with `00`), so that a rejected proof
    /// may succeed with [`Self::sec2_drop_last_salt_byte`].
    pub fn sec2_salt_may_be_corrupted(&self) -> bool {
        match &self.state {
            ClientState::Sec2Resp1(s) => s.salt_may_be_corrupted(),
            _ => false,
        }
    }

    /// The device failed the last request at transport level (HTTP closed without response /
    /// BLE disconnect). Returns the error to report: for the proof step of security 1 and 2
    /// (Command1) that is [`SecurityError::WrongCredentials`] (the device rejected our PoP or
    /// password); otherwise [`SecurityError::DeviceRejectedStep`].
    pub fn on_rejected(self) -> SecurityError {
        match self.state {
            ClientState::Sec1Resp1(_) | ClientState::Sec2Resp1(_) => SecurityError::WrongCredentials,
            _ => SecurityError::DeviceRejectedStep(self.step()),
        }
    }

    /// The scheme of this handshake.
    pub fn level(&self) -> SecurityLevel {
        match self.state {
            ClientState::Sec0(_) => SecurityLevel::Sec0,
            ClientState::Sec1Resp0(_) | ClientState::Sec1Resp1(_) => SecurityLevel::Sec1,
            ClientState::Sec2Resp0(_) | ClientState::Sec2Resp1(_) => SecurityLevel::Sec2,
        }
    }

    /// 1-based number of the exchange whose response is awaited.
    pub fn step(&self) -> u8 {
        match self.state {
            ClientState::Sec0(_) | ClientState::Sec1Resp0(_) | ClientState::Sec2Resp0(_) => 1,
            ClientState::Sec1Resp1(_) | ClientState::Sec2Resp1(_) => 2,
        }
    }
}

impl fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("level", &self.level())
            .field("step", &self.step())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- device side

/// Device-side configuration (what the firmware is provisioned with). `Debug` shows neither the
/// PoP nor the verifier.
#[derive(Debug, Clone)]
pub enum DeviceSecurityConfig {
    /// Security 0.
    Sec0,
    /// Security 1 with an optional proof of possession.
    Sec1 {
        /// The proof of possession (absent or empty = none).
        pop: Option<Secret>,
    },
    /// Security 2 with a provisioned salt and verifier (see [`generate_salt_verifier`] and
    /// [`DeviceSecurityConfig::sec2`]).
    Sec2 {
        /// The salt, sent verbatim to the phone.
        salt: Vec<u8>,
        /// The verifier `g^x mod N` (password-equivalent: wiped on drop), shared by the device's
        /// sessions.
        verifier: Arc<srp::Verifier>,
        /// The GCM nonce mode of the simulated firmware.
        patch: Sec2Patch,
    },
}

impl DeviceSecurityConfig {
    /// Security 2 with a provisioned salt and verifier (big-endian `g^x mod N`).
    pub fn sec2(salt: Vec<u8>, verifier: Vec<u8>, patch: Sec2Patch) -> Self {
        Self::Sec2 { salt, verifier: Arc::new(srp::Verifier::new(verifier)), patch }
    }

    /// The scheme of this configuration.
    pub fn level(&self) -> SecurityLevel {
        match self {
            Self::Sec0 => SecurityLevel::Sec0,
            Self::Sec1 { .. } => SecurityLevel::Sec1,
            Self::Sec2 { .. } => SecurityLevel::Sec2,
        }
    }
}

/// Device-side security session (one per transport session), like protocomm's.
pub struct DeviceSecuritySession {
    config: Arc<DeviceSecurityConfig>,
    state: DeviceState,
}

enum DeviceState {
    Idle,
    Sec1AwaitCmd1(sec1::DeviceAwaitCmd1),
    Sec2AwaitCmd1(sec2::DeviceAwaitCmd1),
    Established(SessionCipher),
}

impl DeviceSecuritySession {
    /// A new session with no handshake done yet.
    pub fn new(config: Arc<DeviceSecurityConfig>) -> Self {
        Self { config, state: DeviceState::Idle }
    }

    /// The device's scheme.
    pub fn level(&self) -> SecurityLevel {
        self.config.level()
    }

    /// Handles one `prov-session` request; `Err` = the device fails the request (transport
    /// error). A new Command0 mid-session restarts the handshake; any failed request leaves the
    /// session without an established cipher (a new handshake is needed).
    pub fn handle(&mut self, request: &[u8], rng: &mut impl CryptoRng) -> Result<Vec<u8>, SecurityError> {
        let previous = std::mem::replace(&mut self.state, DeviceState::Idle);
        let level = self.config.level();
        let msg = codec::msg_type(&codec::decode(request, level)?);
        let (state, response) = match (&*self.config, msg, previous) {
            (DeviceSecurityConfig::Sec0, _, _) => {
                let (cipher, r) = sec0::DeviceAwaitCommand::new().on_command(request)?;
                (DeviceState::Established(cipher), r)
            }
            (DeviceSecurityConfig::Sec1 { pop }, 0, previous) => {
                if matches!(previous, DeviceState::Established(_) | DeviceState::Sec1AwaitCmd1(_)) {
                    log::warn!("security 1: new Command0 in the middle of a session, restarting the handshake");
                }
                let (s, r) = sec1::DeviceAwaitCmd0::new(pop.as_ref()).on_command0(request, rng)?;
                (DeviceState::Sec1AwaitCmd1(s), r)
            }
            (DeviceSecurityConfig::Sec1 { .. }, _, DeviceState::Sec1AwaitCmd1(s)) => {
                let (cipher, r) = s.on_command1(request)?;
                (DeviceState::Established(cipher), r)
            }
            (DeviceSecurityConfig::Sec2 { salt, verifier, patch }, 0, previous) => {
                if matches!(previous, DeviceState::Established(_) | DeviceState::Sec2AwaitCmd1(_)) {
                    log::warn!("security 2: new Command0 in the middle of a session, restarting the handshake");
                }
                let (s, r) = sec2::DeviceAwaitCmd0::new(salt, verifier.clone(), *patch).on_command0(request, rng)?;
                (DeviceState::Sec2AwaitCmd1(s), r)
            }
            (DeviceSecurityConfig::Sec2 { .. }, _, DeviceState::Sec2AwaitCmd1(s)) => {
                let (cipher, r) = s.on_command1(request, rng)?;
                (DeviceState::Established(cipher), r)
            }
            _ => {
                log::debug!("prov-session message type {msg} not expected in this state");
                return Err(SecurityError::UnexpectedMessage);
            }
        };
        self.state = state;
        Ok(response)
    }

    /// Decrypts a request on a normal endpoint (security 0: pass-through even without a
    /// handshake; security 1/2 before the handshake completed: [`SecurityError::NotEstablished`]).
    pub fn decrypt(&mut self, wire: &[u8]) -> Result<Vec<u8>, SecurityError> {
        match &mut self.state {
            DeviceState::Established(c) => c.decrypt(wire),
            _ if self.config.level() == SecurityLevel::Sec0 => Ok(wire.to_vec()),
            _ => Err(SecurityError::NotEstablished),
        }
    }

    /// Encrypts a response on a normal endpoint (same rules as [`Self::decrypt`]).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SecurityError> {
        match &mut self.state {
            DeviceState::Established(c) => c.encrypt(plaintext),
            _ if self.config.level() == SecurityLevel::Sec0 => Ok(plaintext.to_vec()),
            _ => Err(SecurityError::NotEstablished),
        }
    }

    /// Whether normal endpoints can be used: always for security 0, after a completed handshake
    /// for security 1 and 2.
    pub fn is_established(&self) -> bool {
        matches!(self.state, DeviceState::Established(_)) || self.config.level() == SecurityLevel::Sec0
    }
}

impl fmt::Debug for DeviceSecuritySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSecuritySession")
            .field("level", &self.level())
            .field("established", &self.is_established())
            .finish_non_exhaustive()
    }
}

/// Deterministic byte source for the unit tests of this module tree.
#[cfg(test)]
pub(crate) fn test_rng(seed: u8) -> crate::rng::FillRng<impl FnMut(&mut [u8])> {
    let mut state = seed;
    crate::rng::FillRng(move |dst: &mut [u8]| {
        for b in dst {
            state = state.wrapping_mul(29).wrapping_add(11);
            *b = state;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_numbered() {
        assert!(SecurityLevel::Sec0 < SecurityLevel::Sec1 && SecurityLevel::Sec1 < SecurityLevel::Sec2);
        for level in [SecurityLevel::Sec0, SecurityLevel::Sec1, SecurityLevel::Sec2] {
            assert_eq!(SecurityLevel::try_from(level.number()), Ok(level));
            assert_eq!(SecurityLevel::from_number(level.number()), Some(level));
        }
        assert_eq!(SecurityLevel::try_from(3), Err(SecurityError::UnsupportedVersion));
        assert_eq!(SecurityLevel::Sec2.to_string(), "security 2");
        assert_eq!(Sec2Patch::Patch1.number(), 1);
    }

    #[test]
    fn debug_output_is_redacted() {
        let creds = Credentials::Sec2 { username: "wifiprov".into(), password: "hunter22".into() };
        let config = DeviceSecurityConfig::Sec1 { pop: Some("pop-9876".into()) };
        let mut rng = test_rng(5);
        let (hs, _) = ClientHandshake::start(creds.clone(), &mut rng).unwrap();
        let mut device = DeviceSecuritySession::new(Arc::new(config.clone()));
        let (phone1, cmd0) =
            ClientHandshake::start(Credentials::Sec1 { pop: Some("pop-9876".into()) }, &mut rng).unwrap();
        let resp0 = device.handle(&cmd0, &mut rng).unwrap();
        let ClientStep::Send(phone1, _) = phone1.on_response(&resp0).unwrap() else { panic!("expected Send") };
        let texts = [
            format!("{creds:?}"),
            format!("{config:?}"),
            format!("{hs:?}"),
            format!("{phone1:?}"),
            format!("{device:?}"),
            format!("{:?}", Credentials::Sec2Stripped { username: "u".into(), password: "hunter22".into() }),
        ];
        for text in texts {
            assert!(!text.contains("hunter22") && !text.contains("pop-9876"), "{text}");
        }
        assert!(format!("{hs:?}").contains("Sec2"));
        // A verifier is password-equivalent: its bytes (here 0xEE = 238) are not printed.
        let sec2 = format!("{:?}", DeviceSecurityConfig::sec2(vec![1; 16], vec![0xee; 384], Sec2Patch::Patch1));
        assert!(!sec2.contains("238") && sec2.contains("Verifier"), "{sec2}");
    }

    #[test]
    fn rejected_steps_map_to_errors() {
        let mut rng = test_rng(9);
        let (hs, _) = ClientHandshake::start(Credentials::Sec1 { pop: None }, &mut rng).unwrap();
        assert_eq!(hs.step(), 1);
        assert_eq!(hs.level(), SecurityLevel::Sec1);
        assert_eq!(hs.on_rejected(), SecurityError::DeviceRejectedStep(1));
        let (hs, cmd0) = ClientHandshake::start(Credentials::Sec1 { pop: None }, &mut rng).unwrap();
        let mut device = DeviceSecuritySession::new(Arc::new(DeviceSecurityConfig::Sec1 { pop: None }));
        let ClientStep::Send(hs, _) = hs.on_response(&device.handle(&cmd0, &mut rng).unwrap()).unwrap() else {
            panic!("expected Send")
        };
        assert_eq!(hs.step(), 2);
        assert_eq!(hs.on_rejected(), SecurityError::WrongCredentials);
        let (hs, _) = ClientHandshake::start(Credentials::Sec0, &mut rng).unwrap();
        assert_eq!(hs.on_rejected(), SecurityError::DeviceRejectedStep(1));
    }

    #[test]
    fn salt_first_byte_is_never_zero() {
        struct Zeros;
        impl rand_core::TryRng for Zeros {
            type Error = std::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(0)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(0)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                dst.fill(0);
                Ok(())
            }
        }
        impl rand_core::TryCryptoRng for Zeros {}
        let (salt, verifier) = generate_salt_verifier("wifiprov", b"abcd1234", &mut Zeros);
        assert_eq!(salt.len(), 16);
        assert_ne!(salt[0], 0);
        assert_eq!(verifier, srp::compute_verifier(b"wifiprov", b"abcd1234", &salt, false));
    }
}
