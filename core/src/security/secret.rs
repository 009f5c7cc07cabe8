//! [`Secret`]: owned secret bytes (PoP, SRP password) that are redacted in Debug and zeroized on drop.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Owned secret bytes or string (a proof of possession, an SRP password, ...).
///
/// The bytes are wiped from memory when the value is dropped, and `Debug` prints
/// `Secret(<redacted>)`. There is deliberately no `Display` implementation.
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Takes ownership of the given bytes (a `String` or `Vec<u8>` is moved, not copied).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret bytes. Avoid copying them; never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret is empty (an absent PoP, for example).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Length of the secret in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

// Kotlin and Swift see a secret as a string (a PoP or password the user typed, a QR code's
// text); invalid UTF-8 is replaced when one goes out, which only a QR code's fields do.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(Secret, String, {
    lower: |secret| String::from_utf8_lossy(secret.expose()).into_owned(),
    try_lift: |text| Ok(Secret::from(text)),
});

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// Parses any text (never fails), so a command-line parser can read a secret straight into a
/// redacted, zeroizing value.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&[u8]> for Secret {
    fn from(value: &[u8]) -> Self {
        Self::new(value)
    }
}

impl From<Vec<u8>> for Secret {
    fn from(value: Vec<u8>) -> Self {
        Self::new(value)
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison of the secret bytes (the length is not hidden).
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from("abcd1234");
        let text = format!("{s:?} {s:#?}");
        assert!(!text.contains("abcd1234"));
        assert!(!text.contains("97")); // no byte values either
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn accessors() {
        let s = Secret::new(String::from("pw"));
        assert_eq!(s.expose(), b"pw");
        assert_eq!(s.len(), 2);
        assert!(!s.is_empty());
        assert!(Secret::default().is_empty());
        assert_eq!(Secret::from(&b"pw"[..]), s);
        assert_ne!(Secret::from("pX"), s);
        assert_ne!(Secret::from("pw2"), s);
    }

    #[test]
    fn zeroize_clears_bytes() {
        let mut s = Secret::from(vec![1u8, 2, 3]);
        s.zeroize();
        assert!(s.is_empty());
    }
}
