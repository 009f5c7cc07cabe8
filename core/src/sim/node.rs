//! Simulated RainMaker node identity (feature `sim-rainmaker`): RSA node keys and assisted claiming.
//!
//! - RSA-2048 node keys: loaded from PKCS#8 DER or generated once per device; challenges are
//!   signed with RSASSA-PSS/SHA-256, salt length 32 (docs/protocol.md 8.4, 12.1).
//! - The device side of assisted claiming on `rmaker_claim` (docs/protocol.md 3.8, 8.3): Start
//!   returns the MAC address and platform, Init takes the cloud's claim/initiate answer (the node
//!   id) and returns a real PKCS#10 CSR for the node key in 200-byte fragments, Verify takes the
//!   cloud's claim/verify answer in contiguous chunks and accepts the certificate only when it
//!   certifies the node key, Abort returns to "key generated".
//!
//! Like the firmware, the device reads the cloud's JSON without decoding string escapes: it only
//! turns the two-character sequence `\n` of the certificate back into newlines, and writes the
//! CSR JSON with `\n` escapes and no other escaping.

use p256::ecdsa::signature::{self, Keypair, Signer};
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::der::asn1::{Any, ObjectIdentifier, SetOfVec};
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{DecodePem, Encode, EncodePem, Tag};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey};

use crate::endpoints::rainmaker::{self, ClaimFragment, ClaimStatus, ClaimStep};
use crate::security::Secret;
use crate::sim::device::NodeKey;

/// Modulus size of simulated RSA node keys.
pub const RSA_BITS: usize = 2048;
/// PSS salt length of RSA challenge signatures (the SHA-256 digest length).
pub const PSS_SALT_LEN: usize = 32;
/// The longest node id the device takes from the cloud's claim/initiate answer.
pub const MAX_CLAIM_NODE_ID_LEN: usize = 63;
/// The chip target a simulated node reports in the claim Start answer.
pub const PLATFORM: &str = "esp32c3";
/// Claiming payloads of this size or more are refused with `NoMemory` (docs/protocol.md 12.1).
const NO_MEMORY_CHUNK: usize = rainmaker::MAX_CLAIM_CHUNK + 1;
/// The largest claim/verify answer the device buffers.
const MAX_VERIFY_DATA: usize = 16 * 1024;
/// X.520 commonName.
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

// ---------------------------------------------------------------------------------------------
// Randomness for the RustCrypto RSA and X.509 crates (rand_core 0.6)
// ---------------------------------------------------------------------------------------------

/// Lends the device's randomness (rand_core 0.10) to crates on rand_core 0.6 (rsa, x509-cert).
pub(crate) struct Rng06<'a, R>(pub(crate) &'a mut R);

impl<R: rand_core::Rng> rsa::rand_core::RngCore for Rng06<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl<R: rand_core::CryptoRng> rsa::rand_core::CryptoRng for Rng06<'_, R> {}

// ---------------------------------------------------------------------------------------------
// RSA node keys
// ---------------------------------------------------------------------------------------------

/// The RSA node key: the configured PKCS#8 DER key, or a fresh 2048-bit key drawn from the
/// device's randomness (slow in debug builds: tests should configure a fixed key).
pub(crate) fn rsa_node_key(configured: Option<&Secret>, rng: &mut impl rand_core::CryptoRng) -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    if let Some(secret) = configured {
        match rsa::RsaPrivateKey::from_pkcs8_der(secret.expose()) {
            Ok(key) => return key,
            Err(_) => log::warn!("sim: the configured RainMaker node key is not a PKCS#8 RSA key; generating one"),
        }
    }
    loop {
        match rsa::RsaPrivateKey::new(&mut Rng06(rng), RSA_BITS) {
            Ok(key) => return key,
            Err(e) => log::warn!("sim: RSA node key generation failed ({e}); drawing again"),
        }
    }
}

/// RSASSA-PSS/SHA-256 (salt length 32) signature of `challenge`, as the firmware signs
/// `ch_resp` challenges with an RSA node key (256 bytes for RSA-2048).
pub(crate) fn rsa_sign_challenge(
    key: &rsa::RsaPrivateKey,
    challenge: &[u8],
    rng: &mut impl rand_core::CryptoRng,
) -> Result<Vec<u8>, signature::Error> {
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let signer = rsa::pss::BlindedSigningKey::<rsa::sha2::Sha256>::new_with_salt_len(key.clone(), PSS_SALT_LEN);
    Ok(signer.try_sign_with_rng(&mut Rng06(rng), challenge)?.to_vec())
}

/// SubjectPublicKeyInfo DER of an RSA node key.
pub(crate) fn rsa_spki(key: &rsa::RsaPrivateKey) -> Option<Vec<u8>> {
    key.to_public_key().to_public_key_der().ok().map(|d| d.as_bytes().to_vec())
}

// ---------------------------------------------------------------------------------------------
// P-256 keys as X.509 signers
// ---------------------------------------------------------------------------------------------

/// A P-256 public key that encodes as a SubjectPublicKeyInfo (what x509-cert's builders need
/// from a signer's verifying key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct P256PublicKey(pub p256::PublicKey);

impl EncodePublicKey for P256PublicKey {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<x509_cert::der::Document> {
        self.0.to_public_key_der()
    }
}

/// A P-256 key as a signer for x509-cert's `RequestBuilder` and `CertificateBuilder`
/// (ecdsa-with-SHA256, DER signatures): the node key of a CSR, or a test CA's key.
pub struct P256CertSigner<'a>(pub &'a p256::ecdsa::SigningKey);

impl std::fmt::Debug for P256CertSigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("P256CertSigner").field(&self.verifying_key()).finish()
    }
}

impl Keypair for P256CertSigner<'_> {
    type VerifyingKey = P256PublicKey;

    fn verifying_key(&self) -> P256PublicKey {
        P256PublicKey(p256::PublicKey::from(self.0.verifying_key()))
    }
}

impl DynSignatureAlgorithmIdentifier for P256CertSigner<'_> {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        self.0.signature_algorithm_identifier()
    }
}

impl Signer<p256::ecdsa::DerSignature> for P256CertSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<p256::ecdsa::DerSignature, signature::Error> {
        let signature: p256::ecdsa::Signature = self.0.try_sign(msg)?;
        Ok(signature.to_der())
    }
}

/// The distinguished name `CN=<common_name>` (a UTF8String; built directly, so no RFC 4514
/// escaping of the node id is involved).
pub fn common_name(common_name: &str) -> Result<Name, x509_cert::der::Error> {
    let value = Any::new(Tag::Utf8String, common_name.as_bytes())?;
    let atv = x509_cert::attr::AttributeTypeAndValue { oid: COMMON_NAME, value };
    Ok(RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?)]))
}

/// A PKCS#10 certificate request for the node key with subject `CN=<node_id>`, PEM with LF line
/// endings (P-256: ecdsa-with-SHA256; RSA: sha256WithRSAEncryption, as mbedTLS writes them).
pub(crate) fn node_csr_pem(key: &NodeKey, node_id: &str) -> Result<String, String> {
    let subject = common_name(node_id).map_err(|e| e.to_string())?;
    let csr = match key {
        NodeKey::P256(k) => {
            let signer = P256CertSigner(k);
            let builder = RequestBuilder::new(subject, &signer).map_err(|e| e.to_string())?;
            builder.build::<p256::ecdsa::DerSignature>().map_err(|e| e.to_string())?
        }
        NodeKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(k.as_ref().clone());
            let builder = RequestBuilder::new(subject, &signer).map_err(|e| e.to_string())?;
            builder.build::<rsa::pkcs1v15::Signature>().map_err(|e| e.to_string())?
        }
    };
    csr.to_pem(LineEnding::LF).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The device's JSON reader (no escape decoding)
// ---------------------------------------------------------------------------------------------

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The raw content of the string starting at `json[start] == '"'` and the index after its
/// closing quote. Escapes are skipped over, not decoded.
fn raw_string(json: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let mut i = start + 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some((json.get(start + 1..i)?, i + 1)),
            _ => i += 1,
        }
    }
}

/// The index after the (non-string or string) JSON value starting at `i`.
fn skip_value(json: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match json.get(i)? {
            b'"' => i = raw_string(json, i)?.1,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth == 0 => return Some(i),
            b'}' | b']' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => i += 1,
        }
    }
}

/// The raw (undecoded) value of the top-level string member `key` of a JSON object, like the
/// firmware's json_parser returns it. `None` if absent, not a string, or the JSON is broken.
pub(crate) fn json_raw_string<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut i = skip_ws(json, 0);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(json, i);
        match json.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let (name, next) = raw_string(json, i)?;
        i = skip_ws(json, next);
        if json.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(json, i + 1);
        let is_key = name == key.as_bytes();
        if json.get(i) == Some(&b'"') {
            let (value, next) = raw_string(json, i)?;
            if is_key {
                return Some(value);
            }
            i = next;
        } else if is_key {
            return None;
        } else {
            i = skip_value(json, i)?;
        }
    }
}

/// Checks the cloud's claim/verify answer: its `certificate` (with `\n` sequences turned into
/// newlines, nothing else decoded) must be a PEM X.509 certificate of `node_spki`. Returns the
/// PEM.
pub(crate) fn check_certificate(answer: &[u8], node_spki: &[u8]) -> Result<String, String> {
    let raw = json_raw_string(answer, "certificate").ok_or("no certificate string in the answer")?;
    let pem = std::str::from_utf8(raw).map_err(|_| "the certificate is not UTF-8")?.replace("\\n", "\n");
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("not a certificate: {e}"))?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
    if spki != node_spki {
        return Err("the certificate is for another public key".into());
    }
    Ok(pem)
}

// ---------------------------------------------------------------------------------------------
// The claiming state machine
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
enum Phase {
    /// The node key exists; waiting for Start.
    #[default]
    KeyGenerated,
    /// Start answered; waiting for Init with the cloud's answer.
    Started,
    /// The CSR JSON was built; Init without data fetches its fragments, Verify sends the
    /// certificate.
    CsrReady { csr_json: Vec<u8>, sent: usize, verify: Vec<u8>, verify_total: usize },
    /// A certificate for the node key was stored.
    Claimed,
}

/// The device side of assisted claiming (one per simulated node, surviving transport sessions).
#[derive(Debug, Default)]
pub(crate) struct ClaimState {
    phase: Phase,
    node_id: Option<String>,
    certificate_pem: Option<String>,
}

impl ClaimState {
    /// Whether a certificate for the node key was accepted.
    pub(crate) fn is_claimed(&self) -> bool {
        matches!(self.phase, Phase::Claimed)
    }

    /// The node id received in Init (kept after an Abort, like the firmware's stored id).
    pub(crate) fn node_id(&self) -> Option<&str> {
        self.node_id.as_deref()
    }

    /// The accepted certificate (PEM).
    pub(crate) fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Handles one decrypted `rmaker_claim` request; `Err` = undecodable request (the device
    /// fails it at transport level).
    pub(crate) fn handle(
        &mut self,
        key: &NodeKey,
        mac: &[u8; 6],
        plain: &[u8],
    ) -> Result<Vec<u8>, crate::endpoints::EndpointError> {
        let cmd = rainmaker::decode_claim_request(plain)?;
        let (status, buf) = match cmd.step {
            None => (ClaimStatus::Fail, None),
            Some(ClaimStep::Start) => self.start(mac),
            Some(ClaimStep::Init) => self.init(key, &cmd.buf),
            Some(ClaimStep::Verify) => (self.verify(key, &cmd.buf), None),
            Some(ClaimStep::Abort) => (self.abort(), None),
        };
        log::debug!("sim: rmaker_claim {:?} -> {}", cmd.step, status.as_str_name());
        Ok(rainmaker::encode_claim_response(cmd.msg, status, buf.as_ref()))
    }

    fn start(&mut self, mac: &[u8; 6]) -> (ClaimStatus, Option<ClaimFragment>) {
        if !matches!(self.phase, Phase::KeyGenerated) {
            return (ClaimStatus::InvalidState, None);
        }
        let mac_hex: String = mac.iter().map(|b| format!("{b:02X}")).collect();
        let json = format!("{{\"mac_addr\":\"{mac_hex}\",\"platform\":\"{PLATFORM}\"}}").into_bytes();
        self.phase = Phase::Started;
        (ClaimStatus::Success, whole(json))
    }

    fn init(&mut self, key: &NodeKey, buf: &ClaimFragment) -> (ClaimStatus, Option<ClaimFragment>) {
        if buf.payload.is_empty() {
            return match &mut self.phase {
                Phase::CsrReady { csr_json, sent, .. } if *sent < csr_json.len() => {
                    let end = (*sent + rainmaker::CLAIM_FRAGMENT_SIZE).min(csr_json.len());
                    let frag = fragment(csr_json, *sent, end);
                    *sent = end;
                    (ClaimStatus::Success, frag)
                }
                Phase::Started => (ClaimStatus::InvalidParam, None),
                _ => (ClaimStatus::InvalidState, None),
            };
        }
        if !matches!(self.phase, Phase::Started) {
            return (ClaimStatus::InvalidState, None);
        }
        if buf.payload.len() >= NO_MEMORY_CHUNK {
            return (ClaimStatus::NoMemory, None);
        }
        if buf.offset != 0 || buf.payload.len() as u64 != u64::from(buf.total_len) {
            // The cloud's answer must arrive whole, in one message.
            return (ClaimStatus::InvalidParam, None);
        }
        let node_id = match json_raw_string(&buf.payload, "node_id").map(std::str::from_utf8) {
            Some(Ok(id)) if !id.is_empty() && id.len() <= MAX_CLAIM_NODE_ID_LEN => id.to_owned(),
            _ => return (ClaimStatus::InvalidParam, None),
        };
        let pem = match node_csr_pem(key, &node_id) {
            Ok(pem) => pem,
            Err(e) => {
                log::warn!("sim: building the CSR failed: {e}");
                return (ClaimStatus::Fail, None);
            }
        };
        // The firmware's JSON writer does no escaping; the PEM newlines become `\n` by hand.
        let csr_json =
            format!("{{\"csr\":\"{}\",\"send_mqtt_host\":true}}", pem.trim_end().replace('\n', "\\n")).into_bytes();
        log::debug!("sim: claiming as node {node_id}; CSR JSON of {} bytes", csr_json.len());
        self.node_id = Some(node_id);
        let end = rainmaker::CLAIM_FRAGMENT_SIZE.min(csr_json.len());
        let frag = fragment(&csr_json, 0, end);
        self.phase = Phase::CsrReady { csr_json, sent: end, verify: Vec::new(), verify_total: 0 };
        (ClaimStatus::Success, frag)
    }

    fn verify(&mut self, key: &NodeKey, buf: &ClaimFragment) -> ClaimStatus {
        let Phase::CsrReady { verify, verify_total, .. } = &mut self.phase else {
            return ClaimStatus::InvalidState;
        };
        if buf.payload.len() >= NO_MEMORY_CHUNK {
            return ClaimStatus::NoMemory;
        }
        let total = buf.total_len as usize;
        if buf.offset == 0 {
            verify.clear();
            *verify_total = total;
            if total > MAX_VERIFY_DATA {
                *verify_total = 0;
                return ClaimStatus::NoMemory;
            }
        }
        if buf.payload.is_empty()
            || total == 0
            || total != *verify_total
            || buf.offset as usize != verify.len()
            || verify.len() + buf.payload.len() > total
        {
            return ClaimStatus::InvalidParam;
        }
        verify.extend_from_slice(&buf.payload);
        if verify.len() < total {
            return ClaimStatus::Success;
        }
        let answer = std::mem::take(verify);
        *verify_total = 0;
        let checked =
            key.spki_der().ok_or_else(|| "no node key".to_owned()).and_then(|spki| check_certificate(&answer, &spki));
        match checked {
            Ok(pem) => {
                log::debug!("sim: node certificate accepted; the node is claimed");
                self.certificate_pem = Some(pem);
                self.phase = Phase::Claimed;
                ClaimStatus::Success
            }
            Err(e) => {
                log::debug!("sim: claim/verify answer refused: {e}");
                ClaimStatus::InvalidParam
            }
        }
    }

    fn abort(&mut self) -> ClaimStatus {
        if !self.is_claimed() {
            self.phase = Phase::KeyGenerated;
        }
        ClaimStatus::Success
    }
}

fn whole(data: Vec<u8>) -> Option<ClaimFragment> {
    let total_len = u32::try_from(data.len()).ok()?;
    Some(ClaimFragment { offset: 0, payload: data, total_len })
}

fn fragment(data: &[u8], start: usize, end: usize) -> Option<ClaimFragment> {
    Some(ClaimFragment {
        offset: u32::try_from(start).ok()?,
        payload: data.get(start..end)?.to_vec(),
        total_len: u32::try_from(data.len()).ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use rainmaker_prov_proto::rmaker_claim as claim_pb;
    use x509_cert::builder::{CertificateBuilder, Profile};
    use x509_cert::der::{Decode, EncodePem};
    use x509_cert::request::CertReq;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    use super::*;
    use crate::endpoints::{EndpointError, proto_ver};
    use crate::sim::DeviceLink;
    use crate::sim::device::{SimConfig, SimDevice, SimNodeKey, SimRainMaker, SimSecurity};

    /// A throwaway RSA-2048 test key (PKCS#8), so the tests need no slow key generation.
    const TEST_RSA_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCp1c4tTXXXHBzO\novK/Tdl7Cyd+30+x6wzWQsP1XNixFYSO/ouHwTbhkmjzqyQhiK1iSTrHtYYOkF8m\n6u2zkbuFnLHHcBu7O2MVvlg1z+eJVwXK72czxyepIeIvpCAZW9Yhbu9T58DtauRk\noMAlbDMOa04miHXGHgIbL99erRC4HXZqvYQGTZL273W+aGMaF/pnOCrosGn48+as\nTx1opyZwgMSMQNX8PD4tQiKFkufpb6EHDcI3slf8cWy8LdaH6cdizHBjMfiwpjVU\nYAgcdD5d+Atlfg7axBTMcNTnn6xo5zeSnWWsTXjgrALMijpQL68m9xqhrgDLtLtp\nL46Oz6B7AgMBAAECggEACBK9HZ4vBINg7dmvxwmWVakEFEiH60yMbFWkJwe7gpTO\nm6rcoHQTfcmN6kyvslW4QuckP4C7gfm5lt9YCU8w0NB6taD4pdUph/Znubcg/yr/\nKtRn3X2Rab14mQx+PMuxdB69NbSF5pihiWmyzenvdgytHFvO7WoDw52/n9UuPvI4\n+UyXeUusGFNaDKvzLqwSpcWurXLZlvdl6kqSwSbA1MJKFgHkmQx5/svYxpEmJOjU\nY0h1mI6UK2G1Z7K1lqTFWzFQVs/e+SVBEBP9d3zfxO10I7uHqdp+h3T9PwOJomhL\n1FRknUy7nCLhQMrdN0+CMaAp5MLOwqaEqgk7ypnBoQKBgQDpiBLnsQhh277WwOEN\nNpVqpstpObICIk+oW66hc1Xo11DSwV2n/JZJJTZJA+ChMOQaDkiiBG6c8r+TJR9L\nO6f6D+Cbauq5d+cP4c3OWYnLNhSqS0/HDAjVDEPWYnF/jZmXduF97g5OMqnthRSa\nSVIZH06YAqfCLNvPwaUW0nvpeQKBgQC6LODIOS6d2akOvs1qKXlb8JtI9Xu31h9E\nlfEX5IobSic4Kf35OF6nWrn8CmK6XNA6UkUwxU0X8+a0mwvrHIL+W4WXRimEfj9S\nJoA9T3Xg2OaGF74ijRa0cSnsYwqDXPrUQ9EVWQHKPtBH7OTVXvOYPNKtfrMfqHBX\neepMCFkQkwKBgE9glSxznCnHC4LrZJOdLgRmVVWa6sqW5wSOxTjTfyv5o9s/Jppm\n3J5YK699xeiEOcQxfrazUvW9/SgCwjRMPrhclTe+i7Im8z8OvWmaPZ/47eVEXAWI\nLahc1uIT7AgzFTXKjrLDK9GgnunBBlO7AFDRt2Er5eG2ZbCkXXz4Zm3hAoGBAIhm\n+Qm5W34rSsGS6c0uNcw2rI73zH0UVDRb5xgqSUVVPwbXPUyrEC5tOnZ+5XbFKYqR\nXEAvThyOhiksr77CVPcm9umubhy0oo/9xVcmMKdcQwlbu+J0nH33q0+WAM3eAagj\nR7zsSXN0MgWAeugZeT/A0FpsybAYKLbui8rJEvghAoGANaWNIG7lkTvxbSP0HYPA\n8V6pW8a7i3JQZhZeHjHud7S5FKG5YItl+d8XQfpM3FTFBxlQW+AVlEWJZwQJzdto\nSsPiF3t4gvZDUUwTnWNFj+iyNGPHFCyUhLoNgD+vNlEn7s6TD/UDpe/38coNepjW\n+9BARxI5Es4OAU8GH9KEtN4=\n-----END PRIVATE KEY-----";

    const NODE_ID: &str = "Xk7pQ2mN9vR4tY8wZ3aB6c";
    const SESSION: u32 = 1;

    fn rsa_test_key() -> Secret {
        let (_, doc) = x509_cert::der::Document::from_pem(TEST_RSA_KEY).unwrap();
        Secret::from(doc.as_bytes().to_vec())
    }

    fn claiming_device(personality: SimRainMaker) -> Arc<SimDevice> {
        let mut config = SimConfig::new(SimSecurity::Sec0);
        config.seed = Some(3);
        let mut personality = personality;
        personality.mac_addr = Some([0x7C, 0xDF, 0xA1, 0x0B, 0xC2, 0x3e]);
        config.rainmaker = Some(personality);
        let device = SimDevice::new(config);
        device.open_session(SESSION);
        device
    }

    /// Sends one claiming request (security 0: plaintext) and returns the answer.
    fn send(device: &SimDevice, request: &[u8]) -> Vec<u8> {
        device.handle(SESSION, rainmaker::RMAKER_CLAIM, request).unwrap()
    }

    fn status_of(step: ClaimStep, answer: &[u8]) -> Result<ClaimFragment, i32> {
        match rainmaker::parse_claim_response(step, answer) {
            Ok(frag) => Ok(frag),
            Err(EndpointError::DeviceStatus { code, .. }) => Err(code),
            Err(e) => panic!("{e}"),
        }
    }

    fn raw_request(msg: claim_pb::RMakerClaimMsgType, offset: u32, payload: Vec<u8>, total_len: u32) -> Vec<u8> {
        prost::Message::encode_to_vec(&claim_pb::RMakerClaimPayload {
            msg: msg as i32,
            payload: Some(claim_pb::r_maker_claim_payload::Payload::CmdPayload(claim_pb::PayloadBuf {
                offset,
                payload,
                total_len,
            })),
        })
    }

    fn cloud_initiate_answer() -> Vec<u8> {
        format!("{{\"node_id\":\"{NODE_ID}\",\"challenge\":\"abc\",\"auth_id\":\"x\"}}").into_bytes()
    }

    /// Start and Init (all fragments); returns the CSR JSON.
    fn start_and_init(device: &SimDevice) -> Vec<u8> {
        let start = status_of(ClaimStep::Start, &send(device, &rainmaker::claim_start_request())).unwrap();
        assert_eq!(start.payload, br#"{"mac_addr":"7CDFA10BC23E","platform":"esp32c3"}"#);
        assert_eq!(start.total_len as usize, start.payload.len());
        let init = rainmaker::claim_init_request(&cloud_initiate_answer()).unwrap();
        let mut frag = status_of(ClaimStep::Init, &send(device, &init)).unwrap();
        let mut assembler = rainmaker::ClaimAssembler::new();
        let mut fragments = 0;
        loop {
            assert!(frag.payload.len() <= rainmaker::CLAIM_FRAGMENT_SIZE);
            fragments += 1;
            if assembler.push(frag).unwrap() {
                break;
            }
            frag = status_of(ClaimStep::Init, &send(device, &rainmaker::claim_init_next_request())).unwrap();
        }
        assert!(fragments >= 2);
        // Everything was fetched: one more Init is out of order.
        let extra = status_of(ClaimStep::Init, &send(device, &rainmaker::claim_init_next_request()));
        assert_eq!(extra, Err(ClaimStatus::InvalidState as i32));
        assembler.into_bytes()
    }

    fn csr_of(csr_json: &[u8]) -> CertReq {
        let text = std::str::from_utf8(csr_json).unwrap();
        assert!(text.starts_with(r#"{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMI"#), "{text}");
        assert!(text.ends_with(r#"\n-----END CERTIFICATE REQUEST-----","send_mqtt_host":true}"#), "{text}");
        assert!(!text.contains('\n'));
        let value: serde_json::Value = serde_json::from_slice(csr_json).unwrap();
        CertReq::from_pem(value["csr"].as_str().unwrap()).unwrap()
    }

    fn common_name_of(name: &Name) -> String {
        let atv = name.0.first().unwrap().0.iter().next().unwrap();
        assert_eq!(atv.oid, COMMON_NAME);
        String::from_utf8(atv.value.value().to_vec()).unwrap()
    }

    /// A certificate for `spki`, issued by a throwaway P-256 CA, as the cloud's claim/verify
    /// answer (`\n` escapes in the JSON string).
    fn verify_answer(spki: SubjectPublicKeyInfoOwned) -> Vec<u8> {
        let ca = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
        let signer = P256CertSigner(&ca);
        let profile = Profile::Leaf {
            issuer: common_name("Test CA").unwrap(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(7u32),
            Validity::from_now(std::time::Duration::from_secs(3600)).unwrap(),
            common_name(NODE_ID).unwrap(),
            spki,
            &signer,
        )
        .unwrap();
        let cert = builder.build::<p256::ecdsa::DerSignature>().unwrap();
        let pem = cert.to_pem(LineEnding::LF).unwrap();
        format!("{{\"certificate\":\"{}\",\"mqtt_host\":\"mqtt.example\"}}", pem.replace('\n', "\\n")).into_bytes()
    }

    fn send_verify(device: &SimDevice, answer: &[u8], chunk: usize) -> Vec<Result<ClaimFragment, i32>> {
        rainmaker::claim_verify_requests(answer, chunk)
            .unwrap()
            .iter()
            .map(|r| status_of(ClaimStep::Verify, &send(device, r)))
            .collect()
    }

    fn proto_ver_of(device: &SimDevice) -> proto_ver::VersionInfo {
        match proto_ver::parse(&device.handle(SESSION, crate::endpoints::PROTO_VER, b"ESP").unwrap()) {
            proto_ver::ProtoVersion::Json { info } => info,
            other => panic!("{other:?}"),
        }
    }

    fn labels(info: &proto_ver::VersionInfo) -> Vec<&str> {
        info.apps.iter().map(|a| a.label.as_str()).collect()
    }

    #[test]
    fn p256_node_is_claimed_with_a_certificate_for_its_csr() {
        let device = claiming_device(SimRainMaker::claiming(true));
        assert_eq!(device.rainmaker_node_id(), None);
        let version = proto_ver_of(&device);
        // RainMaker entries first, in registration order (`prov` is always rendered last).
        assert_eq!(labels(&version), [proto_ver::APP_RMAKER, proto_ver::APP_RMAKER_EXTRA]);
        assert_eq!(version.apps[0].cap, [proto_ver::CAP_CLAIM]);
        assert!(version.needs_claim());
        assert!(device.has_endpoint(rainmaker::RMAKER_CLAIM));

        let csr_json = start_and_init(&device);
        assert_eq!(device.rainmaker_node_id().as_deref(), Some(NODE_ID));
        let csr = csr_of(&csr_json);
        assert_eq!(common_name_of(&csr.info.subject), NODE_ID);
        // The CSR is for the node key and signed by it.
        let spki_der = csr.info.public_key.to_der().unwrap();
        assert_eq!(Some(spki_der.clone()), device.rainmaker_public_key_spki());
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&device.rainmaker_public_key().unwrap()).unwrap();
        let signature = p256::ecdsa::DerSignature::from_bytes(csr.signature.raw_bytes()).unwrap();
        use p256::ecdsa::signature::Verifier;
        key.verify(&csr.info.to_der().unwrap(), &signature).unwrap();

        // Another key's certificate is refused; the node stays unclaimed.
        let other = p256::ecdsa::SigningKey::from_slice(&[0x17; 32]).unwrap();
        let other_spki = SubjectPublicKeyInfoOwned::from_key(P256CertSigner(&other).verifying_key()).unwrap();
        let results = send_verify(&device, &verify_answer(other_spki), rainmaker::CLAIM_FRAGMENT_SIZE);
        assert_eq!(results.last(), Some(&Err(ClaimStatus::InvalidParam as i32)));
        assert!(results[..results.len() - 1].iter().all(Result::is_ok));
        assert!(!device.rainmaker_claimed());

        // The right certificate, in 200-byte chunks, then once more from offset 0 after a gap.
        let answer = verify_answer(csr.info.public_key.clone());
        let first = rainmaker::claim_verify_requests(&answer, 100).unwrap();
        assert!(status_of(ClaimStep::Verify, &send(&device, &first[0])).is_ok());
        let gap = status_of(ClaimStep::Verify, &send(&device, &first[2]));
        assert_eq!(gap, Err(ClaimStatus::InvalidParam as i32));
        let results = send_verify(&device, &answer, rainmaker::CLAIM_FRAGMENT_SIZE);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(device.rainmaker_claimed());
        let pem = device.rainmaker_certificate_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(
            x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap().tbs_certificate.subject_public_key_info,
            csr.info.public_key
        );

        // Claimed: `rmaker.cap` no longer lists claim, the endpoint stays, Start is refused.
        let version = proto_ver_of(&device);
        assert!(!version.needs_claim(), "{version:?}");
        assert!(version.apps[0].cap.is_empty());
        assert!(device.has_endpoint(rainmaker::RMAKER_CLAIM));
        let again = status_of(ClaimStep::Start, &send(&device, &rainmaker::claim_start_request()));
        assert_eq!(again, Err(ClaimStatus::InvalidState as i32));
        assert_eq!(device.rainmaker_node_id().as_deref(), Some(NODE_ID));
    }

    #[test]
    fn wrong_order_sizes_and_abort() {
        let device = claiming_device(SimRainMaker::claiming(false));
        let invalid_state = Err(ClaimStatus::InvalidState as i32);
        let init = rainmaker::claim_init_request(&cloud_initiate_answer()).unwrap();
        assert_eq!(status_of(ClaimStep::Init, &send(&device, &init)), invalid_state);
        assert_eq!(status_of(ClaimStep::Verify, &send_verify_one(&device)), invalid_state);
        assert!(status_of(ClaimStep::Start, &send(&device, &rainmaker::claim_start_request())).is_ok());
        assert_eq!(status_of(ClaimStep::Start, &send(&device, &rainmaker::claim_start_request())), invalid_state);
        // Init must carry the whole answer in one message, with a node id.
        let partial =
            raw_request(claim_pb::RMakerClaimMsgType::TypeCmdClaimInit, 0, b"{\"node_id\":\"a\"}".to_vec(), 40);
        assert_eq!(status_of(ClaimStep::Init, &send(&device, &partial)), Err(ClaimStatus::InvalidParam as i32));
        let no_id = rainmaker::claim_init_request(b"{\"other\":\"x\"}").unwrap();
        assert_eq!(status_of(ClaimStep::Init, &send(&device, &no_id)), Err(ClaimStatus::InvalidParam as i32));
        let long_id =
            rainmaker::claim_init_request(format!("{{\"node_id\":\"{}\"}}", "n".repeat(64)).as_bytes()).unwrap();
        assert_eq!(status_of(ClaimStep::Init, &send(&device, &long_id)), Err(ClaimStatus::InvalidParam as i32));
        let huge = raw_request(claim_pb::RMakerClaimMsgType::TypeCmdClaimInit, 0, vec![b' '; 3072], 3072);
        assert_eq!(status_of(ClaimStep::Init, &send(&device, &huge)), Err(ClaimStatus::NoMemory as i32));
        assert!(status_of(ClaimStep::Init, &send(&device, &init)).is_ok());
        // A Verify chunk of 3072 bytes or more: NoMemory; 3071 is accepted.
        let big = raw_request(claim_pb::RMakerClaimMsgType::TypeCmdClaimVerify, 0, vec![b' '; 3072], 4000);
        assert_eq!(status_of(ClaimStep::Verify, &send(&device, &big)), Err(ClaimStatus::NoMemory as i32));
        let ok = raw_request(claim_pb::RMakerClaimMsgType::TypeCmdClaimVerify, 0, vec![b' '; 3071], 4000);
        assert!(status_of(ClaimStep::Verify, &send(&device, &ok)).is_ok());
        // Abort: back to "key generated", Start works again.
        assert!(status_of(ClaimStep::Abort, &send(&device, &rainmaker::claim_abort_request())).is_ok());
        assert_eq!(status_of(ClaimStep::Verify, &send_verify_one(&device)), invalid_state);
        assert!(status_of(ClaimStep::Start, &send(&device, &rainmaker::claim_start_request())).is_ok());
        // An unknown command: Fail, type + 1.
        let unknown = raw_request(claim_pb::RMakerClaimMsgType::TypeRespClaimAbort, 0, Vec::new(), 0);
        assert_eq!(send(&device, &unknown), [0x08, 0x08, 0x5a, 0x04, 0x08, 0x01, 0x12, 0x00]);
        assert!(!device.rainmaker_claimed());
    }

    fn send_verify_one(device: &SimDevice) -> Vec<u8> {
        send(device, &rainmaker::claim_verify_requests(b"{\"certificate\":\"x\"}", 200).unwrap()[0])
    }

    #[test]
    fn device_json_reader_keeps_escapes() {
        let json = br#"{ "a": {"certificate": "no"}, "n": [1, "x\"y"], "certificate" : "l1\nl2\/" }"#;
        assert_eq!(json_raw_string(json, "certificate"), Some(&br"l1\nl2\/"[..]));
        assert_eq!(json_raw_string(json, "n"), None);
        assert_eq!(json_raw_string(b"[\"certificate\"]", "certificate"), None);
        assert_eq!(json_raw_string(b"{\"certificate\":\"unterminated", "certificate"), None);
    }

    #[test]
    fn rsa_node_signs_challenges_with_pss_and_claims() {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::signature::Verifier;
        let personality = SimRainMaker::claiming(true).with_node_key(SimNodeKey::Rsa2048, Some(rsa_test_key()));
        let device = claiming_device(personality);
        assert_eq!(device.rainmaker_public_key(), None);
        let spki = device.rainmaker_public_key_spki().unwrap();
        let public = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();

        // Claiming with the RSA key: a sha256WithRSAEncryption CSR of the node key.
        let csr = csr_of(&start_and_init(&device));
        assert_eq!(csr.info.public_key.to_der().unwrap(), spki);
        let pkcs1 = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(public.clone());
        let csr_signature = rsa::pkcs1v15::Signature::try_from(csr.signature.raw_bytes()).unwrap();
        pkcs1.verify(&csr.info.to_der().unwrap(), &csr_signature).unwrap();
        let results = send_verify(&device, &verify_answer(csr.info.public_key.clone()), 200);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(device.rainmaker_claimed());

        // Challenge-response: RSASSA-PSS/SHA-256 over the challenge, with the node id from the cloud.
        let challenge = b"a3f1c2d4-challenge";
        let request = rainmaker::challenge_request(challenge).unwrap();
        let response =
            rainmaker::parse_challenge_response(&device.handle(SESSION, rainmaker::CH_RESP, &request).unwrap())
                .unwrap();
        assert_eq!(response.node_id, NODE_ID);
        assert_eq!(response.signature.len(), 256);
        let signature = rsa::pss::Signature::try_from(&response.signature[..]).unwrap();
        let verifier = rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new(public.clone());
        verifier.verify(challenge, &signature).unwrap();
        assert!(verifier.verify(b"another challenge", &signature).is_err());
        // Salt length 32: a verifier expecting another salt length refuses it.
        let other_salt = rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new_with_salt_len(public, 20);
        assert!(other_salt.verify(challenge, &signature).is_err());
    }

    #[test]
    fn p256_spki_matches_the_sec1_key() {
        let device = claiming_device(SimRainMaker::ch_resp(NODE_ID).with_node_key(SimNodeKey::P256, None));
        let spki = SubjectPublicKeyInfoOwned::from_der(&device.rainmaker_public_key_spki().unwrap()).unwrap();
        assert_eq!(spki.subject_public_key.raw_bytes(), &device.rainmaker_public_key().unwrap()[..]);
        assert_eq!(labels(&proto_ver_of(&device)), [proto_ver::APP_RMAKER_EXTRA]);
        assert!(!device.has_endpoint(rainmaker::RMAKER_CLAIM));
    }
}
