//! [`FillRng`]: an RNG whose bytes come from a function — for replaying a device's recorded
//! randomness and for deterministic tests.

/// Adapts a byte-filling function to the `rand_core` RNG traits. Integers are read
/// little-endian from the filled bytes (as `esp_random()` lands in memory on the device).
///
/// It is exactly as unpredictable as the function behind it: wrap a CSPRNG for real use; a
/// scripted source is only for tests and replays.
pub struct FillRng<F>(pub F);

impl<F> std::fmt::Debug for FillRng<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FillRng")
    }
}

impl<F: FnMut(&mut [u8])> rand_core::TryRng for FillRng<F> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        (self.0)(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        (self.0)(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        (self.0)(dst);
        Ok(())
    }
}

// The caller chooses the source; see the type's documentation.
impl<F: FnMut(&mut [u8])> rand_core::TryCryptoRng for FillRng<F> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_little_endian_and_bytes_pass_through() {
        let mut n = 0u8;
        let mut rng = FillRng(|dst: &mut [u8]| {
            for b in dst {
                n += 1;
                *b = n;
            }
        });
        assert_eq!(rand_core::Rng::next_u32(&mut rng), u32::from_le_bytes([1, 2, 3, 4]));
        assert_eq!(rand_core::Rng::next_u64(&mut rng), u64::from_le_bytes([5, 6, 7, 8, 9, 10, 11, 12]));
        let mut buf = [0u8; 3];
        rand_core::Rng::fill_bytes(&mut rng, &mut buf);
        assert_eq!(buf, [13, 14, 15]);
    }
}
