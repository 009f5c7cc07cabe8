//! SRP-6a arithmetic of security 2, exactly as ESP-IDF's device computes it (docs/protocol.md §4.3.2).
//!
//! RFC 5054 3072-bit group, g = 5, SHA-512. The deviations from textbook SRP that matter:
//! `k = H(N || PAD(g))`; `u = H(PAD(A) || PAD(B))`; `x = H(salt || H(I ":" P))` with the salt and
//! the 64-byte inner digest used verbatim; `K = H(S)` over the minimal big-endian S;
//! `M1 = H((H(N) xor H(PAD(g))) || H(I) || salt || A || B || K)` with A, B and the salt exactly as
//! transmitted (A 384 bytes, B minimal); `M2 = H(A || M1 || K)`.
//!
//! Values go in and out as big-endian byte strings. The modular arithmetic uses constant-time
//! Montgomery forms from `crypto-bigint` (the group comes from the `srp` crate); secret
//! intermediates are zeroized. This module is public only for known-answer tests.
//!
//! Speed-ups, all with the same results as plain exponentiation:
//! - Powers of the fixed bases use a precomputed table (`FixedBaseTable`: one multiplication
//!   per 4 exponent bits, no squarings): g (a process-wide table built at the third power of g,
//!   so a process running a single handshake does not pay for it) for `g^a`, `g^x` and `g^b`,
//!   with constant-time selection of every factor; and, on the device side, each verifier v for
//!   `v^u` (u is public: variable time), built by the [`Verifier`] itself the second time it is
//!   used and wiped with it.
//! - Secret exponents of variable bases have the exact width fixed by the public sizes: 1024
//!   bits for the client's `a + u·x`, 256 bits for the device's b.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::srp::Group;
use ::srp::bigint::modular::BoxedMontyForm;
use ::srp::bigint::{BoxedUint, ConcatenatingMul, NonZero, Resize, Word};
use ::srp::groups::G3072;
use sha2::{Digest, Sha512};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, Zeroizing};

use super::error::SecurityError;

/// Byte length of the group modulus N (and of a padded public value).
pub const N_LEN: usize = 384;
/// Byte length of a SHA-512 digest (x, u, k, K, M1, M2).
pub const HASH_LEN: usize = 64;
/// Byte length of the client and device secret exponents a and b.
pub const EXPONENT_LEN: usize = 32;

const N_BITS: u32 = 3072;

/// Bits of the client's exponent `a + u·x`: a < 2^256 and u, x < 2^512, so the sum is below 2^1024.
const CLIENT_S_EXPONENT_BITS: u32 = 1024;

/// Group constants computed once.
struct Consts {
    g: BoxedMontyForm,
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
    let v = g_pow_secret(x);
    v.retrieve().to_be_bytes_trimmed_vartime().into_vec()
}

/// The verifier for a username/password/salt (minimal big-endian); `stripped` as in [`compute_x`].
pub fn compute_verifier(username: &[u8], password: &[u8], salt: &[u8], stripped: bool) -> Vec<u8> {
    let inner = inner_hash(username, password);
    let x = compute_x(salt, &inner, stripped);
    verifier_from_x(&x)
}

/// Client public value `A = g^a mod N`, padded to 384 bytes.
pub fn client_public(a: &[u8; EXPONENT_LEN]) -> [u8; N_LEN] {
    let big_a = g_pow_secret(a);
    fixed_bytes(&big_a.retrieve())
}

/// Device public value `B = (k*v + g^b) mod N`, minimal big-endian (as the device sends it).
pub fn device_public(b: &[u8; EXPONENT_LEN], verifier: &Verifier) -> Result<Vec<u8>, SecurityError> {
    let c = consts();
    let params = c.g.params();
    let v = Zeroizing::new(BoxedMontyForm::new((*verifier.int()?).clone(), params));
    let k_v = Zeroizing::new(BoxedMontyForm::new(c.k_int.clone(), params).mul(&v));
    let g_b = g_pow_secret(b);
    let big_b = k_v.add(&g_b);
    Ok(big_b.retrieve().to_be_bytes_trimmed_vartime().into_vec())
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
    let g_x = g_pow_secret(x);
    let k_g_x = Zeroizing::new(BoxedMontyForm::new(c.k_int.clone(), params).mul(&g_x));
    let base = Zeroizing::new(BoxedMontyForm::new(b_int, params).sub(&k_g_x));
    let u_x = Zeroizing::new(u_int.concatenating_mul(&*x_int));
    let exponent = Zeroizing::new(a_int.concatenating_add(&*u_x));
    // The exponent width is fixed by the public sizes of a, u and x, not by the value.
    let s = Zeroizing::new(base.pow_bounded_exp(&exponent, CLIENT_S_EXPONENT_BITS).retrieve());
    Ok(Zeroizing::new(s.to_be_bytes_trimmed_vartime().into_vec()))
}

/// Device premaster secret `S = (A * v^u)^b mod N`, minimal big-endian.
/// Rejects `A mod N = 0` and `u = 0` with [`SecurityError::InvalidPeerValue`].
pub fn device_premaster(
    a_pub: &[u8],
    verifier: &Verifier,
    u: &[u8; HASH_LEN],
    b: &[u8; EXPONENT_LEN],
) -> Result<Zeroizing<Vec<u8>>, SecurityError> {
    if is_zero_mod_n(a_pub)? || is_all_zero(u) {
        return Err(SecurityError::InvalidPeerValue);
    }
    let c = consts();
    let params = c.g.params();
    let a_int = public_int(a_pub, "A")?;
    let v = verifier.int()?;
    let b_int = secret_int(b);
    // v^u: public exponent (variable time is fine); v is password-equivalent, so v^u is wiped.
    let v_u = Zeroizing::new(verifier.pow_public(&v, u));
    // (A * v^u)^b; the result and everything after the secret exponent is wiped.
    let base = Zeroizing::new(BoxedMontyForm::new(a_int, params).mul(&v_u));
    let s = Zeroizing::new(base.pow_bounded_exp(&b_int, 8 * EXPONENT_LEN as u32).retrieve());
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

// ---------------------------------------------------------------- fixed-base exponentiation

/// Exponent bits per window of a [`FixedBaseTable`] (one table row per 4 exponent bits).
const WINDOW: usize = 4;
/// Entries stored per row: digits 1 to 15 (digit 0 is the implicit one).
const ROW: usize = (1 << WINDOW) - 1;
/// Windows per exponent byte.
const WINDOWS_PER_BYTE: usize = 8 / WINDOW;
/// Exponent width the tables of g and v cover: the widest exponents are x and u (512 bits).
const TABLE_BITS: usize = 8 * HASH_LEN;
/// Exponentiations by g made without the table before it is built: a process that runs one
/// handshake (g^a, g^x) does not pay for the table (about 1 900 multiplications).
const G_UNTABLED_USES: usize = 2;
/// Handshakes a [`Verifier`] serves without its table: a device used for one session only does
/// not pay for it.
const VERIFIER_UNTABLED_USES: usize = 1;

/// Fixed-base exponentiation table: `base^(j·16^i)` for every window `i` of a 512-bit exponent
/// and every digit `j` from 1 to 15, in Montgomery form (about 720 KiB for the 3072-bit group).
/// The table of g is public. A verifier's table is not (v is password-equivalent): it lives in
/// its [`Verifier`], and every table's words are wiped on drop.
///
/// [`Self::pow_ct`] computes `base^e` with one multiplication per 4 exponent bits and no
/// squarings; each factor is picked by a constant-time select over the whole row, so the memory
/// accesses and the number of multiplications depend only on the exponent's byte length.
struct FixedBaseTable {
    one: BoxedMontyForm,
    windows: usize,
    limbs: usize,
    words: Vec<Word>,
}

impl FixedBaseTable {
    /// The table of `base` for exponents of up to `bits` bits (rounded up to whole bytes).
    fn new(base: &BoxedMontyForm, bits: usize) -> Self {
        let windows = bits.div_ceil(8) * WINDOWS_PER_BYTE;
        let one = BoxedMontyForm::one(base.params());
        let limbs = one.as_montgomery().as_words().len();
        let mut words = Vec::with_capacity(windows * ROW * limbs);
        // base^(16^i) for the current row.
        // Intermediates are copies of the entries: wiped like them.
        let mut row_base = Zeroizing::new(base.clone());
        for window in 0..windows {
            let mut power = row_base.clone();
            words.extend_from_slice(power.as_montgomery().as_words());
            for _ in 2..=ROW {
                power = Zeroizing::new(power.mul(&row_base));
                words.extend_from_slice(power.as_montgomery().as_words());
            }
            if window + 1 < windows {
                row_base = Zeroizing::new(power.mul(&row_base));
            }
        }
        Self { one, windows, limbs, words }
    }

    /// Exponent width (bits) the table covers.
    fn bits(&self) -> usize {
        self.windows * WINDOW
    }

    /// The words of `base^(digit·16^window)`, `digit` from 1 to 15.
    fn entry(&self, window: usize, digit: usize) -> &[Word] {
        let start = (window * ROW + digit - 1) * self.limbs;
        &self.words[start..start + self.limbs]
    }

    /// `base^e` for a secret big-endian exponent `e`, in constant time for a given byte length of
    /// `e`; `None` when `e` is longer than the table covers.
    fn pow_ct(&self, exponent: &[u8]) -> Option<BoxedMontyForm> {
        let windows = exponent.len() * WINDOWS_PER_BYTE;
        if windows > self.windows {
            return None;
        }
        let mut acc: Option<Zeroizing<BoxedMontyForm>> = None;
        let mut factor = Zeroizing::new(self.one.clone());
        for window in 0..windows {
            let digit = Zeroizing::new(window_digit(exponent, window));
            let out = factor.as_montgomery_mut().as_mut_words();
            out.copy_from_slice(self.one.as_montgomery().as_words());
            for candidate in 1..=ROW {
                // Every entry of the row is read; the one matching the digit is kept.
                let hit = (candidate as u8).ct_eq(&*digit);
                for (dst, src) in out.iter_mut().zip(self.entry(window, candidate)) {
                    dst.conditional_assign(src, hit);
                }
            }
            acc = Some(match acc {
                None => factor.clone(),
                Some(acc) => Zeroizing::new(acc.mul(&factor)),
            });
        }
        Some(match acc {
            Some(acc) => (*acc).clone(),
            None => self.one.clone(),
        })
    }

    /// `base^e` for a public big-endian exponent `e` (variable time: zero digits are skipped);
    /// `None` when `e` is longer than the table covers.
    fn pow_vartime(&self, exponent: &[u8]) -> Option<BoxedMontyForm> {
        let windows = exponent.len() * WINDOWS_PER_BYTE;
        if windows > self.windows {
            return None;
        }
        let mut acc: Option<BoxedMontyForm> = None;
        let mut factor = self.one.clone();
        for window in 0..windows {
            let digit = usize::from(window_digit(exponent, window));
            if digit == 0 {
                continue;
            }
            factor.as_montgomery_mut().as_mut_words().copy_from_slice(self.entry(window, digit));
            acc = Some(match acc {
                None => factor.clone(),
                Some(acc) => acc.mul(&factor),
            });
        }
        Some(acc.unwrap_or_else(|| self.one.clone()))
    }
}

impl Drop for FixedBaseTable {
    fn drop(&mut self) {
        self.words.zeroize();
    }
}

impl std::fmt::Debug for FixedBaseTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBaseTable").field("bits", &self.bits()).finish_non_exhaustive()
    }
}

/// Digit `window` (counted from the least significant end) of a big-endian exponent.
fn window_digit(exponent: &[u8], window: usize) -> u8 {
    let byte = exponent[exponent.len() - 1 - window / WINDOWS_PER_BYTE];
    (byte >> (WINDOW * (window % WINDOWS_PER_BYTE))) & (ROW as u8)
}

/// The table of g, built on first use after [`G_UNTABLED_USES`] exponentiations by g.
fn g_table() -> Option<&'static FixedBaseTable> {
    static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
    static USES: AtomicUsize = AtomicUsize::new(0);
    if let Some(table) = TABLE.get() {
        return Some(table);
    }
    if USES.fetch_add(1, Ordering::Relaxed) < G_UNTABLED_USES {
        return None;
    }
    Some(TABLE.get_or_init(|| FixedBaseTable::new(&consts().g, TABLE_BITS)))
}

/// `g^e` for a secret exponent, constant time for its byte length (table or plain ladder).
fn g_pow_secret(exponent: &[u8]) -> Zeroizing<BoxedMontyForm> {
    if let Some(result) = g_table().and_then(|table| table.pow_ct(exponent)) {
        return Zeroizing::new(result);
    }
    let int = Zeroizing::new(BoxedUint::from_be_slice_vartime(exponent));
    Zeroizing::new(consts().g.pow_bounded_exp(&int, 8 * exponent.len() as u32))
}

/// A device's provisioned verifier `v = g^x mod N` (big-endian), with the exponentiation table
/// of v that the device side builds the second time the verifier is used (a device serving one
/// session does not pay for it). v is password-equivalent (it allows an offline dictionary attack
/// on the password): its bytes and its table are wiped when it is dropped, and `Debug` shows
/// neither. Share one `Verifier` (in an `Arc`) between the sessions of one device.
pub struct Verifier {
    bytes: Zeroizing<Vec<u8>>,
    uses: AtomicUsize,
    table: OnceLock<FixedBaseTable>,
}

impl Verifier {
    /// The verifier `bytes` (big-endian, at most 384 significant bytes: longer ones fail the
    /// handshake as malformed).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes: Zeroizing::new(bytes), uses: AtomicUsize::new(0), table: OnceLock::new() }
    }

    /// The verifier's bytes, as provisioned.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the table of v has been built.
    pub fn has_table(&self) -> bool {
        self.table.get().is_some()
    }

    /// v at the modulus precision.
    fn int(&self) -> Result<Zeroizing<BoxedUint>, SecurityError> {
        public_int(&self.bytes, "verifier").map(Zeroizing::new)
    }

    /// `v^u` for a public exponent (variable time), from the table once this verifier has been
    /// used before.
    fn pow_public(&self, v: &BoxedUint, u: &[u8; HASH_LEN]) -> BoxedMontyForm {
        let params = consts().g.params();
        let table = match self.table.get() {
            Some(table) => Some(table),
            None if self.uses.fetch_add(1, Ordering::Relaxed) < VERIFIER_UNTABLED_USES => None,
            // Several milliseconds; a concurrent handshake on the same verifier waits for it.
            None => Some(self.table.get_or_init(|| {
                let base = Zeroizing::new(BoxedMontyForm::new(v.clone(), params));
                FixedBaseTable::new(&base, TABLE_BITS)
            })),
        };
        match table.and_then(|table| table.pow_vartime(u)) {
            Some(v_u) => v_u,
            None => Zeroizing::new(BoxedMontyForm::new(v.clone(), params)).pow(&BoxedUint::from_be_slice_vartime(u)),
        }
    }
}

impl From<Vec<u8>> for Verifier {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("len", &self.bytes.len()).finish_non_exhaustive()
    }
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
        let v = Verifier::new(verifier_from_x(&x));
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
mod table_tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn plain_pow(base: &BoxedMontyForm, exponent: &[u8]) -> BoxedUint {
        base.pow(&BoxedUint::from_be_slice_vartime(exponent)).retrieve()
    }

    fn edge_exponents(len: usize) -> Vec<Vec<u8>> {
        let mut one = vec![0u8; len];
        let mut top_only = vec![0u8; len];
        let mut alternating = vec![0xa5u8; len];
        if let (Some(last), Some(first)) = (one.last_mut(), top_only.first_mut()) {
            *last = 1;
            *first = 0x80;
        }
        if let Some(last) = alternating.last_mut() {
            *last = 0x0f;
        }
        vec![vec![0u8; len], one, vec![0xffu8; len], top_only, alternating, vec![0x10u8; len]]
    }

    fn bases(rng: &mut StdRng) -> Vec<BoxedMontyForm> {
        let params = consts().g.params();
        let mut n_minus_1 = modulus();
        n_minus_1[N_LEN - 1] -= 1;
        let mut random = [0u8; N_LEN];
        rng.fill_bytes(&mut random[1..]);
        vec![
            consts().g.clone(),
            BoxedMontyForm::one(params),
            BoxedMontyForm::new(public_int(&n_minus_1, "n-1").unwrap(), params),
            BoxedMontyForm::new(public_int(&random, "random").unwrap(), params),
        ]
    }

    #[test]
    fn table_pow_matches_plain_pow() {
        let mut rng = StdRng::seed_from_u64(7);
        for base in bases(&mut rng) {
            let table = FixedBaseTable::new(&base, TABLE_BITS);
            assert_eq!(table.bits(), TABLE_BITS);
            for len in [0usize, 1, EXPONENT_LEN, HASH_LEN] {
                let mut exponents = edge_exponents(len);
                for _ in 0..4 {
                    let mut e = vec![0u8; len];
                    rng.fill_bytes(&mut e);
                    exponents.push(e);
                }
                for e in exponents {
                    let expected = plain_pow(&base, &e);
                    assert_eq!(table.pow_ct(&e).unwrap().retrieve(), expected, "ct, exponent {e:02x?}");
                    assert_eq!(table.pow_vartime(&e).unwrap().retrieve(), expected, "vartime, exponent {e:02x?}");
                }
            }
            // Wider than the table: refused, never truncated.
            assert!(table.pow_ct(&[1u8; HASH_LEN + 1]).is_none());
            assert!(table.pow_vartime(&[1u8; HASH_LEN + 1]).is_none());
        }
    }

    #[test]
    fn small_table_and_odd_widths() {
        let base = consts().g.clone();
        let table = FixedBaseTable::new(&base, 12);
        assert_eq!(table.bits(), 16);
        for e in [[0u8, 0], [0, 1], [0xff, 0xff], [0x12, 0x34]] {
            assert_eq!(table.pow_ct(&e).unwrap().retrieve(), plain_pow(&base, &e));
        }
        assert!(table.pow_ct(&[1, 2, 3]).is_none());
    }

    #[test]
    fn g_power_with_and_without_table_agree() {
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..G_UNTABLED_USES + 3 {
            let mut a = [0u8; EXPONENT_LEN];
            rng.fill_bytes(&mut a);
            let expected = fixed_bytes(&plain_pow(&consts().g, &a));
            assert_eq!(client_public(&a), expected);
        }
        assert!(g_table().is_some());
        let x = compute_x(b"salt", &inner_hash(b"u", b"p"), false);
        assert_eq!(verifier_from_x(&x), plain_pow(&consts().g, &x[..]).to_be_bytes_trimmed_vartime().into_vec());
    }

    #[test]
    fn verifier_table_gives_the_same_premaster() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let x = compute_x(&salt, &inner_hash(b"table", b"pw"), false);
        let v = Verifier::new(verifier_from_x(&x));
        let a = [0x33u8; EXPONENT_LEN];
        let b = [0x44u8; EXPONENT_LEN];
        let big_a = client_public(&a);
        let big_b = device_public(&b, &v).unwrap();
        let u = compute_u(&big_a, &big_b).unwrap();
        let expected = client_premaster(&big_b, &x, &a, &u).unwrap();
        // First use (no table), second (table built), third (table reused).
        for use_ in 0..3 {
            assert_eq!(v.has_table(), use_ > VERIFIER_UNTABLED_USES);
            assert_eq!(*device_premaster(&big_a, &v, &u, &b).unwrap(), *expected);
        }
        assert!(v.has_table());
        // A second verifier has its own table; the first one's results are unchanged.
        let other = Verifier::new(verifier_from_x(&compute_x(&[7], &inner_hash(b"other", b"pw"), false)));
        let plain = plain_pow(&BoxedMontyForm::new((*other.int().unwrap()).clone(), consts().g.params()), &u);
        for _ in 0..3 {
            assert_eq!(other.pow_public(&other.int().unwrap(), &u).retrieve(), plain);
        }
        assert!(other.has_table());
        assert_eq!(*device_premaster(&big_a, &v, &u, &b).unwrap(), *expected);
    }

    #[test]
    fn verifier_debug_shows_no_bytes() {
        let v = Verifier::new(vec![0xab; 384]);
        let text = format!("{v:?}");
        assert!(!text.to_lowercase().contains("ab, ") && !text.contains("171"), "{text}");
        assert!(text.contains("384"), "{text}");
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
        let v = Verifier::new(verifier_from_x(&x));
        let b = [0x42u8; 32];
        assert_eq!(*device_premaster(&[9], &v, &u, &b).unwrap(), *device_premaster(&n_plus(9), &v, &u, &b).unwrap());
    }
}
