//! The fake cloud's keys and signatures: the fake claiming CA (P-256) that turns node CSRs into
//! certificates, CSR self-signature checks, and the check of challenge-response signatures
//! (docs/protocol.md 8.3, 8.4).

use std::str::FromStr;
use std::time::Duration;

use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::oid::db::rfc5912;
use x509_cert::der::pem::LineEnding;
use x509_cert::der::{Decode, DecodePem, Encode, EncodePem};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use p256::ecdsa::signature;

/// How long certificates issued by the fake CA (and the CA itself) are valid.
const VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Subject of the fake CA.
const CA_NAME: &str = "CN=Fake RainMaker Claiming CA,O=rainmaker-prov simulator";

/// Why a CSR was refused or a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub(super) enum PkiError {
    /// The PEM or DER does not parse.
    #[error("malformed CSR: {0}")]
    Malformed(String),
    /// The signature algorithm or key type is not one the fake CA knows.
    #[error("unsupported CSR algorithm")]
    Unsupported,
    /// The CSR's self-signature does not verify.
    #[error("CSR signature does not verify")]
    BadSignature,
    /// Building or encoding a certificate failed.
    #[error("certificate building failed: {0}")]
    Build(String),
}

/// A certificate the fake CA issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The node id (the certificate's subject common name).
    pub node_id: String,
    /// The certificate, PEM (LF line endings).
    pub pem: String,
    /// The certified public key: the CSR's SubjectPublicKeyInfo, DER.
    pub public_key_spki: Vec<u8>,
}

/// A P-256 key as an X.509 builder signer (ECDSA with SHA-256, DER signatures). p256's own
/// `SigningKey` lacks the SubjectPublicKeyInfo encoding of its verifying key without p256's `pem`
/// feature, so the builder bounds are met here.
pub(super) struct P256Signer(pub p256::ecdsa::SigningKey);

/// The public half of a [`P256Signer`].
#[derive(Clone, Debug)]
pub(super) struct P256PublicKey(p256::PublicKey);

impl EncodePublicKey for P256PublicKey {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<x509_cert::der::Document> {
        self.0.to_public_key_der()
    }
}

impl signature::Keypair for P256Signer {
    type VerifyingKey = P256PublicKey;

    fn verifying_key(&self) -> P256PublicKey {
        P256PublicKey(p256::PublicKey::from(self.0.verifying_key()))
    }
}

impl x509_cert::spki::SignatureAlgorithmIdentifier for P256Signer {
    type Params = x509_cert::der::asn1::AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: x509_cert::spki::AlgorithmIdentifier<Self::Params> =
        x509_cert::spki::AlgorithmIdentifier { oid: rfc5912::ECDSA_WITH_SHA_256, parameters: None };
}

impl signature::Signer<p256::ecdsa::DerSignature> for P256Signer {
    fn try_sign(&self, message: &[u8]) -> Result<p256::ecdsa::DerSignature, signature::Error> {
        let signature: p256::ecdsa::Signature = signature::Signer::try_sign(&self.0, message)?;
        Ok(signature.to_der())
    }
}

/// The fake claiming CA.
pub(super) struct FakeCa {
    key: P256Signer,
    name: Name,
    certificate_pem: String,
}

impl std::fmt::Debug for FakeCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCa").field("name", &CA_NAME).finish_non_exhaustive()
    }
}

impl FakeCa {
    /// A CA with a fresh random key and a self-signed certificate.
    pub fn generate() -> Result<Self, PkiError> {
        let key = loop {
            let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
            rand::RngExt::fill(&mut rand::rng(), bytes.as_mut_slice());
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(bytes.as_slice()) {
                break key;
            }
        };
        let name = Name::from_str(CA_NAME).map_err(build_error)?;
        let key = P256Signer(key);
        let spki = SubjectPublicKeyInfoOwned::from_key(signature::Keypair::verifying_key(&key)).map_err(build_error)?;
        let validity = Validity::from_now(VALIDITY).map_err(build_error)?;
        let builder =
            CertificateBuilder::new(Profile::Root, SerialNumber::from(1u32), validity, name.clone(), spki, &key)
                .map_err(build_error)?;
        let certificate = builder.build::<p256::ecdsa::DerSignature>().map_err(build_error)?;
        let certificate_pem = certificate.to_pem(LineEnding::LF).map_err(build_error)?;
        Ok(Self { key, name, certificate_pem })
    }

    /// The CA's own certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Checks a PEM CSR (self-signature with ECDSA P-256/SHA-256 or RSA PKCS#1 v1.5/SHA-256) and
    /// certifies its public key for `node_id` (subject `CN=<node_id>`).
    pub fn issue(&self, csr: &CertReq, node_id: &str, serial: u64) -> Result<IssuedCertificate, PkiError> {
        verify_csr(csr)?;
        let spki = csr.info.public_key.clone();
        let public_key_spki = spki.to_der().map_err(build_error)?;
        let subject = Name::from_str(&format!("CN={node_id}")).map_err(build_error)?;
        let validity = Validity::from_now(VALIDITY).map_err(build_error)?;
        let profile =
            Profile::Leaf { issuer: self.name.clone(), enable_key_agreement: false, enable_key_encipherment: false };
        let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity, subject, spki, &self.key)
            .map_err(build_error)?;
        let certificate = builder.build::<p256::ecdsa::DerSignature>().map_err(build_error)?;
        let pem = certificate.to_pem(LineEnding::LF).map_err(build_error)?;
        Ok(IssuedCertificate { node_id: node_id.to_owned(), pem, public_key_spki })
    }
}

fn build_error(e: impl std::fmt::Display) -> PkiError {
    PkiError::Build(e.to_string())
}

/// Parses a PEM certificate signing request.
pub(super) fn parse_csr(pem: &str) -> Result<CertReq, PkiError> {
    CertReq::from_pem(pem.as_bytes()).map_err(|e| PkiError::Malformed(e.to_string()))
}

/// The common name of the CSR's subject, if it has one.
pub(super) fn csr_common_name(csr: &CertReq) -> Option<String> {
    let subject = csr.info.subject.to_string();
    subject.split([',', '+']).find_map(|part| part.trim().strip_prefix("CN=").map(str::to_owned))
}

/// Verifies the CSR's self-signature over its `CertificationRequestInfo`.
pub(super) fn verify_csr(csr: &CertReq) -> Result<(), PkiError> {
    let info = csr.info.to_der().map_err(|e| PkiError::Malformed(e.to_string()))?;
    let spki = csr.info.public_key.to_der().map_err(|e| PkiError::Malformed(e.to_string()))?;
    let signature = csr.signature.as_bytes().ok_or(PkiError::BadSignature)?;
    let oid = csr.algorithm.oid;
    if oid == rfc5912::ECDSA_WITH_SHA_256 {
        use p256::ecdsa::signature::Verifier;
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|_| PkiError::Unsupported)?;
        let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| PkiError::BadSignature)?;
        key.verify(&info, &signature).map_err(|_| PkiError::BadSignature)
    } else if oid == rfc5912::SHA_256_WITH_RSA_ENCRYPTION {
        use rsa::signature::Verifier;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|_| PkiError::Unsupported)?;
        let key = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key);
        let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| PkiError::BadSignature)?;
        key.verify(&info, &signature).map_err(|_| PkiError::BadSignature)
    } else {
        Err(PkiError::Unsupported)
    }
}

/// `id-ecPublicKey` (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;
/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;

/// Whether `signature` is the node's signature of `challenge` (docs/protocol.md 8.4): ECDSA
/// P-256 over SHA-256(challenge), DER-encoded, for EC keys; RSASSA-PSS with SHA-256 (MGF1
/// SHA-256, 32-byte salt) for RSA keys. `spki_der` is the node's SubjectPublicKeyInfo.
pub(super) fn verify_challenge(spki_der: &[u8], challenge: &[u8], signature: &[u8]) -> bool {
    let Ok(spki) = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        use p256::ecdsa::signature::Verifier;
        let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der) else {
            return false;
        };
        let Ok(signature) = p256::ecdsa::Signature::from_der(signature) else {
            return false;
        };
        key.verify(challenge, &signature).is_ok()
    } else if spki.algorithm.oid == RSA_ENCRYPTION {
        use rsa::signature::Verifier;
        let Ok(key) = rsa::RsaPublicKey::from_public_key_der(spki_der) else {
            return false;
        };
        let key = rsa::pss::VerifyingKey::<rsa::sha2::Sha256>::new_with_salt_len(key, 32);
        let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
            return false;
        };
        key.verify(challenge, &signature).is_ok()
    } else {
        false
    }
}
