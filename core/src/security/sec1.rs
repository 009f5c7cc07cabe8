//! Security 1: X25519 key agreement + PoP + one AES-256-CTR keystream (docs/protocol.md §4.2).
//!
//! Holds the phone-side typestates ([`client_start`] → [`ClientAwaitResp0`] →
//! [`ClientAwaitResp1`] → [`SessionCipher`]) and the device-side ones ([`DeviceAwaitCmd0`] →
//! [`DeviceAwaitCmd1`] → [`SessionCipher`]). Each step consumes its state, so no step can be
//! replayed. The keystream starts at `device_random`; bytes 0..32 encrypt `client_verify_data`
//! (the device public key), 32..64 `device_verify_data` (the client public key), and the
//! application messages continue from byte 64 in wire order, both directions sharing it.

use std::fmt;

use ctr::cipher::{KeyIvInit, StreamCipher};
use rainmaker_prov_proto::protocomm::{
    Sec1MsgType, Sec1Payload, SessionCmd0, SessionCmd1, SessionResp0, SessionResp1, Status, sec1_payload::Payload,
    session_data::Proto,
};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{EphemeralSecret, PublicKey};
use zeroize::Zeroizing;

use super::SecurityLevel;
use super::cipher::{Aes256Ctr, SessionCipher};
use super::codec;
use super::error::SecurityError;
use super::secret::Secret;

/// Length of an X25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of `device_random` (the initial CTR counter block).
pub const DEVICE_RANDOM_LEN: usize = 16;

/// The AES-256 key: `shared XOR SHA-256(PoP)`, or the raw shared secret when the PoP is absent
/// or empty.
pub fn session_key(shared: &[u8; 32], pop: Option<&[u8]>) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new(*shared);
    if let Some(pop) = pop.filter(|p| !p.is_empty()) {
        let digest: Zeroizing<[u8; 32]> = Zeroizing::new(Sha256::digest(pop).into());
        for (k, d) in key.iter_mut().zip(digest.iter()) {
            *k ^= d;
        }
    }
    key
}

fn pop_bytes(pop: Option<&Secret>) -> Option<Secret> {
    pop.filter(|p| !p.is_empty()).cloned()
}

/// X25519 with the contributory check, then the key and the keystream.
fn agree(
    secret: EphemeralSecret,
    peer: &[u8; PUBLIC_KEY_LEN],
    pop: Option<&Secret>,
    device_random: &[u8; DEVICE_RANDOM_LEN],
) -> Result<Box<Aes256Ctr>, SecurityError> {
    let shared = secret.diffie_hellman(&PublicKey::from(*peer));
    if !shared.was_contributory() {
        return Err(SecurityError::InvalidPeerValue);
    }
    let key = session_key(shared.as_bytes(), pop.map(Secret::expose));
    let stream = Aes256Ctr::new_from_slices(&key[..], &device_random[..])
        .map_err(|_| SecurityError::InvalidArgument("AES-CTR key or IV length".into()))?;
    Ok(Box::new(stream))
}

fn xor32(stream: &mut Aes256Ctr, data: &[u8; 32]) -> Result<[u8; 32], SecurityError> {
    let mut out = *data;
    stream.try_apply_keystream(&mut out).map_err(|_| SecurityError::CounterExhausted)?;
    Ok(out)
}

fn encode(msg: Sec1MsgType, payload: Payload) -> Vec<u8> {
    codec::encode(Proto::Sec1(Sec1Payload { msg: msg as i32, payload: Some(payload) }))
}

fn decode(bytes: &[u8]) -> Result<Sec1Payload, SecurityError> {
    match codec::decode(bytes, SecurityLevel::Sec1)? {
        Proto::Sec1(p) => Ok(p),
        _ => Err(SecurityError::UnexpectedMessage),
    }
}

// ---------------------------------------------------------------- phone side

/// Phone side: Command0 sent, waiting for Response0.
pub struct ClientAwaitResp0 {
    secret: EphemeralSecret,
    client_pub: [u8; PUBLIC_KEY_LEN],
    pop: Option<Secret>,
}

/// Phone side: draws the X25519 key pair (32 random bytes) and builds Command0.
pub fn client_start(pop: Option<&Secret>, rng: &mut impl CryptoRng) -> (ClientAwaitResp0, Vec<u8>) {
    let secret = EphemeralSecret::random_from_rng(rng);
    let client_pub = PublicKey::from(&secret).to_bytes();
    let request =
        encode(Sec1MsgType::SessionCommand0, Payload::Sc0(SessionCmd0 { client_pubkey: client_pub.to_vec() }));
    (ClientAwaitResp0 { secret, client_pub, pop: pop_bytes(pop) }, request)
}

impl ClientAwaitResp0 {
    /// Handles Response0 (device public key and `device_random`) and builds Command1
    /// (`client_verify_data`).
    pub fn on_response0(self, response: &[u8]) -> Result<(ClientAwaitResp1, Vec<u8>), SecurityError> {
        let payload = decode(response)?;
        let resp = match payload.payload {
            Some(Payload::Sr0(r)) if payload.msg == Sec1MsgType::SessionResponse0 as i32 => r,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        if resp.status != Status::Success as i32 {
            return Err(SecurityError::DeviceRejectedStep(1));
        }
        let device_pub: [u8; PUBLIC_KEY_LEN] = codec::fixed(&resp.device_pubkey, "device_pubkey")?;
        let device_random: [u8; DEVICE_RANDOM_LEN] = codec::fixed(&resp.device_random, "device_random")?;
        let mut stream = agree(self.secret, &device_pub, self.pop.as_ref(), &device_random)?;
        let verify = xor32(&mut stream, &device_pub)?;
        let request =
            encode(Sec1MsgType::SessionCommand1, Payload::Sc1(SessionCmd1 { client_verify_data: verify.to_vec() }));
        Ok((ClientAwaitResp1 { stream, client_pub: self.client_pub }, request))
    }
}

impl fmt::Debug for ClientAwaitResp0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec1::ClientAwaitResp0").finish_non_exhaustive()
    }
}

/// Phone side: Command1 sent, waiting for Response1.
pub struct ClientAwaitResp1 {
    stream: Box<Aes256Ctr>,
    client_pub: [u8; PUBLIC_KEY_LEN],
}

impl ClientAwaitResp1 {
    /// Handles Response1: `device_verify_data` must decrypt to our public key, which proves the
    /// device derived the same key.
    pub fn on_response1(mut self, response: &[u8]) -> Result<SessionCipher, SecurityError> {
        let payload = decode(response)?;
        let resp = match payload.payload {
            Some(Payload::Sr1(r)) if payload.msg == Sec1MsgType::SessionResponse1 as i32 => r,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        if resp.status != Status::Success as i32 {
            return Err(SecurityError::WrongCredentials);
        }
        let data: [u8; PUBLIC_KEY_LEN] = codec::fixed(&resp.device_verify_data, "device_verify_data")?;
        let decrypted = xor32(&mut self.stream, &data)?;
        if !bool::from(decrypted.ct_eq(&self.client_pub)) {
            return Err(SecurityError::DeviceProofMismatch);
        }
        Ok(SessionCipher::ctr(self.stream))
    }
}

impl fmt::Debug for ClientAwaitResp1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec1::ClientAwaitResp1").finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------- device side

/// Device side: waiting for Command0.
#[derive(Clone)]
pub struct DeviceAwaitCmd0 {
    pop: Option<Secret>,
}

impl DeviceAwaitCmd0 {
    /// A fresh device-side security 1 session with the device's PoP (absent or empty = no PoP).
    pub fn new(pop: Option<&Secret>) -> Self {
        Self { pop: pop_bytes(pop) }
    }

    /// Handles Command0: draws the device key pair (32 bytes) then `device_random` (16 bytes),
    /// and builds Response0.
    pub fn on_command0(
        self,
        request: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<(DeviceAwaitCmd1, Vec<u8>), SecurityError> {
        let payload = decode(request)?;
        let cmd = match payload.payload {
            Some(Payload::Sc0(c)) if payload.msg == Sec1MsgType::SessionCommand0 as i32 => c,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        let client_pub: [u8; PUBLIC_KEY_LEN] = codec::fixed(&cmd.client_pubkey, "client_pubkey")?;
        let secret = EphemeralSecret::random_from_rng(rng);
        let device_pub = PublicKey::from(&secret).to_bytes();
        let mut device_random = [0u8; DEVICE_RANDOM_LEN];
        rng.fill_bytes(&mut device_random);
        let stream = agree(secret, &client_pub, self.pop.as_ref(), &device_random)?;
        let response = encode(
            Sec1MsgType::SessionResponse0,
            Payload::Sr0(SessionResp0 {
                status: Status::Success as i32,
                device_pubkey: device_pub.to_vec(),
                device_random: device_random.to_vec(),
            }),
        );
        Ok((DeviceAwaitCmd1 { stream, client_pub, device_pub }, response))
    }
}

impl fmt::Debug for DeviceAwaitCmd0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec1::DeviceAwaitCmd0").field("pop", &self.pop).finish()
    }
}

/// Device side: Response0 sent, waiting for Command1.
pub struct DeviceAwaitCmd1 {
    stream: Box<Aes256Ctr>,
    client_pub: [u8; PUBLIC_KEY_LEN],
    device_pub: [u8; PUBLIC_KEY_LEN],
}

impl DeviceAwaitCmd1 {
    /// Handles Command1: `client_verify_data` must decrypt to the device public key (else the
    /// PoP was wrong: [`SecurityError::WrongCredentials`]); builds Response1.
    pub fn on_command1(mut self, request: &[u8]) -> Result<(SessionCipher, Vec<u8>), SecurityError> {
        let payload = decode(request)?;
        let cmd = match payload.payload {
            Some(Payload::Sc1(c)) if payload.msg == Sec1MsgType::SessionCommand1 as i32 => c,
            _ => return Err(SecurityError::UnexpectedMessage),
        };
        let data: [u8; PUBLIC_KEY_LEN] = codec::fixed(&cmd.client_verify_data, "client_verify_data")?;
        let decrypted = xor32(&mut self.stream, &data)?;
        if !bool::from(decrypted.ct_eq(&self.device_pub)) {
            log::warn!("security 1: client_verify_data mismatch (wrong PoP?)");
            return Err(SecurityError::WrongCredentials);
        }
        let verify = xor32(&mut self.stream, &self.client_pub)?;
        let response = encode(
            Sec1MsgType::SessionResponse1,
            Payload::Sr1(SessionResp1 { status: Status::Success as i32, device_verify_data: verify.to_vec() }),
        );
        Ok((SessionCipher::ctr(self.stream), response))
    }
}

impl fmt::Debug for DeviceAwaitCmd1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("sec1::DeviceAwaitCmd1").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rng;
    use super::*;

    #[test]
    fn key_without_pop_is_raw_shared() {
        let shared = [9u8; 32];
        assert_eq!(*session_key(&shared, None), shared);
        assert_eq!(*session_key(&shared, Some(b"")), shared);
        assert_ne!(*session_key(&shared, Some(b"x")), shared);
    }

    #[test]
    fn handshake_and_debug_redaction() {
        let pop = Secret::from("abcd1234");
        let mut rng = test_rng(1);
        let (c0, req0) = client_start(Some(&pop), &mut rng);
        let (d1, resp0) = DeviceAwaitCmd0::new(Some(&pop)).on_command0(&req0, &mut rng).unwrap();
        let (c1, req1) = c0.on_response0(&resp0).unwrap();
        for text in [format!("{c1:?}"), format!("{d1:?}"), format!("{:?}", DeviceAwaitCmd0::new(Some(&pop)))] {
            assert!(!text.contains("abcd1234"), "{text}");
        }
        let (mut dev, resp1) = d1.on_command1(&req1).unwrap();
        let mut phone = c1.on_response1(&resp1).unwrap();
        let wire = phone.encrypt(b"ping").unwrap();
        assert_eq!(dev.decrypt(&wire).unwrap(), b"ping");
    }

    #[test]
    fn low_order_point_is_rejected() {
        let mut rng = test_rng(3);
        let req0 = encode(Sec1MsgType::SessionCommand0, Payload::Sc0(SessionCmd0 { client_pubkey: vec![0u8; 32] }));
        let err = DeviceAwaitCmd0::new(None).on_command0(&req0, &mut rng).unwrap_err();
        assert_eq!(err, SecurityError::InvalidPeerValue);
    }
}
