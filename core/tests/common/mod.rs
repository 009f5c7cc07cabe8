//! Helpers shared by the security test binaries: a scripted RNG that replays recorded draws.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use rainmaker_prov::rng::FillRng;

/// The byte source behind a [`ScriptedRng`].
type Fill = Box<dyn FnMut(&mut [u8])>;

/// Hands out the given bytes in order (an RNG through `DerefMut` to [`FillRng`]) and panics
/// when drained, so a test notices any draw the recording does not have.
pub struct ScriptedRng {
    rng: FillRng<Fill>,
    left: Rc<Cell<usize>>,
}

impl ScriptedRng {
    /// The concatenation of `parts`, drawn in order.
    pub fn new(parts: &[&[u8]]) -> Self {
        let bytes = parts.concat();
        let left = Rc::new(Cell::new(bytes.len()));
        let counter = Rc::clone(&left);
        let mut pos = 0usize;
        let fill = move |dst: &mut [u8]| {
            let end = pos + dst.len();
            assert!(end <= bytes.len(), "scripted RNG drained ({} bytes asked, {} left)", dst.len(), bytes.len() - pos);
            dst.copy_from_slice(&bytes[pos..end]);
            pos = end;
            counter.set(bytes.len() - end);
        };
        Self { rng: FillRng(Box::new(fill)), left }
    }

    /// Fails unless every scripted byte was drawn.
    #[allow(dead_code)] // not every test binary checks it
    pub fn assert_drained(&self) {
        assert_eq!(self.left.get(), 0, "not all scripted random bytes were drawn");
    }
}

impl Deref for ScriptedRng {
    type Target = FillRng<Fill>;

    fn deref(&self) -> &Self::Target {
        &self.rng
    }
}

impl DerefMut for ScriptedRng {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.rng
    }
}
