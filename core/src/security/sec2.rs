//! Security 2: SRP-6a (3072-bit, SHA-512) + AES-256-GCM (docs/protocol.md §4.3).
//!
//! Holds the phone-side typestates ([`client_start`] → [`ClientAwaitResp0`] →
//! [`ClientAwaitResp1`] → [`SessionCipher`]) and the device-side ones ([`DeviceAwaitCmd0`] →
//! [`DeviceAwaitCmd1`] → [`SessionCipher`]). Each step consumes its state. The arithmetic is in
//! [`super::srp`].

use std::fmt;
use std::sync::Arc;

use rainmaker_prov_proto::protocomm::{
    S2SessionCmd0, S2SessionCmd1, S2SessionResp0, S2SessionResp1, Sec2MsgType, Sec2Payload, Status,
    sec2_payload::Payload, session_data::Proto,
};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::cipher::SessionCipher;
use super::codec;
use super::error::SecurityError;
use super::secret::Secret;
use super::srp::{self, EXPONENT_LEN, HASH_LEN, N_LEN};
use super::{Sec2Patch, SecurityLevel};

/// Length of the 8-byte session id of the patch-1 nonce.
pub const SESSION_ID_LEN: usize = 8;

fn encode(msg: Sec2MsgType, payload: Payload) -> Vec<u8> {
    codec::encode(Proto::Sec2(Sec2Payload { msg: msg as i32, payload: Some(payload) }))
}

fn decode(bytes: &[u8]) -> Result<Sec2Payload, SecurityError> {
    match codec::decode(bytes, SecurityLevel::Sec2)? {
        Proto::Sec2(p) => Ok(p),
        _ => Err(SecurityError::UnexpectedMessage),
    }
}

/// The first 32 bytes of K: the AES-256-GCM key.
fn aes_key(session_key: &[u8; HASH_LEN]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&session_key[..32]);
    key
}

// ---------------------------------------------------------------- phone side

/// Phone side: Command0 sent, waiting for Response0.
pub struct ClientAwaitResp0 {
    username: Vec<u8>,
    inner: Zeroizing<[u8; HASH_LEN]>,
    stripped: bool,
    a: Zeroizing<[u8; EXPONENT_LEN]>,
    a_pub: Box<[u8; N_LEN]>,
    patch: Option<Sec2Patch>,
    drop_last_salt_byte: bool,
}

/// Salt length at which a device may have made its verifier over one byte less (§4.3.2 hazard 2).
pub const CORRUPTIBLE_SALT_LEN: usize = 16;

/// Whether a salt received from a device has the shape of §4.3.2 hazard 2: 16 bytes starting with
/// `00` (about 1 runtime-generated salt in 256). Only then can dropping its last byte help.
pub fn salt_may_be_corrupted(salt: &[u8]) -> bool {
    salt.len() == CORRUPTIBLE_SALT_LEN && salt.first() == Some(&0)
}

/// Phone side: draws `a` (32 random bytes, top bit forced to 1), computes A (sent padded to 384
/// bytes) and builds Command0. With `stripped`, x is computed over the inner digest without its
/// leading zero bytes, matching verifiers made by esp_prov's Python generator (§4.3.2 hazard 1).
pub fn client_start(
    username: &str,
    password: &Secret,
    stripped: bool,
    rng: &mut impl CryptoRng,
) -> Result<(ClientAwaitResp0, Vec<u8>), SecurityError> {
    if username.is_empty() {
        return Err(SecurityError::InvalidArgument("the SRP username must not be empty".into()));
    }
    let mut a = Zeroizing::new([0u8; EXPONENT_LEN]);
    rng.fill_bytes(&mut a[..]);
    a[0] |= 0x80;
    let a_pub = Box::new(srp::client_public(&a));
    let request = encode(
        Sec2MsgType::S2SessionCommand0,
        Payload::Sc0(S2SessionCmd0 { client_username: username.as_bytes().to_vec(), client_pubkey: a_pub.to_vec() }),
    );
    let state = ClientAwaitResp0 {
        username: username.as_bytes().to_vec(),
        inner: srp::inner_hash(username.as_bytes(), password.expose()),
        stripped,
        a,
        a_pub,
        patch: None,
        drop_last_salt_byte: false,
    };
    Ok((state, request))
}

impl ClientAwaitResp0 {
    /// Sets the GCM nonce mode the device advertised (`sec_patch_ver`): Response1's
    /// `device_nonce` must then have that mode's length (12 bytes for patch 1, 16 for patch 0).
    /// Without it, the mode follows the nonce length.
    pub fn expect_patch(mut self, patch: Sec2Patch) -> Self {
        self.patch = Some(patch);
        self
    }

    /// Imitates the verifier of a device whose runtime salt generator mishandled a leading zero
    /// byte (§4.3.2 hazard 2): when the device sends a [`CORRUPTIBLE_SALT_LEN`]-byte salt, x is
    /// computed over all but its last byte. M1 still covers the salt exactly as sent. Salts of
    /// any other length are used verbatim.
    pub fn drop_last_salt_byte(mut self) -> Self {
        self.drop_last_salt_byte = true;
        self
    }

    /// Handles Response0 (B and salt): computes u, x, S, K, M1 and the expected M2, builds
    /// Command1 (`client_proof` = M1). Rejects `B mod N = 0` and `u = 0`.
    pub fn on_response0(self, response: &[u8]) -> Result<(ClientAwaitResp1, Vec<u8>), SecurityError> {
        let payload = decode(response)?;
        let resp = match payload.payload {
            Some(Payload::Sr0(r)) if payload.msg == Sec2MsgType::S2SessionResponse0 as i32 => r,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        if resp.status != Status::Success as i32 {
            return Err(SecurityError::DeviceRejectedStep(1));
        }
        let b_pub = resp.device_pubkey;
        if b_pub.is_empty() || b_pub.len() > N_LEN {
            return Err(SecurityError::Malformed(format!("device_pubkey of {} bytes", b_pub.len())));
        }
        let salt = resp.device_salt;
        if salt.is_empty() {
            return Err(SecurityError::Malformed("empty device_salt".into()));
        }
        let u = srp::compute_u(&self.a_pub[..], &b_pub)?;
        let x_salt = match salt.split_last() {
            Some((_, head)) if self.drop_last_salt_byte && salt.len() == CORRUPTIBLE_SALT_LEN => head,
            _ => &salt[..],
        };
        let x = srp::compute_x(x_salt, &self.inner, self.stripped);
        let s = srp::client_premaster(&b_pub, &x, &self.a, &u)?;
        let k = srp::session_key(&s);
        let m1 = srp::client_proof(&self.username, &salt, &self.a_pub[..], &b_pub, &k);
        let m2 = srp::device_proof(&self.a_pub[..], &m1, &k);
        let request = encode(Sec2MsgType::S2SessionCommand1, Payload::Sc1(S2SessionCmd1 { client_proof: m1.to_vec() }));
        let salt_suspect = salt_may_be_corrupted(&salt);
        let next = ClientAwaitResp1 { expected_m2: m2, key: aes_key(&k), patch: self.patch, salt_suspect };
        Ok((next, request))
    }
}

impl fmt::Debug for ClientAwaitResp0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec2::ClientAwaitResp0")
            .field("username", &String::from_utf8_lossy(&self.username))
            .field("stripped", &self.stripped)
            .field("drop_last_salt_byte", &self.drop_last_salt_byte)
            .finish_non_exhaustive()
    }
}

/// Phone side: Command1 sent, waiting for Response1.
pub struct ClientAwaitResp1 {
    expected_m2: [u8; HASH_LEN],
    key: Zeroizing<[u8; 32]>,
    patch: Option<Sec2Patch>,
    salt_suspect: bool,
}

impl ClientAwaitResp1 {
    /// Whether the salt of Response0 has the shape of §4.3.2 hazard 2 (see
    /// [`salt_may_be_corrupted`]; the salt travels in clear, this is no secret).
    pub fn salt_may_be_corrupted(&self) -> bool {
        self.salt_suspect
    }

    /// Handles Response1: verifies the device proof M2 (constant time) and sets up AES-GCM in the
    /// advertised nonce mode (see [`ClientAwaitResp0::expect_patch`]), or, when none was set, the
    /// mode given by the `device_nonce` length (12: patch 1, 16: patch 0).
    pub fn on_response1(self, response: &[u8]) -> Result<SessionCipher, SecurityError> {
        let payload = decode(response)?;
        let resp = match payload.payload {
            Some(Payload::Sr1(r)) if payload.msg == Sec2MsgType::S2SessionResponse1 as i32 => r,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        if resp.status != Status::Success as i32 {
            return Err(SecurityError::WrongCredentials);
        }
        let proof: [u8; HASH_LEN] = codec::fixed(&resp.device_proof, "device_proof")?;
        if !bool::from(proof.ct_eq(&self.expected_m2)) {
            return Err(SecurityError::DeviceProofMismatch);
        }
        match self.patch {
            Some(patch) => SessionCipher::gcm_for_patch(&self.key, &resp.device_nonce, patch),
            None => SessionCipher::gcm(&self.key, &resp.device_nonce),
        }
    }
}

impl fmt::Debug for ClientAwaitResp1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec2::ClientAwaitResp1").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- device side

/// Device side: waiting for Command0.
#[derive(Clone)]
pub struct DeviceAwaitCmd0 {
    salt: Vec<u8>,
    verifier: Arc<srp::Verifier>,
    patch: Sec2Patch,
}

impl DeviceAwaitCmd0 {
    /// A fresh device-side security 2 session with the provisioned salt and verifier (shared
    /// with the device's other sessions, which reuse its table).
    pub fn new(salt: &[u8], verifier: Arc<srp::Verifier>, patch: Sec2Patch) -> Self {
        Self { salt: salt.to_vec(), verifier, patch }
    }

    /// Handles Command0 (username, A of exactly 384 bytes): rejects `A mod N = 0` and `u = 0`,
    /// draws b (32 bytes), computes B (sent minimal), u, S, K, the expected M1 and M2, and builds
    /// Response0 (B, salt).
    pub fn on_command0(
        self,
        request: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<(DeviceAwaitCmd1, Vec<u8>), SecurityError> {
        let payload = decode(request)?;
        let cmd = match payload.payload {
            Some(Payload::Sc0(c)) if payload.msg == Sec2MsgType::S2SessionCommand0 as i32 => c,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        if cmd.client_username.is_empty() {
            return Err(SecurityError::Malformed("empty client_username".into()));
        }
        let a_pub: [u8; N_LEN] = codec::fixed(&cmd.client_pubkey, "client_pubkey")?;
        if srp::is_zero_mod_n(&a_pub)? {
            return Err(SecurityError::InvalidPeerValue);
        }
        let mut b = Zeroizing::new([0u8; EXPONENT_LEN]);
        rng.fill_bytes(&mut b[..]);
        let b_pub = srp::device_public(&b, &self.verifier)?;
        let u = srp::compute_u(&a_pub, &b_pub)?;
        let s = srp::device_premaster(&a_pub, &self.verifier, &u, &b)?;
        let k = srp::session_key(&s);
        let m1 = srp::client_proof(&cmd.client_username, &self.salt, &a_pub, &b_pub, &k);
        let m2 = srp::device_proof(&a_pub, &m1, &k);
        let response = encode(
            Sec2MsgType::S2SessionResponse0,
            Payload::Sr0(S2SessionResp0 {
                status: Status::Success as i32,
                device_pubkey: b_pub,
                device_salt: self.salt.clone(),
            }),
        );
        Ok((DeviceAwaitCmd1 { expected_m1: m1, m2, key: aes_key(&k), patch: self.patch }, response))
    }
}

impl fmt::Debug for DeviceAwaitCmd0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec2::DeviceAwaitCmd0").field("patch", &self.patch).finish_non_exhaustive()
    }
}

/// Device side: Response0 sent, waiting for Command1.
pub struct DeviceAwaitCmd1 {
    expected_m1: [u8; HASH_LEN],
    m2: [u8; HASH_LEN],
    key: Zeroizing<[u8; 32]>,
    patch: Sec2Patch,
}

impl DeviceAwaitCmd1 {
    /// Handles Command1: verifies M1 (64 bytes, constant time; mismatch =
    /// [`SecurityError::WrongCredentials`]), draws the nonce material (patch 1: 8-byte session id,
    /// nonce = id || 00000001; patch 0: 16 random bytes) and builds Response1 (M2, nonce).
    pub fn on_command1(
        self,
        request: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<(SessionCipher, Vec<u8>), SecurityError> {
        let payload = decode(request)?;
        let cmd = match payload.payload {
            Some(Payload::Sc1(c)) if payload.msg == Sec2MsgType::S2SessionCommand1 as i32 => c,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        let proof: [u8; HASH_LEN] = codec::fixed(&cmd.client_proof, "client_proof")?;
        if !bool::from(proof.ct_eq(&self.expected_m1)) {
            log::warn!("security 2: client proof mismatch (wrong username or password?)");
            return Err(SecurityError::WrongCredentials);
        }
        let nonce = match self.patch {
            Sec2Patch::Patch1 => {
                let mut nonce = vec![0u8; SESSION_ID_LEN + 4];
                rng.fill_bytes(&mut nonce[..SESSION_ID_LEN]);
                nonce[SESSION_ID_LEN..].copy_from_slice(&1u32.to_be_bytes());
                nonce
            }
            Sec2Patch::Patch0 => {
                let mut nonce = vec![0u8; 16];
                rng.fill_bytes(&mut nonce);
                nonce
            }
        };
        let cipher = SessionCipher::gcm(&self.key, &nonce)?;
        let response = encode(
            Sec2MsgType::S2SessionResponse1,
            Payload::Sr1(S2SessionResp1 {
                status: Status::Success as i32,
                device_proof: self.m2.to_vec(),
                device_nonce: nonce,
            }),
        );
        Ok((cipher, response))
    }
}

impl fmt::Debug for DeviceAwaitCmd1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec2::DeviceAwaitCmd1").field("patch", &self.patch).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rng;
    use super::*;

    fn device(patch: Sec2Patch) -> DeviceAwaitCmd0 {
        let salt = [0x5au8; 16];
        let verifier = srp::compute_verifier(b"user", b"secret-pw", &salt, false);
        DeviceAwaitCmd0::new(&salt, Arc::new(verifier.into()), patch)
    }

    #[test]
    fn handshake_both_patches_and_redacted_debug() {
        for patch in [Sec2Patch::Patch0, Sec2Patch::Patch1] {
            let mut rng = test_rng(1);
            let password = Secret::from("secret-pw");
            let (c0, req0) = client_start("user", &password, false, &mut rng).unwrap();
            let (d1, resp0) = device(patch).on_command0(&req0, &mut rng).unwrap();
            let (c1, req1) = c0.on_response0(&resp0).unwrap();
            for text in [format!("{c1:?}"), format!("{d1:?}"), format!("{:?}", device(patch))] {
                assert!(!text.contains("secret-pw"), "{text}");
            }
            let (mut dev, resp1) = d1.on_command1(&req1, &mut rng).unwrap();
            let mut phone = c1.on_response1(&resp1).unwrap();
            assert_eq!(phone.sec2_patch(), Some(patch));
            let wire = phone.encrypt(b"abc").unwrap();
            assert_eq!(dev.decrypt(&wire).unwrap(), b"abc");
        }
    }

    #[test]
    fn device_rejects_short_a_and_zero_a() {
        let mut rng = test_rng(2);
        let short = encode(
            Sec2MsgType::S2SessionCommand0,
            Payload::Sc0(S2SessionCmd0 { client_username: b"u".to_vec(), client_pubkey: vec![7u8; 383] }),
        );
        assert!(matches!(device(Sec2Patch::Patch1).on_command0(&short, &mut rng), Err(SecurityError::Malformed(_))));
        for a in [vec![0u8; 384], srp::modulus().to_vec()] {
            let req = encode(
                Sec2MsgType::S2SessionCommand0,
                Payload::Sc0(S2SessionCmd0 { client_username: b"u".to_vec(), client_pubkey: a }),
            );
            assert_eq!(
                device(Sec2Patch::Patch1).on_command0(&req, &mut rng).unwrap_err(),
                SecurityError::InvalidPeerValue
            );
        }
        let no_user = encode(
            Sec2MsgType::S2SessionCommand0,
            Payload::Sc0(S2SessionCmd0 { client_username: Vec::new(), client_pubkey: vec![7u8; 384] }),
        );
        assert!(matches!(device(Sec2Patch::Patch1).on_command0(&no_user, &mut rng), Err(SecurityError::Malformed(_))));
    }

    #[test]
    fn phone_rejects_b_zero_mod_n_and_bad_lengths() {
        let password = Secret::from("pw");
        let response = |b: Vec<u8>, salt: Vec<u8>| {
            encode(
                Sec2MsgType::S2SessionResponse0,
                Payload::Sr0(S2SessionResp0 { status: 0, device_pubkey: b, device_salt: salt }),
            )
        };
        let cases = [
            (srp::modulus().to_vec(), vec![1u8; 16], SecurityError::InvalidPeerValue),
            (vec![0u8; 384], vec![1u8; 16], SecurityError::InvalidPeerValue),
        ];
        for (b, salt, expected) in cases {
            let (c0, _) = client_start("u", &password, false, &mut test_rng(3)).unwrap();
            assert_eq!(c0.on_response0(&response(b, salt)).unwrap_err(), expected);
        }
        for (b, salt) in [(vec![1u8; 385], vec![1u8; 16]), (Vec::new(), vec![1u8; 16]), (vec![3u8; 384], Vec::new())] {
            let (c0, _) = client_start("u", &password, false, &mut test_rng(3)).unwrap();
            assert!(matches!(c0.on_response0(&response(b, salt)), Err(SecurityError::Malformed(_))));
        }
    }
}
