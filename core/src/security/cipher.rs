//! [`SessionCipher`]: the record cipher of an established session, shared by both sides.
//!
//! - security 0: pass-through;
//! - security 1: ONE AES-256-CTR keystream for the whole session and both directions; every
//!   encryption and every decryption consumes the next bytes in wire order (docs/protocol.md §4.2);
//! - security 2: AES-256-GCM, 16-byte tag appended, no AAD; patch 0 uses one fixed 16-byte IV for
//!   every message, patch 1 uses `session_id(8) || BE32(counter)` with one counter shared by both
//!   directions, incremented after every successful encryption and decryption (§4.3.4).

use std::fmt;

use aes::Aes256;
use aes_gcm::aead::Aead;
use aes_gcm::aead::consts::U16;
use aes_gcm::{Aes256Gcm, AesGcm, KeyInit};
use ctr::cipher::{StreamCipher, StreamCipherSeek};

use super::error::SecurityError;
use super::{Sec2Patch, SecurityLevel};

/// AES-256-CTR with a 128-bit big-endian counter block (mbedTLS `aes_crypt_ctr` semantics).
pub(crate) type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// AES-256-GCM with a 16-byte IV (security 2, patch 0).
type Aes256Gcm16 = AesGcm<Aes256, U16>;

/// Length of the GCM authentication tag appended to every security 2 record.
pub const GCM_TAG_LEN: usize = 16;

/// Record cipher after a completed handshake; the same type serves the phone and the device.
///
/// Every `encrypt` and every `decrypt` advances the state, so calls must happen in wire order
/// (request, its response, next request, ...). After any transport failure on an encrypted
/// endpoint the session must be thrown away and a new handshake made (docs/protocol.md §12 item 22).
pub struct SessionCipher {
    inner: Inner,
}

enum Inner {
    Plain,
    Ctr(Box<Aes256Ctr>),
    GcmFixed { aead: Box<Aes256Gcm16>, iv: [u8; 16] },
    GcmCounter { aead: Box<Aes256Gcm>, session_id: [u8; 8], counter: u32 },
}

impl SessionCipher {
    /// Security 0: no encryption.
    pub(crate) fn plain() -> Self {
        Self { inner: Inner::Plain }
    }

    /// Security 1: continue the given keystream (already advanced past the handshake bytes).
    pub(crate) fn ctr(stream: Box<Aes256Ctr>) -> Self {
        Self { inner: Inner::Ctr(stream) }
    }

    /// Security 2 from the 32-byte AES key and the `device_nonce` as sent by the device. The mode
    /// follows the nonce length: 12 bytes = patch 1 (counter), 16 bytes = patch 0 (fixed IV).
    pub(crate) fn gcm(key: &[u8; 32], device_nonce: &[u8]) -> Result<Self, SecurityError> {
        let inner = match device_nonce.len() {
            12 => {
                let aead = Aes256Gcm::new_from_slice(key)
                    .map_err(|_| SecurityError::InvalidArgument("AES-256 key length".into()))?;
                let mut session_id = [0u8; 8];
                session_id.copy_from_slice(&device_nonce[..8]);
                let mut ctr = [0u8; 4];
                ctr.copy_from_slice(&device_nonce[8..]);
                Inner::GcmCounter { aead: Box::new(aead), session_id, counter: u32::from_be_bytes(ctr) }
            }
            16 => {
                let aead = Aes256Gcm16::new_from_slice(key)
                    .map_err(|_| SecurityError::InvalidArgument("AES-256 key length".into()))?;
                let mut iv = [0u8; 16];
                iv.copy_from_slice(device_nonce);
                Inner::GcmFixed { aead: Box::new(aead), iv }
            }
            n => {
                return Err(SecurityError::Malformed(format!("device_nonce of {n} bytes (expected 12 or 16)")));
            }
        };
        Ok(Self { inner })
    }

    /// Security 2 in the nonce mode `patch` the device advertised: a `device_nonce` whose length
    /// belongs to the other mode is refused.
    pub(crate) fn gcm_for_patch(key: &[u8; 32], device_nonce: &[u8], patch: Sec2Patch) -> Result<Self, SecurityError> {
        let expected = match patch {
            Sec2Patch::Patch0 => 16,
            Sec2Patch::Patch1 => 12,
        };
        if device_nonce.len() != expected {
            return Err(SecurityError::Malformed(format!(
                "device_nonce of {} bytes, but the device advertised security 2 patch {} ({expected} bytes)",
                device_nonce.len(),
                patch.number()
            )));
        }
        Self::gcm(key, device_nonce)
    }

    /// The security scheme of this session.
    pub fn level(&self) -> SecurityLevel {
        match self.inner {
            Inner::Plain => SecurityLevel::Sec0,
            Inner::Ctr(_) => SecurityLevel::Sec1,
            Inner::GcmFixed { .. } | Inner::GcmCounter { .. } => SecurityLevel::Sec2,
        }
    }

    /// The security 2 nonce mode, `None` for security 0 and 1.
    pub fn sec2_patch(&self) -> Option<Sec2Patch> {
        match self.inner {
            Inner::GcmFixed { .. } => Some(Sec2Patch::Patch0),
            Inner::GcmCounter { .. } => Some(Sec2Patch::Patch1),
            Inner::Plain | Inner::Ctr(_) => None,
        }
    }

    /// Encrypts one outgoing message (a request on the phone, a response on the device).
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SecurityError> {
        match &mut self.inner {
            Inner::Plain => Ok(plaintext.to_vec()),
            Inner::Ctr(stream) => xor_stream(stream, plaintext),
            Inner::GcmFixed { aead, iv } => aead
                .encrypt(&(*iv).into(), plaintext)
                .map_err(|_| SecurityError::InvalidArgument("plaintext too long for AES-GCM".into())),
            Inner::GcmCounter { aead, session_id, counter } => {
                let nonce = counter_nonce(session_id, *counter)?;
                let wire = aead
                    .encrypt(&nonce.into(), plaintext)
                    .map_err(|_| SecurityError::InvalidArgument("plaintext too long for AES-GCM".into()))?;
                *counter = counter.wrapping_add(1);
                Ok(wire)
            }
        }
    }

    /// Decrypts one incoming message (a response on the phone, a request on the device).
    ///
    /// For security 2 a failed decryption leaves the counter where it was (as the device does);
    /// the session should nevertheless be discarded.
    pub fn decrypt(&mut self, wire: &[u8]) -> Result<Vec<u8>, SecurityError> {
        match &mut self.inner {
            Inner::Plain => Ok(wire.to_vec()),
            Inner::Ctr(stream) => xor_stream(stream, wire),
            Inner::GcmFixed { aead, iv } => {
                if wire.len() < GCM_TAG_LEN {
                    return Err(SecurityError::DecryptFailed);
                }
                aead.decrypt(&(*iv).into(), wire).map_err(|_| SecurityError::DecryptFailed)
            }
            Inner::GcmCounter { aead, session_id, counter } => {
                let nonce = counter_nonce(session_id, *counter)?;
                if wire.len() < GCM_TAG_LEN {
                    return Err(SecurityError::DecryptFailed);
                }
                let plain = aead.decrypt(&nonce.into(), wire).map_err(|_| SecurityError::DecryptFailed)?;
                *counter = counter.wrapping_add(1);
                Ok(plain)
            }
        }
    }

    /// Test/diagnostic helper: the keystream byte offset of the next security 1 message.
    #[doc(hidden)]
    pub fn ctr_offset(&self) -> Option<u64> {
        match &self.inner {
            Inner::Ctr(stream) => stream.try_current_pos::<u64>().ok(),
            _ => None,
        }
    }

    /// Test/diagnostic helper: the GCM IV the next security 2 message will use.
    #[doc(hidden)]
    pub fn next_gcm_nonce(&self) -> Option<Vec<u8>> {
        match &self.inner {
            Inner::GcmFixed { iv, .. } => Some(iv.to_vec()),
            Inner::GcmCounter { session_id, counter, .. } => {
                let mut nonce = session_id.to_vec();
                nonce.extend_from_slice(&counter.to_be_bytes());
                Some(nonce)
            }
            _ => None,
        }
    }

    /// Sets the security 2 patch-1 counter (to exercise counter exhaustion).
    #[cfg(test)]
    fn set_gcm_counter(&mut self, value: u32) {
        if let Inner::GcmCounter { counter, .. } = &mut self.inner {
            *counter = value;
        }
    }
}

impl fmt::Debug for SessionCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SessionCipher");
        d.field("level", &self.level());
        if let Some(patch) = self.sec2_patch() {
            d.field("patch", &patch);
        }
        d.finish_non_exhaustive()
    }
}

fn xor_stream(stream: &mut Aes256Ctr, data: &[u8]) -> Result<Vec<u8>, SecurityError> {
    let mut out = data.to_vec();
    stream.try_apply_keystream(&mut out).map_err(|_| SecurityError::CounterExhausted)?;
    Ok(out)
}

/// `session_id || BE32(counter)`; counter 0 (after wrap-around) is refused, as on the device.
fn counter_nonce(session_id: &[u8; 8], counter: u32) -> Result<[u8; 12], SecurityError> {
    if counter == 0 {
        return Err(SecurityError::CounterExhausted);
    }
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(session_id);
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctr::cipher::KeyIvInit;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn plain_is_pass_through() {
        let mut c = SessionCipher::plain();
        assert_eq!(c.encrypt(b"abc").unwrap(), b"abc");
        assert_eq!(c.decrypt(b"xyz").unwrap(), b"xyz");
        assert_eq!(c.level(), SecurityLevel::Sec0);
        assert_eq!(c.sec2_patch(), None);
    }

    #[test]
    fn ctr_is_one_shared_stream() {
        let iv = [3u8; 16];
        let mut a = SessionCipher::ctr(Box::new(Aes256Ctr::new(&KEY.into(), &iv.into())));
        let mut b = SessionCipher::ctr(Box::new(Aes256Ctr::new(&KEY.into(), &iv.into())));
        let w1 = a.encrypt(b"hello").unwrap();
        assert_eq!(b.decrypt(&w1).unwrap(), b"hello");
        let w2 = b.encrypt(b"world!!").unwrap();
        assert_eq!(a.decrypt(&w2).unwrap(), b"world!!");
        assert_eq!(a.ctr_offset(), Some(12));
        assert_eq!(a.encrypt(b"").unwrap(), b"");
        assert_eq!(a.ctr_offset(), Some(12));
    }

    #[test]
    fn gcm_counter_advances_on_success_only() {
        let nonce = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1];
        let mut phone = SessionCipher::gcm(&KEY, &nonce).unwrap();
        let mut device = SessionCipher::gcm(&KEY, &nonce).unwrap();
        let req = phone.encrypt(b"req").unwrap();
        assert_eq!(req.len(), 3 + GCM_TAG_LEN);
        let mut bad = req.clone();
        bad[0] ^= 1;
        assert_eq!(device.decrypt(&bad), Err(SecurityError::DecryptFailed));
        assert_eq!(device.decrypt(&req[..10]), Err(SecurityError::DecryptFailed));
        assert_eq!(device.next_gcm_nonce().unwrap()[8..], [0, 0, 0, 1]);
        assert_eq!(device.decrypt(&req).unwrap(), b"req");
        let resp = device.encrypt(b"").unwrap();
        assert_eq!(resp.len(), GCM_TAG_LEN);
        assert_eq!(phone.decrypt(&resp).unwrap(), b"");
        assert_eq!(phone.next_gcm_nonce().unwrap()[8..], [0, 0, 0, 3]);
    }

    #[test]
    fn gcm_counter_wrap_is_an_error() {
        let nonce = [9u8, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 1];
        let mut c = SessionCipher::gcm(&KEY, &nonce).unwrap();
        c.set_gcm_counter(u32::MAX);
        assert!(c.encrypt(b"last").is_ok());
        assert_eq!(c.encrypt(b"one more"), Err(SecurityError::CounterExhausted));
        assert_eq!(c.decrypt(&[0u8; 20]), Err(SecurityError::CounterExhausted));
    }

    #[test]
    fn gcm_fixed_iv_and_bad_nonce_length() {
        let iv = [5u8; 16];
        let mut a = SessionCipher::gcm(&KEY, &iv).unwrap();
        assert_eq!(a.sec2_patch(), Some(Sec2Patch::Patch0));
        let w1 = a.encrypt(b"x").unwrap();
        let w2 = a.encrypt(b"x").unwrap();
        assert_eq!(w1, w2, "patch 0 reuses the same IV");
        assert!(matches!(SessionCipher::gcm(&KEY, &[0u8; 13]), Err(SecurityError::Malformed(_))));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let c = SessionCipher::gcm(&KEY, &[0xAB; 12]).unwrap();
        let text = format!("{c:?}");
        assert!(text.contains("Sec2"));
        assert!(!text.contains("171") && !text.to_lowercase().contains("ab"));
    }
}
