//! SRP-6a arithmetic of security 2, exactly as ESP-IDF's device computes it (docs/protocol.md §4.3.2).
//!
//! RFC 5054 3072-bit group, g = 5, SHA-512. The deviations from textbook SRP that matter:
//! `k = H(N || PAD(g))`; `u = H(PAD(A) || PAD(B))`; `x = H(salt || H(I ":" P))` with the salt and
//! the 64-byte inner digest used verbatim; `K = H(S)` over the minimal big-endian S;
//! `M1 = H((H(N) xor H(PAD(g))) || H(I) || salt || A || B || K)` with A, B and the salt exactly as
//! transmitted (A 384 bytes, B minimal); `M2 = H(A || M1 || K)`.
//!
//! Values go in and out as big-endian byte strings. The modular arithmetic uses constant-time
//! Montgomery forms from `crypto-bigint` (through the `srp` crate's building blocks); secret
//! intermediates are zeroized. This module is public only for known-answer tests.

use std::sync::OnceLock;

use ::srp::bigint::modular::BoxedMontyForm;
use ::srp::bigint::{BoxedUint, ConcatenatingMul, NonZero, Resize};
use ::srp::groups::G3072;
use ::srp::{ClientG3072, Group, ServerG3072};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::error::SecurityError;

/// Byte length of the group modulus N (and of a padded public value).
pub const N_LEN: usize = 384;
/// Byte length of a SHA-512 digest (x, u, k, K, M1, M2).
pub const HASH_LEN: usize = 64;
/// Byte length of the client and device secret exponents a and b.
pub const EXPONENT_LEN: usize = 32;

const N_BITS: u32 = 3072;

/// Group constants computed once.
struct Consts {
    g: BoxedMontyForm,
    client: ClientG3072<Sha512>,
    server: ServerG3072<Sha512>,
    n_bytes: [u8; N_LEN],
    n: NonZero<BoxedUint>,
    k: [u8; HASH_LEN],
    k_int: BoxedUint,
    hn_xor_hg: [u8; HASH_LEN],
}

fn consts() -> &'static Consts {
    static CONSTS: OnceLock<Consts> = OnceLock::new();
    CONSTS.get_or_init(|| {
        let g = G3072::generator();
        let modulus = g.params().modulus();
        let n_bytes = fixed_bytes(modulus.as_ref());
        let g_pad = fixed_bytes(&g.retrieve());

        let k: [u8; HASH_LEN] = Sha512::new().chain_update(n_bytes).chain_update(g_pad).finalize().into();
        let h_n: [u8; HASH_LEN] = Sha512::digest(n_bytes).into();
        let h_g: [u8; HASH_LEN] = Sha512::digest(g_pad).into();
        let mut hn_xor_hg = [0u8; HASH_LEN];
        for (out, (a, b)) in hn_xor_hg.iter_mut().zip(h_n.iter().zip(h_g.iter())) {
            *out = a ^ b;
        }
        Consts {
            g: g.clone(),
            client: ClientG3072::<Sha512>::new(),
            server: ServerG3072::<Sha512>::new(),
            n_bytes,
            n: modulus.as_nz_ref().clone(),
            k,
            // At the modulus precision, as Montgomery forms over N require.
            k_int: BoxedUint::from_be_slice_vartime(&k).resize(N_BITS),
            hn_xor_hg,
        }
    })
}

/// The 384 big-endian bytes of the group modulus N.
pub fn modulus() -> [u8; N_LEN] {
    consts().n_bytes
}

/// The generator g of the group (5).
pub fn generator() -> u8 {
    5
}

/// `k = H(N || PAD(g))`.
pub fn k() -> [u8; HASH_LEN] {
    consts().k
}

/// `H(N) xor H(PAD(g))`, the first term of M1.
pub fn hash_n_xor_hash_pad_g() -> [u8; HASH_LEN] {
    consts().hn_xor_hg
}

/// Left-pads a big-endian value to 384 bytes; leading zero bytes beyond 384 are accepted.
pub fn pad(value: &[u8]) -> Result<[u8; N_LEN], SecurityError> {
    let first = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let significant = &value[first..];
    if significant.len() > N_LEN {
        return Err(SecurityError::Malformed(format!("SRP value of {} bytes (max {N_LEN})", value.len())));
    }
    let mut out = [0u8; N_LEN];
    out[N_LEN - significant.len()..].copy_from_slice(significant);
    Ok(out)
}

/// The inner digest `H(I ":" P)`.
pub fn inner_hash(username: &[u8], password: &[u8]) -> Zeroizing<[u8; HASH_LEN]> {
    Zeroizing::new(Sha512::new().chain_update(username).chain_update(b":").chain_update(password).finalize().into())
}

/// `x = H(salt || inner)` with the salt verbatim. With `stripped`, the inner digest loses its
/// leading zero bytes first: the variant esp_prov's Python verifier generator produces
/// (docs/protocol.md §4.3.2 hazard 1).
pub fn compute_x(salt: &[u8], inner: &[u8; HASH_LEN], stripped: bool) -> Zeroizing<[u8; HASH_LEN]> {
    let inner: &[u8] = if stripped {
        let first = inner.iter().position(|&b| b != 0).unwrap_or(inner.len());
        &inner[first..]
    } else {
        inner
    };
    Zeroizing::new(Sha512::new().chain_update(salt).chain_update(inner).finalize().into())
}

/// `v = g^x mod N`, minimal big-endian.
pub fn verifier_from_x(x: &[u8; HASH_LEN]) -> Vec<u8> {
    let x_int = secret_int(x);
    let v = consts().client.compute_g_x(&x_int);
    v.to_be_bytes_trimmed_vartime().into_vec()
}

/// The verifier for a username/password/salt (minimal big-endian); `stripped` as in [`compute_x`].
pub fn compute_verifier(username: &[u8], password: &[u8], salt: &[u8], stripped: bool) -> Vec<u8> {
    let inner = inner_hash(username, password);
    let x = compute_x(salt, &inner, stripped);
    verifier_from_x(&x)
}

/// Client public value `A = g^a mod N`, padded to 384 bytes.
pub fn client_public(a: &[u8; EXPONENT_LEN]) -> [u8; N_LEN] {
    let a_int = secret_int(a);
    let big_a = consts().client.compute_g_x(&a_int);
    fixed_bytes(&big_a)
}

/// Device public value `B = (k*v + g^b) mod N`, minimal big-endian (as the device sends it).
pub fn device_public(b: &[u8; EXPONENT_LEN], verifier: &[u8]) -> Result<Vec<u8>, SecurityError> {
    let c = consts();
    let v = public_int(verifier, "verifier")?;
    let b_int = secret_int(b);
    let big_b = c.server.compute_b_pub(&b_int, &c.k_int, &v);
    Ok(big_b.to_be_bytes_trimmed_vartime().into_vec())
}

/// Whether a big-endian value is 0 modulo N (an invalid SRP public value).
pub fn is_zero_mod_n(value: &[u8]) -> Result<bool, SecurityError> {
    let int = public_int(value, "public value")?;
    Ok(bool::from((&int % &consts().n).is_zero()))
}

/// `u = H(PAD(A) || PAD(B))`.
pub fn compute_u(a_pub: &[u8], b_pub: &[u8]) -> Result<[u8; HASH_LEN], SecurityError> {
    Ok(Sha512::new().chain_update(pad(a_pub)?).chain_update(pad(b_pub)?).finalize().into())
}

/// Client premaster secret `S = (B - k*g^x)^(a + u*x) mod N`, minimal big-endian.
/// Rejects `B mod N = 0` and `u = 0` with [`SecurityError::InvalidPeerValue`].
pub fn client_premaster(
    b_pub: &[u8],
    x: &[u8; HASH_LEN],
    a: &[u8; EXPONENT_LEN],
    u: &[u8; HASH_LEN],
) -> Result<Zeroizing<Vec<u8>>, SecurityError> {
    if is_zero_mod_n(b_pub)? || is_all_zero(u) {
        return Err(SecurityError::InvalidPeerValue);
    }
    let c = consts();
    let params = c.g.params();
    let b_int = public_int(b_pub, "B")?;
    let x_int = secret_int(x);
    let a_int = secret_int(a);
    let u_int = BoxedUint::from_be_slice_vartime(u);
    // Every intermediate that depends on x or a is wiped when it goes out of scope.
    let g_x = Zeroizing::new(c.g.pow(&x_int));
    let k_g_x = Zeroizing::new(BoxedMontyForm::new(c.k_int.clone(), params).mul(&g_x));
    let base = Zeroizing::new(BoxedMontyForm::new(b_int, params).sub(&k_g_x));
    let u_x = Zeroizing::new(u_int.concatenating_mul(&*x_int));
    let exponent = Zeroizing::new(a_int.concatenating_add(&*u_x));
    let s = Zeroizing::new(base.pow(&exponent).retrieve());
    Ok(Zeroizing::new(s.to_be_bytes_trimmed_vartime().into_vec()))
}

/// Device premaster secret `S = (A * v^u)^b mod N`, minimal big-endian.
/// Rejects `A mod N = 0` and `u = 0` with [`SecurityError::InvalidPeerValue`].
pub fn device_premaster(
    a_pub: &[u8],
    verifier: &[u8],
    u: &[u8; HASH_LEN],
    b: &[u8; EXPONENT_LEN],
) -> Result<Zeroizing<Vec<u8>>, SecurityError> {
    if is_zero_mod_n(a_pub)? || is_all_zero(u) {
        return Err(SecurityError::InvalidPeerValue);
    }
    let c = consts();
    let params = c.g.params();
    let a_int = public_int(a_pub, "A")?;
    let v = public_int(verifier, "verifier")?;
    let u_int = BoxedUint::from_be_slice_vartime(u);
    let b_int = secret_int(b);
    // (A * v^u)^b; the result and everything after the secret exponent is wiped.
    let base = BoxedMontyForm::new(a_int, params).mul(&BoxedMontyForm::new(v, params).pow(&u_int));
    let s = Zeroizing::new(base.pow(&b_int).retrieve());
    Ok(Zeroizing::new(s.to_be_bytes_trimmed_vartime().into_vec()))
}

/// Session key `K = H(S)` over the minimal big-endian S.
pub fn session_key(s_minimal: &[u8]) -> Zeroizing<[u8; HASH_LEN]> {
    Zeroizing::new(Sha512::digest(s_minimal).into())
}

/// Client proof `M1 = H((H(N) xor H(PAD(g))) || H(I) || salt || A || B || K)`, every byte string
/// exactly as transmitted.
pub fn client_proof(username: &[u8], salt: &[u8], a_pub: &[u8], b_pub: &[u8], key: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    Sha512::new()
        .chain_update(consts().hn_xor_hg)
        .chain_update(Sha512::digest(username))
        .chain_update(salt)
        .chain_update(a_pub)
        .chain_update(b_pub)
        .chain_update(key)
        .finalize()
        .into()
}

/// Device proof `M2 = H(A || M1 || K)`.
pub fn device_proof(a_pub: &[u8], m1: &[u8; HASH_LEN], key: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    Sha512::new().chain_update(a_pub).chain_update(m1).chain_update(key).finalize().into()
}

fn is_all_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |acc, b| acc | b) == 0
}

/// A secret exponent with a fixed precision (so timing does not depend on its value).
fn secret_int<const L: usize>(bytes: &[u8; L]) -> Zeroizing<BoxedUint> {
    Zeroizing::new(BoxedUint::from_be_slice_vartime(bytes))
}

/// A public value of at most 384 significant bytes, at the modulus precision.
fn public_int(bytes: &[u8], what: &str) -> Result<BoxedUint, SecurityError> {
    let padded = pad(bytes).map_err(|_| SecurityError::Malformed(format!("SRP {what} longer than {N_LEN} bytes")))?;
    BoxedUint::from_be_slice(&padded, N_BITS).map_err(|_| SecurityError::Malformed(format!("SRP {what}")))
}

fn fixed_bytes(value: &BoxedUint) -> [u8; N_LEN] {
    let raw = value.to_be_bytes();
    let mut out = [0u8; N_LEN];
    let take = raw.len().min(N_LEN);
    out[N_LEN - take..].copy_from_slice(&raw[raw.len() - take..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_and_reject_oversize() {
        assert_eq!(pad(&[1, 2]).unwrap()[N_LEN - 2..], [1, 2]);
        assert_eq!(pad(&[0u8; 400]).unwrap(), [0u8; N_LEN]);
        assert!(pad(&[1u8; 385]).is_err());
    }

    #[test]
    fn zero_mod_n_detection() {
        assert!(is_zero_mod_n(&modulus()).unwrap());
        assert!(is_zero_mod_n(&[0u8]).unwrap());
        assert!(is_zero_mod_n(&[]).unwrap());
        assert!(!is_zero_mod_n(&[5u8]).unwrap());
    }

    #[test]
    fn both_sides_agree_on_s() {
        let a = [0x91u8; 32];
        let b = [0x17u8; 32];
        let salt = [0x42u8; 16];
        let inner = inner_hash(b"user", b"pass");
        let x = compute_x(&salt, &inner, false);
        let v = verifier_from_x(&x);
        let big_a = client_public(&a);
        let big_b = device_public(&b, &v).unwrap();
        let u = compute_u(&big_a, &big_b).unwrap();
        let s_client = client_premaster(&big_b, &x, &a, &u).unwrap();
        let s_device = device_premaster(&big_a, &v, &u, &b).unwrap();
        assert_eq!(*s_client, *s_device);
        assert!(client_premaster(&modulus(), &x, &a, &u).is_err());
        assert_eq!(device_premaster(&[0u8; 384], &v, &u, &b), Err(SecurityError::InvalidPeerValue));
        assert_eq!(client_premaster(&big_b, &x, &a, &[0u8; 64]), Err(SecurityError::InvalidPeerValue));
    }
}

#[cfg(test)]
mod reduction_tests {
    use super::*;

    /// `N + small` as 384 big-endian bytes (fits: N is below 2^3072 - 2^3000).
    fn n_plus(small: u8) -> [u8; N_LEN] {
        let mut out = modulus();
        let mut carry = u16::from(small);
        for byte in out.iter_mut().rev() {
            let sum = u16::from(*byte) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        out
    }

    #[test]
    fn unreduced_public_values_are_reduced() {
        let a = [0x81u8; 32];
        let x = compute_x(b"salt", &inner_hash(b"u", b"p"), false);
        let u = [0x33u8; 64];
        let reduced = client_premaster(&[9], &x, &a, &u).unwrap();
        let unreduced = client_premaster(&n_plus(9), &x, &a, &u).unwrap();
        assert_eq!(*reduced, *unreduced);
        let v = verifier_from_x(&x);
        let b = [0x42u8; 32];
        assert_eq!(*device_premaster(&[9], &v, &u, &b).unwrap(), *device_premaster(&n_plus(9), &v, &u, &b).unwrap());
    }
}
